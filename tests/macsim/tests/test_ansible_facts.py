"""Ansible's own Darwin fact code run against the stand-ins (no container): what `setup` will
report on a simulated Mac."""

import shlex
import subprocess
import sys

import pytest

pytest.importorskip('ansible')

from ansible.module_utils.facts.hardware.darwin import DarwinHardware  # noqa: E402
from ansible.module_utils.facts.network.darwin import DarwinNetwork  # noqa: E402
from ansible.module_utils.facts.system.distribution import Distribution  # noqa: E402

BY_NAME = {'sysctl': '/usr/sbin/sysctl', 'vm_stat': '/usr/bin/vm_stat', 'sw_vers': '/usr/bin/sw_vers',
           'system_profiler': '/usr/sbin/system_profiler', 'ifconfig': '/sbin/ifconfig',
           'route': '/sbin/route', 'pmset': '/usr/bin/pmset'}
BY_PATH = {'/usr/sbin/sysctl': 'sysctl', '/usr/bin/vm_stat': 'vm_stat', '/usr/bin/sw_vers': 'sw_vers',
           '/usr/sbin/system_profiler': 'system_profiler', '/sbin/ifconfig': 'ifconfig',
           '/sbin/route': 'route', '/usr/bin/pmset': 'pmset'}


class FakeModule(object):
    """Just enough of AnsibleModule: macOS paths mapped to the stand-in scripts."""

    def __init__(self, sim):
        self.sim = sim
        self.commands = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return BY_NAME.get(name)

    def run_command(self, cmd, encoding='utf-8', **kwargs):
        if isinstance(cmd, str):
            cmd = shlex.split(cmd)
        self.commands.append(cmd)
        tool = BY_PATH[cmd[0]]
        proc = subprocess.run([sys.executable, self.sim.script(tool)] + list(cmd[1:]),
                              env=self.sim.env(501), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
        out, err = proc.stdout, proc.stderr
        if encoding is not None:
            out, err = out.decode(encoding), err.decode(encoding)
        return proc.returncode, out, err

    def error_as_warning(self, msg, exception=None):
        raise AssertionError(msg)


def test_hardware_facts_desktop(sim, monkeypatch):
    monkeypatch.setattr('time.time', lambda: 1700000100.0)
    facts = DarwinHardware(FakeModule(sim)).populate()
    assert facts['memtotal_mb'] == 131072
    assert 0 < facts['memfree_mb'] < 131072
    assert facts['model'] == facts['product_name'] == 'Mac16,9'
    assert facts['processor'] == 'Apple M4 Max'
    assert facts['processor_cores'] == '16' and facts['processor_vcpus'] == '16'
    assert facts['osversion'] == '24G84' and facts['osrevision'] == '199506'
    assert facts['uptime_seconds'] == 100


def test_hardware_facts_laptop(laptop):
    facts = DarwinHardware(FakeModule(laptop)).populate()
    assert facts['memtotal_mb'] == 24576
    assert facts['model'] == 'Mac16,1'
    assert facts['processor'] == 'Apple M4'
    assert facts['processor_cores'] == '10'


def test_distribution_facts(sim):
    facts = Distribution(FakeModule(sim)).get_distribution_Darwin()
    assert facts == {'distribution': 'MacOSX', 'distribution_major_version': '15',
                     'distribution_version': '15.6'}


def test_network_facts_parse(sim):
    facts = DarwinNetwork(FakeModule(sim)).populate()
    assert 'lo0' in facts['interfaces']
    assert facts['lo0']['ipv4'][0]['address'] == '127.0.0.1'
    assert facts['lo0']['ipv4'][0]['netmask'] == '255.0.0.0'
