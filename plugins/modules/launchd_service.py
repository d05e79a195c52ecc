#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: launchd_service
short_description: Manage a launchd job with the modern launchctl verbs, including boot-time daemons
version_added: 0.1.0
description:
  - Manages one launchd job in an explicit domain with C(launchctl print), C(bootstrap), C(bootout), C(enable),
    C(disable) and C(kickstart).
  - A job in the V(system) domain (a LaunchDaemon) starts when the Mac boots, with nobody logged in; with
    C(UserName) in its definition it runs as that user. A job in the V(gui) domain (a LaunchAgent) only runs
    while that user is logged in to the desktop, so it is down after a power cut until someone logs in.
  - With O(plist) the module writes the job definition (atomically, with C(Label) filled in) to
    C(/Library/LaunchDaemons/LABEL.plist), owned by root:wheel, mode 0644, or to
    C(~/Library/LaunchAgents/LABEL.plist) of the user, and reloads a loaded job whose definition changed.
  - An unchanged job costs one C(launchctl print) and no write (plus C(launchctl print-disabled) when O(enabled)
    is given).
  - After starting a job the module watches it for O(wait) seconds and fails, with the job's last exit code,
    when it exits or launchd keeps restarting it (a crash loop), instead of reporting success.
author:
  - llmhost.macos developers (@llmhost)
attributes:
  diff_mode:
    description: With C(--diff) the module returns the job definition file and the loaded/running state before and after.
    support: full
  idempotent:
    description: A second run with the same arguments reports no change and runs no launchctl write (except O(state=restarted)).
    support: partial
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
options:
  label:
    description: The job's label, for example C(com.llmhost.ollama) or C(com.openssh.sshd).
    type: str
    required: true
  domain:
    description:
      - V(system) for a LaunchDaemon (needs root to change), V(gui) for a LaunchAgent of a logged-in user,
        V(user) for the user's background domain.
      - A V(gui) job of a user who is not logged in at the desktop cannot be loaded (C(launchctl bootstrap) fails
        with 5); its file is put in place, the result's RV(state) is C(waiting for login), and launchd loads it at
        that user's next login (automatic login included, see M(llmhost.macos.autologin)).
    type: str
    choices: [system, gui, user]
    default: system
  uid:
    description:
      - The user of the V(gui) or V(user) domain. Defaults to the user Ansible connected as (also under become).
    type: int
  plist:
    description:
      - The job definition (ProgramArguments, UserName, RunAtLoad, KeepAlive, EnvironmentVariables,
        WorkingDirectory, StandardOutPath, StandardErrorPath, ...). C(Label) is filled in from O(label).
      - When given, the file is written if its content differs; a loaded job is then booted out and bootstrapped
        again so launchd reads the new definition.
    type: dict
  plist_path:
    description:
      - Use an existing definition instead of O(plist), for example C(/System/Library/LaunchDaemons/ssh.plist).
        The module never writes or removes it.
    type: path
  state:
    description:
      - V(started) loads the job and makes sure it runs.
      - V(loaded) loads the job and leaves its running to launchd, for a task that runs once at boot
        (C(RunAtLoad) without C(KeepAlive)) and exits. A loaded job is not started again, and a job whose
        definition changed is reloaded (and so runs once more).
      - V(stopped) boots it out (a C(KeepAlive) job cannot be stopped while it is loaded); the file stays, so a
        system job starts again at the next boot unless O(enabled=false).
      - V(restarted) loads the job if needed, else kills and starts it again (C(kickstart -k)); always a change,
        meant for handlers.
      - V(absent) boots it out and removes the file written from O(plist).
    type: str
    choices: [started, loaded, stopped, restarted, absent]
    default: started
  enabled:
    description:
      - C(launchctl enable) or C(disable), an override that survives reboots. A disabled job cannot be bootstrapped,
        so V(false) goes with O(state=stopped) or O(state=absent).
    type: bool
  wait:
    description:
      - Seconds to watch a job after starting it; it must keep running with one pid. V(0) skips the watch.
    type: float
    default: 3
  stop_timeout:
    description:
      - Seconds to wait, after C(launchctl bootout), for the job to leave launchd before the module goes on (to
        bootstrap the new definition, or to report it stopped).
      - "C(bootout) returns before the job is gone (C(Boot-out failed: 36: Operation now in progress) while its
        process exits), and a C(bootstrap) before then fails; the module repeats the bootout until
        C(launchctl print) no longer finds the job, as C(brew services stop) does, and fails naming the job when it
        is still there after this long."
    type: float
    default: 60
notes:
  - For a job launchd starts per connection (C(Sockets) with C(inetdCompatibility), such as C(com.openssh.sshd)),
    O(state=restarted) (C(kickstart -k)) may end the running instances, every open SSH session and Ansible's own
    connection among them. Such a job reads its configuration at each new connection, so it needs no restart.
  - Homebrew's C(brew services start) run as a normal user creates a LaunchAgent, which does not start at boot.
    Use this module (or M(llmhost.macos.brew_service) with C(scope=system)) for a service that must be up after a
    power failure with nobody logged in.
seealso:
  - module: llmhost.macos.brew_service
'''

EXAMPLES = r'''
- name: Ollama starts at boot as the admin user, before anyone logs in
  llmhost.macos.launchd_service:
    label: com.llmhost.ollama
    plist:
      ProgramArguments: [/opt/homebrew/bin/ollama, serve]
      UserName: admin
      RunAtLoad: true
      KeepAlive: true
      EnvironmentVariables:
        OLLAMA_HOST: "0.0.0.0:11434"
        OLLAMA_KEEP_ALIVE: "-1"
      StandardOutPath: /Users/admin/Library/Logs/ollama.log
      StandardErrorPath: /Users/admin/Library/Logs/ollama.log
    enabled: true
  become: true

- name: Remote Login (sshd) enabled and loaded without Full Disk Access
  llmhost.macos.launchd_service:
    label: com.openssh.sshd
    plist_path: /System/Library/LaunchDaemons/ssh.plist
    enabled: true
  become: true

- name: Restart it from a handler
  llmhost.macos.launchd_service:
    label: com.llmhost.ollama
    state: restarted
  become: true
'''

RETURN = r'''
label:
  description: The job's label.
  returned: always
  type: str
  sample: com.llmhost.ollama
domain:
  description: The launchctl domain target.
  returned: always
  type: str
  sample: system
plist_path:
  description: The job definition file.
  returned: always
  type: str
  sample: /Library/LaunchDaemons/com.llmhost.ollama.plist
state:
  description:
    - The job's state from C(launchctl print) (C(running), C(not running), C(spawn scheduled)), or C(not loaded).
    - C(waiting for login) for a V(gui) job of a user who is not logged in.
  returned: always
  type: str
  sample: running
pid:
  description: The running job's pid, null when it does not run.
  returned: always
  type: int
  sample: 893
last_exit_code:
  description: The job's last exit code, null when it never exited.
  returned: always
  type: int
  sample: 0
actions:
  description: What was done (in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: [write /Library/LaunchDaemons/com.llmhost.ollama.plist, enable, bootstrap]
'''

import os
import pwd
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.launchd import Launchctl, ensure_job, watch_for_crash


class HostFiles(object):
    """Job definition files on the managed host: atomic writes, owner and mode set before the rename."""

    def read(self, path):
        try:
            with open(path, 'rb') as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    def write(self, path, data, owner_uid):
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
            if owner_uid is not None:
                os.chown(directory, owner_uid, pwd.getpwuid(owner_uid).pw_gid)
        handle, temp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        try:
            with os.fdopen(handle, 'wb') as out:
                out.write(data)
            os.chmod(temp, 0o644)
            if owner_uid is None:
                os.chown(temp, 0, 0)  # root:wheel
            else:
                os.chown(temp, owner_uid, pwd.getpwuid(owner_uid).pw_gid)
            os.rename(temp, path)  # same directory: atomic; owner and mode were set on the new file
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def remove(self, path):
        os.unlink(path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            label=dict(type='str', required=True),
            domain=dict(type='str', default='system', choices=['system', 'gui', 'user']),
            uid=dict(type='int'),
            plist=dict(type='dict'),
            plist_path=dict(type='path'),
            state=dict(type='str', default='started', choices=['started', 'loaded', 'stopped', 'restarted', 'absent']),
            enabled=dict(type='bool'),
            wait=dict(type='float', default=3),
            stop_timeout=dict(type='float', default=60),
        ),
        mutually_exclusive=[('plist', 'plist_path')],
        supports_check_mode=True,
    )
    params = module.params
    uid = params['uid']
    if uid is None:
        uid = int(os.environ.get('SUDO_UID') or os.getuid())
    try:
        home = pwd.getpwuid(uid).pw_dir
    except KeyError:
        module.fail_json(msg='uid: no user with uid %d on this host' % uid)
    waiter = watch_for_crash(time.sleep, seconds=params['wait']) if params['wait'] > 0 else None
    try:
        launchctl = Launchctl(module.get_bin_path('launchctl', required=True), module_runner(module))
        result = ensure_job(launchctl, HostFiles(), params, uid, home, check_mode=module.check_mode,
                            waiter=waiter, is_root=os.geteuid() == 0)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
