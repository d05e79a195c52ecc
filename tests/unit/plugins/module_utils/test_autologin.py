# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Automatic login: the kcpassword encoding and the plan."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import autologin
from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from autologin_fakes import FakeDefaults, FakeSecretFiles


def test_the_first_bytes_are_the_password_xor_the_fixed_key():
    # 'A' ^ 0x7D = 0x3C and 'a' ^ 0x89 = 0xE8, as published kcpassword decoders show
    assert autologin.encode_kcpassword('Aa')[:2] == b'\x3c\xe8'


@pytest.mark.parametrize('password, length', [('a', 12), ('x' * 11, 12), ('x' * 12, 24), ('x' * 13, 24),
                                              ('pässwörd', 12)])
def test_padding_to_a_multiple_of_twelve_with_a_full_block_when_it_fits_exactly(password, length):
    data = autologin.encode_kcpassword(password)
    assert len(data) == length
    assert autologin.decode_kcpassword(data) == password


def test_a_file_padded_the_old_way_to_eleven_bytes_still_reads():
    plain = bytearray(b'secret') + bytearray(5)
    data = bytes(bytearray(b ^ autologin.KEY[i] for i, b in enumerate(plain)))
    assert autologin.decode_kcpassword(data) == 'secret'


def test_bytes_that_are_not_text_decode_to_none():
    data = bytes(bytearray(b ^ autologin.KEY[i] for i, b in enumerate(bytearray(b'\xff\xfe\x00'))))
    assert autologin.decode_kcpassword(data) is None


def present(**extra):
    return dict({'state': 'present', 'user': 'admin', 'password': 'correct horse'}, **extra)


def test_turning_it_on_writes_the_file_then_the_user_and_a_second_run_does_nothing():
    defaults, files = FakeDefaults(), FakeSecretFiles()
    result = autologin.ensure_autologin(defaults.wrapper(), files, present())
    assert result['changed'] and result['user'] == 'admin' and result['previous_user'] is None
    assert result['actions'] == ['write /etc/kcpassword',
                                 'defaults write /Library/Preferences/com.apple.loginwindow autoLoginUser']
    assert autologin.decode_kcpassword(files.files['/etc/kcpassword']['data']) == 'correct horse'
    assert files.files['/etc/kcpassword']['mode'] == 0o100600 and files.files['/etc/kcpassword']['uid'] == 0
    assert defaults.values == {'autoLoginUser': 'admin'}
    writes = defaults.writes + files.writes
    again = autologin.ensure_autologin(defaults.wrapper(), files, present())
    assert not again['changed'] and again['actions'] == []
    assert defaults.writes + files.writes == writes
    assert defaults.reads == 2   # one defaults read per run


def test_the_password_never_appears_in_the_result():
    result = autologin.ensure_autologin(FakeDefaults().wrapper(), FakeSecretFiles(), present())
    assert 'correct horse' not in repr(result)
    assert result['diff'] == {'before': {'user': None, 'kcpassword': 'absent'},
                              'after': {'user': 'admin', 'kcpassword': 'the password'}}


def test_a_changed_password_rewrites_only_the_file():
    defaults, files = FakeDefaults({'autoLoginUser': 'admin'}), FakeSecretFiles()
    files.files['/etc/kcpassword'] = {'data': autologin.encode_kcpassword('old one'), 'mode': 0o100600, 'uid': 0}
    result = autologin.ensure_autologin(defaults.wrapper(), files, present())
    assert result['actions'] == ['write /etc/kcpassword']
    assert result['diff']['before']['kcpassword'] == 'another password'
    assert defaults.writes == []


def test_a_file_anyone_can_read_is_made_root_only_without_rewriting_it():
    defaults, files = FakeDefaults({'autoLoginUser': 'admin'}), FakeSecretFiles()
    files.files['/etc/kcpassword'] = {'data': autologin.encode_kcpassword('correct horse'), 'mode': 0o100644,
                                      'uid': 501}
    result = autologin.ensure_autologin(defaults.wrapper(), files, present())
    assert result['actions'] == ['make /etc/kcpassword root:wheel 0600']
    assert files.files['/etc/kcpassword']['mode'] == 0o100600 and files.files['/etc/kcpassword']['uid'] == 0


def test_another_user_is_replaced():
    defaults = FakeDefaults({'autoLoginUser': 'guest'})
    result = autologin.ensure_autologin(defaults.wrapper(), FakeSecretFiles(), present())
    assert result['previous_user'] == 'guest' and defaults.values['autoLoginUser'] == 'admin'


def test_check_mode_predicts_and_writes_nothing():
    defaults, files = FakeDefaults(), FakeSecretFiles()
    result = autologin.ensure_autologin(defaults.wrapper(), files, present(), check_mode=True)
    assert result['changed'] and len(result['actions']) == 2
    assert files.files == {} and defaults.values == {} and defaults.writes == []


def test_turning_it_off_removes_the_user_first_then_the_file():
    defaults, files = FakeDefaults({'autoLoginUser': 'admin'}), FakeSecretFiles()
    files.files['/etc/kcpassword'] = {'data': autologin.encode_kcpassword('x'), 'mode': 0o100600, 'uid': 0}
    result = autologin.ensure_autologin(defaults.wrapper(), files, {'state': 'absent'})
    assert result['actions'] == ['defaults delete /Library/Preferences/com.apple.loginwindow autoLoginUser',
                                 'remove /etc/kcpassword']
    assert defaults.values == {} and files.files == {} and result['user'] is None
    assert result['diff']['before'] == {'user': 'admin', 'kcpassword': 'present'}
    assert not autologin.ensure_autologin(defaults.wrapper(), files, {'state': 'absent'})['changed']


def test_a_change_without_root_fails_before_writing():
    defaults, files = FakeDefaults(), FakeSecretFiles()
    with pytest.raises(LlmhostError, match='needs root: use become'):
        autologin.ensure_autologin(defaults.wrapper(), files, present(), is_root=False)
    assert files.files == {} and defaults.values == {}


def test_defaults_read_failing_otherwise_is_an_error():
    defaults = FakeDefaults(fail_read=(2, '', 'defaults: something else went wrong'))
    with pytest.raises(LlmhostError, match=r'defaults read .* failed \(exit 2\): defaults: something else'):
        autologin.ensure_autologin(defaults.wrapper(), FakeSecretFiles(), present())


@pytest.mark.parametrize('params, message', [
    ({'state': 'present', 'user': 'admin', 'password': ''}, 'needs user and password'),
    ({'state': 'present', 'user': None, 'password': 'x'}, 'needs user and password'),
    ({'state': 'present', 'user': 'nobody-here', 'password': 'x'}, 'there is no user nobody-here'),
    ({'state': 'present', 'user': 'root', 'password': 'x'}, 'as root is not offered'),
    ({'state': 'present', 'user': 'admin', 'password': 'a\0b'}, 'NUL'),
])
def test_bad_input_is_refused(params, message):
    uids = {'admin': 501, 'root': 0}
    with pytest.raises(LlmhostError, match=message):
        autologin.validate_params(params, uids.get)


def test_absent_needs_nothing():
    autologin.validate_params({'state': 'absent', 'user': None, 'password': None}, lambda name: None)
