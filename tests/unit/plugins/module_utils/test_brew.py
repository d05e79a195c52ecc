# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/brew.py: `brew services info --json` parsing and the planner."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import brew, launchd
from ansible_collections.llmhost.macos.plugins.module_utils.brew import BrewError

from brew_fakes import FakeBrew
from launchd_fakes import FakeFiles, FakeLaunchctl
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


# ---- the seed's leftover: a user LaunchAgent of the same formula ---------------------------------

AGENT = '/Users/admin/Library/LaunchAgents/homebrew.mxcl.ollama.plist'


class FakeAgents:
    """Users' homes and files on the host, and a launchctl in which admin's agent is loaded."""

    def __init__(self, files=(AGENT,), loaded=('gui/501/homebrew.mxcl.ollama',)):
        self.files = set(files)
        self.removed = []
        self.fake_launchctl = FakeLaunchctl(FakeFiles())
        for target in loaded:
            self.fake_launchctl.jobs[target] = {'path': AGENT, 'running': True, 'pid': 612, 'exit': None, 'runs': 1}
        self.launchctl = launchd.Launchctl(self.fake_launchctl.path, self.fake_launchctl,
                                           sleep=self.fake_launchctl.sleep, clock=self.fake_launchctl.clock)

    @staticmethod
    def users():
        return [('root', 0, '/var/root'), ('daemon', 1, '/var/root'), ('admin', 501, '/Users/admin'),
                ('nobody', -2, '/var/empty'), ('_spotlight', 89, '/var/empty')]

    def exists(self, path):
        return path in self.files

    def remove(self, path):
        self.files.discard(path)
        self.removed.append(path)


def run_system(fake, agents, check_mode=False, **kw):
    return brew.ensure_service(brew.Brew(fake.path, fake), params(service_user='admin', **kw), is_root=True,
                               check_mode=check_mode, agents=agents)


def test_a_leftover_user_agent_is_booted_out_and_removed_before_the_system_service_starts():
    fake, agents = FakeBrew(root=True), FakeAgents()
    result = run_system(fake, agents)
    assert result['changed'] and result['service']['running']
    assert result['removed_user_agents'] == [{'user': 'admin', 'uid': 501, 'path': AGENT,
                                              'loaded_in': ['gui/501/homebrew.mxcl.ollama']}]
    assert agents.files == set() and agents.fake_launchctl.jobs == {}   # waited until it had left (bootout said 36)
    bootouts = [argv[1:] for argv in agents.fake_launchctl.calls if argv[1] == 'bootout']
    assert bootouts[0] == ['bootout', 'gui/501/homebrew.mxcl.ollama']
    assert result['diff']['before']['user_agents'] == [AGENT] and result['diff']['after']['user_agents'] == []
    assert fake.writes() == [['services', 'start', 'ollama', '--sudo-service-user', 'admin']]


def test_the_next_run_costs_one_brew_read_and_no_launchctl_call():
    fake, agents = FakeBrew(root=True), FakeAgents()
    run_system(fake, agents)
    fake.calls.clear()
    agents.fake_launchctl.calls.clear()
    result = run_system(fake, agents)
    assert not result['changed'] and result['removed_user_agents'] == []
    assert fake.calls == [[fake.path, 'services', 'info', 'ollama', '--json']]
    assert agents.fake_launchctl.calls == []


def test_an_agent_file_that_is_not_loaded_is_only_removed():
    fake, agents = FakeBrew(root=True), FakeAgents(loaded=())
    result = run_system(fake, agents)
    assert result['removed_user_agents'][0]['loaded_in'] == [] and agents.removed == [AGENT]
    assert [argv[1] for argv in agents.fake_launchctl.calls] == ['print', 'print']   # gui/501 and user/501


def test_check_mode_reports_the_agent_and_touches_nothing():
    fake, agents = FakeBrew(root=True), FakeAgents()
    result = run_system(fake, agents, check_mode=True)
    assert result['changed'] and result['removed_user_agents'][0]['path'] == AGENT
    assert agents.files == {AGENT} and 'gui/501/homebrew.mxcl.ollama' in agents.fake_launchctl.jobs
    assert agents.fake_launchctl.writes() == [] and fake.writes() == []
    assert result['diff']['after']['user_agents'] == [] and result['diff']['after']['running']


def test_told_to_keep_the_agent_fails_before_anything_changes():
    fake, agents = FakeBrew(root=True), FakeAgents()
    with pytest.raises(BrewError) as excinfo:
        run_system(fake, agents, remove_user_agents=False)
    assert excinfo.value.msg.startswith(
        'ollama also has a LaunchAgent that a `brew services start ollama` run as a user left: '
        '/Users/admin/Library/LaunchAgents/homebrew.mxcl.ollama.plist (admin).')
    assert agents.files == {AGENT} and agents.fake_launchctl.calls == [] and fake.writes() == []


def test_a_user_service_never_looks_for_agents():
    fake, agents = FakeBrew(), FakeAgents()
    result = brew.ensure_service(brew.Brew(fake.path, fake), params(scope='user'), is_root=False, agents=agents)
    assert result['removed_user_agents'] == [] and agents.fake_launchctl.calls == [] and agents.files == {AGENT}
