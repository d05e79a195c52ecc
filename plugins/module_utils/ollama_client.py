# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ollama REST API client: requests, streamed NDJSON, and how a pull is retried.

HTTP goes through a transport function, which on the managed host wraps
ansible.module_utils.urls.open_url and in unit tests is a fake. Pulls read the NDJSON stream to
its end: an {"error": ...} line fails even under HTTP 200, and the final {"status": "success"} is
required. Pure Python 3.9, no third-party imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import socket
import time
from http import client as http_client
from urllib.error import HTTPError, URLError

from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import OllamaError, Unreachable, same_model
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_progress import PullProgress
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_values import manifest_digests

DEFAULT_URL = 'http://127.0.0.1:11434'
MANIFEST_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json'

# The options every Ollama module has (documented in the llmhost.macos.ollama doc fragment).
CONNECTION_ARGUMENT_SPEC = dict(
    url=dict(type='str', default=DEFAULT_URL),
    timeout=dict(type='float', default=30),
    validate_certs=dict(type='bool', default=True),
)

# Pull errors that another attempt cannot fix: fail at once.
_FATAL_PULL_ERRORS = (
    'file does not exist',          # pull model manifest: the registry has no such model or tag
    'no space left on device',
    'invalid model name',
    'unauthorized',
    'insufficient',
)


class StreamBroken(Exception):
    """A streamed response ended early: dropped connection, stall, or no final success."""


class Response(object):
    """What a transport returns: status, and a file-like body with readline/read/close."""

    def __init__(self, status, body):
        self.status = status
        self.body = body

    def read_json(self):
        raw = self.body.read()
        self.body.close()
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode('utf-8'))
        except ValueError:
            return {'error': raw.decode('utf-8', 'replace').strip()}


def urls_transport(open_url, validate_certs=True):
    """A transport over ansible.module_utils.urls.open_url (passed in, so tests need no network)."""

    def transport(method, url, data, headers, timeout):
        try:
            body = open_url(url, data=data, headers=headers, method=method, timeout=timeout,
                            validate_certs=validate_certs, follow_redirects='safe')
        except HTTPError as exc:
            payload = exc.read() if exc.fp is not None else b''
            return Response(exc.code, io.BytesIO(payload))
        except (URLError, OSError, http_client.HTTPException, ValueError) as exc:
            reason = getattr(exc, 'reason', None) or exc
            raise Unreachable('Cannot reach the Ollama server at %s: %s' % (url, reason), url=url)
        return Response(getattr(body, 'status', None) or body.getcode(), body)

    return transport


class Client(object):
    """Ollama's API at `url`. `transport(method, url, data, headers, timeout)` -> Response.

    The transport raises Unreachable when there is no answer at all; any HTTP status is a Response.
    """

    def __init__(self, url, transport, timeout=30, slow_timeout=300, clock=time.monotonic, sleep=time.sleep):
        if not str(url).startswith(('http://', 'https://')):
            raise OllamaError('url: expects http://HOST:PORT or https://..., got %r' % (url,))
        self.url = url.rstrip('/')
        self.transport = transport
        self.timeout = timeout
        self.slow_timeout = slow_timeout  # loading a 40 GB model or creating from it takes minutes
        self.clock = clock
        self.sleep = sleep
        self.requests = 0

    def _send(self, method, path, body=None, timeout=None, url=None, headers=None):
        self.requests += 1
        data = None if body is None else json.dumps(body).encode('utf-8')
        all_headers = {'Content-Type': 'application/json'} if data is not None else {}
        all_headers.update(headers or {})
        return self.transport(method, url or self.url + path, data, all_headers, timeout or self.timeout)

    def _json(self, method, path, body=None, ok=(200,), empty_ok=False):
        response = self._send(method, path, body)
        document = response.read_json()
        if response.status not in ok:
            raise self._http_error(method, path, response.status, document)
        if response.status == 200 and not (empty_ok and document is None) and (
                not isinstance(document, dict) or set(document) == set(['error'])):
            raise OllamaError('%s %s%s answered 200 without the JSON object Ollama sends: is this an Ollama server?'
                              % (method, self.url, path), url=self.url + path, body=document)
        return response.status, document

    def _http_error(self, method, path, status, document):
        message = (document or {}).get('error') if isinstance(document, dict) else None
        return OllamaError('%s %s%s returned HTTP %d: %s' % (method, self.url, path, status, message or 'no detail'),
                           status=status, url=self.url + path)

    # -- reads
    def version(self):
        return self._json('GET', '/api/version')[1].get('version')

    def tags(self):
        return self._json('GET', '/api/tags')[1].get('models') or []

    def running(self):
        return self._json('GET', '/api/ps')[1].get('models') or []

    def show(self, name):
        """/api/show of a model, or None when the server does not have it (404)."""
        status, document = self._json('POST', '/api/show', {'model': name}, ok=(200, 404))
        return document if status == 200 else None

    def find(self, name):
        """The /api/tags entry of a ModelName, or None."""
        for entry in self.tags():
            if same_model(entry.get('name') or entry.get('model') or '', name):
                return entry
        return None

    # -- writes
    def delete(self, name):
        """True when the model was deleted, False when it was not there (404)."""
        status, _document = self._json('DELETE', '/api/delete', {'model': name}, ok=(200, 404), empty_ok=True)
        return status == 200

    def load(self, name, keep_alive):
        """Load (or, with keep_alive 0, unload) a model: /api/generate without a prompt."""
        body = {'model': name, 'keep_alive': keep_alive, 'stream': False}
        response = self._send('POST', '/api/generate', body, timeout=self.slow_timeout)
        document = response.read_json()
        if response.status != 200:
            raise self._http_error('POST', '/api/generate', response.status, document)
        return document

    def create(self, name, base, parameters=None, system=None, template=None):
        body = {'model': name, 'from': base, 'stream': True}
        if parameters:
            body['parameters'] = parameters
        if system is not None:
            body['system'] = system
        if template is not None:
            body['template'] = template
        response = self._send('POST', '/api/create', body, timeout=self.slow_timeout)
        if response.status != 200:
            raise self._http_error('POST', '/api/create', response.status, response.read_json())
        statuses = []
        try:
            for line in _lines(response, self.clock, stall_timeout=self.slow_timeout):
                if 'error' in line:
                    raise OllamaError('Creating %s from %s failed: %s' % (name, base, line['error']),
                                      statuses=statuses[-5:])
                statuses.append(line.get('status'))
        except StreamBroken as exc:
            raise OllamaError('Creating %s from %s failed: %s' % (name, base, exc), statuses=statuses[-5:])
        if 'success' not in statuses:
            raise OllamaError('Creating %s from %s: the server never reported success' % (name, base),
                              statuses=statuses[-5:])
        return statuses

    def pull(self, name, insecure=False, retries=3, stall_timeout=300, backoff=2.0, deadline=None, on_progress=None):
        """Pull a model to the end of its stream, retrying what another attempt can fix.

        deadline: seconds the pull may take in all (attempts and pauses); checked as lines arrive.
        on_progress: called with the PullProgress after every line of the stream.
        Returns {'attempts', 'bytes', 'statuses', 'errors' (of the attempts that were retried)};
        OllamaError when it cannot succeed.
        """
        progress = PullProgress(name, clock=self.clock)
        errors = []
        attempts = 0
        while True:
            attempts += 1
            progress.attempt = attempts
            try:
                statuses = self._pull_once(name, insecure, stall_timeout, progress, deadline, on_progress)
                return {'attempts': attempts, 'bytes': progress.downloaded, 'statuses': statuses[-5:],
                        'errors': errors}
            except _FatalPull as exc:
                raise OllamaError('Pulling %s failed: %s' % (name, exc), attempts=attempts,
                                  errors=errors + [str(exc)], bytes=progress.downloaded)
            except (StreamBroken, _RetryablePull) as exc:
                errors.append(str(exc))
            pause = min(backoff * attempts, 30)
            if attempts > retries:
                raise OllamaError('Pulling %s failed after %d attempts: %s' % (name, attempts, errors[-1]),
                                  attempts=attempts, errors=errors, bytes=progress.downloaded)
            if deadline is not None and self.clock() + pause - progress.started > deadline:
                raise OllamaError('Pulling %s failed after %d attempts, with no time left for another within '
                                  'download_timeout (%g seconds): %s' % (name, attempts, deadline, errors[-1]),
                                  attempts=attempts, errors=errors, bytes=progress.downloaded)
            self.sleep(pause)

    def _pull_once(self, name, insecure, stall_timeout, progress, deadline=None, on_progress=None):
        body = {'model': name, 'stream': True}
        if insecure:
            body['insecure'] = True
        try:
            # No output for minutes is normal while a huge blob's sha256 is verified: reads wait
            # stall_timeout. The /api/tags read before a pull has shown the server answers at all.
            response = self._send('POST', '/api/pull', body, timeout=stall_timeout)
        except Unreachable as exc:
            raise _RetryablePull(exc.msg)
        if response.status != 200:
            document = response.read_json()
            message = (document or {}).get('error') or 'HTTP %d' % response.status
            error = 'HTTP %d: %s' % (response.status, message)
            if 400 <= response.status < 500 and response.status != 429:
                raise _FatalPull(error)
            raise _RetryablePull(error)
        statuses = []
        for line in _lines(response, self.clock, stall_timeout, progress):
            if 'error' in line:
                message = str(line['error'])
                if any(text in message.lower() for text in _FATAL_PULL_ERRORS):
                    raise _FatalPull(message)
                raise _RetryablePull(message)
            statuses.append(line.get('status'))
            if on_progress is not None:
                on_progress(progress)
            if line.get('status') == 'success':
                return statuses
            if deadline is not None and progress.updated - progress.started > deadline:
                raise _FatalPull('not finished within download_timeout (%g seconds), at %s' % (deadline, line.get('status')))
        raise StreamBroken('the stream ended without "success" (last status: %s)' % (statuses[-1] if statuses else 'none'))

    def registry_manifest(self, name, registry_url=None, insecure=False):
        """The raw bytes of the registry's current manifest of ModelName `name`; OllamaError if unreadable."""
        base = registry_url or ('%s://%s' % ('http' if insecure else 'https', name.host))
        url = '%s/v2/%s/%s/manifests/%s' % (base.rstrip('/'), name.namespace, name.model, name.tag)
        try:
            response = self._send('GET', '', url=url, headers={'Accept': MANIFEST_ACCEPT})
        except Unreachable as exc:
            raise OllamaError('Cannot read the registry manifest of %s: %s' % (name.display, exc.msg), url=url)
        raw = response.body.read()
        response.body.close()
        if response.status == 404:
            raise OllamaError('The registry has no model %s (GET %s returned HTTP 404)' % (name.display, url), url=url)
        if response.status != 200:
            raise OllamaError('GET %s returned HTTP %d' % (url, response.status), status=response.status, url=url)
        return raw

    def registry_digests(self, name, registry_url=None, insecure=False):
        """Digests the registry's current manifest of `name` can have once pulled."""
        return manifest_digests(self.registry_manifest(name, registry_url, insecure))


class _FatalPull(Exception):
    pass


class _RetryablePull(Exception):
    pass


def _lines(response, clock, stall_timeout, progress=None):
    """Parsed NDJSON lines of a streamed response; StreamBroken on a drop, a stall, bad JSON.

    `progress` (an ollama_progress.PullProgress) takes every line of a pull.

    A stall: no new bytes completed (Ollama re-sends the same progress every 60 ms while its own
    download stands still) and no new status for `stall_timeout` seconds.
    """
    last_change = clock()
    last_key = None
    try:
        while True:
            try:
                raw = response.body.readline()
            except socket.timeout:
                raise StreamBroken('no data for %s seconds' % stall_timeout)
            except (OSError, ValueError) as exc:  # reset, IncompleteRead (an HTTPException), closed file
                raise StreamBroken('connection lost: %s' % (exc.__class__.__name__ if not str(exc) else exc))
            except Exception as exc:  # http.client.IncompleteRead is not an OSError
                raise StreamBroken('connection lost: %s: %s' % (exc.__class__.__name__, exc))
            if not raw:
                return
            if not raw.strip():
                continue
            try:
                line = json.loads(raw.decode('utf-8'))
            except ValueError:
                raise StreamBroken('unreadable line from the server: %r' % raw[:200])
            if not isinstance(line, dict):
                raise StreamBroken('unexpected line from the server: %r' % raw[:200])
            key = (line.get('status'), line.get('digest'), line.get('completed'))
            now = clock()
            if progress is not None:
                progress.add(line, now)
            if key != last_key:
                last_key, last_change = key, now
            elif stall_timeout and now - last_change > stall_timeout:
                raise StreamBroken('no progress for %s seconds (stalled at %s)' % (stall_timeout, line.get('status')))
            yield line
    finally:
        try:
            response.body.close()
        except Exception:  # closing a broken connection may fail again; nothing left to do
            pass
