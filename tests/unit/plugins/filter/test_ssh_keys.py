# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ssh key filters on keys made by ssh-keygen and by PuTTYgen (fixtures/README.md)."""

from __future__ import annotations

import pathlib
import re
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

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


# ---- keys as PuTTYgen saves them (RFC 4716), and private keys pasted by mistake -----------------

FIXTURES = pathlib.Path(__file__).parent / 'fixtures'


def fixture(name):
    return (FIXTURES / name).read_text()


def openssh(name):
    """The line `puttygen KEY -O public-openssh` printed."""
    return fixture(name).strip()


def ssh_keygen_import(text, tmp_path):
    """TYPE and BASE64 of what OpenSSH's own RFC 4716 reader (ssh-keygen -i) makes of `text`."""
    path = tmp_path / 'key.pub'
    path.write_bytes(text.encode())
    out = subprocess.run(['ssh-keygen', '-i', '-f', str(path)], check=True, capture_output=True, text=True).stdout
    return out.split()[:2]


ED25519 = 'test-only-ed25519.openssh.pub'


@pytest.mark.parametrize('saved, line', [
    ('test-only-ed25519.rfc4716.pub', 'test-only-ed25519.openssh.pub'),
    ('test-only-rsa.rfc4716.pub', 'test-only-rsa.openssh.pub'),
    ('test-only-ed25519-quoted-comment.rfc4716.pub', 'test-only-ed25519-quoted-comment.openssh.pub'),
])
def test_puttygen_saved_key_converts_to_what_puttygen_prints(saved, line):
    assert ssh_keys.ssh_key_openssh(fixture(saved)) == openssh(line)
    assert ssh_keys.ssh_key_blob(fixture(saved)) == openssh(line).split()[1]
    assert ssh_keys.ssh_key_type(fixture(saved)) == openssh(line).split()[0]


def test_quoted_comment_is_unescaped():
    line = ssh_keys.ssh_key_openssh(fixture('test-only-ed25519-quoted-comment.rfc4716.pub'))
    assert line.split(' ', 2)[2] == ('a "quoted" back\\slash comment that is long enough to need a continuation line '
                                     'in the RFC 4716 file')


def test_openssh_line_is_returned_as_it_is(keys):
    assert ssh_keys.ssh_key_openssh('  %s\n' % keys['ed25519']) == keys['ed25519']
    with_options = 'from="10.0.0.0/8" ' + keys['ed25519']
    assert ssh_keys.ssh_key_openssh(with_options) == with_options
    assert ssh_keys.ssh_key_openssh('password123') == ''


@pytest.mark.parametrize('name, line', [
    ('edge-wrapped-70.rfc4716.pub', 'ssh-rsa %s rsa-key-20261202'),
    ('edge-continued-headers.rfc4716.pub', 'ssh-ed25519 %s eddsa-key-20261202 on the laptop'),
    ('edge-unquoted-comment.rfc4716.pub', 'ssh-ed25519 %s admin on the laptop'),
    ('edge-no-comment.rfc4716.pub', 'ssh-ed25519 %s'),
])
def test_hand_written_rfc4716(name, line, tmp_path):
    text = fixture(name)
    kind, blob = ssh_keygen_import(text, tmp_path)  # OpenSSH reads the same key from it
    assert ssh_keys.ssh_key_openssh(text) == line % blob
    assert line.startswith(kind + ' ')


def test_windows_line_endings_and_whitespace():
    expected = openssh(ED25519)
    saved = fixture('test-only-ed25519.rfc4716.pub')
    assert ssh_keys.ssh_key_openssh(saved.replace('\n', '\r\n')) == expected
    assert ssh_keys.ssh_key_openssh(saved.replace('\n', '\r')) == expected
    padded = '\n\n  ' + saved.replace('\n', '  \n    ').replace('\n    \n', '\n\n') + '\n \t\n'
    assert ssh_keys.ssh_key_openssh(padded) == expected
    continued = fixture('edge-continued-headers.rfc4716.pub').replace('\n', '\r\n')
    assert ssh_keys.ssh_key_openssh(continued) == expected.rsplit(' ', 1)[0] + ' eddsa-key-20261202 on the laptop'


def test_rfc4716_is_validated_as_the_converted_key():
    assert ssh_keys.ssh_key_problem(fixture('test-only-ed25519.rfc4716.pub')) == ''
    assert ssh_keys.ssh_key_problem(fixture('edge-continued-headers.rfc4716.pub')) == ''
    rsa = fixture('test-only-rsa.rfc4716.pub')
    assert ssh_keys.ssh_key_problem(rsa) == 'ssh-rsa keys are not allowed (allowed: ssh-ed25519)'
    assert ssh_keys.ssh_key_problem(rsa, ['ssh-ed25519', 'ssh-rsa']) == ''


@pytest.mark.parametrize('text, problem', [
    (fixture('edge-missing-end.rfc4716.pub'),
     'the RFC 4716 public key has no "---- END SSH2 PUBLIC KEY ----" line: give the whole file, down to that line'),
    (fixture('test-only-ed25519.rfc4716.pub').replace('\n', ' '),
     'the RFC 4716 public key lost its line breaks: give it as one string with the lines of the file '
     '(in YAML, a literal block "|", not ">")'),
    ('my key:\n' + fixture('test-only-ed25519.rfc4716.pub'),
     'the RFC 4716 public key must start with the line "---- BEGIN SSH2 PUBLIC KEY ----"'),
    (fixture('test-only-ed25519.rfc4716.pub') * 2,
     'one RFC 4716 public key per item: nothing may follow "---- END SSH2 PUBLIC KEY ----"'),
    (fixture('test-only-ed25519.rfc4716.pub') + 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFJrLkhPjmOiU1iq',
     'one RFC 4716 public key per item: nothing may follow "---- END SSH2 PUBLIC KEY ----"'),
    ('---- BEGIN SSH2 PUBLIC KEY ----\nComment: "x \\\n---- END SSH2 PUBLIC KEY ----',
     'the last header of the RFC 4716 public key ends in a backslash, so it continues on a line that is not there'),
    (fixture('test-only-ed25519.rfc4716.pub').replace('8mRL\n', '8mRL\nComment: late\n'),
     'a header of the RFC 4716 public key comes after its key data'),
    ('---- BEGIN SSH2 PUBLIC KEY ----\nComment: "empty"\n---- END SSH2 PUBLIC KEY ----\n',
     'the RFC 4716 public key has no key data'),
    (fixture('test-only-ed25519.rfc4716.pub').replace('8mRL', '8mR!'), 'the key data is not valid base64'),
    (fixture('test-only-ed25519.rfc4716.pub').replace('8mRL', '8mR'), 'the key data is not valid base64'),
    ('---- BEGIN SSH2 PUBLIC KEY ----\nAAAAAQ==\n---- END SSH2 PUBLIC KEY ----', 'the key data does not start with a key type'),
])
def test_broken_rfc4716_is_refused_saying_what_to_fix(text, problem):
    assert ssh_keys.ssh_key_problem(text) == problem
    assert ssh_keys.ssh_key_openssh(text) == '' and ssh_keys.ssh_key_blob(text) == ''


PUTTY_PRIVATE = (
    'this is a PuTTY private key (.ppk), which must stay private and never be given to the role (if it was committed '
    'or shared, make a new key). Give its public key instead: in PuTTYgen, load the .ppk and copy the one line in the '
    'box "Public key for pasting into OpenSSH authorized_keys file", or give the file that "Save public key" writes')


def secrets_of(text):
    """Every base64 run of a key file long enough to be key material."""
    return re.findall(r'[A-Za-z0-9+/=]{16,}', text)


@pytest.mark.parametrize('name', ['test-only-ed25519.ppk', 'test-only-ed25519-v2.ppk', 'test-only-rsa.ppk'])
def test_putty_private_key_is_refused_without_quoting_it(name):
    text = fixture(name)
    assert text.startswith(('PuTTY-User-Key-File-2:', 'PuTTY-User-Key-File-3:'))
    for pasted in (text, text.replace('\n', '\r\n'), '  ' + text, text.split('Private-Lines')[1]):
        problem = ssh_keys.ssh_key_problem(pasted, ['ssh-ed25519', 'ssh-rsa'])
        assert problem == PUTTY_PRIVATE
        assert not any(secret in problem for secret in secrets_of(text))
        assert ssh_keys.ssh_key_openssh(pasted) == '' and ssh_keys.ssh_key_blob(pasted) == ''
        assert ssh_keys.ssh_key_type(pasted) == ''


def test_openssh_private_key_is_refused_without_quoting_it(tmp_path):
    path = tmp_path / 'id'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'admin@laptop', '-f', str(path)], check=True)
    text = path.read_text()
    assert text.startswith('-----BEGIN OPENSSH PRIVATE KEY-----')
    problem = ssh_keys.ssh_key_problem(text)
    assert problem == (
        'this is an OpenSSH private key, which must stay private and never be given to the role (if it was committed '
        'or shared, make a new key). Give its public key instead: the .pub file next to it, or the line that '
        '`ssh-keygen -y -f KEYFILE` prints')
    assert not any(secret in problem for secret in secrets_of(text))
    # even when the public key line comes with it
    assert ssh_keys.ssh_key_problem(path.with_suffix('.pub').read_text() + text) == problem
    pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n'
    assert ssh_keys.ssh_key_problem(pem).startswith('this is a private key, which must stay private')


def test_merge_writes_rfc4716_keys_as_openssh_lines_once():
    saved = fixture('test-only-ed25519.rfc4716.pub')
    line = openssh(ED25519)
    first = ssh_keys.merge_authorized_keys(['# by hand'], [saved])
    assert first == ['# by hand', line]
    # the second run reads the file the first one wrote: nothing changes
    assert ssh_keys.merge_authorized_keys(first, [saved]) == first
    assert ssh_keys.merge_authorized_keys(first, [saved.replace('\n', '\r\n'), line]) == first
    # the key is there already under another comment: not added again
    renamed = [line.rsplit(' ', 1)[0] + ' old-name']
    assert ssh_keys.merge_authorized_keys(renamed, [saved]) == renamed
    assert ssh_keys.merge_authorized_keys(first, [saved, line], exclusive=True) == [line]
    rsa = fixture('test-only-rsa.rfc4716.pub')
    assert ssh_keys.merge_authorized_keys([], [saved, rsa], exclusive=True) == [line, openssh('test-only-rsa.openssh.pub')]


def test_merge_refuses_a_private_key_without_quoting_it():
    text = fixture('test-only-ed25519.ppk')
    with pytest.raises(AnsibleFilterError) as failed:
        ssh_keys.merge_authorized_keys([], [openssh(ED25519), text])
    assert str(failed.value) == 'merge_authorized_keys: wanted key 2: ' + PUTTY_PRIVATE
    with pytest.raises(AnsibleFilterError, match='wanted key 1: the RFC 4716 public key has no "---- END'):
        ssh_keys.merge_authorized_keys([], [fixture('edge-missing-end.rfc4716.pub')])


def test_lockout_guard_recognises_the_connection_key_in_either_form():
    """validate.yml compares the blob of Ansible's key with the blobs of the merged authorized_keys."""
    merged = ssh_keys.merge_authorized_keys([], [fixture('test-only-ed25519.rfc4716.pub')])
    blobs = [ssh_keys.ssh_key_blob(line) for line in merged]
    assert ssh_keys.ssh_key_blob(openssh(ED25519)) in blobs
    merged = ssh_keys.merge_authorized_keys([], [openssh(ED25519)])
    assert ssh_keys.ssh_key_blob(fixture('test-only-ed25519.rfc4716.pub')) in [ssh_keys.ssh_key_blob(x) for x in merged]
    assert ssh_keys.ssh_key_blob(fixture('test-only-rsa.rfc4716.pub')) not in blobs
