"""Users and groups for the macsim stand-ins and the simulated launchd (test fixture).

Inside an instance this is the real passwd/group database (`admin` is uid 501, primary group
`staff` 20, also in `admin` 80; see macsim-provision). In unit tests (MACSIM_STATE_DIR set) a
fixed table stands in for it, with homes under $MACSIM_STATE_DIR/root, so nothing depends on the
accounts of the machine running the tests.
"""

import grp
import os
import pwd


class User(object):
    __slots__ = ('name', 'uid', 'gid', 'home', 'shell')

    def __init__(self, name, uid, gid, home, shell):
        self.name, self.uid, self.gid, self.home, self.shell = name, uid, gid, home, shell

    def __repr__(self):
        return 'User(%r, %r)' % (self.name, self.uid)


# name, uid, gid, home (inside the root), shell
_TEST_USERS = [
    ('root', 0, 0, '/var/root', '/bin/sh'),
    ('daemon', 1, 1, '/var/root', '/usr/bin/false'),
    ('admin', 501, 20, '/Users/admin', '/bin/zsh'),
    ('guest', 502, 20, '/Users/guest', '/bin/zsh'),
    ('nobody', -2, -2, '/var/empty', '/usr/bin/false'),
]
_TEST_GROUPS = [('wheel', 0, []), ('daemon', 1, []), ('staff', 20, ['admin', 'guest']),
                ('admin', 80, ['admin']), ('nogroup', -1, []), ('nobody', -2, [])]


class UserDB(object):
    """pwd/grp, or the fixed test table when `testing_root` is given."""

    def __init__(self, testing_root=None):
        self.testing_root = testing_root

    def _test_user(self, row):
        name, uid, gid, home, shell = row
        return User(name, uid, gid, os.path.join(self.testing_root, home.lstrip('/')), shell)

    def by_uid(self, uid):
        if self.testing_root is not None:
            for row in _TEST_USERS:
                if row[1] == uid:
                    return self._test_user(row)
            return None
        try:
            p = pwd.getpwuid(uid)
        except KeyError:
            return None
        return User(p.pw_name, p.pw_uid, p.pw_gid, p.pw_dir, p.pw_shell)

    def by_name(self, name):
        if self.testing_root is not None:
            for row in _TEST_USERS:
                if row[0] == name:
                    return self._test_user(row)
            return None
        try:
            p = pwd.getpwnam(name)
        except KeyError:
            return None
        return User(p.pw_name, p.pw_uid, p.pw_gid, p.pw_dir, p.pw_shell)

    def group_gid(self, name):
        if self.testing_root is not None:
            for gname, gid, _members in _TEST_GROUPS:
                if gname == name:
                    return gid
            return None
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            return None

    def group_name(self, gid):
        if self.testing_root is not None:
            for gname, ggid, _members in _TEST_GROUPS:
                if ggid == gid:
                    return gname
            return str(gid)
        try:
            return grp.getgrgid(gid).gr_name
        except KeyError:
            return str(gid)

    def groups_of(self, user):
        """Supplementary gids as initgroups(3) would set them."""
        if self.testing_root is not None:
            return sorted(set([user.gid] + [g for _n, g, members in _TEST_GROUPS if user.name in members]))
        try:
            return os.getgrouplist(user.name, user.gid)
        except OSError:
            return [user.gid]
