# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pf_anchor module's glue, driven through an in-process pfctl that prints the recorded texts."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.modules import pf_anchor
from macfakes import fixture

ANCHOR = 'com.apple/300.llmhost.ollama-gateway'
RULES_FILE = '/etc/pf.anchors/llmhost.ollama-gateway'
ALTQ = fixture('pf', 'altq.stderr.txt')
WARNING = fixture('pf', 'f_warning.stderr.txt')
NVF = fixture('pf', 'gateway.nvf.txt')
RULES = fixture('pf', 'gateway.sr.txt').splitlines()
OLD_RULES = ['pass in quick on lo0 all flags S/SA keep state',
             'block drop in quick proto tcp from any to any port = 11434']


class SyntaxErrorAt:
    """A rules file pfctl cannot parse, at this line."""

    def __init__(self, line):
        self.line = line


class FakePfctl:
    """/sbin/pfctl: pf's enabled flag and each anchor's `-sr` lines; files as `-nvf` prints them.

    Calls that open /dev/pf print the ALTQ lines first and, without root, only fail; `-n` needs no root.
    Anything but the calls pf_anchor may make (`-d`, `-X`, `-F all` ...) fails the test.
    """

    path = '/sbin/pfctl'

    def __init__(self, enabled=True, anchors=None, files=None, root=True, ignore_load=False):
        self.enabled = enabled
        self.anchors = {name: list(lines) for name, lines in (anchors or {}).items()}
        self.files = dict(files if files is not None else {RULES_FILE: NVF})
        self.root = root
        self.ignore_load = ignore_load
        self.calls = []

    def parse(self, path):
        text = self.files.get(path)
        if text is None:
            return 1, '', 'pfctl: %s: No such file or directory\n' % path
        if isinstance(text, SyntaxErrorAt):
            return 1, '', ('%s:%d: syntax error\npfctl: Syntax error in config file: pf rules not loaded\n'
                           % (path, text.line))
        return 0, text, ''

    def __call__(self, argv):
        argv = list(argv)
        self.calls.append(argv)
        assert argv[0] == self.path
        args = argv[1:]
        if args[0] == '-nvf':
            rc, out, err = self.parse(args[1])
            return rc, out, WARNING + err
        if not self.root:
            return 1, '', fixture('pf', 'permission_denied.stderr.txt')
        if args == ['-s', 'info']:
            return 0, fixture('pf', 'info_enabled.txt' if self.enabled else 'info_disabled.txt'), ALTQ
        if args == ['-E']:
            self.enabled = True
            return 0, '', fixture('pf', 'enable.stderr.txt')
        assert args[0] == '-a' and args[1] == ANCHOR, argv
        anchor, rest = args[1], args[2:]
        if rest == ['-sr']:
            if anchor not in self.anchors:
                return 1, '', fixture('pf', 'sr_no_ruleset.stderr.txt')
            return 0, ''.join(line + '\n' for line in self.anchors[anchor]), ALTQ
        if rest[0] == '-f' and len(rest) == 2:
            rc, out, err = self.parse(rest[1])
            if rc == 0 and not self.ignore_load:
                self.anchors[anchor] = [line for line in out.splitlines() if not line.startswith('table ')]
            return rc, '', WARNING + ALTQ + err
        if rest == ['-F', 'rules']:
            self.anchors.pop(anchor, None)
            return 0, '', ALTQ + 'rules cleared\n'
        raise AssertionError('pf_anchor must not run %r' % argv)

    @property
    def writes(self):
        return [c[1:] for c in self.calls if c[1:] != ['-s', 'info'] and c[1:][-1] != '-sr' and c[1] != '-nvf']


def present(**extra):
    args = {'anchor': ANCHOR, 'path': RULES_FILE}
    args.update(extra)
    return args


def test_converged_costs_three_reads_and_no_write(run_module):
    fake = FakePfctl(enabled=True, anchors={ANCHOR: RULES})
    result, failed = run_module(pf_anchor, present(), fake)
    assert not failed and not result['changed']
    assert result['anchor'] == ANCHOR and result['rules'] == RULES and result['pf_enabled'] is True
    assert fake.calls == [['/sbin/pfctl', '-s', 'info'], ['/sbin/pfctl', '-a', ANCHOR, '-sr'],
                          ['/sbin/pfctl', '-nvf', RULES_FILE]]
    assert fake.writes == []


def test_differing_rules_are_loaded_and_read_back(run_module):
    fake = FakePfctl(enabled=True, anchors={ANCHOR: OLD_RULES})
    result, failed = run_module(pf_anchor, present(_ansible_diff=True), fake)
    assert not failed and result['changed'] and result['rules'] == RULES
    assert [c[1:] for c in fake.calls[3:]] == [['-a', ANCHOR, '-f', RULES_FILE], ['-a', ANCHOR, '-sr']]
    assert result['diff']['before'] == ''.join(line + '\n' for line in OLD_RULES)
    assert result['diff']['after'] == ''.join(line + '\n' for line in RULES)
    assert 'table' not in result['diff']['after']
    result, failed = run_module(pf_anchor, present(), fake)
    assert not failed and not result['changed'] and len(fake.writes) == 1


def test_a_new_anchor_is_loaded(run_module):
    fake = FakePfctl(enabled=True)
    result, failed = run_module(pf_anchor, present(_ansible_diff=True), fake)
    assert not failed and result['changed'] and fake.anchors == {ANCHOR: RULES}
    assert result['diff']['before'] == ''


def test_rules_that_do_not_take_fail(run_module):
    fake = FakePfctl(enabled=True, anchors={ANCHOR: OLD_RULES}, ignore_load=True)
    result, failed = run_module(pf_anchor, present(), fake)
    assert failed and 'did not load the rules' in result['msg']
    assert result['loaded'] == OLD_RULES and result['expected'] == RULES


def test_disabled_pf_is_enabled_with_a_reference(run_module):
    fake = FakePfctl(enabled=False, anchors={ANCHOR: RULES})
    result, failed = run_module(pf_anchor, present(), fake)
    assert not failed and result['changed'] and result['pf_enabled'] is True
    assert fake.writes == [['-E']] and fake.calls[-1][1:] == ['-s', 'info']
    result, failed = run_module(pf_anchor, present(), fake)
    assert not failed and not result['changed'] and fake.writes == [['-E']]


def test_fresh_boot_loads_then_enables(run_module):
    fake = FakePfctl(enabled=False)
    result, failed = run_module(pf_anchor, present(), fake)
    assert not failed and result['changed'] and fake.enabled
    assert fake.writes == [['-a', ANCHOR, '-f', RULES_FILE], ['-E']]


def test_enable_false_leaves_pf_disabled_with_a_warning(run_module):
    fake = FakePfctl(enabled=False)
    warnings = []
    result, failed = run_module(pf_anchor, present(enable=False), fake, warnings=warnings)
    assert not failed and result['changed'] and result['pf_enabled'] is False
    assert fake.writes == [['-a', ANCHOR, '-f', RULES_FILE]] and not fake.enabled
    assert warnings and 'not enforced' in warnings[0]


def test_check_mode_reads_only_and_reports_the_change(run_module):
    fake = FakePfctl(enabled=False, anchors={ANCHOR: OLD_RULES})
    result, failed = run_module(pf_anchor, present(_ansible_check_mode=True, _ansible_diff=True), fake)
    assert not failed and result['changed'] and fake.writes == []
    assert result['rules'] == RULES and result['pf_enabled'] is True
    assert result['diff']['after'] == ''.join(line + '\n' for line in RULES)
    assert fake.anchors == {ANCHOR: OLD_RULES} and not fake.enabled


def test_check_mode_converged_is_unchanged(run_module):
    fake = FakePfctl(enabled=True, anchors={ANCHOR: RULES})
    result, failed = run_module(pf_anchor, present(_ansible_check_mode=True), fake)
    assert not failed and not result['changed'] and len(fake.calls) == 3


@pytest.mark.parametrize('anchor', ['com.apple/*', 'mine/300.x', 'com.apple/300 gateway', 'com.apple',
                                    'com.apple/250.ApplicationFirewall'])
def test_bad_anchor_name_runs_nothing(run_module, anchor):
    fake = FakePfctl()
    result, failed = run_module(pf_anchor, present(anchor=anchor), fake)
    assert failed and result['msg'].startswith('anchor: ') and fake.calls == []


def test_present_needs_a_path(run_module):
    fake = FakePfctl()
    result, failed = run_module(pf_anchor, {'anchor': ANCHOR}, fake)
    assert failed and 'path' in result['msg'] and fake.calls == []


def test_parse_error_fails_with_nothing_loaded(run_module):
    fake = FakePfctl(enabled=False, anchors={ANCHOR: OLD_RULES}, files={RULES_FILE: SyntaxErrorAt(3)})
    result, failed = run_module(pf_anchor, present(), fake)
    assert failed and fake.writes == []
    assert result['msg'] == ('/sbin/pfctl -nvf %s failed (exit 1): %s:3: syntax error; '
                             'pfctl: Syntax error in config file: pf rules not loaded' % (RULES_FILE, RULES_FILE))
    assert 'ALTQ' not in result['msg'] and 'Use of -f option' not in result['msg']


def test_missing_file_fails_with_nothing_loaded(run_module):
    fake = FakePfctl(files={})
    result, failed = run_module(pf_anchor, present(), fake)
    assert failed and 'No such file or directory' in result['msg'] and fake.writes == []


def test_translation_rules_fail_before_loading(run_module):
    rdr = 'rdr pass on lo0 inet proto tcp from any to any port = 80 -> 127.0.0.1 port 8080\n'
    fake = FakePfctl(files={RULES_FILE: NVF + rdr})
    result, failed = run_module(pf_anchor, present(), fake)
    assert failed and 'filter rules only' in result['msg'] and fake.writes == []


def test_absent_flushes_and_leaves_pf_enabled(run_module):
    fake = FakePfctl(enabled=True, anchors={ANCHOR: RULES})
    result, failed = run_module(pf_anchor, {'anchor': ANCHOR, 'state': 'absent', '_ansible_diff': True}, fake)
    assert not failed and result['changed'] and result['rules'] == [] and result['pf_enabled'] is True
    assert fake.writes == [['-a', ANCHOR, '-F', 'rules']] and fake.calls[-1][1:] == ['-a', ANCHOR, '-sr']
    assert result['diff']['before'] == ''.join(line + '\n' for line in RULES) and result['diff']['after'] == ''
    assert fake.enabled


def test_absent_when_empty_is_unchanged(run_module):
    fake = FakePfctl(enabled=True)
    result, failed = run_module(pf_anchor, {'anchor': ANCHOR, 'state': 'absent'}, fake)
    assert not failed and not result['changed'] and result['rules'] == []
    assert [c[1:] for c in fake.calls] == [['-s', 'info'], ['-a', ANCHOR, '-sr']]


def test_absent_in_check_mode_flushes_nothing(run_module):
    fake = FakePfctl(enabled=True, anchors={ANCHOR: RULES})
    result, failed = run_module(pf_anchor, {'anchor': ANCHOR, 'state': 'absent', '_ansible_check_mode': True}, fake)
    assert not failed and result['changed'] and fake.writes == [] and fake.anchors == {ANCHOR: RULES}


@pytest.mark.parametrize('args', [present(), present(_ansible_check_mode=True), {'anchor': ANCHOR, 'state': 'absent'}])
def test_permission_denied_asks_for_become(run_module, args):
    fake = FakePfctl(root=False)
    result, failed = run_module(pf_anchor, args, fake)
    assert failed and 'become: true' in result['msg'] and '/dev/pf: Permission denied' in result['msg']
    assert fake.calls == [['/sbin/pfctl', '-s', 'info']]
