# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ssh key filters on keys made by ssh-keygen."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.llmhost.macos.plugins.filter import ssh_keys


@pytest.fixture(scope='module')
def keys(tmp_path_factory):
    made = {}
    for kind in ('ed25519', 'rsa', 'ecdsa'):
        path = tmp_path_factory.mktemp(kind) / 'id'
        subprocess.run(['ssh-keygen', '-q', '-t', kind, '-N', '', '-C', 'admin@laptop', '-f', str(path)], check=True)
        made[kind] = path.with_suffix('.pub').read_text().strip()
    return made


def test_blob_and_type(keys):
    line = keys['ed25519']
    assert ssh_keys.ssh_key_type(line) == 'ssh-ed25519'
    assert ssh_keys.ssh_key_blob(line) == line.split()[1]
    with_options = 'from="10.0.0.0/8",no-agent-forwarding ' + line
    assert ssh_keys.ssh_key_blob(with_options) == line.split()[1]
    assert ssh_keys.ssh_key_type('# a comment') == '' and ssh_keys.ssh_key_blob('') == ''


def test_problems(keys):
    assert ssh_keys.ssh_key_problem(keys['ed25519']) == ''
    assert ssh_keys.ssh_key_problem(keys['rsa']) == 'ssh-rsa keys are not allowed (allowed: ssh-ed25519)'
    assert ssh_keys.ssh_key_problem(keys['rsa'], ['ssh-ed25519', 'ssh-rsa']) == ''
    kind, blob = keys['rsa'].split()[:2]
    assert ssh_keys.ssh_key_problem('ssh-ed25519 %s x' % blob) == 'the line says ssh-ed25519 but the key data is ssh-rsa'
    assert ssh_keys.ssh_key_problem('ssh-ed25519 AAAA!!!') == 'not a public key line'
    assert ssh_keys.ssh_key_problem('ssh-ed25519 AAAAB') == 'the key data is not valid base64'
    assert ssh_keys.ssh_key_problem('password123') == 'not a public key line'


def test_merge(keys):
    existing = ['# managed by hand', keys['rsa'], '', keys['ed25519'].rsplit(' ', 1)[0] + ' old-comment']
    merged = ssh_keys.merge_authorized_keys(existing, [keys['ed25519'], keys['ecdsa']])
    assert merged == ['# managed by hand', keys['rsa'], keys['ed25519'].rsplit(' ', 1)[0] + ' old-comment', keys['ecdsa']]
    assert ssh_keys.merge_authorized_keys(existing, [keys['ed25519']], exclusive=True) == [keys['ed25519']]
    assert ssh_keys.merge_authorized_keys([], [keys['ed25519'], keys['ed25519']]) == [keys['ed25519']]
