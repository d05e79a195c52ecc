# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process against a fake command, capturing exit_json / fail_json."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(monkeypatch, capsys):
    """run_module(module, args, fake) -> (result, failed); `fake` answers run_command(argv).

    The module exits for real (exit_json / fail_json print the result and exit), so the result is
    what Ansible would get, including what AnsibleModule adds itself: the file attributes it puts
    in place of `state`, `owner`, `mode` ... whenever a result has a `path` or `dest` that exists.
    """

    def runner(module, args, fake, warnings=None):
        seen_env = []

        def run_command(self, argv, environ_update=None, **kwargs):
            seen_env.append(environ_update)
            return fake(argv)

        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False, opt_dirs=None: fake.path)
        if warnings is not None:
            monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, text: warnings.append(text))
        capsys.readouterr()
        with patch_module_args(args):
            with pytest.raises(SystemExit) as excinfo:
                module.main()
        result = json.loads(capsys.readouterr().out)
        result.pop('invocation', None)
        assert all(env and env.get('LC_ALL') == 'C' for env in seen_env), 'commands must run in the C locale'
        failed = bool(result.get('failed'))
        assert failed == (excinfo.value.code != 0)
        return result, failed

    return runner
