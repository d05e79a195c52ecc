# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action of llmhost.macos.ollama_model: a long download shows its progress in the play's output.

1. The module runs once with _defer_download: everything that needs no download is done there,
   and a model that is present costs that one run (one request). When a pull would download, the
   module stops before it and answers download_needed with a download_plan.
2. Only then the module runs again as a background job (async_wrapper, as for the async
   keyword), with _progress_file in the remote temporary directory, which the module rewrites
   with the pull's progress every few seconds.
3. Every progress_interval seconds one async_status reads the job; while it runs, one slurp reads
   the progress file, and a line goes to the output. The job's result is returned as the task's
   result, failed or not, and its job file removed (async_wrapper removes the temporary
   directory, progress file included, when the module ends).

Check mode, progress_interval 0, the task's own async keyword and connections that cannot run a
background job run the module once, as the normal action does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.llmhost.macos.plugins.module_utils.ollama_progress import (
    DEFAULT_DOWNLOAD_TIMEOUT,
    DEFAULT_PROGRESS_INTERVAL,
    DEFAULT_STALL_TIMEOUT,
    ProgressView,
    async_time_limit,
)

display = Display()

PROGRESS_FILE = 'llmhost_ollama_model_progress.json'
DEFAULTS = {'progress_interval': DEFAULT_PROGRESS_INTERVAL, 'download_timeout': DEFAULT_DOWNLOAD_TIMEOUT,
            'stall_timeout': DEFAULT_STALL_TIMEOUT}
# Keys of async_status's answer that are about the job, not the module's result.
_JOB_KEYS = ('ansible_job_id', 'started', 'finished', 'results_file', 'erased')
# Polls in a row that may fail (a network bounce) before the task gives up on the job.
_POLL_ERRORS = 5


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # no longer has any effect
        options = self._timing()
        if self._task.async_val or self._task.check_mode or options is None or not options['progress_interval'] \
                or self._connection.has_native_async or self._connection.always_pipeline_modules:
            return merge_hash(result, self._run_once(task_vars))

        first = self._execute_module(module_args=dict(self._task.args, _defer_download=True), task_vars=task_vars)
        if not first.get('download_needed') or first.get('failed'):
            return merge_hash(result, _hide_internal_args(first))
        final = self._download(first.get('download_plan') or {}, options, task_vars)
        if first.get('warnings'):   # what the first run had to say still holds
            final['warnings'] = list(first['warnings']) + list(final.get('warnings') or [])
        return merge_hash(result, final)

    def _timing(self):
        """progress_interval, download_timeout, stall_timeout as numbers; None when one is not a number
        (the module then refuses it with its own message)."""
        options = {}
        for name, default in DEFAULTS.items():
            value = self._task.args.get(name)
            try:
                options[name] = default if value is None else float(value)
            except (TypeError, ValueError):
                return None
        return options

    def _run_once(self, task_vars):
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result = self._execute_module(task_vars=task_vars, wrap_async=wrap_async)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return _hide_internal_args(result)

    def _download(self, plan, options, task_vars):
        """Run the module as a background job, print its progress, return its result."""
        if self._connection._shell.tmpdir is None:
            self._make_tmp_path()
        progress_path = self._connection._shell.join_path(self._connection._shell.tmpdir, PROGRESS_FILE)
        limit = async_time_limit(options['download_timeout'], options['stall_timeout'])
        saved = self._task.async_val
        self._task.async_val = limit   # read by _execute_module for async_wrapper's time limit
        try:
            job = self._execute_module(module_args=dict(self._task.args, _progress_file=progress_path),
                                       task_vars=task_vars, wrap_async=True)
        finally:
            self._task.async_val = saved
        jid = job.get('ansible_job_id')
        if job.get('failed') or not jid:
            job.setdefault('msg', 'The background job of the download did not start')
            job['failed'] = True
            return _hide_internal_args(job)

        host = task_vars.get('inventory_hostname') if task_vars else None
        prefix = '%s: ' % host if host else ''
        name = plan.get('model') or self._task.args.get('name')
        view = ProgressView(name, total_hint=plan.get('total_bytes'))
        async_dir = self._remote_expand_user(self.get_shell_option('async_dir', default='~/.ansible_async'))
        interval = options['progress_interval']
        begun = time.monotonic()
        give_up = begun + limit + 2 * interval + 60
        # The module writes its progress file every few seconds while its pull runs, also while the stream
        # stands still (Ollama repeats its last line). A file that stops changing for longer than the module's
        # own stall_timeout means the job's process is gone (the Mac lost power or restarted; async_status
        # would say "started" until the time limit).
        silence_limit = options['stall_timeout'] + 2 * interval + 60
        last_seen, last_change = None, begun
        errors = []
        reported = False
        while True:
            time.sleep(interval)
            try:
                status = self._job(jid, 'status', async_dir, task_vars)
            except AnsibleError as exc:   # the connection bounced: try again, a few times
                errors.append(to_text(exc))
                if len(errors) >= _POLL_ERRORS:
                    return {'failed': True, 'ansible_job_id': jid, 'errors': errors,
                            'msg': 'Lost track of the background pull of %s (job %s): %s' % (name, jid, errors[-1])}
                continue
            errors = []
            if status.get('finished') or status.get('failed'):
                break
            if time.monotonic() > give_up:
                return {'failed': True, 'ansible_job_id': jid,
                        'msg': 'The background pull of %s (job %s) did not end within %d seconds' % (name, jid, limit)}
            snapshot = self._read_progress(progress_path, task_vars)
            now = time.monotonic()
            stamp = (snapshot or {}).get('time')
            if stamp is not None and stamp != last_seen:
                last_seen, last_change = stamp, now
            elif now - last_change > silence_limit:
                return {'failed': True, 'ansible_job_id': jid,
                        'msg': 'The background pull of %s (job %s) has not reported for %d seconds: its process is '
                               'gone (the Mac lost power or restarted, or the job was killed). Run again: layers '
                               'already downloaded are kept.' % (name, jid, now - last_change)}
            if snapshot is None and reported:
                continue   # the module ended after async_status looked, and its directory is gone
            reported = reported or snapshot is not None
            display.display(prefix + view.line(snapshot, time.monotonic() - begun))

        final = dict((key, value) for key, value in status.items() if key not in _JOB_KEYS)
        for key in ('stdout', 'stderr'):
            if not final.get(key):   # async_status adds them empty
                final.pop(key, None)
                final.pop(key + '_lines', None)
        if final.get('msg') == 'Timeout exceeded' and 'child_pid' in final:   # async_wrapper stopped the job
            final['msg'] = ('Pulling %s did not end within %d seconds (download_timeout, stall_timeout and a minute): '
                            'the background job was stopped. Ollama may go on downloading; the next run resumes it.'
                            % (name, limit))
        if status.get('finished'):
            cleanup = self._job(jid, 'cleanup', async_dir, task_vars)
            if cleanup.get('failed'):
                final.setdefault('warnings', []).append('Could not remove the job file of %s: %s' % (jid, cleanup.get('msg')))
        return _hide_internal_args(final)

    def _job(self, jid, mode, async_dir, task_vars):
        """async_status of the job (mode status or cleanup), as the async_status action runs it."""
        return self._execute_module(module_name='ansible.legacy.async_status', task_vars=task_vars,
                                    module_args={'jid': jid, 'mode': mode, '_async_dir': async_dir})

    def _read_progress(self, path, task_vars):
        """The module's last snapshot, or None while there is none (not written yet, or unreadable)."""
        answer = self._execute_module(module_name='ansible.legacy.slurp', module_args={'src': path}, task_vars=task_vars)
        if answer.get('failed') or 'content' not in answer:
            return None
        try:
            snapshot = json.loads(base64.b64decode(answer['content']).decode('utf-8'))
        except ValueError:
            return None
        return snapshot if isinstance(snapshot, dict) else None


def _hide_internal_args(result):
    """The module's invocation without the arguments this plugin added."""
    arguments = (result.get('invocation') or {}).get('module_args')
    if isinstance(arguments, dict):
        result['invocation'] = dict(result['invocation'], module_args=dict(
            (key, value) for key, value in arguments.items() if key not in ('_defer_download', '_progress_file')))
    return result
