"""pmset stand-in (test fixture). Formats, rules and texts from the reference
(shared/reference/macos-formats.md section 1); comments marked INVENTED cover what it leaves open.

State: /var/db/macsim/pmset.json
  {"settings": {"AC Power": {name: value, ...}, ...},   # stored per power profile
   "system": {"SleepDisabled": 0, ...},                  # System-wide power settings
   "current_source": "AC Power",                         # what -g / -g cap / -g ps report
   "battery": null | {"name", "id", "percent", "state", "remaining"}}
It starts as a copy of the profile's "pmset" section; tests may edit current_source/battery.

faults.json "pmset" keys: "ignore": [setting names pmset silently does not store],
"sleep_prevented_by" / "display_sleep_prevented_by": [assertion owners shown in -g live],
"fail": see common.py.
"""

import re

from macsimlib.common import out, err

STATE = 'pmset.json'

USAGE = ("Usage: pmset <options>\n"
         "See pmset(1) for details: 'man pmset'")

# The all_features[] table, in its order: `-g cap` prints the supported ones in this order, and
# a setting named here that the machine does not support is silently not stored.
# The reference lists tcpkeepalive in the table but also says it is not in it and may not show in
# -g cap; it is always settable and shown in -g custom on real machines, so it is left out here.
FEATURES = ['displaysleep', 'disksleep', 'sleep', 'womp', 'ring', 'acwake', 'autorestart',
            'lidwake', 'lessbright', 'halfdim', 'sms', 'gpuswitch', 'standby',
            'standbydelayhigh', 'standbydelaylow', 'highstandbythreshold', 'powernap',
            'ttyskeepawake', 'hibernatemode', 'hibernatefile', 'autopoweroff',
            'autopoweroffdelay', 'proximitywake', 'vactdisabled', 'lowpowermode',
            'highpowermode']

MINUTES, ONOFF, INT, HIBERNATE, PATH, POWERMODE = 'min', 'onoff', 'int', 'hib', 'path', 'pm'
QUIET_ONOFF, QUIET_INT = 'qonoff', 'qint'  # bad value: exit without the usage text

SETTINGS = {
    'displaysleep': MINUTES, 'disksleep': MINUTES, 'sleep': MINUTES,
    'womp': ONOFF, 'ring': ONOFF, 'powernap': ONOFF, 'proximitywake': ONOFF,
    'autorestart': ONOFF, 'lidwake': ONOFF, 'acwake': ONOFF, 'lessbright': ONOFF,
    'halfdim': ONOFF, 'sms': ONOFF, 'ttyskeepawake': ONOFF, 'tcpkeepalive': ONOFF,
    'standby': ONOFF,
    'networkoversleep': INT, 'standbydelay': INT, 'standbydelaylow': INT,
    'standbydelayhigh': INT, 'highstandbythreshold': INT, 'gpuswitch': INT,
    'autopoweroff': QUIET_ONOFF, 'autopoweroffdelay': QUIET_INT,
    'hibernatemode': HIBERNATE, 'hibernatefile': PATH, 'lowpowermode': POWERMODE,
}
SYNONYMS = {'dim': 'displaysleep', 'spindown': 'disksleep', 'darkwakes': 'powernap',
            'powermode': 'lowpowermode'}
# System-wide settings: name -> key printed in the "System-wide power settings:" block.
SYSTEM = {'disablesleep': 'SleepDisabled', 'destroyfvkeyonstandby': 'DestroyFVKeyOnStandby',
          'vactdisabled': 'VACTDisabled'}
SYSTEM_ORDER = ['SleepDisabled', 'DestroyFVKeyOnStandby', 'VACTDisabled']

FLAGS = {'-a': 'all', '-b': 'Battery Power', '-c': 'AC Power', '-u': 'UPS Power'}

# Real `-g` arguments this simulation does not implement (answered with a clear macsim error,
# never with pmset's "unhandled argument", which would claim they do not exist).
UNSIMULATED_GETS = {'assertions', 'assertionslog', 'sysload', 'sysloadlog', 'therm', 'thermlog',
                    'uuid', 'uuidlog', 'history', 'historydetailed', 'hidnull', 'log', 'rawlog',
                    'stats', 'systemstate', 'everything', 'powerstate', 'pslog', 'rawbatt',
                    'useractivity', 'adapter', 'ac', 'ups', 'dynamicdwmode', 'accps',
                    'sleepblockers'}
UNSIMULATED_ACTIONS = {'sleepnow', 'displaysleepnow', 'boot', 'touch', 'noidle',
                       'restoredefaults', 'schedule', 'repeat', 'relative', 'force',
                       'resetdisplayambientparams', 'summary', 'lowpowermode_status'}

TCPKA_WARNING = ("Warning: This option disables TCP Keep Alive mechanism when sytem is sleeping. "
                 "This will result in some critical features like 'Find My Mac' not to function "
                 "properly.")


class ParseError(Exception):
    """kParseBadArgs: usage on stdout, exit 1."""


class Refused(Exception):
    """A specific error message (stdout) and exit 1."""


class QuietFail(Exception):
    """Exit 1 without output (autopoweroff* bad values)."""


def initial_state(profile):
    pm = profile['pmset']
    return {
        'settings': {name: dict(pm['settings'].get(name, {})) for name in pm['profiles']},
        'system': dict(pm.get('system') or {}),
        'current_source': pm.get('current_source', 'AC Power'),
        'battery': pm.get('battery'),
    }


def load(ctx):
    return ctx.load_state(STATE, lambda: initial_state(ctx.profile))


def save(ctx, state):
    ctx.save_state(STATE, state)


def caps(ctx):
    return set(ctx.profile['pmset']['cap'])


def display_name(ctx, key):
    if key == 'lowpowermode':
        return 'powermode' if 'highpowermode' in caps(ctx) else 'lowpowermode'
    return key


def ordered_keys(keys, order):
    index = {k: i for i, k in enumerate(order)}
    return sorted(keys, key=lambda k: (index.get(k, len(order)), k))


def fmt_line(name, value):
    # printf(" %-20s ", name) then the value; longer names are not padded.
    return ' %-20s %s' % (name, value)


# ---- reads --------------------------------------------------------------------------------------

def show_custom(ctx, state):
    pm = ctx.profile['pmset']
    for pname in pm['profiles']:
        values = state['settings'].get(pname)
        if values is None:
            continue
        out('%s:' % pname)
        for key in ordered_keys(values, pm['custom_order']):
            out(fmt_line(display_name(ctx, key), values[key]))


def show_live(ctx, state):
    pm = ctx.profile['pmset']
    supported = caps(ctx)
    out('System-wide power settings:')
    system = state.get('system') or {}
    for key in SYSTEM_ORDER:
        if key in system:
            out(' %s\t\t%d' % (key, system[key]))
    out('Currently in use:')
    values = state['settings'].get(state['current_source']) or {}
    prevented = ctx.faults.get('sleep_prevented_by') or []
    dprevented = ctx.faults.get('display_sleep_prevented_by') or []
    for key in ordered_keys(values, pm['live_order']):
        # prune_unsupported: hide feature-table settings the hardware lacks. The raw
        # SleepServices key is not shown either (no live sample shows it).
        if (key in FEATURES and key not in supported) or key == 'SleepServices':
            continue
        line = fmt_line(display_name(ctx, key), values[key])
        if key == 'sleep' and prevented:
            line += ' (sleep prevented by %s)' % ', '.join(prevented)
        if key == 'displaysleep' and dprevented:
            line += ' (display sleep prevented by %s)' % ', '.join(dprevented)
        out(line)


def show_cap(ctx, state):
    supported = caps(ctx)
    out('Capabilities for %s:' % state['current_source'])
    for name in FEATURES:
        if name in supported:
            out(' %s' % name)


def show_ps(ctx, state):
    out("Now drawing from '%s'" % state['current_source'])
    batt = state.get('battery')
    if batt:
        line = ' -%s (id=%d)\t%d%%; %s' % (batt['name'], batt['id'], batt['percent'], batt['state'])
        if batt['state'] != 'AC attached; not charging':
            remaining = batt.get('remaining')
            line += '; %s remaining' % remaining if remaining else '; (no estimate)'
        line += ' present: true'
        out(line)


def do_get(ctx, args):
    what = args[0] if args else ''
    if what in ('', 'live'):
        show = show_live
    elif what in ('custom', 'disk'):
        show = show_custom
    elif what == 'cap':
        show = show_cap
    elif what in ('ps', 'batt'):
        show = show_ps
    elif what == 'sched':
        # Schedules are not simulated; a Mac without any prints this.
        out('No scheduled events.')
        return 0, 'read'
    elif what in UNSIMULATED_GETS:
        err('macsim: pmset -g %s is not simulated' % what)
        return 2, 'error'
    else:
        out('Error: unhandled argument %s' % what)
        out(USAGE)
        return 1, 'error'
    with ctx.locked(shared=True):
        state = load(ctx)
    show(ctx, state)
    return 0, 'read'


# ---- writes ---------------------------------------------------------------------------------

def parse_number(value, quiet=False):
    # strtol-based checks: digits only; a negative or non-numeric value is an error.
    if not re.match(r'^[0-9]+$', value):
        if quiet:
            raise QuietFail()
        raise ParseError()
    return int(value)


def parse_settings(ctx, args):
    """All arguments first: [(target, name, value)], [(system_key, value)]."""
    target = 'all'  # no flag behaves like -a
    ops, sysops = [], []
    i = 0
    if not args:
        raise ParseError()  # INVENTED: bare `pmset` is treated as bad arguments
    while i < len(args):
        arg = args[i]
        if arg.startswith('-'):
            if arg not in FLAGS:
                raise ParseError()
            target = FLAGS[arg]
            i += 1
            continue
        if i + 1 >= len(args):
            raise ParseError()
        name, raw = SYNONYMS.get(arg, arg), args[i + 1]
        i += 2
        if name in SYSTEM:
            sysops.append((SYSTEM[name], 1 if parse_number(raw) else 0))
            continue
        kind = SETTINGS.get(name)
        if kind is None:
            raise ParseError()
        if kind in (MINUTES, INT):
            value = parse_number(raw)
        elif kind == ONOFF:
            value = 1 if parse_number(raw) else 0
        elif kind == QUIET_ONOFF:
            value = 1 if parse_number(raw, quiet=True) else 0
        elif kind == QUIET_INT:
            value = parse_number(raw, quiet=True)
        elif kind == HIBERNATE:
            # checkSupportedHibernateMode: only 0, 3, 25. INVENTED: failure prints the usage.
            if raw not in ('0', '3', '25'):
                raise ParseError()
            value = int(raw)
        elif kind == PATH:
            # INVENTED: "must be on the root volume" reduced to "an absolute path".
            if not raw.startswith('/'):
                raise ParseError()
            value = raw
        else:  # POWERMODE
            value = parse_number(raw)
            if value > 2:
                raise Refused('Unsupported mode %d' % value)
            check_powermode(ctx, target, value)
        ops.append((target, name, value))
    if not ops and not sysops:
        raise ParseError()  # INVENTED: flags without settings
    return ops, sysops


def targets(ctx, target):
    existing = ctx.profile['pmset']['profiles']
    return [p for p in existing if target == 'all' or p == target]


def check_powermode(ctx, target, value):
    supported = caps(ctx)
    for pname in targets(ctx, target):
        if value >= 1 and 'lowpowermode' not in supported:
            raise Refused('LowPowerMode not supported on %s' % pname)
        if value == 2 and 'highpowermode' not in supported:
            raise Refused('HighPowerMode not supported on %s' % pname)


def timer_warnings(values):
    s, ds, dk = values.get('sleep'), values.get('displaysleep'), values.get('disksleep')
    problems = []
    if s:
        if s != 1 and ds is not None and (ds == 0 or ds > s):
            problems.append('- Display sleep should have a lower timeout than system sleep.')
        if dk == 0:
            problems.append('- Disk sleep should be non-zero whenever system sleep is non-zero.')
    return problems


def do_set(ctx, args):
    try:
        ops, sysops = parse_settings(ctx, args)
    except ParseError:
        out(USAGE)
        return 1, 'error'
    except Refused as e:
        out(str(e))
        return 1, 'error'
    except QuietFail:
        return 1, 'error'

    if not ctx.is_root:
        # Same text for every system-wide key, exit status stays 0 for those; any profile
        # setting fails the command. argv[0] as the interpreter saw it (see README).
        msg = "'%s' must be run as root..." % ctx.argv[0]
        for _key in sysops:
            out(msg)
        if ops:
            out(msg)
            return 1, 'write'
        return 0, 'write'

    supported = caps(ctx)
    ignored = set(SYNONYMS.get(n, n) for n in (ctx.faults.get('ignore') or []))
    touched = []
    with ctx.locked():
        state = load(ctx)
        for key, value in sysops:
            if key not in ignored:
                state['system'][key] = value
        for target, name, value in ops:
            for pname in targets(ctx, target):
                if pname not in touched:
                    touched.append(pname)
                if name in FEATURES and name not in supported:
                    continue  # the hardware does not support it: silently not stored
                if name in ignored:
                    continue  # fault injection: pmset "accepts" it and stores nothing
                values = state['settings'].setdefault(pname, {})
                values[name] = value
                if name == 'powernap':
                    values['SleepServices'] = value
        save(ctx, state)
    # INVENTED (order/timing): the tcpkeepalive warning is printed once, after the write.
    if any(name == 'tcpkeepalive' and value == 0 for _target, name, value in ops):
        out(TCPKA_WARNING)
    for pname in ctx.profile['pmset']['profiles']:
        if pname not in touched:
            continue
        problems = timer_warnings(state['settings'].get(pname, {}))
        if problems:
            err('Warning: Idle sleep timings for "%s" may not behave as expected.' % pname)
            for line in problems:
                err(line)
    return 0, 'write'


def main(ctx, args):
    if args and args[0] == '-g':
        return do_get(ctx, args[1:])
    if args and args[0] in UNSIMULATED_ACTIONS:
        err('macsim: pmset %s is not simulated' % args[0])
        return 2, 'error'
    return do_set(ctx, args)
