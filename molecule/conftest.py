# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one module against the host under test and tell success from failure.

testinfra's host.ansible() cannot be used for tasks that are meant to fail: it decides from the
"failed" key of the tree callback's file, which ansible-core 2.19 no longer writes, so a failed
module looks like a success.  This runs `ansible -o` itself and reads the status word.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest


class ModuleResult(dict):
    def __init__(self, status, result):
        super().__init__(result)
        self.status = status

    @property
    def failed(self):
        return self.status in ('FAILED!', 'UNREACHABLE!')


@pytest.fixture
def run_module(host):
    """run_module(name, args_dict, become=False, check=False) -> ModuleResult."""
    backend = host.backend

    def run(name, args, become=False, check=False):
        argv = ['ansible', backend.host, '-m', name, '-a', json.dumps(args)]
        inventory = backend.ansible_runner.inventory_file
        if inventory:
            argv[1:1] = ['-i', inventory]
        if become:
            argv.append('--become')
        if check:
            argv.append('--check')
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_CALLBACK_RESULT_FORMAT='json')
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        match = re.search(r'^%s \| ([A-Z]+!?) => ' % re.escape(backend.host), proc.stdout, re.MULTILINE)
        if not match:
            raise AssertionError('no result from %s:\n%s\n%s' % (' '.join(argv), proc.stdout, proc.stderr))
        result, _end = json.JSONDecoder().raw_decode(proc.stdout, match.end())
        return ModuleResult(match.group(1), result)

    return run
