# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fresh Mac after playbooks/bootstrap.yml: Python for Ansible, Homebrew for the admin, and what
the check and second runs did (the stand-ins' call log)."""

from __future__ import annotations

import json

testinfra_hosts = ['all']

CALL_LOG = '/var/log/macsim/calls.jsonl'


def calls(host, tool):
    entries = [json.loads(line) for line in host.file(CALL_LOG).content_string.splitlines() if line.strip()]
    return [' '.join(entry['argv'][1:]) for entry in entries if entry['tool'] == tool]


def test_python3_is_the_command_line_tools_python(host):
    assert host.check_output('/usr/bin/python3 --version').startswith('Python 3.9.')
    assert host.check_output('xcode-select -p') == '/Library/Developer/CommandLineTools'
    assert not host.file('/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress').exists


def test_ansible_finds_the_interpreter_and_modules_run(host, run_module):
    result = run_module('ansible.builtin.setup', {'gather_subset': ['!all', 'min']})
    assert not result.failed, result
    facts = result['ansible_facts']
    assert facts['discovered_interpreter_python'] == '/usr/bin/python3'
    assert facts['ansible_python']['version']['major'] == 3 and facts['ansible_python']['version']['minor'] == 9
    assert facts['ansible_system'] == 'Darwin'


def test_homebrew_belongs_to_the_admin_and_runs_without_sudo(host):
    for path in ('/opt/homebrew', '/opt/homebrew/bin', '/opt/homebrew/Cellar', '/opt/homebrew/var/homebrew/linked'):
        assert host.check_output("ls -ld %s | awk '{print $3\":\"$4}'", path) == 'admin:admin', path
    assert host.check_output('/opt/homebrew/bin/brew --version').startswith('Homebrew ')
    assert host.run('/opt/homebrew/bin/brew install tinyd').rc == 0
    assert host.file('/opt/homebrew/opt/tinyd').exists


def test_the_tools_were_installed_once_and_check_mode_installed_nothing(host):
    updates = calls(host, 'softwareupdate')
    # check mode ran no softwareupdate at all; the converge listed and installed once; the second run
    # found the tools and asked nothing
    assert updates == ['-l', '-i Command Line Tools for Xcode-16.4 --verbose']
    switches = [call for call in calls(host, 'xcode-select') if call.startswith('--switch')]
    assert switches == ['--switch /Library/Developer/CommandLineTools']
