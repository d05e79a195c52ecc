# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test support for ollama_fit: GGUF headers built byte by byte, a sparse file that counts what is read,
Ollama models directories written like a pull writes them, registry manifests, and a sysctl that
prints what `sysctl -n hw.memsize iogpu.wired_limit_mb` prints (macos-formats-provisioning.md 3).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct

GIB = 1 << 30
MEMSIZE_128 = 137438953472      # hw.memsize of a 128 GB Mac (reference 3.3)
MEMSIZE_64 = 68719476736
LLAMA33_SIZE = 42520413916      # /api/tags size of llama3.3:70b (reference ollama-role.md 5)

MT_MODEL = 'application/vnd.ollama.image.model'
MT_TEMPLATE = 'application/vnd.ollama.image.template'
MT_PARAMS = 'application/vnd.ollama.image.params'
MT_CONFIG = 'application/vnd.docker.container.image.v1+json'
MT_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'

# GGUF value types (ggml's gguf.h)
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_PACK = {U8: '<B', I8: '<b', U16: '<H', I16: '<h', U32: '<I', I32: '<i', F32: '<f', BOOL: '<?', U64: '<Q', I64: '<q',
         F64: '<d'}


def gguf_string(text):
    data = text.encode('utf-8')
    return struct.pack('<Q', len(data)) + data


def gguf_value(kind, value):
    """Encoded (type, value); value of an ARRAY is (inner type, list)."""
    if kind == STRING:
        return struct.pack('<I', STRING) + gguf_string(value)
    if kind == ARRAY:
        inner, items = value
        return struct.pack('<IIQ', ARRAY, inner, len(items)) + b''.join(gguf_value(inner, item)[4:] for item in items)
    return struct.pack('<I', kind) + struct.pack(_PACK[kind], value)


def gguf(entries, version=3, tensors=0):
    """A GGUF header: magic, version, tensor count, then (key, type, value) entries."""
    out = [b'GGUF', struct.pack('<IQQ', version, tensors, len(entries))]
    for key, kind, value in entries:
        out.append(gguf_string(key) + gguf_value(kind, value))
    return b''.join(out)


def llama_entries(arch='llama', layers=80, heads=64, kv_heads=8, embedding=8192, context=131072, key_length=None,
                  vocabulary=0):
    entries = [('general.architecture', STRING, arch), ('general.name', STRING, 'Test model'),
               ('general.parameter_count', U64, 70553706496),
               ('%s.context_length' % arch, U32, context), ('%s.embedding_length' % arch, U32, embedding),
               ('%s.block_count' % arch, U32, layers), ('%s.attention.head_count' % arch, U32, heads),
               ('%s.attention.head_count_kv' % arch, U32, kv_heads),
               ('%s.rope.freq_base' % arch, F32, 500000.0)]
    if key_length:
        entries.append(('%s.attention.key_length' % arch, U32, key_length))
    if vocabulary:
        entries.append(('tokenizer.ggml.tokens', ARRAY, (STRING, ['tok%d' % i for i in range(vocabulary)])))
        entries.append(('tokenizer.ggml.scores', ARRAY, (F32, [0.0] * vocabulary)))
    return entries


class SparseFile(io.RawIOBase):
    """A read-only file of `size` bytes that holds `pieces` ({offset: bytes}) and zeros elsewhere.

    Counts the bytes read, so a test can tell that a reader seeked past what it did not need.
    """

    def __init__(self, size, pieces):
        super().__init__()
        self.size = size
        self.pieces = sorted(pieces.items())
        self.pos = 0
        self.bytes_read = 0
        self.reads = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = base + offset
        return self.pos

    def tell(self):
        return self.pos

    def readinto(self, buffer):
        end = min(self.size, self.pos + len(buffer))
        count = max(0, end - self.pos)
        view = memoryview(buffer)
        view[:count] = bytes(count)
        for start, data in self.pieces:
            lo, hi = max(start, self.pos), min(start + len(data), end)
            if lo < hi:
                view[lo - self.pos:hi - self.pos] = data[lo - start:hi - start]
        self.bytes_read += count
        self.reads += 1
        self.pos += count
        return count


def huge_array_gguf(elements):
    """A GGUF whose header holds an f32 array of `elements` (gigabytes) before the architecture keys.

    Returns a SparseFile: the array is zeros nobody stores.
    """
    head = gguf([('general.architecture', STRING, 'llama')])
    head = head[:16] + struct.pack('<Q', 9) + head[24:]  # 9 entries in all: 1 above, the array, 7 after it
    array_key = gguf_string('tokenizer.ggml.scores') + struct.pack('<IIQ', ARRAY, F32, elements)
    after = b''.join(gguf_string(key) + gguf_value(kind, value) for key, kind, value in [
        ('llama.block_count', U32, 80), ('llama.attention.head_count', U32, 64),
        ('llama.attention.head_count_kv', U32, 8), ('llama.embedding_length', U32, 8192),
        ('llama.context_length', U32, 131072), ('general.file_type', U32, 15),
        ('tokenizer.ggml.model', STRING, 'gpt2')])
    start_after = len(head) + len(array_key) + elements * 4
    return SparseFile(start_after + len(after) + 1024, {0: head + array_key, start_after: after})


# ---- a models directory as Ollama writes it ------------------------------------------------------

def sha(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def write_blob(root, data):
    os.makedirs(os.path.join(root, 'blobs'), exist_ok=True)
    digest = sha(data)
    with open(os.path.join(root, 'blobs', digest.replace(':', '-')), 'wb') as handle:
        handle.write(data)
    return digest


def manifest_for(blobs):
    """A manifest for [(mediaType, bytes)] (the config last), as the registry serves it; and its layers."""
    layers = [{'mediaType': media, 'digest': sha(data), 'size': len(data)} for media, data in blobs[:-1]]
    media, data = blobs[-1]
    document = {'schemaVersion': 2, 'mediaType': MT_MANIFEST,
                'config': {'mediaType': media, 'digest': sha(data), 'size': len(data)}, 'layers': layers}
    return json.dumps(document, separators=(',', ':')).encode()


def model_blobs(model_bytes, params=None):
    blobs = [(MT_MODEL, model_bytes), (MT_TEMPLATE, b'{{ .Prompt }}')]
    if params is not None:
        blobs.append((MT_PARAMS, json.dumps(params).encode()))
    blobs.append((MT_CONFIG, json.dumps({'model_format': 'gguf', 'model_family': 'llama'}).encode()))
    return blobs


def install(root, name, blobs, write=True, skip_blobs=()):
    """Write a manifest (host/namespace/model/tag) and its blobs, except the media types in skip_blobs."""
    host, namespace, model, tag = name
    raw = manifest_for(blobs)
    path = os.path.join(root, 'manifests', host, namespace, model, tag)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(raw)
    if write:
        for media, data in blobs:
            if media not in skip_blobs:
                write_blob(root, data)
    return raw


def llama33_registry_manifest():
    """A registry manifest of llama3.3:70b whose layers add up to its /api/tags size."""
    sizes = [('application/vnd.ollama.image.model', 42520393696), (MT_TEMPLATE, 1426), ('application/vnd.ollama.image.license', 13832),
             (MT_PARAMS, 110)]
    layers = [{'mediaType': media, 'digest': 'sha256:%064x' % (index + 1), 'size': size}
              for index, (media, size) in enumerate(sizes)]
    config_size = LLAMA33_SIZE - sum(size for dummy, size in sizes)
    document = {'schemaVersion': 2, 'mediaType': MT_MANIFEST,
                'config': {'mediaType': MT_CONFIG, 'digest': 'sha256:%064x' % 99, 'size': config_size}, 'layers': layers}
    return json.dumps(document).encode()


class FakeSysctl:
    """/usr/sbin/sysctl for `-n hw.memsize iogpu.wired_limit_mb`: the values one a line, exit 0.

    Without the iogpu node (wired None) it prints hw.memsize and the unknown-oid error, exit 1.
    """

    path = '/usr/sbin/sysctl'

    def __init__(self, memsize=MEMSIZE_128, wired=0):
        self.memsize = memsize
        self.wired = wired
        self.calls = []

    def __call__(self, argv):
        argv = list(argv)
        self.calls.append(argv)
        assert argv == [self.path, '-n', 'hw.memsize', 'iogpu.wired_limit_mb'], argv
        if self.wired is None:
            return 1, '%d\n' % self.memsize, "sysctl: unknown oid 'iogpu.wired_limit_mb'\n"
        return 0, '%d\n%d\n' % (self.memsize, self.wired), ''


class StatvfsResult:
    def __init__(self, free):
        self.f_frsize = 4096
        self.f_bavail = free // 4096
