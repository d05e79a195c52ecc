# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The config_files module's logic: several files and directories in one pass, each read once.

A role's files (its scripts, configuration and directories) are compared with what is wanted in one module
call on the Mac, where ansible.builtin.template costs a stat and a file module call for each of them. Nothing
is written when nothing differs; a file that differs is written to a temporary file beside it, checked with its
`validate` command there, and renamed over the old one, so a file that fails its check never replaces one that
worked.

check_spec() is pure and refuses bad input before anything is read. plan() compares the wanted entries with
what a FileSystem reports and apply() carries a plan out through the same FileSystem; the unit tests run both
against a temporary directory. Python 3.9, no third-party imports: it runs on the Mac's /usr/bin/python3.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import re
import shlex
import stat
import tempfile

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, command_failed

STATES = ('file', 'directory', 'absent')
_MODE = re.compile(r'^0[0-7]{3,4}$')
_NUMERIC = re.compile(r'^[0-9]+$')


def check_spec(entries):
    """The entries, normalized, or LlmhostError naming the first bad one. Nothing is read."""
    seen = set()
    checked = []
    for index, entry in enumerate(entries):
        where = 'files[%d]' % index
        path = entry.get('path') or ''
        if not os.path.isabs(path) or os.path.normpath(path) != path.rstrip('/') or path == '/':
            raise LlmhostError('%s: path must be an absolute, normalized path below /, got %r' % (where, path))
        where = '%s (%s)' % (where, path)
        if path in seen:
            raise LlmhostError('%s is listed twice' % where)
        seen.add(path)
        state = entry.get('state') or 'file'
        if state not in STATES:
            raise LlmhostError('%s: state must be one of %s, got %r' % (where, ', '.join(STATES), state))
        content = entry.get('content')
        if state == 'file' and content is None:
            raise LlmhostError('%s: a file needs its content' % where)
        if state != 'file' and content is not None:
            kind = 'removed path' if state == 'absent' else state
            raise LlmhostError('%s: only a file has content, not a %s' % (where, kind))
        validate = entry.get('validate')
        if validate and (state != 'file' or '%s' not in shlex.split(validate)):
            raise LlmhostError('%s: validate is a command for a file, with %%s as one word where the new file goes, '
                               'got %r' % (where, validate))
        mode = entry.get('mode')
        if state != 'absent':
            if mode is None or not _MODE.match(str(mode)):
                raise LlmhostError('%s: mode must be an octal string such as "0644" (quoted in YAML), got %r'
                                   % (where, mode))
        checked.append({
            'path': path,
            'state': state,
            'content': content,
            'owner': None if state == 'absent' or entry.get('owner') in (None, '') else str(entry['owner']),
            'group': None if state == 'absent' or entry.get('group') in (None, '') else str(entry['group']),
            'mode': None if state == 'absent' else int(str(mode), 8),
            'validate': validate or None,
            'diff': entry.get('diff', True) is not False,
        })
    return checked


class FileSystem(object):
    """The few calls plan() and apply() make, on the real file system; `run(argv)` runs a validate command."""

    def __init__(self, run):
        self.run = run

    def lstat(self, path):
        try:
            return os.lstat(path)
        except FileNotFoundError:
            return None

    def read(self, path):
        with open(path, 'rb') as handle:
            return handle.read()

    def uid(self, name):
        """The uid of a user name or number; None when there is no such user."""
        if _NUMERIC.match(name):
            return int(name)
        try:
            return pwd.getpwnam(name).pw_uid
        except KeyError:
            return None

    def gid(self, name):
        if _NUMERIC.match(name):
            return int(name)
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            return None

    def mkdir(self, path, mode):
        os.makedirs(path, mode)

    def set_attributes(self, path, uid, gid, mode):
        os.lchown(path, uid, gid)
        os.chmod(path, mode)

    def write_beside(self, path, data, uid, gid, mode):
        """A new file with `data` and these attributes in the directory of `path`; its name."""
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.%s.' % os.path.basename(path))
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
            self.set_attributes(temp, uid, gid, mode)
        except BaseException:
            self.remove(temp)
            raise
        return temp

    def rename(self, source, dest):
        os.rename(source, dest)

    def remove(self, path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _kind(st):
    if st is None:
        return 'absent'
    if stat.S_ISLNK(st.st_mode):
        return 'link'
    if stat.S_ISDIR(st.st_mode):
        return 'directory'
    if stat.S_ISREG(st.st_mode):
        return 'file'
    return 'other'


def _text(data):
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return '[binary content, %d bytes]\n' % len(data)


def _attributes(uid, gid, mode):
    """One line: numbers, or a name not looked up yet; -1 (not managed) is shown as `as it is`."""
    owner = 'as it is' if uid in (-1, None) else uid
    group = 'as it is' if gid in (-1, None) else gid
    return 'owner %s, group %s, mode %04o\n' % (owner, group, mode)


def plan(entries, fs, check_mode=False):
    """What each checked entry needs: a list of steps, one per entry, in order.

    A step is the entry plus `changes` (what differs: created, content, owner, group, mode, removed) and the
    uid and gid it wants. A user or group that does not exist fails here, before anything is written; in check
    mode it may be one an earlier task of the same run would create, so the entry is reported as changed.
    """
    steps = []
    missing = []
    for entry in entries:
        path = entry['path']
        current = fs.lstat(path)
        kind = _kind(current)
        step = dict(entry, changes=[], uid=None, gid=None, before=None)
        if entry['state'] == 'absent':
            if kind in ('file', 'link'):
                step['changes'].append('removed')
            elif kind != 'absent':
                raise LlmhostError('%s is a %s; config_files removes only files and links' % (path, kind))
            steps.append(step)
            continue
        if kind not in ('absent', entry['state']):
            raise LlmhostError('%s is a %s, not a %s; it is left as it is' % (path, kind, entry['state']))
        # -1: not given, left as it is (chown's "no change")
        step['uid'] = -1 if entry['owner'] is None else fs.uid(entry['owner'])
        step['gid'] = -1 if entry['group'] is None else fs.gid(entry['group'])
        for key, value in (('owner', step['uid']), ('group', step['gid'])):
            if value is None:
                missing.append('%s %s of %s' % (key, entry[key], path))
        if kind == 'absent':
            step['changes'].append('created')
        else:
            if entry['state'] == 'file':
                step['before'] = fs.read(path)
                if step['before'] != entry['content'].encode('utf-8'):
                    step['changes'].append('content')
            if step['uid'] != -1 and current.st_uid != step['uid']:
                step['changes'].append('owner')
            if step['gid'] != -1 and current.st_gid != step['gid']:
                step['changes'].append('group')
            if stat.S_IMODE(current.st_mode) != entry['mode']:
                step['changes'].append('mode')
            step['current'] = (current.st_uid, current.st_gid, stat.S_IMODE(current.st_mode))
        steps.append(step)
    if missing and not check_mode:
        raise LlmhostError('no such user or group: %s; nothing was changed' % '; '.join(missing))
    return steps


def _diff(step):
    path = step['path']
    if step['state'] == 'absent':
        return {'before_header': path, 'after_header': path, 'before': 'present\n', 'after': 'absent\n'}
    if 'created' in step['changes']:
        before = 'absent\n'
        after = _attributes(step['owner'], step['group'], step['mode'])
    else:
        uid, gid, mode = step['current']
        before = _attributes(uid, gid, mode)
        after = _attributes(uid if step['uid'] == -1 else step['uid'], gid if step['gid'] == -1 else step['gid'],
                            step['mode'])
    if step['state'] == 'file' and set(step['changes']) & {'created', 'content'}:
        if step['diff']:
            before = before if step['before'] is None else before + _text(step['before'])
            after = after + step['content']
        else:
            before = before + '[content not shown]\n'
            after = after + '[content not shown, changed]\n'
    return {'before_header': path, 'after_header': path, 'before': before, 'after': after}


def apply(steps, fs, check_mode=False):
    """Carry the plan out (not in check mode); the module's result."""
    results = []
    diffs = []
    done = []
    for step in steps:
        changes = step['changes']
        if changes:
            diffs.append(_diff(step))
            if not check_mode:
                try:
                    _apply_one(step, fs)
                except LlmhostError as exc:
                    # the entries before it are in place (each passed its own check); say which
                    exc.details['changed_paths'] = done
                    raise
                except OSError as exc:
                    raise LlmhostError('%s: %s' % (step['path'], exc.strerror or exc), changed_paths=done)
                done.append(step['path'])
        results.append({'path': step['path'], 'state': step['state'], 'changed': bool(changes),
                        'changes': list(changes)})
    changed = [r['path'] for r in results if r['changed']]
    return {'changed': bool(changed), 'changed_paths': changed, 'files': results, 'diff': diffs}


def _apply_one(step, fs):
    path = step['path']
    changes = step['changes']
    if step['state'] == 'absent':
        fs.remove(path)
        return
    if step['state'] == 'directory':
        if 'created' in changes:
            fs.mkdir(path, step['mode'])
        fs.set_attributes(path, step['uid'], step['gid'], step['mode'])
        return
    if not set(changes) & {'created', 'content'}:
        fs.set_attributes(path, step['uid'], step['gid'], step['mode'])
        return
    temp = fs.write_beside(path, step['content'].encode('utf-8'), step['uid'], step['gid'], step['mode'])
    try:
        if step['validate']:
            argv = [temp if word == '%s' else word for word in shlex.split(step['validate'])]
            rc, out, err = fs.run(argv)
            if rc != 0:
                failure = command_failed(argv, rc, out, err)
                raise LlmhostError('%s was not replaced, its new content failed the check: %s' % (path, failure.msg),
                                   **failure.details)
        fs.rename(temp, path)
    except BaseException:
        fs.remove(temp)
        raise
