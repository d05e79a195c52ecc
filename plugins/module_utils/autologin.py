# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""macOS automatic login: loginwindow's autoLoginUser and /etc/kcpassword, read and planned.

At boot, loginwindow logs in the user named by `autoLoginUser` in
/Library/Preferences/com.apple.loginwindow with the password stored in /etc/kcpassword. That file
is the password XOR-ed with a fixed 11-byte key (obfuscation, not encryption: anyone who can read it
has the password), padded with zero bytes to a multiple of 12, and 12 more when the password already
fills one. With FileVault on, macOS does not log anyone in automatically.

Pure Python 3.9, no third-party imports: the planner takes a `defaults` wrapper and a file reader,
so unit tests drive it with fakes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, LlmhostError, command_failed

KCPASSWORD = '/etc/kcpassword'
LOGINWINDOW = '/Library/Preferences/com.apple.loginwindow'
AUTO_LOGIN_KEY = 'autoLoginUser'
KEY = bytearray([0x7D, 0x89, 0x52, 0x23, 0xD2, 0xBC, 0xDD, 0xEA, 0xA3, 0xB9, 0x1F])
BLOCK = 12


def encode_kcpassword(password):
    """The bytes of /etc/kcpassword for a password."""
    data = bytearray(password.encode('utf-8'))
    data += bytearray(BLOCK - len(data) % BLOCK)  # a full block of padding when it already fills one
    return bytes(bytearray(byte ^ KEY[i % len(KEY)] for i, byte in enumerate(data)))


def decode_kcpassword(data):
    """The password in /etc/kcpassword's bytes (up to the first zero byte), or None when it is not text."""
    plain = bytearray(byte ^ KEY[i % len(KEY)] for i, byte in enumerate(bytearray(data)))
    end = plain.find(0)
    try:
        return bytes(plain[:end if end >= 0 else len(plain)]).decode('utf-8')
    except UnicodeDecodeError:
        return None


class Defaults(Command):
    """/usr/bin/defaults for one key of a path domain."""

    def read(self, domain, key):
        """The value as `defaults read` prints it, or None when the key (or the domain) does not exist."""
        argv, rc, out, err = self.call('read', domain, key)
        if rc == 0:
            return out.rstrip('\n')
        if rc == 1 and 'does not exist' in (err + out):
            return None
        raise command_failed(argv, rc, out, err)

    def write_string(self, domain, key, value):
        self.check('write', domain, key, '-string', value)

    def delete(self, domain, key):
        self.check('delete', domain, key)


def validate_params(params, user_uid):
    """Refuse bad input before anything is read. user_uid(name) -> uid or None."""
    if params['state'] == 'absent':
        return
    user, password = params.get('user'), params.get('password')
    if not user or password is None or password == '':
        raise LlmhostError('state=present needs user and password (the user\'s login password, which '
                           'loginwindow types in at boot)')
    if '\0' in password:
        raise LlmhostError('password: /etc/kcpassword cannot hold a password with a NUL character')
    uid = user_uid(user)
    if uid is None:
        raise LlmhostError('user: there is no user %s on this Mac' % user)
    if uid == 0:
        raise LlmhostError('user: automatic login as root is not offered; name the user the service runs as')


def _kcpassword_state(current, password):
    if current is None:
        return 'absent'
    return 'the password' if decode_kcpassword(current['data']) == password else 'another password'


def ensure_autologin(defaults, files, params, check_mode=False, is_root=True):
    """Bring automatic login to params['state']; returns the module result, the password never in it.

    files: read(path) -> {'data': bytes, 'mode': int, 'uid': int} or None, write(path, data) (root:wheel
    0600, atomic), secure(path) (root:wheel 0600), remove(path).
    """
    state, user, password = params['state'], params.get('user'), params.get('password')
    current_user = defaults.read(LOGINWINDOW, AUTO_LOGIN_KEY)
    current = files.read(KCPASSWORD)
    before = {'user': current_user, 'kcpassword': _kcpassword_state(current, password)}
    steps = []
    if state == 'present':
        if before['kcpassword'] != 'the password':
            steps.append(('write %s' % KCPASSWORD, lambda: files.write(KCPASSWORD, encode_kcpassword(password))))
        elif current['mode'] & 0o7777 != 0o600 or current['uid'] != 0:
            steps.append(('make %s root:wheel 0600' % KCPASSWORD, lambda: files.secure(KCPASSWORD)))
        if current_user != user:
            steps.append(('defaults write %s %s' % (LOGINWINDOW, AUTO_LOGIN_KEY),
                          lambda: defaults.write_string(LOGINWINDOW, AUTO_LOGIN_KEY, user)))
        after = {'user': user, 'kcpassword': 'the password'}
    else:
        # the user first: a name without a password leaves the Mac at the login window, not logged in
        if current_user is not None:
            steps.append(('defaults delete %s %s' % (LOGINWINDOW, AUTO_LOGIN_KEY),
                          lambda: defaults.delete(LOGINWINDOW, AUTO_LOGIN_KEY)))
        if current is not None:
            steps.append(('remove %s' % KCPASSWORD, lambda: files.remove(KCPASSWORD)))
        after = {'user': None, 'kcpassword': 'absent'}
    actions = [description for description, _step in steps]
    if steps and not check_mode and not is_root:
        raise LlmhostError('Changing automatic login needs root: use become: true', actions=actions)
    if not check_mode:
        for _description, step in steps:
            step()
    if state == 'absent' and before['kcpassword'] != 'absent':
        before['kcpassword'] = 'present'  # without a password to compare with, only whether it is there
    return {
        'changed': bool(steps),
        'actions': actions,
        'user': after['user'],
        'previous_user': current_user,
        'diff': {'before': before, 'after': after},
    }
