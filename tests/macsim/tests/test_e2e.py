"""End to end: real instances (systemd-nspawn, netns, sshd). Needs root and the cached base
(`macsim build` takes about a minute the first time); runs only with MACSIM_E2E=1.

    MACSIM_E2E=1 pytest tests/macsim/tests/test_e2e.py
"""

import json
import os
import subprocess
import sys

import pytest

from e2e_support import ANSIBLE, E2E_ONLY, MACSIM, leftovers, macsim

pytestmark = E2E_ONLY

EXPECTED = {
    'mac-studio': {'memtotal_mb': 131072, 'model': 'Mac16,9', 'chip': 'Apple M4 Max'},
    'macbook': {'memtotal_mb': 24576, 'model': 'Mac16,1', 'chip': 'Apple M4'},
}


def ssh(name, command):
    return macsim('ssh', name, '--', command, check=False)


def read_meta(info):
    with open(os.path.join(info['instance_dir'], 'meta.json')) as f:
        meta = json.load(f)
    meta['instance_dir'] = info['instance_dir']
    return meta


def gather_facts(info, tmp_path):
    cfg = tmp_path / 'ansible.cfg'  # keep the project's ansible.cfg out of it
    cfg.write_text('[defaults]\n')
    env = dict(os.environ, ANSIBLE_CONFIG=str(cfg))
    proc = subprocess.run(
        [ANSIBLE, 'all', '-i', info['address'] + ',', '-u', info['user'],
         '--private-key', info['identity_file'],
         '--ssh-common-args=-o UserKnownHostsFile=%s' % info['known_hosts'],
         '-m', 'ansible.builtin.setup', '-e', 'ansible_python_interpreter=' + info['python']],
        cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '[WARNING]' not in proc.stderr and 'DEPRECATION' not in proc.stderr, proc.stderr
    # one host, "ADDR | SUCCESS => {...}"
    result = json.loads(proc.stdout[proc.stdout.index('{'):])
    assert not result.get('warnings') and not result.get('deprecations')
    return result['ansible_facts']


@pytest.mark.parametrize('profile', ['mac-studio', 'macbook'])
def test_lifecycle(profile, tmp_path):
    name = 'e2e-' + profile.split('-')[-1]
    macsim('down', name)
    try:
        info = json.loads(macsim('up', name, '--profile', profile).stdout)
        assert info.pop('created') is True
        assert info['user'] == 'admin' and info['port'] == 22 and info['profile'] == profile
        assert json.loads(macsim('up', name).stdout) == dict(info, created=False)  # already up
        with open(os.path.join(info['instance_dir'], 'instance.json')) as f:
            assert json.load(f) == info

        facts = gather_facts(info, tmp_path)
        want = EXPECTED[profile]
        assert facts['ansible_system'] == 'Darwin'
        assert facts['ansible_os_family'] == 'Darwin'
        assert facts['ansible_distribution'] == 'MacOSX'
        assert facts['ansible_distribution_version'] == '15.6'
        assert facts['ansible_architecture'] == 'arm64'
        assert facts['ansible_memtotal_mb'] == want['memtotal_mb']
        assert facts['ansible_model'] == want['model']
        assert facts['ansible_processor'] == want['chip']
        assert facts['ansible_service_mgr'] == 'launchd'
        assert facts['ansible_user_uid'] == 501 and facts['ansible_user_gid'] == 20
        assert facts['ansible_user_dir'] == '/Users/admin'
        assert facts['ansible_default_ipv4']['address'] == info['address']
        assert facts['ansible_pkg_mgr'] != 'apt'
        # Debian's apt-get and ip are hidden on the Macs (the debian profile has them).
        res = ssh(name, 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin; command -v apt-get ip')
        assert (res.returncode, res.stdout) == (1, ''), res.stdout + res.stderr

        res = ssh(name, 'id -un; id -gn; id -Gn; pmset -g custom')
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        assert lines[:2] == ['admin', 'staff'] and 'admin' in lines[2].split()
        assert 'AC Power:' in lines
        res = ssh(name, 'pmset -a sleep 0')
        assert (res.returncode, res.stdout) == (1, "'/usr/bin/pmset' must be run as root...\n")
        res = ssh(name, 'sudo pmset -a sleep 0 && pmset -g custom')
        assert res.returncode == 0, res.stderr
        assert res.stdout.count(' sleep                0\n') == (2 if profile == 'macbook' else 1)
        res = ssh(name, 'sudo sysctl iogpu.wired_limit_mb=4096')
        assert res.returncode == 0, res.stderr

        before = json.loads(ssh(name, 'cat /var/db/macsim/boot.json').stdout)
        assert json.loads(macsim('reboot', name).stdout) == info
        after = json.loads(ssh(name, 'cat /var/db/macsim/boot.json').stdout)
        assert after['count'] == before['count'] + 1 and after['boot_id'] != before['boot_id']
        res = ssh(name, 'pmset -g custom; sysctl -n iogpu.wired_limit_mb; ps -e -o comm=')
        assert ' sleep                0\n' in res.stdout
        assert '\n0\n' in res.stdout  # sysctl values are runtime only
        calls = ssh(name, 'cat /var/log/macsim/calls.jsonl').stdout.splitlines()
        kinds = [(c['tool'], c['kind'], c['euid'], c['rc']) for c in map(json.loads, calls)]
        assert ('pmset', 'write', 0, 0) in kinds and ('pmset', 'write', 501, 1) in kinds

        meta = read_meta(info)
    finally:
        down = json.loads(macsim('down', name).stdout)
    assert down == {'name': name, 'removed': True}
    assert leftovers(meta) == []
    assert json.loads(macsim('down', name).stdout) == {'name': name, 'removed': False}  # idempotent


def test_two_instances_at_once():
    names = {'e2e-two-a': 'mac-studio', 'e2e-two-b': 'macbook'}
    for name in names:
        macsim('down', name)
    procs = {name: subprocess.Popen([sys.executable, MACSIM, 'up', name, '--profile', profile],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    universal_newlines=True)
             for name, profile in names.items()}
    infos = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            infos[name] = json.loads(out)
        assert infos['e2e-two-a']['address'] != infos['e2e-two-b']['address']
        for name in names:
            res = ssh(name, 'hostname; sysctl -n hw.model')
            assert res.returncode == 0, res.stderr
            assert res.stdout.splitlines()[0] == name
        listed = {i['name']: i for i in json.loads(macsim('list').stdout)}
        assert all(listed[n]['running'] for n in names)
    finally:
        metas = [read_meta(i) for i in infos.values()]
        for name in names:
            macsim('down', name)
    for meta in metas:
        assert leftovers(meta) == []
