# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory launchd and file system for unit tests of module_utils/launchd.py.

launchctl answers with the formats and exit codes of ../shared/reference/macos-formats.md 4:
`print` output with tab-indented top-level keys, exit 113 "Could not find service", bootstrap
of a loaded or disabled job "Bootstrap failed: 5: Input/output error", bootout of a job that is
not loaded "Boot-out failed: 3: No such process".

Bootout is asynchronous as on a real Mac (macos-formats-provisioning.md 8.2): a running job's
process takes a moment to exit, so the first bootout answers "Boot-out failed: 36: Operation now
in progress" and the job stays listed (and a bootstrap of it fails with 5) for `exit_polls` more
launchctl calls about it. A label in `stuck` never leaves. Time is a fake clock that `sleep`
advances, so tests that wait take no time.
"""

from __future__ import annotations

import plistlib


class FakeFiles:
    def __init__(self, files=None):
        self.files = dict(files or {})
        self.writes = []

    def read(self, path):
        return self.files.get(path)

    def write(self, path, data, owner_uid):
        self.writes.append((path, owner_uid))
        self.files[path] = data

    def remove(self, path):
        self.writes.append((path, 'removed'))
        del self.files[path]


class FakeLaunchctl:
    path = '/bin/launchctl'

    def __init__(self, files, crash=None, no_run_at_load=(), exit_polls=2, stuck=(), sessions=(501,)):
        self.files = files
        self.sessions = set(sessions)  # uids logged in at the desktop: their gui/UID domain exists
        self.jobs = {}        # 'system/label' -> {'path', 'running', 'pid', 'exit', 'runs', 'leaving'}
        self.disabled = {}    # domain -> {label: bool}
        self.crash = dict(crash or {})  # label -> exit code: the job dies as soon as it starts
        self.exit_polls = exit_polls
        self.stuck = set(stuck)
        self.next_pid = 500
        self.calls = []
        self.now = 0.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds

    def _leaving(self, target):
        """Count one more call about a job that is exiting; True while it is still listed."""
        job = self.jobs.get(target)
        if job is None or job.get('leaving') is None:
            return False
        if job['leaving'] <= 0 and target.rsplit('/', 1)[1] not in self.stuck:
            del self.jobs[target]
            return False
        job['leaving'] -= 1
        return True

    def writes(self):
        return [argv[1:] for argv in self.calls if argv[1] not in ('print', 'print-disabled')]

    def _start(self, job, label):
        job['runs'] += 1
        if label in self.crash:
            job.update(running=False, pid=None, exit=self.crash[label])
        else:
            self.next_pid += 1
            job.update(running=True, pid=self.next_pid)

    def __call__(self, argv):
        self.calls.append(list(argv))
        verb, args = argv[1], argv[2:]
        return getattr(self, 'do_' + verb.replace('-', '_'))(*args)

    def _domain_exists(self, domain):
        kind, _slash, uid = domain.partition('/')
        return kind != 'gui' or int(uid) in self.sessions

    def do_print(self, target):
        if target == 'system' or target.count('/') == 1 and not target.startswith('system/'):
            if not self._domain_exists(target):
                # INVENTED text (the simulated Mac's): a gui domain of a user who is not logged in
                return 113, '', 'Bad request.\nCould not find domain for user gui: %s\n' % target.split('/')[1]
            return 0, '%s = {\n\ttype = %s\n}\n' % (target, 'login' if target.startswith('gui/') else 'system'), ''
        self._leaving(target)
        job = self.jobs.get(target)
        domain, label = target.rsplit('/', 1)
        if job is None:
            where = 'system' if domain == 'system' else 'user gui: %s' % domain.split('/')[1]
            return 113, '', 'Bad request.\nCould not find service "%s" in domain for %s\n' % (label, where)
        lines = ['%s = {' % target, '\tactive count = %d' % (1 if job['running'] else 0),
                 '\tpath = %s' % job['path'], '\ttype = %s' % ('LaunchDaemon' if domain == 'system' else 'LaunchAgent'),
                 '\tstate = %s' % ('running' if job['running'] else 'not running'), '',
                 '\tresource coalition = {', '\t\tID = 77', '\t\tstate = active', '\t}', '',
                 '\tdomain = %s' % domain, '\truns = %d' % job['runs']]
        if job['running']:
            lines.append('\tpid = %d' % job['pid'])
        if job['exit'] is None:
            last = '(never exited)'
        elif job['exit'] == 78:
            last = '78: EX_CONFIG'
        else:
            last = str(job['exit'])
        lines.append('\tlast exit code = %s' % last)
        lines.append('}')
        return 0, '\n'.join(lines) + '\n', ''

    def do_print_disabled(self, domain):
        body = ''.join('\t\t"%s" => %s\n' % (label, 'disabled' if off else 'enabled')
                       for label, off in sorted(self.disabled.get(domain, {}).items()))
        return 0, '\tdisabled services = {\n%s\t}\n' % body, ''

    def do_bootstrap(self, domain, path):
        if not self._domain_exists(domain):
            return 5, '', 'Bootstrap failed: 5: Input/output error\n'
        data = self.files.read(path)
        if data is None:
            return 5, '', 'Bootstrap failed: 5: Input/output error\n'
        definition = plistlib.loads(data)
        label = definition['Label']
        target = '%s/%s' % (domain, label)
        if target in self.jobs or self.disabled.get(domain, {}).get(label, definition.get('Disabled', False)):
            return 5, '', 'Bootstrap failed: 5: Input/output error\n'
        job = self.jobs[target] = {'path': path, 'running': False, 'pid': None, 'exit': None, 'runs': 0,
                                   'definition': plistlib.loads(data)}
        if job['definition'].get('RunAtLoad'):
            self._start(job, label)
        return 0, '', ''

    def do_bootout(self, target):
        job = self.jobs.get(target)
        if job is None:
            return 3, '', 'Boot-out failed: 3: No such process\n'
        if job.get('leaving') is None and job['running'] and (self.exit_polls > 0 or target.rsplit('/', 1)[1] in self.stuck):
            job['leaving'] = self.exit_polls
            return 36, '', 'Boot-out failed: 36: Operation now in progress\n'
        if self._leaving(target):
            return 36, '', 'Boot-out failed: 36: Operation now in progress\n'
        self.jobs.pop(target, None)
        return 0, '', ''

    def do_enable(self, target):
        domain, label = target.rsplit('/', 1)
        self.disabled.setdefault(domain, {})[label] = False
        return 0, '', ''

    def do_disable(self, target):
        domain, label = target.rsplit('/', 1)
        self.disabled.setdefault(domain, {})[label] = True
        return 0, '', ''

    def do_kickstart(self, *args):
        target = args[-1]
        job = self.jobs.get(target)
        if job is None:
            return 113, '', 'Could not find service "%s" in domain for system\n' % target.rsplit('/', 1)[1]
        if '-k' in args or not job['running']:
            if job['running']:
                job['exit'] = None
            self._start(job, target.rsplit('/', 1)[1])
        return 0, '', ''
