# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pmset parsers and planner, driven by the real samples in tests/unit/fixtures/pmset."""

from __future__ import annotations

import random

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import pmset as P
from ansible_collections.llmhost.macos.plugins.module_utils.common import CommandError
from macfakes import FakePmset, fixture, macbook, studio


def test_parse_custom_laptop_sample():
    profiles = P.parse_custom(fixture('pmset', 'custom_laptop_benchmark.txt'))
    assert list(profiles) == ['Battery Power', 'AC Power']
    assert profiles['AC Power']['sleep'] == 0
    assert profiles['Battery Power']['sleep'] == 1
    assert profiles['Battery Power']['lessbright'] == 1
    assert 'lessbright' not in profiles['AC Power']
    # a 21-character name is followed by a single space and must not swallow the value
    assert profiles['AC Power']['Sleep On Power Button'] == 1
    assert profiles['AC Power']['hibernatefile'] == '/var/vm/sleepimage'
    assert len(profiles['AC Power']) == 13


def test_parse_custom_second_laptop_sample_keeps_raw_keys():
    profiles = P.parse_custom(fixture('pmset', 'custom_laptop_hibernate25.txt'))
    assert profiles['AC Power']['hibernatemode'] == 25
    assert profiles['AC Power']['SleepServices'] == 1
    assert profiles['Battery Power']['SleepServices'] == 0
    assert profiles['Battery Power']['displaysleep'] == 60


def test_parse_custom_desktop_has_only_ac():
    profiles = P.parse_custom(fixture('pmset', 'custom_desktop_hackintosh.txt'))
    assert list(profiles) == ['AC Power']
    ac = profiles['AC Power']
    # highstandbythreshold is exactly 20 characters: one space before the value
    assert ac['highstandbythreshold'] == 50
    assert ac['standbydelayhigh'] == 86400
    assert ac['autorestart'] == 0
    assert ac['gpuswitch'] == 2


@pytest.mark.parametrize('name, sleep, extra', [
    ('live_macmini_sonoma.txt', 10, {'autorestart': 1}),
    ('live_macbookpro_assertions.txt', 1, {'displaysleep': 10, 'lowpowermode': 0}),
    ('live_laptop_spaces.txt', 1, {'displaysleep': 5, 'lowpowermode': 1}),
])
def test_parse_live_samples_strip_assertion_suffixes(name, sleep, extra):
    profiles = P.parse_custom(fixture('pmset', name))
    live = profiles['Currently in use']
    assert live['sleep'] == sleep
    for key, value in extra.items():
        assert live[key] == value
    assert live['Sleep On Power Button'] == 1


def test_parse_live_system_wide_block_with_tabs():
    profiles = P.parse_custom(fixture('pmset', 'live_macbookpro_assertions.txt'))
    assert profiles['System-wide power settings'] == {'SleepDisabled': 1}
    # an empty system-wide block is followed directly by the next header
    assert P.parse_custom(fixture('pmset', 'live_macmini_sonoma.txt'))['System-wide power settings'] == {}


def test_parse_custom_powermode_is_reported_as_lowpowermode():
    text = 'AC Power:\n powermode            2\n sleep                0\n'
    assert P.parse_custom(text) == {'AC Power': {'lowpowermode': 2, 'sleep': 0}}


def test_parse_custom_line_order_does_not_matter():
    lines = fixture('pmset', 'custom_desktop_hackintosh.txt').splitlines()
    header, body = lines[0], lines[1:]
    expected = P.parse_custom('\n'.join(lines))
    shuffled = list(body)
    random.Random(7).shuffle(shuffled)
    assert P.parse_custom('\n'.join([header] + shuffled)) == expected


@pytest.mark.parametrize('text', ['', 'Usage: pmset <options>\n', ' sleep 1\n'])
def test_parse_custom_rejects_output_without_profiles(text):
    with pytest.raises(P.PmsetError, match='Could not find any power profile'):
        P.parse_custom(text)


def test_parse_capabilities_samples():
    assert P.parse_capabilities(fixture('pmset', 'cap_lowpower_highpower.txt')) == {'lowpowermode', 'highpowermode'}
    assert P.parse_capabilities(fixture('pmset', 'cap_battery_empty.txt')) == set()
    caps = P.parse_capabilities(fixture('pmset', 'cap_desktop_derived.txt'))
    assert {'autorestart', 'womp', 'sleep'} <= caps and 'lidwake' not in caps


def test_parse_capabilities_rejects_other_output():
    with pytest.raises(P.PmsetError):
        P.parse_capabilities('Error: unhandled argument cap\n')


@pytest.mark.parametrize('given, expected', [
    ({'sleep': 'never', 'disksleep': 'Never', 'displaysleep': '15'}, {'sleep': 0, 'disksleep': 0, 'displaysleep': 15}),
    ({'sleep': 0, 'womp': True, 'powernap': False}, {'sleep': 0, 'womp': 1, 'powernap': 0}),
    ({'autorestart': 'on', 'tcpkeepalive': 'off', 'ttyskeepawake': 1}, {'autorestart': 1, 'tcpkeepalive': 0, 'ttyskeepawake': 1}),
    ({'dim': 5, 'spindown': 0, 'darkwakes': 0, 'powermode': 2}, {'displaysleep': 5, 'disksleep': 0, 'powernap': 0, 'lowpowermode': 2}),
    ({'hibernatemode': 25, 'gpuswitch': '2', 'highstandbythreshold': 100}, {'hibernatemode': 25, 'gpuswitch': 2, 'highstandbythreshold': 100}),
    ({'hibernatefile': '/var/vm/sleepimage', 'standbydelay': 10800}, {'hibernatefile': '/var/vm/sleepimage', 'standbydelay': 10800}),
])
def test_normalize_settings_accepts(given, expected):
    assert P.normalize_settings(given) == expected


@pytest.mark.parametrize('given, fragment', [
    ({'hibernatemode': 5}, 'hibernatemode: expects one of 0, 3, 25, got 5'),
    ({'sleep': -1}, "sleep: expects minutes (0 or more) or 'never', got -1"),
    ({'sleep': True}, 'sleep: expects minutes'),
    ({'sleep': 'soon'}, 'sleep: expects minutes'),
    ({'womp': 2}, 'womp: expects on/off'),
    ({'womp': 'maybe'}, 'womp: expects on/off'),
    ({'sleeep': 0}, 'sleeep: unknown pmset setting'),
    ({'disablesleep': 1}, 'disablesleep: a system-wide setting'),
    ({'dim': 5, 'displaysleep': 5}, 'given twice'),
    ({'highstandbythreshold': 101}, 'highstandbythreshold: expects an integer from 0 to 100'),
    ({'lowpowermode': 3}, 'lowpowermode: expects one of 0, 1, 2'),
    ({'hibernatefile': 'sleepimage'}, 'hibernatefile: expects an absolute path'),
    ({}, 'at least one'),
])
def test_normalize_settings_refuses_with_the_setting_name(given, fragment):
    with pytest.raises(P.PmsetError) as excinfo:
        P.normalize_settings(given)
    assert fragment in excinfo.value.msg


def test_normalize_settings_reports_every_problem_at_once():
    with pytest.raises(P.PmsetError) as excinfo:
        P.normalize_settings({'hibernatemode': 5, 'sleep': -3, 'bogus': 1, 'womp': 1})
    assert len(excinfo.value.details['invalid']) == 3
    for name in ('hibernatemode', 'sleep', 'bogus'):
        assert name in excinfo.value.msg


def run(fake, settings, **kwargs):
    return P.ensure(P.Pmset(fake.path, fake), P.normalize_settings(settings), **kwargs)


HEADLESS = {'sleep': 0, 'disksleep': 0, 'displaysleep': 10, 'womp': True, 'autorestart': True, 'powernap': False}


def test_converged_host_costs_one_read_and_no_write():
    fake = studio(sleep=0, disksleep=0, autorestart=1, powernap=0)
    result = run(fake, HEADLESS)
    assert result['changed'] is False and result['changes'] == [] and result['command'] is None
    assert fake.calls == [['/usr/bin/pmset', '-g', 'custom']]


def test_differences_are_written_in_one_call_then_read_back():
    fake = studio()
    result = run(fake, HEADLESS)
    assert result['changed'] is True
    assert fake.calls == [
        ['/usr/bin/pmset', '-g', 'custom'],
        ['/usr/bin/pmset', '-g', 'cap'],
        ['/usr/bin/pmset', '-a', 'autorestart', '1', 'disksleep', '0', 'powernap', '0', 'sleep', '0'],
        ['/usr/bin/pmset', '-g', 'custom'],
    ]
    assert {(c['setting'], c['before'], c['after']) for c in result['changes']} == {
        ('autorestart', 0, 1), ('disksleep', 10, 0), ('powernap', 1, 0), ('sleep', 1, 0)}
    assert all(change['power_source'] == 'ac' for change in result['changes'])
    assert result['settings']['ac']['sleep'] == 0
    assert result['diff']['before']['ac']['sleep'] == 1 and result['diff']['after']['ac']['sleep'] == 0
    # second run: converged
    assert run(fake, HEADLESS)['changed'] is False


def test_check_mode_writes_nothing_and_predicts_the_result():
    fake = studio()
    result = run(fake, HEADLESS, check_mode=True)
    assert result['changed'] is True
    assert fake.writes == []
    assert result['command'][:2] == ['/usr/bin/pmset', '-a']
    assert result['settings']['ac']['autorestart'] == 1
    assert fake.profiles['AC Power']['autorestart'] == 0


def test_check_mode_needs_no_root():
    fake = studio()
    assert run(fake, {'sleep': 0}, check_mode=True, is_root=False)['changed'] is True


def test_not_root_fails_before_writing():
    fake = studio()
    with pytest.raises(P.PmsetError, match='needs root: use become'):
        run(fake, {'sleep': 0}, is_root=False)
    assert fake.writes == []


def test_pmset_root_refusal_is_reported_as_become_needed():
    fake = studio()
    fake.write_output = ("'pmset' must be run as root...\n", '')
    with pytest.raises(P.PmsetError, match='must be run as root'):
        run(fake, {'sleep': 0})


def test_laptop_all_compares_both_profiles():
    fake = macbook()
    result = run(fake, {'sleep': 0})
    assert {c['power_source'] for c in result['changes']} == {'battery', 'ac'}
    assert fake.writes == [['/usr/bin/pmset', '-a', 'sleep', '0']]
    assert fake.profiles['Battery Power']['sleep'] == 0 and fake.profiles['AC Power']['sleep'] == 0


def test_power_source_ac_on_laptop_leaves_battery_alone():
    fake = macbook()
    result = run(fake, {'sleep': 0}, power_source='ac')
    assert [c['power_source'] for c in result['changes']] == ['ac']
    assert fake.writes == [['/usr/bin/pmset', '-c', 'sleep', '0']]
    assert fake.profiles['Battery Power']['sleep'] == 1


@pytest.mark.parametrize('source', ['battery', 'ups'])
def test_missing_profile_fails_instead_of_silent_success(source):
    fake = studio()
    with pytest.raises(P.PmsetError, match='this Mac has no .* profile'):
        run(fake, {'sleep': 0}, power_source=source)
    assert fake.writes == []


def test_unsupported_setting_fails_before_writing():
    fake = macbook()
    with pytest.raises(P.PmsetError) as excinfo:
        run(fake, {'autorestart': True, 'sleep': 0})
    assert 'autorestart' in excinfo.value.msg and 'ignore_unsupported' in excinfo.value.msg
    assert fake.writes == []


def test_ignore_unsupported_warns_and_applies_the_rest():
    fake = macbook()
    result = run(fake, {'autorestart': True, 'sleep': 0}, ignore_unsupported=True)
    assert fake.writes == [['/usr/bin/pmset', '-a', 'sleep', '0']]
    assert any('autorestart' in warning for warning in result['warnings'])
    assert all(change['setting'] == 'sleep' for change in result['changes'])
    again = run(fake, {'autorestart': True, 'sleep': 0}, ignore_unsupported=True)
    assert again['changed'] is False and fake.writes == [['/usr/bin/pmset', '-a', 'sleep', '0']]


def test_an_optional_setting_is_skipped_without_a_word_and_reported():
    """headless_power passes autorestart as optional: the role, not pmset, decides (systemsetup, or fail)."""
    fake = macbook()
    result = run(fake, {'autorestart': True, 'sleep': 0}, optional=['autorestart'])
    assert result['unsupported'] == ['autorestart'] and result['warnings'] == []
    assert fake.writes == [['/usr/bin/pmset', '-a', 'sleep', '0']]
    with pytest.raises(P.PmsetError) as excinfo:   # a setting that is not optional still fails first
        run(macbook(), {'autorestart': True, 'ring': True}, optional=['autorestart'])
    assert excinfo.value.details['unsupported'] == ['ring']


def test_supported_settings_report_nothing_unsupported():
    result = run(studio(), {'autorestart': True, 'sleep': 0}, optional=['autorestart'])
    assert result['unsupported'] == []


def test_high_power_mode_needs_the_capability():
    with pytest.raises(P.PmsetError, match='High Power Mode'):
        run(macbook(), {'lowpowermode': 2})
    fake = studio()
    run(fake, {'powermode': 2})
    # the studio prints the key as "powermode"; the read-back still recognises it
    assert fake.profiles['AC Power']['lowpowermode'] == 2


def test_setting_pmset_ignores_is_named_after_read_back():
    fake = studio()
    fake.ignore = {'womp'}
    with pytest.raises(P.PmsetError) as excinfo:
        run(fake, {'womp': False, 'sleep': 0})
    assert 'pmset did not apply womp on ac (wanted 0, still 1)' in excinfo.value.msg
    assert 'sleep' not in excinfo.value.msg


def test_pmset_warnings_are_passed_on():
    fake = studio()
    fake.write_output = (
        "Warning: This option disables TCP Keep Alive mechanism when sytem is sleeping. This will result in "
        "some critical features like 'Find My Mac' not to function properly.\n",
        'Warning: Idle sleep timings for "AC Power" may not behave as expected.\n'
        '- Display sleep should have a lower timeout than system sleep.\n')
    result = run(fake, {'tcpkeepalive': False})
    assert len(result['warnings']) == 2
    assert result['warnings'][1].endswith('Display sleep should have a lower timeout than system sleep.')


def test_missing_key_counts_as_different():
    fake = FakePmset({'AC Power': {'sleep': 0}}, ['sleep', 'womp'])
    result = run(fake, {'womp': 1}, check_mode=True)
    assert result['changes'] == [{'power_source': 'ac', 'setting': 'womp', 'before': None, 'after': 1}]


def test_read_failure_is_a_command_error():
    def broken(argv):
        return 1, 'Usage: pmset <options>\n', ''
    with pytest.raises(CommandError) as excinfo:
        P.ensure(P.Pmset('/usr/bin/pmset', broken), {'sleep': 0})
    assert excinfo.value.details['rc'] == 1
