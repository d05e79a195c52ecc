#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: sshd_check
short_description: Check sshd's effective configuration and name the file behind a wrong value
version_added: 0.1.0
description:
  - Runs C(sshd -T) (optionally for a connection, C(-C user=...,host=...,addr=...)) and compares the effective
    values with O(expect).
  - sshd keeps the first value it reads for most keywords, and reads C(Include)d files in place, in lexical order.
    When a value is not the wanted one, the module follows the same order through the configuration files and
    names the file and line that set it, for example a drop-in that sorts before yours.
  - Changes nothing.
author:
  - llmhost.macos developers (@llmhost)
attributes:
  platform:
    description: Any host with OpenSSH's sshd (macOS, Debian, ...).
    platforms: posix
    support: full
extends_documentation_fragment:
  - llmhost.macos.attributes.read_only
options:
  expect:
    description:
      - "Keyword to wanted value, for example C({PasswordAuthentication: false, MaxAuthTries: 3}). Keywords are
        case-insensitive; lists are compared in order (algorithm lists) or as sets (C(AllowUsers), C(HostKey))."
    type: dict
    required: true
  match:
    description: "The connection to evaluate C(Match) blocks for (C(sshd -T -C)), for example C({user: admin, addr: 10.0.0.2})."
    type: dict
  config:
    description: The main configuration file.
    type: path
    default: /etc/ssh/sshd_config
  ours:
    description: The file that is meant to set the expected values (for the failure message).
    type: path
  sshd:
    description: Path of sshd; by default found in C(/usr/sbin) or the PATH.
    type: path
notes:
  - sshd -T reads the host keys, so it needs root (C(become)).
'''

EXAMPLES = r'''
- name: Passwords are off for real, whatever other drop-ins say
  llmhost.macos.sshd_check:
    expect:
      PasswordAuthentication: false
      KbdInteractiveAuthentication: false
      AuthenticationMethods: publickey
    match:
      user: admin
      host: localhost
      addr: 127.0.0.1
    ours: /etc/ssh/sshd_config.d/01-llmhost.conf
  become: true
'''

RETURN = r'''
effective:
  description: The effective value of each expected keyword (lowercase, as sshd -T prints it).
  returned: always
  type: dict
  sample:
    passwordauthentication: 'no'
    maxauthtries: '3'
'''

import glob

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.sshd import Sshd, check_config


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            expect=dict(type='dict', required=True),
            match=dict(type='dict'),
            config=dict(type='path', default='/etc/ssh/sshd_config'),
            ours=dict(type='path'),
            sshd=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        sshd = Sshd(params['sshd'] or module.get_bin_path('sshd', required=True, opt_dirs=['/usr/sbin']),
                    module_runner(module))
        result = check_config(sshd, params['expect'], params['config'], match=params['match'], ours=params['ours'],
                              read=read_text, glob=glob.glob)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
