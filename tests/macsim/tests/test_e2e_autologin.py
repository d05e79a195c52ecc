"""End to end: automatic login on a simulated Mac (loginwindow in the simulated launchd,
macsimlib/loginwindow.py). admin's password (made at provisioning, `macsim info`'s `password`),
/etc/kcpassword and `defaults write ... autoLoginUser` log admin in at the next boot with nobody at
the screen, and admin's LaunchAgent runs; with FileVault on nobody is logged in. Needs root and the
cached base; runs only with MACSIM_E2E=1. One instance (`al-e2e`), in file order.

    MACSIM_E2E=1 pytest tests/macsim/tests/test_e2e_autologin.py
"""

import base64
import json
import os
import plistlib
import subprocess
import time

import pytest

from e2e_support import E2E_ONLY, macsim

NAME = 'al-e2e'
LOGINWINDOW = '/Library/Preferences/com.apple.loginwindow'
AGENT = 'com.example.autologin'
AGENT_PLIST = '/Users/admin/Library/LaunchAgents/%s.plist' % AGENT
# kcpassword's fixed key (published decoders), written out here: the test trusts no implementation
KEY = bytes.fromhex('7d895223d2bcddeaa3b91f')

pytestmark = E2E_ONLY


def kcpassword(password):
    """/etc/kcpassword: XOR with the key, zero-padded to a multiple of 12 (12 more on a full block)."""
    data = password.encode() + b'\0' * (12 - len(password.encode()) % 12)
    return bytes(b ^ KEY[i % len(KEY)] for i, b in enumerate(data))


def ssh(command, stdin=None):
    return macsim('ssh', NAME, '--', command, check=False, input=stdin)


def ok(command, stdin=None):
    res = ssh(command, stdin)
    assert res.returncode == 0, '%s: %s%s' % (command, res.stdout, res.stderr)
    return res.stdout


def wait_for(fetch, until=bool, timeout=30.0, interval=0.3):
    end = time.time() + timeout
    while time.time() < end:
        value = fetch()
        if until(value):
            return value
        time.sleep(interval)
    raise AssertionError('condition not met within %.0f s' % timeout)


def boot_count():
    return json.loads(ok('cat /var/db/macsim/boot.json'))['count']


def loginwindow():
    """loginwindow.json of this boot, once loginwindow has decided."""
    count = boot_count()

    def fetch():
        res = ssh('cat /var/db/macsim/loginwindow.json')
        found = json.loads(res.stdout) if res.returncode == 0 else None
        return found if found and found.get('boot') == count else None
    return wait_for(fetch)


def gui_domain_rc():
    return ssh('launchctl print gui/501 >/dev/null 2>&1; echo $?').stdout.strip()


def agent_pid():
    res = ssh('launchctl print gui/501/%s' % AGENT)
    if res.returncode != 0 or '\tstate = running\n' not in res.stdout:
        return None
    return [line.split(' = ')[1] for line in res.stdout.splitlines() if line.startswith('\tpid = ')][0]


@pytest.fixture(scope='module')
def info():
    macsim('down', NAME)
    try:
        yield json.loads(macsim('up', NAME).stdout)
    finally:
        macsim('down', NAME, check=False)


def test_admin_has_a_password_that_ssh_does_not_take(info, tmp_path):
    password = info['password']
    assert len(password) >= 16 and json.loads(macsim('info', NAME).stdout)['password'] == password
    with open(os.path.join(info['instance_dir'], 'password')) as f:
        assert f.read().strip() == password
    shadow = macsim('exec', NAME, '--', 'getent', 'shadow', 'admin').stdout.split(':')
    assert shadow[1].startswith('$') and password not in shadow[1]
    assert ok('sudo -n id -un') == 'root\n'   # still passwordless sudo
    # a password login from the controller is refused (password and keyboard-interactive)
    askpass = tmp_path / 'askpass'
    askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$MACSIM_E2E_PASSWORD"\n')
    askpass.chmod(0o700)
    argv = ['ssh', '-F', '/dev/null', '-o', 'UserKnownHostsFile=' + info['known_hosts'],
            '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=5', '-o', 'IdentityAgent=none',
            '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive',
            '-o', 'NumberOfPasswordPrompts=1', 'admin@' + info['address'], 'true']
    res = subprocess.run(argv, env=dict(os.environ, SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE='force',
                                        MACSIM_E2E_PASSWORD=password),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=60, check=False, start_new_session=True)
    assert res.returncode == 255 and 'Permission denied (publickey,password,keyboard-interactive)' in res.stderr, \
        res.stderr


def test_automatic_login_after_a_reboot_starts_the_admins_agent(info):
    # a fresh Mac: loginwindow (up ~2 s after the boot jobs) logs nobody in
    assert loginwindow() == {'user': None, 'logged_in': False, 'reason': 'autoLoginUser is not set',
                             'boot': boot_count()}
    res = ssh('defaults write %s autoLoginUser -string admin' % LOGINWINDOW)
    assert (res.returncode, res.stderr) == (1, 'Could not write domain %s; exiting\n' % LOGINWINDOW)
    ok('sudo defaults write %s autoLoginUser -string admin' % LOGINWINDOW)
    assert ok('defaults read %s autoLoginUser' % LOGINWINDOW) == 'admin\n'
    data = base64.b64encode(kcpassword(info['password'])).decode()
    ok('echo %s | base64 -d | sudo tee /etc/kcpassword >/dev/null && sudo chown root:wheel /etc/kcpassword '
       '&& sudo chmod 0600 /etc/kcpassword' % data)
    agent = plistlib.dumps({'Label': AGENT, 'RunAtLoad': True, 'LimitLoadToSessionType': 'Aqua',
                            'ProgramArguments': ['/bin/sh', '-c', 'id -un > /Users/admin/agent.log; '
                                                 'exec sleep 100000']}).decode()
    # what testinfra's file module runs on a Darwin host (BSD stat), as molecule/agent's verifier does
    assert ok('sudo stat -f "%Su %Sg %Lp" /etc/kcpassword') == 'root wheel 600\n'
    ok('mkdir -p ~/Library/LaunchAgents && cat > %s' % AGENT_PLIST, stdin=agent)
    assert ok('stat -f "%%Su %%Lp" %s' % AGENT_PLIST) == 'admin 644\n'
    assert gui_domain_rc() == '113'          # nobody logged in before the reboot
    macsim('reboot', NAME)
    assert loginwindow() == {'user': 'admin', 'logged_in': True, 'reason': 'automatic login of admin',
                             'boot': boot_count()}
    assert gui_domain_rc() == '0'
    pid = wait_for(agent_pid)
    assert ok('ps -o user= -p %s' % pid).strip() == 'admin'
    assert wait_for(lambda: ssh('cat /Users/admin/agent.log').stdout) == 'admin\n'


def test_with_filevault_on_nobody_is_logged_in_after_a_reboot():
    macsim('exec', NAME, '--', 'sh', '-c', 'echo \'{"filevault": true}\' > /var/db/macsim/fdesetup.json')
    assert ok('fdesetup status') == 'FileVault is On.\n'
    macsim('reboot', NAME)
    assert loginwindow() == {'user': 'admin', 'logged_in': False, 'reason': 'FileVault is on',
                             'boot': boot_count()}
    assert gui_domain_rc() == '113'
    assert agent_pid() is None and 'sleep 100000' not in ok('ps -eo args')
