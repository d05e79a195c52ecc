"""scutil stand-in: --get/--set of ComputerName, LocalHostName and HostName, kept in the instance's
preferences.plist, with the texts of configd's prefs.c
(shared/reference/macos-formats-provisioning.md section 4)."""

import json
import os
import plistlib
import re
import subprocess
import sys
import time

import pytest

from e2e_support import E2E_ONLY, macsim

MACSIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCUTIL = os.path.join(MACSIM_DIR, 'guest', 'usr', 'sbin', 'scutil')
GUEST_LIB = os.path.join(MACSIM_DIR, 'guest', 'usr', 'local', 'lib', 'macsim')
PROFILES = os.path.join(MACSIM_DIR, 'profiles')
PREFS = '/Library/Preferences/SystemConfiguration/preferences.plist'
NAMES = ('ComputerName', 'LocalHostName', 'HostName')
UTF8 = 134217984  # kCFStringEncodingUTF8
# The module's own rule for a LocalHostName (plugins/module_utils/scutil.py).
LOCAL_RE = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
# The boot hook that puts HostName back after a reboot, and what it runs (used while it is not there).
BOOT_HOOK = os.path.join(MACSIM_DIR, 'guest', 'usr', 'local', 'libexec', 'macsim-boot.d', '20-scutil-hostname')
BOOT_HOOK_CODE = ('import sys; sys.path.insert(0, %r); from macsimlib.common import Ctx; '
                  'from macsimlib.scutil import apply_at_boot; apply_at_boot(Ctx("scutil-boot", sys.argv))' % GUEST_LIB)


def scutil(sim, *args, **kw):
    proc = subprocess.run([sys.executable, SCUTIL] + list(args), env=sim.env(kw.get('euid', 0)),
                          input=kw.get('stdin', ''), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def names(sim, euid=501):
    """{'ComputerName': value or None, ...} as `scutil --get` answers."""
    res = {}
    for name in NAMES:
        rc, out, err = scutil(sim, '--get', name, euid=euid)
        assert (rc, err) in ((0, ''), (1, '%s: not set\n' % name)), (rc, out, err)
        res[name] = out[:-1] if rc == 0 else None
    return res


def prefs(sim):
    with open(sim.root_path(PREFS), 'rb') as f:
        return plistlib.load(f)


def kernel_hostname(sim):
    """What the instance's node name would be (unit tests: a file stands for the kernel's)."""
    path = sim.root_path('/proc/sys/kernel/hostname')
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read().strip()


def write_etc(sim, instance='testmac', address='10.213.1.2'):
    """/etc/hostname and /etc/hosts as macsim writes them (write_etc_host)."""
    os.makedirs(sim.root_path('/etc'), exist_ok=True)
    with open(sim.root_path('/etc/hostname'), 'w') as f:
        f.write(instance + '\n')
    with open(sim.root_path('/etc/hosts'), 'w') as f:
        f.write('127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost\n%s\t%s\n' % (instance, address, instance))


def etc_hosts(sim):
    with open(sim.root_path('/etc/hosts')) as f:
        return f.read()


# -- a fresh Mac -------------------------------------------------------------------------------------
@pytest.mark.parametrize('profile, computer, local', [
    ('mac-studio', 'Mac Studio', 'Mac-Studio'),
    ('macbook', 'MacBook Pro', 'MacBook-Pro'),
    ('fresh-mac-studio', 'Mac Studio', 'Mac-Studio'),
])
def test_profiles_name_the_macs(profile, computer, local):
    with open(os.path.join(PROFILES, profile + '.json')) as f:
        data = json.load(f)
    assert (data['computer_name'], data['local_host_name']) == (computer, local)
    assert LOCAL_RE.match(data['local_host_name'])


@pytest.mark.parametrize('euid', [501, 0])
def test_a_fresh_mac_has_the_profile_names_and_no_host_name(sim, laptop, euid):
    assert scutil(sim, '--get', 'ComputerName', euid=euid) == (0, 'Mac Studio\n', '')
    assert scutil(sim, '--get', 'LocalHostName', euid=euid) == (0, 'Mac-Studio\n', '')
    assert scutil(sim, '--get', 'HostName', euid=euid) == (1, '', 'HostName: not set\n')
    assert names(laptop, euid) == {'ComputerName': 'MacBook Pro', 'LocalHostName': 'MacBook-Pro', 'HostName': None}
    # Reading writes nothing: there is no preferences.plist before the first --set.
    assert not os.path.exists(sim.root_path(PREFS))


def test_defaults_without_the_profile_keys_come_from_the_model_name(sim):
    profile = sim.read_json('profile.json')
    del profile['computer_name'], profile['local_host_name']
    sim.write_json('profile.json', profile)
    assert names(sim) == {'ComputerName': 'Mac Studio', 'LocalHostName': 'Mac-Studio', 'HostName': None}
    profile['computer_name'] = "Frankie\u2019s MacBook Pro"
    sim.write_json('profile.json', profile)
    assert names(sim) == {'ComputerName': "Frankie\u2019s MacBook Pro", 'LocalHostName': 'Frankies-MacBook-Pro',
                          'HostName': None}


# -- --set -------------------------------------------------------------------------------------------
def test_set_prints_nothing_and_every_later_call_reads_it_back(sim):
    for name, value in (('ComputerName', 'LLM Studio 1'), ('LocalHostName', 'llm-studio-1'), ('HostName', 'llm1')):
        assert scutil(sim, '--set', name, value) == (0, '', '')
        assert scutil(sim, '--get', name, euid=501) == (0, value + '\n', '')
    assert names(sim) == {'ComputerName': 'LLM Studio 1', 'LocalHostName': 'llm-studio-1', 'HostName': 'llm1'}
    # The names live where configd keeps them, in an XML plist like SCPreferencesCommitChanges writes.
    with open(sim.root_path(PREFS), 'rb') as f:
        assert f.read().startswith(b'<?xml')
    assert prefs(sim) == {'System': {
        'System': {'ComputerName': 'LLM Studio 1', 'ComputerNameEncoding': UTF8, 'HostName': 'llm1'},
        'Network': {'HostNames': {'LocalHostName': 'llm-studio-1'}}}}
    assert os.stat(sim.root_path(PREFS)).st_mode & 0o777 == 0o644
    assert not os.path.exists(sim.root_path(PREFS) + '-new')


def test_the_first_set_keeps_the_other_defaults(sim):
    assert scutil(sim, '--set', 'HostName', 'llm1') == (0, '', '')
    assert prefs(sim) == {'System': {
        'System': {'ComputerName': 'Mac Studio', 'ComputerNameEncoding': 0, 'HostName': 'llm1'},
        'Network': {'HostNames': {'LocalHostName': 'Mac-Studio'}}}}
    # From now on the file wins over the profile.
    profile = sim.read_json('profile.json')
    profile['computer_name'] = 'Other'
    sim.write_json('profile.json', profile)
    assert names(sim)['ComputerName'] == 'Mac Studio'


def test_an_empty_value_clears_the_name(sim):
    assert scutil(sim, '--set', 'HostName', 'llm1') == (0, '', '')
    assert scutil(sim, '--set', 'HostName', '') == (0, '', '')
    assert scutil(sim, '--get', 'HostName') == (1, '', 'HostName: not set\n')
    assert scutil(sim, '--set', 'ComputerName', '') == (0, '', '')
    assert scutil(sim, '--get', 'ComputerName') == (1, '', 'ComputerName: not set\n')
    assert scutil(sim, '--set', 'LocalHostName', '') == (0, '', '')
    assert scutil(sim, '--get', 'LocalHostName') == (1, '', 'LocalHostName: not set\n')
    assert prefs(sim) == {'System': {'System': {}, 'Network': {'HostNames': {}}}}
    # Clearing what is not set is no error either.
    assert scutil(sim, '--set', 'HostName', '') == (0, '', '')


def test_anything_after_the_value_is_ignored(sim):
    assert scutil(sim, '--set', 'HostName', 'llm1', 'extra') == (0, '', '')
    assert names(sim)['HostName'] == 'llm1'


@pytest.mark.parametrize('value', ['my mac', '-llm', 'llm-', 'llm.lab', 'llm_1', 'caf\u00e9', 'a..b'])
def test_an_invalid_local_host_name_is_refused(sim, value):
    assert scutil(sim, '--set', 'LocalHostName', value) == (
        1, '', 'SCPreferencesSetLocalHostName() failed: Invalid argument\n')
    assert names(sim)['LocalHostName'] == 'Mac-Studio' and not os.path.exists(sim.root_path(PREFS))


@pytest.mark.parametrize('value', ['a', '1', 'llm-studio-1', 'A' * 80])
def test_valid_local_host_names_any_length(sim, value):
    assert scutil(sim, '--set', 'LocalHostName', value) == (0, '', '')
    assert names(sim)['LocalHostName'] == value


def test_host_name_and_computer_name_are_not_checked(sim):
    assert scutil(sim, '--set', 'HostName', 'not a dns name') == (0, '', '')
    assert scutil(sim, '--set', 'ComputerName', 'Frankie\u2019s Mac \u2603') == (0, '', '')
    assert names(sim) == {'ComputerName': 'Frankie\u2019s Mac \u2603', 'LocalHostName': 'Mac-Studio',
                          'HostName': 'not a dns name'}


# -- the stdin form ----------------------------------------------------------------------------------
def test_set_without_a_value_reads_one_line_from_stdin(sim):
    assert scutil(sim, '--set', 'HostName', stdin='llm1\nignored\n') == (0, '', '')
    assert names(sim)['HostName'] == 'llm1'
    # No terminal, no prompt; spaces around the value are trimmed.
    assert scutil(sim, '--set', 'ComputerName', stdin='  LLM Studio 1 \t\n') == (0, '', '')
    assert names(sim)['ComputerName'] == 'LLM Studio 1'
    assert scutil(sim, '--set', 'LocalHostName', stdin='llm-studio-1') == (0, '', '')
    assert names(sim)['LocalHostName'] == 'llm-studio-1'


@pytest.mark.parametrize('stdin', ['', '\n', '   \n'])
def test_an_empty_line_or_end_of_file_clears_the_name(sim, stdin):
    assert scutil(sim, '--set', 'HostName', 'llm1') == (0, '', '')
    assert scutil(sim, '--set', 'HostName', stdin=stdin) == (0, '', '')
    assert scutil(sim, '--get', 'HostName') == (1, '', 'HostName: not set\n')


def test_the_stdin_form_is_checked_like_the_argument(sim):
    assert scutil(sim, '--set', 'LocalHostName', stdin='my mac\n') == (
        1, '', 'SCPreferencesSetLocalHostName() failed: Invalid argument\n')
    assert scutil(sim, '--set', 'HostName', stdin='llm1\n', euid=501) == (
        1, '', 'SCPreferencesSetHostName() failed: No such key\n')
    assert names(sim)['HostName'] is None


# -- root ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('name, rc_out_err', [
    ('ComputerName', (1, 'Could not open prefs: No such key\n', '')),
    ('HostName', (1, '', 'SCPreferencesSetHostName() failed: No such key\n')),
    ('LocalHostName', (1, '', 'SCPreferencesSetLocalHostName() failed: No such key\n')),
])
def test_set_needs_root(sim, name, rc_out_err):
    write_etc(sim)
    assert scutil(sim, '--set', name, 'llm1', euid=501) == rc_out_err
    assert scutil(sim, '--set', name, '', euid=501) == rc_out_err
    assert names(sim) == {'ComputerName': 'Mac Studio', 'LocalHostName': 'Mac-Studio', 'HostName': None}
    assert not os.path.exists(sim.root_path(PREFS)) and kernel_hostname(sim) is None
    assert [c['kind'] for c in sim.calls() if c['argv'][1] == '--set'] == ['write', 'write']


# -- the node name ------------------------------------------------------------------------------------
def test_host_name_becomes_the_node_name_and_resolves(sim):
    write_etc(sim)
    assert scutil(sim, '--set', 'HostName', 'llm1') == (0, '', '')
    assert kernel_hostname(sim) == 'llm1'
    assert etc_hosts(sim) == '127.0.0.1\tlocalhost\n127.0.1.1\tllm1\n::1\tlocalhost\n10.213.1.2\ttestmac\n'
    assert scutil(sim, '--set', 'HostName', 'llm1.lab.example') == (0, '', '')
    assert kernel_hostname(sim) == 'llm1.lab.example'
    assert '\n127.0.1.1\tllm1.lab.example llm1\n' in etc_hosts(sim)
    # Cleared: the name the network gives the instance (its reverse-DNS name), as configd falls back.
    assert scutil(sim, '--set', 'HostName', '') == (0, '', '')
    assert kernel_hostname(sim) == 'testmac'
    assert etc_hosts(sim) == '127.0.0.1\tlocalhost\n127.0.1.1\ttestmac\n::1\tlocalhost\n10.213.1.2\ttestmac\n'


def test_the_other_names_leave_the_node_name_alone(sim):
    write_etc(sim)
    assert scutil(sim, '--set', 'LocalHostName', 'llm-studio-1') == (0, '', '')
    assert scutil(sim, '--set', 'ComputerName', 'LLM Studio 1') == (0, '', '')
    assert kernel_hostname(sim) is None
    assert '\n127.0.1.1\ttestmac\n' in etc_hosts(sim)


def test_a_host_name_linux_cannot_take_is_stored_only(sim):
    write_etc(sim)
    for value in ('not a dns name', 'a' * 65):
        assert scutil(sim, '--set', 'HostName', value) == (0, '', '')
        assert names(sim)['HostName'] == value
        assert kernel_hostname(sim) == 'testmac' and '\n127.0.1.1\ttestmac\n' in etc_hosts(sim)


def test_a_missing_loopback_line_is_added(sim):
    write_etc(sim)
    with open(sim.root_path('/etc/hosts'), 'w') as f:
        f.write('127.0.0.1\tlocalhost\n')
    assert scutil(sim, '--set', 'HostName', 'llm1') == (0, '', '')
    assert etc_hosts(sim) == '127.0.0.1\tlocalhost\n127.0.1.1\tllm1\n'


def test_without_etc_hostname_the_node_name_falls_back_to_the_current_one(sim):
    assert scutil(sim, '--set', 'HostName', 'llm1') == (0, '', '')
    assert scutil(sim, '--set', 'HostName', '') == (0, '', '')
    assert kernel_hostname(sim) == 'testmac'  # MACSIM_HOSTNAME in unit tests
    assert not os.path.exists(sim.root_path('/etc/hosts'))


def run_boot_hook(sim):
    cmd = [BOOT_HOOK] if os.path.exists(BOOT_HOOK) else ['-c', BOOT_HOOK_CODE]
    proc = subprocess.run([sys.executable] + cmd, env=sim.env(0), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, '', '')


def test_a_boot_puts_the_host_name_back(sim):
    write_etc(sim)
    run_boot_hook(sim)  # never set: nothing to do
    assert kernel_hostname(sim) is None and not os.path.exists(sim.root_path(PREFS))
    assert scutil(sim, '--set', 'HostName', 'llm1') == (0, '', '')
    # A reboot: nspawn names the instance again and macsim rewrites /etc/hosts.
    os.unlink(sim.root_path('/proc/sys/kernel/hostname'))
    write_etc(sim)
    run_boot_hook(sim)
    assert kernel_hostname(sim) == 'llm1' and '\n127.0.1.1\tllm1\n' in etc_hosts(sim)


# -- persistence and other files ------------------------------------------------------------------------
def test_a_binary_plist_is_read_too(sim):
    os.makedirs(os.path.dirname(sim.root_path(PREFS)))
    with open(sim.root_path(PREFS), 'wb') as f:
        plistlib.dump({'System': {'System': {'HostName': 'bin1'}}, 'Other': 1}, f, fmt=plistlib.FMT_BINARY)
    assert names(sim) == {'ComputerName': None, 'LocalHostName': None, 'HostName': 'bin1'}
    # A --set rewrites it as XML and keeps the keys it does not know.
    assert scutil(sim, '--set', 'LocalHostName', 'llm') == (0, '', '')
    assert prefs(sim) == {'System': {'System': {'HostName': 'bin1'}, 'Network': {'HostNames': {'LocalHostName': 'llm'}}},
                          'Other': 1}


def test_a_plist_that_does_not_parse_has_no_names(sim):
    os.makedirs(os.path.dirname(sim.root_path(PREFS)))
    with open(sim.root_path(PREFS), 'wb') as f:
        f.write(b'<?xml version="1.0"?><plist><dict><key>System</key>')
    assert names(sim) == {'ComputerName': None, 'LocalHostName': None, 'HostName': None}


def test_calls_are_logged(sim):
    scutil(sim, '--get', 'HostName', euid=501)
    scutil(sim, '--set', 'HostName', 'llm1')
    scutil(sim, '--set', 'LocalHostName', 'bad name')
    scutil(sim, '--dns')
    calls = [(c['tool'], c['argv'][1:], c['rc'], c['kind'], c['euid']) for c in sim.calls()]
    assert calls == [('scutil', ['--get', 'HostName'], 1, 'read', 501),
                     ('scutil', ['--set', 'HostName', 'llm1'], 0, 'write', 0),
                     ('scutil', ['--set', 'LocalHostName', 'bad name'], 1, 'error', 0),
                     ('scutil', ['--dns'], 2, 'error', 0)]


# -- what is not simulated ----------------------------------------------------------------------------
@pytest.mark.parametrize('args', [[], ['--dns'], ['--proxy'], ['--nwi'], ['--prefs'], ['-r', 'example.com'],
                                  ['-w', 'State:/Network/Global/IPv4'], ['--get', 'HostName', 'extra'],
                                  ['--get', 'preferences.plist', '/System/System', 'HostName']])
def test_the_rest_of_scutil_is_not_simulated(sim, args):
    shown = ' '.join(args) if args else '(interactive mode)'
    assert scutil(sim, *args) == (2, '', 'macsim: scutil %s is not simulated\n' % shown)
    assert not os.path.exists(sim.root_path(PREFS))


@pytest.mark.parametrize('args', [['--get'], ['--set'], ['--get', 'Bogus'], ['--set', 'hostname', 'x'], ['--help']])
def test_unknown_preferences_print_the_usage(sim, args):
    rc, out, err = scutil(sim, *args)
    assert (rc, out) == (64, '') and err.startswith('usage: scutil\n')
    assert '\t\t\tComputerName, LocalHostName, HostName\n' in err
    assert not os.path.exists(sim.root_path(PREFS))


# -- end to end (MACSIM_E2E=1, root) ----------------------------------------------------------------------
@E2E_ONLY
def test_e2e_host_name_over_ssh():
    name = 'scutil-e2e'
    macsim('down', name)
    try:
        macsim('up', name)
        script = ('sudo scutil --set HostName llm-e2e; echo "rc=$?"; scutil --get HostName; '
                  'hostname; uname -n; scutil --get LocalHostName; sudo true; '
                  'python3 -c "import socket; print(socket.getfqdn())"')
        start = time.time()
        proc = macsim('ssh', name, '--', script)
        assert time.time() - start < 8, 'a name lookup waited for DNS'
        assert proc.stdout == 'rc=0\nllm-e2e\nllm-e2e\nllm-e2e\nMac-Studio\nllm-e2e\n', proc.stdout + proc.stderr
        assert proc.stderr == ''
        proc = macsim('ssh', name, '--', 'sudo scutil --set HostName ""; scutil --get HostName; hostname')
        assert (proc.stdout, proc.stderr) == (name + '\n', 'HostName: not set\n')
    finally:
        macsim('down', name)
