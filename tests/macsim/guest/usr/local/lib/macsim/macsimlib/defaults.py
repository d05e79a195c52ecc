"""defaults stand-in (test fixture): /usr/bin/defaults of the simulated Mac, for path domains.

A path domain is a domain that starts with '/': its file is DOMAIN.plist (DOMAIN itself when it
already ends in .plist), e.g. /Library/Preferences/com.apple.loginwindow is
/Library/Preferences/com.apple.loginwindow.plist, which loginwindow reads at boot (see
macsimlib/loginwindow.py). Files are read in any plist format and written as binary plists, as
cfprefsd writes them. In unit tests the paths are under $MACSIM_STATE_DIR/root.

  defaults read DOMAIN KEY         the value: strings as is, integers, booleans 1/0, floats
  defaults read DOMAIN             the whole domain, old-style plist text (layout INVENTED in detail)
  defaults read-type DOMAIN KEY    `Type is string` (integer, boolean, float, date, data, array,
                                   dictionary)
  defaults write DOMAIN KEY [-string|-int|-integer|-bool|-boolean|-float] VALUE
                                   (a bare VALUE is a string)
  defaults write DOMAIN KEY -array [VALUE...]      an array of strings (replaces the key)
  defaults write DOMAIN KEY -array-add [VALUE...]  strings appended to the key's array (what
                                   Ansible's DarwinUser runs for HiddenUsersList of a system user)
  defaults delete DOMAIN [KEY]

Texts. A missing key: stderr "\\n<timestamp> defaults[PID:TID] \\nThe domain/default pair of
(DOMAIN, KEY) does not exist", exit 1 (believed real: the line the collection's unit fakes record
in tests/unit/autologin_fakes.py, after the empty line macOS prints first; the collection matches
"does not exist"). A missing domain on a read of the whole domain: the same header, then
"Domain DOMAIN does not exist", exit 1. A write where the caller may not write (a non-root user
writing /Library/Preferences): "Could not write domain DOMAIN; exiting", exit 1. INVENTED (no capture in shared/reference): the timestamp header
on the missing-domain text, no header on the could-not-write text, the delete of a missing key or
domain ("Domain (DOMAIN) not found." + "Defaults have not been changed.", exit 1, with the header),
a delete the caller may not make answering like a write, the usage text and its exit 1,
`-array-add` to a key that is not an array replacing it with a new array, `-array`/`-array-add`
values always strings (no per-element type flags), the
bad-value texts ("Value for key KEY is not a valid TYPE"), the whole-domain layout, reading a file
that is not a plist as a missing domain.

Not simulated (`macsim: defaults ... is not simulated`, exit 2): domains that are not paths
(com.apple.foo, NSGlobalDomain, -g: cfprefsd's per-user and per-host databases), -currentHost,
-host, and the verbs domains, find, export, import, rename, help, and -dict, -data, -date values.
"""

import datetime
import os
import plistlib
import threading

from macsimlib.common import NotSimulated, err, not_simulated_exit, out
from macsimlib.users import UserDB

NOT_SIMULATED_VERBS = ('domains', 'find', 'export', 'import', 'rename', 'help')
NOT_SIMULATED_TYPES = ('-dict', '-dict-add', '-data', '-date')
ARRAY_TYPES = ('-array', '-array-add')
# INVENTED (abbreviated; the real text lists every form).
USAGE = ('Command line interface to a user\'s defaults.\n'
         'Syntax:\n\n'
         '\'defaults\' [-currentHost | -host <hostname>] followed by one of the following:\n\n'
         '  read                                 shows all defaults\n'
         '  read <domain>                        shows defaults for given domain\n'
         '  read <domain> <key>                  shows defaults for given domain, key\n\n'
         '  read-type <domain> <key>             shows the type for the given domain, key\n\n'
         '  write <domain> <domain_rep>          writes domain (overwrites existing)\n'
         '  write <domain> <key> <value>         writes key for domain\n\n'
         '  delete <domain>                      deletes domain\n'
         '  delete <domain> <key>                deletes the key in domain\n'
         '(macsim simulates read, read-type, write and delete of path domains only)')

TRUE_WORDS = ('yes', 'true', '1')
FALSE_WORDS = ('no', 'false', '0')


def plist_file(domain):
    """The file of a path domain."""
    return domain if domain.endswith('.plist') else domain + '.plist'


def read_domain(path):
    """The dictionary in a plist file, or None when it does not exist (or is no plist dictionary)."""
    try:
        with open(path, 'rb') as f:
            data = plistlib.load(f)
    except Exception:   # noqa: BLE001 - OSError, or one of the several types plistlib raises
        return None
    return data if isinstance(data, dict) else None


def header():
    """`<timestamp> defaults[PID:TID] ` as Foundation's NSLog starts a line."""
    now = datetime.datetime.now()
    stamp = '%s.%03d' % (now.strftime('%Y-%m-%d %H:%M:%S'), now.microsecond // 1000)
    return '%s defaults[%d:%d] ' % (stamp, os.getpid(), threading.get_native_id())


def logged(message):
    """The NSLog-style failure: an empty line, the header, then the message on its own line."""
    err('\n%s\n%s' % (header(), message))


def type_name(value):
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'float'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, datetime.datetime):
        return 'date'
    if isinstance(value, (bytes, bytearray)):
        return 'data'
    if isinstance(value, list):
        return 'array'
    if isinstance(value, dict):
        return 'dictionary'
    return 'unknown'


def _quoted(text):
    if text and all(c.isalnum() or c in '_./-:$' for c in text):
        return text
    return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')


def format_value(value, indent=0, top=True):
    """`defaults read` of one value: a string as is at the top, integers, booleans 1/0."""
    pad = '    ' * indent
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value if top else _quoted(value)
    if isinstance(value, datetime.datetime):
        return value.strftime('%Y-%m-%d %H:%M:%S +0000')
    if isinstance(value, (bytes, bytearray)):
        return '{length = %d, bytes = 0x%s}' % (len(value), bytes(value).hex())
    if isinstance(value, list):
        items = [pad + '    ' + format_value(v, indent + 1, False) for v in value]
        return '(\n%s\n%s)' % (',\n'.join(items), pad) if items else '(\n)'
    if isinstance(value, dict):
        items = ['%s    %s = %s;' % (pad, _quoted(str(k)), format_value(value[k], indent + 1, False))
                 for k in sorted(value)]
        return '{\n%s\n%s}' % ('\n'.join(items), pad) if items else '{\n}'
    return str(value)


def parse_value(kind, text, key):
    """(value, None) or (None, error text) for `write ... -TYPE VALUE`."""
    if kind in (None, '-string'):
        return text, None
    if kind in ('-int', '-integer'):
        try:
            return int(text), None
        except ValueError:
            return None, 'Value for key %s is not a valid integer' % key      # INVENTED
    if kind in ('-bool', '-boolean'):
        if text.lower() in TRUE_WORDS:
            return True, None
        if text.lower() in FALSE_WORDS:
            return False, None
        return None, 'Value for key %s is not a valid boolean' % key          # INVENTED
    if kind == '-float':
        try:
            return float(text), None
        except ValueError:
            return None, 'Value for key %s is not a valid float' % key        # INVENTED
    raise NotSimulated('write %s' % kind)


def may_write(ctx, directory, path):
    """Whether the caller may replace `path` in an existing `directory` (root may; a user where the mode bits
    let them). In unit tests every file belongs to the user running them, so a fake user counts as
    the owner only inside their own home (of the test user table), elsewhere as `other` (as if
    root owned it, like /Library/Preferences)."""
    if not os.path.isdir(directory):
        return False      # INVENTED: nothing creates the directory
    if ctx.is_root:
        return True
    if not ctx.testing:
        return os.access(directory, os.W_OK) and (not os.path.exists(path) or os.access(path, os.W_OK))
    user = UserDB(ctx.root_path('/')).by_uid(ctx.euid)
    home = user.home.rstrip('/') if user is not None else None
    owned = home is not None and (directory == home or directory.startswith(home + '/'))
    bit = 0o200 if owned else 0o002
    for item in (directory, path):
        if os.path.exists(item) and not os.stat(item).st_mode & bit:
            return False
    return True


def save(path, data):
    tmp = '%s.macsim-tmp.%d' % (path, os.getpid())
    with open(tmp, 'wb') as f:
        plistlib.dump(data, f, fmt=plistlib.FMT_BINARY, sort_keys=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def cmd_read(ctx, domain, rest):
    data = read_domain(ctx.root_path(plist_file(domain)))
    if not rest:
        if data is None:
            logged('Domain %s does not exist' % domain)
            return 1, 'read'
        out(format_value(data))
        return 0, 'read'
    key = rest[0]
    if data is None or key not in data:
        logged('The domain/default pair of (%s, %s) does not exist' % (domain, key))
        return 1, 'read'
    out(format_value(data[key]))
    return 0, 'read'


def cmd_read_type(ctx, domain, key):
    data = read_domain(ctx.root_path(plist_file(domain)))
    if data is None or key not in data:
        logged('The domain/default pair of (%s, %s) does not exist' % (domain, key))
        return 1, 'read'
    out('Type is %s' % type_name(data[key]))
    return 0, 'read'


def cmd_write(ctx, domain, key, kind, text):
    if kind in ARRAY_TYPES:
        value, problem = list(text), None       # text: the strings after the flag
    else:
        value, problem = parse_value(kind, text, key)
    if problem:
        err(problem)
        return 1, 'error'
    path = ctx.root_path(plist_file(domain))
    with ctx.locked():
        if not may_write(ctx, os.path.dirname(path), path):
            err('Could not write domain %s; exiting' % domain)
            return 1, 'write'
        data = read_domain(path) or {}
        if kind == '-array-add' and isinstance(data.get(key), list):
            value = data[key] + value
        data[key] = value
        save(path, data)
    return 0, 'write'


def cmd_delete(ctx, domain, key):
    path = ctx.root_path(plist_file(domain))
    with ctx.locked():
        data = read_domain(path)
        if data is None or (key is not None and key not in data):
            logged('Domain (%s) not found.\nDefaults have not been changed.' % domain)   # INVENTED
            return 1, 'write'
        if not may_write(ctx, os.path.dirname(path), path):
            err('Could not write domain %s; exiting' % domain)                         # INVENTED
            return 1, 'write'
        if key is None:
            os.unlink(path)
        else:
            del data[key]
            save(path, data)
    return 0, 'write'


def dispatch(ctx, args):
    if args and args[0] in ('-currentHost', '-host'):
        raise NotSimulated(args[0])
    if not args or args[0] not in ('read', 'read-type', 'write', 'delete'):
        if args and args[0] in NOT_SIMULATED_VERBS:
            raise NotSimulated(args[0])
        err(USAGE)
        return 1, 'error'
    verb, rest = args[0], args[1:]
    if not rest:
        if verb == 'read':
            raise NotSimulated('read of every domain')
        err(USAGE)
        return 1, 'error'
    domain = rest[0]
    if domain == '-g' or not domain.startswith('/'):
        raise NotSimulated('%s %s (not a path domain)' % (verb, domain))
    rest = rest[1:]
    if verb == 'read' and len(rest) <= 1:
        return cmd_read(ctx, domain, rest)
    if verb == 'read-type' and len(rest) == 1:
        return cmd_read_type(ctx, domain, rest[0])
    if verb == 'write' and len(rest) == 2 and not rest[1].startswith('-'):
        return cmd_write(ctx, domain, rest[0], None, rest[1])
    if verb == 'write' and len(rest) >= 2 and rest[1] in ARRAY_TYPES:
        return cmd_write(ctx, domain, rest[0], rest[1], rest[2:])
    if verb == 'write' and len(rest) == 3 and rest[1].startswith('-'):
        return cmd_write(ctx, domain, rest[0], rest[1], rest[2])
    if verb == 'write' and len(rest) >= 2 and rest[1] in NOT_SIMULATED_TYPES:
        raise NotSimulated('write %s' % rest[1])
    if verb == 'delete' and len(rest) <= 1:
        return cmd_delete(ctx, domain, rest[0] if rest else None)
    err(USAGE)
    return 1, 'error'


def main(ctx, args):
    return not_simulated_exit('defaults', dispatch, ctx, args)
