# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""scutil --get / --set of the Mac's three names: ComputerName, LocalHostName, HostName.

From configd's scutil.tproj/prefs.c (see the project's reference notes, section 4):

* ``--get X`` prints the value and a newline on stdout, exit 0; a name that is not set prints
  ``X: not set`` on stderr, exit 1 (HostName is not set on a new Mac).
* ``--set X VALUE`` prints nothing on success; ``--set X ""`` clears it. It needs root: without,
  it fails (``Permission denied.`` or a ``... failed: ...`` line), exit 1.

ComputerName is the name people see (Finder, sharing), LocalHostName the Bonjour name the Mac
answers to as ``NAME.local``, HostName the name the Mac calls itself (its shell prompt, ``hostname``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, LlmhostError, command_failed

NAMES = ('ComputerName', 'LocalHostName', 'HostName')
OPTIONS = {'computer_name': 'ComputerName', 'local_host_name': 'LocalHostName', 'host_name': 'HostName'}
_LABEL = r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
_LOCAL_RE = re.compile(r'^%s$' % _LABEL)
_HOST_RE = re.compile(r'^%s(?:\.%s)*$' % (_LABEL, _LABEL))


class Scutil(Command):
    def get(self, name):
        """The value, or None when scutil says it is not set."""
        argv, rc, out, err = self.call('--get', name)
        if rc == 0:
            return out.rstrip('\n')
        if rc == 1 and '%s: not set' % name in err:
            return None
        raise command_failed(argv, rc, out, err)

    def set(self, name, value):
        argv, rc, out, err = self.call('--set', name, value)
        if rc != 0 or (err or out).strip():
            # success prints nothing; a failed commit may still exit 0 on some releases
            raise command_failed(argv, rc if rc else 1, out, err)


def normalize_names(params):
    """{'ComputerName': value, ...} for the options given; '' for host_name clears it. Raises on bad input."""
    wanted = {}
    for option, name in OPTIONS.items():
        value = params.get(option)
        if value is None:
            continue
        if name == 'ComputerName':
            if not value.strip() or len(value.encode('utf-8')) > 63 or any(ord(c) < 32 for c in value):
                raise LlmhostError('computer_name: expects 1 to 63 bytes of printable text, got %r' % value)
        elif name == 'LocalHostName':
            if not _LOCAL_RE.match(value):
                raise LlmhostError('local_host_name: expects letters, digits and hyphens (at most 63, no hyphen '
                                   'first or last), the Mac is then NAME.local; got %r' % value)
        elif value != '' and (len(value) > 253 or not _HOST_RE.match(value)):
            raise LlmhostError('host_name: expects a DNS name such as llm1 or llm1.lab.example (letters, digits, '
                               'hyphens, dots), or "" to unset it; got %r' % value)
        wanted[name] = value
    if not wanted:
        raise LlmhostError('give at least one of computer_name, local_host_name, host_name')
    return wanted


def ensure_names(scutil, wanted, check_mode=False, is_root=True, settle=5.0, sleep=time.sleep, clock=time.time):
    """Read each wanted name once, set those that differ and read them back; the module result.

    ComputerName and LocalHostName are read from configd's dynamic store, which configd updates after
    ``--set`` has returned: the read-back is repeated for up to ``settle`` seconds before it counts as wrong.
    """
    before = dict((name, scutil.get(name)) for name in NAMES if name in wanted)
    target = dict((name, value or None) for name, value in wanted.items())  # '' for HostName: not set
    changes = [name for name in NAMES if name in wanted and before[name] != target[name]]
    if changes and not check_mode and not is_root:
        raise LlmhostError('Setting %s needs root: use become: true' % ', '.join(changes))
    if changes and not check_mode:
        for name in changes:
            scutil.set(name, wanted[name])
        deadline = clock() + settle
        while True:
            after = dict((name, scutil.get(name)) for name in changes)
            wrong = [name for name in changes if after[name] != target[name]]
            if not wrong or clock() >= deadline:
                break
            sleep(0.5)
        if wrong:
            raise LlmhostError('scutil --set did not take: %s' % ', '.join(
                '%s is %r, not %r' % (name, after[name], target[name]) for name in wrong))
    names = dict(before, **dict((name, target[name]) for name in changes))
    return {
        'changed': bool(changes),
        'names': names,
        'changes': [{'name': name, 'before': before[name], 'after': target[name]} for name in changes],
        'diff': {'before': before, 'after': names},
    }
