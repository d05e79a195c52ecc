# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""systemsetup: read and set the few machine settings pmset does not cover.

systemsetup is closed source; what is known of it (see the project's reference notes):

* ``-get<setting>`` prints ``<Label>: <Value>``, e.g. ``Restart After Freeze: On`` or
  ``Computer Sleep: Never``; a timer that is set reads ``after N minutes`` (unverified wording,
  so only the number is taken).
* Without root every call, reads included, prints
  ``You need administrator access to run this tool... exiting!`` and exits 0.
* ``-setremotelogin`` needs Full Disk Access and says so on stdout; the exit status varies by
  release.  Exit statuses are therefore never trusted: the text is, and every set is read back.
* On hardware without a feature the wording of the refusal is unknown; a value that does not
  parse and says "not supported" is treated as unsupported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.llmhost.macos.plugins.module_utils.common import (
    Command,
    LlmhostError,
    coerce_count,
    coerce_switch,
    command_failed,
)

SWITCH = 'switch'
TIMER = 'timer'

SETTINGS = {
    'restartfreeze': SWITCH,
    'restartpowerfailure': SWITCH,
    'wakeonnetworkaccess': SWITCH,
    'allowpowerbuttontosleepcomputer': SWITCH,
    'remotelogin': SWITCH,
    'computersleep': TIMER,
    'displaysleep': TIMER,
    'harddisksleep': TIMER,
}
TIMER_MAX = 180  # systemsetup accepts 1..180 minutes or Never

NEEDS_ROOT = 'You need administrator access'
NEEDS_FDA = 'requires Full Disk Access'
_VALUE_RE = re.compile(r'^[^:\n]+:\s*(?P<value>.+?)\s*$', re.MULTILINE)


class SystemsetupError(LlmhostError):
    """Invalid input, missing privileges or an unexpected answer from systemsetup."""


class Unsupported(SystemsetupError):
    """The hardware does not have this setting."""


def normalize_settings(settings):
    """Validate {setting: value}; return {setting: int} (switches 0/1, timers minutes with 0 = never)."""
    if not settings:
        raise SystemsetupError('settings must name at least one systemsetup setting')
    wanted = {}
    problems = []
    for name in sorted(settings):
        value = settings[name]
        kind = SETTINGS.get(name)
        if kind is None:
            problems.append('%s: unknown setting (known: %s)' % (name, ', '.join(sorted(SETTINGS))))
        elif kind == SWITCH:
            result = coerce_switch(value)
            if result is None:
                problems.append('%s: expects on/off (a boolean), got %r' % (name, value))
            wanted[name] = result
        else:
            result = 0 if isinstance(value, str) and value.strip().lower() == 'never' else coerce_count(value)
            if result is None or result > TIMER_MAX:
                problems.append("%s: expects minutes from 1 to %d, or 0 or 'never' for never, got %r"
                                % (name, TIMER_MAX, value))
            wanted[name] = result
    if problems:
        raise SystemsetupError('Invalid systemsetup settings: %s' % '; '.join(problems), invalid=problems)
    return wanted


def check_output(name, text):
    """Raise for the privilege refusals systemsetup reports on stdout with exit status 0."""
    if NEEDS_ROOT in text:
        raise SystemsetupError('systemsetup must be run as root, even to read %s: use become: true' % name,
                               stdout=text)
    if NEEDS_FDA in text:
        raise SystemsetupError('systemsetup needs Full Disk Access to change %s: %s' % (name, text.strip()),
                               stdout=text)


def parse_value(name, text):
    """Parse the answer of `systemsetup -get<name>` into 0/1 or minutes (0 = never)."""
    check_output(name, text)
    match = _VALUE_RE.search(text)
    value = match.group('value') if match else ''
    word = value.lower()
    if SETTINGS[name] == SWITCH and word in ('on', 'off'):
        return 1 if word == 'on' else 0
    if SETTINGS[name] == TIMER:
        if word == 'never':
            return 0
        minutes = re.search(r'\b(\d+)\b', word)
        if minutes:
            return int(minutes.group(1))
    if 'not supported' in text.lower() or 'unsupported' in text.lower():
        raise Unsupported('%s is not supported on this Mac: %s' % (name, text.strip()), stdout=text)
    raise SystemsetupError('Could not understand systemsetup -get%s: %r' % (name, text.strip()), stdout=text)


def set_argv(systemsetup, name, value):
    if SETTINGS[name] == SWITCH:
        word = 'on' if value else 'off'
        # -f skips the "Do you really want to turn remote login off?" question
        return [systemsetup, '-set' + name] + (['-f'] if name == 'remotelogin' else []) + [word]
    return [systemsetup, '-set' + name, str(value) if value else 'Never']


def display(name, value):
    if value is None:
        return None
    if SETTINGS[name] == SWITCH:
        return bool(value)
    return value


class Systemsetup(Command):
    """systemsetup through an injected runner: run(argv) -> (rc, stdout, stderr).

    Its exit status is not trusted for reads (see above): the text decides.
    """

    def get(self, name):
        _argv, _rc, stdout, stderr = self.call('-get' + name)
        return parse_value(name, stdout + stderr)

    def set(self, name, value):
        argv, rc, stdout, stderr = self.call(*set_argv(self.path, name, value)[1:])
        check_output(name, stdout + stderr)
        if rc != 0:
            raise command_failed(argv, rc, stdout, stderr)


def ensure(systemsetup, wanted, ignore_unsupported=False, check_mode=False):
    """Read each wanted setting once; set those that differ; read those back.  Returns a result dict."""
    before = {}
    warnings = []
    unsupported = []
    for name in sorted(wanted):
        try:
            before[name] = systemsetup.get(name)
        except Unsupported as exc:
            if not ignore_unsupported:
                raise
            unsupported.append(name)
            warnings.append('Skipped %s' % exc.msg)
    changes = [{'setting': name, 'before': display(name, before[name]), 'after': display(name, wanted[name])}
               for name in sorted(before) if before[name] != wanted[name]]
    after = dict(before)
    for change in changes:
        after[change['setting']] = wanted[change['setting']]
    if changes and not check_mode:
        for change in changes:
            systemsetup.set(change['setting'], wanted[change['setting']])
        not_taken = []
        for change in changes:
            after[change['setting']] = systemsetup.get(change['setting'])
            if after[change['setting']] != wanted[change['setting']]:
                not_taken.append(change['setting'])
        if not_taken:
            raise SystemsetupError('systemsetup did not apply: %s' % ', '.join(not_taken), not_applied=not_taken)
    shown_before = dict((name, display(name, value)) for name, value in before.items())
    shown_after = dict((name, display(name, value)) for name, value in after.items())
    return {
        'changed': bool(changes),
        'changes': changes,
        'settings': shown_after,
        'unsupported': unsupported,
        'diff': {'before': shown_before, 'after': shown_after},
        'warnings': warnings,
    }
