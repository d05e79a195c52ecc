# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_identity's input checks (tasks_from: validate): bad names and addresses fail before anything runs.

Runs ansible-playbook against localhost with the checkout's ansible.cfg and no facts; the host's Python is
/bin/false, so nothing can run on this machine. A passing check ends in a task that prints what the role would
hand to scutil_names and the address it would compare with.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def validate(tmp_path, role_vars, ansible_host='192.168.1.50'):
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'network_identity input checks',
        'hosts': 'all',
        'connection': 'local',
        'gather_facts': False,
        'vars': role_vars,
        'tasks': [
            {'name': 'Check', 'ansible.builtin.include_role': {
                'name': 'llmhost.macos.network_identity', 'tasks_from': 'validate', 'public': True}},
            {'name': 'Show', 'ansible.builtin.debug': {
                'msg': 'NAMES={{ __network_identity_names | to_json }} EXPECTED={{ __network_identity_expected }}'}},
        ],
    }]))
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': {'studio': {'ansible_host': ansible_host}}}}))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_PYTHON_INTERPRETER='/bin/false', ANSIBLE_BECOME='false')
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    proc = subprocess.run([ansible_playbook, '-i', str(inventory), str(playbook)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    return proc.returncode, ' '.join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize('role_vars, message', [
    ({'network_identity_local_host_name': 'llm_studio'},
     'network_identity_local_host_name: expects letters, digits and hyphens (at most 63, no hyphen first or last), '
     'the Mac is then NAME.local; got "llm_studio"'),
    ({'network_identity_local_host_name': 'llm.studio'}, 'network_identity_local_host_name: expects'),
    ({'network_identity_local_host_name': '-studio'}, 'network_identity_local_host_name: expects'),
    ({'network_identity_host_name': 'llm..lab'}, 'network_identity_host_name: expects a DNS name'),
    ({'network_identity_host_name': 'llm_1.lab'}, 'network_identity_host_name: expects a DNS name'),
    ({'network_identity_computer_name': 'x' * 64}, 'network_identity_computer_name: expects 1 to 63 bytes'),
    ({'network_identity_computer_name': '   '}, 'network_identity_computer_name: expects 1 to 63 bytes'),
    ({'network_identity_computer_name': '\u00d6' * 32}, 'network_identity_computer_name: expects 1 to 63 bytes'),
    ({'network_identity_computer_name': 'LLM\nStudio'}, 'network_identity_computer_name: expects 1 to 63 bytes'),
    ({'network_identity_expected_address': '192.168.1.256'}, 'network_identity_expected_address: expects an IPv4'),
    ({'network_identity_expected_address': 'studio.local'}, 'network_identity_expected_address: expects an IPv4'),
])
def test_bad_input_fails_naming_the_variable(tmp_path, role_vars, message):
    rc, out = validate(tmp_path, role_vars)
    assert rc != 0 and message in out and 'Nothing was changed' in out, out
    assert 'NAMES=' not in out


def test_a_computer_name_of_63_bytes_passes(tmp_path):
    rc, out = validate(tmp_path, {'network_identity_computer_name': 'Studio ' + '\u00d6' * 28})
    assert rc == 0, out


def test_two_bad_names_are_named_together(tmp_path):
    rc, out = validate(tmp_path, {'network_identity_local_host_name': 'a_b', 'network_identity_host_name': 'c_d'})
    assert rc != 0 and 'network_identity_local_host_name: expects' in out and 'network_identity_host_name: expects' in out


def test_good_names_go_to_scutil_names_and_empty_ones_are_left_out(tmp_path):
    rc, out = validate(tmp_path, {'network_identity_computer_name': 'LLM Studio 1',
                                  'network_identity_local_host_name': 'llm-studio-1'})
    assert rc == 0, out
    assert 'NAMES={"computer_name": "LLM Studio 1", "local_host_name": "llm-studio-1"}' in out, out
    assert 'EXPECTED=192.168.1.50' in out


@pytest.mark.parametrize('ansible_host, role_vars, expected', [
    ('studio.local', {}, 'EXPECTED= '),
    ('studio.local', {'network_identity_expected_address': '10.0.0.7'}, 'EXPECTED=10.0.0.7'),
    ('192.168.1.50', {'network_identity_expected_address': '10.0.0.7'}, 'EXPECTED=10.0.0.7'),
])
def test_the_expected_address_is_the_inventorys_unless_it_is_a_name(tmp_path, ansible_host, role_vars, expected):
    rc, out = validate(tmp_path, role_vars, ansible_host=ansible_host)
    assert rc == 0 and expected in out, out


def report(tmp_path, role_vars):
    """tasks_from: report against this machine (its own network facts, read only)."""
    playbook = tmp_path / 'report.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'network_identity report', 'hosts': 'all', 'connection': 'local', 'gather_facts': False,
        'tasks': [{'name': 'Report', 'ansible.builtin.include_role': {
            'name': 'llmhost.macos.network_identity', 'tasks_from': 'report'}, 'vars': role_vars}],
    }]))
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': {'studio': {
        'ansible_host': '127.0.0.1', 'ansible_python_interpreter': sys.executable}}}}))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_BECOME='false', ANSIBLE_LOCAL_TEMP=str(tmp_path))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    proc = subprocess.run([ansible_playbook, '-i', str(inventory), str(playbook)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    return proc.returncode, ' '.join((proc.stdout + proc.stderr).split())


def test_the_report_warns_or_fails_when_the_host_is_not_at_the_expected_address(tmp_path):
    rc, out = report(tmp_path, {'network_identity_expected_address': '192.0.2.10'})
    assert rc == 0 and 'WARNING: studio expects 192.0.2.10' in out and 'reserve' in out, out
    assert 'changed=0' in out
    rc, out = report(tmp_path, {'network_identity_expected_address': '192.0.2.10',
                                'network_identity_address_mismatch': 'fail'})
    assert rc != 0 and 'studio expects 192.0.2.10' in out and 'DHCP reservation' in out, out
    assert 'WARNING: studio expects' not in out, out
