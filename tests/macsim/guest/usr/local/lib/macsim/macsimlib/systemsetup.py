"""systemsetup stand-in (test fixture). Texts from the reference
(shared/reference/macos-formats.md section 2); everything marked INVENTED is not known from a
real Mac, so modules must not depend on it.

The power settings live in pmset's state (autorestart, sleep, womp), like on macOS where both
tools write the same preferences. Own state: /var/db/macsim/systemsetup.json
  {"restartfreeze": false, "remotelogin": true}
faults.json "systemsetup" keys: "full_disk_access": true lets -setremotelogin change the recorded
state (it never stops the simulation's sshd); "ignore": ["restartfreeze", "restartpowerfailure",
"computersleep", "wakeonnetworkaccess"] makes those setters print nothing and store nothing;
"fail": see common.py.
"""

from macsimlib import pmset
from macsimlib.common import out

STATE = 'systemsetup.json'

NOT_ADMIN = 'You need administrator access to run this tool... exiting!'
FDA_ERROR = ('setremotelogin: Turning Remote Login on or off requires Full Disk Access '
             'privileges.')
# INVENTED: the reference has no verbatim "not supported" text for Apple Silicon.
NOT_SUPPORTED = '%s: Not supported on this machine.'
# INVENTED: usage and bad-argument texts.
USAGE = ('Usage: systemsetup <option>\n'
         'Type "systemsetup -help" for the list of options (macsim simulates only a few).')


def initial_state():
    # INVENTED default: Restart After Freeze off on a fresh Mac.
    return {'restartfreeze': False, 'remotelogin': True}


def onoff(value):
    v = value.lower()
    if v in ('on', 'yes'):
        return True
    if v in ('off', 'no'):
        return False
    return None


def word(flag):
    return 'On' if flag else 'Off'


def bad_value(opt, value):
    # INVENTED text.
    out('%s: Invalid argument: %s' % (opt.lstrip('-'), value))
    return 1, 'error'


def pm_values(ctx, state=None):
    state = state or pmset.load(ctx)
    return state['settings'].get(state['current_source']) or {}


def pm_set_all(ctx, key, value):
    """Write one pmset setting into every profile (root already checked)."""
    with ctx.locked():
        state = pmset.load(ctx)
        for pname in ctx.profile['pmset']['profiles']:
            state['settings'].setdefault(pname, {})[key] = value
        pmset.save(ctx, state)


def main(ctx, args):
    is_set = bool(args) and args[0].lower().startswith('-set')
    if not ctx.is_root:
        # Every call, reads included: stdout, exit 0.
        out(NOT_ADMIN)
        return 0, 'write' if is_set else 'read'
    if not args:
        out(USAGE)
        return 1, 'error'
    opt, rest = args[0].lower(), args[1:]
    ignored = set(ctx.faults.get('ignore') or [])
    supported = pmset.caps(ctx)

    if opt == '-getrestartfreeze':
        state = ctx.load_state(STATE, initial_state)
        out('Restart After Freeze: %s' % word(state['restartfreeze']))
        return 0, 'read'

    if opt == '-getrestartpowerfailure':
        if 'autorestart' not in supported:
            out(NOT_SUPPORTED % 'Restart After Power Failure')
            return 0, 'read'
        out('Restart After Power Failure: %s' % word(pm_values(ctx).get('autorestart')))
        return 0, 'read'

    if opt == '-getcomputersleep':
        minutes = pm_values(ctx).get('sleep', 0)
        # "after N minutes" is unverified in the reference (INVENTED wording for N == 1 too).
        out('Computer Sleep: %s' % ('Never' if not minutes else 'after %d minutes' % minutes))
        return 0, 'read'

    if opt == '-getwakeonnetworkaccess':
        if 'womp' not in supported:
            out(NOT_SUPPORTED % 'Wake On Network Access')
            return 0, 'read'
        out('Wake On Network Access: %s' % word(pm_values(ctx).get('womp')))
        return 0, 'read'

    if opt == '-getremotelogin':
        state = ctx.load_state(STATE, initial_state)
        out('Remote Login: %s' % word(state['remotelogin']))
        return 0, 'read'

    if opt in ('-setrestartfreeze', '-setrestartpowerfailure', '-setwakeonnetworkaccess'):
        if len(rest) != 1:
            out(USAGE)
            return 1, 'error'
        flag = onoff(rest[0])
        if flag is None:
            return bad_value(opt, rest[0])
        if opt == '-setrestartfreeze':
            # INVENTED: prints nothing on success (no capture found).
            if 'restartfreeze' not in ignored:
                with ctx.locked():
                    state = ctx.load_state(STATE, initial_state)
                    state['restartfreeze'] = flag
                    ctx.save_state(STATE, state)
            return 0, 'write'
        if opt == '-setrestartpowerfailure':
            if 'autorestart' not in supported:
                out(NOT_SUPPORTED % 'Restart After Power Failure')
                return 0, 'write'
            # Believed to print nothing (reference 2.2, unverified).
            if 'restartpowerfailure' not in ignored:
                pm_set_all(ctx, 'autorestart', int(flag))
            return 0, 'write'
        if 'womp' not in supported:
            out(NOT_SUPPORTED % 'Wake On Network Access')
            return 0, 'write'
        if 'wakeonnetworkaccess' not in ignored:  # INVENTED: prints nothing
            pm_set_all(ctx, 'womp', int(flag))
        return 0, 'write'

    if opt == '-setcomputersleep':
        if len(rest) != 1:
            out(USAGE)
            return 1, 'error'
        raw = rest[0]
        if raw.lower() in ('never', 'off'):
            minutes = 0
        elif raw.isdigit():
            minutes = int(raw)
        else:
            return bad_value(opt, raw)
        if 'computersleep' not in ignored:  # INVENTED: prints nothing
            pm_set_all(ctx, 'sleep', minutes)
        return 0, 'write'

    if opt == '-setremotelogin':
        if rest and rest[0] == '-f':
            rest = rest[1:]
        if len(rest) != 1:
            out(USAGE)
            return 1, 'error'
        flag = onoff(rest[0])
        if flag is None:
            return bad_value(opt, rest[0])
        with ctx.locked():
            state = ctx.load_state(STATE, initial_state)
            if state['remotelogin'] == flag:
                # Real text for "on"; the "Off" variant is INVENTED by symmetry. Exit 0 assumed.
                out('setremotelogin: remote login is already %s.' % word(flag))
                return 0, 'write'
            if not ctx.faults.get('full_disk_access'):
                # No Full Disk Access in the simulation. Exit 1 as reported for macOS 15.
                out(FDA_ERROR)
                return 1, 'write'
            state['remotelogin'] = flag  # records only; the simulation's sshd keeps running
            ctx.save_state(STATE, state)
        return 0, 'write'

    # INVENTED: unknown option text and exit status.
    out('%s: unknown option' % args[0])
    out(USAGE)
    return 1, 'error'
