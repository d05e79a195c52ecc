"""End to end: the simulated Mac's launchd, launchctl and brew in a real instance (systemd-nspawn,
netns, sshd as the launchd job com.openssh.sshd). Needs root and the cached base; runs only with
MACSIM_E2E=1. One instance (`ld-e2e`) serves the whole module, in file order.

    MACSIM_E2E=1 pytest tests/macsim/tests/test_e2e_launchd.py
"""

import json
import os
import plistlib
import re
import time

import pytest

from e2e_support import E2E_ONLY, macsim

NAME = 'ld-e2e'
BREW = '/opt/homebrew/bin/brew'
EIO_HINT = 'Bootstrap failed: 5: Input/output error\nTry re-running the command as root for richer errors.\n'

pytestmark = E2E_ONLY


def ssh(command, stdin=None):
    return macsim('ssh', NAME, '--', command, check=False, input=stdin)


def ok(command, stdin=None):
    res = ssh(command, stdin)
    assert res.returncode == 0, '%s: %s%s' % (command, res.stdout, res.stderr)
    return res.stdout


def root(*command):
    return macsim('exec', NAME, '--', *command, check=False)


def put(path, plist, sudo=True):
    data = plistlib.dumps(plist, sort_keys=True).decode()
    prefix = 'sudo ' if sudo else ''
    ok('%smkdir -p %s && %stee %s >/dev/null' % (prefix, os.path.dirname(path), prefix, path), stdin=data)


def print_job(target, via_root=False):
    res = root('launchctl', 'print', target) if via_root else ssh('launchctl print ' + target)
    if res.returncode != 0:
        return None
    fields = dict(re.findall(r'^\t([^\t=][^=]*?) = (.*)$', res.stdout, re.M))
    return fields


def wait_for(fetch, until=bool, timeout=20.0, interval=0.3):
    """fetch() again and again until until(value) holds; returns that value."""
    end = time.time() + timeout
    while time.time() < end:
        value = fetch()
        if until(value):
            return value
        time.sleep(interval)
    raise AssertionError('condition not met within %.0f s' % timeout)


def service_info(sudo=False):
    return json.loads(ok('%s%s services info tinyd --json' % ('sudo ' if sudo else '', BREW)))[0]


def running(target):
    job = print_job(target)
    return job if job and job.get('state') == 'running' else None


def user_of(pid):
    return ok('ps -o user= -p %s' % pid).strip()


def ssh_works():
    return ssh('true').returncode == 0


@pytest.fixture(scope='module', autouse=True)
def instance():
    macsim('down', NAME)
    info = json.loads(macsim('up', NAME).stdout)
    yield info
    macsim('down', NAME)


def test_sshd_is_the_launchd_job():
    job = print_job('system/com.openssh.sshd')
    assert job['state'] == 'not running' and job['program'] == '/usr/libexec/sshd-keygen-wrapper'
    assert job['path'] == '/System/Library/LaunchDaemons/ssh.plist'
    assert '"com.openssh.sshd" => enabled' in ok('launchctl print-disabled system')
    assert '\tproperties = inetd-compatible\n' in ok('launchctl print system/com.openssh.sshd')
    # No long-running sshd: only this very session's (PID 1 spawned it for this connection).
    assert ok('ps -o ppid= -p $(pgrep -o -x sshd)').strip() == '1'


def test_system_daemon_with_username_survives_reboot():
    put('/Library/LaunchDaemons/com.example.whoami.plist', {
        'Label': 'com.example.whoami', 'RunAtLoad': True, 'UserName': 'admin',
        'ProgramArguments': ['/bin/sh', '-c', 'id -un; pwd; exec sleep 100000'],
        'WorkingDirectory': '/Users/admin', 'StandardOutPath': '/Users/admin/whoami.log'})
    put('/var/db/hand.plist', {'Label': 'com.example.hand', 'RunAtLoad': True,
                               'ProgramArguments': ['/bin/sleep', '100000']})
    res = ssh('launchctl bootstrap system /Library/LaunchDaemons/com.example.whoami.plist')
    assert (res.returncode, res.stderr) == (1, 'Bootstrap failed: 1: Operation not permitted\n'
                                               'Try re-running the command as root for richer errors.\n')
    ok('sudo launchctl bootstrap system /Library/LaunchDaemons/com.example.whoami.plist')
    ok('sudo launchctl bootstrap system /var/db/hand.plist')
    job = wait_for(lambda: running('system/com.example.whoami'))
    assert job['username'] == 'admin' and user_of(job['pid']) == 'admin'
    assert ok('stat -f %Su /Users/admin/whoami.log; cat /Users/admin/whoami.log') == 'admin\nadmin\n/Users/admin\n'
    boots = json.loads(ok('cat /var/db/macsim/boot.json'))['count']
    macsim('reboot', NAME)
    assert json.loads(ok('cat /var/db/macsim/boot.json'))['count'] == boots + 1
    assert ok('launchctl print gui/501 >/dev/null 2>&1; echo $?').strip() == '113'   # nobody logged in
    again = wait_for(lambda: running('system/com.example.whoami'))
    assert again['runs'] == '1' and again['pid'] != job['pid'] and user_of(again['pid']) == 'admin'
    assert print_job('system/com.example.hand') is None   # bootstrapped by hand: gone after a reboot
    ok('sudo launchctl bootout system/com.example.whoami && sudo rm /Library/LaunchDaemons/com.example.whoami.plist')


def test_agent_runs_only_after_login():
    put('/Users/admin/Library/LaunchAgents/com.example.agent.plist', {
        'Label': 'com.example.agent', 'RunAtLoad': True, 'ProgramArguments': ['/bin/sleep', '100000']},
        sudo=False)
    res = ssh('launchctl bootstrap gui/501 ~/Library/LaunchAgents/com.example.agent.plist')
    assert (res.returncode, res.stderr) == (5, EIO_HINT)
    assert print_job('gui/501/com.example.agent') is None
    login = json.loads(macsim('login', NAME).stdout)
    assert login == {'user': 'admin', 'uid': 501, 'domain': 'gui/501', 'created': True,
                     'loaded': ['com.example.agent']}
    job = wait_for(lambda: running('gui/501/com.example.agent'))
    assert user_of(job['pid']) == 'admin' and job['type'] == 'LaunchAgent'
    macsim('reboot', NAME)
    assert print_job('gui/501/com.example.agent') is None
    assert 'sleep 100000' not in ok('ps -eo args')
    macsim('login', NAME)
    wait_for(lambda: running('gui/501/com.example.agent'))
    assert json.loads(macsim('logout', NAME).stdout) == {'user': 'admin', 'domain': 'gui/501', 'removed': True}
    assert print_job('gui/501/com.example.agent') is None
    ok('rm ~/Library/LaunchAgents/com.example.agent.plist')


def test_keepalive_restarts_a_killed_job():
    put('/var/db/keep.plist', {'Label': 'com.example.keep', 'KeepAlive': True, 'ThrottleInterval': 1,
                               'ProgramArguments': ['/bin/sleep', '100000']})
    ok('sudo launchctl bootstrap system /var/db/keep.plist')
    first = wait_for(lambda: running('system/com.example.keep'))['pid']
    ok('sudo kill -9 %s' % first)
    job = wait_for(lambda: print_job('system/com.example.keep'), lambda j: j and j.get('pid') not in (None, first))
    assert job['state'] == 'running' and job['runs'] == '2'
    assert job['last terminating signal'] == 'Killed: 9'
    ok('sudo launchctl bootout system/com.example.keep')


def test_crash_loop_shows_last_exit_code():
    put('/var/db/crash.plist', {'Label': 'com.example.crash', 'KeepAlive': True, 'ThrottleInterval': 1,
                                'ProgramArguments': ['/bin/sh', '-c', 'exit 78']})
    ok('sudo launchctl bootstrap system /var/db/crash.plist')
    job = wait_for(lambda: print_job('system/com.example.crash'), lambda j: j and int(j.get('runs', 0)) >= 2)
    assert job['last exit code'] == '78: EX_CONFIG'
    assert job['state'] in ('spawn scheduled', 'running')
    assert re.search(r'^-\t78\tcom\.example\.crash$', ok('sudo launchctl list'), re.M)
    ok('sudo launchctl bootout system/com.example.crash')


def test_brew_services_user_and_boot_scope():
    ok(BREW + ' install tinyd')
    assert ok(BREW + ' list --versions tinyd') == 'tinyd 1.0.0\n'
    assert ssh('sudo %s install tinyd' % BREW).returncode == 1   # Homebrew refuses root
    agent = '/Users/admin/Library/LaunchAgents/homebrew.mxcl.tinyd.plist'
    daemon = '/Library/LaunchDaemons/homebrew.mxcl.tinyd.plist'
    # As admin: a LaunchAgent, which needs a GUI login.
    res = ssh(BREW + ' services start tinyd')
    assert res.returncode == 1
    assert res.stderr == EIO_HINT + ('Error: Failure while executing; `/bin/launchctl bootstrap gui/501 %s` '
                                     'exited with 5.\n' % agent)
    # The plist it wrote stays (a login would load it); `stop` removes it.
    res = ssh(BREW + ' services stop tinyd')
    assert (res.returncode, res.stderr) == (0, 'Warning: Service `tinyd` is not started.\n')
    assert ssh('test -e ' + agent).returncode == 1
    macsim('login', NAME)
    res = ssh(BREW + ' services start tinyd')
    assert res.returncode == 0, res.stderr
    assert res.stdout == '==> Successfully started `tinyd` (label: homebrew.mxcl.tinyd)\n'
    mine = wait_for(service_info, lambda i: i['running'])
    assert (mine['user'], mine['file'], mine['loaded_file']) == ('admin', agent, agent)
    assert user_of(mine['pid']) == 'admin'
    # With sudo: a LaunchDaemon, started at boot with nobody logged in.
    res = ssh('sudo %s services start tinyd' % BREW)
    assert res.returncode == 0 and 'Successfully started `tinyd`' in res.stdout, res.stderr
    macsim('reboot', NAME)
    info = wait_for(lambda: service_info(sudo=True), lambda i: i['running'])
    assert (info['user'], info['status'], info['file']) == ('root', 'started', daemon)
    assert user_of(info['pid']) == 'root'
    mine = service_info()
    assert (mine['loaded'], mine['running'], mine['registered']) == (False, False, True)
    # The agent comes back with the next GUI login.
    macsim('login', NAME)
    mine = wait_for(service_info, lambda i: i['running'])
    assert user_of(mine['pid']) == 'admin'
    ok(BREW + ' services stop tinyd && sudo %s services stop tinyd' % BREW)
    assert ok('ls /Library/LaunchDaemons ~/Library/LaunchAgents | grep -c tinyd || true').strip() == '0'
    macsim('logout', NAME)


def test_brew_ollama_as_a_boot_daemon():
    ok(BREW + ' install ollama')
    res = ssh('sudo %s services start ollama --sudo-service-user admin' % BREW)
    assert res.returncode == 0, res.stderr
    version = wait_for(lambda: ssh('curl -sf http://127.0.0.1:11434/api/version').stdout)
    assert json.loads(version) == {'version': '0.32.3'}
    info = json.loads(ok('sudo %s services info ollama --json' % BREW))[0]
    assert info['user'] == 'admin' and user_of(info['pid']) == 'admin'
    env = ok('sudo cat /proc/%d/environ | tr "\\0" "\\n"' % info['pid']).splitlines()
    assert 'OLLAMA_FLASH_ATTENTION=1' in env and 'HOME=/Users/admin' in env
    macsim('reboot', NAME)
    wait_for(lambda: ssh('curl -sf http://127.0.0.1:11434/api/version').returncode == 0)
    ok('sudo %s services stop ollama' % BREW)


def test_sshd_bootout_and_disable():
    res = ssh('sudo launchctl bootout system/com.openssh.sshd')
    assert res.returncode == 0, res.stderr   # the session that asked survives
    assert not ssh_works()
    res = root('launchctl', 'print', 'system/com.openssh.sshd')
    assert res.returncode == 113
    res = root('launchctl', 'bootstrap', 'system', '/System/Library/LaunchDaemons/ssh.plist')
    assert res.returncode == 0, res.stderr
    assert ssh_works()
    # kickstart -k ends the running instances, the session that asked among them (INVENTED: believed
    # of a real launchd), and the next connection is served as before.
    res = ssh('sudo launchctl kickstart -k system/com.openssh.sshd; sleep 5; echo still-here')
    assert res.returncode == 255 and 'still-here' not in res.stdout, res
    assert ssh_works()
    # Disabled: not loaded at the next boot (and `macsim reboot` does not wait for SSH).
    assert root('launchctl', 'disable', 'system/com.openssh.sshd').returncode == 0
    macsim('reboot', NAME)
    assert not ssh_works()
    assert '"com.openssh.sshd" => disabled' in root('launchctl', 'print-disabled', 'system').stdout
    assert root('launchctl', 'enable', 'system/com.openssh.sshd').returncode == 0
    assert root('launchctl', 'bootstrap', 'system', '/System/Library/LaunchDaemons/ssh.plist').returncode == 0
    assert ssh_works()
    macsim('reboot', NAME)
    assert ssh_works()


def test_calls_logged():
    calls = [json.loads(line) for line in ok('cat /var/log/macsim/calls.jsonl').splitlines()]
    tools = set(c['tool'] for c in calls)
    assert {'launchctl', 'brew'} <= tools
    assert ('launchctl', 'bootstrap', 0, 0) in [(c['tool'], c['argv'][1], c['euid'], c['rc']) for c in calls]
