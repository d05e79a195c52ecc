# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify the headless_power role on the simulated Macs: what a user would check on the host.

The settings are read the way an admin would (pmset -g custom, systemsetup -get...), with a small
parser of this file's own so the module's parser is not checking itself.  The stand-ins' call log
(/var/log/macsim/calls.jsonl) tells what the check, converge and idempotence steps ran.
"""

from __future__ import annotations

import json
import os
import re
import subprocess


testinfra_hosts = ['all']

CALL_LOG = '/var/log/macsim/calls.jsonl'
FAULTS = '/var/db/macsim/faults.json'
NEVER_SLEEP = {'sleep': 0, 'disksleep': 0, 'displaysleep': 10, 'womp': 1, 'powernap': 0}


def hardware(host):
    return json.loads(host.file('/var/db/macsim/profile.json').content_string)


def pmset_custom(host):
    """{profile: {setting: value}} from `pmset -g custom`, run as the admin user (reading needs no root)."""
    out = host.check_output('pmset -g custom')
    profiles, current = {}, None
    for line in out.splitlines():
        if not line.startswith(' '):
            current = profiles.setdefault(line.rstrip(':'), {})
        else:
            name, value = line.strip().rsplit(None, 1)
            current[name] = value
    return profiles


def calls(host, tool, root_only=True):
    entries = [json.loads(line) for line in host.file(CALL_LOG).content_string.splitlines() if line.strip()]
    return [entry for entry in entries
            if entry['tool'] == tool and (entry['euid'] == 0 or not root_only)]


def args(entries):
    return [' '.join(entry['argv'][1:]) for entry in entries]


def test_facts_say_mac(host, run_module):
    result = run_module('ansible.builtin.setup', {'gather_subset': ['!all', 'hardware']})
    assert not result.failed, result
    facts, profile = result['ansible_facts'], hardware(host)
    assert facts['ansible_system'] == 'Darwin'
    assert facts['ansible_distribution'] == 'MacOSX'
    assert facts['ansible_distribution_version'] == profile['os']['product_version']
    assert facts['ansible_architecture'] == 'arm64'
    assert facts['ansible_model'] == profile['hardware']['model_id']
    assert facts['ansible_memtotal_mb'] == profile['hardware']['memsize'] // 2**20


def test_never_sleeps_on_every_power_source(host):
    profiles = pmset_custom(host)
    expected = {'mac-studio': ['AC Power'], 'macbook': ['Battery Power', 'AC Power']}[hardware(host)['name']]
    assert sorted(profiles) == sorted(expected)
    for name, settings in profiles.items():
        for setting, value in NEVER_SLEEP.items():
            assert settings.get(setting) == str(value), '%s %s' % (name, setting)


def test_restarts_after_power_failure_where_the_hardware_can(host):
    restart = host.run('sudo -n systemsetup -getrestartpowerfailure').stdout.strip()
    if hardware(host)['name'] == 'mac-studio':
        assert pmset_custom(host)['AC Power']['autorestart'] == '1'
        assert restart == 'Restart After Power Failure: On'
    else:
        # a MacBook has neither pmset's autorestart nor systemsetup's restartpowerfailure: with
        # if_supported (molecule.yml) the role went on with a warning
        assert all('autorestart' not in settings for settings in pmset_custom(host).values())
        assert 'Not supported' in restart


def test_a_mac_that_cannot_restart_after_a_power_failure_fails_the_role(host):
    """The seed's requirement fails loudly, naming host, model and setting (in check mode: nothing changes)."""
    if hardware(host)['name'] == 'mac-studio':
        return
    playbook = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'headless_power_required.yml')
    inventory = host.backend.ansible_runner.inventory_file
    proc = subprocess.run(['ansible-playbook', '-i', inventory, '--limit', host.backend.host, '--check', playbook],
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0'))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert 'llmhost-macbook (Mac16,1) cannot restart by itself after a power failure: pmset -g cap has no ' \
        'autorestart and systemsetup -getrestartpowerfailure says it is not supported' in ' '.join((proc.stdout + proc.stderr).split())


def test_restarts_after_a_freeze(host):
    assert host.run('sudo -n systemsetup -getrestartfreeze').stdout.strip() == 'Restart After Freeze: On'


def test_check_mode_wrote_nothing_and_a_converged_run_costs_one_read(host):
    """The first root calls are the check run, the converge run and the idempotence run, in that order."""
    pmset = args(calls(host, 'pmset'))
    if hardware(host)['name'] == 'mac-studio':
        write = '-a autorestart 1 disksleep 0 powernap 0 sleep 0'
        expected = ['-g custom', '-g cap',                          # check: read, capabilities, no write
                    '-g custom', '-g cap', write, '-g custom',      # converge: one write, read back
                    '-g custom']                                    # idempotence: one read
    else:
        write = '-a disksleep 0 displaysleep 10 powernap 0 sleep 0 womp 1'
        # autorestart is never present on a MacBook, so every run learns from -g cap that it is unsupported
        expected = ['-g custom', '-g cap',
                    '-g custom', '-g cap', write, '-g custom',
                    '-g custom', '-g cap']
    assert pmset[:len(expected)] == expected
    systemsetup = args(calls(host, 'systemsetup'))
    if hardware(host)['name'] == 'mac-studio':
        assert systemsetup[:5] == ['-getrestartfreeze',
                                   '-getrestartfreeze', '-setrestartfreeze on', '-getrestartfreeze',
                                   '-getrestartfreeze']
    else:
        # no autorestart in pmset: every run asks systemsetup, the other way to restart after a power failure
        assert systemsetup[:8] == ['-getrestartpowerfailure', '-getrestartfreeze',
                                   '-getrestartpowerfailure', '-getrestartfreeze', '-setrestartfreeze on',
                                   '-getrestartfreeze',
                                   '-getrestartpowerfailure', '-getrestartfreeze']


def test_reboots_kept_the_settings(host):
    """After the side_effect reboot the settings above were read from a freshly booted host."""
    boots = json.loads(host.file('/var/db/macsim/boot.json').content_string)['count']
    marker = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'reboots')
    reboots = int(open(marker).read()) if os.path.exists(marker) else 0
    assert boots == 1 + reboots


def test_invalid_setting_fails_naming_it_and_changes_nothing(host, run_module):
    before, logged = pmset_custom(host), len(calls(host, 'pmset', root_only=False))
    result = run_module('llmhost.macos.pmset', {'settings': {'hibernatemode': 5, 'sleep': 1}}, become=True)
    assert result.failed
    assert 'hibernatemode: expects one of 0, 3, 25, got 5' in result['msg']
    assert pmset_custom(host) == before
    # refused before pmset ran at all (the reads above are the admin's own)
    assert len(calls(host, 'pmset', root_only=False)) == logged + 1


def test_a_setting_pmset_ignores_fails_the_task(host, run_module):
    """pmset silently ignores some settings: the module reads back and names them."""
    faults = {'dest': FAULTS, 'content': json.dumps({'pmset': {'ignore': ['womp']}}), 'mode': '0644'}
    assert not run_module('ansible.builtin.copy', faults, become=True).failed
    try:
        result = run_module('llmhost.macos.pmset', {'settings': {'womp': False}}, become=True)
    finally:
        assert not run_module('ansible.builtin.file', {'path': FAULTS, 'state': 'absent'}, become=True).failed
    assert result.failed
    assert re.search(r'pmset did not apply womp on (ac|battery)', result['msg']), result['msg']
    assert all(settings['womp'] == '1' for settings in pmset_custom(host).values())
