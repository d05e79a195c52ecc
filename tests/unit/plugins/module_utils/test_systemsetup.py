# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemsetup parser and planner, with the outputs recorded in the reference notes."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import systemsetup as S
from macfakes import FakeSystemsetup


@pytest.mark.parametrize('name, text, expected', [
    ('remotelogin', 'Remote Login: On\n', 1),
    ('remotelogin', 'Remote Login: Off\n', 0),
    ('computersleep', 'Computer Sleep: Never\n', 0),
    ('computersleep', 'Computer Sleep: after 60 minutes\n', 60),
    ('restartpowerfailure', 'Restart After Power Failure: On\n', 1),
    ('restartfreeze', 'Restart After Freeze: Off\n', 0),
])
def test_parse_value_recorded_outputs(name, text, expected):
    assert S.parse_value(name, text) == expected


def test_parse_value_not_root_is_an_error_even_with_exit_0():
    with pytest.raises(S.SystemsetupError, match='use become'):
        S.parse_value('restartfreeze', 'You need administrator access to run this tool... exiting!\n')


def test_full_disk_access_refusal_is_reported():
    text = 'setremotelogin: Turning Remote Login on or off requires Full Disk Access privileges.\n'
    with pytest.raises(S.SystemsetupError, match='Full Disk Access'):
        S.check_output('remotelogin', text)


def test_unsupported_and_garbage():
    with pytest.raises(S.Unsupported):
        S.parse_value('restartpowerfailure', 'Restart After Power Failure: Not supported on this machine.\n')
    with pytest.raises(S.SystemsetupError, match='Could not understand'):
        S.parse_value('restartfreeze', 'Restart After Freeze: Sometimes\n')


@pytest.mark.parametrize('given, expected', [
    ({'restartfreeze': True}, {'restartfreeze': 1}),
    ({'computersleep': 'never', 'displaysleep': 10}, {'computersleep': 0, 'displaysleep': 10}),
    ({'wakeonnetworkaccess': 'off'}, {'wakeonnetworkaccess': 0}),
])
def test_normalize_settings(given, expected):
    assert S.normalize_settings(given) == expected


@pytest.mark.parametrize('given, fragment', [
    ({'restartfrozen': True}, 'restartfrozen: unknown setting'),
    ({'restartfreeze': 'perhaps'}, 'restartfreeze: expects on/off'),
    ({'computersleep': 181}, 'computersleep: expects minutes from 1 to 180'),
    ({'computersleep': -5}, 'computersleep: expects minutes'),
    ({}, 'at least one'),
])
def test_normalize_settings_refuses(given, fragment):
    with pytest.raises(S.SystemsetupError) as excinfo:
        S.normalize_settings(given)
    assert fragment in excinfo.value.msg


def test_set_argv():
    assert S.set_argv('/usr/sbin/systemsetup', 'restartfreeze', 1) == ['/usr/sbin/systemsetup', '-setrestartfreeze', 'on']
    assert S.set_argv('/usr/sbin/systemsetup', 'remotelogin', 0) == ['/usr/sbin/systemsetup', '-setremotelogin', '-f', 'off']
    assert S.set_argv('/usr/sbin/systemsetup', 'computersleep', 0) == ['/usr/sbin/systemsetup', '-setcomputersleep', 'Never']
    assert S.set_argv('/usr/sbin/systemsetup', 'computersleep', 30) == ['/usr/sbin/systemsetup', '-setcomputersleep', '30']


def run(fake, settings, **kwargs):
    return S.ensure(S.Systemsetup(fake.path, fake), S.normalize_settings(settings), **kwargs)


def test_converged_costs_one_read_per_setting():
    fake = FakeSystemsetup({'restartfreeze': 1})
    result = run(fake, {'restartfreeze': True})
    assert result['changed'] is False and result['settings'] == {'restartfreeze': True}
    assert fake.calls == [['/usr/sbin/systemsetup', '-getrestartfreeze']]


def test_change_is_set_and_read_back():
    fake = FakeSystemsetup({'restartfreeze': 0, 'computersleep': 10})
    result = run(fake, {'restartfreeze': True, 'computersleep': 'never'})
    assert result['changed'] is True
    assert fake.writes == [['/usr/sbin/systemsetup', '-setcomputersleep', 'Never'],
                           ['/usr/sbin/systemsetup', '-setrestartfreeze', 'on']]
    assert fake.values == {'restartfreeze': 1, 'computersleep': 0}
    assert result['changes'] == [{'setting': 'computersleep', 'before': 10, 'after': 0},
                                 {'setting': 'restartfreeze', 'before': False, 'after': True}]
    assert result['diff'] == {'before': {'restartfreeze': False, 'computersleep': 10},
                              'after': {'restartfreeze': True, 'computersleep': 0}}
    assert run(fake, {'restartfreeze': True, 'computersleep': 'never'})['changed'] is False


def test_check_mode_sets_nothing():
    fake = FakeSystemsetup({'restartfreeze': 0})
    result = run(fake, {'restartfreeze': True}, check_mode=True)
    assert result['changed'] is True and result['settings'] == {'restartfreeze': True}
    assert fake.writes == [] and fake.values == {'restartfreeze': 0}


def test_not_root_fails_on_the_first_read():
    fake = FakeSystemsetup({'restartfreeze': 0}, root=False)
    with pytest.raises(S.SystemsetupError, match='must be run as root'):
        run(fake, {'restartfreeze': True}, check_mode=True)
    assert fake.writes == []


def test_unsupported_fails_before_any_write_unless_ignored():
    fake = FakeSystemsetup({'restartfreeze': 0, 'restartpowerfailure': 0}, unsupported={'restartpowerfailure'})
    with pytest.raises(S.Unsupported):
        run(fake, {'restartfreeze': True, 'restartpowerfailure': True})
    assert fake.writes == []
    result = run(fake, {'restartfreeze': True, 'restartpowerfailure': True}, ignore_unsupported=True)
    assert result['unsupported'] == ['restartpowerfailure']
    assert fake.writes == [['/usr/sbin/systemsetup', '-setrestartfreeze', 'on']]
    assert result['warnings'] and 'restartpowerfailure' in result['warnings'][0]


def test_setting_not_taken_fails_naming_it():
    fake = FakeSystemsetup({'restartfreeze': 0}, ignore={'restartfreeze'})
    with pytest.raises(S.SystemsetupError, match='did not apply: restartfreeze'):
        run(fake, {'restartfreeze': True})


def test_remotelogin_without_full_disk_access():
    fake = FakeSystemsetup({'remotelogin': 0})
    with pytest.raises(S.SystemsetupError, match='Full Disk Access'):
        run(fake, {'remotelogin': True})
