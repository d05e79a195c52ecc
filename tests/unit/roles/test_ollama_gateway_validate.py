# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ollama_gateway's input checks (tasks_from: validate): bad input fails on the controller, before anything runs on a
host, and a client's key never appears in the output.

Runs ansible-playbook against localhost with the checkout's ansible.cfg and no facts; the host's Python is
/bin/false, so nothing can run on this machine: a check that passed would go on to the one host-side task (the
stat of Homebrew) and fail there, which the passing case asserts.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
KEY = '6f1c2a9e0b7d4c3f8a5e1d2b9c0f7a6e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a'
GOOD = {
    'ollama_gateway_clients': [{'name': 'alice', 'key': KEY}],
    'ollama_gateway_bind_address': '192.168.1.50',
    'ollama_gateway_allowed_cidrs': ['192.168.1.0/24'],
}


def validate(tmp_path, role_vars):
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'ollama_gateway input checks',
        'hosts': 'all',
        'connection': 'local',
        'gather_facts': False,
        'vars': role_vars,
        'tasks': [{'name': 'Check', 'ansible.builtin.include_role': {
            'name': 'llmhost.macos.ollama_gateway', 'tasks_from': 'validate'}}],
    }]))
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': {'studio': {'ansible_host': '192.168.1.50'}}}}))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_PYTHON_INTERPRETER='/bin/false', ANSIBLE_BECOME='false')
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    proc = subprocess.run([ansible_playbook, '-i', str(inventory), str(playbook)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    return proc.returncode, ' '.join((proc.stdout + proc.stderr).split())


def test_good_input_reaches_the_host_side_check(tmp_path):
    rc, out = validate(tmp_path, GOOD)
    assert rc != 0
    assert 'TASK [llmhost.macos.ollama_gateway : Find Homebrew and its owner]' in out, out
    assert KEY not in out


@pytest.mark.parametrize('change, message', [
    ({'ollama_gateway_clients': [{'name': 'alice', 'key': KEY}, {'name': 'bob', 'key': KEY}]},
     'ollama_gateway_clients bob (item 2): the key is also the key of item 1; every client needs its own key. '
     'Nothing was changed.'),
    ({'ollama_gateway_clients': [{'name': 'alice', 'key': KEY + '"'}]},
     'ollama_gateway_clients alice (item 1): key expects 32 to 256 characters'),
    ({'ollama_gateway_allowed_cidrs': ['192.168.1.50/24']}, 'ollama_gateway_allowed_cidrs item 1: expects a CIDR'),
    ({'ollama_gateway_upstreams': ['mac2']}, 'ollama_gateway_upstreams item 1: expects HOST:PORT'),
    ({'ollama_gateway_tls_names': ['llm_1.local']}, 'ollama_gateway_tls_names: expects DNS names'),
    ({'ollama_gateway_bind_address': 'en0'}, 'ollama_gateway_bind_address: expects an IPv4 address of the Mac'),
    ({'ollama_gateway_port': 443}, 'ollama_gateway_port 443: the gateway runs as _llmgateway, not root'),
    ({'ollama_gateway_port': 11434}, "not Ollama's own (11434)"),
    ({'ollama_gateway_health_interval': '5 seconds'}, 'ollama_gateway_health_interval: expects a duration'),
    ({'ollama_gateway_bind_address': '', 'ollama_gateway_allowed_cidrs': []},
     'studio has no default IPv4 route in its facts'),
    ({'ollama_allowed_cidrs': ['192.168.1.20/32']},
     "studio has ollama_allowed_cidrs: its Ollama is another Mac's upstream, and this role's pf rules would close "
     "Ollama's port to that Mac."),
])
def test_bad_input_fails_before_the_host_is_touched(tmp_path, change, message):
    rc, out = validate(tmp_path, dict(GOOD, **change))
    assert rc != 0
    assert message in out, out
    assert 'Find Homebrew and its owner' not in out
    assert KEY not in out


def test_argument_specs_refuse_a_client_without_a_key(tmp_path):
    rc, out = validate(tmp_path, dict(GOOD, ollama_gateway_clients=[{'name': 'alice'}]))
    assert rc != 0 and 'key' in out and 'Find Homebrew' not in out, out
