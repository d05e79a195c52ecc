# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory `brew services` for unit tests of module_utils/brew.py.

`services info NAME --json` prints the array of reference 3.1/3.2; start/stop/restart follow 3.4:
as root a LaunchDaemon, as a user a LaunchAgent, which cannot be bootstrapped without a GUI session.
"""

from __future__ import annotations

import json


class FakeBrew:
    path = '/opt/homebrew/bin/brew'

    def __init__(self, root=False, user='admin', gui=True, crash=()):
        self.root = root
        self.user = user
        self.gui = gui
        self.crash = set(crash)
        self.service = None  # {'file', 'user', 'running', 'pid', 'exit_code'} or None
        self.calls = []
        self.next_pid = 700

    def writes(self):
        return [argv[1:] for argv in self.calls if argv[2] != 'info']

    def _file(self, name):
        if self.root:
            return '/Library/LaunchDaemons/homebrew.mxcl.%s.plist' % name
        return '/Users/%s/Library/LaunchAgents/homebrew.mxcl.%s.plist' % (self.user, name)

    def info(self, name):
        loaded = self.service is not None and self.service['file'] == self._file(name)
        service = self.service if loaded else None
        running = bool(service and service['running'])
        if running:
            status = 'started'
        elif not loaded:
            status = 'none'
        elif service['exit_code']:
            status = 'error'
        else:
            status = 'stopped'
        return [{
            'name': name, 'service_name': 'homebrew.mxcl.%s' % name, 'running': running, 'loaded': loaded,
            'schedulable': False, 'pid': service['pid'] if running else None,
            'exit_code': service['exit_code'] if service else None,
            'user': service['user'] if service else None, 'status': status,
            'file': service['file'] if service else '/opt/homebrew/opt/%s/homebrew.mxcl.%s.plist' % (name, name),
            'registered': loaded, 'loaded_file': service['file'] if service else None,
            # Homebrew's manual_command puts the service's environment first
            'command': 'OLLAMA_FLASH_ATTENTION="1" /opt/homebrew/opt/%s/bin/%s serve' % (name, name),
            'working_dir': '/opt/homebrew/var',
            'root_dir': None, 'log_path': '/opt/homebrew/var/log/%s.log' % name,
            'error_log_path': '/opt/homebrew/var/log/%s.log' % name, 'interval': None, 'cron': None,
        }]

    def _start(self, name, user):
        file = self._file(name)
        if not self.root and not self.gui:
            domain = 'gui/501'
            return 1, '', ('Bootstrap failed: 5: Input/output error\nTry re-running the command as root for richer '
                           'errors.\nError: Failure while executing; `/bin/launchctl bootstrap %s %s` exited with 5.\n'
                           % (domain, file))
        self.next_pid += 1
        crashed = name in self.crash
        self.service = {'file': file, 'user': user or ('root' if self.root else self.user), 'running': not crashed,
                        'pid': None if crashed else self.next_pid, 'exit_code': 78 if crashed else None}
        return 0, '==> Successfully started `%s` (label: homebrew.mxcl.%s)\n' % (name, name), ''

    def __call__(self, argv):
        self.calls.append(list(argv))
        args = argv[1:]
        if args[:2] != ['services', args[1]] or args[0] != 'services':
            return 1, '', 'Error: Unknown command\n'
        verb, name = args[1], args[2]
        user = args[args.index('--sudo-service-user') + 1] if '--sudo-service-user' in args else None
        if verb == 'info':
            return 0, json.dumps(self.info(name), indent=4) + '\n', ''
        if verb == 'start':
            if self.service and self.service['file'] == self._file(name):
                return 0, 'Service `%s` already started, use `brew services restart %s` to restart.\n' % (name, name), ''
            return self._start(name, user)
        if verb == 'restart':
            self.service = None
            return self._start(name, user)
        if verb == 'stop':
            self.service = None
            return 0, 'Stopping `%s`... (might take a while)\n==> Successfully stopped `%s`\n' % (name, name), ''
        return 1, '', 'Error: unknown subcommand %s\n' % verb
