# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ollama_model and ollama_info modules' glue: arguments, check mode, diff, one fail_json."""

from __future__ import annotations

import json

import pytest

from ansible_collections.llmhost.macos.plugins.modules import ollama_info, ollama_model
from ollama_fakes import FakeOllama, tags_entry


class NoCommands:
    """These modules run no command; the run_module fixture wants something to answer for them."""

    path = None

    def __call__(self, argv):
        raise AssertionError('unexpected command %r' % (argv,))


@pytest.fixture
def server(monkeypatch):
    fake = FakeOllama(registry={'llama3.2:latest': tags_entry('llama3.2:latest')})
    seen = {}

    def transport(open_url, validate_certs=True):
        seen['validate_certs'] = validate_certs
        return fake
    monkeypatch.setattr(ollama_model, 'urls_transport', transport)
    monkeypatch.setattr(ollama_info, 'urls_transport', transport)
    fake.seen = seen
    return fake


def test_pull_then_nothing(run_module, server):
    result, failed = run_module(ollama_model, {'name': 'llama3.2'}, NoCommands())
    assert not failed and result['changed'] and result['actions'] == ['pull']
    assert 'diff' not in result
    assert server.seen['validate_certs'] is True
    server.requests.clear()
    result, failed = run_module(ollama_model, {'name': 'llama3.2'}, NoCommands())
    assert not failed and not result['changed']
    assert server.paths() == ['GET /api/tags']


def test_check_mode_and_diff(run_module, server):
    result, failed = run_module(ollama_model, {'name': 'llama3.2', '_ansible_check_mode': True, '_ansible_diff': True},
                                NoCommands())
    assert not failed and result['changed']
    assert server.writes() == []
    assert result['diff'] == {'before': {}, 'after': {'name': 'llama3.2:latest', 'digest': None, 'size': None}}


def test_failure_is_one_fail_json_with_details(run_module, server):
    result, failed = run_module(ollama_model, {'name': 'nope:1b'}, NoCommands())
    assert failed
    assert result['msg'] == 'Pulling nope:1b failed: pull model manifest: file does not exist'
    assert result['attempts'] == 1


@pytest.mark.parametrize('args, message', [
    ({'name': 'llama3.2', 'url': 'localhost:11434'}, "url: expects http://HOST:PORT or https://..., got 'localhost:11434'"),
    ({'name': 'llama 3'}, "name: 'llama 3' is not a valid model name"),
    ({'name': 'x', 'parameters': {'num_ctx': 2048}}, 'parameters needs from'),
])
def test_bad_input_fails_before_any_request(run_module, server, args, message):
    result, failed = run_module(ollama_model, args, NoCommands())
    assert failed and message in result['msg']
    assert server.requests == []


def test_warnings_are_passed_on(run_module, server):
    server.add(tags_entry('llama3.2:latest'))
    warnings = []
    result, failed = run_module(ollama_model, {'name': 'llama3.2', 'state': 'latest', '_ansible_check_mode': True},
                                NoCommands(), warnings=warnings)
    assert not failed and result['changed']
    assert warnings and warnings[0].startswith('Could not read the registry manifest of llama3.2:latest')
    assert 'warnings' not in result or result['warnings'] == warnings


def test_info(run_module, server):
    server.add(tags_entry('llama3.2:latest'))
    result, failed = run_module(ollama_info, {'url': 'http://10.0.0.5:11434', 'validate_certs': False}, NoCommands())
    assert not failed and result['changed'] is False
    assert result['version'] == '0.13.0' and result['url'] == 'http://10.0.0.5:11434'
    assert [model['name'] for model in result['models']] == ['llama3.2:latest']
    assert server.seen['validate_certs'] is False
    assert server.requests[0]['url'] == 'http://10.0.0.5:11434/api/version'


def test_info_unreachable(run_module, server):
    server.unreachable = True
    result, failed = run_module(ollama_info, {}, NoCommands())
    assert failed and result['msg'].startswith('Cannot reach the Ollama server at http://127.0.0.1:11434/api/version')


# ---- what the action plugin asks of the module -----------------------------------------------------

def test_a_pull_reports_its_download_and_writes_its_progress(run_module, server, tmp_path):
    path = tmp_path / 'progress.json'
    result, failed = run_module(ollama_model, {'name': 'llama3.2', '_progress_file': str(path)}, NoCommands())
    assert not failed and result['actions'] == ['pull']
    assert result['download']['bytes'] == 1000 == result['pulled_bytes']
    assert result['msg'].startswith('pulled llama3.2:latest: 0.98 KiB in ')
    snapshot = json.loads(path.read_text())
    assert snapshot['model'] == 'llama3.2:latest' and snapshot['status'] == 'success'
    assert snapshot['completed'] == snapshot['total'] == snapshot['bytes'] == 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ['progress.json']


def test_an_unwritable_progress_file_is_a_warning_not_a_failure(run_module, server, tmp_path):
    warnings = []
    result, failed = run_module(ollama_model, {'name': 'llama3.2', '_progress_file': str(tmp_path / 'no' / 'p.json')},
                                NoCommands(), warnings=warnings)
    assert not failed and result['changed'] and result['actions'] == ['pull']
    assert len(warnings) == 1 and warnings[0].startswith('Could not report the progress of the pull (%s' % tmp_path)


def test_defer_download_stops_before_the_pull(run_module, server):
    result, failed = run_module(ollama_model, {'name': 'llama3.2', '_defer_download': True,
                                               'registry_url': 'http://mirror:5000'}, NoCommands())
    assert not failed and result['download_needed'] is True and result['changed'] is False
    assert result['download_plan'] == {'model': 'llama3.2:latest', 'action': 'pull', 'total_bytes': None}
    assert server.writes() == []
    assert server.paths() == ['GET /api/tags', 'GET /v2/library/llama3.2/manifests/latest']


def test_defer_download_of_a_present_model_is_one_request(run_module, server):
    server.add(tags_entry('llama3.2:latest'))
    result, failed = run_module(ollama_model, {'name': 'llama3.2', '_defer_download': True}, NoCommands())
    assert not failed and not result['changed'] and 'download_needed' not in result
    assert server.paths() == ['GET /api/tags']


def test_a_negative_progress_interval_fails_before_any_request(run_module, server):
    result, failed = run_module(ollama_model, {'name': 'llama3.2', 'progress_interval': -5}, NoCommands())
    assert failed and result['msg'] == 'progress_interval: expects 0 (no progress) or more seconds, got -5.0'
    assert server.requests == []
