# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The memory-fit planner behind ollama_fit: do the models, their context and KV cache fit the Mac?

A loaded model is one llama-server runner holding its weights, its KV cache and a compute buffer,
all in the GPU's share of unified memory (Metal's recommendedMaxWorkingSetSize, which follows
iogpu.wired_limit_mb). The facts and their sources are in shared/reference/ollama-role.md
sections 3 and 4:

  KV cache   context x parallel x layers x kv_heads x head_dim x 2 (K and V) x bytes per element;
             llama-server gets -c num_ctx*num_parallel (llm/llama_server.go)
  compute    Ollama's own budget for the batch (server/sched.go), not a measured buffer
  GPU limit  iogpu.wired_limit_mb when non-zero, else macOS's default working set

What a plan reads costs: a model whose manifest and blobs are in the models directory costs no
request (its GGUF header on disk gives the architecture); a model to be downloaded costs one
registry manifest request; after the pull (phase loaded) one GET /api/tags plus one POST
/api/show per model. All I/O goes through what the caller passes in (file functions, the
transport, the client, a sysctl Command). Pure Python 3.9, no third-party imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import struct
from fractions import Fraction

from ansible_collections.llmhost.macos.plugins.module_utils.common import coerce_count, command_failed
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import DEFAULT_URL, Client
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import (
    OllamaError,
    parse_model_name,
    same_model,
)
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_values import parse_show_parameters

MIB = 1 << 20
GIB = 1 << 30

# Bytes per cached element. q8_0 stores blocks of 32 values as an fp16 scale + 32 int8 (34 bytes),
# q4_0 as an fp16 scale + 32 4-bit values (18 bytes): the block sizes of ollama-role.md 4.3.
KV_BYTES_PER_ELEMENT = {
    'f16': Fraction(2),
    'q8_0': Fraction(34, 32),
    'q4_0': Fraction(18, 32),
}
KV_CACHE_TYPES = ('f16', 'q8_0', 'q4_0')

# Ollama's budget for the compute graph at batch 2048 (server/sched.go, the surcharge it adds to
# its VRAM prediction). It is Ollama's constant, not a measured llama-server compute buffer: that
# buffer was not seen for a 70B model at 128k (ollama-role.md, gaps 3), and with flash attention
# off it can be far larger, since attention then materializes KQ.
COMPUTE_BYTES = 2 * GIB

# Ollama's default context when neither num_ctx nor OLLAMA_CONTEXT_LENGTH is set, from the GPU's
# total memory (server/routes.go), then capped at the model's trained context (llm/server.go).
AUTO_CONTEXT_TIERS = ((47 * GIB, 262144), (23 * GIB, 32768), (0, 4096))

# What a raised iogpu.wired_limit_mb must leave to macOS. The values people use on big Macs keep
# 6 GiB or more (ollama-role.md 4.2: 96 GB -> 92000 "leaving 6 for macOS"; "keep at least 6 GiB");
# a headless server also runs sshd, launchd jobs and the page cache, and overcommitting the wired
# working set has been seen to panic the machine (sglang#29949), so the planner keeps 8 GiB.
MACOS_RESERVE_BYTES = 8 * GIB

# Free space a download must leave in the models directory. A blob is written in place as
# <blob>-partial and renamed (security.md 4), so it needs no second copy, but the data volume is
# also where macOS keeps its swap files and APFS snapshots, and a pull that hits ENOSPC leaves
# Ollama failing later pulls with EOF until it is restarted (ollama#1731). 10 GiB keeps clear of
# that edge; it is small beside a 40 GiB model and the SSD of a Mac that runs one.
DISK_MARGIN_BYTES = 10 * GIB

# Models whose architecture is known before the download (ollama-role.md 4.3 and 5): layers,
# KV heads, head dimension, trained context, and the /api/tags size (all layers of the manifest).
_LLAMA33_70B = {'layers': 80, 'kv_heads': 8, 'head_dim': 128, 'context_length': 131072,
                'weights_bytes': 42520413916}
KNOWN_MODELS = {
    'llama3.3:70b': _LLAMA33_70B,
    'llama3.3:latest': _LLAMA33_70B,
}

MT_MODEL = 'application/vnd.ollama.image.model'
MT_PARAMS = 'application/vnd.ollama.image.params'

SYSCTL_ARGS = ('-n', 'hw.memsize', 'iogpu.wired_limit_mb')


def gib(value):
    """Bytes as the messages print them: GiB with two decimals."""
    return '%.2f GiB' % (value / GIB)


# ---- the arithmetic ------------------------------------------------------------------------------

def kv_bytes_per_element(kv_type):
    try:
        return KV_BYTES_PER_ELEMENT[kv_type]
    except KeyError:
        raise OllamaError('kv_cache_type: expects one of %s, got %r' % (', '.join(KV_CACHE_TYPES), kv_type))


def kv_type_problem(kv_type, flash_attention):
    """Why this KV cache type cannot run with this flash attention setting (None when it can).

    flash_attention None is Ollama's default (auto): a quantized cache then depends on llama-server
    turning flash attention on by itself, which kv_type_warning reports.
    """
    if kv_type != 'f16' and flash_attention is False:
        return ('kv_cache_type %s needs flash attention: llama.cpp refuses a quantized V cache with flash attention off '
                '("V cache quantization requires flash_attn"); set flash_attention: true (OLLAMA_FLASH_ATTENTION=1) '
                'or kv_cache_type: f16' % kv_type)
    return None


def kv_type_warning(kv_type, flash_attention):
    if kv_type != 'f16' and flash_attention is None:
        return ('kv_cache_type %s needs flash attention, and flash_attention is not set: Ollama then leaves it to '
                "llama-server's automatic choice; set flash_attention: true (OLLAMA_FLASH_ATTENTION=1) to be sure" % kv_type)
    if flash_attention is False:
        return ("flash attention is off: the compute buffer can then be far larger than Ollama's 2 GiB budget at long "
                'contexts (attention materializes KQ), so the plan may be optimistic')
    return None


def kv_cache_bytes(context, parallel, layers, kv_heads, head_dim, kv_type):
    """Bytes of the KV cache: context x parallel x layers x kv_heads x head_dim x 2 (K and V) x bytes/element."""
    elements = context * parallel * layers * kv_heads * head_dim * 2
    return int(math.ceil(elements * kv_bytes_per_element(kv_type)))


def stock_gpu_limit(memsize):
    """macOS's default recommendedMaxWorkingSetSize for hw.memsize bytes (iogpu.wired_limit_mb 0).

    Measured (ollama-role.md 4.2): 128 GiB -> 107.52 GiB (84 %, two machines, antirez/ds4#893,
    #890); 64 GiB -> 48 GiB (75 %, llama.cpp#1870); 32 GiB -> 21845 MiB and 16 GiB -> 10922 MiB
    (2/3, ollama#434, llama-cpp-python#687). For the sizes nobody measured this planner chooses a
    rule that errs low (an estimate too low only makes the plan cautious; too high could let Ollama
    overcommit): 2/3 below 64 GiB and 3/4 from 64 GiB up, the 84 % of 128 GiB applying to 128 GiB
    only. Ollama logs the real value at start (`inference compute ... total=`); gpu_limit_mb takes it.
    """
    if memsize == 128 * GIB:
        return memsize * 84 // 100
    if memsize >= 64 * GIB:
        return memsize * 3 // 4
    return memsize * 2 // 3


def gpu_limit(memsize, wired_limit_mb, override_mb=None):
    """(bytes, where they come from): an override in MiB, else iogpu.wired_limit_mb when non-zero, else the stock value."""
    if override_mb:
        return override_mb * MIB, 'gpu_limit_mb=%d' % override_mb
    if wired_limit_mb:
        return wired_limit_mb * MIB, 'iogpu.wired_limit_mb=%d' % wired_limit_mb
    return stock_gpu_limit(memsize), "macOS's default working set for %s of memory" % gib(memsize)


def auto_context(gpu_bytes):
    """Ollama's VRAM-based default context (before the cap at the trained context)."""
    for floor, context in AUTO_CONTEXT_TIERS:
        if gpu_bytes >= floor:
            return context
    return AUTO_CONTEXT_TIERS[-1][1]


def choose_context(num_ctx, model_num_ctx, server_context, gpu_bytes, trained):
    """(context, where it comes from, warning or None), as Ollama picks it.

    A num_ctx given for the model wins, then the one the model already has (its Modelfile), then
    the server's OLLAMA_CONTEXT_LENGTH, then the VRAM tier. Ollama uses the trained context when a
    larger one is asked for ("requested context size too large for model").
    """
    if num_ctx:
        context, source = num_ctx, 'num_ctx'
    elif model_num_ctx:
        context, source = model_num_ctx, 'model num_ctx'
    elif server_context:
        context, source = server_context, 'OLLAMA_CONTEXT_LENGTH'
    else:
        context, source = auto_context(gpu_bytes), 'Ollama default for %s of GPU memory' % gib(gpu_bytes)
    warning = None
    if trained and context > trained:
        if source.startswith('Ollama default'):
            source += ', capped at the trained context'
        else:
            warning = 'a context of %d tokens (%s) is more than the model was trained for: Ollama uses %d' % (
                context, source, trained)
        context = trained
    return context, source, warning


# ---- sysctl ----------------------------------------------------------------------------------------

def parse_memory_sysctl(rc, out, err):
    """(hw.memsize, iogpu.wired_limit_mb or None) from `sysctl -n hw.memsize iogpu.wired_limit_mb`; None if unreadable.

    -n prints each value alone on its line (macos-formats-provisioning.md 3.1). A Mac without the
    iogpu node (Intel) prints hw.memsize and `sysctl: unknown oid 'iogpu.wired_limit_mb'`, exit 1.
    """
    values = []
    for line in (out or '').splitlines():
        if line.strip():
            number = coerce_count(line.strip())
            if number is None:
                return None
            values.append(number)
    if not values or not values[0]:
        return None
    if rc == 0 and len(values) == 2:
        return values[0], values[1]
    if rc != 0 and len(values) == 1 and "unknown oid 'iogpu.wired_limit_mb'" in (err or ''):
        return values[0], None
    return None


def read_memory(sysctl):
    """(hw.memsize, iogpu.wired_limit_mb or None) through a common.Command for sysctl: one call."""
    argv, rc, out, err = sysctl.call(*SYSCTL_ARGS)
    parsed = parse_memory_sysctl(rc, out, err)
    if parsed is None:
        if rc == 0:
            raise OllamaError('%s printed %r, expected the memory size and iogpu.wired_limit_mb, one number a line'
                              % (' '.join(argv), out), cmd=list(argv), stdout=out)
        raise command_failed(argv, rc, out, err)
    return parsed


# ---- a model's architecture ------------------------------------------------------------------------

class Architecture(object):
    """What the KV cache depends on, and where it was read."""

    __slots__ = ('layers', 'kv_heads', 'head_dim', 'context_length', 'source')

    def __init__(self, layers, kv_heads, head_dim, context_length, source):
        self.layers = layers
        self.kv_heads = kv_heads
        self.head_dim = head_dim
        self.context_length = context_length
        self.source = source

    def kv_bytes(self, context, parallel, kv_type):
        return kv_cache_bytes(context, parallel, self.layers, self.kv_heads, self.head_dim, kv_type)

    def as_dict(self):
        head_dim = self.head_dim
        if isinstance(head_dim, Fraction):
            head_dim = int(head_dim) if head_dim.denominator == 1 else float(head_dim)
        return {'layers': self.layers, 'kv_heads': self.kv_heads, 'head_dim': head_dim,
                'context_length': self.context_length, 'source': self.source}


def _positive(value):
    """A positive int from an int or a list of them (per-layer values: the largest, which errs high)."""
    if isinstance(value, list):
        value = max([item for item in value if isinstance(item, int) and not isinstance(item, bool)] or [0])
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def architecture_from_model_info(info, source):
    """The Architecture in GGUF keys (/api/show model_info or a GGUF header), or None when incomplete.

    <arch>.block_count, <arch>.attention.head_count_kv (head_count when absent: no GQA),
    <arch>.attention.key_length (with value_length, when they differ, their mean) or
    embedding_length / head_count, and <arch>.context_length.
    """
    info = info or {}
    arch = info.get('general.architecture')
    if not isinstance(arch, str) or not arch:
        return None
    layers = _positive(info.get('%s.block_count' % arch))
    heads = _positive(info.get('%s.attention.head_count' % arch))
    kv_heads = _positive(info.get('%s.attention.head_count_kv' % arch)) or heads
    key_length = _positive(info.get('%s.attention.key_length' % arch))
    value_length = _positive(info.get('%s.attention.value_length' % arch))
    embedding = _positive(info.get('%s.embedding_length' % arch))
    if key_length:
        head_dim = Fraction(key_length + (value_length or key_length), 2)
    elif embedding and heads:
        head_dim = Fraction(embedding, heads)
    else:
        head_dim = None
    if not layers or not kv_heads or not head_dim:
        return None
    if head_dim.denominator == 1:
        head_dim = int(head_dim)
    return Architecture(layers, kv_heads, head_dim, _positive(info.get('%s.context_length' % arch)), source)


def known_model(name):
    """(Architecture, weights bytes) of a model in KNOWN_MODELS, or None."""
    for known, facts in KNOWN_MODELS.items():
        if same_model(known, name):
            arch = Architecture(facts['layers'], facts['kv_heads'], facts['head_dim'], facts['context_length'],
                                'known model %s' % known)
            return arch, facts['weights_bytes']
    return None


def explicit_architecture(spec, option):
    """An Architecture from the user's dict (layers, kv_heads, head_dim, context_length); OllamaError when bad."""
    if not spec:
        return None
    values = {}
    for key in ('layers', 'kv_heads', 'head_dim', 'context_length'):
        value = spec.get(key)
        number = coerce_count(value) if value is not None else None
        if value is not None and not number:
            raise OllamaError('%s.%s: expects a positive integer, got %r' % (option, key, value))
        if number is None and key != 'context_length':
            raise OllamaError('%s: needs layers, kv_heads and head_dim (context_length optional)' % option)
        values[key] = number
    return Architecture(values['layers'], values['kv_heads'], values['head_dim'], values['context_length'], 'explicit')


# ---- GGUF header -----------------------------------------------------------------------------------

_GGUF_SCALARS = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}
_GGUF_STRING = 8
_GGUF_ARRAY = 9
_GGUF_MAX_KEY = 65535            # the GGUF spec's limit on key length
_GGUF_MAX_STRING = 64 * 1024     # longer string values (chat templates) are skipped, not read
_GGUF_MAX_ARRAY = 4096           # numeric arrays up to this length (per-layer values) are read; others skipped
_GGUF_MAX_KV = 1 << 20


class _GGUFReader(object):
    def __init__(self, handle, name):
        self.handle = handle
        self.name = name

    def bad(self, why):
        return OllamaError('%s is not a readable GGUF file: %s' % (self.name, why))

    def take(self, size):
        data = self.handle.read(size)
        if len(data) != size:
            raise self.bad('it ends inside its metadata')
        return data

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def skip(self, size):
        self.handle.seek(size, os.SEEK_CUR)

    def string(self, limit):
        length = self.unpack('<Q')
        if length > limit:
            self.skip(length)
            return None
        return self.take(length).decode('utf-8', 'replace')

    def value(self, kind):
        if kind in _GGUF_SCALARS:
            return self.unpack(_GGUF_SCALARS[kind])
        if kind == _GGUF_STRING:
            return self.string(_GGUF_MAX_STRING)
        if kind == _GGUF_ARRAY:
            inner = self.unpack('<I')
            count = self.unpack('<Q')
            if inner in _GGUF_SCALARS and count <= _GGUF_MAX_ARRAY:
                return [self.unpack(_GGUF_SCALARS[inner]) for dummy in range(count)]
            self.skip_array(inner, count)
            return None
        raise self.bad('unknown value type %d' % kind)

    def skip_array(self, inner, count):
        """Past an array without reading it: one seek for fixed-size values, one per string otherwise."""
        if inner in _GGUF_SCALARS:
            self.skip(count * struct.calcsize(_GGUF_SCALARS[inner]))
        elif inner == _GGUF_STRING:
            for dummy in range(count):
                self.skip(self.unpack('<Q'))
        elif inner == _GGUF_ARRAY:
            for dummy in range(count):
                nested = self.unpack('<I')
                self.skip_array(nested, self.unpack('<Q'))
        else:
            raise self.bad('unknown array type %d' % inner)


def read_gguf_metadata(handle, name='the model blob'):
    """The key/values of a GGUF (v2, v3) header from a binary file object, without its tensors.

    Reads only the metadata at the start of the file: arrays longer than a few thousand entries
    (the tokenizer's vocabulary, merges) and long strings are seeked past, so a 40 GiB blob costs a
    few hundred KiB of reads. Skipped values are None. OllamaError when the file is no GGUF.
    """
    reader = _GGUFReader(handle, name)
    if reader.take(4) != b'GGUF':
        raise reader.bad('no GGUF magic')
    version = reader.unpack('<I')
    if version not in (2, 3):
        raise reader.bad('unsupported version %d (little-endian GGUF 2 or 3 expected)' % version)
    reader.unpack('<Q')  # tensor count
    count = reader.unpack('<Q')
    if count > _GGUF_MAX_KV:
        raise reader.bad('%d metadata entries' % count)
    metadata = {}
    for dummy in range(count):
        key = reader.string(_GGUF_MAX_KEY)
        if key is None:
            raise reader.bad('a key longer than %d bytes' % _GGUF_MAX_KEY)
        metadata[key] = reader.value(reader.unpack('<I'))
    return metadata


# ---- manifests, the models directory, the registry -------------------------------------------------

def parse_manifest(raw, what):
    """Layers (config included) of a manifest: [{'digest', 'size', 'mediaType'}]; OllamaError when unreadable."""
    try:
        document = json.loads(raw.decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        document = None
    layers = []
    if isinstance(document, dict) and isinstance(document.get('layers'), list):
        for layer in document['layers'] + ([document['config']] if isinstance(document.get('config'), dict) else []):
            if not isinstance(layer, dict) or not str(layer.get('digest', '')).startswith('sha256:') \
                    or coerce_count(layer.get('size')) is None:
                layers = []
                break
            layers.append({'digest': layer['digest'], 'size': int(layer['size']), 'mediaType': layer.get('mediaType')})
    if not layers:
        raise OllamaError('%s is not a model manifest' % what)
    return layers


class ModelsDir(object):
    """Ollama's models directory (OLLAMA_MODELS): manifests/<host>/<namespace>/<model>/<tag>, blobs/sha256-<hex>.

    The file functions are passed in (open, os.stat, os.statvfs in the module; fakes in tests).
    """

    def __init__(self, root, open_file, stat, statvfs):
        self.root = root
        self.open_file = open_file
        self.stat = stat
        self.statvfs = statvfs

    def manifest_path(self, name):
        return os.path.join(self.root, 'manifests', name.host, name.namespace, name.model, name.tag)

    def blob_path(self, digest):
        return os.path.join(self.root, 'blobs', digest.replace(':', '-'))

    def manifest(self, name):
        """The layers of a model's local manifest, or None when there is none."""
        path = self.manifest_path(name)
        try:
            with self.open_file(path, 'rb') as handle:
                raw = handle.read()
        except (IOError, OSError):
            return None
        return parse_manifest(raw, path)

    def has_blob(self, digest):
        try:
            self.stat(self.blob_path(digest))
        except (IOError, OSError):
            return False
        return True

    def open_blob(self, digest):
        return self.open_file(self.blob_path(digest), 'rb')

    def free_bytes(self):
        """Free bytes for an unprivileged writer where the models are (or will be: the nearest existing parent)."""
        path = os.path.abspath(self.root)
        while True:
            try:
                found = self.statvfs(path)
                return found.f_bavail * found.f_frsize
            except (IOError, OSError):
                parent = os.path.dirname(path)
                if parent == path:
                    raise OllamaError('models_dir: cannot read the free space of %s or of any parent' % self.root)
                path = parent


def registry_fetcher(transport, registry_url=None, insecure=False, timeout=30):
    """fetch(ModelName) -> manifest layers from the registry (one GET), through an ollama_client transport."""
    client = Client(DEFAULT_URL, transport, timeout=timeout)

    def fetch(name):
        raw = client.registry_manifest(name, registry_url, insecure)
        return parse_manifest(raw, 'The registry manifest of %s' % name.display)

    return fetch


# ---- options ---------------------------------------------------------------------------------------

class Wanted(object):
    """One entry of the models option, checked."""

    __slots__ = ('name', 'base', 'num_ctx', 'preload', 'architecture')

    def __init__(self, name, base, num_ctx, preload, architecture):
        self.name = name
        self.base = base
        self.num_ctx = num_ctx
        self.preload = preload
        self.architecture = architecture


def validate_fit_params(params):
    """Everything checked before sysctl, the disk or the network is read: (settings, [Wanted])."""
    kv_type = params.get('kv_cache_type') or 'f16'
    kv_bytes_per_element(kv_type)
    for option, minimum in (('num_parallel', 1), ('context_length', 0)):
        if params.get(option) is not None and params[option] < minimum:
            raise OllamaError('%s: expects %d or more, got %r' % (option, minimum, params[option]))
    if params.get('gpu_limit_mb') is not None and params['gpu_limit_mb'] <= 0:
        raise OllamaError('gpu_limit_mb: expects a positive number of MiB, got %r' % params['gpu_limit_mb'])
    problem = kv_type_problem(kv_type, params.get('flash_attention'))
    if problem:
        raise OllamaError(problem)
    if params.get('phase', 'plan') == 'plan' and not params.get('models_dir'):
        raise OllamaError('models_dir: phase plan reads the models directory (OLLAMA_MODELS) to know what is on disk')
    wanted = []
    seen = set()
    for index, entry in enumerate(params.get('models') or []):
        option = 'models[%d]' % index
        if (entry.get('state') or 'present') == 'absent':
            continue
        name = parse_model_name(entry.get('name'), option='%s.name' % option)
        if name in seen:
            raise OllamaError('%s: %s is listed twice' % (option, name.display))
        seen.add(name)
        base = parse_model_name(entry['from'], option='%s.from' % option) if entry.get('from') else None
        parameters = entry.get('parameters') or {}
        num_ctx = None
        if parameters.get('num_ctx') is not None:
            num_ctx = coerce_count(parameters['num_ctx'])
            if not num_ctx:
                raise OllamaError('%s.parameters.num_ctx: expects a positive number of tokens, got %r'
                                  % (option, parameters['num_ctx']))
        arch = explicit_architecture(entry.get('architecture'), '%s.architecture' % option)
        wanted.append(Wanted(name, base, num_ctx, bool(entry.get('preload')), arch))
    settings = {
        'kv_cache_type': kv_type,
        'flash_attention': params.get('flash_attention'),
        'num_parallel': params.get('num_parallel') or 1,
        'context_length': params.get('context_length') or 0,
        'gpu_limit_mb': params.get('gpu_limit_mb'),
        'phase': params.get('phase') or 'plan',
    }
    return settings, wanted


# ---- what each model needs to know -----------------------------------------------------------------

class Facts(object):
    """What was read about one model: weights, the layers still to download, its architecture."""

    def __init__(self, wanted):
        self.wanted = wanted
        self.weights = None
        self.weights_source = None
        self.missing = {}          # digest -> size, layers not in the models directory
        self.architecture = None
        self.model_num_ctx = None
        self.notes = []


def _num_ctx_of(params_blob):
    try:
        document = json.loads(params_blob.decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        return None
    return coerce_count(document.get('num_ctx')) if isinstance(document, dict) else None


def _fill_from_known(facts, weights_too):
    known = known_model(facts.wanted.base or facts.wanted.name)
    if known and facts.architecture is None:
        facts.architecture = known[0]
    if known and weights_too and facts.weights is None:
        facts.weights, facts.weights_source = known[1], facts.architecture.source


class DiskFacts(object):
    """Phase plan: read each model from the models directory, and from the registry only when not there."""

    def __init__(self, store, fetch_registry):
        self.store = store
        self.fetch_registry = fetch_registry
        self._gguf = {}
        self._registry = {}

    def _from_gguf(self, digest, facts):
        if digest not in self._gguf:
            try:
                handle = self.store.open_blob(digest)
                try:
                    metadata = read_gguf_metadata(handle, self.store.blob_path(digest))
                finally:
                    handle.close()
                self._gguf[digest] = architecture_from_model_info(metadata, 'GGUF header on disk')
            except (IOError, OSError) as exc:
                facts.notes.append('cannot read %s: %s' % (self.store.blob_path(digest), exc))
                self._gguf[digest] = None
            except OllamaError as exc:
                facts.notes.append(exc.msg)
                self._gguf[digest] = None
        return self._gguf[digest]

    def _read_params(self, digest):
        try:
            with self.store.open_blob(digest) as handle:
                return _num_ctx_of(handle.read(1 << 20))
        except (IOError, OSError):
            return None

    def _local(self, name, facts):
        """The local manifest's layers; a broken one counts as none (the pull replaces it, as Ollama does)."""
        try:
            return self.store.manifest(name)
        except OllamaError as exc:
            facts.notes.append('%s: planned as not on disk' % exc.msg)
            return None

    def facts(self, wanted):
        facts = Facts(wanted)
        layers = self._local(wanted.name, facts)
        if layers is None and wanted.base is not None:
            layers = self._local(wanted.base, facts)
        if layers is not None:
            facts.weights_source = 'manifest on disk'
        else:
            source = wanted.base or wanted.name
            if source not in self._registry:
                self._registry[source] = self.fetch_registry(source)
            layers = self._registry[source]
            facts.weights_source = 'registry manifest'
        facts.weights = sum(layer['size'] for layer in layers)
        for layer in layers:
            present = self.store.has_blob(layer['digest'])
            if not present:
                facts.missing[layer['digest']] = layer['size']
            elif layer['mediaType'] == MT_MODEL and facts.architecture is None:
                facts.architecture = self._from_gguf(layer['digest'], facts)
            elif layer['mediaType'] == MT_PARAMS:
                facts.model_num_ctx = self._read_params(layer['digest'])
        if facts.architecture is None:
            facts.architecture = wanted.architecture
        _fill_from_known(facts, weights_too=False)
        return facts


class ServerFacts(object):
    """Phase loaded: the server's own view, GET /api/tags once and POST /api/show per model."""

    def __init__(self, client):
        self.client = client
        self._tags = None

    def facts(self, wanted):
        facts = Facts(wanted)
        if self._tags is None:
            self._tags = self.client.tags()
        entry = None
        for listed in self._tags:
            if same_model(listed.get('name') or listed.get('model') or '', wanted.name):
                entry = listed
        if entry is None:
            raise OllamaError('%s is not on the Ollama server at %s: phase loaded checks models after the pull '
                              '(use phase plan before it)' % (wanted.name.display, self.client.url))
        show = self.client.show(wanted.name.display)
        if show is None:
            raise OllamaError('%s is listed by %s/api/tags but POST /api/show answered 404'
                              % (wanted.name.display, self.client.url))
        facts.weights = coerce_count(entry.get('size'))
        facts.weights_source = 'GET /api/tags'
        facts.architecture = architecture_from_model_info(show.get('model_info'), 'POST /api/show')
        facts.model_num_ctx = coerce_count(parse_show_parameters(show.get('parameters')).get('num_ctx'))
        if facts.architecture is None:
            facts.architecture = wanted.architecture
        _fill_from_known(facts, weights_too=True)
        if facts.weights is None:
            raise OllamaError('%s/api/tags lists %s without its size' % (self.client.url, wanted.name.display))
        return facts


# ---- the plan --------------------------------------------------------------------------------------

class Budget(object):
    """The machine: memory, the GPU limit and its source, free disk space."""

    def __init__(self, memsize, gpu_bytes, gpu_source, disk_free=None, models_dir=None):
        self.memsize = memsize
        self.gpu_bytes = gpu_bytes
        self.gpu_source = gpu_source
        self.disk_free = disk_free
        self.models_dir = models_dir

    def limit_text(self):
        return 'the GPU limit of %s (%s)' % (gib(self.gpu_bytes), self.gpu_source)

    def wired_limit_remedy(self, needed):
        """How raising iogpu.wired_limit_mb would fit `needed` bytes, or that no value can on this Mac."""
        value_mb = int(math.ceil(needed / GIB)) * 1024
        left = self.memsize - value_mb * MIB
        if left >= MACOS_RESERVE_BYTES:
            return 'raising iogpu.wired_limit_mb to %d (leaves %s of %s to macOS)' % (value_mb, gib(left), gib(self.memsize))
        return None

    def cannot_fit_text(self, needed):
        if needed >= self.memsize:
            return 'no iogpu.wired_limit_mb can make %s fit on this Mac: it has %s of memory in all' % (
                gib(needed), gib(self.memsize))
        return ('no iogpu.wired_limit_mb can make %s fit on this Mac: it would leave %s of %s to macOS, less than the %s '
                'it needs' % (gib(needed), gib(self.memsize - needed), gib(self.memsize), gib(MACOS_RESERVE_BYTES)))


def _model_remedies(weights, arch, context, settings, budget):
    """What else would make one model fit: a smaller KV type, fewer slots, a shorter context."""
    kv_type, parallel = settings['kv_cache_type'], settings['num_parallel']
    remedies = []
    for other in KV_CACHE_TYPES:
        if KV_BYTES_PER_ELEMENT[other] < KV_BYTES_PER_ELEMENT[kv_type]:
            total = weights + arch.kv_bytes(context, parallel, other) + COMPUTE_BYTES
            if total <= budget.gpu_bytes:
                remedies.append('kv_cache_type %s (%s%s)' % (
                    other, gib(total), '' if settings['flash_attention'] else ', with flash attention on'))
    for slots in range(parallel - 1, 0, -1):
        total = weights + arch.kv_bytes(context, slots, kv_type) + COMPUTE_BYTES
        if total <= budget.gpu_bytes:
            remedies.append('num_parallel %d (%s)' % (slots, gib(total)))
            break
    room = budget.gpu_bytes - weights - COMPUTE_BYTES
    per_token = arch.kv_bytes(1, parallel, kv_type)
    if room > 0:
        shorter = room // per_token // 1024 * 1024
        if 1024 <= shorter < context:
            remedies.append('a context of %d tokens (%s)' % (
                shorter, gib(weights + arch.kv_bytes(shorter, parallel, kv_type) + COMPUTE_BYTES)))
    return remedies


def _join_or(items):
    if len(items) <= 1:
        return ''.join(items)
    return '%s or %s' % (', '.join(items[:-1]), items[-1])


def _plan_model(facts, settings, budget, problems, warnings):
    wanted, arch = facts.wanted, facts.architecture
    parallel, kv_type = settings['num_parallel'], settings['kv_cache_type']
    context, context_source, warning = choose_context(wanted.num_ctx, facts.model_num_ctx, settings['context_length'],
                                                      budget.gpu_bytes, arch.context_length if arch else None)
    if warning:
        warnings.append('%s: %s' % (wanted.name.display, warning))
    for note in facts.notes:
        warnings.append('%s: %s' % (wanted.name.display, note))
    kv = arch.kv_bytes(context, parallel, kv_type) if arch else None
    floor = facts.weights + COMPUTE_BYTES
    total = floor + kv if kv is not None else None
    fits = (total <= budget.gpu_bytes) if total is not None else (False if floor > budget.gpu_bytes else None)
    row = {
        'name': wanted.name.display,
        'from': wanted.base.display if wanted.base else None,
        'preload': wanted.preload,
        'context': context,
        'context_source': context_source,
        'num_parallel': parallel,
        'kv_cache_type': kv_type,
        'weights_bytes': facts.weights,
        'weights_source': facts.weights_source,
        'kv_cache_bytes': kv,
        'compute_bytes': COMPUTE_BYTES,
        'total_bytes': total,
        'fits': fits,
        'missing_bytes': sum(facts.missing.values()),
        'architecture': arch.as_dict() if arch else None,
    }
    download = ('; %s to download' % gib(row['missing_bytes'])) if row['missing_bytes'] else ''
    if kv is not None:
        parts = '%s weights + %s KV cache (%s, %d tokens x %d slot%s) + %s compute' % (
            gib(facts.weights), gib(kv), kv_type, context, parallel, '' if parallel == 1 else 's', gib(COMPUTE_BYTES))
    else:
        parts = '%s weights + %s compute + a KV cache not known yet' % (gib(facts.weights), gib(COMPUTE_BYTES))
    needed = total if total is not None else floor
    if fits:
        line = '%s: fits: %s = %s of %s%s' % (wanted.name.display, parts, gib(total), gib(budget.gpu_bytes), download)
    elif fits is None:
        line = ('%s: %s = %s and more (the architecture is not known before the download: the KV cache for %d tokens '
                'x %d is checked after the pull, with phase loaded)%s' % (
                    wanted.name.display, parts, gib(floor), context, parallel, download))
        warnings.append('%s: the KV cache is not known before the download and is checked after the pull'
                        % wanted.name.display)
    else:
        line = '%s: does NOT fit: %s = %s%s, more than %s%s' % (
            wanted.name.display, parts, gib(needed), '' if total is not None else ' at least', gib(budget.gpu_bytes),
            download)
        remedies = _model_remedies(facts.weights, arch, context, settings, budget) if arch else []
        raised = budget.wired_limit_remedy(needed)
        if raised:
            remedies.append(raised)
        text = '%s needs %s%s: %s, more than %s' % (
            wanted.name.display, '' if total is not None else 'at least ', gib(needed), parts, budget.limit_text())
        if remedies:
            text += ': it would fit with %s' % _join_or(remedies)
        if not raised:
            text += '%s%s' % ('; ' if remedies else ': ', budget.cannot_fit_text(needed))
        problems.append(text + '.')
    return row, line


def evaluate(facts_list, settings, budget):
    """The plan from what was read: (result dict, problems). Pure."""
    problems, warnings, rows, lines = [], [], [], []
    warning = kv_type_warning(settings['kv_cache_type'], settings['flash_attention'])
    if warning:
        warnings.append(warning)
    for facts in facts_list:
        row, line = _plan_model(facts, settings, budget, problems, warnings)
        rows.append(row)
        lines.append(line)

    preloaded = [row for row in rows if row['preload']]
    if len(preloaded) > 1:
        known = [row for row in preloaded if row['total_bytes'] is not None]
        together = sum(row['total_bytes'] for row in known)
        unknown = [row['name'] for row in preloaded if row['total_bytes'] is None]
        summary = ' + '.join('%s %s' % (row['name'], gib(row['total_bytes'])) for row in known)
        if together > budget.gpu_bytes:
            raised = budget.wired_limit_remedy(together)
            text = ('The preloaded models together need %s (%s; each loaded model is its own runner with its own '
                    'weights), more than %s: preload fewer of them' % (gib(together), summary, budget.limit_text()))
            text += (' or fit them by %s' % raised) if raised else ('; %s' % budget.cannot_fit_text(together))
            problems.append(text + '.')
        lines.append('preloaded together: %s = %s of %s%s' % (
            summary or 'nothing known', gib(together), gib(budget.gpu_bytes),
            (' (not counted, checked after the pull: %s)' % ', '.join(unknown)) if unknown else ''))

    missing = {}
    for facts in facts_list:
        missing.update(facts.missing)
    needed = sum(missing.values())
    if budget.disk_free is not None:
        lines.append('disk: %s to download, %s free in %s (%s margin kept)' % (
            gib(needed), gib(budget.disk_free), budget.models_dir, gib(DISK_MARGIN_BYTES)))
        if needed and needed + DISK_MARGIN_BYTES > budget.disk_free:
            problems.append('The models need %s more on disk, plus a margin of %s, but %s has %s free: free %s more.' % (
                gib(needed), gib(DISK_MARGIN_BYTES), budget.models_dir, gib(budget.disk_free),
                gib(needed + DISK_MARGIN_BYTES - budget.disk_free)))

    result = {
        'changed': False,
        'plan': rows,
        'gpu_limit_bytes': budget.gpu_bytes,
        'gpu_limit_source': budget.gpu_source,
        'memory_bytes': budget.memsize,
        'disk_free_bytes': budget.disk_free,
        'download_bytes': needed,
        'msg': '\n'.join(lines) if lines else 'no models to plan',
        'warnings': warnings,
    }
    return result, problems


def check_fit(params, sysctl, store=None, fetch_registry=None, client=None):
    """ollama_fit: validate, read the Mac's memory (one sysctl), read each model, plan.

    store: a ModelsDir (phase plan; optional in phase loaded, for the free space); fetch_registry:
    registry_fetcher(...) (phase plan); client: an ollama_client.Client (phase loaded). Returns the
    module result; raises OllamaError with the plan in its details when something does not fit.
    """
    settings, wanted = validate_fit_params(params)
    memsize, wired_mb = read_memory(sysctl)
    gpu_bytes, gpu_source = gpu_limit(memsize, wired_mb, settings['gpu_limit_mb'])
    if settings['phase'] == 'plan':
        reader = DiskFacts(store, fetch_registry)
    else:
        reader = ServerFacts(client)
    facts_list = [reader.facts(item) for item in wanted]
    disk_free = store.free_bytes() if store is not None else None
    budget = Budget(memsize, gpu_bytes, gpu_source, disk_free, store.root if store is not None else None)
    result, problems = evaluate(facts_list, settings, budget)
    if problems:
        details = dict(result)
        details.pop('changed')
        details['summary'] = details.pop('msg')
        details['problems'] = problems
        error = OllamaError(' '.join(problems))
        error.details.update(details)
        raise error
    return result
