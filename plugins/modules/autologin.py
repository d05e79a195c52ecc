#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: autologin
short_description: Turn macOS automatic login of one user on or off
version_added: 0.2.0
description:
  - Sets C(autoLoginUser) in C(/Library/Preferences/com.apple.loginwindow) (with C(defaults write)) and writes the
    user's password to C(/etc/kcpassword) (root:wheel, mode 0600), which is what loginwindow reads to log that user
    in at boot. Its LaunchAgents then start with nobody at the screen.
  - With O(state=absent) both are removed, and the Mac stops at the login window again after a reboot.
  - Costs one C(defaults read) and one read of C(/etc/kcpassword) when nothing changes. The password is compared
    with the file's content and never returned, logged or passed on a command line.
  - The change takes effect at the next boot; the module does not log anyone in now.
author:
  - llmhost.macos developers (@llmhost)
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
attributes:
  diff_mode:
    description: Returns the user and whether C(/etc/kcpassword) holds the password, before and after (never the password).
    support: full
  idempotent:
    description: A second run with the same arguments reports no change and writes nothing.
    support: full
options:
  user:
    description: The user to log in at boot. Required with O(state=present); not root.
    type: str
  password:
    description:
      - The user's login password. Required with O(state=present). Keep it in Ansible Vault.
      - The module cannot check it against the account without putting it on a command line. A wrong one leaves the
        Mac at the login window after the next boot.
    type: str
  state:
    description: V(present) turns automatic login of O(user) on, V(absent) turns automatic login off.
    type: str
    choices: [present, absent]
    default: present
notes:
  - C(/etc/kcpassword) is obfuscated, not encrypted (XOR with a fixed key); anyone who can read it as root, or who
    has the disk, has the password. Give the user a password used nowhere else.
  - Anyone at the Mac's screen, keyboard or a screen-sharing session after a boot is logged in as the user.
  - macOS does not log in automatically while FileVault is on ("Automatic login can't be turned on because FileVault
    is enabled"); the module does not check FileVault, the M(llmhost.macos.ollama) role does.
seealso:
  - module: llmhost.macos.launchd_service
'''

EXAMPLES = r'''
- name: Log the service user in at boot, so its LaunchAgents start with nobody at the screen
  llmhost.macos.autologin:
    user: admin
    password: "{{ vault_admin_password }}"
  become: true

- name: No automatic login
  llmhost.macos.autologin:
    state: absent
  become: true
'''

RETURN = r'''
user:
  description: The user logged in at boot after the run (null for none).
  returned: success
  type: str
  sample: admin
previous_user:
  description: The user C(autoLoginUser) named before the run (null for none).
  returned: success
  type: str
  sample: null
actions:
  description: What was (or in check mode would be) done.
  returned: success
  type: list
  elements: str
  sample: [write /etc/kcpassword, defaults write /Library/Preferences/com.apple.loginwindow autoLoginUser]
'''

import os
import pwd
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.autologin import Defaults, ensure_autologin, validate_params
from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner


class SecretFiles(object):
    """/etc/kcpassword: root:wheel 0600 from the moment it exists (mode set before the rename)."""

    def read(self, path):
        """The file's bytes, mode and owner; None only when it does not exist (unreadable is an error, so a
        run without root never takes a password file it cannot read for a missing one)."""
        try:
            with open(path, 'rb') as handle:
                info = os.fstat(handle.fileno())
                return {'data': handle.read(), 'mode': info.st_mode, 'uid': info.st_uid}
        except FileNotFoundError:
            return None
        except (IOError, OSError) as exc:
            raise LlmhostError('Cannot read %s (%s): reading automatic login needs root, use become: true'
                               % (path, exc.strerror or exc))

    def write(self, path, data):
        handle, temp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
        try:
            os.fchmod(handle, 0o600)
            os.fchown(handle, 0, 0)
            with os.fdopen(handle, 'wb') as out:
                out.write(data)
            os.rename(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def secure(self, path):
        os.chown(path, 0, 0)
        os.chmod(path, 0o600)

    def remove(self, path):
        os.unlink(path)


def user_uid(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type='str'),
            password=dict(type='str', no_log=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        supports_check_mode=True,
    )
    try:
        validate_params(module.params, user_uid)
        defaults = Defaults(module.get_bin_path('defaults', required=True, opt_dirs=['/usr/bin']), module_runner(module))
        result = ensure_autologin(defaults, SecretFiles(), module.params, check_mode=module.check_mode,
                                  is_root=os.geteuid() == 0)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
