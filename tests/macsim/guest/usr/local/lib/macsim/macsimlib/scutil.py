"""scutil stand-in (test fixture): /usr/sbin/scutil of the simulated Mac, the three names only.

Simulated: `scutil --get NAME` and `scutil --set NAME [VALUE]` for NAME in ComputerName,
LocalHostName, HostName. Texts and exit codes: shared/reference/macos-formats-provisioning.md
section 4 (configd's scutil.tproj/prefs.c) unless marked otherwise.

  --get NAME        the value and a newline on stdout, exit 0; not set: `NAME: not set` on
                    stderr, exit 1 (DERIVED, and REAL for HostName). No root needed.
  --set NAME VALUE  prints nothing, exit 0; VALUE "" clears the name (HostName is then not set).
  --set NAME        reads the value from one line of stdin, as prefs.c does: the newline and the
                    spaces around it are trimmed; an empty line or end of file clears the name;
                    the `NAME [current]: ` prompt appears only when stdin and stdout are both a
                    terminal (_copyStringFromSTDIN in scutil.c, a stored copy of configd: DERIVED).
  --set as non-root fails, exit 1, with the per-name lines of the only recorded capture, from
                    Sierra (apjanke/dotfiles#6, REAL there; INVENTED for macOS 15, where no capture
                    exists): ComputerName `Could not open prefs: No such key` on stdout, HostName
                    `SCPreferencesSetHostName() failed: No such key` and LocalHostName
                    `SCPreferencesSetLocalHostName() failed: No such key` on stderr. Nothing changes.

State: /Library/Preferences/SystemConfiguration/preferences.plist, an XML plist like the one
SCPreferencesCommitChanges writes on macOS (SCPCommit.c: XML on macOS, binary on iOS; written to
`preferences.plist-new`, mode 0644, renamed over it). The names live where SCDHostName.c puts them
and where a real `defaults read .../preferences System` shows them (a stored copy of a README):
  System/System/ComputerName, System/System/ComputerNameEncoding (0 on a fresh Mac, as in that
  capture; 134217984 = kCFStringEncodingUTF8 once scutil sets it), System/System/HostName,
  System/Network/HostNames/LocalHostName.
Only that part of the file exists (the real one also has NetworkServices, Sets, CurrentSet, ...);
other keys a test puts there are kept. Until the first `--set` there is no file (INVENTED: a real
Mac has one from its setup) and the names are the profile's: "computer_name" (else the hardware's
model_name) and "local_host_name" (else the ComputerName with apostrophes dropped and other runs of
non-alphanumerics turned into hyphens, the rule of the reference's 4.2), HostName not set. A file
that does not parse counts as an empty one, every name not set (INVENTED). On macOS ComputerName
and LocalHostName are read from configd's dynamic store, which configd fills from this file; here
they are read from the file.

Validity, from SCDHostName.c (a stored copy of configd, DERIVED; not in the reference):
LocalHostName must be ASCII letters, digits and inner hyphens, with no dot, else
`SCPreferencesSetLocalHostName() failed: Invalid argument` on stderr, exit 1; there is no length
check. HostName and ComputerName are not checked. A LocalHostName another Mac already has is never
renamed (`-2`): the simulated Mac has no Bonjour neighbours.

The node name (`hostname`, Python's os.uname() and so Ansible's ansible_hostname, ansible_nodename,
ansible_fqdn; the uname and sysctl stand-ins print its first label, see Ctx.hostname) follows
HostName as configd's set-hostname does (set-hostname.c: HostName, else the DHCP-supplied name,
else the reverse-DNS name of the primary address, else LocalHostName.local, else localhost). The
simulated network has no DHCP, and the instance's /etc/hosts maps its address to the instance name,
so without HostName the node name is the instance name (/etc/hostname, which macsim writes; what
`systemd-nspawn --hostname` sets at every boot). When HostName is set, `scutil --set` calls
sethostname() in the instance's own UTS namespace and points the `127.0.1.1` line of /etc/hosts
at it (INVENTED plumbing: macOS needs no such line, but Debian's sudo, built --with-fqdn, and
Python's socket.getfqdn() behind ansible_fqdn wait 10 to 20 s for DNS on a name they cannot
resolve). A HostName that is not a DNS name or is longer than 64 bytes (Linux's limit) is stored
but leaves the node name alone (INVENTED). SSH is unaffected: the controller's known_hosts names
the address. A reboot restores the instance name (nspawn) and macsim rewrites /etc/hosts at every
up/reboot/sync; apply_at_boot(), run by a boot hook, puts HostName back.

Anything else (`--dns`, `--proxy`, `--nwi`, `--prefs`, `-r`, `-w`, the interactive mode without
arguments, the extended `--get FILE PATH KEY`): `macsim: scutil ... is not simulated`, exit 2.
An unknown preference name (`--get Bogus`), a missing one or `--help` print scutil's usage text
(from scutil.c, DERIVED) on stderr, exit 64 (EX_USAGE).
"""

import os
import plistlib
import re
import socket
import sys
from xml.parsers.expat import ExpatError

from macsimlib.common import out, err

PREFS = '/Library/Preferences/SystemConfiguration/preferences.plist'
NAMES = ('ComputerName', 'LocalHostName', 'HostName')
# Where each name lives in preferences.plist (SCDHostName.c).
KEY_PATHS = {
    'ComputerName': ('System', 'System', 'ComputerName'),
    'HostName': ('System', 'System', 'HostName'),
    'LocalHostName': ('System', 'Network', 'HostNames', 'LocalHostName'),
}
ENCODING_KEY = 'ComputerNameEncoding'
ENCODING_UTF8 = 0x08000100  # kCFStringEncodingUTF8, what scutil --set ComputerName stores
ENCODING_FRESH = 0  # kCFStringEncodingMacRoman, as in the real `defaults read` capture
# Non-root --set: (stream, text). REAL on Sierra (apjanke/dotfiles#6), INVENTED for macOS 15.
NON_ROOT = {
    'ComputerName': ('stdout', 'Could not open prefs: No such key'),
    'HostName': ('stderr', 'SCPreferencesSetHostName() failed: No such key'),
    'LocalHostName': ('stderr', 'SCPreferencesSetLocalHostName() failed: No such key'),
}
INVALID_LOCAL_HOST_NAME = 'SCPreferencesSetLocalHostName() failed: Invalid argument'
EX_USAGE = 64
HOST_NAME_MAX = 64  # Linux's limit for sethostname()
LOOPBACK_NAME_ADDRESS = '127.0.1.1'  # Debian's line for the machine's own name in /etc/hosts
# scutil.c's usage() (DERIVED; the debug-only and experimental parts left out), prog "scutil".
USAGE = '\n'.join((
    'usage: scutil',
    '\tinteractive access to the dynamic store.',
    '',
    '   or: scutil --prefs [preference-file]',
    '\tinteractive access to the [raw] stored preferences.',
    '',
    '   or: scutil [-W] -r nodename',
    '   or: scutil [-W] -r address',
    '   or: scutil [-W] -r local-address remote-address',
    '\tcheck reachability of node, address, or address pair (-W to "watch").',
    '',
    '   or: scutil -w dynamic-store-key [ -t timeout ]',
    '\t-w\twait for presense of dynamic store key',
    '\t-t\ttime to wait for key',
    '',
    '   or: scutil --get pref',
    '   or: scutil --set pref [newval]',
    '   or: scutil --get filename path key  ',
    '\tpref\tdisplay (or set) the specified preference.  Valid preferences',
    '\t\tinclude:',
    '\t\t\tComputerName, LocalHostName, HostName',
    '\tnewval\tNew preference value to be set.  If not specified,',
    '\t\tthe new value will be read from standard input.',
    '',
    '   or: scutil --dns',
    '\tshow DNS configuration.',
    '',
    '   or: scutil --proxy',
    '\tshow "proxy" configuration.',
    '',
    '   or: scutil --nwi',
    '\tshow network information',
    '',
    '   or: scutil --nc',
    '\tshow VPN network configuration information. Use --nc help for full command list',
    '',
    '   or: scutil --error err#',
    '\tdisplay a descriptive message for the given error code',
))


# -- preferences.plist ----------------------------------------------------------------------------
def default_names(ctx):
    """A fresh Mac's names, from the profile."""
    profile = ctx.profile
    computer = profile.get('computer_name') or (profile.get('hardware') or {}).get('model_name') or 'Mac'
    local = profile.get('local_host_name') or local_host_name_from(computer)
    return {'ComputerName': computer, 'LocalHostName': local, 'HostName': None}


def local_host_name_from(computer_name):
    """`John's Mac Studio` -> `Johns-Mac-Studio` (reference 4.2, DERIVED)."""
    name = re.sub("['\u2019]", '', computer_name)
    return re.sub(r'[^A-Za-z0-9]+', '-', name).strip('-') or 'Mac'


def default_prefs(ctx):
    names = default_names(ctx)
    prefs = {}
    set_name(prefs, 'ComputerName', names['ComputerName'], ENCODING_FRESH)
    set_name(prefs, 'LocalHostName', names['LocalHostName'])
    return prefs


def prefs_path(ctx):
    return ctx.root_path(PREFS)


def load_prefs(ctx):
    """The preferences as a dict: the file, the profile's defaults when there is none yet, {} when
    it does not parse."""
    path = prefs_path(ctx)
    try:
        with open(path, 'rb') as f:
            data = plistlib.load(f)
    except FileNotFoundError:
        return default_prefs(ctx)
    except (OSError, ValueError, ExpatError):  # plistlib.InvalidFileException is a ValueError
        return {}
    return data if isinstance(data, dict) else {}


def save_prefs(ctx, prefs):
    """Write like SCPreferencesCommitChanges: PATH-new (0644), then rename over PATH."""
    path = prefs_path(ctx)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    tmp = path + '-new'
    with open(tmp, 'wb') as f:
        plistlib.dump(prefs, f, fmt=plistlib.FMT_XML, sort_keys=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def get_name(prefs, name):
    node = prefs
    for key in KEY_PATHS[name]:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, str) else None


def set_name(prefs, name, value, encoding=ENCODING_UTF8):
    """Set (or with None remove) one name in the preferences dict, as SCPreferencesSet* do."""
    keys = KEY_PATHS[name]
    node = prefs
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if value is None:
        node.pop(keys[-1], None)
        if name == 'ComputerName':
            node.pop(ENCODING_KEY, None)
    else:
        node[keys[-1]] = value
        if name == 'ComputerName':
            node[ENCODING_KEY] = encoding


def valid_dns_name(name):
    """_SC_stringIsValidDNSName of SCDHostName.c: ASCII labels of letters, digits and inner
    hyphens, separated by dots."""
    try:
        name.encode('ascii')
    except UnicodeEncodeError:
        return False
    if not name:
        return False
    for label in name.split('.'):
        if not label or not label[0].isalnum() or not label[-1].isalnum():
            return False
        if any(not (c.isalnum() or c == '-') for c in label):
            return False
    return True


# -- the node name ----------------------------------------------------------------------------------
def instance_name(ctx):
    """The name the network gives the instance: /etc/hostname (macsim writes the instance name)."""
    try:
        with open(ctx.root_path('/etc/hostname')) as f:
            words = f.read().split()
    except OSError:
        words = []
    return words[0] if words else ctx.hostname


def node_name(ctx, prefs):
    """What configd would set as the hostname: HostName, else the instance name (see above)."""
    host = get_name(prefs, 'HostName')
    if host and valid_dns_name(host) and len(host.encode('ascii')) <= HOST_NAME_MAX:
        return host
    return instance_name(ctx)


def set_kernel_hostname(ctx, name):
    """sethostname() in the instance's UTS namespace; in unit tests a file stands for the kernel's
    (MACSIM_STATE_DIR/root/proc/sys/kernel/hostname): the machine running the tests keeps its own."""
    if ctx.testing:
        path = ctx.root_path('/proc/sys/kernel/hostname')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(name + '\n')
        return
    try:
        if socket.gethostname() != name:
            socket.sethostname(name)
    except OSError:
        pass  # no CAP_SYS_ADMIN: the node name stays; scutil itself succeeded


def point_etc_hosts_at(ctx, name):
    """Make the `127.0.1.1` line of /etc/hosts name `name` (and its first label), so that the
    node name resolves. A missing /etc/hosts is left missing."""
    path = ctx.root_path('/etc/hosts')
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return
    names = [name] + ([name.split('.')[0]] if '.' in name else [])
    wanted = '%s\t%s' % (LOOPBACK_NAME_ADDRESS, ' '.join(names))
    for i, line in enumerate(lines):
        if line.split()[:1] == [LOOPBACK_NAME_ADDRESS]:
            if line == wanted:
                return
            lines[i] = wanted
            break
    else:
        lines.append(wanted)
    tmp = '%s.macsim-%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def apply_hostname(ctx, prefs):
    name = node_name(ctx, prefs)
    set_kernel_hostname(ctx, name)
    point_etc_hosts_at(ctx, name)


def apply_at_boot(ctx):
    """For a boot hook: nspawn gave the instance its name back; a HostName set before the reboot
    wins again, as on a Mac. Nothing to do while scutil never wrote preferences.plist."""
    if os.path.exists(prefs_path(ctx)):
        with ctx.locked():
            apply_hostname(ctx, load_prefs(ctx))


# -- the command ------------------------------------------------------------------------------------
def not_simulated(args):
    err('macsim: scutil %s is not simulated' % (' '.join(args) if args else '(interactive mode)'))
    return 2, 'error'


def usage():
    err(USAGE)
    return EX_USAGE, 'error'


def read_value_from_stdin(name, current):
    """_copyStringFromSTDIN(prompt, default) of scutil.c; None at end of file."""
    prompt = sys.stdin.isatty() and sys.stdout.isatty()
    if prompt:
        sys.stdout.write('%s [%s]: ' % (name, current) if current is not None else '%s: ' % name)
        sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    if line.endswith('\n'):
        line = line[:-1]
    if prompt and current is not None and line == '':
        return current
    return line.strip()


def get(ctx, name):
    with ctx.locked(shared=True):
        value = get_name(load_prefs(ctx), name)
    if value is None:
        err('%s: not set' % name)
        return 1, 'read'
    out(value)
    return 0, 'read'


def set_(ctx, name, values):
    if values:
        value = values[0]  # scutil ignores anything after the value
    else:
        with ctx.locked(shared=True):
            current = get_name(load_prefs(ctx), name)
        value = read_value_from_stdin(name, current)
    value = value or None  # "" clears the name, as NULL does
    if name == 'LocalHostName' and value is not None and ('.' in value or not valid_dns_name(value)):
        err(INVALID_LOCAL_HOST_NAME)
        return 1, 'error'
    if not ctx.is_root:
        stream, text = NON_ROOT[name]
        (out if stream == 'stdout' else err)(text)
        return 1, 'write'
    with ctx.locked():
        prefs = load_prefs(ctx)
        set_name(prefs, name, value)
        save_prefs(ctx, prefs)
        if name == 'HostName':
            apply_hostname(ctx, prefs)
    return 0, 'write'


def main(ctx, args):
    if args[:1] == ['--get']:
        if len(args) == 4:
            return not_simulated(args)  # the extended `--get FILE PATH KEY`
        if len(args) < 2 or args[1] not in NAMES:
            return usage()
        if len(args) > 2:
            return not_simulated(args)
        return get(ctx, args[1])
    if args[:1] == ['--set']:
        if len(args) < 2 or args[1] not in NAMES:
            return usage()
        return set_(ctx, args[1], args[2:])
    if args and args[0] in ('--help', '-h', '-?'):
        return usage()
    return not_simulated(args)
