# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process against a fake command, capturing exit_json / fail_json."""

from __future__ import annotations

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


@pytest.fixture
def run_module(monkeypatch):
    """run_module(module, args, fake) -> (result, failed); `fake` answers run_command(argv)."""

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, **kwargs):
        raise ModuleExit(kwargs, True)

    def runner(module, args, fake, warnings=None):
        seen_env = []

        def run_command(self, argv, environ_update=None, **kwargs):
            seen_env.append(environ_update)
            return fake(argv)

        monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
        monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False, opt_dirs=None: fake.path)
        if warnings is not None:
            monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, text: warnings.append(text))
        with patch_module_args(args):
            with pytest.raises(ModuleExit) as excinfo:
                module.main()
        assert all(env and env.get('LC_ALL') == 'C' for env in seen_env), 'commands must run in the C locale'
        return excinfo.value.result, excinfo.value.failed

    return runner
