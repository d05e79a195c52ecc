# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/ollama_fit.py: the KV cache arithmetic, the GPU limit, the context, the GGUF reader,
the sysctl parser, the models directory and the plan, with the numbers of ollama-role.md 4.3."""

from __future__ import annotations

import io
import json
import os

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import ollama_fit as fit
from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, CommandError
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import OllamaError, parse_model_name

from ollama_fakes import FakeOllama
from ollama_fit_fakes import (
    ARRAY, GIB, I32, LLAMA33_SIZE, MEMSIZE_64, MEMSIZE_128, MT_MODEL, STRING, U32,
    FakeSysctl, StatvfsResult, gguf, huge_array_gguf, install, llama33_registry_manifest, llama_entries, model_blobs,
    sha,
)

LLAMA33 = ('registry.ollama.ai', 'library', 'llama3.3', '70b')


def params(models, **kw):
    base = dict(models=models, kv_cache_type='f16', flash_attention=True, num_parallel=1, context_length=0,
                gpu_limit_mb=None, models_dir='/models', phase='plan', insecure=False, registry_url=None)
    base.update(kw)
    return base


def llama33(**kw):
    entry = {'name': 'llama3.3:70b', 'parameters': {'num_ctx': 131072}, 'preload': True}
    entry.update(kw)
    return entry


def sysctl(memsize=MEMSIZE_128, wired=0):
    fake = FakeSysctl(memsize, wired)
    return Command(fake.path, fake), fake


def known_plan(kv_type, slots, memsize=MEMSIZE_128, wired=0, **kw):
    """check_fit for llama3.3:70b before the download: its registry manifest, and the known-model table."""

    store = DirStub(free=2000 * GIB)
    command, dummy = sysctl(memsize, wired)
    return fit.check_fit(params([llama33()], kv_cache_type=kv_type, num_parallel=slots, **kw), command, store=store,
                         fetch_registry=lambda name: llama33_layers())


class DirStub:
    """A ModelsDir with nothing on disk and a given free space (for plans that only need the arithmetic)."""

    root = '/models'

    def __init__(self, free):
        self.free = free

    def manifest(self, name):
        return None

    def has_blob(self, digest):
        return False

    def free_bytes(self):
        return self.free


def llama33_layers():
    return fit.parse_manifest(llama33_registry_manifest(), 'test')


# ---- KV cache arithmetic -------------------------------------------------------------------------

@pytest.mark.parametrize('kv_type, per_token, at_128k', [
    ('f16', 327680, 40 * GIB),                 # 320 KiB a token; 42.95 GB
    ('q8_0', 174080, 21.25 * GIB),             # 170 KiB; 22.82 GB
    ('q4_0', 92160, 11.25 * GIB),              # 90 KiB; 12.08 GB
])
def test_kv_cache_of_llama33_70b(kv_type, per_token, at_128k):
    assert fit.kv_cache_bytes(1, 1, 80, 8, 128, kv_type) == per_token
    assert fit.kv_cache_bytes(131072, 1, 80, 8, 128, kv_type) == at_128k
    assert fit.kv_cache_bytes(131072, 4, 80, 8, 128, kv_type) == 4 * at_128k


def test_kv_cache_matches_ollamas_log_of_llama3_70b():
    # ollama#3819: "KV self size = 640.00 MiB" at n_ctx 2048, f16
    assert fit.kv_cache_bytes(2048, 1, 80, 8, 128, 'f16') == 640 << 20


def test_kv_bytes_per_element_are_the_block_sizes():
    assert fit.kv_bytes_per_element('f16') == 2
    assert fit.kv_bytes_per_element('q8_0') * 32 == 34
    assert fit.kv_bytes_per_element('q4_0') * 32 == 18
    with pytest.raises(OllamaError, match="kv_cache_type: expects one of f16, q8_0, q4_0, got 'q5_1'"):
        fit.kv_bytes_per_element('q5_1')


@pytest.mark.parametrize('kv_type, flash, problem, warning', [
    ('f16', False, None, 'flash attention is off'),
    ('f16', True, None, None),
    ('f16', None, None, None),
    ('q8_0', False, 'kv_cache_type q8_0 needs flash attention', 'flash attention is off'),
    ('q4_0', False, 'kv_cache_type q4_0 needs flash attention', 'flash attention is off'),
    ('q8_0', True, None, None),
    ('q8_0', None, None, 'kv_cache_type q8_0 needs flash attention, and flash_attention is not set'),
])
def test_quantized_kv_needs_flash_attention(kv_type, flash, problem, warning):
    found = fit.kv_type_problem(kv_type, flash)
    assert (found is None) if problem is None else found.startswith(problem)
    said = fit.kv_type_warning(kv_type, flash)
    assert (said is None) if warning is None else said.startswith(warning)


# ---- the plan for llama3.3:70b at 131072 tokens: the table of ollama-role.md 4.3 ------------------

@pytest.mark.parametrize('kv_type, slots, total_gib, fits', [
    ('f16', 1, 81.60, True),
    ('f16', 2, 121.60, False),
    ('f16', 4, 201.60, False),
    ('q8_0', 1, 62.85, True),
    ('q8_0', 2, 84.10, True),
    ('q8_0', 4, 126.60, False),
    ('q4_0', 1, 52.85, True),
    ('q4_0', 2, 64.10, True),
    ('q4_0', 4, 86.60, True),
])
def test_llama33_70b_at_128k_on_a_128gb_mac(kv_type, slots, total_gib, fits):
    try:
        result = known_plan(kv_type, slots)
    except OllamaError as exc:
        assert not fits, exc.msg
        result = exc.details
    row = result['plan'][0]
    assert row['weights_bytes'] == LLAMA33_SIZE
    assert row['context'] == 131072 and row['num_parallel'] == slots
    assert row['compute_bytes'] == 2 * GIB
    assert row['total_bytes'] == row['weights_bytes'] + row['kv_cache_bytes'] + row['compute_bytes']
    assert row['total_bytes'] / GIB == pytest.approx(total_gib, abs=0.005)
    assert row['fits'] is fits
    assert result['gpu_limit_bytes'] / GIB == pytest.approx(107.52, abs=0.005)


def test_q8_0_with_four_slots_cannot_fit_a_128gb_mac_at_all():
    with pytest.raises(OllamaError) as excinfo:
        known_plan('q8_0', 4)
    msg = excinfo.value.msg
    assert msg.startswith('llama3.3:70b needs 126.60 GiB: 39.60 GiB weights + 85.00 GiB KV cache (q8_0, 131072 tokens x 4 '
                          'slots) + 2.00 GiB compute, more than the GPU limit of 107.52 GiB')
    # what would make it fit, each with its number
    assert 'kv_cache_type q4_0 (86.60 GiB)' in msg
    assert 'num_parallel 3 (105.35 GiB)' in msg
    assert 'a context of 101376 tokens (107.34 GiB)' in msg
    # no wired limit leaves macOS its 8 GiB
    assert 'no iogpu.wired_limit_mb can make 126.60 GiB fit on this Mac: it would leave 1.40 GiB of 128.00 GiB' in msg
    assert 'raising iogpu.wired_limit_mb' not in msg
    assert excinfo.value.details['problems'] == [msg]


def test_f16_two_slots_would_leave_macos_too_little():
    with pytest.raises(OllamaError) as excinfo:
        known_plan('f16', 2)
    msg = excinfo.value.msg
    assert 'kv_cache_type q8_0 (84.10 GiB)' in msg and 'kv_cache_type q4_0 (64.10 GiB)' in msg
    assert 'num_parallel 1 (81.60 GiB)' in msg
    assert 'it would leave 6.40 GiB of 128.00 GiB to macOS, less than the 8.00 GiB it needs' in msg


def test_raising_the_wired_limit_is_offered_when_it_leaves_macos_8_gib():
    # a limit of 80 GiB: f16 at 128k needs 81.60 GiB; 82 GiB (83968 MiB) leaves 46 GiB
    with pytest.raises(OllamaError) as excinfo:
        known_plan('f16', 1, wired=81920)
    msg = excinfo.value.msg
    assert 'more than the GPU limit of 80.00 GiB (iogpu.wired_limit_mb=81920)' in msg
    assert 'raising iogpu.wired_limit_mb to 83968 (leaves 46.00 GiB of 128.00 GiB to macOS)' in msg
    assert 'no iogpu.wired_limit_mb' not in msg


def test_the_summary_names_every_number():
    result = known_plan('q8_0', 1)
    assert result['msg'].splitlines() == [
        'llama3.3:70b: fits: 39.60 GiB weights + 21.25 GiB KV cache (q8_0, 131072 tokens x 1 slot) + 2.00 GiB compute '
        '= 62.85 GiB of 107.52 GiB; 39.60 GiB to download',
        'disk: 39.60 GiB to download, 2000.00 GiB free in /models (10.00 GiB margin kept)',
    ]
    assert result['changed'] is False and result['warnings'] == []
    assert result['plan'][0]['architecture'] == {'layers': 80, 'kv_heads': 8, 'head_dim': 128, 'context_length': 131072,
                                                 'source': 'known model llama3.3:70b'}


# ---- the GPU limit -------------------------------------------------------------------------------

@pytest.mark.parametrize('memsize, expected', [
    (MEMSIZE_128, 107.52 * GIB),        # measured twice (ds4#893, #890)
    (MEMSIZE_64, 48 * GIB),             # 49152 MiB (llama.cpp#1870)
    (34359738368, 21845.33 * (1 << 20)),  # 21845 MB (ollama#434)
    (17179869184, 10922.67 * (1 << 20)),  # 10922 MB (llama-cpp-python#687)
    (103079215104, 72 * GIB),           # 96 GB: not measured, 3/4 (errs low)
    (206158430208, 144 * GIB),          # 192 GB: not measured, 3/4
    (38654705664, 24 * GIB),            # 36 GB: not measured, 2/3
])
def test_stock_gpu_limit(memsize, expected):
    assert fit.stock_gpu_limit(memsize) == pytest.approx(expected, abs=1 << 20)


def test_gpu_limit_precedence():
    assert fit.gpu_limit(MEMSIZE_128, 0)[0] == fit.stock_gpu_limit(MEMSIZE_128)
    assert fit.gpu_limit(MEMSIZE_128, 114688) == (112 * GIB, 'iogpu.wired_limit_mb=114688')
    assert fit.gpu_limit(MEMSIZE_128, None)[0] == fit.stock_gpu_limit(MEMSIZE_128)
    assert fit.gpu_limit(MEMSIZE_128, 114688, 100000) == (100000 << 20, 'gpu_limit_mb=100000')


# ---- the context ---------------------------------------------------------------------------------

@pytest.mark.parametrize('gpu_gib, expected', [(107.52, 262144), (47, 262144), (46.9, 32768), (23, 32768),
                                               (21.33, 4096), (10.67, 4096)])
def test_auto_context_tiers(gpu_gib, expected):
    assert fit.auto_context(int(gpu_gib * GIB)) == expected


@pytest.mark.parametrize('num_ctx, model_ctx, server, trained, expected, source, warned', [
    (65536, 8192, 4096, 131072, 65536, 'num_ctx', False),
    (None, 8192, 4096, 131072, 8192, 'model num_ctx', False),
    (None, None, 4096, 131072, 4096, 'OLLAMA_CONTEXT_LENGTH', False),
    (None, None, 0, 131072, 131072, 'Ollama default for 107.52 GiB of GPU memory, capped at the trained context', False),
    (None, None, 0, None, 262144, 'Ollama default for 107.52 GiB of GPU memory', False),
    (262144, None, 0, 131072, 131072, 'num_ctx', True),
])
def test_choose_context(num_ctx, model_ctx, server, trained, expected, source, warned):
    context, said, warning = fit.choose_context(num_ctx, model_ctx, server, fit.stock_gpu_limit(MEMSIZE_128), trained)
    assert (context, said) == (expected, source)
    assert bool(warning) is warned


def test_a_small_mac_gets_ollamas_4k_default_and_weights_that_do_not_fit():
    command, dummy = sysctl(memsize=34359738368)
    with pytest.raises(OllamaError) as excinfo:
        fit.check_fit(params([{'name': 'llama3.3:70b'}], kv_cache_type='q4_0'), command,
                      store=DirStub(free=2000 * GIB), fetch_registry=lambda name: llama33_layers())
    row = excinfo.value.details['plan'][0]
    assert row['context'] == 4096 and row['context_source'] == 'Ollama default for 21.33 GiB of GPU memory'
    assert row['fits'] is False
    # neither a smaller KV type nor a shorter context can help: the weights alone are too big for this Mac
    assert excinfo.value.msg.endswith('more than the GPU limit of 21.33 GiB (macOS\'s default working set for 32.00 GiB of '
                                      'memory): no iogpu.wired_limit_mb can make 41.95 GiB fit on this Mac: it has '
                                      '32.00 GiB of memory in all.')


# ---- sysctl --------------------------------------------------------------------------------------

@pytest.mark.parametrize('rc, out, err, expected', [
    (0, '137438953472\n0\n', '', (MEMSIZE_128, 0)),
    (0, '137438953472\n114688\n', '', (MEMSIZE_128, 114688)),
    (0, '34359738368\n0', '', (34359738368, 0)),
    (1, '68719476736\n', "sysctl: unknown oid 'iogpu.wired_limit_mb'\n", (MEMSIZE_64, None)),
    (0, 'hw.memsize: 137438953472\niogpu.wired_limit_mb: 0\n', '', None),  # without -n
    (1, '', "sysctl: unknown oid 'hw.memsize'\n", None),
    (0, '137438953472\n', '', None),
    (0, '', '', None),
])
def test_parse_memory_sysctl(rc, out, err, expected):
    assert fit.parse_memory_sysctl(rc, out, err) == expected


def test_read_memory_runs_sysctl_once_and_reports_its_failure():
    command, fake = sysctl(wired=114688)
    assert fit.read_memory(command) == (MEMSIZE_128, 114688)
    assert fake.calls == [['/usr/sbin/sysctl', '-n', 'hw.memsize', 'iogpu.wired_limit_mb']]

    broken = Command('/usr/sbin/sysctl', lambda argv: (1, '', "sysctl: unknown oid 'hw.memsize'\n"))
    with pytest.raises(CommandError, match="sysctl -n hw.memsize iogpu.wired_limit_mb failed .exit 1.: sysctl: unknown oid"):
        fit.read_memory(broken)
    odd = Command('/usr/sbin/sysctl', lambda argv: (0, 'hw.memsize: 1\n', ''))
    with pytest.raises(OllamaError, match='expected the memory size and iogpu.wired_limit_mb'):
        fit.read_memory(odd)


# ---- architecture --------------------------------------------------------------------------------

@pytest.mark.parametrize('info, expected', [
    ({'general.architecture': 'llama', 'llama.block_count': 80, 'llama.attention.head_count': 64,
      'llama.attention.head_count_kv': 8, 'llama.embedding_length': 8192, 'llama.context_length': 131072},
     (80, 8, 128, 131072)),
    ({'general.architecture': 'qwen2', 'qwen2.block_count': 24, 'qwen2.attention.head_count': 14,
      'qwen2.attention.head_count_kv': 2, 'qwen2.embedding_length': 896, 'qwen2.context_length': 32768},
     (24, 2, 64, 32768)),
    ({'general.architecture': 'gemma3', 'gemma3.block_count': 62, 'gemma3.attention.head_count': 32,
      'gemma3.attention.head_count_kv': 16, 'gemma3.embedding_length': 5376, 'gemma3.attention.key_length': 128,
      'gemma3.attention.value_length': 128, 'gemma3.context_length': 131072},
     (62, 16, 128, 131072)),
    ({'general.architecture': 'x', 'x.block_count': 4, 'x.attention.head_count': 8, 'x.embedding_length': 512},
     (4, 8, 64, None)),                                   # no head_count_kv: every head has its own KV
    ({'general.architecture': 'x', 'x.block_count': 4, 'x.attention.head_count_kv': [2, 4, 4, 2],
      'x.attention.key_length': 64}, (4, 4, 64, None)),  # per-layer KV heads: the largest
    ({'general.architecture': 'llama', 'llama.block_count': 80}, None),
    ({'llama.block_count': 80}, None),
    ({}, None),
])
def test_architecture_from_model_info(info, expected):
    arch = fit.architecture_from_model_info(info, 'test')
    if expected is None:
        assert arch is None
    else:
        assert (arch.layers, arch.kv_heads, arch.head_dim, arch.context_length) == expected


def test_known_models_and_explicit_architecture():
    for name in ('llama3.3:70b', 'llama3.3', 'llama3.3:latest', 'registry.ollama.ai/library/llama3.3:70b'):
        arch, weights = fit.known_model(parse_model_name(name))
        assert (arch.layers, arch.kv_heads, arch.head_dim, arch.context_length, weights) == (80, 8, 128, 131072,
                                                                                             LLAMA33_SIZE)
    assert fit.known_model(parse_model_name('llama3.3:8b')) is None
    arch = fit.explicit_architecture({'layers': 64, 'kv_heads': 8, 'head_dim': 128, 'context_length': None}, 'm')
    assert (arch.layers, arch.kv_heads, arch.head_dim, arch.context_length, arch.source) == (64, 8, 128, None, 'explicit')
    with pytest.raises(OllamaError, match=r'm.head_dim: expects a positive integer, got 0'):
        fit.explicit_architecture({'layers': 64, 'kv_heads': 8, 'head_dim': 0}, 'm')


# ---- GGUF ----------------------------------------------------------------------------------------

def test_gguf_header_of_a_llama():
    data = gguf(llama_entries(vocabulary=100))
    metadata = fit.read_gguf_metadata(io.BytesIO(data + b'\0' * 4096))
    assert metadata['general.architecture'] == 'llama'
    assert metadata['llama.block_count'] == 80 and metadata['llama.attention.head_count_kv'] == 8
    assert metadata['general.parameter_count'] == 70553706496
    assert metadata['llama.rope.freq_base'] == 500000.0
    assert metadata['tokenizer.ggml.tokens'] is None          # a string array is skipped
    assert metadata['tokenizer.ggml.scores'] == [0.0] * 100    # a short numeric array is read
    arch = fit.architecture_from_model_info(metadata, 'gguf')
    assert (arch.layers, arch.kv_heads, arch.head_dim, arch.context_length) == (80, 8, 128, 131072)


def test_gguf_reader_seeks_past_a_4_gib_array():
    sparse = huge_array_gguf(1 << 30)          # 4 GiB of f32 scores before the architecture keys
    metadata = fit.read_gguf_metadata(io.BufferedReader(sparse, buffer_size=8192))
    assert metadata['tokenizer.ggml.scores'] is None
    assert metadata['llama.block_count'] == 80 and metadata['llama.context_length'] == 131072
    assert metadata['tokenizer.ggml.model'] == 'gpt2'
    assert sparse.bytes_read < 64 * 1024, sparse.bytes_read


def test_gguf_reader_skips_a_large_vocabulary_and_nested_arrays():
    entries = [('general.architecture', STRING, 'llama'),
               ('tokenizer.ggml.tokens', ARRAY, (STRING, ['t%d' % i for i in range(20000)])),
               ('tokenizer.ggml.token_type', ARRAY, (I32, [1] * 20000)),
               ('x.nested', ARRAY, (ARRAY, [(U32, [1, 2]), (STRING, ['a', 'bc'])])),
               ('tokenizer.chat_template', STRING, 'x' * 100000),
               ('llama.block_count', U32, 32)]
    metadata = fit.read_gguf_metadata(io.BytesIO(gguf(entries)))
    assert metadata == {'general.architecture': 'llama', 'tokenizer.ggml.tokens': None, 'tokenizer.ggml.token_type': None,
                        'x.nested': None, 'tokenizer.chat_template': None, 'llama.block_count': 32}


@pytest.mark.parametrize('data, message', [
    (b'PK\x03\x04' + b'\0' * 40, 'no GGUF magic'),
    (gguf(llama_entries(), version=1), 'unsupported version 1'),
    (b'GGUF\x00\x00\x00\x03' + b'\0' * 16, 'unsupported version 50331648'),   # big-endian
    (gguf(llama_entries())[:100], 'it ends inside its metadata'),
    (gguf([('a', U32, 0)])[:-8] + b'\x0d\x00\x00\x00' + b'\0' * 4, 'unknown value type 13'),
])
def test_gguf_reader_refuses_what_is_no_gguf(data, message):
    with pytest.raises(OllamaError, match='blob x is not a readable GGUF file: %s' % message):
        fit.read_gguf_metadata(io.BytesIO(data), 'blob x')


# ---- manifests and the models directory ----------------------------------------------------------

def real_dir(root, free=500 * GIB):
    def statvfs(path):
        if not os.path.isdir(path):
            raise FileNotFoundError(path)
        return StatvfsResult(free)
    return fit.ModelsDir(str(root), open, os.stat, statvfs)


def test_parse_manifest():
    layers = llama33_layers()
    assert sum(layer['size'] for layer in layers) == LLAMA33_SIZE
    assert layers[0]['mediaType'] == MT_MODEL and layers[-1]['digest'] == 'sha256:%064x' % 99
    for raw in (b'not json', b'{}', b'{"layers": []}', b'{"layers": [{"digest": "md5:1", "size": 1}]}',
                b'{"layers": [{"digest": "sha256:1", "size": -1}]}'):
        with pytest.raises(OllamaError, match='is not a model manifest'):
            fit.parse_manifest(raw, 'it')


def test_models_dir_reads_manifests_blobs_and_free_space(tmp_path):
    root = tmp_path / 'models'
    blobs = model_blobs(gguf(llama_entries()), params={'num_ctx': 65536})
    install(str(root), LLAMA33, blobs)
    store = real_dir(root)
    layers = store.manifest(parse_model_name('llama3.3:70b'))
    assert [layer['digest'] for layer in layers] == [sha(data) for dummy, data in blobs]
    assert store.manifest(parse_model_name('llama3.3:latest')) is None
    assert all(store.has_blob(layer['digest']) for layer in layers)
    assert not store.has_blob('sha256:' + '0' * 64)
    assert store.free_bytes() == 500 * GIB
    # a directory that does not exist yet: the free space of its nearest parent
    assert real_dir(tmp_path / 'not' / 'yet').free_bytes() == 500 * GIB


def test_plan_from_disk_costs_no_request_and_reads_the_gguf(tmp_path):
    root = tmp_path / 'models'
    model = gguf(llama_entries(layers=32, heads=32, kv_heads=8, embedding=4096, context=8192))
    install(str(root), ('registry.ollama.ai', 'library', 'custom', '8b'), model_blobs(model, params={'num_ctx': 4096}))
    opened = []

    def counting_open(path, mode='r'):
        opened.append(os.path.relpath(path, str(root)))
        return open(path, mode)

    store = fit.ModelsDir(str(root), counting_open, os.stat, lambda path: StatvfsResult(100 * GIB))

    def no_registry(name):
        raise AssertionError('asked the registry for %s' % name.display)

    command, dummy = sysctl()
    result = fit.check_fit(params([{'name': 'custom:8b'}, {'name': 'custom-long:8b', 'from': 'custom:8b',
                                                           'parameters': {'num_ctx': 32768}}]),
                           command, store=store, fetch_registry=no_registry)
    first, second = result['plan']
    assert first['architecture']['source'] == 'GGUF header on disk'
    assert (first['context'], first['context_source']) == (4096, 'model num_ctx')    # its params layer
    assert first['kv_cache_bytes'] == fit.kv_cache_bytes(4096, 1, 32, 8, 128, 'f16') == 512 << 20
    assert first['missing_bytes'] == 0 and first['weights_source'] == 'manifest on disk'
    # the derived model does not exist yet: its base's blobs; its own num_ctx, capped at the trained 8192
    assert (second['context'], second['context_source']) == (8192, 'num_ctx')
    assert second['weights_bytes'] == first['weights_bytes']
    assert any('more than the model was trained for' in warning for warning in result['warnings'])
    assert result['download_bytes'] == 0
    # the GGUF was read once for both
    gguf_blob = 'blobs/' + sha(model).replace(':', '-')
    assert opened.count(gguf_blob) == 1


def test_a_blob_missing_from_disk_is_counted_and_the_known_table_fills_in(tmp_path):
    root = tmp_path / 'models'
    model = gguf(llama_entries()) + b'\0' * 1000
    install(str(root), LLAMA33, model_blobs(model), skip_blobs=(MT_MODEL,))
    command, dummy = sysctl()
    result = fit.check_fit(params([llama33()]), command, store=real_dir(root),
                           fetch_registry=lambda name: pytest.fail('registry asked'))
    row = result['plan'][0]
    assert row['missing_bytes'] == len(model) and result['download_bytes'] == len(model)
    assert row['architecture']['source'] == 'known model llama3.3:70b'


def test_an_unreadable_gguf_on_disk_is_a_warning_not_a_guess(tmp_path):
    root = tmp_path / 'models'
    install(str(root), ('registry.ollama.ai', 'library', 'odd', 'latest'), model_blobs(b'not a gguf at all'))
    command, dummy = sysctl()
    result = fit.check_fit(params([{'name': 'odd'}]), command, store=real_dir(root),
                           fetch_registry=lambda name: pytest.fail('registry asked'))
    row = result['plan'][0]
    assert row['fits'] is None and row['kv_cache_bytes'] is None and row['total_bytes'] is None
    assert any('is not a readable GGUF file: no GGUF magic' in warning for warning in result['warnings'])
    assert any('checked after the pull' in warning for warning in result['warnings'])
    assert 'the KV cache for 262144 tokens x 1 is checked after the pull, with phase loaded' in result['msg']


def test_a_broken_local_manifest_is_planned_as_not_on_disk(tmp_path):
    root = tmp_path / 'models'
    path = root / 'manifests' / 'registry.ollama.ai' / 'library' / 'llama3.3' / '70b'
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"schemaVersion": 2, "lay')
    asked = []
    command, dummy = sysctl()
    result = fit.check_fit(params([llama33()]), command, store=real_dir(root),
                           fetch_registry=lambda name: asked.append(name.display) or llama33_layers())
    assert asked == ['llama3.3:70b']
    assert result['plan'][0]['weights_source'] == 'registry manifest'
    assert any(warning.startswith('llama3.3:70b: %s is not a model manifest: planned as not on disk' % path)
               for warning in result['warnings'])


def test_registry_path_one_request_per_model_shared_by_a_derived_model():
    fake = FakeOllama()
    url = 'https://registry.ollama.ai/v2/library/llama3.3/manifests/70b'
    fake.manifests[url] = llama33_registry_manifest()
    fetch = fit.registry_fetcher(fake, timeout=9)
    command, dummy = sysctl()
    result = fit.check_fit(params([llama33(preload=False), llama33(name='llama3.3-128k:70b', **{'from': 'llama3.3:70b'})],
                                  kv_cache_type='q8_0'),
                           command, store=DirStub(free=60 * GIB), fetch_registry=fetch)
    assert [request['url'] for request in fake.requests] == [url]
    assert fake.requests[0]['timeout'] == 9
    assert [row['missing_bytes'] for row in result['plan']] == [LLAMA33_SIZE, LLAMA33_SIZE]
    assert result['download_bytes'] == LLAMA33_SIZE            # each blob once
    assert all(row['weights_source'] == 'registry manifest' for row in result['plan'])


def test_registry_errors():
    fake = FakeOllama()
    with pytest.raises(OllamaError, match=r'The registry has no model nope:1b \(GET http://mirror:5000/v2/library/nope/'
                                          r'manifests/1b returned HTTP 404\)'):
        fit.registry_fetcher(fake, 'http://mirror:5000/')(parse_model_name('nope:1b'))
    fake.unreachable = True
    with pytest.raises(OllamaError, match=r'Cannot read the registry manifest of nope:1b: Cannot reach'):
        fit.registry_fetcher(fake, insecure=True)(parse_model_name('nope:1b'))
    assert fake.requests[-1]['url'] == 'http://registry.ollama.ai/v2/library/nope/manifests/1b'


def test_disk_that_is_too_small_says_how_much_to_free():
    command, dummy = sysctl()
    with pytest.raises(OllamaError) as excinfo:
        fit.check_fit(params([llama33()], kv_cache_type='q8_0'), command, store=DirStub(free=45 * GIB),
                      fetch_registry=lambda name: llama33_layers())
    assert excinfo.value.msg == ('The models need 39.60 GiB more on disk, plus a margin of 10.00 GiB, but /models has '
                                 '45.00 GiB free: free 4.60 GiB more.')
    assert excinfo.value.details['plan'][0]['fits'] is True


def test_preloaded_models_must_fit_together():
    command, dummy = sysctl()
    with pytest.raises(OllamaError) as excinfo:
        fit.check_fit(params([llama33(), llama33(name='llama3.3-128k:70b', **{'from': 'llama3.3:70b'})],
                             kv_cache_type='q8_0'),
                      command, store=DirStub(free=500 * GIB), fetch_registry=lambda name: llama33_layers())
    assert excinfo.value.msg == (
        'The preloaded models together need 125.70 GiB (llama3.3:70b 62.85 GiB + llama3.3-128k:70b 62.85 GiB; each '
        'loaded model is its own runner with its own weights), more than the GPU limit of 107.52 GiB (macOS\'s default '
        'working set for 128.00 GiB of memory): preload fewer of them; no iogpu.wired_limit_mb can make 125.70 GiB fit '
        'on this Mac: it would leave 2.30 GiB of 128.00 GiB to macOS, less than the 8.00 GiB it needs.')
    assert [row['fits'] for row in excinfo.value.details['plan']] == [True, True]


def test_unknown_model_before_the_download_is_not_guessed():
    layers = fit.parse_manifest(json.dumps({'layers': [{'mediaType': MT_MODEL, 'digest': 'sha256:' + 'a' * 64,
                                                        'size': 4 * GIB}],
                                            'config': {'digest': 'sha256:' + 'b' * 64, 'size': 500}}).encode(), 'x')
    command, dummy = sysctl()
    result = fit.check_fit(params([{'name': 'mystery:7b', 'parameters': {'num_ctx': 8192}}]), command,
                           store=DirStub(free=500 * GIB), fetch_registry=lambda name: layers)
    row = result['plan'][0]
    assert (row['fits'], row['kv_cache_bytes'], row['architecture'], row['context']) == (None, None, None, 8192)
    # with the user's architecture it is planned
    result = fit.check_fit(params([{'name': 'mystery:7b', 'parameters': {'num_ctx': 8192},
                                    'architecture': {'layers': 32, 'kv_heads': 8, 'head_dim': 128}}]), command,
                           store=DirStub(free=500 * GIB), fetch_registry=lambda name: layers)
    assert result['plan'][0]['kv_cache_bytes'] == 1 * GIB and result['plan'][0]['fits'] is True


def test_weights_alone_too_big_fail_even_without_the_architecture():
    layers = [{'mediaType': MT_MODEL, 'digest': 'sha256:' + 'a' * 64, 'size': 120 * GIB}]
    command, dummy = sysctl()
    with pytest.raises(OllamaError) as excinfo:
        fit.check_fit(params([{'name': 'huge:400b'}]), command, store=DirStub(free=500 * GIB),
                      fetch_registry=lambda name: layers)
    assert excinfo.value.msg.startswith('huge:400b needs at least 122.00 GiB: 120.00 GiB weights + 2.00 GiB compute + '
                                        'a KV cache not known yet')
    assert excinfo.value.details['plan'][0]['fits'] is False


# ---- phase loaded --------------------------------------------------------------------------------

def loaded_server():
    from ollama_fakes import tags_entry
    fake = FakeOllama()
    fake.add(tags_entry('llama3.3:70b', size=LLAMA33_SIZE, parameter_size='70.6B'),
             {'details': {}, 'parameters': 'num_ctx                        131072\nstop "<|eot_id|>"',
              'model_info': {'general.architecture': 'llama', 'llama.block_count': 80, 'llama.attention.head_count': 64,
                             'llama.attention.head_count_kv': 8, 'llama.embedding_length': 8192,
                             'llama.context_length': 131072}})
    return fake


def test_loaded_phase_reads_tags_once_and_show_per_model():
    from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import Client
    fake = loaded_server()
    command, dummy = sysctl()
    result = fit.check_fit(params([{'name': 'llama3.3:70b', 'preload': True}], phase='loaded', models_dir=None,
                                  kv_cache_type='q8_0'), command, client=Client('http://127.0.0.1:11434', fake))
    assert fake.paths() == ['GET /api/tags', 'POST /api/show']
    row = result['plan'][0]
    assert row['architecture']['source'] == 'POST /api/show'
    assert (row['context'], row['context_source']) == (131072, 'model num_ctx')
    assert row['total_bytes'] / GIB == pytest.approx(62.85, abs=0.005)
    assert result['disk_free_bytes'] is None and 'disk:' not in result['msg']


def test_loaded_phase_fails_for_a_model_the_server_does_not_have():
    from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import Client
    fake = loaded_server()
    command, dummy = sysctl()
    with pytest.raises(OllamaError, match=r'tinyllama:latest is not on the Ollama server at http://127.0.0.1:11434'):
        fit.check_fit(params([{'name': 'tinyllama'}], phase='loaded', models_dir=None), command,
                      client=Client('http://127.0.0.1:11434', fake))


# ---- validation before anything is read ----------------------------------------------------------

@pytest.mark.parametrize('changes, message', [
    ({'kv_cache_type': 'q8_0', 'flash_attention': False}, 'kv_cache_type q8_0 needs flash attention'),
    ({'num_parallel': 0}, 'num_parallel: expects 1 or more, got 0'),
    ({'context_length': -1}, 'context_length: expects 0 or more, got -1'),
    ({'gpu_limit_mb': 0}, 'gpu_limit_mb: expects a positive number of MiB'),
    ({'models_dir': None}, 'models_dir: phase plan reads the models directory'),
    ({'models': [{'name': 'llama 3'}]}, "models[0].name: 'llama 3' is not a valid model name"),
    ({'models': [{'name': 'a'}, {'name': 'a:latest'}]}, 'models[1]: a:latest is listed twice'),
    ({'models': [{'name': 'a', 'parameters': {'num_ctx': 'lots'}}]}, 'models[0].parameters.num_ctx: expects a positive'),
    ({'models': [{'name': 'a', 'architecture': {'layers': 2}}]}, 'models[0].architecture: needs layers, kv_heads'),
])
def test_bad_input_fails_before_sysctl(changes, message):
    fake = FakeSysctl()
    with pytest.raises(OllamaError, match=message.replace('[', r'\[').replace(']', r'\]').replace('(', r'\(')):
        fit.check_fit(dict(params([llama33()]), **changes), Command(fake.path, fake), store=DirStub(free=0),
                      fetch_registry=lambda name: pytest.fail('registry asked'))
    assert fake.calls == []


def test_absent_models_are_left_out():
    command, dummy = sysctl()
    result = fit.check_fit(params([llama33(state='absent')]), command, store=DirStub(free=0),
                           fetch_registry=lambda name: pytest.fail('registry asked'))
    assert result['plan'] == [] and result['download_bytes'] == 0
