"""The simulated launchd (test fixture; never shipped in the collection).

PID 1 of an instance (/usr/local/libexec/macsim-init) owns a `Launchd`: the domains (`system`,
`gui/<uid>` after a simulated GUI login, `user/<uid>` on demand), the loaded jobs with their
processes, the persistent enable/disable overrides, and a control socket through which the
`launchctl` stand-in (and `macsim-session`) talk to it. The texts `launchctl` prints are made here,
from shared/reference/macos-formats.md section 4 and the captures cited next to them. Anything
not backed by a source is marked INVENTED: modules must not depend on it.

Semantics (see tests/macsim/README.md for the user-facing summary):
  * boot: every /System/Library/LaunchDaemons/*.plist and /Library/LaunchDaemons/*.plist that is
    not disabled (override first, else the plist's Disabled key) is loaded into `system`; those
    with RunAtLoad, KeepAlive true or a KeepAlive SuccessfulExit condition are started. Nothing
    else is loaded: a job bootstrapped by hand from another path is gone after a reboot.
  * LaunchAgents (/Library/LaunchAgents, ~/Library/LaunchAgents) are loaded into `gui/<uid>` only
    at a simulated GUI login; `gui/<uid>` does not exist before (bootstrap: error 5). A login is
    `macsim login` (macsim-session) or loginwindow's automatic login at boot
    (macsimlib/loginwindow.py: autoLoginUser, FileVault off, a matching /etc/kcpassword).
  * processes: ProgramArguments/Program, UserName/GroupName (system domain only; default group is
    the user's primary group, supplementary groups as initgroups), EnvironmentVariables,
    WorkingDirectory, StandardInPath/StandardOutPath/StandardErrorPath (opened as the job's user,
    appending), Umask. A spawn that fails (no program, log file not creatable, bad directory,
    unknown user) ends like launchd's own failure: last exit code 78: EX_CONFIG.
  * KeepAlive true (restart on any exit) or a dict with SuccessfulExit / Crashed; a restart waits
    until ThrottleInterval (default 10) seconds after the previous start ("spawn scheduled").
  * Sockets + inetdCompatibility (com.openssh.sshd): launchd listens and spawns one instance per
    connection with the connection as stdin/stdout. Other Sockets jobs: not simulated.
  * bootout is asynchronous, as on a real Mac (reference: provisioning 8.2): SIGTERM to the job's
    process group, SIGKILL after ExitTimeOut (default 5). launchctl answers 0 once the process has
    exited and the job has left the domain; a process still running BOOTOUT_ANSWER seconds after
    the bootout (INVENTED timing) gets `Boot-out failed: 36: Operation now in progress` instead,
    and the job stays listed (`print` finds it, a bootstrap of it fails with 5) until the process
    is gone. A bootout while one is under way answers the same way and does not restart the
    ExitTimeOut clock.
  * kickstart -k: SIGKILL to the job's process group and a start again; the reply waits for the
    restart. For an inetd job (com.openssh.sshd) it SIGKILLs every running instance (every open
    SSH session; INVENTED: believed, not captured) and starts nothing.
  * overrides persist in /var/db/macsim/launchd-overrides.json; the loaded set does not persist.
"""

import errno
import json
import os
import plistlib
import signal
import socket
import struct
import sys
import time

from macsimlib import loginwindow
from macsimlib.users import UserDB

SOCKET_NAME = 'macsim-launchd.sock'
CONSOLE_NAME = 'macsim-console.json'     # the GUI-logged-in user, for brew's domain choice
OVERRIDES = 'launchd-overrides.json'
BOOT_STATE = 'launchd-boot.json'
DEFAULT_PATH = '/usr/bin:/bin:/usr/sbin:/sbin'
DAEMON_DIRS = ('/System/Library/LaunchDaemons', '/Library/LaunchDaemons')
AGENT_DIRS = ('/Library/LaunchAgents',)
SSHD_LABEL = 'com.openssh.sshd'
# Like a Mac with Remote Login turned on: the override that enables the (Disabled) ssh.plist.
INITIAL_OVERRIDES = {'system': {SSHD_LABEL: 'enabled'}}
DEFAULT_THROTTLE = 10
DEFAULT_EXIT_TIMEOUT = 5
BOOTOUT_ANSWER = 0.5             # INVENTED: how long launchctl bootout waits before answering 36
NOT_FOUND_RC = 113
IN_PROGRESS = (36, 'Operation now in progress')
BOOTSTRAP_FAILED = 'Bootstrap failed: %d: %s'
ROOT_HINT = 'Try re-running the command as root for richer errors.'
SERVICES = {'ssh': 22, 'http': 80, 'https': 443}

SYSEXITS = {64: 'EX_USAGE', 65: 'EX_DATAERR', 66: 'EX_NOINPUT', 67: 'EX_NOUSER', 68: 'EX_NOHOST',
            69: 'EX_UNAVAILABLE', 70: 'EX_SOFTWARE', 71: 'EX_OSERR', 72: 'EX_OSFILE',
            73: 'EX_CANTCREAT', 74: 'EX_IOERR', 75: 'EX_TEMPFAIL', 76: 'EX_PROTOCOL',
            77: 'EX_NOPERM', 78: 'EX_CONFIG'}

# Darwin's strsignal() texts and numbers, keyed by the Linux signal the process really got.
_DARWIN_SIGNALS = [
    ('SIGHUP', 1, 'Hangup'), ('SIGINT', 2, 'Interrupt'), ('SIGQUIT', 3, 'Quit'),
    ('SIGILL', 4, 'Illegal instruction'), ('SIGTRAP', 5, 'Trace/BPT trap'),
    ('SIGABRT', 6, 'Abort trap'), ('SIGFPE', 8, 'Floating point exception'),
    ('SIGKILL', 9, 'Killed'), ('SIGBUS', 10, 'Bus error'), ('SIGSEGV', 11, 'Segmentation fault'),
    ('SIGSYS', 12, 'Bad system call'), ('SIGPIPE', 13, 'Broken pipe'),
    ('SIGALRM', 14, 'Alarm clock'), ('SIGTERM', 15, 'Terminated'),
    ('SIGURG', 16, 'Urgent I/O condition'), ('SIGSTOP', 17, 'Suspended (signal)'),
    ('SIGTSTP', 18, 'Suspended'), ('SIGCONT', 19, 'Continued'), ('SIGCHLD', 20, 'Child exited'),
    ('SIGTTIN', 21, 'Stopped (tty input)'), ('SIGTTOU', 22, 'Stopped (tty output)'),
    ('SIGIO', 23, 'I/O possible'), ('SIGXCPU', 24, 'Cputime limit exceeded'),
    ('SIGXFSZ', 25, 'Filesize limit exceeded'), ('SIGVTALRM', 26, 'Virtual timer expired'),
    ('SIGPROF', 27, 'Profiling timer expired'), ('SIGWINCH', 28, 'Window size changes'),
    ('SIGUSR1', 30, 'User defined signal 1'), ('SIGUSR2', 31, 'User defined signal 2'),
]
DARWIN_SIGNALS = {}
for _name, _number, _text in _DARWIN_SIGNALS:
    if hasattr(signal, _name):
        DARWIN_SIGNALS[int(getattr(signal, _name))] = (_number, _text)


def darwin_signal(linux_signum):
    """(number, text) as macOS would name the signal."""
    return DARWIN_SIGNALS.get(linux_signum, (linux_signum, 'Unknown signal: %d' % linux_signum))


def exit_code_text(code):
    """`78: EX_CONFIG` for the sysexits codes, else the number."""
    if code in SYSEXITS:
        return '%d: %s' % (code, SYSEXITS[code])
    return str(code)


# ---- where things live ---------------------------------------------------------------------------

class Paths(object):
    """Instance paths, or the same tree under $MACSIM_STATE_DIR in unit tests."""

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.testing = bool(env.get('MACSIM_STATE_DIR'))
        if self.testing:
            self.state_dir = env['MACSIM_STATE_DIR']
            self.root = os.path.join(self.state_dir, 'root')
            self.run_dir = env.get('MACSIM_RUN_DIR') or os.path.join(self.state_dir, 'run')
        else:
            self.state_dir = '/var/db/macsim'
            self.root = '/'
            self.run_dir = '/var/run'
        self.socket = os.path.join(self.run_dir, SOCKET_NAME)
        self.console = os.path.join(self.run_dir, CONSOLE_NAME)

    def root_path(self, path):
        if not self.testing:
            return path
        return os.path.join(self.root, path.lstrip('/'))

    def state(self, name):
        return os.path.join(self.state_dir, name)


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def write_json(path, data, mode=0o644):
    tmp = '%s.tmp.%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write('\n')
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def console_user(paths):
    """{'user': name, 'uid': n} of the simulated GUI login, or None (loginwindow: nobody)."""
    return read_json(paths.console, None)


# ---- targets -------------------------------------------------------------------------------------

class TargetError(Exception):
    def __init__(self, message, rc=64):
        Exception.__init__(self, message)
        self.message, self.rc = message, rc


class Target(object):
    __slots__ = ('kind', 'uid', 'label')

    def __init__(self, kind, uid=None, label=None):
        self.kind, self.uid, self.label = kind, uid, label

    @property
    def domain(self):
        return 'system' if self.kind == 'system' else '%s/%d' % (self.kind, self.uid)

    def __str__(self):
        return self.domain + ('/' + self.label if self.label else '')


def parse_target(text):
    """`system[/label]`, `gui/<uid>[/label]`, `user/<uid>[/label]`."""
    parts = text.split('/', 2) if text else ['']
    kind = parts[0]
    if kind == 'system':
        label = '/'.join(parts[1:]) or None
        return Target('system', 0, label)
    if kind in ('gui', 'user'):
        if len(parts) < 2 or not parts[1].isdigit():
            raise TargetError('Unrecognized target specifier.')
        return Target(kind, int(parts[1]), parts[2] if len(parts) > 2 and parts[2] else None)
    if kind in ('login', 'pid', 'session'):
        raise TargetError('macsim: launchctl %s/... domains are not simulated' % kind, rc=2)
    raise TargetError('Unrecognized target specifier.')


def domain_description(domain_name):
    """The tail of `Could not find service "X" in domain for ...`."""
    if domain_name == 'system':
        return 'system'                          # REAL (reference 4.2)
    kind, uid = domain_name.split('/')
    if kind == 'gui':
        return 'user gui: %s' % uid              # REAL (reference 4.2)
    return 'user: %s' % uid                      # INVENTED for user/<uid>


# ---- job definitions -----------------------------------------------------------------------------

class LoadError(Exception):
    def __init__(self, code, text, detail=''):
        Exception.__init__(self, '%d: %s' % (code, text))
        self.code, self.text, self.detail = code, text, detail


EIO = (5, 'Input/output error')


def read_definition(path):
    """The job dict of a plist file, or LoadError."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        # INVENTED (believed): a missing file gives errno 2.
        raise LoadError(2, 'No such file or directory', 'no such file')
    except OSError as e:
        raise LoadError(5, 'Input/output error', str(e))
    try:
        plist = plistlib.loads(data)
    except Exception as e:  # plistlib raises several types
        raise LoadError(5, 'Input/output error', 'not a property list: %s' % e)  # INVENTED code
    if not isinstance(plist, dict):
        raise LoadError(5, 'Input/output error', 'not a dictionary')
    label = plist.get('Label')
    if not isinstance(label, str) or not label:
        raise LoadError(5, 'Input/output error', 'no Label')
    args = plist.get('ProgramArguments')
    if args is not None and (not isinstance(args, list) or not all(isinstance(a, str) for a in args)):
        raise LoadError(5, 'Input/output error', 'ProgramArguments is not a list of strings')
    if not plist.get('Program') and not args and not plist.get('inetdCompatibility'):
        raise LoadError(5, 'Input/output error', 'no Program or ProgramArguments')
    env = plist.get('EnvironmentVariables')
    if env is not None and not isinstance(env, dict):
        raise LoadError(5, 'Input/output error', 'EnvironmentVariables is not a dictionary')
    return plist


def check_file_ownership(path, domain_uid, testing):
    """launchd refuses plists writable by group/others, or owned by someone else (INVENTED
    detail: the exact rule; macOS logs "Path had bad ownership/permissions")."""
    try:
        st = os.stat(path)
    except OSError:
        return
    if st.st_mode & 0o022:
        raise LoadError(5, 'Input/output error', 'bad permissions %o' % (st.st_mode & 0o777))
    if not testing and st.st_uid not in (0, domain_uid):
        raise LoadError(5, 'Input/output error', 'bad owner uid %d' % st.st_uid)


def runs_at_load(plist):
    keep_alive = plist.get('KeepAlive')
    return (plist.get('RunAtLoad') is True or keep_alive is True
            or (isinstance(keep_alive, dict) and 'SuccessfulExit' in keep_alive))


def keepalive_wants_restart(plist, how):
    """After an exit `how` (('exit', code) or ('signal', n)), does KeepAlive start it again?"""
    keep_alive = plist.get('KeepAlive')
    if keep_alive is True:
        return True
    if isinstance(keep_alive, dict):
        clean = how == ('exit', 0)
        if 'SuccessfulExit' in keep_alive and bool(keep_alive['SuccessfulExit']) == clean:
            return True
        if 'Crashed' in keep_alive and bool(keep_alive['Crashed']) == (how[0] == 'signal'):
            return True
    return False


def _int_key(plist, key, default):
    value = plist.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


# ---- the model -----------------------------------------------------------------------------------

class Domain(object):
    def __init__(self, name, kind, uid, asid=None):
        self.name, self.kind, self.uid, self.asid = name, kind, uid, asid
        self.jobs = {}

    @property
    def session_type(self):
        return {'system': 'System', 'gui': 'Aqua', 'user': 'Background'}[self.kind]


class Job(object):
    _coalition = 1000

    def __init__(self, domain, path, plist):
        self.domain = domain
        self.path = path
        self.plist = plist
        self.label = plist['Label']
        self.pid = None
        self.runs = 0
        self.last = None              # ('exit', code) | ('signal', linux signum)
        self.started_at = None
        self.spawn_at = None          # a scheduled (throttled) start
        self.stopping = None          # 'bootout' | 'restart'
        self.kill_at = None
        self.waiters = []             # (client, callback) replied when the process is gone
        self.listeners = []           # inetd listening sockets
        self.instances = set()
        self.reason = None
        self.coalition = None

    # -- definition ------------------------------------------------------------------------------
    @property
    def target(self):
        return '%s/%s' % (self.domain.name, self.label)

    @property
    def arguments(self):
        args = self.plist.get('ProgramArguments')
        if args:
            return list(args)
        return [self.plist['Program']] if self.plist.get('Program') else []

    @property
    def program(self):
        return self.plist.get('Program') or (self.arguments[0] if self.arguments else '')

    @property
    def throttle(self):
        return _int_key(self.plist, 'ThrottleInterval', DEFAULT_THROTTLE)

    @property
    def exit_timeout(self):
        return _int_key(self.plist, 'ExitTimeOut', DEFAULT_EXIT_TIMEOUT)

    @property
    def inetd(self):
        return isinstance(self.plist.get('inetdCompatibility'), dict) and bool(self.plist.get('Sockets'))

    @property
    def job_type(self):
        return 'LaunchDaemon' if self.domain.kind == 'system' else 'LaunchAgent'

    @property
    def state(self):
        if self.pid is not None:
            return 'running'
        if self.spawn_at is not None:
            return 'spawn scheduled'
        return 'not running'


class Reply(object):
    __slots__ = ('rc', 'out', 'err', 'kind')

    def __init__(self, rc=0, out='', err='', kind='read'):
        self.rc, self.out, self.err, self.kind = rc, out, err, kind

    def as_dict(self):
        return {'rc': self.rc, 'out': self.out, 'err': self.err, 'kind': self.kind}


DEFERRED = object()


def lines(*items):
    return ''.join(item + '\n' for item in items)


def not_found(label, domain_name):
    # REAL (reference 4.2): stderr, exit 113.
    return Reply(NOT_FOUND_RC, err=lines('Bad request.', 'Could not find service "%s" in domain for %s'
                                         % (label, domain_description(domain_name))))


# ---- formats -------------------------------------------------------------------------------------

def _spawn_type(plist, domain_kind):
    kind = plist.get('POSIXSpawnType') or plist.get('ProcessType')
    # 'daemon (3)' and 'background (5)' are REAL (reference 4.1); 'interactive (4)' is REAL for
    # com.openssh.sshd (a capture of `launchctl print system/com.openssh.sshd`).
    return {'Interactive': 'interactive (4)', 'Background': 'background (5)',
            'Adaptive': 'adaptive (6)'}.get(kind, 'daemon (3)')


def format_job(job, user=None):
    """`launchctl print DOMAIN/LABEL`: the layout of the real captures in reference 4.1 and of a
    real `print system/com.openssh.sshd` (state, sockets block). Lines a capture did not show in
    that position (working directory, username, group, coalition IDs) are INVENTED."""
    plist = job.plist
    running = job.pid is not None
    out = ['%s = {' % job.target,
           '\tactive count = %d' % (1 if running else len(job.instances)),
           '\tpath = %s' % job.path,
           '\ttype = %s' % job.job_type,
           '\tstate = %s' % job.state,
           '',
           '\tprogram = %s' % job.program,
           '\targuments = {']
    out += ['\t\t%s' % arg for arg in job.arguments]
    out += ['\t}', '']
    if plist.get('WorkingDirectory'):
        out += ['\tworking directory = %s' % plist['WorkingDirectory'], '']
    for key, name in (('StandardInPath', 'stdin path'), ('StandardOutPath', 'stdout path'),
                      ('StandardErrorPath', 'stderr path')):
        if plist.get(key):
            out.append('\t%s = %s' % (name, plist[key]))
    out += ['\tdefault environment = {', '\t\tPATH => %s' % DEFAULT_PATH, '\t}', '',
            '\tenvironment = {']
    for key, value in (plist.get('EnvironmentVariables') or {}).items():
        out.append('\t\t%s => %s' % (key, value))
    out += ['\t\tOSLogRateLimit => 64', '\t\tXPC_SERVICE_NAME => %s' % job.label, '\t}', '']
    domain = job.domain
    if domain.kind == 'gui':
        out += ['\tdomain = %s [%d]' % (domain.name, domain.asid), '\tasid = %d' % domain.asid]
    else:
        out.append('\tdomain = %s' % domain.name)
    if domain.kind == 'system' and plist.get('UserName'):
        out.append('\tusername = %s' % plist['UserName'])
    if domain.kind == 'system' and plist.get('GroupName'):
        out.append('\tgroup = %s' % plist['GroupName'])
    out += ['\tminimum runtime = %d' % job.throttle,
            '\texit timeout = %d' % job.exit_timeout,
            '\truns = %d' % job.runs]
    if running:
        out += ['\tpid = %d' % job.pid,
                '\timmediate reason = %s' % (job.reason or 'speculative'),
                '\tforks = 0', '\texecs = 1', '\tinitialized = 1', '\ttrampolined = 1',
                '\tstarted suspended = 0', '\tproxy started suspended = 0']
    # A terminating signal replaces the exit code line (REAL: a running agent's capture shows
    # `last terminating signal = Terminated: 15` and no `last exit code`).
    if job.last is None:
        out.append('\tlast exit code = (never exited)')
    elif job.last[0] == 'signal':
        number, text = darwin_signal(job.last[1])
        out.append('\tlast terminating signal = %s: %d' % (text, number))
    else:
        out.append('\tlast exit code = %s' % exit_code_text(job.last[1]))
    out.append('')
    if job.listeners or job.inetd:
        out += ['\tsockets = {']
        for name in sorted((plist.get('Sockets') or {}).keys()):
            spec = _socket_specs(plist['Sockets'][name])
            service = spec[0].get('SockServiceName', '') if spec else ''
            out += ['\t\t"%s" = {' % name, '\t\t\ttype = stream', '\t\t\tservice name = %s' % service, '',
                    '\t\t\tsockets = {']
            out += ['\t\t\t\t%d (no bytes to read)' % s.fileno() for s in job.listeners if s.fileno() >= 0]
            out += ['\t\t\t}', '', '\t\t\tactive = %d' % len(job.instances), '\t\t\tpassive = 1',
                    '\t\t\tbonjour = %d' % (1 if spec and spec[0].get('Bonjour') else 0),
                    '\t\t\tipv4v6 = 0', '\t\t\treceive_packet_info = 0', '\t\t}']
        out += ['\t}', '']
    if running:
        for kind, offset in (('resource', 0), ('jetsam', 1)):
            out += ['\t%s coalition = {' % kind, '\t\tID = %d' % (job.coalition + offset),
                    '\t\ttype = %s' % kind, '\t\tstate = active', '\t\tactive count = 1',
                    '\t\tname = %s' % job.label, '\t}', '']
    out.append('\tspawn type = %s' % _spawn_type(plist, domain.kind))
    props = []
    if plist.get('KeepAlive'):
        props.append('keepalive')
    if plist.get('RunAtLoad'):
        props.append('runatload')
    if not plist.get('Program'):
        props.append('inferred program')
    if job.inetd:
        props.append('inetd-compatible')
    if plist.get('AbandonProcessGroup'):
        props.append('abandon process group')
    if props:
        out += ['', '\tproperties = %s' % ' | '.join(props)]
    out.append('}')
    return '\n'.join(out) + '\n'


def format_domain(domain, overrides):
    """`launchctl print DOMAIN`. INVENTED layout beyond the header (only fragments are known)."""
    jobs = sorted(domain.jobs.values(), key=lambda j: j.label)
    active = [j for j in jobs if j.pid is not None or j.instances]
    out = ['%s = {' % domain.name, '\ttype = %s' % {'system': 'system', 'gui': 'login', 'user': 'per-user'}[domain.kind],
           '\thandle = %d' % (domain.asid or domain.uid or 0),
           '\tactive count = %d' % len(active), '\tservice count = %d' % len(jobs),
           '\tactive service count = %d' % len(active), '', '\tservices = {']
    for job in jobs:
        status = '-'
        if job.last is not None:
            status = str(list_status(job))
        out.append('\t\t%8d %8s \t%s' % (job.pid or 0, status, job.label))
    out += ['\t}', '', '\tdisabled services = {']
    for label in sorted(overrides):
        out.append('\t\t"%s" => %s' % (label, overrides[label]))
    out += ['\t}', '}']
    return '\n'.join(out) + '\n'


def format_disabled(overrides):
    """`launchctl print-disabled DOMAIN`. The entry lines are REAL (reference 4.3); the block
    around them is as in public fixtures (`disabled services = {` ... `}`)."""
    out = ['disabled services = {']
    for label in sorted(overrides):
        out.append('\t"%s" => %s' % (label, overrides[label]))
    out.append('}')
    return '\n'.join(out) + '\n'


def list_status(job):
    """The Status column of `launchctl list`: the exit code, or minus the (Darwin) signal."""
    if job.last is None:
        return 0
    if job.last[0] == 'signal':
        return -darwin_signal(job.last[1])[0]
    return job.last[1]


def wait_status(job):
    """`"LastExitStatus"` of `launchctl list LABEL`: a raw wait(2) status (exit 1 -> 256;
    public parsers of real output decode it so)."""
    if job.last is None:
        return 0
    if job.last[0] == 'signal':
        return darwin_signal(job.last[1])[0]
    return (job.last[1] & 0xff) << 8


def format_list(jobs):
    """`launchctl list`: `PID\\tStatus\\tLabel` (REAL header, tab-separated, `-` for no pid)."""
    out = ['PID\tStatus\tLabel']
    for job in sorted(jobs, key=lambda j: j.label):
        out.append('%s\t%d\t%s' % (job.pid if job.pid is not None else '-', list_status(job), job.label))
    return '\n'.join(out) + '\n'


def _quote(value):
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"')


def format_list_label(job):
    """`launchctl list LABEL`: the plist-ish dict of reference 4.3 (key order as in the sample)."""
    out = ['{',
           '\t"LimitLoadToSessionType" = %s;' % _quote(job.domain.session_type),
           '\t"Label" = %s;' % _quote(job.label),
           '\t"OnDemand" = %s;' % ('false' if job.plist.get('KeepAlive') else 'true'),
           '\t"LastExitStatus" = %d;' % wait_status(job)]
    if job.pid is not None:
        out.append('\t"PID" = %d;' % job.pid)
    out.append('\t"Program" = %s;' % _quote(job.program))
    if job.arguments:
        out.append('\t"ProgramArguments" = (')
        out += ['\t\t%s;' % _quote(arg) for arg in job.arguments]
        out.append('\t);')
    out.append('};')
    return '\n'.join(out) + '\n'


# INVENTED: launchctl's usage text is longer; the first line is as on macOS.
USAGE = lines(
    'Usage: launchctl <subcommand> ... | help [subcommand]',
    'Many subcommands take a target specifier that refers to a domain or service',
    'within that domain. The available specifier forms are:',
    '',
    'system/[service-name]',
    'user/<uid>/[service-name]',
    'gui/<uid>/[service-name]',
    '',
    'Subcommands simulated by macsim: bootstrap, bootout, enable, disable, kickstart,',
    'print, print-disabled, list, help.')

VERB_USAGE = {
    'bootstrap': 'Usage: launchctl bootstrap <domain-target> [service-path, service-path2, ...]',
    'bootout': 'Usage: launchctl bootout <domain-target> [service-path1, service-path2, ...] | <service-target>',
    'enable': 'Usage: launchctl enable <service-target>',
    'disable': 'Usage: launchctl disable <service-target>',
    'kickstart': 'Usage: launchctl kickstart [-kp] <service-target>',
    'print': 'Usage: launchctl print <domain-target> | <service-target>',
    'print-disabled': 'Usage: launchctl print-disabled <domain-target>',
    'list': 'Usage: launchctl list [service-name]',
}
USAGE_RC = 64   # INVENTED: EX_USAGE for usage errors
NOT_SIMULATED = ('load', 'unload', 'start', 'stop', 'remove', 'submit', 'setenv', 'unsetenv', 'getenv',
                 'blame', 'procinfo', 'dumpstate', 'dumpjpcategory', 'reboot', 'asuser', 'bsexec',
                 'attach', 'debug', 'kill', 'limit', 'config', 'manageruid', 'managerpid',
                 'managername', 'hostinfo', 'resolveport', 'examine', 'userswitch', 'uncache',
                 'print-cache', 'enable-launchd-log', 'error', 'variant', 'version', 'runstats',
                 'bootshell', 'plist', 'shutdown', 'dumpjpcategory')


def usage(verb=None):
    text = VERB_USAGE.get(verb)
    return Reply(USAGE_RC, err=lines(text) if text else USAGE, kind='error')


# ---- the server ----------------------------------------------------------------------------------

class Client(object):
    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer          # (pid, uid, gid) from SO_PEERCRED
        self.buf = b''

    def send(self, reply):
        data = (json.dumps(reply.as_dict()) + '\n').encode('utf-8')
        try:
            self.sock.setblocking(True)
            self.sock.settimeout(5)
            self.sock.sendall(data)
        except OSError:
            pass
        finally:
            try:
                self.sock.close()
            except OSError:
                pass


class Launchd(object):
    """Domains, jobs, processes, overrides and the control socket of the simulated launchd."""

    def __init__(self, paths=None, log=None):
        self.paths = paths or Paths()
        self.testing = self.paths.testing
        self.users = UserDB(self.paths.root if self.testing else None)
        self.log = log or (lambda msg: None)
        self.domains = {'system': Domain('system', 'system', 0)}
        self.overrides = {}
        self.server = None
        self.clients = {}
        self.pids = {}            # pid -> (job, 'main'|'instance')
        self.next_asid = 100005
        self.is_root = os.geteuid() == 0
        self.devnull = None
        self.timers = []          # [when, callback]: deferred replies (bootout's 36), loginwindow

    # -- setup -----------------------------------------------------------------------------------
    def open(self):
        os.makedirs(self.paths.run_dir, exist_ok=True)
        os.makedirs(self.paths.state_dir, exist_ok=True)
        for stale in (self.paths.socket, self.paths.console):
            if os.path.lexists(stale):
                os.unlink(stale)
        self.overrides = self._load_overrides()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.paths.socket)
        os.chmod(self.paths.socket, 0o666)   # everyone may ask; writes are checked per caller
        server.listen(64)
        server.setblocking(False)
        self.server = server

    def _load_overrides(self):
        path = self.paths.state(OVERRIDES)
        data = read_json(path, None)
        if not isinstance(data, dict):
            data = json.loads(json.dumps(INITIAL_OVERRIDES))
            write_json(path, data)
        return data

    def _save_overrides(self):
        write_json(self.paths.state(OVERRIDES), self.overrides)

    def override(self, domain_name, label):
        """'enabled' | 'disabled' | None."""
        return (self.overrides.get(domain_name) or {}).get(label)

    def is_disabled(self, domain_name, plist):
        value = self.override(domain_name, plist.get('Label'))
        if value is not None:
            return value == 'disabled'
        return plist.get('Disabled') is True

    # -- boot and login ----------------------------------------------------------------------------
    def plists_in(self, directory):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return []
        return [os.path.join(directory, n) for n in names if n.endswith('.plist') and not n.startswith('.')]

    def load_directory_jobs(self, domain, directories):
        loaded = []
        for directory in directories:
            for path in self.plists_in(directory):
                try:
                    plist = read_definition(path)
                    check_file_ownership(path, domain.uid, self.testing)
                except LoadError as e:
                    self.log('%s: not loaded: %s (%s)' % (path, e, e.detail))
                    continue
                if self.is_disabled(domain.name, plist):
                    continue
                if plist['Label'] in domain.jobs:
                    self.log('%s: not loaded: %s is already loaded' % (path, plist['Label']))
                    continue
                self._load(domain, path, plist)
                loaded.append(plist['Label'])
        return loaded

    def load_boot_jobs(self):
        dirs = [self.paths.root_path(d) for d in DAEMON_DIRS]
        loaded = self.load_directory_jobs(self.domains['system'], dirs)
        self.log('loaded %d system job(s): %s' % (len(loaded), ', '.join(loaded) or '-'))
        return loaded

    def login(self, user):
        name = 'gui/%d' % user.uid
        if name in self.domains:
            return Reply(0, out=json.dumps({'user': user.name, 'uid': user.uid, 'domain': name,
                                            'created': False, 'loaded': []}) + '\n', kind='write')
        domain = Domain(name, 'gui', user.uid, asid=self.next_asid)
        self.next_asid += 1
        self.domains[name] = domain
        write_json(self.paths.console, {'user': user.name, 'uid': user.uid})
        dirs = [self.paths.root_path(d) for d in AGENT_DIRS] + [os.path.join(user.home, 'Library/LaunchAgents')]
        loaded = self.load_directory_jobs(domain, dirs)
        self.log('login %s: %s loaded %s' % (user.name, name, ', '.join(loaded) or '-'))
        return Reply(0, out=json.dumps({'user': user.name, 'uid': user.uid, 'domain': name,
                                        'created': True, 'loaded': loaded}) + '\n', kind='write')

    def schedule_loginwindow(self, boot):
        """At boot, once the boot jobs are loaded: loginwindow decides about automatic login
        loginwindow.DELAY seconds later (INVENTED timing; unit tests may set
        MACSIM_LOGINWINDOW_DELAY). Until then there is no loginwindow.json."""
        delay = loginwindow.DELAY
        if self.testing and os.environ.get('MACSIM_LOGINWINDOW_DELAY'):
            delay = float(os.environ['MACSIM_LOGINWINDOW_DELAY'])
        try:
            os.unlink(self.paths.state(loginwindow.STATE))   # the previous boot's decision
        except OSError:
            pass
        self.timers.append([time.time() + delay, lambda: self.run_loginwindow(boot)])

    def run_loginwindow(self, boot):
        """loginwindow's decision (macsimlib/loginwindow.py), recorded in loginwindow.json; an
        automatic login is a `login()`: gui/<uid> and the user's LaunchAgents."""
        decision = loginwindow.decide(*loginwindow.gather(self.paths, self.users))
        decision['boot'] = boot.get('count')
        write_json(self.paths.state(loginwindow.STATE), decision)
        self.log('loginwindow: %s' % decision['reason'])
        if decision['logged_in']:
            self.login(self.users.by_name(decision['user']))
        return decision

    def logout(self, user, client):
        name = 'gui/%d' % user.uid
        domain = self.domains.get(name)
        if domain is None:
            return Reply(0, out=json.dumps({'user': user.name, 'domain': name, 'removed': False}) + '\n',
                         kind='write')
        del self.domains[name]
        console = console_user(self.paths)
        if console and console.get('uid') == user.uid and os.path.exists(self.paths.console):
            os.unlink(self.paths.console)
        pending = [job for job in domain.jobs.values() if job.pid is not None]
        for job in list(domain.jobs.values()):
            self._begin_bootout(job)
        reply = Reply(0, out=json.dumps({'user': user.name, 'domain': name, 'removed': True}) + '\n',
                      kind='write')
        if not pending:
            return reply
        state = {'left': len(pending)}

        def done(_job):
            state['left'] -= 1
            if state['left'] == 0:
                client.send(reply)
        for job in pending:
            job.waiters.append(done)
        return DEFERRED

    # -- loading, spawning, stopping -------------------------------------------------------------
    def _load(self, domain, path, plist):
        job = Job(domain, path, plist)
        domain.jobs[job.label] = job
        if job.inetd:
            self._open_listeners(job)
        elif plist.get('Sockets'):
            self.log('%s: Sockets without inetdCompatibility are not simulated' % job.target)
        if runs_at_load(plist) and not job.inetd:
            self._spawn(job, 'speculative')
        return job

    def _open_listeners(self, job):
        for name, specs in sorted((job.plist.get('Sockets') or {}).items()):
            for spec in _socket_specs(specs):
                service = str(spec.get('SockServiceName', ''))
                port = int(service) if service.isdigit() else SERVICES.get(service)
                if port is None:
                    try:
                        port = socket.getservbyname(service, 'tcp')
                    except OSError:
                        self.log('%s: unknown SockServiceName %r' % (job.target, service))
                        continue
                try:
                    job.listeners.append(_listen(spec.get('SockNodeName'), port))
                except OSError as e:
                    self.log('%s: cannot listen on port %d: %s' % (job.target, port, e))

    def _close_listeners(self, job):
        for sock in job.listeners:
            try:
                sock.close()
            except OSError:
                pass
        job.listeners = []

    def _identity(self, job):
        """(user, gid, groups) the job's processes run as; raises LookupError."""
        domain = job.domain
        if domain.kind == 'system':
            name = job.plist.get('UserName') or 'root'
            user = self.users.by_name(name)
            if user is None:
                raise LookupError('no user %s' % name)
            gid = user.gid
            if job.plist.get('GroupName'):
                gid = self.users.group_gid(job.plist['GroupName'])
                if gid is None:
                    raise LookupError('no group %s' % job.plist['GroupName'])
        else:
            user = self.users.by_uid(domain.uid)
            if user is None:
                raise LookupError('no user %d' % domain.uid)
            gid = user.gid
        return user, gid, self.users.groups_of(user)

    def _spawn_spec(self, job):
        user, gid, groups = self._identity(job)
        plist = job.plist
        env = {'PATH': DEFAULT_PATH, 'HOME': user.home, 'USER': user.name, 'LOGNAME': user.name,
               'SHELL': user.shell}
        for key, value in (plist.get('EnvironmentVariables') or {}).items():
            env[str(key)] = str(value)
        env['XPC_SERVICE_NAME'] = job.label
        env['XPC_FLAGS'] = '0x0'
        change_ids = self.is_root and not self.testing
        umask = plist.get('Umask')
        return {
            'program': job.program, 'args': job.arguments or [job.program], 'env': env,
            'uid': user.uid, 'gid': gid, 'groups': groups, 'change_ids': change_ids,
            'cwd': plist.get('WorkingDirectory') or '/',
            'stdin': plist.get('StandardInPath'), 'stdout': plist.get('StandardOutPath'),
            'stderr': plist.get('StandardErrorPath'),
            'umask': umask if isinstance(umask, int) and not isinstance(umask, bool) else 0o022,
        }

    def _spawn(self, job, reason, conn=None):
        """Start the job's program (or one inetd instance on `conn`); returns the pid or None."""
        now = time.time()
        if conn is None:
            job.spawn_at = None
            job.runs += 1
            job.started_at = now
            job.reason = reason
            Job._coalition += 2
            job.coalition = Job._coalition
        try:
            spec = self._spawn_spec(job)
        except LookupError as e:
            self.log('%s: cannot spawn: %s' % (job.target, e))
            if conn is None:
                self._exited(job, ('exit', 78))   # launchd's own EX_CONFIG
            else:
                conn.close()
            return None
        try:
            pid = os.fork()
        except OSError as e:   # EAGAIN, ENOMEM: like launchd's own failure to spawn
            self.log('%s: cannot fork: %s' % (job.target, e))
            if conn is None:
                self._exited(job, ('exit', 78))
            else:
                conn.close()
            return None
        if pid == 0:
            _child(spec, conn.fileno() if conn is not None else None)
        if conn is not None:
            conn.close()
            job.instances.add(pid)
            self.pids[pid] = (job, 'instance')
            return pid
        job.pid = pid
        self.pids[pid] = (job, 'main')
        return pid

    def child_exited(self, pid, status):
        """Called by PID 1's reaper; False when the pid is not a job's."""
        entry = self.pids.pop(pid, None)
        if entry is None:
            return False
        job, role = entry
        if role == 'instance':
            job.instances.discard(pid)
            return True
        if os.WIFSIGNALED(status):
            how = ('signal', os.WTERMSIG(status))
        else:
            how = ('exit', os.WEXITSTATUS(status))
        job.pid = None
        self._exited(job, how)
        return True

    def _exited(self, job, how):
        job.last = how
        job.kill_at = None
        stopping, job.stopping = job.stopping, None
        waiters, job.waiters = job.waiters, []
        if stopping == 'bootout':
            self._unload(job)
        elif stopping == 'restart':
            self._spawn(job, 'non-ipc demand')
        elif job.domain.jobs.get(job.label) is job and keepalive_wants_restart(job.plist, how):
            ran = time.time() - (job.started_at or 0)
            job.spawn_at = time.time() + max(0.0, job.throttle - ran)
        for callback in waiters:
            callback(job)

    def _unload(self, job):
        self._close_listeners(job)
        job.spawn_at = None
        if job.domain.jobs.get(job.label) is job:
            del job.domain.jobs[job.label]

    def _signal(self, job, signum):
        if job.pid is None:
            return
        try:
            os.killpg(job.pid, signum)
        except OSError:
            pass
        try:
            os.kill(job.pid, signum)
        except OSError:
            pass

    def _begin_bootout(self, job):
        """Stop and unload; True when the caller must wait for the process to exit."""
        job.spawn_at = None
        self._close_listeners(job)
        if job.pid is None:
            self._unload(job)
            return False
        if job.stopping == 'bootout':
            return True           # under way already: its ExitTimeOut clock keeps running
        job.stopping = 'bootout'
        self._signal(job, signal.SIGTERM)
        job.kill_at = time.time() + job.exit_timeout
        return True

    def stop_all(self):
        """At shutdown: SIGTERM every job (PID 1 then takes care of whatever is left)."""
        for domain in self.domains.values():
            for job in list(domain.jobs.values()):
                self._close_listeners(job)
                job.spawn_at = None
                job.stopping = 'bootout'
                self._signal(job, signal.SIGTERM)
                for pid in job.instances:
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except OSError:
                        pass
        if self.server is not None:
            self.server.close()
            self.server = None
            try:
                os.unlink(self.paths.socket)
            except OSError:
                pass

    def own_pids(self):
        return list(self.pids)

    # -- the loop's interface ----------------------------------------------------------------------
    def fds(self):
        result = []
        if self.server is not None:
            result.append(self.server)
        result.extend(c.sock for c in self.clients.values())
        for domain in self.domains.values():
            for job in domain.jobs.values():
                result.extend(job.listeners)
        return result

    def all_jobs(self):
        jobs = {}
        for domain in self.domains.values():
            for job in domain.jobs.values():
                jobs[id(job)] = job
        for job, _role in self.pids.values():
            jobs[id(job)] = job
        return list(jobs.values())

    def timeout(self):
        now = time.time()
        soonest = None
        whens = [when for when, _callback in self.timers]
        for job in self.all_jobs():
            whens.extend((job.spawn_at, job.kill_at))
        for when in whens:
            if when is not None and (soonest is None or when < soonest):
                soonest = when
        return None if soonest is None else max(0.0, soonest - now)

    def run_timers(self):
        now = time.time()
        due = [timer for timer in self.timers if timer[0] <= now]
        self.timers = [timer for timer in self.timers if timer[0] > now]
        for _when, callback in due:
            callback()
        for job in self.all_jobs():
            if job.kill_at is not None and job.kill_at <= now and job.pid is not None:
                self._signal(job, signal.SIGKILL)
                job.kill_at = None
            if job.spawn_at is not None and job.spawn_at <= now and job.pid is None:
                self._spawn(job, 'keepalive')   # INVENTED reason text

    def on_readable(self, sock):
        if sock is self.server:
            self._accept_clients()
            return
        client = self.clients.get(sock.fileno()) if sock.fileno() >= 0 else None
        if client is not None and client.sock is sock:
            self._read_client(client)
            return
        for domain in self.domains.values():
            for job in domain.jobs.values():
                if sock in job.listeners:
                    self._accept_inetd(job, sock)
                    return

    def _accept_inetd(self, job, sock):
        while True:
            try:
                conn, _addr = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.log('%s: accept: %s' % (job.target, e))
                return
            conn.setblocking(True)
            self._spawn(job, 'inetd', conn=conn)

    def _accept_clients(self):
        while True:
            try:
                conn, _addr = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i'))
                peer = struct.unpack('3i', creds)
            except OSError:
                peer = (0, 65534, 65534)
            conn.setblocking(False)
            self.clients[conn.fileno()] = Client(conn, peer)

    def _read_client(self, client):
        try:
            data = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        client.buf += data
        if data and b'\n' not in client.buf:
            if len(client.buf) > 1 << 20:
                self._drop(client)
            return
        self.clients.pop(client.sock.fileno(), None)
        if b'\n' not in client.buf:   # closed before a whole request
            client.sock.close()
            return
        try:
            request = json.loads(client.buf.split(b'\n', 1)[0].decode('utf-8'))
        except ValueError:
            client.send(Reply(2, err='macsim: launchd: bad request\n', kind='error'))
            return
        try:
            reply = self.handle(request, client)
        except Exception as e:  # a bug here must not take PID 1 down
            import traceback
            self.log('request %r failed: %s\n%s' % (request, e, traceback.format_exc()))
            reply = Reply(70, err='macsim: launchd internal error: %s\n' % e, kind='error')
        if reply is not DEFERRED:
            client.send(reply)

    def _drop(self, client):
        self.clients.pop(client.sock.fileno(), None)
        client.sock.close()

    # -- requests ----------------------------------------------------------------------------------
    def handle(self, request, client):
        uid = client.peer[1]
        if self.testing:
            # Unit tests fake the caller (MACSIM_FAKE_EUID); never honoured in an instance.
            uid = int(request.get('fake_euid', uid))
        op = request.get('op')
        if op is not None:
            return self.session_op(op, request, uid, client)
        argv = [str(a) for a in request.get('argv') or []]
        cwd = request.get('cwd') or '/'
        if not argv:
            return Reply(USAGE_RC, err=USAGE, kind='error')   # INVENTED exit status
        verb, args = argv[0], argv[1:]
        method = {'print': self.v_print, 'print-disabled': self.v_print_disabled,
                  'bootstrap': self.v_bootstrap, 'bootout': self.v_bootout, 'enable': self.v_enable,
                  'disable': self.v_disable, 'kickstart': self.v_kickstart, 'list': self.v_list,
                  'help': self.v_help}.get(verb)
        if method is None:
            if verb in NOT_SIMULATED:
                return Reply(2, err='macsim: launchctl %s is not simulated\n' % verb, kind='error')
            # INVENTED wording and status for an unknown subcommand.
            return Reply(USAGE_RC, err='Unrecognized subcommand: %s\n' % verb + USAGE, kind='error')
        try:
            return method(args, uid, client, cwd)
        except TargetError as e:
            return Reply(e.rc, err=lines(e.message), kind='error')

    def session_op(self, op, request, uid, client):
        if op == 'sessions':
            return Reply(0, out=json.dumps(sorted(n for n in self.domains if n.startswith('gui/'))) + '\n')
        if uid != 0:
            return Reply(1, err='macsim-session: must be root\n', kind='write')
        user = self.users.by_name(str(request.get('user') or ''))
        if user is None or user.uid == 0:
            return Reply(1, err='macsim-session: no such user: %s\n' % request.get('user'), kind='error')
        if op == 'login':
            return self.login(user)
        if op == 'logout':
            return self.logout(user, client)
        return Reply(2, err='macsim-session: unknown operation %s\n' % op, kind='error')

    def _domain(self, target, create_user=True):
        """The Domain for a target, or None when it does not exist (gui without login)."""
        name = target.domain
        domain = self.domains.get(name)
        if domain is None and target.kind == 'user' and create_user and self.users.by_uid(target.uid):
            domain = Domain(name, 'user', target.uid)
            self.domains[name] = domain
        return domain

    def _may_modify(self, target, uid):
        if uid == 0:
            return True
        return target.kind != 'system' and target.uid == uid

    def _user_exists(self, target):
        return target.kind == 'system' or self.users.by_uid(target.uid) is not None

    def v_help(self, args, uid, client, cwd):
        return Reply(0, out=USAGE)

    def v_print(self, args, uid, client, cwd):
        if len(args) != 1:
            return usage('print')
        target = parse_target(args[0])
        domain = self._domain(target)
        if target.label:
            job = domain.jobs.get(target.label) if domain is not None else None
            if job is None:
                return not_found(target.label, target.domain)
            return Reply(0, out=format_job(job))
        if domain is None:
            # INVENTED text for a domain that does not exist.
            return Reply(NOT_FOUND_RC, err=lines('Bad request.', 'Could not find domain for %s'
                                                 % domain_description(target.domain)))
        return Reply(0, out=format_domain(domain, self.overrides.get(target.domain) or {}))

    def v_print_disabled(self, args, uid, client, cwd):
        if len(args) != 1:
            return usage('print-disabled')
        target = parse_target(args[0])
        if target.label or not self._user_exists(target):
            return usage('print-disabled')
        return Reply(0, out=format_disabled(self.overrides.get(target.domain) or {}))

    def _bootstrap_error(self, code, text, uid):
        err = BOOTSTRAP_FAILED % (code, text)
        return Reply(code, err=lines(err, ROOT_HINT) if uid != 0 else lines(err), kind='write')

    def v_bootstrap(self, args, uid, client, cwd):
        if len(args) < 2:
            return usage('bootstrap')
        target = parse_target(args[0])
        if target.label:
            return usage('bootstrap')
        if not self._may_modify(target, uid):
            # INVENTED (by analogy with the measured `Boot-out failed: 1: Operation not permitted`).
            return self._bootstrap_error(1, 'Operation not permitted', uid)
        domain = self._domain(target)
        if domain is None:
            # REAL (reference 3.4): bootstrap into gui/<uid> without a GUI login.
            self.log('bootstrap %s: no such domain (no GUI login)' % target.domain)
            return self._bootstrap_error(*EIO, uid=uid)
        paths = []
        for arg in args[1:]:
            path = os.path.normpath(os.path.join(cwd, arg))
            if os.path.isdir(path):
                paths.extend(self.plists_in(path))
            else:
                paths.append(path)
        failure = None
        for path in paths:
            try:
                plist = read_definition(path)
                check_file_ownership(path, domain.uid, self.testing)
                if self.is_disabled(domain.name, plist):
                    raise LoadError(5, 'Input/output error', '%s is disabled' % plist['Label'])   # REAL
                if plist['Label'] in domain.jobs:
                    raise LoadError(5, 'Input/output error', '%s is already loaded' % plist['Label'])  # REAL
            except LoadError as e:
                self.log('bootstrap %s %s: %s (%s)' % (domain.name, path, e, e.detail))
                failure = e
                continue
            self._load(domain, path, plist)
        if failure is not None:
            return self._bootstrap_error(failure.code, failure.text, uid)
        return Reply(0, kind='write')

    def v_bootout(self, args, uid, client, cwd):
        if not args:
            return usage('bootout')
        target = parse_target(args[0])
        if not target.label and len(args) == 1:
            return Reply(2, err='macsim: launchctl bootout of a whole domain is not simulated\n', kind='error')
        if not self._may_modify(target, uid):
            # REAL (measured on macOS, system domain as non-root).
            return Reply(1, err=lines('Boot-out failed: 1: Operation not permitted'), kind='write')
        domain = self._domain(target)
        jobs = []
        if target.label:
            if len(args) != 1:
                return usage('bootout')
            job = domain.jobs.get(target.label) if domain is not None else None
            if job is None:
                # REAL (measured: `bootout gui/501/<not loaded>`, exit 3).
                return Reply(3, err=lines('Boot-out failed: 3: No such process'), kind='write')
            jobs.append(job)
        else:
            for arg in args[1:]:
                path = os.path.normpath(os.path.join(cwd, arg))
                job = None
                try:
                    label = read_definition(path)['Label']
                    job = domain.jobs.get(label) if domain is not None else None
                except LoadError:
                    pass
                if job is None:
                    # REAL (two public reports): the path form of an unloaded job gives 5.
                    return Reply(5, err=lines('Boot-out failed: 5: Input/output error'), kind='write')
                jobs.append(job)
        waiting = [job for job in jobs if self._begin_bootout(job)]
        if not waiting:
            return Reply(0, kind='write')
        state = {'left': len(waiting), 'answered': False}

        def answer(reply):
            if not state['answered']:
                state['answered'] = True
                client.send(reply)

        def done(_job):
            state['left'] -= 1
            if state['left'] == 0:
                answer(Reply(0, kind='write'))

        def still_exiting():
            # REAL text and code (osquery/osquery#5698); the job stays listed until it has exited.
            self.log('bootout %s: still exiting after %.1f s: 36' % (args[0], BOOTOUT_ANSWER))
            answer(Reply(IN_PROGRESS[0], err=lines('Boot-out failed: %d: %s' % IN_PROGRESS), kind='write'))
        for job in waiting:
            job.waiters.append(done)
        self.timers.append([time.time() + BOOTOUT_ANSWER, still_exiting])
        return DEFERRED

    def _set_override(self, args, uid, value, verb):
        if len(args) != 1:
            return usage(verb)
        target = parse_target(args[0])
        if not target.label or not self._user_exists(target):
            return usage(verb)
        if not self._may_modify(target, uid):
            return Reply(1, err=lines('Not privileged to set domain overrides.'), kind='write')  # INVENTED
        self.overrides.setdefault(target.domain, {})[target.label] = value
        self._save_overrides()
        return Reply(0, kind='write')

    def v_enable(self, args, uid, client, cwd):
        return self._set_override(args, uid, 'enabled', 'enable')

    def v_disable(self, args, uid, client, cwd):
        return self._set_override(args, uid, 'disabled', 'disable')

    def v_kickstart(self, args, uid, client, cwd):
        kill = show_pid = False
        rest = []
        for arg in args:
            if arg.startswith('-') and len(arg) > 1 and not rest:
                for flag in arg[1:]:
                    if flag == 'k':
                        kill = True
                    elif flag == 'p':
                        show_pid = True
                    elif flag == 's':
                        pass   # start suspended: accepted, ignored
                    else:
                        return usage('kickstart')
            else:
                rest.append(arg)
        if len(rest) != 1:
            return usage('kickstart')
        target = parse_target(rest[0])
        if not target.label:
            return usage('kickstart')
        domain = self._domain(target)
        job = domain.jobs.get(target.label) if domain is not None else None
        if not self._may_modify(target, uid):
            # INVENTED text.
            return Reply(1, err=lines('Could not kickstart service "%s": 1: Operation not permitted'
                                      % target.label), kind='write')
        if job is None:
            reply = not_found(target.label, target.domain)   # INVENTED for kickstart (as print)
            reply.kind = 'write'
            return reply

        def pid_reply(j):
            return Reply(0, out=('%d\n' % j.pid) if show_pid and j.pid is not None else '', kind='write')
        if job.inetd:
            # An on-demand job: nothing to start. -k ends the running instances (INVENTED:
            # believed of a real launchd, not captured), Ansible's own SSH session among them.
            if kill:
                for pid in sorted(job.instances):
                    self.log('kickstart -k %s: killing instance %d' % (job.target, pid))
                    for kill_fn in (os.killpg, os.kill):
                        try:
                            kill_fn(pid, signal.SIGKILL)
                        except OSError:
                            pass
            return Reply(0, kind='write')
        if job.pid is not None and not kill:
            return pid_reply(job)
        if job.pid is not None:
            job.stopping = 'restart'
            self._signal(job, signal.SIGKILL)   # INVENTED (believed): -k kills with SIGKILL
            job.kill_at = time.time() + job.exit_timeout
            job.waiters.append(lambda j: client.send(pid_reply(j)))
            return DEFERRED
        self._spawn(job, 'non-ipc demand')
        return pid_reply(job)

    def v_list(self, args, uid, client, cwd):
        if len(args) > 1:
            return usage('list')
        # Legacy subcommand: the caller's own domain. INVENTED for non-root: gui/<uid> when that
        # user is logged in at the (simulated) console, else user/<uid>.
        if uid == 0:
            domain = self.domains['system']
        else:
            domain = self.domains.get('gui/%d' % uid) or self._domain(Target('user', uid))
        jobs = list(domain.jobs.values()) if domain is not None else []
        if not args:
            return Reply(0, out=format_list(jobs))
        for job in jobs:
            if job.label == args[0]:
                return Reply(0, out=format_list_label(job))
        # INVENTED (from a public fake of launchctl): the legacy lookup's not-found text.
        return Reply(NOT_FOUND_RC, err=lines('Could not find service "%s" in domain for port' % args[0]))

    # -- boot state for `macsim` on the controller ---------------------------------------------------
    def write_boot_state(self, boot):
        system = self.domains['system']
        sshd = system.jobs.get(SSHD_LABEL)
        write_json(self.paths.state(BOOT_STATE), {
            'boot_id': boot.get('boot_id'), 'count': boot.get('count'), 'ready': True,
            'loaded': sorted(system.jobs), 'sshd': bool(sshd and sshd.listeners)})


def _socket_specs(value):
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _listen(node, port):
    if node:
        infos = socket.getaddrinfo(node, port, 0, socket.SOCK_STREAM)
        family, _type, _proto, _name, addr = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    else:
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(('::', port))
        except OSError:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(('0.0.0.0', port))
    sock.listen(64)
    sock.setblocking(False)
    return sock


def _child(spec, conn_fd):
    """In the forked child: become the job and exec it; any failure exits 78 (EX_CONFIG)."""
    try:
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError):
            pass
        for name in ('SIGPIPE', 'SIGXFSZ', 'SIGHUP', 'SIGTERM', 'SIGINT', 'SIGCHLD', 'SIGQUIT'):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.setsid()
        if spec['change_ids']:
            os.setgroups(spec['groups'])
            os.setgid(spec['gid'])
            os.setuid(spec['uid'])
        os.umask(spec['umask'])
        if conn_fd is not None:
            in_fd = out_fd = conn_fd
        else:
            in_fd = os.open(spec['stdin'] or os.devnull, os.O_RDONLY)
            out_fd = _open_log(spec['stdout'])
        err_fd = _open_log(spec['stderr'])
        fds = [in_fd, out_fd, err_fd]
        # dup2 onto 0,1,2 without clobbering a source that is itself 0..2.
        moved = [os.dup(fd) for fd in fds]
        for target, fd in enumerate(moved):
            os.dup2(fd, target)
        os.chdir(spec['cwd'])
        os.closerange(3, 65536)
        os.execve(spec['program'], spec['args'], spec['env'])
    except BaseException as e:  # noqa: B036 - nothing may escape a forked child
        try:
            os.write(2, ('launchd: %s: %s\n' % (spec.get('program'), e)).encode())
        except Exception:
            pass
    os._exit(78)


def _open_log(path):
    if not path:
        return os.open(os.devnull, os.O_WRONLY)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


# ---- the client side (launchctl, macsim-session) ---------------------------------------------------

def call(paths, request, timeout=300):
    """Send one request to launchd; (reply dict) or raises OSError."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(paths.socket)
        sock.sendall((json.dumps(request) + '\n').encode('utf-8'))
        data = b''
        while not data.endswith(b'\n'):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    if not data:
        raise OSError(errno.ECONNRESET, 'launchd closed the connection')
    return json.loads(data.decode('utf-8'))


def unreachable_message(paths, exc):
    # INVENTED: a Mac always has a launchd; this only happens outside a booted instance.
    return 'macsim: launchd is not reachable (%s: %s)' % (paths.socket, exc)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(2)
