"""systemsetup stand-in (reference section 2)."""

import pytest

NOT_ADMIN = 'You need administrator access to run this tool... exiting!\n'
FDA = 'setremotelogin: Turning Remote Login on or off requires Full Disk Access privileges.\n'


@pytest.mark.parametrize('args', [
    ['-getremotelogin'], ['-setremotelogin', 'on'], ['-getcomputersleep'],
    ['-setrestartpowerfailure', 'on'], ['-bogus'], [],
])
def test_not_root_every_call_exits_zero(sim, args):
    res = sim.run('systemsetup', *args, euid=501)
    assert (res.rc, res.out, res.err) == (0, NOT_ADMIN, '')


def test_not_root_set_is_logged_as_write(sim):
    sim.run('systemsetup', '-getremotelogin', euid=501)
    sim.run('systemsetup', '-setrestartpowerfailure', 'on', euid=501)
    assert [c['kind'] for c in sim.calls()] == ['read', 'write']
    assert 'autorestart          0' in sim.run('pmset', '-g', 'custom').out


def test_restartfreeze(sim):
    assert sim.run('systemsetup', '-getrestartfreeze').out == 'Restart After Freeze: Off\n'
    res = sim.run('systemsetup', '-setrestartfreeze', 'on')
    assert (res.rc, res.out, res.err) == (0, '', '')
    assert sim.run('systemsetup', '-getrestartfreeze').out == 'Restart After Freeze: On\n'


def test_restartpowerfailure_is_pmset_autorestart(sim):
    res = sim.run('systemsetup', '-getrestartpowerfailure')
    assert (res.rc, res.out) == (0, 'Restart After Power Failure: Off\n')
    res = sim.run('systemsetup', '-setrestartpowerfailure', 'on')
    assert (res.rc, res.out, res.err) == (0, '', '')
    assert sim.run('systemsetup', '-getrestartpowerfailure').out == (
        'Restart After Power Failure: On\n')
    assert ' autorestart          1\n' in sim.run('pmset', '-g', 'custom').out
    sim.run('pmset', '-a', 'autorestart', '0')
    assert sim.run('systemsetup', '-getrestartpowerfailure').out == (
        'Restart After Power Failure: Off\n')


def test_restartpowerfailure_not_supported_on_laptop(laptop):
    line = 'Restart After Power Failure: Not supported on this machine.\n'
    assert laptop.run('systemsetup', '-getrestartpowerfailure').out == line
    res = laptop.run('systemsetup', '-setrestartpowerfailure', 'on')
    assert (res.rc, res.out) == (0, line)
    assert 'autorestart' not in laptop.run('pmset', '-g', 'custom').out


def test_computersleep(sim):
    assert sim.run('systemsetup', '-getcomputersleep').out == 'Computer Sleep: after 1 minutes\n'
    sim.run('pmset', '-a', 'sleep', '0')
    assert sim.run('systemsetup', '-getcomputersleep').out == 'Computer Sleep: Never\n'
    assert sim.run('systemsetup', '-setcomputersleep', '30').rc == 0
    assert sim.run('systemsetup', '-getcomputersleep').out == 'Computer Sleep: after 30 minutes\n'
    assert sim.run('systemsetup', '-setcomputersleep', 'Never').rc == 0
    assert ' sleep                0\n' in sim.run('pmset', '-g', 'custom').out


def test_wakeonnetworkaccess(sim):
    assert sim.run('systemsetup', '-getwakeonnetworkaccess').out == 'Wake On Network Access: On\n'
    assert sim.run('systemsetup', '-setwakeonnetworkaccess', 'off').rc == 0
    assert sim.run('systemsetup', '-getwakeonnetworkaccess').out == 'Wake On Network Access: Off\n'
    assert ' womp                 0\n' in sim.run('pmset', '-g', 'custom').out


def test_remotelogin(sim):
    assert sim.run('systemsetup', '-getremotelogin').out == 'Remote Login: On\n'
    res = sim.run('systemsetup', '-setremotelogin', 'on')
    assert (res.rc, res.out) == (0, 'setremotelogin: remote login is already On.\n')
    for args in (['off'], ['-f', 'off']):
        res = sim.run('systemsetup', '-setremotelogin', *args)
        assert (res.rc, res.out) == (1, FDA)
    assert sim.run('systemsetup', '-getremotelogin').out == 'Remote Login: On\n'


def test_remotelogin_with_full_disk_access(sim):
    sim.faults({'systemsetup': {'full_disk_access': True}})
    res = sim.run('systemsetup', '-setremotelogin', '-f', 'off')
    assert (res.rc, res.out) == (0, '')
    assert sim.run('systemsetup', '-getremotelogin').out == 'Remote Login: Off\n'


def test_options_are_case_insensitive(sim):
    assert sim.run('systemsetup', '-getRemoteLogin').out == 'Remote Login: On\n'


@pytest.mark.parametrize('args', [['-bogus'], [], ['-setrestartfreeze'],
                                  ['-setrestartfreeze', 'maybe']])
def test_errors_exit_nonzero(sim, args):
    res = sim.run('systemsetup', *args)
    assert res.rc == 1 and res.out
    assert sim.calls()[-1]['kind'] == 'error'


def test_fault_ignore(sim):
    sim.faults({'systemsetup': {'ignore': ['restartpowerfailure']}})
    assert sim.run('systemsetup', '-setrestartpowerfailure', 'on').rc == 0
    assert sim.run('systemsetup', '-getrestartpowerfailure').out == (
        'Restart After Power Failure: Off\n')
