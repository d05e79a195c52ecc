# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ollama_fit over real HTTP against the Ollama API emulator, with a real sysctl process on PATH.

Before the pull the registry manifest gives the weights (one request); after it the same model on
disk costs no request (its GGUF header is read from the blob the emulator wrote); phase loaded
reads /api/tags once and /api/show per model. Counts come from the emulator's request log.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.request

from ansible_collections.llmhost.macos.plugins.modules import ollama_fit

GIB = 1 << 30
MEMSIZE_128 = 137438953472


def sysctl_on_path(tmp_path, monkeypatch):
    """A sysctl that prints what `sysctl -n hw.memsize iogpu.wired_limit_mb` prints on a 128 GB Mac
    with the stock limit (macos-formats-provisioning.md 3.1-3.3), and logs its argv."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    log = tmp_path / 'sysctl.log'
    script = bin_dir / 'sysctl'
    script.write_text('#!/bin/sh\n'
                      'echo "$*" >> "%s"\n'
                      'if [ "$*" = "-n hw.memsize iogpu.wired_limit_mb" ]; then printf "%d\\n0\\n"; exit 0; fi\n'
                      'echo "sysctl: unexpected arguments: $*" >&2; exit 2\n' % (log, MEMSIZE_128))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv('PATH', '%s%s%s' % (bin_dir, os.pathsep, os.environ.get('PATH', '')))
    return log


def tags(emulator):
    with urllib.request.urlopen(emulator.url + '/api/tags', timeout=10) as response:
        return {model['name']: model for model in json.loads(response.read())['models']}


def manifest(emulator, name='llama3.3', tag='70b'):
    path = os.path.join(emulator.models_dir, 'manifests', 'registry.ollama.ai', 'library', name, tag)
    with open(path) as handle:
        return json.load(handle)


def log(emulator):
    return ['%s %s' % (entry['method'], entry['path']) for entry in emulator.requests]


MODEL = {'name': 'llama3.3-128k:70b', 'from': 'llama3.3:70b', 'parameters': {'num_ctx': 131072}, 'preload': True}


def test_plan_from_the_registry_then_from_disk(run, emulator, tmp_path, monkeypatch):
    calls = sysctl_on_path(tmp_path, monkeypatch)
    args = {'models': [MODEL], 'models_dir': emulator.models_dir, 'registry_url': emulator.url,
            'kv_cache_type': 'q8_0', 'flash_attention': True, 'url': emulator.url}

    before = run(ollama_fit, args)
    assert not before.failed, before['msg']
    assert log(emulator) == ['GET /v2/library/llama3.3/manifests/70b']
    row = before['plan'][0]
    assert row['weights_source'] == 'registry manifest'
    assert row['architecture']['source'] == 'known model llama3.3:70b'   # nothing on disk to read it from
    assert row['kv_cache_bytes'] == 21.25 * GIB and row['fits'] is True
    assert calls.read_text().splitlines() == ['-n hw.memsize iogpu.wired_limit_mb']

    emulator.install('llama3.3:70b')
    emulator.clear_requests()
    after = run(ollama_fit, args)
    assert not after.failed, after['msg']
    assert emulator.requests == []                                       # on disk: no request at all
    row = after['plan'][0]
    assert row['architecture'] == {'layers': 80, 'kv_heads': 8, 'head_dim': 128, 'context_length': 131072,
                                   'source': 'GGUF header on disk'}
    assert row['missing_bytes'] == 0 and after['download_bytes'] == 0
    # the registry's layer sizes are what the pull put on disk (the stand-in's few MiB: /api/tags alone lists
    # the catalogue's 42.5 GB, see test_loaded_reads_the_servers_view)
    assert row['weights_bytes'] == before['plan'][0]['weights_bytes'] == before['plan'][0]['missing_bytes'] \
        == sum(layer['size'] for layer in manifest(emulator)['layers'] + [manifest(emulator)['config']])


def test_loaded_reads_the_servers_view(run, emulator, tmp_path, monkeypatch):
    sysctl_on_path(tmp_path, monkeypatch)
    emulator.install('llama3.3:70b')
    emulator.clear_requests()
    result = run(ollama_fit, {'models': [{'name': 'llama3.3:70b', 'preload': True}], 'phase': 'loaded',
                              'url': emulator.url, 'num_parallel': 2, 'flash_attention': True,
                              'kv_cache_type': 'q8_0'}, check=True)
    assert not result.failed, result['msg']
    assert log(emulator) == ['GET /api/tags', 'POST /api/show']
    row = result['plan'][0]
    assert row['architecture']['source'] == 'POST /api/show'
    # no num_ctx anywhere: Ollama's default for 107.52 GiB of GPU memory, 262144, capped at the trained 131072
    assert row['context'] == 131072
    assert row['context_source'] == 'Ollama default for 107.52 GiB of GPU memory, capped at the trained context'
    assert row['kv_cache_bytes'] == 42.5 * GIB                           # q8_0, two slots
    # the weights a real /api/tags lists for llama3.3:70b (with f16 and two slots, 121.60 GiB: no fit)
    assert row['weights_bytes'] == tags(emulator)['llama3.3:70b']['size'] == 42520415620
    assert result['changed'] is False
