# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory Ollama for unit tests of module_utils/ollama.py: a transport function that answers
the endpoints with the documented shapes, logs every request, and plays scripted pull streams
(lines, a dropped connection, a timeout) so each planner branch can be driven without sockets.
The Ollama API emulator (tests/macsim/ollama) covers the same ground over real HTTP.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket

from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import Response
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import Unreachable

LLAMA_PARAMETERS = ('stop                           "<|start_header_id|>"\n'
                    'stop                           "<|end_header_id|>"\n'
                    'stop                           "<|eot_id|>"')


def digest_of(text):
    return hashlib.sha256(text.encode()).hexdigest()


def tags_entry(name, revision=1, size=2019393189, family='llama', parameter_size='3.2B'):
    return {
        'name': name, 'model': name, 'modified_at': '2026-11-20T10:11:12.123456789+01:00', 'size': size,
        'digest': digest_of('%s@%d' % (name, revision)),
        'details': {'parent_model': '', 'format': 'gguf', 'family': family, 'families': [family],
                    'parameter_size': parameter_size, 'quantization_level': 'Q4_K_M'},
    }


class Dropped(io.RawIOBase):
    """A body whose connection drops after the given lines, like http.client on a reset."""

    def __init__(self, lines, exc):
        super().__init__()
        self.lines = list(lines)
        self.exc = exc

    def readline(self, size=-1):
        if self.lines:
            return self.lines.pop(0)
        raise self.exc

    def read(self, size=-1):
        return b''.join(self.lines)


def ndjson(*objects):
    return [(json.dumps(obj) + '\n').encode() for obj in objects]


def pull_lines(name, digest='sha256:' + 'a' * 64, total=1000, done=True):
    lines = [{'status': 'pulling manifest'},
             {'status': 'pulling %s' % digest[7:19], 'digest': digest, 'total': total},
             {'status': 'pulling %s' % digest[7:19], 'digest': digest, 'total': total, 'completed': total // 2},
             {'status': 'pulling %s' % digest[7:19], 'digest': digest, 'total': total, 'completed': total}]
    if done:
        lines += [{'status': 'verifying sha256 digest'}, {'status': 'writing manifest'}, {'status': 'success'}]
    return lines


class FakeOllama:
    """State: models (tags entries by name), shows (name -> /api/show body), running (ps entries).

    pull_script: list, one item per /api/pull request: a list of dicts (NDJSON lines, ending the
    stream normally), ('drop', lines) (the connection breaks after them), ('status', code, error),
    or 'ok' (a normal successful pull). A successful pull registers `registry[name]` (a tags entry).
    """

    def __init__(self, models=(), registry=None, unreachable=False):
        self.models = {}
        self.shows = {}
        self.running = []
        self.registry = dict(registry or {})
        self.pull_script = []
        self.requests = []
        self.unreachable = unreachable
        self.manifests = {}
        for entry in models:
            self.add(entry)

    def add(self, entry, show=None):
        self.models[entry['name']] = entry
        self.shows[entry['name']] = show or {'details': entry['details'], 'parameters': LLAMA_PARAMETERS,
                                             'model_info': {'general.architecture': 'llama',
                                                            'llama.context_length': 131072},
                                             'modelfile': 'FROM /models/blobs/sha256-%s\n' % ('b' * 64)}

    # -- the transport
    def __call__(self, method, url, data, headers, timeout):
        body = json.loads(data) if data else None
        path = url.split('://', 1)[1].split('/', 1)[1]
        path = '/' + path
        self.requests.append({'method': method, 'path': path, 'body': body, 'timeout': timeout, 'url': url})
        if self.unreachable:
            raise Unreachable('Cannot reach the Ollama server at %s: [Errno 111] Connection refused' % url, url=url)
        if path.startswith('/v2/'):
            return self.do_GET_v2_manifests(body)
        return getattr(self, 'do_%s_%s' % (method, path.strip('/').replace('/', '_')))(body)

    @staticmethod
    def reply(status, document=None, raw=None):
        payload = raw if raw is not None else (b'' if document is None else json.dumps(document).encode())
        return Response(status, io.BytesIO(payload))

    def _name(self, body):
        name = body['model']
        return name if ':' in name.split('/')[-1] else name + ':latest'

    def do_GET_api_version(self, body):
        return self.reply(200, {'version': '0.13.0'})

    def do_GET_api_tags(self, body):
        return self.reply(200, {'models': list(self.models.values())})

    def do_GET_api_ps(self, body):
        return self.reply(200, {'models': self.running})

    def do_POST_api_show(self, body):
        name = self._name(body)
        if name not in self.models:
            return self.reply(404, {'error': "model '%s' not found" % body['model']})
        return self.reply(200, self.shows[name])

    def do_DELETE_api_delete(self, body):
        name = self._name(body)
        if self.models.pop(name, None) is None:
            return self.reply(404, {'error': "model '%s' not found" % body['model']})
        return self.reply(200)

    def do_POST_api_generate(self, body):
        name = self._name(body)
        if name not in self.models:
            return self.reply(404, {'error': "model '%s' not found" % body['model']})
        self.running = [model for model in self.running if model['name'] != name]
        if body.get('keep_alive') != 0:
            keep = body.get('keep_alive')
            forever = (isinstance(keep, (int, float)) and keep < 0) or str(keep).startswith('-')
            self.running.append({'name': name, 'model': name, 'digest': self.models[name]['digest'],
                                 'expires_at': '2318-02-26T10:11:12+01:00' if forever else '2026-11-28T10:16:12+01:00',
                                 'size_vram': 1, 'context_length': 4096})
            return self.reply(200, {'model': name, 'response': '', 'done': True})
        return self.reply(200, {'model': name, 'response': '', 'done': True, 'done_reason': 'unload'})

    def do_POST_api_create(self, body):
        base = self._name({'model': body['from']})
        if base not in self.models:
            return self.reply(404, {'error': "model '%s' not found" % body['from']})
        name = self._name(body)
        parameters = body.get('parameters') or {}
        entry = dict(self.models[base], name=name, model=name,
                     digest=digest_of('%s<-%s %s' % (name, self.models[base]['digest'], json.dumps(body, sort_keys=True))))
        show = json.loads(json.dumps(self.shows[base]))
        lines = [line for line in show['parameters'].splitlines()
                 if line.split()[0] not in parameters]
        for key, value in sorted(parameters.items()):
            for item in (value if isinstance(value, list) else [value]):
                lines.append('%-30s %s' % (key, json.dumps(item) if isinstance(item, str) else item))
        show['parameters'] = '\n'.join(lines)
        for option in ('system', 'template'):
            if option in body:
                show[option] = body[option]
        self.add(entry, show)
        return self.reply(200, raw=b''.join(ndjson({'status': 'reading model metadata'},
                                                   {'status': 'writing manifest'}, {'status': 'success'})))

    def do_POST_api_pull(self, body):
        name = self._name(body)
        step = self.pull_script.pop(0) if self.pull_script else 'ok'
        if step == 'ok':
            if name not in self.registry:
                return self.reply(200, raw=b''.join(ndjson({'status': 'pulling manifest'},
                                                           {'error': 'pull model manifest: file does not exist'})))
            step = pull_lines(name)
        if isinstance(step, tuple) and step[0] == 'drop':
            return Response(200, Dropped(ndjson(*step[1]), step[2] if len(step) > 2 else ConnectionResetError(104, 'Connection reset by peer')))
        if isinstance(step, tuple) and step[0] == 'status':
            return self.reply(step[1], {'error': step[2]})
        if step and step[-1] == {'status': 'success'} and name in self.registry:
            self.add(self.registry[name])
        return Response(200, io.BytesIO(b''.join(ndjson(*step))))

    def do_GET_v2_manifests(self, body):
        url = self.requests[-1]['url']
        if url not in self.manifests:
            return self.reply(404, {'errors': [{'code': 'MANIFEST_UNKNOWN'}]})
        return self.reply(200, raw=self.manifests[url])

    # -- what tests assert on
    def writes(self):
        return [(r['method'], r['path']) for r in self.requests if r['method'] in ('POST', 'DELETE')
                and r['path'] not in ('/api/show',)]

    def paths(self):
        return ['%s %s' % (r['method'], r['path']) for r in self.requests]


def timeout_body(lines):
    return Dropped(ndjson(*lines), socket.timeout('timed out'))
