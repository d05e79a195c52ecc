# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ssh_hardening role on the simulated Macs: macOS paths, Remote Login through launchd, and what a
client sees: only an Ed25519 host key, passwords refused, the admin's key accepted."""

from __future__ import annotations

import json
import subprocess

testinfra_hosts = ['all']

DROPIN = '/etc/ssh/sshd_config.d/01-llmhost.conf'


def effective(host):
    with host.sudo():
        out = host.check_output('/usr/sbin/sshd -T -C user=admin,host=localhost,addr=127.0.0.1')
    return dict(line.split(' ', 1) for line in out.splitlines() if ' ' in line)


def owner_and_mode(host, path):
    """(owner, mode) of a path, read with Python (testinfra's file module would use BSD stat flags on a
    host that says Darwin, and the simulated Mac has GNU stat)."""
    with host.sudo():
        out = host.check_output("python3 -c 'import os, pwd, sys; st = os.stat(sys.argv[1]); "
                                "print(pwd.getpwuid(st.st_uid).pw_name, oct(st.st_mode & 0o7777))' %s", path)
    user, mode = out.split()
    return user, int(mode, 8)


def address(host):
    return host.backend.get_variables()['ansible_host']


def client(host, *options):
    argv = ['ssh', '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no',
            '-o', 'ControlPath=none', '-o', 'ConnectTimeout=10'] + list(options) + ['admin@' + address(host), 'true']
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_the_drop_in_sorts_before_apples(host):
    assert owner_and_mode(host, DROPIN) == ('root', 0o644)
    names = host.check_output('ls /etc/ssh/sshd_config.d').split()
    assert names[0] == '01-llmhost.conf' and '100-macos.conf' in names
    assert host.file('/etc/ssh/sshd_config').contains('^Include /etc/ssh/sshd_config.d/\\*$')


def test_effective_configuration(host):
    config = effective(host)
    assert config['passwordauthentication'] == 'no'
    assert config['kbdinteractiveauthentication'] == 'no'
    assert config['authenticationmethods'] == 'publickey'
    assert config['pubkeyacceptedalgorithms'] == 'ssh-ed25519'
    assert config['permitrootlogin'] == 'no'
    assert config['usepam'] == 'yes'  # Apple's, still there: the reason passwords need both settings off


def test_the_admin_keys_are_private(host):
    assert owner_and_mode(host, '/Users/admin/.ssh') == ('admin', 0o700)
    assert owner_and_mode(host, '/Users/admin/.ssh/authorized_keys') == ('admin', 0o600)


def test_remote_login_is_an_enabled_launchd_job(host):
    assert '"com.openssh.sshd" => enabled' in host.check_output('launchctl print-disabled system')
    assert host.run('launchctl print system/com.openssh.sshd').rc == 0


def test_what_a_client_sees(host):
    keyscan = subprocess.run(['ssh-keyscan', address(host)], capture_output=True, text=True, check=False)
    assert sorted(line.split()[1] for line in keyscan.stdout.splitlines() if line and not line.startswith('#')) == \
        ['ssh-ed25519']
    identity = host.backend.get_variables()['ansible_private_key_file']
    assert client(host, '-i', identity, '-o', 'IdentitiesOnly=yes').returncode == 0
    refused = client(host, '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no')
    assert refused.returncode == 255 and 'Permission denied (publickey)' in refused.stderr


def test_remote_login_was_checked_through_launchd_with_reads_only_when_converged(host):
    calls = [json.loads(line) for line in host.file('/var/log/macsim/calls.jsonl').content_string.splitlines() if line]
    sshd_calls = [' '.join(call['argv'][1:]) for call in calls
                  if call['tool'] == 'launchctl' and call['euid'] == 0 and 'com.openssh.sshd' in ' '.join(call['argv'])]
    # check, converge and idempotence each read the job; nothing restarts it: sshd runs per connection
    # on macOS, so a kickstart -k would only end open sessions (Ansible's among them)
    assert [call for call in sshd_calls if call.startswith(('kickstart', 'bootout'))] == []
    assert sshd_calls[0] == 'print system/com.openssh.sshd'
