#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pf_anchor
short_description: Load the rules of one pf anchor under com.apple/ on macOS, and enable pf
version_added: 0.2.0
description:
  - Loads a rules file into one pf anchor with C(pfctl -a ANCHOR -f PATH), without touching C(/etc/pf.conf).
    Apple's main ruleset already evaluates every anchor attached under C(com.apple/) (C(anchor "com.apple/*")),
    in the alphabetical order of their names.
  - Reads C(pfctl -s info) (is pf enabled), C(pfctl -a ANCHOR -sr) (the rules loaded) and C(pfctl -nvf PATH) (the
    rules the file would load; a file that does not parse fails the task with pfctl's message, and nothing is
    loaded). The file is loaded only when the two sets of rules differ, and the anchor is then read back; rules
    that still differ fail the task.
  - When pf is disabled it is enabled (unless O(enable=false)) with C(pfctl -E), which takes an enable reference,
    as Apple asks every component that uses pf to do. The module never runs C(pfctl -d) or C(pfctl -X), see the notes.
  - A converged Mac costs those three reads and no write.
  - "The module does not write the rules file. Template it first, with C(validate: /sbin/pfctl -nf %s)."
author:
  - llmhost.macos developers (@llmhost)
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
attributes:
  check_mode:
    description:
      In check mode the module runs the same reads (which need root too), reports what it would change, and loads
      nothing.
    support: full
  diff_mode:
    description: Returns the anchor's rules before (as loaded) and after (as the file has them), one a line.
    support: full
  idempotent:
    description: A second run with the same arguments reports no change and runs only the three reads.
    support: full
options:
  anchor:
    description:
      - The anchor, under C(com.apple/), for example C(com.apple/300.llmhost.ollama-gateway). The number orders it
        among Apple's own anchors (C(200.AirDrop), C(250.ApplicationFirewall)), which this module refuses to touch.
      - A name not under C(com.apple/), with a C(*) or with whitespace fails the task before any command runs.
    type: str
    required: true
  path:
    description:
      - The rules file to load, for example C(/etc/pf.anchors/llmhost.ollama-gateway). Required with
        O(state=present); not used with O(state=absent).
      - Only filter rules (C(pass), C(block), C(anchor), ...) and C(table) definitions. Lines that C(pfctl -sr)
        does not show (C(nat), C(rdr), C(set), C(load anchor), ...) fail the task before anything is loaded.
    type: path
  state:
    description:
      - V(present) loads the file into the anchor when its rules differ from those loaded.
      - V(absent) flushes the anchor's rules (C(pfctl -a ANCHOR -F rules)) when it has any. pf stays enabled.
    type: str
    choices: [present, absent]
    default: present
  enable:
    description:
      - With O(state=present), run C(pfctl -E) when C(pfctl -s info) says pf is disabled, so that the anchor's
        rules are enforced. With V(false) a disabled pf is left disabled and the task warns that the rules are not
        enforced.
    type: bool
    default: true
notes:
  - pfctl opens C(/dev/pf), which needs root even to read, so use C(become=true), in check mode too.
  - The module never disables pf. C(pfctl -d) stops pf for everyone and drops every enable reference, the
    Application Firewall's included; C(pfctl -X) would release a reference another component may rely on. The
    reference C(pfctl -E) takes is kept, and C(-E) runs only while pf is disabled, so references do not pile up.
  - Rules loaded at run time are gone after a reboot, and pf is disabled at boot. Load them again at boot, for
    example with a LaunchDaemon (C(RunAtLoad)) that runs C(/sbin/pfctl -a ANCHOR -f PATH) and C(/sbin/pfctl -E).
  - Only the rule lines are compared, as C(pfctl -sr) prints them. C(pfctl -sr) does not show tables, so a change
    that is only in the addresses of a C(table) is not seen and the file is not loaded again. Write such
    addresses into the rules instead (C(from { 10.1.2.0/24, 192.168.0.0/16 }) becomes one rule each), or load the
    file again from a handler when its template changes.
  - Existing connections (pf states) survive a change of rules.
seealso:
  - module: llmhost.macos.launchd_service
'''

EXAMPLES = r'''
- name: The gateway's firewall rules
  ansible.builtin.template:
    src: ollama-gateway.pf.j2
    dest: /etc/pf.anchors/llmhost.ollama-gateway
    owner: root
    group: wheel
    mode: '0644'
    validate: /sbin/pfctl -nf %s
  become: true

- name: Load them into their anchor and enable pf
  llmhost.macos.pf_anchor:
    anchor: com.apple/300.llmhost.ollama-gateway
    path: /etc/pf.anchors/llmhost.ollama-gateway
  become: true

- name: Remove the gateway's rules (pf stays enabled)
  llmhost.macos.pf_anchor:
    anchor: com.apple/300.llmhost.ollama-gateway
    state: absent
  become: true
'''

RETURN = r'''
anchor:
  description: The anchor managed.
  returned: success
  type: str
  sample: com.apple/300.llmhost.ollama-gateway
rules:
  description:
    - The anchor's rules after the task, as C(pfctl -a ANCHOR -sr) prints them (in check mode, as the file has them).
      Empty after O(state=absent).
  returned: success
  type: list
  elements: str
  sample:
    - pass in quick on lo0 all flags S/SA keep state
    - block drop in quick proto tcp from any to any port = 11434
pf_enabled:
  description: Whether pf is enabled after the task (in check mode, whether it would be).
  returned: success
  type: bool
  sample: true
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.pf import (
    Pfctl,
    ensure_absent,
    ensure_present,
    validate_anchor,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            anchor=dict(type='str', required=True),
            path=dict(type='path'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            enable=dict(type='bool', default=True),
        ),
        required_if=[('state', 'present', ['path'])],
        supports_check_mode=True,
    )
    try:
        anchor = validate_anchor(module.params['anchor'])
        pfctl = Pfctl(module.get_bin_path('pfctl', required=True, opt_dirs=['/sbin']), module_runner(module))
        if module.params['state'] == 'present':
            result = ensure_present(pfctl, anchor, module.params['path'], enable=module.params['enable'],
                                    check_mode=module.check_mode)
        else:
            result = ensure_absent(pfctl, anchor, check_mode=module.check_mode)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
