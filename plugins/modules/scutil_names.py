#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: scutil_names
short_description: Set the Mac's ComputerName, LocalHostName and HostName with scutil
version_added: 0.2.0
description:
  - Reads each name given with C(scutil --get), sets those that differ with C(scutil --set) and reads them back.
  - V(ComputerName) is the name people see (Finder, sharing). V(LocalHostName) is the Bonjour name, so the Mac
    answers as C(NAME.local) on the LAN. V(HostName) is the name the Mac calls itself (C(hostname), the shell
    prompt); a new Mac has none.
  - A converged Mac costs one C(scutil --get) per name given and no write.
author:
  - llmhost.macos developers (@llmhost)
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
attributes:
  diff_mode:
    description: Returns the names before and after.
    support: full
  idempotent:
    description: A second run with the same arguments reports no change and runs no C(scutil --set).
    support: full
options:
  computer_name:
    description: The ComputerName, 1 to 63 bytes of text, for example C(LLM Studio 1). Not given, it is left alone.
    type: str
  local_host_name:
    description:
      - The LocalHostName, letters, digits and hyphens (at most 63, no hyphen first or last), for example
        C(llm-studio-1); the Mac is then C(llm-studio-1.local). Not given, it is left alone.
    type: str
  host_name:
    description:
      - The HostName, a DNS name such as C(llm1) or C(llm1.lab.example), or V("") to unset it. Not given, it is left
        alone.
    type: str
notes:
  - Setting a name needs root (C(become)). Each name set is read back, again for up to 5 seconds while configd
    catches up; a name that still differs fails the task, naming the value read.
  - macOS may append a number to a LocalHostName another Mac on the LAN already answers to. When that shows in
    the read-back the task fails; when the rename comes later, the next run sets the name again and reports a
    change.
'''

EXAMPLES = r'''
- name: The Mac's names
  llmhost.macos.scutil_names:
    computer_name: LLM Studio 1
    local_host_name: llm-studio-1
    host_name: llm-studio-1
  become: true
'''

RETURN = r'''
names:
  description: The names after the run (null for a name that is not set); only those given.
  returned: success
  type: dict
  sample:
    ComputerName: LLM Studio 1
    LocalHostName: llm-studio-1
    HostName: llm-studio-1
changes:
  description: One entry per name that differed.
  returned: success
  type: list
  elements: dict
  sample:
    - name: HostName
      before: null
      after: llm-studio-1
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.scutil import Scutil, ensure_names, normalize_names


def main():
    module = AnsibleModule(
        argument_spec=dict(
            computer_name=dict(type='str'),
            local_host_name=dict(type='str'),
            host_name=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    try:
        wanted = normalize_names(module.params)
        scutil = Scutil(module.get_bin_path('scutil', required=True, opt_dirs=['/usr/sbin']), module_runner(module))
        result = ensure_names(scutil, wanted, check_mode=module.check_mode, is_root=os.geteuid() == 0)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
