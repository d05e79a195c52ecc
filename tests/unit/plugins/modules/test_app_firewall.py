# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app_firewall module's glue, against an in-process socketfilterfw."""

from __future__ import annotations

import os

import pytest

from ansible_collections.llmhost.macos.plugins.modules import app_firewall

READS = ('--getglobalstate', '--getstealthmode', '--listapps')


class FakeSocketfilterfw:
    """socketfilterfw with the texts of the reference notes (6.4) and the macsim stand-in.

    Without root the setters print what they print as root and change nothing (REAL for --add,
    lima-vm/socket_vmnet#51).  `ignore`: options that print success but do not take.
    """

    path = '/usr/libexec/ApplicationFirewall/socketfilterfw'

    def __init__(self, state=0, stealth=False, apps=(), root=True, older_layout=False, ignore=()):
        self.state = state
        self.stealth = stealth
        self.apps = [{'path': path, 'allow': allow} for path, allow in apps]
        self.root = root
        self.older_layout = older_layout
        self.ignore = set(ignore)
        self.calls = []

    def global_line(self):
        if self.state == 0:
            return 'Firewall is disabled. (State = 0)\n'
        if self.state == 2:
            return 'Firewall is blocking all non-essential incoming connections. (State = 2)\n'
        return 'Firewall is enabled. (State = 1)\n'

    def listapps(self):
        def verdict(app):
            return 'Allow' if app['allow'] else 'Block'

        if self.older_layout:
            return 'ALF: total number of apps = %d \n\n' % len(self.apps) + '\n'.join(
                '%d :  %s \n \t ( %s incoming connections ) \n' % (n, app['path'], verdict(app))
                for n, app in enumerate(self.apps, 1))
        return 'Total number of apps = %d\n' % len(self.apps) + ''.join(
            '%d : %s \n             (%s incoming connections)\n' % (n, app['path'], verdict(app))
            for n, app in enumerate(self.apps, 1))

    def find(self, path):
        return next((app for app in self.apps if app['path'] == path), None)

    def __call__(self, argv):
        argv = list(argv)
        self.calls.append(argv)
        option, value = argv[1], (argv[2] if len(argv) > 2 else None)
        take = self.root and option not in self.ignore
        if option == '--getglobalstate':
            return 0, self.global_line(), ''
        if option == '--getstealthmode':
            return 0, 'Firewall stealth mode is %s\n' % ('on' if self.stealth else 'off'), ''
        if option == '--listapps':
            return 0, self.listapps(), ''
        if option == '--setglobalstate':
            if take:
                self.state = 1 if value == 'on' else 0
            return 0, ('Firewall is enabled. (State = 1)\n' if value == 'on' else 'Firewall is disabled. (State = 0)\n'), ''
        if option == '--setstealthmode':
            if take:
                self.stealth = value == 'on'
            return 0, 'Stealth mode %s\n' % ('enabled' if value == 'on' else 'disabled'), ''
        if option == '--add':
            if take and self.find(value) is None:
                self.apps.append({'path': value, 'allow': True})
            return 0, 'Application at path ( %s ) added to firewall\n' % value, ''
        app = self.find(value)
        if app is None:
            return 0, 'The application is not part of the firewall\n', ''
        if option == '--unblockapp':
            if take:
                app['allow'] = True
            return 0, 'Incoming connection to the application is permitted\n', ''
        if option == '--remove':
            if take:
                self.apps.remove(app)
            return 0, 'Application at path ( %s ) removed from firewall\n' % value, ''
        raise AssertionError('unexpected socketfilterfw call %r' % argv)

    @property
    def writes(self):
        return [call[1:] for call in self.calls if call[1] not in READS]

    @property
    def reads(self):
        return [call[1] for call in self.calls if call[1] in READS]


@pytest.fixture
def root(monkeypatch):
    monkeypatch.setattr(app_firewall.os, 'geteuid', lambda: 0)


@pytest.fixture
def homebrew(tmp_path):
    """A Homebrew prefix under tmp_path with caddy 2.11.7 installed: (opt path, resolved Cellar path)."""
    prefix = tmp_path / 'opt' / 'homebrew'
    binary = prefix / 'Cellar' / 'caddy' / '2.11.7' / 'bin' / 'caddy'
    binary.parent.mkdir(parents=True)
    binary.write_text('#!/bin/sh\n')
    (prefix / 'opt').mkdir()
    (prefix / 'opt' / 'caddy').symlink_to('../Cellar/caddy/2.11.7')
    return str(prefix / 'opt' / 'caddy' / 'bin' / 'caddy'), os.path.realpath(str(binary))


def test_converged_runs_only_the_reads(run_module, root, homebrew):
    opt, cellar = homebrew
    fake = FakeSocketfilterfw(state=1, stealth=True, apps=[('/usr/libexec/sshd-session', False), (cellar, True)])
    result, failed = run_module(app_firewall, {'state': 'on', 'stealth_mode': True, 'allow': [opt],
                                               '_ansible_diff': True}, fake)
    assert not failed and not result['changed']
    assert fake.reads == ['--getglobalstate', '--getstealthmode', '--listapps'] and fake.writes == []
    assert result['state'] == 'on' and result['stealth_mode'] is True and result['commands'] == []
    assert result['apps'] == [{'path': '/usr/libexec/sshd-session', 'allowed': False}, {'path': cellar, 'allowed': True}]
    assert result['diff']['before'] == result['diff']['after']


def test_only_the_global_state_is_read_when_only_state_is_given(run_module, root):
    fake = FakeSocketfilterfw(state=2)
    result, failed = run_module(app_firewall, {'state': 'on'}, fake)
    assert not failed and not result['changed'] and result['state'] == 'on'
    assert fake.calls == [[fake.path, '--getglobalstate']]
    assert result['stealth_mode'] is None and result['apps'] is None


def test_converged_in_the_older_listapps_layout(run_module, root, homebrew):
    opt, cellar = homebrew
    fake = FakeSocketfilterfw(state=1, apps=[('/Applications/AppName.app', True), (cellar, True)], older_layout=True)
    result, failed = run_module(app_firewall, {'allow': [opt]}, fake)
    assert not failed and not result['changed'] and fake.writes == []
    assert result['apps'][1] == {'path': cellar, 'allowed': True}


@pytest.mark.parametrize('word', ['on', True])   # YAML 1.1 reads an unquoted `on` as true
def test_turns_the_firewall_on_and_is_idempotent(run_module, root, word):
    fake = FakeSocketfilterfw(state=0)
    result, failed = run_module(app_firewall, {'state': word, '_ansible_diff': True}, fake)
    assert not failed and result['changed'] and result['state'] == 'on'
    assert fake.writes == [['--setglobalstate', 'on']]
    assert fake.reads == ['--getglobalstate', '--getglobalstate']   # the read-back
    assert result['diff'] == {'before': {'state': 'off'}, 'after': {'state': 'on'}}
    result, failed = run_module(app_firewall, {'state': word}, fake)
    assert not failed and not result['changed'] and len(fake.writes) == 1


def test_turns_the_firewall_and_stealth_mode_off(run_module, root):
    fake = FakeSocketfilterfw(state=2, stealth=True)
    result, failed = run_module(app_firewall, {'state': 'off', 'stealth_mode': False}, fake)
    assert not failed and result['changed'] and result['state'] == 'off' and result['stealth_mode'] is False
    assert fake.writes == [['--setstealthmode', 'off'], ['--setglobalstate', 'off']]


def test_allows_a_new_path_before_turning_the_firewall_on(run_module, root, homebrew):
    opt, cellar = homebrew
    fake = FakeSocketfilterfw(state=0, apps=[('/usr/libexec/sshd-session', False)])
    result, failed = run_module(app_firewall, {'state': 'on', 'allow': [opt], '_ansible_diff': True}, fake)
    assert not failed and result['changed']
    assert fake.writes == [['--add', cellar], ['--unblockapp', cellar], ['--setglobalstate', 'on']]
    assert fake.reads == ['--getglobalstate', '--listapps', '--getglobalstate', '--listapps']
    assert result['apps'] == [{'path': '/usr/libexec/sshd-session', 'allowed': False}, {'path': cellar, 'allowed': True}]
    assert result['diff']['before'] == {'state': 'off', 'apps': [{'path': '/usr/libexec/sshd-session', 'allowed': False}]}
    assert result['diff']['after'] == {'state': 'on', 'apps': result['apps']}
    assert result['commands'] == [[fake.path, '--add', cellar], [fake.path, '--unblockapp', cellar],
                                  [fake.path, '--setglobalstate', 'on']]
    result, failed = run_module(app_firewall, {'state': 'on', 'allow': [opt]}, fake)
    assert not failed and not result['changed'] and len(fake.writes) == 3


def test_unblocks_a_blocked_path(run_module, root, homebrew):
    _opt, cellar = homebrew
    fake = FakeSocketfilterfw(state=1, apps=[(cellar, False)])
    result, failed = run_module(app_firewall, {'allow': [cellar]}, fake)
    assert not failed and result['changed']
    assert fake.writes == [['--unblockapp', cellar]]
    assert result['apps'] == [{'path': cellar, 'allowed': True}]


def test_a_symlink_is_allowed_by_its_resolved_path(run_module, root, tmp_path):
    target = tmp_path / 'real' / 'server'
    target.parent.mkdir()
    target.write_text('')
    link = tmp_path / 'link'
    link.symlink_to(target)
    fake = FakeSocketfilterfw(state=1, apps=[(str(link), True)])   # the unresolved path does not count
    result, failed = run_module(app_firewall, {'allow': [str(link)]}, fake)
    real = os.path.realpath(str(target))
    assert not failed and result['changed'] and real != str(link)
    assert fake.writes == [['--add', real], ['--unblockapp', real]]


def test_a_missing_path_fails_before_anything_runs(run_module, root, homebrew, tmp_path):
    opt, _cellar = homebrew
    fake = FakeSocketfilterfw(state=0)
    missing = str(tmp_path / 'opt' / 'homebrew' / 'opt' / 'ollama' / 'bin' / 'ollama')
    result, failed = run_module(app_firewall, {'state': 'on', 'allow': [opt, missing]}, fake)
    assert failed and fake.calls == []
    assert result['msg'].startswith('allow: %s does not exist' % missing)   # (resolves to ...) where tmp is a symlink


def test_check_mode_reads_and_writes_nothing(run_module, homebrew, monkeypatch):
    monkeypatch.setattr(app_firewall.os, 'geteuid', lambda: 501)   # the reads need no root
    opt, cellar = homebrew
    fake = FakeSocketfilterfw(state=0, stealth=False, apps=[(cellar, False)])
    args = {'state': 'on', 'stealth_mode': True, 'allow': [opt], '_ansible_check_mode': True, '_ansible_diff': True}
    result, failed = run_module(app_firewall, args, fake)
    assert not failed and result['changed'] and fake.writes == []
    assert fake.reads == ['--getglobalstate', '--getstealthmode', '--listapps']
    assert result['diff']['after'] == {'state': 'on', 'stealth_mode': True, 'apps': [{'path': cellar, 'allowed': True}]}
    assert result['commands'] == [[fake.path, '--unblockapp', cellar], [fake.path, '--setstealthmode', 'on'],
                                  [fake.path, '--setglobalstate', 'on']]


def test_check_mode_converged_is_unchanged(run_module, root):
    fake = FakeSocketfilterfw(state=1)
    result, failed = run_module(app_firewall, {'state': 'on', '_ansible_check_mode': True}, fake)
    assert not failed and not result['changed'] and fake.writes == []


def stale_setup(homebrew, tmp_path):
    opt, cellar = homebrew
    cellar_dir = os.path.dirname(os.path.dirname(os.path.dirname(cellar)))      # .../Cellar/caddy
    kept = os.path.join(cellar_dir, '2.11.5', 'bin', 'caddy')                   # an older version still installed
    os.makedirs(os.path.dirname(kept))
    with open(kept, 'w'):
        pass
    old = os.path.join(cellar_dir, '2.11.6', 'bin', 'caddy')                    # gone after the upgrade
    other = os.path.join(os.path.dirname(cellar_dir), 'ollama', '0.1.0', 'bin', 'ollama')   # another formula, gone
    helper = os.path.join(cellar_dir, '2.11.6', 'bin', 'caddy-helper')          # another file, gone
    listed = [('/usr/libexec/sshd-session', False), ('/Applications/Gone.app', True), (old, True), (kept, True),
              (other, True), (helper, False)]
    return opt, cellar, old, listed


def test_removes_stale_versions_only(run_module, root, homebrew, tmp_path):
    opt, cellar, old, listed = stale_setup(homebrew, tmp_path)
    fake = FakeSocketfilterfw(state=1, apps=listed)
    result, failed = run_module(app_firewall, {'allow': [opt], 'remove_stale': True, '_ansible_diff': True}, fake)
    assert not failed and result['changed']
    assert fake.writes == [['--add', cellar], ['--unblockapp', cellar], ['--remove', old]]
    assert [app['path'] for app in result['apps']] == [path for path, _allow in listed if path != old] + [cellar]
    assert old in [app['path'] for app in result['diff']['before']['apps']]
    result, failed = run_module(app_firewall, {'allow': [opt], 'remove_stale': True}, fake)
    assert not failed and not result['changed'] and len(fake.writes) == 3


def test_stale_versions_stay_without_remove_stale(run_module, root, homebrew, tmp_path):
    opt, cellar, _old, listed = stale_setup(homebrew, tmp_path)
    fake = FakeSocketfilterfw(state=1, apps=listed)
    result, failed = run_module(app_firewall, {'allow': [opt]}, fake)
    assert not failed and fake.writes == [['--add', cellar], ['--unblockapp', cellar]]


def test_not_root_fails_before_any_write(run_module, monkeypatch, homebrew):
    monkeypatch.setattr(app_firewall.os, 'geteuid', lambda: 501)
    opt, _cellar = homebrew
    fake = FakeSocketfilterfw(state=0, root=False)
    result, failed = run_module(app_firewall, {'state': 'on', 'allow': [opt]}, fake)
    assert failed and 'become: true' in result['msg'] and fake.writes == []
    assert fake.reads == ['--getglobalstate', '--listapps']


def test_a_write_that_does_not_take_fails(run_module, root, homebrew):
    # as run without root: socketfilterfw says "added" and changes nothing
    opt, cellar = homebrew
    fake = FakeSocketfilterfw(state=1, root=False)
    result, failed = run_module(app_firewall, {'allow': [opt]}, fake)
    assert failed and 'not part of the firewall' in result['msg']
    assert fake.writes == [['--add', cellar], ['--unblockapp', cellar]]


def test_a_setting_that_does_not_take_fails_after_the_read_back(run_module, root):
    fake = FakeSocketfilterfw(state=0, ignore=['--setglobalstate'])
    result, failed = run_module(app_firewall, {'state': 'on'}, fake)
    assert failed and result['msg'].startswith('socketfilterfw did not apply the change: the firewall is off, not on (')
    assert 'not run as root' in result['msg']
    assert result['not_applied'] == ['the firewall is off, not on']
    assert result['outputs'][0]['stdout'] == 'Firewall is enabled. (State = 1)\n'
