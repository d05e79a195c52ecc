"""Fixtures for the macsim stand-in unit tests: run a stand-in script (as in the instance) with
a temporary state directory and a fake euid, no container needed."""

import json
import os
import plistlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

MACSIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(MACSIM_DIR, 'guest')
PROFILES = os.path.join(MACSIM_DIR, 'profiles')
INIT = os.path.join(GUEST, 'usr/local/libexec/macsim-init')
GUEST_LIB = os.path.join(GUEST, 'usr/local/lib/macsim')

TOOLS = {
    'pmset': 'usr/bin/pmset',
    'systemsetup': 'usr/sbin/systemsetup',
    'sysctl': 'usr/sbin/sysctl',
    'sw_vers': 'usr/bin/sw_vers',
    'uname': 'usr/bin/uname',
    'vm_stat': 'usr/bin/vm_stat',
    'system_profiler': 'usr/sbin/system_profiler',
    'ifconfig': 'usr/sbin/ifconfig',
    'route': 'usr/sbin/route',
    'launchctl': 'usr/bin/launchctl',
    'brew': 'opt/homebrew/bin/brew',
    'macsim-session': 'usr/local/libexec/macsim-session',
}
# Where the tools live on macOS, for code that calls them by path.
MAC_PATHS = {
    '/usr/bin/pmset': 'pmset', '/usr/sbin/systemsetup': 'systemsetup',
    '/usr/sbin/sysctl': 'sysctl', '/sbin/sysctl': 'sysctl', '/usr/bin/sw_vers': 'sw_vers',
    '/usr/bin/uname': 'uname', '/usr/bin/vm_stat': 'vm_stat',
    '/usr/sbin/system_profiler': 'system_profiler', '/sbin/ifconfig': 'ifconfig',
    '/sbin/route': 'route', '/bin/launchctl': 'launchctl', '/opt/homebrew/bin/brew': 'brew',
}
# Variables of the machine running the tests that would change what brew/launchctl decide.
HOST_ONLY_VARIABLES = ('SUDO_USER', 'SUDO_UID', 'SUDO_GID', 'SSH_TTY', 'SSH_CONNECTION', 'MACSIM_RUN_DIR')


class Result(object):
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return 'Result(rc=%r, out=%r, err=%r)' % (self.rc, self.out, self.err)


class Sim(object):
    """A state directory standing in for /var/db/macsim of one simulated Mac."""

    def __init__(self, root, profile='mac-studio'):
        self.root = str(root)
        self.run_dir = None
        self.init = None
        os.makedirs(os.path.join(self.root, 'log'), exist_ok=True)
        self.use_profile(profile)
        self.set_boot(1, 'boot-one', 1700000000.25)

    def use_profile(self, name):
        shutil.copy(os.path.join(PROFILES, name + '.json'), self.path('profile.json'))
        for fn in ('pmset.json', 'systemsetup.json', 'sysctl.json'):
            if os.path.exists(self.path(fn)):
                os.unlink(self.path(fn))

    def path(self, name):
        return os.path.join(self.root, name)

    def set_boot(self, count, boot_id, booted_at):
        self.write_json('boot.json', {'count': count, 'boot_id': boot_id, 'booted_at': booted_at})

    def write_json(self, name, data):
        with open(self.path(name), 'w') as f:
            json.dump(data, f)

    def read_json(self, name):
        with open(self.path(name)) as f:
            return json.load(f)

    def faults(self, data):
        self.write_json('faults.json', data)

    def env(self, euid=0):
        env = dict(os.environ, MACSIM_STATE_DIR=self.root, MACSIM_FAKE_EUID=str(euid),
                   MACSIM_HOSTNAME='testmac', LC_ALL='C')
        env.pop('MACSIM_LOG_DIR', None)
        for name in HOST_ONLY_VARIABLES:
            env.pop(name, None)
        for name in list(env):
            if name.startswith('HOMEBREW_'):
                del env[name]
        if self.run_dir:
            env['MACSIM_RUN_DIR'] = self.run_dir
        return env

    def script(self, tool):
        return os.path.join(GUEST, TOOLS[tool])

    def run(self, tool, *args, **kw):
        euid = kw.pop('euid', 0)
        binary = kw.pop('binary', False)
        argv0 = kw.pop('argv0', None)
        script = self.script(tool)
        cmd = [sys.executable, argv0 or script] + list(args)
        proc = subprocess.run(cmd, env=self.env(euid), stdout=subprocess.PIPE, check=False,
                              stderr=subprocess.PIPE, universal_newlines=not binary, **kw)
        return Result(proc)

    # -- the simulated launchd (macsim-init run as an ordinary process) ---------------------------
    def root_path(self, path):
        """A path of the simulated Mac's file system (under root/ in unit tests)."""
        return os.path.join(self.root, 'root', path.lstrip('/'))

    def write_plist(self, path, plist, mode=0o644):
        """Write a job definition (keys sorted) at `path`; returns it (use root_path() for a path
        of the simulated Mac's file system)."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            plistlib.dump(plist, f, sort_keys=True)
        os.chmod(path, mode)
        return path

    def start_launchd(self, timeout=10):
        """Boot: PID 1's launchd part, with this state directory. Waits until boot jobs are loaded."""
        if self.run_dir is None:
            # AF_UNIX paths are short: the socket lives in a short temporary directory.
            self.run_dir = tempfile.mkdtemp(prefix='msl-')
        before = self._boot_count()
        log = open(os.path.join(self.root, 'launchd.log'), 'ab')
        self.init = subprocess.Popen([sys.executable, INIT], env=self.env(0), stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        end = time.time() + timeout
        while time.time() < end:
            state = self._json_or_none('launchd-boot.json')
            if state and state.get('ready') and state.get('count', 0) > before:
                return state
            if self.init.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError('launchd did not boot:\n' + self.launchd_log())

    def stop_launchd(self):
        if self.init is None:
            return
        if self.init.poll() is None:
            self.init.send_signal(signal.SIGTERM)
            try:
                self.init.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.init.pid, signal.SIGKILL)
                self.init.wait()
        self.init = None

    def reboot_launchd(self):
        self.stop_launchd()
        return self.start_launchd()

    def cleanup(self):
        self.stop_launchd()
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None

    def launchd_log(self):
        path = os.path.join(self.root, 'launchd.log')
        return open(path).read() if os.path.exists(path) else ''

    def _boot_count(self):
        return (self._json_or_none('boot.json') or {}).get('count', 0)

    def _json_or_none(self, name):
        try:
            return self.read_json(name)
        except (OSError, ValueError):
            return None

    def calls(self):
        path = os.path.join(self.root, 'log', 'calls.jsonl')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]


@pytest.fixture
def sim(tmp_path):
    sim = Sim(tmp_path / 'mac-studio')
    yield sim
    sim.cleanup()


@pytest.fixture
def ld(sim):
    """A Sim with its launchd running (jobs run as the user running the tests)."""
    sim.start_launchd()
    return sim


@pytest.fixture
def laptop(tmp_path):
    return Sim(tmp_path / 'macbook', 'macbook')


@pytest.fixture
def macsim_cli(tmp_path, monkeypatch):
    """The controller script tests/macsim/macsim loaded as a module, its state under tmp_path (MACSIM_STATE)."""
    import importlib.machinery
    import importlib.util
    monkeypatch.setenv('MACSIM_STATE', str(tmp_path))
    loader = importlib.machinery.SourceFileLoader('macsim_cli', os.path.join(MACSIM_DIR, 'macsim'))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader('macsim_cli', loader))
    loader.exec_module(module)
    return module
