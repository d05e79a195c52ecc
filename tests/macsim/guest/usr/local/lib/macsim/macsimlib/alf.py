"""socketfilterfw stand-in (test fixture): /usr/libexec/ApplicationFirewall/socketfilterfw of the simulated Mac.

Texts from shared/reference/macos-formats-provisioning.md section 6.4 (REAL unless marked). The
state lives in /var/db/macsim/alf.json and persists across reboots, as the Application Firewall's
settings do; a fresh Mac has the firewall off, stealth mode off, both "allow signed" settings on
and no apps listed (the empty list is INVENTED: a real Mac may list some of Apple's own).

Root rules: the readers work for anyone; the setters print what they print as root but, run
without root, change nothing (REAL for --add: lima-vm/socket_vmnet#51; assumed for the others).
Exit status 0 for every simulated option (INVENTED: no capture shows one), 1 with the usage text
for anything unknown (INVENTED), 2 for real options that are not simulated.

The simulated ALF records state only: nothing is filtered per application (INVENTED limitation;
pf's enforcement is the stand-in's only packet filter).
"""

from macsimlib.common import out, err

STATE = 'alf.json'

# The usage line of a real socketfilterfw (a blog transcript, OS X 10.10 era; abbreviated there too).
USAGE = ('usage: /usr/libexec/ApplicationFirewall/socketfilterfw [-c] [-w] [-d] [-l] [-T] [-U] [-B] [-L]\n'
         '    [-a listen or accept] [-p pid to write] [--getglobalstate] [--setglobalstate on | off]\n'
         '    [--getblockall] [--setblockall on | off] [--listapps]\n'
         '    [--getappblocked <path>] [--blockapp <path>] [--unblockapp <path>]\n'
         '    [--add <path>] [--remove <path>] [--getallowsigned] [--setallowsigned]\n'
         '    [--getstealthmode] [--setstealthmode on | off]\n'
         '    [--getloggingmode] [--setloggingmode on | off]\n'
         '    [--getloggingopt] [--setloggingopt throttled | brief | detail]')
NOT_SIMULATED = ('--getappblocked', '--setallowsigned', '--setallowsignedapp', '--getloggingmode', '--setloggingmode',
                 '--getloggingopt', '--setloggingopt')
NOT_PART = 'The application is not part of the firewall'


def initial_state():
    return {'globalstate': 0, 'blockall': False, 'stealth': False, 'allowsigned': True, 'allowsignedapp': True,
            'apps': []}


def global_line(state):
    number = state['globalstate']
    if number == 0:
        return 'Firewall is disabled. (State = 0)'
    if number == 2:
        return 'Firewall is blocking all non-essential incoming connections. (State = 2)'   # REAL, macOS 15
    return 'Firewall is enabled. (State = 1)'


def listapps_lines(state):
    """--listapps in the macOS 15 layout (REAL, nix-darwin#1705; whitespace as measured: one space
    either side of the colon, a trailing space after the path, 13 spaces before the parenthesis)."""
    lines = ['Total number of apps = %d' % len(state['apps'])]
    for number, app in enumerate(state['apps'], 1):
        lines.append('%d : %s ' % (number, app['path']))
        lines.append('             (%s incoming connections)' % ('Allow' if app['allow'] else 'Block'))
    return lines


def _find(state, path):
    for app in state['apps']:
        if app['path'] == path:
            return app
    return None


def _on_off(value):
    if value not in ('on', 'off'):
        return None
    return value == 'on'


def apply_option(state, option, value):
    """One option: (lines to print, changed?) or None for a usage error."""
    if option == '--getglobalstate':
        return [global_line(state)], False
    if option == '--setglobalstate':
        on = _on_off(value)
        if on is None:
            return None
        state['globalstate'] = (2 if state['blockall'] else 1) if on else 0
        return [global_line(state)], True
    if option == '--getblockall':
        return ['Firewall has block all state set to %s.' % ('enabled' if state['blockall'] else 'disabled')], False
    if option == '--setblockall':
        on = _on_off(value)
        if on is None:
            return None
        state['blockall'] = on
        if state['globalstate']:
            state['globalstate'] = 2 if on else 1
        if on:
            return ['Firewall is set to block all non-essential incoming connections'], True    # REAL
        return ['Firewall has block all state set to disabled.'], True                         # INVENTED
    if option == '--getstealthmode':
        return ['Firewall stealth mode is %s' % ('on' if state['stealth'] else 'off')], False  # DERIVED (a parser)
    if option == '--setstealthmode':
        on = _on_off(value)
        if on is None:
            return None
        state['stealth'] = on
        return ['Stealth mode %s' % ('enabled' if on else 'disabled')], True                   # INVENTED
    if option == '--getallowsigned':
        return ['Automatically allow built-in signed software %s.' % ('ENABLED' if state['allowsigned'] else 'DISABLED'),
                'Automatically allow downloaded signed software %s.' % ('ENABLED' if state['allowsignedapp'] else 'DISABLED')], False
    if option == '--listapps':
        return listapps_lines(state), False
    if option == '--add':
        if _find(state, value) is None:
            state['apps'].append({'path': value, 'allow': True})
        # REAL; INVENTED: the same line for an app already listed, and no check that the path exists.
        return ['Application at path ( %s ) added to firewall' % value], True
    if option == '--remove':
        app = _find(state, value)
        if app is None:
            return [NOT_PART], False                                                           # INVENTED
        state['apps'].remove(app)
        return ['Application at path ( %s ) removed from firewall' % value], True              # INVENTED
    if option in BLOCKING:
        allow, text = BLOCKING[option]
        app = _find(state, value)
        if app is None:
            return [NOT_PART], False                            # REAL for --unblockapp; INVENTED for --blockapp
        app['allow'] = allow
        return [text], True
    return None


# --unblockapp/--blockapp (and their short forms): (allow incoming, the answer).
_PERMITTED = (True, 'Incoming connection to the application is permitted')    # REAL
_BLOCKED = (False, 'Incoming connection to the application is blocked')       # INVENTED
BLOCKING = {'--unblockapp': _PERMITTED, '--unblock': _PERMITTED, '--blockapp': _BLOCKED, '--block': _BLOCKED}

WITH_VALUE = ('--setglobalstate', '--setblockall', '--setstealthmode', '--add', '--remove', '--unblockapp', '--unblock',
              '--blockapp', '--block')
SETTERS = WITH_VALUE      # every option with a value sets something
KNOWN = WITH_VALUE + ('--getglobalstate', '--getblockall', '--getstealthmode', '--getallowsigned', '--listapps')


def main(ctx, args):
    if not args:
        out(USAGE)
        return 1, 'error'
    todo = []
    i = 0
    while i < len(args):
        option = args[i]
        if option in NOT_SIMULATED:
            err('macsim: socketfilterfw %s is not simulated' % option)
            return 2, 'error'
        if option not in KNOWN:
            out(USAGE)
            return 1, 'error'
        value = None
        if option in WITH_VALUE:
            if i + 1 >= len(args):
                out(USAGE)
                return 1, 'error'
            value = args[i + 1]
            i += 1
        todo.append((option, value))
        i += 1
    with ctx.locked():
        state = ctx.load_state(STATE, initial_state)
        for key, value in initial_state().items():
            state.setdefault(key, value)
        changed = False
        for option, value in todo:
            result = apply_option(state, option, value)
            if result is None:
                out(USAGE)
                return 1, 'error'
            lines, did = result
            for line in lines:
                out(line)
            changed = changed or did
        if changed and ctx.is_root:
            ctx.save_state(STATE, state)
    # the call log's kind (README): a setter is a write, also when it changes nothing or is not root's
    return 0, ('write' if any(option in SETTERS for option, _value in todo) else 'read')
