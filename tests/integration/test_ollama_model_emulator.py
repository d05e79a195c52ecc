# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ollama_model and ollama_info over real HTTP against the Ollama API emulator.

Each fault of the emulator is run against the module with the outcome a user needs: retried to
success, or a clear failure with nothing registered. Request counts come from the emulator's log.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request

from ansible_collections.llmhost.macos.plugins.modules import ollama_info, ollama_model

MODEL = 'tinyllama'
WRITES = ('POST', 'DELETE')


def api(emulator, path, body=None):
    request = urllib.request.Request(emulator.url + path, data=None if body is None else json.dumps(body).encode(),
                                     method='GET' if body is None else 'POST')
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b'null')


def tags(emulator):
    return {model['name']: model for model in api(emulator, '/api/tags')['models']}


def log(emulator):
    return ['%s %s' % (entry['method'], entry['path']) for entry in emulator.requests]


def writes(emulator, settle=0.5):
    """Logged writes. The emulator logs a request as it sends the response's last bytes, which a
    client that stopped reading at an error line may not have waited for: give it `settle` seconds."""
    deadline = time.monotonic() + settle
    while True:
        found = [entry for entry in emulator.requests if entry['method'] in WRITES and entry['path'] != '/api/show']
        if time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def args(emulator, **kw):
    base = {'name': MODEL, 'url': emulator.url, 'retries': 3, 'stall_timeout': 5, 'timeout': 5}
    base.update(kw)
    return base


# ---- present, idempotence, check mode ------------------------------------------------------------

def test_pull_then_one_request_when_present(run, emulator):
    result = run(ollama_model, args(emulator))
    assert not result.failed, result
    assert result['changed'] and result['actions'] == ['pull']
    listed = tags(emulator)['tinyllama:latest']
    assert result['model']['digest'] == listed['digest'] == emulator.registry_digest(MODEL)
    assert result['model']['size'] == listed['size']
    assert result['model']['details']['context_length']  # from /api/show after the pull
    assert result['pulled_bytes'] > 0

    emulator.clear_requests()
    again = run(ollama_model, args(emulator))
    assert not again.failed and not again['changed']
    assert log(emulator) == ['GET /api/tags']
    assert again['model']['digest'] == listed['digest']


def test_check_mode_sends_no_write_and_predicts_the_pull(run, emulator):
    result = run(ollama_model, args(emulator, keep_alive=-1), check=True, diff=True)
    assert not result.failed and result['changed']
    assert result['actions'] == ['pull', 'load']
    assert writes(emulator) == []
    assert tags(emulator) == {}
    assert result['diff']['before'] == {'loaded': False}
    assert result['diff']['after'] == {'name': 'tinyllama:latest', 'digest': None, 'size': None, 'loaded': True}


def test_invalid_names_are_refused_without_a_request(run, emulator):
    for name, message in (('llama 3', "name: 'llama 3' is not a valid model name: bad model 'llama 3'"),
                          ('a/b/c/d', "name: 'a/b/c/d' has more than host/namespace/model"),
                          ('x:', "name: 'x:' is not a valid model name: bad tag ''"),
                          ('ns.dot/model', "name: 'ns.dot/model' is not a valid model name: bad namespace 'ns.dot'")):
        result = run(ollama_model, args(emulator, name=name))
        assert result.failed and result['msg'].startswith(message), result['msg']
    assert emulator.requests == []


# ---- faults --------------------------------------------------------------------------------------

def test_a_dropped_connection_is_retried_and_resumes(run, emulator):
    emulator.add_fault(path='/api/pull', fault='drop', at=0.5, times=1)
    result = run(ollama_model, args(emulator))
    assert not result.failed, result
    assert result['pull']['attempts'] == 2 and result.sleeps == [2.0]
    pulls = [entry for entry in emulator.requests if entry['path'] == '/api/pull']
    assert [entry['outcome'] for entry in pulls] == ['dropped', 'complete']
    # resumed: the second attempt transferred only what the first had not
    assert pulls[0]['bytes'] > 0 and pulls[1]['bytes'] > 0
    assert pulls[0]['bytes'] + pulls[1]['bytes'] == result['pulled_bytes']
    # http.client reads a chunked body cut short as a plain end of stream: no final "success"
    assert len(result['pull']['errors']) == 1
    assert re.fullmatch(r'the stream ended without "success" \(last status: pulling [0-9a-f]{12}\)',
                        result['pull']['errors'][0])
    assert tags(emulator)['tinyllama:latest']['digest'] == result['model']['digest'] == emulator.registry_digest(MODEL)


def test_a_digest_mismatch_is_retried_to_success(run, emulator):
    emulator.add_fault(path='/api/pull', fault='digest_mismatch', times=1)
    result = run(ollama_model, args(emulator))
    assert not result.failed, result
    assert result['pull']['attempts'] == 2
    assert result['pull']['errors'][0].startswith('digest mismatch, file must be downloaded again: want sha256:')
    assert tags(emulator)['tinyllama:latest']['digest'] == emulator.registry_digest(MODEL)


def test_a_mismatch_every_time_fails_with_nothing_registered(run, emulator):
    emulator.add_fault(path='/api/pull', fault='digest_mismatch', times=0)
    result = run(ollama_model, args(emulator, retries=2))
    assert result.failed
    assert result['msg'].startswith('Pulling tinyllama:latest failed after 3 attempts: digest mismatch')
    assert result['attempts'] == 3 and len(result['errors']) == 3
    assert tags(emulator) == {}


def test_disk_full_fails_at_once_with_nothing_registered(run, emulator):
    emulator.add_fault(path='/api/pull', fault='disk_full', at=0.3, times=0)
    result = run(ollama_model, args(emulator))
    assert result.failed
    assert 'no space left on device' in result['msg'] and result['attempts'] == 1
    assert [entry['path'] for entry in writes(emulator)] == ['/api/pull']
    assert tags(emulator) == {}


def test_a_stalled_download_is_abandoned_and_retried(run, emulator):
    emulator.add_fault(path='/api/pull', fault='stall', at=0.3, times=1)
    started = time.monotonic()
    result = run(ollama_model, args(emulator, stall_timeout=1))
    assert not result.failed, result
    assert result['pull']['attempts'] == 2
    assert result['pull']['errors'][0].startswith('no progress for 1.0 seconds (stalled at pulling ')
    assert time.monotonic() - started < 10


def test_a_slow_start_within_the_timeout_is_fine(run, emulator):
    emulator.add_fault(path='/api/tags', fault='slow_start', seconds=0.5, times=1)
    result = run(ollama_model, args(emulator, timeout=3))
    assert not result.failed, result


def test_a_server_slower_than_the_timeout_fails_naming_the_url(run, emulator):
    emulator.add_fault(path='/api/tags', fault='slow_start', seconds=3, times=1)
    started = time.monotonic()
    result = run(ollama_model, args(emulator, timeout=0.5))
    assert result.failed
    assert result['msg'].startswith('Cannot reach the Ollama server at %s/api/tags' % emulator.url)
    assert time.monotonic() - started < 2.5


def test_an_unknown_model_fails_without_retrying(run, emulator):
    result = run(ollama_model, args(emulator, name='no-such-model:7b'))
    assert result.failed
    assert result['msg'] == 'Pulling no-such-model:7b failed: pull model manifest: file does not exist'
    assert [entry['path'] for entry in writes(emulator)] == ['/api/pull']


def test_the_unknown_model_fault(run, emulator):
    emulator.add_fault(path='/api/pull', fault='unknown_model', times=1)
    result = run(ollama_model, args(emulator))
    assert result.failed and 'file does not exist' in result['msg']
    assert tags(emulator) == {}


def test_server_errors_are_retried(run, emulator):
    emulator.add_fault(path='/api/pull', fault='status', status=500, error='something went wrong', times=2)
    result = run(ollama_model, args(emulator))
    assert not result.failed, result
    assert result['pull']['attempts'] == 3


def test_an_unreachable_server_fails_within_the_timeout(run, emulator):
    url = emulator.url
    emulator.stop()
    started = time.monotonic()
    result = run(ollama_model, {'name': MODEL, 'url': url, 'timeout': 2})
    assert result.failed and result['msg'].startswith('Cannot reach the Ollama server at %s/api/tags' % url)
    assert time.monotonic() - started < 3


# ---- latest --------------------------------------------------------------------------------------

def test_latest_detects_a_new_build_and_reports_both_digests(run, emulator):
    first = emulator.install('tinyllama:latest')
    assert not run(ollama_model, args(emulator, state='latest'))['changed']

    new = emulator.set_registry_revision(MODEL, 2)
    emulator.clear_requests()
    predicted = run(ollama_model, args(emulator, state='latest', registry_url=emulator.url), check=True)
    assert predicted['changed'] and predicted['actions'] == ['update']
    assert writes(emulator) == []

    result = run(ollama_model, args(emulator, state='latest'))
    assert result['changed'] and result['actions'] == ['update']
    assert result['digests'] == {'before': first, 'after': new}
    assert tags(emulator)['tinyllama:latest']['digest'] == new

    unchanged = run(ollama_model, args(emulator, state='latest', registry_url=emulator.url), check=True)
    assert not unchanged['changed']


# ---- derived models ------------------------------------------------------------------------------

def derived(emulator, **kw):
    options = {'name': 'llama3.3-128k:70b', 'from': 'llama3.3:70b', 'parameters': {'num_ctx': 131072}}
    options.update(kw)
    return args(emulator, **options)


def test_a_derived_model_with_a_128k_context(run, emulator):
    result = run(ollama_model, derived(emulator), diff=True)
    assert not result.failed, result
    assert result['actions'] == ['pull llama3.3:70b', 'create']
    show = api(emulator, '/api/show', {'model': 'llama3.3-128k:70b'})
    assert 'num_ctx' in show['parameters'] and '131072' in show['parameters']
    assert result['model']['details']['family'] == 'llama'
    assert result['model']['details']['parameter_size'] == '70.6B'
    assert result['model']['details']['quantization_level'] == 'Q4_K_M'
    assert result['diff']['after']['parameters'] == {'num_ctx': 131072}

    emulator.clear_requests()
    again = run(ollama_model, derived(emulator))
    assert not again['changed']
    assert log(emulator) == ['GET /api/tags', 'POST /api/show']

    changed = run(ollama_model, derived(emulator, parameters={'num_ctx': 65536}), check=True)
    assert changed['changed'] and changed['actions'] == ['recreate']
    assert writes(emulator) == []
    changed = run(ollama_model, derived(emulator, parameters={'num_ctx': 65536}))
    assert changed['actions'] == ['recreate']
    assert '65536' in api(emulator, '/api/show', {'model': 'llama3.3-128k:70b'})['parameters']


def test_a_derived_model_follows_its_updated_base_with_latest(run, emulator):
    emulator.install('llama3.3:70b')
    assert run(ollama_model, derived(emulator))['actions'] == ['create']
    emulator.set_registry_revision('llama3.3:70b', 2)
    assert not run(ollama_model, derived(emulator))['changed']  # present: the base is not checked
    emulator.clear_requests()
    predicted = run(ollama_model, derived(emulator, state='latest', registry_url=emulator.url), check=True)
    assert predicted['actions'] == ['update llama3.3:70b', 'recreate']
    assert predicted['reasons'] == ['base llama3.3:70b would change']
    assert writes(emulator) == []
    result = run(ollama_model, derived(emulator, state='latest'))
    assert result['actions'] == ['update llama3.3:70b', 'recreate']
    assert result['digests']['after'] == emulator.registry_digest('llama3.3:70b') != result['digests']['before']
    assert any(reason.startswith('base llama3.3:70b changed') for reason in result['reasons'])
    assert not run(ollama_model, derived(emulator, state='latest'))['changed']


# ---- keep_alive, absent, info --------------------------------------------------------------------

def test_keep_alive_preloads_once(run, emulator):
    result = run(ollama_model, args(emulator, keep_alive=-1))
    assert result['actions'] == ['pull', 'load'] and result['loaded'] is True
    running = api(emulator, '/api/ps')['models']
    assert [model['name'] for model in running] == ['tinyllama:latest']
    assert int(running[0]['expires_at'][:4]) > 2200

    emulator.clear_requests()
    again = run(ollama_model, args(emulator, keep_alive=-1))
    assert not again['changed'] and again['loaded'] is True
    assert log(emulator) == ['GET /api/tags', 'GET /api/ps']

    unload = run(ollama_model, args(emulator, keep_alive=0))
    assert unload['actions'] == ['unload'] and api(emulator, '/api/ps')['models'] == []


def test_absent(run, emulator):
    emulator.install('tinyllama:latest')
    assert run(ollama_model, args(emulator, state='absent'), check=True)['changed']
    assert 'tinyllama:latest' in tags(emulator)
    result = run(ollama_model, args(emulator, state='absent'))
    assert result['changed'] and tags(emulator) == {}
    assert not run(ollama_model, args(emulator, state='absent'))['changed']


def test_info(run, emulator):
    emulator.install('tinyllama:latest')
    run(ollama_model, args(emulator, keep_alive='10m'))
    emulator.clear_requests()
    info = run(ollama_info, {'url': emulator.url}, check=True)
    assert not info.failed and info['changed'] is False
    assert log(emulator) == ['GET /api/version', 'GET /api/tags', 'GET /api/ps']
    assert info['version'] == api(emulator, '/api/version')['version']
    assert [model['name'] for model in info['models']] == ['tinyllama:latest']
    assert info['models'][0]['digest'] == emulator.registry_digest(MODEL)
    assert [model['name'] for model in info['running']] == ['tinyllama:latest']
