#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ollama_info
short_description: Read an Ollama server's version, models and loaded models
version_added: 0.1.0
description:
  - Reads C(GET /api/version), C(GET /api/tags) and C(GET /api/ps) of an Ollama server. Changes nothing.
  - An unreachable server fails the task within O(timeout), naming the URL.
author:
  - llmhost.macos developers (@llmhost)
extends_documentation_fragment:
  - llmhost.macos.attributes.read_only
  - llmhost.macos.ollama
options: {}
seealso:
  - module: llmhost.macos.ollama_model
'''

EXAMPLES = r'''
- name: Ask the server what it has
  llmhost.macos.ollama_info:
  register: ollama

- name: The 70B model is there and loaded
  ansible.builtin.assert:
    that:
      - "'llama3.3:70b' in ollama.models | map(attribute='name')"
      - "'llama3.3:70b' in ollama.running | map(attribute='name')"
'''

RETURN = r'''
url:
  description: The server that was asked.
  returned: always
  type: str
  sample: http://127.0.0.1:11434
version:
  description: The server's version.
  returned: always
  type: str
  sample: 0.13.0
models:
  description: The models on the server (C(/api/tags)).
  returned: always
  type: list
  elements: dict
  sample:
    - name: llama3.3:70b
      digest: a6eb4748fd2990ad2952b2335a95a7f952d1a06119a0aa6a2df6cd052a93a3fa
      size: 42520413916
      modified_at: '2026-11-20T10:11:12.123456789+01:00'
      details:
        family: llama
        parameter_size: 70.6B
        quantization_level: Q4_K_M
        format: gguf
        parent_model: ''
        context_length: null
running:
  description: The models loaded in memory (C(/api/ps)); C(expires_at) far in the future means kept loaded for good.
  returned: always
  type: list
  elements: dict
  sample:
    - name: llama3.3:70b
      digest: a6eb4748fd2990ad2952b2335a95a7f952d1a06119a0aa6a2df6cd052a93a3fa
      size: 48318382080
      size_vram: 48318382080
      expires_at: '2318-02-26T10:11:12.123456789+01:00'
      context_length: 131072
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from ansible_collections.llmhost.macos.plugins.module_utils.ollama import gather_info
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import (
    CONNECTION_ARGUMENT_SPEC,
    Client,
    urls_transport,
)


def main():
    module = AnsibleModule(argument_spec=dict(CONNECTION_ARGUMENT_SPEC), supports_check_mode=True)
    params = module.params
    try:
        client = Client(params['url'], urls_transport(open_url, params['validate_certs']), timeout=params['timeout'])
        result = gather_info(client)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
