# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml's first play checks the input of the roles that will run, also when --tags picks some of them.

An included role's tasks do not inherit the include's tags: without `apply`, `--tags ssh` ran the include but
none of the checks in it, and a role checked its input only in the second play, after the roles before it had
changed the host. Here the play runs against this machine (Linux, facts only) with the checkout's ansible.cfg:
these roles refuse a host that is not macOS in their checks (ssh_hardening also takes Debian, so it is not
here: the Debian scenario covers it), so the run must stop in the first play.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def has_community_general():
    try:
        return importlib.util.find_spec('ansible_collections.community.general') is not None
    except ImportError:
        return False


# site.yml names community.general's homebrew module (the ollama role): the controller needs that collection,
# which .venv has from the ansible package and .venv-latest (ansible-core alone) does not.
pytestmark = pytest.mark.skipif(not has_community_general(), reason='site.yml needs community.general on the controller')


@pytest.mark.parametrize('tag, check', [
    ('power', 'llmhost.macos.headless_power : Refuse hosts that are not macOS'),
    ('identity', 'llmhost.macos.network_identity : Refuse hosts that are not macOS'),
    ('ollama', 'llmhost.macos.ollama : Refuse hosts that are not macOS'),
    ('gateway', 'llmhost.macos.ollama_gateway : Refuse hosts that are not macOS'),
])
def test_a_tagged_run_checks_that_roles_input_in_the_first_play(tmp_path, tag, check):
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_BECOME='false', ANSIBLE_LOCAL_TEMP=str(tmp_path))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    proc = subprocess.run([ansible_playbook, '-i', 'localhost,', '-c', 'local', '-e', 'llmhost_target=localhost',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, '--tags', tag,
                           os.path.join(ROOT, 'site.yml')],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert 'TASK [%s]' % check in out and 'fatal: [localhost]' in out, out
    assert 'PLAY [Provision a headless Mac' not in out, out
