# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh_hardening on a real Debian OpenSSH server, seen from real clients on the controller.

prepare proved every way in below was open; now only the Ed25519 keys get in: OpenSSH's, and the one
puttygen made, given to the role in RFC 4716 form (molecule.yml), with Plink through Pageant. Then the role
is run again with bad input (a lockout, a bad option, a list that would shut PuTTY out, check mode) and must
leave SSH as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

testinfra_hosts = ['all']

HERE = os.path.dirname(os.path.abspath(__file__))
DROPIN = '/etc/ssh/sshd_config.d/01-llmhost.conf'
POLICY = os.path.join(HERE, '..', 'ssh-audit-policy.txt')
PUTTY_PROBE = os.path.join(HERE, '..', '..', '..', 'tests', 'tools', 'putty_probe.py')
# where tests/tools/putty-key keeps the PuTTY keys (molecule.yml hands the Ed25519 one to the role)
PUTTY_KEYS = os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', '')
PLINK_NO_METHOD = 'FATAL ERROR: No supported authentication methods available (server sent: publickey)'


def name(host):
    return host.backend.host


def probe(host, way):
    out = subprocess.run([sys.executable, os.path.join(HERE, 'ssh_probe.py'), name(host), way],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def putty(host, way):
    """What Plink (PuTTY 0.78) got: tests/tools/putty_probe.py."""
    assert PUTTY_KEYS, 'MOLECULE_EPHEMERAL_DIRECTORY is not set'
    out = subprocess.run([sys.executable, PUTTY_PROBE, name(host), way, PUTTY_KEYS],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def authorized_blobs(host):
    with host.sudo():
        content = host.check_output('cat ~admin/.ssh/authorized_keys')
    return [line.split()[1] for line in content.splitlines() if len(line.split()) > 1]


def address(host):
    return host.backend.get_variables()['ansible_host']


def dropin_sha(host):
    with host.sudo():
        return host.check_output('sha256sum %s', DROPIN).split()[0]


def run_role(host, tmp_path, extra_vars, check=False):
    """ansible-playbook of the role against this host with extra vars; (rc, output)."""
    playbook = tmp_path / 'play.yml'
    playbook.write_text('- hosts: %s\n  roles:\n    - role: llmhost.macos.ssh_hardening\n' % name(host))
    argv = ['ansible-playbook', '-i', host.backend.ansible_runner.inventory_file, str(playbook),
            '-e', json.dumps(extra_vars)] + (['--check'] if check else [])
    proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'))
    return proc.returncode, proc.stdout + proc.stderr


def test_the_ed25519_key_logs_in(host):
    assert probe(host, 'ed25519')['outcome'] == 'accepted'


@pytest.mark.parametrize('way', ['password', 'kbdint', 'rsa', 'root'])
def test_every_other_way_in_is_refused(host, way):
    result = probe(host, way)
    assert result['outcome'] == 'refused', result
    assert 'Permission denied (publickey)' in result['detail'], result


def test_a_puttygen_key_in_rfc4716_form_logs_in_with_plink_through_pageant(host):
    result = putty(host, 'ed25519')
    assert result['outcome'] == 'accepted', result
    assert result['stdout'].strip() == 'ok'
    assert 'Authenticating with public key "llmhost-ci-putty-ed25519" from agent' in result['stderr']
    # the role got `puttygen -O public` (RFC 4716) and wrote the line `puttygen -O public-openssh` prints
    line = subprocess.run(['puttygen', result['key'], '-O', 'public-openssh'], capture_output=True, text=True,
                          check=True).stdout.split()
    assert line[1] in authorized_blobs(host)


def test_plink_with_a_password_is_refused_by_the_server(host):
    result = putty(host, 'password')
    assert result['outcome'] == 'refused', result
    assert result['detail'] == PLINK_NO_METHOD, result


def test_plink_with_an_rsa_key_in_pageant_is_refused_by_the_server(host):
    assert putty(host, 'rsa-key')['public'].split()[1] in authorized_blobs(host)  # admin's key, accepted before the role
    result = putty(host, 'rsa')
    assert result['outcome'] == 'refused', result
    assert 'Trying Pageant key #0' in result['stderr'] and 'Server refused our key' in result['stderr'], result
    assert result['detail'] == PLINK_NO_METHOD, result


def test_only_an_ed25519_host_key_is_offered(host):
    assert probe(host, 'hostkeys-ed25519') == {'way': 'hostkeys-ed25519', 'outcome': 'accepted',
                                               'detail': 'ssh-ed25519'}


def test_ssh_audit_passes_our_policy(host):
    audit = subprocess.run(['ssh-audit', '-P', POLICY, address(host)], capture_output=True, text=True, check=False)
    assert audit.returncode == 0, audit.stdout


def test_the_drop_in_wins_over_the_main_file(host):
    with host.sudo():
        effective = host.check_output('/usr/sbin/sshd -T -C user=admin,host=localhost,addr=127.0.0.1')
    assert 'kbdinteractiveauthentication no' in effective.splitlines()
    assert host.file('/etc/ssh/sshd_config').contains('^KbdInteractiveAuthentication yes')


def test_check_mode_changes_nothing(host, tmp_path):
    before = dropin_sha(host)
    rc, output = run_role(host, tmp_path, {'ssh_hardening_max_auth_tries': 5,
                                           'ssh_hardening_allow_users': ['admin']}, check=True)
    assert rc == 0, output
    assert 'changed=' in output and 'changed=0' not in output.split('PLAY RECAP')[-1]
    assert dropin_sha(host) == before


def test_the_lockout_guard_refuses_and_changes_nothing(host, tmp_path):
    before = dropin_sha(host)
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(tmp_path / 'other')], check=True)
    other = (tmp_path / 'other.pub').read_text().strip()
    rc, output = run_role(host, tmp_path, {'ssh_hardening_exclusive_keys': True,
                                           'ssh_hardening_authorized_keys': [other],
                                           'ssh_hardening_allow_users': ['admin']})
    assert rc == 2, output
    assert "the key Ansible connects with" in output and 'Nothing was changed.' in output
    assert dropin_sha(host) == before
    assert probe(host, 'ed25519')['outcome'] == 'accepted'


def test_a_list_that_would_shut_out_putty_078_is_refused_and_changes_nothing(host, tmp_path):
    before = dropin_sha(host)
    rc, output = run_role(host, tmp_path, {'ssh_hardening_kex_algorithms': ['mlkem768x25519-sha256'],
                                           'ssh_hardening_allow_users': ['admin']})
    assert rc == 2, output
    assert 'Refusing to change SSH: PuTTY 0.78 has none of the key exchanges in ssh_hardening_kex_algorithms' in output
    assert dropin_sha(host) == before
    assert putty(host, 'ed25519')['outcome'] == 'accepted'


def test_what_depends_on_the_clients_own_order_is_only_a_warning(host, tmp_path):
    before = dropin_sha(host)
    rc, output = run_role(host, tmp_path, {'ssh_hardening_macs': ['umac-128-etm@openssh.com'],
                                           'ssh_hardening_allow_users': ['admin']}, check=True)
    assert rc == 0, output
    assert ('Warning (ssh_hardening_client_compat): PuTTY 0.78 has none of the MACs in ssh_hardening_macs '
            '(umac-128-etm@openssh.com): it logs in only if it picks') in ' '.join(output.split())
    assert dropin_sha(host) == before


def test_a_bad_option_is_refused_and_the_previous_config_stays(host, tmp_path):
    before = dropin_sha(host)
    rc, output = run_role(host, tmp_path, {'ssh_hardening_extra_settings': {'NoSuchOption': 'yes'},
                                           'ssh_hardening_allow_users': ['admin']})
    assert rc == 2, output
    assert 'Bad configuration option: NoSuchOption' in output
    assert 'The previous configuration is in place' in output
    assert dropin_sha(host) == before
    assert probe(host, 'ed25519')['outcome'] == 'accepted'
    assert probe(host, 'password')['outcome'] == 'refused'
