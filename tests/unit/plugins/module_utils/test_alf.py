# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""socketfilterfw parsers and planner, with the outputs recorded in the reference notes (section 6.4)."""

from __future__ import annotations

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import alf as A
from ansible_collections.llmhost.macos.plugins.module_utils.common import CommandError

FW = '/usr/libexec/ApplicationFirewall/socketfilterfw'

# nix-darwin/nix-darwin#1705 (macOS 15.3.1 and later): the first four entries, the header made to match
# them; whitespace as measured (one space either side of the colon, a trailing space after the path,
# 13 spaces before the parenthesis).
LISTAPPS_CURRENT = (
    'Total number of apps = 4\n'
    '1 : /usr/libexec/sshd-session \n'
    '             (Block incoming connections)\n'
    '2 : /usr/libexec/sshd-auth \n'
    '             (Block incoming connections)\n'
    '3 : /usr/libexec/remoted \n'
    '             (Allow incoming connections)\n'
    '4 : /usr/bin/python3 \n'
    '             (Allow incoming connections)\n'
)
# The older layout (fixtures, <= macOS 14?): blank lines, two spaces after the colon, " \t ( ... ) ".
LISTAPPS_OLDER = (
    'ALF: total number of apps = 2 \n'
    '\n'
    '1 :  /Applications/AppName.app \n'
    ' \t ( Allow incoming connections ) \n'
    '\n'
    '2 :  /Applications/AppName2.app \n'
    ' \t ( Block incoming connections ) \n'
)


@pytest.mark.parametrize('text, expected', [
    ('Firewall is disabled. (State = 0)\n', 0),
    ('Firewall is enabled. (State = 1)\n', 1),
    ('Firewall is enabled. (State = 2)\n', 2),                                           # m-cli#160, older macOS
    ('Firewall is blocking all non-essential incoming connections. (State = 2)\n', 2),   # macOS 15
])
def test_parse_global_state(text, expected):
    assert A.parse_global_state(text) == expected
    assert A.state_word(expected) == ('off' if expected == 0 else 'on')


def test_parse_global_state_of_setglobalstate():
    # m-cli#160: `--setglobalstate off` then `on` print the new state line
    assert A.parse_global_state('Firewall is disabled. (State = 0)\n') == 0
    assert A.parse_global_state('Firewall is enabled. (State = 1)\n') == 1


@pytest.mark.parametrize('text', ['', 'Firewall has block all state set to disabled.\n', 'Firewall is enabled.\n'])
def test_parse_global_state_refuses(text):
    with pytest.raises(A.AlfError, match='Could not understand socketfilterfw --getglobalstate'):
        A.parse_global_state(text)


@pytest.mark.parametrize('text, expected', [
    ('Firewall stealth mode is on\n', True),
    ('Firewall stealth mode is off\n', False),
    ('Stealth mode enabled\n', True),       # unverified wording, accepted
    ('Stealth mode disabled\n', False),
])
def test_parse_stealth_mode(text, expected):
    assert A.parse_stealth_mode(text) is expected


@pytest.mark.parametrize('text', ['', 'Firewall stealth mode is sometimes\n', 'Firewall is enabled. (State = 1)\n'])
def test_parse_stealth_mode_refuses(text):
    with pytest.raises(A.AlfError, match='--getstealthmode'):
        A.parse_stealth_mode(text)


def test_parse_listapps_current_layout():
    assert A.parse_listapps(LISTAPPS_CURRENT) == [
        {'path': '/usr/libexec/sshd-session', 'allowed': False},
        {'path': '/usr/libexec/sshd-auth', 'allowed': False},
        {'path': '/usr/libexec/remoted', 'allowed': True},
        {'path': '/usr/bin/python3', 'allowed': True},
    ]


def test_parse_listapps_older_layout():
    assert A.parse_listapps(LISTAPPS_OLDER) == [
        {'path': '/Applications/AppName.app', 'allowed': True},
        {'path': '/Applications/AppName2.app', 'allowed': False},
    ]


def test_parse_listapps_empty_and_spaces_in_paths():
    assert A.parse_listapps('Total number of apps = 0\n') == []
    text = 'Total number of apps = 1\n1 : /Applications/zoom.us.app/Contents/My Helper.app \n' \
           '             (Allow incoming connections)\n'
    assert A.parse_listapps(text) == [{'path': '/Applications/zoom.us.app/Contents/My Helper.app', 'allowed': True}]


@pytest.mark.parametrize('text, fragment', [
    ('', 'no "total number of apps" line'),
    ('Total number of apps = 2\n1 : /usr/bin/python3 \n             (Allow incoming connections)\n',
     'it counts 2 apps but lists 1'),
    ('Total number of apps = 1\n1 : /usr/bin/python3 \n', 'no "(Allow/Block incoming connections)" line'),
    ('Total number of apps = 1\n1 : /usr/bin/python3 \n             (Maybe incoming connections)\n', 'at'),
])
def test_parse_listapps_refuses_what_it_does_not_know(text, fragment):
    with pytest.raises(A.AlfError, match='Could not understand socketfilterfw --listapps') as excinfo:
        A.parse_listapps(text)
    assert fragment in excinfo.value.msg


@pytest.mark.parametrize('path, expected', [
    ('/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy', ('/opt/homebrew/Cellar', 'caddy', '2.11.6', 'bin/caddy')),
    ('/usr/local/Cellar/ollama/0.12.3_1/bin/ollama', ('/usr/local/Cellar', 'ollama', '0.12.3_1', 'bin/ollama')),
    ('/opt/homebrew/opt/caddy/bin/caddy', None),
    ('/opt/homebrew/Cellar/caddy/2.11.6', None),
    ('/usr/libexec/sshd-session', None),
])
def test_cellar_parts(path, expected):
    assert A.cellar_parts(path) == expected


CADDY = '/opt/homebrew/Cellar/caddy/2.11.7/bin/caddy'


@pytest.mark.parametrize('listed, exists, expected', [
    ('/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy', False, True),      # the version before the upgrade
    ('/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy', True, False),      # still installed: kept
    (CADDY, False, False),                                             # the allowed path itself
    ('/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy-helper', False, False),  # another file of the keg
    ('/opt/homebrew/Cellar/ollama/0.1.0/bin/ollama', False, False),    # another formula
    ('/usr/local/Cellar/caddy/2.11.6/bin/caddy', False, False),        # another Cellar
    ('/Applications/Gone.app', False, False),                          # not Homebrew
])
def test_is_stale(listed, exists, expected):
    assert A.is_stale(listed, [CADDY], lambda path: exists) is expected


def test_is_stale_needs_an_allowed_path_in_a_cellar():
    assert A.is_stale('/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy', ['/usr/local/bin/caddy'], lambda p: False) is False


def test_resolve_allow():
    links = {'/opt/homebrew/opt/caddy/bin/caddy': CADDY}
    resolved = A.resolve_allow(['/opt/homebrew/opt/caddy/bin/caddy', CADDY, '/usr/bin/python3'],
                               realpath=lambda path: links.get(path, path), exists=lambda path: True)
    assert resolved == [CADDY, '/usr/bin/python3']
    assert A.resolve_allow([]) == [] and A.resolve_allow(None) == []


def test_resolve_allow_refuses_missing_and_relative_paths():
    links = {'/opt/homebrew/opt/caddy/bin/caddy': CADDY}
    with pytest.raises(A.AlfError) as excinfo:
        A.resolve_allow(['/opt/homebrew/opt/caddy/bin/caddy', 'bin/caddy', '/usr/bin/python3'],
                        realpath=lambda path: links.get(path, path), exists=lambda path: path == '/usr/bin/python3')
    assert excinfo.value.msg == ("allow: /opt/homebrew/opt/caddy/bin/caddy does not exist (resolves to %s); "
                                 "'bin/caddy' is not an absolute path" % CADDY)


def test_plan_and_apply():
    apps = [{'path': '/usr/libexec/sshd-session', 'allowed': False},
            {'path': '/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy', 'allowed': True},
            {'path': '/usr/bin/python3', 'allowed': False}]
    allowed = [CADDY, '/usr/bin/python3']
    assert A.plan_apps(apps, allowed, False, lambda path: False) == [('add', CADDY), ('unblock', '/usr/bin/python3')]
    operations = A.plan_apps(apps, allowed, True, lambda path: path == '/usr/libexec/sshd-session')
    assert operations == [('add', CADDY), ('unblock', '/usr/bin/python3'),
                          ('remove', '/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy')]
    assert A.apply_plan(apps, operations) == [{'path': '/usr/libexec/sshd-session', 'allowed': False},
                                              {'path': '/usr/bin/python3', 'allowed': True},
                                              {'path': CADDY, 'allowed': True}]
    assert apps[2]['allowed'] is False   # not modified in place


class ScriptedFw:
    """Answers each argv from a dict of texts; logs every call."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv[1:])
        answer = self.answers[tuple(argv[1:])]
        if isinstance(answer, list):
            answer = answer.pop(0)
        return answer if isinstance(answer, tuple) else (0, answer, '')


def test_converged_reads_only_what_it_needs():
    run = ScriptedFw({('--getglobalstate',): 'Firewall is blocking all non-essential incoming connections. (State = 2)\n'})
    result = A.ensure(A.Socketfilterfw(FW, run), state='on')
    assert run.calls == [['--getglobalstate']]
    assert result == {'changed': False, 'state': 'on', 'stealth_mode': None, 'apps': None, 'commands': [],
                      'diff': {'before': {'state': 'on'}, 'after': {'state': 'on'}}}


def test_writes_in_order_and_reads_back():
    run = ScriptedFw({
        ('--getglobalstate',): ['Firewall is disabled. (State = 0)\n', 'Firewall is enabled. (State = 1)\n'],
        ('--getstealthmode',): ['Firewall stealth mode is off\n', 'Firewall stealth mode is on\n'],
        ('--listapps',): ['Total number of apps = 0\n',
                          'Total number of apps = 1\n1 : %s \n             (Allow incoming connections)\n' % CADDY],
        ('--add', CADDY): 'Application at path ( %s ) added to firewall\n' % CADDY,
        ('--unblockapp', CADDY): 'Incoming connection to the application is permitted\n',
        ('--setstealthmode', 'on'): 'Stealth mode enabled\n',
        ('--setglobalstate', 'on'): 'Firewall is enabled. (State = 1)\n',
    })
    result = A.ensure(A.Socketfilterfw(FW, run), state='on', stealth_mode=True, allow=[CADDY])
    assert run.calls == [['--getglobalstate'], ['--getstealthmode'], ['--listapps'],
                         ['--add', CADDY], ['--unblockapp', CADDY], ['--setstealthmode', 'on'],
                         ['--setglobalstate', 'on'],
                         ['--getglobalstate'], ['--getstealthmode'], ['--listapps']]
    assert result['changed'] and result['state'] == 'on' and result['stealth_mode'] is True
    assert result['apps'] == [{'path': CADDY, 'allowed': True}]
    assert result['diff']['before'] == {'state': 'off', 'stealth_mode': False, 'apps': []}


def test_readback_that_differs_fails():
    run = ScriptedFw({
        ('--getglobalstate',): 'Firewall is disabled. (State = 0)\n',
        ('--setglobalstate', 'on'): 'Firewall is enabled. (State = 1)\n',
    })
    with pytest.raises(A.AlfError, match='did not apply the change: the firewall is off, not on') as excinfo:
        A.ensure(A.Socketfilterfw(FW, run), state='on')
    assert excinfo.value.details['outputs'][0]['cmd'] == [FW, '--setglobalstate', 'on']


def test_not_root_fails_before_any_write_but_check_mode_works():
    run = ScriptedFw({('--getglobalstate',): 'Firewall is disabled. (State = 0)\n'})
    with pytest.raises(A.AlfError, match='use become: true'):
        A.ensure(A.Socketfilterfw(FW, run), state='on', is_root=False)
    result = A.ensure(A.Socketfilterfw(FW, run), state='on', is_root=False, check_mode=True)
    assert result['changed'] and result['commands'] == [[FW, '--setglobalstate', 'on']]
    assert run.calls == [['--getglobalstate'], ['--getglobalstate']]


def test_unlisted_app_and_usage_texts_are_errors():
    usage = 'usage: /usr/libexec/ApplicationFirewall/socketfilterfw [-c] [-w] [-d] [-l] [-T] [-U] [-B] [-L]\n'
    fw = A.Socketfilterfw(FW, ScriptedFw({
        ('--unblockapp', CADDY): 'The application is not part of the firewall\n',
        ('--remove', CADDY): (1, usage, ''),
        ('--listapps',): (1, usage, ''),
    }))
    with pytest.raises(CommandError, match='not part of the firewall'):
        fw.write([FW, '--unblockapp', CADDY])
    with pytest.raises(CommandError, match=r'--remove .* failed \(exit 1\): usage'):
        fw.write([FW, '--remove', CADDY])
    with pytest.raises(CommandError, match=r'--listapps failed \(exit 1\)'):
        fw.list_apps()
