# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemsetup module's glue."""

from __future__ import annotations

from ansible_collections.llmhost.macos.plugins.modules import systemsetup
from macfakes import FakeSystemsetup


def test_sets_and_is_idempotent(run_module):
    fake = FakeSystemsetup({'restartfreeze': 0})
    result, failed = run_module(systemsetup, {'settings': {'restartfreeze': True}, '_ansible_diff': True}, fake)
    assert not failed and result['changed']
    assert result['diff'] == {'before': {'restartfreeze': False}, 'after': {'restartfreeze': True}}
    result, failed = run_module(systemsetup, {'settings': {'restartfreeze': True}}, fake)
    assert not failed and not result['changed']
    assert len(fake.writes) == 1


def test_check_mode(run_module):
    fake = FakeSystemsetup({'restartfreeze': 0})
    result, failed = run_module(systemsetup, {'settings': {'restartfreeze': True}, '_ansible_check_mode': True}, fake)
    assert not failed and result['changed'] and fake.writes == []


def test_bad_input_runs_nothing(run_module):
    fake = FakeSystemsetup({'restartfreeze': 0})
    result, failed = run_module(systemsetup, {'settings': {'restartfreeze': 'sometimes'}}, fake)
    assert failed and 'restartfreeze' in result['msg'] and fake.calls == []


def test_needs_root(run_module):
    fake = FakeSystemsetup({'restartfreeze': 0}, root=False)
    result, failed = run_module(systemsetup, {'settings': {'restartfreeze': True}}, fake)
    assert failed and 'become' in result['msg'] and fake.writes == []
