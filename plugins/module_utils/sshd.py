# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sshd's effective configuration (`sshd -T`) and which file set each value.

sshd keeps the first value it reads for most keywords, and reads Include directives in place,
their globs in lexical order. On macOS, Apple's drop-in 100-macos.conf sets UsePAM; a value our
drop-in sets can lose to a file that sorts earlier. This module_utils finds, for a keyword whose
effective value is not the wanted one, the file and line that set it first.

Pure Python 3.9; files and globs are read through injected functions so unit tests need no /etc.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex

from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, LlmhostError

# Keywords sshd accepts many times, each adding to the value (the rest: first one wins).
MULTI_VALUE = frozenset(['hostkey', 'hostcertificate', 'listenaddress', 'port', 'acceptenv', 'setenv',
                         'subsystem', 'include', 'allowusers', 'denyusers', 'allowgroups', 'denygroups'])
# What sshd -T prints for keywords whose config spelling differs.
ALIASES = {
    'challengeresponseauthentication': 'kbdinteractiveauthentication',
    'pubkeyacceptedkeytypes': 'pubkeyacceptedalgorithms',
    'hostbasedacceptedkeytypes': 'hostbasedacceptedalgorithms',
    'dsaauthentication': 'pubkeyauthentication',
}
_BOOL_WORDS = {'yes': 'yes', 'no': 'no', 'true': 'yes', 'false': 'no'}
# The connection properties `sshd -T -C` takes, in the order sshd documents them.
MATCH_KEYS = ('user', 'host', 'addr', 'laddr', 'lport', 'rdomain')


class SshdError(LlmhostError):
    """A failure reported to the user."""


def parse_effective(text):
    """`sshd -T` / `sshd -G` output: {keyword: value}; keywords printed more than once -> list."""
    result = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        fields = line.split(None, 1)
        keyword = fields[0].lower()
        value = fields[1] if len(fields) > 1 else ''
        if keyword in result:
            if not isinstance(result[keyword], list):
                result[keyword] = [result[keyword]]
            result[keyword].append(value)
        else:
            result[keyword] = value
    return result


def normalize(keyword, value):
    """A comparable form of a wanted or effective value: lists joined, yes/no words unified."""
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, (list, tuple)):
        if keyword in MULTI_VALUE:
            return sorted(str(item).strip() for item in value)
        return ','.join(str(item).strip() for item in value)
    text = str(value).strip()
    return _BOOL_WORDS.get(text.lower(), text) if keyword not in MULTI_VALUE else [text]


def differences(expected, effective):
    """[{keyword, wanted, effective}] for every expected keyword sshd does not have."""
    problems = []
    for keyword in sorted(expected):
        key = ALIASES.get(keyword.lower(), keyword.lower())
        wanted = normalize(key, expected[keyword])
        current = effective.get(key)
        have = normalize(key, current) if current is not None else None
        if key in MULTI_VALUE and have is not None:
            have = sorted(have) if isinstance(have, list) else [have]
        if have != wanted:
            problems.append({'keyword': key, 'wanted': expected[keyword], 'effective': current})
    return problems


def read_directives(path, read, glob, base_dir='/etc/ssh', _seen=None):
    """Every directive sshd reads, in order: [(keyword, value, file, line)], Includes followed.

    Lines inside Match blocks are skipped (they only apply to matching connections).
    read(path) -> text or None; glob(pattern) -> paths (sorted here, as sshd does).
    """
    seen = _seen if _seen is not None else set()
    if path in seen:
        return []
    seen.add(path)
    text = read(path)
    if text is None:
        return []
    entries = []
    in_match = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        parts = re.split(r'\s*=\s*|\s+', line, maxsplit=1)
        keyword = parts[0].lower()
        value = parts[1].strip() if len(parts) > 1 else ''
        if keyword == 'match':
            in_match = value.lower() != 'all'
            continue
        if in_match:
            continue
        keyword = ALIASES.get(keyword, keyword)
        if keyword == 'include':
            for pattern in _split_words(value):
                if not pattern.startswith('/'):
                    pattern = os.path.join(base_dir, pattern)
                for included in sorted(glob(pattern)):
                    entries.extend(read_directives(included, read, glob, base_dir, seen))
            continue
        entries.append((keyword, value, path, number))
    return entries


def _split_words(value):
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def first_setter(entries, keyword):
    """The (file, line, value) sshd took `keyword` from, or None when only the default applies."""
    for name, value, path, number in entries:
        if name == keyword:
            return path, number, value
    return None


def explain(problems, entries, ours):
    """Messages naming, for each problem, the file that set the value (when it is not ours)."""
    messages = []
    for problem in problems:
        keyword = problem['keyword']
        source = first_setter(entries, keyword)
        wanted = normalize(keyword, problem['wanted'])
        wanted = ' '.join(wanted) if isinstance(wanted, list) else wanted
        if source is None:
            where = 'no file sets it (sshd\'s default applies): is %s included by the main config?' % ours
        elif source[0] != ours:
            where = 'set first by %s line %d (%s %s), which sshd reads before %s' % (
                source[0], source[1], keyword, source[2], ours)
        else:
            where = 'set by %s line %d' % (source[0], source[1])
        messages.append('%s is %s, wanted %s: %s' % (keyword, problem['effective'], wanted, where))
    return messages


class Sshd(Command):
    """sshd through an injected run(argv) -> (rc, stdout, stderr)."""

    def effective(self, config, match=None):
        """`sshd -T -f CONFIG [-C user=...,addr=...]` parsed: what a connection like `match` gets."""
        args = ['-T', '-f', config]
        if match:
            args += ['-C', ','.join('%s=%s' % (key, match[key]) for key in MATCH_KEYS if key in match)]
        return parse_effective(self.check(*args))


def check_config(sshd, expect, config, match=None, ours=None, read=None, glob=None):
    """sshd_check: the effective values of the `expect` keywords, or SshdError naming, for each
    one that differs, the file and line that set it (read/glob look at the files only then)."""
    match = match or {}
    unknown = sorted(set(match) - set(MATCH_KEYS))
    if unknown:
        raise SshdError('match: unknown keys %s (use %s)' % (', '.join(unknown), ', '.join(MATCH_KEYS)))
    effective = sshd.effective(config, match)
    problems = differences(expect, effective)
    wanted_keys = sorted(set(ALIASES.get(key.lower(), key.lower()) for key in expect))
    shown = dict((key, effective.get(key)) for key in wanted_keys)
    if problems:
        entries = read_directives(config, read, glob, base_dir=os.path.dirname(config))
        messages = explain(problems, entries, ours or config)
        raise SshdError('sshd does not have the wanted configuration: %s' % '; '.join(messages),
                        problems=problems, effective=shown)
    return {'changed': False, 'effective': shown}
