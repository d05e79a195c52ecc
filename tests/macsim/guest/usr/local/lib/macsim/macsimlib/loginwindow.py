"""loginwindow of the simulated Mac: automatic login at boot (test fixture; not macOS code).

On a Mac, loginwindow comes up once the boot daemons run and logs in the user named by
`autoLoginUser` in /Library/Preferences/com.apple.loginwindow, typing in the password kept in
/etc/kcpassword: the password XOR-ed with a fixed 11-byte key, padded with zero bytes to a multiple
of 12. With FileVault on, macOS does not log anyone in automatically (shared/reference/ollama-role.md
2.3). The simulated launchd (macsimlib/launchd.py) asks `decide()` LOGINWINDOW_DELAY seconds after
it has loaded the boot jobs (INVENTED timing) and, when it says so, logs the user in as
`macsim login` does: gui/<uid> and the user's LaunchAgents.

The decision, in this order (the first that applies):
  * no autoLoginUser (or not a string)            nobody: "autoLoginUser is not set"
  * FileVault on (fdesetup's flag)                nobody: "FileVault is on"
  * autoLoginUser names no user                   nobody: "no user NAME"
  * no /etc/kcpassword                            nobody: "/etc/kcpassword does not exist"
  * kcpassword's password (up to its first zero
    byte) does not match the user's /etc/shadow
    hash (crypt(3))                               nobody: "the password in /etc/kcpassword is not NAME's"
  * otherwise                                     NAME:   "automatic login of NAME"
It is written to /var/db/macsim/loginwindow.json: {"user", "logged_in", "reason", "boot"} (boot: the
boot count it belongs to; the file is removed at each boot until loginwindow has decided).
The reason texts are INVENTED (a real loginwindow says nothing; it shows its window).

`decide()` is a pure function; `gather()` reads its inputs from the instance (or from the unit
tests' state directory).
"""

import hmac
import importlib
import warnings

from macsimlib.common import Ctx
from macsimlib.defaults import read_domain
from macsimlib.fdesetup import filevault_on

LOGINWINDOW_PLIST = '/Library/Preferences/com.apple.loginwindow.plist'
AUTO_LOGIN_KEY = 'autoLoginUser'
KCPASSWORD = '/etc/kcpassword'
SHADOW = '/etc/shadow'
STATE = 'loginwindow.json'
DELAY = 2.0            # INVENTED: seconds from the boot jobs being loaded to loginwindow's decision
KEY = bytes.fromhex('7d895223d2bcddeaa3b91f')


def decode_kcpassword(data):
    """The password in /etc/kcpassword's bytes: XOR with the key, up to the first zero byte; None
    when that is not UTF-8."""
    plain = bytes(byte ^ KEY[i % len(KEY)] for i, byte in enumerate(bytearray(data)))
    try:
        return plain.split(b'\0', 1)[0].decode('utf-8')
    except UnicodeDecodeError:
        return None


def verify_password(password, hashed):
    """Whether `password` is the one of an /etc/shadow hash (crypt(3)); a locked or empty hash
    (`*`, `!...`, ``) matches nothing."""
    if not hashed or hashed[0] in '*!':
        return False
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)   # crypt is deprecated since 3.11
        try:
            crypt = importlib.import_module('crypt')
        except ImportError:   # Python 3.13+: the simulation's own interpreter is 3.11
            return False
    result = crypt.crypt(password, hashed)
    return bool(result) and hmac.compare_digest(result, hashed)


def decide(user, filevault, kcpassword, shadow_hash, verify=verify_password):
    """loginwindow's choice at boot: {'user', 'logged_in', 'reason'}.

    user: autoLoginUser (None when not set); filevault: bool; kcpassword: the bytes of
    /etc/kcpassword (None: no such file); shadow_hash: the user's /etc/shadow hash (None: there is
    no such user; '*': no password); verify(password, hash) -> bool."""
    def nobody(reason):
        return {'user': user, 'logged_in': False, 'reason': reason}
    if not user:
        return nobody('autoLoginUser is not set')
    if filevault:
        return nobody('FileVault is on')
    if shadow_hash is None:
        return nobody('no user %s' % user)
    if kcpassword is None:
        return nobody('%s does not exist' % KCPASSWORD)
    password = decode_kcpassword(kcpassword)
    if password is None or not verify(password, shadow_hash):
        return nobody('the password in %s is not %s\'s' % (KCPASSWORD, user))
    return {'user': user, 'logged_in': True, 'reason': 'automatic login of %s' % user}


def shadow_hash(path, user):
    """The password field of `user` in a shadow file, None when the user has no line."""
    try:
        with open(path) as f:
            for line in f:
                fields = line.rstrip('\n').split(':')
                if len(fields) >= 2 and fields[0] == user:
                    return fields[1]
    except OSError:
        pass
    return None


def _filevault():
    try:
        return filevault_on(Ctx('loginwindow', ['loginwindow']))
    except RuntimeError:   # no profile.json: FileVault's default, off
        return False


def gather(paths, users):
    """decide()'s inputs read from the instance: (user, filevault, kcpassword, shadow_hash).
    `paths`: launchd's Paths; `users`: its UserDB (the user must exist there too)."""
    prefs = read_domain(paths.root_path(LOGINWINDOW_PLIST)) or {}
    user = prefs.get(AUTO_LOGIN_KEY)
    if not isinstance(user, str) or not user:
        user = None
    try:
        with open(paths.root_path(KCPASSWORD), 'rb') as f:
            kcpassword = f.read()
    except OSError:
        kcpassword = None
    hashed = None
    if user is not None and users.by_name(user) is not None:
        hashed = shadow_hash(paths.root_path(SHADOW), user)
        if hashed is None:
            hashed = '*'
    return user, _filevault(), kcpassword, hashed
