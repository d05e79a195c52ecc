# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pfctl parsers and wrapper, with the outputs recorded in tests/unit/fixtures/pf (see its README)."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import pf as P
from ansible_collections.llmhost.macos.plugins.module_utils.common import CommandError
from macfakes import fixture

ALTQ = fixture('pf', 'altq.stderr.txt')
WARNING = fixture('pf', 'f_warning.stderr.txt')
GATEWAY_RULES = fixture('pf', 'gateway.sr.txt').splitlines()


@pytest.mark.parametrize('anchor', [
    'com.apple/300.llmhost.ollama-gateway',
    'com.apple/090.klick',
    'com.apple/srouter_isolate',
    'com.apple/300.llmhost/nested',
])
def test_anchor_names_accepted(anchor):
    assert P.validate_anchor(anchor) == anchor


@pytest.mark.parametrize('anchor, fragment', [
    ('', 'give the name of an anchor'),
    (None, 'give the name of an anchor'),
    ('com.apple', 'must be under com.apple/'),
    ('300.llmhost.ollama-gateway', 'must be under com.apple/'),
    ('mscp_pf_anchors', 'must be under com.apple/'),
    ('/com.apple/300.x', 'must be under com.apple/'),
    ('com.apple/*', 'must not contain *'),
    ('com.apple/300.x/*', 'must not contain *'),
    ('com.apple/300 gateway', 'must not contain whitespace'),
    ('com.apple/300.x\n', 'must not contain whitespace'),
    ('com.apple/', 'empty name'),
    ('com.apple//300.x', 'empty name'),
    ('com.apple/300.x/', 'empty name'),
    ('com.apple/250.ApplicationFirewall', "Apple's own anchor"),
    ('com.apple/200.AirDrop/Bonjour', "Apple's own anchor"),
])
def test_anchor_names_refused(anchor, fragment):
    with pytest.raises(P.PfError) as excinfo:
        P.validate_anchor(anchor)
    assert fragment in excinfo.value.msg


@pytest.mark.parametrize('text, enabled', [
    (fixture('pf', 'info_enabled.txt'), True),
    (fixture('pf', 'info_disabled.txt'), False),
    ('Status: Enabled for 0 days 00:04:11   Debug: Urgent\n', True),   # a real first line, padding collapsed
    ('Status: Enabled for 0 days 00:00:00\n', True),                  # a fixture without the Debug field
])
def test_parse_status_recorded_outputs(text, enabled):
    assert P.parse_status(text) is enabled


def test_parse_status_garbage():
    with pytest.raises(P.PfError, match='Could not understand pfctl -s info'):
        P.parse_status('State Table                          Total             Rate\n')


def test_rule_lines_drop_tables_and_normalise_whitespace():
    nvf = fixture('pf', 'gateway.nvf.txt')
    assert nvf.startswith('table <gw_clients> const { 10.1.2.0/24 }\n')
    assert P.rule_lines(nvf) == GATEWAY_RULES
    assert P.rule_lines(fixture('pf', 'gateway.sr.txt')) == GATEWAY_RULES
    spaced = '\n'.join('  %s   ' % line.replace(' ', '  ') for line in GATEWAY_RULES) + '\n\n'
    assert P.rule_lines(spaced) == GATEWAY_RULES
    assert P.rule_lines(ALTQ + fixture('pf', 'com.apple.sr.txt')) == ['anchor "200.AirDrop/*" all',
                                                                      'anchor "250.ApplicationFirewall/*" all']
    assert P.rule_lines('') == [] and P.rule_lines(None) == []


def test_lines_sr_never_shows():
    lines = ['pass in all', 'rdr pass on lo0 proto tcp from any to any port = 80 -> 127.0.0.1 port 8080',
             'nat-anchor "x/*" all', 'load anchor "x" from "/etc/pf.anchors/x"', 'set skip on lo0',
             'anchor "sub" all', 'scrub-anchor "com.apple/*" all fragment reassemble']
    assert P.non_filter_lines(lines) == lines[1:5]


def test_strip_noise_keeps_what_pfctl_said():
    assert P.strip_noise(fixture('pf', 'syntax_error.stderr.txt')) == (
        'pf.conf:17: syntax error\npfctl: Syntax error in config file: pf rules not loaded')
    assert P.strip_noise(fixture('pf', 'enable.stderr.txt')) == 'pf enabled\nToken : 13971906727590307623'
    assert P.strip_noise(WARNING + ALTQ) == ''


def test_permission_denied_asks_for_become():
    with pytest.raises(P.PfError, match='use become: true') as excinfo:
        P.check_access(fixture('pf', 'permission_denied.stderr.txt'))
    assert '/dev/pf: Permission denied' in excinfo.value.msg
    P.check_access(ALTQ)


class Scripted:
    """run(argv) answering from {tuple(argv[1:]): (rc, stdout, stderr)}, logging the calls."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        return self.answers[tuple(argv[1:])]


def test_pfctl_reads():
    run = Scripted({
        ('-s', 'info'): (0, fixture('pf', 'info_enabled.txt'), ALTQ),
        ('-a', 'com.apple/300.x', '-sr'): (0, fixture('pf', 'gateway.sr.txt'), ALTQ),
        ('-a', 'com.apple/300.empty', '-sr'): (1, '', fixture('pf', 'sr_no_ruleset.stderr.txt')),
        ('-nvf', '/etc/pf.anchors/x'): (0, fixture('pf', 'gateway.nvf.txt'), WARNING),
    })
    pfctl = P.Pfctl('/sbin/pfctl', run)
    assert pfctl.enabled() is True
    assert pfctl.loaded_rules('com.apple/300.x') == GATEWAY_RULES
    assert pfctl.loaded_rules('com.apple/300.empty') == []
    assert pfctl.file_rules('/etc/pf.anchors/x') == GATEWAY_RULES
    assert run.calls == [['/sbin/pfctl', '-s', 'info'], ['/sbin/pfctl', '-a', 'com.apple/300.x', '-sr'],
                         ['/sbin/pfctl', '-a', 'com.apple/300.empty', '-sr'], ['/sbin/pfctl', '-nvf', '/etc/pf.anchors/x']]


def test_pfctl_writes():
    run = Scripted({
        ('-a', 'com.apple/300.x', '-f', '/etc/pf.anchors/x'): (0, '', WARNING + ALTQ),
        ('-a', 'com.apple/300.x', '-F', 'rules'): (0, '', ALTQ + 'rules cleared\n'),
        ('-E',): (0, '', fixture('pf', 'enable.stderr.txt')),
    })
    pfctl = P.Pfctl('/sbin/pfctl', run)
    pfctl.load('com.apple/300.x', '/etc/pf.anchors/x')
    pfctl.flush('com.apple/300.x')
    pfctl.enable()
    assert [c[1:] for c in run.calls] == [['-a', 'com.apple/300.x', '-f', '/etc/pf.anchors/x'],
                                          ['-a', 'com.apple/300.x', '-F', 'rules'], ['-E']]


def test_parse_error_is_reported_without_the_noise():
    run = Scripted({('-nvf', 'pf.conf'): (1, '', fixture('pf', 'syntax_error.stderr.txt'))})
    with pytest.raises(CommandError) as excinfo:
        P.Pfctl('/sbin/pfctl', run).file_rules('pf.conf')
    assert excinfo.value.msg == ('/sbin/pfctl -nvf pf.conf failed (exit 1): pf.conf:17: syntax error; '
                                 'pfctl: Syntax error in config file: pf rules not loaded')
    assert excinfo.value.details['stderr'] == fixture('pf', 'syntax_error.stderr.txt')


def test_other_sr_failures_are_errors():
    run = Scripted({('-a', 'com.apple/300.x', '-sr'): (1, '', ALTQ + 'pfctl: DIOCGETRULES: Device busy\n')})
    with pytest.raises(CommandError, match='Device busy'):
        P.Pfctl('/sbin/pfctl', run).loaded_rules('com.apple/300.x')


def test_every_call_maps_permission_denied():
    denied = (1, '', fixture('pf', 'permission_denied.stderr.txt'))
    run = Scripted({('-s', 'info'): denied, ('-a', 'com.apple/300.x', '-sr'): denied, ('-E',): denied})
    pfctl = P.Pfctl('/sbin/pfctl', run)
    for call in (pfctl.enabled, lambda: pfctl.loaded_rules('com.apple/300.x'), pfctl.enable):
        with pytest.raises(P.PfError, match='become: true'):
            call()


def test_text_of():
    assert P.text_of([]) == ''
    assert P.text_of(['pass in all', 'block drop in all']) == 'pass in all\nblock drop in all\n'
