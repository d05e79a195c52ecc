# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Caddy's admin API on a real unix socket, answering with the recorded documents (tests/unit/fixtures/caddy)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from macfakes import fixture

CONFIG = json.loads(fixture('caddy', 'fleet.config.json'))
DRAINED = json.loads(fixture('caddy', 'upstreams.drained.json'))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append(('GET', self.path, None))
        self.reply(*self.server.answers.get(self.path, (404, '{"error":"not found"}')))

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.seen.append(('POST', self.path, json.loads(body)))
        if self.path == '/load':
            self.server.answers['/config/'] = (200, body.decode())
        self.reply(200, '')

    def reply(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class UnixServer(HTTPServer):
    address_family = socket.AF_UNIX

    def server_bind(self):
        self.socket.bind(self.server_address)
        self.server_name, self.server_port = 'localhost', 0


@contextlib.contextmanager
def admin_socket_server():
    """(path, server): server.answers maps a path to (status, body), initially the recorded fleet config and an
    upstream listing with nothing in flight; server.seen lists (method, path, JSON body) of every request."""
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, 'admin.sock')
    server = UnixServer(path, Handler)
    server.seen = []
    server.answers = {'/config/': (200, json.dumps(CONFIG)), '/reverse_proxy/upstreams': (200, json.dumps(DRAINED))}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield path, server
    finally:
        server.shutdown()
        server.server_close()
        os.unlink(path)
        os.rmdir(directory)
