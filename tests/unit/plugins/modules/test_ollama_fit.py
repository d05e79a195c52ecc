# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ollama_fit module's glue: options, one sysctl, no request for what is on disk, one fail_json, never changed."""

from __future__ import annotations

import os

import pytest

from ansible_collections.llmhost.macos.plugins.modules import ollama_fit
from ollama_fakes import FakeOllama, tags_entry
from ollama_fit_fakes import (
    GIB, LLAMA33_SIZE, MEMSIZE_128, FakeSysctl, StatvfsResult, gguf, install, llama33_registry_manifest, llama_entries,
    model_blobs,
)

REGISTRY_URL = 'https://registry.ollama.ai/v2/library/llama3.3/manifests/70b'


@pytest.fixture
def server(monkeypatch):
    fake = FakeOllama()
    seen = {}

    def transport(open_url, validate_certs=True):
        seen['validate_certs'] = validate_certs
        return fake
    monkeypatch.setattr(ollama_fit, 'urls_transport', transport)
    fake.seen = seen
    return fake


@pytest.fixture
def disk(monkeypatch, tmp_path):
    """The models directory, on a file system with `disk.free` bytes free."""
    root = tmp_path / 'models'
    real = os.statvfs

    class Disk:
        path = str(root)
        free = 500 * GIB

    def statvfs(path):
        if str(path).startswith(str(tmp_path)):
            return StatvfsResult(Disk.free)
        return real(path)
    monkeypatch.setattr(os, 'statvfs', statvfs)
    return Disk


def llama33(**kw):
    entry = {'name': 'llama3.3:70b', 'parameters': {'num_ctx': 131072}, 'preload': True}
    entry.update(kw)
    return entry


def test_plan_from_disk_sends_no_request_and_reads_sysctl_once(run_module, server, disk):
    model = gguf(llama_entries(layers=28, heads=24, kv_heads=8, embedding=3072, context=131072))
    install(disk.path, ('registry.ollama.ai', 'library', 'llama3.2', 'latest'), model_blobs(model))
    sysctl = FakeSysctl()
    args = {'models': [{'name': 'llama3.2', 'parameters': {'num_ctx': 32768}, 'preload': True}],
            'models_dir': disk.path, 'kv_cache_type': 'q8_0', 'flash_attention': True}
    result, failed = run_module(ollama_fit, args, sysctl)
    assert not failed and result['changed'] is False
    assert server.requests == []
    assert sysctl.calls == [['/usr/sbin/sysctl', '-n', 'hw.memsize', 'iogpu.wired_limit_mb']]
    row = result['plan'][0]
    assert row['architecture'] == {'layers': 28, 'kv_heads': 8, 'head_dim': 128, 'context_length': 131072,
                                   'source': 'GGUF header on disk'}
    assert row['kv_cache_bytes'] == 32768 * 28 * 8 * 128 * 2 * 34 // 32
    assert row['fits'] is True and row['missing_bytes'] == 0
    assert result['gpu_limit_bytes'] == MEMSIZE_128 * 84 // 100 and result['memory_bytes'] == MEMSIZE_128
    assert result['disk_free_bytes'] == 500 * GIB and result['download_bytes'] == 0
    assert result['msg'].splitlines()[0].startswith('llama3.2:latest: fits: ')

    # check mode reads the same and says the same
    sysctl.calls.clear()
    again, failed = run_module(ollama_fit, dict(args, _ansible_check_mode=True), sysctl)
    assert not failed and again == result and len(sysctl.calls) == 1


def test_plan_before_the_download_asks_the_registry_once(run_module, server, disk):
    server.manifests[REGISTRY_URL] = llama33_registry_manifest()
    args = {'models': [llama33(name='llama3.3-128k:70b', **{'from': 'llama3.3:70b'})], 'models_dir': disk.path,
            'kv_cache_type': 'q8_0', 'flash_attention': True, 'validate_certs': False}
    result, failed = run_module(ollama_fit, args, FakeSysctl())
    assert not failed, result['msg']
    assert [request['url'] for request in server.requests] == [REGISTRY_URL]
    assert server.requests[0]['method'] == 'GET' and server.seen['validate_certs'] is False
    row = result['plan'][0]
    assert (row['name'], row['from']) == ('llama3.3-128k:70b', 'llama3.3:70b')
    assert row['weights_bytes'] == row['missing_bytes'] == LLAMA33_SIZE
    assert row['total_bytes'] / GIB == pytest.approx(62.85, abs=0.005)
    assert result['download_bytes'] == LLAMA33_SIZE


def test_a_plan_that_does_not_fit_fails_once_with_every_number(run_module, server, disk):
    server.manifests[REGISTRY_URL] = llama33_registry_manifest()
    warnings = []
    args = {'models': [llama33()], 'models_dir': disk.path, 'kv_cache_type': 'q8_0', 'num_parallel': 4}
    result, failed = run_module(ollama_fit, args, FakeSysctl(), warnings=warnings)
    assert failed
    assert result['msg'].startswith('llama3.3:70b needs 126.60 GiB: 39.60 GiB weights + 85.00 GiB KV cache')
    assert 'no iogpu.wired_limit_mb can make 126.60 GiB fit on this Mac' in result['msg']
    assert result['problems'] == [result['msg']]
    assert result['plan'][0]['fits'] is False and result['gpu_limit_bytes'] == MEMSIZE_128 * 84 // 100
    assert result['summary'].splitlines()[0] == (
        'llama3.3:70b: does NOT fit: 39.60 GiB weights + 85.00 GiB KV cache (q8_0, 131072 tokens x 4 slots) + 2.00 GiB '
        'compute = 126.60 GiB, more than 107.52 GiB; 39.60 GiB to download')
    # flash_attention was not set: the quantized cache relies on llama-server's automatic choice
    assert warnings and warnings[0].startswith('kv_cache_type q8_0 needs flash attention, and flash_attention is not set')
    assert 'warnings' not in result or result['warnings'] == warnings


def test_gpu_limit_mb_and_the_wired_limit(run_module, server, disk):
    server.manifests[REGISTRY_URL] = llama33_registry_manifest()
    args = {'models': [llama33()], 'models_dir': disk.path}
    result, failed = run_module(ollama_fit, args, FakeSysctl(wired=114688))
    assert not failed and result['gpu_limit_bytes'] == 112 * GIB
    assert result['gpu_limit_source'] == 'iogpu.wired_limit_mb=114688'
    result, failed = run_module(ollama_fit, dict(args, gpu_limit_mb=81920), FakeSysctl(wired=114688))
    assert failed and result['gpu_limit_source'] == 'gpu_limit_mb=81920'
    assert 'raising iogpu.wired_limit_mb to 83968 (leaves 46.00 GiB of 128.00 GiB to macOS)' in result['msg']


def test_disk_too_small(run_module, server, disk):
    server.manifests[REGISTRY_URL] = llama33_registry_manifest()
    disk.free = 40 * GIB
    result, failed = run_module(ollama_fit, {'models': [llama33()], 'models_dir': disk.path}, FakeSysctl())
    assert failed
    assert result['msg'] == ('The models need 39.60 GiB more on disk, plus a margin of 10.00 GiB, but %s has 40.00 GiB '
                             'free: free 9.60 GiB more.' % disk.path)
    assert result['disk_free_bytes'] == 40 * GIB


def test_loaded_phase_asks_the_server(run_module, server):
    server.add(tags_entry('llama3.3:70b', size=LLAMA33_SIZE),
               {'details': {}, 'parameters': '',
                'model_info': {'general.architecture': 'llama', 'llama.block_count': 80,
                               'llama.attention.head_count': 64, 'llama.attention.head_count_kv': 8,
                               'llama.embedding_length': 8192, 'llama.context_length': 131072}})
    args = {'models': [llama33()], 'phase': 'loaded', 'url': 'http://10.0.0.5:11434', 'kv_cache_type': 'q4_0',
            'flash_attention': True, 'num_parallel': 2}
    result, failed = run_module(ollama_fit, args, FakeSysctl())
    assert not failed, result['msg']
    assert server.paths() == ['GET /api/tags', 'POST /api/show']
    assert server.requests[0]['url'] == 'http://10.0.0.5:11434/api/tags'
    row = result['plan'][0]
    assert row['architecture']['source'] == 'POST /api/show' and row['total_bytes'] / GIB == pytest.approx(64.10, abs=0.005)
    assert result['disk_free_bytes'] is None


@pytest.mark.parametrize('args, message', [
    ({'kv_cache_type': 'q4_0', 'flash_attention': False}, 'kv_cache_type q4_0 needs flash attention'),
    ({'num_parallel': 0}, 'num_parallel: expects 1 or more, got 0'),
    ({'models_dir': None}, 'models_dir: phase plan reads the models directory'),
    ({'url': 'localhost:11434'}, "url: expects http://HOST:PORT or https://..., got 'localhost:11434'"),
    ({'kv_cache_type': 'q5_1'}, 'value of kv_cache_type must be one of: f16, q8_0, q4_0, got: q5_1'),
    ({'models': [{'name': 'x', 'architecture': {'layers': 2}}]}, 'missing required arguments: head_dim, kv_heads'),
])
def test_bad_input_fails_before_anything_is_read(run_module, server, disk, args, message):
    sysctl = FakeSysctl()
    full = {'models': [llama33()], 'models_dir': disk.path}
    full.update(args)
    result, failed = run_module(ollama_fit, full, sysctl)
    assert failed and message in result['msg'], result['msg']
    assert sysctl.calls == [] and server.requests == []


def test_a_sysctl_failure_is_reported_with_its_command(run_module, server, disk):
    class NoSysctl(FakeSysctl):
        def __call__(self, argv):
            self.calls.append(list(argv))
            return 1, '', "sysctl: unknown oid 'hw.memsize'\n"
    result, failed = run_module(ollama_fit, {'models': [], 'models_dir': disk.path}, NoSysctl())
    assert failed
    assert result['msg'] == ("/usr/sbin/sysctl -n hw.memsize iogpu.wired_limit_mb failed (exit 1): "
                             "sysctl: unknown oid 'hw.memsize'")
    assert result['rc'] == 1
