"""What the Ollama emulator's tests share: `ollama serve` run as a process, its stderr (the server
log) collected line by line on a thread, and the parts of its lines a parser of real logs reads."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

OLLAMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ollama')
WRAPPER = os.path.join(OLLAMA_DIR, 'ollama')

# One slog text attribute: key=value, key="quoted value" or "quoted key"="value".
_ATTR_RE = re.compile(r'("(?:[^"\\]|\\.)*"|[^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)')


def slog_attrs(line):
    """The attributes of one server log line as a dict (quotes removed), e.g. {'msg': ..., 'total': ...}."""
    return dict((_unquote(key), _unquote(value)) for key, value in _ATTR_RE.findall(line))


def _unquote(text):
    return re.sub(r'\\(.)', r'\1', text[1:-1]) if text.startswith('"') else text


class Serve(object):
    """`ollama serve` (the wrapper) with `env`; .lines is its stderr so far."""

    def __init__(self, env, python=sys.executable):
        self.proc = subprocess.Popen([python, WRAPPER, 'serve'], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.lines = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = None

    def _read(self):
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line)

    def text(self):
        with self._lock:
            return ''.join(self.lines)

    def wait_for(self, pattern, timeout=10):
        """The first match of `pattern` in the log, waiting up to `timeout` s (None if the server exited
        or the time ran out)."""
        deadline = time.time() + timeout
        while True:
            m = re.search(pattern, self.text(), re.M)
            if m or time.time() > deadline:
                return m
            if self.proc.poll() is not None:
                self._reader.join(2)
                return re.search(pattern, self.text(), re.M)
            time.sleep(0.02)

    def wait_listening(self, timeout=10):
        m = self.wait_for(r'msg="Listening on [^"]*:(\d+) \(version ([^)]+)\)"', timeout)
        assert m, self.text()
        self.port = int(m.group(1))
        return m

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def stop(self, timeout=10):
        """SIGTERM, then the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(2)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def run_cli(args, env, python=sys.executable, timeout=20):
    """The `ollama` wrapper as a client (ollama ps, list, -v)."""
    return subprocess.run([python, WRAPPER] + list(args), env=env, stdout=subprocess.PIPE, check=False,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)


def api(server_or_url, path, body=None, method=None, timeout=20):
    """(status, parsed body) of one request to an emulator (a started server or its URL)."""
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.url
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method or ('POST' if data else 'GET'))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw.decode()) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())
