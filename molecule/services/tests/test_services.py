# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify the services on the simulated Mac, before and after a reboot with nobody logged in.

The stand-ins' call log (/var/log/macsim/calls.jsonl) tells what the check, converge and idempotence
runs did. The call-log test comes first, so the first verify sees the log as the three runs left it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

testinfra_hosts = ['all']

MACSIM = os.path.join(os.environ.get('MOLECULE_PROJECT_DIRECTORY', '.'), 'tests', 'macsim', 'macsim')
SEED_AGENT = '/Users/admin/Library/LaunchAgents/homebrew.mxcl.ollama.plist'

CALL_LOG = '/var/log/macsim/calls.jsonl'
DAEMON = 'system/com.llmhost.tinyd'


def rebooted(host):
    boots = json.loads(host.file('/var/db/macsim/boot.json').content_string)['count']
    marker = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'reboots')
    reboots = int(open(marker).read()) if os.path.exists(marker) else 0
    assert boots == 1 + reboots
    return reboots > 0


def job(host, target):
    """Top-level `key = value` lines of launchctl print (one tab), or None when not loaded."""
    result = host.run('launchctl print %s', target)
    if result.rc == 113:
        return None
    assert result.rc == 0, result.stderr
    return dict(line[1:].split(' = ', 1) for line in result.stdout.splitlines()
                if line.startswith('\t') and not line.startswith('\t\t') and ' = ' in line)


def process_user(host, pid):
    return host.check_output('ps -o user= -p %s', str(pid)).strip()


def brew_info(host, name, sudo=False):
    command = 'brew services info %s --json' % name
    return json.loads(host.check_output(('sudo -n ' if sudo else '') + '/opt/homebrew/bin/' + command))[0]


def runs(host):
    """The calls of each converge run: a run starts with its first task's `launchctl print` of the daemon,
    the one right before that task's `launchctl print-disabled system`. The log is cut where the first
    verify found it (recorded in the scenario's ephemeral directory), before any call of the tests."""
    lines = [line for line in host.file(CALL_LOG).content_string.splitlines() if line.strip()]
    marker = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'calls-before-verify')
    if not os.path.exists(marker):
        with open(marker, 'w') as handle:
            handle.write(str(len(lines)))
    with open(marker) as handle:
        calls = [json.loads(line) for line in lines[:int(handle.read())]]
    starts = []
    for index, call in enumerate(calls):
        if call['tool'] == 'launchctl' and call['argv'][1:] == ['print-disabled', 'system']:
            starts.append(max(i for i in range(index) if calls[i]['argv'][1:] == ['print', DAEMON]))
    return [calls[start:end] for start, end in zip(starts, starts[1:] + [len(calls)])]


def test_check_mode_and_a_second_run_changed_nothing(host):
    check, converge, idempotence = runs(host)[:3]
    writes = [call for call in check + idempotence if call['kind'] == 'write']
    assert writes == []
    converge_writes = [' '.join(call['argv'][1:]) for call in converge if call['kind'] == 'write']
    assert 'bootstrap system /Library/LaunchDaemons/com.llmhost.tinyd.plist' in converge_writes
    assert 'services start ollama --sudo-service-user admin' in converge_writes
    # the seed's agent left before the system service started
    seed_out = converge_writes.index('bootout gui/501/homebrew.mxcl.ollama')
    assert seed_out < converge_writes.index('services start ollama --sudo-service-user admin')
    # the unchanged daemon costs one print (and the print-disabled that `enabled` asks for)
    daemon_calls = [' '.join(call['argv'][1:]) for call in idempotence if call['tool'] == 'launchctl' and call['euid'] == 0
                    and (DAEMON in call['argv'] or call['argv'][1:] == ['print-disabled', 'system'])]
    assert daemon_calls == ['print %s' % DAEMON, 'print-disabled system']


def test_the_daemon_runs_as_admin_and_answers(host):
    printed = job(host, DAEMON)
    assert printed['state'] == 'running'
    assert process_user(host, printed['pid']) == 'admin'
    answer = host.check_output("python3 -c 'import socket; print(socket.create_connection((\"127.0.0.1\", 7001)).recv(64).decode().strip())'")
    assert answer == 'tinyd admin %s' % printed['pid']


def test_ollama_starts_at_boot_as_admin(host):
    info = brew_info(host, 'ollama', sudo=True)
    assert info['status'] == 'started' and info['user'] == 'admin'
    assert info['file'] == '/Library/LaunchDaemons/homebrew.mxcl.ollama.plist'
    assert process_user(host, info['pid']) == 'admin'
    assert json.loads(host.check_output('curl -sf http://127.0.0.1:11434/api/version'))['version']


def test_the_user_agent_needs_a_login(host):
    info = brew_info(host, 'tinyd')
    if rebooted(host):
        # nobody has logged in since the reboot: the LaunchAgent is not running, the daemons are
        assert not host.file('/var/run/macsim-console.json').exists
        assert not info['running']
        assert job(host, 'gui/501/homebrew.mxcl.tinyd') is None
    else:
        assert info['running'] and info['file'] == '/Users/admin/Library/LaunchAgents/homebrew.mxcl.tinyd.plist'


def test_a_crash_looping_job_fails_the_task_with_its_exit_code(host, run_module):
    plist = {'ProgramArguments': ['/opt/homebrew/opt/tinyd/bin/tinyd'], 'RunAtLoad': True, 'KeepAlive': True,
             'EnvironmentVariables': {'TINYD_EXIT': '78'}, 'ThrottleInterval': 1}
    try:
        result = run_module('llmhost.macos.launchd_service', {'label': 'com.llmhost.crasher', 'plist': plist,
                                                              'wait': 3}, become=True)
        assert result.failed
        assert 'crash looping' in result['msg'] and result['last_exit_code'] == 78, result
    finally:
        assert not run_module('llmhost.macos.launchd_service', {'label': 'com.llmhost.crasher', 'state': 'absent'},
                              become=True).failed


def ollama_servers(host):
    """pids of every running `ollama serve` (the emulator runs as `.../ollama serve`)."""
    out = host.check_output('ps -eo pid=,args=')
    return sorted(int(line.split(None, 1)[0]) for line in out.splitlines() if line.strip().endswith('ollama serve'))


def test_one_ollama_owns_the_port_and_the_seeds_agent_is_gone(host):
    info = brew_info(host, 'ollama', sudo=True)
    assert ollama_servers(host) == [info['pid']]
    assert not host.file(SEED_AGENT).exists
    for domain in ('gui/501', 'user/501'):
        assert job(host, '%s/homebrew.mxcl.ollama' % domain) is None


def test_one_ollama_also_after_admin_logs_in(host):
    """The reason the seed's agent had to go: launchd loads ~/Library/LaunchAgents at every login."""
    if not rebooted(host):
        return   # admin is logged in since prepare: the test above covers it
    name = host.backend.host
    login = subprocess.run([MACSIM, 'login', name, 'admin'], capture_output=True, text=True, check=True)
    try:
        assert json.loads(login.stdout)['created']
        time.sleep(1)   # long enough for a second server to start and answer, had one been loaded
        info = brew_info(host, 'ollama', sudo=True)
        assert ollama_servers(host) == [info['pid']]
        assert job(host, 'gui/501/homebrew.mxcl.ollama') is None
    finally:
        subprocess.run([MACSIM, 'logout', name, 'admin'], capture_output=True, text=True, check=True)


def test_a_daemon_that_takes_its_time_to_stop_is_reloaded_with_its_new_definition(host, run_module):
    """launchctl bootout answers 36 while the old process drains (as on a Mac); the module waits until the
    job has left launchd, then bootstraps the new definition instead of failing."""
    label = 'com.llmhost.slowd'
    plist = {'ProgramArguments': ['/opt/homebrew/opt/tinyd/bin/tinyd'], 'RunAtLoad': True, 'KeepAlive': True,
             'UserName': 'admin', 'EnvironmentVariables': {'TINYD_PORT': '7002', 'TINYD_STOP_DELAY': '2'}}
    try:
        first = run_module('llmhost.macos.launchd_service', {'label': label, 'plist': plist, 'wait': 1},
                           become=True)
        assert not first.failed, first
        before = len(host.file(CALL_LOG).content_string.splitlines())
        changed = dict(plist, EnvironmentVariables={'TINYD_PORT': '7003', 'TINYD_STOP_DELAY': '2'})
        second = run_module('llmhost.macos.launchd_service', {'label': label, 'plist': changed, 'wait': 1},
                            become=True)
        assert not second.failed, second
        assert second['actions'] == ['bootout', 'write /Library/LaunchDaemons/%s.plist' % label, 'bootstrap']
        assert second['state'] == 'running' and second['pid'] != first['pid']
        answer = host.check_output("python3 -c 'import socket; print(socket.create_connection((\"127.0.0.1\", 7003))"
                                   ".recv(64).decode().strip())'")
        assert answer == 'tinyd admin %s' % second['pid']
        bootouts = [json.loads(line) for line in host.file(CALL_LOG).content_string.splitlines()[before:]
                    if '"bootout"' in line]
        assert 36 in [call['rc'] for call in bootouts]   # the old process really was still draining
    finally:
        assert not run_module('llmhost.macos.launchd_service', {'label': label, 'state': 'absent'},
                              become=True).failed
