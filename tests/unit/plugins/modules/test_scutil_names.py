# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scutil_names module's glue."""

from __future__ import annotations

from ansible_collections.llmhost.macos.plugins.modules import scutil_names
from macfakes import FakeScutil


def test_sets_and_is_idempotent(run_module, monkeypatch):
    monkeypatch.setattr(scutil_names.os, 'geteuid', lambda: 0)
    fake = FakeScutil({'ComputerName': 'Mac Studio', 'LocalHostName': 'Mac-Studio', 'HostName': None})
    args = {'local_host_name': 'llm-studio-1', 'host_name': 'llm-studio-1', '_ansible_diff': True}
    result, failed = run_module(scutil_names, args, fake)
    assert not failed and result['changed']
    assert result['diff'] == {'before': {'LocalHostName': 'Mac-Studio', 'HostName': None},
                              'after': {'LocalHostName': 'llm-studio-1', 'HostName': 'llm-studio-1'}}
    result, failed = run_module(scutil_names, args, fake)
    assert not failed and not result['changed'] and len(fake.sets()) == 2


def test_bad_input_runs_nothing(run_module):
    fake = FakeScutil({})
    result, failed = run_module(scutil_names, {'local_host_name': 'my mac'}, fake)
    assert failed and result['msg'].startswith('local_host_name:') and fake.calls == []
