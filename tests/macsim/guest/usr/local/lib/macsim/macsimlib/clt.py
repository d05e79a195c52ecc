"""softwareupdate and xcode-select stand-ins (test fixture): the Command Line Tools of a simulated Mac.

Texts and exit codes from shared/reference/macos-formats-provisioning.md section 1; what the
reference does not know is marked INVENTED, so modules and playbooks must not depend on it.

The tools are installed when /Library/Developer/CommandLineTools exists: a link to the payload
the base carries (/usr/local/lib/macsim/clt/CommandLineTools: a Python 3.9 as the CLT's python3,
see tests/macsim/macsim). Profiles with "clt": true start with it; a fresh Mac ("clt": false)
gets it from `softwareupdate -i "Command Line Tools for Xcode-16.4"`, which offers it only while
the on-demand marker file exists, as on macOS.

Own state: /var/db/macsim/xcode-select.json {"path": ...} (what --switch set).
Profile key "software_updates": [{"label", "title", "version", "size_kib", "restart"}]: other
updates `softwareupdate -l` lists (a macOS update, say), so a parser has to pick the CLT's line.
"""

import os

from macsimlib.common import err, out

CLT = '/Library/Developer/CommandLineTools'
PAYLOAD = '/usr/local/lib/macsim/clt/CommandLineTools'
MARKER = '/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress'
STATE = 'xcode-select.json'
# The CLT item as `softwareupdate -l` lists it (REAL shape, reference 1.3; this label and size are
# from a Homebrew run that installed it, reference 1.5).
CLT_UPDATE = {'label': 'Command Line Tools for Xcode-16.4', 'title': 'Command Line Tools for Xcode',
              'version': '16.4', 'size_kib': 745661, 'restart': False}
HEADER = ['Software Update Tool', '', 'Finding available software']
NO_GUI = ('xcode-select: error: No developer tools were found and no install could be requested '
          '(possibly because there is no active GUI session).')     # REAL (reference 1.1 C)
NO_DEVELOPER_DIR = ('xcode-select: error: Unable to get active developer directory. Use `sudo xcode-select '
                    '--switch path/to/Xcode.app` to set one (or see `man xcode-select`)')   # REAL (1.2)
ALREADY = ('xcode-select: note: Command line tools are already installed. Use "Software Update" in System '
           'Settings or the softwareupdate command line interface to install updates')   # REAL (1.2)


def installed(ctx):
    path = ctx.root_path(CLT)
    return os.path.isdir(path) and os.access(os.path.join(path, 'usr', 'bin', 'python3'), os.X_OK)


def available(ctx):
    updates = []
    if os.path.exists(ctx.root_path(MARKER)) and not installed(ctx):
        updates.append(CLT_UPDATE)
    updates.extend(ctx.profile.get('software_updates') or [])
    return updates


def install_clt(ctx):
    link = ctx.root_path(CLT)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(ctx.root_path(PAYLOAD) if ctx.testing else PAYLOAD, link)


# ---- softwareupdate -------------------------------------------------------------------------------

def softwareupdate_main(ctx, args):
    args = [a for a in args if a not in ('--verbose', '-v', '--agree-to-license', '--no-scan')]
    if not args or args[0] in ('-h', '--help'):
        # INVENTED: the real usage text is longer.
        err('usage: softwareupdate <cmd> [<args> ...]\n\n** Manage Updates:\n\t-l | --list\t\tList all appropriate '
            'update labels\n\t-i | --install\t\tInstall\n\t\t<label> ...\tspecific updates')
        return (0 if args else 1), 'read'
    command, rest = args[0], args[1:]
    if command in ('-l', '--list'):
        return list_updates(ctx), 'read'
    if command in ('-i', '--install'):
        return install(ctx, rest), 'write'
    err('macsim: softwareupdate %s is not simulated' % ' '.join(args))
    return 2, 'error'


def list_updates(ctx):
    for line in HEADER:
        out(line)
    updates = available(ctx)
    if not updates:
        err('No new software available.')       # REAL: on stderr, exit status 0 (reference 1.4)
        return 0
    out('Software Update found the following new or updated software:')
    for update in updates:
        out('* Label: %s' % update['label'])
        out('\tTitle: %s, Version: %s, Size: %dKiB, Recommended: YES,%s' % (
            update['title'], update['version'], update['size_kib'], ' Action: restart,' if update.get('restart') else ''))
    return 0


def install(ctx, labels):
    if not labels:
        err('macsim: softwareupdate -i without a label (or --all) is not simulated')
        return 2
    if not ctx.is_root:
        # INVENTED wording and status: the reference only says installing needs root.
        err('softwareupdate: installing updates requires root (use sudo)')
        return 1
    for line in HEADER:
        out(line)
    updates = dict((update['label'], update) for update in available(ctx))
    status = 0
    for label in labels:
        update = updates.get(label)
        if update is None:
            out('%s: No such update' % label)     # REAL (reference 1.5)
            out('No updates are available.')
            status = 1                            # INVENTED: the exit status was not captured
            continue
        if update is not CLT_UPDATE:
            err('macsim: installing %s is not simulated' % label)
            return 2
        out('')
        out('Downloading %s' % update['title'])
        out('Downloaded %s' % update['title'])
        out('Installing %s' % update['title'])
        install_clt(ctx)
        out('Done with %s' % update['title'])
    if status == 0:
        out('Done.')
    return status


# ---- xcode-select ---------------------------------------------------------------------------------

def xcode_select_main(ctx, args):
    if not args or args[0] in ('-h', '--help'):
        out('Usage: xcode-select [options]\n\nPrint or change the path to the active developer directory.')  # INVENTED
        return (0 if args else 1), 'read'
    command = args[0]
    if command in ('-p', '--print-path', '-print-path'):
        return print_path(ctx), 'read'
    if command in ('-v', '--version', '-version'):
        out('xcode-select version 2409.')    # INVENTED number
        return 0, 'read'
    if command == '--install':
        if installed(ctx):
            err(ALREADY)
            return 1, 'read'                  # REAL: "Exit Code 1" (reference 1.2)
        err(NO_GUI)                           # INVENTED: believed the same as the python3 shim without a GUI
        return 1, 'read'
    if command in ('-s', '--switch', '-switch'):
        return switch(ctx, args[1:]), 'write'
    if command in ('-r', '--reset'):
        if not ctx.is_root:
            err('xcode-select: error: --reset must be run as root (e.g. `sudo xcode-select --reset`).')  # INVENTED
            return 1, 'write'
        with ctx.locked():
            ctx.save_state(STATE, {})
        return 0, 'write'
    err('xcode-select: error: unknown command option \'%s\'.' % command)   # INVENTED
    return 1, 'error'


def print_path(ctx):
    state = ctx.load_state(STATE, dict)
    path = state.get('path')
    if path and os.path.isdir(ctx.root_path(path)):
        out(path)
        return 0
    if installed(ctx):
        out(CLT)
        return 0
    err(NO_DEVELOPER_DIR)
    return 2                                  # REAL/DERIVED: exit 2 (reference 1.2)


def switch(ctx, rest):
    if len(rest) != 1:
        err('xcode-select: error: --switch requires a path.')   # INVENTED
        return 1
    if not ctx.is_root:
        err('xcode-select: error: --switch must be run as root (e.g. `sudo xcode-select --switch '
            '<xcode_folder_path>`).')          # INVENTED (believed)
        return 1
    path = rest[0].rstrip('/') or '/'
    if not os.path.isdir(ctx.root_path(path)):
        err("xcode-select: error: invalid developer directory '%s'" % path)   # INVENTED (believed)
        return 1
    with ctx.locked():
        ctx.save_state(STATE, {'path': path})
    return 0
