# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""In-process fakes of pmset and systemsetup for unit tests: they print the recorded formats and log calls."""

from __future__ import annotations

import os

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


DESKTOP_CAPS = ['displaysleep', 'disksleep', 'sleep', 'womp', 'autorestart', 'standby', 'powernap',
                'ttyskeepawake', 'hibernatemode', 'hibernatefile', 'lowpowermode', 'highpowermode']
LAPTOP_CAPS = ['displaysleep', 'disksleep', 'sleep', 'womp', 'acwake', 'lidwake', 'lessbright', 'halfdim',
               'standby', 'powernap', 'ttyskeepawake', 'hibernatemode', 'hibernatefile', 'proximitywake',
               'lowpowermode']


class FakePmset:
    """pmset with a state dict of profiles; prints `-g custom` / `-g cap` like pmset.m does."""

    path = '/usr/bin/pmset'

    def __init__(self, profiles, caps, ignore=(), write_output=('', ''), powermode_name=False):
        self.profiles = {name: dict(values) for name, values in profiles.items()}
        self.caps = list(caps)
        self.ignore = set(ignore)
        self.write_output = write_output
        self.powermode_name = powermode_name
        self.calls = []

    def custom(self):
        out = []
        for header, values in self.profiles.items():
            out.append('%s:' % header)
            for name, value in values.items():
                if name == 'lowpowermode' and self.powermode_name:
                    name = 'powermode'
                out.append(' %-20s %s' % (name, value))
        return '\n'.join(out) + '\n'

    def __call__(self, argv):
        argv = list(argv)
        self.calls.append(argv)
        if argv[1:] == ['-g', 'custom']:
            return 0, self.custom(), ''
        if argv[1:] == ['-g', 'cap']:
            return 0, 'Capabilities for AC Power:\n' + ''.join(' %s\n' % cap for cap in self.caps), ''
        flag, pairs = argv[1], argv[2:]
        wanted = {'-a': None, '-c': ['AC Power'], '-b': ['Battery Power'], '-u': ['UPS Power']}[flag]
        for header in (wanted if wanted is not None else list(self.profiles)):
            if header not in self.profiles:
                continue
            for name, value in zip(pairs[::2], pairs[1::2]):
                if name not in self.ignore:
                    self.profiles[header][name] = int(value) if value.isdigit() else value
        return 0, self.write_output[0], self.write_output[1]

    @property
    def writes(self):
        return [call for call in self.calls if call[1] != '-g']


def studio(**overrides):
    """A Mac Studio like the simulated one: AC Power only."""
    ac = {'Sleep On Power Button': 1, 'sleep': 1, 'displaysleep': 10, 'disksleep': 10, 'womp': 1,
          'autorestart': 0, 'powernap': 1, 'hibernatemode': 0, 'hibernatefile': '/var/vm/sleepimage',
          'tcpkeepalive': 1, 'ttyskeepawake': 1, 'networkoversleep': 0, 'standby': 0, 'lowpowermode': 0}
    ac.update(overrides)
    return FakePmset({'AC Power': ac}, DESKTOP_CAPS, powermode_name=True)


def macbook(**overrides):
    battery = {'Sleep On Power Button': 1, 'sleep': 1, 'displaysleep': 2, 'disksleep': 10, 'womp': 0,
               'powernap': 1, 'hibernatemode': 3, 'lowpowermode': 0, 'lessbright': 1}
    ac = {'Sleep On Power Button': 1, 'sleep': 1, 'displaysleep': 10, 'disksleep': 10, 'womp': 1,
          'powernap': 1, 'hibernatemode': 3, 'lowpowermode': 0}
    ac.update(overrides)
    return FakePmset({'Battery Power': battery, 'AC Power': ac}, LAPTOP_CAPS)


class FakeSystemsetup:
    """systemsetup: `-get<x>` prints `<Label>: <Value>`; refuses non-root like the real one (exit 0)."""

    path = '/usr/sbin/systemsetup'
    LABELS = {'restartfreeze': 'Restart After Freeze', 'restartpowerfailure': 'Restart After Power Failure',
              'computersleep': 'Computer Sleep', 'remotelogin': 'Remote Login',
              'wakeonnetworkaccess': 'Wake On Network Access'}

    def __init__(self, values, root=True, unsupported=(), ignore=()):
        self.values = dict(values)
        self.root = root
        self.unsupported = set(unsupported)
        self.ignore = set(ignore)
        self.calls = []

    def show(self, name):
        value = self.values[name]
        if name == 'computersleep':
            return 'Never' if value == 0 else 'after %d minutes' % value
        return 'On' if value else 'Off'

    def __call__(self, argv):
        argv = list(argv)
        self.calls.append(argv)
        if not self.root:
            return 0, 'You need administrator access to run this tool... exiting!\n', ''
        verb = argv[1]
        name = verb[4:]
        if name in self.unsupported:
            return 0, '%s: Not supported on this machine.\n' % self.LABELS[name], ''
        if verb.startswith('-get'):
            return 0, '%s: %s\n' % (self.LABELS[name], self.show(name)), ''
        if name == 'remotelogin':
            return 1, 'setremotelogin: Turning Remote Login on or off requires Full Disk Access privileges.\n', ''
        word = argv[-1]
        if name not in self.ignore:
            self.values[name] = {'on': 1, 'off': 0, 'Never': 0}.get(word, None)
            if self.values[name] is None:
                self.values[name] = int(word)
        return 0, '', ''

    @property
    def writes(self):
        return [call for call in self.calls if call[1].startswith('-set')]


class FakeScutil:
    """`scutil --get/--set` with the texts of configd's prefs.c (a name not set: stderr, exit 1)."""

    path = '/usr/sbin/scutil'

    def __init__(self, names, suffix=None, lag=None):
        self.names = dict(names)
        self.suffix = suffix or {}   # name -> what macOS appends (a LocalHostName another Mac has)
        self.lag = lag or {}         # name -> how many --get after a --set still answer the old value
        self.stale = {}              # name -> [old value, gets left]
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        verb, name = argv[1], argv[2]
        if verb == '--get':
            value = self.names.get(name)
            if self.stale.get(name) and self.stale[name][1] > 0:
                self.stale[name][1] -= 1
                value = self.stale[name][0]
            if value is None:
                return 1, '', '%s: not set\n' % name
            return 0, value + '\n', ''
        value = argv[3]
        if self.lag.get(name):
            self.stale[name] = [self.names.get(name), self.lag[name]]
        self.names[name] = (value + self.suffix.get(name, '')) if value else None
        return 0, '', ''

    def sets(self):
        return [c for c in self.calls if c[1] == '--set']
