# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ollama REST API client and the planners behind ollama_model and ollama_info.

Pure Python 3.9 with no third-party imports: HTTP goes through a transport function, which
on the managed host wraps ansible.module_utils.urls.open_url and in unit tests is a fake.

Cost model, what a converged run sends:
  present (pulled model)          GET /api/tags
  present (derived model)         GET /api/tags, POST /api/show
  + keep_alive                    GET /api/ps
Pulls read the NDJSON stream to its end: an {"error": ...} line fails even under HTTP 200, the
final {"status": "success"} is required, and /api/show must confirm the model afterwards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import io
import json
import re
import socket
import time
from http import client as http_client
from urllib.error import HTTPError, URLError

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError

DEFAULT_HOST = 'registry.ollama.ai'
DEFAULT_NAMESPACE = 'library'
DEFAULT_TAG = 'latest'
MANIFEST_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json'

# types/model/name.go: the parts of host/namespace/model:tag, with their lengths.
_HOST_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$')
_NAMESPACE_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$')
_MODEL_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$')
_TAG_RE = _MODEL_RE
_PARAM_NAME_RE = re.compile(r'^[a-z][a-z0-9_]*$')
_DURATION_RE = re.compile(r'^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$')
_DURATION_PART_RE = re.compile(r'(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)')
_DURATION_UNITS = {'ns': 1e-9, 'us': 1e-6, 'µs': 1e-6, 'ms': 1e-3, 's': 1, 'm': 60, 'h': 3600}

# Pull errors that another attempt cannot fix: fail at once.
_FATAL_PULL_ERRORS = (
    'file does not exist',          # pull model manifest: the registry has no such model or tag
    'no space left on device',
    'invalid model name',
    'unauthorized',
    'insufficient',
)


class OllamaError(LlmhostError):
    """A failure reported to the user; details become result keys."""


class Unreachable(OllamaError):
    """The server did not answer (refused, timed out, DNS)."""


class StreamBroken(Exception):
    """A streamed response ended early: dropped connection, stall, or no final success."""


# ---- names ---------------------------------------------------------------------------------------

class ModelName(object):
    """A model reference [host/][namespace/]model[:tag], parts defaulted like Ollama does."""

    __slots__ = ('host', 'namespace', 'model', 'tag')

    def __init__(self, host, namespace, model, tag):
        self.host = host
        self.namespace = namespace
        self.model = model
        self.tag = tag

    @property
    def key(self):
        """Ollama compares names case-insensitively."""
        return (self.host.lower(), self.namespace.lower(), self.model.lower(), self.tag.lower())

    @property
    def display(self):
        """The name as /api/tags lists it: host and namespace only where they are not the defaults."""
        if self.host.lower() != DEFAULT_HOST:
            return '%s/%s/%s:%s' % (self.host, self.namespace, self.model, self.tag)
        if self.namespace.lower() != DEFAULT_NAMESPACE:
            return '%s/%s:%s' % (self.namespace, self.model, self.tag)
        return '%s:%s' % (self.model, self.tag)

    def __eq__(self, other):
        return isinstance(other, ModelName) and self.key == other.key

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return 'ModelName(%r)' % self.display


def parse_model_name(name, option='name'):
    """Parse and validate a model reference; OllamaError naming the option and the bad part."""
    if not isinstance(name, str) or not name.strip():
        raise OllamaError('%s: a model name is required, e.g. llama3.3:70b' % option)
    text = name.strip()
    if '@' in text:
        raise OllamaError('%s: %r: pinning by digest (@sha256:...) is not supported; use a tag' % (option, name))
    parts = text.split('/')
    if len(parts) > 3:
        raise OllamaError('%s: %r has more than host/namespace/model' % (option, name))
    last = parts[-1]
    model, sep, tag = last.partition(':')
    if not sep:
        tag = DEFAULT_TAG
    host, namespace = DEFAULT_HOST, DEFAULT_NAMESPACE
    if len(parts) == 3:
        host, namespace = parts[0], parts[1]
    elif len(parts) == 2:
        namespace = parts[0]
    for part, regex, what in ((host, _HOST_RE, 'host'), (namespace, _NAMESPACE_RE, 'namespace'),
                              (model, _MODEL_RE, 'model'), (tag, _TAG_RE, 'tag')):
        if not regex.match(part or ''):
            raise OllamaError('%s: %r is not a valid model name: bad %s %r '
                              '(letters, digits, _ and - (and . in model and tag), starting with a letter, digit or _)'
                              % (option, name, what, part))
    return ModelName(host, namespace, model, tag)


def same_model(listed_name, wanted):
    """True when a name from /api/tags or /api/ps is the model `wanted` (a ModelName)."""
    try:
        return parse_model_name(listed_name) == wanted
    except OllamaError:
        return False


# ---- values --------------------------------------------------------------------------------------

def parse_keep_alive(value, option='keep_alive'):
    """Normalize keep_alive to (api_value, seconds): seconds < 0 means forever, 0 unload.

    Accepts an int/float of seconds, a string of digits, or a Go duration ('5m', '1h30m', '-1m').
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise OllamaError('%s: expects seconds or a duration such as 5m, 24h or -1, got %r' % (option, value))
    if isinstance(value, (int, float)):
        return value, float(value)
    text = str(value).strip()
    if re.match(r'^-?\d+(\.\d+)?$', text):
        number = float(text)
        return (int(number) if number.is_integer() else number), number
    if _DURATION_RE.match(text):
        seconds = sum(float(amount) * _DURATION_UNITS[unit] for amount, unit in _DURATION_PART_RE.findall(text))
        return text, -seconds if text.startswith('-') else seconds
    raise OllamaError('%s: expects seconds or a duration such as 5m, 24h or -1, got %r' % (option, value))


def normalize_parameters(parameters, option='parameters'):
    """Check a parameters dict: names like num_ctx, scalar values or lists of them (stop)."""
    if not parameters:
        return {}
    problems = []
    result = {}
    for name in sorted(parameters):
        value = parameters[name]
        if not _PARAM_NAME_RE.match(str(name)):
            problems.append('%s: bad parameter name' % name)
            continue
        values = value if isinstance(value, list) else [value]
        if not values or any(item is None or isinstance(item, (dict, list)) for item in values):
            problems.append('%s: expects a number, a string, a boolean or a list of them, got %r' % (name, value))
            continue
        result[str(name)] = value
    if problems:
        raise OllamaError('Invalid %s: %s' % (option, '; '.join(problems)), invalid=problems)
    return result


def _scalar_from_text(text):
    text = text.strip()
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            return text.strip('"')
    if text in ('true', 'false'):
        return text == 'true'
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_show_parameters(text):
    """/api/show "parameters": one `name<spaces>value` line each, repeated names (stop) -> lists."""
    result = {}
    for line in (text or '').splitlines():
        if not line.strip():
            continue
        fields = line.strip().split(None, 1)
        name = fields[0]
        value = _scalar_from_text(fields[1]) if len(fields) > 1 else ''
        if name in result:
            if not isinstance(result[name], list):
                result[name] = [result[name]]
            result[name].append(value)
        else:
            result[name] = value
    return result


def _same_value(wanted, current):
    if isinstance(wanted, list) or isinstance(current, list):
        wanted_items = wanted if isinstance(wanted, list) else [wanted]
        current_items = current if isinstance(current, list) else [current]
        return sorted(_canonical(item) for item in wanted_items) == sorted(_canonical(item) for item in current_items)
    return _canonical(wanted) == _canonical(current)


def _canonical(value):
    if isinstance(value, bool):
        return 'b:%s' % value
    if isinstance(value, (int, float)):
        return 'n:%r' % float(value)
    if isinstance(value, str):
        parsed = _scalar_from_text(value)
        if isinstance(parsed, (bool, int, float)) and not isinstance(value, bool):
            return _canonical(parsed)
        return 's:%s' % value
    return 'x:%r' % (value,)


def parameter_differences(wanted, current):
    """[{parameter, before, after}] for each wanted parameter the model does not have."""
    changes = []
    for name in sorted(wanted):
        if name not in current or not _same_value(wanted[name], current[name]):
            changes.append({'parameter': name, 'before': current.get(name), 'after': wanted[name]})
    return changes


def _from_blob(modelfile):
    """The weights blob a modelfile's FROM line points at (sha256-...), or None."""
    for line in (modelfile or '').splitlines():
        match = re.match(r'^FROM\s+\S*?(sha256[-:][0-9a-f]{64})\s*$', line.strip())
        if match:
            return match.group(1).replace(':', '-')
    return None


def context_length(show):
    """The architecture's context length from /api/show model_info (e.g. llama.context_length)."""
    info = (show or {}).get('model_info') or {}
    for key, value in info.items():
        if key.endswith('.context_length') and isinstance(value, int):
            return value
    return None


def manifest_digests(raw):
    """Digests a registry manifest can have locally: of its bytes, and as Ollama re-encodes it."""
    digests = set([hashlib.sha256(raw).hexdigest()])
    try:
        document = json.loads(raw.decode('utf-8'))
    except ValueError:
        return digests
    compact = json.dumps(document, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    digests.add(hashlib.sha256(compact).hexdigest())
    return digests


def model_summary(entry, show=None):
    """The `model` return value from an /api/tags entry and, where known, /api/show."""
    entry = entry or {}
    details = dict(entry.get('details') or (show or {}).get('details') or {})
    summary = {
        'name': entry.get('name') or entry.get('model'),
        'digest': entry.get('digest'),
        'size': entry.get('size'),
        'modified_at': entry.get('modified_at'),
        'details': {
            'family': details.get('family'),
            'parameter_size': details.get('parameter_size'),
            'quantization_level': details.get('quantization_level'),
            'format': details.get('format'),
            'parent_model': details.get('parent_model'),
            'context_length': details.get('context_length') or context_length(show),
        },
    }
    return summary


def _is_forever(expires_at, now_year):
    """/api/ps expires_at of a model loaded with a negative keep_alive lies centuries ahead."""
    try:
        return int(str(expires_at)[:4]) > now_year + 100
    except ValueError:
        return False


# ---- HTTP ----------------------------------------------------------------------------------------

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

    def pull(self, name, insecure=False, retries=3, stall_timeout=300, backoff=2.0):
        """Pull a model to the end of its stream, retrying what another attempt can fix.

        Returns {'attempts', 'bytes', 'statuses', 'errors' (of the attempts that were retried)};
        OllamaError when it cannot succeed.
        """
        progress = {}   # digest -> [first completed seen, last completed seen]
        errors = []
        attempts = 0
        while True:
            attempts += 1
            try:
                statuses = self._pull_once(name, insecure, stall_timeout, progress)
                return {'attempts': attempts, 'bytes': _pulled_bytes(progress), 'statuses': statuses[-5:],
                        'errors': errors}
            except _FatalPull as exc:
                raise OllamaError('Pulling %s failed: %s' % (name, exc), attempts=attempts,
                                  errors=errors + [str(exc)], bytes=_pulled_bytes(progress))
            except (StreamBroken, _RetryablePull) as exc:
                errors.append(str(exc))
            if attempts > retries:
                raise OllamaError('Pulling %s failed after %d attempts: %s' % (name, attempts, errors[-1]),
                                  attempts=attempts, errors=errors, bytes=_pulled_bytes(progress))
            self.sleep(min(backoff * attempts, 30))

    def _pull_once(self, name, insecure, stall_timeout, progress):
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
            if line.get('status') == 'success':
                return statuses
        raise StreamBroken('the stream ended without "success" (last status: %s)' % (statuses[-1] if statuses else 'none'))

    def registry_digests(self, name, registry_url=None, insecure=False):
        """Digests the registry's current manifest of `name` can have once pulled; None if unknown."""
        base = registry_url or ('%s://%s' % ('http' if insecure else 'https', name.host))
        url = '%s/v2/%s/%s/manifests/%s' % (base.rstrip('/'), name.namespace, name.model, name.tag)
        response = self._send('GET', '', url=url, headers={'Accept': MANIFEST_ACCEPT})
        raw = response.body.read()
        response.body.close()
        if response.status != 200:
            raise OllamaError('GET %s returned HTTP %d' % (url, response.status), status=response.status, url=url)
        return manifest_digests(raw)


class _FatalPull(Exception):
    pass


class _RetryablePull(Exception):
    pass


def _pulled_bytes(progress):
    return sum(max(0, last - first) for first, last in progress.values())


def _lines(response, clock, stall_timeout, progress=None):
    """Parsed NDJSON lines of a streamed response; StreamBroken on a drop, a stall, bad JSON.

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
            digest = line.get('digest')
            if progress is not None and digest:
                completed = line.get('completed') or 0
                seen = progress.setdefault(digest, [completed, completed])
                seen[1] = max(seen[1], completed)
            key = (line.get('status'), digest, line.get('completed'))
            now = clock()
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


# ---- planners ------------------------------------------------------------------------------------

def validate_model_params(params):
    """Everything checked before the first request. Returns the parsed pieces."""
    name = parse_model_name(params['name'])
    base = parse_model_name(params['from'], option='from') if params.get('from') else None
    derived = base is not None
    for option in ('parameters', 'system', 'template'):
        if params.get(option) not in (None, {}) and not derived:
            raise OllamaError('%s needs from: a derived model is created from a base model' % option)
    if derived and base == name:
        raise OllamaError('from: %s cannot be derived from itself' % name.display)
    parameters = normalize_parameters(params.get('parameters'))
    keep_alive = parse_keep_alive(params.get('keep_alive'))
    if params['state'] == 'absent' and keep_alive is not None:
        raise OllamaError('keep_alive applies to state present or latest, not absent')
    for option in ('timeout', 'stall_timeout'):
        if params.get(option) is not None and params[option] <= 0:
            raise OllamaError('%s: expects a positive number of seconds, got %r' % (option, params[option]))
    if params.get('retries') is not None and params['retries'] < 0:
        raise OllamaError('retries: expects 0 or more, got %r' % params['retries'])
    return name, base, parameters, keep_alive


def ensure_model(client, params, check_mode=False, now_year=None):
    """Bring one model to params['state']; returns the module result (diff included)."""
    started = client.clock()
    name, base, parameters, keep_alive = validate_model_params(params)
    state = params['state']
    result = {'changed': False, 'actions': []}

    entry = client.find(name)
    before = _diff_view(entry)
    if state == 'absent':
        if entry is not None:
            result['changed'] = True
            result['actions'].append('delete')
            if not check_mode and not client.delete(name.display):
                result.update(changed=False, actions=[])  # gone in the meantime (404)
        result.update(model=None, diff={'before': before, 'after': {}}, duration=client.clock() - started)
        return result

    pull_opts = dict(insecure=params.get('insecure', False), retries=params.get('retries', 3),
                     stall_timeout=params.get('stall_timeout', 300))
    if base is None:
        before_show = None
        after_entry, show = _ensure_pulled(client, name, entry, state, pull_opts, params, check_mode, result)
    else:
        after_entry, show, before_show = _ensure_derived(client, name, base, entry, state, parameters, pull_opts,
                                                         params, check_mode, result)
    before = _diff_view(entry, before_show, parameters)
    if result['actions'] and check_mode:
        after = _planned_view(before, name, parameters)
    else:
        after = _diff_view(after_entry, show, parameters)

    if keep_alive is not None:
        replaced = bool(result['actions'])  # pulled, updated or (re)created: a loaded copy is the old one
        loaded_before, loaded_after = _ensure_loaded(client, name, keep_alive, after_entry, replaced, check_mode,
                                                     result, now_year or datetime.datetime.now().year)
        before['loaded'], after['loaded'] = loaded_before, loaded_after
        result['loaded'] = loaded_after
    result.update(model=model_summary(after_entry, show) if after_entry else None,
                  diff={'before': before, 'after': after}, duration=client.clock() - started,
                  changed=bool(result['actions']))
    return result


def _diff_view(entry, show=None, parameters=None):
    if not entry:
        return {}
    view = {'name': entry.get('name'), 'digest': entry.get('digest'), 'size': entry.get('size')}
    if show is not None and parameters:
        current = parse_show_parameters(show.get('parameters'))
        view['parameters'] = dict((key, current.get(key)) for key in sorted(parameters))
    return view


def _planned_view(before, name, parameters):
    """After-view in check mode: digest and size are unknown until the pull or create happens."""
    view = dict(before) if before else {'name': name.display}
    view.update(digest=None, size=None)
    if parameters:
        view['parameters'] = dict(parameters)
    return view


def _pull_and_confirm(client, name, pull_opts, result):
    pulled = client.pull(name.display, **pull_opts)
    result['pull'] = pulled
    result['pulled_bytes'] = result.get('pulled_bytes', 0) + pulled['bytes']
    show = client.show(name.display)
    if show is None:
        raise OllamaError('Pulled %s, but the server does not show it (POST /api/show answered 404)' % name.display,
                          pull=pulled)
    entry = client.find(name)
    if entry is None:
        raise OllamaError('Pulled %s, but /api/tags does not list it' % name.display, pull=pulled)
    return entry, show


def _ensure_pulled(client, name, entry, state, pull_opts, params, check_mode, result):
    """A model from a registry: pull when absent, or for latest when the registry has a newer one."""
    if entry is not None and state == 'present':
        return entry, None
    if check_mode:
        if entry is None:
            result['actions'].append('pull')
        elif _registry_has_newer(client, name, entry, params, result):
            result['actions'].append('update')
        return entry, None
    old_digest = entry.get('digest') if entry else None
    new_entry, show = _pull_and_confirm(client, name, pull_opts, result)
    if old_digest is None:
        result['actions'].append('pull')
    elif new_entry.get('digest') != old_digest:
        result['actions'].append('update')
    if state == 'latest':
        result['digests'] = {'before': old_digest, 'after': new_entry.get('digest')}
    return new_entry, show


def _registry_has_newer(client, name, entry, params, result):
    try:
        digests = client.registry_digests(name, params.get('registry_url'), params.get('insecure', False))
    except OllamaError as exc:
        result.setdefault('warnings', []).append(
            'Could not read the registry manifest of %s (%s): assuming an update is available' % (name.display, exc.msg))
        return True
    result['digests'] = {'before': entry.get('digest'), 'registry': sorted(digests)}
    return entry.get('digest') not in digests


def _ensure_derived(client, name, base, entry, state, parameters, pull_opts, params, check_mode, result):
    """A model created from `base` with parameters/system/template: create when absent or different."""
    show = client.show(name.display) if entry is not None else None
    base_entry = None
    reasons = []
    if show is None:
        reasons.append('absent')
    else:
        for change in parameter_differences(parameters, parse_show_parameters(show.get('parameters'))):
            reasons.append('parameter %s' % change['parameter'])
        for option in ('system', 'template'):
            if params.get(option) is not None and (show.get(option) or '') != params[option]:
                reasons.append(option)
    if state == 'latest' or show is None:
        # the base must be there (and, for latest, current) before anything is created from it
        base_entry = client.find(base)
        base_show = None
        if base_entry is None or state == 'latest':
            if check_mode:
                if base_entry is None:
                    result['actions'].append('pull %s' % base.display)
                elif _registry_has_newer(client, base, base_entry, params, result):
                    result['actions'].append('update %s' % base.display)
                    if show is not None:
                        reasons.append('base %s would change' % base.display)
            else:
                old = base_entry.get('digest') if base_entry else None
                base_entry, base_show = _pull_and_confirm(client, base, pull_opts, result)
                if state == 'latest':
                    result['digests'] = {'before': old, 'after': base_entry.get('digest')}
                if base_entry.get('digest') != old:
                    result['actions'].append(('pull %s' if old is None else 'update %s') % base.display)
        if show is not None and state == 'latest' and not check_mode:
            base_show = base_show or client.show(base.display)
            if _from_blob(show.get('modelfile')) and _from_blob(base_show.get('modelfile')) \
                    and _from_blob(show.get('modelfile')) != _from_blob(base_show.get('modelfile')):
                reasons.append('base %s changed' % base.display)
    if not reasons:
        return entry, show, show
    result['actions'].append('create' if show is None else 'recreate')
    result['reasons'] = reasons
    if check_mode:
        return entry, show, show
    before_show = show
    client.create(name.display, base.display, parameters, params.get('system'), params.get('template'))
    show = client.show(name.display)
    entry = client.find(name)
    if show is None or entry is None:
        raise OllamaError('Created %s, but the server does not list it' % name.display)
    still = parameter_differences(parameters, parse_show_parameters(show.get('parameters')))
    if still:
        raise OllamaError('Created %s, but it does not have %s' % (
            name.display, ', '.join('%s=%r' % (change['parameter'], change['after']) for change in still)),
            not_applied=still)
    return entry, show, before_show


def _ensure_loaded(client, name, keep_alive, entry, replaced, check_mode, result, now_year):
    """Load the model (keep_alive != 0) or unload it (0); returns (loaded before, loaded after).

    A loaded copy counts only when it is this build: after a pull, an update or a (re)create, or when
    /api/ps shows another digest, the model is loaded again.
    """
    api_value, seconds = keep_alive
    loaded = None
    if entry is not None:
        for model in client.running():
            if same_model(model.get('name') or model.get('model') or '', name):
                loaded = model
    was_loaded = loaded is not None
    if seconds == 0:
        needed = was_loaded
    else:
        forever = was_loaded and _is_forever(loaded.get('expires_at'), now_year)
        other_build = bool(loaded.get('digest') and entry.get('digest')) and loaded['digest'] != entry['digest'] \
            if was_loaded else False
        stale = was_loaded and (replaced or other_build)
        needed = not was_loaded or stale or (seconds < 0) != forever
    if not needed:
        return was_loaded, was_loaded
    result['actions'].append('unload' if seconds == 0 else 'load')
    if not check_mode:
        client.load(name.display, api_value)
    return was_loaded, seconds != 0


def gather_info(client):
    """ollama_info: server version, models, running models."""
    version = client.version()
    models = [model_summary(entry) for entry in client.tags()]
    running = []
    for model in client.running():
        running.append({
            'name': model.get('name') or model.get('model'),
            'digest': model.get('digest'),
            'size': model.get('size'),
            'size_vram': model.get('size_vram'),
            'expires_at': model.get('expires_at'),
            'context_length': model.get('context_length'),
        })
    return {'version': version, 'models': models, 'running': running, 'url': client.url}
