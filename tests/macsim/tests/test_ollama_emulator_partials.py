"""Tests of the Ollama emulator's partial downloads on disk (blobs/sha256-<hex>-partial): written as the
bytes arrive, resumed by a later pull and by a new server on the same OLLAMA_MODELS when OLLAMA_NOPRUNE
is set, pruned at start otherwise (shared/reference/security.md 4); and the catalogue's two-layer
model llava-lite:7b (a model blob and a projector), cut by SIGKILL between and within its layers."""

import hashlib
import http.client
import json
import os
import re
import sys
import time
import urllib.parse

import pytest

OLLAMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ollama')
if OLLAMA_DIR not in sys.path:
    sys.path.insert(0, OLLAMA_DIR)

import ollama_emulator as oe  # noqa: E402
from ollama_support import Serve, api  # noqa: E402

FAST = 64 * 1024 * 1024
SLOW = 2 * 1024 * 1024
TINY = 'tinyllama:latest'
LLAVA = 'llava-lite:7b'
HOUR = 3600


# ---- helpers -------------------------------------------------------------------------------------

def reg_of(name):
    return oe.Registry().lookup(name)


def blob(models_dir, digest):
    return os.path.join(models_dir, 'blobs', digest.replace(':', '-'))


def partial(models_dir, digest):
    return blob(models_dir, digest) + '-partial'


def size(path):
    return os.path.getsize(path) if os.path.exists(path) else None


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def tags(url):
    return api(url, '/api/tags')[1]['models']


class PullStream(object):
    """POST /api/pull, streamed; .next() is the next progress object (None at the end or on a cut)."""

    def __init__(self, url, model, timeout=20):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        self.conn.request('POST', '/api/pull', body=json.dumps({'model': model}),
                          headers={'Content-Type': 'application/json'})
        self.resp = self.conn.getresponse()
        self.lines = []

    def next(self):
        try:
            line = self.resp.readline()
        except (http.client.HTTPException, OSError):
            return None
        if not line:
            return None
        obj = json.loads(line.decode())
        self.lines.append(obj)
        return obj

    def read_all(self):
        while self.next() is not None:
            pass
        self.conn.close()
        return self.lines

    def close(self):
        self.conn.close()


def pull(url, model=TINY):
    return PullStream(url, model).read_all()


def last_pull(server):
    return [entry for entry in server.requests if entry['path'] == '/api/pull'][-1]


def total_bytes(reg):
    return sum(layer['size'] for layer in reg.layers())


# ---- the catalogue's two-layer model -------------------------------------------------------------

def test_llava_lite_has_a_model_and_a_projector_layer(tmp_path):
    reg = reg_of(LLAVA)
    assert reg.digest == reg_of(LLAVA).digest                                  # deterministic
    assert [layer['mediaType'] for layer in reg.manifest['layers']] == [
        oe.MT_MODEL, 'application/vnd.ollama.image.projector', oe.MT_TEMPLATE, oe.MT_SYSTEM, oe.MT_LICENSE,
        oe.MT_PARAMS]
    assert reg.layer_of('projector') is reg.projector_layer
    assert reg.projector_layer == reg.manifest['layers'][1]
    assert reg.model_layer['size'] == 1 << 20 and reg.projector_layer['size'] == 1310720
    for digest, data in reg.blobs.items():
        assert digest == 'sha256:' + hashlib.sha256(data).hexdigest()
    assert reg_of(TINY).projector_layer is None and reg_of(TINY).layer_of('projector') is None
    models_dir = str(tmp_path / 'models')
    with oe.start(models_dir=models_dir, throughput=FAST) as emu:
        emu.install(LLAVA)
        [entry] = tags(emu.url)
        assert entry['name'] == LLAVA and entry['details']['families'] == ['llama', 'clip']
        # the model blob counted at the catalogue's reported_size, as a real /api/tags lists a 7B model
        assert entry['size'] == total_bytes(reg) - reg.model_layer['size'] + 4733410304
        status, show = api(emu.url, '/api/show', {'model': LLAVA})
        assert status == 200 and show['capabilities'] == ['completion', 'vision']
        assert show['model_info']['general.architecture'] == 'llama'
        info = show['projector_info']
        assert info['general.architecture'] == 'clip' and info['clip.has_vision_encoder'] is True
        assert info['clip.vision.image_size'] == 336 and not any(k.startswith('emulator.') for k in info)
        froms = [line for line in show['modelfile'].splitlines() if line.startswith('FROM ')]
        assert froms == ['FROM ' + blob(models_dir, reg.model_layer['digest']),
                         'FROM ' + blob(models_dir, reg.projector_layer['digest'])]
        assert api(emu.url, '/api/generate', {'model': LLAVA})[0] == 200          # loads like any model
        emu.install(TINY)
        assert 'vision' not in api(emu.url, '/api/show', {'model': TINY})[1]['capabilities']
    with pytest.raises(ValueError):
        oe.normalize_rule({'fault': 'drop', 'layer': 'template'})


# ---- the partial on disk -------------------------------------------------------------------------

def test_the_partial_holds_every_byte_reported_and_becomes_the_blob(tmp_path):
    models_dir = str(tmp_path / 'models')
    reg = reg_of(TINY)
    digest = reg.model_layer['digest']
    data = reg.blobs[digest]
    # 64 KiB/s: about 4 KiB per progress interval, less than a file buffer holds.
    with oe.start(models_dir=models_dir, throughput=64 << 10) as emu:
        st = PullStream(emu.url, TINY)
        seen = []
        while True:
            line = st.next()
            assert line is not None and 'error' not in line, st.lines
            if line.get('status') == 'success':
                break
            if line.get('digest') == digest and 0 < line.get('completed', 0) < len(data):
                # Each progress line goes out after its bytes were written and flushed.
                on_disk = read(partial(models_dir, digest))
                assert len(on_disk) >= line['completed'] and data.startswith(on_disk)
                assert not os.path.exists(blob(models_dir, digest)) and tags(emu.url) == []
                seen.append(line['completed'])
                if len(seen) == 5:
                    emu.set_throughput(FAST)
        st.read_all()                                  # to the end: the request is logged by then
        assert len(seen) >= 5 and seen[0] < 8192
        assert not os.path.exists(partial(models_dir, digest))                 # renamed to the blob
        assert hashlib.sha256(read(blob(models_dir, digest))).hexdigest() == digest[7:]
        log = last_pull(emu)
        assert log['outcome'] == 'complete' and log['bytes'] == total_bytes(reg)
        assert [(layer['digest'], layer['offset'], layer['bytes']) for layer in log['layers']] == [
            (layer['digest'], 0, layer['size']) for layer in reg.layers()]
        assert [m['digest'] for m in tags(emu.url)] == [reg.digest]
        assert not [fn for fn in os.listdir(os.path.join(models_dir, 'blobs')) if not re.match(
            r'^sha256-[0-9a-f]{64}$', fn)]


def test_disk_full_leaves_the_partial_on_disk(tmp_path):
    models_dir = str(tmp_path / 'models')
    reg = reg_of(TINY)
    digest = reg.model_layer['digest']
    with oe.start(models_dir=models_dir, throughput=SLOW) as emu:
        emu.add_fault(path='/api/pull', fault='disk_full', at=0.25)
        lines = pull(emu.url)
        assert lines[-1] == {'error': 'write %s-partial: no space left on device' % blob(models_dir, digest)}
        assert read(partial(models_dir, digest)) == reg.blobs[digest][:reg.model_layer['size'] // 4]
        assert tags(emu.url) == []


def test_restart_with_noprune_resumes_from_the_partial(tmp_path):
    models_dir = str(tmp_path / 'models')
    reg = reg_of(TINY)
    digest = reg.model_layer['digest']
    half = reg.model_layer['size'] // 2
    with oe.start(models_dir=models_dir, throughput=SLOW, noprune=True) as emu:
        emu.add_fault(path='/api/pull', fault='drop', at=0.5)
        pull(emu.url)
        assert last_pull(emu)['outcome'] == 'dropped' and last_pull(emu)['bytes'] == half
    assert size(partial(models_dir, digest)) == half
    with oe.start(models_dir=models_dir, throughput=FAST, noprune=True) as emu:
        assert tags(emu.url) == []
        lines = pull(emu.url)
        assert lines[-1] == {'status': 'success'}
        assert [line for line in lines if line.get('digest') == digest][0]['completed'] == half
        log = last_pull(emu)
        assert log['bytes'] == total_bytes(reg) - half
        assert log['layers'][0] == {'digest': digest, 'offset': half, 'bytes': half}
        assert [m['digest'] for m in tags(emu.url)] == [reg.digest]
    assert hashlib.sha256(read(blob(models_dir, digest))).hexdigest() == digest[7:]
    assert not os.path.exists(partial(models_dir, digest))


def test_restart_without_noprune_prunes_partials_and_old_unreferenced_blobs(tmp_path):
    """Ollama's PruneLayers at start: partials (and -partial-N) go, unreferenced blobs younger than an
    hour stay, so a completed layer of an interrupted pull is still not downloaded again."""
    models_dir = str(tmp_path / 'models')
    reg = reg_of(LLAVA)
    model, projector = reg.model_layer, reg.projector_layer
    with oe.start(models_dir=models_dir, throughput=FAST) as emu:
        emu.install('qwen2.5:0.5b')
        emu.add_fault(path='/api/pull', fault='drop', layer='projector', at=0.5)
        pull(emu.url, LLAVA)
        log = last_pull(emu)
        assert log['outcome'] == 'dropped' and log['faults'] == ['drop']
        assert log['bytes'] == model['size'] + projector['size'] // 2
    assert size(partial(models_dir, projector['digest'])) == projector['size'] // 2
    qwen = reg_of('qwen2.5:0.5b').model_layer['digest']
    old = time.time() - 2 * HOUR
    os.utime(blob(models_dir, qwen), (old, old))                                # referenced: kept
    orphan = os.path.join(models_dir, 'blobs', 'sha256-' + 'ab' * 32)
    for path in (orphan, partial(models_dir, projector['digest']) + '-0'):
        with open(path, 'wb') as f:
            f.write(b'x')
    os.utime(orphan, (old, old))
    with oe.start(models_dir=models_dir, throughput=FAST, noprune=True) as emu:    # noprune: nothing goes
        pass
    assert os.path.exists(orphan) and size(partial(models_dir, projector['digest'])) == projector['size'] // 2
    with oe.start(models_dir=models_dir, throughput=FAST) as emu:
        assert not os.path.exists(partial(models_dir, projector['digest']))
        assert not os.path.exists(partial(models_dir, projector['digest']) + '-0')
        assert not os.path.exists(orphan)
        assert os.path.exists(blob(models_dir, qwen)) and os.path.exists(blob(models_dir, model['digest']))
        assert [m['name'] for m in tags(emu.url)] == ['qwen2.5:0.5b']
        lines = pull(emu.url, LLAVA)
        assert lines[-1] == {'status': 'success'}
        log = last_pull(emu)
        assert model['digest'] not in [layer['digest'] for layer in log['layers']]   # not sent again
        assert log['layers'][0] == {'digest': projector['digest'], 'offset': 0, 'bytes': projector['size']}
        present = set(layer['digest'] for layer in reg_of('qwen2.5:0.5b').layers())
        assert log['bytes'] == sum(layer['size'] for layer in reg.layers()
                                   if layer['digest'] not in present) - model['size']


@pytest.mark.parametrize('bad', ['too long', 'wrong bytes'])
def test_a_partial_that_is_not_a_prefix_of_the_blob_is_started_again(tmp_path, bad):
    models_dir = str(tmp_path / 'models')
    reg = reg_of(TINY)
    digest = reg.model_layer['digest']
    data = reg.blobs[digest]
    os.makedirs(os.path.join(models_dir, 'blobs'))
    with open(partial(models_dir, digest), 'wb') as f:
        f.write(data + b'\0' if bad == 'too long' else data[:1000] + b'\xff' * 1000)
    with oe.start(models_dir=models_dir, throughput=FAST, noprune=True) as emu:
        assert pull(emu.url)[-1] == {'status': 'success'}
        log = last_pull(emu)
        assert log['layers'][0] == {'digest': digest, 'offset': 0, 'bytes': len(data)}
        assert log['bytes'] == total_bytes(reg)
        assert read(blob(models_dir, digest)) == data
        # A good prefix, by contrast, is resumed.
        api(emu.url, '/api/delete', {'model': TINY}, method='DELETE')
        with open(partial(models_dir, digest), 'wb') as f:
            f.write(data[:3000])
        assert pull(emu.url)[-1] == {'status': 'success'}
        assert last_pull(emu)['layers'][0] == {'digest': digest, 'offset': 3000, 'bytes': len(data) - 3000}


def test_received_bytes_are_checked_against_the_digest(tmp_path):
    """A registry that sends other bytes than the digest names: "verifying sha256 digest" fails with the
    sha256 of what came, the blob is removed and nothing is registered."""
    models_dir = str(tmp_path / 'models')
    with oe.start(models_dir=models_dir, throughput=FAST) as emu:
        reg = emu.emulator.registry.lookup(TINY)
        digest = reg.model_layer['digest']
        good = reg.blobs[digest]
        reg.blobs[digest] = good[:-4] + b'oops'
        try:
            lines = pull(emu.url)
        finally:
            reg.blobs[digest] = good
        got = 'sha256:' + hashlib.sha256(good[:-4] + b'oops').hexdigest()
        assert [line.get('status') for line in lines[-2:]] == ['verifying sha256 digest', None]
        assert lines[-1] == {'error': 'digest mismatch, file must be downloaded again: want %s, got %s' % (
            digest, got)}
        assert not os.path.exists(blob(models_dir, digest)) and not os.path.exists(partial(models_dir, digest))
        assert tags(emu.url) == []
        assert pull(emu.url)[-1] == {'status': 'success'}
        assert last_pull(emu)['layers'][0] == {'digest': digest, 'offset': 0, 'bytes': len(good)}


# ---- SIGKILL of `ollama serve` in the middle of the second large layer -----------------------------

def serve_env(tmp_path, **extra):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('OLLAMA_'))
    env.update(OLLAMA_HOST='127.0.0.1:0', OLLAMA_MODELS=str(tmp_path / 'models'), HOME=str(tmp_path),
               OLLAMA_EMULATOR_LOG=str(tmp_path / 'requests.jsonl'))
    env.update(extra)
    return env


def logged_pulls(tmp_path):
    path = str(tmp_path / 'requests.jsonl')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [entry for entry in (json.loads(line) for line in f) if entry['path'] == '/api/pull']


@pytest.mark.parametrize('noprune', [True, False])
def test_sigkill_during_the_second_layer_then_a_new_server_finishes_the_pull(tmp_path, noprune):
    reg = reg_of(LLAVA)
    model, projector = reg.model_layer, reg.projector_layer
    models_dir = str(tmp_path / 'models')
    extra = {'OLLAMA_NOPRUNE': '1'} if noprune else {}
    serve = Serve(serve_env(tmp_path, OLLAMA_EMULATOR_THROUGHPUT='2M', **extra))
    try:
        serve.wait_listening()
        st = PullStream(serve.url, LLAVA)
        seen = 0
        while seen < projector['size'] // 4:
            line = st.next()
            assert line is not None and 'error' not in line, st.lines
            if line.get('digest') == projector['digest']:
                seen = line.get('completed', 0)
        serve.proc.kill()                                                          # a power cut
        assert serve.stop() == -9
        st.close()
    finally:
        serve.stop()
    # The first layer is a complete blob; the second a partial with at least what was reported.
    assert read(blob(models_dir, model['digest'])) == reg.blobs[model['digest']]
    cut = size(partial(models_dir, projector['digest']))
    assert seen <= cut < projector['size'], (seen, cut)
    assert reg.blobs[projector['digest']].startswith(read(partial(models_dir, projector['digest'])))
    assert not os.path.exists(blob(models_dir, projector['digest']))
    assert logged_pulls(tmp_path) == []                                   # the killed pull never got logged
    serve = Serve(serve_env(tmp_path, **extra))
    try:
        serve.wait_listening()
        assert tags(serve.url) == []                                      # a partial model is not listed
        status, body = api(serve.url, '/api/pull', {'model': LLAVA, 'stream': False})
        assert (status, body) == (200, {'status': 'success'})
        [entry] = tags(serve.url)
        assert (entry['name'], entry['digest']) == (LLAVA, reg.digest)
    finally:
        assert serve.stop() == 0
    [log] = logged_pulls(tmp_path)
    assert log['outcome'] == 'complete'
    resumed_at = cut if noprune else 0                                    # without OLLAMA_NOPRUNE the partial was pruned
    assert [(layer['digest'], layer['offset']) for layer in log['layers']] == [
        (layer['digest'], resumed_at if layer['digest'] == projector['digest'] else 0) for layer in reg.layers()[1:]]
    assert log['bytes'] == total_bytes(reg) - model['size'] - resumed_at   # the first layer was not sent again
    for layer in reg.layers():
        assert hashlib.sha256(read(blob(models_dir, layer['digest']))).hexdigest() == layer['digest'][7:]
    assert not [fn for fn in os.listdir(os.path.join(models_dir, 'blobs')) if fn.endswith('-partial')]
