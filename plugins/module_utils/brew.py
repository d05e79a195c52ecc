# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`brew services` for one formula: the JSON parser and the planner behind brew_service.

Pure Python 3.9 with no third-party imports; brew runs through an injected run(argv).
A converged service costs one `brew services info NAME --json`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.llmhost.macos.plugins.module_utils.common import CommandError, LlmhostError

BREW_ENV = {
    'HOMEBREW_NO_AUTO_UPDATE': '1',
    'HOMEBREW_NO_ANALYTICS': '1',
    'HOMEBREW_NO_ENV_HINTS': '1',
    'HOMEBREW_NO_EMOJI': '1',
    'HOMEBREW_NO_INSTALL_CLEANUP': '1',
}
LAUNCH_DAEMONS = '/Library/LaunchDaemons/'
_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9@+._/-]*$')
_USER_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_.-]*$')


class BrewError(LlmhostError):
    """A failure reported to the user."""


def parse_services_info(text, name):
    """The hash of `brew services info NAME --json` (an array even for one name)."""
    try:
        document = json.loads(text)
    except ValueError:
        raise BrewError('brew services info %s --json printed no JSON: %r' % (name, text[:200]))
    entries = document if isinstance(document, list) else [document]
    for entry in entries:
        if isinstance(entry, dict) and entry.get('name') == name:
            return entry
    raise BrewError('brew services info %s --json does not describe %s' % (name, name), output=document)


def service_view(info):
    """What the module reports and compares: the fields every brew version has."""
    return {
        'name': info.get('name'),
        'service_name': info.get('service_name'),
        'status': info.get('status'),
        'running': bool(info.get('running')),
        'loaded': bool(info.get('loaded')),
        'pid': info.get('pid'),
        'exit_code': info.get('exit_code'),
        'user': info.get('user'),
        'file': info.get('file'),
    }


def in_scope(view, scope):
    """Is the service's plist the one of the wanted scope (a LaunchDaemon for system)?"""
    path = view.get('file') or ''
    if scope == 'system':
        return path.startswith(LAUNCH_DAEMONS)
    return '/Library/LaunchAgents/' in path


def validate_params(params, is_root):
    name = params['name']
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise BrewError('name: %r is not a formula name' % (name,))
    user = params.get('service_user')
    if user is not None:
        if params['scope'] != 'system':
            raise BrewError('service_user needs scope: system (a LaunchAgent always runs as its owner)')
        if not _USER_RE.match(user):
            raise BrewError('service_user: %r is not a user name' % (user,))
    if params['scope'] == 'system' and not is_root:
        raise BrewError('scope: system manages a LaunchDaemon, which needs root: use become: true')
    if params['scope'] == 'user' and is_root:
        raise BrewError('scope: user manages the connecting user\'s LaunchAgent: run this task without become '
                        '(as root it would be root\'s)')


class Brew(object):
    """brew through an injected run(argv) -> (rc, stdout, stderr)."""

    def __init__(self, path, run):
        self.path = path
        self.run = run

    def call(self, *args):
        argv = [self.path] + list(args)
        rc, out, err = self.run(argv)
        if rc != 0:
            message = (err or out).strip() or 'exit status %d' % rc
            raise CommandError('%s failed (exit %d): %s' % (' '.join(argv), rc, message), argv, rc, out, err)
        return out

    def info(self, name):
        return service_view(parse_services_info(self.call('services', 'info', name, '--json'), name))


def ensure_service(brew, params, is_root, check_mode=False, gui_session=None):
    """Bring `brew services` for one formula to params['state'].

    gui_session(): True when the connecting user has a GUI login session (user scope only).
    """
    validate_params(params, is_root)
    name, state, scope, user = params['name'], params['state'], params['scope'], params.get('service_user')
    before = brew.info(name)
    warnings = []
    command = None

    if state == 'stopped':
        if before['loaded'] or before['running']:
            command = ['services', 'stop', name]
    elif state == 'restarted':
        command = ['services', 'restart', name]
    else:
        wrong_user = user is not None and before['user'] != user
        if before['running'] and in_scope(before, scope) and not wrong_user:
            command = None
        elif before['loaded']:
            # loaded but dead, in the other scope, or as another user: brew rewrites and reloads it
            command = ['services', 'restart', name]
        else:
            command = ['services', 'start', name]
    if command and user is not None and command[1] != 'stop':
        command += ['--sudo-service-user', user]

    if command and scope == 'user':
        warnings.append('scope: user makes %s a LaunchAgent: it only runs while %s is logged in to the desktop, '
                        'so after a reboot with nobody logged in it is down. Use scope: system for a service '
                        'that must start at boot.' % (name, before.get('user') or 'the user'))
        if gui_session is not None and command[1] != 'stop' and not gui_session():
            warnings.append('There is no GUI login session for this user now: launchd cannot load %s until '
                            'someone logs in.' % name)

    result = {'changed': bool(command), 'service': before, 'command': None, 'warnings': warnings,
              'diff': {'before': before, 'after': before}}
    if not command:
        return result
    result['command'] = [brew.path] + command
    if check_mode:
        result['diff']['after'] = dict(before, running=state != 'stopped', loaded=state != 'stopped',
                                       status='started' if state != 'stopped' else 'none',
                                       user=user or before['user'], pid=None)
        return result
    try:
        brew.call(*command)
    except CommandError as exc:
        if scope == 'user' and 'Bootstrap failed: 5' in (exc.details.get('stdout') or '') + (exc.details.get('stderr') or ''):
            raise BrewError('%s (launchd could not load the LaunchAgent: with nobody logged in to the desktop there '
                            'is no GUI session for it; use scope: system)' % exc.msg, **exc.details)
        raise
    after = brew.info(name)
    result['service'] = after
    result['diff']['after'] = after
    if state != 'stopped' and not after['running']:
        raise BrewError('brew services %s %s ran, but the service is not running (status %s, last exit code %s)' % (
            command[1], name, after['status'], after['exit_code']), service=after, command=result['command'])
    if state == 'stopped' and after['running']:
        raise BrewError('brew services stop %s ran, but the service still runs (pid %s)' % (name, after['pid']),
                        service=after, command=result['command'])
    return result
