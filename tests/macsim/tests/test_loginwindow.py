"""loginwindow's automatic login at boot (macsimlib/loginwindow.py): the decision as a pure function,
then in the simulated launchd run as an ordinary process (no container): the user logged in, gui/501
there and its LaunchAgents running, or nobody."""

import json
import os
import plistlib
import sys
import time
import warnings

import pytest

GUEST_LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         'guest', 'usr', 'local', 'lib', 'macsim')
sys.path.insert(0, GUEST_LIB)

from macsimlib import loginwindow  # noqa: E402

from ansible_collections.llmhost.macos.plugins.module_utils.autologin import encode_kcpassword  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)
    import crypt  # noqa: E402  pylint: disable=deprecated-module

# kcpassword's key written out here, not taken from either implementation
KEY = bytes.fromhex('7d895223d2bcddeaa3b91f')
PASSWORD = 'Correct-Horse-7'
AGENT = 'com.example.autologin'


def kcpassword(password):
    data = password.encode() + b'\0' * (12 - len(password.encode()) % 12)
    return bytes(b ^ KEY[i % len(KEY)] for i, b in enumerate(data))


def sha512(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def never(_password, _hashed):
    raise AssertionError('the password must not be checked')


# ---- the pure decision -----------------------------------------------------------------------------

def test_no_auto_login_user():
    assert loginwindow.decide(None, False, kcpassword(PASSWORD), sha512(PASSWORD), verify=never) == {
        'user': None, 'logged_in': False, 'reason': 'autoLoginUser is not set'}


def test_filevault_on_logs_nobody_in():
    assert loginwindow.decide('admin', True, kcpassword(PASSWORD), sha512(PASSWORD), verify=never) == {
        'user': 'admin', 'logged_in': False, 'reason': 'FileVault is on'}


def test_no_such_user():
    assert loginwindow.decide('ghost', False, kcpassword(PASSWORD), None, verify=never) == {
        'user': 'ghost', 'logged_in': False, 'reason': 'no user ghost'}


def test_no_kcpassword():
    assert loginwindow.decide('admin', False, None, sha512(PASSWORD), verify=never) == {
        'user': 'admin', 'logged_in': False, 'reason': '/etc/kcpassword does not exist'}


@pytest.mark.parametrize('data, hashed', [
    (kcpassword('wrong-password'), sha512(PASSWORD)),
    (kcpassword(PASSWORD + 'x'), sha512(PASSWORD)),
    (kcpassword(PASSWORD[:-1]), sha512(PASSWORD)),
    (kcpassword(PASSWORD), '*'),                        # admin without a password (an older instance)
    (kcpassword(PASSWORD), '!' + sha512(PASSWORD)),     # a locked password
    (b'\xff' * 12, sha512(PASSWORD)),                   # not UTF-8 once decoded
])
def test_wrong_password(data, hashed):
    assert loginwindow.decide('admin', False, data, hashed) == {
        'user': 'admin', 'logged_in': False, 'reason': "the password in /etc/kcpassword is not admin's"}


def test_right_password():
    assert loginwindow.decide('admin', False, kcpassword(PASSWORD), sha512(PASSWORD)) == {
        'user': 'admin', 'logged_in': True, 'reason': 'automatic login of admin'}


@pytest.mark.parametrize('password', ['a', 'elevenchars', 'twelve-chars', 'x' * 23, 'pässwörd', PASSWORD])
def test_decoding_strips_the_padding_of_the_collections_encoder(password):
    data = encode_kcpassword(password)
    assert len(data) % 12 == 0 and len(data) > len(password.encode())   # 12 more when it fills a block
    assert loginwindow.decode_kcpassword(data) == password
    assert loginwindow.decode_kcpassword(kcpassword(password)) == password


def test_verify_password_is_crypt():
    for hashed in (sha512(PASSWORD), crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_MD5))):
        assert loginwindow.verify_password(PASSWORD, hashed)
        assert not loginwindow.verify_password(PASSWORD.lower(), hashed)
    for hashed in ('', '*', '!', '!!'):
        assert not loginwindow.verify_password(PASSWORD, hashed)


# ---- in the simulated launchd ----------------------------------------------------------------------

def set_up(sim, user='admin', password=PASSWORD, data=None, shadow=None):
    """A Mac whose loginwindow names `user`, admin's password in /etc/shadow and an agent of admin's."""
    if user is not None:
        path = sim.root_path(loginwindow.LOGINWINDOW_PLIST)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            plistlib.dump({'autoLoginUser': user}, f, fmt=plistlib.FMT_BINARY)
    os.makedirs(sim.root_path('/etc'), exist_ok=True)
    with open(sim.root_path('/etc/shadow'), 'w') as f:
        f.write('root:*:20000:0:99999:7:::\nadmin:%s:20000:0:99999:7:::\n' % (shadow or sha512(PASSWORD)))
    if password is not None or data is not None:
        with open(sim.root_path('/etc/kcpassword'), 'wb') as f:
            f.write(data if data is not None else encode_kcpassword(password))
    sim.write_plist(sim.root_path('/Users/admin/Library/LaunchAgents/%s.plist' % AGENT), {
        'Label': AGENT, 'RunAtLoad': True, 'LimitLoadToSessionType': 'Aqua',
        'ProgramArguments': ['/bin/sleep', '600']})


def decision(sim, timeout=8.0):
    """loginwindow.json of the current boot (waits for loginwindow to decide)."""
    count = sim.read_json('boot.json')['count']
    end = time.time() + timeout
    while time.time() < end:
        try:
            found = sim.read_json('loginwindow.json')
        except (OSError, ValueError):
            found = None
        if found and found.get('boot') == count:
            return found
        time.sleep(0.05)
    raise AssertionError('no loginwindow decision:\n' + sim.launchd_log())


def agent_state(sim):
    res = sim.run('launchctl', 'print', 'gui/501/' + AGENT, euid=501)
    return None if res.rc != 0 else [line.split(' = ', 1)[1] for line in res.out.splitlines()
                                     if line.startswith('\tstate = ')][0]


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv('MACSIM_LOGINWINDOW_DELAY', '0.2')


def test_automatic_login_starts_the_agents(sim, fast):
    set_up(sim)
    sim.start_launchd()
    assert decision(sim) == {'user': 'admin', 'logged_in': True, 'reason': 'automatic login of admin', 'boot': 2}
    assert sim.run('launchctl', 'print', 'gui/501', euid=501).rc == 0
    end = time.time() + 8
    while agent_state(sim) != 'running' and time.time() < end:
        time.sleep(0.05)
    assert agent_state(sim) == 'running'   # LimitLoadToSessionType Aqua: a GUI login's agent
    with open(os.path.join(sim.run_dir, 'macsim-console.json')) as f:
        assert json.load(f) == {'user': 'admin', 'uid': 501}
    # `macsim login` after it: already logged in
    res = sim.run('macsim-session', 'login', 'admin')
    assert res.rc == 0 and json.loads(res.out)['created'] is False


@pytest.mark.parametrize('setup, reason', [
    (dict(user=None), 'autoLoginUser is not set'),
    (dict(password=None), '/etc/kcpassword does not exist'),
    (dict(password='not-it'), "the password in /etc/kcpassword is not admin's"),
    (dict(shadow='*'), "the password in /etc/kcpassword is not admin's"),
    (dict(user='ghost'), 'no user ghost'),
])
def test_nobody_is_logged_in(sim, fast, setup, reason):
    set_up(sim, **setup)
    sim.start_launchd()
    assert decision(sim)['reason'] == reason and decision(sim)['logged_in'] is False
    res = sim.run('launchctl', 'print', 'gui/501', euid=501)
    assert (res.rc, res.err) == (113, 'Bad request.\nCould not find domain for user gui: 501\n')
    assert agent_state(sim) is None
    assert not os.path.exists(os.path.join(sim.run_dir, 'macsim-console.json'))


def test_filevault_on_then_off_across_reboots(sim, fast):
    set_up(sim)
    sim.write_json('fdesetup.json', {'filevault': True})
    sim.start_launchd()
    assert decision(sim) == {'user': 'admin', 'logged_in': False, 'reason': 'FileVault is on', 'boot': 2}
    assert sim.run('launchctl', 'print', 'gui/501', euid=501).rc == 113
    sim.write_json('fdesetup.json', {'filevault': False})
    sim.reboot_launchd()
    assert decision(sim) == {'user': 'admin', 'logged_in': True, 'reason': 'automatic login of admin', 'boot': 3}
    assert sim.run('launchctl', 'print', 'gui/501', euid=501).rc == 0


def test_the_decision_waits_for_the_delay(sim, monkeypatch):
    monkeypatch.setenv('MACSIM_LOGINWINDOW_DELAY', '1.5')
    set_up(sim)
    sim.start_launchd()
    assert not os.path.exists(sim.path('loginwindow.json'))   # the boot jobs are loaded, loginwindow not up yet
    assert sim.run('launchctl', 'print', 'gui/501', euid=501).rc == 113
    assert decision(sim)['logged_in'] is True
