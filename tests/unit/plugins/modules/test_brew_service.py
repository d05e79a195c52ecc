# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The brew_service module's glue: root rules, environment, check mode, diff, warnings."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.modules import brew_service
from brew_fakes import FakeBrew


@pytest.fixture
def euid(monkeypatch):
    def set_euid(value):
        monkeypatch.setattr(brew_service.os, 'geteuid', lambda: value)
        monkeypatch.setattr(brew_service.os, 'getuid', lambda: value)
    return set_euid


def test_system_scope_as_root(run_module, euid):
    euid(0)
    fake = FakeBrew(root=True)
    result, failed = run_module(brew_service, {'name': 'ollama', 'scope': 'system', 'service_user': 'admin',
                                               '_ansible_diff': True}, fake)
    assert not failed and result['changed']
    assert result['command'] == [fake.path, 'services', 'start', 'ollama', '--sudo-service-user', 'admin']
    assert result['diff']['before']['status'] == 'none' and result['diff']['after']['status'] == 'started'
    result, failed = run_module(brew_service, {'name': 'ollama', 'scope': 'system', 'service_user': 'admin'}, fake)
    assert not failed and not result['changed'] and 'diff' not in result


def test_root_rules_fail_before_brew_runs(run_module, euid):
    euid(501)
    fake = FakeBrew(root=False)
    result, failed = run_module(brew_service, {'name': 'ollama', 'scope': 'system'}, fake)
    assert failed and result['msg'] == 'scope: system manages a LaunchDaemon, which needs root: use become: true'
    assert fake.calls == []


def test_user_scope_warns(run_module, euid):
    euid(501)
    fake = FakeBrew(root=False)
    warnings = []
    result, failed = run_module(brew_service, {'name': 'ollama'}, fake, warnings=warnings)
    assert not failed and result['changed']
    assert any('Use scope: system for a service that must start at boot' in warning for warning in warnings)


def test_check_mode(run_module, euid):
    euid(0)
    fake = FakeBrew(root=True)
    result, failed = run_module(brew_service, {'name': 'ollama', 'scope': 'system', '_ansible_check_mode': True}, fake)
    assert not failed and result['changed'] and fake.writes() == []
