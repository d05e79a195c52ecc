"""An emulator of the Ollama HTTP API with fault injection (test support for llmhost.macos).

Test fixture code for the simulated Mac (tests/macsim) and for in-process pytest tests; never
shipped in the collection. Python standard library only, Python 3.9 syntax. The formats, status
codes and error texts follow shared/reference/macos-formats.md section 5 and the download
behaviour shared/reference/security.md section 4. Behaviour that the reference leaves open is
marked INVENTED below; modules must not depend on it.

What it emulates
----------------
  GET|HEAD /                "Ollama is running"
  GET|HEAD /api/version     {"version": VERSION}
  GET|HEAD /api/tags        local models, newest first
  POST /api/show            modelfile, parameters, template, system, license, details,
                            model_info (read from the model blob's GGUF header), capabilities,
                            modified_at
  POST /api/pull            NDJSON progress (or one object with "stream": false), resumable
  POST /api/create          derived models: "from" + "parameters"/"system"/"template"/"license"
  POST /api/copy            200, empty body
  DELETE /api/delete        200, empty body; unreferenced blobs are removed
  GET /api/ps               loaded models with expires_at, size (weights + KV + compute),
                            size_vram (= size on Metal, 0 on the CPU), context_length
  POST /api/generate        canned, deterministic answer; an empty prompt loads or (keep_alive
  POST /api/chat            0) unloads the model; no messages does the same for chat; a load
                            follows the GPU memory budget below (500 when it does not fit);
                            generation at a configurable speed, cancelled by a client that goes
                            away (see "Generation speed and cancellation")
  GET /v1/models, GET /v1/models/NAME, POST /v1/chat/completions   (OpenAI shapes)
  GET|HEAD /v2/<namespace>/<model>/manifests/<tag>   the *registry's* manifest of the current
                            revision, byte-identical to what a pull writes locally

Storage is the real layout: $OLLAMA_MODELS (default ~/.ollama/models) holds
manifests/<host>/<namespace>/<model>/<tag> and blobs/sha256-<hex>, so installed models survive a
restart of the emulator. Loaded models live in memory only.

Partial downloads are on disk, as in Ollama (security.md 4): a blob being pulled is
blobs/sha256-<hex>-partial, holding the bytes received so far (INVENTED: one part, no -partial-N
state files; Ollama sizes the file to the whole blob and records each part's progress). Each step
(at most one progress interval, 60 ms of bytes) is written and flushed before its progress line
is sent, so a SIGKILL loses nothing that was reported. A complete partial is renamed to the blob;
after all layers, "verifying sha256 digest" hashes every blob this pull downloaded and removes
one whose sha256 is not its name. Only then is the manifest written, so /api/tags never lists a
model with partial or missing layers. A pull resumes a blob from its partial's size (the request
log's "bytes" counts only what it sent); a partial that is longer than the blob or not its prefix
is removed and the blob started again (INVENTED: Ollama would find out at the digest check).
At start, unless OLLAMA_NOPRUNE / noprune, the server prunes as Ollama's PruneLayers does
(security.md 4): every file in blobs/ not named like a blob (partials, -partial-N, leftovers) and
every unreferenced blob older than an hour (layerPruneGracePeriod) is removed. So across a restart:
  - completed blobs of an interrupted pull stay (unreferenced but young) and are not sent again;
  - the blob that was being downloaded resumes from its partial with OLLAMA_NOPRUNE=1, and starts
    from zero without it (security.md 4: a maintainer in #12507, interrupted pulls resume only if
    the server was not restarted, and OLLAMA_NOPRUNE=1 keeps the chunks across restarts).

The registry is catalog.json (next to this file): models with revisions. Blob bytes are made
deterministically from (model, revision), so digests are real sha256 of real bytes and stable
across runs. The current revision of a model can be changed at run time. llava-lite:7b (INVENTED)
has two large layers, a 1 MiB model blob and a 1.25 MiB projector (application/vnd.ollama.image.
projector): /api/show then has capabilities [completion, vision], projector_info (the projector's
GGUF header) and a second FROM line, details.families [llama, clip] (as Ollama shows llava; not in
the reference: INVENTED).

Python API (in-process tests)
-----------------------------
  server = start(host='127.0.0.1', port=0, models_dir=None, throughput=None, keep_alive=None,
                 catalog=None, faults_file=None, log_file=None, registry_file=None,
                 noprune=False, context_length=None, verbose=False, gpu='metal', gpu_total=None,
                 system_memory=None, chip=None, flash_attention=None, kv_cache_type=None,
                 num_parallel=None, max_loaded_models=None, no_cloud=False, load_rate=None,
                 eval_rate=None, prompt_rate=None)
      models_dir None: ~/.ollama/models. throughput: bytes/second (None: DEFAULT_THROUGHPUT).
      keep_alive: server default like OLLAMA_KEEP_ALIVE ("5m", seconds, negative = forever).
      context_length: OLLAMA_CONTEXT_LENGTH (None/0: automatic). gpu: 'metal' or 'none' (Metal
      not reachable: the CPU). gpu_total: bytes (None: the stock limit of system_memory).
      system_memory: hw.memsize (None: 128 GiB). chip: the inference compute description
      (None: "Apple M4 Max"). flash_attention: None (auto), True, False. kv_cache_type: 'f16'
      (None), 'q8_0', 'q4_0'. num_parallel: OLLAMA_NUM_PARALLEL (None: 1).
      max_loaded_models: OLLAMA_MAX_LOADED_MODELS (None/0: 3). no_cloud: OLLAMA_NO_CLOUD.
      load_rate: bytes/second a model loads at (None: DEFAULT_LOAD_RATE). Sizes take K/M/G/T.
      eval_rate, prompt_rate: tokens/second generated / prompt tokens/second evaluated (float;
      None/0: instant, the default). See "Generation speed and cancellation".
      start() never reads the environment and never runs sysctl; `ollama serve` does (below).
  server.url                       'http://127.0.0.1:PORT'
  server.host, server.port, server.models_dir, server.emulator
  server.startup_log(host_url=None)   the startup lines `ollama serve` writes (list of str)
  server.requests                  copy of the request log (list of dicts, see below)
  server.clear_requests()
  server.add_fault(**rule)         returns the stored rule; rules are described below
  server.set_faults(rules)         replace all in-memory rules
  server.clear_faults()
  server.faults                    in-memory rules, "times" = remaining (0 = unlimited)
  server.set_registry_revision(name, revision)   returns the new manifest digest (hex)
  server.registry_revision(name)   current revision (int)
  server.registry_digest(name, revision=None)    manifest digest (hex) of the registry
  server.set_throughput(bytes_per_second)
  server.set_rates(eval_rate=None, prompt_rate=None)   None keeps a rate; returns server.rates
  server.rates                     {"eval_rate": float, "prompt_rate": float}
  server.install(name, revision=None)   put a registry model in place without a request
                                   (as a completed pull would); returns its digest (hex)
  start() prunes blobs/ unless noprune (see "Partial downloads" above), after binding the port.
  server.loaded()                  the /api/ps list
  server.stop()                    also usable as a context manager: `with start(...) as s:`

Control endpoints (never logged, never subject to faults)
--------------------------------------------------------
  GET    /_emulator/requests       the request log        DELETE: clear it (memory only)
  GET    /_emulator/faults         in-memory rules        PUT: replace with a list of rules
  POST   /_emulator/faults         append a rule (or a list)          DELETE: clear
  GET    /_emulator/registry       {name: {"revision", "revisions", "digest"}}
  PUT    /_emulator/registry       {"model": "tinyllama:latest", "revision": 2}
  GET|PUT /_emulator/throughput    {"bytes_per_second": N}
  GET|PUT /_emulator/rates         {"eval_rate": N, "prompt_rate": M} (tokens/s; PUT either or both,
                                   for requests that start after it; answers the rates now in force)
  POST   /_emulator/install        {"model": "tinyllama:latest", "revision": 1 (optional)}

Fault rules
-----------
  {"path": "/api/pull", "model": "tinyllama", "method": "POST", "fault": "drop", "at": 0.5,
   "times": 1}
  path: exact request path, "prefix*", or absent/"*" for every path. model: optional, compared
  as a parsed name ("tinyllama" matches "tinyllama:latest"), against the request's model/name
  (also "from" for create, "source"/"destination" for copy, the path for /v2). method: optional.
  times: how many matching requests the rule applies to (default 1; 0 = every time). Every
  matching rule applies to the request and is counted down when it matches.
  Faults:
    drop            pulls: once `at` (fraction 0..1, default 0.5) of the model layer has been
                    transferred, the progress line for that point is sent and the TCP connection
                    is closed (no final line, no chunked terminator). The bytes so far stay in
                    the -partial file: a retry resumes there. Other paths: the connection is
                    closed before any response.
    digest_mismatch pulls: the model layer is downloaded, then "verifying sha256 digest" and
                    {"error": "digest mismatch, file must be downloaded again: want sha256:X,
                    got sha256:Y"} (HTTP 200 when streaming). The blob and its partial are
                    discarded, nothing is registered. Only when this request downloads the
                    model layer (a blob already present is not verified, as in Ollama).
    disk_full       pulls: at `at`: {"error": "write <models>/blobs/sha256-<hex>-partial: no
                    space left on device"}; the -partial file (exactly `at` of the layer) is
                    kept, nothing is registered.
    stall           pulls: at `at` the progress stops (the same `completed` is re-sent every
                    60 ms) for `seconds` (default: until the client disconnects), then goes on.
    slow_start      any path: wait `seconds` (default 1) before the response status line.
    status          any path: answer HTTP `status` (default 500) with {"error": `error`}.
    unknown_model   pulls, create's implicit pull, /v2 manifests: the registry does not know
                    the model (pull: 200, "pulling manifest", then the "file does not exist"
                    error).
  Transfer faults (drop, disk_full, stall) and digest_mismatch act on the model layer, or with
  "layer": "projector" (INVENTED key) on a vision model's projector layer, and only while this
  request downloads it (a rule matching a pull whose layer is already present, or a model without
  that layer, is used up without effect). Pulls made by /api/create (a base that is not local) are pulls too.
  Rules also come from the JSON file named by OLLAMA_EMULATOR_FAULTS / faults_file (a list of
  rules, or {"faults": [...]}), re-read on every request; use counts of file rules are kept in
  memory keyed by the rule's index and content (editing a rule resets its count).

Request log
-----------
  One dict per non-control request: {"ts" (epoch seconds, float), "method", "path", "body"
  (parsed JSON or null), "status" (HTTP status, null if none was sent), "outcome" ("complete",
  "dropped", "error" (HTTP >= 400 or an error object in a stream), "client_gone"), "bytes"
  (layer bytes transferred by a pull: a resumed blob counts only the rest, a present or followed
  one nothing), "layers" (the blobs this request transferred, in pull order: {"digest", "offset"
  (where it resumed, 0 = from the start), "bytes"}; [] for other requests), "tokens" (inference
  requests, i.e. /api/generate, /api/chat, /v1/chat/completions: the answer tokens generated
  before the request ended, streaming: each one written to the socket before it is counted, so a
  client_gone entry says how far it got, 0 if it went away during the prompt evaluation; null for
  other requests; INVENTED field), "faults" (names of the faults applied), "duration"}. Kept in
  memory and appended (JSON lines) to OLLAMA_EMULATOR_LOG / log_file if set. An entry is written
  just before the response's last bytes, so a server killed during a pull never logs that pull
  (its bytes are in the -partial file and the blobs). A request cut short before that (e.g.
  client_gone mid-stream) is written when it ends; a later change updates the memory copy only.

Today's Ollama: GPU, context, memory (ollama-role.md 3-5, macos-formats-provisioning.md 9)
------------------------------------------------------------------------------------------
  GPU total    Metal's recommendedMaxWorkingSetSize, read once at start: `ollama serve` runs
               `sysctl -n hw.memsize iogpu.wired_limit_mb machdep.cpu.brand_string` once (in the
               simulated Mac the macsim stand-in; PATH, then /usr/sbin, /sbin) and uses
               iogpu.wired_limit_mb MiB when it is not 0, else the stock value: 128 GiB ->
               107.52 GiB, 64 -> 48 GiB, 32 and 16 -> 2/3 (real, ollama-role.md 4.2), any other
               size 75 % (INVENTED). A later change of the limit is seen after a restart only.
               Without a usable sysctl (not a Mac): a 128 GiB Apple M4 Max (INVENTED, noted on
               stderr as "ollama-emulator: no Mac sysctl ..."). OLLAMA_EMULATOR_GPU_TOTAL wins.
  no Metal     OLLAMA_EMULATOR_GPU=none / start(gpu='none'): models load on the CPU, /api/ps
               size_vram 0, `ollama ps` "100% CPU", the memory limit is hw.memsize (INVENTED:
               Ollama compares with free memory), VRAM 0 so the default context is 4096.
  context      OLLAMA_CONTEXT_LENGTH unset or 0 = automatic: 262144 / 32768 / 4096 for a VRAM
               total >= 47 GiB / >= 23 GiB / less (real), capped at the model's trained context.
               A request's options.num_ctx, else the Modelfile's num_ctx (derived models created
               with parameters.num_ctx), else OLLAMA_CONTEXT_LENGTH turn the automatic path off
               (capped too, with the "requested context size too large for model" warning; its
               attribute names INVENTED). An automatic context that does not fit is retried once
               with the next tier, 262144/131072 -> 32768 -> 4096 (real). /api/ps context_length
               is the runner's.
  budget       weights + KV cache + 2 GiB compute (Ollama's batch-2048 constant, real). Weights:
               the catalogue's reported_size (what a real /api/tags reports, e.g. llama3.3:70b
               42520413916), else the model blob's size. KV: context x OLLAMA_NUM_PARALLEL x
               block_count x head_count_kv x head_dim x 2 x bytes per element (f16 2, q8_0 34/32,
               q4_0 18/32), from the blob's GGUF header (head_dim: embedding_length / head_count).
               A load that does not fit the GPU total even alone answers 500 {"error": "model
               requires more system memory (81.6 GiB) than is available (64.0 GiB)"} (Ollama's
               text and status as users report them; for Metal INVENTED). Otherwise the least
               recently used models are unloaded until it fits beside the others and under
               OLLAMA_MAX_LOADED_MODELS (0 = 3 per GPU, real). A quantized KV cache with
               OLLAMA_FLASH_ATTENTION=0 fails the load: 500 "llama runner process has terminated:
               llama_init_from_model: V cache quantization requires flash_attn" (llama.cpp's
               message; Ollama's prefix INVENTED). Unset flash attention is auto, i.e. on.
  load time    weights / load_rate (DEFAULT_LOAD_RATE 1 TiB/s, OLLAMA_EMULATOR_LOAD_RATE;
               INVENTED); while loading, /api/ps does not list the model and other requests for
               it wait; load_duration reports it (at least 250 ms).
  startup log  (stderr; real shapes of 0.13-0.18, sources change by release, INVENTED lines)
               WARN "invalid environment variable, using default" for a bad number, then
               msg="server config" env="map[OLLAMA_CONTEXT_LENGTH:0 OLLAMA_FLASH_ATTENTION:false
               OLLAMA_HOST:http://127.0.0.1:11434 OLLAMA_KEEP_ALIVE:5m0s OLLAMA_KV_CACHE_TYPE:
               OLLAMA_MAX_LOADED_MODELS:0 OLLAMA_MODELS:... OLLAMA_NOPRUNE:false
               OLLAMA_NO_CLOUD:false OLLAMA_NUM_PARALLEL:1]" (the variables the emulator uses;
               unset flash attention prints false as envconfig's FlashAttention(false) would),
               msg="Ollama cloud disabled: true" with OLLAMA_NO_CLOUD (wording real, place
               INVENTED), msg="Listening on 127.0.0.1:11434 (version 0.32.3)",
               msg="discovering available GPUs...", msg="inference compute" id=0 filter_id=0
               library=Metal compute=0.0 name=Metal description="Apple M4 Max" libdirs=""
               driver=0.0 pci_id="" type=discrete total="107.5 GiB" available="107.5 GiB" (without
               Metal: id=cpu library=cpu ... INVENTED), msg="vram-based default context"
               total_vram="107.5 GiB" default_num_ctx=262144. Per load: msg="llama runner started
               in 0.04 seconds" or msg="Load failed" model=... error=...; per request a [GIN]
               access line (none of them has msg="Listening on or msg="inference compute").

Generation speed and cancellation (POST /api/generate, /api/chat, /v1/chat/completions)
------------------------------------------------------------------------------------------
  rates        eval_rate (OLLAMA_EMULATOR_EVAL_RATE, start(eval_rate=...)) tokens/s and prompt_rate
               (OLLAMA_EMULATOR_PROMPT_RATE, start(prompt_rate=...)) prompt tokens/s, floats >= 0;
               0 (the default) = instant, as without them. GET|PUT /_emulator/rates and
               server.set_rates() change them at run time; a request uses the rates in force when
               it starts (INVENTED: the whole timing model is; Ollama's speed is the hardware's).
  timing       after the load: prompt_eval_count / prompt_rate s of prompt evaluation with nothing
               sent (Ollama's streamResponse sends the status line with the first chunk: from its
               code, not in the reference, so INVENTED as far as the reference goes), then
               answer token i (from 0) at (i + 1) / eval_rate s after it, scheduled from the end of
               the evaluation. Streaming: one NDJSON line / SSE event per token as it is made, the
               final object after the last one. Not streaming: the whole answer after the total.
  metrics      with a rate set, eval_duration = round(eval_count * 1e9 / eval_rate) and
               prompt_eval_duration = round(prompt_eval_count * 1e9 / prompt_rate) ns, exactly (so
               eval_count / eval_duration * 1e9, macos-formats.md 5, is the configured rate;
               INVENTED: Ollama reports what it measured); total_duration = load + both + 1 ms.
               Without a rate the fixed 50 tokens/s (eval) and 500 tokens/s (prompt) of before.
  tokens       the canned reply (21 tokens, done_reason "stop"); options.num_predict (max_tokens on
               /v1/chat/completions) below that cuts it ("length"); INVENTED: above that the canned
               reply repeats up to num_predict tokens (at most MAX_ANSWER_TOKENS), done_reason
               "length", so num_predict 40 at eval_rate 10 takes about 4 s. The prompt counts:
               generate words of prompt + system + 10, chat 4 per message + its words + system + 6
               (INVENTED). /api/show etc. are not slowed.
  cancellation a client that goes away cancels the generation at once: while waiting (prompt
               evaluation or between tokens; rate > 0 only) the request socket is polled for EOF
               (select + recv(MSG_PEEK) == b'', as Go's net/http cancels the request context when
               the connection reads EOF: gateway.md 2.2 and 8, S04/S05), and a write that fails
               (BrokenPipe, ConnectionReset) ends it too. The log entry has outcome "client_gone",
               "tokens" the number sent so far (0 and status null if it went before the first
               byte). The model stays loaded, its keep-alive starting again then (keep_alive 0
               unloads it), as Ollama's scheduler does when a runner's last request ends; a model
               answering a request is neither expired nor unloaded to make room (the other load
               waits), nor reloaded for another context, until it is done (server/sched.go as
               remembered, not in the reference: INVENTED as far as the reference goes).

CLI (the `ollama` wrapper next to this file)
-------------------------------------------
  ollama serve        env: OLLAMA_HOST ([scheme://]host[:port], default 127.0.0.1:11434,
                      port 0 picks a free one), OLLAMA_MODELS (default $HOME/.ollama/models;
                      with neither it nor HOME: "panic: $HOME is not defined", exit 2, as
                      ollama#8756), OLLAMA_KEEP_ALIVE, OLLAMA_CONTEXT_LENGTH,
                      OLLAMA_FLASH_ATTENTION, OLLAMA_KV_CACHE_TYPE, OLLAMA_NUM_PARALLEL,
                      OLLAMA_MAX_LOADED_MODELS, OLLAMA_NO_CLOUD, OLLAMA_NOPRUNE (no pruning of
                      partials and old unreferenced blobs at start, no removal of replaced layers
                      after an update; booleans and
                      numbers parsed as envconfig does: a boolean it cannot parse is true, a bad
                      number is logged and the default used), OLLAMA_EMULATOR_THROUGHPUT
                      (bytes/s, suffixes K/M/G/T = KiB/MiB/GiB/TiB), OLLAMA_EMULATOR_FAULTS,
                      OLLAMA_EMULATOR_LOG, OLLAMA_EMULATOR_REGISTRY (a JSON file
                      {"name": revision} that stores registry revisions, so they survive a
                      restart), OLLAMA_EMULATOR_CATALOG, OLLAMA_EMULATOR_GPU (metal|none),
                      OLLAMA_EMULATOR_GPU_TOTAL (bytes), OLLAMA_EMULATOR_LOAD_RATE (bytes/s),
                      OLLAMA_EMULATOR_EVAL_RATE, OLLAMA_EMULATOR_PROMPT_RATE (tokens/s, floats;
                      a bad value: "Error: ...", exit 1, like a bad OLLAMA_EMULATOR_THROUGHPUT).
                      Logs the startup lines above and one line per request on stderr.
                      SIGTERM/SIGINT stop it (exit 0).
  ollama -v|--version, ollama list|ls, ollama ps     clients of OLLAMA_HOST
"""

import argparse
import datetime
import decimal
import hashlib
import http.server
import json
import math
import os
import re
import select
import signal
import socket
import shutil
import socketserver
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

VERSION = '0.32.3'  # Homebrew's ollama formula (shared/reference/ollama-role.md, snapshots)

DEFAULT_REGISTRY_HOST = 'registry.ollama.ai'
DEFAULT_NAMESPACE = 'library'
DEFAULT_TAG = 'latest'
DEFAULT_PORT = 11434
DEFAULT_THROUGHPUT = 64 * 1024 * 1024
DEFAULT_KEEP_ALIVE = '5m'
PROGRESS_INTERVAL = 0.06
FOREVER_NS = (1 << 63) - 1  # Go's time.Duration(math.MaxInt64)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CATALOG = os.path.join(HERE, 'catalog.json')

MT_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
MT_CONFIG = 'application/vnd.docker.container.image.v1+json'
MT_MODEL = 'application/vnd.ollama.image.model'
MT_TEMPLATE = 'application/vnd.ollama.image.template'
MT_SYSTEM = 'application/vnd.ollama.image.system'
MT_PARAMS = 'application/vnd.ollama.image.params'
MT_LICENSE = 'application/vnd.ollama.image.license'
MT_PROJECTOR = 'application/vnd.ollama.image.projector'
# The layers a transfer fault rule's "layer" can name (INVENTED key; default "model").
FAULT_LAYERS = ('model', 'projector')
PRUNE_GRACE = 3600                  # layerPruneGracePeriod (security.md 4): unreferenced blobs younger stay
_BLOB_NAME_RE = re.compile(r'sha256-[0-9a-f]{64}')

FAULTS = ('drop', 'digest_mismatch', 'disk_full', 'stall', 'slow_start', 'status', 'unknown_model')
TRANSFER_FAULTS = ('drop', 'disk_full', 'stall')

# The canned answer of /api/generate, /api/chat and /v1/chat/completions.
CANNED_REPLY = ('The sky is blue because the air scatters the short blue wavelengths of '
                'sunlight more strongly than the long red ones.')
EVAL_NS_PER_TOKEN = 20000000        # reported generation speed without an eval rate: 50 tokens/s
PROMPT_NS_PER_TOKEN = 2000000       # reported prompt processing without a prompt rate: 500 tokens/s
# INVENTED: the longest answer a request gets (num_predict beyond the canned reply repeats it), so a
# runaway num_predict cannot fill the memory of an instant (eval rate 0) server.
MAX_ANSWER_TOKENS = 65536
LOAD_NS = 250000000                 # reported load time of a model that was not loaded

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
# The simulated machine when nothing says otherwise: the seed's Mac Studio (M4 Max, 128 GiB).
REFERENCE_MEMSIZE = 128 * GIB
REFERENCE_CHIP = 'Apple M4 Max'
# Metal's stock recommendedMaxWorkingSetSize by RAM size in GiB (ollama-role.md 4.2): 128 GiB ->
# 107.52 GiB, 64 -> 48 GiB (75 %), 32 and 16 -> 2/3. Any other size: 75 % (INVENTED).
STOCK_GPU_FRACTIONS = {128: (84, 100), 64: (3, 4), 32: (2, 3), 16: (2, 3)}
OTHER_GPU_FRACTION = (3, 4)
# The automatic context by total VRAM (ollama-role.md 3, server/routes.go): >= 47 GiB, >= 23 GiB.
CONTEXT_TIERS = ((47 * GIB, 262144), (23 * GIB, 32768), (0, 4096))
COMPUTE_BYTES = 2 * GIB             # Ollama's batch-2048 graph surcharge (ollama-role.md 4.1, 4.3)
# Bytes per KV cache element as a fraction (ollama-role.md 4.3: q8_0 34 B / 32, q4_0 18 B / 32).
KV_CACHE_TYPES = {'f16': (2, 1), 'q8_0': (34, 32), 'q4_0': (18, 32)}
MODELS_PER_GPU = 3                  # OLLAMA_MAX_LOADED_MODELS=0 (server/sched.go defaultModelsPerGPU)
DEFAULT_LOAD_RATE = 1 << 40         # INVENTED: 1 TiB/s, so a 70B model loads in about 40 ms


# ---- errors ----------------------------------------------------------------------------------

class ApiError(Exception):
    """An error answered before any response was sent: HTTP status + {"error": message}."""

    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


class PullFailed(Exception):
    """A pull/create step failed; becomes an {"error": ...} object (status: see ProgressSink)."""

    def __init__(self, message, status=None):
        Exception.__init__(self, message)
        self.message = message
        self.status = status


class Dropped(Exception):
    """The drop fault: close the connection now."""


class ClientGone(Exception):
    """The client closed the connection (or the server is stopping)."""


# ---- model names (types/model/name.go) ---------------------------------------------------------

_PART_RES = {
    'host': re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}'),
    'namespace': re.compile(r'[A-Za-z0-9_][A-Za-z0-9_-]{0,79}'),
    'model': re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}'),
    'tag': re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}'),
}
_DIGEST_RE = re.compile(r'sha256[:-][0-9a-f]{64}')


class ModelName(object):
    """host/namespace/model:tag[@digest]; compare with .parts()."""

    __slots__ = ('host', 'namespace', 'model', 'tag', 'digest')

    def __init__(self, host, namespace, model, tag, digest=''):
        self.host = host
        self.namespace = namespace
        self.model = model
        self.tag = tag
        self.digest = digest

    def parts(self):
        return (self.host, self.namespace, self.model, self.tag)

    def is_valid(self):
        for kind, value in zip(('host', 'namespace', 'model', 'tag'), self.parts()):
            if not _PART_RES[kind].fullmatch(value):
                return False
        # INVENTED: a digest, when given, must be sha256:<64 hex> (it is otherwise ignored).
        return not self.digest or bool(_DIGEST_RE.fullmatch(self.digest))

    def full(self):
        return '%s/%s/%s:%s' % self.parts()

    def display_shortest(self):
        """What /api/tags shows: host and namespace only when they are not the defaults."""
        prefix = ''
        if self.host.lower() != DEFAULT_REGISTRY_HOST:
            prefix = '%s/%s/' % (self.host, self.namespace)
        elif self.namespace.lower() != DEFAULT_NAMESPACE:
            prefix = self.namespace + '/'
        return '%s%s:%s' % (prefix, self.model, self.tag)

    def __eq__(self, other):
        return isinstance(other, ModelName) and self.parts() == other.parts()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.parts())

    def __repr__(self):
        return 'ModelName(%r)' % self.full()


def _cut_last(s, sep):
    i = s.rfind(sep)
    if i >= 0:
        return s[:i], s[i + len(sep):], True
    return s, '', False


def _cut_promised(s, sep):
    before, after, ok = _cut_last(s, sep)
    return before, after, ok and after != ''


def parse_name(s):
    """Parse like Ollama's model.ParseName: missing parts get the defaults."""
    s = s if isinstance(s, str) else ''
    host = namespace = model = tag = digest = ''
    if '@' in s:
        s, digest = _cut_last(s, '@')[:2]
    if s.rfind(':') > s.rfind('/'):
        s, tag = _cut_promised(s, ':')[:2]
    s, model, promised = _cut_promised(s, '/')
    if not promised:
        model = s
    else:
        s, namespace, promised = _cut_promised(s, '/')
        if not promised:
            namespace = s
        else:
            scheme, sep, rest = s.partition('://')
            host = rest if sep else scheme
    return ModelName(host or DEFAULT_REGISTRY_HOST, namespace or DEFAULT_NAMESPACE, model,
                     tag or DEFAULT_TAG, digest)


# ---- Go-compatible formatting --------------------------------------------------------------------

def go_json(obj):
    """json.Marshal: compact, UTF-8, with Go's HTML escaping of <, > and &."""
    text = json.dumps(obj, separators=(',', ':'), ensure_ascii=False)
    for ch, esc in (('<', '\\u003c'), ('>', '\\u003e'), ('&', '\\u0026'),
                    ('\u2028', '\\u2028'), ('\u2029', '\\u2029')):
        text = text.replace(ch, esc)
    return text


def go_quote(s):
    """Go's %q, close enough for names."""
    return json.dumps(s, ensure_ascii=False)


def go_time(ns=None, utc=False):
    """RFC 3339 with nanoseconds as Go marshals a time.Time (local zone unless utc)."""
    if ns is None:
        ns = time.time_ns()
    secs, frac = divmod(int(ns), 1000000000)
    dt = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
    if not utc:
        try:
            dt = dt.astimezone()
        except (OverflowError, OSError, ValueError):
            pass
    out = dt.strftime('%Y-%m-%dT%H:%M:%S')
    if frac:
        out += ('.%09d' % frac).rstrip('0')
    offset = dt.utcoffset()
    if not offset:
        return out + 'Z'
    minutes = int(offset.total_seconds()) // 60
    sign = '+' if minutes >= 0 else '-'
    minutes = abs(minutes)
    return out + '%s%02d:%02d' % (sign, minutes // 60, minutes % 60)


_DURATION_UNITS = {'ns': 1, 'us': 1000, '\u00b5s': 1000, '\u03bcs': 1000, 'ms': 1000000,
                   's': 1000000000, 'm': 60000000000, 'h': 3600000000000}
_NUMBER_RE = re.compile(r'[0-9]*\.?[0-9]*')
_UNIT_RE = re.compile(r'[^0-9.]*')


def parse_go_duration(text):
    """time.ParseDuration: "5m", "1h30m", "-1s", "0"; returns nanoseconds (int)."""
    orig = text
    invalid = ValueError('time: invalid duration %s' % go_quote(orig))
    neg = False
    if text[:1] in ('-', '+'):
        neg = text[0] == '-'
        text = text[1:]
    if text == '0':
        return 0
    if not text:
        raise invalid
    total = decimal.Decimal(0)
    pos = 0
    while pos < len(text):
        num = _NUMBER_RE.match(text, pos).group(0)
        if num in ('', '.'):
            raise invalid
        pos += len(num)
        unit = _UNIT_RE.match(text, pos).group(0)
        pos += len(unit)
        if not unit:
            raise ValueError('time: missing unit in duration %s' % go_quote(orig))
        if unit not in _DURATION_UNITS:
            raise ValueError('time: unknown unit %s in duration %s' % (go_quote(unit), go_quote(orig)))
        total += decimal.Decimal(num) * _DURATION_UNITS[unit]
    value = int(total)
    return -value if neg else value


def parse_keep_alive(value):
    """The API's keep_alive (api.Duration): nanoseconds, FOREVER_NS for negative values."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError('invalid duration')
    if isinstance(value, str):
        ns = parse_go_duration(value)
    else:
        ns = -1 if value < 0 else int(value * 1000000000)
    return FOREVER_NS if ns < 0 else ns


def parse_env_keep_alive(value, default=DEFAULT_KEEP_ALIVE):
    """OLLAMA_KEEP_ALIVE: a Go duration, else whole seconds; negative = forever."""
    if value is None or value == '':
        value = default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ns = int(value * 1000000000)
    else:
        try:
            ns = parse_go_duration(str(value))
        except ValueError:
            try:
                ns = int(str(value)) * 1000000000
            except ValueError:
                ns = parse_go_duration(DEFAULT_KEEP_ALIVE)
    return FOREVER_NS if ns < 0 else ns


def go_number(value):
    """fmt's %v / %#v of a float64 (JSON numbers are float64 in Go): 131072, 0.7, 1e+06."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    f = float(value)
    if math.isnan(f):
        return 'NaN'
    if f in (float('inf'), float('-inf')):
        return '+Inf' if f > 0 else '-Inf'
    if f == 0:
        return '0'
    d = decimal.Decimal(repr(f)).normalize()
    sign, digits, exp = d.as_tuple()
    digits = ''.join(str(x) for x in digits)
    adjusted = len(digits) - 1 + exp
    prefix = '-' if sign else ''
    if adjusted < -4 or adjusted >= 6:  # %g with the shortest precision: exponent from 1e+06
        mantissa = digits[0] + ('.' + digits[1:] if len(digits) > 1 else '')
        return '%s%se%s%02d' % (prefix, mantissa, '-' if adjusted < 0 else '+', abs(adjusted))
    return prefix + format(abs(d), 'f')


def go_value(value):
    """%#v of a parameter value: strings quoted, numbers as float64."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, (int, float)):
        return go_number(value)
    return go_json(value)


def modelfile_quote(text):
    """The Modelfile printer's quoting of arguments."""
    if '\n' in text or text.startswith(' ') or text.endswith(' '):
        if '"' in text:
            return '"""%s"""' % text
        return '"%s"' % text
    return text


def human_bytes(n):
    for unit, size in (('TB', 1000 ** 4), ('GB', 1000 ** 3), ('MB', 1000 ** 2), ('KB', 1000)):
        if n >= size:
            value = n / float(size)
            if value >= 10 or value == int(value):
                return '%d %s' % (int(value), unit)
            return '%.1f %s' % (value, unit)
    return '%d B' % n


def human_duration(seconds):
    s = int(seconds)
    if s < 1:
        return 'Less than a second'
    if s == 1:
        return '1 second'
    if s < 60:
        return '%d seconds' % s
    minutes = s // 60
    if minutes == 1:
        return 'About a minute'
    if minutes < 60:
        return '%d minutes' % minutes
    hours = int(round(seconds / 3600.0))
    if hours == 1:
        return 'About an hour'
    if hours < 48:
        return '%d hours' % hours
    if hours < 24 * 7 * 2:
        return '%d days' % (hours // 24)
    if hours < 24 * 30 * 2:
        return '%d weeks' % (hours // 24 // 7)
    if hours < 24 * 365 * 2:
        return '%d months' % (hours // 24 // 30)
    return '%d years' % (hours // 24 // 365)


def human_time(epoch, now=None):
    now = time.time() if now is None else now
    delta = now - epoch
    if delta < -20 * 365 * 86400:
        return 'Forever'
    if delta < 0:
        return human_duration(-delta) + ' from now'
    return human_duration(delta) + ' ago'


def parse_size(value, default, what):
    """A positive byte count: an int, or a number with K/M/G/T (KiB/MiB/GiB/TiB) like "2M", "512KiB"."""
    if value is None or value == '':
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        n = int(value)
    else:
        m = re.fullmatch(r'\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*', str(value), re.I)
        if not m:
            raise ValueError('bad %s %r' % (what, value))
        n = int(float(m.group(1)) * (1 << (10 * ' KMGT'.index(m.group(2).upper() or ' '))))
    if n <= 0:
        raise ValueError('%s must be positive, got %r' % (what, value))
    return n


def parse_throughput(value):
    """Bytes per second (parse_size); None or '' is DEFAULT_THROUGHPUT."""
    return parse_size(value, DEFAULT_THROUGHPUT, 'throughput')


def parse_rate(value, what):
    """Tokens per second as a float >= 0 (an int, a float or a decimal string); None or '' is 0,
    i.e. no waiting (INVENTED knob of the emulator)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0.0
    if isinstance(value, bool):
        raise ValueError('bad %s %r' % (what, value))
    try:
        rate = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError('bad %s %r' % (what, value))
    if not math.isfinite(rate) or rate < 0:
        raise ValueError('%s must be a number of tokens per second >= 0, got %r' % (what, value))
    return rate


def _go_kind(value):
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, (int, float)):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'array'
    if value is None:
        return 'null'
    return 'object'


# ---- Go's formats for the server log and envconfig ----------------------------------------------

def human_bytes2(n):
    """format.HumanBytes2, as the server log prints memory: "107.5 GiB", "512.0 MiB", "0 B"."""
    for unit, size in (('GiB', GIB), ('MiB', MIB), ('KiB', KIB)):
        if n >= size:
            return '%.1f %s' % (n / float(size), unit)
    return '%d B' % n


def _go_fraction(value, unit):
    whole, frac = divmod(value, unit)
    digits = len(str(unit)) - 1
    return str(whole) + (('.%0*d' % (digits, frac)).rstrip('0') if frac else '')


def go_duration(ns):
    """time.Duration.String(): "5m0s", "1h0m0s", "300ms", "0s", "2562047h47m16.854775807s"."""
    ns = int(ns)
    if ns == 0:
        return '0s'
    sign, u = ('-' if ns < 0 else ''), abs(ns)
    if u < 1000:
        return '%s%dns' % (sign, u)
    if u < 1000000:
        return sign + _go_fraction(u, 1000) + '\u00b5s'
    if u < 1000000000:
        return sign + _go_fraction(u, 1000000) + 'ms'
    secs, frac = divmod(u, 1000000000)
    hours, rest = divmod(secs, 3600)
    minutes, seconds = divmod(rest, 60)
    text = _go_fraction(seconds * 1000000000 + frac, 1000000000) + 's'
    if hours:
        return '%s%dh%dm%s' % (sign, hours, minutes, text)
    if minutes:
        return '%s%dm%s' % (sign, minutes, text)
    return sign + text


def env_var(env, key):
    """envconfig.Var: the value without surrounding spaces and quotes."""
    return (env.get(key) or '').strip().strip('"\'')


def go_parse_bool(text):
    """strconv.ParseBool (ValueError for anything else)."""
    if text in ('1', 't', 'T', 'TRUE', 'true', 'True'):
        return True
    if text in ('0', 'f', 'F', 'FALSE', 'false', 'False'):
        return False
    raise ValueError('strconv.ParseBool: parsing %s: invalid syntax' % go_quote(text))


def env_bool(env, key):
    """envconfig.Bool: unset or empty is false, a value ParseBool refuses counts as true; None
    when unset (so OLLAMA_FLASH_ATTENTION can tell "auto" from "0")."""
    text = env_var(env, key)
    if not text:
        return None
    try:
        return go_parse_bool(text)
    except ValueError:
        return True


def env_uint(env, key, default, warnings):
    """envconfig.Uint: a bad value is logged and the default used."""
    text = env_var(env, key)
    if text:
        if re.fullmatch(r'[0-9]+', text):
            return int(text)
        warnings.append(('WARN', 'config.go:1', 'invalid environment variable, using default',
                         [('key', key), ('value', text), ('default', default)]))
    return default


_SLOG_SAFE = re.compile(r'[^\s="\x00-\x1f\x7f]+')


def slog_value(value):
    """A value as log/slog's TextHandler writes it: quoted when empty or when it holds a space,
    '=', a quote or a control character."""
    if isinstance(value, bool):
        text = 'true' if value else 'false'
    else:
        text = str(value)
    return text if _SLOG_SAFE.fullmatch(text) else go_quote(text)


def slog_line(level, source, msg, attrs=(), now=None):
    """One line of Ollama's server log: time=... level=INFO source=file.go:N msg=... key=value."""
    stamp = (now or datetime.datetime.now().astimezone()).isoformat(timespec='milliseconds')
    if stamp.endswith('+00:00'):
        stamp = stamp[:-6] + 'Z'
    parts = ['time=%s' % stamp, 'level=%s' % level, 'source=%s' % source, 'msg=%s' % slog_value(msg)]
    parts.extend('%s=%s' % (slog_value(key), slog_value(value)) for key, value in attrs)
    return ' '.join(parts) + '\n'


def go_map(values):
    """fmt's %v of a map[string]string: map[K1:V1 K2:V2] with sorted keys."""
    return 'map[%s]' % ' '.join('%s:%s' % (key, values[key]) for key in sorted(values))


# ---- the GPU, the context default and the memory budget (pure) ----------------------------------

def stock_gpu_limit(memsize):
    """Metal's recommendedMaxWorkingSetSize with iogpu.wired_limit_mb at 0 (see STOCK_GPU_FRACTIONS)."""
    memsize = int(memsize)
    gib, rest = divmod(memsize, GIB)
    num, den = STOCK_GPU_FRACTIONS.get(gib, OTHER_GPU_FRACTION) if not rest else OTHER_GPU_FRACTION
    return memsize * num // den


def gpu_limit(memsize, wired_limit_mb):
    """The GPU total Ollama sees: iogpu.wired_limit_mb MiB when set (Metal follows it, ollama-role.md
    4.2), else the stock value for the RAM size."""
    if wired_limit_mb and int(wired_limit_mb) > 0:
        return int(wired_limit_mb) * MIB
    return stock_gpu_limit(memsize)


def default_num_ctx(total_vram):
    """The automatic context (OLLAMA_CONTEXT_LENGTH unset or 0) for a total VRAM in bytes."""
    for floor, ctx in CONTEXT_TIERS:
        if total_vram >= floor:
            return ctx
    return CONTEXT_TIERS[-1][1]


def lower_context_tier(ctx):
    """The context an automatic load retries with after an out-of-memory (reduceAutoNumCtxForLoadOOM:
    262144/131072 -> 32768 -> 4096), or None."""
    for ctx_tier in (32768, 4096):
        if ctx > ctx_tier:
            return ctx_tier
    return None


def model_geometry(kv):
    """(block_count, head_count_kv, head_dim) from a model's GGUF key/values (0 when unknown);
    head_dim is attention.key_length, else embedding_length / head_count."""
    arch = kv.get('general.architecture', '')

    def number(name):
        value = kv.get('%s.%s' % (arch, name))
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0

    heads = number('attention.head_count')
    head_dim = number('attention.key_length') or (number('embedding_length') // heads if heads else 0)
    return number('block_count'), number('attention.head_count_kv'), head_dim


def kv_cache_bytes(ctx, parallel, block_count, head_count_kv, head_dim, kv_type='f16'):
    """context x parallel x block_count x head_count_kv x head_dim x 2 (K and V) x bytes/element."""
    num, den = KV_CACHE_TYPES[kv_type]
    return ctx * parallel * block_count * head_count_kv * head_dim * 2 * num // den


def parse_mac_sysctl(text):
    """The output of `sysctl -n hw.memsize iogpu.wired_limit_mb machdep.cpu.brand_string`:
    {"memsize", "wired_limit_mb", "chip"}, or None when it is not that."""
    lines = text.splitlines()
    if len(lines) != 3 or not lines[0].strip().isdigit() or not lines[1].strip().isdigit():
        return None
    return {'memsize': int(lines[0]), 'wired_limit_mb': int(lines[1]), 'chip': lines[2].strip()}


def probe_mac(path=None, timeout=10):
    """Read the Mac's memory, GPU wired limit and chip with one sysctl call (in the simulated Mac,
    the macsim stand-in). Returns (facts or None, why not)."""
    search = os.pathsep.join(p for p in ((path if path is not None else os.environ.get('PATH', '')),
                                         '/usr/sbin', '/sbin') if p)
    binary = shutil.which('sysctl', path=search)
    if not binary:
        return None, 'no sysctl on PATH'
    argv = [binary, '-n', 'hw.memsize', 'iogpu.wired_limit_mb', 'machdep.cpu.brand_string']
    env = dict(os.environ, LC_ALL='C', LANG='C')
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False,
                              universal_newlines=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as e:
        return None, '%s: %s' % (binary, e)
    facts = parse_mac_sysctl(proc.stdout) if proc.returncode == 0 else None
    if facts is None:
        said = ' / '.join(line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip())
        return None, '%s exited %d: %s' % (binary, proc.returncode, said[:200])
    return facts, ''


# ---- GGUF header of the model blobs --------------------------------------------------------------

_GGUF_SCALARS = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?',
                 10: '<Q', 11: '<q', 12: '<d'}


def _gguf_string(s):
    data = s.encode('utf-8')
    return struct.pack('<Q', len(data)) + data


def _gguf_value(key, value):
    if isinstance(value, bool):
        return struct.pack('<I?', 7, value)
    if isinstance(value, int):
        kind = 10 if key.endswith('parameter_count') or value >= 1 << 32 else 4
        return struct.pack('<I', kind) + struct.pack(_GGUF_SCALARS[kind], value)
    if isinstance(value, float):
        return struct.pack('<If', 6, value)
    if isinstance(value, str):
        return struct.pack('<I', 8) + _gguf_string(value)
    if isinstance(value, list):
        return struct.pack('<IIQ', 9, 8, len(value)) + b''.join(_gguf_string(str(v)) for v in value)
    raise TypeError('cannot store %r in GGUF' % (value,))


def gguf_header(kvs):
    """A GGUF v3 header without tensors: b'GGUF', version, 0 tensors, the key/values."""
    out = [b'GGUF', struct.pack('<IQQ', 3, 0, len(kvs))]
    for key, value in kvs:
        out.append(_gguf_string(key))
        out.append(_gguf_value(key, value))
    return b''.join(out)


def read_gguf_kv(path, limit=1 << 20):
    """The key/values of a GGUF file's header ({} if it is not one)."""
    try:
        with open(path, 'rb') as f:
            data = f.read(limit)
    except OSError:
        return {}
    if data[:4] != b'GGUF' or len(data) < 24:
        return {}
    pos = [24]

    def take(fmt):
        value = struct.unpack_from(fmt, data, pos[0])[0]
        pos[0] += struct.calcsize(fmt)
        return value

    def string():
        n = take('<Q')
        value = data[pos[0]:pos[0] + n].decode('utf-8', 'replace')
        pos[0] += n
        return value

    def value_of(kind):
        if kind == 8:
            return string()
        if kind == 9:
            inner = take('<I')
            return [value_of(inner) for dummy in range(take('<Q'))]
        return take(_GGUF_SCALARS[kind])

    kv = {}
    try:
        count = struct.unpack_from('<Q', data, 16)[0]
        for dummy in range(count):
            key = string()
            kv[key] = value_of(take('<I'))
    except (struct.error, KeyError, IndexError):
        pass
    return kv


# ---- the registry (catalog.json) ---------------------------------------------------------------

def _sha256(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def params_blob(params):
    """A params layer as Go's json.Encoder writes a map: sorted keys, escaped, newline."""
    clean = {}
    for key in sorted(params):
        value = params[key]
        if isinstance(value, float) and value == int(value) and abs(value) < 1e21:
            value = int(value)
        clean[key] = value
    return (go_json(clean) + '\n').encode('utf-8')


class RegistryModel(object):
    """One model revision as the registry serves it: manifest bytes and every blob."""

    def __init__(self, key, revision, spec):
        self.key = key
        self.revision = revision
        self.spec = spec
        self.blobs = {}
        layers = []

        def add(media_type, data):
            digest = _sha256(data)
            self.blobs[digest] = data
            layer = {'mediaType': media_type, 'digest': digest, 'size': len(data)}
            layers.append(layer)
            return layer

        self.model_layer = add(MT_MODEL, self._model_bytes())
        # A vision model's second large layer (llava's mmproj), right after the model layer as in
        # the library's llava manifests (INVENTED as far as the reference goes).
        self.projector_layer = None
        if spec.get('projector_bytes'):
            self.projector_layer = add(MT_PROJECTOR, self._projector_bytes())
        if spec.get('template'):
            add(MT_TEMPLATE, spec['template'].encode('utf-8'))
        if spec.get('system'):
            add(MT_SYSTEM, spec['system'].encode('utf-8'))
        if spec.get('license'):
            add(MT_LICENSE, spec['license'].encode('utf-8'))
        if spec.get('parameters'):
            add(MT_PARAMS, params_blob(spec['parameters']))
        arch = spec['architecture']
        config = {
            'model_format': 'gguf', 'model_family': arch,
            'model_families': [arch] + (['clip'] if self.projector_layer else []),
            'model_type': spec['parameter_size'], 'file_type': spec['quantization_level'],
            'architecture': 'amd64', 'os': 'linux',
            'rootfs': {'type': 'layers', 'diff_ids': [layer['digest'] for layer in layers]},
        }
        config_bytes = (go_json(config) + '\n').encode('utf-8')
        config_digest = _sha256(config_bytes)
        self.blobs[config_digest] = config_bytes
        self.config_layer = {'mediaType': MT_CONFIG, 'digest': config_digest, 'size': len(config_bytes)}
        self.manifest = {'schemaVersion': 2, 'mediaType': MT_MANIFEST, 'config': self.config_layer,
                         'layers': layers}
        self.manifest_bytes = json.dumps(self.manifest, separators=(',', ':')).encode('utf-8')
        self.digest = hashlib.sha256(self.manifest_bytes).hexdigest()

    def _model_bytes(self):
        spec = self.spec
        arch = spec['architecture']
        kvs = [
            ('general.architecture', arch),
            ('general.name', spec.get('display_name', self.key)),
            ('general.basename', spec.get('basename', arch)),
            ('general.parameter_count', int(spec['parameter_count'])),
            ('general.file_type', int(spec['file_type'])),
            ('general.quantization_version', 2),
            ('%s.context_length' % arch, int(spec['context_length'])),
            ('%s.embedding_length' % arch, int(spec['embedding_length'])),
            ('%s.block_count' % arch, int(spec['block_count'])),
            ('%s.attention.head_count' % arch, int(spec['head_count'])),
            ('%s.attention.head_count_kv' % arch, int(spec['head_count_kv'])),
        ]
        if spec.get('rope_freq_base'):
            kvs.append(('%s.rope.freq_base' % arch, float(spec['rope_freq_base'])))
        kvs.append(('tokenizer.ggml.model', spec.get('tokenizer', 'gpt2')))
        kvs.append(('emulator.revision', int(self.revision)))
        return self._gguf_blob(kvs, spec['model_bytes'], '')

    def _projector_bytes(self):
        """A GGUF 'clip' header with the catalogue's projector_info, then filler (INVENTED
        contents; a real projector holds the vision encoder's tensors)."""
        info = dict(self.spec.get('projector_info') or {})
        kvs = [('general.architecture', info.pop('general.architecture', 'clip'))]
        kvs += sorted(info.items())
        kvs.append(('emulator.revision', int(self.revision)))
        return self._gguf_blob(kvs, self.spec['projector_bytes'], ':projector')

    def _gguf_blob(self, kvs, size, seed_suffix):
        header = gguf_header(kvs)
        size = max(int(size), len(header))
        seed = ('ollama-emulator:%s@%s%s' % (self.key, self.revision, seed_suffix)).encode('utf-8')
        return header + hashlib.shake_256(seed).digest(size - len(header))

    def layers(self):
        """Layers in pull order: manifest layers, then the config."""
        return list(self.manifest['layers']) + [self.config_layer]

    def layer_of(self, kind):
        """The layer a fault rule's "layer" names ('model' or 'projector'), or None."""
        return {'model': self.model_layer, 'projector': self.projector_layer}.get(kind)


class Registry(object):
    """The catalogue plus the current revision of each model."""

    def __init__(self, catalog=None, state_file=None):
        path = catalog or DEFAULT_CATALOG
        with open(path) as f:
            data = json.load(f)
        self.state_file = state_file
        self.entries = {}     # primary key (full name) -> catalogue entry
        self.aliases = {}     # any full name -> primary key
        self.display = {}     # primary key -> name as written in the catalogue
        self.current = {}
        self._cache = {}
        self._sizes = None
        self.lock = threading.RLock()
        for name, entry in data['models'].items():
            key = parse_name(name).full()
            self.entries[key] = entry
            self.display[key] = name
            self.aliases[key] = key
            for alias in entry.get('aliases', []):
                self.aliases[parse_name(alias).full()] = key
            revisions = self._revisions(entry)
            self.current[key] = int(entry.get('current_revision', revisions[0]))

    @staticmethod
    def _revisions(entry):
        return sorted(int(r) for r in entry.get('revisions', {'1': {}}))

    def resolve(self, name):
        if not isinstance(name, ModelName):
            name = parse_name(name)
        return self.aliases.get(name.full())

    def _stored_revisions(self):
        if not self.state_file:
            return {}
        try:
            with open(self.state_file) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        out = {}
        for name, rev in data.items() if isinstance(data, dict) else []:
            key = self.resolve(name)
            if key:
                out[key] = int(rev)
        return out

    def revision(self, name):
        key = self.resolve(name)
        if key is None:
            raise KeyError('model %s is not in the catalogue' % name)
        with self.lock:
            return self._stored_revisions().get(key, self.current[key])

    def set_revision(self, name, revision):
        key = self.resolve(name)
        if key is None:
            raise KeyError('model %s is not in the catalogue' % name)
        revision = int(revision)
        if revision not in self._revisions(self.entries[key]):
            raise ValueError('model %s has no revision %d (has %s)' % (
                self.display[key], revision, self._revisions(self.entries[key])))
        with self.lock:
            self.current[key] = revision
            if self.state_file:
                stored = {}
                try:
                    with open(self.state_file) as f:
                        stored = json.load(f)
                except (OSError, ValueError):
                    pass
                if not isinstance(stored, dict):
                    stored = {}
                stored[self.display[key]] = revision
                tmp = self.state_file + '.tmp'
                with open(tmp, 'w') as f:
                    json.dump(stored, f, indent=2, sort_keys=True)
                os.replace(tmp, self.state_file)
        return self.lookup(key, revision)

    def lookup(self, name, revision=None):
        """The RegistryModel of a name (current revision by default), or None."""
        key = self.resolve(name)
        if key is None:
            return None
        if revision is None:
            revision = self.revision(key)
        revision = int(revision)
        with self.lock:
            cached = self._cache.get((key, revision))
            if cached is None:
                entry = self.entries[key]
                revs = entry.get('revisions', {'1': {}})
                if str(revision) not in revs and revision not in revs:
                    return None
                spec = dict((k, v) for k, v in entry.items() if k not in ('revisions', 'aliases'))
                spec.update(revs.get(str(revision), revs.get(revision)) or {})
                cached = RegistryModel(key, revision, spec)
                self._cache[(key, revision)] = cached
            return cached

    def reported_size(self, model_digest):
        """The catalogue's reported_size (what a real /api/tags says the model weighs) of the model
        whose model layer has this digest, or None."""
        with self.lock:
            if self._sizes is None:
                sizes = {}
                for key, entry in self.entries.items():
                    for revision in self._revisions(entry):
                        reg = self.lookup(key, revision)
                        if reg is not None and reg.spec.get('reported_size'):
                            sizes[reg.model_layer['digest']] = int(reg.spec['reported_size'])
                self._sizes = sizes
            return self._sizes.get(model_digest)

    def describe(self):
        out = {}
        for key in sorted(self.entries):
            current = self.lookup(key)
            out[self.display[key]] = {'revision': current.revision,
                                      'revisions': self._revisions(self.entries[key]),
                                      'digest': current.digest}
        return out


# ---- local storage ($OLLAMA_MODELS) --------------------------------------------------------------

class Store(object):
    def __init__(self, root):
        self.root = os.path.abspath(os.path.expanduser(str(root)))
        self.manifests = os.path.join(self.root, 'manifests')
        self.blobs = os.path.join(self.root, 'blobs')
        for d in (self.manifests, self.blobs):
            os.makedirs(d, exist_ok=True)

    def manifest_path(self, name):
        return os.path.join(self.manifests, name.host, name.namespace, name.model, name.tag)

    def blob_path(self, digest):
        return os.path.join(self.blobs, digest.replace(':', '-'))

    def has_blob(self, digest):
        return os.path.isfile(self.blob_path(digest))

    def write_blob(self, digest, data):
        path = self.blob_path(digest)
        tmp = '%s.tmp-%d-%d' % (path, os.getpid(), threading.get_ident())
        with open(tmp, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)

    def read_blob(self, digest):
        try:
            with open(self.blob_path(digest), 'rb') as f:
                return f.read()
        except OSError:
            return None

    # A blob being downloaded is blobs/sha256-<hex>-partial, as in Ollama (security.md 4), holding
    # the bytes received so far. INVENTED: one part and no -partial-N state files; Ollama sizes the
    # file to the whole blob up front and records each part's progress in -partial-N.
    def partial_path(self, digest):
        return self.blob_path(digest) + '-partial'

    def partial_size(self, digest):
        try:
            return os.path.getsize(self.partial_path(digest))
        except OSError:
            return 0

    def resume_partial(self, digest, data):
        """Where a download of `data` resumes: the partial's size when the partial is a prefix of
        `data`, else 0 after removing it (INVENTED: Ollama trusts its part files and finds a bad
        partial only when the digest check fails)."""
        path = self.partial_path(digest)
        try:
            with open(path, 'rb') as f:
                head = f.read(len(data) + 1)
        except OSError:
            return 0
        if data.startswith(head):
            return len(head)
        self.discard_partial(digest)
        return 0

    def discard_partial(self, digest):
        try:
            os.unlink(self.partial_path(digest))
        except OSError:
            pass

    def commit_partial(self, digest):
        """The complete partial becomes the blob (a rename, as Ollama's download does)."""
        os.replace(self.partial_path(digest), self.blob_path(digest))

    def prune(self, grace=PRUNE_GRACE, now=None):
        """Ollama's PruneLayers at server start (security.md 4): every file in blobs/ not named
        like a blob (partials, part files, leftovers) and every unreferenced blob older than
        `grace` seconds is removed. Returns the removed file names."""
        refs = set(digest.replace(':', '-') for digest in self.referenced() if isinstance(digest, str))
        cutoff = (time.time() if now is None else now) - grace
        removed = []
        for fn in sorted(os.listdir(self.blobs)):
            path = os.path.join(self.blobs, fn)
            try:
                if not os.path.isfile(path):
                    continue
                if _BLOB_NAME_RE.fullmatch(fn) and (fn in refs or os.stat(path).st_mtime >= cutoff):
                    continue
                os.unlink(path)
                removed.append(fn)
            except OSError:
                pass
        return removed

    def read_manifest(self, name):
        """(bytes, mtime_ns) or None."""
        path = self.manifest_path(name)
        try:
            with open(path, 'rb') as f:
                data = f.read()
            return data, os.stat(path).st_mtime_ns
        except (OSError, ValueError):
            return None

    def write_manifest(self, name, data):
        path = self.manifest_path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = '%s.tmp-%d-%d' % (path, os.getpid(), threading.get_ident())
        with open(tmp, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)

    def delete_manifest(self, name):
        path = self.manifest_path(name)
        os.unlink(path)
        d = os.path.dirname(path)
        while d.startswith(self.manifests + os.sep):
            try:
                os.rmdir(d)
            except OSError:
                break
            d = os.path.dirname(d)

    def names(self):
        out = []
        for dirpath, dirnames, filenames in os.walk(self.manifests):
            dirnames.sort()
            rel = os.path.relpath(dirpath, self.manifests)
            parts = [] if rel == '.' else rel.split(os.sep)
            if len(parts) != 3:
                continue
            for fn in sorted(filenames):
                if '.tmp-' in fn or fn.startswith('.'):
                    continue
                name = ModelName(parts[0], parts[1], parts[2], fn)
                if name.is_valid():
                    out.append(name)
        return out

    def referenced(self):
        refs = set()
        for name in self.names():
            found = self.read_manifest(name)
            if not found:
                continue
            try:
                manifest = json.loads(found[0].decode('utf-8'))
            except ValueError:
                continue
            refs.update(layer.get('digest') for layer in manifest_layers(manifest))
        return refs

    def remove_unreferenced(self, digests):
        refs = self.referenced()
        removed = []
        for digest in sorted(set(digests) - refs):
            try:
                os.unlink(self.blob_path(digest))
                removed.append(digest)
            except OSError:
                pass
        return removed


def manifest_layers(manifest):
    layers = list(manifest.get('layers') or [])
    if manifest.get('config', {}).get('digest'):
        layers.append(manifest['config'])
    return layers


class LocalModel(object):
    """An installed model, read from its manifest and blobs."""

    def __init__(self, store, name, data, mtime_ns):
        self.store = store
        self.name = name
        self.manifest_bytes = data
        self.manifest = json.loads(data.decode('utf-8'))
        self.digest = hashlib.sha256(data).hexdigest()
        self.modified_ns = mtime_ns
        self.layers = list(self.manifest.get('layers') or [])
        self.size = sum(int(layer.get('size', 0)) for layer in manifest_layers(self.manifest))
        self.config = {}
        config = self.manifest.get('config') or {}
        if config.get('digest'):
            raw = store.read_blob(config['digest'])
            try:
                self.config = json.loads(raw.decode('utf-8')) if raw else {}
            except ValueError:
                self.config = {}
        self.template = self.system = None
        self.licenses = []
        self.params = {}
        self.model_layer = None
        self.projector_layers = []
        for layer in self.layers:
            mt = layer.get('mediaType')
            if mt == MT_MODEL and self.model_layer is None:
                self.model_layer = layer
            elif mt == MT_PROJECTOR:
                self.projector_layers.append(layer)
            elif mt in (MT_TEMPLATE, MT_SYSTEM, MT_LICENSE, MT_PARAMS):
                raw = store.read_blob(layer['digest']) or b''
                if mt == MT_TEMPLATE:
                    self.template = raw.decode('utf-8', 'replace')
                elif mt == MT_SYSTEM:
                    self.system = raw.decode('utf-8', 'replace')
                elif mt == MT_LICENSE:
                    self.licenses.append(raw.decode('utf-8', 'replace'))
                else:
                    try:
                        self.params = json.loads(raw.decode('utf-8')) if raw else {}
                    except ValueError:
                        self.params = {}
        self._kv = None

    @property
    def model_path(self):
        return self.store.blob_path(self.model_layer['digest']) if self.model_layer else ''

    @property
    def projector_paths(self):
        return [self.store.blob_path(layer['digest']) for layer in self.projector_layers]

    @property
    def parent_model(self):
        return (self.model_layer or {}).get('from', '')

    @property
    def kv(self):
        if self._kv is None:
            self._kv = read_gguf_kv(self.model_path) if self.model_layer else {}
        return self._kv

    def details(self, parent=True):
        c = self.config
        return {'parent_model': self.parent_model if parent else '',
                'format': c.get('model_format', ''), 'family': c.get('model_family', ''),
                'families': c.get('model_families'), 'parameter_size': c.get('model_type', ''),
                'quantization_level': c.get('file_type', '')}

    def context_length(self):
        arch = self.kv.get('general.architecture') or self.config.get('model_family', '')
        return self.kv.get('%s.context_length' % arch)

    def capabilities(self):
        caps = ['completion']
        template = self.template or ''
        if '.Tools' in template:
            caps.append('tools')
        if '.Suffix' in template:
            caps.append('insert')
        if self.projector_layers:
            # As Ollama's Model.Capabilities (a projector means vision); not in the reference: INVENTED.
            caps.append('vision')
        return caps

    def modelfile(self):
        lines = ['# Modelfile generated by "ollama show"',
                 '# To build a new Modelfile based on this, replace FROM with:',
                 '# FROM %s' % self.name.display_shortest(), '']
        lines.append('FROM %s' % self.model_path)
        # A projector is a second FROM, as Ollama's Model.String writes it (INVENTED for the reference).
        lines.extend('FROM %s' % path for path in self.projector_paths)
        lines.append('TEMPLATE %s' % modelfile_quote(self.template or '{{ .Prompt }}'))
        if self.system:
            lines.append('SYSTEM %s' % modelfile_quote(self.system))
        for key, value in self.params.items():
            for item in value if isinstance(value, list) else [value]:
                text = item if isinstance(item, str) else go_number(item) if isinstance(
                    item, (int, float)) else go_json(item)
                lines.append('PARAMETER %s %s' % (key, modelfile_quote(text)))
        for text in self.licenses:
            lines.append('LICENSE %s' % modelfile_quote(text))
        return '\n'.join(lines) + '\n'

    def parameters_text(self):
        out = []
        for key, value in self.params.items():
            for item in value if isinstance(value, list) else [value]:
                out.append('%-30s %s' % (key, go_value(item)))
        return '\n'.join(out)


# ---- fault rules -------------------------------------------------------------------------------

def normalize_rule(rule):
    """A validated copy of a fault rule (ValueError if it is not one)."""
    if not isinstance(rule, dict):
        raise ValueError('a fault rule is an object, got %r' % (rule,))
    out = dict(rule)
    fault = out.get('fault')
    if fault not in FAULTS:
        raise ValueError('unknown fault %r (known: %s)' % (fault, ', '.join(FAULTS)))
    times = out.get('times', 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 0:
        raise ValueError('times must be an integer >= 0, got %r' % (times,))
    out['times'] = times
    if 'at' in out:
        at = out['at']
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at <= 1:
            raise ValueError('at must be a fraction 0..1, got %r' % (at,))
    if out.get('seconds') is not None:
        if isinstance(out['seconds'], bool) or not isinstance(out['seconds'], (int, float)) or out['seconds'] < 0:
            raise ValueError('seconds must be a number >= 0, got %r' % (out['seconds'],))
    if fault == 'status':
        status = out.get('status', 500)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError('status must be an HTTP status code, got %r' % (status,))
    for key in ('path', 'model', 'method', 'error'):
        if out.get(key) is not None and not isinstance(out[key], str):
            raise ValueError('%s must be a string, got %r' % (key, out[key]))
    if out.get('layer') is not None and out['layer'] not in FAULT_LAYERS:
        raise ValueError('layer must be one of %s, got %r' % (', '.join(FAULT_LAYERS), out['layer']))
    return out


def rule_matches(rule, method, path, models):
    want_path = rule.get('path')
    if want_path and want_path != '*':
        if want_path.endswith('*'):
            if not path.startswith(want_path[:-1]):
                return False
        elif want_path != path:
            return False
    want_method = rule.get('method')
    if want_method and want_method.upper() != method:
        return False
    want_model = rule.get('model')
    if want_model:
        wanted = parse_name(want_model)
        for candidate in models:
            if not isinstance(candidate, str):
                continue
            if candidate == want_model:
                return True
            parsed = parse_name(candidate)
            if parsed.is_valid() and wanted.is_valid() and parsed.parts() == wanted.parts():
                return True
        return False
    return True


class FaultBook(object):
    """In-memory rules (counted down, removed when used up) plus the optional rules file."""

    def __init__(self, faults_file=None):
        self.faults_file = faults_file
        self.rules = []          # [rule, remaining or None (unlimited)]
        self.file_used = {}
        self._file_warned = None
        self.lock = threading.Lock()

    def add(self, rule):
        rule = normalize_rule(rule)
        with self.lock:
            self.rules.append([rule, rule['times'] or None])
        return dict(rule)

    def set(self, rules):
        if isinstance(rules, dict) and 'faults' in rules:
            rules = rules['faults']
        if not isinstance(rules, list):
            raise ValueError('expected a list of fault rules')
        normalized = [normalize_rule(r) for r in rules]
        with self.lock:
            self.rules = [[r, r['times'] or None] for r in normalized]
        return self.list()

    def clear(self):
        with self.lock:
            self.rules = []

    def list(self):
        with self.lock:
            return [dict(rule, times=left or 0) for rule, left in self.rules]

    def _file_rules(self):
        if not self.faults_file or not os.path.exists(self.faults_file):
            return []
        try:
            with open(self.faults_file) as f:
                data = json.load(f)
            if isinstance(data, dict):
                data = data.get('faults', [])
            if not isinstance(data, list):
                raise ValueError('expected a list of rules')
            out = []
            for index, rule in enumerate(data):
                try:
                    out.append((index, rule, normalize_rule(rule)))
                except ValueError as e:
                    self._warn('rule %d ignored: %s' % (index, e))
            return out
        except (OSError, ValueError) as e:
            self._warn('cannot read %s: %s' % (self.faults_file, e))
            return []

    def _warn(self, msg):
        if msg != self._file_warned:
            sys.stderr.write('ollama-emulator: faults file: %s\n' % msg)
            self._file_warned = msg

    def take(self, method, path, models):
        """The rules that apply to this request (each counted down)."""
        taken = []
        with self.lock:
            keep = []
            for entry in self.rules:
                rule, left = entry
                if rule_matches(rule, method, path, models):
                    taken.append(dict(rule))
                    if left is not None:
                        entry[1] = left - 1
                        if entry[1] <= 0:
                            continue
                keep.append(entry)
            self.rules = keep
            for index, raw, rule in self._file_rules():
                key = '%d:%s' % (index, json.dumps(raw, sort_keys=True))
                used = self.file_used.get(key, 0)
                if rule['times'] and used >= rule['times']:
                    continue
                if rule_matches(rule, method, path, models):
                    self.file_used[key] = used + 1
                    taken.append(dict(rule))
        return taken


# ---- one request/response ------------------------------------------------------------------------

class Exchange(object):
    """A request being answered: body, faults, response state, log fields."""

    def __init__(self, handler, method, recorder=None):
        self.h = handler
        self.method = method
        self.recorder = recorder
        self.log_entry = None
        split = urllib.parse.urlsplit(handler.path)
        self.path = split.path
        self.query = urllib.parse.parse_qs(split.query)
        self.started = time.time()
        self.status = None
        self.outcome = 'complete'
        self.bytes = 0
        self.layers = []            # {"digest", "offset", "bytes"} of each layer this request transferred
        self.tokens = None          # inference requests: answer tokens generated (streaming: sent) so far
        self.rules = []
        self.body_raw = b''
        self.body = None
        self.body_error = None
        self.streaming = False
        self.finished = False

    # -- request -----------------------------------------------------------------------------
    def read_body(self):
        headers = self.h.headers
        if 'chunked' in (headers.get('Transfer-Encoding') or '').lower():
            chunks = []
            while True:
                line = self.h.rfile.readline()
                size = int(line.split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.h.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    break
                chunks.append(self.h.rfile.read(size))
                self.h.rfile.readline()
            data = b''.join(chunks)
        else:
            length = int(headers.get('Content-Length') or 0)
            data = self.h.rfile.read(length) if length > 0 else b''
        self.body_raw = data
        if data.strip():
            try:
                self.body = json.loads(data.decode('utf-8'))
            except (ValueError, UnicodeDecodeError) as e:
                self.body_error = _json_error_text(data, e)

    def json_body(self, type_name):
        """The body as an object, with the server's errors for a missing or bad one."""
        if not self.body_raw.strip():
            raise ApiError(400, 'missing request body')
        if self.body_error:
            raise ApiError(400, self.body_error)
        if not isinstance(self.body, dict):
            raise ApiError(400, 'json: cannot unmarshal %s into Go value of type api.%s' % (
                _go_kind(self.body), type_name))
        return self.body

    def models(self):
        """Names in the request, for fault rules."""
        body = self.body if isinstance(self.body, dict) else {}
        names = [body.get(k) for k in ('model', 'name', 'from', 'source', 'destination')]
        m = _V2_MANIFEST_RE.match(self.path)
        if m:
            names.append('%s/%s:%s' % (m.group('namespace'), m.group('model'), m.group('tag')))
        return [n for n in names if isinstance(n, str) and n]

    def has_fault(self, name):
        return any(rule['fault'] == name for rule in self.rules)

    # -- response ----------------------------------------------------------------------------
    @property
    def started_response(self):
        return self.status is not None

    def log_now(self):
        """Record the request before its last bytes go out, so a client that has read the whole
        response always finds it in the log."""
        if self.recorder is not None and self.log_entry is None:
            self.log_entry = self.recorder(self)

    def send(self, status, body=b'', content_type=None, headers=()):
        self.status = status
        if status >= 400:
            self.outcome = 'error'
        self.log_now()
        self.h.send_response(status)
        if content_type:
            self.h.send_header('Content-Type', content_type)
        for key, value in headers:
            self.h.send_header(key, value)
        self.h.send_header('Content-Length', str(len(body)))
        self.h.end_headers()
        if body and self.method != 'HEAD':
            self._write(body)
        else:
            self._flush()
        self.finished = True

    def send_json(self, status, obj):
        self.send(status, go_json(obj).encode('utf-8'), 'application/json; charset=utf-8')

    def send_error(self, status, message):
        self.send_json(status, {'error': message})

    def start_stream(self, content_type='application/x-ndjson'):
        self.status = 200
        self.streaming = True
        self.h.send_response(200)
        self.h.send_header('Content-Type', content_type)
        self.h.send_header('Transfer-Encoding', 'chunked')
        self.h.end_headers()
        self._flush()

    def write_chunk(self, data):
        if data:
            self._write(b'%x\r\n' % len(data) + data + b'\r\n')

    def stream_json(self, obj):
        if not self.streaming:
            self.start_stream()
        self.write_chunk((go_json(obj) + '\n').encode('utf-8'))

    def end_stream(self):
        self.log_now()
        self._write(b'0\r\n\r\n')
        self.finished = True

    def _flush(self):
        try:
            self.h.wfile.flush()
        except OSError:
            self.h.close_connection = True
            raise ClientGone()

    def _write(self, data):
        try:
            self.h.wfile.write(data)
            self.h.wfile.flush()
        except OSError:
            self.h.close_connection = True
            raise ClientGone()

    def drop(self):
        """Close the TCP connection now: what was sent stays sent, nothing else follows."""
        self.outcome = 'dropped'
        self.log_now()
        self.h.close_connection = True
        try:
            self.h.wfile.flush()
        except OSError:
            pass
        try:
            self.h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def client_gone(self):
        """True when the client has closed its side (EOF or error on the socket)."""
        sock = self.h.connection
        try:
            readable = select.select([sock], [], [], 0)[0]
            if not readable:
                return False
            return sock.recv(1, socket.MSG_PEEK) == b''
        except (OSError, ValueError):
            return True


def _json_error_text(data, err):
    """Roughly what Go's encoding/json says about a bad body (INVENTED in detail)."""
    text = data.decode('utf-8', 'replace')
    pos = getattr(err, 'pos', 0) or 0
    if pos >= len(text.rstrip()):
        return 'unexpected EOF'
    return 'invalid character %s looking for beginning of value' % ("'%s'" % text[pos])


class ProgressSink(object):
    """Where pull/create progress goes: NDJSON lines, or only the last one (stream: false)."""

    def __init__(self, ex, stream):
        self.ex = ex
        self.stream = stream
        self.last = None

    def send(self, obj):
        if self.stream:
            self.ex.stream_json(obj)
        else:
            self.last = obj

    def fail(self, message, status=None):
        self.ex.outcome = 'error'
        if self.stream and self.ex.streaming:
            self.ex.stream_json({'error': message})
            self.ex.end_stream()
            self.ex.outcome = 'error'
        else:
            # Nothing was written yet (or stream: false): the error's status, 500 by default.
            self.ex.send_error(status or 500, message)

    def done(self):
        if self.stream:
            self.ex.end_stream()
        else:
            self.ex.send_json(200, self.last or {})


def _str_field(req, key, type_name):
    value = req.get(key)
    if value is None:
        return ''
    if not isinstance(value, str):
        raise ApiError(400, 'json: cannot unmarshal %s into Go struct field %s.%s of type string' % (
            _go_kind(value), type_name, key))
    return value


def _bool_field(req, key, type_name, default=True):
    value = req.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(400, 'json: cannot unmarshal %s into Go struct field %s.%s of type bool' % (
            _go_kind(value), type_name, key))
    return value


_V2_MANIFEST_RE = re.compile(r'^/v2/(?P<namespace>[^/]+)/(?P<model>[^/]+)/manifests/(?P<tag>[^/]+)$')
_V1_MODEL_RE = re.compile(r'^/v1/models/(?P<model>.+)$')


# ---- the emulator ------------------------------------------------------------------------------

class Emulator(object):
    """All state of one emulated server, and the request handlers."""

    def __init__(self, models_dir=None, catalog=None, throughput=None, keep_alive=None,
                 faults_file=None, log_file=None, registry_file=None, noprune=False,
                 context_length=None, verbose=False, gpu='metal', gpu_total=None, system_memory=None,
                 chip=None, flash_attention=None, kv_cache_type=None, num_parallel=None,
                 max_loaded_models=None, no_cloud=False, load_rate=None, eval_rate=None, prompt_rate=None):
        if models_dir is None:
            models_dir = os.path.join(os.path.expanduser('~'), '.ollama', 'models')
        self.store = Store(models_dir)
        self.registry = Registry(catalog, registry_file)
        self.throughput = parse_throughput(throughput)
        self.keep_alive_ns = parse_env_keep_alive(keep_alive)
        self.faults = FaultBook(faults_file)
        self.log_file = log_file
        self.noprune = noprune
        self.verbose = verbose
        self.startup_warnings = []
        # The machine, read once at start as Ollama reads Metal's recommendedMaxWorkingSetSize.
        if str(gpu).lower() not in ('metal', 'none'):
            raise ValueError('gpu must be "metal" or "none", got %r' % (gpu,))
        self.on_gpu = str(gpu).lower() == 'metal'
        self.system_memory = parse_size(system_memory, REFERENCE_MEMSIZE, 'system memory')
        self.gpu_total = parse_size(gpu_total, stock_gpu_limit(self.system_memory), 'GPU total')
        self.chip = chip or REFERENCE_CHIP
        # Ollama's settings (envconfig): 0 / None mean the defaults, as in the environment.
        self.context_length = int(context_length or 0)
        if self.context_length < 0:
            raise ValueError('context_length must be >= 0, got %r' % (context_length,))
        self.default_ctx = default_num_ctx(self.vram_total)
        if flash_attention is not None and not isinstance(flash_attention, bool):
            raise ValueError('flash_attention must be None (auto), True or False, got %r' % (flash_attention,))
        self.flash_attention = flash_attention
        self.kv_cache_setting = kv_cache_type or ''
        self.kv_cache_type = self.kv_cache_setting.lower() or 'f16'
        if self.kv_cache_type not in KV_CACHE_TYPES:
            # INVENTED: the emulator knows the documented types only and falls back to f16.
            self.startup_warnings.append(('WARN', 'server.go:1', 'unsupported KV cache type, using f16',
                                          [('type', self.kv_cache_setting)]))
            self.kv_cache_type = 'f16'
        self.num_parallel_setting = int(1 if num_parallel is None else num_parallel)
        self.num_parallel = max(1, self.num_parallel_setting)
        self.max_loaded_setting = int(max_loaded_models or 0)
        self.max_loaded = self.max_loaded_setting or MODELS_PER_GPU
        self.no_cloud = bool(no_cloud)
        self.load_rate = parse_size(load_rate, DEFAULT_LOAD_RATE, 'load rate')
        # Generation speed (INVENTED knobs): tokens/s, 0 = instant. Read by each request as it starts.
        self.eval_rate = parse_rate(eval_rate, 'eval rate')
        self.prompt_rate = parse_rate(prompt_rate, 'prompt rate')
        self.requests = []
        self.partials = {}          # digest -> bytes on disk, for the downloads running now
        self.loaded = {}
        self.loading = {}
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.log_lock = threading.Lock()
        self.download_locks = {}
        self.stopping = threading.Event()
        self._ids = 0

    @property
    def vram_total(self):
        """What Ollama counts as VRAM: the GPU total on Metal, nothing on the CPU."""
        return self.gpu_total if self.on_gpu else 0

    @property
    def capacity(self):
        """The memory loaded models must fit in: the GPU total, or on the CPU the Mac's RAM
        (INVENTED: the real CPU path compares with free system memory)."""
        return self.gpu_total if self.on_gpu else self.system_memory

    def log(self, level, source, msg, attrs=()):
        """A server log line on stderr (verbose only, i.e. `ollama serve`)."""
        if self.verbose:
            with self.log_lock:
                sys.stderr.write(slog_line(level, source, msg, attrs))
                sys.stderr.flush()

    def config_values(self, host_url):
        """The OLLAMA_* values this server uses, as the "server config" line prints them (a subset
        of envconfig.Values(); OLLAMA_FLASH_ATTENTION prints FlashAttention(false), i.e. false when
        unset: inferred from the code, ollama-role.md 3)."""
        return {
            'OLLAMA_CONTEXT_LENGTH': str(self.context_length),
            'OLLAMA_FLASH_ATTENTION': 'true' if self.flash_attention else 'false',
            'OLLAMA_HOST': host_url,
            'OLLAMA_KEEP_ALIVE': go_duration(self.keep_alive_ns),
            'OLLAMA_KV_CACHE_TYPE': self.kv_cache_setting,
            'OLLAMA_MAX_LOADED_MODELS': str(self.max_loaded_setting),
            'OLLAMA_MODELS': self.store.root,
            'OLLAMA_NO_CLOUD': 'true' if self.no_cloud else 'false',
            'OLLAMA_NOPRUNE': 'true' if self.noprune else 'false',
            'OLLAMA_NUM_PARALLEL': str(self.num_parallel_setting),
        }

    def startup_lines(self, listen_addr, host_url):
        """What `ollama serve` logs at start (macos-formats-provisioning.md 9.1), as text lines."""
        lines = [slog_line(*w) for w in self.startup_warnings]
        lines.append(slog_line('INFO', 'routes.go:1951', 'server config',
                               [('env', go_map(self.config_values(host_url)))]))
        if self.no_cloud:
            # The wording is the reference's (ollama-role.md 3); level, source and place INVENTED.
            lines.append(slog_line('INFO', 'routes.go:1956', 'Ollama cloud disabled: true'))
        lines.append(slog_line('INFO', 'routes.go:1718', 'Listening on %s (version %s)' % (listen_addr, VERSION)))
        lines.append(slog_line('INFO', 'runner.go:67', 'discovering available GPUs...'))
        total = human_bytes2(self.capacity)
        if self.on_gpu:
            lines.append(slog_line('INFO', 'types.go:42', 'inference compute', [
                ('id', '0'), ('filter_id', '0'), ('library', 'Metal'), ('compute', '0.0'), ('name', 'Metal'),
                ('description', self.chip), ('libdirs', ''), ('driver', '0.0'), ('pci_id', ''),
                ('type', 'discrete'), ('total', total), ('available', total)]))
        else:
            # INVENTED (the reference has no CPU-only line): the shape of Ollama's CPU device entry.
            lines.append(slog_line('INFO', 'types.go:42', 'inference compute', [
                ('id', 'cpu'), ('library', 'cpu'), ('compute', ''), ('name', 'cpu'), ('description', 'cpu'),
                ('libdirs', 'ollama'), ('driver', ''), ('pci_id', ''), ('type', ''), ('total', total),
                ('available', total)]))
        lines.append(slog_line('INFO', 'routes.go:1768', 'vram-based default context', [
            ('total_vram', human_bytes2(self.vram_total)), ('default_num_ctx', self.default_ctx)]))
        return lines

    # -- local models ------------------------------------------------------------------------
    def load_model(self, name):
        if not isinstance(name, ModelName):
            name = parse_name(name)
        if not name.is_valid():
            return None
        with self.lock:
            found = self.store.read_manifest(name)
            if not found:
                return None
            try:
                return LocalModel(self.store, name, found[0], found[1])
            except (ValueError, UnicodeDecodeError, KeyError, TypeError):
                return None

    def local_models(self):
        out = []
        for name in self.store.names():
            m = self.load_model(name)
            if m is not None:
                out.append(m)
        out.sort(key=lambda m: m.modified_ns, reverse=True)
        return out

    def install(self, name, revision=None):
        """Write a registry model's blobs and manifest as a completed pull would."""
        name = parse_name(name) if not isinstance(name, ModelName) else name
        reg = self.registry.lookup(name, revision)
        if reg is None:
            raise KeyError('%s (revision %s) is not in the catalogue' % (name.display_shortest(), revision))
        with self.lock:
            for layer in reg.layers():
                if not self.store.has_blob(layer['digest']):
                    self.store.write_blob(layer['digest'], reg.blobs[layer['digest']])
            old = self.store.read_manifest(name)
            self.store.write_manifest(name, reg.manifest_bytes)
            if old:
                self._prune_old(old[0], reg.manifest)
        return reg.digest

    def _prune_old(self, old_bytes, new_manifest):
        try:
            old = json.loads(old_bytes.decode('utf-8'))
        except ValueError:
            return []
        stale = set(layer['digest'] for layer in manifest_layers(old))
        stale -= set(layer['digest'] for layer in manifest_layers(new_manifest))
        return self.store.remove_unreferenced(stale)

    # -- loaded models (/api/ps) ---------------------------------------------------------------
    def _num_ctx(self, m, options):
        """(context, automatic): the request's num_ctx, else the Modelfile's, else
        OLLAMA_CONTEXT_LENGTH, else the VRAM-based default; capped at the trained context."""
        value = None
        for source in (options or {}, m.params):
            candidate = source.get('num_ctx')
            if isinstance(candidate, (int, float)) and not isinstance(candidate, bool) and int(candidate) > 0:
                value = int(candidate)
                break
        auto = value is None and not self.context_length
        if value is None:
            value = self.context_length or self.default_ctx
        trained = m.context_length()
        if trained and value > trained:
            if not auto:
                # Attribute names INVENTED; the message is llm/server.go's (ollama-role.md 3).
                self.log('WARN', 'server.go:176', 'requested context size too large for model',
                         [('num_ctx', value), ('n_ctx_train', int(trained))])
            value = int(trained)
        return value, auto

    def weights(self, m):
        """The model's weights: what a real /api/tags reports for it (catalogue reported_size),
        else the size of its model blob."""
        layer = m.model_layer or {}
        return self.registry.reported_size(layer.get('digest')) or int(layer.get('size', 0))

    def estimate(self, m, ctx):
        """The memory a runner of `m` with context `ctx` takes: weights + KV cache + compute."""
        blocks, kv_heads, head_dim = model_geometry(m.kv)
        weights = self.weights(m)
        kv = kv_cache_bytes(ctx, self.num_parallel, blocks, kv_heads, head_dim, self.kv_cache_type)
        return {'ctx': ctx, 'weights': weights, 'kv': kv, 'compute': COMPUTE_BYTES,
                'total': weights + kv + COMPUTE_BYTES}

    def _refuse(self, m, message):
        self.log('INFO', 'sched.go:450', 'Load failed', [('model', m.model_path), ('error', message)])
        raise ApiError(500, message)

    def _plan(self, m, ctx, auto):
        """The budget of a load that fits (lock held), or ApiError. An automatic context that does
        not fit is retried once with the next lower tier, as reduceAutoNumCtxForLoadOOM does."""
        if self.flash_attention is False and self.kv_cache_type != 'f16':
            # llama.cpp's refusal (ollama-role.md 3; ollama#15043); Ollama's prefix for a runner
            # that died while loading is the one users report (INVENTED as far as the reference goes).
            self._refuse(m, 'llama runner process has terminated: llama_init_from_model: '
                            'V cache quantization requires flash_attn')
        attempts = [ctx]
        if auto and lower_context_tier(ctx):
            attempts.append(lower_context_tier(ctx))
        for attempt in attempts:
            plan = self.estimate(m, attempt)
            if plan['total'] <= self.capacity:
                return plan
        # INVENTED for Metal: the text and status are Ollama's memory refusal (500), as users
        # report it (e.g. ollama#10920, ollama#12692); the reference has no refusal text.
        return self._refuse(m, 'model requires more system memory (%s) than is available (%s)' % (
            human_bytes2(plan['total']), human_bytes2(self.capacity)))

    def _make_room(self, plan):
        """Unload the least recently used idle models until `plan` fits beside the others and under
        OLLAMA_MAX_LOADED_MODELS (lock held). False: only loads in progress or models answering a
        request are in the way (the caller waits: Ollama's scheduler waits for a busy runner to
        finish before it unloads it)."""
        while True:
            used = sum(v['size'] for v in self.loaded.values()) + sum(p['total'] for p in self.loading.values())
            count = len(self.loaded) + len(self.loading)
            if used + plan['total'] <= self.capacity and count < self.max_loaded:
                return True
            idle = [k for k, v in self.loaded.items() if not v['refs']]
            if not idle:
                return False
            victim = min(idle, key=lambda k: self.loaded[k]['used_ns'])
            del self.loaded[victim]

    def _wait(self):
        self.cond.wait(PROGRESS_INTERVAL)
        if self.stopping.is_set():
            raise ClientGone()

    def _load(self, m, keep_alive_ns, options):
        """Load (or refresh) a model for a request: (the load time in ns, or None when it was loaded
        already; the runner). A load takes weights / load_rate seconds and /api/ps lists it only
        then. The runner counts the request as using it until _release(runner, keep_alive_ns)."""
        key = m.name.full()
        ctx, auto = self._num_ctx(m, options)
        with self.cond:
            while True:
                self._expire()
                if key in self.loading:
                    self._wait()
                    continue
                now = time.time_ns()
                current = self.loaded.get(key)
                if current is not None and (current['digest'], current['requested_ctx'], current['auto']) == (
                        m.digest, ctx, auto):
                    current['expires_ns'] = now + keep_alive_ns
                    current['used_ns'] = now
                    current['refs'] += 1
                    return None, current
                if current is not None and current['refs']:
                    self._wait()             # another digest or context, but busy: wait for it
                    continue
                if current is not None:      # another digest or context: a new runner
                    del self.loaded[key]
                plan = self._plan(m, ctx, auto)
                if self._make_room(plan):
                    self.loading[key] = plan
                    break
                self._wait()
        started = time.monotonic()
        runner = None
        try:
            if self.stopping.wait(plan['weights'] / float(self.load_rate)):
                raise ClientGone()
        finally:
            with self.cond:
                self.loading.pop(key, None)
                if not self.stopping.is_set():
                    now = time.time_ns()
                    runner = self.loaded[key] = {
                        'name': m.name.display_shortest(), 'model': m.name.display_shortest(),
                        'size': plan['total'], 'digest': m.digest, 'details': m.details(),
                        'expires_ns': now + keep_alive_ns, 'used_ns': now,
                        'size_vram': plan['total'] if self.on_gpu else 0, 'context_length': plan['ctx'],
                        'requested_ctx': ctx, 'auto': auto, 'key': key, 'refs': 1,
                    }
                self.cond.notify_all()
        seconds = time.monotonic() - started
        self.log('INFO', 'server.go:1289', 'llama runner started in %.2f seconds' % seconds)
        return max(1, int(seconds * 1e9)), runner

    def _release(self, runner, keep_alive_ns):
        """A request is done with its runner (complete, failed or cancelled): as Ollama's scheduler
        does when a runner's last request ends, keep_alive 0 unloads it, otherwise its keep-alive
        starts again from now. A client that went away leaves the model loaded."""
        with self.cond:
            runner['refs'] = max(0, runner['refs'] - 1)
            if self.loaded.get(runner['key']) is runner and not runner['refs']:
                if keep_alive_ns == 0:
                    del self.loaded[runner['key']]
                else:
                    now = time.time_ns()
                    runner['expires_ns'] = now + keep_alive_ns
                    runner['used_ns'] = now
            self.cond.notify_all()

    def _unload(self, name):
        with self.cond:
            self.loaded.pop(name.full(), None)
            self.cond.notify_all()

    def _expire(self):
        now = time.time_ns()
        for key in [k for k, v in self.loaded.items() if v['expires_ns'] <= now and not v['refs']]:
            del self.loaded[key]

    def running(self):
        with self.lock:
            self._expire()
            entries = sorted(self.loaded.values(), key=lambda v: v['expires_ns'], reverse=True)
            return [{'name': v['name'], 'model': v['model'], 'size': v['size'], 'digest': v['digest'],
                     'details': v['details'], 'expires_at': go_time(v['expires_ns']),
                     'size_vram': v['size_vram'], 'context_length': v['context_length']}
                    for v in entries]

    # -- request log ---------------------------------------------------------------------------
    def record(self, ex):
        """Log a request (once); a later change of outcome updates the in-memory entry."""
        layers = [dict(layer) for layer in ex.layers]
        if ex.log_entry is not None:
            ex.log_entry.update(status=ex.status, outcome=ex.outcome, bytes=ex.bytes, layers=layers,
                                tokens=ex.tokens)
            return ex.log_entry
        entry = {'ts': ex.started, 'method': ex.method, 'path': ex.path, 'body': ex.body,
                 'status': ex.status, 'outcome': ex.outcome, 'bytes': ex.bytes, 'layers': layers,
                 'tokens': ex.tokens, 'faults': [rule['fault'] for rule in ex.rules],
                 'duration': round(time.time() - ex.started, 4)}
        with self.log_lock:
            self.requests.append(entry)
            if self.log_file:
                try:
                    with open(self.log_file, 'a') as f:
                        f.write(json.dumps(entry, sort_keys=True) + '\n')
                except OSError as e:
                    sys.stderr.write('ollama-emulator: cannot write %s: %s\n' % (self.log_file, e))
        if self.verbose:
            sys.stderr.write('[GIN] %s | %3s | %12s | %15s | %-7s %s\n' % (
                time.strftime('%Y/%m/%d - %H:%M:%S'), ex.status if ex.status is not None else '-',
                '%.3fms' % ((time.time() - ex.started) * 1000), ex.h.client_address[0],
                ex.method, go_quote(ex.path)))
            sys.stderr.flush()
        return entry

    # -- dispatch ------------------------------------------------------------------------------
    def handle(self, handler, method):
        ex = Exchange(handler, method)
        control = ex.path.startswith('/_emulator/') or ex.path == '/_emulator'
        if not control:
            ex.recorder = self.record
        try:
            ex.read_body()
        except (OSError, ValueError):
            handler.close_connection = True
            return
        if control:
            try:
                self.control(ex)
            except ApiError as e:
                if not ex.started_response:
                    ex.send_error(e.status, e.message)
            except ClientGone:
                pass
            return
        try:
            self._handle(ex)
        except ApiError as e:
            if not ex.started_response:
                ex.send_error(e.status, e.message)
            else:
                ex.outcome = 'error'
                handler.close_connection = True
        except Dropped:
            ex.drop()
        except ClientGone:
            ex.outcome = 'client_gone'
            handler.close_connection = True
        except Exception as e:  # a bug in the emulator: answer 500 and say so on stderr
            traceback.print_exc()
            ex.outcome = 'error'
            if not ex.started_response:
                try:
                    ex.send_error(500, 'emulator error: %s' % e)
                except ClientGone:
                    pass
            handler.close_connection = True
        finally:
            self.record(ex)

    def _handle(self, ex):
        ex.rules = self.faults.take(ex.method, ex.path, ex.models())
        for rule in ex.rules:
            if rule['fault'] == 'slow_start':
                self._sleep(ex, float(rule.get('seconds', 1) if rule.get('seconds') is not None else 1))
        for rule in ex.rules:
            if rule['fault'] == 'status':
                ex.send_error(int(rule.get('status', 500)), rule.get('error') or 'injected fault')
                return
        if ex.has_fault('drop') and ex.path not in ('/api/pull', '/api/create'):
            raise Dropped()
        route = self._route(ex.method, ex.path)
        if route is None:
            ex.send(404, b'404 page not found', 'text/plain')
            return
        route(ex)

    def _route(self, method, path):
        get = method in ('GET', 'HEAD')
        if path == '/' and get:
            return self.h_root
        if path == '/api/version' and get:
            return self.h_version
        if path == '/api/tags' and get:
            return self.h_tags
        if path == '/api/ps' and method == 'GET':
            return self.h_ps
        if method == 'POST':
            return {'/api/pull': self.h_pull, '/api/show': self.h_show, '/api/create': self.h_create,
                    '/api/copy': self.h_copy, '/api/generate': self.h_generate,
                    '/api/chat': self.h_chat, '/v1/chat/completions': self.h_v1_chat}.get(path)
        if method == 'DELETE' and path == '/api/delete':
            return self.h_delete
        if method == 'GET' and path == '/v1/models':
            return self.h_v1_models
        if method == 'GET' and _V1_MODEL_RE.match(path):
            return self.h_v1_model
        if get and _V2_MANIFEST_RE.match(path):
            return self.h_v2_manifest
        return None

    def _sleep(self, ex, seconds):
        """Sleep, but notice a stopping server or a client that went away."""
        deadline = time.monotonic() + seconds
        while True:
            if ex.client_gone():
                raise ClientGone()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.stopping.wait(min(left, PROGRESS_INTERVAL)):
                raise ClientGone()

    # -- simple endpoints ----------------------------------------------------------------------
    def h_root(self, ex):
        ex.send(200, b'Ollama is running', 'text/plain; charset=utf-8')

    def h_version(self, ex):
        ex.send_json(200, {'version': VERSION})

    def listed_size(self, m):
        """/api/tags size: the manifest's layers, with the model blob counted at the weights a real Ollama lists
        for that model (catalogue reported_size; the stand-in blob is a few MiB), so `ollama list` and what reads
        it (a model's size against the memory bandwidth) see a 70B model's 42.5 GB."""
        layer = m.model_layer or {}
        return m.size - int(layer.get('size', 0)) + self.weights(m) if layer else m.size

    def h_tags(self, ex):
        models = [{'name': m.name.display_shortest(), 'model': m.name.display_shortest(),
                   'modified_at': go_time(m.modified_ns), 'size': self.listed_size(m), 'digest': m.digest,
                   'details': m.details(parent=False)} for m in self.local_models()]
        ex.send_json(200, {'models': models})

    def h_ps(self, ex):
        ex.send_json(200, {'models': self.running()})

    def h_show(self, ex):
        req = ex.json_body('ShowRequest')
        raw = _str_field(req, 'model', 'ShowRequest') or _str_field(req, 'name', 'ShowRequest')
        if not raw:
            raise ApiError(400, 'model is required')
        name = parse_name(raw)
        if not name.is_valid():
            raise ApiError(400, 'invalid model name')
        m = self.load_model(name)
        if m is None:
            raise ApiError(404, "model '%s' not found" % raw)
        resp = {}
        if m.licenses:
            resp['license'] = '\n'.join(m.licenses)
        resp['modelfile'] = m.modelfile()
        params = m.parameters_text()
        if params:
            resp['parameters'] = params
        resp['template'] = m.template or '{{ .Prompt }}'
        system = _str_field(req, 'system', 'ShowRequest') or m.system
        if system:
            resp['system'] = system
        resp['details'] = m.details()
        info = dict((k, v) for k, v in m.kv.items()
                    if k not in ('general.name', 'tokenizer.chat_template') and not k.startswith('emulator.'))
        resp['model_info'] = dict(sorted(info.items()))
        if m.projector_paths:
            # INVENTED for the reference: Ollama's ShowResponse.projector_info, the projector's header.
            kv = read_gguf_kv(m.projector_paths[0])
            resp['projector_info'] = dict(sorted((k, v) for k, v in kv.items() if not k.startswith('emulator.')))
        resp['capabilities'] = m.capabilities()
        resp['modified_at'] = go_time(m.modified_ns)
        ex.send_json(200, resp)

    def h_copy(self, ex):
        req = ex.json_body('CopyRequest')
        src_raw = _str_field(req, 'source', 'CopyRequest')
        dst_raw = _str_field(req, 'destination', 'CopyRequest')
        src = parse_name(src_raw)
        if not src.is_valid():
            raise ApiError(400, 'source %s is invalid' % go_quote(src_raw))
        dst = parse_name(dst_raw)
        if not dst.is_valid():
            raise ApiError(400, 'destination %s is invalid' % go_quote(dst_raw))
        with self.lock:
            found = self.store.read_manifest(src)
            if not found:
                raise ApiError(404, 'model %s not found' % go_quote(src_raw))
            old = self.store.read_manifest(dst)
            self.store.write_manifest(dst, found[0])
            if old and old[0] != found[0]:
                self._prune_old(old[0], json.loads(found[0].decode('utf-8')))
        ex.send(200)

    def h_delete(self, ex):
        req = ex.json_body('DeleteRequest')
        raw = _str_field(req, 'model', 'DeleteRequest') or _str_field(req, 'name', 'DeleteRequest')
        name = parse_name(raw)
        if not name.is_valid():
            raise ApiError(400, 'name %s is invalid' % go_quote(raw))
        with self.lock:
            found = self.store.read_manifest(name)
            if not found:
                raise ApiError(404, "model '%s' not found" % raw)
            self.store.delete_manifest(name)
            try:
                manifest = json.loads(found[0].decode('utf-8'))
                self.store.remove_unreferenced(layer['digest'] for layer in manifest_layers(manifest))
            except ValueError:
                pass
            # INVENTED: a deleted model also disappears from /api/ps.
            self._unload(name)
        ex.send(200)

    # -- pull ------------------------------------------------------------------------------------
    def h_pull(self, ex):
        req = ex.json_body('PullRequest')
        raw = _str_field(req, 'model', 'PullRequest') or _str_field(req, 'name', 'PullRequest')
        stream = _bool_field(req, 'stream', 'PullRequest')
        name = parse_name(raw)
        if not name.is_valid():
            raise ApiError(400, 'invalid model name')
        sink = ProgressSink(ex, stream)
        try:
            self._pull(sink, ex, name)
        except PullFailed as e:
            sink.fail(e.message, e.status)
            return
        sink.send({'status': 'success'})
        sink.done()

    def _pull(self, sink, ex, name):
        sink.send({'status': 'pulling manifest'})
        reg = None if ex.has_fault('unknown_model') else self.registry.lookup(name)
        if reg is None:
            raise PullFailed('pull model manifest: file does not exist')
        old = self.store.read_manifest(name)
        # Transfer faults and digest_mismatch act on the layer their rule names (default the model).
        targeted = {}
        for rule in ex.rules:
            layer = reg.layer_of(rule.get('layer') or 'model')
            if layer is not None:
                targeted.setdefault(layer['digest'], []).append(rule)
        downloaded = []
        for layer in reg.layers():
            rules = [r for r in targeted.get(layer['digest'], []) if r['fault'] in TRANSFER_FAULTS]
            if self._fetch_layer(sink, ex, reg, layer, rules):
                downloaded.append(layer['digest'])
        sink.send({'status': 'verifying sha256 digest'})
        for digest in downloaded:
            # The sha256 of what was received (the registry's bytes unless a test changed them),
            # or with the digest_mismatch fault that of a corrupted download.
            if any(r['fault'] == 'digest_mismatch' for r in targeted.get(digest, [])):
                got = _sha256(b'ollama-emulator corrupted download of ' + digest.encode())
            else:
                got = _sha256(self.store.read_blob(digest) or b'')
            if got != digest:
                # The blob (and any partial of it) is removed and nothing is registered.
                with self.lock:
                    try:
                        os.unlink(self.store.blob_path(digest))
                    except OSError:
                        pass
                    self.store.discard_partial(digest)
                raise PullFailed('digest mismatch, file must be downloaded again: want %s, got %s' % (digest, got))
        sink.send({'status': 'writing manifest'})
        stale = []
        with self.lock:
            self.store.write_manifest(name, reg.manifest_bytes)
            if old:
                try:
                    old_manifest = json.loads(old[0].decode('utf-8'))
                    stale = set(layer['digest'] for layer in manifest_layers(old_manifest))
                    stale -= set(layer['digest'] for layer in reg.layers())
                except ValueError:
                    stale = []
        if stale and not self.noprune:
            sink.send({'status': 'removing unused layers'})
            with self.lock:
                self.store.remove_unreferenced(stale)

    def _download_lock(self, digest):
        with self.lock:
            lock = self.download_locks.get(digest)
            if lock is None:
                lock = self.download_locks[digest] = threading.Lock()
            return lock

    def _fetch_layer(self, sink, ex, reg, layer, rules):
        """Download one layer unless present; True when this request downloaded it."""
        digest = layer['digest']
        total = layer['size']

        def progress(completed):
            line = {'status': 'pulling %s' % digest[7:19], 'digest': digest, 'total': total}
            if completed:
                line['completed'] = completed
            return line

        if self.store.has_blob(digest):
            sink.send(progress(total))
            return False
        lock = self._download_lock(digest)
        # Another request is downloading this blob: follow its progress, as Ollama does.
        while not lock.acquire(timeout=PROGRESS_INTERVAL):
            if self.stopping.is_set() or ex.client_gone():
                raise ClientGone()
            with self.lock:
                running = self.partials.get(digest)
            sink.send(progress(min(total, self.store.partial_size(digest) if running is None else running)))
        try:
            if self.store.has_blob(digest):
                sink.send(progress(total))
                return False
            self._transfer(sink, ex, reg, layer, rules, progress)
            return True
        finally:
            lock.release()

    def _transfer(self, sink, ex, reg, layer, rules, progress):
        """Send the rest of one blob into its partial (from where a valid partial ends), then rename
        the partial to the blob."""
        digest = layer['digest']
        data = reg.blobs[digest]
        completed = self.store.resume_partial(digest, data)
        record = {'digest': digest, 'offset': completed, 'bytes': 0}
        ex.layers.append(record)
        points = []
        for index, rule in enumerate(rules):
            at = float(rule.get('at', 0.5))
            points.append((min(layer['size'], int(round(at * layer['size']))), index, rule))
        points.sort(key=lambda p: (p[0], p[1]))
        with self.lock:
            self.partials[digest] = completed
        try:
            with open(self.store.partial_path(digest), 'ab') as f:
                self._send_into(f, sink, ex, digest, data, completed, points, record, progress)
            with self.lock:
                self.store.commit_partial(digest)
        finally:
            with self.lock:
                self.partials.pop(digest, None)
        sink.send(progress(len(data)))

    def _send_into(self, f, sink, ex, digest, data, completed, points, record, progress):
        """The transfer at the server's throughput, with the faults at their points. Every step (at
        most PROGRESS_INTERVAL of bytes) is written and flushed before its progress line goes out,
        so a killed server loses nothing it reported."""
        total = len(data)
        sink.send(progress(completed))
        last_sent = time.monotonic()
        next_point = 0
        while True:
            while next_point < len(points) and completed >= points[next_point][0]:
                rule = points[next_point][2]
                next_point += 1
                self._fire(sink, ex, rule, digest, completed, progress)
                last_sent = time.monotonic()
            if completed >= total:
                return
            target = total
            if next_point < len(points):
                target = min(total, points[next_point][0])
            rate = float(max(1, self.throughput))
            need = (target - completed) / rate
            step = min(PROGRESS_INTERVAL, need)
            self._sleep(ex, step)
            if step >= need:
                new = target
            else:
                new = min(target, completed + max(1, int(rate * step)))
            f.write(data[completed:new])
            f.flush()
            ex.bytes += new - completed
            record['bytes'] += new - completed
            completed = new
            with self.lock:
                self.partials[digest] = completed
            now = time.monotonic()
            if now - last_sent >= PROGRESS_INTERVAL * 0.95 and completed < total:
                sink.send(progress(completed))
                last_sent = now

    def _fire(self, sink, ex, rule, digest, completed, progress):
        fault = rule['fault']
        if fault == 'drop':
            sink.send(progress(completed))
            raise Dropped()
        if fault == 'disk_full':
            raise PullFailed('write %s-partial: no space left on device' % self.store.blob_path(digest))
        if fault == 'stall':
            seconds = rule.get('seconds')
            deadline = None if seconds is None else time.monotonic() + float(seconds)
            while deadline is None or time.monotonic() < deadline:
                sink.send(progress(completed))
                left = PROGRESS_INTERVAL if deadline is None else min(PROGRESS_INTERVAL, deadline - time.monotonic())
                if left > 0:
                    self._sleep(ex, left)

    # -- create ----------------------------------------------------------------------------------
    def h_create(self, ex):
        req = ex.json_body('CreateRequest')
        raw = _str_field(req, 'model', 'CreateRequest') or _str_field(req, 'name', 'CreateRequest')
        stream = _bool_field(req, 'stream', 'CreateRequest')
        frm = _str_field(req, 'from', 'CreateRequest')
        for key in ('system', 'template'):
            _str_field(req, key, 'CreateRequest')
        params = req.get('parameters')
        if params is not None and not isinstance(params, dict):
            raise ApiError(400, 'json: cannot unmarshal %s into Go struct field CreateRequest.parameters '
                           'of type map[string]interface {}' % _go_kind(params))
        name = parse_name(raw)
        if not name.is_valid():
            raise ApiError(400, 'invalid model name')
        sink = ProgressSink(ex, stream)
        try:
            if not frm:
                if req.get('files'):
                    # INVENTED: the emulator only derives models from other models.
                    raise PullFailed('the Ollama emulator cannot create models from files', 400)
                raise PullFailed("neither 'from' or 'files' was specified", 400)
            base_name = parse_name(frm)
            if not base_name.is_valid():
                raise PullFailed('invalid model name', 400)
            base = self.load_model(base_name)
            if base is None:
                # Ollama pulls a base that is not local.
                self._pull(sink, ex, base_name)
                base = self.load_model(base_name)
                if base is None:
                    raise PullFailed("model '%s' not found" % frm)
            self._create(sink, name, base, req)
        except PullFailed as e:
            sink.fail(e.message, e.status)
            return
        sink.send({'status': 'success'})
        sink.done()

    def _create(self, sink, name, base, req):
        sink.send({'status': 'reading model metadata'})
        from_name = base.name.display_shortest()
        layers = []
        for layer in base.layers:
            layers.append({'mediaType': layer['mediaType'], 'digest': layer['digest'],
                           'size': layer['size'], 'from': from_name})
        new = []
        if req.get('template'):
            new.append(('template', MT_TEMPLATE, [req['template'].encode('utf-8')]))
        if req.get('system'):
            new.append(('system', MT_SYSTEM, [req['system'].encode('utf-8')]))
        lic = req.get('license')
        if lic:
            texts = lic if isinstance(lic, list) else [lic]
            new.append(('license', MT_LICENSE, [str(t).encode('utf-8') for t in texts]))
        params = dict(req.get('parameters') or {})
        for key, value in base.params.items():
            params.setdefault(key, value)
        if params:
            new.append(('parameters', MT_PARAMS, [params_blob(params)]))
        for kind, media_type, blobs in new:
            layers = [layer for layer in layers if layer['mediaType'] != media_type]
            sink.send({'status': 'creating %s layer' % kind})
            for data in blobs:
                digest = self._write_layer(sink, data)
                layers.append({'mediaType': media_type, 'digest': digest, 'size': len(data)})
        config = dict(base.config)
        config['rootfs'] = {'type': 'layers', 'diff_ids': [layer['digest'] for layer in layers]}
        config_bytes = (go_json(config) + '\n').encode('utf-8')
        config_digest = self._write_layer(sink, config_bytes)
        manifest = {'schemaVersion': 2, 'mediaType': MT_MANIFEST,
                    'config': {'mediaType': MT_CONFIG, 'digest': config_digest, 'size': len(config_bytes)},
                    'layers': layers}
        sink.send({'status': 'writing manifest'})
        data = (json.dumps(manifest, separators=(',', ':')) + '\n').encode('utf-8')
        with self.lock:
            old = self.store.read_manifest(name)
            self.store.write_manifest(name, data)
            if old and not self.noprune:
                self._prune_old(old[0], manifest)

    def _write_layer(self, sink, data):
        digest = _sha256(data)
        with self.lock:
            exists = self.store.has_blob(digest)
            if not exists:
                self.store.write_blob(digest, data)
        sink.send({'status': '%s %s' % ('using already created layer' if exists else 'writing layer', digest)})
        return digest

    # -- generate / chat ---------------------------------------------------------------------------
    def _tokens(self, options):
        """The answer's tokens and done_reason. num_predict below the canned reply's length cuts it
        ("length"); INVENTED: a num_predict above it repeats the canned reply up to num_predict
        tokens (at most MAX_ANSWER_TOKENS), as a model that has more to say, also "length" (so a
        test can ask for N tokens). Without num_predict (or <= 0): the canned reply, "stop"."""
        tokens = re.findall(r'\S+\s*', CANNED_REPLY)
        reason = 'stop'
        limit = (options or {}).get('num_predict')
        if isinstance(limit, (int, float)) and not isinstance(limit, bool) and 0 < limit < len(tokens):
            tokens = tokens[:int(limit)]
            reason = 'length'
        elif (isinstance(limit, (int, float)) and not isinstance(limit, bool) and math.isfinite(limit)
              and int(limit) > len(tokens)):
            wanted = min(int(limit), MAX_ANSWER_TOKENS)
            one = re.findall(r'\S+\s*', CANNED_REPLY + ' ')
            tokens = (one * (wanted // len(one) + 1))[:wanted]
            tokens[-1] = tokens[-1].rstrip()
            reason = 'length'
        return tokens, reason

    def _rates(self):
        """(eval_rate, prompt_rate) for a request that starts now (a later change does not affect it)."""
        with self.lock:
            return self.eval_rate, self.prompt_rate

    def rates(self):
        with self.lock:
            return {'eval_rate': self.eval_rate, 'prompt_rate': self.prompt_rate}

    def set_rates(self, eval_rate=None, prompt_rate=None):
        """Change the rates given (None: keep); both are checked before either changes."""
        new_eval = self.eval_rate if eval_rate is None else parse_rate(eval_rate, 'eval rate')
        new_prompt = self.prompt_rate if prompt_rate is None else parse_rate(prompt_rate, 'prompt rate')
        with self.lock:
            self.eval_rate, self.prompt_rate = new_eval, new_prompt
        return self.rates()

    def _metrics(self, load_ns, prompt_tokens, eval_tokens, rates=(0.0, 0.0)):
        """The final object's timings. With a rate set, its duration is count / rate exactly (to the
        ns), so tokens/s computed from them is the configured rate (INVENTED: Ollama measures;
        without a rate the fixed 50 / 500 tokens/s of EVAL_NS_PER_TOKEN / PROMPT_NS_PER_TOKEN)."""
        eval_rate, prompt_rate = rates
        load = 2000000 if load_ns is None else max(LOAD_NS, load_ns)
        if prompt_rate > 0:
            prompt_ns = int(round(prompt_tokens * 1e9 / prompt_rate))
        else:
            prompt_ns = prompt_tokens * PROMPT_NS_PER_TOKEN
        if eval_rate > 0:
            eval_ns = int(round(eval_tokens * 1e9 / eval_rate))
        else:
            eval_ns = eval_tokens * EVAL_NS_PER_TOKEN
        return {'total_duration': load + prompt_ns + eval_ns + 1000000, 'load_duration': load,
                'prompt_eval_count': prompt_tokens, 'prompt_eval_duration': prompt_ns,
                'eval_count': eval_tokens, 'eval_duration': eval_ns}

    def _generate(self, ex, tokens, prompt_tokens, rates):
        """The answer's tokens at the rates, as a generator (INVENTED timing model: constant rates).
        First the prompt evaluation, prompt_tokens / prompt_rate s with nothing sent (Ollama's
        streamResponse writes the status line with the first chunk); then token i (from 0) at
        (i + 1) / eval_rate s after the evaluation, on a schedule from its end (no drift). While it
        waits, a client that closed its connection (EOF on the socket) or a stopping server raises
        ClientGone at once, as the request context of Go's net/http is cancelled when the
        connection reads EOF (gateway.md 2.2 and 8, S04/S05). Rates of 0 do not wait (nor look)."""
        eval_rate, prompt_rate = rates
        if prompt_rate > 0 and prompt_tokens > 0:
            self._sleep(ex, prompt_tokens / prompt_rate)
        begun = time.monotonic()
        for i, token in enumerate(tokens):
            if eval_rate > 0:
                self._sleep(ex, begun + (i + 1) / eval_rate - time.monotonic())
            yield token

    def _answer(self, ex, tokens, prompt_tokens, rates):
        """The whole answer of a non-streamed request, after the total time (ex.tokens counts)."""
        out = []
        for token in self._generate(ex, tokens, prompt_tokens, rates):
            out.append(token)
            ex.tokens = len(out)
        return ''.join(out)

    def _inference_request(self, ex, type_name):
        ex.tokens = 0
        req = ex.json_body(type_name)
        raw = _str_field(req, 'model', type_name)
        stream = _bool_field(req, 'stream', type_name)
        keep_alive = self.keep_alive_ns
        if req.get('keep_alive') is not None:
            try:
                keep_alive = parse_keep_alive(req['keep_alive'])
            except ValueError as e:
                raise ApiError(400, str(e))
        options = req.get('options')
        if options is not None and not isinstance(options, dict):
            raise ApiError(400, 'json: cannot unmarshal %s into Go struct field %s.options of type '
                           'map[string]interface {}' % (_go_kind(options), type_name))
        return req, raw, stream, keep_alive, options or {}

    def h_generate(self, ex):
        req, raw, stream, keep_alive, options = self._inference_request(ex, 'GenerateRequest')
        prompt = _str_field(req, 'prompt', 'GenerateRequest')
        name = parse_name(raw)
        m = self.load_model(name) if name.is_valid() else None
        if m is None:
            raise ApiError(404, "model '%s' not found" % raw)
        empty = not prompt and not req.get('images')
        if empty and keep_alive == 0:
            self._unload(m.name)
            ex.send_json(200, {'model': raw, 'created_at': go_time(utc=True), 'response': '',
                               'done': True, 'done_reason': 'unload'})
            return
        rates = self._rates()
        load_ns, runner = self._load(m, keep_alive, options)
        try:
            if empty:
                ex.send_json(200, {'model': raw, 'created_at': go_time(utc=True), 'response': '',
                                   'done': True, 'done_reason': 'load'})
                return
            tokens, reason = self._tokens(options)
            prompt_tokens = len(prompt.split()) + len((m.system or '').split()) + 10
            final = {'model': raw, 'created_at': None, 'response': '', 'done': True, 'done_reason': reason,
                     'context': list(range(1, prompt_tokens + len(tokens) + 1))}
            final.update(self._metrics(load_ns, prompt_tokens, len(tokens), rates))
            if stream:
                for token in self._generate(ex, tokens, prompt_tokens, rates):
                    ex.stream_json({'model': raw, 'created_at': go_time(utc=True), 'response': token,
                                    'done': False})
                    ex.tokens += 1
                final['created_at'] = go_time(utc=True)
                ex.stream_json(final)
                ex.end_stream()
            else:
                final['response'] = self._answer(ex, tokens, prompt_tokens, rates)
                final['created_at'] = go_time(utc=True)
                ex.send_json(200, final)
        finally:
            if runner is not None:
                self._release(runner, keep_alive)

    def _chat_common(self, ex, type_name):
        req, raw, stream, keep_alive, options = self._inference_request(ex, type_name)
        messages = req.get('messages')
        if messages is not None and not isinstance(messages, list):
            raise ApiError(400, 'json: cannot unmarshal %s into Go struct field %s.messages of type '
                           '[]api.Message' % (_go_kind(messages), type_name))
        name = parse_name(raw)
        if not name.is_valid():
            raise ApiError(400, 'model is required')
        m = self.load_model(name)
        if m is None:
            raise ApiError(404, "model '%s' not found" % raw)
        return req, raw, stream, keep_alive, options, messages or [], m

    def _prompt_tokens(self, m, messages):
        words = 0
        for msg in messages:
            if isinstance(msg, dict) and isinstance(msg.get('content'), str):
                words += len(msg['content'].split()) + 4
        return words + len((m.system or '').split()) + 6

    def h_chat(self, ex):
        req, raw, stream, keep_alive, options, messages, m = self._chat_common(ex, 'ChatRequest')
        if not messages and keep_alive == 0:
            self._unload(m.name)
            ex.send_json(200, {'model': raw, 'created_at': go_time(utc=True),
                               'message': {'role': 'assistant', 'content': ''},
                               'done_reason': 'unload', 'done': True})
            return
        rates = self._rates()
        load_ns, runner = self._load(m, keep_alive, options)
        try:
            if not messages:
                ex.send_json(200, {'model': raw, 'created_at': go_time(utc=True),
                                   'message': {'role': 'assistant', 'content': ''},
                                   'done_reason': 'load', 'done': True})
                return
            tokens, reason = self._tokens(options)
            prompt_tokens = self._prompt_tokens(m, messages)
            metrics = self._metrics(load_ns, prompt_tokens, len(tokens), rates)
            if stream:
                for token in self._generate(ex, tokens, prompt_tokens, rates):
                    ex.stream_json({'model': raw, 'created_at': go_time(utc=True),
                                    'message': {'role': 'assistant', 'content': token}, 'done': False})
                    ex.tokens += 1
                final = {'model': raw, 'created_at': go_time(utc=True),
                         'message': {'role': 'assistant', 'content': ''}, 'done_reason': reason, 'done': True}
                final.update(metrics)
                ex.stream_json(final)
                ex.end_stream()
            else:
                content = self._answer(ex, tokens, prompt_tokens, rates)
                final = {'model': raw, 'created_at': go_time(utc=True),
                         'message': {'role': 'assistant', 'content': content},
                         'done_reason': reason, 'done': True}
                final.update(metrics)
                ex.send_json(200, final)
        finally:
            if runner is not None:
                self._release(runner, keep_alive)

    # -- OpenAI compatibility ------------------------------------------------------------------------
    @staticmethod
    def _openai_error(ex, status, message):
        kind = {400: 'invalid_request_error', 404: 'not_found_error'}.get(status, 'api_error')
        ex.send_json(status, {'error': {'message': message, 'type': kind, 'param': None, 'code': None}})

    def h_v1_models(self, ex):
        data = [{'id': m.name.display_shortest(), 'object': 'model', 'created': m.modified_ns // 1000000000,
                 'owned_by': m.name.namespace} for m in self.local_models()]
        ex.send_json(200, {'object': 'list', 'data': data})

    def h_v1_model(self, ex):
        raw = urllib.parse.unquote(_V1_MODEL_RE.match(ex.path).group('model'))
        m = self.load_model(raw)
        if m is None:
            self._openai_error(ex, 404, "model '%s' not found" % raw)
            return
        ex.send_json(200, {'id': raw, 'object': 'model', 'created': m.modified_ns // 1000000000,
                           'owned_by': m.name.namespace})

    def h_v1_chat(self, ex):
        try:
            req, raw, _stream, keep_alive, options, messages, m = self._chat_common(ex, 'ChatRequest')
        except ApiError as e:
            self._openai_error(ex, e.status, e.message)
            return
        stream = req.get('stream') is True
        if isinstance(req.get('max_tokens'), int):
            options = dict(options, num_predict=req['max_tokens'])
        rates = self._rates()
        try:
            runner = self._load(m, keep_alive, options)[1]
        except ApiError as e:
            self._openai_error(ex, e.status, e.message)
            return
        try:
            self._v1_chat_answer(ex, req, raw, stream, options, messages, m, rates)
        finally:
            if runner is not None:
                self._release(runner, keep_alive)

    def _v1_chat_answer(self, ex, req, raw, stream, options, messages, m, rates):
        tokens, reason = self._tokens(options)
        prompt_tokens = self._prompt_tokens(m, messages)
        with self.lock:
            self._ids += 1
            ident = 'chatcmpl-%d' % (100 + self._ids)
        created = int(time.time())
        usage = {'prompt_tokens': prompt_tokens, 'completion_tokens': len(tokens),
                 'total_tokens': prompt_tokens + len(tokens)}
        if not stream:
            content = self._answer(ex, tokens, prompt_tokens, rates)
            ex.send_json(200, {'id': ident, 'object': 'chat.completion', 'created': created, 'model': raw,
                               'system_fingerprint': 'fp_ollama',
                               'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': content},
                                            'finish_reason': reason}],
                               'usage': usage})
            return

        def event(delta, finish):
            if not ex.streaming:
                ex.start_stream('text/event-stream')
            chunk = {'id': ident, 'object': 'chat.completion.chunk', 'created': created, 'model': raw,
                     'system_fingerprint': 'fp_ollama',
                     'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish}]}
            ex.write_chunk(('data: %s\n\n' % go_json(chunk)).encode('utf-8'))

        for token in self._generate(ex, tokens, prompt_tokens, rates):
            event({'role': 'assistant', 'content': token}, None)
            ex.tokens += 1
        event({'role': 'assistant', 'content': ''}, reason)
        opts = req.get('stream_options')
        if isinstance(opts, dict) and opts.get('include_usage'):
            chunk = {'id': ident, 'object': 'chat.completion.chunk', 'created': created, 'model': raw,
                     'system_fingerprint': 'fp_ollama', 'choices': [], 'usage': usage}
            ex.write_chunk(('data: %s\n\n' % go_json(chunk)).encode('utf-8'))
        ex.write_chunk(b'data: [DONE]\n\n')
        ex.end_stream()

    # -- the registry's manifest endpoint -------------------------------------------------------------
    def h_v2_manifest(self, ex):
        m = _V2_MANIFEST_RE.match(ex.path)
        name = ModelName(DEFAULT_REGISTRY_HOST, m.group('namespace'), m.group('model'), m.group('tag'))
        reg = None if ex.has_fault('unknown_model') or not name.is_valid() else self.registry.lookup(name)
        if reg is None:
            # INVENTED body: the OCI distribution error shape.
            ex.send_json(404, {'errors': [{'code': 'MANIFEST_UNKNOWN', 'message': 'manifest unknown',
                                           'detail': {'Tag': m.group('tag')}}]})
            return
        ex.send(200, reg.manifest_bytes, MT_MANIFEST,
                headers=[('Docker-Content-Digest', 'sha256:' + reg.digest)])

    # -- control endpoints -------------------------------------------------------------------------
    def control(self, ex):
        path, method = ex.path.rstrip('/'), ex.method
        body = ex.body
        if ex.body_error:
            raise ApiError(400, ex.body_error)
        try:
            if path == '/_emulator/requests':
                if method == 'GET':
                    with self.log_lock:
                        ex.send_json(200, list(self.requests))
                    return
                if method == 'DELETE':
                    with self.log_lock:
                        self.requests = []
                    ex.send_json(200, [])
                    return
            elif path == '/_emulator/faults':
                if method == 'GET':
                    ex.send_json(200, self.faults.list())
                    return
                if method == 'PUT':
                    ex.send_json(200, self.faults.set(body if body is not None else []))
                    return
                if method == 'POST':
                    for rule in body if isinstance(body, list) else [body]:
                        self.faults.add(rule)
                    ex.send_json(200, self.faults.list())
                    return
                if method == 'DELETE':
                    self.faults.clear()
                    ex.send_json(200, [])
                    return
            elif path == '/_emulator/registry':
                if method == 'GET':
                    ex.send_json(200, self.registry.describe())
                    return
                if method == 'PUT':
                    if not isinstance(body, dict) or 'model' not in body or 'revision' not in body:
                        raise ApiError(400, 'expected {"model": NAME, "revision": N}')
                    try:
                        reg = self.registry.set_revision(body['model'], body['revision'])
                    except KeyError as e:
                        raise ApiError(404, str(e.args[0]))
                    ex.send_json(200, {'model': body['model'], 'revision': reg.revision, 'digest': reg.digest})
                    return
            elif path == '/_emulator/throughput':
                if method == 'GET':
                    ex.send_json(200, {'bytes_per_second': self.throughput})
                    return
                if method == 'PUT':
                    if not isinstance(body, dict) or 'bytes_per_second' not in body:
                        raise ApiError(400, 'expected {"bytes_per_second": N}')
                    self.throughput = parse_throughput(body['bytes_per_second'])
                    ex.send_json(200, {'bytes_per_second': self.throughput})
                    return
            elif path == '/_emulator/rates':
                if method == 'GET':
                    ex.send_json(200, self.rates())
                    return
                if method == 'PUT':
                    if (not isinstance(body, dict) or not body
                            or any(key not in ('eval_rate', 'prompt_rate') for key in body)):
                        raise ApiError(400, 'expected {"eval_rate": N, "prompt_rate": M} (either or both)')
                    ex.send_json(200, self.set_rates(**body))
                    return
            elif path == '/_emulator/install':
                if method in ('POST', 'PUT'):
                    if not isinstance(body, dict) or not isinstance(body.get('model'), str):
                        raise ApiError(400, 'expected {"model": NAME, "revision": N (optional)}')
                    try:
                        digest = self.install(body['model'], body.get('revision'))
                    except KeyError as e:
                        raise ApiError(404, str(e.args[0]))
                    ex.send_json(200, {'model': body['model'], 'digest': digest})
                    return
            else:
                raise ApiError(404, 'no such control endpoint: %s' % ex.path)
        except ValueError as e:
            raise ApiError(400, str(e))
        raise ApiError(405, 'method %s not allowed on %s' % (method, ex.path))


# ---- HTTP server ---------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    timeout = 600

    def send_response(self, code, message=None):
        # Like Go's net/http: no Server header, no access line here (the emulator logs).
        self.send_response_only(code, message)
        self.send_header('Date', self.date_time_string())

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        if self.server.emulator.verbose:
            sys.stderr.write('ollama-emulator: %s - %s\n' % (self.address_string(), format % args))

    def _do(self):
        self.server.emulator.handle(self, self.command)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _do


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Ollama is a Go server: net.Listen uses the kernel's somaxconn as the backlog, not socketserver's 5, with
    # which a burst of connections (a gateway in front, 32 clients) overflowed the accept queue and the kernel
    # reset connections whose request had already been sent (Caddy: "read: connection reset by peer", 502).
    request_queue_size = socket.SOMAXCONN

    def __init__(self, address, emulator):
        if ':' in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._connections = set()
        self._connections_lock = threading.Lock()
        http.server.ThreadingHTTPServer.__init__(self, address, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind would resolve the host name (slow without DNS).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        http.server.ThreadingHTTPServer.process_request(self, request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        http.server.ThreadingHTTPServer.shutdown_request(self, request)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer(object):
    """A running emulator (see start())."""

    def __init__(self, emulator, httpd, thread):
        self.emulator = emulator
        self._httpd = httpd
        self._thread = thread
        self.host = httpd.server_address[0]
        self.port = httpd.server_address[1]
        self._stopped = False

    @property
    def url(self):
        host = self.host
        if host in ('', '0.0.0.0'):
            host = '127.0.0.1'
        elif host == '::':
            host = '::1'
        if ':' in host:
            host = '[%s]' % host
        return 'http://%s:%d' % (host, self.port)

    @property
    def models_dir(self):
        return self.emulator.store.root

    @property
    def listen_addr(self):
        """HOST:PORT as Go's ln.Addr() prints it ([::]:11434 for IPv6)."""
        host = '[%s]' % self.host if ':' in self.host else self.host
        return '%s:%d' % (host, self.port)

    def startup_log(self, host_url=None):
        """The lines `ollama serve` writes on stderr at start (a list of text lines); host_url is
        OLLAMA_HOST as configured (default: where it listens)."""
        return self.emulator.startup_lines(self.listen_addr, host_url or 'http://' + self.listen_addr)

    @property
    def requests(self):
        with self.emulator.log_lock:
            return [dict(entry, layers=[dict(layer) for layer in entry['layers']]) for entry in self.emulator.requests]

    def clear_requests(self):
        with self.emulator.log_lock:
            self.emulator.requests = []

    def add_fault(self, **rule):
        return self.emulator.faults.add(rule)

    def set_faults(self, rules):
        return self.emulator.faults.set(list(rules))

    def clear_faults(self):
        self.emulator.faults.clear()

    @property
    def faults(self):
        return self.emulator.faults.list()

    def set_registry_revision(self, name, revision):
        return self.emulator.registry.set_revision(name, revision).digest

    def registry_revision(self, name):
        return self.emulator.registry.revision(name)

    def registry_digest(self, name, revision=None):
        reg = self.emulator.registry.lookup(name, revision)
        if reg is None:
            raise KeyError('%s is not in the catalogue' % name)
        return reg.digest

    def set_throughput(self, bytes_per_second):
        self.emulator.throughput = parse_throughput(bytes_per_second)

    def set_rates(self, eval_rate=None, prompt_rate=None):
        """Tokens/s for requests that start from now on (None: unchanged); returns rates."""
        return self.emulator.set_rates(eval_rate=eval_rate, prompt_rate=prompt_rate)

    @property
    def rates(self):
        return self.emulator.rates()

    def install(self, name, revision=None):
        return self.emulator.install(name, revision)

    def loaded(self):
        return self.emulator.running()

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        self.emulator.stopping.set()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return '<ollama emulator %s models=%s>' % (self.url, self.models_dir)


def start(host='127.0.0.1', port=0, models_dir=None, throughput=None, keep_alive=None, catalog=None,
          faults_file=None, log_file=None, registry_file=None, noprune=False, context_length=None,
          verbose=False, gpu='metal', gpu_total=None, system_memory=None, chip=None, flash_attention=None,
          kv_cache_type=None, num_parallel=None, max_loaded_models=None, no_cloud=False, load_rate=None,
          eval_rate=None, prompt_rate=None):
    """Start an emulator on a background thread; returns an EmulatorServer."""
    emulator = Emulator(models_dir=models_dir, catalog=catalog, throughput=throughput,
                        keep_alive=keep_alive, faults_file=faults_file, log_file=log_file,
                        registry_file=registry_file, noprune=noprune, context_length=context_length,
                        verbose=verbose, gpu=gpu, gpu_total=gpu_total, system_memory=system_memory,
                        chip=chip, flash_attention=flash_attention, kv_cache_type=kv_cache_type,
                        num_parallel=num_parallel, max_loaded_models=max_loaded_models,
                        no_cloud=no_cloud, load_rate=load_rate, eval_rate=eval_rate,
                        prompt_rate=prompt_rate)
    httpd = _HTTPServer((host, int(port)), emulator)
    if not emulator.noprune:
        # PruneLayers at start (security.md 4); after the bind, so a port in use prunes nothing
        # (the order is INVENTED as far as the reference goes).
        emulator.store.prune()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.05},
                              name='ollama-emulator', daemon=True)
    thread.start()
    return EmulatorServer(emulator, httpd, thread)


# ---- CLI -------------------------------------------------------------------------------------------

def parse_ollama_host(value):
    """OLLAMA_HOST like envconfig.Host(): (scheme, host, port)."""
    value = (value or '').strip()
    default_port = DEFAULT_PORT
    scheme, sep, hostport = value.partition('://')
    if not sep:
        scheme, hostport = 'http', value
    elif scheme == 'http':
        default_port = 80
    elif scheme == 'https':
        default_port = 443
    hostport = hostport.split('/', 1)[0]
    host, port = None, None
    m = re.fullmatch(r'\[([^\]]*)\]:([^:]*)', hostport) or re.fullmatch(r'([^:]*):([^:]*)', hostport)
    if m:
        host, port = m.group(1), m.group(2)
    else:
        host, port = '127.0.0.1', str(default_port)
        if hostport:
            host = hostport.strip('[]')
    try:
        port = int(port)
        if not 0 <= port <= 65535:
            raise ValueError()
    except ValueError:
        port = default_port
    return scheme, host, port


def _client_base():
    scheme, host, port = parse_ollama_host(os.environ.get('OLLAMA_HOST', ''))
    if host == '':
        host = '127.0.0.1'
    if ':' in host:
        host = '[%s]' % host
    return '%s://%s:%d' % (scheme, host, port)


def _client_get(path, timeout=5):
    with urllib.request.urlopen(_client_base() + path, timeout=timeout) as resp:
        return json.loads(resp.read().decode('utf-8'))


def _table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ''.join('    '.join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + '\n'
                   for row in rows)


def cmd_version():
    try:
        server_version = _client_get('/api/version').get('version', '')
    except (OSError, ValueError):
        server_version = ''
        print('Warning: could not connect to a running Ollama instance')
    if server_version:
        print('ollama version is %s' % server_version)
    if server_version != VERSION:
        print('Warning: client version is %s' % VERSION)
    return 0


def _not_running():
    sys.stderr.write("Error: could not connect to ollama server, run 'ollama serve' to start it\n")
    return 1


def cmd_list():
    try:
        models = _client_get('/api/tags').get('models', [])
    except (OSError, ValueError):
        return _not_running()
    rows = [['NAME', 'ID', 'SIZE', 'MODIFIED']]
    for m in models:
        modified = _parse_go_time(m.get('modified_at'))
        rows.append([m['name'], m['digest'][:12], human_bytes(m['size']),
                     human_time(modified) if modified else 'Never'])
    sys.stdout.write(_table(rows))
    return 0


def _client_stream(path, body, timeout=3600):
    """POST body to the server and yield each JSON line of its streamed answer."""
    request = urllib.request.Request(_client_base() + path, data=json.dumps(body).encode('utf-8'),
                                     headers={'Content-Type': 'application/json'}, method='POST')
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        for line in resp:
            line = line.strip()
            if line:
                yield json.loads(line.decode('utf-8'))


def _client_run(path, body):
    """A streaming request as the CLI makes it: progress on stderr, exit 1 on an error (INVENTED: the
    real CLI draws progress bars; only the statuses are printed here)."""
    try:
        last = None
        for event in _client_stream(path, body):
            if event.get('error'):
                sys.stderr.write('Error: %s\n' % event['error'])
                return 1
            status = event.get('status')
            if status and status != last:
                sys.stderr.write(status + '\n')
                last = status
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read().decode('utf-8')).get('error') or str(e)
        except ValueError:
            message = str(e)
        sys.stderr.write('Error: %s\n' % message)
        return 1
    except (OSError, ValueError):
        return _not_running()
    return 0


def cmd_pull(args):
    """`ollama pull MODEL`: POST /api/pull, as the real CLI does."""
    parser = argparse.ArgumentParser(prog='ollama pull')
    parser.add_argument('model')
    parser.add_argument('--insecure', action='store_true')
    ns = parser.parse_args(args)
    return _client_run('/api/pull', {'model': ns.model, 'insecure': ns.insecure, 'stream': True})


def parse_modelfile(text):
    """FROM and PARAMETER lines of a Modelfile as /api/create's `from` and `parameters` (what today's CLI
    sends); other instructions are not simulated (INVENTED: they are ignored)."""
    body, parameters = {}, {}
    for line in text.splitlines():
        parts = line.strip().split(None, 2)
        if not parts or parts[0].startswith('#'):
            continue
        word = parts[0].upper()
        if word == 'FROM' and len(parts) >= 2:
            body['from'] = line.strip().split(None, 1)[1].strip()
        elif word == 'PARAMETER' and len(parts) == 3:
            value = parts[2].strip()
            try:
                value = int(value)
            except ValueError:
                try:
                    value = float(value)
                except ValueError:
                    pass
            parameters[parts[1]] = value
    if parameters:
        body['parameters'] = parameters
    return body


def cmd_create(args):
    """`ollama create MODEL -f Modelfile`: the Modelfile's FROM and PARAMETERs as POST /api/create."""
    parser = argparse.ArgumentParser(prog='ollama create')
    parser.add_argument('model')
    parser.add_argument('-f', '--file', default='Modelfile')
    ns = parser.parse_args(args)
    try:
        with open(ns.file) as handle:
            body = parse_modelfile(handle.read())
    except OSError as e:
        sys.stderr.write('Error: %s\n' % e)
        return 1
    if 'from' not in body:
        sys.stderr.write('Error: no FROM line\n')
        return 1
    body.update(model=ns.model, stream=True)
    return _client_run('/api/create', body)


def processor(model):
    """The PROCESSOR column of `ollama ps`: 100% GPU, 100% CPU or "N%/M% CPU/GPU"."""
    size, vram = model.get('size') or 0, model.get('size_vram') or 0
    if vram >= size:
        return '100% GPU'
    if vram == 0:
        return '100% CPU'
    cpu = int(round(100.0 * (size - vram) / size))
    return '%d%%/%d%% CPU/GPU' % (cpu, 100 - cpu)


def cmd_ps():
    try:
        models = _client_get('/api/ps').get('models', [])
    except (OSError, ValueError):
        return _not_running()
    rows = [['NAME', 'ID', 'SIZE', 'PROCESSOR', 'CONTEXT', 'UNTIL']]
    for m in models:
        until = _parse_go_time(m.get('expires_at'))
        rows.append([m['name'], m['digest'][:12], human_bytes(m['size']), processor(m),
                     str(m.get('context_length', '')), human_time(until) if until else 'Forever'])
    sys.stdout.write(_table(rows))
    return 0


def _parse_go_time(text):
    """Epoch seconds of an RFC 3339 time (as go_time writes it), or None."""
    if not isinstance(text, str):
        return None
    m = re.fullmatch(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)', text)
    if not m:
        return None
    dt = datetime.datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S')
    tz = m.group(3)
    offset = 0 if tz == 'Z' else (1 if tz[0] == '+' else -1) * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    dt = dt.replace(tzinfo=datetime.timezone(datetime.timedelta(seconds=offset)))
    return dt.timestamp() + float(m.group(2) or 0)


# What Go prints when envconfig.Models() panics without HOME (ollama#8756, ollama-role.md 2.2);
# the goroutine trace after the first line is INVENTED and shortened.
GO_PANIC_HOME = ('panic: $HOME is not defined\n\n'
                 'goroutine 1 [running]:\n'
                 'github.com/ollama/ollama/envconfig.Models()\n'
                 '\tgithub.com/ollama/ollama/envconfig/config.go:103 +0x1c8\n')


class HomeNotDefined(Exception):
    """Neither OLLAMA_MODELS nor HOME: os.UserHomeDir() fails and Ollama panics."""


def serve_settings(env, probe=probe_mac):
    """(start() arguments, WARN lines to log first, an emulator note or None) for `ollama serve`."""
    warnings = []
    models_dir = env_var(env, 'OLLAMA_MODELS')
    if not models_dir:
        if not env.get('HOME'):
            raise HomeNotDefined()
        models_dir = os.path.join(env['HOME'], '.ollama', 'models')
    host, port = parse_ollama_host(env.get('OLLAMA_HOST', ''))[1:]
    facts, why = probe(env.get('PATH'))
    note = None
    if facts is None:
        # INVENTED: outside a (simulated) Mac the emulator stands for the seed's Mac Studio.
        facts = {'memsize': REFERENCE_MEMSIZE, 'wired_limit_mb': 0, 'chip': REFERENCE_CHIP}
        note = 'ollama-emulator: no Mac sysctl (%s): a %d GiB %s\n' % (why, REFERENCE_MEMSIZE // GIB, REFERENCE_CHIP)
    gpu_total = parse_size(env.get('OLLAMA_EMULATOR_GPU_TOTAL') or None,
                           gpu_limit(facts['memsize'], facts['wired_limit_mb']), 'OLLAMA_EMULATOR_GPU_TOTAL')
    kwargs = {
        'host': host, 'port': port, 'models_dir': models_dir,
        'throughput': env.get('OLLAMA_EMULATOR_THROUGHPUT') or None,
        'keep_alive': env.get('OLLAMA_KEEP_ALIVE') or None,
        'catalog': env.get('OLLAMA_EMULATOR_CATALOG') or None,
        'faults_file': env.get('OLLAMA_EMULATOR_FAULTS') or None,
        'log_file': env.get('OLLAMA_EMULATOR_LOG') or None,
        'registry_file': env.get('OLLAMA_EMULATOR_REGISTRY') or None,
        'noprune': bool(env_bool(env, 'OLLAMA_NOPRUNE')),
        'context_length': env_uint(env, 'OLLAMA_CONTEXT_LENGTH', 0, warnings),
        'flash_attention': env_bool(env, 'OLLAMA_FLASH_ATTENTION'),
        'kv_cache_type': env_var(env, 'OLLAMA_KV_CACHE_TYPE') or None,
        'num_parallel': env_uint(env, 'OLLAMA_NUM_PARALLEL', 1, warnings),
        'max_loaded_models': env_uint(env, 'OLLAMA_MAX_LOADED_MODELS', 0, warnings),
        'no_cloud': bool(env_bool(env, 'OLLAMA_NO_CLOUD')),
        'gpu': (env.get('OLLAMA_EMULATOR_GPU') or 'metal').strip().lower(),
        'gpu_total': gpu_total, 'system_memory': facts['memsize'], 'chip': facts['chip'],
        'load_rate': env.get('OLLAMA_EMULATOR_LOAD_RATE') or None,
        'eval_rate': env.get('OLLAMA_EMULATOR_EVAL_RATE') or None,
        'prompt_rate': env.get('OLLAMA_EMULATOR_PROMPT_RATE') or None,
        'verbose': True,
    }
    return kwargs, warnings, note


def cmd_serve(args, env=None):
    env = os.environ if env is None else env
    try:
        kwargs, warnings, note = serve_settings(env)
    except HomeNotDefined:
        sys.stderr.write(GO_PANIC_HOME)
        return 2
    except ValueError as e:
        sys.stderr.write('Error: %s\n' % e)
        return 1
    host, port = kwargs['host'], kwargs['port']
    try:
        server = start(**kwargs)
    except OSError as e:
        shown = '[%s]' % host if ':' in host else host
        sys.stderr.write('Error: listen tcp %s:%d: bind: %s\n' % (
            shown, port, (e.strerror or str(e)).lower()))
        return 1
    except ValueError as e:
        sys.stderr.write('Error: %s\n' % e)
        return 1
    shown = '[%s]' % host if ':' in host else host
    lines = [slog_line(*w) for w in warnings] + ([note] if note else [])
    lines += server.startup_log('http://%s:%d' % (shown, port))
    sys.stderr.write(''.join(lines))
    sys.stderr.flush()
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


USAGE = """Large language model runner (Ollama API emulator, version %s)

Usage:
  ollama [flags]
  ollama [command]

Available Commands:
  serve       Start ollama
  create      Create a model from a Modelfile
  pull        Pull a model from a registry
  list        List models
  ps          List running models

Flags:
  -h, --help      help for ollama
  -v, --version   Show version information
""" % VERSION


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ('-h', '--help', 'help'):
        sys.stdout.write(USAGE)
        return 0
    if argv[0] in ('-v', '--version'):
        return cmd_version()
    command, rest = argv[0], argv[1:]
    if command == 'serve':
        parser = argparse.ArgumentParser(prog='ollama serve')
        parser.parse_args(rest)
        return cmd_serve(rest)
    if command in ('list', 'ls'):
        return cmd_list()
    if command == 'ps':
        return cmd_ps()
    if command == 'pull':
        return cmd_pull(rest)
    if command == 'create':
        return cmd_create(rest)
    sys.stderr.write('macsim: ollama %s is not simulated\n' % ' '.join(argv))
    return 2


if __name__ == '__main__':
    sys.exit(main())
