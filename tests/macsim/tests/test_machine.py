"""sysctl, sw_vers, uname, vm_stat, system_profiler, ifconfig/route stand-ins and the Darwin
uname hook."""

import json
import os
import struct
import subprocess
import sys

import pytest

GUEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'guest')


def parse_sysctl(text):
    res = {}
    for line in text.splitlines():
        key, value = line.split(': ', 1)
        assert key not in res, 'duplicate %s' % key
        res[key] = value
    return res


def test_sysctl_prefixes_as_ansible_asks(sim):
    res = sim.run('sysctl', 'hw', 'machdep', 'kern', 'hw.model')
    assert res.rc == 0 and res.err == ''
    values = parse_sysctl(res.out)
    assert values['hw.memsize'] == '137438953472'
    assert values['hw.model'] == 'Mac16,9'
    assert values['machdep.cpu.brand_string'] == 'Apple M4 Max'
    assert values['machdep.cpu.core_count'] == '16'
    assert values['hw.physicalcpu'] == values['hw.logicalcpu'] == '16'
    assert values['kern.osversion'] == '24G84'
    assert values['kern.osrevision'] == '199506'
    assert values['kern.ostype'] == 'Darwin'
    assert values['kern.hostname'] == 'testmac'
    assert values['kern.boottime'].startswith('{ sec = 1700000000, usec = 250000 } ')


def test_sysctl_laptop(laptop):
    res = laptop.run('sysctl', '-n', 'hw.memsize', 'hw.model', 'machdep.cpu.brand_string')
    assert res.out == '25769803776\nMac16,1\nApple M4\n'


def test_sysctl_binary_boottime(sim):
    res = sim.run('sysctl', '-b', 'kern.boottime', binary=True)
    assert res.rc == 0 and len(res.out) == 16
    assert struct.unpack('=qi4x', res.out) == (1700000000, 250000)


def test_sysctl_unknown_oid(sim):
    res = sim.run('sysctl', 'hw.ncpu', 'no.such.oid')
    assert res.rc == 1
    assert res.out == 'hw.ncpu: 16\n'
    assert res.err == "sysctl: unknown oid 'no.such.oid'\n"


def test_sysctl_write_is_runtime_only(sim):
    assert sim.run('sysctl', '-n', 'iogpu.wired_limit_mb').out == '0\n'
    res = sim.run('sysctl', 'iogpu.wired_limit_mb=98304', euid=501)
    assert res.rc == 1 and 'Operation not permitted' in res.err
    assert sim.calls()[-1]['kind'] == 'write'
    res = sim.run('sysctl', 'iogpu.wired_limit_mb=98304')
    assert (res.rc, res.out) == (0, 'iogpu.wired_limit_mb: 0 -> 98304\n')
    assert sim.run('sysctl', '-n', 'iogpu.wired_limit_mb').out == '98304\n'
    # next boot: forgotten, unless /etc/sysctl.conf sets it
    sim.set_boot(2, 'boot-two', 1700001000.0)
    assert sim.run('sysctl', '-n', 'iogpu.wired_limit_mb').out == '0\n'
    os.makedirs(os.path.join(sim.root, 'root', 'etc'))
    with open(os.path.join(sim.root, 'root', 'etc', 'sysctl.conf'), 'w') as f:
        f.write('# persisted\niogpu.wired_limit_mb=65536\n')
    sim.set_boot(3, 'boot-three', 1700002000.0)
    assert sim.run('sysctl', '-n', 'iogpu.wired_limit_mb').out == '65536\n'


def test_sysctl_read_only(sim):
    res = sim.run('sysctl', 'hw.memsize=1')
    assert res.rc == 1 and 'read only' in res.err


def test_sw_vers(sim):
    res = sim.run('sw_vers')
    assert (res.rc, res.out) == (0, 'ProductName:\t\tmacOS\nProductVersion:\t\t15.6\n'
                                    'BuildVersion:\t\t24G84\n')
    assert sim.run('sw_vers', '-productVersion').out == '15.6\n'
    assert sim.run('sw_vers', '-productName').out == 'macOS\n'
    assert sim.run('sw_vers', '-buildVersion').out == '24G84\n'
    assert sim.run('sw_vers', '-bogus').rc == 1


def test_uname(sim, laptop):
    assert sim.run('uname').out == 'Darwin\n'
    assert sim.run('uname', '-m').out == 'arm64\n'
    assert sim.run('uname', '-p').out == 'arm\n'
    assert sim.run('uname', '-sr').out == 'Darwin 24.6.0\n'
    assert sim.run('uname', '-a').out == (
        'Darwin testmac 24.6.0 Darwin Kernel Version 24.6.0: Mon Jul 14 11:30:40 PDT 2025; '
        'root:xnu-11417.140.69~1/RELEASE_ARM64_T6041 arm64\n')
    assert laptop.run('uname', '-v').out.endswith('RELEASE_ARM64_T8132\n')


def test_vm_stat(sim):
    res = sim.run('vm_stat')
    lines = res.out.splitlines()
    assert lines[0] == 'Mach Virtual Memory Statistics: (page size of 16384 bytes)'
    stats = dict((k, int(v.strip().rstrip('.'))) for k, v in
                 (line.split(':', 1) for line in lines[1:]))
    used = (stats['Pages wired down'] + stats['Pages active'] + stats['Pages inactive']) * 16384
    assert 0 < used < 137438953472


def test_system_profiler(sim):
    res = sim.run('system_profiler', 'SPHardwareDataType')
    profile = dict(line.strip().split(': ', 1) for line in res.out.splitlines() if ': ' in line)
    assert profile['Model Identifier'] == 'Mac16,9'
    assert profile['Chip'] == 'Apple M4 Max'
    assert profile['Memory'] == '128 GB'
    data = json.loads(sim.run('system_profiler', '-json', 'SPHardwareDataType').out)
    assert data['SPHardwareDataType'][0]['machine_model'] == 'Mac16,9'


def test_system_profiler_names_the_gpu_and_its_cores(sim):
    # the 16-core M4 Max of a 128 GB Mac Studio has the 40-core GPU: the key verify.yml reads is a string
    data = json.loads(sim.run('system_profiler', '-json', 'SPDisplaysDataType').out)
    gpu, = data['SPDisplaysDataType']
    assert gpu['sppci_model'] == 'Apple M4 Max' and gpu['sppci_cores'] == '40'
    assert gpu['sppci_device_type'] == 'spdisplays_gpu' and 'spdisplays_ndrvs' not in gpu   # headless
    text = sim.run('system_profiler', 'SPDisplaysDataType').out
    assert text.startswith('Graphics/Displays:\n\n    Apple M4 Max:\n\n')
    assert '      Total Number of Cores: 40\n' in text
    both = json.loads(sim.run('system_profiler', '-json', 'SPHardwareDataType', 'SPDisplaysDataType').out)
    assert sorted(both) == ['SPDisplaysDataType', 'SPHardwareDataType']


def test_ifconfig_shows_loopback_as_lo0(sim):
    res = sim.run('ifconfig', '-a')
    assert res.rc == 0
    assert res.out.startswith('lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384\n')
    assert '\tinet 127.0.0.1 netmask 0xff000000\n' in res.out


def test_route_default(sim):
    res = sim.run('route', '-n', 'get', 'default')
    assert res.rc in (0, 1)
    if res.rc == 0:
        assert '  interface: ' in res.out
    assert sim.run('route', 'add', 'x').rc == 2


@pytest.mark.parametrize('tool,args', [('sw_vers', []), ('uname', ['-a']), ('vm_stat', []),
                                       ('system_profiler', ['SPHardwareDataType']),
                                       ('sysctl', ['hw.ncpu'])])
def test_reads_are_logged(sim, tool, args):
    sim.run(tool, *args, euid=501)
    call = sim.calls()[-1]
    assert (call['tool'], call['kind'], call['rc'], call['euid']) == (tool, 'read', 0, 501)


def test_darwin_uname_hook():
    dist = os.path.join(GUEST, 'usr', 'lib', 'python3', 'dist-packages')
    with open(os.path.join(dist, 'macsim_darwin.pth')) as f:
        assert f.read().strip() == 'import macsim_darwin'
    code = ('import sys; sys.path.insert(0, %r); import os, socket, macsim_darwin, platform, json; '
            'print(json.dumps([list(os.uname()), platform.system(), platform.machine(), '
            'socket.gethostname()]))' % dist)
    out = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    uname, system, machine, hostname = json.loads(out)
    assert uname[0] == 'Darwin' and uname[1] == hostname
    assert uname[2] == '24.6.0' and uname[4] == 'arm64'
    assert uname[3].startswith('Darwin Kernel Version 24.6.0: ')
    assert (system, machine) == ('Darwin', 'arm64')
