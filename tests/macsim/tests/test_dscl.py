"""dscl and dseditgroup stand-ins: the local node backed by passwd/group/shadow (pure functions on
fake files), then the scripts on a state directory's root/etc, with the argv Ansible's DarwinUser
and DarwinGroup (ansible-core 2.19) run, texts and exit codes."""

import json
import os
import subprocess
import sys

import pytest

GUEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'guest')
sys.path.insert(0, os.path.join(GUEST, 'usr', 'local', 'lib', 'macsim'))

from macsimlib import dscl as ds  # noqa: E402

DSCL = os.path.join(GUEST, 'usr', 'bin', 'dscl')
DSEDITGROUP = os.path.join(GUEST, 'usr', 'sbin', 'dseditgroup')
PASSWD = ('root:x:0:0:root:/root:/bin/bash\n'
          'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n'
          'admin:x:501:20:Admin:/Users/admin:/bin/zsh\n')
GROUP = 'wheel:x:0:root\nroot:x:0:\nstaff:x:20:\nadmin:x:80:admin\n'
SHADOW = 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nadmin:$y$hash:19000:0:99999:7:::\n'
NOT_FOUND = '<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)\n'
PERMISSION = '<main> attribute status: eDSPermissionError\n<dscl_cmd> DS Error: -14120 (eDSPermissionError)\n'


def directory():
    return ds.Directory(PASSWD, GROUP, SHADOW, {})


# ---- pure functions ------------------------------------------------------------------------------

def test_records_come_from_passwd_and_group():
    d = directory()
    assert d.names('Users') == ['admin', 'daemon', 'root']
    assert dict(d.record('Users', 'admin')) == {
        'NFSHomeDirectory': ['/Users/admin'], 'Password': ['********'], 'PrimaryGroupID': ['20'],
        'RealName': ['Admin'], 'RecordName': ['admin'], 'RecordType': ['dsRecTypeStandard:Users'],
        'UniqueID': ['501'], 'UserShell': ['/bin/zsh']}
    assert list(d.record('Users', 'admin')) == sorted(d.record('Users', 'admin'))
    assert d.record('Groups', 'admin')['GroupMembership'] == ['admin']
    assert 'GroupMembership' not in d.record('Groups', 'staff')
    assert d.record('Users', 'nosuch') is None


def test_a_user_gets_its_passwd_line_once_it_has_uid_and_gid():
    d = directory()
    d.create('Users', '_llmgateway')
    assert d.exists('Users', '_llmgateway')
    passwd, _group, shadow, extras, _dscl = d.texts()
    assert '_llmgateway' not in passwd and extras['Users'] == {'_llmgateway': {}}
    for attr, value in (('RealName', 'LLM gateway'), ('NFSHomeDirectory', '/var/empty'), ('UserShell', '/usr/bin/false'),
                        ('UniqueID', '450')):
        d.create('Users', '_llmgateway', attr, [value])
    assert '_llmgateway' not in d.texts()[0]
    d.create('Users', '_llmgateway', 'PrimaryGroupID', ['450'])
    d.create('Users', '_llmgateway', 'IsHidden', ['1'])
    d.create('Users', '_llmgateway', 'Password', ['*'])
    passwd, _group, shadow, extras, _dscl = d.texts()
    assert passwd.endswith('_llmgateway:x:450:450:LLM gateway:/var/empty:/usr/bin/false\n')
    assert passwd.startswith(PASSWD)
    assert shadow.startswith(SHADOW) and shadow.splitlines()[-1].startswith('_llmgateway:*:')
    assert extras['Users'] == {'_llmgateway': {'IsHidden': ['1'], 'Password': ['*']}}
    again = ds.Directory(passwd, GROUP, shadow, extras)
    assert again.record('Users', '_llmgateway')['IsHidden'] == ['1']
    assert again.record('Users', '_llmgateway')['Password'] == ['*']
    again.delete('Users', '_llmgateway')
    passwd, _group, shadow, extras, _dscl = again.texts()
    assert (passwd, shadow, extras['Users']) == (PASSWD, SHADOW, {})


def test_groups_membership_and_delete():
    d = ds.Directory(PASSWD, GROUP, SHADOW, {}, gshadow='admin:!::admin\n')
    d.create('Groups', '_llmgateway', 'PrimaryGroupID', ['450'])
    d.append('Groups', '_llmgateway', 'GroupMembership', ['admin'])
    d.append('Groups', '_llmgateway', 'GroupMembership', ['root'])
    _passwd, group, _shadow, extras, gshadow = d.texts()
    assert group.endswith('_llmgateway:x:450:admin,root\n') and extras['Groups'] == {}
    assert gshadow == 'admin:!::admin\n_llmgateway:!::admin,root\n'
    d.delete('Groups', '_llmgateway', 'GroupMembership', ['admin'])
    assert d.record('Groups', '_llmgateway')['GroupMembership'] == ['root']
    d.delete('Groups', '_llmgateway')
    _passwd, group, _shadow, _extras, gshadow = d.texts()
    assert (group, gshadow) == (GROUP, 'admin:!::admin\n')
    with pytest.raises(ds.DsError) as e:
        d.delete('Groups', '_llmgateway')
    assert (e.value.rc, e.value.lines()) == (56, [NOT_FOUND.strip()])


def test_formats():
    d = directory()
    assert ds.format_attribute('UniqueID', ['450']) == 'UniqueID: 450'
    assert ds.format_attribute('RealName', ["It's a feature"]) == "RealName:\n It's a feature"
    assert ds.format_attribute('GroupMembership', ['root', 'admin']) == 'GroupMembership: root admin'
    assert ds.format_list(d, 'Users', 'UniqueID') == ['admin                    501', 'daemon                   1',
                                                      'root                     0']
    assert ds.format_list(d, 'Users') == ['admin', 'daemon', 'root']
    d.create('Users', 'a_name_longer_than_25_chars', 'UniqueID', ['7'])
    assert ds.format_list(d, 'Users', 'UniqueID')[0] == 'a_name_longer_than_25_chars 7'
    assert ds.format_search(d, 'Groups', 'GroupMembership', 'admin') == ['admin\t\tGroupMembership = (', '    admin', ')']
    assert ds.DsError(ds.DS_PERMISSION).rc == 40 and ds.DsError(ds.DS_INVALID_PATH).rc == 185


@pytest.mark.parametrize('attrs', [{'UniqueID': ['x1']}, {'RealName': ['a:b']}])
def test_values_a_passwd_line_cannot_hold_are_not_simulated(attrs):
    with pytest.raises(ds.NotSimulated):
        directory().put('Users', 'u', attrs)


# ---- the scripts -----------------------------------------------------------------------------------

@pytest.fixture
def etc(sim):
    os.makedirs(sim.root_path('/etc'))
    for name, text in (('passwd', PASSWD), ('group', GROUP), ('shadow', SHADOW)):
        with open(sim.root_path('/etc/' + name), 'w') as f:
            f.write(text)
    os.chmod(sim.root_path('/etc/shadow'), 0o640)
    return sim


def run(sim, script, *args, **kw):
    proc = subprocess.run([sys.executable, script] + list(args), env=sim.env(kw.get('euid', 0)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def etc_file(sim, name):
    with open(sim.root_path('/etc/' + name)) as f:
        return f.read()


def test_read_and_list(etc):
    assert run(etc, DSCL, '.', '-read', '/Users/admin', 'UniqueID') == (0, 'UniqueID: 501\n', '')
    assert run(etc, DSCL, '.', 'read', '/Users/admin', 'UniqueID', 'Bogus', euid=501) == (
        0, 'UniqueID: 501\n', 'No such key: Bogus\n')
    rc, out, err = run(etc, DSCL, '.', '-read', '/Users/admin')
    assert rc == 0 and 'RecordName: admin\n' in out and out.endswith('UserShell: /bin/zsh\n')
    assert run(etc, DSCL, '.', '-read', '/Users/nosuch', 'UniqueID', euid=501) == (56, '', NOT_FOUND)
    assert run(etc, DSCL, '.', '-list', '/Users', 'UniqueID', euid=501)[1].splitlines()[0] == 'admin                    501'
    rc, out, _err = run(etc, DSCL, '/Local/Default', '-list', '/Groups', 'PrimaryGroupID')
    assert rc == 0 and 'staff                    20\n' in out


def test_writes_need_root(etc):
    assert run(etc, DSCL, '.', 'create', '/Users/nylas', euid=501) == (40, '', PERMISSION)
    assert etc_file(etc, 'passwd') == PASSWD
    assert run(etc, DSEDITGROUP, '-o', 'create', '-i', '450', '-L', 'g', euid=501)[0] == 64
    assert etc_file(etc, 'group') == GROUP


def darwin_group_present(sim, name, gid):
    """What ansible.builtin.group does (DarwinGroup.group_add) when grp does not know the group."""
    return run(sim, DSEDITGROUP, '-o', 'create', '-i', str(gid), '-L', name)


def darwin_user_create(sim, name, uid, gid):
    """The argv of DarwinUser.create_user for a hidden system user (comment unset, so the name)."""
    calls = [['-create', '/Users/' + name]]
    for attr, value in (('RealName', name), ('NFSHomeDirectory', '/var/empty'), ('UserShell', '/usr/bin/false'),
                        ('UniqueID', str(uid)), ('PrimaryGroupID', str(gid)), ('IsHidden', '1')):
        calls.append(['-create', '/Users/' + name, attr, value])
    calls.append(['-create', '/Users/' + name, 'Password', '*'])
    return [run(sim, DSCL, '.', *c) for c in calls]


def test_the_ansible_modules_argv(etc):
    assert darwin_group_present(etc, '_llmgateway', 450) == (0, '', '')
    assert etc_file(etc, 'group').endswith('_llmgateway:x:450:\n')
    assert darwin_group_present(etc, '_llmgateway', 450) == (64, '', 'Group already exists\n')
    assert darwin_group_present(etc, 'other', 450) == (64, '', 'GID already exists\n')
    # user_exists(): -read UniqueID fails before the user is made
    assert run(etc, DSCL, '.', '-read', '/Users/_llmgateway', 'UniqueID')[0] == 56
    assert all(r == (0, '', '') for r in darwin_user_create(etc, '_llmgateway', 450, 450))
    assert etc_file(etc, 'passwd').endswith('_llmgateway:x:450:450:_llmgateway:/var/empty:/usr/bin/false\n')
    assert etc_file(etc, 'shadow').splitlines()[-1].startswith('_llmgateway:*:')
    assert os.stat(etc.root_path('/etc/shadow')).st_mode & 0o777 == 0o640
    # modify_user(): every field read back the way _get_user_property parses it
    for attr, value in (('NFSHomeDirectory', '/var/empty'), ('UserShell', '/usr/bin/false'), ('UniqueID', '450'),
                        ('PrimaryGroupID', '450'), ('IsHidden', '1')):
        assert run(etc, DSCL, '.', '-read', '/Users/_llmgateway', attr) == (0, '%s: %s\n' % (attr, value), '')
    assert json.load(open(etc.path('dscl.json')))['Users'] == {'_llmgateway': {'IsHidden': ['1'], 'Password': ['*']}}
    # _list_user_groups() and dseditgroup -a/-d
    assert run(etc, DSEDITGROUP, '-o', 'edit', '-a', '_llmgateway', '-t', 'user', 'admin') == (0, '', '')
    rc, out, _err = run(etc, DSCL, '.', '-search', '/Groups', 'GroupMembership', '_llmgateway')
    assert rc == 0 and [line.split()[0] for line in out.splitlines() if not line.startswith((' ', ')'))] == ['admin']
    assert 'admin:x:80:admin,_llmgateway\n' in etc_file(etc, 'group')
    assert run(etc, DSEDITGROUP, '-o', 'edit', '-d', '_llmgateway', '-t', 'user', 'admin') == (0, '', '')
    assert 'admin:x:80:admin\n' in etc_file(etc, 'group')
    assert run(etc, DSEDITGROUP, '-o', 'edit', '-a', 'nosuch', '-t', 'user', 'admin') == (64, '', 'Record was not found.\n')
    # group_mod(): a new gid
    assert run(etc, DSEDITGROUP, '-o', 'edit', '-i', '451', '-L', '_llmgateway') == (0, '', '')
    assert '_llmgateway:x:451:\n' in etc_file(etc, 'group')
    # state: absent
    assert run(etc, DSCL, '.', '-delete', '/Users/_llmgateway') == (0, '', '')
    assert run(etc, DSCL, '.', '-delete', '/Users/_llmgateway') == (56, '', NOT_FOUND)
    assert run(etc, DSEDITGROUP, '-o', 'delete', '-L', '_llmgateway') == (0, '', '')
    assert run(etc, DSEDITGROUP, '-o', 'delete', '-L', '_llmgateway') == (64, '', 'Group not found.\n')
    assert (etc_file(etc, 'passwd'), etc_file(etc, 'group'), etc_file(etc, 'shadow')) == (PASSWD, GROUP, SHADOW)


def test_a_system_gid_is_found_like_darwingroup_does(etc):
    """get_lowest_available_system_gid(): the highest gid under 500 of `-list /Groups PrimaryGroupID`, plus 1."""
    run(etc, DSEDITGROUP, '-o', 'create', '-i', '449', 'g449')
    _rc, out, _err = run(etc, DSCL, '/Local/Default', '-list', '/Groups', 'PrimaryGroupID')
    assert max(int(line.split(' ')[-1]) for line in out.splitlines() if int(line.split(' ')[-1]) < 500) == 449
    assert run(etc, DSEDITGROUP, '-o', 'create', 'nogid') == (0, '', '')
    assert 'nogid:x:501:\n' in etc_file(etc, 'group')


@pytest.mark.parametrize('script, args', [
    (DSCL, ['/Search', '-read', '/Users/admin']), (DSCL, ['.', '-passwd', '/Users/admin', 'pw']),
    (DSCL, ['.', '-read', '/Computers/x']), (DSCL, []), (DSEDITGROUP, ['-o', 'checkmember', '-m', 'admin', 'admin']),
    (DSCL, ['.', '-create', '/Users/admin', 'RecordName', 'other'])])
def test_not_simulated(etc, script, args):
    rc, out, err = run(etc, script, *args)
    assert (rc, out) == (2, '') and err.startswith('macsim: ') and err.endswith(' is not simulated\n'), err


def test_calls_are_logged(etc):
    run(etc, DSCL, '.', '-read', '/Users/admin', 'UniqueID', euid=501)
    run(etc, DSCL, '.', '-create', '/Users/x', euid=501)
    run(etc, DSEDITGROUP, '-o', 'create', '-i', '460', 'g')
    run(etc, DSCL, '.', '-passwd', '/Users/x', 'pw')
    calls = [(c['tool'], c['rc'], c['kind'], c['euid']) for c in etc.calls()]
    assert calls == [('dscl', 0, 'read', 501), ('dscl', 40, 'write', 501), ('dseditgroup', 0, 'write', 0),
                     ('dscl', 2, 'error', 0)]
