# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ssh_client_compat: which named client releases can still log in with the ssh_hardening lists."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.llmhost.macos.plugins.filter import ssh_client_compat as compat

ROLE = pathlib.Path(__file__).resolve().parents[4] / 'roles' / 'ssh_hardening'

# What the role configures by default (defaults/main.yml), the key exchanges as a Debian 12 OpenSSH offers them.
KEX = ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256',
       'curve25519-sha256@libssh.org']
NAMES = {'kex': 'ssh_hardening_kex_algorithms', 'ciphers': 'ssh_hardening_ciphers', 'macs': 'ssh_hardening_macs',
         'pubkey_algorithms': 'ssh_hardening_key_types'}


def role_defaults():
    return yaml.safe_load((ROLE / 'defaults' / 'main.yml').read_text())


def lists(**changed):
    defaults = role_defaults()
    result = {'kex': KEX, 'host_key_algorithms': ['ssh-ed25519'], 'ciphers': defaults['ssh_hardening_ciphers'],
              'macs': defaults['ssh_hardening_macs'], 'pubkey_algorithms': defaults['ssh_hardening_key_types']}
    result.update(changed)
    return result


def check(clients, **changed):
    return compat.ssh_client_compat(clients, lists(**changed), NAMES)


def release(client, version):
    return {'client': client, 'version': version}


PUTTY = release('putty', '0.78')
WINDOWS = release('windows_openssh', '9.5')
OPENSSH = release('openssh', '9.2p1')
NOTHING = {'invalid': [], 'lockouts': [], 'warnings': []}


# ---- the table is the one of docs/client-compat.md -----------------------------------------------

def doc_table():
    text = (ROLE / 'docs' / 'client-compat.md').read_text()
    blocks = re.findall(r'^```yaml\n(.*?)^```', text, re.MULTILINE | re.DOTALL)
    return yaml.safe_load(blocks[-1])


def test_the_table_is_the_one_of_the_versions_doc():
    table = doc_table()
    assert table['checked'] == compat.CHECKED
    assert table['backported_from'] == compat.BACKPORTED_FROM
    assert dict((client, table[client]) for client in compat.FIRST_RELEASE) == compat.FIRST_RELEASE
    assert sorted(table) == sorted(list(compat.FIRST_RELEASE) + ['checked', 'backported_from'])


def test_every_algorithm_of_the_table_has_a_category_and_the_role_defaults_are_all_known():
    known = set(name for category in compat.CATEGORIES.values() for name in category['known'])
    for client, table in compat.FIRST_RELEASE.items():
        assert set(table) == known, client
    defaults = role_defaults()
    for name in ('ssh_hardening_kex_preference', 'ssh_hardening_ciphers', 'ssh_hardening_macs',
                 'ssh_hardening_key_types'):
        assert set(defaults[name]) <= known, name


# ---- the role's defaults ------------------------------------------------------------------------

@pytest.mark.parametrize('client, version', [
    ('putty', '0.68'), ('putty', '0.78'), ('putty', '0.84'), ('putty', '0.90'),
    ('windows_openssh', '7.7'), ('windows_openssh', '8.6p1'), ('windows_openssh', '9.5.0.0p1-Beta'),
    ('openssh', '6.5'), ('openssh', '9.2p1'), ('openssh', '10.0p2'),
])
def test_the_role_defaults_let_every_supported_release_in(client, version):
    assert check([release(client, version)]) == NOTHING


def test_nothing_named_nothing_checked():
    assert check([]) == NOTHING
    assert compat.ssh_client_compat(None, {}) == NOTHING


# ---- lockouts: certain, with the fix ------------------------------------------------------------

def test_a_post_quantum_only_kex_list_locks_out_putty_078_and_windows_95():
    result = check([PUTTY, WINDOWS, release('putty', '0.83')], kex=['mlkem768x25519-sha256'])
    assert result['invalid'] == [] and result['warnings'] == []
    assert result['lockouts'] == [
        'PuTTY 0.78 has none of the key exchanges in ssh_hardening_kex_algorithms (mlkem768x25519-sha256), so it '
        'could not log in: add sntrup761x25519-sha512@openssh.com (PuTTY 0.78+) or curve25519-sha256 (PuTTY 0.75+) '
        'or curve25519-sha256@libssh.org (PuTTY 0.68+) to ssh_hardening_kex_algorithms, or use PuTTY 0.83 or later '
        '(the first release with one of the list)',
        'Windows OpenSSH 9.5 has none of the key exchanges in ssh_hardening_kex_algorithms (mlkem768x25519-sha256), '
        'so it could not log in: add curve25519-sha256 (Windows OpenSSH 7.7+) or curve25519-sha256@libssh.org '
        '(Windows OpenSSH 7.7+) to ssh_hardening_kex_algorithms, or use Windows OpenSSH 10.0 or later (the first '
        'release with one of the list)',
    ]


def test_the_readme_example_is_what_the_filter_says():
    readme = (ROLE / 'README.md').read_text()
    message = check([PUTTY], kex=['mlkem768x25519-sha256'])['lockouts'][0]
    example = re.search(r'for example: `(PuTTY 0\.78 has none.*?)`', readme, re.DOTALL).group(1)
    assert ' '.join(example.split()) == message


def test_one_common_entry_per_category_is_enough():
    assert check([PUTTY, WINDOWS], kex=['mlkem768x25519-sha256', 'curve25519-sha256'],
                 ciphers=['aes256-gcm@openssh.com', 'aes256-ctr'], macs=['hmac-sha2-256-etm@openssh.com']) == NOTHING


def test_a_mac_putty_has_never_had_with_only_ctr_ciphers_is_a_lockout():
    result = check([PUTTY], ciphers=['aes256-ctr'], macs=['umac-128-etm@openssh.com'])
    assert result['lockouts'] == [
        'PuTTY 0.78 has none of the MACs in ssh_hardening_macs (umac-128-etm@openssh.com), so it could not log in: '
        'add hmac-sha2-256-etm@openssh.com (PuTTY 0.68+) to ssh_hardening_macs (no PuTTY release up to 0.84 has any '
        'of the list)']


def test_hmac_sha2_512_is_too_new_for_putty_078():
    result = check([PUTTY, release('putty', '0.79')], ciphers=['aes256-ctr'], macs=['hmac-sha2-512-etm@openssh.com'])
    assert result['lockouts'] == [
        'PuTTY 0.78 has none of the MACs in ssh_hardening_macs (hmac-sha2-512-etm@openssh.com), so it could not log '
        'in: add hmac-sha2-256-etm@openssh.com (PuTTY 0.68+) to ssh_hardening_macs, or use PuTTY 0.79 or later (the '
        'first release with one of the list)']


def test_a_release_too_old_for_ed25519_is_locked_out_of_host_and_user_keys():
    result = check([release('putty', '0.67')])
    assert [message.split(' (')[0] for message in result['lockouts']] == [
        'PuTTY 0.67 has none of the key exchanges in ssh_hardening_kex_algorithms',
        'PuTTY 0.67 has none of the host key algorithms in HostKeyAlgorithms',
        'PuTTY 0.67 has none of the MACs in ssh_hardening_macs',
        'PuTTY 0.67 has none of the user key types in ssh_hardening_key_types',
    ]
    assert result['lockouts'][1].endswith('so it could not log in: use PuTTY 0.68 or later (the first release with '
                                          'one of the list)')


def test_versions_compare_as_numbers():
    assert check([release('putty', '0.100')], kex=['mlkem768x25519-sha256'])['lockouts'] == []
    assert check([release('putty', '0.9')], kex=['mlkem768x25519-sha256'])['invalid']  # not a PuTTY version
    assert check([release('openssh', '10.0')], kex=['mlkem768x25519-sha256']) == NOTHING
    assert check([release('openssh', '9.10')], kex=['mlkem768x25519-sha256']) == NOTHING
    assert check([release('windows_openssh', '9.5.0.0')])['lockouts'] == []
    assert len(check([release('windows_openssh', '9.8.3.0p2-Preview')], kex=['mlkem768x25519-sha256'])['lockouts']) == 1
    assert check([release('windows_openssh', '10.0.0.0p2-Preview')], kex=['mlkem768x25519-sha256']) == NOTHING


# ---- warnings: what the table cannot tell --------------------------------------------------------

def test_no_mac_in_common_is_only_a_warning_while_a_cipher_with_its_own_mac_is_shared():
    result = check([PUTTY], macs=['umac-128-etm@openssh.com'])
    assert result['lockouts'] == []
    assert result['warnings'] == [
        'PuTTY 0.78 has none of the MACs in ssh_hardening_macs (umac-128-etm@openssh.com): it logs in only if it picks '
        'chacha20-poly1305@openssh.com or aes256-gcm@openssh.com or aes128-gcm@openssh.com (they carry their own MAC) '
        'over aes256-ctr and aes192-ctr and aes128-ctr (PuTTY\'s default order puts AES-CTR before ChaCha20 and '
        'AES-GCM, so by default it fails); to be sure, add hmac-sha2-256-etm@openssh.com (PuTTY 0.68+) to '
        'ssh_hardening_macs (no PuTTY release up to 0.84 has any of the list)']


def test_no_mac_is_needed_when_only_ciphers_with_their_own_mac_are_shared():
    assert check([PUTTY], ciphers=['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com'],
                 macs=['umac-128-etm@openssh.com']) == NOTHING


def test_an_algorithm_the_table_does_not_list_is_a_warning():
    result = check([PUTTY], kex=['mlkem768x25519-sha256', 'ecdh-sha2-nistp256'])
    assert result['lockouts'] == []
    assert result['warnings'] == [
        'the role cannot tell whether PuTTY 0.78 has one of the key exchanges in ssh_hardening_kex_algorithms: it has '
        'none of the others, perhaps ecdh-sha2-nistp256 (not in the table)']
    rsa = check([PUTTY], pubkey_algorithms=['rsa-sha2-512'])
    assert rsa['lockouts'] == [] and 'perhaps rsa-sha2-512 (not in the table)' in rsa['warnings'][0]


def test_a_backported_algorithm_is_a_warning_for_the_releases_in_between():
    result = check([OPENSSH, release('openssh', '8.8'), release('openssh', '9.9')], kex=['sntrup761x25519-sha512'])
    assert result['warnings'] == [
        'the role cannot tell whether OpenSSH 9.2p1 has one of the key exchanges in ssh_hardening_kex_algorithms: it '
        'has none of the others, perhaps sntrup761x25519-sha512 (upstream from OpenSSH 9.9, maybe backported to 9.2p1 '
        'by its distribution)']
    assert [message.split(' has ')[0] for message in result['lockouts']] == ['OpenSSH 8.8']


def test_a_release_newer_than_the_table_may_have_what_the_older_ones_lack():
    result = check([release('putty', '0.85')], ciphers=['aes256-ctr'], macs=['umac-128-etm@openssh.com'])
    assert result['lockouts'] == []
    assert result['warnings'] == [
        'the role cannot tell whether PuTTY 0.85 has one of the MACs in ssh_hardening_macs: it has none of the others, '
        'perhaps umac-128-etm@openssh.com (in no PuTTY release up to 0.84, the last one the table checked)']


def test_a_release_older_than_the_table_is_a_warning():
    result = check([release('windows_openssh', '7.6')], kex=['mlkem768x25519-sha256'])
    assert result == {'invalid': [], 'lockouts': [], 'warnings': [
        'Windows OpenSSH 7.6: the table starts at Windows OpenSSH 7.7, so the role cannot tell whether this release '
        'can log in']}


# ---- input checks --------------------------------------------------------------------------------

@pytest.mark.parametrize('entry, problem', [
    ({'client': 'puty', 'version': '0.78'}, "unknown client 'puty' (known: openssh, putty, windows_openssh)"),
    ({'client': 'putty', 'version': 0.8},
     'the version must be a string in quotes, for example version: "0.80"; 0.8 is a number to YAML (0.80 unquoted '
     'is the number 0.8)'),
    ({'client': 'openssh', 'version': 9}, 'the version must be a string in quotes, for example version: "0.80"; 9 is '
                                          'a number to YAML (0.80 unquoted is the number 0.8)'),
    ({'client': 'putty', 'version': '0.8'},
     'PuTTY versions have two digits after the point ("0.80", not "0.8"): quote the version in YAML'),
    ({'client': 'openssh', 'version': '9.x'},
     '"9.x" is not a version like "0.78" (PuTTY), "9.5" or "9.5p1" (OpenSSH, Windows OpenSSH)'),
    ({'client': 'openssh', 'version': ''},
     '"" is not a version like "0.78" (PuTTY), "9.5" or "9.5p1" (OpenSSH, Windows OpenSSH)'),
    ({'client': 'putty'}, 'no version for putty'),
    ({'client': 'putty', 'version': '0.78', 'release': 'x'}, 'unknown key(s) release (only client and version)'),
    ('putty>=0.78', 'give a mapping with the keys client and version, for example {client: putty, version: "0.78"}'),
])
def test_bad_entries_are_named_by_number_and_not_checked(entry, problem):
    result = check([PUTTY, entry], kex=['mlkem768x25519-sha256'])
    assert result['invalid'] == ['item 2: ' + problem]
    assert len(result['lockouts']) == 1 and result['lockouts'][0].startswith('PuTTY 0.78 ')


def test_the_lists_must_be_known_categories():
    with pytest.raises(AnsibleFilterError, match='keys among kex, host_key_algorithms, ciphers, macs'):
        compat.ssh_client_compat([PUTTY], {'kexalgorithms': KEX})
    with pytest.raises(AnsibleFilterError):
        compat.ssh_client_compat([PUTTY], ['curve25519-sha256'])


def test_without_names_the_sshd_keywords_are_used():
    result = compat.ssh_client_compat([PUTTY], {'kex': ['mlkem768x25519-sha256'], 'ciphers': ['aes256-ctr'],
                                                'macs': ['umac-128-etm@openssh.com']})
    assert [message.split(' (')[0] for message in result['lockouts']] == [
        'PuTTY 0.78 has none of the key exchanges in KexAlgorithms', 'PuTTY 0.78 has none of the MACs in MACs']


def test_an_empty_or_missing_list_is_not_checked():
    assert compat.ssh_client_compat([release('putty', '0.60')], {'kex': [], 'ciphers': ['aes256-ctr']}) == NOTHING


def test_the_filter_is_registered():
    assert compat.FilterModule().filters() == {'ssh_client_compat': compat.ssh_client_compat}
