# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/ollama.py: names, values, stream reading, retries and the planners, on a fake server."""

from __future__ import annotations

import http.client
import json

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import ollama, ollama_client, ollama_names, ollama_values
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import Client
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import OllamaError

from ollama_fakes import LLAMA_PARAMETERS, Dropped, FakeOllama, ndjson, pull_lines, tags_entry, timeout_body

URL = 'http://127.0.0.1:11434'


class Clock:
    """A clock that moves only when told (or by `step` per reading), and a sleep that moves it."""

    def __init__(self, step=0.0):
        self.now = 1000.0
        self.step = step
        self.slept = []

    def __call__(self):
        self.now += self.step
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def client_for(fake, clock=None):
    clock = clock or Clock()
    return Client(URL, fake, timeout=7, slow_timeout=300, clock=clock, sleep=clock.sleep)


def params(**kw):
    base = dict(name='llama3.2', state='present', parameters=None, system=None, template=None, keep_alive=None,
                retries=3, stall_timeout=300, insecure=False, registry_url=None, timeout=30)
    base['from'] = kw.pop('from_', None)
    base.update(kw)
    return base


# ---- names and values ----------------------------------------------------------------------------

@pytest.mark.parametrize('name, display, key', [
    ('llama3.3:70b', 'llama3.3:70b', ('registry.ollama.ai', 'library', 'llama3.3', '70b')),
    ('llama3.2', 'llama3.2:latest', ('registry.ollama.ai', 'library', 'llama3.2', 'latest')),
    ('Llama3.2:Latest', 'Llama3.2:Latest', ('registry.ollama.ai', 'library', 'llama3.2', 'latest')),
    ('hf.co/bartowski/Qwen2.5-7B-GGUF:Q4_K_M', 'hf.co/bartowski/Qwen2.5-7B-GGUF:Q4_K_M',
     ('hf.co', 'bartowski', 'qwen2.5-7b-gguf', 'q4_k_m')),
    ('mirror.lan:5000/library/tiny:1', 'mirror.lan:5000/library/tiny:1', ('mirror.lan:5000', 'library', 'tiny', '1')),
    ('jmorgan/mario', 'jmorgan/mario:latest', ('registry.ollama.ai', 'jmorgan', 'mario', 'latest')),
    ('registry.ollama.ai/library/llama3.2:3b', 'llama3.2:3b', ('registry.ollama.ai', 'library', 'llama3.2', '3b')),
])
def test_model_names_parse_like_ollama(name, display, key):
    parsed = ollama_names.parse_model_name(name)
    assert parsed.display == display
    assert parsed.key == key


@pytest.mark.parametrize('name, message', [
    ('', 'a model name is required'),
    ('llama 3', "bad model 'llama 3'"),
    ('-llama', "bad model '-llama'"),
    ('llama:', "bad tag ''"),
    ('llama:a/b', "bad namespace 'llama:a'"),
    ('a/b/c/d', 'more than host/namespace/model'),
    ('llama3@sha256:abc', 'pinning by digest'),
    ('x' * 81, 'bad model'),
    ('ns.dot/model', "bad namespace 'ns.dot'"),
])
def test_bad_model_names_are_refused_naming_the_part(name, message):
    with pytest.raises(OllamaError) as excinfo:
        ollama_names.parse_model_name(name)
    assert message in excinfo.value.msg
    assert excinfo.value.msg.startswith('name: ')


def test_same_model_ignores_case_and_defaults():
    wanted = ollama_names.parse_model_name('llama3.2')
    assert ollama_names.same_model('llama3.2:latest', wanted)
    assert ollama_names.same_model('LLAMA3.2:latest', wanted)
    assert ollama_names.same_model('registry.ollama.ai/library/llama3.2:latest', wanted)
    assert not ollama_names.same_model('llama3.2:3b', wanted)
    assert not ollama_names.same_model('not a name', wanted)


@pytest.mark.parametrize('value, expected', [
    (-1, (-1, -1.0)), ('-1', (-1, -1.0)), (0, (0, 0.0)), ('300', (300, 300.0)), (1.5, (1.5, 1.5)),
    ('5m', ('5m', 300.0)), ('1h30m', ('1h30m', 5400.0)), ('-1m', ('-1m', -60.0)), ('24h', ('24h', 86400.0)),
    ('500ms', ('500ms', 0.5)), (None, None),
])
def test_keep_alive_values(value, expected):
    assert ollama_values.parse_keep_alive(value) == expected


@pytest.mark.parametrize('value', ['forever', '5 minutes', True, '1d', '', '--1'])
def test_bad_keep_alive_is_refused(value):
    with pytest.raises(OllamaError) as excinfo:
        ollama_values.parse_keep_alive(value)
    assert 'keep_alive: expects seconds or a duration' in excinfo.value.msg


def test_show_parameters_parse_repeated_and_quoted_values():
    text = ('num_ctx                        131072\n' + LLAMA_PARAMETERS +
            '\ntemperature                    0.6\nuse_mmap                       true\nseed 42')
    assert ollama_values.parse_show_parameters(text) == {
        'num_ctx': 131072, 'stop': ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
        'temperature': 0.6, 'use_mmap': True, 'seed': 42}
    assert ollama_values.parse_show_parameters('') == {}
    assert ollama_values.parse_show_parameters(None) == {}


def test_parameter_differences_compare_values_not_spelling():
    current = {'num_ctx': 131072, 'temperature': 0.6, 'stop': ['a', 'b']}
    assert ollama_values.parameter_differences({'num_ctx': '131072', 'temperature': 0.60, 'stop': ['b', 'a']}, current) == []
    assert ollama_values.parameter_differences({'num_ctx': 8192, 'top_k': 40}, current) == [
        {'parameter': 'num_ctx', 'before': 131072, 'after': 8192},
        {'parameter': 'top_k', 'before': None, 'after': 40}]
    assert ollama_values.parameter_differences({'stop': 'a'}, current) == [{'parameter': 'stop', 'before': ['a', 'b'], 'after': 'a'}]
    # Go prints large floats in parameters with an exponent (%v): still the same number
    assert ollama_values.parameter_differences({'num_ctx': 1048576}, ollama_values.parse_show_parameters('num_ctx 1.048576e+06')) == []


def test_bad_parameters_are_refused_together():
    with pytest.raises(OllamaError) as excinfo:
        ollama_values.normalize_parameters({'num_ctx': {'a': 1}, 'Bad-Name': 1, 'stop': [None]})
    assert excinfo.value.details['invalid'] == [
        'Bad-Name: bad parameter name',
        "num_ctx: expects a number, a string, a boolean or a list of them, got {'a': 1}",
        'stop: expects a number, a string, a boolean or a list of them, got [None]']


def test_manifest_digests_cover_raw_and_reencoded_bytes():
    document = {'schemaVersion': 2, 'layers': [{'digest': 'sha256:1', 'size': 3}]}
    pretty = json.dumps(document, indent=2).encode()
    compact = json.dumps(document, separators=(',', ':')).encode()
    digests = ollama_values.manifest_digests(pretty)
    import hashlib
    assert digests == {hashlib.sha256(pretty).hexdigest(), hashlib.sha256(compact).hexdigest()}


# ---- validation happens before any request ---------------------------------------------------------

@pytest.mark.parametrize('overrides, message', [
    (dict(name='bad name'), "name: 'bad name' is not a valid model name"),
    (dict(name='x', from_='bad/na me'), 'from: '),
    (dict(name='x', parameters={'num_ctx': 8192}), 'parameters needs from'),
    (dict(name='x', system='be brief'), 'system needs from'),
    (dict(name='x', from_='x'), 'cannot be derived from itself'),
    (dict(name='x', keep_alive='forever'), 'keep_alive: expects'),
    (dict(name='x', state='absent', keep_alive=-1), 'keep_alive applies to state present or latest'),
    (dict(name='x', stall_timeout=0), 'stall_timeout: expects a positive number'),
    (dict(name='x', retries=-1), 'retries: expects 0 or more'),
])
def test_invalid_input_fails_without_a_request(overrides, message):
    fake = FakeOllama()
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params(**overrides))
    assert message in excinfo.value.msg
    assert fake.requests == []


# ---- present / absent ------------------------------------------------------------------------------

def test_present_model_costs_one_request():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    result = ollama.ensure_model(client_for(fake), params())
    assert fake.paths() == ['GET /api/tags']
    assert result['changed'] is False and result['actions'] == []
    assert result['model']['name'] == 'llama3.2:latest'
    assert result['model']['digest'] == tags_entry('llama3.2:latest')['digest']
    assert result['model']['details']['parameter_size'] == '3.2B'
    assert result['diff']['before'] == result['diff']['after']


def test_absent_model_is_pulled_confirmed_and_reported():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    result = ollama.ensure_model(client_for(fake), params())
    assert fake.paths() == ['GET /api/tags', 'POST /api/pull', 'POST /api/show', 'GET /api/tags']
    assert fake.requests[1]['body'] == {'model': 'llama3.2:latest', 'stream': True}
    assert result['changed'] is True and result['actions'] == ['pull']
    assert result['pulled_bytes'] == 1000
    assert result['pull']['attempts'] == 1
    assert result['model']['details']['context_length'] == 131072  # from /api/show
    assert result['diff'] == {'before': {}, 'after': {'name': 'llama3.2:latest', 'digest': tags_entry('llama3.2:latest')['digest'],
                                                      'size': 2019393189}}


def test_check_mode_reports_the_pull_and_sends_no_write():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    result = ollama.ensure_model(client_for(fake), params(keep_alive=-1), check_mode=True)
    assert fake.paths() == ['GET /api/tags']
    assert result['changed'] is True and result['actions'] == ['pull', 'load']
    assert result['diff']['after'] == {'name': 'llama3.2:latest', 'digest': None, 'size': None, 'loaded': True}


def test_absent_deletes_and_a_missing_model_is_no_change():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    result = ollama.ensure_model(client_for(fake), params(state='absent'))
    assert fake.paths() == ['GET /api/tags', 'DELETE /api/delete']
    assert result['changed'] is True and result['model'] is None
    assert result['diff']['before']['name'] == 'llama3.2:latest' and result['diff']['after'] == {}
    fake.requests.clear()
    result = ollama.ensure_model(client_for(fake), params(state='absent'))
    assert fake.paths() == ['GET /api/tags']
    assert result['changed'] is False and result['model'] is None


def test_absent_in_check_mode_sends_no_delete():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    result = ollama.ensure_model(client_for(fake), params(state='absent'), check_mode=True)
    assert result['changed'] is True
    assert fake.writes() == [] and 'llama3.2:latest' in fake.models


def test_delete_answered_404_is_no_change():
    fake = FakeOllama([tags_entry('llama3.2:latest')])

    def gone(body):
        return fake.reply(404, {'error': "model 'llama3.2:latest' not found"})
    fake.do_DELETE_api_delete = gone
    result = ollama.ensure_model(client_for(fake), params(state='absent'))
    assert result['changed'] is False and result['actions'] == []


# ---- pull streams -----------------------------------------------------------------------------------

def test_an_error_line_under_http_200_fails_without_retry_when_the_model_does_not_exist():
    fake = FakeOllama()
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params(name='no-such-model'))
    assert excinfo.value.msg == 'Pulling no-such-model:latest failed: pull model manifest: file does not exist'
    assert fake.paths() == ['GET /api/tags', 'POST /api/pull']
    assert fake.models == {}


def test_disk_full_fails_at_once():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    fake.pull_script = [pull_lines('llama3.2', done=False)[:2] + [
        {'error': 'write /Users/admin/.ollama/models/blobs/sha256-aaaa-partial: no space left on device'}]]
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params())
    assert 'no space left on device' in excinfo.value.msg
    assert excinfo.value.details['attempts'] == 1
    assert [p for p in fake.paths() if p == 'POST /api/pull'] == ['POST /api/pull']


def test_a_dropped_connection_is_retried_and_resumes():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    clock = Clock()
    fake.pull_script = [('drop', pull_lines('llama3.2', done=False)[:3]),
                        ('drop', pull_lines('llama3.2', done=False)[:2], http.client.IncompleteRead(b'')),
                        'ok']
    result = ollama.ensure_model(client_for(fake, clock), params())
    assert result['changed'] is True
    assert result['pull']['attempts'] == 3
    assert clock.slept == [2.0, 4.0]
    assert result['pulled_bytes'] == 1000


def test_the_final_success_is_required():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    fake.pull_script = [pull_lines('llama3.2', done=False)] * 3
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params(retries=2))
    assert excinfo.value.msg == ('Pulling llama3.2:latest failed after 3 attempts: the stream ended without '
                                 '"success" (last status: pulling aaaaaaaaaaaa)')
    assert fake.models == {}


def test_digest_mismatch_is_retried():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    fake.pull_script = [pull_lines('llama3.2', done=False) + [
        {'status': 'verifying sha256 digest'},
        {'error': 'digest mismatch, file must be downloaded again: want sha256:aaaa, got sha256:bbbb'}], 'ok']
    result = ollama.ensure_model(client_for(fake), params())
    assert result['pull']['attempts'] == 2 and result['changed'] is True


def test_a_stall_is_abandoned_and_retried():
    """The same progress re-sent for longer than stall_timeout: the attempt is given up."""
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    stalled = pull_lines('llama3.2', done=False)[:3]
    stalled += [stalled[-1]] * 50
    fake.pull_script = [stalled, 'ok']
    clock = Clock(step=1.0)  # each line arrives a second later
    result = ollama.ensure_model(client_for(fake, clock), params(stall_timeout=10))
    assert result['pull']['attempts'] == 2


def test_a_silent_server_times_out_and_is_retried_then_fails():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    quiet = pull_lines('llama3.2', done=False)[:2]
    fake.pull_script = [('drop', quiet, __import__('socket').timeout('timed out'))] * 2
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params(retries=1, stall_timeout=60))
    assert excinfo.value.msg == 'Pulling llama3.2:latest failed after 2 attempts: no data for 60 seconds'
    pulls = [r for r in fake.requests if r['path'] == '/api/pull']
    assert [r['timeout'] for r in pulls] == [60, 60]


def test_http_errors_of_pull():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    fake.pull_script = [('status', 503, 'server busy, please try again.  maximum pending requests exceeded'), 'ok']
    assert ollama.ensure_model(client_for(fake), params())['pull']['attempts'] == 2
    fake = FakeOllama()
    fake.pull_script = [('status', 400, 'invalid model name')]
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params())
    assert excinfo.value.msg == 'Pulling llama3.2:latest failed: HTTP 400: invalid model name'


def test_a_pull_that_show_does_not_confirm_fails():
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    fake.pull_script = [pull_lines('llama3.2')]  # success line, but nothing registered
    fake.registry = {}
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params())
    assert excinfo.value.msg == 'Pulled llama3.2:latest, but the server does not show it (POST /api/show answered 404)'


def test_unreachable_server_names_the_url():
    fake = FakeOllama(unreachable=True)
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params())
    assert excinfo.value.msg == ('Cannot reach the Ollama server at http://127.0.0.1:11434/api/tags: '
                                 '[Errno 111] Connection refused')
    assert fake.requests[0]['timeout'] == 7


# ---- latest -------------------------------------------------------------------------------------------

def test_latest_pulls_and_reports_the_new_digest():
    old, new = tags_entry('llama3.2:latest', 1), tags_entry('llama3.2:latest', 2)
    fake = FakeOllama([old], registry={'llama3.2:latest': new})
    result = ollama.ensure_model(client_for(fake), params(state='latest'))
    assert result['changed'] is True and result['actions'] == ['update']
    assert result['digests'] == {'before': old['digest'], 'after': new['digest']}


def test_latest_without_a_newer_build_is_no_change():
    entry = tags_entry('llama3.2:latest', 1)
    fake = FakeOllama([entry], registry={'llama3.2:latest': entry})
    result = ollama.ensure_model(client_for(fake), params(state='latest'))
    assert result['changed'] is False
    assert result['digests'] == {'before': entry['digest'], 'after': entry['digest']}


def test_latest_in_check_mode_compares_with_the_registry_manifest():
    manifest = json.dumps({'schemaVersion': 2, 'layers': []}, indent=1).encode()
    compact = json.dumps({'schemaVersion': 2, 'layers': []}, separators=(',', ':')).encode()
    import hashlib
    entry = dict(tags_entry('llama3.2:latest'), digest=hashlib.sha256(compact).hexdigest())
    fake = FakeOllama([entry])
    url = 'https://registry.ollama.ai/v2/library/llama3.2/manifests/latest'
    fake.manifests[url] = manifest
    result = ollama.ensure_model(client_for(fake), params(state='latest'), check_mode=True)
    assert result['changed'] is False
    assert fake.requests[-1]['url'] == url
    mirror = 'http://mirror:5000/v2/library/llama3.2/manifests/latest'
    fake.manifests[mirror] = b'{"schemaVersion":2,"layers":[{"digest":"sha256:new"}]}'
    result = ollama.ensure_model(client_for(fake), params(state='latest', registry_url='http://mirror:5000'),
                                 check_mode=True)
    assert fake.requests[-1]['url'] == mirror
    assert result['changed'] is True and result['actions'] == ['update'] and 'warnings' not in result
    assert entry['digest'] not in result['digests']['registry']
    del fake.manifests[mirror]  # the registry cannot be read: an update is assumed, with a warning
    result = ollama.ensure_model(client_for(fake), params(state='latest', registry_url='http://mirror:5000'),
                                 check_mode=True)
    assert result['changed'] is True and 'Could not read the registry manifest' in result['warnings'][0]
    assert fake.writes() == []


# ---- derived models ----------------------------------------------------------------------------------

def derived_params(**kw):
    return params(name='llama3.3-128k:70b', from_='llama3.3:70b', parameters={'num_ctx': 131072}, **kw)


def test_derived_model_is_created_from_its_base_and_verified():
    fake = FakeOllama([tags_entry('llama3.3:70b', parameter_size='70.6B')])
    result = ollama.ensure_model(client_for(fake), derived_params(system='You are terse.'))
    assert result['actions'] == ['create'] and result['reasons'] == ['absent']
    create = [r for r in fake.requests if r['path'] == '/api/create'][0]['body']
    assert create == {'model': 'llama3.3-128k:70b', 'from': 'llama3.3:70b', 'stream': True,
                      'parameters': {'num_ctx': 131072}, 'system': 'You are terse.'}
    assert result['diff']['after']['parameters'] == {'num_ctx': 131072}
    assert result['diff']['before'] == {}


def test_derived_model_converged_costs_tags_and_show():
    fake = FakeOllama([tags_entry('llama3.3:70b')])
    ollama.ensure_model(client_for(fake), derived_params())
    fake.requests.clear()
    result = ollama.ensure_model(client_for(fake), derived_params())
    assert result['changed'] is False
    assert fake.paths() == ['GET /api/tags', 'POST /api/show']


def test_derived_model_with_other_parameters_is_recreated():
    fake = FakeOllama([tags_entry('llama3.3:70b')])
    ollama.ensure_model(client_for(fake), derived_params())
    result = ollama.ensure_model(client_for(fake), params(name='llama3.3-128k:70b', from_='llama3.3:70b',
                                                          parameters={'num_ctx': 65536}))
    assert result['actions'] == ['recreate'] and result['reasons'] == ['parameter num_ctx']
    assert result['diff']['before']['parameters'] == {'num_ctx': 131072}
    assert result['diff']['after']['parameters'] == {'num_ctx': 65536}


def test_derived_model_in_check_mode_pulls_nothing_creates_nothing():
    fake = FakeOllama(registry={'llama3.3:70b': tags_entry('llama3.3:70b')})
    result = ollama.ensure_model(client_for(fake), derived_params(keep_alive=-1), check_mode=True)
    assert result['actions'] == ['pull llama3.3:70b', 'create', 'load']
    assert fake.writes() == []


def test_derived_model_pulls_a_missing_base_first():
    fake = FakeOllama(registry={'llama3.3:70b': tags_entry('llama3.3:70b')})
    result = ollama.ensure_model(client_for(fake), derived_params())
    assert result['actions'] == ['pull llama3.3:70b', 'create']
    assert fake.writes() == [('POST', '/api/pull'), ('POST', '/api/create')]


def test_a_create_the_server_did_not_apply_fails():
    fake = FakeOllama([tags_entry('llama3.3:70b')])
    original = fake.do_POST_api_create

    def ignores_parameters(body):
        return original(dict(body, parameters={}))
    fake.do_POST_api_create = ignores_parameters
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), derived_params())
    assert excinfo.value.msg == 'Created llama3.3-128k:70b, but it does not have num_ctx=131072'


def test_a_create_error_line_fails():
    fake = FakeOllama([tags_entry('llama3.3:70b')])
    fake.do_POST_api_create = lambda body: fake.reply(200, raw=b''.join(ndjson(
        {'status': 'reading model metadata'}, {'error': 'invalid parameter "num_ctxx"'})))
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), derived_params())
    assert excinfo.value.msg == 'Creating llama3.3-128k:70b from llama3.3:70b failed: invalid parameter "num_ctxx"'


# ---- keep_alive ---------------------------------------------------------------------------------------

def test_keep_alive_loads_once_then_reads_ps_only():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    result = ollama.ensure_model(client_for(fake), params(keep_alive=-1), now_year=2026)
    assert result['actions'] == ['load'] and result['loaded'] is True
    assert [r['body'] for r in fake.requests if r['path'] == '/api/generate'] == [
        {'model': 'llama3.2:latest', 'keep_alive': -1, 'stream': False}]
    assert result['diff']['before']['loaded'] is False and result['diff']['after']['loaded'] is True
    fake.requests.clear()
    result = ollama.ensure_model(client_for(fake), params(keep_alive=-1), now_year=2026)
    assert result['changed'] is False
    assert fake.paths() == ['GET /api/tags', 'GET /api/ps']


def test_keep_alive_forever_reloads_a_model_loaded_for_minutes():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    ollama.ensure_model(client_for(fake), params(keep_alive='5m'), now_year=2026)
    assert ollama.ensure_model(client_for(fake), params(keep_alive='10m'), now_year=2026)['changed'] is False
    result = ollama.ensure_model(client_for(fake), params(keep_alive='-1m'), now_year=2026)
    assert result['actions'] == ['load']


def test_keep_alive_zero_unloads():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    ollama.ensure_model(client_for(fake), params(keep_alive=-1), now_year=2026)
    result = ollama.ensure_model(client_for(fake), params(keep_alive=0), now_year=2026)
    assert result['actions'] == ['unload'] and result['loaded'] is False
    assert fake.running == []
    assert ollama.ensure_model(client_for(fake), params(keep_alive=0), now_year=2026)['changed'] is False


# ---- info ---------------------------------------------------------------------------------------------

def test_gather_info():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    ollama.ensure_model(client_for(fake), params(keep_alive=-1), now_year=2026)
    fake.requests.clear()
    info = ollama.gather_info(client_for(fake))
    assert fake.paths() == ['GET /api/version', 'GET /api/tags', 'GET /api/ps']
    assert info['version'] == '0.13.0'
    assert [model['name'] for model in info['models']] == ['llama3.2:latest']
    assert info['running'][0]['name'] == 'llama3.2:latest'
    assert info['running'][0]['expires_at'].startswith('2318')


def test_stream_reader_reports_garbage():
    from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import Response, StreamBroken
    body = Dropped([b'{"status":"pulling manifest"}\n', b'<html>proxy error</html>\n'], ConnectionResetError())
    with pytest.raises(StreamBroken) as excinfo:
        list(ollama_client._lines(Response(200, body), Clock(), 10))
    assert 'unreadable line from the server' in str(excinfo.value)
    body = timeout_body([{'status': 'pulling manifest'}])
    with pytest.raises(StreamBroken):
        list(ollama_client._lines(Response(200, body), Clock(), 10))


def test_a_recreated_model_is_loaded_again():
    """The copy in memory is the old build: a preload after a recreate or update must load the new one."""
    fake = FakeOllama([tags_entry('llama3.3:70b')])
    kw = dict(name='llama3.3-128k:70b', from_='llama3.3:70b', keep_alive=-1)
    assert ollama.ensure_model(client_for(fake), params(parameters={'num_ctx': 131072}, **kw),
                               now_year=2026)['actions'] == ['create', 'load']
    result = ollama.ensure_model(client_for(fake), params(parameters={'num_ctx': 65536}, **kw), now_year=2026)
    assert result['actions'] == ['recreate', 'load']
    assert fake.running[0]['digest'] == fake.models['llama3.3-128k:70b']['digest']
    assert ollama.ensure_model(client_for(fake), params(parameters={'num_ctx': 65536}, **kw),
                               now_year=2026)['actions'] == []


def test_a_loaded_copy_of_another_build_is_replaced():
    fake = FakeOllama([tags_entry('llama3.2:latest')])
    ollama.ensure_model(client_for(fake), params(keep_alive=-1), now_year=2026)
    fake.running[0]['digest'] = 'f' * 64  # what a pull by someone else leaves behind
    assert ollama.ensure_model(client_for(fake), params(keep_alive=-1), now_year=2026)['actions'] == ['load']


def test_a_server_that_is_not_ollama_fails_clearly():
    fake = FakeOllama()
    fake.do_GET_api_tags = lambda body: fake.reply(200, raw=b'<html>router login</html>')
    with pytest.raises(OllamaError) as excinfo:
        ollama.ensure_model(client_for(fake), params())
    assert excinfo.value.msg == ('GET http://127.0.0.1:11434/api/tags answered 200 without the JSON object Ollama '
                                 'sends: is this an Ollama server?')
    fake.do_GET_api_tags = lambda body: fake.reply(200, raw=b'')
    with pytest.raises(OllamaError):
        ollama.ensure_model(client_for(fake), params())
