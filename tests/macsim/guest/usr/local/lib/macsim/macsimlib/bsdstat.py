"""stat stand-in (test fixture): /usr/bin/stat of the simulated Mac is BSD's stat(1), not GNU's.

What a client of a Mac runs, e.g. testinfra's file module on a host whose `uname -s` is Darwin
(`stat -f %Su FILE`, `%u`, `%Sg`, `%g`, `%Lp`, `%m`, `%z`), from macOS's stat(1) man page (as
remembered: FreeBSD's stat.c, which Apple ships):

  stat [-FLnq] [-f format | -t timefmt] [file ...]

  -f FORMAT  `%[flags][width][.prec][fmt][sub]datum` per file, then a newline (-n: none).
             datum: d (device) i (inode) p (mode) l (links) u (uid) g (gid) r (rdev) a m c B
             (access, modification, change, birth time) z (size) b (blocks) k (block size) f (flags,
             always 0) v (generation, 0) N (name) T (file type) Y (link target) Z (rdev major,minor)
             n (newline) t (tab) % (percent). fmt: D, O, U, X (numbers), S (string: user/group name,
             `-rw-r--r--`, a time through -t's strftime format, default `%b %e %H:%M:%S %Y`).
             sub (p, d, r): H, M, L (mode: file type, suid/sgid/sticky, permission bits; octal by
             default, so `%Lp` is `644`). flags: `#` (0 / 0x prefix), `-` (left), `0` (zero pad).
  -L         follow a symbolic link (the default describes the link itself)
  -F         `ls -F`'s type character after a name in the default format (accepted, ignored)
  -q         no message for a file that cannot be stat'ed
  no -f      FreeBSD's default line: `%d %i %Sp %l %Su %Sg %r %z "%Sa" "%Sm" "%Sc" "%SB" %k %b %#Xf %N`

Exit 1 when a file cannot be stat'ed (`stat: FILE: stat: No such file or directory` unless -q), or
for an unknown option (`stat: illegal option -- c` and the usage line: GNU's `stat -c` is not a
Mac's). INVENTED (not in shared/reference): every text, the birth time (the change time: Linux's
os.stat has none), the device name of `%Sd` (the number), `-l`, `-r`, `-s`, `-x` not simulated
(`macsim: stat -x is not simulated`, exit 2).
"""

import grp
import os
import pwd
import re
import stat
import sys
import time

from macsimlib.common import err, out

USAGE = 'usage: stat [-FLnq] [-f format | -l | -r | -s | -x] [-t timefmt] [file ...]'
DEFAULT_FORMAT = '%d %i %Sp %l %Su %Sg %r %z "%Sa" "%Sm" "%Sc" "%SB" %k %b %#Xf %N'
DEFAULT_TIMEFMT = '%b %e %H:%M:%S %Y'
SPEC = re.compile(r'%([#+\- 0]*)(\d*)(?:\.(\d+))?([DOUXFS]?)([HLM]?)([a-zA-Z%])')
NOT_SIMULATED = ('l', 'r', 's', 'x')


class Usage(Exception):
    pass


class NotSimulated(Exception):
    pass


def mode_string(mode):
    """`-rw-r--r--` as ls(1) and strmode(3) print it."""
    kind = {stat.S_IFDIR: 'd', stat.S_IFLNK: 'l', stat.S_IFCHR: 'c', stat.S_IFBLK: 'b',
            stat.S_IFIFO: 'p', stat.S_IFSOCK: 's'}.get(stat.S_IFMT(mode), '-')
    chars = []
    for shift, special, letter in ((6, stat.S_ISUID, 's'), (3, stat.S_ISGID, 's'), (0, stat.S_ISVTX, 't')):
        bits = (mode >> shift) & 7
        chars.append('r' if bits & 4 else '-')
        chars.append('w' if bits & 2 else '-')
        execute = bits & 1
        if mode & special:
            chars.append(letter if execute else letter.upper())
        else:
            chars.append('x' if execute else '-')
    return kind + ''.join(chars)


def file_type_char(mode):
    return {stat.S_IFDIR: '/', stat.S_IFLNK: '@', stat.S_IFIFO: '|', stat.S_IFSOCK: '='}.get(
        stat.S_IFMT(mode), '*' if mode & 0o111 and stat.S_ISREG(mode) else '')


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _number(value, fmt, flags, width, default='D'):
    fmt = fmt or default
    if fmt == 'O':
        text = '%o' % value
        if '#' in flags and value:
            text = '0' + text
    elif fmt == 'X':
        text = '%x' % value
        if '#' in flags:
            text = '0x' + text
    else:
        text = '%d' % value
    return _pad(text, flags, width, numeric=True)


def _pad(text, flags, width, numeric=False):
    if not width or len(text) >= int(width):
        return text
    width = int(width)
    if '-' in flags:
        return text.ljust(width)
    if numeric and '0' in flags:
        return text.rjust(width, '0')
    return text.rjust(width)


def _mode_part(mode, sub):
    if sub == 'H':
        return (mode >> 12) & 0o17     # file type bits (octal 10 for a regular file)
    if sub == 'M':
        return (mode >> 9) & 0o7
    if sub == 'L':
        return mode & 0o777
    return mode & 0o177777


def render(spec, path, st, timefmt):
    flags, width, prec, fmt, sub, datum = spec.groups()
    if datum == 'n':
        return '\n'
    if datum == 't':
        return '\t'
    if datum == '%':
        return '%'
    if datum == 'p':
        if fmt == 'S':
            return _pad(mode_string(st.st_mode), flags, width)
        return _number(_mode_part(st.st_mode, sub), fmt, flags, width, default='O')
    if datum in ('u', 'g'):
        number = st.st_uid if datum == 'u' else st.st_gid
        if fmt == 'S':
            return _pad(user_name(number) if datum == 'u' else group_name(number), flags, width)
        return _number(number, fmt, flags, width)
    if datum in ('a', 'm', 'c', 'B'):
        seconds = {'a': st.st_atime, 'm': st.st_mtime, 'c': st.st_ctime, 'B': st.st_ctime}[datum]
        if fmt == 'S':
            return _pad(time.strftime(timefmt, time.localtime(seconds)), flags, width)
        if fmt == 'F':
            return _pad('%.*f' % (int(prec) if prec else 9, seconds), flags, width, numeric=True)
        return _number(int(seconds), fmt, flags, width)
    if datum == 'N':
        return _pad(path, flags, width)
    if datum == 'Y':
        return (' -> ' + os.readlink(path)) if stat.S_ISLNK(st.st_mode) else ''
    if datum == 'T':
        return _pad(file_type_char(st.st_mode), flags, width)
    if datum == 'Z':
        return '%d,%d' % (os.major(st.st_rdev), os.minor(st.st_rdev))
    numbers = {'d': st.st_dev, 'i': st.st_ino, 'l': st.st_nlink, 'r': st.st_rdev, 'z': st.st_size,
               'b': getattr(st, 'st_blocks', 0), 'k': getattr(st, 'st_blksize', 4096), 'f': 0, 'v': 0}
    if datum in numbers:
        return _number(numbers[datum], fmt if fmt != 'S' else 'D', flags, width)
    return ''   # an unknown datum prints nothing (INVENTED)


def format_file(fmt, path, st, timefmt):
    pieces = []
    pos = 0
    for match in SPEC.finditer(fmt):
        pieces.append(fmt[pos:match.start()])
        pieces.append(render(match, path, st, timefmt))
        pos = match.end()
    pieces.append(fmt[pos:])
    return ''.join(pieces)


def parse(args):
    opts = {'format': None, 'follow': False, 'newline': True, 'quiet': False, 'timefmt': DEFAULT_TIMEFMT}
    rest = list(args)
    while rest and rest[0].startswith('-') and rest[0] != '-':
        arg = rest.pop(0)
        if arg == '--':
            break
        letters = arg[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter in ('f', 't'):
                value = letters or (rest.pop(0) if rest else None)
                if value is None:
                    raise Usage('option requires an argument -- %s' % letter)
                opts['format' if letter == 'f' else 'timefmt'] = value
                letters = ''
            elif letter == 'L':
                opts['follow'] = True
            elif letter == 'n':
                opts['newline'] = False
            elif letter == 'q':
                opts['quiet'] = True
            elif letter == 'F':
                pass
            elif letter in NOT_SIMULATED:
                raise NotSimulated('-' + letter)
            else:
                raise Usage('illegal option -- %s' % letter)
    return opts, rest


def main(ctx, args):
    try:
        opts, files = parse(args)
    except Usage as e:
        err('stat: %s' % e)
        err(USAGE)
        return 1, 'error'
    except NotSimulated as e:
        err('macsim: stat %s is not simulated' % e)
        return 2, 'error'
    if not files:
        err('macsim: stat of standard input is not simulated')
        return 2, 'error'
    rc = 0
    for path in files:
        try:
            st = os.stat(path) if opts['follow'] else os.lstat(path)
        except OSError as e:
            if not opts['quiet']:
                err('stat: %s: stat: %s' % (path, e.strerror))
            rc = 1
            continue
        text = format_file(opts['format'] or DEFAULT_FORMAT, path, st, opts['timefmt'])
        if opts['newline']:
            out(text)
        else:
            sys.stdout.write(text)
    return rc, 'read'
