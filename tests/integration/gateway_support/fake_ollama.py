# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake Ollama for the gateway's black-box test: just enough of the API for curl, the OpenAI SDK and the
ollama client, and a witness of what reached it.

- Host check as Ollama's on a loopback listener (allowedHostsMiddleware): 403 unless the Host (port stripped) is
  empty, localhost, *.localhost, *.local, *.internal, this machine's name, or a loopback/private/unspecified IP.
- NDJSON on /api/chat and /api/generate (stream unless "stream": false), SSE on /v1/chat/completions with
  "stream": true, ending with `data: [DONE]`; plain JSON otherwise.
- Every other path answers 200 (a leak through the gateway shows), HEAD without a body.
- GET /_debug/last: the last request seen (method, raw path, headers, body length, a sequence number);
  GET /_debug/streams?tag=T: how each tagged stream ended (sent, total, aborted and why); GET /_debug/dropped:
  the requests it gave up on (a body cut short, a peer gone before the answer).
- The controls, from the body's "_fake" object, X-Fake-* headers or the query (in that order of precedence):
  chunks (how many stream chunks), delay (seconds between chunks), first_delay (seconds before the status line,
  like a long prompt evaluation), tag (names the stream in /_debug/streams).
- A client that goes away is noticed as Go's server notices it: EOF on the connection while waiting (before
  the first byte or between chunks), or a failed write.

Standalone: python fake_ollama.py [--host 127.0.0.1] [--port 11434]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODEL = 'qwen3:8b'
CREATED = 1767225600  # 2026-01-01T00:00:00Z
STAMP = '2026-01-01T00:00:00Z'
DIGEST = 'sha256:' + '0' * 64


def host_allowed(host):
    """Ollama's allowedHostsMiddleware for a loopback listener (server/routes.go)."""
    if host is None:
        return True
    host = host.strip()
    if host.startswith('['):
        host = host[1:].split(']', 1)[0]
    elif host.count(':') == 1:
        host = host.rsplit(':', 1)[0]
    host = host.lower()
    if host in ('', 'localhost', socket.gethostname().lower()):
        return True
    if host.endswith(('.localhost', '.local', '.internal')):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_unspecified


class ClientGone(Exception):
    """The peer (the gateway) closed the connection."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'fake-ollama/1'
    sys_version = ''

    def log_message(self, fmt, *args):  # quiet
        pass

    # ---- plumbing -------------------------------------------------------------------------------------
    def _read_body(self):
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b';', 1)[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        if len(body) < length:
            raise ClientGone('body cut short: %d of %d bytes' % (len(body), length))
        return body

    def _gone(self, timeout):
        """Wait up to timeout seconds; raise ClientGone as soon as the peer has closed the connection."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            readable = select.select([self.connection], [], [], min(left, 0.05))[0]
            if readable:
                try:
                    peek = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    raise ClientGone('error on the connection')
                if peek == b'':
                    raise ClientGone('EOF')
                time.sleep(min(left, 0.05))  # unexpected bytes (a pipelined request): not a close

    def _send(self, status, body=b'', ctype='application/json', extra=None):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)
        self.wfile.flush()

    def _chunk(self, data):
        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
        self.wfile.flush()

    def _controls(self, body):
        query = parse_qs(urlsplit(self.path).query)
        fake = body.get('_fake') if isinstance(body.get('_fake'), dict) else {}

        def pick(name, default, cast):
            if name in fake:
                return cast(fake[name])
            header = self.headers.get('X-Fake-' + name.replace('_', '-'))
            if header is not None:
                return cast(header)
            if name in query:
                return cast(query[name][0])
            return default

        return {'chunks': pick('chunks', 3, int), 'delay': pick('delay', 0.0, float),
                'first_delay': pick('first_delay', 0.0, float), 'tag': pick('tag', '', str)}

    # ---- the API --------------------------------------------------------------------------------------
    def _entry(self):
        try:
            self._handle()
        except (ClientGone, OSError, ValueError) as exc:
            # the gateway gave up on this request (a cut body, a client gone): nothing to answer
            with self.server.state.lock:
                self.server.state.dropped.append({'path': self.path, 'reason': '%s: %s' % (type(exc).__name__, exc)})
            self.close_connection = True

    def _handle(self):
        raw = self._read_body()
        url = urlsplit(self.path)
        state = self.server.state
        if url.path.startswith('/_debug/'):
            return self._debug(url)
        with state.lock:
            state.seq += 1
            state.last = {'seq': state.seq, 'method': self.command, 'path': self.path,
                          'headers': [[k, v] for k, v in self.headers.items()], 'body_length': len(raw),
                          'peer': self.client_address[0]}
        if not host_allowed(self.headers.get('Host')):
            return self._send(403, b'', 'text/plain')
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        path = url.path
        if self.command == 'POST' and path in ('/api/chat', '/api/generate'):
            return self._ollama(path, body)
        if self.command == 'POST' and path == '/v1/chat/completions':
            return self._openai_chat(body)
        if self.command in ('GET', 'HEAD'):
            if path == '/':
                return self._send(200, b'Ollama is running', 'text/plain; charset=utf-8')
            if path == '/api/version':
                return self._send(200, {'version': '0.33.0'})
            if path == '/api/tags':
                return self._send(200, {'models': [{
                    'name': MODEL, 'model': MODEL, 'modified_at': STAMP, 'size': 5225376047, 'digest': DIGEST,
                    'details': {'parent_model': '', 'format': 'gguf', 'family': 'qwen3', 'families': ['qwen3'],
                                'parameter_size': '8.2B', 'quantization_level': 'Q4_K_M'}}]})
            if path == '/api/ps':
                return self._send(200, {'models': []})
            if path == '/v1/models':
                return self._send(200, {'object': 'list', 'data': [
                    {'id': MODEL, 'object': 'model', 'created': CREATED, 'owned_by': 'library'}]})
            if path.startswith('/v1/models/'):
                return self._send(200, {'id': path[len('/v1/models/'):], 'object': 'model', 'created': CREATED,
                                        'owned_by': 'library'})
        # anything else: 200, so a request the gateway should have refused shows
        return self._send(200, {'fake_ollama': 'reached', 'method': self.command, 'path': self.path})

    def _debug(self, url):
        state = self.server.state
        with state.lock:
            if url.path == '/_debug/last':
                return self._send(200, state.last or {})
            if url.path == '/_debug/streams':
                tag = parse_qs(url.query).get('tag', [None])[0]
                streams = state.streams if tag is None else {tag: state.streams.get(tag)}
                return self._send(200, streams)
            if url.path == '/_debug/dropped':
                return self._send(200, state.dropped)
        return self._send(404, {'error': 'no such debug path'})

    def _stream(self, controls, ctype, first, chunk, last):
        """Stream chunk(i) for every chunk and last() after them; record how it ended under the tag."""
        state = self.server.state
        record = {'total': controls['chunks'], 'sent': 0, 'aborted': False, 'reason': '', 'done': False,
                  'started': time.time(), 'ended': None, 'first_byte': None}
        if controls['tag']:
            with state.lock:
                state.streams[controls['tag']] = record
        try:
            self._gone(controls['first_delay'])
            self.send_response(200)
            self.send_header('Content-Type', ctype)
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            self.wfile.flush()
            record['first_byte'] = time.time()
            if first:
                self._chunk(first)
            for index in range(controls['chunks']):
                if index:
                    self._gone(controls['delay'])
                self._chunk(chunk(index))
                record['sent'] = index + 1
            self._chunk(last())
            self.wfile.write(b'0\r\n\r\n')
            self.wfile.flush()
            record['done'] = True
        except ClientGone as exc:
            record['aborted'], record['reason'] = True, str(exc)
            self.close_connection = True
        except OSError as exc:  # BrokenPipeError, ConnectionResetError: a write to a closed peer
            record['aborted'], record['reason'] = True, type(exc).__name__
            self.close_connection = True
        finally:
            record['ended'] = time.time()

    def _ollama(self, path, body):
        controls = self._controls(body)
        model = body.get('model') or MODEL
        key = 'message' if path == '/api/chat' else 'response'

        def piece(index):
            text = 'tok%d ' % index
            return {'role': 'assistant', 'content': text} if key == 'message' else text

        final = {'model': model, 'created_at': STAMP, key: '', 'done': True,
                 'done_reason': 'stop', 'total_duration': 1000, 'load_duration': 10, 'prompt_eval_count': 3,
                 'prompt_eval_duration': 10, 'eval_count': controls['chunks'], 'eval_duration': 100}
        if key == 'message':
            final['message'] = {'role': 'assistant', 'content': ''}
        if body.get('stream', True) is False:
            self._gone(controls['first_delay'])
            whole = ''.join('tok%d ' % i for i in range(controls['chunks']))
            final[key] = {'role': 'assistant', 'content': whole} if key == 'message' else whole
            return self._send(200, final)

        def chunk(index):
            return json.dumps({'model': model, 'created_at': STAMP, key: piece(index), 'done': False}).encode() + b'\n'

        return self._stream(controls, 'application/x-ndjson', None, chunk,
                            lambda: json.dumps(final).encode() + b'\n')

    def _openai_chat(self, body):
        controls = self._controls(body)
        model = body.get('model') or MODEL
        ident = 'chatcmpl-fake'
        if not body.get('stream'):
            self._gone(controls['first_delay'])
            whole = ''.join('tok%d ' % i for i in range(controls['chunks']))
            return self._send(200, {
                'id': ident, 'object': 'chat.completion', 'created': CREATED, 'model': model,
                'system_fingerprint': 'fp_ollama',
                'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': whole}, 'finish_reason': 'stop'}],
                'usage': {'prompt_tokens': 3, 'completion_tokens': controls['chunks'],
                          'total_tokens': 3 + controls['chunks']}})

        def event(delta, finish=None):
            data = {'id': ident, 'object': 'chat.completion.chunk', 'created': CREATED, 'model': model,
                    'system_fingerprint': 'fp_ollama',
                    'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish}]}
            return b'data: ' + json.dumps(data).encode() + b'\n\n'

        return self._stream(controls, 'text/event-stream', None,
                            lambda index: event({'role': 'assistant', 'content': 'tok%d ' % index}),
                            lambda: event({'role': 'assistant', 'content': ''}, 'stop') + b'data: [DONE]\n\n')

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _entry


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.seq = 0
        self.last = None
        self.streams = {}
        self.dropped = []


class FakeOllama:
    """The fake on host:port (0: a free one), served from a daemon thread."""

    def __init__(self, host='127.0.0.1', port=0):
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = State()
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)

    @property
    def hostport(self):
        return '%s:%d' % (self.host, self.port)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=11434)
    args = parser.parse_args()
    fake = FakeOllama(args.host, args.port)
    print('fake Ollama on %s' % fake.hostport, flush=True)
    try:
        fake.httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
