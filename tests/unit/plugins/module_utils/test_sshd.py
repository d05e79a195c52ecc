# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/sshd.py: sshd -T parsing, comparison, and which file set a value (first wins)."""

from __future__ import annotations

import fnmatch

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import sshd
from ansible_collections.llmhost.macos.plugins.module_utils.common import CommandError

# macOS layout (reference 6.1): Include at line 19 of the main file, Apple's drop-in 100-macos.conf.
MAIN = '\n'.join(['#\t$OpenBSD: sshd_config,v 1.104 2021/07/02 05:11:21 dtucker Exp $'] + ['#'] * 10 + [
    '',
    '# NOTE: The following Include directive is not part of the default',
    '# sshd_config shipped with OpenSSH. Options set in the included',
    '# configuration files generally override those that follow. The defaults',
    '# only apply to options that have not been explicitly set. Options that',
    '# appear multiple times keep the first value set, unless they are a',
    '# multivalue option such as HostKey or IdentityFile.',
    'Include /etc/ssh/sshd_config.d/*',
    '#PasswordAuthentication yes',
    'AuthorizedKeysFile\t.ssh/authorized_keys',
    'Subsystem\tsftp\t/usr/libexec/sftp-server',
    'Match User guest',
    '\tPasswordAuthentication yes',
])
APPLE = '# Options set by macOS that differ from the OpenSSH defaults.\nUsePAM yes\nAcceptEnv LANG LC_*\nInclude /etc/ssh/crypto.conf\n'
CRYPTO = 'Ciphers ^aes128-gcm@openssh.com,aes256-gcm@openssh.com\nKexAlgorithms ^ecdh-sha2-nistp256\n'
OURS = 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nMaxAuthTries 3\n'
EARLY = '# someone else\nPasswordAuthentication yes\nChallengeResponseAuthentication yes\n'


def tree(**extra):
    files = {'/etc/ssh/sshd_config': MAIN, '/etc/ssh/sshd_config.d/100-macos.conf': APPLE,
             '/etc/ssh/crypto.conf': CRYPTO, '/etc/ssh/sshd_config.d/01-llmhost.conf': OURS}
    files.update(extra)
    return files, files.get, (lambda pattern: [path for path in files if fnmatch.fnmatch(path, pattern)])


def test_parse_effective():
    text = ('port 22\naddressfamily any\nlistenaddress [::]:22\nlistenaddress 0.0.0.0:22\n'
            'passwordauthentication no\nkexalgorithms mlkem768x25519-sha256,curve25519-sha256\n'
            'authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\nallowusers admin\nallowusers ops\n')
    effective = sshd.parse_effective(text)
    assert effective['listenaddress'] == ['[::]:22', '0.0.0.0:22']
    assert effective['authorizedkeysfile'] == '.ssh/authorized_keys .ssh/authorized_keys2'
    assert effective['allowusers'] == ['admin', 'ops']
    assert effective['passwordauthentication'] == 'no'


def test_differences_compare_like_sshd_prints():
    effective = {'passwordauthentication': 'no', 'kbdinteractiveauthentication': 'no', 'maxauthtries': '3',
                 'kexalgorithms': 'a,b', 'allowusers': ['ops', 'admin'], 'hostkey': '/etc/ssh/ssh_host_ed25519_key'}
    assert sshd.differences({'PasswordAuthentication': False, 'ChallengeResponseAuthentication': 'no',
                             'MaxAuthTries': 3, 'KexAlgorithms': ['a', 'b'], 'AllowUsers': ['admin', 'ops'],
                             'HostKey': '/etc/ssh/ssh_host_ed25519_key'}, effective) == []
    assert sshd.differences({'KexAlgorithms': ['b', 'a'], 'PermitRootLogin': 'no', 'AllowUsers': ['admin']},
                            effective) == [
        {'keyword': 'allowusers', 'wanted': ['admin'], 'effective': ['ops', 'admin']},
        {'keyword': 'kexalgorithms', 'wanted': ['b', 'a'], 'effective': 'a,b'},
        {'keyword': 'permitrootlogin', 'wanted': 'no', 'effective': None}]


def test_directives_follow_includes_in_order_and_skip_match_blocks():
    _files, read, glob = tree()
    entries = sshd.read_directives('/etc/ssh/sshd_config', read, glob)
    assert [(keyword, path.rsplit('/', 1)[1]) for keyword, _value, path, _line in entries] == [
        ('passwordauthentication', '01-llmhost.conf'), ('kbdinteractiveauthentication', '01-llmhost.conf'),
        ('maxauthtries', '01-llmhost.conf'),
        ('usepam', '100-macos.conf'), ('acceptenv', '100-macos.conf'),
        ('ciphers', 'crypto.conf'), ('kexalgorithms', 'crypto.conf'),
        ('authorizedkeysfile', 'sshd_config'), ('subsystem', 'sshd_config')]


def test_a_drop_in_that_sorts_first_is_named():
    _files, read, glob = tree(**{'/etc/ssh/sshd_config.d/00-vendor.conf': EARLY})
    entries = sshd.read_directives('/etc/ssh/sshd_config', read, glob)
    problems = sshd.differences({'PasswordAuthentication': False, 'KbdInteractiveAuthentication': False},
                                {'passwordauthentication': 'yes', 'kbdinteractiveauthentication': 'yes'})
    messages = sshd.explain(problems, entries, '/etc/ssh/sshd_config.d/01-llmhost.conf')
    assert messages == [
        'kbdinteractiveauthentication is yes, wanted no: set first by /etc/ssh/sshd_config.d/00-vendor.conf line 3 '
        '(kbdinteractiveauthentication yes), which sshd reads before /etc/ssh/sshd_config.d/01-llmhost.conf',
        'passwordauthentication is yes, wanted no: set first by /etc/ssh/sshd_config.d/00-vendor.conf line 2 '
        '(passwordauthentication yes), which sshd reads before /etc/ssh/sshd_config.d/01-llmhost.conf']


def test_a_missing_include_is_explained():
    files, read, glob = tree()
    files['/etc/ssh/sshd_config'] = 'AuthorizedKeysFile .ssh/authorized_keys\n'
    entries = sshd.read_directives('/etc/ssh/sshd_config', read, glob)
    problems = sshd.differences({'MaxAuthTries': 3}, {'maxauthtries': '6'})
    assert sshd.explain(problems, entries, '/etc/ssh/sshd_config.d/01-llmhost.conf') == [
        "maxauthtries is 6, wanted 3: no file sets it (sshd's default applies): is "
        '/etc/ssh/sshd_config.d/01-llmhost.conf included by the main config?']


def test_include_loops_and_relative_paths():
    files = {'/etc/ssh/sshd_config': 'Include extra.conf\nPort 22\n', '/etc/ssh/extra.conf': 'Include /etc/ssh/sshd_config\nPort 2222\n'}
    entries = sshd.read_directives('/etc/ssh/sshd_config', files.get, lambda pattern: [pattern] if pattern in files else [])
    assert [(keyword, value) for keyword, value, _path, _line in entries] == [('port', '2222'), ('port', '22')]


# ---- check_config: what sshd_check runs -----------------------------------------------------------

class FakeSshdRun:
    """`sshd -T` answering with the effective values of a config tree (first value wins)."""

    def __init__(self, files, read, glob, rc=0, err=''):
        self.files, self.read, self.glob, self.rc, self.err = files, read, glob, rc, err
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        if self.rc:
            return self.rc, '', self.err
        entries = sshd.read_directives(argv[3], self.read, self.glob)
        seen, lines = set(), []
        for keyword, value, _path, _line in entries:
            if keyword not in seen:
                seen.add(keyword)
                lines.append('%s %s' % (keyword, value))
        return 0, '\n'.join(lines) + '\n', ''


def test_check_config_reads_once_and_reports_the_effective_values():
    files, read, glob = tree()
    run = FakeSshdRun(files, read, glob)
    result = sshd.check_config(sshd.Sshd('/usr/sbin/sshd', run), {'PasswordAuthentication': False, 'MaxAuthTries': 3},
                               '/etc/ssh/sshd_config', match={'user': 'admin', 'addr': '127.0.0.1'},
                               read=read, glob=glob)
    assert result == {'changed': False, 'effective': {'maxauthtries': '3', 'passwordauthentication': 'no'}}
    assert run.calls == [['/usr/sbin/sshd', '-T', '-f', '/etc/ssh/sshd_config', '-C', 'user=admin,addr=127.0.0.1']]


def test_check_config_names_the_file_that_wins():
    files, read, glob = tree(**{'/etc/ssh/sshd_config.d/00-early.conf': EARLY})
    with pytest.raises(sshd.SshdError) as excinfo:
        sshd.check_config(sshd.Sshd('/usr/sbin/sshd', FakeSshdRun(files, read, glob)), {'PasswordAuthentication': False},
                          '/etc/ssh/sshd_config', ours='/etc/ssh/sshd_config.d/01-llmhost.conf', read=read, glob=glob)
    assert excinfo.value.msg == (
        'sshd does not have the wanted configuration: passwordauthentication is yes, wanted no: set first by '
        '/etc/ssh/sshd_config.d/00-early.conf line 2 (passwordauthentication yes), which sshd reads before '
        '/etc/ssh/sshd_config.d/01-llmhost.conf')
    assert excinfo.value.details['effective'] == {'passwordauthentication': 'yes'}


def test_check_config_refuses_unknown_match_keys_before_running_sshd():
    files, read, glob = tree()
    run = FakeSshdRun(files, read, glob)
    with pytest.raises(sshd.SshdError) as excinfo:
        sshd.check_config(sshd.Sshd('/usr/sbin/sshd', run), {}, '/etc/ssh/sshd_config', match={'usr': 'admin'})
    assert excinfo.value.msg == 'match: unknown keys usr (use user, host, addr, laddr, lport, rdomain)'
    assert run.calls == []


def test_a_broken_config_is_a_command_error_with_what_sshd_said():
    files, read, glob = tree()
    run = FakeSshdRun(files, read, glob, rc=255, err='/etc/ssh/sshd_config line 3: Bad configuration option: Nope\n')
    with pytest.raises(CommandError) as excinfo:
        sshd.check_config(sshd.Sshd('/usr/sbin/sshd', run), {'MaxAuthTries': 3}, '/etc/ssh/sshd_config')
    assert excinfo.value.msg == ('/usr/sbin/sshd -T -f /etc/ssh/sshd_config failed (exit 255): '
                                 '/etc/ssh/sshd_config line 3: Bad configuration option: Nope')
