# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad role input stops the play at argument validation, before any task touches the host.

Runs ansible-playbook against localhost with the checkout's ansible.cfg, so llmhost.macos resolves.
Argument validation is an action that runs in the controller process; the host's Python is
/bin/false, so should validation ever pass, no module could run on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def play(tmp_path, role_vars):
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'headless_power with given variables',
        'hosts': 'localhost',
        'connection': 'local',
        'gather_facts': False,
        'roles': [{'role': 'llmhost.macos.headless_power', 'vars': role_vars}],
    }]))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_PYTHON_INTERPRETER='/bin/false', ANSIBLE_BECOME='false')
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    return subprocess.run([ansible_playbook, '-i', 'localhost,', str(playbook)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize('role_vars, message', [
    ({'headless_power_power_source': 'mains'},
     'value of headless_power_power_source must be one of: all, ac, battery, ups, got: mains'),
    ({'headless_power_settings': ['sleep', 0]},
     "argument 'headless_power_settings' is of type list and we were unable to convert to dict"),
    ({'headless_power_restart_after_freeze': 'sometimes'},
     'headless_power_restart_after_freeze'),
])
def test_bad_input_fails_at_validation(tmp_path, role_vars, message):
    result = play(tmp_path, role_vars)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Validating arguments against arg spec 'main'" in result.stdout
    assert 'Validation of arguments failed' in result.stdout
    assert message in result.stdout, result.stdout
    # nothing after the validation ran
    assert 'Keep the Mac awake' not in result.stdout
    assert 'Refuse hosts that are not macOS' not in result.stdout
