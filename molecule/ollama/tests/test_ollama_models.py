# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify the Ollama models on the simulated Mac, and what each molecule run cost, from the
emulator's request log (/Users/admin/.ollama/requests.jsonl).

Runs are check, converge, idempotence, in that order; each ends with ollama_info, whose
GET /api/version closes the run.
"""

from __future__ import annotations

import json

testinfra_hosts = ['all']

REQUEST_LOG = '/Users/admin/.ollama/requests.jsonl'
API = 'http://127.0.0.1:11434'


def get(host, path):
    return json.loads(host.check_output('curl -sf %s%s', API, path))


def post(host, path, body):
    return json.loads(host.check_output("curl -sf -X POST -d %s %s%s", json.dumps(body), API, path))


def runs(host):
    entries = [json.loads(line) for line in host.file(REQUEST_LOG).content_string.splitlines() if line.strip()]
    result, current = [], []
    for entry in entries:
        current.append('%s %s' % (entry['method'], entry['path']))
        if entry['path'] == '/api/ps' and current[-3:-1] == ['GET /api/version', 'GET /api/tags']:
            result.append(current)
            current = []
    return result


def test_models_are_there_with_the_registry_digests(host):
    registry = get(host, '/_emulator/registry')
    models = {model['name']: model for model in get(host, '/api/tags')['models']}
    assert sorted(models) == ['llama3.3-128k:70b', 'llama3.3:70b', 'qwen2.5:0.5b', 'tinyllama:latest']
    for name in ('qwen2.5:0.5b', 'tinyllama:latest', 'llama3.3:70b'):
        base = name.split(':', maxsplit=1)[0] if name.endswith(':latest') else name
        digests = [entry['digest'] for key, entry in registry.items() if key in (name, base)]
        assert models[name]['digest'] in digests, name


def test_the_derived_model_has_a_128k_context(host):
    show = post(host, '/api/show', {'model': 'llama3.3-128k:70b'})
    parameters = dict(line.split(None, 1) for line in show['parameters'].splitlines() if line.strip())
    assert parameters['num_ctx'] == '131072'
    assert show['details']['family'] == 'llama' and show['details']['parameter_size'] == '70.6B'


def test_tinyllama_stays_loaded(host):
    running = get(host, '/api/ps')['models']
    assert [model['name'] for model in running] == ['tinyllama:latest']
    assert int(running[0]['expires_at'][:4]) > 2200


def test_check_mode_sent_no_write(host):
    check = runs(host)[0]
    assert [call for call in check if call.split()[0] in ('POST', 'DELETE') and call != 'POST /api/show'] == []


def test_a_converged_run_costs_one_request_per_model(host):
    check, converge, idempotence = runs(host)[:3]
    assert 'POST /api/pull' in converge and 'POST /api/create' in converge
    assert idempotence == [
        'GET /api/tags',                      # qwen2.5:0.5b present: one request
        'GET /api/tags', 'GET /api/ps',       # tinyllama present and loaded
        'GET /api/tags', 'POST /api/show',    # the derived model and its parameters
        'GET /api/version', 'GET /api/tags', 'GET /api/ps',  # ollama_info
    ]
