"""sysctl stand-in (test fixture): the OIDs Ansible's Darwin facts and the roles read, with
values from the hardware profile. `name: value` lines, -n (value only), -b (raw bytes: what
Ansible's uptime fact unpacks from kern.boottime), -a, -e, and `name=value` writes for a few
writable OIDs (iogpu.wired_limit_mb, kern.maxfiles, kern.maxfilesperproc).

Written values are runtime only, like a real kernel: they are kept in
/var/db/macsim/sysctl.json with the boot id and forgotten at the next boot, when /etc/sysctl.conf
(name=value lines) is applied instead, as macOS does at boot.

The reference has no sysctl samples: the error texts below follow macOS's sysctl(8) as remembered
(INVENTED as far as the reference goes); the value formats are the usual `name: value`.
"""

import struct
import sys
import time

from macsimlib.common import out, err

STATE = 'sysctl.json'
WRITABLE_DEFAULTS = {'iogpu.wired_limit_mb': 0, 'kern.maxfiles': 368640,
                     'kern.maxfilesperproc': 184320}


class Oid(object):
    __slots__ = ('name', 'value', 'ctype', 'listed')

    def __init__(self, name, value, ctype='i', listed=True):
        self.name, self.value, self.ctype, self.listed = name, value, ctype, listed

    def text(self):
        if self.ctype == 'tv':
            sec, usec = self.value
            return '{ sec = %d, usec = %d } %s' % (sec, usec, time.strftime(
                '%a %b %d %H:%M:%S %Y', time.localtime(sec)))
        return str(self.value)

    def raw(self):
        if self.ctype == 'tv':  # struct timeval on arm64: long tv_sec, int tv_usec, padding
            return struct.pack('=qi4x', *self.value)
        if self.ctype == 'q':
            return struct.pack('=q', self.value)
        if self.ctype == 'i':
            return struct.pack('=i', self.value)
        return str(self.value).encode() + b'\0'


def runtime_values(ctx):
    """Current values of the writable OIDs for this boot."""
    state = ctx.load_state(STATE, lambda: {})
    if state.get('boot_id') == ctx.boot.get('boot_id'):
        return dict(WRITABLE_DEFAULTS, **state.get('values', {}))
    values = dict(WRITABLE_DEFAULTS)
    values.update(read_sysctl_conf(ctx.root_path('/etc/sysctl.conf')))
    return values


def read_sysctl_conf(path):
    values = {}
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError:
        return values
    for line in lines:
        line = line.split('#', 1)[0].strip()
        if '=' not in line:
            continue
        name, value = [p.strip() for p in line.split('=', 1)]
        if name in WRITABLE_DEFAULTS and value.isdigit():
            values[name] = int(value)
    return values


def table(ctx):
    hw, osi = ctx.profile['hardware'], ctx.profile['os']
    n, perf, eff = hw['cpu_total'], hw['cpu_performance'], hw['cpu_efficiency']
    mem, page = hw['memsize'], hw.get('pagesize', 16384)
    booted = ctx.boot.get('booted_at') or (time.time() - 600)
    rt = runtime_values(ctx)
    rows = [
        Oid('hw.ncpu', n), Oid('hw.byteorder', 1234), Oid('hw.memsize', mem, 'q'),
        Oid('hw.activecpu', n), Oid('hw.optional.arm64', 1), Oid('hw.optional.floatingpoint', 1),
        Oid('hw.optional.neon', 1), Oid('hw.optional.armv8_crc32', 1),
        Oid('hw.perflevel0.physicalcpu', perf), Oid('hw.perflevel0.logicalcpu', perf),
        Oid('hw.perflevel0.name', 'Performance', 's'),
        Oid('hw.perflevel1.physicalcpu', eff), Oid('hw.perflevel1.logicalcpu', eff),
        Oid('hw.perflevel1.name', 'Efficiency', 's'),
        Oid('hw.features.allows_security_research', 0),
        Oid('hw.physicalcpu', n), Oid('hw.physicalcpu_max', n), Oid('hw.logicalcpu', n),
        Oid('hw.logicalcpu_max', n), Oid('hw.cputype', 16777228), Oid('hw.cpusubtype', 2),
        Oid('hw.cpu64bit_capable', 1), Oid('hw.cpufamily', hw.get('cpufamily', 0)),
        Oid('hw.cpusubfamily', hw.get('cpusubfamily', 0)),
        Oid('hw.cacheconfig', '%d 1 %d 0 0 0 0 0 0 0' % (n, perf), 's'),
        Oid('hw.cachesize', '%d 65536 4194304 0 0 0 0 0 0 0' % mem, 's'),
        Oid('hw.pagesize', page, 'q'), Oid('hw.pagesize32', page),
        Oid('hw.cachelinesize', 128, 'q'), Oid('hw.l1icachesize', 131072, 'q'),
        Oid('hw.l1dcachesize', 65536, 'q'), Oid('hw.l2cachesize', 4194304, 'q'),
        Oid('hw.tbfrequency', 24000000, 'q'), Oid('hw.memsize_usable', mem - mem // 64, 'q'),
        Oid('hw.packages', 1), Oid('hw.nperflevels', 2),
        # Not listed by `sysctl hw` (hence Ansible asks for it by name).
        Oid('hw.model', hw['model_id'], 's', listed=False),
        Oid('machdep.cpu.cores_per_package', n), Oid('machdep.cpu.core_count', n),
        Oid('machdep.cpu.logical_per_package', n), Oid('machdep.cpu.thread_count', n),
        Oid('machdep.cpu.brand_string', hw['chip'], 's'),
        Oid('machdep.virtual_address_size', 47), Oid('machdep.ptrauth_enabled', 1),
        Oid('kern.ostype', 'Darwin', 's'), Oid('kern.osrelease', osi['darwin_release'], 's'),
        Oid('kern.osrevision', osi.get('osrevision', 199506)),
        Oid('kern.version', osi['kernel_version'], 's'),
        Oid('kern.maxvnodes', 263168), Oid('kern.maxproc', 8000),
        Oid('kern.maxfiles', rt['kern.maxfiles']), Oid('kern.argmax', 1048576),
        Oid('kern.securelevel', 0), Oid('kern.hostname', ctx.hostname, 's'),
        Oid('kern.hostid', 0),
        Oid('kern.clockrate', '{ hz = 100, tick = 10000, tickadj = 0, profhz = 100, stathz = 100 }',
            's'),
        Oid('kern.posix1version', 200112), Oid('kern.ngroups', 16), Oid('kern.job_control', 1),
        Oid('kern.saved_ids', 1),
        Oid('kern.boottime', (int(booted), int((booted % 1) * 1000000)), 'tv'),
        Oid('kern.maxfilesperproc', rt['kern.maxfilesperproc']), Oid('kern.maxprocperuid', 5333),
        Oid('kern.osversion', osi['build'], 's'),
        Oid('kern.osproductversion', osi['product_version'], 's'),
        Oid('kern.iossupportversion', osi.get('ios_support_version', ''), 's'),
        Oid('kern.bootsessionuuid', str(ctx.boot.get('boot_id', '')).upper(), 's'),
        Oid('kern.hv_support', 1),
        Oid('vm.swapusage', 'total = 0.00M  used = 0.00M  free = 0.00M  (encrypted)', 's'),
        Oid('iogpu.wired_limit_mb', rt['iogpu.wired_limit_mb']),
    ]
    return rows


def select(rows, name):
    exact = [o for o in rows if o.name == name]
    if exact:
        return exact
    return [o for o in rows if o.listed and o.name.startswith(name + '.')]


def main(ctx, args):
    only_value = binary = show_all = equals = False
    names = []
    for arg in args:
        if arg.startswith('-') and len(arg) > 1 and not names:
            for ch in arg[1:]:
                if ch == 'n':
                    only_value = True
                elif ch == 'b':
                    binary = True
                elif ch in ('a', 'A', 'X'):
                    show_all = True
                elif ch == 'e':
                    equals = True
                elif ch == 'w':
                    pass  # legacy, name=value works without it
                else:
                    err('usage: sysctl [-bdehiNnoqx] name[=value] ...')
                    err('       sysctl [-bdehNnoqx] -a')
                    return 64, 'error'
        else:
            names.append(arg)
    if not names and not show_all:
        err('usage: sysctl [-bdehiNnoqx] name[=value] ...')
        err('       sysctl [-bdehNnoqx] -a')
        return 64, 'error'
    kind = 'write' if any('=' in a for a in names) else 'read'
    rows = table(ctx)
    sep = '=' if equals else ': '
    rc = 0
    if show_all and not names:
        for o in rows:
            emit(o, only_value, binary, sep)
    for arg in names:
        if '=' in arg:
            rc = max(rc, do_write(ctx, rows, arg))
            continue
        found = select(rows, arg)
        if not found:
            err("sysctl: unknown oid '%s'" % arg)
            rc = 1
            continue
        for o in found:
            emit(o, only_value, binary, sep)
    return rc, kind


def emit(o, only_value, binary, sep):
    if binary:
        sys.stdout.flush()
        sys.stdout.buffer.write(o.raw())
        sys.stdout.buffer.flush()
    elif only_value:
        out(o.text())
    else:
        out('%s%s%s' % (o.name, sep, o.text()))


def do_write(ctx, rows, arg):
    name, value = arg.split('=', 1)
    current = [o for o in rows if o.name == name]
    if not current:
        err("sysctl: unknown oid '%s'" % name)
        return 1
    if name not in WRITABLE_DEFAULTS:
        err("sysctl: oid '%s' is read only" % name)
        return 1
    if not value.isdigit():
        err("sysctl: invalid integer '%s'" % value)
        return 1
    if not ctx.is_root:
        err('sysctl: %s: Operation not permitted' % name)
        return 1
    with ctx.locked():
        state = ctx.load_state(STATE, lambda: {})
        if state.get('boot_id') != ctx.boot.get('boot_id'):
            conf = read_sysctl_conf(ctx.root_path('/etc/sysctl.conf'))
            state = {'boot_id': ctx.boot.get('boot_id'), 'values': conf}
        old = dict(WRITABLE_DEFAULTS, **state['values'])[name]
        state['values'][name] = int(value)
        ctx.save_state(STATE, state)
    out('%s: %s -> %s' % (name, old, int(value)))
    return 0
