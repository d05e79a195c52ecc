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
  - With O(scope=system), a LaunchAgent of the same formula that a user's plain C(brew services start) left in
    C(~/Library/LaunchAgents) (what the seed's setup does) is booted out of that user's C(gui/UID) and C(user/UID)
    domains and removed before the system service starts, so one server owns the port, also when that user
    logs in. Brew run as root does not see such an agent. See O(remove_user_agents).
author:
  - llmhost.macos developers (@llmhost)
attributes:
  diff_mode:
    description: With C(--diff) the module returns the service's state before and after.
    support: full
  idempotent:
    description: A second run with the same arguments reports no change (except O(state=restarted)).
    support: partial
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
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
  remove_user_agents:
    description:
      - With O(scope=system), remove a leftover LaunchAgent of the same formula from every user's
        C(~/Library/LaunchAgents) (booted out first when it is loaded), reported as a change and in the diff.
      - V(false) fails the task instead when there is one, before anything is changed, naming the file and the user.
    type: bool
    default: true
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
removed_user_agents:
  description:
    - The leftover LaunchAgents of the formula that were removed (in check mode, that would be), with the launchd
      targets they were loaded in.
  returned: always
  type: list
  elements: dict
  sample:
    - user: admin
      uid: 501
      path: /Users/admin/Library/LaunchAgents/homebrew.mxcl.ollama.plist
      loaded_in: [gui/501/homebrew.mxcl.ollama]
command:
  description: The brew command run (in check mode, that would run); null when nothing had to change.
  returned: always
  type: list
  elements: str
  sample: [/opt/homebrew/bin/brew, services, start, ollama, --sudo-service-user, admin]
'''

import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.brew import BREW_ENV, Brew, ensure_service, validate_params
from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.launchd import Launchctl


class UserAgents(object):
    """What the planner needs to find and remove users' leftover LaunchAgents on this host."""

    def __init__(self, launchctl):
        self.launchctl = launchctl

    @staticmethod
    def users():
        return [(entry.pw_name, entry.pw_uid, entry.pw_dir) for entry in pwd.getpwall()]

    @staticmethod
    def exists(path):
        return os.path.isfile(path)

    @staticmethod
    def remove(path):
        os.unlink(path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='started', choices=['started', 'stopped', 'restarted']),
            scope=dict(type='str', default='user', choices=['user', 'system']),
            service_user=dict(type='str'),
            remove_user_agents=dict(type='bool', default=True),
            path=dict(type='list', elements='path', default=['/opt/homebrew/bin', '/usr/local/bin']),
        ),
        supports_check_mode=True,
    )
    params = module.params
    is_root = os.geteuid() == 0
    try:
        validate_params(params, is_root)
        launchctl = Launchctl(module.get_bin_path('launchctl', required=True), module_runner(module))

        def gui_session():
            _argv, rc, _out, _err = launchctl.call('print', 'gui/%d' % os.getuid())
            return rc == 0

        brew = Brew(module.get_bin_path('brew', required=True, opt_dirs=params['path']),
                    module_runner(module, environ=BREW_ENV))
        result = ensure_service(brew, params, is_root=is_root, check_mode=module.check_mode, gui_session=gui_session,
                                agents=UserAgents(launchctl) if params['scope'] == 'system' else None)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
