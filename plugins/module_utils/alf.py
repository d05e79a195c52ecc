# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The macOS Application Firewall (ALF) through /usr/libexec/ApplicationFirewall/socketfilterfw.

socketfilterfw is closed source; what is known of it (see the project's reference notes, section 6.4):

* ``--getglobalstate`` prints ``Firewall is disabled. (State = 0)``, ``Firewall is enabled. (State = 1)``
  or, with block-all, ``Firewall is enabled. (State = 2)`` (older macOS) /
  ``Firewall is blocking all non-essential incoming connections. (State = 2)`` (macOS 15).  Any state
  other than 0 counts as on.  ``--setglobalstate on|off`` prints the new state line.
* ``--getstealthmode`` prints ``Firewall stealth mode is on`` / ``... is off`` (from a parser, not a
  capture); ``Stealth mode enabled`` / ``disabled`` is accepted too (unverified wording).
* ``--listapps`` has two layouts, both parsed (each path line ends in a space, not shown here).
  macOS 15.3.1 and later: one space either side of the colon, 13 spaces before the parenthesis::

      Total number of apps = 2
      1 : /usr/libexec/sshd-session
                   (Block incoming connections)

  The older one: a blank line after the header and between entries, two spaces after the colon,
  a space and a tab before ``( Allow incoming connections )``, the header and that line also end
  in a space::

      ALF: total number of apps = 2

      1 :  /Applications/AppName.app
        ( Allow incoming connections )

* ``--add PATH`` prints ``Application at path ( PATH ) added to firewall``; ``--unblockapp PATH``
  prints ``Incoming connection to the application is permitted``, or ``The application is not part of
  the firewall`` for a path that is not listed.  ``--remove PATH`` is in socketfilterfw's usage text
  (an OS X 10.10 era transcript), but no capture of what it prints was found: only its read-back counts.
* The readers work without root.  The setters, run without root, print what they print as root and
  change nothing (lima-vm/socket_vmnet#51 for ``--add``).  No capture shows an exit status.  So exit
  statuses are not trusted: root is checked before any write, and every write is read back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, LlmhostError, command_failed

NOT_PART = 'The application is not part of the firewall'
USAGE = 'usage:'

_STATE_RE = re.compile(r'\(State = (?P<number>\d+)\)')
_STEALTH_RE = re.compile(r'stealth mode is (?P<word>on|off)\b|stealth mode (?P<done>enabled|disabled)\b', re.IGNORECASE)
_TOTAL_RE = re.compile(r'^\s*(?:ALF:\s*)?total number of apps\s*=\s*(?P<count>\d+)\s*$', re.IGNORECASE)
_ENTRY_RE = re.compile(r'^\s*(?P<number>\d+)\s*:\s*(?P<path>\S.*?)\s*$')
_VERDICT_RE = re.compile(r'^\s*\(\s*(?P<verdict>Allow|Block) incoming connections\s*\)\s*$', re.IGNORECASE)
# <HOMEBREW_PREFIX>/Cellar/<formula>/<version>/<path inside the keg>
_CELLAR_RE = re.compile(r'^(?P<cellar>/(?:.*?/)?Cellar)/(?P<formula>[^/]+)/(?P<version>[^/]+)/(?P<inside>.+)$')

NEEDS_ROOT = ('Changing the Application Firewall needs root (socketfilterfw run without root prints its usual '
              'messages and changes nothing): use become: true')
NOT_APPLIED_HINT = ('socketfilterfw changes nothing when it is not run as root, and a configuration profile that '
                    'manages com.apple.security.firewall may override it')


class AlfError(LlmhostError):
    """Invalid input, missing privileges or an unexpected answer from socketfilterfw."""


def parse_global_state(text):
    """The number of `--getglobalstate` / `--setglobalstate`: 0 off, 1 on, 2 on and blocking all incoming."""
    match = _STATE_RE.search(text)
    if match:
        return int(match.group('number'))
    raise AlfError('Could not understand socketfilterfw --getglobalstate: %r' % text.strip(), stdout=text)


def parse_stealth_mode(text):
    """True or False from `--getstealthmode`."""
    match = _STEALTH_RE.search(text)
    if match:
        return (match.group('word') or match.group('done')).lower() in ('on', 'enabled')
    raise AlfError('Could not understand socketfilterfw --getstealthmode: %r' % text.strip(), stdout=text)


def parse_listapps(text):
    """[{'path': ..., 'allowed': bool}] from `--listapps`, in either layout, in the order listed.

    The header's count must match the entries found, so a layout not known here fails instead of
    being half read.
    """
    total = None
    apps = []
    pending = None
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _TOTAL_RE.match(line)
        if match and total is None:
            total = int(match.group('count'))
            continue
        match = _VERDICT_RE.match(line)
        if match and pending is not None:
            apps.append({'path': pending, 'allowed': match.group('verdict').lower() == 'allow'})
            pending = None
            continue
        match = _ENTRY_RE.match(line)
        if match and pending is None and total is not None:
            pending = match.group('path')
            continue
        raise AlfError('Could not understand socketfilterfw --listapps at %r' % line, stdout=text)
    if total is None or pending is not None or total != len(apps):
        raise AlfError('Could not understand socketfilterfw --listapps: %s'
                       % ('no "total number of apps" line' if total is None
                          else 'no "(Allow/Block incoming connections)" line for %s' % pending if pending is not None
                          else 'it counts %d apps but lists %d' % (total, len(apps))),
                       stdout=text)
    return apps


def state_word(number):
    return 'on' if number else 'off'


def cellar_parts(path):
    """(cellar, formula, version, inside) of a path in a Homebrew keg, else None.

    /opt/homebrew/Cellar/caddy/2.11.6/bin/caddy -> ('/opt/homebrew/Cellar', 'caddy', '2.11.6', 'bin/caddy')
    """
    match = _CELLAR_RE.match(path)
    if not match:
        return None
    return match.group('cellar'), match.group('formula'), match.group('version'), match.group('inside')


def is_stale(listed, allowed, exists):
    """Whether the listed app path is an older version of one of the `allowed` (resolved) paths.

    Narrow on purpose: the listed path must be the same file in another version directory of the
    same formula's keg, in the same Cellar (only the <version> component differs), and it must no
    longer exist.  Anything else (other formulas, other files, paths outside a Cellar, versions
    still installed) is never removed.
    """
    if listed in allowed:
        return False
    parts = cellar_parts(listed)
    if parts is None:
        return False
    cellar, formula, _version, inside = parts
    for path in allowed:
        other = cellar_parts(path)
        if other is not None and (other[0], other[1], other[3]) == (cellar, formula, inside):
            return not exists(listed)
    return False


def resolve_allow(paths, realpath=os.path.realpath, exists=os.path.exists):
    """The absolute paths to allow, symlinks resolved on the target, duplicates dropped, in order.

    Raises before anything runs when a path is relative or does not exist.
    """
    resolved = []
    problems = []
    for path in paths or []:
        if not isinstance(path, str) or not path.startswith('/'):
            problems.append('%r is not an absolute path' % (path,))
            continue
        real = realpath(path)
        if not exists(real):
            problems.append('%s does not exist%s' % (path, '' if real == path else ' (resolves to %s)' % real))
            continue
        if real not in resolved:
            resolved.append(real)
    if problems:
        raise AlfError('allow: %s' % '; '.join(problems), invalid=problems)
    return resolved


def plan_apps(apps, allowed, remove_stale, exists):
    """The app operations that bring `apps` (as listed) to `allowed`: [(verb, path)] in the order to run.

    verb is 'add' (not listed: then --add and --unblockapp), 'unblock' (listed but blocked) or 'remove'
    (stale, only with remove_stale).
    """
    listed = dict((app['path'], app['allowed']) for app in apps)
    operations = []
    for path in allowed:
        if path not in listed:
            operations.append(('add', path))
        elif not listed[path]:
            operations.append(('unblock', path))
    if remove_stale:
        operations.extend(('remove', app['path']) for app in apps if is_stale(app['path'], allowed, exists))
    return operations


def apply_plan(apps, operations):
    """The app list as it will be after `operations`."""
    after = [dict(app) for app in apps]
    for verb, path in operations:
        if verb == 'add':
            after.append({'path': path, 'allowed': True})
        elif verb == 'unblock':
            for app in after:
                if app['path'] == path:
                    app['allowed'] = True
        else:
            after = [app for app in after if app['path'] != path]
    return after


def app_problems(apps, allowed, removed):
    """What in `apps` (a read-back) still differs: allowed paths not listed as allowing, removed ones listed."""
    listed = dict((app['path'], app['allowed']) for app in apps)
    problems = []
    for path in allowed:
        if path not in listed:
            problems.append('%s is not listed' % path)
        elif not listed[path]:
            problems.append('%s blocks incoming connections' % path)
    problems.extend('%s is still listed' % path for path in removed if path in listed)
    return problems


class Socketfilterfw(Command):
    """socketfilterfw through an injected runner: run(argv) -> (rc, stdout, stderr).

    Reads parse the text whatever the exit status (none is documented); a text that does not parse
    is reported with the exit status.  Writes raise only for a usage text or an unlisted app; their
    effect is checked by reading back.
    """

    def _read(self, parser, *args):
        argv, rc, out, err = self.call(*args)
        try:
            return parser(out)
        except AlfError:
            if rc != 0 or USAGE in out:
                raise command_failed(argv, rc, out, err)
            raise

    def _write(self, *args):
        argv, rc, out, err = self.call(*args)
        if out.lstrip().startswith(USAGE) or NOT_PART in out:
            raise command_failed(argv, rc, out, err)
        return {'cmd': argv, 'rc': rc, 'stdout': out, 'stderr': err}

    def global_state(self):
        return self._read(parse_global_state, '--getglobalstate')

    def stealth_mode(self):
        return self._read(parse_stealth_mode, '--getstealthmode')

    def list_apps(self):
        return self._read(parse_listapps, '--listapps')

    def write_argv(self, verb, value):
        """The argv lists of one planned write ('state', 'stealth_mode', 'add', 'unblock', 'remove')."""
        if verb == 'state':
            return [[self.path, '--setglobalstate', state_word(value)]]
        if verb == 'stealth_mode':
            return [[self.path, '--setstealthmode', 'on' if value else 'off']]
        if verb == 'add':
            return [[self.path, '--add', value], [self.path, '--unblockapp', value]]
        if verb == 'unblock':
            return [[self.path, '--unblockapp', value]]
        return [[self.path, '--remove', value]]

    def write(self, argv):
        return self._write(*argv[1:])


def ensure(fw, state=None, stealth_mode=None, allow=(), remove_stale=False, check_mode=False, is_root=True,
           exists=os.path.exists):
    """Bring the Application Firewall to what is asked; return the module result.

    state: 'on', 'off' or None (leave alone); stealth_mode: True, False or None; allow: resolved
    absolute paths (see resolve_allow).  Reads: one --getglobalstate, --getstealthmode only when
    stealth_mode is given, --listapps only when allow is not empty.  Writes in this order: the apps
    (so an app is allowed before the firewall is turned on), stealth mode, the global state; then
    what was written is read back.
    """
    allow = list(allow or [])
    before = {'state': state_word(fw.global_state())}
    if stealth_mode is not None:
        before['stealth_mode'] = fw.stealth_mode()
    apps = fw.list_apps() if allow else None
    if apps is not None:
        before['apps'] = apps

    operations = plan_apps(apps, allow, remove_stale, exists) if apps is not None else []
    after = dict(before)
    writes = list(operations)
    if apps is not None:
        after['apps'] = apply_plan(apps, operations)
    if stealth_mode is not None and before['stealth_mode'] != stealth_mode:
        writes.append(('stealth_mode', stealth_mode))
        after['stealth_mode'] = stealth_mode
    if state is not None and before['state'] != state:
        writes.append(('state', 1 if state == 'on' else 0))
        after['state'] = state
    commands = [argv for verb, value in writes for argv in fw.write_argv(verb, value)]

    if writes and not check_mode:
        if not is_root:
            raise AlfError(NEEDS_ROOT, commands=commands)
        outputs = [fw.write(argv) for argv in commands]
        problems = []
        if state is not None and before['state'] != state:
            after['state'] = state_word(fw.global_state())
            if after['state'] != state:
                problems.append('the firewall is %s, not %s' % (after['state'], state))
        if stealth_mode is not None and before['stealth_mode'] != stealth_mode:
            after['stealth_mode'] = fw.stealth_mode()
            if after['stealth_mode'] != stealth_mode:
                problems.append('stealth mode is %s' % ('on' if after['stealth_mode'] else 'off'))
        if operations:
            after['apps'] = fw.list_apps()
            removed = [path for verb, path in operations if verb == 'remove']
            problems.extend(app_problems(after['apps'], allow, removed))
        if problems:
            raise AlfError('socketfilterfw did not apply the change: %s (%s)' % ('; '.join(problems), NOT_APPLIED_HINT),
                           not_applied=problems, outputs=outputs)

    return {
        'changed': bool(writes),
        'state': after['state'],
        'stealth_mode': after.get('stealth_mode'),
        'apps': after.get('apps'),
        'commands': commands,
        'diff': {'before': before, 'after': after},
    }
