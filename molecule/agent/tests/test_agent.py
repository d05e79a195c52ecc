# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ollama_service_mode agent on a simulated Mac: before the reboot (nobody logged in yet) and after it.

The first verify sees what the converge left while nobody was logged in; the second, after a reboot with nobody
at the screen, sees the admin logged in by loginwindow and Ollama running as its LaunchAgent, then runs the role
again (models), with FileVault on (refused), and back in daemon mode (automatic login off).
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

testinfra_hosts = ['all']

AGENT_PLIST = '/Users/admin/Library/LaunchAgents/com.llmhost.ollama.plist'
DAEMON_PLIST = '/Library/LaunchDaemons/com.llmhost.ollama.plist'
LOGINWINDOW = '/Library/Preferences/com.apple.loginwindow'
API = 'http://127.0.0.1:11434'
# kcpassword's fixed key (published decoders; written out here so the test does not trust the module's copy)
KEY = bytes.fromhex('7d895223d2bcddeaa3b91f')


def rebooted():
    marker = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'reboots')
    return os.path.exists(marker) and int(open(marker).read()) > 0


def macsim(*args):
    tool = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], 'tests', 'macsim', 'macsim')
    return subprocess.run([tool] + list(args), capture_output=True, text=True, check=True).stdout


def admin_password(host):
    return json.loads(macsim('info', host.backend.host))['password']


def ollama_servers(host):
    out = host.check_output('ps -eo pid=,user=,args=')
    return [line.split(None, 2)[:2] for line in out.splitlines() if line.strip().endswith('ollama serve')]


def run_role(host, tmp_path, extra_vars=None):
    extra = tmp_path / 'extra.json'
    extra.write_text(json.dumps(extra_vars or {}))
    playbook = os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml')
    proc = subprocess.run(['ansible-playbook', '-i', host.backend.ansible_runner.inventory_file, playbook,
                           '-e', '@%s' % extra], capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'))
    return proc.returncode, ' '.join((proc.stdout + proc.stderr).split())


def wait_for(check, seconds=60):
    end = time.time() + seconds
    while True:
        value = check()
        if value or time.time() > end:
            return value
        time.sleep(1)


def test_automatic_login_of_the_admin_is_set_with_its_password_readable_by_root_only(host):
    with host.sudo():
        assert host.check_output('defaults read %s autoLoginUser', LOGINWINDOW).strip() == 'admin'
        kcpassword = host.file('/etc/kcpassword')
        assert (kcpassword.user, kcpassword.group, kcpassword.mode) == ('root', 'wheel', 0o600)
        data = kcpassword.content
    plain = bytes(b ^ KEY[i % len(KEY)] for i, b in enumerate(data))
    assert len(data) % 12 == 0 and plain.split(b'\0')[0].decode() == admin_password(host)


def test_the_launch_agent_is_the_only_ollama_service(host):
    agent = host.file(AGENT_PLIST)
    assert agent.exists and agent.user == 'admin' and agent.mode == 0o644
    assert not host.file(DAEMON_PLIST).exists
    if not rebooted():
        # nobody has logged in since the role ran: no gui domain, no server yet
        assert host.run('launchctl print gui/501').rc != 0
        assert ollama_servers(host) == []


def test_after_a_reboot_with_nobody_at_the_screen_ollama_runs_as_the_admins_agent(host):
    if not rebooted():
        pytest.skip('runs in the verify after the reboot')
    assert wait_for(lambda: host.run('launchctl print gui/501/com.llmhost.ollama').rc == 0), \
        host.run('sudo -n cat /var/db/macsim/loginwindow.json').stdout
    assert wait_for(lambda: host.run('curl -sf %s/api/version', API).rc == 0)
    assert [user for _pid, user in ollama_servers(host)] == ['admin']
    printed = host.check_output('launchctl print gui/501/com.llmhost.ollama')
    assert 'state = running' in printed and 'type = LaunchAgent' in printed


def test_the_next_run_pulls_and_preloads_the_model_then_changes_nothing(host, tmp_path):
    if not rebooted():
        pytest.skip('runs in the verify after the reboot')
    rc, out = run_role(host, tmp_path)
    assert rc == 0 and 'qwen2.5:0.5b' in out, out[-3000:]
    assert 'failed=0' in out and 'changed=0' not in out, out[-3000:]
    tags = json.loads(host.check_output('curl -sf %s/api/tags', API))
    assert 'qwen2.5:0.5b' in [model['name'] for model in tags['models']]
    loaded = json.loads(host.check_output('curl -sf %s/api/ps', API))['models']
    assert [model['name'] for model in loaded] == ['qwen2.5:0.5b']
    rc, out = run_role(host, tmp_path)
    assert rc == 0 and 'changed=0' in out and 'failed=0' in out, out[-3000:]


def test_filevault_on_is_refused_before_anything_changes(host, tmp_path):
    if not rebooted():
        pytest.skip('runs in the verify after the reboot')
    state = '/var/db/macsim/fdesetup.json'
    # on, and turned on but waiting for the next restart ("FileVault is Off, but will be enabled after ...")
    for filevault in ('true', '"pending"'):
        assert host.run("echo '{\"filevault\": %s}' | sudo -n tee %s >/dev/null" % (filevault, state)).rc == 0
        try:
            rc, out = run_role(host, tmp_path, {'ollama_filevault_acknowledged': True})
            assert rc != 0 and "Automatic login can't be turned on because FileVault is enabled" in out, out[-3000:]
            assert 'changed=0' in out
        finally:
            assert host.run('sudo -n rm -f %s', state).rc == 0


def test_back_in_daemon_mode_the_agent_and_the_automatic_login_are_gone(host, tmp_path):
    if not rebooted():
        pytest.skip('runs in the verify after the reboot')
    rc, out = run_role(host, tmp_path, {'ollama_service_mode': 'daemon'})
    assert rc == 0 and 'failed=0' in out, out[-3000:]
    assert not host.file(AGENT_PLIST).exists and host.file(DAEMON_PLIST).exists
    with host.sudo():
        assert not host.file('/etc/kcpassword').exists
        assert host.run('defaults read %s autoLoginUser', LOGINWINDOW).rc == 1
    assert host.run('launchctl print gui/501/com.llmhost.ollama').rc != 0
    assert wait_for(lambda: host.run('curl -sf %s/api/version', API).rc == 0)
    assert [user for _pid, user in ollama_servers(host)] == ['admin']
    rc, out = run_role(host, tmp_path, {'ollama_service_mode': 'daemon'})
    assert rc == 0 and 'changed=0' in out, out[-3000:]
