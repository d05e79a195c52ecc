# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The autologin module's glue: the password stays out of the result, bad input touches nothing."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils.autologin import decode_kcpassword
from ansible_collections.llmhost.macos.plugins.modules import autologin
from autologin_fakes import FakeDefaults, FakeSecretFiles


@pytest.fixture
def host(monkeypatch):
    files = FakeSecretFiles()
    monkeypatch.setattr(autologin, 'SecretFiles', lambda: files)
    monkeypatch.setattr(autologin, 'user_uid', {'admin': 501, 'root': 0}.get)
    monkeypatch.setattr(autologin.os, 'geteuid', lambda: 0)
    return files


def test_on_then_unchanged_and_the_password_is_nowhere_in_the_output(run_module, host, capsys):
    fake = FakeDefaults()
    args = {'user': 'admin', 'password': 'correct horse', '_ansible_diff': True}
    result, failed = run_module(autologin, args, fake)
    assert not failed and result['changed'] and result['user'] == 'admin'
    assert result['diff']['after'] == {'user': 'admin', 'kcpassword': 'the password'}
    assert 'correct horse' not in repr(result) and all('correct horse' not in ' '.join(c) for c in fake.calls)
    assert decode_kcpassword(host.files['/etc/kcpassword']['data']) == 'correct horse'
    result, failed = run_module(autologin, args, fake)
    assert not failed and not result['changed']
    assert [c[1] for c in fake.calls] == ['read', 'write', 'read']


def test_no_user_reads_nothing(run_module, host):
    fake = FakeDefaults()
    result, failed = run_module(autologin, {'user': 'someone', 'password': 'x'}, fake)
    assert failed and result['msg'] == 'user: there is no user someone on this Mac' and fake.calls == []


def test_check_mode(run_module, host):
    fake = FakeDefaults({'autoLoginUser': 'admin'})
    result, failed = run_module(autologin, {'state': 'absent', '_ansible_check_mode': True}, fake)
    assert not failed and result['changed'] and fake.writes == [] and fake.values == {'autoLoginUser': 'admin'}


@pytest.mark.skipif(autologin.os.geteuid() != 0, reason='chown to root needs root')
def test_the_file_is_root_only_from_the_moment_it_exists(tmp_path):
    path = str(tmp_path / 'kcpassword')
    files = autologin.SecretFiles()
    files.write(path, b'\x01\x02')
    info = autologin.os.stat(path)
    assert info.st_mode & 0o7777 == 0o600 and info.st_uid == 0 and info.st_gid == 0
    assert files.read(path)['data'] == b'\x01\x02'
    assert autologin.os.listdir(str(tmp_path)) == ['kcpassword']   # no temporary left


def test_an_unreadable_password_file_is_an_error_not_a_missing_one(tmp_path):
    path = tmp_path / 'kcpassword'
    files = autologin.SecretFiles()
    assert files.read(str(path)) is None
    path.mkdir()   # exists, and open() fails with IsADirectoryError (as EACCES does for a user without root)
    with pytest.raises(autologin.LlmhostError) as caught:
        files.read(str(path))
    assert 'Cannot read %s' % path in caught.value.msg and 'become' in caught.value.msg
