# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/record.yml itself: the URL it asks Ollama at, and what keeps one failure from stopping the play."""

from __future__ import annotations

import os

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'playbooks', 'record.yml')


def play():
    return DataLoader().load_from_file(PLAYBOOK)[0]


def tasks(where=None):
    found = []
    for task in (where if where is not None else play()['tasks']):
        found.append(task)
        found += tasks(task.get('block', []))
    return found


@pytest.mark.parametrize('ollama_host, url', [
    (None, 'http://127.0.0.1:11434'),
    ('0.0.0.0', 'http://127.0.0.1:11434'),
    ('[::]:11434', 'http://127.0.0.1:11434'),
    ('10.0.0.5', 'http://10.0.0.5:11434'),
    ('10.0.0.5:8080', 'http://10.0.0.5:8080'),
    ('http://10.0.0.5:11434', 'http://10.0.0.5:11434'),
    ('http://0.0.0.0:11434/', 'http://127.0.0.1:11434'),
    ('https://studio.example.net', 'https://studio.example.net:11434'),
])
def test_ollama_is_asked_where_the_roles_have_it_listen(ollama_host, url):
    variables = dict((key, trust_as_template(value) if isinstance(value, str) else value)
                     for key, value in play()['vars'].items())
    if ollama_host is not None:
        variables['ollama_host'] = ollama_host
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(trust_as_template('{{ record_ollama_url }}')) == url


def test_one_failure_does_not_stop_the_play():
    by_register = dict((task['register'], task) for task in tasks() if 'register' in task)
    for register in ('__record_out', '__record_root'):   # a failed become fails the loop as a whole
        assert by_register[register]['failed_when'] is False and by_register[register]['ignore_errors'] is True
    for register in ('__record_api', '__record_show'):   # any status is recorded
        assert by_register[register]['failed_when'] is False and 'status_code' not in by_register[register]['ansible.builtin.uri']
    assert by_register['__record_root']['become'] is True and 'become' not in by_register['__record_out']
    controller = [task for task in tasks() if task.get('delegate_to') == 'localhost']
    assert controller and all(task['become'] is False for task in controller)


def test_the_anchors_recorded_are_those_the_roles_load():
    roles = os.path.join(os.path.dirname(PLAYBOOK), '..', 'roles')
    loaded = [DataLoader().load_from_file(os.path.join(roles, role, 'vars', 'main.yml'))[variable]
              for role, variable in (('ollama', '__ollama_pf_anchor'), ('ollama_gateway', '__ollama_gateway_pf_anchor'))]
    assert sorted(play()['vars']['record_pf_anchors']) == sorted(loaded)
