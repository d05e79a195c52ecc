# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/brew.py: `brew services info --json` parsing and the planner."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import brew
from ansible_collections.llmhost.macos.plugins.module_utils.brew import BrewError

from brew_fakes import FakeBrew
from macfakes import fixture


def test_the_recorded_root_service():
    info = brew.parse_services_info(fixture('brew', 'services_info_nginx_root.json'), 'nginx')
    view = brew.service_view(info)
    assert view == {'name': 'nginx', 'service_name': 'homebrew.mxcl.nginx', 'status': 'started', 'running': True,
                    'loaded': True, 'pid': 133, 'exit_code': 0, 'user': 'root',
                    'file': '/Library/LaunchDaemons/homebrew.mxcl.nginx.plist'}
    assert brew.in_scope(view, 'system') and not brew.in_scope(view, 'user')


def test_parse_errors():
    with pytest.raises(BrewError) as excinfo:
        brew.parse_services_info('Error: No available formula with the name "olama".', 'olama')
    assert excinfo.value.msg.startswith('brew services info olama --json printed no JSON')
    with pytest.raises(BrewError):
        brew.parse_services_info('[{"name": "other"}]', 'ollama')


def params(**kw):
    base = dict(name='ollama', state='started', scope='system', service_user=None)
    base.update(kw)
    return base


def run(fake, check_mode=False, gui_session=None, **kw):
    return brew.ensure_service(brew.Brew(fake.path, fake), params(**kw), is_root=fake.root, check_mode=check_mode,
                               gui_session=gui_session)


def test_system_service_as_a_user_then_nothing():
    fake = FakeBrew(root=True)
    result = run(fake, service_user='admin')
    assert result['changed'] and result['command'] == [fake.path, 'services', 'start', 'ollama',
                                                       '--sudo-service-user', 'admin']
    assert result['service']['running'] and result['service']['user'] == 'admin'
    assert result['service']['file'] == '/Library/LaunchDaemons/homebrew.mxcl.ollama.plist'
    assert result['warnings'] == []
    fake.calls.clear()
    result = run(fake, service_user='admin')
    assert not result['changed']
    assert fake.calls == [[fake.path, 'services', 'info', 'ollama', '--json']]


def test_another_service_user_restarts_it():
    fake = FakeBrew(root=True)
    run(fake)
    result = run(fake, service_user='admin')
    assert result['command'][1:3] == ['services', 'restart']
    assert result['diff']['before']['user'] == 'root' and result['diff']['after']['user'] == 'admin'


def test_check_mode_runs_only_info():
    fake = FakeBrew(root=True)
    result = run(fake, check_mode=True, service_user='admin')
    assert result['changed'] and fake.writes() == []
    assert result['diff']['after']['running'] is True and result['diff']['after']['user'] == 'admin'


def test_stop_and_restart():
    fake = FakeBrew(root=True)
    assert not run(fake, state='stopped')['changed']
    run(fake)
    result = run(fake, state='stopped')
    assert result['changed'] and not result['service']['loaded']
    result = run(fake, state='restarted')
    assert result['changed'] and result['command'][1:3] == ['services', 'restart']


def test_a_service_that_does_not_stay_up_fails_with_its_exit_code():
    fake = FakeBrew(root=True, crash={'ollama'})
    with pytest.raises(BrewError) as excinfo:
        run(fake)
    assert excinfo.value.msg == ('brew services start ollama ran, but the service is not running '
                                 '(status error, last exit code 78)')


def test_user_scope_warns_and_explains_a_missing_gui_session():
    fake = FakeBrew(root=False, gui=False)
    with pytest.raises(BrewError) as excinfo:
        run(fake, scope='user', gui_session=lambda: False)
    assert 'Bootstrap failed: 5: Input/output error' in excinfo.value.msg
    assert excinfo.value.msg.endswith('with nobody logged in to the desktop there is no GUI session for it; '
                                      'use scope: system)')
    fake.gui = True
    result = run(fake, scope='user', gui_session=lambda: True)
    assert result['changed'] and result['service']['file'].startswith('/Users/admin/Library/LaunchAgents/')
    assert len(result['warnings']) == 1 and 'after a reboot with nobody logged in it is down' in result['warnings'][0]
    assert run(fake, scope='user')['warnings'] == []  # converged: nothing to say


@pytest.mark.parametrize('overrides, is_root, message', [
    (dict(name='bad name'), True, "name: 'bad name' is not a formula name"),
    (dict(scope='user', service_user='admin'), False, 'service_user needs scope: system'),
    (dict(service_user='bad user'), True, "service_user: 'bad user' is not a user name"),
    (dict(), False, 'scope: system manages a LaunchDaemon, which needs root: use become: true'),
    (dict(scope='user'), True, "scope: user manages the connecting user's LaunchAgent: run this task without become"),
])
def test_bad_input_is_refused_before_brew_runs(overrides, is_root, message):
    fake = FakeBrew(root=is_root)
    with pytest.raises(BrewError) as excinfo:
        brew.ensure_service(brew.Brew(fake.path, fake), params(**overrides), is_root=is_root)
    assert excinfo.value.msg.startswith(message)
    assert fake.calls == []
