#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ollama_fit
short_description: Check that Ollama models, their context and KV cache fit the Mac's GPU memory and disk
version_added: 0.1.0
description:
  - Plans the memory of the models an Ollama server is to run on an Apple Silicon Mac, before anything is
    downloaded (O(phase=plan)) or after the pull (O(phase=loaded)), and fails naming every number when they do not fit.
  - Each loaded model is its own llama-server runner holding its weights, a KV cache of context x O(num_parallel)
    tokens (layers x KV heads x head dimension x 2 for K and V x the bytes per element of O(kv_cache_type)), and
    Ollama's 2 GiB compute budget. That total must fit under the GPU limit, the preloaded models together too,
    and the layers not yet on disk must fit in the free space of O(models_dir), keeping a 10 GiB margin.
  - The GPU limit is O(gpu_limit_mb), else C(iogpu.wired_limit_mb) when it is not 0, else macOS's default working
    set for the Mac's memory (measured 107.52 GiB for 128 GiB, 48 GiB for 64 GiB, 2/3 for 32 and 16 GiB; other
    sizes 2/3 below 64 GiB and 3/4 from 64 GiB, an estimate that errs low). One C(sysctl -n hw.memsize
    iogpu.wired_limit_mb) reads it.
  - A model's context is its C(num_ctx) parameter, else the one the model already has, else O(context_length)
    (the server's C(OLLAMA_CONTEXT_LENGTH)), else Ollama's default for the GPU memory (262144 from 47 GiB, 32768
    from 23 GiB, else 4096), and never more than the model's trained context.
  - When something does not fit, the message says by how much and what would make it fit - a smaller
    O(kv_cache_type), fewer O(num_parallel) slots, a shorter context, or a C(iogpu.wired_limit_mb) value, offered
    only when it leaves at least 8 GiB to macOS (otherwise the message says it cannot fit on this Mac).
  - Changes nothing.
author:
  - llmhost.macos developers (@llmhost)
attributes:
  platform:
    description: The module reads the memory of the Mac it runs on (C(sysctl)) and its models directory.
    platforms: darwin
    support: full
extends_documentation_fragment:
  - llmhost.macos.attributes.read_only
  - llmhost.macos.ollama
options:
  models:
    description:
      - The models to plan, as given to M(llmhost.macos.ollama_model). Entries with O(models[].state=absent) are left out.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The model, as C([host/][namespace/]model[:tag]), for example C(llama3.3:70b).
        type: str
        required: true
      from:
        description:
          - The base model of a derived model (see M(llmhost.macos.ollama_model)). Before the derived model exists,
            its weights and architecture are those of the base.
        type: str
      parameters:
        description:
          - The model's parameters; only C(num_ctx) is used, the context window in tokens per slot.
        type: dict
      preload:
        description:
          - The model is kept loaded (C(keep_alive) of M(llmhost.macos.ollama_model)); the preloaded models must fit together.
        type: bool
        default: false
      state:
        description: As in M(llmhost.macos.ollama_model); V(absent) leaves the model out of the plan.
        type: str
        choices: [present, latest, absent]
        default: present
      architecture:
        description:
          - The model's architecture, for a model that is neither in the models directory nor known to the module
            (C(llama3.3:70b) and C(llama3.3:latest) are). Without it, the KV cache of such a model is checked after
            the pull, with O(phase=loaded). What the model's own GGUF header says comes first.
        type: dict
        suboptions:
          layers:
            description: Number of layers (GGUF C(<arch>.block_count)).
            type: int
            required: true
          kv_heads:
            description: Number of KV heads (GGUF C(<arch>.attention.head_count_kv)).
            type: int
            required: true
          head_dim:
            description: Dimension of a head (GGUF C(<arch>.attention.key_length), or embedding length / heads).
            type: int
            required: true
          context_length:
            description: The trained context (GGUF C(<arch>.context_length)); a larger context is capped at it, as Ollama does.
            type: int
  kv_cache_type:
    description:
      - The server's C(OLLAMA_KV_CACHE_TYPE). V(q8_0) takes about half the memory of V(f16), V(q4_0) about a quarter.
      - A quantized type needs flash attention; with O(flash_attention=false) the module fails before reading anything.
    type: str
    choices: [f16, q8_0, q4_0]
    default: f16
  flash_attention:
    description:
      - The server's C(OLLAMA_FLASH_ATTENTION). Unset is Ollama's default, automatic (a quantized O(kv_cache_type)
        then gets a warning).
    type: bool
  num_parallel:
    description: The server's C(OLLAMA_NUM_PARALLEL); the KV cache is this many times the context.
    type: int
    default: 1
  context_length:
    description: The server's C(OLLAMA_CONTEXT_LENGTH) in tokens; V(0) lets Ollama choose from the GPU memory.
    type: int
    default: 0
  gpu_limit_mb:
    description:
      - The GPU memory limit in MiB, instead of the one read from C(sysctl), for example the C(total=) of Ollama's
        C(inference compute) log line, or the C(iogpu.wired_limit_mb) a later step applies at boot.
    type: int
  models_dir:
    description:
      - The server's models directory (C(OLLAMA_MODELS)), for example C(/Users/ollama/.ollama/models). It need not
        exist yet. The module reads C(manifests/) and C(blobs/) to know what is on disk, and the free space of the
        file system.
      - Required with O(phase=plan); with O(phase=loaded) only used to report the free space.
    type: path
  phase:
    description:
      - V(plan), before the pull. A model whose manifest and blobs are in O(models_dir) costs no request (its GGUF
        header gives the architecture); any other costs one request for its registry manifest, whose layer sizes
        give the weights and what is to be downloaded.
      - V(loaded), after the pull. One C(GET /api/tags) for the sizes and one C(POST /api/show) per model for the
        architecture, from the server at O(url). A model the server does not have fails the task.
    type: str
    choices: [plan, loaded]
    default: plan
  insecure:
    description: Read registry manifests over plain HTTP (as C(insecure) of M(llmhost.macos.ollama_model)).
    type: bool
    default: false
  registry_url:
    description:
      - Base URL of the registry whose manifests O(phase=plan) reads, for a mirror. By default C(https://) plus the
        host part of the model's name (C(registry.ollama.ai)).
    type: str
notes:
  - The compute budget is Ollama's own constant for batch 2048, not a measured llama-server buffer; with flash attention
    off the real buffer can be much larger at long contexts, and the module warns.
  - For O(models[].state=latest) the plan uses what is on disk; a newer build in the registry may need more disk.
  - A model's own C(num_ctx) is read from its parameters layer on disk or from C(/api/show); for a model still to be
    downloaded, only O(models[].parameters) and the server's settings count.
seealso:
  - module: llmhost.macos.ollama_model
  - module: llmhost.macos.ollama_info
'''

EXAMPLES = r'''
- name: Before any download, Llama 3.3 70B at 128k with a q8_0 KV cache fits
  llmhost.macos.ollama_fit:
    models:
      - name: llama3.3-128k:70b
        from: llama3.3:70b
        parameters:
          num_ctx: 131072
        preload: true
    kv_cache_type: q8_0
    flash_attention: true
    num_parallel: 1
    models_dir: /Users/ollama/.ollama/models
  register: fit

- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ fit.msg }}"

- name: After the pull, check again with the server's own view of the models
  llmhost.macos.ollama_fit:
    phase: loaded
    models:
      - name: llama3.3-128k:70b
        from: llama3.3:70b
        parameters:
          num_ctx: 131072
        preload: true
    kv_cache_type: q8_0
    flash_attention: true

- name: A model the module does not know, with its architecture from the model card
  llmhost.macos.ollama_fit:
    models:
      - name: qwen2.5-coder:32b
        architecture:
          layers: 64
          kv_heads: 8
          head_dim: 128
          context_length: 32768
    models_dir: /Users/ollama/.ollama/models
'''

RETURN = r'''
plan:
  description:
    - One entry per planned model. C(total_bytes) is C(weights_bytes + kv_cache_bytes + compute_bytes); C(fits) is
      null when the KV cache is not known before the download. C(missing_bytes) is what is still to be downloaded.
  returned: success, and in the failure details
  type: list
  elements: dict
  sample:
    - name: llama3.3-128k:70b
      from: llama3.3:70b
      preload: true
      context: 131072
      context_source: num_ctx
      num_parallel: 1
      kv_cache_type: q8_0
      weights_bytes: 42520413916
      weights_source: registry manifest
      kv_cache_bytes: 22817013760
      compute_bytes: 2147483648
      total_bytes: 67484911324
      fits: true
      missing_bytes: 42520413916
      architecture:
        layers: 80
        kv_heads: 8
        head_dim: 128
        context_length: 131072
        source: known model llama3.3:70b
gpu_limit_bytes:
  description: The GPU memory limit the plan was checked against.
  returned: success, and in the failure details
  type: int
  sample: 115448720916
gpu_limit_source:
  description: Where the GPU limit comes from.
  returned: success, and in the failure details
  type: str
  sample: macOS's default working set for 128.00 GiB of memory
memory_bytes:
  description: The Mac's memory (C(hw.memsize)).
  returned: success, and in the failure details
  type: int
  sample: 137438953472
disk_free_bytes:
  description: Free bytes in the file system of O(models_dir); null without it.
  returned: success, and in the failure details
  type: int
  sample: 912680550400
download_bytes:
  description: Bytes of the layers not yet on disk, each blob counted once.
  returned: success, and in the failure details
  type: int
  sample: 42520413916
msg:
  description: One line per model (what it needs, of what limit, what is to be downloaded), then the preloaded total and the disk.
  returned: always
  type: str
  sample: "llama3.3-128k:70b: fits: 39.60 GiB weights + 21.25 GiB KV cache (q8_0, 131072 tokens x 1 slot) + 2.00 GiB compute
    = 62.85 GiB of 107.52 GiB; 39.60 GiB to download\ndisk: 39.60 GiB to download, 850.00 GiB free in
    /Users/ollama/.ollama/models (10.00 GiB margin kept)"
summary:
  description: When the plan does not fit, what RV(msg) says on success (one line per model, the preloaded total, the disk).
  returned: failure, when the plan does not fit
  type: str
  sample: "llama3.3:70b: does NOT fit: 39.60 GiB weights + 85.00 GiB KV cache (q8_0, 131072 tokens x 4 slots) + 2.00 GiB
    compute = 126.60 GiB, more than 107.52 GiB; 39.60 GiB to download"
problems:
  description: Every reason the plan does not fit, with its numbers and what would make it fit.
  returned: failure, when the plan does not fit
  type: list
  elements: str
  sample:
    - >-
      llama3.3:70b needs 126.60 GiB: 39.60 GiB weights + 85.00 GiB KV cache (q8_0, 131072 tokens x 4 slots) + 2.00 GiB
      compute, more than the GPU limit of 107.52 GiB (macOS's default working set for 128.00 GiB of memory): it would fit
      with kv_cache_type q4_0 (86.60 GiB), num_parallel 3 (105.35 GiB) or a context of 101376 tokens (107.34 GiB); no
      iogpu.wired_limit_mb can make 126.60 GiB fit on this Mac: it would leave 1.40 GiB of 128.00 GiB to macOS, less than
      the 8.00 GiB it needs.
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import (
    CONNECTION_ARGUMENT_SPEC,
    Client,
    urls_transport,
)
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_fit import (
    KV_CACHE_TYPES,
    ModelsDir,
    check_fit,
    registry_fetcher,
)

MODEL_OPTIONS = dict(
    name=dict(type='str', required=True),
    parameters=dict(type='dict'),
    preload=dict(type='bool', default=False),
    state=dict(type='str', default='present', choices=['present', 'latest', 'absent']),
    architecture=dict(type='dict', options=dict(
        layers=dict(type='int', required=True),
        kv_heads=dict(type='int', required=True),
        head_dim=dict(type='int', required=True),
        context_length=dict(type='int'),
    )),
    **{'from': dict(type='str')}
)


def main():
    argument_spec = dict(CONNECTION_ARGUMENT_SPEC)
    argument_spec.update(
        models=dict(type='list', elements='dict', default=[], options=MODEL_OPTIONS),
        kv_cache_type=dict(type='str', default='f16', choices=list(KV_CACHE_TYPES)),
        flash_attention=dict(type='bool'),
        num_parallel=dict(type='int', default=1),
        context_length=dict(type='int', default=0),
        gpu_limit_mb=dict(type='int'),
        models_dir=dict(type='path'),
        phase=dict(type='str', default='plan', choices=['plan', 'loaded']),
        insecure=dict(type='bool', default=False),
        registry_url=dict(type='str'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        transport = urls_transport(open_url, params['validate_certs'])
        client = Client(params['url'], transport, timeout=params['timeout'])
        store = None
        if params['models_dir']:
            store = ModelsDir(params['models_dir'], open, os.stat, os.statvfs)
        fetch = registry_fetcher(transport, params['registry_url'], params['insecure'], params['timeout'])
        sysctl = Command(module.get_bin_path('sysctl', required=True), module_runner(module))
        result = check_fit(params, sysctl, store=store, fetch_registry=fetch, client=client)
    except LlmhostError as exc:
        for warning in exc.details.pop('warnings', []):
            module.warn(warning)
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
