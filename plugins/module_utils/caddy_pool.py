# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The upstream pool of the gateway's running Caddy, through its admin API on a unix socket.

Draining an upstream takes it out of the running configuration (GET /config/, POST /load): Caddy sends it no new
request, and finishes the ones in flight on the old configuration, which /reverse_proxy/upstreams lists with their
num_requests until the last one is done (then the upstream is gone from that list). Making it active again puts
it back into the running configuration where the gateway's Caddyfile (adapted to JSON by `caddy adapt`) has it,
leaving any other drained upstream out.

The pure functions take and return the JSON documents; CaddyAdmin is the only I/O. Python 3.9, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import socket
import time
from http import client as http_client

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError


class UnixHTTPConnection(http_client.HTTPConnection):
    """http.client over a unix socket (Caddy's `admin unix//PATH`)."""

    def __init__(self, path, timeout=10):
        http_client.HTTPConnection.__init__(self, 'localhost', timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class CaddyAdmin(object):
    """GET and POST JSON on the admin API, over its unix socket."""

    def __init__(self, socket_path):
        self.socket_path = socket_path
        self.requests = 0

    def request(self, method, path, document=None):
        body = None if document is None else json.dumps(document).encode('utf-8')
        headers = {'Content-Type': 'application/json'} if body is not None else {}
        self.requests += 1
        connection = UnixHTTPConnection(self.socket_path)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode('utf-8', 'replace')
            status = response.status
        except (OSError, http_client.HTTPException) as exc:
            raise LlmhostError('the gateway\'s admin API on %s did not answer %s %s: %s (is the gateway running?)'
                               % (self.socket_path, method, path, exc))
        finally:
            connection.close()
        if status != 200:
            raise LlmhostError('the gateway\'s admin API answered %s %s with %d: %s'
                               % (method, path, status, text.strip()[:500]))
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise LlmhostError('the gateway\'s admin API answered %s %s with no JSON: %r' % (method, path, text[:200]))

    def running(self):
        """Whether the gateway runs: Caddy makes its admin socket when it starts and removes it when it stops."""
        return os.path.exists(self.socket_path)

    def config(self):
        return self.request('GET', '/config/')

    def load(self, config):
        self.request('POST', '/load', config)

    def upstreams(self):
        return self.request('GET', '/reverse_proxy/upstreams') or []


def proxies(config):
    """Every reverse_proxy handler in a Caddy JSON config (the Caddyfile adapter nests them in subroutes)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get('handler') == 'reverse_proxy' and isinstance(node.get('upstreams'), list):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


def dials(config):
    """The upstreams (their `dial`) of every reverse_proxy handler, in order, each once."""
    seen = []
    for proxy in proxies(config):
        for upstream in proxy['upstreams']:
            dial = upstream.get('dial') if isinstance(upstream, dict) else None
            if dial and dial not in seen:
                seen.append(dial)
    return seen


def without_upstream(config, dial):
    """A copy of `config` with `dial` gone from every reverse_proxy handler. LlmhostError when that would leave a
    handler with no upstream: the gateway would then answer nothing."""
    new = copy.deepcopy(config)
    for proxy in proxies(new):
        kept = [u for u in proxy['upstreams'] if not (isinstance(u, dict) and u.get('dial') == dial)]
        if len(kept) == len(proxy['upstreams']):
            continue
        if not kept:
            raise LlmhostError('%s is the last upstream of the gateway: draining it would leave nothing to answer '
                               'requests (a Mac alone cannot be upgraded without a pause)' % dial, upstream=dial)
        proxy['upstreams'] = kept
    return new


def in_flight(upstreams, dial):
    """Caddy's count of requests in flight to `dial` (/reverse_proxy/upstreams); 0 when it is not listed."""
    for entry in upstreams or []:
        if isinstance(entry, dict) and entry.get('address') == dial:
            return int(entry.get('num_requests') or 0)
    return 0


def not_running(admin, dial, what):
    """The result for a gateway that does not run (a first rolling run, before the gateway exists): no request
    passes through it, so there is nothing to drain or put back; it loads its whole Caddyfile when it starts."""
    return {'changed': False, 'upstream': dial, 'in_flight': 0, 'pool': [],
            'warnings': ['the gateway is not running (no admin socket %s): nothing to %s' % (admin.socket_path, what)]}


def ensure_drained(admin, dial, timeout, file_config=None, check_mode=False, sleep=time.sleep, clock=time.monotonic):
    """Take `dial` out of the running pool, then wait until its requests in flight are done. One the running pool
    lacks must be in the Caddyfile's (`file_config`, a callable run only then): a typo is not "drained"."""
    if not admin.running():
        return not_running(admin, dial, 'drain')
    config = admin.config()
    before = dials(config)
    after = [d for d in before if d != dial]
    present = dial in before
    if not present and file_config is not None and dial not in dials(file_config()):
        raise LlmhostError('%s is not an upstream of the gateway, running or in its configuration file (upstreams '
                           'now: %s)' % (dial, ', '.join(before) or 'none'), upstream=dial)
    if present:
        new = without_upstream(config, dial)
        if not check_mode:
            admin.load(new)
    result = {'changed': present, 'upstream': dial, 'in_flight': 0, 'pool': after,
              'diff': {'before': '\n'.join(before) + '\n', 'after': '\n'.join(after) + '\n'}}
    if check_mode:
        result['in_flight'] = in_flight(admin.upstreams(), dial)
        return result
    deadline = clock() + timeout
    while True:
        count = in_flight(admin.upstreams(), dial)
        if count == 0:
            break
        if clock() >= deadline:
            raise LlmhostError('%s still had %d request(s) in flight after %d s; it is out of the pool (no new '
                               'request reaches it), but stopping it now cuts them' % (dial, count, timeout),
                               upstream=dial, in_flight=count, changed=present)
        sleep(1)
    return result


def with_upstream(running, wanted, dial):
    """A copy of the running config with `dial` back in each reverse_proxy where the file's config (`wanted`) has it,
    in the file's order; the other upstreams stay as they run (another Mac drained by the same rolling run stays
    out). None when the two configs' proxies do not pair up (the file changed since): then the file is loaded."""
    new = copy.deepcopy(running)
    running_proxies, wanted_proxies = proxies(new), proxies(wanted)
    if len(running_proxies) != len(wanted_proxies):
        return None
    for proxy, want in zip(running_proxies, wanted_proxies):
        want_dials = [u.get('dial') for u in want['upstreams'] if isinstance(u, dict)]
        if dial not in want_dials:
            continue
        now = [u.get('dial') for u in proxy['upstreams'] if isinstance(u, dict)]
        proxy['upstreams'] = ([copy.deepcopy(u) for u in want['upstreams']
                               if isinstance(u, dict) and (u.get('dial') in now or u.get('dial') == dial)]
                              + [u for u in proxy['upstreams'] if not (isinstance(u, dict) and u.get('dial') in want_dials)])
    return new


def ensure_active(admin, dial, file_config, check_mode=False):
    """Put `dial` back where the Caddyfile's configuration (`file_config`, a callable run only when needed) has it,
    into the running one; the rest of the running pool is left as it is."""
    if not admin.running():
        return not_running(admin, dial, 'put back')
    config = admin.config()
    running = dials(config)
    result = {'changed': False, 'upstream': dial, 'in_flight': 0, 'pool': running}
    if dial in running:
        return result
    wanted = file_config()
    if dial not in dials(wanted):
        raise LlmhostError('%s is not an upstream in the gateway\'s configuration file (upstreams there: %s)'
                           % (dial, ', '.join(dials(wanted)) or 'none'), upstream=dial)
    new = with_upstream(config, wanted, dial)
    if new is None:
        new = wanted
    if not check_mode:
        admin.load(new)
    result.update(changed=True, pool=dials(new),
                  diff={'before': '\n'.join(running) + '\n', 'after': '\n'.join(dials(new)) + '\n'})
    return result
