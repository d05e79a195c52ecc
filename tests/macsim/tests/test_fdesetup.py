"""fdesetup stand-in: FileVault status from the profile or the instance's state file
(shared/reference/macos-formats-provisioning.md section 2)."""

import json
import os
import subprocess
import sys

import pytest

FDESETUP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'guest', 'usr', 'bin', 'fdesetup')
PROFILES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'profiles')


def fdesetup(sim, *args, **kw):
    proc = subprocess.run([sys.executable, FDESETUP] + list(args), env=sim.env(kw.get('euid', 501)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize('profile', ['mac-studio', 'macbook', 'fresh-mac-studio'])
def test_profiles_say_filevault_is_off(profile):
    with open(os.path.join(PROFILES, profile + '.json')) as f:
        assert json.load(f)['filevault'] is False


@pytest.mark.parametrize('euid', [501, 0])
def test_off_from_the_profile(sim, euid):
    assert fdesetup(sim, 'status', euid=euid) == (0, 'FileVault is Off.\n', '')
    assert fdesetup(sim, 'isactive', euid=euid) == (1, 'false\n', '')


def test_on_from_the_profile(sim):
    profile = sim.read_json('profile.json')
    profile['filevault'] = True
    sim.write_json('profile.json', profile)
    assert fdesetup(sim, 'status') == (0, 'FileVault is On.\n', '')
    assert fdesetup(sim, 'isactive') == (0, 'true\n', '')


def test_a_test_turns_it_on_for_one_instance(sim, laptop):
    sim.write_json('fdesetup.json', {'filevault': True})
    assert fdesetup(sim, 'status') == (0, 'FileVault is On.\n', '')
    assert fdesetup(sim, 'isactive', '-verbose') == (0, 'true\n', '')
    assert fdesetup(sim, 'status', '-extended') == (0, 'FileVault is On.\n', '')
    assert fdesetup(laptop, 'status') == (0, 'FileVault is Off.\n', '')
    # The state file wins over the profile in both directions.
    profile = sim.read_json('profile.json')
    profile['filevault'] = True
    sim.write_json('profile.json', profile)
    sim.write_json('fdesetup.json', {'filevault': False})
    assert fdesetup(sim, 'isactive') == (1, 'false\n', '')


def test_turned_on_and_waiting_for_the_next_restart(sim):
    sim.write_json('fdesetup.json', {'filevault': 'pending'})
    assert fdesetup(sim, 'status') == (0, 'FileVault is Off, but will be enabled after the next restart.\n', '')
    assert fdesetup(sim, 'isactive') == (1, 'false\n', '')


def test_calls_are_logged_as_reads(sim):
    fdesetup(sim, 'status')
    fdesetup(sim, 'isactive')
    fdesetup(sim, 'bogus')
    calls = [(c['tool'], c['argv'][1:], c['rc'], c['kind'], c['euid']) for c in sim.calls()]
    assert calls == [('fdesetup', ['status'], 0, 'read', 501), ('fdesetup', ['isactive'], 1, 'read', 501),
                     ('fdesetup', ['bogus'], 1, 'error', 501)]


@pytest.mark.parametrize('args', [[], ['bogus'], ['status', '-bogus'], ['isactive', 'extra'], ['-help']])
def test_other_verbs_and_options_are_a_usage_error(sim, args):
    rc, out, err = fdesetup(sim, *args)
    assert (rc, out) == (1, '') and err.startswith('Usage: fdesetup <verb> <options>\n')


@pytest.mark.parametrize('verb', ['enable', 'disable', 'authrestart', 'list'])
def test_real_verbs_that_change_filevault_are_not_simulated(sim, verb):
    assert fdesetup(sim, verb, euid=0) == (2, '', 'macsim: fdesetup %s is not simulated\n' % verb)
    assert not os.path.exists(sim.path('fdesetup.json'))
