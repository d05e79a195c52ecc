# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""benchmarks/bench.py's pure parts: the PLAY RECAP, the call log delta, the request log, the table."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'benchmarks', 'bench.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('bench', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECAP_TEXT = """
TASK [Create llama3.3-128k:70b] ************************************************
changed: [llmhost-bench-usual]

PLAY RECAP *********************************************************************
llmhost-bench-usual        : ok=11   changed=7    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
other.example              : ok=3    changed=0    unreachable=1    failed=0    skipped=2    rescued=0    ignored=1
"""


def test_parse_recap(bench):
    recap = bench.parse_recap(RECAP_TEXT)
    assert recap['llmhost-bench-usual'] == {'ok': 11, 'changed': 7, 'unreachable': 0, 'failed': 0, 'skipped': 0,
                                            'rescued': 0, 'ignored': 0}
    assert recap['other.example']['unreachable'] == 1
    assert recap['other.example']['ignored'] == 1


def test_parse_recap_ignores_task_output(bench):
    # a task's output that merely mentions changed= is not a recap line
    assert bench.parse_recap('ok: [h] => {"msg": "changed=3"}\nchanged: [h]\n') == {}


def test_parse_recap_without_the_newer_columns(bench):
    assert bench.parse_recap('h : ok=2 changed=1 unreachable=0 failed=0\n') == {
        'h': {'ok': 2, 'changed': 1, 'unreachable': 0, 'failed': 0}}


def call(tool, kind, argv=None):
    return json.dumps({'ts': '2026-12-07T23:05:39.282+00:00', 'boot': 1, 'tool': tool, 'argv': argv or [tool],
                       'uid': 0, 'euid': 0, 'rc': 0, 'kind': kind})


def test_count_calls(bench):
    text = '\n'.join([call('pmset', 'read'), call('pmset', 'write'), call('brew', 'read'),
                      call('systemsetup', 'error'), '']) + '\n'
    assert bench.count_calls(text) == {'commands': 4, 'writes': 1, 'errors': 1,
                                       'by_tool': {'pmset': 2, 'brew': 1, 'systemsetup': 1}}


def test_count_calls_skips_blank_and_partial_lines(bench):
    text = call('pmset', 'read') + '\n\n{"tool": "pms'
    assert bench.count_calls(text)['commands'] == 1
    assert bench.count_calls('') == {'commands': 0, 'writes': 0, 'errors': 0, 'by_tool': {}}


def test_complete_lines_leaves_the_partial_last_line(bench):
    assert bench.complete_lines(b'a\nb\nc') == b'a\nb\n'
    assert bench.complete_lines(b'abc') == b''
    assert bench.complete_lines(b'a\n') == b'a\n'


def test_the_call_log_delta_counts_only_what_came_after_the_offset(bench, tmp_path):
    log = tmp_path / 'calls.jsonl'
    log.write_text(call('pmset', 'read') + '\n' + call('pmset', 'write') + '\n')
    host = object.__new__(bench.Host)
    host.calls = str(log)
    offset = host.calls_offset()
    assert offset == log.stat().st_size
    with log.open('a') as handle:
        handle.write(call('launchctl', 'read') + '\n' + '{"tool": "br')
    assert host.calls_since(offset) == {'commands': 1, 'writes': 0, 'errors': 0, 'by_tool': {'launchctl': 1}}
    host.calls = str(tmp_path / 'absent.jsonl')
    assert host.calls_offset() == 0
    assert host.calls_since(0)['commands'] == 0


def test_requests_since(bench):
    entries = [{'ts': 10.0, 'method': 'GET', 'path': '/api/tags'},
               {'ts': 20.0, 'method': 'POST', 'path': '/api/pull'},
               {'ts': 21.0, 'method': 'POST', 'path': '/api/pull'},
               {'ts': 22.0, 'method': 'POST', 'path': '/api/create'}]
    assert bench.requests_since(entries, 20.0) == {'count': 3, 'by_path': {'POST /api/pull': 2,
                                                                           'POST /api/create': 1}}
    assert bench.requests_since([], 0) == {'count': 0, 'by_path': {}}


def test_pmset_sleep_values(bench):
    text = ('Battery Power:\n lowpowermode 0\n sleep 1\n displaysleep 2\nAC Power:\n'
            ' Sleep On Power Button 1\n displaysleep 10\n sleep                0\n disksleep 0\n')
    assert bench.pmset_sleep_values(text) == [1, 0]


def test_summarize(bench):
    assert bench.summarize([3.0, 1.0, 2.0, 10.0, 4.0]) == {'median': 3.0, 'min': 1.0, 'max': 10.0, 'n': 5}
    assert bench.summarize([1, 2]) == {'median': 1.5, 'min': 1, 'max': 2, 'n': 2}
    assert bench.summarize([None, 4]) == {'median': 4, 'min': 4, 'max': 4, 'n': 1}
    assert bench.summarize([]) is None


@pytest.mark.parametrize('stat, measure, text', [
    ({'median': 12.345, 'min': 11.0, 'max': 13.96}, 'wall', '12.3 [11.0-14.0]'),
    ({'median': 7, 'min': 7, 'max': 7}, 'changed', '7'),
    ({'median': 7.5, 'min': 7, 'max': 8}, 'changed', '7.5 [7-8]'),
    (None, 'wall', '-'),
])
def test_fmt_stat(bench, stat, measure, text):
    assert bench.fmt_stat(stat, measure) == text


def sample(wall, changed, commands=5, writes=1, requests=2, restored=True):
    return {'wall': wall, 'changed': changed, 'commands': commands, 'writes': writes, 'ollama_requests': requests,
            'restored': restored}


def test_format_table(bench):
    samples = {
        'ours': {'rerun': [sample(10.0, 0), sample(12.0, 0), sample(11.0, 0)],
                 'check': [sample(8.0, 0, writes=0)] * 3,
                 'drift': [sample(11.0, 1)] * 3},
        'usual': {'rerun': [sample(20.0, 7), sample(24.0, 7), sample(22.0, 7)],
                  'check': [sample(9.0, 2, writes=0)] * 3,
                  'drift': [sample(21.0, 7, restored=True), sample(21.0, 7, restored=False), sample(21.0, 7)]},
    }
    summary = bench.summarize_samples(samples)
    reboot = {'ours': {'serving': True, 'seconds': 3.21}, 'usual': {'serving': False, 'seconds': None}}
    table = bench.format_table(summary, reboot, 3)
    lines = table.splitlines()
    assert lines[0].split() == ['ours', '(site.yml)', 'usual', '(usual-stack.yml)']
    assert set(lines[1].replace(' ', '')) == {'-'}
    row = next(line for line in lines if line.strip().startswith('wall time'))
    assert row.split()[-4:] == ['11.0', '[10.0-12.0]', '22.0', '[20.0-24.0]']
    changed = next(line for line in lines if line.strip().startswith('tasks changed'))
    assert changed.split()[-2:] == ['0', '7']
    assert any(line.split()[-6:] == ['3', 'of', '3', '2', 'of', '3'] for line in lines if 'sleep back' in line)
    reboot_row = next(line for line in lines if '/api/tags' in line)
    assert reboot_row.rstrip().endswith('yes, after 3.2 s  no')
    assert 're-run wall time, ours/usual (medians): 0.50' in lines
    assert lines[-len(bench.NOTES):] == list(bench.NOTES)
    # the columns line up: every value row is as wide as the header's columns allow
    header_ours = lines[0].index('ours')
    assert row.index('11.0') == header_ours


def test_ratio(bench):
    assert bench.ratio({'median': 5.0}, {'median': 20.0}) == 0.25
    assert bench.ratio(None, {'median': 1.0}) is None
    assert bench.ratio({'median': 1.0}, {'median': 0}) is None
