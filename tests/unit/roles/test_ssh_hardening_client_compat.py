# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh_hardening_client_compat in the role's input checks (tasks_from: validate): refused, warned, or fine.

Runs ansible-playbook against localhost (connection local, become off, this machine's facts and its `ssh -Q kex`),
like test_ssh_hardening_validate.py. validate.yml only reads; nothing on this machine is changed.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
ADMIN = 'llmhost-test-no-such-admin'

pytestmark = pytest.mark.skipif(platform.system() != 'Darwin' and not os.path.exists('/etc/debian_version'),
                                reason='validate.yml accepts macOS and Debian/Ubuntu only')


def validate(tmp_path, variables_yaml):
    """ansible-playbook's result for validate.yml with these role variables (YAML text, so numbers stay numbers)."""
    private_key = tmp_path / 'id_ansible'
    if not private_key.exists():
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'ansible', '-f', str(private_key)],
                       check=True)
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'ssh_hardening input checks',
        'hosts': 'localhost',
        'connection': 'local',
        'gather_facts': True,
        'gather_subset': ['!all', 'min'],
        'tasks': [{'name': 'Validate', 'ansible.builtin.include_role': {'name': 'llmhost.macos.ssh_hardening',
                                                                        'tasks_from': 'validate'}}],
    }]))
    extra = tmp_path / 'vars.yml'
    extra.write_text(yaml.safe_dump({
        'ssh_hardening_authorized_keys': [private_key.with_suffix('.pub').read_text().strip()],
        'ansible_user': ADMIN,
        'ansible_ssh_private_key_file': str(private_key),
        'ansible_become': False,
        'ansible_python_interpreter': sys.executable,
    }) + variables_yaml)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    result = subprocess.run([ansible_playbook, '-i', 'localhost,', '-e', '@' + str(extra), str(playbook)], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=False)
    return result, ' '.join((result.stdout + result.stderr).split())


CLIENTS = '''
ssh_hardening_client_compat:
  - {client: putty, version: "0.78"}
  - {client: windows_openssh, version: "9.5"}
'''


def test_the_defaults_let_putty_078_and_windows_openssh_95_in(tmp_path):
    result, output = validate(tmp_path, CLIENTS)
    assert result.returncode == 0, output
    assert 'Warning (ssh_hardening_client_compat)' not in output


def test_a_list_that_shuts_putty_out_is_refused_before_anything_changes(tmp_path):
    result, output = validate(tmp_path, CLIENTS + 'ssh_hardening_kex_algorithms: [mlkem768x25519-sha256]\n')
    assert result.returncode == 2, output
    assert ('Refusing to change SSH: PuTTY 0.78 has none of the key exchanges in ssh_hardening_kex_algorithms '
            '(mlkem768x25519-sha256), so it could not log in: add sntrup761x25519-sha512@openssh.com (PuTTY 0.78+) '
            'or curve25519-sha256 (PuTTY 0.75+) or curve25519-sha256@libssh.org (PuTTY 0.68+) to '
            'ssh_hardening_kex_algorithms, or use PuTTY 0.83 or later (the first release with one of the list); '
            'Windows OpenSSH 9.5 has none of the key exchanges') in output
    assert 'Nothing was changed.' in output


def test_the_chosen_key_exchanges_are_checked_under_the_preference_name(tmp_path):
    result, output = validate(tmp_path, CLIENTS + 'ssh_hardening_kex_preference: [mlkem768x25519-sha256, '
                                                  'sntrup761x25519-sha512, curve25519-sha256]\n')
    offered = subprocess.run(['ssh', '-Q', 'kex'], capture_output=True, text=True, check=True).stdout.split()
    if 'curve25519-sha256' not in offered:
        pytest.skip('this OpenSSH offers no curve25519-sha256')
    assert result.returncode == 0, output  # curve25519-sha256 is offered here, and both clients have it
    result, output = validate(tmp_path, CLIENTS + 'ssh_hardening_kex_preference: [mlkem768x25519-sha256, '
                                                  'sntrup761x25519-sha512]\n')
    assert result.returncode == 2, output
    assert 'PuTTY 0.78 has none of the key exchanges in ssh_hardening_kex_preference (' in output


def test_what_the_table_cannot_tell_is_a_warning_and_the_role_goes_on(tmp_path):
    result, output = validate(tmp_path, CLIENTS + 'ssh_hardening_macs: [umac-128-etm@openssh.com]\n')
    assert result.returncode == 0, output
    assert ('Warning (ssh_hardening_client_compat): PuTTY 0.78 has none of the MACs in ssh_hardening_macs '
            '(umac-128-etm@openssh.com): it logs in only if it picks chacha20-poly1305@openssh.com') in output


def test_an_unquoted_version_fails_the_input_checks(tmp_path):
    result, output = validate(tmp_path, 'ssh_hardening_client_compat: [{client: putty, version: 0.80}]\n')
    assert result.returncode == 2, output
    assert ('ssh_hardening_client_compat: item 1: the version must be a string in quotes, for example version: '
            '"0.80"; 0.8 is a number to YAML (0.80 unquoted is the number 0.8). Nothing was changed.') in output


def test_an_unparsable_version_fails_the_input_checks(tmp_path):
    result, output = validate(tmp_path, 'ssh_hardening_client_compat: [{client: openssh, version: "nine"}]\n')
    assert result.returncode == 2, output
    assert 'ssh_hardening_client_compat: item 1: "nine" is not a version like "0.78" (PuTTY)' in output


def test_an_unknown_client_fails_the_argument_spec(tmp_path):
    result, output = validate(tmp_path, 'ssh_hardening_client_compat: [{client: puty, version: "0.78"}]\n')
    assert result.returncode == 2, output
    assert 'value of client must be one of: putty, openssh, windows_openssh, got: puty' in output
