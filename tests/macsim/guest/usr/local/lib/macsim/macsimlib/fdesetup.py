"""fdesetup stand-in (test fixture): /usr/bin/fdesetup of the simulated Mac, FileVault's state only.

Texts and exit codes from shared/reference/macos-formats-provisioning.md section 2:
  fdesetup status     `FileVault is On.` / `FileVault is Off.`, exit 0 (REAL)
  fdesetup isactive   `true`, exit 0 / `false`, exit 1 (DOC, fdesetup(8))
Neither needs root (the reference shows no refusal of either for a normal user).

The state comes from the profile's "filevault" key (false when absent); a test turns FileVault on
for one instance by writing /var/db/macsim/fdesetup.json {"filevault": true} (as root), which wins
over the profile; {"filevault": "pending"} is FileVault turned on and waiting for the next restart
(`FileVault is Off, but will be enabled after the next restart.`, the text a parser in the reference knows, not
a capture; isactive false; nothing here ever completes it). Nothing here encrypts anything or changes the boot: `status` reports the flag.

INVENTED: the usage text and its exit status 1 for an unknown verb or option; `status -extended`
printing the same line as `status` (the extended fields are not in the reference). Real verbs that
change FileVault (enable, disable, authrestart, ...) are not simulated: `macsim: fdesetup X is not
simulated`, exit 2, as the other stand-ins do.
"""

from macsimlib.common import out, err

STATE = 'fdesetup.json'

# Real verbs of fdesetup(8) that the simulation does not implement.
NOT_SIMULATED = ('enable', 'disable', 'authrestart', 'list', 'add', 'remove', 'sync', 'changerecovery',
                 'removerecovery', 'validaterecovery', 'haspersonalrecoverykey',
                 'hasinstitutionalrecoverykey', 'usingrecoverykey', 'supportsauthrestart',
                 'showdeferralinfo', 'isrestartauthorized', 'updateprebootiv', 'checkin')
# INVENTED (abbreviated; the real help lists every verb).
USAGE = ('Usage: fdesetup <verb> <options>\n'
         '  status [-extended]      Returns the current FileVault status.\n'
         '  isactive [-verbose]     Returns status 0 if FileVault is enabled, 1 if it is off.\n'
         '(macsim simulates status and isactive only)')


def filevault_on(ctx):
    """The instance's FileVault flag: the state file if a test wrote one, else the profile. "pending" (turned on,
    waiting for the next restart to encrypt) is not on yet."""
    value = filevault_state(ctx)
    return value is True


def filevault_state(ctx):
    """True, False or 'pending' ({"filevault": "pending"} in the state file)."""
    state = ctx.load_state(STATE, lambda: {})
    if isinstance(state, dict) and 'filevault' in state:
        value = state['filevault']
    else:
        value = ctx.profile.get('filevault', False)
    return 'pending' if value == 'pending' else bool(value)


def status_line(state):
    """fdesetup status's line. The pending text is known from a parser, not a capture (reference provisioning 2)."""
    if state == 'pending':
        return 'FileVault is Off, but will be enabled after the next restart.'
    return 'FileVault is On.' if state else 'FileVault is Off.'


def main(ctx, args):
    verb = args[0] if args else None
    options = args[1:]
    if verb in NOT_SIMULATED:
        err('macsim: fdesetup %s is not simulated' % verb)
        return 2, 'error'
    allowed = {'status': ('-extended',), 'isactive': ('-verbose',)}
    if verb not in allowed or any(o not in allowed[verb] for o in options):
        err(USAGE)
        return 1, 'error'
    on = filevault_on(ctx)
    if verb == 'status':
        out(status_line(filevault_state(ctx)))
        return 0, 'read'
    out('true' if on else 'false')
    return (0 if on else 1), 'read'
