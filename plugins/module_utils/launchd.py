# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""launchd jobs with the modern launchctl verbs: parser, plist rendering, planner.

Pure Python 3.9 with no third-party imports. The planner talks to launchctl and the file
system through small injected objects, so unit tests drive it with fakes.

Cost model: an unchanged job costs one `launchctl print` (plus reading its plist file when a
definition is given, plus `launchctl print-disabled` when `enabled` is given) and no writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import plistlib
import re
import time

from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, CommandError, LlmhostError, command_failed

LAUNCH_DAEMONS = '/Library/LaunchDaemons'
NOT_FOUND_RC = 113
NO_SUCH_PROCESS_RC = 3        # `Boot-out failed: 3: No such process`: the label is not loaded
IN_PROGRESS_RC = 36           # `Boot-out failed: 36: Operation now in progress`: still exiting
BOOTOUT_TIMEOUT = 60          # what `brew services stop` waits by default (--max-wait)
BOOTOUT_POLL = 0.5
_LABEL_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')
_TOP_LEVEL_RE = re.compile(r'^\t([^\t=][^=]*?) = (.*)$')
_EXIT_CODE_RE = re.compile(r'^(-?\d+)')
_DISABLED_RE = re.compile(r'^\s*"([^"]+)"\s*=>\s*(\S+)\s*$')


class LaunchdError(LlmhostError):
    """A failure reported to the user."""


# ---- parsing ---------------------------------------------------------------------------------------

def parse_print(text):
    """Top-level `key = value` lines of `launchctl print DOMAIN/LABEL` (one leading tab only).

    Nested blocks (endpoints, sockets, resource coalition) repeat keys such as `state` with two
    tabs; they are skipped, as are multi-line values (`arguments = {` ... `}`), which become the
    list of their lines.
    """
    result = {}
    block_key, block_lines, depth = None, [], 0
    for line in text.splitlines():
        if depth:
            stripped = line.strip()
            if stripped.endswith('{'):
                depth += 1
            elif stripped == '}':
                depth -= 1
                if depth == 0 and block_key is not None:
                    result[block_key] = block_lines
                    block_key, block_lines = None, []
                continue
            if depth == 1 and block_key is not None and stripped:
                block_lines.append(stripped)
            continue
        match = _TOP_LEVEL_RE.match(line)
        if not match:
            continue
        key, value = match.group(1).strip(), match.group(2).strip()
        if value == '{':
            depth = 1
            block_key, block_lines = key, []
            continue
        result[key] = value
    return result


def job_status(printed):
    """What the module reports from parse_print(): state, pid, last_exit_code, path, type."""
    pid = printed.get('pid')
    code = printed.get('last exit code')
    match = _EXIT_CODE_RE.match(code or '')
    return {
        'state': printed.get('state'),
        'pid': int(pid) if pid and pid.isdigit() else None,
        'last_exit_code': int(match.group(1)) if match else None,
        'last_exit_reason': code,
        'last_signal': printed.get('last terminating signal'),
        'path': printed.get('path'),
        'type': printed.get('type'),
        'runs': int(printed['runs']) if (printed.get('runs') or '').isdigit() else None,
    }


def parse_print_disabled(text):
    """`launchctl print-disabled DOMAIN`: {label: True if disabled}. `=> false` is the old `enabled`."""
    result = {}
    for line in text.splitlines():
        match = _DISABLED_RE.match(line)
        if match:
            result[match.group(1)] = match.group(2) in ('disabled', 'true')
    return result


# ---- definitions -----------------------------------------------------------------------------------

def validate_label(label):
    if not isinstance(label, str) or not _LABEL_RE.match(label):
        raise LaunchdError('label: %r is not a launchd label (reverse-DNS style, e.g. com.example.ollama)' % (label,))
    return label


def domain_target(domain, uid):
    """'system', 'gui/501' or 'user/501'."""
    if domain == 'system':
        return 'system'
    return '%s/%d' % (domain, uid)


def default_plist_path(domain, label, home):
    if domain == 'system':
        return '%s/%s.plist' % (LAUNCH_DAEMONS, label)
    return '%s/Library/LaunchAgents/%s.plist' % (home.rstrip('/'), label)


_PLIST_TYPES = (str, bool, int, float, dict, list, bytes)
# Jobs launchd starts on an event (a connection, a path, a time): loaded is all `started` asks for.
ON_DEMAND_KEYS = ('Sockets', 'inetdCompatibility', 'WatchPaths', 'QueueDirectories', 'StartInterval',
                  'StartCalendarInterval', 'StartOnMount', 'LaunchEvents')


def normalize_definition(plist, label):
    """The job definition to write: Label filled in, types plistlib can write, checked keys."""
    problems = []

    def check(value, where):
        if value is None:
            problems.append('%s: null is not a plist value' % where)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append('%s: keys must be strings, got %r' % (where, key))
                check(item, '%s.%s' % (where, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                check(item, '%s[%d]' % (where, index))
        elif not isinstance(value, _PLIST_TYPES):
            problems.append('%s: %s is not a plist type' % (where, type(value).__name__))

    definition = dict(plist)
    if definition.get('Label', label) != label:
        problems.append('plist.Label: %r differs from label %r' % (definition['Label'], label))
    definition['Label'] = label
    check(definition, 'plist')
    if 'Program' not in definition and not definition.get('ProgramArguments'):
        problems.append('plist: needs ProgramArguments (a list) or Program')
    if 'ProgramArguments' in definition and not isinstance(definition['ProgramArguments'], list):
        problems.append('plist.ProgramArguments: expects a list of strings')
    for key in ('RunAtLoad', 'Disabled'):
        if key in definition and not isinstance(definition[key], bool):
            problems.append('plist.%s: expects a boolean' % key)
    if 'KeepAlive' in definition and not isinstance(definition['KeepAlive'], (bool, dict)):
        problems.append('plist.KeepAlive: expects a boolean or a dict of conditions')
    if 'EnvironmentVariables' in definition and not (
            isinstance(definition['EnvironmentVariables'], dict)
            and all(isinstance(value, str) for value in definition['EnvironmentVariables'].values())):
        problems.append('plist.EnvironmentVariables: expects a dict of strings')
    if problems:
        raise LaunchdError('Invalid job definition: %s' % '; '.join(problems), invalid=problems)
    return definition


def render(definition):
    """XML plist bytes as launchd tooling writes them: sorted keys."""
    return plistlib.dumps(definition, fmt=plistlib.FMT_XML, sort_keys=True)


def load_definition(data):
    """A plist file's content as a dict, or None when it is not a readable plist."""
    try:
        value = plistlib.loads(data)
    except Exception:  # plistlib raises several types (InvalidFileException, ExpatError, ValueError)
        return None
    return value if isinstance(value, dict) else None


# ---- launchctl -------------------------------------------------------------------------------------

class Launchctl(Command):
    """launchctl through an injected run(argv) -> (rc, stdout, stderr).

    sleep(seconds) and clock() pace the wait after a bootout; tests pass fakes.
    """

    def __init__(self, path, run, sleep=time.sleep, clock=time.monotonic):
        super(Launchctl, self).__init__(path, run)
        self.sleep = sleep
        self.clock = clock

    def print_job(self, target):
        """parse_print of the job, or None when launchctl says it is not loaded (exit 113)."""
        argv, rc, out, err = self.call('print', target)
        if rc == NOT_FOUND_RC or 'Could not find service' in (err or '') + (out or ''):
            return None
        if rc != 0:
            raise command_failed(argv, rc, out, err)
        return parse_print(out)

    def domain_exists(self, domain):
        """Whether `launchctl print DOMAIN` finds it: gui/UID exists only while UID is logged in at the desktop."""
        _argv, rc, _out, _err = self.call('print', domain)
        return rc == 0

    def print_disabled(self, domain):
        return parse_print_disabled(self.check('print-disabled', domain))

    def bootstrap(self, domain, path):
        self.check('bootstrap', domain, path)

    def bootout(self, target, timeout=BOOTOUT_TIMEOUT, interval=BOOTOUT_POLL):
        """Boot the job out and return once launchd no longer has it.

        launchd answers a bootout before the job is gone: `Boot-out failed: 36: Operation now in
        progress` while the process honours its exit timeout, and the label can stay listed a
        moment after that; a bootstrap before it has left fails with `5: Input/output error`.
        Like Homebrew's `brew services stop`, the bootout is repeated while launchctl says 36 or
        `launchctl print` still finds the job, for at most `timeout` seconds.
        """
        started = self.clock()
        while True:
            argv, rc, out, err = self.call('bootout', target)
            said = (err or out or '').strip()
            if rc not in (0, NO_SUCH_PROCESS_RC, IN_PROGRESS_RC, NOT_FOUND_RC) and 'Could not find service' not in said:
                raise command_failed(argv, rc, out, err)
            printed = self.print_job(target)
            if printed is None:
                return
            waited = self.clock() - started
            if waited >= timeout:
                status = job_status(printed)
                raise LaunchdError(
                    '%s is still loaded %d seconds after launchctl bootout (state %s, pid %s; launchctl said: %s): '
                    'its process does not exit. Stop it (kill %s) or raise stop_timeout.' % (
                        target, int(waited), status['state'], status['pid'], said or 'exit %d' % rc,
                        status['pid'] or 'it'),
                    cmd=argv, rc=rc, stdout=out, stderr=err, job_state=status['state'], pid=status['pid'])
            self.sleep(interval)

    def enable(self, target):
        self.check('enable', target)

    def disable(self, target):
        self.check('disable', target)

    def kickstart(self, target, kill=False):
        self.check(*(['kickstart', '-k', target] if kill else ['kickstart', target]))


# ---- planner ---------------------------------------------------------------------------------------

def validate_params(params):
    label = validate_label(params['label'])
    if params['state'] in ('started', 'loaded') and params.get('enabled') is False:
        raise LaunchdError('enabled: false stops launchd from loading the job, so it cannot be %s; '
                           'use state: stopped (or absent) with enabled: false' % params['state'])
    if params.get('plist') is not None and params.get('plist_path'):
        raise LaunchdError('plist and plist_path are mutually exclusive')
    definition = normalize_definition(params['plist'], label) if params.get('plist') is not None else None
    if params.get('plist_path') and not params['plist_path'].startswith('/'):
        raise LaunchdError('plist_path: expects an absolute path, got %r' % params['plist_path'])
    if params.get('stop_timeout') is not None and params['stop_timeout'] <= 0:
        raise LaunchdError('stop_timeout: expects a positive number of seconds, got %r' % params['stop_timeout'])
    return label, definition


def ensure_job(launchctl, files, params, uid, home, check_mode=False, waiter=None, is_root=True):
    """Bring one launchd job to params['state']; returns the module result (diff included).

    files: object with read(path) -> bytes or None, write(path, data, owner_uid), remove(path).
    waiter(launchctl, target) -> status: after a start, watches the job for a crash loop.
    """
    label, definition = validate_params(params)
    domain, state = params['domain'], params['state']
    stop_timeout = params.get('stop_timeout') or BOOTOUT_TIMEOUT
    target_domain = domain_target(domain, uid)
    target = '%s/%s' % (target_domain, label)
    path = params.get('plist_path') or default_plist_path(domain, label, home)

    printed = launchctl.print_job(target)
    loaded = printed is not None
    status = job_status(printed) if loaded else None
    running = loaded and status['state'] == 'running'
    old_data = files.read(path)  # a local read, no launchctl call
    job = definition
    if job is None:
        # the definition launchd has: our file, else the one `launchctl print` says it loaded
        source = old_data if old_data is not None else (
            files.read(status['path']) if loaded and status.get('path') else None)
        job = load_definition(source) if source is not None else None
    # `loaded` asks only that launchd has the job: a boot-time task that runs once (RunAtLoad, no KeepAlive)
    # and exits is treated like a job started on an event, never kickstarted again.
    on_demand = state == 'loaded' or (bool(job) and any(key in job for key in ON_DEMAND_KEYS))
    disabled = None
    if params.get('enabled') is not None:
        # an override wins; without one, the plist's own Disabled key decides (ssh.plist has Disabled true)
        disabled = launchctl.print_disabled(target_domain).get(label, bool((job or {}).get('Disabled')))

    # A LaunchAgent of a user who is not logged in: its file is put in place, and loginwindow loads it at the
    # user's next login (bootstrap into a gui domain that does not exist fails with 5).
    no_session = (domain == 'gui' and not loaded and state in ('started', 'loaded', 'restarted')
                  and not launchctl.domain_exists(target_domain))

    steps = []  # (description, callable), run in order unless in check mode
    diff = {'before': {'loaded': loaded, 'running': running}, 'after': {}}

    file_changed = False
    if definition is not None and state != 'absent':
        new_data = render(definition)
        file_changed = load_definition(old_data) != definition if old_data is not None else True
        diff['before']['plist'] = _text(old_data)
        diff['after']['plist'] = _text(new_data if file_changed else old_data)
        if file_changed:
            # A loaded job leaves launchd before its new definition is written: if it never leaves,
            # the old file stays and the next run tries again instead of seeing nothing to do.
            if loaded and state not in ('absent', 'stopped'):
                steps.append(('bootout', lambda: launchctl.bootout(target, stop_timeout)))
            owner = None if domain == 'system' else uid
            steps.append(('write %s' % path, lambda: files.write(path, new_data, owner)))
    elif state in ('started', 'loaded', 'restarted') and not loaded and old_data is None:
        raise LaunchdError('%s is not loaded in %s and %s does not exist: give plist (or plist_path)'
                           % (label, target_domain, path))

    if params.get('enabled') is not None and params['enabled'] == disabled:
        verb = 'enable' if params['enabled'] else 'disable'
        steps.append((verb, lambda: getattr(launchctl, verb)(target)))
        disabled = not params['enabled']

    if state in ('absent', 'stopped'):
        if loaded:
            steps.append(('bootout', lambda: launchctl.bootout(target, stop_timeout)))
        if state == 'absent' and old_data is not None and not params.get('plist_path'):
            diff['before']['plist'], diff['after']['plist'] = _text(old_data), None
            steps.append(('remove %s' % path, lambda: files.remove(path)))
        diff['after'].update(loaded=False, running=False)
    elif no_session:
        diff['after'].update(loaded=False, running=False)
    else:
        fresh = not loaded or file_changed
        if fresh:
            steps.append(('bootstrap', lambda: _bootstrap(launchctl, target_domain, label, path, job)))
        elif state == 'restarted':
            steps.append(('kickstart -k', lambda: launchctl.kickstart(target, kill=True)))
        elif not running and not on_demand:
            steps.append(('kickstart', lambda: launchctl.kickstart(target)))
        diff['after'].update(loaded=True, running=running if on_demand else True)

    actions = [description for description, _step in steps]
    if steps and not check_mode and domain == 'system' and not is_root:
        raise LaunchdError('Changing system-domain job %s needs root: use become: true' % label, actions=actions)
    if not check_mode and steps:
        for _description, step in steps:
            step()
        if state in ('started', 'loaded', 'restarted') and not no_session:
            status = job_status(launchctl.print_job(target) or {})
            if status['state'] != 'running' and actions[-1] == 'bootstrap' and not on_demand:
                # loaded without RunAtLoad: start it now
                actions.append('kickstart')
                launchctl.kickstart(target)
            if waiter is not None and not on_demand:
                status = waiter(launchctl, target)
            else:
                status = job_status(launchctl.print_job(target) or {})
    if state in ('absent', 'stopped'):
        job_state = 'not loaded'
        status = None
    elif no_session:
        job_state = 'waiting for login'
        status = None
    elif status is not None:
        job_state = status.get('state') or 'not loaded'
    else:
        job_state = 'loaded' if state == 'loaded' else 'running'  # check mode: a job that would be bootstrapped

    return {
        'changed': bool(actions),
        'actions': actions,
        'label': label,
        'domain': target_domain,
        # not `path`: AnsibleModule would replace `state` by the file's (file, directory, ...)
        'plist_path': path,
        'state': job_state,
        'pid': (status or {}).get('pid'),
        'last_exit_code': (status or {}).get('last_exit_code'),
        'diff': diff,
    }


def _bootstrap(launchctl, target_domain, label, path, job):
    """bootstrap; its exit 5 says nothing, so find out whether the job is disabled and say so."""
    try:
        launchctl.bootstrap(target_domain, path)
    except CommandError as exc:
        if exc.details.get('rc') == 5 and launchctl.print_disabled(target_domain).get(
                label, bool((job or {}).get('Disabled'))):
            raise LaunchdError('%s is disabled in %s (launchctl print-disabled), so launchd refused to load it: '
                               'set enabled: true' % (label, target_domain), **exc.details)
        raise


def watch_for_crash(sleep, seconds=3.0, interval=0.5):
    """A waiter: after a start the job must stay running with one pid for `seconds`.

    A job that is not running with a non-zero last exit code (or a terminating signal), or whose
    pid changes (launchd restarting a KeepAlive job that keeps dying), is crash looping.
    """

    def waiter(launchctl, target):
        waited, first_pid = 0.0, None
        while True:
            status = job_status(launchctl.print_job(target) or {})
            if status['state'] != 'running':
                if status['last_exit_code'] not in (None, 0) or status['last_signal']:
                    raise LaunchdError(
                        '%s exited right after it was started (last exit code %s%s): it is crash looping' % (
                            target, status['last_exit_code'],
                            ', %s' % status['last_signal'] if status['last_signal'] else ''),
                        last_exit_code=status['last_exit_code'], job_state=status['state'])
            elif first_pid is None:
                first_pid = status['pid']
            elif status['pid'] != first_pid:
                raise LaunchdError(
                    '%s was started again by launchd while it was watched (pid %s, then %s; last exit code %s): '
                    'it is crash looping' % (target, first_pid, status['pid'], status['last_exit_code']),
                    last_exit_code=status['last_exit_code'], job_state=status['state'])
            if waited >= seconds:
                return status
            sleep(interval)
            waited += interval

    return waiter


def _text(data):
    if data is None:
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return '(binary plist, %d bytes)' % len(data)
