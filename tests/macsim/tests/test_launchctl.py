"""The simulated launchd and the launchctl stand-in (reference section 4), without a container:
macsim-init runs as an ordinary process on a temporary state directory (jobs run as the user
running the tests; UserName is shown but not applied), launchctl talks to it over its socket."""

import json
import os
import signal
import socket
import sys
import time

import pytest

GUEST_LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         'guest', 'usr', 'local', 'lib', 'macsim')
sys.path.insert(0, GUEST_LIB)

from macsimlib import launchd as model  # noqa: E402

from ansible_collections.llmhost.macos.plugins.module_utils.launchd import (  # noqa: E402
    job_status, parse_print, parse_print_disabled)

NOT_FOUND_SYSTEM = 'Bad request.\nCould not find service "com.example.job" in domain for system\n'
EIO = 'Bootstrap failed: 5: Input/output error\n'
HINT = 'Try re-running the command as root for richer errors.\n'


def job_plist(label='com.example.job', args=None, **keys):
    plist = {'Label': label, 'ProgramArguments': args or ['/bin/sleep', '600']}
    plist.update(keys)
    return plist


def shell_job(script, label='com.example.job', **keys):
    return job_plist(label, ['/bin/sh', '-c', script], **keys)


def printed(sim, target, euid=0):
    res = sim.run('launchctl', 'print', target, euid=euid)
    assert res.rc == 0, res
    return parse_print(res.out)


def wait_for(fetch, until=bool, timeout=8.0, interval=0.05):
    """fetch() again and again until until(value) holds; returns that value."""
    end = time.time() + timeout
    while time.time() < end:
        value = fetch()
        if until(value):
            return value
        time.sleep(interval)
    raise AssertionError('condition not met in %.1f s' % timeout)


def wait_state(sim, target, state, timeout=8.0):
    return wait_for(lambda: printed(sim, target), lambda p: p.get('state') == state, timeout)


def status_of(sim, target):
    return job_status(printed(sim, target))


# ---- formats (pure) ---------------------------------------------------------------------------

def make_job(domain='system', plist=None, pid=None, runs=0, last=None):
    if domain == 'system':
        dom = model.Domain('system', 'system', 0)
    else:
        dom = model.Domain(domain, domain.split('/')[0], int(domain.split('/')[1]), asid=100005)
    plist = plist or job_plist()
    job = model.Job(dom, '/Library/LaunchDaemons/%s.plist' % plist['Label'], plist)
    job.pid, job.runs, job.last, job.coalition = pid, runs, last, 1234
    return job


def test_print_running_daemon_exact():
    plist = job_plist('com.example.job', ['/usr/local/bin/egress-guard', 'start'], RunAtLoad=True,
                      UserName='admin', StandardOutPath='/var/log/job.log',
                      EnvironmentVariables={'HOME': '/var/db/job'})
    text = model.format_job(make_job(plist=plist, pid=893, runs=1))
    assert text == (
        'system/com.example.job = {\n'
        '\tactive count = 1\n'
        '\tpath = /Library/LaunchDaemons/com.example.job.plist\n'
        '\ttype = LaunchDaemon\n'
        '\tstate = running\n'
        '\n'
        '\tprogram = /usr/local/bin/egress-guard\n'
        '\targuments = {\n'
        '\t\t/usr/local/bin/egress-guard\n'
        '\t\tstart\n'
        '\t}\n'
        '\n'
        '\tstdout path = /var/log/job.log\n'
        '\tdefault environment = {\n'
        '\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin\n'
        '\t}\n'
        '\n'
        '\tenvironment = {\n'
        '\t\tHOME => /var/db/job\n'
        '\t\tOSLogRateLimit => 64\n'
        '\t\tXPC_SERVICE_NAME => com.example.job\n'
        '\t}\n'
        '\n'
        '\tdomain = system\n'
        '\tusername = admin\n'
        '\tminimum runtime = 10\n'
        '\texit timeout = 5\n'
        '\truns = 1\n'
        '\tpid = 893\n'
        '\timmediate reason = speculative\n'
        '\tforks = 0\n'
        '\texecs = 1\n'
        '\tinitialized = 1\n'
        '\ttrampolined = 1\n'
        '\tstarted suspended = 0\n'
        '\tproxy started suspended = 0\n'
        '\tlast exit code = (never exited)\n'
        '\n'
        '\tresource coalition = {\n'
        '\t\tID = 1234\n'
        '\t\ttype = resource\n'
        '\t\tstate = active\n'
        '\t\tactive count = 1\n'
        '\t\tname = com.example.job\n'
        '\t}\n'
        '\n'
        '\tjetsam coalition = {\n'
        '\t\tID = 1235\n'
        '\t\ttype = jetsam\n'
        '\t\tstate = active\n'
        '\t\tactive count = 1\n'
        '\t\tname = com.example.job\n'
        '\t}\n'
        '\n'
        '\tspawn type = daemon (3)\n'
        '\n'
        '\tproperties = runatload | inferred program\n'
        '}\n')
    # The collection's parser reads it: top-level keys only, nested `state = active` ignored.
    status = job_status(parse_print(text))
    assert status['state'] == 'running' and status['pid'] == 893 and status['runs'] == 1
    assert status['last_exit_code'] is None and status['path'].endswith('com.example.job.plist')


@pytest.mark.parametrize('last, line, code, signal_text', [
    (('exit', 78), '\tlast exit code = 78: EX_CONFIG\n', 78, None),
    (('exit', 64), '\tlast exit code = 64: EX_USAGE\n', 64, None),
    (('exit', 1), '\tlast exit code = 1\n', 1, None),
    (('exit', 0), '\tlast exit code = 0\n', 0, None),
    (('signal', signal.SIGTERM), '\tlast terminating signal = Terminated: 15\n', None, 'Terminated: 15'),
    (('signal', signal.SIGKILL), '\tlast terminating signal = Killed: 9\n', None, 'Killed: 9'),
    (('signal', signal.SIGHUP), '\tlast terminating signal = Hangup: 1\n', None, 'Hangup: 1'),
    (('signal', signal.SIGBUS), '\tlast terminating signal = Bus error: 10\n', None, 'Bus error: 10'),
])
def test_print_last_exit(last, line, code, signal_text):
    text = model.format_job(make_job(runs=3, last=last))
    assert line in text
    assert 'last exit code' not in text or last[0] == 'exit'   # a signal replaces the code line
    status = job_status(parse_print(text))
    assert status['state'] == 'not running' and status['pid'] is None
    assert status['last_exit_code'] == code and status['last_signal'] == signal_text


def test_print_agent_header_and_spawn_scheduled():
    job = make_job('gui/501', plist=job_plist(KeepAlive=True), runs=2, last=('exit', 78))
    job.spawn_at = time.time() + 5
    text = model.format_job(job)
    assert text.startswith('gui/501/com.example.job = {\n\tactive count = 0\n')
    assert '\ttype = LaunchAgent\n\tstate = spawn scheduled\n' in text
    assert '\tdomain = gui/501 [100005]\n\tasid = 100005\n' in text
    assert '\tproperties = keepalive | inferred program\n' in text
    assert 'coalition' not in text   # not running


def test_list_formats():
    running = make_job(plist=job_plist('a.running'), pid=42, runs=1)
    crashed = make_job(plist=job_plist('b.crashed', KeepAlive=True), runs=5, last=('exit', 78))
    killed = make_job(plist=job_plist('c.killed'), runs=1, last=('signal', signal.SIGKILL))
    assert model.format_list([killed, running, crashed]) == (
        'PID\tStatus\tLabel\n42\t0\ta.running\n-\t78\tb.crashed\n-\t-9\tc.killed\n')
    assert model.format_list_label(crashed) == (
        '{\n\t"LimitLoadToSessionType" = "System";\n\t"Label" = "b.crashed";\n\t"OnDemand" = false;\n'
        '\t"LastExitStatus" = 19968;\n\t"Program" = "/bin/sleep";\n\t"ProgramArguments" = (\n'
        '\t\t"/bin/sleep";\n\t\t"600";\n\t);\n};\n')
    assert '\t"PID" = 42;\n' in model.format_list_label(running)
    assert '\t"LastExitStatus" = 9;\n' in model.format_list_label(killed)


def test_print_disabled_format_parses():
    text = model.format_disabled({'com.openssh.sshd': 'enabled', 'com.example.off': 'disabled'})
    assert text == ('disabled services = {\n\t"com.example.off" => disabled\n'
                    '\t"com.openssh.sshd" => enabled\n}\n')
    assert parse_print_disabled(text) == {'com.example.off': True, 'com.openssh.sshd': False}


@pytest.mark.parametrize('text, domain, label', [
    ('system', 'system', None), ('system/com.x', 'system', 'com.x'), ('gui/501', 'gui/501', None),
    ('gui/501/homebrew.mxcl.ollama', 'gui/501', 'homebrew.mxcl.ollama'), ('user/0/a.b', 'user/0', 'a.b'),
])
def test_parse_target(text, domain, label):
    target = model.parse_target(text)
    assert (target.domain, target.label, str(target)) == (domain, label, text)


@pytest.mark.parametrize('text', ['', 'gui', 'gui/admin', 'foo/1', 'user/'])
def test_parse_target_refused(text):
    with pytest.raises(model.TargetError) as info:
        model.parse_target(text)
    assert info.value.message == 'Unrecognized target specifier.'


# ---- launchctl against the running launchd ------------------------------------------------------

def test_print_not_loaded(ld):
    res = ld.run('launchctl', 'print', 'system/com.example.job', euid=501)
    assert (res.rc, res.out, res.err) == (113, '', NOT_FOUND_SYSTEM)
    res = ld.run('launchctl', 'print', 'gui/501/homebrew.mxcl.ollama', euid=501)
    assert (res.rc, res.err) == (113, 'Bad request.\nCould not find service "homebrew.mxcl.ollama" in '
                                      'domain for user gui: 501\n')


def test_boot_loads_sshd_enabled_by_default(ld):
    res = ld.run('launchctl', 'print-disabled', 'system', euid=501)
    assert (res.rc, res.out) == (0, 'disabled services = {\n\t"com.openssh.sshd" => enabled\n}\n')
    assert ld.read_json('launchd-overrides.json') == {'system': {'com.openssh.sshd': 'enabled'}}
    assert ld.read_json('launchd-boot.json')['ready'] is True


def test_bootstrap_runs_job_with_environment(ld, tmp_path):
    log = tmp_path / 'job.log'
    work = tmp_path / 'work'
    work.mkdir()
    path = ld.write_plist(ld.root_path('/Library/LaunchDaemons/com.example.job.plist'), shell_job(
        'echo "FOO=$FOO XPC=$XPC_SERVICE_NAME PWD=$(pwd)"; echo oops >&2; exec sleep 600',
        RunAtLoad=True, UserName='admin', WorkingDirectory=str(work), StandardOutPath=str(log),
        StandardErrorPath=str(log), EnvironmentVariables={'FOO': 'bar'}))
    res = ld.run('launchctl', 'bootstrap', 'system', path)
    assert (res.rc, res.out, res.err) == (0, '', '')
    wait_for(lambda: 'oops' in (log.read_text() if log.exists() else ''))
    assert log.read_text() == 'FOO=bar XPC=com.example.job PWD=%s\noops\n' % work
    status = job_status(printed(ld, 'system/com.example.job', euid=501))
    assert status['state'] == 'running' and status['runs'] == 1 and status['path'] == path
    text = ld.run('launchctl', 'print', 'system/com.example.job').out
    assert '\tusername = admin\n' in text and '\tworking directory = %s\n' % work in text
    # Already loaded: error 5, and the hint for a non-root caller.
    res = ld.run('launchctl', 'bootstrap', 'system', path)
    assert (res.rc, res.err) == (5, EIO)
    res = ld.run('launchctl', 'bootstrap', 'system', path, euid=501)
    assert (res.rc, res.err) == (1, 'Bootstrap failed: 1: Operation not permitted\n' + HINT)


def test_bootstrap_refuses_bad_files(ld, tmp_path):
    res = ld.run('launchctl', 'bootstrap', 'system', str(tmp_path / 'missing.plist'))
    assert (res.rc, res.err) == (2, 'Bootstrap failed: 2: No such file or directory\n')
    bad = tmp_path / 'bad.plist'
    bad.write_text('not a plist')
    bad.chmod(0o644)
    assert ld.run('launchctl', 'bootstrap', 'system', str(bad)).rc == 5
    writable = ld.write_plist(str(tmp_path / 'w.plist'), job_plist(), mode=0o666)
    assert ld.run('launchctl', 'bootstrap', 'system', writable).rc == 5
    relative = ld.write_plist(str(tmp_path / 'rel.plist'), job_plist('com.example.rel'))
    res = ld.run('launchctl', 'bootstrap', 'system', os.path.basename(relative), cwd=str(tmp_path))
    assert res.rc == 0, res


def test_disable_enable_and_disabled_key(ld, tmp_path):
    path = ld.write_plist(str(tmp_path / 'job.plist'), job_plist(RunAtLoad=True))
    assert ld.run('launchctl', 'disable', 'system/com.example.job', euid=501).rc == 1
    res = ld.run('launchctl', 'disable', 'system/com.example.job')
    assert (res.rc, res.out, res.err) == (0, '', '')
    assert ld.run('launchctl', 'bootstrap', 'system', path).rc == 5
    assert '"com.example.job" => disabled' in ld.run('launchctl', 'print-disabled', 'system').out
    assert ld.run('launchctl', 'enable', 'system/com.example.job').rc == 0
    assert ld.run('launchctl', 'bootstrap', 'system', path).rc == 0
    # A plist with Disabled true needs an enabling override.
    off = ld.write_plist(str(tmp_path / 'off.plist'), job_plist('com.example.off', Disabled=True))
    assert ld.run('launchctl', 'bootstrap', 'system', off).rc == 5
    ld.run('launchctl', 'enable', 'system/com.example.off')
    assert ld.run('launchctl', 'bootstrap', 'system', off).rc == 0
    assert ld.read_json('launchd-overrides.json')['system'] == {
        'com.openssh.sshd': 'enabled', 'com.example.job': 'enabled', 'com.example.off': 'enabled'}


def test_bootout(ld, tmp_path):
    job = shell_job('trap "exit 0" TERM; sleep 600 & wait', RunAtLoad=True)
    path = ld.write_plist(str(tmp_path / 'job.plist'), job)
    assert ld.run('launchctl', 'bootstrap', 'system', path).rc == 0
    pid = job_status(wait_state(ld, 'system/com.example.job', 'running'))['pid']
    res = ld.run('launchctl', 'bootout', 'system/com.example.job', euid=501)
    assert (res.rc, res.err) == (1, 'Boot-out failed: 1: Operation not permitted\n')
    res = ld.run('launchctl', 'bootout', 'system/com.example.job')
    assert (res.rc, res.out, res.err) == (0, '', '')
    assert not os.path.exists('/proc/%d' % pid) or open('/proc/%d/stat' % pid).read().split()[2] == 'Z'
    assert ld.run('launchctl', 'print', 'system/com.example.job').rc == 113
    res = ld.run('launchctl', 'bootout', 'system/com.example.job')
    assert (res.rc, res.err) == (3, 'Boot-out failed: 3: No such process\n')
    res = ld.run('launchctl', 'bootout', 'system', path)
    assert (res.rc, res.err) == (5, 'Boot-out failed: 5: Input/output error\n')
    assert ld.run('launchctl', 'bootstrap', 'system', path).rc == 0
    assert ld.run('launchctl', 'bootout', 'system', path).rc == 0


def test_bootout_of_a_job_that_takes_its_time_is_asynchronous(ld, tmp_path):
    """A process still exiting: bootout answers 36, the job stays listed and cannot be bootstrapped
    again until it is gone (as on a real Mac); asking again does not restart its ExitTimeOut clock."""
    path = ld.write_plist(str(tmp_path / 'job.plist'), shell_job(
        'trap "" TERM; while :; do sleep 0.1; done', RunAtLoad=True, ExitTimeOut=2))
    ld.run('launchctl', 'bootstrap', 'system', path)
    wait_state(ld, 'system/com.example.job', 'running')
    started = time.time()
    res = ld.run('launchctl', 'bootout', 'system/com.example.job')
    assert (res.rc, res.err) == (36, 'Boot-out failed: 36: Operation now in progress\n')
    assert status_of(ld, 'system/com.example.job')['state'] == 'running'
    res = ld.run('launchctl', 'bootstrap', 'system', path)
    assert (res.rc, res.err) == (5, 'Bootstrap failed: 5: Input/output error\n')
    answers = []
    while ld.run('launchctl', 'print', 'system/com.example.job').rc == 0 and time.time() - started < 10:
        answers.append(ld.run('launchctl', 'bootout', 'system/com.example.job').rc)
    assert 1.8 < time.time() - started < 4          # SIGKILL after ExitTimeOut, counted from the first bootout
    assert set(answers) <= {36, 0, 3} and 36 in answers
    assert ld.run('launchctl', 'print', 'system/com.example.job').rc == 113
    assert ld.run('launchctl', 'bootstrap', 'system', path).rc == 0


def test_kickstart_k_of_an_inetd_job_ends_its_sessions(ld, tmp_path):
    """INVENTED (believed): kickstart -k of com.openssh.sshd ends the running instances."""
    port = free_port()
    path = ld.write_plist(str(tmp_path / 'echo.plist'), inetd_job(port, ['/bin/sh', '-c', 'echo hello; exec cat']))
    assert ld.run('launchctl', 'bootstrap', 'system', path).rc == 0
    conn = socket.create_connection(('127.0.0.1', port), timeout=5)
    assert conn.recv(6) == b'hello\n'
    assert ld.run('launchctl', 'kickstart', '-k', 'system/com.example.echo').rc == 0
    assert conn.recv(100) == b''                    # the session was ended
    conn.close()
    again = socket.create_connection(('127.0.0.1', port), timeout=5)   # the listener stays
    assert again.recv(6) == b'hello\n'
    again.close()


def test_keepalive_restarts_a_killed_job(ld, tmp_path):
    path = ld.write_plist(str(tmp_path / 'job.plist'), job_plist(KeepAlive=True, ThrottleInterval=1))
    ld.run('launchctl', 'bootstrap', 'system', path)
    first = job_status(wait_state(ld, 'system/com.example.job', 'running'))['pid']
    os.kill(first, signal.SIGKILL)
    status = wait_for(lambda: status_of(ld, 'system/com.example.job'), lambda s: s['pid'] not in (None, first),
                      timeout=5)
    assert status['state'] == 'running' and status['runs'] == 2
    assert status['last_signal'] == 'Killed: 9' and status['last_exit_code'] is None
    res = ld.run('launchctl', 'list')
    assert '%d\t-9\tcom.example.job\n' % status['pid'] in res.out


def test_crash_loop_shows_exit_code(ld, tmp_path):
    path = ld.write_plist(str(tmp_path / 'job.plist'), shell_job('exit 78', KeepAlive=True, ThrottleInterval=1))
    ld.run('launchctl', 'bootstrap', 'system', path)
    status = wait_for(lambda: status_of(ld, 'system/com.example.job'), lambda s: (s['runs'] or 0) >= 3, timeout=12)
    assert status['state'] in ('spawn scheduled', 'running')
    assert status['last_exit_reason'] == '78: EX_CONFIG' and status['last_exit_code'] == 78
    assert '"LastExitStatus" = 19968;' in ld.run('launchctl', 'list', 'com.example.job').out


def test_keepalive_successful_exit_false(ld, tmp_path):
    counter = tmp_path / 'runs'
    script = 'echo x >> %s; n=$(wc -l < %s); [ "$n" -ge 3 ] && exit 0; exit 3' % (counter, counter)
    path = ld.write_plist(str(tmp_path / 'job.plist'), shell_job(
        script, KeepAlive={'SuccessfulExit': False}, ThrottleInterval=1))
    ld.run('launchctl', 'bootstrap', 'system', path)   # SuccessfulExit implies RunAtLoad
    wait_for(lambda: job_status(printed(ld, 'system/com.example.job'))['last_exit_code'] == 0, timeout=12)
    time.sleep(1.3)
    status = job_status(printed(ld, 'system/com.example.job'))
    assert (status['state'], status['runs']) == ('not running', 3)


def test_spawn_failure_is_ex_config(ld, tmp_path):
    path = ld.write_plist(str(tmp_path / 'job.plist'), job_plist(args=['/nonexistent/prog'], RunAtLoad=True))
    ld.run('launchctl', 'bootstrap', 'system', path)
    status = wait_for(lambda: status_of(ld, 'system/com.example.job'), lambda s: s['last_exit_code'])
    assert status['last_exit_reason'] == '78: EX_CONFIG' and status['state'] == 'not running'


def test_kickstart(ld, tmp_path):
    res = ld.run('launchctl', 'kickstart', 'system/com.example.job')
    assert (res.rc, res.err) == (113, NOT_FOUND_SYSTEM)
    path = ld.write_plist(str(tmp_path / 'job.plist'), job_plist())   # no RunAtLoad
    ld.run('launchctl', 'bootstrap', 'system', path)
    assert printed(ld, 'system/com.example.job')['state'] == 'not running'
    res = ld.run('launchctl', 'kickstart', '-p', 'system/com.example.job')
    assert res.rc == 0 and res.out.strip().isdigit()
    first = int(res.out)
    assert job_status(printed(ld, 'system/com.example.job'))['pid'] == first
    assert ld.run('launchctl', 'kickstart', 'system/com.example.job').out == ''
    res = ld.run('launchctl', 'kickstart', '-k', '-p', 'system/com.example.job')
    second = int(res.out)
    assert res.rc == 0 and second != first
    status = job_status(printed(ld, 'system/com.example.job'))
    assert (status['pid'], status['runs'], status['last_signal']) == (second, 2, 'Killed: 9')
    res = ld.run('launchctl', 'kickstart', '-k', 'system/com.example.job', euid=501)
    assert res.rc == 1
    assert ld.run('launchctl', 'kickstart', '-x', 'system/com.example.job').rc == 64


def test_gui_domain_exists_only_after_login(ld):
    agents = ld.root_path('/Users/admin/Library/LaunchAgents')
    path = ld.write_plist(os.path.join(agents, 'com.example.agent.plist'),
                          job_plist('com.example.agent', RunAtLoad=True))
    res = ld.run('launchctl', 'bootstrap', 'gui/501', path, euid=501)
    assert (res.rc, res.err) == (5, EIO + HINT)
    assert ld.run('launchctl', 'bootstrap', 'gui/501', path).err == EIO   # root: no hint
    assert ld.run('launchctl', 'list', euid=501).out == 'PID\tStatus\tLabel\n'
    res = ld.run('macsim-session', 'login', 'admin', euid=501)
    assert res.rc == 1
    res = ld.run('macsim-session', 'login', 'admin')
    assert res.rc == 0, res
    assert json.loads(res.out) == {'user': 'admin', 'uid': 501, 'domain': 'gui/501', 'created': True,
                                   'loaded': ['com.example.agent']}
    text = ld.run('launchctl', 'print', 'gui/501/com.example.agent', euid=501).out
    assert text.startswith('gui/501/com.example.agent = {\n') and '\ttype = LaunchAgent\n' in text
    assert job_status(parse_print(text))['state'] == 'running'
    assert '\tcom.example.agent\n' in ld.run('launchctl', 'list', euid=501).out
    # The user manages their own gui domain; another user may not.
    res = ld.run('launchctl', 'bootout', 'gui/501/com.example.agent', euid=502)
    assert (res.rc, res.err) == (1, 'Boot-out failed: 1: Operation not permitted\n')
    assert ld.run('launchctl', 'bootout', 'gui/501/com.example.agent', euid=501).rc == 0
    assert ld.run('launchctl', 'bootstrap', 'gui/501', path, euid=501).rc == 0
    res = ld.run('macsim-session', 'logout', 'admin')
    assert json.loads(res.out)['removed'] is True
    assert ld.run('launchctl', 'print', 'gui/501/com.example.agent').rc == 113
    assert ld.run('launchctl', 'bootstrap', 'gui/501', path, euid=501).rc == 5


def test_user_domain_always_exists(ld, tmp_path):
    path = ld.write_plist(str(tmp_path / 'job.plist'), job_plist(RunAtLoad=True))
    assert ld.run('launchctl', 'bootstrap', 'user/501', path, euid=501).rc == 0
    assert printed(ld, 'user/501/com.example.job', euid=501)['domain'] == 'user/501'
    res = ld.run('launchctl', 'print', 'user/501/other', euid=501)
    assert res.err.endswith('Could not find service "other" in domain for user: 501\n')


def test_reboot_rederives_the_loaded_set(sim, tmp_path):
    sim.write_plist(sim.root_path('/Library/LaunchDaemons/com.example.boot.plist'), job_plist('com.example.boot', RunAtLoad=True))
    sim.write_plist(sim.root_path('/Library/LaunchDaemons/com.example.quiet.plist'), job_plist('com.example.quiet'))
    sim.write_plist(sim.root_path('/Library/LaunchDaemons/com.example.off.plist'), job_plist('com.example.off', RunAtLoad=True))
    agents = sim.root_path('/Users/admin/Library/LaunchAgents')
    sim.write_plist(os.path.join(agents, 'com.example.agent.plist'), job_plist('com.example.agent', RunAtLoad=True))
    sim.start_launchd()
    assert printed(sim, 'system/com.example.boot')['state'] == 'running'
    assert printed(sim, 'system/com.example.quiet')['state'] == 'not running'
    by_hand = sim.write_plist(str(tmp_path / 'hand.plist'), job_plist('com.example.hand', RunAtLoad=True))
    assert sim.run('launchctl', 'bootstrap', 'system', by_hand).rc == 0
    assert sim.run('launchctl', 'disable', 'system/com.example.off').rc == 0
    sim.run('macsim-session', 'login', 'admin')
    assert printed(sim, 'gui/501/com.example.agent')['state'] == 'running'
    sim.reboot_launchd()
    assert printed(sim, 'system/com.example.boot')['state'] == 'running'
    for target in ('system/com.example.hand', 'system/com.example.off', 'gui/501/com.example.agent'):
        assert sim.run('launchctl', 'print', target).rc == 113, target
    assert '"com.example.off" => disabled' in sim.run('launchctl', 'print-disabled', 'system').out
    assert sim.read_json('boot.json')['count'] == 3   # Sim starts at 1, then two boots


def free_port():
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def inetd_job(port, arguments):
    """An inetd-style job like com.openssh.sshd: one instance per connection on 127.0.0.1:port."""
    return {'Label': 'com.example.echo', 'ProgramArguments': arguments,
            'Sockets': {'Listeners': {'SockServiceName': str(port), 'SockNodeName': '127.0.0.1'}},
            'inetdCompatibility': {'Wait': False}}


def test_inetd_job_serves_each_connection(ld, tmp_path):
    port = free_port()
    path = ld.write_plist(str(tmp_path / 'echo.plist'), inetd_job(port, ['/bin/cat']))
    assert ld.run('launchctl', 'bootstrap', 'system', path).rc == 0
    for word in (b'one', b'two'):
        with socket.create_connection(('127.0.0.1', port), timeout=5) as conn:
            conn.sendall(word)
            conn.shutdown(socket.SHUT_WR)
            assert conn.recv(100) == word
    text = ld.run('launchctl', 'print', 'system/com.example.echo').out
    status = job_status(parse_print(text))
    assert status['state'] == 'not running' and '\tsockets = {\n' in text
    assert 'properties = inferred program | inetd-compatible' in text
    assert ld.run('launchctl', 'kickstart', '-k', 'system/com.example.echo').rc == 0
    assert ld.run('launchctl', 'bootout', 'system/com.example.echo').rc == 0
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', port), timeout=2).close()


@pytest.mark.parametrize('args, rc, err_start', [
    ([], 64, 'Usage: launchctl <subcommand> ... | help [subcommand]\n'),
    (['frobnicate'], 64, 'Unrecognized subcommand: frobnicate\nUsage: launchctl'),
    (['load', '-w', '/x.plist'], 2, 'macsim: launchctl load is not simulated\n'),
    (['print'], 64, 'Usage: launchctl print <domain-target> | <service-target>\n'),
    (['print', 'nonsense/x'], 64, 'Unrecognized target specifier.\n'),
    (['enable', 'system'], 64, 'Usage: launchctl enable <service-target>\n'),
    (['bootstrap', 'system'], 64, 'Usage: launchctl bootstrap'),
    (['print', 'login/100/x'], 2, 'macsim: launchctl login/... domains are not simulated\n'),
])
def test_usage_errors(ld, args, rc, err_start):
    res = ld.run('launchctl', *args)
    assert res.rc == rc and res.err.startswith(err_start) and res.out == '', res


def test_print_domain_and_help(ld):
    res = ld.run('launchctl', 'print', 'system', euid=501)
    assert res.rc == 0 and res.out.startswith('system = {\n\ttype = system\n')
    assert '\tcom.openssh.sshd\n' not in res.out   # no ssh.plist in the unit-test root
    res = ld.run('launchctl', 'print', 'gui/501')
    assert (res.rc, res.err) == (113, 'Bad request.\nCould not find domain for user gui: 501\n')
    assert ld.run('launchctl', 'help').rc == 0


def test_calls_are_logged(ld, tmp_path):
    path = ld.write_plist(str(tmp_path / 'job.plist'), job_plist())
    ld.run('launchctl', 'print', 'system/com.example.job', euid=501)
    ld.run('launchctl', 'bootstrap', 'system', path, euid=501)
    ld.run('launchctl', 'bootstrap', 'system', path)
    ld.run('launchctl', 'frobnicate')
    kinds = [(c['tool'], c['argv'][1], c['euid'], c['rc'], c['kind']) for c in ld.calls()]
    assert kinds == [('launchctl', 'print', 501, 113, 'read'), ('launchctl', 'bootstrap', 501, 1, 'write'),
                     ('launchctl', 'bootstrap', 0, 0, 'write'), ('launchctl', 'frobnicate', 0, 64, 'error')]


def test_unreachable_launchd(sim):
    sim.run_dir = str(sim.root)   # no socket there
    res = sim.run('launchctl', 'print', 'system')
    assert res.rc == 2 and res.err.startswith('macsim: launchd is not reachable (')
    sim.run_dir = None
