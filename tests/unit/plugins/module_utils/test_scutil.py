# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scutil's three names: the recorded --get answers, the plan, the read-back."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import scutil
from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from macfakes import FakeScutil


# a new Mac as recorded (tofrankie/blog#29): HostName not set
NEW_MAC = {'ComputerName': "Frankie's MacBook Pro", 'LocalHostName': 'Frankies-MacBook-Pro', 'HostName': None}


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def run(fake, check_mode=False, is_root=True, clock=None, **params):
    wanted = scutil.normalize_names(params)
    clock = clock or FakeClock()
    return scutil.ensure_names(scutil.Scutil(fake.path, fake), wanted, check_mode=check_mode, is_root=is_root,
                               sleep=clock.sleep, clock=clock.time)


def test_a_new_macs_names_are_set_read_back_and_then_left_alone():
    fake = FakeScutil(NEW_MAC)
    result = run(fake, computer_name='LLM Studio 1', local_host_name='llm-studio-1', host_name='llm-studio-1')
    assert result['changed'] and result['names'] == {'ComputerName': 'LLM Studio 1', 'LocalHostName': 'llm-studio-1',
                                                     'HostName': 'llm-studio-1'}
    assert {'name': 'HostName', 'before': None, 'after': 'llm-studio-1'} in result['changes']
    assert len(fake.sets()) == 3
    again = run(fake, computer_name='LLM Studio 1', local_host_name='llm-studio-1', host_name='llm-studio-1')
    assert not again['changed'] and len(fake.sets()) == 3
    assert [c[1] for c in fake.calls[-3:]] == ['--get'] * 3   # one read per name, no write


def test_only_the_names_given_are_read():
    fake = FakeScutil(NEW_MAC)
    result = run(fake, local_host_name='Frankies-MacBook-Pro')
    assert not result['changed'] and fake.calls == [['/usr/sbin/scutil', '--get', 'LocalHostName']]


def test_an_empty_host_name_unsets_it():
    fake = FakeScutil(dict(NEW_MAC, HostName='old'))
    result = run(fake, host_name='')
    assert result['changes'] == [{'name': 'HostName', 'before': 'old', 'after': None}]
    assert fake.sets() == [['/usr/sbin/scutil', '--set', 'HostName', '']] and fake.names['HostName'] is None


def test_a_name_macos_changed_on_the_way_fails_naming_it_after_the_settle_time():
    fake = FakeScutil(NEW_MAC, suffix={'LocalHostName': '-2'})
    clock = FakeClock()
    with pytest.raises(LlmhostError, match=r"LocalHostName is 'llm-studio-1-2', not 'llm-studio-1'"):
        run(fake, clock=clock, local_host_name='llm-studio-1')
    assert sum(clock.sleeps) == 5.0


def test_a_read_back_that_lags_behind_the_set_is_read_again():
    """configd updates its dynamic store after --set returns: the first --get may still say the old name."""
    fake = FakeScutil(NEW_MAC, lag={'ComputerName': 2})
    clock = FakeClock()
    result = run(fake, clock=clock, computer_name='LLM Studio 1')
    assert result['changed'] and result['names'] == {'ComputerName': 'LLM Studio 1'}
    assert clock.sleeps == [0.5, 0.5]


def test_check_mode_and_no_root():
    fake = FakeScutil(NEW_MAC)
    assert run(fake, check_mode=True, host_name='llm1')['changed'] and fake.sets() == []
    with pytest.raises(LlmhostError, match='Setting HostName needs root: use become'):
        run(fake, is_root=False, host_name='llm1')
    assert fake.sets() == []


def test_a_failed_set_carries_scutils_text():
    fake = FakeScutil(NEW_MAC)
    fake_set = fake.__call__

    def refusing(argv):
        if argv[1] == '--set':
            return 1, '', 'Permission denied.\n'
        return fake_set(argv)
    with pytest.raises(LlmhostError, match=r'scutil --set HostName llm1 failed \(exit 1\): Permission denied\.'):
        scutil.ensure_names(scutil.Scutil(fake.path, refusing), {'HostName': 'llm1'})


@pytest.mark.parametrize('params, message', [
    ({'local_host_name': 'llm studio'}, 'local_host_name: expects letters, digits and hyphens'),
    ({'local_host_name': '-llm'}, 'local_host_name'),
    ({'local_host_name': 'a' * 64}, 'local_host_name'),
    ({'host_name': 'llm_1'}, 'host_name: expects a DNS name'),
    ({'host_name': 'llm..lab'}, 'host_name'),
    ({'computer_name': ''}, 'computer_name: expects 1 to 63 bytes'),
    ({'computer_name': 'x' * 64}, 'computer_name'),
    ({}, 'give at least one of'),
])
def test_bad_names_are_refused_before_anything_runs(params, message):
    full = dict({'computer_name': None, 'local_host_name': None, 'host_name': None}, **params)
    with pytest.raises(LlmhostError, match=message):
        scutil.normalize_names(full)


def test_good_names():
    wanted = scutil.normalize_names({'computer_name': "Frankie's Mac Studio", 'local_host_name': 'Frankies-Mac-Studio',
                                     'host_name': 'llm1.lab.example'})
    assert wanted == {'ComputerName': "Frankie's Mac Studio", 'LocalHostName': 'Frankies-Mac-Studio',
                      'HostName': 'llm1.lab.example'}
