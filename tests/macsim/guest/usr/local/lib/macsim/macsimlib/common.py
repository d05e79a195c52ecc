"""Shared plumbing of the macsim stand-ins: paths, call log, state files, profile, faults.

Test fixture code for the simulated Mac (tests/macsim); never shipped in the collection.
Stdlib only, Python 3.9 syntax.

Paths (inside an instance):
  /var/db/macsim/profile.json   hardware profile, written by `macsim up`
  /var/db/macsim/boot.json      boot counter and boot id, written by the init at each boot
  /var/db/macsim/faults.json    optional fault injection, written by tests
  /var/db/macsim/<tool>.json    persistent state of a stand-in (pmset.json, systemsetup.json, ...)
  /var/log/macsim/calls.jsonl   one JSON line per stand-in call

For unit tests without a container: MACSIM_STATE_DIR replaces /var/db/macsim (and the log then
goes to $MACSIM_STATE_DIR/log unless MACSIM_LOG_DIR says otherwise). Only when MACSIM_STATE_DIR is
set are MACSIM_FAKE_EUID / MACSIM_FAKE_UID / MACSIM_HOSTNAME honoured.
"""

import contextlib
import datetime
import fcntl
import json
import os
import sys
import traceback

STATE_DIR = '/var/db/macsim'
LOG_DIR = '/var/log/macsim'


class Ctx(object):
    """Everything a stand-in needs to know about its environment."""

    def __init__(self, tool, argv):
        env = os.environ
        self.tool = tool
        self.argv = list(argv)
        self.testing = bool(env.get('MACSIM_STATE_DIR'))
        self.state_dir = env.get('MACSIM_STATE_DIR') or STATE_DIR
        default_log = os.path.join(self.state_dir, 'log') if self.testing else LOG_DIR
        self.log_dir = env.get('MACSIM_LOG_DIR') or default_log
        self.uid = os.getuid()
        self.euid = os.geteuid()
        self.hostname = os.uname().nodename.split('.')[0]
        if self.testing:
            if env.get('MACSIM_FAKE_EUID'):
                self.euid = int(env['MACSIM_FAKE_EUID'])
                self.uid = self.euid
            if env.get('MACSIM_FAKE_UID'):
                self.uid = int(env['MACSIM_FAKE_UID'])
            if env.get('MACSIM_HOSTNAME'):
                self.hostname = env['MACSIM_HOSTNAME']
        self._profile = None
        self._boot = None
        self._faults = None

    # -- read-only inputs ------------------------------------------------------------------
    def path(self, name):
        return os.path.join(self.state_dir, name)

    def root_path(self, path):
        """A system file such as /etc/sysctl.conf; under $MACSIM_STATE_DIR/root in unit tests."""
        if self.testing:
            return os.path.join(self.state_dir, 'root', path.lstrip('/'))
        return path

    @property
    def profile(self):
        if self._profile is None:
            self._profile = read_json(self.path('profile.json'), None)
            if self._profile is None:
                raise RuntimeError('macsim: no profile at %s' % self.path('profile.json'))
        return self._profile

    @property
    def boot(self):
        """{'count': N, 'boot_id': '...', 'booted_at': epoch}; count 0 when never booted."""
        if self._boot is None:
            self._boot = read_json(self.path('boot.json'), None) or {
                'count': 0, 'boot_id': 'none', 'booted_at': None}
        return self._boot

    @property
    def faults(self):
        """This tool's section of faults.json ({} when absent or unreadable)."""
        if self._faults is None:
            data = read_json(self.path('faults.json'), {}) or {}
            self._faults = data.get(self.tool) or {}
        return self._faults

    @property
    def is_root(self):
        return self.euid == 0

    # -- state -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, shared=False):
        """Serialize state access between concurrent stand-in calls."""
        lock_path = self.path('.lock')
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            fd = os.open(lock_path, os.O_RDONLY) if os.path.exists(lock_path) else None
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            if fd is not None:
                os.close(fd)

    def load_state(self, name, initial):
        """The stand-in's state dict; `initial()` builds it when there is none yet."""
        data = read_json(self.path(name), None)
        if data is None:
            data = initial()
        return data

    def save_state(self, name, data):
        write_json_atomic(self.path(name), data)

    # -- call log --------------------------------------------------------------------------------
    def log_call(self, rc, kind):
        entry = {
            'ts': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='milliseconds'),
            'boot': self.boot.get('count', 0),
            'tool': self.tool,
            'argv': self.argv,
            'uid': self.uid,
            'euid': self.euid,
            'rc': rc,
            'kind': kind,
        }
        line = (json.dumps(entry, sort_keys=True) + '\n').encode('utf-8')
        path = os.path.join(self.log_dir, 'calls.jsonl')
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError:
            return
        try:
            with contextlib.suppress(OSError):
                if os.fstat(fd).st_uid == os.geteuid():
                    os.fchmod(fd, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
        except OSError:
            pass
        finally:
            os.close(fd)


class NotSimulated(Exception):
    """An invocation the stand-in does not simulate: not_simulated_exit() turns it into exit 2."""


def not_simulated_exit(tool, call, ctx, args):
    """call(ctx, args), with a NotSimulated turned into `macsim: TOOL WHAT is not simulated` and exit 2."""
    try:
        return call(ctx, args)
    except NotSimulated as e:
        err('macsim: %s %s is not simulated' % (tool, e))
        return 2, 'error'


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def write_json_atomic(path, data):
    tmp = '%s.tmp.%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
        f.write('\n')
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def out(text=''):
    sys.stdout.write(text + '\n')


def err(text=''):
    sys.stderr.write(text + '\n')


def _injected_failure(ctx):
    """faults.json {"<tool>": {"fail": {"match": [args...], "rc": N, "stdout": s, "stderr": s}}}:
    a call whose arguments include every `match` item fails that way without touching state."""
    fail = ctx.faults.get('fail')
    if not fail:
        return None
    want = fail.get('match') or []
    if all(w in ctx.argv[1:] for w in want):
        return fail
    return None


def run_tool(tool, main):
    """Run `main(ctx, args) -> (rc, kind)`, log the call, exit with rc."""
    ctx = Ctx(tool, sys.argv)
    rc, kind = 70, 'error'
    try:
        fail = _injected_failure(ctx)
        if fail is not None:
            if fail.get('stdout'):
                sys.stdout.write(fail['stdout'])
            if fail.get('stderr'):
                sys.stderr.write(fail['stderr'])
            rc, kind = int(fail.get('rc', 1)), 'error'
        else:
            rc, kind = main(ctx, sys.argv[1:])
    except BrokenPipeError:
        # The reader went away (`| head`): like a C tool killed by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        rc, kind = 141, 'read'
    except Exception:  # a bug in the stand-in: make it loud
        traceback.print_exc()
        rc, kind = 70, 'error'
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except Exception:
            pass
        ctx.log_call(rc, kind)
    sys.exit(rc)
