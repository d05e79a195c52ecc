"""Tests of the Ollama API emulator (tests/macsim/ollama): endpoints, storage, registry, faults,
request log, CLI. In-process servers on 127.0.0.1 with a temporary OLLAMA_MODELS."""

import ast
import glob
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

OLLAMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ollama')
if OLLAMA_DIR not in sys.path:
    sys.path.insert(0, OLLAMA_DIR)

import ollama_emulator as oe  # noqa: E402
from ollama_support import Serve  # noqa: E402

WRAPPER = os.path.join(OLLAMA_DIR, 'ollama')
FAST = 64 * 1024 * 1024
SLOW = 2 * 1024 * 1024     # tinyllama's 384 KiB model layer in about 0.19 s
TINY = 'tinyllama:latest'
TINY_MODEL_BYTES = 393216


# ---- helpers -------------------------------------------------------------------------------------

@pytest.fixture
def models_dir(tmp_path):
    return str(tmp_path / 'models')


@pytest.fixture
def emu(models_dir):
    server = oe.start(models_dir=models_dir, throughput=FAST)
    yield server
    server.stop()


def call(server, method, path, body=None, raw=None, timeout=10):
    """(status, headers, bytes) of a plain request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(server.url + path, data=data, method=method)
    if data is not None:
        req.add_header('Content-Type', 'application/json')
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def jcall(server, method, path, body=None, **kw):
    status, data = call(server, method, path, body, **kw)[::2]
    return status, (json.loads(data.decode()) if data else None)


class Stream(object):
    """A streamed (chunked) response read line by line, with its chunked framing parsed here:
    .complete is True only when the terminating chunk arrived (http.client hides a cut)."""

    def __init__(self, server, path, body, method='POST', timeout=10):
        u = urllib.parse.urlsplit(server.url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        self.conn.request(method, path, body=json.dumps(body), headers={'Content-Type': 'application/json'})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.chunked = 'chunked' in (self.headers.get('Transfer-Encoding') or '')
        self.lines = []
        self.complete = None
        self._buf = b''

    def _chunk(self):
        """The next chunk's data; None at the end (self.complete says how it ended)."""
        fp = self.resp.fp
        try:
            if not self.chunked:
                data = fp.read() if fp else b''
                self.complete = True
                return data or None
            size_line = fp.readline()
            if not size_line.strip():
                self.complete = False
                return None
            size = int(size_line.split(b';')[0], 16)
            if size == 0:
                fp.readline()
                self.complete = True
                return None
            data = fp.read(size)
            if len(data) < size or fp.readline() != b'\r\n':
                self.complete = False
                return None
            return data
        except (OSError, ValueError):
            self.complete = False
            return None

    def next(self):
        while b'\n' not in self._buf:
            if self.complete is not None:
                return None
            data = self._chunk()
            if data is None:
                return None
            self._buf += data
        line, self._buf = self._buf.split(b'\n', 1)
        obj = json.loads(line.decode())
        self.lines.append(obj)
        return obj

    def read_all(self):
        while self.next() is not None:
            pass
        self.close()
        return self

    def close(self):
        self.conn.close()


def stream(server, path, body, **kw):
    return Stream(server, path, body, **kw).read_all()


def pull(server, model=TINY, **extra):
    body = dict(model=model, **extra)
    return stream(server, '/api/pull', body)


def statuses(lines):
    return [line.get('status') or 'ERROR: %s' % line.get('error') for line in lines]


def layer_lines(lines, digest):
    return [line for line in lines if line.get('digest') == digest]


def tags(server):
    return jcall(server, 'GET', '/api/tags')[1]['models']


def registry_model(name=TINY, revision=None):
    return oe.Registry().lookup(name, revision)


def wait_for(pred, timeout=3.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


# ---- names, formats ----------------------------------------------------------------------------

@pytest.mark.parametrize('raw, full, short, valid', [
    ('llama3.2', 'registry.ollama.ai/library/llama3.2:latest', 'llama3.2:latest', True),
    ('llama3.3:70b', 'registry.ollama.ai/library/llama3.3:70b', 'llama3.3:70b', True),
    ('jane/mario:v1', 'registry.ollama.ai/jane/mario:v1', 'jane/mario:v1', True),
    ('example.com:5000/ns/m:t', 'example.com:5000/ns/m:t', 'example.com:5000/ns/m:t', True),
    ('https://example.com/ns/m', 'example.com/ns/m:latest', 'example.com/ns/m:latest', True),
    ('qwen2.5:', 'registry.ollama.ai/library/qwen2.5:latest', 'qwen2.5:latest', True),
    ('m@sha256:' + 'a' * 64, 'registry.ollama.ai/library/m:latest', 'm:latest', True),
    ('bad name', None, None, False),
    ('', None, None, False),
    ('-dash', None, None, False),
    ('ns.dot/m', None, None, False),
    ('m:t/x', None, None, False),
    ('m' * 81, None, None, False),
])
def test_parse_name(raw, full, short, valid):
    name = oe.parse_name(raw)
    assert name.is_valid() is valid
    if valid:
        assert name.full() == full
        assert name.display_shortest() == short


def test_go_formats():
    assert [oe.go_number(v) for v in (131072, 0.7, 1.0, 1048576, 0.00001, -2)] == [
        '131072', '0.7', '1', '1.048576e+06', '1e-05', '-2']
    assert oe.go_value('<|eot_id|>') == '"<|eot_id|>"'
    assert oe.go_json({'a': '<&>'}) == '{"a":"\\u003c\\u0026\\u003e"}'
    assert oe.parse_go_duration('1h30m') == 5400 * 10 ** 9
    assert oe.parse_go_duration('-1s') == -10 ** 9
    assert oe.parse_keep_alive('5m') == 300 * 10 ** 9
    assert oe.parse_keep_alive(30) == 30 * 10 ** 9
    assert oe.parse_keep_alive(-1) == oe.parse_keep_alive('-1m') == oe.FOREVER_NS
    for bad, msg in (('5', 'time: missing unit in duration "5"'), ('abc', 'time: invalid duration "abc"'),
                     ('5x', 'time: unknown unit "x" in duration "5x"')):
        with pytest.raises(ValueError) as e:
            oe.parse_keep_alive(bad)
        assert str(e.value) == msg
    assert oe.parse_env_keep_alive('600') == 600 * 10 ** 9
    assert oe.go_time(1700000000 * 10 ** 9 + 120000000, utc=True) == '2023-11-14T22:13:20.12Z'
    assert oe.parse_ollama_host('') == ('http', '127.0.0.1', 11434)
    assert oe.parse_ollama_host('0.0.0.0') == ('http', '0.0.0.0', 11434)
    assert oe.parse_ollama_host('127.0.0.1:0') == ('http', '127.0.0.1', 0)
    assert oe.parse_ollama_host('http://[::1]:8080') == ('http', '::1', 8080)
    assert oe.human_bytes(393216) == '393 KB' and oe.human_bytes(2019393189) == '2.0 GB'
    assert oe.parse_throughput('2M') == 2 * 1024 * 1024 and oe.parse_throughput(None) == oe.DEFAULT_THROUGHPUT


def test_python39_syntax():
    for path in (os.path.join(OLLAMA_DIR, 'ollama_emulator.py'), WRAPPER):
        with open(path) as f:
            ast.parse(f.read(), filename=path, feature_version=(3, 9))


def test_catalog_and_blobs_are_deterministic(tmp_path):
    a, b = oe.Registry(), oe.Registry()
    for key in a.entries:
        ra, rb = a.lookup(key), b.lookup(key)
        assert ra.manifest_bytes == rb.manifest_bytes
        for digest, data in ra.blobs.items():
            assert digest == 'sha256:' + hashlib.sha256(data).hexdigest()
    big = a.lookup('llama3.3:70b')
    assert big.spec['parameter_size'] == '70.6B' and big.spec['quantization_level'] == 'Q4_K_M'
    assert 1 << 20 <= big.model_layer['size'] <= 2 << 20
    assert a.lookup('llama3.3:latest').digest == big.digest          # an alias: same manifest
    assert a.lookup(TINY, 2).digest != a.lookup(TINY, 1).digest
    path = str(tmp_path / 'model.gguf')
    with open(path, 'wb') as f:
        f.write(big.blobs[big.model_layer['digest']])
    kv = oe.read_gguf_kv(path)
    assert kv['general.architecture'] == 'llama' and kv['llama.context_length'] == 131072
    assert kv['general.parameter_count'] == 70553706496


# ---- simple endpoints --------------------------------------------------------------------------

def test_root_version_unknown_path(emu):
    status, headers, data = call(emu, 'GET', '/')
    assert (status, data) == (200, b'Ollama is running')
    status, headers, data = call(emu, 'HEAD', '/')
    assert status == 200 and data == b'' and headers['Content-Length'] == '17'
    assert jcall(emu, 'GET', '/api/version') == (200, {'version': oe.VERSION})
    status, data = call(emu, 'GET', '/api/nothing')[::2]
    assert (status, data) == (404, b'404 page not found')
    assert call(emu, 'GET', '/api/pull')[0] == 404
    assert jcall(emu, 'GET', '/api/tags') == (200, {'models': []})
    assert jcall(emu, 'GET', '/api/ps') == (200, {'models': []})


@pytest.mark.parametrize('path, method', [
    ('/api/pull', 'POST'), ('/api/show', 'POST'), ('/api/create', 'POST'), ('/api/copy', 'POST'),
    ('/api/delete', 'DELETE'), ('/api/generate', 'POST'), ('/api/chat', 'POST')])
def test_missing_body(emu, path, method):
    assert jcall(emu, method, path) == (400, {'error': 'missing request body'})


def test_bad_json_body(emu):
    status, body = jcall(emu, 'POST', '/api/pull', raw=b'{"model": ')
    assert status == 400 and body['error'] == 'unexpected EOF'
    status, body = jcall(emu, 'POST', '/api/pull', raw=b'[1]')
    assert status == 400 and 'cannot unmarshal array' in body['error']


# ---- pull, storage, registry ---------------------------------------------------------------------

def test_pull_stream_and_storage(emu, models_dir):
    emu.set_throughput(SLOW)
    reg = registry_model()
    s = pull(emu, 'tinyllama')
    assert s.status == 200 and s.complete
    assert s.headers['Content-Type'] == 'application/x-ndjson'
    st = statuses(s.lines)
    assert st[0] == 'pulling manifest'
    assert st[-3:] == ['verifying sha256 digest', 'writing manifest', 'success']
    assert 'removing unused layers' not in st
    for layer in reg.layers():                     # manifest layers, then the config
        lines = layer_lines(s.lines, layer['digest'])
        assert lines and all(line['status'] == 'pulling ' + layer['digest'][7:19] for line in lines)
        assert all(line['total'] == layer['size'] for line in lines)
        assert lines[-1]['completed'] == layer['size']
    model = layer_lines(s.lines, reg.model_layer['digest'])
    assert 'completed' not in model[0]             # omitted while 0
    done = [line['completed'] for line in model[1:]]
    assert done == sorted(done) and len(done) >= 3  # re-sent about every 60 ms
    order = [line['digest'] for line in s.lines if 'digest' in line]
    assert order.index(reg.config_layer['digest']) > order.index(reg.model_layer['digest'])
    # On disk: the manifest is the registry's bytes; the blobs are what their names say.
    path = os.path.join(models_dir, 'manifests', 'registry.ollama.ai', 'library', 'tinyllama', 'latest')
    with open(path, 'rb') as f:
        data = f.read()
    assert data == reg.manifest_bytes
    manifest = json.loads(data.decode())
    assert data == json.dumps(manifest, separators=(',', ':')).encode()
    assert manifest['schemaVersion'] == 2 and manifest['mediaType'] == oe.MT_MANIFEST
    assert [layer['mediaType'] for layer in manifest['layers']] == [
        oe.MT_MODEL, oe.MT_TEMPLATE, oe.MT_SYSTEM, oe.MT_LICENSE, oe.MT_PARAMS]
    for layer in oe.manifest_layers(manifest):
        with open(os.path.join(models_dir, 'blobs', layer['digest'].replace(':', '-')), 'rb') as f:
            assert hashlib.sha256(f.read()).hexdigest() == layer['digest'][7:]
    # /api/tags: digest = sha256 of the manifest file, size = config + layers, the model blob counted at the
    # catalogue's reported_size (the weights a real /api/tags lists; the stand-in blob is 384 KiB)
    [entry] = tags(emu)
    assert entry['name'] == entry['model'] == TINY
    assert entry['digest'] == hashlib.sha256(data).hexdigest()
    model_blob = [layer['size'] for layer in manifest['layers'] if layer['mediaType'] == oe.MT_MODEL][0]
    assert entry['size'] == sum(layer['size'] for layer in oe.manifest_layers(manifest)) - model_blob + 637700138
    assert entry['details'] == {'parent_model': '', 'format': 'gguf', 'family': 'llama', 'families': ['llama'],
                                'parameter_size': '1B', 'quantization_level': 'Q4_0'}
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$', entry['modified_at'])
    # The registry's manifest endpoint serves the same bytes.
    status, headers, body = call(emu, 'GET', '/v2/library/tinyllama/manifests/latest')
    assert status == 200 and body == data
    assert hashlib.sha256(body).hexdigest() == entry['digest']
    assert headers['Docker-Content-Digest'] == 'sha256:' + entry['digest']
    assert headers['Content-Type'] == oe.MT_MANIFEST
    status, body = jcall(emu, 'GET', '/v2/library/nosuchmodel/manifests/latest')
    assert status == 404 and body['errors'][0]['code'] == 'MANIFEST_UNKNOWN'


def test_pull_again_reports_present_layers_once(emu):
    pull(emu)
    s = pull(emu, stream=True)
    reg = registry_model()
    for layer in reg.layers():
        assert layer_lines(s.lines, layer['digest']) == [{
            'status': 'pulling ' + layer['digest'][7:19], 'digest': layer['digest'],
            'total': layer['size'], 'completed': layer['size']}]
    assert 'removing unused layers' not in statuses(s.lines)
    assert emu.requests[-1]['bytes'] == 0


def test_pull_not_streamed(emu):
    assert jcall(emu, 'POST', '/api/pull', {'model': TINY, 'stream': False}) == (200, {'status': 'success'})
    assert [m['name'] for m in tags(emu)] == [TINY]


def test_pull_errors(emu):
    s = pull(emu, 'nosuchmodel')
    assert s.status == 200 and s.complete
    assert s.lines == [{'status': 'pulling manifest'}, {'error': 'pull model manifest: file does not exist'}]
    assert jcall(emu, 'POST', '/api/pull', {'model': 'nosuchmodel', 'stream': False}) == (
        500, {'error': 'pull model manifest: file does not exist'})
    assert jcall(emu, 'POST', '/api/pull', {'model': 'bad name'}) == (400, {'error': 'invalid model name'})
    assert jcall(emu, 'POST', '/api/pull', {}) == (400, {'error': 'invalid model name'})
    assert [r['outcome'] for r in emu.requests] == ['error'] * 4
    assert tags(emu) == []


def test_pull_accepts_name_and_namespaced_names(emu):
    assert jcall(emu, 'POST', '/api/pull', {'name': 'qwen2.5:0.5b', 'stream': False})[0] == 200
    assert jcall(emu, 'POST', '/api/pull', {'model': 'library/llama3.3', 'stream': False})[0] == 200
    names = sorted(m['name'] for m in tags(emu))
    assert names == ['llama3.3:latest', 'qwen2.5:0.5b']
    by_name = dict((m['name'], m) for m in tags(emu))
    assert by_name['llama3.3:latest']['digest'] == registry_model('llama3.3:70b').digest
    assert by_name['llama3.3:latest']['details']['parameter_size'] == '70.6B'


def test_revision_change_and_update(emu, models_dir):
    pull(emu)
    before = tags(emu)[0]['digest']
    old = registry_model(TINY, 1)
    new_digest = emu.set_registry_revision(TINY, 2)
    assert emu.registry_revision('tinyllama') == 2
    body = call(emu, 'GET', '/v2/library/tinyllama/manifests/latest')[2]
    assert hashlib.sha256(body).hexdigest() == new_digest != before
    assert tags(emu)[0]['digest'] == before          # nothing changes locally until a pull
    s = pull(emu)
    st = statuses(s.lines)
    assert st[-4:] == ['verifying sha256 digest', 'writing manifest', 'removing unused layers', 'success']
    assert tags(emu)[0]['digest'] == new_digest
    blobs = os.listdir(os.path.join(models_dir, 'blobs'))
    assert old.model_layer['digest'].replace(':', '-') not in blobs       # replaced layer removed
    template = [layer for layer in old.layers() if layer['mediaType'] == oe.MT_TEMPLATE][0]
    assert template['digest'].replace(':', '-') in blobs                   # shared layer kept
    # Template layer unchanged between revisions: reported as present.
    assert layer_lines(s.lines, template['digest'])[0]['completed'] == template['size']


def test_concurrent_pulls_share_one_download(emu):
    emu.set_throughput(SLOW)
    results = []

    def worker():
        results.append(pull(emu))

    threads = [threading.Thread(target=worker), threading.Thread(target=worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert [statuses(r.lines)[-1] for r in results] == ['success', 'success']
    # One download: the second request followed the first one's progress.
    assert sum(r['bytes'] for r in emu.requests) == sum(layer['size'] for layer in registry_model().layers())


# ---- show, create, copy, delete ----------------------------------------------------------------

def test_show(emu, models_dir):
    emu.install('llama3.3:70b')
    status, body = jcall(emu, 'POST', '/api/show', {'model': 'llama3.3:70b'})
    assert status == 200
    assert list(body) == ['license', 'modelfile', 'parameters', 'template', 'details', 'model_info',
                          'capabilities', 'modified_at']
    assert body['details'] == {'parent_model': '', 'format': 'gguf', 'family': 'llama', 'families': ['llama'],
                               'parameter_size': '70.6B', 'quantization_level': 'Q4_K_M'}
    info = body['model_info']
    assert info['general.architecture'] == 'llama'
    assert info['general.parameter_count'] == 70553706496
    assert info['llama.context_length'] == 131072
    assert body['parameters'].split('\n') == [
        'stop' + ' ' * 27 + '"<|start_header_id|>"', 'stop' + ' ' * 27 + '"<|end_header_id|>"',
        'stop' + ' ' * 27 + '"<|eot_id|>"']
    assert '<|start_header_id|>' in body['template'] and '.Tools' in body['template']
    assert body['capabilities'] == ['completion', 'tools']
    reg = registry_model('llama3.3:70b')
    blob = os.path.join(models_dir, 'blobs', reg.model_layer['digest'].replace(':', '-'))
    assert '\nFROM %s\n' % blob in body['modelfile']
    assert 'PARAMETER stop <|eot_id|>' in body['modelfile']
    # Go escapes <, > and & in JSON.
    assert b'\\u003c|eot_id|\\u003e' in call(emu, 'POST', '/api/show', {'model': 'llama3.3:70b'})[2]
    assert jcall(emu, 'POST', '/api/show', {'model': 'Nope:1'}) == (404, {'error': "model 'Nope:1' not found"})
    assert jcall(emu, 'POST', '/api/show', {}) == (400, {'error': 'model is required'})
    assert jcall(emu, 'POST', '/api/show', {'model': 'bad name'}) == (400, {'error': 'invalid model name'})


def test_create_derived_model(emu, models_dir):
    emu.install(TINY)
    s = stream(emu, '/api/create', {'model': 'tiny-ctx', 'from': 'tinyllama',
                                    'parameters': {'num_ctx': 8192, 'temperature': 0.2},
                                    'system': 'Answer in one sentence.'})
    st = statuses(s.lines)
    assert s.status == 200 and s.complete
    assert st[0] == 'reading model metadata' and st[-2:] == ['writing manifest', 'success']
    assert 'creating system layer' in st and 'creating parameters layer' in st
    assert all(re.match(r'^(using already created layer|writing layer) sha256:[0-9a-f]{64}$', x)
               for x in st if x.startswith(('using', 'writing layer')))
    status, show = jcall(emu, 'POST', '/api/show', {'model': 'tiny-ctx'})
    assert status == 200
    assert show['system'] == 'Answer in one sentence.'
    base = jcall(emu, 'POST', '/api/show', {'model': TINY})[1]
    assert show['template'] == base['template']
    lines = show['parameters'].split('\n')
    assert 'num_ctx' + ' ' * 24 + '8192' in lines and 'temperature' + ' ' * 20 + '0.2' in lines
    assert sum(1 for line in lines if line.startswith('stop ')) == 4        # the base's, merged
    reg = registry_model()
    blob = os.path.join(models_dir, 'blobs', reg.model_layer['digest'].replace(':', '-'))
    assert '\nFROM %s\n' % blob in show['modelfile']
    assert show['details']['parent_model'] == TINY
    assert show['model_info'] == base['model_info']
    by_name = dict((m['name'], m) for m in tags(emu))
    assert set(by_name) == {TINY, 'tiny-ctx:latest'}
    assert by_name['tiny-ctx:latest']['details']['parent_model'] == ''
    assert by_name['tiny-ctx:latest']['details']['parameter_size'] == '1B'
    path = os.path.join(models_dir, 'manifests', 'registry.ollama.ai', 'library', 'tiny-ctx', 'latest')
    with open(path, 'rb') as f:
        data = f.read()
    assert by_name['tiny-ctx:latest']['digest'] == hashlib.sha256(data).hexdigest()
    manifest = json.loads(data.decode())
    assert manifest['layers'][0]['digest'] == reg.model_layer['digest']
    assert manifest['layers'][0]['from'] == TINY
    kinds = [layer['mediaType'] for layer in manifest['layers']]
    assert kinds.count(oe.MT_SYSTEM) == 1 and kinds.count(oe.MT_PARAMS) == 1
    # The same request again: same digest, layers reused.
    again = stream(emu, '/api/create', {'model': 'tiny-ctx', 'from': 'tinyllama', 'stream': True,
                                        'parameters': {'num_ctx': 8192, 'temperature': 0.2},
                                        'system': 'Answer in one sentence.'})
    assert not [x for x in statuses(again.lines) if x.startswith('writing layer')]
    assert dict((m['name'], m) for m in tags(emu))['tiny-ctx:latest']['digest'] == by_name['tiny-ctx:latest']['digest']
    # Not streamed.
    assert jcall(emu, 'POST', '/api/create', {'model': 'tiny2', 'from': 'tiny-ctx', 'stream': False,
                                              'parameters': {'num_ctx': 4096}}) == (200, {'status': 'success'})
    show2 = jcall(emu, 'POST', '/api/show', {'model': 'tiny2'})[1]
    assert 'num_ctx' + ' ' * 24 + '4096' in show2['parameters'].split('\n')
    assert show2['details']['parent_model'] == 'tiny-ctx:latest'


def test_create_pulls_a_missing_base_and_errors(emu):
    s = stream(emu, '/api/create', {'model': 'big-ctx', 'from': 'llama3.3:70b', 'parameters': {'num_ctx': 131072}})
    st = statuses(s.lines)
    assert st[0] == 'pulling manifest' and 'verifying sha256 digest' in st and st[-1] == 'success'
    assert st.index('reading model metadata') > st.index('writing manifest')
    assert {m['name'] for m in tags(emu)} == {'llama3.3:70b', 'big-ctx:latest'}
    # A base the registry does not know: the pull's error, under 200 (500 when not streamed).
    s = stream(emu, '/api/create', {'model': 'x', 'from': 'nosuchmodel'})
    assert s.status == 200 and s.lines == [{'status': 'pulling manifest'},
                                           {'error': 'pull model manifest: file does not exist'}]
    assert jcall(emu, 'POST', '/api/create', {'model': 'x', 'from': 'nosuchmodel', 'stream': False}) == (
        500, {'error': 'pull model manifest: file does not exist'})
    assert jcall(emu, 'POST', '/api/create', {'model': 'x', 'from': 'bad name'}) == (
        400, {'error': 'invalid model name'})
    assert jcall(emu, 'POST', '/api/create', {'model': 'x'}) == (
        400, {'error': "neither 'from' or 'files' was specified"})
    assert jcall(emu, 'POST', '/api/create', {'model': 'bad name', 'from': TINY}) == (
        400, {'error': 'invalid model name'})
    assert 'x:latest' not in {m['name'] for m in tags(emu)}


def test_copy_and_delete(emu, models_dir):
    emu.install(TINY)
    assert call(emu, 'POST', '/api/copy', {'source': 'tinyllama', 'destination': 'backup/tiny:v1'})[:1] == (200,)
    status, data = call(emu, 'POST', '/api/copy', {'source': 'tinyllama', 'destination': 'tiny-copy'})[::2]
    assert (status, data) == (200, b'')
    by_name = dict((m['name'], m['digest']) for m in tags(emu))
    assert by_name['backup/tiny:v1'] == by_name['tiny-copy:latest'] == by_name[TINY]
    assert jcall(emu, 'POST', '/api/copy', {'source': 'nope', 'destination': 'x'}) == (
        404, {'error': 'model "nope" not found'})
    assert jcall(emu, 'POST', '/api/copy', {'source': 'bad name', 'destination': 'x'}) == (
        400, {'error': 'source "bad name" is invalid'})
    assert jcall(emu, 'POST', '/api/copy', {'source': TINY, 'destination': 'bad name'}) == (
        400, {'error': 'destination "bad name" is invalid'})
    # Delete: shared blobs stay while another manifest uses them.
    model_blob = os.path.join(models_dir, 'blobs', registry_model().model_layer['digest'].replace(':', '-'))
    for name in ('tinyllama', 'tiny-copy'):
        status, data = call(emu, 'DELETE', '/api/delete', {'model': name})[::2]
        assert (status, data) == (200, b'')
        assert os.path.exists(model_blob)
    assert call(emu, 'DELETE', '/api/delete', {'name': 'backup/tiny:v1'})[0] == 200
    assert not os.path.exists(model_blob)
    assert os.listdir(os.path.join(models_dir, 'blobs')) == []
    assert os.listdir(os.path.join(models_dir, 'manifests')) == []
    assert tags(emu) == []
    assert jcall(emu, 'DELETE', '/api/delete', {'model': 'Gone:7b'}) == (404, {'error': "model 'Gone:7b' not found"})
    assert jcall(emu, 'DELETE', '/api/delete', {'model': 'bad name'}) == (400, {'error': 'name "bad name" is invalid'})


# ---- generate, chat, ps, OpenAI ------------------------------------------------------------------

def test_generate_load_unload_and_ps(emu):
    emu.install(TINY)
    emu.install('llama3.3:70b')
    status, body = jcall(emu, 'POST', '/api/generate', {'model': 'tinyllama'})
    assert status == 200
    assert body['model'] == 'tinyllama' and body['response'] == '' and body['done'] is True
    assert body['done_reason'] == 'load' and body['created_at'].endswith('Z')
    [ps] = jcall(emu, 'GET', '/api/ps')[1]['models']
    assert ps['name'] == ps['model'] == TINY and ps['digest'] == registry_model().digest
    assert ps['context_length'] == 2048                      # capped to the model's context length
    assert ps['size_vram'] == ps['size'] and ps['details']['family'] == 'llama'
    expires = oe._parse_go_time(ps['expires_at'])
    assert 290 < expires - time.time() <= 301                # the default 5m
    jcall(emu, 'POST', '/api/generate', {'model': 'llama3.3:70b', 'keep_alive': -1, 'options': {'num_ctx': 32768}})
    jcall(emu, 'POST', '/api/generate', {'model': 'tinyllama', 'keep_alive': '10m'})
    models = jcall(emu, 'GET', '/api/ps')[1]['models']
    assert [m['name'] for m in models] == ['llama3.3:70b', TINY]       # longest remaining first
    assert int(models[0]['expires_at'][:4]) >= 2300 and models[0]['context_length'] == 32768
    assert 590 < oe._parse_go_time(models[1]['expires_at']) - time.time() <= 601
    status, body = jcall(emu, 'POST', '/api/generate', {'model': 'tinyllama', 'keep_alive': 0})
    assert (status, body['done_reason'], body['response']) == (200, 'unload', '')
    assert [m['name'] for m in jcall(emu, 'GET', '/api/ps')[1]['models']] == ['llama3.3:70b']
    assert jcall(emu, 'POST', '/api/generate', {'model': 'tinyllama', 'keep_alive': '5'}) == (
        400, {'error': 'time: missing unit in duration "5"'})
    assert jcall(emu, 'POST', '/api/generate', {'model': 'nope'}) == (404, {'error': "model 'nope' not found"})
    assert jcall(emu, 'POST', '/api/generate', {}) == (404, {'error': "model '' not found"})


def test_generate_with_a_derived_context_length(emu):
    emu.install('llama3.3:70b')
    jcall(emu, 'POST', '/api/create', {'model': 'llama3.3-128k', 'from': 'llama3.3:70b', 'stream': False,
                                       'parameters': {'num_ctx': 131072}})
    jcall(emu, 'POST', '/api/generate', {'model': 'llama3.3-128k', 'keep_alive': '1h'})
    [ps] = jcall(emu, 'GET', '/api/ps')[1]['models']
    assert ps['context_length'] == 131072 and ps['details']['parent_model'] == 'llama3.3:70b'


def test_generate_text(emu):
    emu.install(TINY)
    s = stream(emu, '/api/generate', {'model': TINY, 'prompt': 'Why is the sky blue?'})
    assert s.status == 200 and s.complete
    *chunks, final = s.lines
    assert all(c['done'] is False and c['model'] == TINY for c in chunks)
    assert ''.join(c['response'] for c in chunks) == oe.CANNED_REPLY
    assert final['done'] is True and final['done_reason'] == 'stop' and final['response'] == ''
    for key in ('total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration',
                'eval_count', 'eval_duration'):
        assert isinstance(final[key], int) and final[key] > 0
    assert final['eval_count'] == len(chunks)
    status, body = jcall(emu, 'POST', '/api/generate', {'model': TINY, 'prompt': 'Why?', 'stream': False})
    assert status == 200 and body['response'] == oe.CANNED_REPLY and body['done_reason'] == 'stop'
    assert body['load_duration'] < final['load_duration']                # already loaded
    status, body = jcall(emu, 'POST', '/api/generate', {'model': TINY, 'prompt': 'Why?', 'stream': False,
                                                        'options': {'num_predict': 3}})
    assert body['eval_count'] == 3 and body['done_reason'] == 'length'


def test_chat(emu):
    emu.install(TINY)
    msgs = [{'role': 'user', 'content': 'Why is the sky blue?'}]
    s = stream(emu, '/api/chat', {'model': 'tinyllama', 'messages': msgs})
    *chunks, final = s.lines
    assert ''.join(c['message']['content'] for c in chunks) == oe.CANNED_REPLY
    assert final['done'] and final['done_reason'] == 'stop' and final['message'] == {'role': 'assistant', 'content': ''}
    assert final['eval_count'] == len(chunks)
    status, body = jcall(emu, 'POST', '/api/chat', {'model': TINY, 'messages': msgs, 'stream': False})
    assert body['message'] == {'role': 'assistant', 'content': oe.CANNED_REPLY}
    status, body = jcall(emu, 'POST', '/api/chat', {'model': TINY, 'messages': [], 'keep_alive': 0})
    assert body['done_reason'] == 'unload'
    assert jcall(emu, 'GET', '/api/ps')[1]['models'] == []
    status, body = jcall(emu, 'POST', '/api/chat', {'model': TINY})
    assert body['done_reason'] == 'load' and len(jcall(emu, 'GET', '/api/ps')[1]['models']) == 1
    assert jcall(emu, 'POST', '/api/chat', {'model': 'nope', 'messages': msgs}) == (
        404, {'error': "model 'nope' not found"})
    assert jcall(emu, 'POST', '/api/chat', {'messages': msgs}) == (400, {'error': 'model is required'})


def test_openai_endpoints(emu):
    emu.install(TINY)
    status, body = jcall(emu, 'GET', '/v1/models')
    assert status == 200 and body['object'] == 'list'
    assert body['data'][0]['id'] == TINY and body['data'][0]['owned_by'] == 'library'
    assert jcall(emu, 'GET', '/v1/models/tinyllama:latest')[1]['id'] == TINY
    msgs = [{'role': 'user', 'content': 'Hello'}]
    status, body = jcall(emu, 'POST', '/v1/chat/completions', {'model': TINY, 'messages': msgs})
    assert status == 200 and body['object'] == 'chat.completion'
    assert body['choices'][0]['message'] == {'role': 'assistant', 'content': oe.CANNED_REPLY}
    assert body['choices'][0]['finish_reason'] == 'stop' and body['usage']['completion_tokens'] > 0
    status, headers, data = call(emu, 'POST', '/v1/chat/completions', {'model': TINY, 'messages': msgs, 'stream': True})
    assert headers['Content-Type'] == 'text/event-stream'
    events = [line[6:] for line in data.decode().split('\n\n') if line.startswith('data: ')]
    assert events[-1] == '[DONE]'
    chunks = [json.loads(e) for e in events[:-1]]
    assert ''.join(c['choices'][0]['delta']['content'] for c in chunks) == oe.CANNED_REPLY
    assert chunks[-1]['choices'][0]['finish_reason'] == 'stop'
    status, body = jcall(emu, 'POST', '/v1/chat/completions', {'model': 'nope', 'messages': msgs})
    assert status == 404 and body['error']['message'] == "model 'nope' not found"
    assert body['error']['type'] == 'not_found_error'


# ---- faults --------------------------------------------------------------------------------------

def test_drop_then_resume(emu):
    emu.set_throughput(SLOW)
    emu.add_fault(path='/api/pull', fault='drop', at=0.5)
    reg = registry_model()
    first = pull(emu)
    assert first.status == 200 and first.complete is False                 # no chunked terminator
    half = TINY_MODEL_BYTES // 2
    assert first.lines[-1]['digest'] == reg.model_layer['digest'] and first.lines[-1]['completed'] == half
    assert 'success' not in statuses(first.lines)
    log = emu.requests[-1]
    assert (log['status'], log['outcome'], log['bytes'], log['faults']) == (200, 'dropped', half, ['drop'])
    assert tags(emu) == [] and emu.faults == []                            # used up
    second = pull(emu)
    assert statuses(second.lines)[-1] == 'success'
    model = layer_lines(second.lines, reg.model_layer['digest'])
    assert model[0]['completed'] == half                                   # resumed from the partial
    total = sum(layer['size'] for layer in reg.layers())
    assert emu.requests[-1]['bytes'] == total - half
    assert emu.requests[-1]['outcome'] == 'complete'
    assert tags(emu)[0]['digest'] == reg.digest


def test_drop_not_streamed_and_on_other_paths(emu):
    emu.add_fault(path='/api/pull', fault='drop', at=0.25)
    with pytest.raises((http.client.HTTPException, OSError)):
        call(emu, 'POST', '/api/pull', {'model': TINY, 'stream': False})
    emu.add_fault(path='/api/tags', fault='drop')
    with pytest.raises((http.client.HTTPException, OSError)):
        call(emu, 'GET', '/api/tags')
    assert [(r['path'], r['status'], r['outcome']) for r in emu.requests] == [
        ('/api/pull', None, 'dropped'), ('/api/tags', None, 'dropped')]
    assert jcall(emu, 'POST', '/api/pull', {'model': TINY, 'stream': False}) == (200, {'status': 'success'})


def test_restart_keeps_models_and_forgets_partials(models_dir):
    reg = registry_model()
    with oe.start(models_dir=models_dir, throughput=SLOW) as emu:
        pull(emu, 'qwen2.5:0.5b')
        emu.add_fault(path='/api/pull', fault='drop', at=0.5)
        pull(emu)
        digest = tags(emu)[0]['digest']
    with oe.start(models_dir=models_dir, throughput=FAST) as emu:
        assert [(m['name'], m['digest']) for m in tags(emu)] == [('qwen2.5:0.5b', digest)]
        s = pull(emu)
        assert 'completed' not in layer_lines(s.lines, reg.model_layer['digest'])[0]   # from zero
        # (qwen2.5 has the same licence text: that blob is present)
        present = set(layer['digest'] for layer in registry_model('qwen2.5:0.5b').layers())
        assert emu.requests[-1]['bytes'] == sum(layer['size'] for layer in reg.layers()
                                                if layer['digest'] not in present)


def test_digest_mismatch_registers_nothing(emu, models_dir):
    emu.add_fault(path='/api/pull', model='tinyllama', fault='digest_mismatch')
    reg = registry_model()
    s = pull(emu)
    want = reg.model_layer['digest']
    assert s.status == 200 and s.complete
    assert statuses(s.lines)[-2] == 'verifying sha256 digest'
    err = s.lines[-1]['error']
    m = re.match(r'^digest mismatch, file must be downloaded again: want (sha256:[0-9a-f]{64}), '
                 r'got (sha256:[0-9a-f]{64})$', err)
    assert m and m.group(1) == want and m.group(2) != want
    assert emu.requests[-1]['outcome'] == 'error' and tags(emu) == []
    assert not os.path.exists(os.path.join(models_dir, 'blobs', want.replace(':', '-')))
    s = pull(emu)                                        # downloaded again from the start
    assert 'completed' not in layer_lines(s.lines, want)[0]
    assert statuses(s.lines)[-1] == 'success'
    # Not streamed: the same error with 500.
    emu.install('qwen2.5:0.5b')
    jcall(emu, 'DELETE', '/api/delete', {'model': 'qwen2.5:0.5b'})
    emu.add_fault(path='/api/pull', fault='digest_mismatch')
    status, body = jcall(emu, 'POST', '/api/pull', {'model': 'qwen2.5:0.5b', 'stream': False})
    assert status == 500 and body['error'].startswith('digest mismatch, file must be downloaded again: want ')


def test_disk_full(emu, models_dir):
    emu.set_throughput(SLOW)
    emu.add_fault(path='/api/pull', fault='disk_full', at=0.25)
    reg = registry_model()
    s = pull(emu)
    blob = os.path.join(models_dir, 'blobs', reg.model_layer['digest'].replace(':', '-'))
    assert s.status == 200 and s.complete
    assert s.lines[-1] == {'error': 'write %s-partial: no space left on device' % blob}
    assert 'verifying sha256 digest' not in statuses(s.lines)
    assert tags(emu) == [] and not os.path.exists(blob)
    s = pull(emu)
    assert layer_lines(s.lines, reg.model_layer['digest'])[0]['completed'] == TINY_MODEL_BYTES // 4
    assert statuses(s.lines)[-1] == 'success'


def test_stall_for_seconds(emu):
    emu.add_fault(path='/api/pull', fault='stall', at=0.5, seconds=0.4)
    reg = registry_model()
    t0 = time.time()
    s = pull(emu)
    assert time.time() - t0 >= 0.4
    model = layer_lines(s.lines, reg.model_layer['digest'])
    stalled = [line for line in model if line.get('completed') == TINY_MODEL_BYTES // 2]
    assert len(stalled) >= 5                              # the same progress, every 60 ms
    assert statuses(s.lines)[-1] == 'success'


def test_stall_until_client_gives_up_then_resume(emu):
    emu.add_fault(path='/api/pull', fault='stall', at=0.75)
    reg = registry_model()
    st = Stream(emu, '/api/pull', {'model': TINY})
    same = 0
    while same < 4:
        line = st.next()
        assert line is not None
        if line.get('completed') == TINY_MODEL_BYTES * 3 // 4:
            same += 1
    st.close()
    assert wait_for(lambda: emu.requests and emu.requests[-1]['outcome'] == 'client_gone')
    assert emu.requests[-1]['status'] == 200
    s = pull(emu)
    assert layer_lines(s.lines, reg.model_layer['digest'])[0]['completed'] == TINY_MODEL_BYTES * 3 // 4
    assert statuses(s.lines)[-1] == 'success'


def test_slow_start_status_unknown_model(emu):
    emu.add_fault(path='/api/version', fault='slow_start', seconds=0.3)
    t0 = time.time()
    assert jcall(emu, 'GET', '/api/version')[0] == 200
    assert time.time() - t0 >= 0.3
    emu.add_fault(path='/api/tags', fault='status', status=503, error='server busy, please try again')
    assert jcall(emu, 'GET', '/api/tags') == (503, {'error': 'server busy, please try again'})
    assert jcall(emu, 'GET', '/api/tags')[0] == 200
    emu.add_fault(path='/api/pull', fault='unknown_model')
    assert pull(emu).lines == [{'status': 'pulling manifest'}, {'error': 'pull model manifest: file does not exist'}]
    emu.add_fault(path='/v2/*', fault='unknown_model')
    assert call(emu, 'GET', '/v2/library/tinyllama/manifests/latest')[0] == 404
    assert call(emu, 'GET', '/v2/library/tinyllama/manifests/latest')[0] == 200
    assert [r['faults'] for r in emu.requests] == [
        ['slow_start'], ['status'], [], ['unknown_model'], ['unknown_model'], []]


def test_fault_times_and_model_filter(emu):
    emu.add_fault(path='/api/show', fault='status', status=500, error='boom', times=2)
    emu.add_fault(path='/api/pull', model='qwen2.5:0.5b', fault='status', status=429, error='slow down', times=0)
    assert emu.faults[0]['times'] == 2
    emu.install(TINY)
    assert [jcall(emu, 'POST', '/api/show', {'model': TINY})[0] for dummy in range(3)] == [500, 500, 200]
    for dummy in range(3):
        assert jcall(emu, 'POST', '/api/pull', {'model': 'qwen2.5:0.5b', 'stream': False}) == (
            429, {'error': 'slow down'})
    assert jcall(emu, 'POST', '/api/pull', {'model': TINY, 'stream': False})[0] == 200
    assert [r['fault'] for r in emu.faults] == ['status'] and emu.faults[0]['times'] == 0
    emu.clear_faults()
    assert emu.faults == []
    with pytest.raises(ValueError):
        emu.add_fault(path='/api/pull', fault='explode')
    with pytest.raises(ValueError):
        emu.add_fault(path='/api/pull', fault='drop', at=2)


def test_faults_file(tmp_path, models_dir):
    path = str(tmp_path / 'faults.json')
    rules = [{'path': '/api/tags', 'fault': 'status', 'status': 503, 'error': 'busy', 'times': 2}]
    with open(path, 'w') as f:
        json.dump(rules, f)
    with oe.start(models_dir=models_dir, faults_file=path) as emu:
        assert [jcall(emu, 'GET', '/api/tags')[0] for dummy in range(3)] == [503, 503, 200]
        rules[0]['error'] = 'busy again'           # an edited rule is a new rule
        with open(path, 'w') as f:
            json.dump({'faults': rules}, f)
        assert jcall(emu, 'GET', '/api/tags') == (503, {'error': 'busy again'})
        os.unlink(path)
        assert jcall(emu, 'GET', '/api/tags')[0] == 200


# ---- control endpoints, request log -------------------------------------------------------------

def test_control_endpoints(emu):
    assert jcall(emu, 'PUT', '/_emulator/faults', [{'path': '/api/tags', 'fault': 'status', 'status': 502}]) == (
        200, [{'path': '/api/tags', 'fault': 'status', 'status': 502, 'times': 1}])
    assert jcall(emu, 'POST', '/_emulator/faults', {'path': '/api/ps', 'fault': 'slow_start', 'seconds': 0})[0] == 200
    assert len(jcall(emu, 'GET', '/_emulator/faults')[1]) == 2
    assert jcall(emu, 'GET', '/api/tags') == (502, {'error': 'injected fault'})
    assert jcall(emu, 'DELETE', '/_emulator/faults') == (200, [])
    assert jcall(emu, 'PUT', '/_emulator/faults', [{'fault': 'nope'}])[0] == 400
    status, reg = jcall(emu, 'GET', '/_emulator/registry')
    assert reg[TINY]['revision'] == 1 and reg[TINY]['revisions'] == [1, 2]
    status, body = jcall(emu, 'PUT', '/_emulator/registry', {'model': 'tinyllama', 'revision': 2})
    assert status == 200 and body['digest'] == registry_model(TINY, 2).digest == emu.registry_digest(TINY)
    assert jcall(emu, 'PUT', '/_emulator/registry', {'model': 'tinyllama', 'revision': 9})[0] == 400
    assert jcall(emu, 'PUT', '/_emulator/registry', {'model': 'nope', 'revision': 1})[0] == 404
    assert jcall(emu, 'PUT', '/_emulator/throughput', {'bytes_per_second': 1234}) == (200, {'bytes_per_second': 1234})
    assert emu.emulator.throughput == 1234
    status, body = jcall(emu, 'POST', '/_emulator/install', {'model': 'qwen2.5:0.5b'})
    assert status == 200 and [m['digest'] for m in tags(emu)] == [body['digest']]
    # Only /api/tags (twice) was logged.
    status, log = jcall(emu, 'GET', '/_emulator/requests')
    assert [(r['method'], r['path'], r['status']) for r in log] == [
        ('GET', '/api/tags', 502), ('GET', '/api/tags', 200)]
    assert jcall(emu, 'DELETE', '/_emulator/requests') == (200, [])
    assert jcall(emu, 'GET', '/_emulator/requests') == (200, [])
    assert jcall(emu, 'GET', '/_emulator/nothing')[0] == 404


def test_request_log(tmp_path, models_dir):
    log_file = str(tmp_path / 'requests.jsonl')
    with oe.start(models_dir=models_dir, log_file=log_file, throughput=FAST) as emu:
        pull(emu)
        jcall(emu, 'POST', '/api/show', {'model': 'nope'})
        jcall(emu, 'GET', '/api/tags')
        log = emu.requests
    reg = registry_model()
    assert [(r['method'], r['path'], r['status'], r['outcome']) for r in log] == [
        ('POST', '/api/pull', 200, 'complete'), ('POST', '/api/show', 404, 'error'),
        ('GET', '/api/tags', 200, 'complete')]
    assert log[0]['body'] == {'model': TINY} and log[2]['body'] is None
    assert log[0]['bytes'] == sum(layer['size'] for layer in reg.layers()) and log[1]['bytes'] == 0
    assert all(isinstance(r['ts'], float) and abs(r['ts'] - time.time()) < 60 for r in log)
    assert set(log[0]) >= {'ts', 'method', 'path', 'body', 'status', 'outcome', 'bytes'}
    with open(log_file) as f:
        assert [json.loads(line) for line in f] == log


def test_registry_file_keeps_revisions(tmp_path, models_dir):
    path = str(tmp_path / 'registry.json')
    with oe.start(models_dir=models_dir, registry_file=path) as emu:
        emu.set_registry_revision('tinyllama', 2)
    with oe.start(models_dir=models_dir, registry_file=path) as emu:
        assert emu.registry_revision(TINY) == 2
    with oe.start(models_dir=models_dir) as emu:
        assert emu.registry_revision(TINY) == 1


# ---- CLI -----------------------------------------------------------------------------------------

def run_cli(args, env, python=sys.executable, timeout=20):
    return subprocess.run([python, WRAPPER] + list(args), env=env, stdout=subprocess.PIPE, check=False,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)


def test_cli_serve_list_ps_version(tmp_path):
    env = dict(os.environ, OLLAMA_HOST='127.0.0.1:0', OLLAMA_MODELS=str(tmp_path / 'm'),
               OLLAMA_EMULATOR_LOG=str(tmp_path / 'log.jsonl'), OLLAMA_KEEP_ALIVE='-1')
    serve = Serve(env)
    try:
        m = serve.wait_listening()
        assert m.group(2) == oe.VERSION == '0.32.3'
        port = serve.port
        client = dict(env, OLLAMA_HOST='127.0.0.1:%d' % port)
        res = run_cli(['--version'], client)
        assert (res.returncode, res.stdout) == (0, 'ollama version is %s\n' % oe.VERSION)
        assert run_cli(['-v'], client).stdout == res.stdout
        res = run_cli(['list'], client)
        assert res.returncode == 0 and res.stdout.split() == ['NAME', 'ID', 'SIZE', 'MODIFIED']
        url = 'http://127.0.0.1:%d' % port
        for path, body in (('/api/pull', {'model': TINY, 'stream': False}), ('/api/generate', {'model': TINY})):
            req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method='POST')
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.status == 200
        res = run_cli(['list'], client)
        digest = registry_model().digest
        assert re.search(r'^tinyllama:latest\s+%s\s+637 MB\s+(Less than a second|\d+ seconds?) ago$' % digest[:12],
                         res.stdout, re.M), res.stdout
        res = run_cli(['ps'], client)
        assert res.stdout.split('\n')[0].split() == ['NAME', 'ID', 'SIZE', 'PROCESSOR', 'CONTEXT', 'UNTIL']
        # weights 637.7 MB (the catalogue's reported size) + 46 MB KV (2048 tokens, f16) + 2 GiB compute
        assert re.search(r'^tinyllama:latest\s+%s\s+2\.8 GB\s+100%% GPU\s+2048\s+Forever$' % digest[:12],
                         res.stdout, re.M), res.stdout
        res = run_cli(['run', TINY], client)
        assert res.returncode == 2 and 'not simulated' in res.stderr
    finally:
        rc = serve.stop()
    err = serve.text()
    assert rc == 0
    assert '"/api/pull"' in err                                   # one access line per request
    with open(str(tmp_path / 'log.jsonl')) as f:
        paths = [json.loads(x)['path'] for x in f]
    assert paths == ['/api/version', '/api/version', '/api/tags', '/api/pull', '/api/generate', '/api/tags', '/api/ps']
    # No server: the real client's warnings; list fails.
    gone = dict(env, OLLAMA_HOST='127.0.0.1:%d' % port)
    res = run_cli(['--version'], gone)
    assert res.stdout == ('Warning: could not connect to a running Ollama instance\n'
                          'Warning: client version is %s\n' % oe.VERSION)
    res = run_cli(['list'], gone)
    assert res.returncode == 1 and 'could not connect to ollama server' in res.stderr


def test_cli_serve_port_in_use(tmp_path, emu):
    env = dict(os.environ, OLLAMA_HOST='127.0.0.1:%d' % emu.port, OLLAMA_MODELS=str(tmp_path / 'm'))
    res = run_cli(['serve'], env)
    assert res.returncode == 1
    assert res.stderr == 'Error: listen tcp 127.0.0.1:%d: bind: address already in use\n' % emu.port


def test_cli_under_python39(tmp_path):
    pythons = sorted(glob.glob('/root/.pyenv/versions/3.9*/bin/python3.9'))
    if not pythons:
        pytest.skip('no Python 3.9 here')
    env = dict(os.environ, OLLAMA_HOST='127.0.0.1:0', OLLAMA_MODELS=str(tmp_path / 'm'))
    code = ('import sys; sys.path.insert(0, %r); import ollama_emulator as o, json, urllib.request\n'
            's = o.start(models_dir=%r); s.install("tinyllama")\n'
            'print(json.load(urllib.request.urlopen(s.url + "/api/tags"))["models"][0]["name"]); s.stop()'
            % (OLLAMA_DIR, str(tmp_path / 'm')))
    res = subprocess.run([pythons[-1], '-c', code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         check=False, universal_newlines=True, timeout=30)
    assert (res.returncode, res.stdout, res.stderr) == (0, 'tinyllama:latest\n', '')


def test_parse_modelfile():
    text = '# the 128k variant\nFROM llama3.3:70b\nPARAMETER num_ctx 131072\nPARAMETER temperature 0.5\n' \
           'PARAMETER stop <|eot_id|>\nSYSTEM be brief\n'
    assert oe.parse_modelfile(text) == {'from': 'llama3.3:70b', 'parameters': {
        'num_ctx': 131072, 'temperature': 0.5, 'stop': '<|eot_id|>'}}
    assert oe.parse_modelfile('') == {}


def test_cli_pull_and_create(tmp_path, emu):
    env = dict(os.environ, OLLAMA_HOST='127.0.0.1:%d' % emu.port)
    pulled = run_cli(['pull', 'tinyllama'], env)
    assert pulled.returncode == 0, pulled.stderr
    assert 'success' in pulled.stderr.splitlines()
    modelfile = tmp_path / 'Modelfile'
    modelfile.write_text('FROM tinyllama\nPARAMETER num_ctx 4096\n')
    created = run_cli(['create', 'tiny-4k', '-f', str(modelfile)], env)
    assert created.returncode == 0, created.stderr
    names = [m['name'] for m in json.loads(urllib.request.urlopen(emu.url + '/api/tags').read())['models']]
    assert {'tinyllama:latest', 'tiny-4k:latest'} <= set(names)
    bodies = [(r['path'], r['body']) for r in emu.requests]
    assert ('/api/pull', {'model': 'tinyllama', 'insecure': False, 'stream': True}) in bodies
    assert ('/api/create', {'model': 'tiny-4k', 'from': 'tinyllama', 'parameters': {'num_ctx': 4096},
                            'stream': True}) in bodies
    unknown = run_cli(['pull', 'no-such-model'], env)
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[-1] == 'Error: pull model manifest: file does not exist'
    missing = run_cli(['create', 'x', '-f', str(tmp_path / 'absent')], env)
    assert missing.returncode == 1
    gone = run_cli(['pull', 'tinyllama'], dict(os.environ, OLLAMA_HOST='127.0.0.1:1'))
    assert gone.returncode == 1
    assert 'could not connect to ollama server' in gone.stderr
