# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ssh_hardening role's input checks (tasks_from: validate) with the keys as PuTTYgen saves them.

Runs ansible-playbook against localhost (connection local, become off, the facts of this machine), like the
other role tests here. validate.yml only reads: the admin user does not exist, so there is no authorized_keys to
read, and Ansible's "private key" is a path whose .pub holds the public key under test. Nothing on this
machine is changed; the keys the role would write come back in a JSON file.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
FIXTURES = pathlib.Path(__file__).parent.parent / 'plugins' / 'filter' / 'fixtures'
ADMIN = 'llmhost-test-no-such-admin'

pytestmark = pytest.mark.skipif(platform.system() != 'Darwin' and not os.path.exists('/etc/debian_version'),
                                reason='validate.yml accepts macOS and Debian/Ubuntu only')


def fixture(name):
    return (FIXTURES / name).read_text()


def validate(tmp_path, keys, connection_pub):
    """ansible-playbook's result and the keys validate.yml worked out (None when it failed)."""
    private_key = tmp_path / 'id_ansible'
    private_key.with_suffix('.pub').write_text(connection_pub)
    out = tmp_path / 'keys.json'
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'ssh_hardening input checks',
        'hosts': 'localhost',
        'connection': 'local',
        'gather_facts': True,
        'gather_subset': ['!all', 'min'],
        'tasks': [
            {'name': 'Validate', 'ansible.builtin.include_role': {'name': 'llmhost.macos.ssh_hardening',
                                                                  'tasks_from': 'validate'}},
            {'name': 'Hand back the keys', 'ansible.builtin.copy': {
                'content': '{{ __ssh_hardening_keys | to_json }}', 'dest': str(out), 'mode': '0600'}},
        ],
    }]))
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps({
        'ssh_hardening_authorized_keys': keys,
        'ansible_user': ADMIN,
        'ansible_ssh_private_key_file': str(private_key),
        'ansible_become': False,
        'ansible_python_interpreter': sys.executable,
    }))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    result = subprocess.run([ansible_playbook, '-i', 'localhost,', '-e', '@' + str(extra), str(playbook)], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=False)
    return result, json.loads(out.read_text()) if out.exists() else None


def test_puttygen_keys_pass_and_become_openssh_lines(tmp_path):
    saved = fixture('test-only-ed25519.rfc4716.pub')
    result, keys = validate(tmp_path, [saved.replace('\n', '\r\n'), fixture('test-only-ed25519.openssh.pub')],
                            connection_pub=saved)
    assert result.returncode == 0, result.stdout + result.stderr
    assert keys == [fixture('test-only-ed25519.openssh.pub').strip()]


def test_the_lockout_guard_compares_key_data(tmp_path):
    result, keys = validate(tmp_path, [fixture('test-only-ed25519.rfc4716.pub')],
                            connection_pub=fixture('test-only-ed25519-quoted-comment.openssh.pub'))
    assert result.returncode == 2, result.stdout + result.stderr
    assert keys is None
    assert ('Refusing to change SSH for %s: the key Ansible connects with (%s) would not be among %s\'s keys'
            % (ADMIN, tmp_path / 'id_ansible', ADMIN)) in result.stdout


def test_a_pasted_private_key_fails_without_being_printed(tmp_path):
    private = fixture('test-only-ed25519.ppk')
    result, keys = validate(tmp_path, [fixture('test-only-ed25519.rfc4716.pub'), private, 'not a key'],
                            connection_pub=fixture('test-only-ed25519.openssh.pub'))
    assert result.returncode == 2, result.stdout + result.stderr
    assert keys is None
    assert ('ssh_hardening_authorized_keys: item 2: this is a PuTTY private key (.ppk), which must stay private and '
            'never be given to the role') in result.stdout
    assert '"Public key for pasting into OpenSSH authorized_keys file"' in result.stdout
    assert 'item 3: not a public key line. Nothing was changed.' in result.stdout
    private_lines = private.split('Private-Lines:')[1].splitlines()[1:]
    secrets = re.findall(r'[A-Za-z0-9+/=]{16,}', '\n'.join(private_lines))
    assert secrets
    assert not any(secret in result.stdout + result.stderr for secret in secrets)
    assert 'Encryption: none' not in result.stdout + result.stderr
