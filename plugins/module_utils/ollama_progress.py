# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Progress of an Ollama pull: what the module records and writes, what the controller prints.

On the managed host, ollama_client.Client.pull feeds every line of the pull stream to a
PullProgress, and the module hands it to a ProgressFile, which writes snapshot() as JSON,
atomically and at most every few seconds. On the controller, the ollama_model action plugin reads
that file while the module runs in the background and turns successive snapshots into lines with
ProgressView. Sizes, rates and durations are formatted here for both, so the progress lines and
the module's final msg read alike. Pure Python 3.9, no third-party imports.

A snapshot (times are seconds on the module's monotonic clock: only differences mean anything):
  {"model": "llama3.3:70b", "status": "pulling 4824460d29f2", "attempt": 1,
   "completed": 15892223180, "total": 42520413916, "bytes": 15892223180,
   "started": 5123.4, "time": 5384.9}
completed/total: over every layer the stream has reported so far (layers already present count
as completed); bytes: what this task has downloaded (a resumed partial is not counted twice).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

KIB = 1024
MIB = KIB * 1024
GIB = MIB * 1024

# Defaults of the ollama_model options the action plugin reads before the module runs.
DEFAULT_PROGRESS_INTERVAL = 10.0
DEFAULT_DOWNLOAD_TIMEOUT = 86400.0
DEFAULT_STALL_TIMEOUT = 300.0

# How often the module rewrites the progress file, at most and at least (seconds).
_WRITE_INTERVAL_MAX = 2.0
_WRITE_INTERVAL_MIN = 0.2


# ---- formatting ---------------------------------------------------------------------------------

def _unit_for(number):
    if number >= GIB:
        return GIB, 'GiB'
    if number >= MIB:
        return MIB, 'MiB'
    return KIB, 'KiB'


def format_size(number):
    """'39.60 GiB', '2.00 MiB', '12.50 KiB'."""
    divisor, unit = _unit_for(number)
    return '%.2f %s' % (number / float(divisor), unit)


def format_sizes(done, total):
    """'14.80/39.60 GiB': both in the unit of the total."""
    divisor, unit = _unit_for(max(total, done))
    return '%.2f/%.2f %s' % (done / float(divisor), total / float(divisor), unit)


def format_rate(bytes_per_second):
    """'61.2 MiB/s', '512.0 KiB/s', '1.1 GiB/s'."""
    divisor, unit = _unit_for(bytes_per_second)
    return '%.1f %s/s' % (bytes_per_second / float(divisor), unit)


def format_duration(seconds):
    """'42s', '11m02s', '1h05m' (whole seconds, rounded)."""
    total = int(round(max(0.0, seconds)))
    if total < 60:
        return '%ds' % total
    if total < 3600:
        return '%dm%02ds' % (total // 60, total % 60)
    return '%dh%02dm' % (total // 3600, (total % 3600) // 60)


def download_summary(downloaded, seconds):
    """The module's `download` return value: bytes, seconds, average rate (None without time)."""
    seconds = max(0.0, float(seconds))
    rate = int(downloaded / seconds) if seconds > 0 else None
    return {'bytes': int(downloaded), 'seconds': round(seconds, 1), 'rate_bytes_per_second': rate}


def pull_message(name, verb, summary):
    """The module's msg after a pull: 'pulled llama3.3:70b: 39.60 GiB in 11m02s, 61.2 MiB/s'.

    verb: 'pulled', 'updated', or None when the model was there and stayed the same build.
    """
    took = format_duration(summary['seconds'])
    if summary['bytes'] == 0:
        if verb is None:
            return '%s is up to date: nothing downloaded (%s)' % (name, took)
        return '%s %s: nothing downloaded, every layer was present (%s)' % (verb, name, took)
    text = '%s %s: %s in %s' % (verb or 'pulled', name, format_size(summary['bytes']), took)
    if summary['rate_bytes_per_second']:
        text += ', %s' % format_rate(summary['rate_bytes_per_second'])
    return text


def manifest_total_bytes(raw):
    """Bytes a registry manifest's pull moves at most: its layers plus the config blob. None if unreadable."""
    try:
        document = json.loads(raw.decode('utf-8'))
        blobs = list(document.get('layers') or [])
        if document.get('config'):
            blobs.append(document['config'])
        sizes = [int(blob['size']) for blob in blobs]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return sum(sizes) if sizes else None


def write_interval(progress_interval):
    """Seconds between two writes of the progress file: half the controller's poll interval, 0.2 to 2."""
    return min(_WRITE_INTERVAL_MAX, max(_WRITE_INTERVAL_MIN, float(progress_interval or 0) / 2.0))


def async_time_limit(download_timeout, stall_timeout):
    """Seconds the background job may run: the module stops its own pull after download_timeout,
    but only when a line arrives, and verifying a huge blob can be silent for up to stall_timeout."""
    return int(download_timeout + stall_timeout + 60)


# ---- the module's side --------------------------------------------------------------------------

class PullProgress(object):
    """What a pull stream has reported: per layer (digest) its total, first and last completed.

    add(line) takes one NDJSON line (a dict); the stream re-sends the same progress every 60 ms, and
    a retried pull starts again with the layers present or resumed, so per layer the highest
    completed counts and `downloaded` is what came in after the first sighting.
    """

    def __init__(self, model, clock=time.monotonic):
        self.model = model
        self.clock = clock
        self.layers = {}    # digest -> [total, first completed, last completed]
        self.status = None
        self.attempt = 1
        self.started = clock()
        self.updated = self.started

    def add(self, line, now=None):
        """Take one line; `now` is when it arrived (default: the clock)."""
        digest = line.get('digest')
        if digest:
            completed = line.get('completed') or 0   # omitted while 0 (omitempty)
            layer = self.layers.setdefault(digest, [0, completed, completed])
            layer[0] = max(layer[0], line.get('total') or 0)
            layer[2] = max(layer[2], completed)
        if line.get('status'):
            self.status = line['status']
        self.updated = self.clock() if now is None else now

    @property
    def completed(self):
        return sum(layer[2] for layer in self.layers.values())

    @property
    def total(self):
        return sum(max(layer[0], layer[2]) for layer in self.layers.values())

    @property
    def downloaded(self):
        return sum(max(0, layer[2] - layer[1]) for layer in self.layers.values())

    def snapshot(self):
        return {'model': self.model, 'status': self.status, 'attempt': self.attempt,
                'completed': self.completed, 'total': self.total, 'bytes': self.downloaded,
                'started': self.started, 'time': self.updated}


class ProgressFile(object):
    """Writes PullProgress snapshots to `path` as JSON: through a temporary file and a rename, so a
    reader never sees half a file; at most every `interval` seconds, unless the status changed.

    A write that fails (the directory is gone, the disk is full) stops the writing and is kept in
    `error`: the download goes on, it is only not reported.
    """

    def __init__(self, path, interval=_WRITE_INTERVAL_MAX, clock=time.monotonic):
        self.path = path
        self.interval = interval
        self.clock = clock
        self.last_write = None
        self.last_status = None
        self.writes = 0
        self.error = None

    def __call__(self, progress):
        if self.error is not None:
            return
        now = self.clock()
        if self.last_write is not None and now - self.last_write < self.interval \
                and progress.status == self.last_status:
            return
        snapshot = progress.snapshot()
        partial = self.path + '.part'
        try:
            with open(partial, 'w') as handle:
                json.dump(snapshot, handle)
            os.replace(partial, self.path)
        except OSError as exc:
            self.error = '%s: %s' % (self.path, exc)
            return
        self.last_write, self.last_status = now, progress.status
        self.writes += 1


# ---- the controller's side ----------------------------------------------------------------------

class ProgressView(object):
    """Successive snapshots -> progress lines with percent, sizes, rate and time left.

    The rate is measured over the snapshots of the last `window` seconds (the average since the
    start until there are two); `total_hint` is the size the registry's manifest announced, used
    while the stream has not reported every layer yet.
    """

    def __init__(self, name, total_hint=None, window=60.0):
        self.name = name
        self.total_hint = total_hint or 0
        self.window = window
        self.samples = []   # (time, completed)

    def rate(self, snapshot):
        when, done = snapshot.get('time'), snapshot.get('completed') or 0
        if when is None:
            return None
        if not self.samples or when > self.samples[-1][0]:
            self.samples.append((when, done))
        while len(self.samples) > 2 and when - self.samples[1][0] >= self.window:
            self.samples.pop(0)
        first_time, first_done = self.samples[0]
        if when > first_time:
            return max(0.0, (done - first_done) / (when - first_time))
        started = snapshot.get('started')
        if started is not None and when > started:
            return (snapshot.get('bytes') or 0) / (when - started)
        return None

    def line(self, snapshot, waited=0.0):
        """The line for one poll; snapshot None: the module has not reported anything yet."""
        if not snapshot:
            return 'pulling %s: no progress reported yet (%s)' % (self.name, format_duration(waited))
        name = snapshot.get('model') or self.name
        done = snapshot.get('completed') or 0
        total = max(snapshot.get('total') or 0, self.total_hint)
        if total and total < done:
            total = done
        status = snapshot.get('status') or 'starting'
        rate = self.rate(snapshot)
        elapsed = max(0.0, (snapshot.get('time') or 0) - (snapshot.get('started') or 0))
        if not status.startswith('pulling ') or status == 'pulling manifest':
            # manifest, verifying sha256 digest, writing manifest, ...: no transfer to measure
            text = 'pulling %s: %s' % (name, 'pulled, being confirmed' if status == 'success' else status)
            if total:
                text += ', %s after %s' % (format_sizes(done, total), format_duration(elapsed))
        else:
            text = 'pulling %s: ' % name
            if total:
                text += '%.1f%% %s' % (100.0 * done / total, format_sizes(done, total))
            else:
                text += format_size(done)
            if rate is None:
                text += ', measuring the rate'
            elif rate <= 0:
                text += ', 0 B/s (no progress), time left unknown'
            else:
                text += ', %s' % format_rate(rate)
                if total:
                    text += ', %s left' % format_duration((total - done) / rate)
        if (snapshot.get('attempt') or 1) > 1:
            text += ' (attempt %d)' % snapshot['attempt']
        return text
