#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: brew_service
short_description: Start, stop or restart a Homebrew service, at boot time if wanted
version_added: 0.1.0
description:
  - Manages C(brew services) for one installed formula, for example C(ollama).
  - With O(scope=system) the service is a LaunchDaemon (C(/Library/LaunchDaemons/homebrew.mxcl.NAME.plist)) that
    launchd starts when the Mac boots, with nobody logged in, optionally running as O(service_user). Needs root
    (C(become)).
  - With O(scope=user) (what plain C(brew services start) does) the service is a LaunchAgent of the connecting
    user, which launchd only runs while that user is logged in to the desktop. On a headless Mac it is down after
    every reboot or power failure until someone logs in; the module warns about it.
  - Reads the state with one C(brew services info NAME --json); a service already in the wanted state costs
    nothing more. After a start it reads the state again and fails if the service is not running.
author:
  - llmhost.macos developers (@llmhost)
attributes:
  check_mode:
    description: In check mode the module reads the service's state, reports what it would do and changes nothing.
    support: full
  diff_mode:
    description: With C(--diff) the module returns the service's state before and after.
    support: full
  platform:
    description: The operating systems the module manages.
    platforms: darwin
    support: full
  idempotent:
    description: A second run with the same arguments reports no change (except O(state=restarted)).
    support: partial
options:
  name:
    description: The formula, for example C(ollama). It must be installed.
    type: str
    required: true
  state:
    description:
      - V(started) starts the service when it does not run (or runs in the other scope or as another user).
      - V(stopped) stops it and unloads it.
      - V(restarted) restarts it; always a change, meant for handlers.
    type: str
    choices: [started, stopped, restarted]
    default: started
  scope:
    description:
      - V(user) - a LaunchAgent of the connecting user (run the task without C(become)); it does not start at boot.
      - V(system) - a LaunchDaemon, started at boot (run the task with C(become)).
    type: str
    choices: [user, system]
    default: user
  service_user:
    description:
      - With O(scope=system), the user the service runs as (C(--sudo-service-user)), for example the admin user
        who owns the models in C(~/.ollama). By default a system service runs as root.
    type: str
  path:
    description: Directories to look for C(brew) in, before the PATH.
    type: list
    elements: path
    default: [/opt/homebrew/bin, /usr/local/bin]
notes:
  - C(brew services start) writes the plist from the formula, so changes made to it by hand (such as
    C(EnvironmentVariables)) are lost at the next start or restart. To control the job definition, use
    M(llmhost.macos.launchd_service) with your own plist instead.
seealso:
  - module: llmhost.macos.launchd_service
'''

EXAMPLES = r'''
- name: Ollama starts at boot, as the admin user, before anyone logs in
  llmhost.macos.brew_service:
    name: ollama
    scope: system
    service_user: admin
  become: true

- name: A user service for an interactive Mac (down after a reboot until a login)
  llmhost.macos.brew_service:
    name: ollama
    scope: user
'''

RETURN = r'''
service:
  description: The service after the task, from C(brew services info --json).
  returned: always
  type: dict
  sample:
    name: ollama
    service_name: homebrew.mxcl.ollama
    status: started
    running: true
    loaded: true
    pid: 812
    exit_code: null
    user: admin
    file: /Library/LaunchDaemons/homebrew.mxcl.ollama.plist
command:
  description: The brew command run (in check mode, that would run); null when nothing had to change.
  returned: always
  type: list
  elements: str
  sample: [/opt/homebrew/bin/brew, services, start, ollama, --sudo-service-user, admin]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.brew import BREW_ENV, Brew, ensure_service, validate_params
from ansible_collections.llmhost.macos.plugins.module_utils.common import C_LOCALE, LlmhostError, exit_with_result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='started', choices=['started', 'stopped', 'restarted']),
            scope=dict(type='str', default='user', choices=['user', 'system']),
            service_user=dict(type='str'),
            path=dict(type='list', elements='path', default=['/opt/homebrew/bin', '/usr/local/bin']),
        ),
        supports_check_mode=True,
    )
    environ = dict(C_LOCALE, **BREW_ENV)

    def run(argv):
        return module.run_command(list(argv), environ_update=dict(environ))

    def gui_session():
        launchctl = module.get_bin_path('launchctl')
        if launchctl is None:
            return True  # cannot tell; say nothing more
        rc, _out, _err = run([launchctl, 'print', 'gui/%d' % os.getuid()])
        return rc == 0

    is_root = os.geteuid() == 0
    try:
        validate_params(module.params, is_root)
        brew = Brew(module.get_bin_path('brew', required=True, opt_dirs=module.params['path']), run)
        result = ensure_service(brew, module.params, is_root=is_root, check_mode=module.check_mode,
                                gui_session=gui_session)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
