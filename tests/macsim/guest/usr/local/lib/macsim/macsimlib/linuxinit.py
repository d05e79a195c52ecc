"""PID 1's Linux mode (test fixture; the `debian` profile: a plain Debian 12 server, no Mac).

Instead of launchd, `macsim-init --linux` starts services the sysvinit way and leaves them alone:
  * first it mounts a sysfs of its own on /sys (read-only, like systemd-nspawn's): nspawn mounted
    its /sys before entering the instance's network namespace, so /sys/class/net listed the
    controller's interfaces (and Ansible's Linux network facts with them); now lo and en0;
  * after the boot hooks, Debian's runlevel 2 start scripts, /etc/rc2.d/S* in name order, each
    run as `SCRIPT start` with RUNLEVEL=2 PREVLEVEL=N (like sysv-rc; rcS.d, hardware set-up, is
    skipped: this is a container). openssh-server's S01ssh starts sshd as a daemon (its pid in
    /run/sshd.pid), so `service ssh restart` / `/etc/init.d/ssh restart` really restart it;
    `update-rc.d ssh disable` keeps it off after a reboot;
  * a minimal syslog on /dev/log, as rsyslog's default rules: every message to /var/log/syslog,
    auth/authpriv ones also to /var/log/auth.log (sshd's `Accepted publickey`, `Failed password`);
    each message is echoed to the console too;
  * once the scripts have run, /var/db/macsim/init-boot.json: {"boot_id", "count", "ready",
    "rc": {script: exit status}, "sshd": sshd runs (its pid file names a live process)}: what
    `macsim up/reboot` waits for (and then for SSH only when "sshd" is true).
Nothing is supervised: a daemon that dies stays dead, as under sysvinit.
"""

import os
import re
import socket
import subprocess
import sys
import time

from macsimlib.launchd import write_json

RC_DIR = '/etc/rc2.d'
RUNLEVEL = '2'
BOOT_STATE = 'init-boot.json'
SSHD_PIDFILE = '/run/sshd.pid'
SSHD_WAIT = 3
SYSLOG_SOCKET = '/dev/log'
SYSLOG_FILE = '/var/log/syslog'
AUTH_LOG_FILE = '/var/log/auth.log'
AUTH_FACILITIES = (4, 10)    # auth, authpriv
LINUX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
TIMESTAMP_RE = re.compile(r'^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} ')
PRI_RE = re.compile(r'^<([0-9]{1,3})>')


def pid_running(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rindex(')') + 2:].split()[0] not in ('Z', 'X')


def format_syslog(data, hostname, now=None):
    """(facility, line) of one datagram as glibc's syslog() sends it, laid out like rsyslog."""
    text = data.decode('utf-8', 'replace').rstrip('\n\0')
    facility = 1   # user
    m = PRI_RE.match(text)
    if m:
        facility = int(m.group(1)) >> 3
        text = text[m.end():]
    if TIMESTAMP_RE.match(text):
        stamp, text = text[:15], text[16:]
    else:
        stamp = time.strftime('%b %d %H:%M:%S', time.localtime(now))
        if stamp[4] == '0':
            stamp = stamp[:4] + ' ' + stamp[5:]
    return facility, '%s %s %s\n' % (stamp, hostname, text)


class LinuxInit(object):
    """The part of PID 1 that a plain Linux system has instead of launchd (same interface)."""

    def __init__(self, paths, log=None):
        self.paths = paths
        self.testing = paths.testing
        self.log = log or (lambda msg: None)
        self.syslog = None
        self.hostname = socket.gethostname()

    # -- setup -----------------------------------------------------------------------------------
    def open(self):
        os.makedirs(self.paths.state_dir, exist_ok=True)
        if not self.testing:
            self._mount_sys()
        self._open_syslog()

    def _mount_sys(self):
        # private first: the new mount must not propagate to nspawn's (or the controller's) view
        for argv in (['mount', '--make-private', '/sys'],
                     ['mount', '-t', 'sysfs', '-o', 'ro,nosuid,nodev,noexec', 'sysfs', '/sys']):
            res = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, universal_newlines=True, check=False)
            if res.returncode != 0:
                self.log('%s: %s' % (' '.join(argv), res.stdout.strip()))
                return

    def syslog_path(self):
        if self.testing:
            return os.path.join(self.paths.run_dir, 'dev-log')
        return SYSLOG_SOCKET

    def _open_syslog(self):
        path = self.syslog_path()
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.lexists(path):
                os.unlink(path)     # systemd-nspawn links /dev/log to journald's socket
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            os.chmod(path, 0o666)
            sock.setblocking(False)
        except OSError as e:
            self.log('syslog: cannot listen on %s: %s' % (path, e))
            return
        self.syslog = sock

    # -- boot ------------------------------------------------------------------------------------
    def boot_steps(self):
        """[(name, argv, env)] of the runlevel's start scripts, in the order sysv-rc runs them."""
        directory = self.paths.root_path(RC_DIR)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            names = []
        env = dict(os.environ, PATH=LINUX_PATH, RUNLEVEL=RUNLEVEL, PREVLEVEL='N')
        steps = []
        for name in names:
            path = os.path.join(directory, name)
            if not name.startswith('S') or not os.path.isfile(path) or not os.access(path, os.X_OK):
                continue
            steps.append(('rc%s.d/%s' % (RUNLEVEL, name), [path, 'start'], env))
        return steps

    def sshd_pid(self):
        try:
            with open(self.paths.root_path(SSHD_PIDFILE)) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_running(pid) else None

    def wait_sshd(self, results):
        """sshd's pid once it runs. Debian's start script exits 0 even when sshd refuses its
        config, and sshd writes its pid file only after daemonizing, so after an ssh start script
        the pid file gets SSHD_WAIT seconds to appear (the daemon is not running otherwise)."""
        end = time.time() + (SSHD_WAIT if any(n.endswith('ssh') for n in results) else 0)
        while True:
            pid = self.sshd_pid()
            if pid is not None or time.time() >= end:
                return pid
            time.sleep(0.05)

    def write_boot_state(self, boot, results):
        pid = self.wait_sshd(results)
        if pid is None:
            self.log('sshd is not running')
        write_json(self.paths.state(BOOT_STATE), {
            'boot_id': boot.get('boot_id'), 'count': boot.get('count'), 'ready': True,
            'rc': results, 'sshd': pid is not None})

    # -- main loop ---------------------------------------------------------------------------------
    def fds(self):
        return [self.syslog] if self.syslog is not None else []

    def timeout(self):
        return None

    def run_timers(self):
        pass

    def on_readable(self, sock):
        if sock is not self.syslog:
            return
        while True:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.log('syslog: %s' % e)
                return
            self._write_syslog(data)

    def _write_syslog(self, data):
        facility, line = format_syslog(data, self.hostname)
        files = [SYSLOG_FILE] + ([AUTH_LOG_FILE] if facility in AUTH_FACILITIES else [])
        for name in files:
            path = self.paths.root_path(name)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(fd, line.encode('utf-8', 'replace'))
                finally:
                    os.close(fd)
            except OSError as e:
                self.log('syslog: cannot write %s: %s' % (path, e))
        sys.stderr.write(line)
        sys.stderr.flush()

    def child_exited(self, pid, status):
        return False   # the daemons are not ours to watch: PID 1 only reaps them

    def stop_all(self):
        if self.syslog is not None:
            self.syslog.close()
            self.syslog = None

    def own_pids(self):
        return []
