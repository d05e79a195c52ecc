#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: app_firewall
short_description: Manage the macOS Application Firewall with socketfilterfw
version_added: 0.2.0
description:
  - Turns the macOS Application Firewall on or off, sets its stealth mode, and allows incoming connections to
    the given programs, through C(/usr/libexec/ApplicationFirewall/socketfilterfw).
  - The firewall filters per program, inbound only. A program that is not allowed gets an approval dialog that
    nobody sees on a headless Mac, and its incoming connections are dropped without a word. Connections from the
    Mac itself are not filtered, so test from another host.
  - Each path in O(allow) is resolved on the Mac (symlinks followed), because a Homebrew program is allowed by its
    versioned Cellar path. C(/opt/homebrew/opt/caddy/bin/caddy) becomes for example
    C(/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy). Every C(brew upgrade) installs a new Cellar path that the
    firewall has not allowed, so run this module again after each install or upgrade.
  - Reads one C(socketfilterfw --getglobalstate), C(--getstealthmode) only when O(stealth_mode) is given and
    C(--listapps) only when O(allow) is not empty. A converged Mac costs those reads and no write.
  - Changes what differs, programs first (C(--add) then C(--unblockapp) for a program that is not listed,
    C(--unblockapp) for one that is listed as blocked, C(--remove) for stale ones), then stealth mode, then the
    global state, so a program is allowed before the firewall is turned on. Then it reads back what it changed and
    fails if the firewall does not show it.
author:
  - llmhost.macos developers (@llmhost)
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
attributes:
  check_mode:
    description: In check mode the module runs only the reads, reports what it would change, and changes nothing.
      The reads work without root.
    support: full
  diff_mode:
    description: Returns the global state, the stealth mode (when O(stealth_mode) is given) and the listed programs
      (when O(allow) is given) before and after.
    support: full
  idempotent:
    description: A second run with the same arguments reports no change and writes nothing.
    support: full
options:
  state:
    description:
      - V(on) turns the Application Firewall on, V(off) turns it off. Not given, the global state is left alone.
      - A firewall that blocks all incoming connections (C(State = 2)) counts as on and is left as it is.
    type: str
    choices: ['on', 'off']
  stealth_mode:
    description:
      - Whether stealth mode is on. It makes the Mac ignore probes of closed ports and pings, which also hides it
        from monitoring that pings. It does not affect an allowed program. Not given, it is left alone.
    type: bool
  allow:
    description:
      - Absolute paths of programs that must be listed as allowing incoming connections. Each is resolved with
        C(realpath) on the Mac, and the resolved path is what is allowed and returned.
      - A path that does not exist fails the task before anything is changed.
      - Give a program's path as C(--listapps) shows it. For an application bundle, that is its C(.app) directory.
    type: list
    elements: path
    default: []
  remove_stale:
    description:
      - Also remove (C(socketfilterfw --remove)) listed programs that are older versions of a path in O(allow) and
        are gone from disk.
      - The rule is narrow. A listed path is removed only if all of these hold. First, a resolved O(allow) path is
        in a Homebrew keg, C(<prefix>/Cellar/<formula>/<version>/<file>). Second, the listed path differs from it
        only in the C(<version>) part, for example C(/opt/homebrew/Cellar/caddy/2.11.5/bin/caddy) next to
        C(/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy). Third, the listed path no longer exists. No other program
        is ever removed.
    type: bool
    default: false
notes:
  - The changes need root (C(become=true)). socketfilterfw run without root prints its usual messages and changes
    nothing, so without root the module fails before any write. The reads work without root, so check mode does
    not need C(become).
  - socketfilterfw's exit statuses are not documented and are not relied on. Each change is read back.
  - A configuration profile that manages C(com.apple.security.firewall) may override these settings; a change that
    does not show in the read-back fails the task.
seealso:
  - name: evcc-io/docs#1146, a Homebrew upgrade silently blocked by the Application Firewall
    description: Why the resolved Cellar path must be allowed again after each upgrade.
    link: https://github.com/evcc-io/docs/issues/1146
'''

EXAMPLES = r'''
- name: Turn the firewall on, with Caddy allowed (run again after every brew upgrade of caddy)
  llmhost.macos.app_firewall:
    state: 'on'
    allow:
      - /opt/homebrew/opt/caddy/bin/caddy
    remove_stale: true
  become: true

- name: Stealth mode on, the global state left as it is
  llmhost.macos.app_firewall:
    stealth_mode: true
  become: true
'''

RETURN = r'''
state:
  description: Whether the firewall is on after the task (in check mode, as it would be).
  returned: success
  type: str
  sample: 'on'
stealth_mode:
  description: Stealth mode after the task; null when O(stealth_mode) is not given (it is not read then).
  returned: success
  type: bool
  sample: false
apps:
  description:
    - The programs the firewall lists after the task (in check mode, as they would be), in its order; null when
      O(allow) is empty (C(--listapps) is not read then).
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The program's path as C(--listapps) shows it.
      type: str
    allowed:
      description: Whether it allows incoming connections (false when it is blocked).
      type: bool
  sample:
    - path: /opt/homebrew/Cellar/caddy/2.11.6/bin/caddy
      allowed: true
commands:
  description: The socketfilterfw commands run (in check mode, those that would run), reads not included.
  returned: success
  type: list
  elements: list
  sample:
    - [/usr/libexec/ApplicationFirewall/socketfilterfw, --add, /opt/homebrew/Cellar/caddy/2.11.6/bin/caddy]
    - [/usr/libexec/ApplicationFirewall/socketfilterfw, --unblockapp, /opt/homebrew/Cellar/caddy/2.11.6/bin/caddy]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.alf import Socketfilterfw, ensure, resolve_allow


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['on', 'off']),
            stealth_mode=dict(type='bool'),
            allow=dict(type='list', elements='path', default=[]),
            remove_stale=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    try:
        allow = resolve_allow(module.params['allow'])
        path = module.get_bin_path('socketfilterfw', required=True, opt_dirs=['/usr/libexec/ApplicationFirewall'])
        result = ensure(
            Socketfilterfw(path, module_runner(module)),
            state=module.params['state'],
            stealth_mode=module.params['stealth_mode'],
            allow=allow,
            remove_stale=module.params['remove_stale'],
            check_mode=module.check_mode,
            is_root=os.geteuid() == 0,
        )
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
