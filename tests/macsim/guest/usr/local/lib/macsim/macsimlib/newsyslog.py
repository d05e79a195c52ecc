"""newsyslog stand-in (test fixture): /usr/sbin/newsyslog of the simulated Mac.

The configuration format is macOS's newsyslog.conf(5) (keith/xcode-man-pages
docs/newsyslog.conf.5.html, FreeBSD's page of 2008 as Apple ships it):

  logfile_name [owner:group] mode count size when [flags] [/pid_file] [sig_num]

`#` starts a comment (`\\#` is a literal `#`), blank lines are ignored; owner:group is optional
(`.` accepted instead of `:`, names or numbers); mode is octal; count is the number of archives
kept (log.0 ... log.<count-1>); size is KB or `*`; when is `*`, an interval in hours, `@` + a
restricted ISO 8601 time (`[[[[[cc]yy]mm]dd][T[hh[mm[ss]]]]]`), `$` + `D hh`, `W w[D hh]` or
`M dd[D hh]` (dd 1..31 or L), or an interval followed by either form (both must hold); flags are
the man page's B C D G J N U Z and `-`; the pid file must start with `/`; sig_num is a Darwin
signal number. Without -f, /etc/newsyslog.conf and then /etc/newsyslog.d/*.conf (name order) are
read, as newsyslog(8) of macOS says.

Options: -n (print what would be done, change nothing), -v, -f FILE, -r (no root needed), -F
(rotate everything), -s (signal nobody), -C/-CC (create missing logs), -N (no rotation), and
log file names to limit the run (a name no line matches uses the `<default>` line). -a, -d and
-R are not simulated (exit 2).

Rotation (what newsyslog(8) describes): a log is rotated when its size reaches the limit, when
the interval has passed since log.0 was written (or there is no log.0 yet), or within the hour of
the `@`/`$` time. Archives move up one (the oldest beyond `count` is removed), the log becomes
log.0, a new empty log is made with the line's mode and owner:group (else the old log's owner),
`logfile turned over` is written into it unless B, the daemon of the pid file is sent the signal
(default SIGHUP; with U the pid file holds a negative process group; no pid file and no N:
syslogd's /var/run/syslog.pid, which the simulated Mac does not have, so nobody is signalled),
then log.0 is compressed with gzip (Z, .gz) or bzip2 (J, .bz2).

Not in the reference, hence INVENTED: every error text (FreeBSD's newsyslog wording as
remembered, plus the file and line number), the exit status 1 of an error, the layout of the
-n and -v output, `must have root privs` for a non-root run without -n/-r, -n not needing root,
refusing a bad size (FreeBSD is remembered to warn only), a relative log name and extra fields,
the size measured as the file's length (real newsyslog counts allocated blocks), the `@` window
[time, time + 1 h), count 0 truncating the log without an archive, no pause after a signal.
Nothing runs it periodically here; on a real Mac launchd's com.apple.newsyslog runs it hourly.

In unit tests (MACSIM_STATE_DIR) the configuration, log, pid file and archive paths of the
simulated Mac live under $MACSIM_STATE_DIR/root (a -f FILE is used as given), and MACSIM_NOW
(epoch seconds) stands in for the clock.
"""

import bz2
import datetime
import getopt
import glob
import gzip
import os
import shutil
import time

from macsimlib.common import out, err
from macsimlib.launchd import DARWIN_SIGNALS
from macsimlib.users import UserDB

CONF = '/etc/newsyslog.conf'
CONF_DIR = '/etc/newsyslog.d'
SYSLOGD_PID = '/var/run/syslog.pid'
DEFAULT_ENTRY = '<default>'
FLAGS = 'BCDGJNUZ'
COMPRESSORS = {'Z': ('.gz', 'gzip'), 'J': ('.bz2', 'bzip2')}
EXTENSIONS = ('', '.gz', '.bz2')
# From the synopsis of newsyslog(8) on macOS; as a usage message INVENTED.
USAGE = 'usage: newsyslog [-CFNnrsv] [-R tagname] [-a directory] [-d directory] [-f config_file] [file ...]'
LINUX_SIGNALS = dict((number, linux) for linux, (number, _text) in DARWIN_SIGNALS.items())


class ConfigError(Exception):
    def __init__(self, source, lineno, reason, text):
        Exception.__init__(self, reason)
        self.source, self.lineno, self.reason, self.text = source, lineno, reason, text

    def message(self):
        return 'newsyslog: %s line %d: %s:\n%s' % (self.source, self.lineno, self.reason, self.text)


# ---- the `when` field ------------------------------------------------------------------------------

class TimeSpec(object):
    """An `@` (ISO 8601 restricted) or `$` (day/week/month) rotation time."""

    def __init__(self, kind, fields):
        self.kind, self.fields = kind, fields

    def due(self, now):
        """Is `now` (a local datetime) within the hour that this time names?"""
        f = self.fields
        if self.kind == '@':
            try:
                target = datetime.datetime(f.get('year', now.year), f.get('month', now.month),
                                           f.get('day', now.day), f.get('hour', 0), f.get('minute', 0),
                                           f.get('second', 0))
            except ValueError:    # e.g. day 31 in a 30-day month
                return False
            return target <= now < target + datetime.timedelta(hours=1)
        if now.hour != f.get('hour', 0):
            return False
        if 'weekday' in f and (now.weekday() + 1) % 7 != f['weekday']:
            return False
        if 'monthday' in f:
            if f['monthday'] == 'L':
                return (now + datetime.timedelta(days=1)).month != now.month
            return now.day == f['monthday']
        return True


def _parse_iso(text):
    date, _t, clock = text.partition('T')
    if not (date + clock).isdigit() and (date + clock) != '':
        raise ValueError('malformed at')
    if len(date) not in (0, 2, 4, 6, 8) or len(clock) not in (0, 2, 4, 6):
        raise ValueError('malformed at')
    fields = {}
    if len(date) == 8:
        fields['year'] = int(date[:4])
    elif len(date) == 6:
        fields['year'] = 2000 + int(date[:2]) if int(date[:2]) < 69 else 1900 + int(date[:2])
    if len(date) >= 4:
        fields['month'] = int(date[-4:-2])
    if len(date) >= 2:
        fields['day'] = int(date[-2:])
    for name, index in (('hour', 0), ('minute', 2), ('second', 4)):
        if len(clock) > index:
            fields[name] = int(clock[index:index + 2])
    limits = {'month': (1, 12), 'day': (1, 31), 'hour': (0, 23), 'minute': (0, 59), 'second': (0, 59)}
    for name, (low, high) in limits.items():
        if name in fields and not low <= fields[name] <= high:
            raise ValueError('malformed at')
    return TimeSpec('@', fields)


def _take_number(text, i):
    j = i
    while j < len(text) and text[j].isdigit():
        j += 1
    if j == i:
        raise ValueError('malformed at')
    return int(text[i:j]), j


def _parse_dwm(text):
    fields = {}
    i = 0
    if not text:
        raise ValueError('malformed at')
    while i < len(text):
        letter = text[i].upper()
        i += 1
        if letter == 'D' and 'hour' not in fields:
            fields['hour'], i = _take_number(text, i)
            if fields['hour'] > 23:
                raise ValueError('malformed at')
        elif letter == 'W' and not set(fields) & {'weekday', 'monthday', 'hour'}:
            fields['weekday'], i = _take_number(text, i)
            if fields['weekday'] > 6:
                raise ValueError('malformed at')
        elif letter == 'M' and not set(fields) & {'weekday', 'monthday', 'hour'}:
            if i < len(text) and text[i] in 'Ll':
                fields['monthday'] = 'L'
                i += 1
            else:
                fields['monthday'], i = _take_number(text, i)
                if not 1 <= fields['monthday'] <= 31:
                    raise ValueError('malformed at')
        else:
            raise ValueError('malformed at')
    return TimeSpec('$', fields)


def parse_when(text):
    """(hours or None, TimeSpec or None); ValueError(reason) when malformed."""
    i = 0
    while i < len(text) and text[i].isdigit():
        i += 1
    hours = int(text[:i]) if i else None
    rest = text[i:]
    if rest in ('', '*'):
        return (hours or None), None
    if rest[0] not in '@$':
        raise ValueError('malformed interval/at')
    spec = _parse_iso(rest[1:]) if rest[0] == '@' else _parse_dwm(rest[1:])
    return (hours or None), spec


# ---- the configuration -------------------------------------------------------------------------------

class Entry(object):
    __slots__ = ('log', 'uid', 'gid', 'mode', 'count', 'size_kb', 'hours', 'at', 'flags', 'pid_file',
                 'sig', 'source', 'lineno')

    def describe(self):
        compress = ''.join(f for f in 'ZJ' if f in self.flags)
        return '%s <%d%s>' % (self.log, self.count, compress)


def split_fields(line):
    """The whitespace-separated fields of a line, without its comment (`\\#` is a `#`)."""
    text = ''
    i = 0
    while i < len(line):
        if line[i] == '\\' and line[i + 1:i + 2] == '#':
            text += '#'
            i += 2
            continue
        if line[i] == '#':
            break
        text += line[i]
        i += 1
    return text.split()


def _lookup(users, kind, name):
    if name == '':
        return None
    if name.lstrip('-').isdigit():
        return int(name)
    if kind == 'user':
        user = users.by_name(name)
        return user.uid if user else False
    gid = users.group_gid(name)
    if gid is None and name == 'wheel':
        return 0     # macOS's gid 0 (an instance provisioned before wheel was added calls it root)
    return gid if gid is not None else False


def parse_entry(fields, users):
    entry = Entry()
    entry.log = fields.pop(0)
    if entry.log != DEFAULT_ENTRY and not entry.log.startswith('/'):
        raise ValueError('logfile name is not an absolute path')
    entry.uid = entry.gid = None
    if fields and (':' in fields[0] or '.' in fields[0]):
        owner = fields.pop(0)
        sep = ':' if ':' in owner else '.'
        user, group = owner.rsplit(sep, 1) if sep == '.' else owner.split(':', 1)
        entry.uid = _lookup(users, 'user', user)
        if entry.uid is False:
            raise ValueError('error in config file; unknown user')
        entry.gid = _lookup(users, 'group', group)
        if entry.gid is False:
            raise ValueError('error in config file; unknown group')
    if len(fields) < 4:
        raise ValueError('malformed line (missing fields)')
    mode, count, size, when = fields[:4]
    fields = fields[4:]
    if not mode or any(c not in '01234567' for c in mode) or len(mode) > 4:
        raise ValueError('error in config file; bad value for mode')
    entry.mode = int(mode, 8)
    if not count.isdigit():
        raise ValueError('error in config file; bad value for count of logs to save')
    entry.count = int(count)
    if size == '*':
        entry.size_kb = None
    elif size.isdigit():
        entry.size_kb = int(size)
    else:
        raise ValueError('error in config file; bad value for size')
    entry.hours, entry.at = parse_when(when)
    entry.flags = set()
    if fields:
        for flag in fields.pop(0):
            if flag == '-':
                continue
            if flag.upper() not in FLAGS:
                raise ValueError('illegal flag in config file -- %s' % flag)
            entry.flags.add(flag.upper())
    entry.pid_file, entry.sig = None, 1
    if fields:
        value = fields.pop(0)
        if value.startswith('/'):
            entry.pid_file = value
        elif value.isdigit():
            fields.insert(0, value)
        else:
            raise ValueError('illegal pid file or signal number in config file')
    if fields:
        value = fields.pop(0)
        if not value.isdigit() or not 1 <= int(value) <= 31:
            raise ValueError('illegal signal number in config file')
        entry.sig = int(value)
    if fields:
        raise ValueError('malformed line (too many fields)')
    return entry


def parse_config(text, source, users):
    entries = []
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = split_fields(line)
        if not fields:
            continue
        try:
            entry = parse_entry(fields, users)
        except ValueError as e:
            raise ConfigError(source, lineno, str(e), line)
        entry.source, entry.lineno = source, lineno
        entries.append(entry)
    return entries


def config_files(ctx, conf):
    """[(shown name, path to read)]: -f FILE, else the system file then newsyslog.d/*.conf."""
    if conf is not None:
        return [(conf, conf)]
    files = [(CONF, ctx.root_path(CONF))]
    conf_dir = ctx.root_path(CONF_DIR)
    try:
        names = sorted(n for n in os.listdir(conf_dir) if n.endswith('.conf'))
    except OSError:
        names = []
    files += [(os.path.join(CONF_DIR, n), os.path.join(conf_dir, n)) for n in names]
    return files


# ---- what to do ------------------------------------------------------------------------------------

class Run(object):
    """One newsyslog run: decides per log, then does each step, or with -n prints it instead."""

    def __init__(self, ctx, opts):
        self.ctx, self.opts = ctx, opts
        self.users = UserDB(os.path.join(ctx.state_dir, 'root') if ctx.testing else None)
        now = float(os.environ['MACSIM_NOW']) if ctx.testing and os.environ.get('MACSIM_NOW') else time.time()
        self.now = now
        self.local_now = datetime.datetime.fromtimestamp(now)
        self.failed = False

    def real(self, path):
        return self.ctx.root_path(path)

    def shown(self, real_path):
        if self.ctx.testing:
            root = self.ctx.root_path('/')
            if real_path.startswith(root):
                return '/' + real_path[len(root):]
        return real_path

    def verbose(self, text):
        if self.opts['verbose']:
            out(text)

    def noaction(self, text):
        if self.opts['noaction']:
            out('\t' + text)

    # -- decision --------------------------------------------------------------------------------
    def age_hours(self, log):
        for ext in EXTENSIONS:
            try:
                mtime = os.stat(self.real(log + '.0' + ext)).st_mtime
            except OSError:
                continue
            return int((self.now - mtime + 1800) // 3600)
        return -1

    def process(self, entry, log):
        path = self.real(log)
        head = '%s: ' % entry.describe().replace(entry.log, log, 1)
        if not os.path.exists(path):
            create = self.opts['create'] >= 2 or (self.opts['create'] == 1 and 'C' in entry.flags)
            if create:
                self.verbose(head + 'does not exist -> will create.')
                self.create_log(entry, log, None)
            else:
                self.verbose(head + 'does not exist, skipped.')
            return
        if self.opts['norotate']:
            self.verbose(head + '--> skipping (-N)')
            return
        size_kb = os.stat(path).st_size // 1024
        age = self.age_hours(log)
        text = head
        if entry.size_kb is not None:
            text += 'size (Kb): %d [%d] ' % (size_kb, entry.size_kb)
        if entry.hours:
            text += 'age (hr): %d [%d] ' % (age, entry.hours)
        oversized = entry.size_kb is not None and size_kb >= entry.size_kb
        aged = entry.hours is not None and (age >= entry.hours or age < 0)   # no log.0 yet: age -1
        if entry.at is not None:     # a time, and the interval if there is one too
            timely = entry.at.due(self.local_now) and (entry.hours is None or aged)
        else:
            timely = aged
        due = self.opts['force'] or oversized or timely
        if not due:
            self.verbose(text + '--> skipping')
            return
        self.verbose(text + '--> trimming log....')
        self.trim(entry, log)

    # -- actions ---------------------------------------------------------------------------------
    def trim(self, entry, log):
        path = self.real(log)
        try:
            st = os.stat(path)
        except OSError:
            return
        if entry.count > 0:
            for i in range(entry.count - 1, -1, -1):
                for ext in EXTENSIONS:
                    src = self.real('%s.%d%s' % (log, i, ext))
                    if not os.path.exists(src):
                        continue
                    if i == entry.count - 1:
                        self.noaction('rm -f %s' % self.shown(src))
                        if not self.opts['noaction']:
                            os.unlink(src)
                    else:
                        dst = self.real('%s.%d%s' % (log, i + 1, ext))
                        self.noaction('mv %s %s' % (self.shown(src), self.shown(dst)))
                        if not self.opts['noaction']:
                            os.rename(src, dst)
            archive = path + '.0'
            self.noaction('mv %s %s' % (log, self.shown(archive)))
            if not self.opts['noaction']:
                os.rename(path, archive)
                os.chmod(archive, entry.mode)
                self.chown(archive, entry.uid, entry.gid)
        self.create_log(entry, log, st)
        self.signal_daemon(entry)
        compress = [COMPRESSORS[f] for f in 'ZJ' if f in entry.flags]
        if entry.count > 0 and compress:
            ext, tool = compress[0]
            self.noaction('%s %s' % (tool, self.shown(path + '.0')))
            if not self.opts['noaction']:
                self.compress(path + '.0', ext)

    def create_log(self, entry, log, old_stat):
        path = self.real(log)
        uid = entry.uid if entry.uid is not None else (old_stat.st_uid if old_stat else -1)
        gid = entry.gid if entry.gid is not None else (old_stat.st_gid if old_stat else -1)
        self.noaction('Start new log... %s' % log)
        if self.opts['noaction']:
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, entry.mode)
        try:
            if old_stat is not None and 'B' not in entry.flags:
                tm = time.localtime(self.now)   # syslog's `Mmm dd hh:mm:ss`, day padded with a space
                stamp = '%s %2d %s' % (time.strftime('%b', tm), tm.tm_mday, time.strftime('%H:%M:%S', tm))
                os.write(fd, ('%s %s newsyslog[%d]: logfile turned over\n' % (
                    stamp, self.ctx.hostname, os.getpid())).encode())
        finally:
            os.close(fd)
        os.chmod(path, entry.mode)
        self.chown(path, uid, gid)

    def chown(self, path, uid, gid):
        uid, gid = -1 if uid is None else uid, -1 if gid is None else gid
        if uid == -1 and gid == -1:
            return
        try:
            os.chown(path, uid, gid)
        except PermissionError:
            if not self.ctx.testing:     # unit tests fake root without being root
                raise

    def signal_daemon(self, entry):
        if 'N' in entry.flags or self.opts['nosignal']:
            return
        pid_file = entry.pid_file or SYSLOGD_PID
        try:
            with open(self.real(pid_file)) as f:
                value = f.readline().strip()
        except OSError:
            if entry.pid_file:
                err("newsyslog: pid file doesn't exist: %s" % pid_file)
            return           # no syslogd on the simulated Mac: nobody to tell
        try:
            pid = int(value)
        except ValueError:
            err('newsyslog: illegal pid in %s: %s' % (pid_file, value))
            return
        if ('U' in entry.flags) != (pid < 0) or pid in (0, 1, -1):
            err('newsyslog: preposterous process number: %d' % pid)
            return
        linux = LINUX_SIGNALS.get(entry.sig)
        if linux is None:
            err('newsyslog: macsim: signal %d is not simulated' % entry.sig)
            return
        self.noaction('kill -%d %d' % (entry.sig, pid))
        if self.opts['noaction']:
            return
        try:
            os.kill(pid, linux)
        except OSError as e:
            err('newsyslog: can\'t notify daemon, pid %d: %s' % (pid, e.strerror))

    def compress(self, path, ext):
        opener = gzip.open if ext == '.gz' else bz2.open
        with open(path, 'rb') as src, opener(path + ext, 'wb') as dst:
            shutil.copyfileobj(src, dst)
        shutil.copymode(path, path + ext)
        st = os.stat(path)
        self.chown(path + ext, st.st_uid, st.st_gid)
        os.unlink(path)

    # -- selection -------------------------------------------------------------------------------
    def logs_of(self, entry):
        if 'G' in entry.flags:
            return sorted(self.shown(p) for p in glob.glob(self.real(entry.log)))
        return [entry.log]

    def run(self, entries, names):
        default = next((e for e in entries if e.log == DEFAULT_ENTRY), None)
        work = []
        for entry in entries:
            if entry.log == DEFAULT_ENTRY:
                continue
            for log in self.logs_of(entry):
                if not names or log in names:
                    work.append((entry, log))
        for name in names:
            if default is not None and not any(log == name for _e, log in work):
                work.append((default, name))
        for entry, log in work:
            try:
                self.process(entry, log)
            except OSError as e:
                # INVENTED text: the log is left as it is, the run goes on and exits 1.
                err('newsyslog: %s: %s' % (self.shown(e.filename) if e.filename else log, e.strerror))
                self.failed = True


def main(ctx, args):
    try:
        options, names = getopt.getopt(args, 'CFNnrsva:d:f:R:')
    except getopt.GetoptError as e:
        # getopt(3)'s wording.
        if 'requires argument' in e.msg:
            err('newsyslog: option requires an argument -- %s' % e.opt)
        else:
            err('newsyslog: illegal option -- %s' % e.opt)
        err(USAGE)
        return 1, 'error'
    opts = {'noaction': False, 'verbose': False, 'force': False, 'needroot': True, 'nosignal': False,
            'create': 0, 'norotate': False}
    conf = None
    for flag, value in options:
        if flag in ('-a', '-d', '-R'):
            err('macsim: newsyslog %s is not simulated' % flag)
            return 2, 'error'
        if flag == '-f':
            conf = value
        elif flag == '-C':
            opts['create'] += 1
        else:
            key = {'-n': 'noaction', '-v': 'verbose', '-F': 'force', '-s': 'nosignal', '-N': 'norotate'}.get(flag)
            if key:
                opts[key] = True
            elif flag == '-r':
                opts['needroot'] = False
    kind = 'read' if opts['noaction'] else 'write'
    if opts['needroot'] and not opts['noaction'] and not ctx.is_root:
        err('newsyslog: must have root privs')
        return 1, kind
    run = Run(ctx, opts)
    entries = []
    for shown, path in config_files(ctx, conf):
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            err('newsyslog: %s: %s' % (shown, e.strerror))
            return 1, 'error'
        try:
            entries += parse_config(text, shown, run.users)
        except ConfigError as e:
            err(e.message())
            return 1, 'error'
    with ctx.locked():
        run.run(entries, names)
    return (1 if run.failed else 0), kind
