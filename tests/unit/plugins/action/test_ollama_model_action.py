# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ollama_model action plugin against a scripted remote: which module runs it makes (a present
model: one, never async), what it prints, and that the job's result comes back, failures included.
Over a real connection and a real module, tests/integration/test_ollama_model_progress.py."""

from __future__ import annotations

import base64
import json

import pytest

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.llmhost.macos.plugins.action import ollama_model as action_plugin

MODULE = 'llmhost.macos.ollama_model'
TMP = '/Users/admin/.ansible/tmp/ansible-tmp-1764300000.1-42-1'
PROGRESS = TMP + '/' + action_plugin.PROGRESS_FILE
MIB = 1 << 20


class Shell:
    def __init__(self):
        self.tmpdir = None

    def join_path(self, *parts):
        return '/'.join(parts)


class Connection:
    has_native_async = False
    always_pipeline_modules = False

    def __init__(self):
        self._shell = Shell()


class Task:
    action = MODULE

    def __init__(self, args, check_mode=False, async_val=0):
        self.args = args
        self.check_mode = check_mode
        self.async_val = async_val


class Time:
    """time for the plugin: sleep moves monotonic()."""

    def __init__(self):
        self.now = 0.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class Remote:
    """Answers the plugin's module runs from a script and logs them: (module, args, wrap_async, async_val).

    first: the result of the first run of ollama_model; statuses: async_status answers in order
    (an exception is raised); snapshots: progress file contents in order (None: not there).
    """

    def __init__(self, task, first, job=None, statuses=(), snapshots=(), final_run=None):
        self.task = task
        self.first = first
        self.job = job or {'started': True, 'finished': False, 'ansible_job_id': 'j421', 'changed': True,
                           'results_file': '/Users/admin/.ansible_async/j421'}
        self.statuses = list(statuses)
        self.snapshots = list(snapshots)
        self.final_run = final_run
        self.calls = []

    def __call__(self, module_name=None, module_args=None, task_vars=None, wrap_async=False, **kwargs):
        name = module_name or self.task.action
        args = dict(self.task.args if module_args is None else module_args)
        self.calls.append((name, args, wrap_async, self.task.async_val))
        if name == MODULE and wrap_async:
            return dict(self.job)
        if name == MODULE:
            if '_defer_download' in args:
                return json.loads(json.dumps(self.first))
            return dict(self.final_run)
        if name == 'ansible.legacy.async_status' and args['mode'] == 'cleanup':
            return {'ansible_job_id': args['jid'], 'erased': '/Users/admin/.ansible_async/' + args['jid']}
        if name == 'ansible.legacy.async_status':
            answer = self.statuses.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        if name == 'ansible.legacy.slurp':
            snapshot = self.snapshots.pop(0) if self.snapshots else None
            if snapshot is None:
                return {'failed': True, 'msg': 'file not found: %s' % args['src']}
            return {'content': base64.b64encode(json.dumps(snapshot).encode()).decode(), 'encoding': 'base64',
                    'source': args['src']}
        raise AssertionError('unexpected module %s' % name)

    def names(self):
        return [call[0].rsplit('.', 1)[-1] + ('(async)' if call[2] else '') for call in self.calls]


@pytest.fixture
def harness(monkeypatch):
    clock = Time()
    shown = []
    monkeypatch.setattr(action_plugin, 'time', clock)
    monkeypatch.setattr(action_plugin.display, 'display', lambda msg, *a, **kw: shown.append(msg))

    def make(args, first=None, check_mode=False, async_val=0, **script):
        task = Task(dict(args), check_mode=check_mode, async_val=async_val)
        connection = Connection()
        plugin = action_plugin.ActionModule(task, connection, None, None, None, None)
        remote = Remote(task, first, **script)
        removed = []

        def make_tmp_path(remote_user=None):
            connection._shell.tmpdir = TMP
            return TMP
        plugin._execute_module = remote
        plugin._make_tmp_path = make_tmp_path
        plugin._remove_tmp_path = removed.append
        plugin._remote_expand_user = lambda path, sudoable=True: path.replace('~', '/Users/admin')
        plugin.get_shell_option = lambda option, default=None: default
        plugin.removed = removed
        return plugin, remote

    make.clock = clock
    make.shown = shown
    return make


PRESENT = {'changed': False, 'actions': [], 'model': {'name': 'llama3.3:70b'}, 'duration': 0.01,
           'invocation': {'module_args': {'name': 'llama3.3:70b', '_defer_download': True, '_progress_file': None}}}
DEFERRED = {'changed': False, 'actions': ['pull'], 'download_needed': True, 'model': None, 'duration': 0.2,
            'download_plan': {'model': 'llama3.3:70b', 'action': 'pull', 'total_bytes': 40 * 1024 * MIB}}
PULLED = {'changed': True, 'actions': ['pull'], 'msg': 'pulled llama3.3:70b: 40.00 GiB in 10m40s, 64.0 MiB/s',
          'download': {'bytes': 40 * 1024 * MIB, 'seconds': 640.0, 'rate_bytes_per_second': 64 * MIB},
          'invocation': {'module_args': {'name': 'llama3.3:70b', '_defer_download': False,
                                         '_progress_file': PROGRESS}}}
RUNNING = {'started': True, 'finished': False, 'ansible_job_id': 'j421', 'stdout': '', 'stderr': ''}


def finished(result):
    return dict(result, started=True, finished=True, ansible_job_id='j421', stdout='', stderr='',
                stdout_lines=[], stderr_lines=[], results_file='/Users/admin/.ansible_async/j421')


def snapshot(gib, when, status='pulling 4824460d29f2'):
    return {'model': 'llama3.3:70b', 'status': status, 'attempt': 1, 'completed': gib * 1024 * MIB,
            'total': 40 * 1024 * MIB, 'bytes': gib * 1024 * MIB, 'started': 0.0, 'time': when}


def test_a_present_model_is_one_module_run(harness):
    plugin, remote = harness({'name': 'llama3.3:70b'}, first=PRESENT)
    result = plugin.run(task_vars={'inventory_hostname': 'studio'})
    assert remote.names() == ['ollama_model']
    assert remote.calls[0][1] == {'name': 'llama3.3:70b', '_defer_download': True}
    assert result['changed'] is False and result['model'] == {'name': 'llama3.3:70b'}
    assert result['invocation'] == {'module_args': {'name': 'llama3.3:70b'}}   # no internal arguments shown
    assert harness.shown == [] and harness.clock.slept == []


def test_a_download_runs_in_the_background_with_progress_lines(harness):
    plugin, remote = harness(
        {'name': 'llama3.3:70b', 'progress_interval': 10, 'download_timeout': 3600, 'stall_timeout': 60},
        first=DEFERRED, statuses=[RUNNING, RUNNING, RUNNING, finished(PULLED)],
        snapshots=[None, snapshot(5, 80.0), snapshot(10, 160.0)])
    result = plugin.run(task_vars={'inventory_hostname': 'studio'})
    assert remote.names() == ['ollama_model', 'ollama_model(async)',
                              'async_status', 'slurp', 'async_status', 'slurp', 'async_status', 'slurp',
                              'async_status', 'async_status']
    background = remote.calls[1]
    assert background[1] == {'name': 'llama3.3:70b', 'progress_interval': 10, 'download_timeout': 3600,
                             'stall_timeout': 60, '_progress_file': PROGRESS}
    assert background[3] == 3600 + 60 + 60          # async_wrapper's time limit
    assert plugin._task.async_val == 0                # given back: Ansible does not poll the task itself
    assert [call[1] for call in remote.calls if call[0] == 'ansible.legacy.async_status'] == \
        [{'jid': 'j421', 'mode': 'status', '_async_dir': '/Users/admin/.ansible_async'}] * 4 + \
        [{'jid': 'j421', 'mode': 'cleanup', '_async_dir': '/Users/admin/.ansible_async'}]
    assert harness.clock.slept == [10, 10, 10, 10]
    assert harness.shown == [
        'studio: pulling llama3.3:70b: no progress reported yet (10s)',
        'studio: pulling llama3.3:70b: 12.5% 5.00/40.00 GiB, 64.0 MiB/s, 9m20s left',
        'studio: pulling llama3.3:70b: 25.0% 10.00/40.00 GiB, 64.0 MiB/s, 8m00s left',
    ]
    assert result == {'changed': True, 'actions': ['pull'], 'msg': PULLED['msg'], 'download': PULLED['download'],
                      'invocation': {'module_args': {'name': 'llama3.3:70b'}}}


def test_a_progress_file_gone_at_the_end_prints_no_line(harness):
    plugin, remote = harness({'name': 'llama3.3:70b'}, first=DEFERRED, statuses=[RUNNING, RUNNING, finished(PULLED)],
                             snapshots=[snapshot(5, 80.0), None])
    assert plugin.run(task_vars={})['changed'] is True
    assert harness.shown == ['pulling llama3.3:70b: 12.5% 5.00/40.00 GiB, 64.0 MiB/s, 9m20s left']


def test_a_failed_job_is_returned_failed(harness):
    failure = {'failed': True, 'msg': 'Pulling llama3.3:70b failed: write /x-partial: no space left on device',
               'attempts': 1, 'errors': ['write /x-partial: no space left on device'], 'bytes': 5 * 1024 * MIB}
    plugin, remote = harness({'name': 'llama3.3:70b'}, first=DEFERRED, statuses=[RUNNING, finished(failure)],
                             snapshots=[snapshot(5, 80.0)])
    result = plugin.run(task_vars={})
    assert result['failed'] is True and result['msg'] == failure['msg'] and result['bytes'] == 5 * 1024 * MIB
    assert harness.shown == ['pulling llama3.3:70b: 12.5% 5.00/40.00 GiB, 64.0 MiB/s, 9m20s left']
    assert remote.names()[-1] == 'async_status' and remote.calls[-1][1]['mode'] == 'cleanup'


def test_a_job_stopped_at_its_time_limit_says_why(harness):
    killed = {'msg': 'Timeout exceeded', 'failed': True, 'child_pid': 4242}
    plugin, remote = harness({'name': 'llama3.3:70b', 'download_timeout': 600, 'stall_timeout': 30},
                             first=DEFERRED, statuses=[finished(killed)])
    result = plugin.run(task_vars={})
    assert result['failed'] is True
    assert result['msg'] == ('Pulling llama3.3:70b did not end within 690 seconds (download_timeout, stall_timeout '
                             'and a minute): the background job was stopped. Ollama may go on downloading; the next '
                             'run resumes it.')


def test_a_job_that_did_not_start_is_a_failure(harness):
    plugin, remote = harness({'name': 'llama3.3:70b'}, first=DEFERRED,
                             job={'failed': True, 'msg': 'could not create /Users/admin/.ansible_async'})
    result = plugin.run(task_vars={})
    assert result['failed'] is True and result['msg'] == 'could not create /Users/admin/.ansible_async'
    assert remote.names() == ['ollama_model', 'ollama_model(async)']


def test_polls_survive_a_bounce_but_not_a_lost_host(harness):
    bounce = AnsibleConnectionFailure('ssh: connect to host studio port 22: Connection refused')
    plugin, remote = harness({'name': 'llama3.3:70b'}, first=DEFERRED,
                             statuses=[bounce, RUNNING, finished(PULLED)], snapshots=[snapshot(5, 80.0)])
    assert plugin.run(task_vars={})['changed'] is True
    plugin, remote = harness({'name': 'llama3.3:70b'}, first=DEFERRED, statuses=[bounce] * 5)
    result = plugin.run(task_vars={})
    assert result['failed'] is True and result['ansible_job_id'] == 'j421'
    assert result['msg'] == ('Lost track of the background pull of llama3.3:70b (job j421): '
                             'ssh: connect to host studio port 22: Connection refused')


def test_warnings_of_the_first_run_are_kept(harness):
    plugin, remote = harness({'name': 'llama3.3:70b'}, first=dict(DEFERRED, warnings=['first']),
                             statuses=[finished(dict(PULLED, warnings=['second']))])
    assert plugin.run(task_vars={})['warnings'] == ['first', 'second']


@pytest.mark.parametrize('args, check_mode, async_val, wrap_async', [
    ({'name': 'llama3.3:70b'}, True, 0, False),                            # check mode downloads nothing
    ({'name': 'llama3.3:70b', 'progress_interval': 0}, False, 0, False),   # asked for no progress
    ({'name': 'llama3.3:70b', 'progress_interval': 'soon'}, False, 0, False),  # the module refuses it
    ({'name': 'llama3.3:70b'}, False, 600, True),                          # the task's own async keyword
])
def test_one_plain_run_otherwise(harness, args, check_mode, async_val, wrap_async):
    plugin, remote = harness(args, check_mode=check_mode, async_val=async_val, final_run=PULLED)
    result = plugin.run(task_vars={})
    assert remote.names() == ['ollama_model(async)' if wrap_async else 'ollama_model']
    assert remote.calls[0][1] == args
    assert harness.shown == []
    if not wrap_async:
        assert result['msg'] == PULLED['msg']


def test_a_job_whose_progress_stops_changing_is_reported_gone(harness):
    """A Mac that lost power mid-pull: async_status keeps saying "started" (its job file was never finished) and
    the progress file keeps its last snapshot. Before, the plugin polled until the async time limit (a day)."""
    plugin, remote = harness(
        {'name': 'llama3.3:70b', 'progress_interval': 10, 'download_timeout': 86400, 'stall_timeout': 30},
        first=DEFERRED, statuses=[RUNNING] * 20, snapshots=[snapshot(5, 80.0)] * 20)
    result = plugin.run(task_vars={'inventory_hostname': 'studio'})
    assert result['failed'] and 'has not reported for' in result['msg'] and 'the Mac lost power' in result['msg']
    # 30 s of its own stall_timeout + two polls + a minute of grace, counted from the last new snapshot
    assert 110 < harness.clock.now <= 140
    assert 'cleanup' not in [call[1].get('mode') for call in remote.calls]


def test_a_slow_but_moving_pull_is_not_taken_for_a_dead_one(harness):
    statuses = [RUNNING] * 30 + [finished(PULLED)]
    snapshots = [snapshot(i / 10.0, 10.0 * i) for i in range(1, 31)]
    plugin, remote = harness(
        {'name': 'llama3.3:70b', 'progress_interval': 10, 'download_timeout': 86400, 'stall_timeout': 30},
        first=DEFERRED, statuses=statuses, snapshots=snapshots)
    result = plugin.run(task_vars={'inventory_hostname': 'studio'})
    assert not result.get('failed') and result['changed']
