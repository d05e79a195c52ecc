# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ollama_model's progress, through a real ansible-playbook run: the action plugin, async_wrapper,
async_status and slurp over the local connection, the module on Python 3.9, the Ollama API emulator
in this process at a low throughput. The collection resolves through ansible.cfg's collections/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name('ansible-playbook')
PY39 = ROOT / '.venv-py39' / 'bin' / 'python'
MODEL = 'llama3.3:70b'       # a 2 MiB model blob in the emulator's catalogue
THROUGHPUT = 512 << 10       # so its pull takes about 4 s
PROGRESS = re.compile(r'^localhost: pulling llama3\.3:70b: (\d+\.\d)% ([\d.]+)/2\.00 MiB, ([\d.]+) KiB/s, (\d+)s left$')
# a poll between the end of the transfer and the end of the module
AFTER = re.compile(r'^localhost: pulling llama3\.3:70b: (verifying sha256 digest|writing manifest|removing unused layers|'
                   r'pulled, being confirmed), 2\.00/2\.00 MiB after \ds$')

pytestmark = pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(), reason='needs ansible-playbook next to the Python running pytest')


class Play:
    def __init__(self, completed, result):
        self.rc = completed.returncode
        self.output = completed.stdout + completed.stderr
        self.lines = completed.stdout.splitlines()
        self.result = result

    def progress(self):
        """The transfer's progress lines (matches of PROGRESS); any other line about the pull must match AFTER."""
        lines = [line for line in self.lines if line.startswith('localhost: pulling ')]
        assert all(PROGRESS.match(line) or AFTER.match(line) for line in lines), self.output
        return [PROGRESS.match(line) for line in lines if PROGRESS.match(line)]


@pytest.fixture
def play(tmp_path):
    """play(task args, check=False) -> Play: one ollama_model task, its registered result, the output."""
    dirs = {name: tmp_path / name for name in ('async', 'remote', 'local')}
    for path in dirs.values():
        path.mkdir()
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'), ANSIBLE_ASYNC_DIR=str(dirs['async']),
               ANSIBLE_REMOTE_TMP=str(dirs['remote']), ANSIBLE_LOCAL_TEMP=str(dirs['local']), ANSIBLE_NOCOLOR='1')
    env.pop('ANSIBLE_FORCE_COLOR', None)
    interpreter = PY39 if PY39.exists() else Path(sys.executable)

    def run(args, check=False):
        saved = tmp_path / 'result.json'
        if saved.exists():
            saved.unlink()
        playbook = tmp_path / 'play.yml'
        playbook.write_text(json.dumps([{
            'hosts': 'localhost', 'gather_facts': False,
            'tasks': [
                {'llmhost.macos.ollama_model': args, 'register': 'pulled', 'ignore_errors': True},
                {'ansible.builtin.copy': {'content': '{{ pulled | to_json }}', 'dest': str(saved)}, 'check_mode': False},
            ]}]))
        command = [str(ANSIBLE_PLAYBOOK), '-i', 'localhost,', '-c', 'local',
                   '-e', 'ansible_python_interpreter=%s' % interpreter, str(playbook)] + (['--check'] if check else [])
        completed = subprocess.run(command, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=180,
                                   check=False)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        return Play(completed, json.loads(saved.read_text()))

    run.dirs = dirs
    return run


def left_behind(directory, wait=5.0):
    """Files under `directory` once async_wrapper, which removes its temporary directory just after
    the job's result is written, has had `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        found = sorted(str(path.relative_to(directory)) for path in directory.rglob('*'))
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def log(emulator):
    return ['%s %s' % (entry['method'], entry['path']) for entry in emulator.requests]


def args(emulator, **kw):
    base = {'name': MODEL, 'url': emulator.url, 'registry_url': emulator.url, 'progress_interval': 1,
            'stall_timeout': 10}
    base.update(kw)
    return base


def test_a_pull_shows_its_progress_and_reports_its_download(play, emulator):
    emulator.set_throughput(THROUGHPUT)
    run = play(args(emulator))
    result = run.result
    assert not result.get('failed'), run.output
    assert result['changed'] and result['actions'] == ['pull']

    progress = run.progress()
    assert len(progress) >= 2, run.output
    percents = [float(match.group(1)) for match in progress]
    assert percents == sorted(percents) and percents[0] < 100
    assert all(300 < float(match.group(3)) < 700 for match in progress), run.output  # about 512 KiB/s

    pull = [entry for entry in emulator.requests if entry['path'] == '/api/pull']
    assert len(pull) == 1 and pull[0]['outcome'] == 'complete'
    download = result['download']
    assert download['bytes'] == pull[0]['bytes'] == result['pulled_bytes'] == 2098856   # the stand-in's layers
    assert result['model']['size'] == 42520415620        # what /api/tags lists: the catalogue's weights
    assert 3.0 < download['seconds'] < 8.0
    assert abs(download['rate_bytes_per_second'] - download['bytes'] / download['seconds']) < 0.02 * THROUGHPUT
    assert re.fullmatch(r'pulled llama3\.3:70b: 2\.00 MiB in \ds, \d{3}\.\d KiB/s', result['msg']), result['msg']
    assert log(emulator) == ['GET /api/tags', 'GET /v2/library/llama3.3/manifests/70b',   # the first run
                             'GET /api/tags', 'POST /api/pull', 'POST /api/show', 'GET /api/tags']   # the job
    # the job file, the module's temporary directory and its progress file are gone
    assert left_behind(play.dirs['async']) == [] and left_behind(play.dirs['remote']) == []


def test_a_present_model_is_one_request_and_no_progress(play, emulator):
    emulator.install(MODEL)
    emulator.clear_requests()
    run = play(args(emulator))
    assert not run.result.get('failed') and not run.result['changed'], run.output
    assert log(emulator) == ['GET /api/tags']
    assert run.progress() == [] and 'pulling' not in run.output
    assert left_behind(play.dirs['async'], wait=0) == []


def test_check_mode_neither_downloads_nor_goes_to_the_background(play, emulator):
    run = play(args(emulator), check=True)
    assert run.result['changed'] and run.result['actions'] == ['pull'], run.output
    assert log(emulator) == ['GET /api/tags']
    assert run.progress() == []
    assert left_behind(play.dirs['async'], wait=0) == []


def test_a_failing_download_fails_the_task(play, emulator):
    emulator.set_throughput(THROUGHPUT)
    emulator.add_fault(path='/api/pull', fault='disk_full', at=0.6, times=0)
    run = play(args(emulator))
    result = run.result
    assert result['failed'] is True, run.output
    assert result['msg'].startswith('Pulling llama3.3:70b failed: write ') and result['msg'].endswith('no space left on device')
    assert result['attempts'] == 1 and result['bytes'] > 0
    assert 'fatal: [localhost]: FAILED!' in run.output and 'no space left on device' in run.output
    assert left_behind(play.dirs['async']) == [] and left_behind(play.dirs['remote']) == []


def test_latest_goes_to_the_background_only_for_a_new_build(play, emulator):
    first = emulator.install(MODEL)
    emulator.clear_requests()
    same = play(args(emulator, state='latest'))
    assert not same.result['changed'] and same.progress() == [], same.output
    assert same.result['msg'].startswith('llama3.3:70b is up to date: nothing downloaded')
    assert log(emulator) == ['GET /api/tags', 'GET /v2/library/llama3.3/manifests/70b',
                             'POST /api/pull', 'POST /api/show', 'GET /api/tags']

    new = emulator.set_registry_revision(MODEL, 2)
    emulator.set_throughput(THROUGHPUT)
    update = play(args(emulator, state='latest'))
    result = update.result
    assert result['changed'] and result['actions'] == ['update'], update.output
    assert result['digests'] == {'before': first, 'after': new}
    assert update.progress(), update.output
    assert result['msg'].startswith('updated llama3.3:70b: 2.00 MiB in ')
