# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/launchd.py: the launchctl print parser on the recorded samples, plists, the planner."""

from __future__ import annotations

import plistlib

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import launchd
from ansible_collections.llmhost.macos.plugins.module_utils.common import CommandError
from ansible_collections.llmhost.macos.plugins.module_utils.launchd import LaunchdError

from launchd_fakes import FakeFiles, FakeLaunchctl
from macfakes import fixture

LABEL = 'com.llmhost.ollama'
PATH = '/Library/LaunchDaemons/com.llmhost.ollama.plist'
JOB = {
    'ProgramArguments': ['/opt/homebrew/bin/ollama', 'serve'],
    'UserName': 'admin',
    'RunAtLoad': True,
    'KeepAlive': True,
    'EnvironmentVariables': {'OLLAMA_HOST': '0.0.0.0:11434'},
}


# ---- parsing ---------------------------------------------------------------------------------------

def test_print_of_a_running_system_daemon():
    printed = launchd.parse_print(fixture('launchd', 'print_system_running.txt'))
    assert printed['state'] == 'running'
    assert printed['pid'] == '893'
    assert printed['path'] == '/Library/LaunchDaemons/com.byliu.egress-guard.daemon.plist'
    assert printed['arguments'] == ['/usr/local/bin/egress-guard', 'start', '--port=8443', '--system']
    assert printed['environment'][0] == 'OSLogRateLimit => 64'
    assert printed['checked allocations'] == '0 (queried = 1)'
    status = launchd.job_status(printed)
    assert status == {'state': 'running', 'pid': 893, 'last_exit_code': None, 'last_exit_reason': None,
                      'last_signal': None, 'path': '/Library/LaunchDaemons/com.byliu.egress-guard.daemon.plist',
                      'type': 'LaunchDaemon', 'runs': 1}


def test_print_reads_top_level_keys_only():
    """Nested blocks repeat `state =` and `active count =`: they must not win over the job's own."""
    printed = launchd.parse_print(fixture('launchd', 'print_agent_crashed_constructed.txt'))
    status = launchd.job_status(printed)
    assert status['state'] == 'not running'
    assert printed['active count'] == '0'
    assert status['last_exit_code'] == 78 and status['last_exit_reason'] == '78: EX_CONFIG'
    assert status['last_signal'] == 'Killed: 9'
    assert status['pid'] is None and status['runs'] == 7
    assert printed['resource coalition'] == ['ID = 1234', 'state = active', 'active count = 1']


def test_print_disabled_old_and_new_words():
    assert launchd.parse_print_disabled(fixture('launchd', 'print_disabled_system_constructed.txt')) == {
        'com.openssh.sshd': False, 'com.apple.ftpd': True, 'com.example.old': False, 'com.example.off': True}


# ---- definitions ----------------------------------------------------------------------------------

def test_definition_gets_its_label_and_renders_sorted():
    definition = launchd.normalize_definition(JOB, LABEL)
    assert definition['Label'] == LABEL
    data = launchd.render(definition)
    assert plistlib.loads(data) == definition
    text = data.decode()
    assert text.index('<key>EnvironmentVariables</key>') < text.index('<key>KeepAlive</key>') < text.index('<key>Label</key>')


@pytest.mark.parametrize('plist, problem', [
    ({'RunAtLoad': True}, 'plist: needs ProgramArguments (a list) or Program'),
    ({'ProgramArguments': '/bin/sleep 10'}, 'plist.ProgramArguments: expects a list of strings'),
    ({'Program': '/bin/true', 'RunAtLoad': 'yes'}, 'plist.RunAtLoad: expects a boolean'),
    ({'Program': '/bin/true', 'KeepAlive': 1}, 'plist.KeepAlive: expects a boolean or a dict of conditions'),
    ({'Program': '/bin/true', 'EnvironmentVariables': {'A': 1}}, 'plist.EnvironmentVariables: expects a dict of strings'),
    ({'Program': '/bin/true', 'Label': 'other'}, "plist.Label: 'other' differs from label 'com.llmhost.ollama'"),
    ({'Program': '/bin/true', 'Nice': None}, 'plist.Nice: null is not a plist value'),
])
def test_bad_definitions_are_refused(plist, problem):
    with pytest.raises(LaunchdError) as excinfo:
        launchd.normalize_definition(plist, LABEL)
    assert problem in excinfo.value.details['invalid']


@pytest.mark.parametrize('label', ['', 'has space', '../etc/passwd', 'a/b', None])
def test_bad_labels_are_refused(label):
    with pytest.raises(LaunchdError):
        launchd.validate_label(label)


def test_targets_and_paths():
    assert launchd.domain_target('system', 0) == 'system'
    assert launchd.domain_target('gui', 501) == 'gui/501'
    assert launchd.default_plist_path('system', LABEL, '/var/root') == PATH
    assert launchd.default_plist_path('gui', LABEL, '/Users/admin/') == '/Users/admin/Library/LaunchAgents/%s.plist' % LABEL


# ---- the planner ----------------------------------------------------------------------------------

def params(**kw):
    base = dict(label=LABEL, domain='system', plist=dict(JOB), plist_path=None, state='started', enabled=None)
    base.update(kw)
    return base


def host(**kw):
    files = FakeFiles()
    return files, FakeLaunchctl(files, **kw)


def run(files, launchctl, check_mode=False, waiter=None, is_root=True, **kw):
    lc = launchd.Launchctl(launchctl.path, launchctl, sleep=launchctl.sleep, clock=launchctl.clock)
    return launchd.ensure_job(lc, files, params(**kw), uid=501, home='/Users/admin', check_mode=check_mode,
                              waiter=waiter, is_root=is_root)


def test_a_new_system_job_is_written_bootstrapped_and_running():
    files, launchctl = host()
    result = run(files, launchctl)
    assert result['changed'] and result['actions'] == ['write %s' % PATH, 'bootstrap']
    assert files.writes == [(PATH, None)]  # root-owned (owner None: root:wheel)
    assert plistlib.loads(files.files[PATH])['Label'] == LABEL
    assert ['bootstrap', 'system', PATH] in launchctl.writes()
    assert result['state'] == 'running' and result['pid'] == 501
    assert result['diff']['before']['plist'] is None and 'ProgramArguments' in result['diff']['after']['plist']


def test_an_unchanged_job_costs_one_print_and_no_write():
    files, launchctl = host()
    run(files, launchctl)
    launchctl.calls.clear()
    files.writes.clear()
    result = run(files, launchctl)
    assert not result['changed'] and result['actions'] == []
    assert launchctl.calls == [['/bin/launchctl', 'print', 'system/%s' % LABEL]]
    assert files.writes == []
    assert result['pid'] == 501 and result['state'] == 'running'


def test_a_changed_definition_is_reloaded():
    files, launchctl = host()
    run(files, launchctl)
    changed = dict(JOB, EnvironmentVariables={'OLLAMA_HOST': '127.0.0.1:11434'})
    result = run(files, launchctl, plist=changed)
    assert result['actions'] == ['bootout', 'write %s' % PATH, 'bootstrap']
    assert '0.0.0.0:11434' in result['diff']['before']['plist'] and '127.0.0.1:11434' in result['diff']['after']['plist']
    assert result['pid'] == 502
    assert plistlib.loads(files.files[PATH])['EnvironmentVariables'] == {'OLLAMA_HOST': '127.0.0.1:11434'}


def test_a_reload_waits_until_the_old_job_has_left():
    """bootout answers 36 while the old process exits; bootstrapping then would fail with 5."""
    files, launchctl = host(exit_polls=3)
    run(files, launchctl)
    launchctl.calls.clear()
    result = run(files, launchctl, plist=dict(JOB, KeepAlive=False))
    verbs = [argv[1] for argv in launchctl.calls]
    assert verbs[:verbs.index('bootstrap')] == ['print', 'bootout', 'print', 'bootout', 'print', 'bootout', 'print']
    assert result['actions'] == ['bootout', 'write %s' % PATH, 'bootstrap'] and result['state'] == 'running'
    assert launchctl.slept == [0.5, 0.5]


def test_a_job_that_never_leaves_fails_naming_it_and_keeps_its_file():
    files, launchctl = host(stuck=[LABEL])
    run(files, launchctl)
    old = files.files[PATH]
    with pytest.raises(LaunchdError) as excinfo:
        run(files, launchctl, plist=dict(JOB, KeepAlive=False), stop_timeout=10)
    assert excinfo.value.msg.startswith('system/com.llmhost.ollama is still loaded 10 seconds after launchctl bootout '
                                        '(state running, pid 501; launchctl said: Boot-out failed: 36: '
                                        'Operation now in progress)')
    assert files.files[PATH] == old            # the next run sees the change again
    assert 'bootstrap' not in [argv[1] for argv in launchctl.calls[-3:]]
    assert launchctl.now == 10


def test_stopped_waits_until_the_job_is_gone():
    files, launchctl = host(exit_polls=1)
    run(files, launchctl)
    result = run(files, launchctl, state='stopped')
    assert result['actions'] == ['bootout'] and result['state'] == 'not loaded'
    assert launchctl.jobs == {}


def test_the_same_definition_written_differently_is_no_change():
    """A file with the keys in another order or format (binary) holds the same job."""
    files, launchctl = host()
    run(files, launchctl)
    definition = plistlib.loads(files.files[PATH])
    files.files[PATH] = plistlib.dumps(definition, fmt=plistlib.FMT_BINARY)
    assert not run(files, launchctl)['changed']


def test_check_mode_writes_nothing():
    files, launchctl = host()
    result = run(files, launchctl, check_mode=True)
    assert result['changed'] and result['actions'] == ['write %s' % PATH, 'bootstrap']
    assert files.files == {} and launchctl.writes() == []
    assert result['state'] == 'running'


def test_a_loaded_job_that_is_not_running_is_kickstarted():
    files, launchctl = host()
    run(files, launchctl, plist=dict(JOB, RunAtLoad=False))
    assert ['kickstart', 'system/%s' % LABEL] in launchctl.writes()  # loaded without RunAtLoad: started now
    launchctl.jobs['system/%s' % LABEL].update(running=False, pid=None, exit=0)
    result = run(files, launchctl, plist=dict(JOB, RunAtLoad=False))
    assert result['actions'] == ['kickstart']


def test_restarted_kills_and_starts_again():
    files, launchctl = host()
    run(files, launchctl)
    result = run(files, launchctl, state='restarted')
    assert result['actions'] == ['kickstart -k'] and result['pid'] == 502


def test_stopped_boots_out_and_keeps_the_file():
    files, launchctl = host()
    run(files, launchctl)
    result = run(files, launchctl, state='stopped')
    assert result['actions'] == ['bootout'] and result['state'] == 'not loaded' and result['pid'] is None
    assert PATH in files.files
    assert not run(files, launchctl, state='stopped')['changed']


def test_absent_boots_out_and_removes_the_file():
    files, launchctl = host()
    run(files, launchctl)
    result = run(files, launchctl, state='absent', plist=None)
    assert result['actions'] == ['bootout', 'remove %s' % PATH]
    assert files.files == {} and launchctl.jobs == {}
    assert result['diff']['after']['plist'] is None
    assert not run(files, launchctl, state='absent', plist=None)['changed']


def test_absent_leaves_a_system_plist_it_did_not_write():
    files, launchctl = host()
    files.files['/System/Library/LaunchDaemons/ssh.plist'] = launchd.render({'Label': 'com.openssh.sshd',
                                                                             'Program': '/usr/sbin/sshd'})
    launchctl.jobs['system/com.openssh.sshd'] = {'path': '/System/Library/LaunchDaemons/ssh.plist', 'running': False,
                                                 'pid': None, 'exit': None, 'runs': 0}
    result = run(files, launchctl, label='com.openssh.sshd', plist=None,
                 plist_path='/System/Library/LaunchDaemons/ssh.plist', state='absent')
    assert result['actions'] == ['bootout']
    assert '/System/Library/LaunchDaemons/ssh.plist' in files.files


def test_a_disabled_job_is_named_as_such():
    files, launchctl = host()
    launchctl.disabled['system'] = {LABEL: True}
    with pytest.raises(LaunchdError) as excinfo:   # enabled not given: bootstrap fails, then the reason is found
        run(files, launchctl)
    assert excinfo.value.msg == ('com.llmhost.ollama is disabled in system (launchctl print-disabled), so launchd '
                                 'refused to load it: set enabled: true')
    assert excinfo.value.details['rc'] == 5


def test_enabled_is_read_from_print_disabled_and_set_once():
    files, launchctl = host()
    launchctl.disabled['system'] = {LABEL: True}
    result = run(files, launchctl, enabled=True)
    assert result['actions'] == ['write %s' % PATH, 'enable', 'bootstrap']
    launchctl.calls.clear()
    assert not run(files, launchctl, enabled=True)['changed']
    assert [argv[1] for argv in launchctl.calls] == ['print', 'print-disabled']


def test_enabled_false_with_started_is_refused_before_anything():
    files, launchctl = host()
    with pytest.raises(LaunchdError) as excinfo:
        run(files, launchctl, enabled=False)
    assert 'enabled: false stops launchd from loading the job' in excinfo.value.msg
    assert launchctl.calls == []


def test_an_existing_definition_by_path_is_bootstrapped():
    files, launchctl = host()
    ssh = '/System/Library/LaunchDaemons/ssh.plist'
    files.files[ssh] = launchd.render({'Label': 'com.openssh.sshd', 'Program': '/usr/sbin/sshd', 'RunAtLoad': True})
    result = run(files, launchctl, label='com.openssh.sshd', plist=None, plist_path=ssh)
    assert result['actions'] == ['bootstrap'] and result['plist_path'] == ssh
    assert files.writes == []


def test_nothing_to_bootstrap_is_a_clear_failure():
    files, launchctl = host()
    with pytest.raises(LaunchdError) as excinfo:
        run(files, launchctl, plist=None)
    assert excinfo.value.msg == ('com.llmhost.ollama is not loaded in system and '
                                 '/Library/LaunchDaemons/com.llmhost.ollama.plist does not exist: give plist (or plist_path)')


def test_launchctl_errors_carry_its_text():
    files, launchctl = host()
    run(files, launchctl)
    launchctl.jobs.clear()  # launchd lost it, but the next bootstrap fails as if it were loaded
    original = launchctl.do_bootstrap
    launchctl.do_bootstrap = lambda domain, path: (5, '', 'Bootstrap failed: 5: Input/output error\n')
    with pytest.raises(CommandError) as excinfo:
        run(files, launchctl)
    assert excinfo.value.msg == ('/bin/launchctl bootstrap system /Library/LaunchDaemons/com.llmhost.ollama.plist '
                                 'failed (exit 5): Bootstrap failed: 5: Input/output error')
    launchctl.do_bootstrap = original


def test_a_user_agent_is_owned_by_the_user():
    files, launchctl = host()
    result = run(files, launchctl, domain='gui')
    agent = '/Users/admin/Library/LaunchAgents/%s.plist' % LABEL
    assert result['domain'] == 'gui/501' and result['plist_path'] == agent
    assert files.writes == [(agent, 501)]
    assert ['bootstrap', 'gui/501', agent] in launchctl.writes()


def test_an_agent_of_a_user_not_logged_in_is_put_in_place_for_the_next_login():
    files, launchctl = host(sessions=())
    agent = '/Users/admin/Library/LaunchAgents/%s.plist' % LABEL
    watched = []
    result = run(files, launchctl, domain='gui', waiter=lambda lc, target: watched.append(target))
    assert result['changed'] and result['state'] == 'waiting for login' and result['actions'] == ['write %s' % agent]
    assert files.writes == [(agent, 501)] and launchctl.writes() == [] and watched == []
    again = run(files, launchctl, domain='gui')
    assert not again['changed'] and again['state'] == 'waiting for login'
    # the user logs in: loginwindow loads the agent, and the next run finds it running with nothing to do
    launchctl.sessions.add(501)
    launchctl.do_bootstrap('gui/501', agent)
    after_login = run(files, launchctl, domain='gui')
    assert not after_login['changed'] and after_login['state'] == 'running'
    assert [c for c in launchctl.calls if c[1] == 'print' and c[2] == 'gui/501'] == [
        ['/bin/launchctl', 'print', 'gui/501']] * 2   # asked only while the job was not loaded


def test_check_mode_for_an_agent_waiting_for_login():
    files, launchctl = host(sessions=())
    result = run(files, launchctl, domain='gui', check_mode=True)
    assert result['changed'] and result['state'] == 'waiting for login' and files.writes == []


# ---- crash loops ----------------------------------------------------------------------------------

def test_a_job_that_dies_at_once_fails_the_task_with_its_exit_code():
    files, launchctl = host(crash={LABEL: 78})
    slept = []
    with pytest.raises(LaunchdError) as excinfo:
        run(files, launchctl, waiter=launchd.watch_for_crash(slept.append, seconds=1, interval=0.5))
    assert excinfo.value.msg == ('system/com.llmhost.ollama exited right after it was started '
                                 '(last exit code 78): it is crash looping')
    assert excinfo.value.details['last_exit_code'] == 78


def test_a_job_restarted_by_keepalive_while_watched_is_a_crash_loop():
    files, launchctl = host()
    original = launchctl.do_print

    def respawning(target):
        job = launchctl.jobs.get(target)
        if job:
            launchctl.next_pid += 1
            job.update(pid=launchctl.next_pid, exit=1)
        return original(target)
    launchctl.do_print = respawning
    with pytest.raises(LaunchdError) as excinfo:
        run(files, launchctl, waiter=launchd.watch_for_crash(lambda seconds: None, seconds=1, interval=0.5))
    assert 'was started again by launchd while it was watched' in excinfo.value.msg


def test_a_healthy_job_passes_the_watch():
    files, launchctl = host()
    slept = []
    result = run(files, launchctl, waiter=launchd.watch_for_crash(slept.append, seconds=1, interval=0.5))
    assert result['state'] == 'running' and slept == [0.5, 0.5]


def test_system_changes_need_root_and_say_so_before_writing():
    files, launchctl = host()
    with pytest.raises(LaunchdError) as excinfo:
        run(files, launchctl, is_root=False)
    assert excinfo.value.msg == 'Changing system-domain job com.llmhost.ollama needs root: use become: true'
    assert files.files == {} and launchctl.writes() == []
    assert run(files, launchctl, is_root=False, check_mode=True)['changed']  # check mode only reads
    run(files, launchctl)
    assert not run(files, launchctl, is_root=False)['changed']  # converged: reading needs no root


def test_an_on_demand_job_is_started_when_loaded():
    """sshd on macOS: launchd owns the socket and spawns sshd per connection; no pid between them."""
    files, launchctl = host()
    ssh = '/System/Library/LaunchDaemons/ssh.plist'
    files.files[ssh] = launchd.render({
        'Label': 'com.openssh.sshd', 'Program': '/usr/libexec/sshd-keygen-wrapper',
        'ProgramArguments': ['/usr/sbin/sshd', '-i'], 'Disabled': True,
        'Sockets': {'Listeners': {'SockServiceName': 'ssh'}}, 'inetdCompatibility': {'Wait': False}})
    launchctl.disabled['system'] = {'com.openssh.sshd': True}
    slept = []
    kw = dict(label='com.openssh.sshd', plist=None, plist_path=ssh, enabled=True,
              waiter=launchd.watch_for_crash(slept.append))
    result = run(files, launchctl, **kw)
    assert result['actions'] == ['enable', 'bootstrap']
    assert slept == []  # nothing to watch: it runs per connection
    assert result['state'] == 'not running'
    launchctl.calls.clear()
    result = run(files, launchctl, **kw)
    assert not result['changed']
    assert [argv[1] for argv in launchctl.calls] == ['print', 'print-disabled']


def test_a_plist_disabled_by_its_own_key_is_enabled_when_asked():
    """No override yet: launchd goes by the plist's Disabled key (Apple's ssh.plist ships Disabled true)."""
    files, launchctl = host()
    result = run(files, launchctl, plist=dict(JOB, Disabled=True), enabled=True)
    assert result['actions'] == ['write %s' % PATH, 'enable', 'bootstrap']
    assert result['state'] == 'running'


def test_a_plist_disabled_by_its_own_key_is_named_when_bootstrap_fails():
    files, launchctl = host()
    with pytest.raises(LaunchdError) as excinfo:
        run(files, launchctl, plist=dict(JOB, Disabled=True))
    assert 'is disabled in system (launchctl print-disabled)' in excinfo.value.msg


def test_a_loaded_scheduled_job_managed_by_label_is_not_run_again():
    """A StartCalendarInterval job is loaded and idle between runs: `started` must not kickstart it."""
    files, launchctl = host()
    plist = {'ProgramArguments': ['/usr/local/bin/backup'], 'StartCalendarInterval': {'Hour': 3}}
    assert run(files, launchctl, plist=plist)['actions'] == ['write %s' % PATH, 'bootstrap']
    launchctl.calls.clear()
    result = run(files, launchctl, plist=None)
    assert result['actions'] == [] and launchctl.writes() == []


def test_a_boot_task_that_ran_and_exited_stays_loaded_and_is_not_run_again():
    """`loaded`: a RunAtLoad task without KeepAlive (it exits 0 after its work) is loaded once; `started`
    would kickstart it on every run."""
    files, launchctl = host(crash={LABEL: 0})
    plist = {'ProgramArguments': ['/usr/sbin/sysctl', 'iogpu.wired_limit_mb=114688'], 'RunAtLoad': True}
    first = run(files, launchctl, plist=plist, state='loaded')
    assert first['actions'] == ['write %s' % PATH, 'bootstrap'] and first['last_exit_code'] == 0
    launchctl.calls.clear()
    again = run(files, launchctl, plist=plist, state='loaded')
    assert again['actions'] == [] and launchctl.writes() == []
    assert run(files, launchctl, plist=plist, state='started')['actions'] == ['kickstart']


def test_a_changed_boot_task_is_reloaded_and_so_runs_again():
    files, launchctl = host(crash={LABEL: 0})
    plist = {'ProgramArguments': ['/usr/sbin/sysctl', 'iogpu.wired_limit_mb=114688'], 'RunAtLoad': True}
    run(files, launchctl, plist=plist, state='loaded')
    changed = dict(plist, ProgramArguments=['/usr/sbin/sysctl', 'iogpu.wired_limit_mb=120000'])
    result = run(files, launchctl, plist=changed, state='loaded')
    assert result['actions'] == ['bootout', 'write %s' % PATH, 'bootstrap']
    assert launchctl.jobs['system/%s' % LABEL]['runs'] == 1


def test_loaded_with_enabled_false_is_refused():
    files, launchctl = host()
    with pytest.raises(launchd.LaunchdError, match='cannot be loaded'):
        run(files, launchctl, state='loaded', enabled=False)
