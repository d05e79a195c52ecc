# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""urls_transport over real sockets on loopback: statuses, error bodies, refusal and silence."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible.module_utils.urls import open_url

from ansible_collections.llmhost.macos.plugins.module_utils.ollama_client import Client, urls_transport
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import Unreachable


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == '/api/version':
            self.send_json(200, {'version': '0.13.0'})
        else:
            self.send_json(404, {'error': 'not found'})

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = json.loads(self.rfile.read(length) or b'null')
        if body is None:
            self.send_json(400, {'error': 'missing request body'})
        elif self.path == '/api/show':
            self.send_json(404, {'error': "model '%s' not found" % body['model']})
        elif self.path == '/api/pull':
            self.send_response(200)
            self.send_header('Content-Type', 'application/x-ndjson')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for line in ({'status': 'pulling manifest'}, {'status': 'success'}):
                data = (json.dumps(line) + '\n').encode()
                self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
            self.wfile.write(b'0\r\n\r\n')

    def send_json(self, status, document):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def client(url, timeout=5):
    return Client(url, urls_transport(open_url), timeout=timeout)


def test_json_and_error_statuses(server):
    assert client(server).version() == '0.13.0'
    assert client(server).show('nothing:latest') is None  # 404 is an answer, not an exception


def test_a_pull_stream_over_chunked_http(server):
    result = client(server).pull('tiny:latest', retries=0, stall_timeout=5)
    assert result == {'attempts': 1, 'bytes': 0, 'statuses': ['pulling manifest', 'success'], 'errors': []}


def test_refused_connection_is_unreachable_naming_the_url():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unreachable) as excinfo:
        client('http://127.0.0.1:%d' % port).version()
    assert excinfo.value.msg.startswith('Cannot reach the Ollama server at http://127.0.0.1:%d/api/version: ' % port)
    assert 'refused' in excinfo.value.msg.lower()


def test_a_server_that_never_answers_fails_within_the_timeout():
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(5)  # accepts connections (the kernel does) but never reads or answers
    try:
        import time
        started = time.monotonic()
        with pytest.raises(Unreachable) as excinfo:
            client('http://127.0.0.1:%d' % listener.getsockname()[1], timeout=0.5).version()
        assert time.monotonic() - started < 5
        assert 'timed out' in excinfo.value.msg
    finally:
        listener.close()
