# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ssh_hardening role on the simulated Macs: macOS paths, Remote Login through launchd, and what a
client sees: only an Ed25519 host key, passwords refused, the admin's key accepted; and the same with PuTTY
0.78: the key puttygen made, given to the role in RFC 4716 form (molecule.yml), logs in with Plink through
Pageant, Plink's password and RSA key are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

testinfra_hosts = ['all']

DROPIN = '/etc/ssh/sshd_config.d/01-llmhost.conf'
HERE = os.path.dirname(os.path.abspath(__file__))
PUTTY_PROBE = os.path.join(HERE, '..', '..', '..', 'tests', 'tools', 'putty_probe.py')
# where tests/tools/putty-key keeps the PuTTY keys (molecule.yml hands the Ed25519 one to the role)
PUTTY_KEYS = os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', '')
PLINK_NO_METHOD = 'FATAL ERROR: No supported authentication methods available (server sent: publickey)'


def effective(host):
    with host.sudo():
        out = host.check_output('/usr/sbin/sshd -T -C user=admin,host=localhost,addr=127.0.0.1')
    return dict(line.split(' ', 1) for line in out.splitlines() if ' ' in line)


def owner_and_mode(host, path):
    """(owner, mode) of a path, read with Python as root (the path may be readable by root only)."""
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


def putty(host, way):
    """What Plink (PuTTY 0.78) got: tests/tools/putty_probe.py."""
    assert PUTTY_KEYS, 'MOLECULE_EPHEMERAL_DIRECTORY is not set'
    out = subprocess.run([sys.executable, PUTTY_PROBE, host.backend.host, way, PUTTY_KEYS],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def authorized_keys(host):
    with host.sudo():
        return host.check_output('cat /Users/admin/.ssh/authorized_keys').splitlines()


@pytest.fixture
def rsa_key_authorized(host):
    """The RSA key of the plink test in admin's authorized_keys for the test's length (a Mac profile has no RSA key
    of its own): refused then, it is refused for its type, not because sshd does not know it."""
    line = putty(host, 'rsa-key')['public']
    add = line not in authorized_keys(host)
    if add:
        with host.sudo():
            host.check_output("printf '%%s\\n' %s >> /Users/admin/.ssh/authorized_keys", line)
    yield line
    if add:
        with host.sudo():
            host.check_output('f=/Users/admin/.ssh/authorized_keys; grep -vxF -- %s "$f" > "$f.tmp"; cat "$f.tmp" > "$f"; '
                              'rm -f "$f.tmp"', line)
    assert line not in authorized_keys(host) or not add


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


def test_a_puttygen_key_in_rfc4716_form_logs_in_with_plink_through_pageant(host):
    result = putty(host, 'ed25519')
    assert result['outcome'] == 'accepted', result
    assert result['stdout'].strip() == 'ok'
    assert 'Authenticating with public key "llmhost-ci-putty-ed25519" from agent' in result['stderr']
    # the role got `puttygen -O public` (RFC 4716) and wrote the line `puttygen -O public-openssh` prints
    line = subprocess.run(['puttygen', result['key'], '-O', 'public-openssh'], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert line in authorized_keys(host)


def test_plink_with_a_password_is_refused_by_the_server(host):
    result = putty(host, 'password')
    if result['outcome'] == 'skipped':
        pytest.skip(result['detail'])
    assert result['outcome'] == 'refused', result
    assert result['detail'] == PLINK_NO_METHOD, result


def test_plink_with_an_rsa_key_in_pageant_is_refused_by_the_server(host, rsa_key_authorized):
    assert rsa_key_authorized in authorized_keys(host)
    result = putty(host, 'rsa')
    assert result['outcome'] == 'refused', result
    assert 'Trying Pageant key #0' in result['stderr'] and 'Server refused our key' in result['stderr'], result
    assert result['detail'] == PLINK_NO_METHOD, result


def test_remote_login_was_checked_through_launchd_with_reads_only_when_converged(host):
    calls = [json.loads(line) for line in host.file('/var/log/macsim/calls.jsonl').content_string.splitlines() if line]
    sshd_calls = [' '.join(call['argv'][1:]) for call in calls
                  if call['tool'] == 'launchctl' and call['euid'] == 0 and 'com.openssh.sshd' in ' '.join(call['argv'])]
    # check, converge and idempotence each read the job; nothing restarts it: sshd runs per connection
    # on macOS, so a kickstart -k would only end open sessions (Ansible's among them)
    assert [call for call in sshd_calls if call.startswith(('kickstart', 'bootout'))] == []
    assert sshd_calls[0] == 'print system/com.openssh.sshd'
