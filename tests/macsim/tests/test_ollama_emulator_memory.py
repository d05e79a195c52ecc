"""Tests of the Ollama emulator as today's Ollama (0.32.3): the startup log, the GPU total read once
from the (simulated) Mac's sysctl, the context default, the environment `ollama serve` reads, the
GPU memory budget at load and the load time. Numbers come from shared/reference/ollama-role.md
sections 3-5 and macos-formats-provisioning.md section 9."""

import os
import re
import sys
import threading
import time

import pytest

OLLAMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ollama')
if OLLAMA_DIR not in sys.path:
    sys.path.insert(0, OLLAMA_DIR)

import ollama_emulator as oe  # noqa: E402
from conftest import GUEST, TOOLS  # noqa: E402
from ollama_support import Serve, WRAPPER, api, run_cli, slog_attrs  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20
BIG = 'llama3.3:70b'
BIG_WEIGHTS = 42520413916          # /api/tags of llama3.3:70b (ollama-role.md 5)
COMPUTE = 2 * GIB


def ps(server):
    return api(server, '/api/ps')[1]['models']


def load(server, model, **extra):
    return api(server, '/api/generate', dict(model=model, **extra))


def kv_bytes(ctx, parallel=1, kv_type='f16', geometry=(80, 8, 128)):
    blocks, heads, dim = geometry
    num, den = {'f16': (2, 1), 'q8_0': (34, 32), 'q4_0': (18, 32)}[kv_type]
    return ctx * parallel * blocks * heads * dim * 2 * num // den


@pytest.fixture
def start(tmp_path):
    servers = []

    def starter(**kw):
        server = oe.start(models_dir=str(tmp_path / 'models'), **kw)
        servers.append(server)
        return server

    yield starter
    for server in servers:
        server.stop()


# ---- pure parts ----------------------------------------------------------------------------------

def test_version_is_homebrews():
    assert oe.VERSION == '0.32.3'
    assert '0.32.3' in oe.USAGE


@pytest.mark.parametrize('gib, wired_mb, total', [
    (128, 0, 128 * GIB * 84 // 100),    # 107.52 GiB, measured on 128 GiB Macs
    (128, 114688, 112 * GIB),            # iogpu.wired_limit_mb wins when set
    (64, 0, 48 * GIB),                   # 49152 MiB (75 %)
    (32, 0, 32 * GIB * 2 // 3),          # 21845 MiB (2/3)
    (16, 0, 16 * GIB * 2 // 3),          # 10922 MiB (2/3)
    (24, 0, 18 * GIB),                   # other sizes: 75 % (INVENTED)
    (192, 0, 144 * GIB),
])
def test_gpu_limit(gib, wired_mb, total):
    assert oe.gpu_limit(gib * GIB, wired_mb) == total


def test_stock_values_as_metal_reports_them():
    assert oe.human_bytes2(oe.stock_gpu_limit(128 * GIB)) == '107.5 GiB'
    assert oe.stock_gpu_limit(32 * GIB) // MIB == 21845 and oe.stock_gpu_limit(16 * GIB) // MIB == 10922


@pytest.mark.parametrize('total, ctx', [
    (47 * GIB, 262144), (47 * GIB - 1, 32768), (23 * GIB, 32768), (23 * GIB - 1, 4096), (0, 4096),
    (128 * GIB * 84 // 100, 262144)])
def test_context_tiers(total, ctx):
    assert oe.default_num_ctx(total) == ctx


def test_lower_context_tier():
    assert [oe.lower_context_tier(c) for c in (262144, 131072, 32768, 8192, 4096, 2048)] == [
        32768, 32768, 4096, 4096, None, None]


def test_kv_cache_of_llama33_matches_the_reference_table(tmp_path):
    reg = oe.Registry().lookup(BIG)
    path = str(tmp_path / 'model.gguf')
    with open(path, 'wb') as f:
        f.write(reg.blobs[reg.model_layer['digest']])
    geometry = oe.model_geometry(oe.read_gguf_kv(path))
    assert geometry == (80, 8, 128)                                  # layers, KV heads, head_dim
    assert oe.kv_cache_bytes(131072, 1, *geometry) == 40 * GIB       # f16: 320 KiB per token
    assert oe.kv_cache_bytes(131072, 1, *geometry, kv_type='q8_0') == 21.25 * GIB
    assert oe.kv_cache_bytes(131072, 1, *geometry, kv_type='q4_0') == 11.25 * GIB
    assert oe.kv_cache_bytes(131072, 2, *geometry) == 80 * GIB       # times OLLAMA_NUM_PARALLEL
    assert oe.kv_cache_bytes(2048, 1, *geometry) == 640 * MIB        # "KV self size = 640.00 MiB"


def test_go_formats_of_the_log():
    assert [oe.human_bytes2(n) for n in (0, 1023, 1024, 10 * MIB, 128 * GIB * 84 // 100)] == [
        '0 B', '1023 B', '1.0 KiB', '10.0 MiB', '107.5 GiB']
    assert [oe.go_duration(s * 10 ** 9) for s in (300, 3600, 90, 0)] == ['5m0s', '1h0m0s', '1m30s', '0s']
    assert oe.go_duration(300 * 10 ** 6) == '300ms' and oe.go_duration(1500) == '1.5\u00b5s'
    assert oe.go_duration(oe.FOREVER_NS) == '2562047h47m16.854775807s'
    assert oe.go_map({'B': '2', 'A': ''}) == 'map[A: B:2]'
    attrs = [('libdirs', ''), ('type', 'discrete'), ('total vram', '1.0 GiB'), ('say', 'a "b"')]
    line = oe.slog_line('INFO', 'x.go:1', 'inference compute', attrs)
    assert re.match(r'^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) level=INFO source=x\.go:1 '
                    r'msg="inference compute" libdirs="" type=discrete "total vram"="1\.0 GiB" '
                    r'say="a \\"b\\""\n$', line), line
    assert slog_attrs(line)['say'] == 'a "b"' and slog_attrs(line)['total vram'] == '1.0 GiB'
    assert oe.slog_value('system') == 'system' and oe.slog_value('') == '""'


def test_sysctl_output_and_env_parsing():
    assert oe.parse_mac_sysctl('137438953472\n0\nApple M4 Max\n') == {
        'memsize': 137438953472, 'wired_limit_mb': 0, 'chip': 'Apple M4 Max'}
    assert oe.parse_mac_sysctl('sysctl: unknown oid\n') is None
    assert oe.parse_mac_sysctl('') is None
    env = {'A': ' "q8_0" ', 'T': 'True', 'F': '0', 'X': 'yes'}
    assert oe.env_var(env, 'A') == 'q8_0'
    assert [oe.env_bool(env, k) for k in ('T', 'F', 'X', 'NOPE')] == [True, False, True, None]
    warnings = []
    assert oe.env_uint({'N': '4'}, 'N', 1, warnings) == 4 and warnings == []
    assert oe.env_uint({'N': 'four'}, 'N', 1, warnings) == 1
    assert warnings == [('WARN', 'config.go:1', 'invalid environment variable, using default',
                         [('key', 'N'), ('value', 'four'), ('default', 1)])]


def fake_probe(facts):
    calls = []

    def probe(path):
        calls.append(path)
        return (facts, '') if facts else (None, 'no sysctl here')

    probe.calls = calls
    return probe


def test_serve_settings_read_the_environment():
    mac = {'memsize': 64 * GIB, 'wired_limit_mb': 0, 'chip': 'Apple M2 Ultra'}
    probe = fake_probe(mac)
    env = {'HOME': '/Users/admin', 'PATH': '/usr/bin', 'OLLAMA_FLASH_ATTENTION': '0', 'OLLAMA_KV_CACHE_TYPE': 'q4_0',
           'OLLAMA_NUM_PARALLEL': '2', 'OLLAMA_MAX_LOADED_MODELS': '1', 'OLLAMA_NO_CLOUD': '1',
           'OLLAMA_CONTEXT_LENGTH': '8192', 'OLLAMA_NOPRUNE': 'false', 'OLLAMA_KEEP_ALIVE': '10m'}
    kwargs, warnings, note = oe.serve_settings(env, probe)
    assert probe.calls == ['/usr/bin'] and warnings == [] and note is None
    assert kwargs['models_dir'] == '/Users/admin/.ollama/models'
    assert (kwargs['gpu_total'], kwargs['system_memory'], kwargs['chip'], kwargs['gpu']) == (
        48 * GIB, 64 * GIB, 'Apple M2 Ultra', 'metal')
    assert (kwargs['flash_attention'], kwargs['kv_cache_type'], kwargs['num_parallel'],
            kwargs['max_loaded_models'], kwargs['no_cloud'], kwargs['context_length'], kwargs['noprune']) == (
        False, 'q4_0', 2, 1, True, 8192, False)
    # Defaults; no sysctl: the reference Mac Studio; an explicit GPU total wins.
    kwargs, warnings, note = oe.serve_settings({'OLLAMA_MODELS': '/m', 'OLLAMA_EMULATOR_GPU_TOTAL': '64G',
                                                'OLLAMA_EMULATOR_GPU': 'None'}, fake_probe(None))
    assert note.startswith('ollama-emulator: no Mac sysctl (no sysctl here)')
    assert (kwargs['gpu_total'], kwargs['system_memory'], kwargs['gpu']) == (64 * GIB, 128 * GIB, 'none')
    assert (kwargs['flash_attention'], kwargs['kv_cache_type'], kwargs['num_parallel'],
            kwargs['max_loaded_models'], kwargs['context_length']) == (None, None, 1, 0, 0)
    with pytest.raises(oe.HomeNotDefined):
        oe.serve_settings({'PATH': '/usr/bin'}, fake_probe(mac))
    assert oe.serve_settings({'OLLAMA_MODELS': '/m'}, fake_probe(mac))[0]['models_dir'] == '/m'


# ---- the startup log (in process) ----------------------------------------------------------------

def by_msg(lines):
    return dict((slog_attrs(line)['msg'], slog_attrs(line)) for line in lines)


def test_startup_log_on_the_reference_mac(start):
    server = start()
    lines = server.startup_log()
    msgs = [slog_attrs(line)['msg'] for line in lines]
    assert msgs == ['server config', 'Listening on %s (version 0.32.3)' % server.listen_addr,
                    'discovering available GPUs...', 'inference compute', 'vram-based default context']
    assert all(line.endswith('\n') and line.count('\n') == 1 for line in lines)
    gpu = by_msg(lines)['inference compute']
    assert re.search(r' msg="inference compute" id=0 filter_id=0 library=Metal compute=0\.0 name=Metal '
                     r'description="Apple M4 Max" libdirs="" driver=0\.0 pci_id="" type=discrete '
                     r'total="107\.5 GiB" available="107\.5 GiB"\n$', lines[3]), lines[3]
    assert gpu['library'] == 'Metal'
    ctx = by_msg(lines)['vram-based default context']
    assert (ctx['total_vram'], ctx['default_num_ctx']) == ('107.5 GiB', '262144')
    env = by_msg(lines)['server config']['env']
    assert env == ('map[OLLAMA_CONTEXT_LENGTH:0 OLLAMA_FLASH_ATTENTION:false OLLAMA_HOST:http://%s '
                   'OLLAMA_KEEP_ALIVE:5m0s OLLAMA_KV_CACHE_TYPE: OLLAMA_MAX_LOADED_MODELS:0 OLLAMA_MODELS:%s '
                   'OLLAMA_NOPRUNE:false OLLAMA_NO_CLOUD:false OLLAMA_NUM_PARALLEL:1]' % (
                       server.listen_addr, server.models_dir))


def test_startup_log_with_settings_and_without_metal(start):
    server = start(gpu='none', no_cloud=True, kv_cache_type='q8_0', flash_attention=True, num_parallel=4,
                   max_loaded_models=2, keep_alive=-1, context_length=16384, system_memory=32 * GIB)
    lines = server.startup_log()
    msgs = by_msg(lines)
    assert 'Ollama cloud disabled: true' in msgs
    assert [slog_attrs(line)['msg'] for line in lines].index('Ollama cloud disabled: true') == 1
    cpu = msgs['inference compute']
    assert (cpu['library'], cpu['total'], cpu['available']) == ('cpu', '32.0 GiB', '32.0 GiB')
    assert (msgs['vram-based default context']['total_vram'], msgs['vram-based default context']['default_num_ctx']) == (
        '0 B', '4096')
    env = msgs['server config']['env']
    for item in ('OLLAMA_CONTEXT_LENGTH:16384', 'OLLAMA_FLASH_ATTENTION:true', 'OLLAMA_KV_CACHE_TYPE:q8_0',
                 'OLLAMA_NUM_PARALLEL:4', 'OLLAMA_MAX_LOADED_MODELS:2', 'OLLAMA_NO_CLOUD:true',
                 'OLLAMA_KEEP_ALIVE:2562047h47m16.854775807s'):
        assert ' %s ' % item in env.replace('[', ' ').replace(']', ' '), item


def test_an_unknown_kv_cache_type_is_f16_with_a_warning(start):
    server = start(kv_cache_type='q5_1')
    assert server.emulator.kv_cache_type == 'f16'
    first = slog_attrs(server.startup_log()[0])
    assert (first['level'], first['type']) == ('WARN', 'q5_1')


@pytest.mark.parametrize('bad', [{'gpu': 'cuda'}, {'flash_attention': 'yes'}, {'gpu_total': 0},
                                 {'context_length': -1}, {'load_rate': 'fast'}])
def test_bad_start_arguments(start, bad):
    with pytest.raises(ValueError):
        start(**bad)


# ---- context default ------------------------------------------------------------------------------

@pytest.mark.parametrize('gpu_total, model, ctx', [
    (None, BIG, 131072),                # 262144 capped at the trained 131072
    (None, 'tinyllama:latest', 2048),
    (32 * GIB, 'llama3.2:latest', 32768),
    (16 * GIB, 'llama3.2:latest', 4096),
])
def test_automatic_context(start, gpu_total, model, ctx):
    server = start(gpu_total=gpu_total)
    server.install(model)
    assert load(server, model)[0] == 200
    [entry] = ps(server)
    assert entry['context_length'] == ctx


def test_explicit_contexts_turn_the_automatic_path_off(start):
    server = start(gpu_total=24 * GIB, context_length=8192)
    server.install('llama3.2:latest')
    load(server, 'llama3.2:latest')
    assert ps(server)[0]['context_length'] == 8192                       # OLLAMA_CONTEXT_LENGTH
    api(server, '/api/create', {'model': 'l32-64k', 'from': 'llama3.2:latest', 'stream': False,
                                'parameters': {'num_ctx': 65536}})
    load(server, 'l32-64k')
    assert dict((m['name'], m['context_length']) for m in ps(server))['l32-64k:latest'] == 65536   # Modelfile
    load(server, 'llama3.2:latest', options={'num_ctx': 2048})
    assert dict((m['name'], m['context_length']) for m in ps(server))['llama3.2:latest'] == 2048   # request
    load(server, 'llama3.2:latest', options={'num_ctx': 1 << 20})
    assert dict((m['name'], m['context_length']) for m in ps(server))['llama3.2:latest'] == 131072  # capped


def test_an_automatic_context_that_does_not_fit_retries_one_tier_lower(start):
    server = start(gpu_total=64 * GIB)                     # auto tier 262144 -> 131072 needs 81.6 GiB
    server.install(BIG)
    assert load(server, BIG)[0] == 200
    [entry] = ps(server)
    assert entry['context_length'] == 32768
    assert entry['size'] == BIG_WEIGHTS + kv_bytes(32768) + COMPUTE
    # The same context asked for explicitly: no retry, Ollama's refusal.
    status, body = load(server, BIG, options={'num_ctx': 131072})
    assert (status, body) == (500, {'error': 'model requires more system memory (81.6 GiB) than is available (64.0 GiB)'})


# ---- the GPU memory budget ------------------------------------------------------------------------

def test_a_loaded_model_reports_weights_kv_and_compute(start):
    server = start()
    server.install(BIG)
    tags = api(server, '/api/tags')[1]['models']
    load(server, BIG)
    [entry] = ps(server)
    assert entry['size'] == BIG_WEIGHTS + 40 * GIB + COMPUTE                   # about 81.6 GiB
    assert entry['size_vram'] == entry['size'] and entry['context_length'] == 131072
    assert entry['digest'] == tags[0]['digest'] and entry['size'] > tags[0]['size']


@pytest.mark.parametrize('kv_type, parallel, fits', [
    ('f16', 1, True), ('f16', 2, False), ('q8_0', 2, True), ('q8_0', 4, False), ('q4_0', 4, True)])
def test_llama33_at_128k_against_the_stock_limit(start, kv_type, parallel, fits):
    server = start(kv_cache_type=kv_type, num_parallel=parallel)
    server.install(BIG)
    api(server, '/api/create', {'model': 'llama3.3-128k', 'from': BIG, 'stream': False,
                                'parameters': {'num_ctx': 131072}})
    status, body = load(server, 'llama3.3-128k', keep_alive=-1)
    need = BIG_WEIGHTS + kv_bytes(131072, parallel, kv_type) + COMPUTE
    if fits:
        assert status == 200, body
        assert [(m['size'], m['size_vram'], m['context_length']) for m in ps(server)] == [(need, need, 131072)]
    else:
        assert status == 500 and ps(server) == []
        assert body == {'error': 'model requires more system memory (%s) than is available (107.5 GiB)' %
                        oe.human_bytes2(need)}


def test_a_quantized_cache_needs_flash_attention(start):
    server = start(kv_cache_type='q8_0', flash_attention=False)
    server.install('tinyllama:latest')
    status, body = load(server, 'tinyllama:latest')
    assert status == 500 and body['error'].endswith('V cache quantization requires flash_attn')
    assert ps(server) == []
    status, body = api(server, '/v1/chat/completions', {'model': 'tinyllama:latest',
                                                        'messages': [{'role': 'user', 'content': 'hi'}]})
    assert status == 500 and body['error']['message'].endswith('V cache quantization requires flash_attn')
    for kw in ({'kv_cache_type': 'q8_0'}, {'kv_cache_type': 'q8_0', 'flash_attention': True},
               {'flash_attention': False}):
        other = start(**kw)
        other.install('tinyllama:latest')
        assert load(other, 'tinyllama:latest')[0] == 200, kw


def test_room_is_made_by_unloading_the_least_recently_used(start):
    server = start(gpu_total=60 * GIB)
    for model in (BIG, 'llama3.2:latest', 'tinyllama:latest'):
        server.install(model)
    load(server, 'tinyllama:latest')
    load(server, BIG, options={'num_ctx': 4096})           # 39.6 + 1.25 + 2 GiB
    load(server, 'tinyllama:latest')                       # used again: BIG is now the oldest
    load(server, 'llama3.2:latest')                        # 131072 tokens: 1.9 + 14 + 2 GiB
    assert sorted(m['name'] for m in ps(server)) == ['llama3.2:latest', 'tinyllama:latest']
    assert sum(m['size'] for m in ps(server)) <= 60 * GIB


def test_max_loaded_models(start):
    server = start(max_loaded_models=2)
    for model in ('tinyllama:latest', 'qwen2.5:0.5b', 'llama3.2:latest'):
        server.install(model)
        load(server, model)
    assert sorted(m['name'] for m in ps(server)) == ['llama3.2:latest', 'qwen2.5:0.5b']
    default = start()
    for model in ('tinyllama:latest', 'qwen2.5:0.5b', 'llama3.2:latest', BIG):
        default.install(model)
        load(default, model, options={'num_ctx': 2048})
    assert len(ps(default)) == 3 and 'tinyllama:latest' not in [m['name'] for m in ps(default)]


def test_without_metal_the_model_runs_on_the_cpu(start):
    server = start(gpu='none', system_memory=64 * GIB)
    server.install('llama3.2:latest')
    load(server, 'llama3.2:latest')
    [entry] = ps(server)
    assert entry['size_vram'] == 0 and entry['context_length'] == 4096
    assert entry['size'] == 2019393189 + kv_bytes(4096, geometry=(28, 8, 128)) + COMPUTE
    assert oe.processor(entry) == '100% CPU'
    assert oe.processor(dict(entry, size_vram=entry['size'])) == '100% GPU'
    assert oe.processor({'size': 100, 'size_vram': 48}) == '52%/48% CPU/GPU'


def test_a_load_takes_time_and_is_listed_only_when_done(start):
    rate = BIG_WEIGHTS * 2                                  # half a second for the 70B model
    server = start(load_rate=rate)
    server.install(BIG)
    result = {}

    def generate():
        t0 = time.monotonic()
        result['reply'] = load(server, BIG, prompt='Why?', stream=False)
        result['seconds'] = time.monotonic() - t0

    worker = threading.Thread(target=generate)
    worker.start()
    time.sleep(0.15)
    assert worker.is_alive() and ps(server) == []          # loading: not listed yet
    worker.join(10)
    status, body = result['reply']
    assert status == 200 and result['seconds'] >= 0.45
    assert body['load_duration'] >= 450 * 10 ** 6
    assert [m['name'] for m in ps(server)] == [BIG]
    t0 = time.monotonic()
    assert load(server, BIG)[0] == 200 and time.monotonic() - t0 < 0.3   # loaded: no second load


# ---- `ollama serve` in a (simulated) Mac -------------------------------------------------------------

def sysctl_on_path(tmp_path, sim):
    """A bin directory whose `sysctl` is the macsim stand-in of `sim`'s Mac."""
    bindir = tmp_path / 'bin'
    bindir.mkdir(exist_ok=True)
    script = bindir / 'sysctl'
    script.write_text('#!/bin/sh\nexec %s %s "$@"\n' % (sys.executable, os.path.join(GUEST, TOOLS['sysctl'])))
    script.chmod(0o755)
    return str(bindir)


def serve_env(tmp_path, sim, **extra):
    env = sim.env(euid=501)
    env.update(OLLAMA_HOST='127.0.0.1:0', OLLAMA_MODELS=str(tmp_path / 'models'), HOME=str(tmp_path),
               PATH=sysctl_on_path(tmp_path, sim) + os.pathsep + env.get('PATH', ''))
    for key in [k for k in env if k.startswith('OLLAMA_') and k not in ('OLLAMA_HOST', 'OLLAMA_MODELS')]:
        del env[key]
    env.update(extra)
    return env


def served(env):
    serve = Serve(env)
    try:
        serve.wait_listening()
        m = serve.wait_for(r'msg="vram-based default context".*\n')
        assert m, serve.text()
    except AssertionError:
        serve.stop()
        raise
    return serve


def sysctl_calls(sim):
    return [c['argv'][1:] for c in sim.calls() if c['tool'] == 'sysctl']


def test_serve_reads_the_gpu_limit_once_from_sysctl(tmp_path, sim):
    serve = served(serve_env(tmp_path, sim))
    try:
        lines = serve.text().splitlines(True)
        assert not [line for line in lines if line.startswith('ollama-emulator:')]
        msgs = by_msg([line for line in lines if line.startswith('time=')])
        gpu = msgs['inference compute']
        assert (gpu['library'], gpu['description'], gpu['total'], gpu['available']) == (
            'Metal', 'Apple M4 Max', '107.5 GiB', '107.5 GiB')
        assert msgs['vram-based default context']['default_num_ctx'] == '262144'
        assert sysctl_calls(sim) == [['-n', 'hw.memsize', 'iogpu.wired_limit_mb', 'machdep.cpu.brand_string']]
        # Raised after the start: Ollama does not see it (Metal's value is read once).
        assert sim.run('sysctl', 'iogpu.wired_limit_mb=114688').rc == 0
        api(serve.url, '/_emulator/install', {'model': BIG})
        api(serve.url, '/api/generate', {'model': BIG})
        assert len(sysctl_calls(sim)) == 2                  # the test's own write only
        assert api(serve.url, '/api/ps')[1]['models'][0]['size_vram'] == BIG_WEIGHTS + 40 * GIB + COMPUTE
        # One line per request (GIN), none of them mistaken for the server's own lines.
        assert serve.wait_for(r'^\[GIN\] .*"/api/ps"$')
        text = serve.text()
        assert len(re.findall(r'msg="inference compute"', text)) == 1
        assert len(re.findall(r'msg="Listening on ', text)) == 1
        assert re.search(r'^\[GIN\] .*"/api/generate"$', text, re.M)
        assert re.search(r'msg="llama runner started in \d+\.\d\d seconds"', text)
    finally:
        assert serve.stop() == 0
    serve = served(serve_env(tmp_path, sim))               # a restart reads the new limit
    try:
        assert by_msg(serve.text().splitlines(True)[:6])['inference compute']['total'] == '112.0 GiB'
    finally:
        serve.stop()


def test_serve_on_a_24_gib_laptop(tmp_path, laptop):
    serve = served(serve_env(tmp_path, laptop))
    try:
        msgs = by_msg([line for line in serve.text().splitlines(True) if line.startswith('time=')])
        assert (msgs['inference compute']['description'], msgs['inference compute']['total']) == ('Apple M4', '18.0 GiB')
        assert (msgs['vram-based default context']['total_vram'],
                msgs['vram-based default context']['default_num_ctx']) == ('18.0 GiB', '4096')
    finally:
        serve.stop()


def test_serve_with_metal_unreachable_and_overrides(tmp_path, sim):
    env = serve_env(tmp_path, sim, OLLAMA_EMULATOR_GPU='none', OLLAMA_NO_CLOUD='1', OLLAMA_KEEP_ALIVE='-1',
                    OLLAMA_CONTEXT_LENGTH='lots')
    serve = served(env)
    try:
        text = serve.text()
        first = slog_attrs(text.splitlines()[0])
        assert (first['level'], first['msg'], first['key'], first['value']) == (
            'WARN', 'invalid environment variable, using default', 'OLLAMA_CONTEXT_LENGTH', 'lots')
        msgs = by_msg([line for line in text.splitlines(True) if line.startswith('time=')])
        assert 'Ollama cloud disabled: true' in msgs
        assert (msgs['inference compute']['library'], msgs['inference compute']['total']) == ('cpu', '128.0 GiB')
        api(serve.url, '/_emulator/install', {'model': 'tinyllama:latest'})
        api(serve.url, '/api/generate', {'model': 'tinyllama:latest'})
        [entry] = api(serve.url, '/api/ps')[1]['models']
        assert entry['size_vram'] == 0 and entry['size'] > 0
        res = run_cli(['ps'], dict(env, OLLAMA_HOST='127.0.0.1:%d' % serve.port))
        assert re.search(r'^tinyllama:latest\s+\S+\s+2\.8 GB\s+100% CPU\s+2048\s+Forever$', res.stdout, re.M), res.stdout
    finally:
        serve.stop()
    serve = served(serve_env(tmp_path, sim, OLLAMA_EMULATOR_GPU_TOTAL='96G'))
    try:
        assert by_msg(serve.text().splitlines(True)[:6])['inference compute']['total'] == '96.0 GiB'
    finally:
        serve.stop()


def test_serve_without_home(tmp_path, sim):
    env = serve_env(tmp_path, sim)
    del env['HOME']
    del env['OLLAMA_MODELS']
    serve = Serve(env)
    assert serve.proc.wait(20) == 2
    serve.stop()
    assert serve.text().startswith('panic: $HOME is not defined\n\ngoroutine 1 [running]:\n')
    assert 'Listening on' not in serve.text()
    serve = served(dict(env, OLLAMA_MODELS=str(tmp_path / 'models')))     # OLLAMA_MODELS is enough
    serve.stop()
    assert os.path.isdir(str(tmp_path / 'models' / 'blobs'))
    assert os.path.exists(WRAPPER)
