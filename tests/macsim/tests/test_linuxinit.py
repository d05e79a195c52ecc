"""PID 1's Linux mode (`macsim-init --linux`, the debian profile) run as an ordinary process on a
state directory: boot hooks, then /etc/rc2.d/S* start scripts in order, init-boot.json, the
/dev/log syslog, SIGTERM. No root or container needed."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

MACSIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INIT = os.path.join(MACSIM_DIR, 'guest', 'usr', 'local', 'libexec', 'macsim-init')
GUEST_LIB = os.path.join(MACSIM_DIR, 'guest', 'usr', 'local', 'lib', 'macsim')
sys.path.insert(0, GUEST_LIB)

from macsimlib.linuxinit import format_syslog  # noqa: E402


def write_script(path, body, mode=0o755):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('#!/bin/sh\n' + body)
    os.chmod(path, mode)


def start_init(sim, timeout=10):
    """Boot PID 1 in Linux mode on the Sim's state directory; waits for init-boot.json."""
    if sim.run_dir is None:
        sim.run_dir = tempfile.mkdtemp(prefix='msi-')   # AF_UNIX paths are short
    before = sim._boot_count()  # pylint: disable=protected-access
    log = open(os.path.join(sim.root, 'launchd.log'), 'ab')
    sim.init = subprocess.Popen([sys.executable, INIT, '--linux'], env=sim.env(0), stdout=log,
                                stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    end = time.time() + timeout
    while time.time() < end:
        state = sim._json_or_none('init-boot.json')  # pylint: disable=protected-access
        if state and state.get('ready') and state.get('count', 0) > before:
            return state
        if sim.init.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError('init did not boot:\n' + sim.launchd_log())


@pytest.fixture
def linux(sim):
    """A state directory with a boot hook and rc2.d: S01ssh (-> ../init.d/ssh, writes a pid file
    naming a live process: init itself), S02other (exit 3), K01gone and a non-executable S03off."""
    order = os.path.join(sim.root, 'order')
    write_script(sim.root_path('/usr/local/libexec/macsim-boot.d/10-hook'),
                 'echo "hook $MACSIM_BOOT_COUNT" >> %s\n' % order)
    write_script(sim.root_path('/etc/init.d/ssh'),
                 'echo "ssh $1 $RUNLEVEL $PREVLEVEL" >> %s\n'
                 'mkdir -p "$MACSIM_STATE_DIR/root/run" && echo $PPID > "$MACSIM_STATE_DIR/root/run/sshd.pid"\n'
                 % order)
    os.makedirs(sim.root_path('/etc/rc2.d'))
    os.symlink('../init.d/ssh', sim.root_path('/etc/rc2.d/S01ssh'))
    write_script(sim.root_path('/etc/rc2.d/S02other'), 'echo "other $1" >> %s\nexit 3\n' % order)
    write_script(sim.root_path('/etc/rc2.d/K01gone'), 'echo "gone $1" >> %s\n' % order)
    write_script(sim.root_path('/etc/rc2.d/S03off'), 'echo "off $1" >> %s\n' % order, mode=0o644)
    return sim


def read(path):
    with open(path) as f:
        return f.read()


def test_hooks_then_rc2_start_scripts(linux):
    state = start_init(linux)
    # The Sim starts with boot.json count 1: this boot is the second.
    assert read(os.path.join(linux.root, 'order')) == 'hook 2\nssh start 2 N\nother start\n'
    assert state['count'] == 2 and state['ready'] is True
    assert state['rc'] == {'rc2.d/S01ssh': 0, 'rc2.d/S02other': 3}
    assert state['sshd'] is True    # the pid file names a live process (here: init itself)
    assert state['boot_id'] == linux.read_json('boot.json')['boot_id']
    assert not os.path.exists(linux.path('launchd-boot.json'))
    assert not os.path.exists(os.path.join(linux.run_dir, 'macsim-launchd.sock'))   # no launchd
    linux.stop_launchd()
    state = start_init(linux)
    assert state['count'] == 3
    assert read(os.path.join(linux.root, 'order')).endswith('other start\nhook 3\nssh start 2 N\nother start\n')
    linux.stop_launchd()


def test_sshd_false_without_a_running_daemon(linux):
    write_script(linux.root_path('/etc/init.d/ssh'), 'echo "sshd refuses its config" >&2\nexit 0\n')
    state = start_init(linux)
    assert state['sshd'] is False and state['rc']['rc2.d/S01ssh'] == 0
    assert 'sshd is not running' in linux.launchd_log()


def test_syslog_on_dev_log(linux):
    start_init(linux)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        path = os.path.join(linux.run_dir, 'dev-log')
        sock.sendto(b'<38>Nov  8 06:07:51 sshd[8]: Accepted publickey for admin', path)   # auth.info
        sock.sendto(b'<14>Nov 28 06:07:52 app: hello\n', path)                              # user.info
    finally:
        sock.close()
    auth = linux.root_path('/var/log/auth.log')
    end = time.time() + 5
    while not (os.path.exists(auth) and 'hello' in read(linux.root_path('/var/log/syslog'))):
        assert time.time() < end, linux.launchd_log()
        time.sleep(0.05)
    host = socket.gethostname()
    assert read(auth) == 'Nov  8 06:07:51 %s sshd[8]: Accepted publickey for admin\n' % host
    assert read(linux.root_path('/var/log/syslog')) == (
        'Nov  8 06:07:51 %s sshd[8]: Accepted publickey for admin\nNov 28 06:07:52 %s app: hello\n' % (host, host))


def test_sigterm_stops(linux):
    start_init(linux)
    linux.init.send_signal(signal.SIGTERM)
    assert linux.init.wait(timeout=10) == 0
    assert 'macsim-init: stopped' in linux.launchd_log()
    linux.init = None


@pytest.mark.parametrize('data, expected', [
    (b'<86>Jan  2 03:04:05 sudo: pam_unix(sudo:session): session opened\n',
     (10, 'Jan  2 03:04:05 h sudo: pam_unix(sudo:session): session opened\n')),
    (b'no priority', (1, 'Jan  2 03:04:05 h no priority\n')),
])
def test_format_syslog(data, expected, monkeypatch):
    monkeypatch.setenv('TZ', 'UTC')
    time.tzset()
    try:
        assert format_syslog(data, 'h', now=time.mktime((2025, 1, 2, 3, 4, 5, 0, 0, 0))) == expected
    finally:
        monkeypatch.delenv('TZ')
        time.tzset()


def test_no_call_log(linux):
    os.rmdir(os.path.join(linux.root, 'log'))
    start_init(linux)
    assert not os.path.exists(os.path.join(linux.root, 'log'))   # no stand-ins, no call log
