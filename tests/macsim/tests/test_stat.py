"""stat stand-in: a Mac's stat(1) is BSD's (`stat -f FORMAT`), which is what testinfra's file module runs
on a host that says Darwin (molecule's verifiers: owner, group, mode of a file)."""

import grp
import os
import pwd
import shlex
import subprocess
import sys

import pytest

STAT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'guest', 'usr', 'bin', 'stat')
USAGE = 'usage: stat [-FLnq] [-f format | -l | -r | -s | -x] [-t timefmt] [file ...]\n'


def stat(sim, *args):
    proc = subprocess.run([sys.executable, STAT] + list(args), env=sim.env(501), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / 'kcpassword'
    path.write_bytes(b'12345678')
    path.chmod(0o600)
    os.utime(str(path), (1700000000, 1700000100))
    return str(path)


def me():
    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


@pytest.mark.parametrize('fmt, want', [
    ('%u', str(os.getuid())), ('%g', str(os.getgid())), ('%Lp', '600'), ('%p', '100600'),
    ('%OLp', '600'), ('%#Lp', '0600'), ('%Sp', '-rw-------'), ('%z', '8'), ('%m', '1700000100'),
    ('%a', '1700000000'), ('%Hp %Mp', '10 0'), ('[%5z|%-5z|%05z]', '[    8|8    |00008]'), ('%%', '%'),
    ('%Xz %#Xz', '8 0x8'), ('%z%n%z%t.', '8\n8\t.')])
def test_formats(sim, a_file, fmt, want):
    assert stat(sim, '-f', fmt, a_file) == (0, want + '\n', '')


def test_names_and_the_file_name(sim, a_file):
    user, group = me()
    assert stat(sim, '-f', '%Su:%Sg %N', a_file) == (0, '%s:%s %s\n' % (user, group, a_file), '')


def test_times_through_strftime(sim, a_file):
    rc, out, _err = stat(sim, '-t', '%Y', '-f', '%Sm', a_file)
    assert (rc, out) == (0, '2023\n')
    rc, out, _err = stat(sim, '-f', '%Sm', a_file)
    assert rc == 0 and out.endswith(' 2023\n') and out.startswith('Nov ')


def test_no_newline_and_several_files(sim, a_file, tmp_path):
    assert stat(sim, '-n', '-f', '%z', a_file) == (0, '8', '')
    assert stat(sim, '-f', '%z %N', a_file, str(tmp_path)) == (0, '8 %s\n%d %s\n' % (
        a_file, os.stat(str(tmp_path)).st_size, tmp_path), '')


def test_symbolic_links(sim, a_file, tmp_path):
    link = str(tmp_path / 'link')
    os.symlink(a_file, link)
    assert stat(sim, '-f', '%Sp%Y', link) == (0, 'lrwxrwxrwx -> %s\n' % a_file, '')
    assert stat(sim, '-L', '-f', '%Sp %z', link) == (0, '-rw------- 8\n', '')


def test_the_default_line(sim, a_file):
    user, group = me()
    rc, out, _err = stat(sim, a_file)
    st = os.stat(a_file)
    assert rc == 0
    assert out.startswith('%d %d -rw------- 1 %s %s 0 8 "' % (st.st_dev, st.st_ino, user, group))
    assert out.endswith('" %d %d 0x0 %s\n' % (st.st_blksize, st.st_blocks, a_file))
    assert out.count('"') == 8


def test_a_missing_file(sim, a_file, tmp_path):
    missing = str(tmp_path / 'nope')
    assert stat(sim, '-f', '%z', missing) == (1, '', 'stat: %s: stat: No such file or directory\n' % missing)
    assert stat(sim, '-q', '-f', '%z', missing, a_file) == (1, '8\n', '')


@pytest.mark.parametrize('args, message', [(['-c', '%U'], 'illegal option -- c'),
                                           (['--format=%U'], 'illegal option -- -'),
                                           (['-f'], 'option requires an argument -- f')])
def test_gnu_options_are_not_a_macs(sim, a_file, args, message):
    files = [a_file] if args != ['-f'] else []
    assert stat(sim, *(args + files)) == (1, '', 'stat: %s\n%s' % (message, USAGE))


def test_standard_input_is_not_simulated(sim):
    assert stat(sim, '-f', '%z') == (2, '', 'macsim: stat of standard input is not simulated\n')


@pytest.mark.parametrize('option', ['-x', '-s', '-l', '-r'])
def test_not_simulated(sim, a_file, option):
    assert stat(sim, option, a_file) == (2, '', 'macsim: stat %s is not simulated\n' % option)


def test_testinfra_file_module_on_darwin(sim, a_file, tmp_path):
    """The commands testinfra's DarwinFile (BSDFile) runs, answered by the stand-in."""
    file_module = pytest.importorskip('testinfra.modules.file')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    wrapper = bin_dir / 'stat'
    wrapper.write_text('#!/bin/sh\nexec %s %s "$@"\n' % (shlex.quote(sys.executable), shlex.quote(STAT)))
    wrapper.chmod(0o755)
    env = dict(sim.env(501), PATH='%s:%s' % (bin_dir, os.environ.get('PATH', '/usr/bin:/bin')))

    class Host(object):
        path = a_file

        @staticmethod
        def check_output(command, *args):
            line = command % tuple(shlex.quote(a) for a in args)
            return subprocess.run(line, shell=True, env=env, check=True, stdout=subprocess.PIPE,
                                  universal_newlines=True).stdout.rstrip('\r\n')

    user, group = me()
    cls = file_module.DarwinFile
    assert (cls.user.fget(Host), cls.group.fget(Host), cls.mode.fget(Host)) == (user, group, 0o600)
    assert (cls.uid.fget(Host), cls.gid.fget(Host), cls.size.fget(Host)) == (os.getuid(), os.getgid(), 8)
    assert cls.mtime.fget(Host).timestamp() == 1700000100
