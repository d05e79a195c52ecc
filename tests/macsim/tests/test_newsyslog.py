"""newsyslog stand-in: macOS's newsyslog.conf(5) format, `-n -f FILE` as a validator, rotation,
compression, signals, /etc/newsyslog.d/*.conf. Paths of the simulated Mac live under the state
directory's root/; MACSIM_NOW fixes the clock, TZ=UTC the local time."""

import bz2
import calendar
import gzip
import os
import re
import signal
import subprocess
import sys
import time

import pytest

MACSIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEWSYSLOG = os.path.join(MACSIM_DIR, 'guest', 'usr', 'sbin', 'newsyslog')
GUEST_CONF = os.path.join(MACSIM_DIR, 'guest', 'etc', 'newsyslog.conf')
USAGE = 'usage: newsyslog [-CFNnrsv] [-R tagname] [-a directory] [-d directory] [-f config_file] [file ...]\n'
# Sunday 2026-03-01 00:10:00 UTC
SUNDAY_0010 = calendar.timegm((2026, 3, 1, 0, 10, 0))


def newsyslog(sim, *args, **kw):
    env = sim.env(kw.get('euid', 0))
    env['TZ'] = 'UTC'
    env['MACSIM_NOW'] = str(kw.get('now', SUNDAY_0010))
    proc = subprocess.run([sys.executable, NEWSYSLOG] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def read(path, opener=open):
    with opener(path, 'rt') as f:
        return f.read()


def listing(sim, directory='/var/log'):
    return sorted(os.listdir(sim.root_path(directory)))


@pytest.fixture
def conf(sim, tmp_path):
    """A configuration file outside the simulated Mac, as Ansible's validate gets it."""
    def make(text):
        return write(str(tmp_path / 'newsyslog-test.conf'), text)
    return make


GOOD = """\
# logfilename          [owner:group]    mode count size when  flags [/pid_file] [sig_num]

/var/log/ollama/server.log  admin:staff 640  7  10240  *     JN
/var/log/a.log              root:wheel  644  5  *      @T00  Z    # nightly
/var/log/b.log              :admin      600  3  100    24    B
/var/log/c.log              admin.staff 644  2  *      $W0D23  -  /var/run/c.pid 30
/var/log/d.log                          644  2  *      $M1D0 GN
/var/log/e.log                          644  2  *      $ML   CU   /var/run/e.pid
/var/log/f\\#1.log                       644  0  *      168@T0430 n
/var/log/g.log                          644  1  *      @20260301T1200 -
/var/log/h.log                          644  1  1      *
<default>                               644  2  1000   *     J
"""


def test_validate_a_good_file(sim, conf):
    path = conf(GOOD)
    assert newsyslog(sim, '-n', '-f', path) == (0, '', '')
    rc, out, err = newsyslog(sim, '-n', '-v', '-f', path)
    assert (rc, err) == (0, '')
    assert out.splitlines() == [
        '/var/log/ollama/server.log <7J>: does not exist, skipped.',
        '/var/log/a.log <5Z>: does not exist, skipped.',
        '/var/log/b.log <3>: does not exist, skipped.',
        '/var/log/c.log <2>: does not exist, skipped.',
        '/var/log/e.log <2>: does not exist, skipped.',
        '/var/log/f#1.log <0>: does not exist, skipped.',
        '/var/log/g.log <1>: does not exist, skipped.',
        '/var/log/h.log <1>: does not exist, skipped.',
    ]   # d.log is a glob (G) that matches nothing; <default> only serves names given as arguments
    assert [(c['tool'], c['kind'], c['rc']) for c in sim.calls()] == [('newsyslog', 'read', 0)] * 2


@pytest.mark.parametrize('line, reason', [
    ('/var/log/x.log 640 3 100', 'malformed line (missing fields)'),
    ('/var/log/x.log admin:staff 640 3', 'malformed line (missing fields)'),
    ('/var/log/x.log 6x4 3 100 * J', 'error in config file; bad value for mode'),
    ('/var/log/x.log 640 many 100 * J', 'error in config file; bad value for count of logs to save'),
    ('/var/log/x.log 640 3 10k * J', 'error in config file; bad value for size'),
    ('/var/log/x.log 640 3 100 daily J', 'malformed interval/at'),
    ('/var/log/x.log 640 3 100 @T25 J', 'malformed at'),
    ('/var/log/x.log 640 3 100 @2026T J', 'malformed at'),
    ('/var/log/x.log 640 3 100 $W7 J', 'malformed at'),
    ('/var/log/x.log 640 3 100 $M32 J', 'malformed at'),
    ('/var/log/x.log 640 3 100 $X1 J', 'malformed at'),
    ('/var/log/x.log 640 3 100 * Q', 'illegal flag in config file -- Q'),
    ('/var/log/x.log 640 3 100 * T', 'illegal flag in config file -- T'),
    ('/var/log/x.log 640 3 100 * /var/run/x.pid', 'illegal flag in config file -- /'),
    ('/var/log/x.log nosuchuser:staff 640 3 100 * J', 'error in config file; unknown user'),
    ('/var/log/x.log admin:nosuchgroup 640 3 100 * J', 'error in config file; unknown group'),
    ('/var/log/x.log 640 3 100 * J var/run/x.pid', 'illegal pid file or signal number in config file'),
    ('/var/log/x.log 640 3 100 * J /var/run/x.pid 40', 'illegal signal number in config file'),
    ('/var/log/x.log 640 3 100 * J /var/run/x.pid 1 2', 'malformed line (too many fields)'),
    ('var/log/x.log 640 3 100 * J', 'logfile name is not an absolute path'),
])
def test_a_malformed_line_is_named(sim, conf, line, reason):
    path = conf('# ollama\n\n/var/log/ok.log 644 2 * * N\n%s   # comment\n' % line)
    rc, out, err = newsyslog(sim, '-n', '-f', path)
    assert (rc, out) == (1, '')
    assert err == 'newsyslog: %s line 4: %s:\n%s   # comment\n' % (path, reason, line)
    assert sim.calls()[-1]['kind'] == 'error'


def test_dry_run_prints_what_it_would_do_and_changes_nothing(sim, conf):
    log = write(sim.root_path('/var/log/ollama.log'), 'x' * 3000)
    write(log + '.0.bz2', 'older')
    write(log + '.1.bz2', 'oldest')
    before = listing(sim)
    path = conf('/var/log/ollama.log admin:staff 640 2 2 * J\n')
    rc, out, err = newsyslog(sim, '-n', '-f', path, euid=501)
    assert (rc, err) == (0, '')
    assert out == ('\trm -f /var/log/ollama.log.1.bz2\n'
                   '\tmv /var/log/ollama.log.0.bz2 /var/log/ollama.log.1.bz2\n'
                   '\tmv /var/log/ollama.log /var/log/ollama.log.0\n'
                   '\tStart new log... /var/log/ollama.log\n'
                   '\tbzip2 /var/log/ollama.log.0\n')
    assert listing(sim) == before and read(log) == 'x' * 3000


def test_rotation_by_size_keeps_count_archives(sim, conf):
    log = sim.root_path('/var/log/ollama.log')
    path = conf('/var/log/ollama.log admin:staff 640 3 2 * J\n')
    for generation in range(1, 6):
        write(log, ('generation %d\n' % generation) * 200)    # 2.6 KB: over the 2 KB limit
        assert newsyslog(sim, '-f', path) == (0, '', '')
    assert listing(sim) == ['ollama.log', 'ollama.log.0.bz2', 'ollama.log.1.bz2', 'ollama.log.2.bz2']
    for index, generation in ((0, 5), (1, 4), (2, 3)):
        assert read('%s.%d.bz2' % (log, index), bz2.open).startswith('generation %d\n' % generation)
    assert re.match(r'^Mar  1 00:10:00 testmac newsyslog\[\d+\]: logfile turned over\n$', read(log))
    assert os.stat(log).st_mode & 0o7777 == 0o640
    assert os.stat(log + '.0.bz2').st_mode & 0o7777 == 0o640
    assert [c['kind'] for c in sim.calls()] == ['write'] * 5


def test_under_the_limit_nothing_happens_unless_forced(sim, conf):
    log = write(sim.root_path('/var/log/small.log'), 'hello\n')
    path = conf('/var/log/small.log 644 2 100 * Z\n')
    assert newsyslog(sim, '-f', path) == (0, '', '')
    rc, out, _err = newsyslog(sim, '-n', '-v', '-f', path)
    assert out == '/var/log/small.log <2Z>: size (Kb): 0 [100] --> skipping\n'
    assert listing(sim) == ['small.log']
    assert newsyslog(sim, '-F', '-f', path) == (0, '', '')
    assert listing(sim) == ['small.log', 'small.log.0.gz']
    assert read(log + '.0.gz', gzip.open) == 'hello\n'


def test_binary_flag_count_zero_and_plain_archives(sim, conf):
    binary = write(sim.root_path('/var/log/bin.log'), 'b' * 2048)
    truncated = write(sim.root_path('/var/log/zero.log'), 'z' * 2048)
    path = conf('/var/log/bin.log 644 2 1 * B\n/var/log/zero.log 644 0 1 * -\n')
    assert newsyslog(sim, '-f', path) == (0, '', '')
    assert read(binary) == '' and read(binary + '.0') == 'b' * 2048
    assert read(truncated).endswith('logfile turned over\n')
    assert listing(sim) == ['bin.log', 'bin.log.0', 'zero.log']


@pytest.mark.parametrize('when, now, due', [
    ('@T00', SUNDAY_0010, True),
    ('@T00', SUNDAY_0010 + 3600, False),
    ('@0301T00', SUNDAY_0010, True),
    ('@0302T00', SUNDAY_0010, False),
    ('$D0', SUNDAY_0010, True),
    ('$D23', SUNDAY_0010, False),
    ('$W0D0', SUNDAY_0010, True),
    ('$W1', SUNDAY_0010, False),
    ('$W0D23', SUNDAY_0010 + 23 * 3600, True),
    ('$M1D0', SUNDAY_0010, True),
    ('$ML', SUNDAY_0010, False),
    ('$ML', SUNDAY_0010 - 24 * 3600, True),   # Saturday 2026-02-28 00:10, the last day of February
    ('$ML', SUNDAY_0010 - 3600, False),
    ('$MLD23', SUNDAY_0010 - 3600, True),     # 2026-02-28 23:10
])
def test_rotation_at_a_time(sim, conf, when, now, due):
    write(sim.root_path('/var/log/t.log'), 'line\n')
    path = conf('/var/log/t.log 644 2 * %s N\n' % when)
    assert newsyslog(sim, '-f', path, now=now) == (0, '', '')
    assert os.path.exists(sim.root_path('/var/log/t.log.0')) == due


def test_rotation_by_interval(sim, conf):
    log = write(sim.root_path('/var/log/i.log'), 'one\n')
    path = conf('/var/log/i.log 644 3 * 24 N\n')
    assert newsyslog(sim, '-f', path) == (0, '', '')        # no log.0 yet: rotated at once
    assert listing(sim) == ['i.log', 'i.log.0']
    os.utime(log + '.0', (SUNDAY_0010 - 3600, SUNDAY_0010 - 3600))
    rc, out, _err = newsyslog(sim, '-n', '-v', '-f', path)
    assert out == '/var/log/i.log <3>: age (hr): 1 [24] --> skipping\n'
    os.utime(log + '.0', (SUNDAY_0010 - 25 * 3600, SUNDAY_0010 - 25 * 3600))
    assert newsyslog(sim, '-f', path) == (0, '', '')
    assert listing(sim) == ['i.log', 'i.log.0', 'i.log.1']
    # An interval and a time: both must hold.
    os.utime(log + '.0', (SUNDAY_0010 - 25 * 3600, SUNDAY_0010 - 25 * 3600))
    assert newsyslog(sim, '-f', conf('/var/log/i.log 644 3 * 24@T05 N\n')) == (0, '', '')
    assert listing(sim) == ['i.log', 'i.log.0', 'i.log.1']


def test_system_configuration_and_its_directory(sim):
    write(sim.root_path('/etc/newsyslog.conf'), '/var/log/main.log 644 2 1 * N\n')
    write(sim.root_path('/etc/newsyslog.d/com.llmhost.ollama.conf'), '/var/log/ollama.log 644 2 1 * N\n')
    write(sim.root_path('/etc/newsyslog.d/old.conf.disabled'), 'not even a valid line\n')
    for name in ('main.log', 'ollama.log', 'other.log'):
        write(sim.root_path('/var/log/' + name), 'x' * 2048)
    assert newsyslog(sim) == (0, '', '')
    assert listing(sim) == ['main.log', 'main.log.0', 'ollama.log', 'ollama.log.0', 'other.log']
    write(sim.root_path('/etc/newsyslog.d/bad.conf'), '/var/log/bad.log 644 2\n')
    assert newsyslog(sim, '-n') == (1, '', 'newsyslog: /etc/newsyslog.d/bad.conf line 1: malformed line '
                                           '(missing fields):\n/var/log/bad.log 644 2\n')
    os.unlink(sim.root_path('/etc/newsyslog.conf'))
    assert newsyslog(sim, '-n') == (1, '', 'newsyslog: /etc/newsyslog.conf: No such file or directory\n')


def test_the_shipped_configuration_parses(sim):
    write(sim.root_path('/etc/newsyslog.conf'), read(GUEST_CONF))
    assert newsyslog(sim, '-n') == (0, '', '')


def test_default_entry_and_named_logs(sim, conf):
    for name in ('a.log', 'b.log', 'other.log'):
        write(sim.root_path('/var/log/' + name), 'x' * 2048)
    path = conf('/var/log/a.log 644 2 1 * N\n/var/log/b.log 644 2 1 * N\n<default> 644 2 1 * N\n')
    assert newsyslog(sim, '-f', path, '/var/log/a.log', '/var/log/other.log') == (0, '', '')
    assert listing(sim) == ['a.log', 'a.log.0', 'b.log', 'other.log', 'other.log.0']


def test_glob_entries(sim, conf):
    for name in ('one.log', 'two.log', 'small.log'):
        write(sim.root_path('/var/log/app/' + name), 'x' * (10 if name == 'small.log' else 2048))
    assert newsyslog(sim, '-f', conf('/var/log/app/*.log 644 2 1 * GN\n')) == (0, '', '')
    assert listing(sim, '/var/log/app') == ['one.log', 'one.log.0', 'small.log', 'two.log', 'two.log.0']


def test_create_missing_logs(sim, conf):
    path = conf('/var/log/c.log admin:staff 600 2 1 * CN\n/var/log/d.log 644 2 1 * N\n')
    assert newsyslog(sim, '-f', path) == (0, '', '')
    assert not os.path.exists(sim.root_path('/var/log'))
    assert newsyslog(sim, '-C', '-f', path) == (1, '', 'newsyslog: /var/log/c.log: No such file or directory\n')
    os.makedirs(sim.root_path('/var/log'))
    assert newsyslog(sim, '-C', '-N', '-f', path) == (0, '', '')
    assert listing(sim) == ['c.log'] and read(sim.root_path('/var/log/c.log')) == ''
    assert newsyslog(sim, '-CC', '-N', '-f', path) == (0, '', '')
    assert listing(sim) == ['c.log', 'd.log']
    assert os.stat(sim.root_path('/var/log/c.log')).st_mode & 0o7777 == 0o600


def test_root_is_needed_to_rotate(sim, conf):
    log = write(sim.root_path('/var/log/r.log'), 'x' * 2048)
    path = conf('/var/log/r.log 644 2 1 * N\n')
    assert newsyslog(sim, '-f', path, euid=501) == (1, '', 'newsyslog: must have root privs\n')
    assert listing(sim) == ['r.log']
    assert newsyslog(sim, '-n', '-f', path, euid=501)[0] == 0
    assert newsyslog(sim, '-r', '-f', path, euid=501) == (0, '', '')
    assert os.path.exists(log + '.0')
    assert [(c['kind'], c['rc'], c['euid']) for c in sim.calls()] == [('write', 1, 501), ('read', 0, 501),
                                                                      ('write', 0, 501)]


DAEMON = """\
import signal, sys, time
def done(signum, frame):
    with open(sys.argv[1], 'w') as f:
        f.write(str(signum))
    sys.exit(0)
signal.signal(signal.SIGUSR1, done)
signal.signal(signal.SIGHUP, done)
with open(sys.argv[2], 'w') as f:
    f.write('ready')
time.sleep(30)
"""


@pytest.fixture
def daemon(sim, tmp_path):
    """A process that writes the signal it got into a file."""
    got, ready = str(tmp_path / 'got'), str(tmp_path / 'ready')
    proc = subprocess.Popen([sys.executable, '-c', DAEMON, got, ready])
    end = time.time() + 10
    while not os.path.exists(ready) and time.time() < end:
        time.sleep(0.02)
    proc.got = got
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_the_daemon_is_signalled_with_its_darwin_signal(sim, conf, daemon):
    write(sim.root_path('/var/log/d.log'), 'x' * 2048)
    write(sim.root_path('/var/run/d.pid'), '%d\n' % daemon.pid)
    assert newsyslog(sim, '-f', conf('/var/log/d.log 644 2 1 * Z /var/run/d.pid 30\n')) == (0, '', '')
    daemon.wait(timeout=10)
    assert read(daemon.got) == str(int(signal.SIGUSR1))     # Darwin's 30 is SIGUSR1
    assert listing(sim) == ['d.log', 'd.log.0.gz']


def test_no_signal_with_N_or_s(sim, conf, daemon):
    write(sim.root_path('/var/run/d.pid'), '%d\n' % daemon.pid)
    for flags, options in (('N', []), ('-', ['-s'])):
        write(sim.root_path('/var/log/d.log'), 'x' * 2048)
        line = '/var/log/d.log 644 2 1 * %s /var/run/d.pid 1\n' % flags
        assert newsyslog(sim, *(options + ['-f', conf(line)])) == (0, '', '')
    time.sleep(0.3)
    assert daemon.poll() is None and not os.path.exists(daemon.got)
    assert listing(sim) == ['d.log', 'd.log.0', 'd.log.1']


def test_a_missing_pid_file_is_a_warning(sim, conf):
    write(sim.root_path('/var/log/d.log'), 'x' * 2048)
    rc, out, err = newsyslog(sim, '-f', conf('/var/log/d.log 644 2 1 * - /var/run/none.pid\n'))
    assert (rc, out, err) == (0, '', "newsyslog: pid file doesn't exist: /var/run/none.pid\n")
    assert listing(sim) == ['d.log', 'd.log.0']


def test_usage(sim):
    assert newsyslog(sim, '-x') == (1, '', 'newsyslog: illegal option -- x\n' + USAGE)
    assert newsyslog(sim, '-f') == (1, '', 'newsyslog: option requires an argument -- f\n' + USAGE)
    assert newsyslog(sim, '-a', '/tmp') == (2, '', 'macsim: newsyslog -a is not simulated\n')
    assert [c['kind'] for c in sim.calls()] == ['error'] * 3


def test_gzip_archives_move_up(sim, conf):
    log = sim.root_path('/var/log/z.log')
    path = conf('/var/log/z.log 644 2 1 * Z\n')
    for generation in (1, 2, 3):
        write(log, ('gen %d\n' % generation) * 400)
        assert newsyslog(sim, '-f', path)[0] == 0
    assert listing(sim) == ['z.log', 'z.log.0.gz', 'z.log.1.gz']
    assert read(log + '.1.gz', gzip.open).startswith('gen 2\n')
