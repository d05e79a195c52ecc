# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Modules run in-process, with their real HTTP code, against the Ollama API emulator on loopback."""

from __future__ import annotations

import functools
import os
import sys

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.llmhost.macos.plugins.module_utils import ollama_client as ollama_utils

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'macsim', 'ollama'))
import ollama_emulator  # noqa: E402  (test support, found through the path above)


@pytest.fixture
def emulator(tmp_path):
    server = ollama_emulator.start(host='127.0.0.1', port=0, models_dir=str(tmp_path / 'models'),
                                   throughput=4 << 20, keep_alive='5m')
    try:
        yield server
    finally:
        server.stop()


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


class Outcome(dict):
    def __init__(self, result, failed, warnings, sleeps):
        super().__init__(result)
        self.failed = failed
        self.warnings = warnings
        self.sleeps = sleeps


@pytest.fixture
def run(monkeypatch):
    """run(module, args, check=False, diff=False) -> Outcome: the module's result, .failed, .warnings.

    Pauses between pull retries are recorded instead of slept.
    """

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, **kwargs):
        raise ModuleExit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def runner(module, args, check=False, diff=False):
        warnings, sleeps = [], []
        monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, text: warnings.append(text))
        monkeypatch.setattr(module, 'Client', functools.partial(ollama_utils.Client, sleep=sleeps.append))
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(ModuleExit) as excinfo:
                module.main()
        return Outcome(excinfo.value.result, excinfo.value.failed, warnings, sleeps)

    return runner
