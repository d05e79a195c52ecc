#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: systemsetup
short_description: Manage macOS machine settings that only systemsetup exposes
version_added: 0.1.0
description:
  - Sets machine settings through C(/usr/sbin/systemsetup), for example restart after a system freeze,
    which C(pmset) does not cover.
  - Reads each wanted setting once with C(systemsetup -get<setting>); sets only those that differ, one
    C(systemsetup -set<setting>) call each, and reads those back to confirm, because systemsetup's exit
    status does not tell whether it worked.
  - Names and values are validated before any command runs on the host.
author:
  - llmhost.macos developers (@llmhost)
attributes:
  idempotent:
    description: A second run with the same arguments reports no change and writes nothing.
    support: full
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
options:
  settings:
    description:
      - Setting name to wanted value.
      - "On/off settings take a boolean: C(restartfreeze) (restart after the system freezes),
        C(restartpowerfailure) (the same as C(autorestart) of M(llmhost.macos.pmset)), C(wakeonnetworkaccess),
        C(allowpowerbuttontosleepcomputer), C(remotelogin)."
      - "Timers C(computersleep), C(displaysleep) and C(harddisksleep) take minutes from 1 to 180, or C(0) or
        C(never) for never."
      - C(remotelogin) needs Full Disk Access for the calling process on current macOS; without it the task
        fails with systemsetup's message. Remote Login can be enabled through launchd instead
        (C(launchctl enable system/com.openssh.sshd), then C(launchctl bootstrap)).
    type: dict
    required: true
  ignore_unsupported:
    description:
      - When systemsetup says a setting is not supported on this Mac, skip it with a warning instead of failing.
    type: bool
    default: false
notes:
  - systemsetup needs root even to read settings, so use C(become=true), in check mode too.
seealso:
  - module: llmhost.macos.pmset
'''

EXAMPLES = r'''
- name: Restart automatically after a system freeze
  llmhost.macos.systemsetup:
    settings:
      restartfreeze: true
  become: true

- name: Wake for network access, skipped with a warning where the hardware lacks it
  llmhost.macos.systemsetup:
    settings:
      wakeonnetworkaccess: true
    ignore_unsupported: true
  become: true
'''

RETURN = r'''
settings:
  description:
    - The managed settings after the task (in check mode, as they would be). On/off settings are booleans;
      timers are minutes with 0 meaning never.
  returned: success
  type: dict
  sample:
    restartfreeze: true
changes:
  description: One entry per setting that differed.
  returned: success
  type: list
  elements: dict
  sample:
    - setting: restartfreeze
      before: false
      after: true
unsupported:
  description: Settings skipped because this Mac does not support them (only with O(ignore_unsupported=true)).
  returned: success
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.systemsetup import (
    Systemsetup,
    ensure,
    normalize_settings,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type='dict', required=True),
            ignore_unsupported=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    try:
        wanted = normalize_settings(module.params['settings'])
        path = module.get_bin_path('systemsetup', required=True, opt_dirs=['/usr/sbin'])
        result = ensure(
            Systemsetup(path, module_runner(module)),
            wanted,
            ignore_unsupported=module.params['ignore_unsupported'],
            check_mode=module.check_mode,
        )
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
