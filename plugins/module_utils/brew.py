# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`brew services` for one formula: the JSON parser and the planner behind brew_service.

Pure Python 3.9 with no third-party imports; brew runs through an injected run(argv).
A converged service costs one `brew services info NAME --json` (plus, for a system service, a look
for leftover LaunchAgent files in the users' homes: a local stat each, no command).

A system service is a LaunchDaemon. A plain `brew services start NAME` run earlier by a user (the
seed's way) leaves that user's LaunchAgent ~/Library/LaunchAgents/homebrew.mxcl.NAME.plist, which
brew run as root does not see: launchd starts it again at each login of that user, and the two
servers fight over one port. The planner boots such agents out of the user's gui/ and user/
domains and removes their files before it starts the system service.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, CommandError, LlmhostError

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


def agent_file(home, service_name):
    return '%s/Library/LaunchAgents/%s.plist' % (home.rstrip('/'), service_name)


def find_user_agents(service_name, users, exists):
    """[{user, uid, path}] of the LaunchAgents named SERVICE_NAME.plist in the users' homes.

    users: [(name, uid, home)]; exists(path) -> bool.
    """
    found, seen = [], set()
    for name, uid, home in users:
        if not home or not home.startswith('/') or home in seen:
            continue
        seen.add(home)
        path = agent_file(home, service_name)
        if exists(path):
            found.append({'user': name, 'uid': uid, 'path': path})
    return found


def _loaded_in(launchctl, agent, service_name):
    targets = ['%s/%d/%s' % (domain, agent['uid'], service_name) for domain in ('gui', 'user')]
    return [target for target in targets if launchctl.print_job(target) is not None]


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


class Brew(Command):
    """brew through an injected run(argv) -> (rc, stdout, stderr)."""

    def info(self, name):
        return service_view(parse_services_info(self.check('services', 'info', name, '--json'), name))


def ensure_service(brew, params, is_root, check_mode=False, gui_session=None, agents=None):
    """Bring `brew services` for one formula to params['state'].

    gui_session(): True when the connecting user has a GUI login session (user scope only).
    agents: for scope system, an object with users() -> [(name, uid, home)], exists(path),
    remove(path) and launchctl (a launchd.Launchctl), to find and remove leftover user agents.
    """
    validate_params(params, is_root)
    name, state, scope, user = params['name'], params['state'], params['scope'], params.get('service_user')
    before = brew.info(name)
    warnings = []
    command = None
    leftovers = []
    if scope == 'system' and state != 'stopped' and agents is not None:
        leftovers = find_user_agents(before['service_name'] or 'homebrew.mxcl.%s' % name, agents.users(),
                                     agents.exists)
    if leftovers and not params.get('remove_user_agents', True):
        raise BrewError(
            '%s also has a LaunchAgent that a `brew services start %s` run as a user left: %s. launchd starts it at '
            'each login of that user, a second %s next to the system service. Remove it (remove_user_agents: true), '
            'or run `brew services stop %s` as that user.' % (
                name, name, ', '.join('%s (%s)' % (agent['path'], agent['user']) for agent in leftovers), name, name),
            user_agents=leftovers)

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

    result = {'changed': bool(command or leftovers), 'service': before, 'command': None, 'warnings': warnings,
              'removed_user_agents': [], 'diff': {'before': before, 'after': before}}
    if leftovers:
        result['diff'] = {'before': dict(before, user_agents=[agent['path'] for agent in leftovers]),
                          'after': dict(before, user_agents=[])}
        for agent in leftovers:
            agent['loaded_in'] = _loaded_in(agents.launchctl, agent, before['service_name'])
            if not check_mode:
                for target in agent['loaded_in']:
                    agents.launchctl.bootout(target)
                agents.remove(agent['path'])
        result['removed_user_agents'] = leftovers
    if not command:
        return result
    result['command'] = [brew.path] + command
    if check_mode:
        result['diff']['after'] = dict(result['diff']['after'], running=state != 'stopped', loaded=state != 'stopped',
                                       status='started' if state != 'stopped' else 'none',
                                       user=user or before['user'], pid=None)
        return result
    try:
        brew.check(*command)
    except CommandError as exc:
        if scope == 'user' and 'Bootstrap failed: 5' in (exc.details.get('stdout') or '') + (exc.details.get('stderr') or ''):
            raise BrewError('%s (launchd could not load the LaunchAgent: with nobody logged in to the desktop there '
                            'is no GUI session for it; use scope: system)' % exc.msg, **exc.details)
        raise
    after = brew.info(name)
    result['service'] = after
    result['diff']['after'] = dict(after, user_agents=[]) if leftovers else after
    if state != 'stopped' and not after['running']:
        raise BrewError('brew services %s %s ran, but the service is not running (status %s, last exit code %s)' % (
            command[1], name, after['status'], after['exit_code']), service=after, command=result['command'])
    if state == 'stopped' and after['running']:
        raise BrewError('brew services stop %s ran, but the service still runs (pid %s)' % (name, after['pid']),
                        service=after, command=result['command'])
    return result
