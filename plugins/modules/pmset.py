#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pmset
short_description: Manage macOS power management settings with pmset
version_added: 0.1.0
description:
  - Sets macOS power management settings (the ones C(pmset -g custom) shows) per power source,
    for example to keep a headless Mac from ever sleeping and to restart it after a power failure.
  - Reads the current settings with one C(pmset -g custom). When nothing differs that is the only command run.
  - When something differs it checks the hardware's capabilities with C(pmset -g cap), sets every differing
    setting with a single C(pmset) call, then reads the settings back and fails, naming the setting, if the
    host did not take it (pmset silently ignores some settings on some hardware).
  - Every setting name and value is validated before any command runs on the host.
author:
  - llmhost.macos developers (@llmhost)
attributes:
  diff_mode:
    description: With C(--diff) the module returns the settings before and after the change.
    support: full
    details:
      - The diff shows every setting of each power profile before and after.
  idempotent:
    description: A second run with the same arguments reports no change and writes nothing.
    support: full
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
options:
  settings:
    description:
      - "Setting name to wanted value, for example C({sleep: 0, autorestart: true})."
      - "Timers C(sleep), C(displaysleep) and C(disksleep) (synonyms C(dim), C(spindown)) take minutes;
        C(0) or the string C(never) means never."
      - "On/off settings (C(womp), C(autorestart), C(powernap), C(ttyskeepawake), C(tcpkeepalive), C(standby),
        C(ring), C(acwake), C(lidwake), C(lessbright), C(halfdim), C(sms), C(proximitywake), C(autopoweroff))
        take a boolean, C(0) or C(1)."
      - "C(hibernatemode) takes C(0), C(3) or C(25); C(gpuswitch) C(0), C(1) or C(2); C(lowpowermode)
        (synonym C(powermode)) C(0), C(1) or C(2), where C(2) is High Power Mode and needs hardware that has it;
        C(highstandbythreshold) a percentage; C(standbydelay), C(standbydelaylow), C(standbydelayhigh),
        C(autopoweroffdelay) seconds; C(networkoversleep) an integer; C(hibernatefile) an absolute path."
      - System-wide settings (C(disablesleep), C(destroyfvkeyonstandby)) are refused.
    type: dict
    required: true
  power_source:
    description:
      - Which power profile the settings apply to, as pmset's C(-a), C(-c), C(-b) and C(-u) flags.
      - C(all) applies to every profile the Mac has (a desktop Mac has only C(ac)).
      - C(battery) or C(ups) on a Mac without that profile fails; pmset itself would silently set nothing.
    type: str
    choices: [all, ac, battery, ups]
    default: all
  ignore_unsupported:
    description:
      - A setting the hardware does not list in C(pmset -g cap) fails the task before anything is written.
      - With C(true) such settings are skipped with a warning instead, so one list of settings can serve
        desktops and laptops alike.
      - Settings that pmset does not report capabilities for (C(tcpkeepalive), C(networkoversleep),
        C(standbydelay)) are never considered unsupported.
    type: bool
    default: false
  optional:
    description:
      - Settings that are skipped without a warning or a failure when this Mac does not support them, whatever
        O(ignore_unsupported) says. The result's RV(unsupported) lists them, so a play can choose what to do
        (the C(llmhost.macos.headless_power) role falls back to C(systemsetup) for C(autorestart), and fails when
        that has no such setting either).
    type: list
    elements: str
    default: []
notes:
  - Changing settings needs root (C(become=true)); reading them does not, so check mode works without root.
  - The capability list is read only when a change is needed, so a converged host costs a single read.
  - pmset warns on stdout or stderr about some combinations (C(tcpkeepalive 0), a display sleep timer longer
    than the system sleep timer); those warnings are passed on as task warnings.
seealso:
  - module: llmhost.macos.systemsetup
'''

EXAMPLES = r'''
- name: Keep a headless Mac awake and bring it back after a power failure
  llmhost.macos.pmset:
    settings:
      sleep: never
      disksleep: 0
      displaysleep: 10
      womp: true
      autorestart: true
      powernap: false
  become: true

- name: Never sleep on AC power only, skipping what a laptop does not support
  llmhost.macos.pmset:
    settings:
      sleep: 0
      autorestart: true
    power_source: ac
    ignore_unsupported: true
  become: true
  register: power

- name: Show what changed
  ansible.builtin.debug:
    var: power.changes
'''

RETURN = r'''
settings:
  description:
    - Every setting of each power profile after the task (in check mode, as it would be), keyed by power
      source C(ac), C(battery) or C(ups). Numbers are integers; C(powermode) is reported as C(lowpowermode).
  returned: success
  type: dict
  sample:
    ac:
      sleep: 0
      disksleep: 0
      displaysleep: 10
      womp: 1
      autorestart: 1
      powernap: 0
      Sleep On Power Button: 1
      hibernatefile: /var/vm/sleepimage
changes:
  description: One entry per power profile and setting that differed (before is null if the profile lacked it).
  returned: success
  type: list
  elements: dict
  sample:
    - power_source: ac
      setting: sleep
      before: 1
      after: 0
command:
  description: The pmset command that was run (in check mode, would have been run); null when nothing differed.
  returned: success
  type: list
  elements: str
  sample: [/usr/bin/pmset, -a, autorestart, '1', sleep, '0']
unsupported:
  description:
    - Wanted settings this Mac does not support (absent from C(pmset -g cap)) that were skipped, with
      O(ignore_unsupported) or because they are O(optional). Only known when a setting differed, since the
      capabilities are read only then.
  returned: success
  type: list
  elements: str
  sample: [autorestart]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.pmset import (
    POWER_SOURCES,
    Pmset,
    ensure,
    normalize_settings,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type='dict', required=True),
            power_source=dict(type='str', default='all', choices=sorted(POWER_SOURCES)),
            ignore_unsupported=dict(type='bool', default=False),
            optional=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        wanted = normalize_settings(module.params['settings'])
        pmset = Pmset(module.get_bin_path('pmset', required=True), module_runner(module))
        result = ensure(
            pmset,
            wanted,
            power_source=module.params['power_source'],
            ignore_unsupported=module.params['ignore_unsupported'],
            optional=module.params['optional'],
            check_mode=module.check_mode,
            is_root=os.geteuid() == 0,
        )
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
