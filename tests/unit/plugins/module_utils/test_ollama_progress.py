# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/ollama_progress.py, and how the client and the planner use it: the progress a pull
reports, the file the module writes, the lines the controller prints, the download summary, and
ensure_model's defer_download (a download is left to the background run, nothing else is)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import ollama, ollama_progress
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import Client
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import OllamaError
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_progress import (
    GIB,
    MIB,
    ProgressFile,
    ProgressView,
    PullProgress,
)

from ollama_fakes import FakeOllama, pull_lines, tags_entry

URL = 'http://127.0.0.1:11434'
LAYER = 'sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa'
# shared/reference/macos-formats.md section 5: a layer's progress line (re-sent every 60 ms); the
# status is "pulling " + the first 12 hex digits, `completed` is left out while it is 0.
FIRST = {'status': 'pulling 6a0746a1ec1a', 'digest': LAYER, 'total': 2142590208}
SOME = {'status': 'pulling 6a0746a1ec1a', 'digest': LAYER, 'total': 2142590208, 'completed': 241970}


class Clock:
    def __init__(self, now=1000.0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def params(**kw):
    base = dict(name='llama3.2', state='present', parameters=None, system=None, template=None, keep_alive=None,
                retries=3, stall_timeout=300, insecure=False, registry_url=None, timeout=30,
                progress_interval=10, download_timeout=86400)
    base['from'] = kw.pop('from_', None)
    base.update(kw)
    return base


def manifest(*sizes, config=512):
    """A registry manifest (Docker distribution manifest v2, what MANIFEST_ACCEPT asks for)."""
    layers = [{'mediaType': 'application/vnd.ollama.image.model', 'digest': 'sha256:%064x' % index, 'size': size}
              for index, size in enumerate(sizes)]
    return json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',
                       'config': {'mediaType': 'application/vnd.docker.container.image.v1+json',
                                  'digest': 'sha256:' + 'c' * 64, 'size': config},
                       'layers': layers}, separators=(',', ':')).encode()


# ---- formatting ----------------------------------------------------------------------------------

@pytest.mark.parametrize('number, text', [
    (42520413916, '39.60 GiB'), (2 * MIB, '2.00 MiB'), (12800, '12.50 KiB'), (0, '0.00 KiB'), (GIB, '1.00 GiB'),
])
def test_sizes(number, text):
    assert ollama_progress.format_size(number) == text


def test_done_and_total_share_the_unit_of_the_total():
    assert ollama_progress.format_sizes(15892223180, 42520413916) == '14.80/39.60 GiB'
    assert ollama_progress.format_sizes(512 * 1024, 2 * MIB) == '0.50/2.00 MiB'


@pytest.mark.parametrize('rate, text', [
    (64191999, '61.2 MiB/s'), (524288, '512.0 KiB/s'), (1.2 * GIB, '1.2 GiB/s'), (0, '0.0 KiB/s'),
])
def test_rates(rate, text):
    assert ollama_progress.format_rate(rate) == text


@pytest.mark.parametrize('seconds, text', [
    (0, '0s'), (41.6, '42s'), (59.4, '59s'), (60, '1m00s'), (662.4, '11m02s'), (3599, '59m59s'),
    (3900, '1h05m'), (93784, '26h03m'), (-3, '0s'),
])
def test_durations(seconds, text):
    assert ollama_progress.format_duration(seconds) == text


def test_download_summary_and_message():
    summary = ollama_progress.download_summary(42520395776, 662.44)
    assert summary == {'bytes': 42520395776, 'seconds': 662.4, 'rate_bytes_per_second': 64187542}
    assert ollama_progress.pull_message('llama3.3:70b', 'pulled', summary) == 'pulled llama3.3:70b: 39.60 GiB in 11m02s, 61.2 MiB/s'
    assert ollama_progress.pull_message('llama3.3:70b', 'updated', summary).startswith('updated llama3.3:70b: 39.60 GiB')
    nothing = ollama_progress.download_summary(0, 1.5)
    assert nothing == {'bytes': 0, 'seconds': 1.5, 'rate_bytes_per_second': 0}
    assert ollama_progress.pull_message('llama3.2:latest', None, nothing) == 'llama3.2:latest is up to date: nothing downloaded (2s)'
    assert ollama_progress.pull_message('llama3.2:latest', 'pulled', nothing) == \
        'pulled llama3.2:latest: nothing downloaded, every layer was present (2s)'
    instant = ollama_progress.download_summary(100, 0)
    assert instant['rate_bytes_per_second'] is None
    assert ollama_progress.pull_message('x:1', 'pulled', instant) == 'pulled x:1: 0.10 KiB in 0s'


def test_manifest_total_counts_layers_and_config():
    assert ollama_progress.manifest_total_bytes(manifest(42520395776, 12403, 96)) == 42520395776 + 12403 + 96 + 512
    assert ollama_progress.manifest_total_bytes(b'<html>not a manifest</html>') is None
    assert ollama_progress.manifest_total_bytes(b'{"layers": [{"digest": "sha256:x"}]}') is None  # no size
    assert ollama_progress.manifest_total_bytes(b'{"schemaVersion": 2}') is None


def test_write_interval_and_time_limit():
    assert ollama_progress.write_interval(10) == 2.0
    assert ollama_progress.write_interval(1) == 0.5
    assert ollama_progress.write_interval(0.1) == 0.2
    assert ollama_progress.async_time_limit(86400.0, 300.0) == 86760


# ---- PullProgress: what a stream reported ---------------------------------------------------------

def test_progress_of_one_layer_from_the_documented_lines():
    clock = Clock()
    progress = PullProgress('llama3.2:latest', clock=clock)
    progress.add({'status': 'pulling manifest'})
    assert progress.snapshot()['status'] == 'pulling manifest' and progress.total == 0
    progress.add(FIRST)
    assert (progress.completed, progress.total, progress.downloaded) == (0, 2142590208, 0)
    clock.now += 4
    progress.add(SOME)
    progress.add(SOME)  # the same line again 60 ms later
    assert (progress.completed, progress.downloaded) == (241970, 241970)
    assert progress.snapshot() == {'model': 'llama3.2:latest', 'status': 'pulling 6a0746a1ec1a', 'attempt': 1,
                                   'completed': 241970, 'total': 2142590208, 'bytes': 241970,
                                   'started': 1000.0, 'time': 1004.0}


def test_a_resumed_partial_and_a_present_layer_are_not_downloads():
    progress = PullProgress('llama3.3:70b')
    # a second attempt starts where the first stopped: the layer first seen at 40 GB
    progress.add(dict(SOME, total=42520395776, completed=40000000000))
    progress.add(dict(SOME, total=42520395776, completed=42520395776))
    # a small layer already present is reported once, complete
    progress.add({'status': 'pulling 948af2743fc7', 'digest': 'sha256:948af2743fc7' + 'f' * 52, 'total': 1432,
                  'completed': 1432})
    assert progress.completed == progress.total == 42520395776 + 1432
    assert progress.downloaded == 2520395776


# ---- ProgressFile: the module's writes -----------------------------------------------------------

def test_the_progress_file_is_written_whole_and_not_too_often(tmp_path):
    clock = Clock()
    path = str(tmp_path / 'progress.json')
    writer = ProgressFile(path, interval=2.0, clock=clock)
    progress = PullProgress('llama3.2:latest', clock=clock)
    progress.add(FIRST)
    writer(progress)
    assert json.loads(open(path).read())['total'] == 2142590208
    progress.add(SOME)
    clock.now += 1.0
    writer(progress)                      # within the interval, same status: not written
    assert json.loads(open(path).read()).get('completed') == 0 and writer.writes == 1
    clock.now += 1.0
    writer(progress)
    assert json.loads(open(path).read())['completed'] == 241970 and writer.writes == 2
    progress.add({'status': 'verifying sha256 digest'})
    writer(progress)                      # a new status is written at once
    assert json.loads(open(path).read())['status'] == 'verifying sha256 digest'
    assert sorted(os.listdir(str(tmp_path))) == ['progress.json']  # no temporary file left behind


def test_a_progress_file_that_cannot_be_written_is_given_up_quietly(tmp_path):
    writer = ProgressFile(str(tmp_path / 'gone' / 'progress.json'))
    progress = PullProgress('llama3.2:latest')
    progress.add(FIRST)
    writer(progress)
    writer(progress)
    assert writer.writes == 0
    assert writer.error.startswith(str(tmp_path / 'gone' / 'progress.json') + ': [Errno 2]')


# ---- ProgressView: the controller's lines --------------------------------------------------------

def snap(completed, when, total=42520413916, status='pulling 4824460d29f2', attempt=1, started=100.0):
    return {'model': 'llama3.3:70b', 'status': status, 'attempt': attempt, 'completed': completed, 'total': total,
            'bytes': completed, 'started': started, 'time': when}


def test_lines_with_percent_sizes_rate_and_time_left():
    view = ProgressView('llama3.3:70b')
    # first sample: the average since the start of the pull
    assert view.line(snap(10 * 64 * MIB, 110.0)) == 'pulling llama3.3:70b: 1.6% 0.62/39.60 GiB, 64.0 MiB/s, 10m24s left'
    # then the rate between samples: slower now
    assert view.line(snap(10 * 64 * MIB + 10 * 32 * MIB, 120.0)) == \
        'pulling llama3.3:70b: 2.4% 0.94/39.60 GiB, 32.0 MiB/s, 20m37s left'


def test_the_rate_follows_the_last_minute():
    view = ProgressView('llama3.3:70b', window=60.0)
    done, when = 0, 100.0
    for _step in range(12):               # two minutes at 100 MiB/s
        done += 1000 * MIB
        when += 10
        view.line(snap(done, when))
    for _step in range(7):                # then 70 s at 10 MiB/s
        done += 100 * MIB
        when += 10
        line = view.line(snap(done, when))
    assert ', 10.0 MiB/s, ' in line


def test_lines_without_a_transfer_to_measure():
    view = ProgressView('llama3.3:70b')
    assert view.line(None, waited=12) == 'pulling llama3.3:70b: no progress reported yet (12s)'
    assert view.line(snap(0, 100.5, total=0, status='pulling manifest')) == 'pulling llama3.3:70b: pulling manifest'
    assert view.line(snap(42520413916, 762.4, status='verifying sha256 digest')) == \
        'pulling llama3.3:70b: verifying sha256 digest, 39.60/39.60 GiB after 11m02s'
    assert view.line(snap(42520413916, 790.0, status='success')) == \
        'pulling llama3.3:70b: pulled, being confirmed, 39.60/39.60 GiB after 11m30s'


def test_a_stall_a_retry_and_a_total_from_the_registry():
    view = ProgressView('llama3.3:70b', total_hint=10 * GIB)
    view.line(snap(4 * GIB, 110.0, total=8 * GIB))
    assert view.line(snap(4 * GIB, 120.0, total=8 * GIB, attempt=2)) == \
        'pulling llama3.3:70b: 40.0% 4.00/10.00 GiB, 0 B/s (no progress), time left unknown (attempt 2)'


def test_an_unknown_total_shows_what_is_done():
    view = ProgressView('x:1')
    line = view.line({'model': 'x:1', 'status': 'pulling aaaaaaaaaaaa', 'completed': 3 * MIB, 'time': 5.0})
    assert line == 'pulling x:1: 3.00 MiB, measuring the rate'


# ---- the client: progress and deadline -----------------------------------------------------------

def client_for(fake, clock=None):
    clock = clock or Clock()
    return Client(URL, fake, timeout=7, slow_timeout=300, clock=clock, sleep=clock.sleep)


def test_pull_reports_progress_after_every_line():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    seen = []
    result = client_for(fake).pull('llama3.2:latest', on_progress=lambda progress: seen.append(progress.snapshot()))
    assert [item['status'] for item in seen] == [line['status'] for line in pull_lines('llama3.2')]
    assert [item['completed'] for item in seen] == [0, 0, 500, 1000, 1000, 1000, 1000]
    assert seen[-1]['total'] == 1000 and result['bytes'] == 1000


def test_pull_stops_at_its_deadline():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    clock = Clock()
    lines = pull_lines('llama3.2', done=False)
    original = fake.do_POST_api_pull

    def slow(body):
        clock.now += 400  # each request: the stream arrives 400 s later
        return original(body)
    fake.do_POST_api_pull = slow
    fake.pull_script = [lines]
    with pytest.raises(OllamaError) as excinfo:
        client_for(fake, clock).pull('llama3.2:latest', deadline=300)
    assert excinfo.value.msg == ('Pulling llama3.2:latest failed: not finished within download_timeout (300 seconds), '
                                 'at pulling manifest')


def test_no_retry_when_the_deadline_leaves_no_time():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    clock = Clock()
    fake.pull_script = [('status', 503, 'server busy')]
    with pytest.raises(OllamaError) as excinfo:
        client_for(fake, clock).pull('llama3.2:latest', deadline=1)
    assert 'with no time left for another within download_timeout (1 seconds): HTTP 503: server busy' in excinfo.value.msg
    assert clock.slept == []


# ---- the planner: download and msg, defer_download -----------------------------------------------

def test_a_pull_returns_its_download_and_a_message():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    clock = Clock()
    original = fake.do_POST_api_pull

    def pull(body):
        clock.now += 8  # the stream takes 8 s
        return original(body)
    fake.do_POST_api_pull = pull
    result = ollama.ensure_model(client_for(fake, clock), params())
    assert result['download'] == {'bytes': 1000, 'seconds': 8.0, 'rate_bytes_per_second': 125}
    assert result['msg'] == 'pulled llama3.2:latest: 0.98 KiB in 8s, 0.1 KiB/s'


def test_latest_that_moves_nothing_says_so():
    entry = tags_entry('llama3.2:latest', 1)
    fake = FakeOllama([entry], registry={'llama3.2:latest': entry})
    fake.pull_script = [[{'status': 'pulling manifest'},
                         {'status': 'pulling aaaaaaaaaaaa', 'digest': 'sha256:' + 'a' * 64, 'total': 1000, 'completed': 1000},
                         {'status': 'verifying sha256 digest'}, {'status': 'writing manifest'}, {'status': 'success'}]]
    result = ollama.ensure_model(client_for(fake), params(state='latest'))
    assert result['changed'] is False
    assert result['download']['bytes'] == 0 and result['msg'] == 'llama3.2:latest is up to date: nothing downloaded (0s)'


def test_a_present_model_is_not_deferred_and_costs_one_request():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    result = ollama.ensure_model(client_for(fake), params(), defer_download=True)
    assert fake.paths() == ['GET /api/tags']
    assert result['changed'] is False and 'download_needed' not in result


def test_an_absent_model_is_deferred_with_its_size_from_the_registry():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    fake.manifests['https://registry.ollama.ai/v2/library/llama3.2/manifests/latest'] = manifest(2019377376, 1429, 7711)
    result = ollama.ensure_model(client_for(fake), params(), defer_download=True)
    assert fake.paths() == ['GET /api/tags', 'GET /v2/library/llama3.2/manifests/latest']
    assert fake.writes() == [] and fake.models == {}
    assert result['download_needed'] is True and result['changed'] is False
    assert result['download_plan'] == {'model': 'llama3.2:latest', 'action': 'pull', 'total_bytes': 2019377376 + 1429 + 7711 + 512}
    assert result['actions'] == ['pull']


def test_an_unreadable_registry_still_defers_with_an_unknown_size():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    result = ollama.ensure_model(client_for(fake), params(registry_url='http://mirror:5000'), defer_download=True)
    assert fake.requests[-1]['url'] == 'http://mirror:5000/v2/library/llama3.2/manifests/latest'
    assert result['download_plan'] == {'model': 'llama3.2:latest', 'action': 'pull', 'total_bytes': None}
    assert fake.writes() == []


def test_latest_pulls_at_once_when_the_registry_has_the_same_build():
    raw = manifest(1000)
    import hashlib
    entry = dict(tags_entry('llama3.2:latest'), digest=hashlib.sha256(raw).hexdigest())
    fake = FakeOllama([entry], registry={'llama3.2:latest': entry})
    fake.manifests['https://registry.ollama.ai/v2/library/llama3.2/manifests/latest'] = raw
    result = ollama.ensure_model(client_for(fake), params(state='latest'), defer_download=True)
    assert 'download_needed' not in result
    assert fake.paths() == ['GET /api/tags', 'GET /v2/library/llama3.2/manifests/latest', 'POST /api/pull',
                            'POST /api/show', 'GET /api/tags']
    assert result['changed'] is False


def test_latest_with_a_newer_build_is_deferred_as_an_update():
    old = tags_entry('llama3.2:latest', 1)
    fake = FakeOllama([old], registry={'llama3.2:latest': tags_entry('llama3.2:latest', 2)})
    fake.manifests['https://registry.ollama.ai/v2/library/llama3.2/manifests/latest'] = manifest(2019377376)
    result = ollama.ensure_model(client_for(fake), params(state='latest'), defer_download=True)
    assert result['download_needed'] is True and result['download_plan']['action'] == 'update'
    assert result['model']['digest'] == old['digest']
    assert fake.writes() == []


def test_the_absent_base_of_a_derived_model_is_deferred():
    fake = FakeOllama(registry={'llama3.3:70b': tags_entry('llama3.3:70b', parameter_size='70.6B')})
    result = ollama.ensure_model(client_for(fake), params(name='llama3.3-128k:70b', from_='llama3.3:70b',
                                                          parameters={'num_ctx': 131072}), defer_download=True)
    assert result['download_plan'] == {'model': 'llama3.3:70b', 'action': 'pull llama3.3:70b', 'total_bytes': None}
    assert result['actions'] == ['pull llama3.3:70b']
    assert fake.writes() == []


def test_check_mode_never_defers():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    result = ollama.ensure_model(client_for(fake), params(), check_mode=True, defer_download=True)
    assert 'download_needed' not in result and result['actions'] == ['pull'] and result['changed'] is True
    assert fake.paths() == ['GET /api/tags']


@pytest.mark.parametrize('option, value, message', [
    ('progress_interval', -1, 'progress_interval: expects 0 (no progress) or more seconds, got -1'),
    ('download_timeout', 0, 'download_timeout: expects a positive number of seconds, got 0'),
])
def test_bad_progress_options_are_refused(option, value, message):
    fake = FakeOllama()
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params(**{option: value}))
    assert excinfo.value.msg == message
    assert fake.requests == []
