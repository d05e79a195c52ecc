#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ollama_model
short_description: Pull, update, derive, preload and delete Ollama models
version_added: 0.1.0
description:
  - Manages one model on an Ollama server through its REST API, from the managed host (so the default
    O(url) is the server on that host's loopback).
  - A model that is already there costs one request (C(GET /api/tags)); nothing is pulled again.
  - A pull reads Ollama's progress stream to its end. An C({"error"...}) line fails the task even though Ollama
    sends it under HTTP 200, the final C(success) is required, and C(POST /api/show) must confirm the model before
    the task reports a change.
  - A dropped connection, a stalled download (no progress for O(stall_timeout) seconds) or a digest mismatch is
    retried up to O(retries) times; Ollama resumes the partial download as long as the server keeps running. A full
    disk or a model the registry does not have fails at once. A failed pull leaves no model behind.
  - A derived model (O(from) with O(parameters), O(system) or O(template), for example a 128k context window) is
    created with C(POST /api/create), and created again when what C(POST /api/show) reports differs.
  - O(keep_alive) loads the model into memory after it is present, so the first request does not wait for the load;
    C(GET /api/ps) tells whether it is loaded already.
  - "A download shows its progress in the play's output: every O(progress_interval) seconds a line such as
    C(mac-studio: pulling llama3.3:70b: 37.4% 14.80/39.60 GiB, 61.2 MiB/s, 6m54s left). For that the module's action
    plugin first runs the module with everything that needs no download; only when a pull would download does it
    run the module again as a background job (as with C(async)), reads the progress the module writes to a file in
    the remote temporary directory, and returns the job's result when it ends, removing the job's files. A model
    that is there costs one module run and one request, as without progress."
  - Whether O(state=latest) would download is told by the registry's manifest (see O(registry_url)), which also gives
    the size of a pull in advance; when the registry cannot be read, the pull runs in the background anyway.
  - Uses only the Python standard library and C(ansible.module_utils.urls) on the managed host.
author:
  - llmhost.macos developers (@llmhost)
attributes:
  check_mode:
    description: >-
      In check mode the module only reads (GET requests, and POST /api/show, which reads a model's details);
      it sends no pull, create, generate or delete, and reports what it would do. It runs once, never in the
      background.
    support: full
  diff_mode:
    description: With C(--diff) the module returns the model's digest, size, parameters and load state before and after.
    support: full
  action:
    description: The action plugin runs a download in the background and prints its progress on the controller.
    support: full
  async:
    description: >-
      With the C(async) keyword the module runs as an ordinary background job, without progress lines (it goes
      to the background by itself for a download).
    support: full
  idempotent:
    description: >-
      A second run with the same arguments reports no change and sends no write; with O(state=latest) it asks
      the server to pull again, which moves no data unless the registry has a newer build.
    support: full
extends_documentation_fragment:
  - llmhost.macos.ollama
options:
  name:
    description:
      - The model, as C([host/][namespace/]model[:tag]), for example C(llama3.3:70b) or C(qwen2.5-coder:32b).
      - The tag defaults to C(latest), the namespace to C(library) and the host to C(registry.ollama.ai), as in Ollama.
      - With O(from), the name of the derived model to create.
      - Checked before any request is sent.
    type: str
    required: true
  state:
    description:
      - V(present) pulls the model when the server does not have it.
      - V(latest) also pulls a model the server has, so a newer build in the registry replaces it; the result reports
        the digests before and after. In check mode it compares with the registry's manifest instead of pulling.
      - V(absent) deletes the model; a model that is not there is not a change.
    type: str
    choices: [present, absent, latest]
    default: present
  from:
    description:
      - Create O(name) as a derived model from this model (pulled first when the server lacks it, and with
        O(state=latest) updated first, O(name) being created again when its base changed).
    type: str
  parameters:
    description:
      - "Model parameters of the derived model, for example C({num_ctx: 131072}) for a 128k context window, or
        C({stop: [...]}) (a list for repeated parameters). Requires O(from)."
      - Only the parameters given here are compared with the model's; others the base sets are left alone.
    type: dict
  system:
    description: System prompt of the derived model. Requires O(from).
    type: str
  template:
    description: Prompt template of the derived model (Go template syntax). Requires O(from).
    type: str
  keep_alive:
    description:
      - After the model is present, keep it loaded in memory for this long, so the first request does not wait for
        the load. Seconds, or a duration such as V(30m) or V(24h); a negative value such as V(-1) keeps it loaded
        until the server stops; V(0) unloads it.
      - Idempotent through C(GET /api/ps) (a model loaded already is not loaded again, except to switch between
        a finite time and forever).
    type: raw
  timeout:
    description:
      - Seconds to wait for the server to accept a connection and answer a request. An unreachable server fails
        the task within this time, naming the URL.
      - Pulls, creates and loads, which can go minutes without output, wait O(stall_timeout) between reads instead.
    type: float
    default: 30
  retries:
    description: How many more times a pull is tried after a dropped connection, a stall or a digest mismatch.
    type: int
    default: 3
  stall_timeout:
    description:
      - A pull whose progress does not move for this many seconds is abandoned and tried again (Ollama keeps what it
        has downloaded). Also the longest wait for any output of a pull, create or load.
    type: float
    default: 300
  insecure:
    description: Let Ollama pull from a registry over plain HTTP or with an unverified certificate (C(insecure) of C(/api/pull)).
    type: bool
    default: false
  registry_url:
    description:
      - Base URL of the registry whose manifest O(state=latest) compares with in check mode, for a mirror.
        By default C(https://) plus the host part of O(name) (C(registry.ollama.ai)).
      - The same manifest tells, before a download, its size and whether O(state=latest) would download at all.
    type: str
  progress_interval:
    description:
      - Seconds between two progress lines of a download in the play's output.
      - V(0) runs the module in one go, like any other, with no progress and no background job.
      - Ignored in check mode, which downloads nothing, and with the C(async) keyword.
    type: float
    default: 10
  download_timeout:
    description:
      - Seconds a pull may take in all, retries included. A pull still running then fails; Ollama may go on
        downloading on its own, and the next run resumes what it has.
      - The background job of a download is given this much time, plus O(stall_timeout) and a minute.
    type: float
    default: 86400
  _defer_download:
    description: Internal use only, set by the action plugin (its first run stops before a download).
    type: bool
    default: false
  _progress_file:
    description: Internal use only, set by the action plugin (where the background run writes the progress of a pull).
    type: path
notes:
  - O(keep_alive) only says how long the model stays loaded after this task; a restart of the server unloads it,
    and the next run of the task loads it again.
seealso:
  - module: llmhost.macos.ollama_info
  - name: Ollama API
    description: The REST API this module uses.
    link: https://docs.ollama.com/api
'''

EXAMPLES = r'''
- name: Llama 3.3 70B is on the server
  llmhost.macos.ollama_model:
    name: llama3.3:70b

- name: A 128k context variant, loaded and kept in memory
  llmhost.macos.ollama_model:
    name: llama3.3-128k:70b
    from: llama3.3:70b
    parameters:
      num_ctx: 131072
    keep_alive: -1

- name: Update to the registry's newest build, patient with a slow link
  llmhost.macos.ollama_model:
    name: qwen2.5-coder:32b
    state: latest
    retries: 5
    stall_timeout: 600
  register: coder

- name: Say when it changed
  ansible.builtin.debug:
    msg: "{{ coder.digests.before }} -> {{ coder.digests.after }}"
  when: coder is changed

- name: An old model is gone
  llmhost.macos.ollama_model:
    name: llama2:13b
    state: absent

- name: Manage a model on another Ollama server on the LAN, from the controller
  llmhost.macos.ollama_model:
    name: llama3.2:3b
    url: http://mac-studio.local:11434
  delegate_to: localhost
'''

RETURN = r'''
model:
  description: The model after the task (null when absent). C(digest) is the sha256 of its manifest, as C(ollama list) shows it.
  returned: always
  type: dict
  sample:
    name: llama3.3:70b
    digest: a6eb4748fd2990ad2952b2335a95a7f952d1a06119a0aa6a2df6cd052a93a3fa
    size: 42520413916
    modified_at: '2026-11-20T10:11:12.123456789+01:00'
    details:
      family: llama
      parameter_size: 70.6B
      quantization_level: Q4_K_M
      format: gguf
      parent_model: ''
      context_length: 131072
actions:
  description: What was done (in check mode, would be done), in order, for example C(pull), C(update), C(create), C(recreate), C(load), C(delete).
  returned: always
  type: list
  elements: str
  sample: [pull, load]
digests:
  description: >-
    With O(state=latest), the digest before and after the pull; in check mode, the digest before and the digests the
    registry's manifest can have (when the registry could be read). For a derived model, those of its base.
  returned: when O(state=latest) and the model or its base was pulled or compared with the registry
  type: dict
  sample:
    before: 2bd5e4b1c6e49fd4e6bd0ef0ccf0ba6ae9d3ae8d7c4cb2b4d9f0e3b4f1a3c2d1
    after: a6eb4748fd2990ad2952b2335a95a7f952d1a06119a0aa6a2df6cd052a93a3fa
pulled_bytes:
  description: Bytes the server reported downloaded by the pulls of this task (0 when every layer was there).
  returned: when something was pulled
  type: int
  sample: 42520395776
download:
  description: What the pulls of this task downloaded, how long they took and the average rate.
  returned: when something was pulled
  type: dict
  contains:
    bytes:
      description: Bytes downloaded (what was there already, or resumed, is not counted again).
      type: int
      sample: 42520395776
    seconds:
      description: Seconds from the first pull request to the final C(success), retries included.
      type: float
      sample: 662.4
    rate_bytes_per_second:
      description: C(bytes) divided by C(seconds), as a whole number; null when no time passed.
      type: int
      sample: 64191999
msg:
  description: The pull in words.
  returned: when something was pulled
  type: str
  sample: 'pulled llama3.3:70b: 39.60 GiB in 11m02s, 61.2 MiB/s'
pull:
  description: How the last pull went, C(attempts) including retries, C(errors) of the attempts that were retried.
  returned: when something was pulled
  type: dict
  sample:
    attempts: 2
    bytes: 42520395776
    statuses: [verifying sha256 digest, writing manifest, success]
    errors: ['connection lost: IncompleteRead(1048576 bytes read)']
reasons:
  description: Why a derived model is (re)created.
  returned: when a derived model is created
  type: list
  elements: str
  sample: [parameter num_ctx]
loaded:
  description: Whether the model is loaded in memory after the task.
  returned: when O(keep_alive) is set
  type: bool
  sample: true
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 512.3
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result
from ansible_collections.llmhost.macos.plugins.module_utils.ollama import ensure_model
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import (
    CONNECTION_ARGUMENT_SPEC,
    Client,
    urls_transport,
)
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_progress import (
    DEFAULT_DOWNLOAD_TIMEOUT,
    DEFAULT_PROGRESS_INTERVAL,
    DEFAULT_STALL_TIMEOUT,
    ProgressFile,
    write_interval,
)


def main():
    argument_spec = dict(CONNECTION_ARGUMENT_SPEC)
    argument_spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent', 'latest']),
        parameters=dict(type='dict'),
        system=dict(type='str'),
        template=dict(type='str'),
        keep_alive=dict(type='raw'),
        retries=dict(type='int', default=3),
        stall_timeout=dict(type='float', default=DEFAULT_STALL_TIMEOUT),
        insecure=dict(type='bool', default=False),
        registry_url=dict(type='str'),
        progress_interval=dict(type='float', default=DEFAULT_PROGRESS_INTERVAL),
        download_timeout=dict(type='float', default=DEFAULT_DOWNLOAD_TIMEOUT),
        # set by the action plugin: stop before a download (first run), where to report progress (background run)
        _defer_download=dict(type='bool', default=False),
        _progress_file=dict(type='path'),
        **{'from': dict(type='str')}
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    progress = None
    if params['_progress_file'] and not module.check_mode:
        progress = ProgressFile(params['_progress_file'], interval=write_interval(params['progress_interval']))
    try:
        client = Client(params['url'], urls_transport(open_url, params['validate_certs']), timeout=params['timeout'],
                        slow_timeout=params['stall_timeout'])
        result = ensure_model(client, params, check_mode=module.check_mode, defer_download=params['_defer_download'],
                              on_progress=progress)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    if progress is not None and progress.error:
        result.setdefault('warnings', []).append('Could not report the progress of the pull (%s); it went on without' % progress.error)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
