# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The config_files module's glue: its arguments, check mode, diff only with --diff, and its one exit."""

from __future__ import annotations

import os

from ansible_collections.llmhost.macos.plugins.modules import config_files


class Bash:
    """/bin/bash -n: a script that does not parse fails."""

    path = '/bin/bash'

    def __init__(self):
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        with open(argv[-1]) as handle:
            return (2, '', '%s: line 1: syntax error\n' % argv[-1]) if 'fi fi' in handle.read() else (0, '', '')


def script(path, content):
    return {'path': str(path), 'content': content, 'owner': str(os.getuid()), 'group': str(os.getgid()),
            'mode': '0755', 'validate': '/bin/bash -n %s'}


def test_a_run_writes_a_second_reports_nothing_and_diff_only_with_diff(run_module, tmp_path):
    files = [script(tmp_path / 'serve', 'exec ollama serve\n')]
    result, failed = run_module(config_files, {'files': files}, Bash())
    assert not failed and result['changed'] and result['changed_paths'] == [str(tmp_path / 'serve')]
    assert 'diff' not in result
    assert (tmp_path / 'serve').read_text() == 'exec ollama serve\n'
    result, failed = run_module(config_files, {'files': files, '_ansible_diff': True}, Bash())
    assert not failed and not result['changed'] and result['diff'] == []


def test_check_mode_writes_nothing(run_module, tmp_path):
    bash = Bash()
    result, failed = run_module(config_files, {'files': [script(tmp_path / 'serve', 'x\n')], '_ansible_check_mode': True},
                                bash)
    assert not failed and result['changed'] and bash.calls == []
    assert os.listdir(tmp_path) == []


def test_a_script_that_does_not_parse_fails_the_task_and_keeps_the_old_one(run_module, tmp_path):
    (tmp_path / 'serve').write_text('old\n')
    result, failed = run_module(config_files, {'files': [script(tmp_path / 'serve', 'if true; then fi fi\n')]}, Bash())
    assert failed and 'was not replaced, its new content failed the check' in result['msg']
    assert result['changed'] is False and result['changed_paths'] == [] and result['rc'] == 2
    assert (tmp_path / 'serve').read_text() == 'old\n' and os.listdir(tmp_path) == ['serve']


def test_an_unquoted_mode_is_refused_with_nothing_written(run_module, tmp_path):
    entry = dict(script(tmp_path / 'serve', 'x\n'), mode=493)
    result, failed = run_module(config_files, {'files': [entry]}, Bash())
    assert failed and 'mode must be an octal string' in result['msg'] and "'493'" in result['msg']
    assert os.listdir(tmp_path) == []
