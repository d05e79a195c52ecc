# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""In-process fakes of `defaults` (one path domain) and of the kcpassword file for unit tests."""

from __future__ import annotations

DOMAIN = '/Library/Preferences/com.apple.loginwindow'


class FakeDefaults:
    """`defaults read/write/delete` of one domain; prints what macOS prints for a missing key."""

    path = '/usr/bin/defaults'

    def __init__(self, values=None, fail_read=None):
        self.values = dict(values or {})
        self.fail_read = fail_read
        self.calls, self.writes, self.reads = [], [], 0

    def __call__(self, argv):
        argv = list(argv)
        self.calls.append(argv)
        verb, domain, key = argv[1], argv[2], argv[3]
        assert domain == DOMAIN, argv
        if verb == 'read':
            self.reads += 1
            if self.fail_read:
                return self.fail_read
            if key not in self.values:
                return 1, '', ('2026-12-02 21:50:11.123 defaults[812:9931] \nThe domain/default pair of '
                               '(%s, %s) does not exist\n' % (domain, key))
            return 0, self.values[key] + '\n', ''
        self.writes.append(argv)
        if verb == 'write':
            assert argv[4] == '-string', argv
            self.values[key] = argv[5]
            return 0, '', ''
        if verb == 'delete':
            self.values.pop(key)
            return 0, '', ''
        raise AssertionError(argv)

    def wrapper(self):
        from ansible_collections.llmhost.macos.plugins.module_utils.autologin import Defaults
        return Defaults(self.path, self)


class FakeSecretFiles:
    def __init__(self):
        self.files, self.writes = {}, []

    def read(self, path):
        entry = self.files.get(path)
        return dict(entry) if entry else None

    def write(self, path, data):
        self.writes.append(('write', path))
        self.files[path] = {'data': data, 'mode': 0o100600, 'uid': 0}

    def secure(self, path):
        self.writes.append(('secure', path))
        self.files[path].update(mode=0o100600, uid=0)

    def remove(self, path):
        self.writes.append(('remove', path))
        del self.files[path]
