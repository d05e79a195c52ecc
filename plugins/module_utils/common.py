# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pieces shared by the llmhost.macos modules: errors, the C locale, value coercion.

Everything here is pure Python 3.9 with no third-party imports: it runs on the
managed Mac's stock /usr/bin/python3 and is imported by unit tests directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Commands are run with this environment so that their output is the one the parsers expect.
C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C', 'LANGUAGE': 'C'}

_TRUE_WORDS = ('1', 'on', 'yes', 'true')
_FALSE_WORDS = ('0', 'off', 'no', 'false')


class LlmhostError(Exception):
    """A failure the module reports with fail_json; `details` become extra result keys."""

    def __init__(self, msg, **details):
        super(LlmhostError, self).__init__(msg)
        self.msg = msg
        self.details = details


class CommandError(LlmhostError):
    """A command exited with an error."""

    def __init__(self, msg, argv, rc, stdout, stderr):
        super(CommandError, self).__init__(msg, cmd=list(argv), rc=rc, stdout=stdout, stderr=stderr)


def module_runner(module, environ=None):
    """Return run(argv) -> (rc, stdout, stderr) for an AnsibleModule, with a C locale.

    This is how every llmhost.macos module runs a command: an argv list (never a shell), the C
    locale the parsers expect, plus `environ` (for example Homebrew's HOMEBREW_NO_AUTO_UPDATE).
    """
    update = dict(C_LOCALE, **(environ or {}))

    def run(argv):
        return module.run_command(list(argv), environ_update=dict(update))

    return run


class Command(object):
    """One binary run through an injected run(argv) -> (rc, stdout, stderr).

    The tool wrappers (Pmset, Systemsetup, Launchctl, Brew, sshd) subclass it, so every command
    failure is reported the same way: the argv, the exit status and what the tool said.
    """

    def __init__(self, path, run):
        self.path = path
        self.run = run

    def call(self, *args):
        """(argv, rc, stdout, stderr) of `path args...`; never raises for an exit status."""
        argv = [self.path] + list(args)
        rc, out, err = self.run(argv)
        return argv, rc, out, err

    def check(self, *args, **kwargs):
        """stdout of `path args...`; CommandError when the exit status is not in `ok` (default 0)."""
        ok = kwargs.pop('ok', (0,))
        argv, rc, out, err = self.call(*args)
        if rc not in ok:
            raise command_failed(argv, rc, out, err)
        return out


def command_failed(argv, rc, out, err):
    """The CommandError for a command that exited with `rc`: `ARGV failed (exit N): MESSAGE`."""
    message = (err or out or '').strip() or 'no output'
    return CommandError('%s failed (exit %d): %s' % (' '.join(argv), rc, message), argv, rc, out, err)


def exit_with_result(module, result):
    """exit_json with a planner's result: its warnings through module.warn, its diff only in diff mode."""
    for warning in result.pop('warnings', []):
        module.warn(warning)
    diff = result.pop('diff', None)
    if module._diff and diff is not None:
        result['diff'] = diff
    module.exit_json(**result)


def coerce_switch(value):
    """Return 1 or 0 for an on/off value (bool, 0/1, or on/off/yes/no/true/false); None if invalid."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return value if value in (0, 1) else None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return 1
        if word in _FALSE_WORDS:
            return 0
    return None


def coerce_count(value):
    """Return a non-negative int from an int or a string of digits; None if invalid (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
