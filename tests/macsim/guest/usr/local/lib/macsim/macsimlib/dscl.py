"""dscl and dseditgroup stand-ins (test fixture): the local directory node of the simulated Mac.

The records are the guest's real /etc/passwd, /etc/group and /etc/shadow (so pwd/grp, `ls -l`,
sudo and the simulated launchd's `UserName` see them), plus /var/db/macsim/dscl.json for what those
files cannot hold: attributes that map to no passwd/group field (IsHidden, Password, ...) and
records not complete enough for a passwd/group line (INVENTED: a user gets its /etc/passwd line once
it has both UniqueID and PrimaryGroupID, a group once it has PrimaryGroupID; until then only dscl
sees it). In unit tests the files are under $MACSIM_STATE_DIR/root.

Only what Ansible's DarwinUser/DarwinGroup (ansible-core 2.19) and plain scripts use:

  dscl NODE -read /Users/NAME [ATTR...]      NODE `.` or `/Local/Default`; the leading `-` of a
  dscl NODE -list /Users|/Groups [ATTR]      command is optional, as in dscl
  dscl NODE -create PATH [ATTR [VALUE...]]
  dscl NODE -append PATH ATTR VALUE...
  dscl NODE -delete PATH [ATTR [VALUE...]]
  dscl NODE -search /Users|/Groups ATTR VALUE
  dseditgroup -o create [-i GID] [-r REALNAME] [-L] [-q] [-n NODE] GROUP
  dseditgroup -o delete [-L] [-q] [-n NODE] GROUP
  dseditgroup -o edit [-i GID] [-a NAME|-d NAME -t user] [-L] [-q] [-n NODE] GROUP

Sources (public captures): `UniqueID: 450` one line per attribute, values with spaces on the
lines after the key, indented by one space (dscl(1), as Ansible's DarwinUser parses it; a captured
`RealName:\\n It's a feature`); a whole record's attributes in alphabetical order (same capture);
`-list /Users UniqueID` two columns, the name padded to 25 characters (`_amavisd                 83`,
`_accessoryupdater        278`, several captures), names in alphabetical order; `No such key: X`
for a missing attribute with exit 0 (captures differ on the stream; stderr here);
`<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)` (macmule/ADPassMon#62, "error56"); a non-root
write `<main> attribute status: eDSPermissionError` + `<dscl_cmd> DS Error: -14120 (eDSPermissionError)`
(nvbn/thefuck#403), exit 40 (CZ4B/RDP#9); dscl's exit status is the DS error's low byte
(-14120 -> 40, -14136 -> 56, -14009 -> 185: swiftly#346); dseditgroup `GID already exists`
on stderr, exit 64 (NixOS/nix-installer#186, dayglojesus/managedmac#5).
Everything else is marked INVENTED below. Not simulated (`macsim: dscl ... is not simulated`,
exit 2): other nodes (/Search, Active Directory), the interactive mode, -passwd, -change, -merge,
-readall, -plist, -url, record types other than /Users and /Groups, renaming (RecordName).
"""

import os
import time
from collections import OrderedDict

from macsimlib.common import NotSimulated, err, not_simulated_exit, out, read_json, write_json_atomic

NODES = ('.', '/Local/Default', 'localhost')
KINDS = ('Users', 'Groups')
# Attributes that live in the passwd/group line (the rest go to dscl.json).
USER_FIELDS = ('UniqueID', 'PrimaryGroupID', 'RealName', 'NFSHomeDirectory', 'UserShell')
GROUP_FIELDS = ('PrimaryGroupID', 'GroupMembership')
# Password of a record with a passwd/group line and no Password of its own (REAL for a user with a
# shadow hash: `Password: ********`; a group's `*` believed).
DERIVED_PASSWORD = {'Users': '********', 'Groups': '*'}
RECORD_TYPE = {'Users': 'dsRecTypeStandard:Users', 'Groups': 'dsRecTypeStandard:Groups'}
LIST_WIDTH = 25         # REAL for names shorter than that; a longer name gets one space (INVENTED)

DS_RECORD_NOT_FOUND = (-14136, 'eDSRecordNotFound')
DS_PERMISSION = (-14120, 'eDSPermissionError')
DS_INVALID_PATH = (-14009, 'eDSUnknownNodeName')


class DsError(Exception):
    """A DirectoryService error: `<dscl_cmd> DS Error: CODE (NAME)`, exit status the code's low byte."""

    def __init__(self, code_name, main_line=False):
        Exception.__init__(self, code_name[1])
        self.code, self.name = code_name
        self.main_line = main_line

    @property
    def rc(self):
        return abs(self.code) & 0xff

    def lines(self):
        text = []
        if self.main_line:
            text.append('<main> attribute status: %s' % self.name)
        text.append('<dscl_cmd> DS Error: %d (%s)' % (self.code, self.name))
        return text


# ---- the files, as pure functions ---------------------------------------------------------------

def parse_colon_file(text):
    """Lines of a passwd/group/shadow file as lists of fields (blank lines dropped)."""
    return [line.split(':') for line in text.splitlines() if line.strip()]


def dump_colon_file(rows):
    return ''.join(':'.join(row) + '\n' for row in rows)


class Directory(object):
    """The local node: records built from passwd/group/shadow text plus the extras (dscl.json)."""

    def __init__(self, passwd, group, shadow, extras=None, gshadow=None):
        self.passwd = parse_colon_file(passwd)
        self.group = parse_colon_file(group)
        self.shadow = parse_colon_file(shadow)
        self.gshadow = parse_colon_file(gshadow) if gshadow is not None else None
        extras = extras or {}
        self.extras = dict((k, dict((n, OrderedDict(a)) for n, a in (extras.get(k) or {}).items())) for k in KINDS)

    # -- reading ------------------------------------------------------------------------------
    def _passwd_row(self, name):
        for row in self.passwd:
            if row[0] == name:
                return row
        return None

    def _group_row(self, name):
        for row in self.group:
            if row[0] == name:
                return row
        return None

    def names(self, kind):
        rows = self.passwd if kind == 'Users' else self.group
        found = set(row[0] for row in rows) | set(self.extras[kind])
        return sorted(found)

    def exists(self, kind, name):
        return name in self.names(kind)

    def record(self, kind, name):
        """attribute -> list of values (alphabetical order), None when there is no such record."""
        attrs = {}
        if kind == 'Users':
            row = self._passwd_row(name)
            if row is not None:
                attrs.update({'UniqueID': [row[2]], 'PrimaryGroupID': [row[3]],
                              'NFSHomeDirectory': [row[5]], 'UserShell': [row[6]], 'Password': [DERIVED_PASSWORD[kind]]})
                if row[4]:
                    attrs['RealName'] = [row[4]]
        else:
            row = self._group_row(name)
            if row is not None:
                attrs.update({'PrimaryGroupID': [row[2]], 'Password': [DERIVED_PASSWORD[kind]]})
                members = [m for m in row[3].split(',') if m] if len(row) > 3 else []
                if members:
                    attrs['GroupMembership'] = members
        extra = self.extras[kind].get(name)
        if row is None and extra is None:
            return None
        for key, values in (extra or {}).items():
            attrs[key] = list(values)
        attrs['RecordName'] = [name]
        attrs['RecordType'] = [RECORD_TYPE[kind]]
        return OrderedDict((k, attrs[k]) for k in sorted(attrs))

    # -- writing ------------------------------------------------------------------------------
    def put(self, kind, name, attrs):
        """Store a whole record (attribute -> values): its passwd/group line when complete enough,
        the rest in the extras."""
        attrs = OrderedDict((k, list(v)) for k, v in attrs.items() if k not in ('RecordName', 'RecordType'))
        if attrs.get('Password') == [DERIVED_PASSWORD[kind]]:
            del attrs['Password']     # what record() shows for a passwd/group line: not stored
        for key in ('UniqueID', 'PrimaryGroupID'):
            for value in attrs.get(key, [])[:1]:
                if not value.lstrip('-').isdigit():
                    raise NotSimulated('a %s that is not a number (%s)' % (key, value))
        for values in attrs.values():
            for value in values:
                if ':' in value or '\n' in value:
                    raise NotSimulated('a value with ":" or a newline')
        if kind == 'Users':
            self._put_user(name, attrs)
        else:
            self._put_group(name, attrs)

    def _put_user(self, name, attrs):
        complete = attrs.get('UniqueID') and attrs.get('PrimaryGroupID')
        row = self._passwd_row(name)
        if not complete:
            if row is not None:
                self.passwd.remove(row)
                self.shadow = [r for r in self.shadow if r[0] != name]
            self.extras['Users'][name] = attrs
            return

        def first(key, default):
            values = attrs.get(key) or []
            return values[0] if values else default
        # INVENTED defaults for a record without them: shell /usr/bin/false (Ansible's DarwinUser
        # says dscl's users get it), home /var/empty, no RealName.
        new = [name, 'x', first('UniqueID', ''), first('PrimaryGroupID', ''), first('RealName', ''),
               first('NFSHomeDirectory', '/var/empty'), first('UserShell', '/usr/bin/false')]
        if row is None:
            self.passwd.append(new)
        else:
            row[:] = new
        if not any(r[0] == name for r in self.shadow):
            # locked ('*'): a dscl-made user has no password (-passwd is not simulated)
            self.shadow.append([name, '*', str(int(time.time() // 86400)), '0', '99999', '7', '', '', ''])
        rest = OrderedDict((k, v) for k, v in attrs.items() if k not in USER_FIELDS)
        if rest:
            self.extras['Users'][name] = rest
        else:
            self.extras['Users'].pop(name, None)

    def _put_group(self, name, attrs):
        row = self._group_row(name)
        if not attrs.get('PrimaryGroupID'):
            if row is not None:
                self.group.remove(row)
                self._gshadow_drop(name)
            self.extras['Groups'][name] = attrs
            return
        members = ','.join(attrs.get('GroupMembership') or [])
        new = [name, 'x', attrs['PrimaryGroupID'][0], members]
        if row is None:
            self.group.append(new)
        else:
            row[:] = new
        if self.gshadow is not None:
            self._gshadow_drop(name)
            self.gshadow.append([name, '!', '', members])
        rest = OrderedDict((k, v) for k, v in attrs.items() if k not in GROUP_FIELDS)
        if rest:
            self.extras['Groups'][name] = rest
        else:
            self.extras['Groups'].pop(name, None)

    def _gshadow_drop(self, name):
        if self.gshadow is not None:
            self.gshadow = [r for r in self.gshadow if r[0] != name]

    def remove(self, kind, name):
        if kind == 'Users':
            self.passwd = [r for r in self.passwd if r[0] != name]
            self.shadow = [r for r in self.shadow if r[0] != name]
        else:
            self.group = [r for r in self.group if r[0] != name]
            self._gshadow_drop(name)
        self.extras[kind].pop(name, None)

    def texts(self):
        """(passwd, group, shadow, extras, gshadow) to write back."""
        extras = dict((k, dict((n, dict(a)) for n, a in self.extras[k].items())) for k in KINDS)
        gshadow = dump_colon_file(self.gshadow) if self.gshadow is not None else None
        return (dump_colon_file(self.passwd), dump_colon_file(self.group), dump_colon_file(self.shadow),
                extras, gshadow)

    # -- the operations dscl and dseditgroup share -------------------------------------------------------
    def create(self, kind, name, attr=None, values=()):
        """`-create PATH [ATTR [VALUE...]]`: makes the record if needed (as dscl does), sets ATTR."""
        attrs = self.record(kind, name) or OrderedDict()
        if attr == 'RecordName':
            raise NotSimulated('renaming a record')
        if attr is not None:
            attrs[attr] = list(values)    # INVENTED: an attribute without a value keeps no value
        self.put(kind, name, attrs)

    def append(self, kind, name, attr, values):
        attrs = self.record(kind, name)
        if attrs is None:
            raise DsError(DS_RECORD_NOT_FOUND)       # INVENTED: append does not create the record
        if attr == 'RecordName':
            raise NotSimulated('renaming a record')
        attrs[attr] = list(attrs.get(attr, [])) + list(values)
        self.put(kind, name, attrs)

    def delete(self, kind, name, attr=None, values=()):
        attrs = self.record(kind, name)
        if attrs is None:
            raise DsError(DS_RECORD_NOT_FOUND)
        if attr is None:
            self.remove(kind, name)
            return
        if attr in ('RecordName', 'RecordType'):
            raise NotSimulated('deleting %s' % attr)
        if attr in attrs:                 # INVENTED: deleting a missing attribute is no error
            if values:
                attrs[attr] = [v for v in attrs[attr] if v not in values]
            else:
                del attrs[attr]
        self.put(kind, name, attrs)


# ---- output ------------------------------------------------------------------------------------

def format_attribute(attr, values):
    """dscl(1): `Attr: v1 v2`; when a value has a space, one value per line after the key, indented
    by one space. INVENTED: `Attr:` alone for no value."""
    if any(' ' in v for v in values):
        return '%s:\n%s' % (attr, '\n'.join(' ' + v for v in values))
    return ('%s: %s' % (attr, ' '.join(values))) if values else '%s:' % attr


def format_list(directory, kind, attr=None):
    lines = []
    for name in directory.names(kind):
        if attr is None:
            lines.append(name)
            continue
        values = directory.record(kind, name).get(attr)
        if values is None:
            continue              # INVENTED: a record without the attribute is left out
        pad = name.ljust(LIST_WIDTH - 1) + ' '
        lines.append(pad + ' '.join(values))
    return lines


def format_search(directory, kind, attr, value):
    """`-search`: one block per matching record, its name first (what Ansible's _list_user_groups reads).
    INVENTED layout of the rest."""
    lines = []
    for name in directory.names(kind):
        values = directory.record(kind, name).get(attr) or []
        if value in values:
            lines.append('%s\t\t%s = (' % (name, attr))
            lines.extend('    %s' % v for v in values)
            lines.append(')')
    return lines


# ---- the files of the simulated Mac --------------------------------------------------------------

FILES = ('/etc/passwd', '/etc/group', '/etc/shadow')
EXTRAS = 'dscl.json'


def _read(path, default=''):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def load(ctx):
    passwd, group, shadow = [_read(ctx.root_path(p)) for p in FILES]
    gshadow_path = ctx.root_path('/etc/gshadow')
    gshadow = _read(gshadow_path) if os.path.exists(gshadow_path) else None
    return Directory(passwd, group, shadow, read_json(ctx.path(EXTRAS), {}), gshadow)


def _replace(path, text):
    """Write `text` over `path` keeping its mode and owner (shadow stays root:shadow 0640)."""
    try:
        st = os.stat(path)
    except OSError:
        st = None
    tmp = '%s.macsim-tmp.%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        f.write(text)
    if st is not None:
        os.chmod(tmp, st.st_mode & 0o7777)
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except OSError:
            pass
    os.replace(tmp, path)


def save(ctx, directory):
    passwd, group, shadow, extras, gshadow = directory.texts()
    for path, text in zip(FILES, (passwd, group, shadow)):
        _replace(ctx.root_path(path), text)
    if gshadow is not None:
        _replace(ctx.root_path('/etc/gshadow'), gshadow)
    write_json_atomic(ctx.path(EXTRAS), extras)


def parse_path(path):
    """(kind, name or None) of /Users, /Users/NAME, /Groups, /Groups/NAME."""
    parts = [p for p in path.split('/') if p]
    if not parts or parts[0] not in KINDS or len(parts) > 2:
        raise NotSimulated('the path %s' % path)
    return parts[0], (parts[1] if len(parts) == 2 else None)


# ---- dscl ----------------------------------------------------------------------------------------

WRITES = ('create', 'append', 'delete')


def dscl(ctx, args):
    if len(args) < 2:
        raise NotSimulated('without a node and command (interactive mode)')
    node, command, rest = args[0], args[1].lstrip('-'), args[2:]
    if node not in NODES:
        raise NotSimulated('node %s' % node)
    if command not in ('read', 'list', 'search') + WRITES:
        raise NotSimulated(args[1])
    if not rest:
        # INVENTED: dscl's usage for a command without a path
        err('Usage: dscl [options] [<datasource> [<command>]]')
        return 64, 'error'
    kind, name = parse_path(rest[0])
    if command in WRITES:
        if name is None:
            raise NotSimulated('%s of %s' % (args[1], rest[0]))
        if not ctx.is_root:
            raise DsError(DS_PERMISSION, main_line=True)
        with ctx.locked():
            directory = load(ctx)
            attr, values = (rest[1] if len(rest) > 1 else None), rest[2:]
            if command == 'create':
                directory.create(kind, name, attr, values)
            elif command == 'append':
                if attr is None:
                    raise NotSimulated('append without an attribute')
                directory.append(kind, name, attr, values)
            else:
                directory.delete(kind, name, attr, values)
            save(ctx, directory)
        return 0, 'write'
    directory = load(ctx)
    if command == 'list':
        if name is not None or len(rest) > 2:
            raise NotSimulated('list of %s' % ' '.join(rest))
        for line in format_list(directory, kind, rest[1] if len(rest) > 1 else None):
            out(line)
        return 0, 'read'
    if command == 'search':
        if name is not None or len(rest) != 3:
            raise NotSimulated('search of %s' % ' '.join(rest))
        for line in format_search(directory, kind, rest[1], rest[2]):
            out(line)
        return 0, 'read'
    if name is None:
        raise NotSimulated('read of %s' % rest[0])
    attrs = directory.record(kind, name)
    if attrs is None:
        raise DsError(DS_RECORD_NOT_FOUND)
    for attr in rest[1:] or list(attrs):
        if attr in attrs:
            out(format_attribute(attr, attrs[attr]))
        else:
            err('No such key: %s' % attr)
    return 0, 'read'


def dscl_answering(ctx, args):
    """dscl with a DsError printed as dscl prints it."""
    try:
        return dscl(ctx, args)
    except DsError as e:
        for line in e.lines():
            err(line)
        return e.rc, ('write' if len(args) > 1 and args[1].lstrip('-') in WRITES else 'read')


def dscl_main(ctx, args):
    return not_simulated_exit('dscl', dscl_answering, ctx, args)


# ---- dseditgroup -----------------------------------------------------------------------------------

DSEDITGROUP_USAGE = ('Usage: dseditgroup [-pqv] [-o edit] [-n nodename] [-u username] [-P password] '
                     '[-r realname] [-c comment] [-s timetolive] [-k keyword] [-i gid] [-g guid] '
                     '[-a recordname] [-d recordname] [-t recordtype] [-T grouptype] [-L] groupname')  # INVENTED


def parse_dseditgroup(args):
    """{option: value} and the group name; None when the arguments make no sense."""
    opts, name, i = {}, None, 0
    while i < len(args):
        arg = args[i]
        if arg in ('-q', '-p', '-v', '-L'):
            opts[arg] = True          # -L: accepted and ignored (INVENTED meaning: the local node)
        elif arg in ('-o', '-i', '-r', '-a', '-d', '-t', '-n', '-c', '-u', '-P', '-m'):
            if i + 1 >= len(args):
                return None, None
            opts[arg] = args[i + 1]
            i += 1
        elif arg.startswith('-'):
            return None, None
        elif name is None:
            name = arg
        else:
            return None, None
        i += 1
    return opts, name


def dseditgroup(ctx, args):
    opts, name = parse_dseditgroup(args)
    if opts is None or name is None or opts.get('-o', 'edit') not in ('create', 'delete', 'edit'):
        if opts is not None and opts.get('-o') in ('read', 'checkmember'):
            raise NotSimulated('-o %s' % opts['-o'])
        err(DSEDITGROUP_USAGE)
        return 64, 'error'
    if opts.get('-n', '.') not in NODES:
        raise NotSimulated('-n %s' % opts['-n'])
    if '-u' in opts or '-P' in opts or '-c' in opts:
        raise NotSimulated('-u/-P/-c')
    op = opts.get('-o', 'edit')
    if not ctx.is_root:
        err('dseditgroup: not authorized')      # INVENTED (a real one asks for a password)
        return 64, 'write'
    gid = opts.get('-i')
    if gid is not None and not gid.lstrip('-').isdigit():
        err(DSEDITGROUP_USAGE)                  # INVENTED
        return 64, 'error'
    with ctx.locked():
        directory = load(ctx)

        def gid_taken(value):
            return any(directory.record('Groups', g).get('PrimaryGroupID') == [value]
                       for g in directory.names('Groups') if g != name)
        existing = directory.record('Groups', name)
        if op == 'create':
            if existing is not None:
                err('Group already exists')     # INVENTED
                return 64, 'write'
            if gid is None:
                # INVENTED: the lowest unused gid above 500
                used = set(int(v) for g in directory.names('Groups')
                           for v in directory.record('Groups', g).get('PrimaryGroupID', []))
                gid = str(next(n for n in range(501, 1 << 31) if n not in used))
            elif gid_taken(gid):
                err('GID already exists')       # REAL (nix-installer#186), exit 64
                return 64, 'write'
            attrs = OrderedDict([('PrimaryGroupID', [gid]), ('Password', ['*'])])
            if '-r' in opts:
                attrs['RealName'] = [opts['-r']]
            directory.put('Groups', name, attrs)
        elif existing is None:
            err('Group not found.')             # INVENTED
            return 64, 'write'
        elif op == 'delete':
            directory.remove('Groups', name)
        else:
            if gid is not None:
                if gid_taken(gid):
                    err('GID already exists')   # REAL (dayglojesus/managedmac#5: `-o edit -i`), exit 64
                    return 64, 'write'
                existing['PrimaryGroupID'] = [gid]
            if '-r' in opts:
                existing['RealName'] = [opts['-r']]
            for flag in ('-a', '-d'):
                if flag not in opts:
                    continue
                if opts.get('-t', 'user') != 'user':
                    raise NotSimulated('-t %s' % opts['-t'])
                member = opts[flag]
                if not directory.exists('Users', member):
                    err('Record was not found.')    # INVENTED (puppetlabs/puppet#325: unknown users fail)
                    return 64, 'write'
                members = [m for m in existing.get('GroupMembership', []) if m != member]
                if flag == '-a':
                    members.append(member)
                existing['GroupMembership'] = members
                if not members:
                    del existing['GroupMembership']
            directory.put('Groups', name, existing)
        save(ctx, directory)
    return 0, 'write'


def dseditgroup_main(ctx, args):
    return not_simulated_exit('dseditgroup', dseditgroup, ctx, args)
