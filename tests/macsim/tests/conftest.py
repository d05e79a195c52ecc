"""Fixtures for the macsim stand-in unit tests: run a stand-in script (as in the instance) with
a temporary state directory and a fake euid, no container needed."""

import json
import os
import shutil
import subprocess
import sys

import pytest

MACSIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(MACSIM_DIR, 'guest')
PROFILES = os.path.join(MACSIM_DIR, 'profiles')

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
}
# Where the tools live on macOS, for code that calls them by path.
MAC_PATHS = {
    '/usr/bin/pmset': 'pmset', '/usr/sbin/systemsetup': 'systemsetup',
    '/usr/sbin/sysctl': 'sysctl', '/sbin/sysctl': 'sysctl', '/usr/bin/sw_vers': 'sw_vers',
    '/usr/bin/uname': 'uname', '/usr/bin/vm_stat': 'vm_stat',
    '/usr/sbin/system_profiler': 'system_profiler', '/sbin/ifconfig': 'ifconfig',
    '/sbin/route': 'route',
}


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

    def calls(self):
        path = os.path.join(self.root, 'log', 'calls.jsonl')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]


@pytest.fixture
def sim(tmp_path):
    return Sim(tmp_path / 'mac-studio')


@pytest.fixture
def laptop(tmp_path):
    return Sim(tmp_path / 'macbook', 'macbook')
