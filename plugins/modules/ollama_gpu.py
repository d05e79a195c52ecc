#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ollama_gpu
short_description: Confirm that a running Ollama server found the Mac's GPU (Metal)
version_added: 0.2.0
description:
  - Waits until the Ollama server answers C(GET /api/version) and its log has the report of its last start, then
    reads from that report which compute library it found. Fails, quoting the log lines, when Ollama runs on the CPU.
  - The evidence is Ollama's own startup log, C(msg="Listening on ... (version X)") followed by
    C(msg="inference compute" ... library=Metal ... total="107.5 GiB"). Only the last start counts, and only
    when its version is the one the API reports. When newsyslog has rotated the log since that start, the
    rotated copies (C(.0), C(.0.bz2), C(.0.gz), ...) are read too.
  - Changes nothing. Costs one C(GET /api/version) and one read of the log file when the server is up.
author:
  - llmhost.macos developers (@llmhost)
extends_documentation_fragment:
  - llmhost.macos.attributes.read_only
  - llmhost.macos.ollama
options:
  log_path:
    description: The log file the server writes its startup lines to (the LaunchDaemon's C(StandardErrorPath)).
    type: path
    required: true
  wait:
    description: Seconds to wait for the server to answer and for its GPU report to appear in the log.
    type: float
    default: 60
  require_gpu:
    description: Fail when the last start found no Metal device. With V(false) the report is returned either way.
    type: bool
    default: true
seealso:
  - module: llmhost.macos.ollama_info
'''

EXAMPLES = r'''
- name: Ollama found the GPU
  llmhost.macos.ollama_gpu:
    log_path: /Library/Logs/llmhost/ollama.log
  register: ollama_gpu

- name: Show the GPU memory Ollama sees
  ansible.builtin.debug:
    msg: "{{ ollama_gpu.compute[0].description }}: {{ ollama_gpu.compute[0].total }}"
'''

RETURN = r'''
version:
  description: The version of the running server.
  returned: success
  type: str
  sample: 0.32.3
address:
  description: The address it listens on, from its log.
  returned: success
  type: str
  sample: 127.0.0.1:11434
on_gpu:
  description: Whether a compute device of the last start is Metal.
  returned: success
  type: bool
  sample: true
compute:
  description: One entry per C(inference compute) line of the last start.
  returned: success
  type: list
  elements: dict
  sample:
    - library: Metal
      name: Metal
      description: Apple M4 Max
      type: discrete
      total: 107.5 GiB
      available: 107.5 GiB
      total_bytes: 115427033088
      available_bytes: 115427033088
default_num_ctx:
  description: The context Ollama picks for a model without one (its VRAM-based default), when it logs it.
  returned: success
  type: int
  sample: 262144
lines:
  description: The log lines this report is made from.
  returned: success
  type: list
  elements: str
'''

import bz2
import gzip
import io
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import (
    CONNECTION_ARGUMENT_SPEC,
    Client,
    urls_transport,
)
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_log import (
    gpu_problem,
    read_since_last_start,
    wait_for_start,
)


def read_text(path):
    """The text of a log file, decompressed when newsyslog compressed it; None when it does not exist."""
    opener = bz2.open if path.endswith('.bz2') else gzip.open if path.endswith('.gz') else io.open
    try:
        with opener(path, 'rt', encoding='utf-8', errors='replace') as handle:
            return handle.read()
    except (IOError, OSError, EOFError):
        return None


def main():
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(
        log_path=dict(type='path', required=True),
        wait=dict(type='float', default=60),
        require_gpu=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    try:
        client = Client(params['url'], urls_transport(open_url, params['validate_certs']), timeout=params['timeout'])
        start = wait_for_start(lambda: read_since_last_start(params['log_path'], read_text), client.version, params['log_path'],
                               params['wait'], time.monotonic, time.sleep)
        problem = gpu_problem(start, params['log_path'])
        if problem and params['require_gpu']:
            raise LlmhostError(problem, compute=start['compute'], lines=start['lines'])
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(changed=False, **start)


if __name__ == '__main__':
    main()
