"""socketfilterfw stand-in: the Application Firewall's settings (shared/reference/macos-formats-provisioning.md 6.4)."""

import os
import subprocess
import sys

import pytest

SOCKETFILTERFW = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'guest', 'usr', 'libexec',
                              'ApplicationFirewall', 'socketfilterfw')
CADDY = '/opt/homebrew/Cellar/caddy/2.11.6/bin/caddy'


def fw(sim, *args, **kw):
    proc = subprocess.run([sys.executable, SOCKETFILTERFW] + list(args), env=sim.env(kw.get('euid', 0)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize('euid', [0, 501])
def test_a_fresh_mac(sim, euid):
    assert fw(sim, '--getglobalstate', euid=euid) == (0, 'Firewall is disabled. (State = 0)\n', '')
    assert fw(sim, '--getstealthmode', euid=euid) == (0, 'Firewall stealth mode is off\n', '')
    assert fw(sim, '--getblockall', euid=euid) == (0, 'Firewall has block all state set to disabled.\n', '')
    assert fw(sim, '--getallowsigned', euid=euid) == (0, 'Automatically allow built-in signed software ENABLED.\n'
                                                      'Automatically allow downloaded signed software ENABLED.\n', '')
    assert fw(sim, '--listapps', euid=euid) == (0, 'Total number of apps = 0\n', '')


def test_global_state_and_stealth_mode_persist(sim):
    assert fw(sim, '--setglobalstate', 'on') == (0, 'Firewall is enabled. (State = 1)\n', '')
    assert fw(sim, '--getglobalstate') == (0, 'Firewall is enabled. (State = 1)\n', '')
    assert fw(sim, '--setstealthmode', 'on') == (0, 'Stealth mode enabled\n', '')
    assert fw(sim, '--getstealthmode', euid=501) == (0, 'Firewall stealth mode is on\n', '')
    assert fw(sim, '--setblockall', 'on') == (0, 'Firewall is set to block all non-essential incoming connections\n', '')
    assert fw(sim, '--getglobalstate') == (0, 'Firewall is blocking all non-essential incoming connections. (State = 2)\n', '')
    fw(sim, '--setblockall', 'off')
    assert fw(sim, '--setglobalstate', 'off') == (0, 'Firewall is disabled. (State = 0)\n', '')
    assert sim.read_json('alf.json')['stealth'] is True


def test_non_root_setters_print_but_change_nothing(sim):
    assert fw(sim, '--setglobalstate', 'on', euid=501) == (0, 'Firewall is enabled. (State = 1)\n', '')
    assert fw(sim, '--add', CADDY, euid=501) == (0, 'Application at path ( %s ) added to firewall\n' % CADDY, '')
    assert fw(sim, '--getglobalstate', euid=501)[1] == 'Firewall is disabled. (State = 0)\n'
    assert fw(sim, '--listapps', euid=501)[1] == 'Total number of apps = 0\n'
    assert fw(sim, '--unblockapp', CADDY) == (0, 'The application is not part of the firewall\n', '')
    # kind as the README says: a setter is a write (tried to change state), even when not root's
    assert [c['kind'] for c in sim.calls()] == ['write', 'write', 'read', 'read', 'write']


def test_apps(sim):
    assert fw(sim, '--add', CADDY) == (0, 'Application at path ( %s ) added to firewall\n' % CADDY, '')
    assert fw(sim, '--unblockapp', CADDY) == (0, 'Incoming connection to the application is permitted\n', '')
    fw(sim, '--add', '/usr/libexec/sshd-session')
    assert fw(sim, '--blockapp', '/usr/libexec/sshd-session') == (0, 'Incoming connection to the application is blocked\n', '')
    fw(sim, '--add', CADDY)     # already listed: listed once
    assert fw(sim, '--listapps', euid=501) == (0, 'Total number of apps = 2\n'
                                               '1 : %s \n             (Allow incoming connections)\n'
                                               '2 : /usr/libexec/sshd-session \n             (Block incoming connections)\n' % CADDY, '')
    assert fw(sim, '--remove', CADDY) == (0, 'Application at path ( %s ) removed from firewall\n' % CADDY, '')
    assert fw(sim, '--remove', CADDY) == (0, 'The application is not part of the firewall\n', '')
    assert fw(sim, '--listapps')[1].startswith('Total number of apps = 1\n1 : /usr/libexec/sshd-session \n')


def test_several_options_in_one_call(sim):
    assert fw(sim, '--setglobalstate', 'on', '--setstealthmode', 'on') == (
        0, 'Firewall is enabled. (State = 1)\nStealth mode enabled\n', '')


@pytest.mark.parametrize('args', [[], ['--bogus'], ['--setglobalstate'], ['--setglobalstate', 'maybe'], ['--add']])
def test_usage(sim, args):
    rc, out, err = fw(sim, *args)
    assert rc == 1 and out.startswith('usage: /usr/libexec/ApplicationFirewall/socketfilterfw') and err == ''
    assert not os.path.exists(sim.path('alf.json'))


def test_not_simulated(sim):
    assert fw(sim, '--setloggingopt', 'detail') == (2, '', 'macsim: socketfilterfw --setloggingopt is not simulated\n')
