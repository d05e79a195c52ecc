"""End to end: the `debian` profile, the same test host as a plain Debian 12 server (real instance:
systemd-nspawn, netns, Debian's OpenSSH as a daemon). Needs root and the cached base; runs only with
MACSIM_E2E=1. One instance (`deb-e2e`) serves the whole module, in file order. Every way in that
the ssh_hardening role closes is shown to work here first, with real clients from the controller.

    MACSIM_E2E=1 pytest tests/macsim/tests/test_e2e_debian.py
"""

import json
import os
import subprocess
import time

import pytest

from e2e_support import ANSIBLE, E2E_ONLY, leftovers, macsim

NAME = 'deb-e2e'
DEBIAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
MAC_TOOLS = ['pmset', 'systemsetup', 'sw_vers', 'launchctl', 'brew', 'ollama', 'system_profiler',
             'vm_stat', 'ifconfig', 'route', 'macsim-session']

pytestmark = E2E_ONLY


def root(command):
    """A shell command as root inside the instance, without SSH."""
    return macsim('exec', NAME, '--', 'sh', '-c', command, check=False)


def sshd_pid():
    res = root('cat /run/sshd.pid')
    assert res.returncode == 0, res.stderr
    return int(res.stdout)


def client(info, user, command='id -un', key=None, password=None, tmp_path=None):
    """A real OpenSSH client from the controller: key login (BatchMode) or password login (the
    password method only, answered by an SSH_ASKPASS script)."""
    argv = ['ssh', '-F', '/dev/null', '-o', 'UserKnownHostsFile=' + info['known_hosts'],
            '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR',
            '-o', 'IdentityAgent=none', '-o', 'IdentitiesOnly=yes']
    env = dict(os.environ)
    if password is None:
        argv += ['-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=publickey', '-i', key]
    else:
        askpass = tmp_path / 'askpass'
        askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$MACSIM_E2E_PASSWORD"\n')
        askpass.chmod(0o700)
        argv += ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password',
                 '-o', 'NumberOfPasswordPrompts=1']
        env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE='force', MACSIM_E2E_PASSWORD=password)
    argv += ['-p', str(info['port']), '%s@%s' % (user, info['address']), command]
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False,
                          start_new_session=True)   # no controlling terminal: askpass it is


def admin(info, command):
    res = client(info, 'admin', command, key=info['identity_file'])
    assert res.returncode == 0, '%s: %s%s' % (command, res.stdout, res.stderr)
    return res.stdout


def run_ansible(info, tmp_path, *args):
    cfg = tmp_path / 'ansible.cfg'  # keep the project's ansible.cfg out of it
    cfg.write_text('[defaults]\n')
    proc = subprocess.run(
        [ANSIBLE, 'all', '-i', info['address'] + ',', '-u', info['user'],
         '--private-key', info['identity_file'],
         '--ssh-common-args=-o UserKnownHostsFile=%s' % info['known_hosts'],
         '-e', 'ansible_python_interpreter=' + info['python']] + list(args),
        cwd=str(tmp_path), env=dict(os.environ, ANSIBLE_CONFIG=str(cfg)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '[WARNING]' not in proc.stderr and 'DEPRECATION' not in proc.stderr, proc.stderr
    # one host, "ADDR | CHANGED => {...}"
    return json.loads(proc.stdout[proc.stdout.index('{'):])


@pytest.fixture(scope='module')
def info():
    macsim('down', NAME)
    try:
        yield json.loads(macsim('up', NAME, '--profile', 'debian').stdout)
    finally:
        macsim('down', NAME, check=False)


def test_up_prints_password_and_rsa_key(info):
    info = dict(info)
    assert info.pop('created') is True
    assert info['profile'] == 'debian' and info['user'] == 'admin' and info['port'] == 22
    assert len(info['password']) >= 16
    assert info['rsa_identity_file'] == os.path.join(info['instance_dir'], 'id_rsa')
    for key in (info['identity_file'], info['rsa_identity_file']):
        assert os.path.isfile(key) and os.path.isfile(key + '.pub')
    with open(info['rsa_identity_file'] + '.pub') as f:
        assert f.read().startswith('ssh-rsa ')
    with open(os.path.join(info['instance_dir'], 'instance.json')) as f:
        assert json.load(f) == info
    assert json.loads(macsim('up', NAME).stdout) == dict(info, created=False)


def test_facts_say_debian(info, tmp_path):
    facts = run_ansible(info, tmp_path, '-m', 'ansible.builtin.setup')['ansible_facts']
    assert facts['ansible_system'] == 'Linux'
    assert facts['ansible_os_family'] == 'Debian'
    assert facts['ansible_distribution'] == 'Debian'
    assert facts['ansible_distribution_major_version'] == '12'
    assert facts['ansible_distribution_release'] == 'bookworm'
    assert facts['ansible_service_mgr'] == 'sysvinit'
    assert facts['ansible_pkg_mgr'] == 'apt'
    assert facts['ansible_user_id'] == 'admin' and facts['ansible_user_dir'] == '/home/admin'
    assert facts['ansible_default_ipv4']['address'] == info['address']
    assert sorted(facts['ansible_interfaces']) == ['en0', 'lo']   # the instance's, not the controller's


def test_plain_debian_without_mac_stand_ins(info):
    out = admin(info, 'export PATH=%s; for t in %s; do command -v $t; done; uname -s; cat /proc/1/comm; '
                      'dpkg -S /sbin/sysctl /bin/uname | cut -d: -f1; '   # Debian's own (merged /usr)
                      'ls -d /Users /System /opt/homebrew /usr/lib/python3/dist-packages/macsim_darwin.pth '
                      '2>/dev/null; python3 -c "import os; print(os.uname().sysname)"; '
                      'cmp /etc/ssh/sshd_config /usr/share/openssh/sshd_config && echo stock; '
                      'grep -x "Include /etc/ssh/sshd_config.d/\\*.conf" /etc/ssh/sshd_config; '
                      'id -Gn; sudo -n id -un' % (DEBIAN_PATH, ' '.join(MAC_TOOLS)))
    assert out.splitlines() == ['Linux', 'init', 'procps', 'coreutils', 'Linux', 'stock',
                                'Include /etc/ssh/sshd_config.d/*.conf', 'admin sudo', 'root']


def test_every_way_in_works_before_hardening(info, tmp_path):
    assert client(info, 'admin', key=info['identity_file']).stdout == 'admin\n'
    rsa = client(info, 'admin', key=info['rsa_identity_file'])
    assert (rsa.returncode, rsa.stdout) == (0, 'admin\n'), rsa.stderr
    pw = client(info, 'admin', password=info['password'], tmp_path=tmp_path)
    assert (pw.returncode, pw.stdout) == (0, 'admin\n'), pw.stderr
    root_login = client(info, 'root', key=info['identity_file'])
    assert (root_login.returncode, root_login.stdout) == (0, 'root\n'), root_login.stderr
    # A wrong password is refused; Debian's stock config offers no keyboard-interactive.
    wrong = client(info, 'admin', password='not-' + info['password'], tmp_path=tmp_path)
    assert wrong.returncode == 255
    assert 'Permission denied (publickey,password).' in wrong.stderr


def test_host_keys_offered(info):
    res = subprocess.run(['ssh-keyscan', '-T', '5', info['address']], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=30, check=False)
    offered = {tuple(line.split()[1:3]) for line in res.stdout.splitlines() if line and line[0] != '#'}
    assert {key[0] for key in offered} == {'ssh-rsa', 'ecdsa-sha2-nistp256', 'ssh-ed25519'}
    with open(info['known_hosts']) as f:
        assert offered == {tuple(line.split()[1:3]) for line in f}


def test_service_restart_restarts_the_daemon(info, tmp_path):
    before = sshd_pid()
    assert admin(info, 'sudo service ssh restart') == 'Restarting OpenBSD Secure Shell server: sshd.\n'
    after = sshd_pid()
    assert after != before
    result = run_ansible(info, tmp_path, '-b', '-m', 'ansible.builtin.service', '-a', 'name=ssh state=restarted')
    assert result['changed'] is True
    assert sshd_pid() not in (before, after)
    assert admin(info, 'sudo service ssh status') == 'sshd is running.\n'


def test_exec_gets_in_without_ssh(info):
    res = root('service ssh stop >/dev/null; id -un; echo "$PATH"')
    assert (res.returncode, res.stdout) == (0, 'root\n%s\n' % DEBIAN_PATH), res.stderr
    assert client(info, 'admin', key=info['identity_file']).returncode == 255
    assert root('service ssh start').returncode == 0
    deadline = time.time() + 10
    while client(info, 'admin', key=info['identity_file']).returncode != 0:
        assert time.time() < deadline, 'sshd did not come back'
        time.sleep(0.2)


def test_reboot_keeps_state(info, tmp_path):
    admin(info, 'echo kept | sudo tee /etc/macsim-e2e-marker >/dev/null')
    admin(info, "sed -i '/^ssh-rsa /d' ~/.ssh/authorized_keys")   # a reboot must not put it back
    boot = json.loads(admin(info, 'cat /var/db/macsim/boot.json'))
    pid = sshd_pid()
    expected = dict(info)
    del expected['created']
    assert json.loads(macsim('reboot', NAME).stdout) == expected
    after = json.loads(admin(info, 'cat /var/db/macsim/boot.json'))
    assert after['count'] == boot['count'] + 1 and after['boot_id'] != boot['boot_id']
    assert admin(info, 'cat /etc/macsim-e2e-marker; cat /proc/1/comm') == 'kept\ninit\n'
    assert sshd_pid() != pid
    assert client(info, 'admin', password=info['password'], tmp_path=tmp_path).stdout == 'admin\n'
    assert client(info, 'admin', key=info['rsa_identity_file']).returncode == 255
    state = json.loads(root('cat /var/db/macsim/init-boot.json').stdout)
    assert state['sshd'] is True and state['rc']['rc2.d/S01ssh'] == 0


def test_reboot_with_a_broken_sshd_config_returns_without_ssh(info):
    assert root('echo "NoSuchKeyword yes" > /etc/ssh/sshd_config.d/broken.conf').returncode == 0
    res = macsim('reboot', NAME)
    assert 'sshd did not start, not waiting for SSH' in res.stderr
    assert json.loads(root('cat /var/db/macsim/init-boot.json').stdout)['sshd'] is False
    assert client(info, 'admin', key=info['identity_file']).returncode == 255
    res = root('rm /etc/ssh/sshd_config.d/broken.conf && service ssh start')
    assert res.returncode == 0, res.stderr
    deadline = time.time() + 10
    while client(info, 'admin', key=info['identity_file']).returncode != 0:
        assert time.time() < deadline, 'sshd did not come back'
        time.sleep(0.2)


def test_down_leaves_nothing(info):
    with open(os.path.join(info['instance_dir'], 'meta.json')) as f:
        meta = dict(json.load(f), instance_dir=info['instance_dir'])
    assert json.loads(macsim('down', NAME).stdout) == {'name': NAME, 'removed': True}
    assert leftovers(meta) == []
