# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What `ollama serve` says about itself when it starts: version, address, GPU, default context.

Pure functions over the text of its log (the LaunchDaemon's StandardErrorPath). The lines are Go's
slog text format, `time=... level=INFO source=FILE:LINE msg="..." key=value key="quoted value"`
(shared/reference/macos-formats-provisioning.md 9.1). `source=` changes with every release, so
nothing here matches on it; lines are matched on `msg=` only, as the reference advises:

    msg="Listening on 127.0.0.1:11434 (version 0.17.0)"
    msg="inference compute" id=0 filter_id=0 library=Metal ... total="25.0 GiB" available="25.0 GiB"
    msg="vram-based default context" total_vram="25.0 GiB" default_num_ctx=32768

Older releases (<= 0.11) write `library=metal` in lower case; both count as the GPU.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import Unreachable

_PAIR = re.compile(r'([A-Za-z_][\w.-]*|"[^"]*")=("(?:[^"\\]|\\.)*"|\S*)')
_LISTENING = re.compile(r'^Listening on (?P<address>\S+) \(version (?P<version>[^)]+)\)$')
_SIZE = re.compile(r'^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>B|KiB|MiB|GiB|TiB)$')
_UNITS = {'B': 1, 'KiB': 1 << 10, 'MiB': 1 << 20, 'GiB': 1 << 30, 'TiB': 1 << 40}
GPU_LIBRARIES = ('metal',)


def _unquote(text):
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r'\\(.)', r'\1', text[1:-1])
    return text


def parse_line(line):
    """The key/value pairs of one slog text line (quoted values unquoted); {} for other lines."""
    pairs = {}
    for key, value in _PAIR.findall(line):
        pairs[_unquote(key)] = _unquote(value)
    return pairs if 'msg' in pairs else {}


def parse_size(text):
    """Bytes of a size as Ollama logs it (`107.5 GiB`); None when it is not one."""
    match = _SIZE.match((text or '').strip())
    if not match:
        return None
    return int(float(match.group('number')) * _UNITS[match.group('unit')])


def last_start(text):
    """What the most recent start of `ollama serve` in the log said, or None if it has none.

    Returns a dict: version, address, compute (a list of dicts, one per `inference compute` line:
    library, name, description, type, total/available text and bytes), default_num_ctx (int or
    None), on_gpu (True when a compute line names Metal), lines (the matched lines, the evidence).
    """
    start = None
    for line in text.splitlines():
        fields = parse_line(line)
        message = fields.get('msg')
        if not message:
            continue
        listening = _LISTENING.match(message)
        if listening:
            start = {'version': listening.group('version'), 'address': listening.group('address'),
                     'compute': [], 'default_num_ctx': None, 'lines': [line]}
        elif start is None:
            continue
        elif message == 'inference compute':
            start['compute'].append({
                'library': fields.get('library', ''), 'name': fields.get('name', ''),
                'description': fields.get('description', ''), 'type': fields.get('type', ''),
                'total': fields.get('total', ''), 'available': fields.get('available', ''),
                'total_bytes': parse_size(fields.get('total')),
                'available_bytes': parse_size(fields.get('available')),
            })
            start['lines'].append(line)
        elif message == 'vram-based default context':
            try:
                start['default_num_ctx'] = int(fields.get('default_num_ctx', ''))
            except ValueError:
                pass
            start['lines'].append(line)
    if start is not None:
        start['on_gpu'] = any(c['library'].lower() in GPU_LIBRARIES for c in start['compute'])
    return start


def gpu_problem(start, log_path):
    """None when the last start found the GPU, else a message naming the evidence."""
    if start is None:
        return ('%s has no "Listening on" line: Ollama has not started (or logs elsewhere), so there is no '
                'evidence that it found the GPU' % log_path)
    if not start['compute']:
        return ('Ollama %s started (%s) but %s has no "inference compute" line after it: its GPU discovery did '
                'not report' % (start['version'], start['address'], log_path))
    if not start['on_gpu']:
        libraries = ', '.join(sorted(set(c['library'] or '?' for c in start['compute'])))
        evidence = ' | '.join(start['lines'])
        return ('Ollama %s runs without the GPU: its "inference compute" lines in %s say library=%s, not Metal, '
                'so models would run on the CPU. Evidence: %s' % (start['version'], log_path, libraries, evidence))
    return None


def wait_for_start(read_log, ask_version, log_path, timeout, clock, sleep, interval=1.0):
    """Wait until the server answers and its log has the current start's GPU report; return last_start().

    read_log() -> the log text (or None while the file does not exist); ask_version() -> the version
    the API reports, raising Unreachable while it does not answer. The start that counts is the last
    one in the log with the version the API reports and at least one `inference compute` line.
    Raises LlmhostError naming what was missing when `timeout` seconds pass.
    """
    deadline = clock() + timeout
    version, start, unreachable = None, None, None
    while True:
        try:
            version = ask_version()
            unreachable = None
        except Unreachable as exc:
            unreachable = exc
        text = read_log()
        start = last_start(text) if text is not None else None
        if version is not None and start is not None and start['version'] == version and start['compute']:
            return start
        if clock() >= deadline:
            break
        sleep(interval)
    if unreachable is not None:
        raise LlmhostError('%s (waited %gs); the end of %s: %s' % (
            unreachable.msg, timeout, log_path, _tail(text)), log_tail=_tail(text))
    if start is not None and start['version'] != version:
        raise LlmhostError('The server answers as Ollama %s but the last start in %s is %s: it logs somewhere '
                           'else, or another Ollama owns the port' % (version, log_path, start['version']))
    raise LlmhostError(gpu_problem(start, log_path) + ' (waited %gs)' % timeout, log_tail=_tail(text))


def _tail(text, lines=5):
    if not text:
        return '(no log)'
    return ' | '.join(text.splitlines()[-lines:])


def read_since_last_start(path, read, keep=10):
    """The log text from the last start of the server on, across newsyslog's rotations.

    newsyslog renames `ollama.log` to `ollama.log.0` (compressed: `.0.bz2` with the J flag, `.0.gz` with Z),
    `.0` to `.1`, ... while the server keeps running, so after a rotation its startup lines are in an older
    file. read(path) -> text, or None when the file does not exist (it decompresses by extension). Reads the
    current file, then the rotated ones newest first, until one has a "Listening on" line (or there are no
    more); returns them oldest first, joined, or None when there is no log at all.
    """
    texts = []
    for index in range(-1, keep):
        names = [path] if index < 0 else ['%s.%d%s' % (path, index, ext) for ext in ('', '.bz2', '.gz')]
        text = None
        for name in names:
            text = read(name)
            if text is not None:
                break
        if text is None:
            if index < 0:
                continue
            break
        texts.insert(0, text if text.endswith('\n') or not text else text + '\n')
        if 'msg="Listening on ' in text:
            break
    return ''.join(texts) if texts else None
