# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pmset: parse its output, validate wanted settings, plan and apply the difference.

The formats are those of Apple's pmset.m (see the project's reference notes):

* ``pmset -g custom`` prints a ``<Source> Power:`` header per profile, then one line per
  setting: a space, the name padded to 20 characters, a space, the value.  Names longer
  than 20 characters (``Sleep On Power Button``) are not padded, so a line is split on its
  last run of whitespace.  Line and profile order are hash order, never relied upon.
* ``lowpowermode`` is printed as ``powermode`` on hardware that has a High Power Mode.
* ``pmset -g cap`` prints ``Capabilities for <Source>:`` and one feature name per line.
* A desktop Mac has only ``AC Power``.
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

# power_source option -> (profile header printed by pmset, pmset flag)
POWER_SOURCES = {
    'all': (None, '-a'),
    'ac': ('AC Power', '-c'),
    'battery': ('Battery Power', '-b'),
    'ups': ('UPS Power', '-u'),
}
PROFILE_KEYS = dict((header, key) for key, (header, dummy) in POWER_SOURCES.items() if header)

TIMER = 'timer'      # minutes, 0 = never; the string "never" is accepted
SWITCH = 'switch'    # 0/1; booleans and on/off words are accepted
COUNT = 'count'      # a non-negative integer (seconds, percent, ...)
CHOICE = 'choice'    # one of a fixed set of integers
PATH = 'path'        # an absolute path

# name -> (kind, allowed choices or upper bound, name in pmset's capability table or None)
# The capability table is all_features[] in pmset.m; settings not in it cannot be checked
# against `pmset -g cap` and are accepted as they are (tcpkeepalive, networkoversleep, ...).
SETTINGS = {
    'displaysleep': (TIMER, None, 'displaysleep'),
    'disksleep': (TIMER, None, 'disksleep'),
    'sleep': (TIMER, None, 'sleep'),
    'womp': (SWITCH, None, 'womp'),
    'ring': (SWITCH, None, 'ring'),
    'acwake': (SWITCH, None, 'acwake'),
    'autorestart': (SWITCH, None, 'autorestart'),
    'lidwake': (SWITCH, None, 'lidwake'),
    'lessbright': (SWITCH, None, 'lessbright'),
    'halfdim': (SWITCH, None, 'halfdim'),
    'sms': (SWITCH, None, 'sms'),
    'gpuswitch': (CHOICE, (0, 1, 2), 'gpuswitch'),
    'standby': (SWITCH, None, 'standby'),
    'standbydelay': (COUNT, None, None),
    'standbydelayhigh': (COUNT, None, 'standbydelayhigh'),
    'standbydelaylow': (COUNT, None, 'standbydelaylow'),
    'highstandbythreshold': (COUNT, 100, 'highstandbythreshold'),
    'powernap': (SWITCH, None, 'powernap'),
    'ttyskeepawake': (SWITCH, None, 'ttyskeepawake'),
    'hibernatemode': (CHOICE, (0, 3, 25), 'hibernatemode'),
    'hibernatefile': (PATH, None, 'hibernatefile'),
    'autopoweroff': (SWITCH, None, 'autopoweroff'),
    'autopoweroffdelay': (COUNT, None, 'autopoweroffdelay'),
    'tcpkeepalive': (SWITCH, None, None),
    'proximitywake': (SWITCH, None, 'proximitywake'),
    'networkoversleep': (COUNT, None, None),
    'lowpowermode': (CHOICE, (0, 1, 2), 'lowpowermode'),
}
SYNONYMS = {'dim': 'displaysleep', 'spindown': 'disksleep', 'darkwakes': 'powernap', 'powermode': 'lowpowermode'}
SYSTEM_WIDE = ('disablesleep', 'destroyfvkeyonstandby', 'vactdisabled')

_HEADER_RE = re.compile(r'^(?P<source>\S.*?):\s*$')
_CAP_HEADER_RE = re.compile(r'^Capabilities for (?P<source>.+?):\s*$')
# name (may contain spaces), value, then an optional "(sleep prevented by ...)" suffix of the live view
_SETTING_RE = re.compile(r'^\s+(?P<name>\S.*?)\s+(?P<value>\S+)(?:\s+\(.*\))?\s*$')
_ROOT_MSG = 'must be run as root'


class PmsetError(LlmhostError):
    """Invalid input, unsupported hardware or a pmset failure."""


def profile_key(header):
    """'AC Power' -> 'ac'; an unknown header becomes a lowercase slug."""
    if header in PROFILE_KEYS:
        return PROFILE_KEYS[header]
    return re.sub(r'[^a-z0-9]+', '_', header.lower()).strip('_')


def canonical_name(name):
    return SYNONYMS.get(name, name)


def _typed(value):
    """pmset prints numbers with %d: give them back as ints, leave anything else a string."""
    return int(value) if re.match(r'^-?\d+$', value) else value


def parse_custom(text):
    """Parse `pmset -g custom` into {profile header: {setting: value}}.

    `powermode` is reported under its settable name `lowpowermode`.
    """
    profiles = {}
    current = None
    for line in text.splitlines():
        if not line.strip():
            continue
        header = _HEADER_RE.match(line)
        if header:
            current = profiles.setdefault(header.group('source'), {})
            continue
        setting = _SETTING_RE.match(line)
        if setting and current is not None:
            current[canonical_name(setting.group('name'))] = _typed(setting.group('value'))
    if not profiles:
        raise PmsetError('Could not find any power profile in the output of pmset -g custom', stdout=text)
    return profiles


def parse_capabilities(text):
    """Parse `pmset -g cap` into the set of supported feature names."""
    features = set()
    seen_header = False
    for line in text.splitlines():
        if _CAP_HEADER_RE.match(line):
            seen_header = True
            continue
        if seen_header and line.startswith(' ') and line.strip():
            features.add(line.strip())
    if not seen_header:
        raise PmsetError('Could not parse the output of pmset -g cap', stdout=text)
    return features


def _normalize_value(name, value):
    """Return the value pmset wants for `name`, or an error string."""
    kind, bound, dummy = SETTINGS[name]
    if kind == SWITCH:
        result = coerce_switch(value)
        return (result, None) if result is not None else (None, 'expects on/off (a boolean, 0 or 1)')
    if kind == TIMER:
        if isinstance(value, str) and value.strip().lower() == 'never':
            return 0, None
        result = coerce_count(value)
        return (result, None) if result is not None else (None, "expects minutes (0 or more) or 'never'")
    if kind == COUNT:
        result = coerce_count(value)
        if result is None or (bound is not None and result > bound):
            limit = 'an integer from 0 to %d' % bound if bound is not None else 'an integer, 0 or more'
            return None, 'expects %s' % limit
        return result, None
    if kind == CHOICE:
        result = coerce_count(value)
        if result not in bound:
            return None, 'expects one of %s' % ', '.join(str(choice) for choice in bound)
        return result, None
    if isinstance(value, str) and value.startswith('/') and not re.search(r'\s', value):
        return value, None
    return None, 'expects an absolute path without spaces'


def normalize_settings(settings):
    """Validate the user's settings; return {canonical name: pmset value}.

    Every problem is collected and reported at once, before anything is run on the host.
    """
    if not settings:
        raise PmsetError('settings must name at least one pmset setting')
    wanted = {}
    problems = []
    for raw_name in sorted(settings):
        value = settings[raw_name]
        name = canonical_name(str(raw_name).strip())
        if name in SYSTEM_WIDE:
            problems.append('%s: a system-wide setting, not a per-power-source one; this module does not manage it'
                            % raw_name)
            continue
        if name not in SETTINGS:
            problems.append('%s: unknown pmset setting' % raw_name)
            continue
        if name in wanted:
            problems.append('%s: given twice (as a synonym)' % raw_name)
            continue
        result, error = _normalize_value(name, value)
        if error:
            problems.append('%s: %s, got %r' % (raw_name, error, value))
        else:
            wanted[name] = result
    if problems:
        raise PmsetError('Invalid pmset settings: %s' % '; '.join(problems), invalid=problems)
    return wanted


def target_profiles(profiles, power_source):
    """The profile headers that `power_source` applies to on this Mac."""
    header = POWER_SOURCES[power_source][0]
    if header is None:
        return sorted(profiles)
    if header not in profiles:
        raise PmsetError('power_source=%s, but this Mac has no %s profile (it has: %s)'
                         % (power_source, header, ', '.join(sorted(profiles))))
    return [header]


def unsupported_settings(wanted, capabilities):
    """{name: description} of wanted settings (or values) the hardware does not list in `pmset -g cap`."""
    missing = {}
    for name, value in wanted.items():
        feature = SETTINGS[name][2]
        if feature is not None and feature not in capabilities:
            missing[name] = name
        elif name == 'lowpowermode' and value == 2 and 'highpowermode' not in capabilities:
            missing[name] = 'lowpowermode=2 (High Power Mode)'
    return missing


def differences(profiles, wanted, power_source):
    """List of changes {power_source, setting, before, after} from the current profiles."""
    changes = []
    for header in target_profiles(profiles, power_source):
        current = profiles[header]
        for name in sorted(wanted):
            before = current.get(name)
            if before != wanted[name]:
                changes.append({'power_source': profile_key(header), 'setting': name,
                                'before': before, 'after': wanted[name]})
    return changes


def write_argv(pmset, wanted, changes, power_source):
    """One pmset call that sets every setting that differs somewhere."""
    names = sorted(set(change['setting'] for change in changes))
    argv = [pmset, POWER_SOURCES[power_source][1]]
    for name in names:
        argv.extend([name, str(wanted[name])])
    return argv


def by_key(profiles):
    return dict((profile_key(header), dict(values)) for header, values in profiles.items())


def apply_changes(profiles, changes):
    """The profiles as they will be after `changes` (for check mode and diff)."""
    result = by_key(profiles)
    for change in changes:
        result[change['power_source']][change['setting']] = change['after']
    return result


def warnings_from(stdout, stderr):
    """pmset's informational warnings (TCP keep alive, inconsistent sleep timers) as one string each."""
    lines = [line.strip() for line in (stdout + '\n' + stderr).splitlines() if line.strip()]
    warnings = []
    for line in lines:
        if line.startswith('Warning') or not warnings:
            warnings.append(line)
        else:
            warnings[-1] += ' ' + line
    return [warning for warning in warnings if warning.startswith('Warning')]


class Pmset(Command):
    """Reads and writes pmset through an injected runner: run(argv) -> (rc, stdout, stderr)."""

    def read_profiles(self):
        return parse_custom(self.check('-g', 'custom'))

    def read_capabilities(self):
        return parse_capabilities(self.check('-g', 'cap'))

    def write(self, argv):
        argv, rc, stdout, stderr = self.call(*argv[1:])
        if _ROOT_MSG in stdout or _ROOT_MSG in stderr:
            raise PmsetError('pmset must be run as root to change settings: use become: true',
                             cmd=argv, rc=rc, stdout=stdout, stderr=stderr)
        if rc != 0:
            raise command_failed(argv, rc, stdout, stderr)
        return warnings_from(stdout, stderr)


def ensure(pmset, wanted, power_source='all', ignore_unsupported=False, check_mode=False, is_root=True, optional=()):
    """Bring the host's pmset settings to `wanted` (already normalized); return a result dict.

    optional: settings skipped without a word when this Mac lacks them (the caller looks at the
    result's `unsupported` and decides), whatever ignore_unsupported says.
    Cost: one `pmset -g custom` when nothing differs.  When something differs: `pmset -g cap`,
    one write, one `pmset -g custom` to read back.
    """
    warnings = []
    skipped = []
    optional = set(canonical_name(name) for name in optional)
    profiles = pmset.read_profiles()
    changes = differences(profiles, wanted, power_source)
    argv = None
    if changes:
        unsupported = unsupported_settings(wanted, pmset.read_capabilities())
        fatal = dict((name, text) for name, text in unsupported.items() if name not in optional)
        described = ', '.join(fatal[name] for name in sorted(fatal))
        if fatal and not ignore_unsupported:
            raise PmsetError('Not supported by this Mac (absent from pmset -g cap): %s. '
                             'Set ignore_unsupported=true to skip them with a warning.' % described,
                             unsupported=sorted(fatal))
        if fatal:
            warnings.append('Skipped settings this Mac does not support (absent from pmset -g cap): %s' % described)
        if unsupported:
            skipped = sorted(unsupported)
            wanted = dict((name, value) for name, value in wanted.items() if name not in unsupported)
            changes = [change for change in changes if change['setting'] not in unsupported]
    after = apply_changes(profiles, changes)
    if changes:
        argv = write_argv(pmset.path, wanted, changes, power_source)
        if not check_mode:
            if not is_root:
                raise PmsetError('Changing pmset settings needs root: use become: true', changes=changes)
            warnings.extend(pmset.write(argv))
            readback = pmset.read_profiles()
            not_taken = differences(readback, wanted, power_source)
            if not_taken:
                detail = ', '.join(
                    '%s on %s (wanted %s, still %s)'
                    % (change['setting'], change['power_source'], change['after'], change['before'])
                    for change in not_taken)
                raise PmsetError('pmset did not apply %s' % detail, not_applied=not_taken, cmd=argv)
            after = by_key(readback)
    return {
        'changed': bool(changes),
        'changes': changes,
        'command': argv,
        'unsupported': skipped,
        'settings': after,
        'diff': {'before': by_key(profiles), 'after': after},
        'warnings': warnings,
    }
