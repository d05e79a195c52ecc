# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pmset module's glue: arguments, check mode, diff, one fail_json."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.modules import pmset
from macfakes import macbook, studio


@pytest.fixture(autouse=True)
def as_root(monkeypatch):
    monkeypatch.setattr(pmset.os, 'geteuid', lambda: 0)


def test_converges_and_reports_changes(run_module):
    fake = studio()
    result, failed = run_module(pmset, {'settings': {'sleep': 'never', 'autorestart': True}}, fake)
    assert not failed and result['changed']
    assert result['command'] == ['/usr/bin/pmset', '-a', 'autorestart', '1', 'sleep', '0']
    assert result['settings']['ac']['autorestart'] == 1
    assert 'diff' not in result
    result, failed = run_module(pmset, {'settings': {'sleep': 'never', 'autorestart': True}}, fake)
    assert not failed and not result['changed']
    assert len(fake.writes) == 1


def test_check_mode_and_diff(run_module):
    fake = studio()
    result, failed = run_module(pmset, {'settings': {'sleep': 0}, '_ansible_check_mode': True, '_ansible_diff': True}, fake)
    assert not failed and result['changed']
    assert fake.writes == []
    assert result['diff']['before']['ac']['sleep'] == 1
    assert result['diff']['after']['ac']['sleep'] == 0


def test_invalid_setting_fails_before_any_command(run_module):
    fake = studio()
    result, failed = run_module(pmset, {'settings': {'hibernatemode': 5, 'sleep': 0}}, fake)
    assert failed
    assert 'hibernatemode' in result['msg'] and 'sleep' not in result['invalid'][0]
    assert fake.calls == []


def test_invalid_power_source_is_refused_by_the_argument_spec(run_module):
    fake = studio()
    result, failed = run_module(pmset, {'settings': {'sleep': 0}, 'power_source': 'solar'}, fake)
    assert failed and 'power_source' in result['msg']
    assert fake.calls == []


def test_unsupported_warning_is_a_task_warning(run_module):
    fake = macbook()
    warnings = []
    result, failed = run_module(pmset, {'settings': {'autorestart': 1}, 'ignore_unsupported': True}, fake,
                                warnings=warnings)
    assert not failed and not result['changed']
    assert warnings and 'autorestart' in warnings[0]


def test_not_root(run_module, monkeypatch):
    monkeypatch.setattr(pmset.os, 'geteuid', lambda: 501)
    fake = studio()
    result, failed = run_module(pmset, {'settings': {'sleep': 0}}, fake)
    assert failed and 'become' in result['msg']
    assert fake.writes == []
