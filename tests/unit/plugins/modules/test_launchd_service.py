# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The launchd_service module's glue: arguments, uid, root, check mode, diff, file writes."""

from __future__ import annotations

import collections
import os
import plistlib

import pytest

from ansible_collections.llmhost.macos.plugins.modules import launchd_service
from launchd_fakes import FakeFiles, FakeLaunchctl

User = collections.namedtuple('User', 'pw_name pw_uid pw_gid pw_dir')
USERS = {0: User('root', 0, 0, '/var/root'), 501: User('admin', 501, 20, '/Users/admin')}
JOB = {'ProgramArguments': ['/opt/homebrew/bin/ollama', 'serve'], 'RunAtLoad': True, 'KeepAlive': True}


@pytest.fixture
def host(monkeypatch):
    files = FakeFiles()
    launchctl = FakeLaunchctl(files)
    monkeypatch.setattr(launchd_service, 'HostFiles', lambda: files)
    monkeypatch.setattr(launchd_service.pwd, 'getpwuid', lambda uid: USERS[uid])
    monkeypatch.setattr(launchd_service.os, 'geteuid', lambda: 0)
    monkeypatch.setattr(launchd_service.os, 'getuid', lambda: 0)
    monkeypatch.setenv('SUDO_UID', '501')
    monkeypatch.setattr(launchd_service.time, 'sleep', lambda seconds: None)
    return files, launchctl


def test_system_daemon_then_nothing(run_module, host):
    files, launchctl = host
    result, failed = run_module(launchd_service, {'label': 'com.llmhost.ollama', 'plist': JOB}, launchctl)
    assert not failed and result['changed'], result
    assert result['domain'] == 'system' and result['state'] == 'running' and result['pid'] == 501
    assert plistlib.loads(files.files['/Library/LaunchDaemons/com.llmhost.ollama.plist'])['Label'] == 'com.llmhost.ollama'
    launchctl.calls.clear()
    result, failed = run_module(launchd_service, {'label': 'com.llmhost.ollama', 'plist': JOB}, launchctl)
    assert not failed and not result['changed']
    assert [argv[1] for argv in launchctl.calls] == ['print']


def test_gui_domain_uses_the_connecting_user_under_become(run_module, host):
    files, launchctl = host
    result, failed = run_module(launchd_service, {'label': 'homebrew.mxcl.ollama', 'domain': 'gui', 'plist': JOB,
                                                  '_ansible_check_mode': True, '_ansible_diff': True}, launchctl)
    assert not failed and result['domain'] == 'gui/501'
    assert result['plist_path'] == '/Users/admin/Library/LaunchAgents/homebrew.mxcl.ollama.plist'
    assert files.files == {} and launchctl.writes() == []
    assert result['diff']['before']['plist'] is None and '<key>KeepAlive</key>' in result['diff']['after']['plist']


def test_not_root_fails_before_writing(run_module, host, monkeypatch):
    files, launchctl = host
    monkeypatch.setattr(launchd_service.os, 'geteuid', lambda: 501)
    result, failed = run_module(launchd_service, {'label': 'com.llmhost.ollama', 'plist': JOB}, launchctl)
    assert failed and result['msg'] == 'Changing system-domain job com.llmhost.ollama needs root: use become: true'
    assert files.files == {}


@pytest.mark.parametrize('args, message', [
    ({'label': 'bad label', 'plist': JOB}, "label: 'bad label' is not a launchd label"),
    ({'label': 'com.x', 'plist': {'RunAtLoad': True}}, 'Invalid job definition: plist: needs ProgramArguments'),
    ({'label': 'com.x', 'plist': JOB, 'plist_path': '/tmp/x.plist'}, 'parameters are mutually exclusive: plist|plist_path'),
    ({'label': 'com.x', 'enabled': False}, 'enabled: false stops launchd from loading the job'),
    ({'label': 'com.x', 'domain': 'gui', 'uid': 777, 'plist': JOB}, 'uid: no user with uid 777 on this host'),
])
def test_bad_input_fails_before_launchctl_runs(run_module, host, args, message, monkeypatch):
    files, launchctl = host

    def getpwuid(uid):
        if uid not in USERS:
            raise KeyError('getpwuid(): uid not found: %d' % uid)
        return USERS[uid]
    monkeypatch.setattr(launchd_service.pwd, 'getpwuid', getpwuid)
    result, failed = run_module(launchd_service, args, launchctl)
    assert failed and message in result['msg'], result['msg']
    assert launchctl.calls == [] and files.files == {}


def test_crash_loop_fails_with_the_exit_code(run_module, host):
    files, launchctl = host
    launchctl.crash['com.llmhost.bad'] = 78
    result, failed = run_module(launchd_service, {'label': 'com.llmhost.bad', 'plist': JOB, 'wait': 1}, launchctl)
    assert failed and result['last_exit_code'] == 78
    assert 'crash looping' in result['msg']


def test_host_files_write_atomically_with_owner_and_mode(tmp_path, monkeypatch):
    chowned = []
    monkeypatch.setattr(launchd_service.os, 'chown', lambda path, uid, gid: chowned.append((os.path.basename(path), uid, gid)))
    monkeypatch.setattr(launchd_service.pwd, 'getpwuid', lambda uid: USERS[uid])

    files = launchd_service.HostFiles()
    target = tmp_path / 'LaunchAgents' / 'com.x.plist'
    files.write(str(target), b'<plist/>', 501)
    assert target.read_bytes() == b'<plist/>'
    assert oct(target.stat().st_mode & 0o777) == '0o644'
    assert chowned[0] == ('LaunchAgents', 501, 20) and chowned[1][1:] == (501, 20)
    assert files.read(str(target)) == b'<plist/>' and files.read(str(tmp_path / 'nope')) is None
    assert os.listdir(str(tmp_path / 'LaunchAgents')) == ['com.x.plist']
    files.remove(str(target))
    assert not target.exists()


def test_the_job_state_survives_ansibles_file_attributes(run_module, host, tmp_path):
    """AnsibleModule replaces `state` (and adds owner, mode, ...) in a result whose `path` exists on the
    host: the job's definition file must not be returned under that name, or `state` says `file`."""
    files, launchctl = host
    plist = tmp_path / 'com.llmhost.ollama.plist'
    data = plistlib.dumps(dict(JOB, Label='com.llmhost.ollama'))
    plist.write_bytes(data)
    files.files[str(plist)] = data
    result, failed = run_module(launchd_service, {'label': 'com.llmhost.ollama', 'plist_path': str(plist)}, launchctl)
    assert not failed, result
    assert result['state'] == 'running' and result['plist_path'] == str(plist)
    assert 'mode' not in result and 'owner' not in result
