"""sw_vers, uname, vm_stat and system_profiler stand-ins (test fixtures), values from the
hardware profile.

sw_vers's format is from the brief/reference (tabs after the labels). uname, vm_stat and
system_profiler are not in the reference: their layouts follow macOS as remembered (INVENTED as
far as the reference goes); Ansible only needs `key: value` lines from them.
"""

import json

from macsimlib.common import out, err


# ---- sw_vers ----------------------------------------------------------------------------------

def sw_vers(ctx, args):
    osi = ctx.profile['os']
    fields = [('ProductName', osi['product_name']), ('ProductVersion', osi['product_version']),
              ('BuildVersion', osi['build'])]
    if not args:
        for label, value in fields:
            out('%s:\t\t%s' % (label, value))
        return 0, 'read'
    flags = {'-productname': osi['product_name'], '-productversion': osi['product_version'],
             '-buildversion': osi['build'],
             # Rapid Security Response suffix: none installed -> empty line (INVENTED).
             '-productversionextra': osi.get('product_version_extra', '')}
    if len(args) == 1 and args[0].lower() in flags:
        out(flags[args[0].lower()])
        return 0, 'read'
    # INVENTED text/exit status.
    err('Usage: sw_vers [-productName|-productVersion|-productVersionExtra|-buildVersion]')
    return 1, 'error'


# ---- uname ------------------------------------------------------------------------------------

def uname(ctx, args):
    osi = ctx.profile['os']
    fields = {'s': 'Darwin', 'n': ctx.hostname, 'r': osi['darwin_release'],
              'v': osi['kernel_version'], 'm': 'arm64', 'p': 'arm'}
    wanted = set()
    for arg in args:
        if not arg.startswith('-') or len(arg) < 2:
            err('usage: uname [-amnoprsv]')
            return 1, 'error'
        for ch in arg[1:]:
            if ch == 'a':
                wanted.update('snrvm')
            elif ch == 'o':
                wanted.add('s')
            elif ch in fields:
                wanted.add(ch)
            else:
                err("uname: illegal option -- %s" % ch)
                err('usage: uname [-amnoprsv]')
                return 1, 'error'
    if not wanted:
        wanted.add('s')
    out(' '.join(fields[k] for k in 'snrvmp' if k in wanted))
    return 0, 'read'


# ---- vm_stat ----------------------------------------------------------------------------------

# Shares of the pages, a plausible idle machine.
VM_SHARES = [('Pages free', 0.55), ('Pages active', 0.14), ('Pages inactive', 0.12),
             ('Pages speculative', 0.02), ('Pages throttled', 0.0), ('Pages wired down', 0.09),
             ('Pages purgeable', 0.005)]
VM_COUNTERS = [('"Translation faults"', 93706389), ('Pages copy-on-write', 3463718),
               ('Pages zero filled', 42764043), ('Pages reactivated', 318357),
               ('Pages purged', 154908), ('File-backed pages', None), ('Anonymous pages', None),
               ('Pages stored in compressor', 0), ('Pages occupied by compressor', 0),
               ('Decompressions', 0), ('Compressions', 0), ('Pageins', 2411629),
               ('Pageouts', 0), ('Swapins', 0), ('Swapouts', 0)]


def vm_stat(ctx, args):
    if args:
        # Interval mode is not simulated.
        err('macsim: vm_stat arguments are not simulated')
        return 2, 'error'
    hw = ctx.profile['hardware']
    page = hw.get('pagesize', 16384)
    total = hw['memsize'] // page
    out('Mach Virtual Memory Statistics: (page size of %d bytes)' % page)
    counts = {}
    for label, share in VM_SHARES:
        counts[label] = int(total * share)
        out('%-30s%16d.' % (label + ':', counts[label]))
    for label, value in VM_COUNTERS:
        if value is None:
            half = counts['Pages active'] + counts['Pages inactive']
            value = half // 2
        out('%-30s%16d.' % (label + ':', value))
    return 0, 'read'


# ---- system_profiler --------------------------------------------------------------------------

def hardware_overview(ctx):
    hw = ctx.profile['hardware']
    cores = '%d (%d performance and %d efficiency)' % (
        hw['cpu_total'], hw['cpu_performance'], hw['cpu_efficiency'])
    return [
        ('Model Name', hw['model_name'], 'machine_name'),
        ('Model Identifier', hw['model_id'], 'machine_model'),
        ('Model Number', hw['model_number'], 'model_number'),
        ('Chip', hw['chip'], 'chip_type'),
        ('Total Number of Cores', cores, 'number_processors'),
        ('Memory', '%d GB' % (hw['memsize'] // (1 << 30)), 'physical_memory'),
        ('System Firmware Version', hw['firmware'], 'boot_rom_version'),
        ('OS Loader Version', hw['firmware'], 'os_loader_version'),
        ('Serial Number (system)', hw['serial'], 'serial_number'),
        ('Hardware UUID', hw['hardware_uuid'], 'platform_UUID'),
        ('Provisioning UDID', hw['provisioning_udid'], 'provisioning_UDID'),
        ('Activation Lock Status', 'Disabled', 'activation_lock_status'),
    ]


def graphics(ctx):
    """The built-in GPU of an Apple Silicon Mac (SPDisplaysDataType), headless: no display attached."""
    hw = ctx.profile['hardware']
    return [
        ('Chipset Model', hw['chip'], 'sppci_model'),
        ('Type', 'GPU', 'sppci_device_type', 'spdisplays_gpu'),
        ('Bus', 'Built-In', 'sppci_bus', 'spdisplays_builtin'),
        ('Total Number of Cores', str(hw['gpu_cores']), 'sppci_cores'),
        ('Vendor', 'Apple (0x106b)', 'spdisplays_vendor', 'sppci_vendor_Apple'),
        ('Metal Support', 'Metal 3', 'spdisplays_mtlgpufamilysupport', 'spdisplays_metal3'),
    ]


def system_profiler(ctx, args):
    as_json = False
    types = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ('-json', '-xml'):
            if a == '-xml':
                err('macsim: system_profiler -xml is not simulated')
                return 2, 'error'
            as_json = True
        elif a in ('-detailLevel', '-timeout'):
            i += 1
        elif a.startswith('-'):
            pass
        else:
            types.append(a)
        i += 1
    chip = ctx.profile['hardware']['chip']
    # data type: (heading, section, the JSON entry's _name, rows of (label, text, JSON key[, JSON value]))
    known = {'SPHardwareDataType': ('Hardware', 'Hardware Overview', 'hardware_overview', hardware_overview(ctx)),
             'SPDisplaysDataType': ('Graphics/Displays', chip, chip, graphics(ctx))}
    if as_json:
        data = {}
        for t in types:
            if t in known:
                entry = {'_name': known[t][2]}
                entry.update((row[2], row[3] if len(row) > 3 else row[1]) for row in known[t][3])
                data[t] = [entry]
        out(json.dumps(data, indent=2))
        return 0, 'read'
    for t in types:
        if t not in known:
            continue  # INVENTED: data types that are not simulated print nothing
        heading, section, _name, rows = known[t]
        out('%s:' % heading)
        out('')
        out('    %s:' % section)
        out('')
        for row in rows:
            out('      %s: %s' % (row[0], row[1]))
        out('')
    return 0, 'read'
