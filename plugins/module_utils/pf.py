# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pfctl: load, compare and flush the rules of one pf anchor under com.apple/.

Apple publishes no pfctl source; what is known of it (see the project's reference notes,
macos-formats-provisioning.md 6 and gateway.md 6.1):

* Every call that opens ``/dev/pf`` first prints ``No ALTQ support in kernel`` and
  ``ALTQ related functions disabled`` on stderr; every ``-f`` call prints a warning about flushing the
  main ruleset.  Both are noise and are dropped from messages.
* Without root pfctl cannot open ``/dev/pf``: ``pfctl: /dev/pf: Permission denied``, exit 1.
  ``-n`` (parse only) needs no root, so ``-s info`` is read first.
* ``-s info`` begins with ``Status: Enabled for D days HH:MM:SS`` or ``Status: Disabled``, padded,
  then ``Debug: Urgent``.
* ``-a ANCHOR -sr`` prints the anchor's rules, one a line; an anchor that holds nothing is no ruleset at
  all: ``pfctl: DIOCGETRULES: Invalid argument``, exit 1.  That means "no rules", not a failure.
* ``-nvf FILE`` parses the file and prints what it would load: the ``table`` definitions, which
  ``-sr`` never shows, then the rules in the form ``-sr`` prints them.  A parse error prints
  ``FILE:N: syntax error`` and ``pfctl: Syntax error in config file: pf rules not loaded``, exit 1.
* ``-E`` takes an enable reference (and starts pf if needed); ``-X TOKEN`` releases one.
  ``-d`` stops pf for everyone, whatever references the Application Firewall and other components
  hold, so this code never runs it (nor ``-X``: the reference taken here is meant to last).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.llmhost.macos.plugins.module_utils.common import CommandError, Command, LlmhostError

ANCHOR_PARENT = 'com.apple'
# Apple's own anchors (/etc/pf.anchors/com.apple): flushing them would break AirDrop and the Application Firewall.
APPLE_ANCHORS = ('200.AirDrop', '250.ApplicationFirewall')

NOISE = (
    'No ALTQ support in kernel',
    'ALTQ related functions disabled',
    'pfctl: Use of -f option, could result in flushing of rules',
    'present in the main ruleset added by the system at startup.',
    'See /etc/pf.conf for further details.',
)
PERMISSION_DENIED = '/dev/pf: Permission denied'
NO_RULESET = 'DIOCGETRULES: Invalid argument'

# First words of lines `-nvf` prints that `-sr` does not: translation rules, anchors and loads of other
# kinds, options and queues (`-s nat`, `-s Anchors`, `-s info` ... show those).  Tables are dropped from the
# comparison instead (see rule_lines), because an anchor's rules commonly use one.
NOT_FILTER_RULES = ('nat', 'no', 'rdr', 'binat', 'nat-anchor', 'rdr-anchor', 'binat-anchor', 'dummynet',
                    'dummynet-anchor', 'load', 'set', 'altq', 'queue')

_STATUS_RE = re.compile(r'^\s*Status:\s*(?P<status>Enabled|Disabled)\b', re.MULTILINE)


class PfError(LlmhostError):
    """Invalid input, missing privileges or an unexpected answer from pfctl."""


def validate_anchor(anchor):
    """The anchor name if it is one this module may manage: com.apple/NAME, no `*`, no whitespace."""
    if not isinstance(anchor, str) or not anchor:
        raise PfError('anchor: give the name of an anchor under %s/, for example %s/300.llmhost.ollama-gateway'
                      % (ANCHOR_PARENT, ANCHOR_PARENT))
    problem = None
    parts = anchor.split('/')
    if parts[0] != ANCHOR_PARENT or len(parts) < 2:
        problem = ('must be under %s/: Apple\'s /etc/pf.conf evaluates only the anchors attached there '
                   '(anchor "%s/*")' % (ANCHOR_PARENT, ANCHOR_PARENT))
    elif '*' in anchor:
        problem = 'must not contain *: it names one anchor, not a wildcard'
    elif any(ch.isspace() for ch in anchor):
        problem = 'must not contain whitespace'
    elif not all(parts[1:]):
        problem = 'has an empty name between slashes'
    elif parts[1] in APPLE_ANCHORS:
        problem = 'is Apple\'s own anchor (%s): it is not for this module to load or flush' % parts[1]
    if problem:
        raise PfError('anchor: %r %s' % (anchor, problem), anchor=anchor)
    return anchor


def strip_noise(text):
    """pfctl's stderr without the ALTQ lines, the -f warning and blank lines: what it actually said."""
    return '\n'.join(line.strip() for line in (text or '').splitlines()
                     if line.strip() and line.strip() not in NOISE)


def rule_lines(text):
    """The rules in `pfctl -sr` or `pfctl -nvf` output, normalised for comparison.

    Blank lines, the ALTQ noise and `table` definitions (printed by -nvf, never by -sr) are dropped;
    each rule has its whitespace stripped and runs of spaces collapsed.
    """
    lines = []
    for raw in (text or '').splitlines():
        line = ' '.join(raw.split())
        if not line or line in NOISE or line.split()[0] == 'table':
            continue
        lines.append(line)
    return lines


def non_filter_lines(lines):
    """The lines of `lines` that `pfctl -sr` would never show (so a load could never be confirmed)."""
    return [line for line in lines if line.split()[0] in NOT_FILTER_RULES]


def parse_status(text):
    """True/False from `pfctl -s info` (`Status: Enabled for ...` / `Status: Disabled`)."""
    match = _STATUS_RE.search(text or '')
    if not match:
        raise PfError('Could not understand pfctl -s info: %r' % (text or '').strip()[:200], stdout=text)
    return match.group('status') == 'Enabled'


def check_access(err):
    """Raise the become hint when pfctl could not open /dev/pf."""
    if PERMISSION_DENIED in (err or ''):
        raise PfError('pfctl cannot open /dev/pf (%s): pf_anchor must run as root, use become: true'
                      % strip_noise(err), stderr=err)


def pfctl_failed(argv, rc, out, err):
    """The CommandError for a pfctl call that failed, with pfctl's words and without its noise."""
    message = strip_noise(err) or strip_noise(out) or 'no output'
    return CommandError('%s failed (exit %d): %s' % (' '.join(argv), rc, message.replace('\n', '; ')),
                        argv, rc, out, err)


def text_of(lines):
    """Rule lines as the text of a diff."""
    return ''.join(line + '\n' for line in lines)


class Pfctl(Command):
    """pfctl through an injected runner: run(argv) -> (rc, stdout, stderr)."""

    def checked(self, *args, **kwargs):
        """(stdout, stderr) of `pfctl args...`; PfError without root, CommandError for an exit status not in `ok`."""
        ok = kwargs.pop('ok', (0,))
        argv, rc, out, err = self.call(*args)
        check_access(err)
        if rc not in ok:
            raise pfctl_failed(argv, rc, out, err)
        return out, err

    def enabled(self):
        out, _err = self.checked('-s', 'info')
        return parse_status(out)

    def loaded_rules(self, anchor):
        """The anchor's rules; [] when it holds none (pfctl: DIOCGETRULES: Invalid argument)."""
        argv, rc, out, err = self.call('-a', anchor, '-sr')
        check_access(err)
        if rc != 0:
            if NO_RULESET in (err or ''):
                return []
            raise pfctl_failed(argv, rc, out, err)
        return rule_lines(out)

    def file_rules(self, path):
        """The rules `path` would load (`pfctl -nvf`: parsed, nothing loaded); CommandError for a parse error."""
        out, _err = self.checked('-nvf', path)
        return rule_lines(out)

    def load(self, anchor, path):
        self.checked('-a', anchor, '-f', path)

    def flush(self, anchor):
        self.checked('-a', anchor, '-F', 'rules')

    def enable(self):
        """Take an enable reference (`pfctl -E`), which starts pf; the reference is never released here."""
        self.checked('-E')


def ensure_present(pfctl, anchor, path, enable=True, check_mode=False):
    """Three reads; load the file when its rules differ from the anchor's and read them back; enable pf."""
    enabled = pfctl.enabled()
    loaded = pfctl.loaded_rules(anchor)
    wanted = pfctl.file_rules(path)
    unsupported = non_filter_lines(wanted)
    if unsupported:
        raise PfError('%s has lines that pfctl -a %s -sr never shows, so their loading could not be confirmed: '
                      '%s. pf_anchor manages filter rules only.' % (path, anchor, '; '.join(unsupported)),
                      unsupported=unsupported)
    load = loaded != wanted
    start = enable and not enabled
    after = wanted
    warnings = []
    if not check_mode:
        if load:
            pfctl.load(anchor, path)
            after = pfctl.loaded_rules(anchor)
            if after != wanted:
                raise PfError('pfctl -a %s -f %s did not load the rules of %s: pfctl -a %s -sr shows %d rule(s), '
                              'the file has %d' % (anchor, path, path, anchor, len(after), len(wanted)),
                              loaded=after, expected=wanted)
        if start:
            pfctl.enable()
            if not pfctl.enabled():
                raise PfError('pfctl -E did not enable pf: pfctl -s info still says Disabled')
    pf_enabled = enabled or start
    if not pf_enabled:
        warnings.append('pf is disabled (enable=false): the rules of %s are loaded but not enforced' % anchor)
    return {
        'changed': load or start,
        'anchor': anchor,
        'rules': after,
        'pf_enabled': pf_enabled,
        'diff': {'before': text_of(loaded), 'after': text_of(after),
                 'before_header': '%s (loaded)' % anchor, 'after_header': path},
        'warnings': warnings,
    }


def ensure_absent(pfctl, anchor, check_mode=False):
    """Two reads; flush the anchor's rules when it has any, and read it back.  pf itself is left as it is."""
    enabled = pfctl.enabled()
    loaded = pfctl.loaded_rules(anchor)
    after = []
    if loaded and not check_mode:
        pfctl.flush(anchor)
        after = pfctl.loaded_rules(anchor)
        if after:
            raise PfError('pfctl -a %s -F rules left %d rule(s) in the anchor' % (anchor, len(after)), loaded=after)
    return {
        'changed': bool(loaded),
        'anchor': anchor,
        'rules': after,
        'pf_enabled': enabled,
        'diff': {'before': text_of(loaded), 'after': text_of(after),
                 'before_header': '%s (loaded)' % anchor, 'after_header': '%s (flushed)' % anchor},
        'warnings': [],
    }
