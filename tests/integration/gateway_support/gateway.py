# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of tests/integration/test_gateway_caddy.py: render the role's gateway files with Ansible
(render.yml), run the real Caddy on them as the LaunchDaemon does, and talk to it with curl.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SUPPORT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
ANSIBLE_PLAYBOOK = BIN / 'ansible-playbook'
CADDY = BIN / 'caddy'
COLLECTIONS = ROOT / 'collections'
# The role as Ansible resolves it: collections/ansible_collections/llmhost/macos is this checkout.
ROLE_DIR = COLLECTIONS / 'ansible_collections' / 'llmhost' / 'macos' / 'roles' / 'ollama_gateway'
RENDER = SUPPORT / 'render.yml'


def free_port(rng=random.Random()):
    """A TCP port that nothing listens on, on any address, outside the ephemeral range (no client takes it)."""
    for attempt in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(('0.0.0.0', port))
            except OSError:
                continue
            return port
    raise RuntimeError('no free port found in 20000-31999')


def tail(path, lines=30):
    try:
        return '\n'.join(Path(path).read_text(errors='replace').splitlines()[-lines:])
    except OSError as exc:
        return '(%s)' % exc


class Config:
    """One gateway configuration: the role variables it sets and where its files go (base/NAME)."""

    def __init__(self, base, name, upstream, port, bind, cidrs, clients, **role_vars):
        self.name = name
        self.dir = Path(base) / name
        self.prefix = self.dir / 'prefix'
        self.port = port
        self.bind = bind
        self.tls = bool(role_vars.get('ollama_gateway_tls'))
        self.clients = list(clients)
        self.vars_file = self.dir / 'vars.json'
        self.paths_file = self.dir / 'paths.json'
        self.role_vars = dict(role_vars)
        self.role_vars.update({
            'ollama_gateway_homebrew_prefix': str(self.prefix),
            'ollama_gateway_log_dir': str(self.dir / 'logs'),
            '__ollama_gateway_check_script': str(self.dir / 'libexec' / 'ollama-gateway-check'),
            'ollama_gateway_upstreams': [upstream],
            'ollama_gateway_port': port,
            'ollama_gateway_bind_address': bind,
            'ollama_gateway_allowed_cidrs': list(cidrs),
        })
        self.paths = {}
        self.after_render = {}

    def write(self, clients=None):
        """The vars file for render.yml; clients replaces the client list (a re-render)."""
        if clients is not None:
            self.clients = list(clients)
        # Homebrew's layout: the caddy formula's binary at PREFIX/opt/caddy/bin/caddy, here the venv's Caddy.
        link = self.prefix / 'opt' / 'caddy' / 'bin' / 'caddy'
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(CADDY)
        (self.dir / 'tmp').mkdir(exist_ok=True)
        data = dict(self.role_vars, ollama_gateway_clients=self.clients)
        self.vars_file.write_text(json.dumps(data, indent=2))
        os.chmod(self.vars_file, 0o600)

    @property
    def scheme(self):
        return 'https' if self.tls else 'http'

    @property
    def url(self):
        return '%s://%s:%d' % (self.scheme, self.bind, self.port)

    def key(self, name):
        return next(client['key'] for client in self.clients if client['name'] == name)


def render(configs, base, limit=None):
    """Render every config (one inventory host each) in one ansible-playbook run; return its output.

    After the run, each config's paths (the role's own, from render.yml) and a listing of its data and log dirs
    (before any Caddy ran) are recorded on it.
    """
    base = Path(base)
    inventory = {'all': {'hosts': {}}}
    for config in configs:
        inventory['all']['hosts'][config.name] = {
            'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
            'gw_vars_file': str(config.vars_file), 'gw_paths_file': str(config.paths_file),
            'gw_role_dir': str(ROLE_DIR)}
    inventory_file = base / 'inventory.json'
    inventory_file.write_text(json.dumps(inventory, indent=2))
    for sub in ('ansible-local', 'ansible-remote', 'check-tmp'):
        (base / sub).mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith('ANSIBLE_')}
    env.update(ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
               ANSIBLE_LOCAL_TEMP=str(base / 'ansible-local'), ANSIBLE_REMOTE_TMP=str(base / 'ansible-remote'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORKS='8', ANSIBLE_RETRY_FILES_ENABLED='0',
               # the check script's throwaway directories go here (it honours TMPDIR, as on macOS)
               TMPDIR=str(base / 'check-tmp'),
               PATH='%s:%s' % (BIN, env.get('PATH', '/usr/bin:/bin')))
    env.pop('ANSIBLE_FORCE_COLOR', None)
    argv = [str(ANSIBLE_PLAYBOOK), '-i', str(inventory_file), str(RENDER)]
    if limit:
        argv += ['--limit', ','.join(limit)]
    proc = subprocess.run(argv, cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise AssertionError('render.yml failed (rc %d):\n%s' % (proc.returncode, proc.stdout[-6000:]))
    for config in configs:
        if limit and config.name not in limit:
            continue
        config.paths = json.loads(config.paths_file.read_text())
        config.after_render = {
            which: sorted(str(p.relative_to(config.paths[which])) for p in Path(config.paths[which]).rglob('*'))
            for which in ('data', 'log_dir')}
    return proc.stdout


def caddy_env(config):
    """The LaunchDaemon's environment (tasks/main.yml): HOME and the XDG dirs are Caddy's data dir."""
    data = config.paths['data']
    return {'PATH': '/usr/bin:/bin', 'HOME': data, 'XDG_DATA_HOME': data, 'XDG_CONFIG_HOME': data}


class Caddy:
    """`caddy run --config CADDYFILE --adapter caddyfile` as the LaunchDaemon runs it, until stop()."""

    def __init__(self, config):
        self.config = config
        self.proc = None
        self.output = Path(config.paths['log_dir']) / 'launchd.log'

    def start(self, timeout=30):
        paths = self.config.paths
        with open(self.output, 'ab') as out:
            self.proc = subprocess.Popen(
                [paths['caddy'], 'run', '--config', paths['caddyfile'], '--adapter', 'caddyfile'],
                cwd=paths['data'], env=caddy_env(self.config), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        """Until the gateway answers a request without a key (401 or 403, as the role's probe expects)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('caddy exited with %s before it answered:\n%s'
                                     % (self.proc.returncode, tail(self.output)))
            try:
                status = probe(self.config)
                if status in (401, 403):
                    return
                last = 'status %s' % status
            except (OSError, http.client.HTTPException) as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise AssertionError('the gateway %s did not answer within %ss (last: %s):\n%s'
                             % (self.config.url, timeout, last, tail(self.output)))

    def reload(self):
        """The role's handler: caddy reload through the admin socket, with the LaunchDaemon's environment."""
        paths = self.config.paths
        return subprocess.run(
            [paths['caddy'], 'reload', '--config', paths['caddyfile'], '--adapter', 'caddyfile',
             '--address', 'unix/' + paths['admin_socket']],
            cwd=paths['data'], env=caddy_env(self.config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=60, check=False)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def probe(config, path='/api/version', timeout=3):
    if config.tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(config.bind, config.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(config.bind, config.port, timeout=timeout)
    try:
        conn.request('GET', path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Response:
    def __init__(self, status, headers, body, info, rc, stderr):
        self.status = status
        self.headers = headers      # {lower-case name: [values]}
        self.body = body
        self.info = info            # curl's -w %{json}
        self.rc = rc
        self.stderr = stderr

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[-1] if values else None

    def __repr__(self):
        return '<Response %s rc=%s %r %s>' % (self.status, self.rc, self.body[:200], self.stderr.strip()[:200])


def curl(url, *args, method=None, key=None, headers=(), data=None, data_file=None, source=None, cacert=None,
         timeout=20, path_as_is=False):
    """One request with curl: the status, the response headers, the body, curl's timing."""
    argv = ['curl', '-sS', '--noproxy', '*', '-m', str(timeout), '-D', '-', '-o', '-',
            '-w', '\n__CURL_INFO__%{json}']
    if method:
        argv += ['-X', method] if method != 'HEAD' else ['-I']
    if key is not None:
        argv += ['-H', 'Authorization: Bearer ' + key]
    for header in headers:
        argv += ['-H', header]
    if data is not None:
        argv += ['--data-binary', data if isinstance(data, str) else json.dumps(data),
                 '-H', 'Content-Type: application/json']
    if data_file is not None:
        argv += ['--data-binary', '@' + str(data_file), '-H', 'Content-Type: application/json']
    if source:
        argv += ['--interface', source]
    if cacert:
        argv += ['--cacert', str(cacert)]
    if path_as_is:
        argv += ['--path-as-is']
    argv += list(args) + [url]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 30, check=False)
    out, info = proc.stdout.rsplit(b'\n__CURL_INFO__', 1) if b'\n__CURL_INFO__' in proc.stdout else (proc.stdout, b'')
    info = json.loads(info) if info.strip() else {}
    headers, body, status = {}, b'', info.get('http_code') or 0
    head, sep, rest = out.partition(b'\r\n\r\n')
    while sep and head[:12] in (b'HTTP/1.1 100', b'HTTP/1.0 100') and rest.startswith(b'HTTP/'):
        head, sep, rest = rest.partition(b'\r\n\r\n')  # an interim 100 Continue
    if sep:
        lines = head.decode('iso-8859-1').split('\r\n')
        for line in lines[1:]:
            name, value = line.split(':', 1) if ':' in line else (line, '')
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        body = rest
    return Response(status, headers, body, info, proc.returncode, proc.stderr.decode(errors='replace'))


def fake_get(fake, path):
    """GET one of the fake's /_debug/ pages, directly (not through the gateway)."""
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=10)
    try:
        conn.request('GET', path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def wait_for(predicate, timeout, interval=0.05):
    """predicate's first true value within timeout seconds, else its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def listening_ports(pid):
    """The TCP ports process pid listens on (ss -ltnpH)."""
    out = subprocess.run(['ss', '-ltnpH'], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    ports = set()
    for line in out.splitlines():
        if 'pid=%d,' % pid in line:
            ports.add(int(line.split()[3].rsplit(':', 1)[1]))
    return ports


class LoopbackAddresses:
    """Extra addresses on lo, from 198.18.0.0/15 (RFC 2544, never routed), for the outside-the-CIDR case.

    Held under a lock file so that two runs on one machine take turns; removed again by remove().
    """

    LOCK = '/tmp/llmhost-gateway-test-lo.lock'

    def __init__(self, addresses):
        self.addresses = list(addresses)
        self.added = []
        self.lock = None

    def add(self, timeout=600):
        self.lock = open(self.LOCK, 'w')
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError('another run holds %s for longer than %ss' % (self.LOCK, timeout))
                time.sleep(0.5)
        for address in self.addresses:
            proc = subprocess.run(['ip', 'addr', 'add', address + '/32', 'dev', 'lo'], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True, timeout=120, check=False)
            # "File exists": left by a run that was killed; it is this test's address, so it is removed after
            if proc.returncode != 0 and 'File exists' not in proc.stdout:
                self.remove()
                raise AssertionError('ip addr add %s/32 dev lo: %s' % (address, proc.stdout.strip()))
            self.added.append(address)

    def remove(self):
        for address in self.added:
            subprocess.run(['ip', 'addr', 'del', address + '/32', 'dev', 'lo'], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=120, check=False)
        self.added = []
        if self.lock is not None:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
            self.lock = None
