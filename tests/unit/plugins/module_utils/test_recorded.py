# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every parser on every recording of playbooks/record.yml (tests/unit/fixtures/recorded/*/).

A directory a user sends goes under tests/unit/fixtures/recorded/ as it is, and each of its files is read by
the parser the modules use on that output; a file no parser claims fails, so record.yml and this test keep
to one list. LLMHOST_RECORDED_DIRS (paths separated by ':') adds directories holding recordings, which is
how molecule/site checks a recording it has just made.
"""

from __future__ import annotations

import glob
import ipaddress
import json
import os
import re

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import alf, autologin, brew, launchd, pf, pmset, sshd, systemsetup
from ansible_collections.llmhost.macos.plugins.module_utils.common import CommandError
from ansible_collections.llmhost.macos.plugins.module_utils.ollama import gather_info
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_fit import architecture_from_model_info, parse_memory_sysctl
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_values import parse_show_parameters
from ansible_collections.llmhost.macos.plugins.module_utils.scutil import Scutil

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, '..', '..', 'fixtures', 'recorded'))
DIGEST_RE = re.compile(r'^(sha256:)?[0-9a-f]{64}$')
# what must not be left in a recording (checked here independently of the redact filter, which runs on the
# controller's ansible-core and not on Python 3.9)
IPV4_RE = re.compile(r'(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])')
KEPT_V4 = ('127.', '0.0.0.0', '255.255.255.255', '192.0.2.', '198.51.100.')
KEY_RE = re.compile(r'\b\S*(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+)\S*\s+AAAA[0-9A-Za-z+/=]+')
FINGERPRINT_RE = re.compile(r'\b(SHA256:[0-9A-Za-z+/]{43}|MD5:([0-9a-fA-F]{2}:){15}[0-9a-fA-F]{2})\b')
MAC_RE = re.compile(r'(?<![0-9A-Fa-f:])([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])')
KEPT_MAC_RE = re.compile(r'^02:00:00:00:[0-9a-f]{2}:[0-9a-f]{2}$')
UUID_RE = re.compile(r'\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b')
KEPT_UUID_RE = re.compile(r'^00000000-0000-4000-8000-[0-9]{12}$')
IPV6_RE = re.compile(r'(?<![0-9A-Za-z:])([0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])')
KEPT_LINK_LOCAL_RE = re.compile(r'^fe80::[0-9a-f]{1,4}$')   # the stand-ins; a real one carries the interface's id
# not SSH's algorithm names (curve25519-sha256@libssh.org) nor a Bonjour host (user1@mac-name.local)
EMAIL_RE = re.compile(r'[A-Za-z0-9._%+-]+@(?!(openssh\.com|libssh\.org|ssh\.com|example\.com)\b)([A-Za-z0-9-]+\.)+(?!local\b)'
                      r'[A-Za-z]{2,}\b')


WELL_KNOWN_V4 = ('0.0.0.0/0', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12',
                 '192.168.0.0/16', '224.0.0.0/4', '240.0.0.0/4')
VERSION_BEFORE_RE = re.compile(r'(?i)(version["\']?\s*(=>|=|:)?\s*["\']?|version</key>\s*<string>|(?<![A-Za-z])v)$')


def leaked_ipv4(text):
    """The IPv4 addresses of hosts: not a stand-in, loopback, a netmask, multicast, a well-known network, a version."""
    leaked = []
    for match in IPV4_RE.finditer(text):
        token = match.group(0)
        try:
            address = ipaddress.IPv4Address(token)
        except ValueError:
            continue
        inverted = ~int(address) & 0xffffffff
        if token.startswith(KEPT_V4) or token.startswith('0.') or address.is_multicast or address.is_reserved:
            continue
        if token.startswith('255.') and inverted & (inverted + 1) == 0:   # a netmask
            continue
        prefix = re.match(r'/(\d+)', text[match.end():])
        if prefix and '%s/%s' % (token, prefix.group(1)) in WELL_KNOWN_V4:
            continue
        if VERSION_BEFORE_RE.search(text[max(0, match.start() - 40):match.start()]):
            continue
        leaked.append(token)
    return leaked


def leaked_ipv6(text):
    """The IPv6 addresses that are neither a stand-in (2001:db8::/32, fe80::N) nor loopback, :: or a network."""
    leaked = []
    for match in IPV6_RE.finditer(text):
        token = match.group(0)
        if '::' not in token and token.count(':') != 7:
            continue   # a time, a MAC address
        try:
            address = ipaddress.IPv6Address(token)
        except ValueError:
            continue
        if text[match.end():match.end() + 1] == '/' or address.is_loopback or address.is_unspecified:
            continue
        if address in ipaddress.IPv6Network('2001:db8::/32') or KEPT_LINK_LOCAL_RE.match(token):
            continue
        leaked.append(token)
    return leaked


def recordings():
    roots = [FIXTURES] + [p for p in os.environ.get('LLMHOST_RECORDED_DIRS', '').split(':') if p]
    found = []
    for root in roots:
        found += sorted(os.path.dirname(meta) for meta in glob.glob(os.path.join(root, '*', 'meta.json')))
    return found


class Recording(object):
    def __init__(self, directory):
        self.directory = directory
        with open(os.path.join(directory, 'meta.json')) as handle:
            self.meta = json.load(handle)

    def text(self, name):
        with open(os.path.join(self.directory, name)) as handle:
            return handle.read()

    def ran(self, name):
        return self.meta['commands'].get(name) or {'rc': 0, 'stderr': ''}

    def json(self, name):
        return json.loads(self.text(name))


def ok(rec, name):
    """The recorded command exited 0 (its failure is checked where the parser knows the failure)."""
    return rec.ran(name)['rc'] == 0


def failed(rec, name):
    """The command failed or did not run (no such binary): what it printed is not the output a parser reads.

    Its failure must be in meta.json's failed list, which is how whoever reads the recording learns of it.
    """
    if ok(rec, name) and 'error' not in rec.ran(name):
        return False
    assert name in rec.meta['failed'], (name, rec.meta['failed'])
    return True


# ---- one check per kind of file: the parser the modules use, and what must come out of it --------------------

# sw_vers and system_profiler: no module of this collection parses them (Ansible's own facts read sw_vers);
# they say which Mac it was, and the simulated Mac's stand-ins print them, so what those need is checked.
def check_sw_vers(rec, name):
    versions = dict((key.strip(), value.strip()) for key, value in
                    (line.split(':', 1) for line in rec.text(name).splitlines() if ':' in line))
    assert versions.get('ProductName') == 'macOS', versions
    assert re.match(r'^\d+\.\d+(\.\d+)?$', versions.get('ProductVersion', '')), versions
    assert int(versions['ProductVersion'].split('.')[0]) >= 11, versions   # Apple Silicon came with macOS 11
    assert re.match(r'^\d+[A-Z]\d+[a-z]?$', versions.get('BuildVersion', '')), versions


def check_hw_model(rec, name):
    if failed(rec, name):
        return
    assert re.match(r'^[A-Za-z]+\d+,\d+$', rec.text(name).strip())


def check_system_profiler(rec, name):
    if failed(rec, name):
        return
    data_type = name.split('-', 1)[1][:-len('.json')]
    entries = rec.json(name).get(data_type)
    if data_type == 'SPHardwareDataType':
        assert entries and isinstance(entries, list), rec.json(name)
        hardware = entries[0]
        assert re.match(r'^Apple M\d', hardware.get('chip_type') or ''), hardware
        assert re.match(r'^\d+ GB$', hardware.get('physical_memory') or ''), hardware
        assert re.match(r'^[A-Za-z]+\d+,\d+$', hardware.get('machine_model') or ''), hardware
    elif data_type == 'SPDisplaysDataType':
        # sppci_cores is the GPU's core count, which the chip name alone does not give (an M4 Max has 32 or 40):
        # verify.yml's bandwidth bound needs it. A Mac lists its GPU even with no display attached.
        assert entries and all(gpu.get('sppci_model') and str(gpu.get('sppci_cores', '')).isdigit()
                               for gpu in entries), rec.json(name)


def check_pmset_custom(rec, name):
    if failed(rec, name):
        return
    profiles = pmset.parse_custom(rec.text(name))
    assert profiles and all('sleep' in settings for settings in profiles.values()), profiles


def check_pmset_cap(rec, name):
    if failed(rec, name):
        return
    assert 'sleep' in pmset.parse_capabilities(rec.text(name))


def check_sysctl_memory(rec, name):
    ran = rec.ran(name)
    memory = parse_memory_sysctl(ran['rc'], rec.text(name), ran['stderr'])
    if memory is None:   # unreadable, which ollama_fit reports; only a failed sysctl may say so
        assert failed(rec, name), (rec.text(name), ran)
        return
    assert memory[0] >= 8 * 2 ** 30, memory


def check_fdesetup(rec, name):
    if failed(rec, name):
        return
    assert re.match(r'^FileVault is (On|Off)\b', rec.text(name)), rec.text(name)


def check_sshd(rec, name):
    if failed(rec, name):
        return
    effective = sshd.parse_effective(rec.text(name))
    for keyword in ('passwordauthentication', 'pubkeyauthentication', 'kbdinteractiveauthentication', 'port'):
        assert keyword in effective, keyword


def check_ssh_kex(rec, name):
    """ssh_hardening picks its key exchanges from these lines (stdout_lines, in a role: no module parses them)."""
    if failed(rec, name):
        return
    lines = rec.text(name).splitlines()
    assert lines and all(re.match(r'^[a-z0-9][a-z0-9@.+-]*$', line) for line in lines), lines


def check_print_disabled(rec, name):
    if failed(rec, name):
        return
    disabled = launchd.parse_print_disabled(rec.text(name))
    assert disabled and all(isinstance(value, bool) for value in disabled.values()), disabled


def check_print(rec, name):
    ran = rec.ran(name)
    label = name[len('launchctl-print-system-'):-len('.txt')]
    if ran['rc'] == 113:   # not loaded (macos-formats.md: `Could not find service ... in domain for system`)
        assert 'Could not find service "%s"' % label in ran['stderr'], ran
        return
    assert ran['rc'] == 0, ran
    status = launchd.job_status(launchd.parse_print(rec.text(name)))
    assert status['state'], status


def check_pf_info(rec, name):
    if failed(rec, name):
        return
    assert pf.parse_status(rec.text(name)) in (True, False)


def recorded_runner(rec, name):
    ran = rec.ran(name)
    return lambda argv: (ran['rc'], rec.text(name), ran['stderr'])


def check_pf_anchor(rec, name):
    """pf_anchor's read of the rules loaded in an anchor: none is an answer (DIOCGETRULES), no root is not."""
    argv = rec.ran(name)['argv']
    try:
        rules = pf.Pfctl(argv[0], recorded_runner(rec, name)).loaded_rules(argv[2])
    except (pf.PfError, CommandError):
        assert failed(rec, name)
        return
    assert all(rule.split()[0] in ('pass', 'block', 'match', 'anchor') for rule in rules), rules


def check_autologin(rec, name):
    """autologin's read of loginwindow's autoLoginUser: a user's name (redacted), or none set."""
    argv = rec.ran(name)['argv']
    try:
        user = autologin.Defaults(argv[0], recorded_runner(rec, name)).read(argv[2], argv[3])
    except CommandError:
        assert failed(rec, name)
        return
    assert user is None or re.match(r'^[^\s]+$', user), user


def check_alf(rec, name):
    if failed(rec, name):
        return
    text = rec.text(name)
    if name.endswith('getglobalstate.txt'):
        assert alf.parse_global_state(text) in (0, 1, 2)
    elif name.endswith('getstealthmode.txt'):
        assert alf.parse_stealth_mode(text) in (True, False)
    else:
        assert all(app['path'].startswith('/') for app in alf.parse_listapps(text))


def check_systemsetup(rec, name):
    setting = name[len('systemsetup-get'):-len('.txt')]
    text = rec.text(name)
    if ok(rec, name):
        try:
            assert systemsetup.parse_value(setting, text) is not None
        except systemsetup.Unsupported:   # "Not supported on this machine.": an answer, which the module skips
            pass
    else:   # refused or not known: the module's message, never a value
        with pytest.raises(systemsetup.SystemsetupError):
            systemsetup.parse_value(setting, text or rec.ran(name)['stderr'])


def check_scutil(rec, name):
    key = name[len('scutil-get-'):-len('.txt')]
    ran = rec.ran(name)
    scutil = Scutil('/usr/sbin/scutil', lambda argv: (ran['rc'], rec.text(name), ran['stderr']))
    value = scutil.get(key)
    assert value is None or value.strip(), value


def check_brew_info(rec, name):
    # no module parses brew info --json=v2 (the simulated Mac's brew prints it): the formula with its versions
    if ok(rec, name):
        formula = name[len('brew-info-'):-len('.json')]
        entries = rec.json(name)['formulae']
        assert [entry['name'] for entry in entries] == [formula]
        assert re.match(r'^\d+(\.\d+)*', (entries[0].get('versions') or {}).get('stable') or ''), entries[0]
        for installed in entries[0].get('installed') or []:
            assert re.match(r'^\d+(\.\d+)*', installed.get('version') or ''), installed


def check_brew_services(rec, name):
    if ok(rec, name):
        formula = name[len('brew-services-info-'):-len('.json')]
        view = brew.service_view(brew.parse_services_info(rec.text(name), formula))
        assert view['name'] == formula and isinstance(view['running'], bool)


class RecordedClient(object):
    """Ollama as recorded; an endpoint whose answer is not a 200 (or was not asked) answers nothing."""

    def __init__(self, rec):
        self.rec = rec
        self.url = 'http://127.0.0.1:11434'

    def answered(self, name):
        return (self.rec.meta['api'].get(name) or {}).get('status') == 200

    def version(self):
        return self.rec.json('api-version.json')['version'] if self.answered('api-version.json') else None

    def tags(self):
        return self.rec.json('api-tags.json')['models'] if self.answered('api-tags.json') else []

    def running(self):
        return self.rec.json('api-ps.json')['models'] if self.answered('api-ps.json') else []


def check_api(rec, name):
    client = RecordedClient(rec)
    if not client.answered(name):   # an error's body, not the answer: in meta.json's failed list
        assert name in rec.meta['failed'], (name, rec.meta['failed'])
        return
    info = gather_info(client)
    if name == 'api-version.json':
        assert re.match(r'^\d+\.\d+', info['version']), info['version']
    elif name == 'api-tags.json':
        for model in info['models']:
            assert DIGEST_RE.match(model['digest']), model
            assert model['size'] > 0
    else:
        for model in info['running']:
            assert DIGEST_RE.match(model['digest']) and 0 <= model['size_vram'] <= model['size'], model


def check_show(rec, name):
    if not RecordedClient(rec).answered(name):
        assert name in rec.meta['failed'], (name, rec.meta['failed'])
        return
    show = rec.json(name)
    parse_show_parameters(show.get('parameters'))
    # None where model_info lacks the GGUF keys (a cloud or embedding model): ollama_fit says it cannot tell
    architecture = architecture_from_model_info(show.get('model_info'), name)
    assert architecture is None or architecture.layers > 0, architecture


CHECKS = [
    (r'^sw_vers\.txt$', check_sw_vers),
    (r'^sysctl-hw\.model\.txt$', check_hw_model),
    (r'^system_profiler-SP\w+DataType\.json$', check_system_profiler),
    (r'^pmset-g-custom\.txt$', check_pmset_custom),
    (r'^pmset-g-cap\.txt$', check_pmset_cap),
    (r'^sysctl-memory\.txt$', check_sysctl_memory),
    (r'^fdesetup-status\.txt$', check_fdesetup),
    (r'^sshd-T\.txt$', check_sshd),
    (r'^ssh-Q-kex\.txt$', check_ssh_kex),
    (r'^launchctl-print-disabled-system\.txt$', check_print_disabled),
    (r'^launchctl-print-system-[\w.-]+\.txt$', check_print),
    (r'^pfctl-s-info\.txt$', check_pf_info),
    (r'^pfctl-a-[\w.-]+-sr\.txt$', check_pf_anchor),
    (r'^defaults-read-loginwindow-autoLoginUser\.txt$', check_autologin),
    (r'^socketfilterfw-(getglobalstate|getstealthmode|listapps)\.txt$', check_alf),
    (r'^systemsetup-get(%s)\.txt$' % '|'.join(systemsetup.SETTINGS), check_systemsetup),
    (r'^scutil-get-(ComputerName|LocalHostName|HostName)\.txt$', check_scutil),
    (r'^brew-info-[\w.-]+\.json$', check_brew_info),
    (r'^brew-services-info-[\w.-]+\.json$', check_brew_services),
    (r'^api-(version|tags|ps)\.json$', check_api),
    (r'^api-show-[\w.-]+\.json$', check_show),
]


def cases():
    found = []
    for directory in recordings():
        for name in sorted(os.listdir(directory)):
            if name not in ('meta.json', 'README.md'):
                found.append(pytest.param(directory, name, id='%s/%s' % (os.path.basename(directory), name)))
    return found


def test_there_is_a_recording():
    assert recordings(), 'no recording under %s' % FIXTURES


@pytest.mark.parametrize('directory, name', cases())
def test_every_recorded_output_parses(directory, name):
    claimed = [check for pattern, check in CHECKS if re.match(pattern, name)]
    assert len(claimed) == 1, '%s: no parser claims this file (or several do): add it to CHECKS' % name
    rec = Recording(directory)
    if 'error' in rec.ran(name):   # it did not run at all (no such binary): nothing to parse, and it says so
        assert name in rec.meta['failed'], (name, rec.meta['failed'])
        return
    claimed[0](rec, name)


@pytest.mark.parametrize('directory', recordings(), ids=os.path.basename)
def test_a_recording_is_whole_and_redacted(directory):
    rec = Recording(directory)
    for key in ('macos', 'model', 'commands', 'api', 'failed'):
        assert key in rec.meta, key
    listed = set(rec.meta['commands']) | set(rec.meta['api'])
    assert listed == set(os.listdir(directory)) - {'meta.json', 'README.md'}
    for name in listed | {'meta.json'}:
        text = rec.text(name)
        assert not leaked_ipv4(text), (name, leaked_ipv4(text))
        assert not [m.group(0) for m in KEY_RE.finditer(text) if not m.group(0).endswith('AAAAREDACTED')], name
        assert not FINGERPRINT_RE.search(text), name
        assert not [m.group(0) for m in MAC_RE.finditer(text) if not KEPT_MAC_RE.match(m.group(0))], name
        assert not [m.group(0) for m in UUID_RE.finditer(text) if not KEPT_UUID_RE.match(m.group(0))], name
        assert not leaked_ipv6(text), (name, leaked_ipv6(text))
        assert not EMAIL_RE.search(text), (name, EMAIL_RE.search(text).group(0))
    name = 'system_profiler-SPHardwareDataType.json'
    hardware = (rec.json(name)['SPHardwareDataType'][0] if 'error' not in rec.ran(name) and rec.text(name).strip()
                else {})
    assert hardware.get('serial_number') in (None, 'SERIAL00000'), 'the serial number is not redacted'
    assert hardware.get('provisioning_UDID') in (None, '00000000-0000000000000000'), 'the provisioning UDID is not redacted'


# ---- the test itself: a recording added is picked up, and one that does not parse fails ------------------------

def test_a_directory_added_is_picked_up(tmp_path, monkeypatch):
    import shutil
    source = recordings()[0]
    shutil.copytree(source, str(tmp_path / 'a-users-mac'))
    monkeypatch.setenv('LLMHOST_RECORDED_DIRS', str(tmp_path))
    assert str(tmp_path / 'a-users-mac') in recordings()
    assert len([case for case in cases() if case.id.startswith('a-users-mac/')]) == len(os.listdir(source)) - 1


@pytest.mark.parametrize('name, text, error', [
    ('pmset-g-custom.txt', 'System-wide power settings:\n', AssertionError),
    ('sshd-T.txt', 'port 22\n', AssertionError),
    ('systemsetup-getrestartfreeze.txt', 'Restart After Freeze: Maybe\n', systemsetup.SystemsetupError),
    ('pfctl-s-info.txt', 'No ALTQ support in kernel\n', pf.PfError),
    ('launchctl-print-system-com.llmhost.ollama.txt', '', AssertionError),
    ('sw_vers.txt', 'ProductVersion:\t\t15.6\n', AssertionError),
    ('sysctl-memory.txt', 'banana\n', AssertionError),
    ('system_profiler-SPHardwareDataType.json', '{}', AssertionError),
    ('system_profiler-SPHardwareDataType.json', '{"SPHardwareDataType": [{"machine_model": "Mac16,9"}]}', AssertionError),
    ('system_profiler-SPDisplaysDataType.json', '{"SPDisplaysDataType": [{"_name": "x"}]}', AssertionError),
    ('system_profiler-SPDisplaysDataType.json', '{}', AssertionError),
    ('brew-info-ollama.json', '{"formulae": [{"name": "ollama"}]}', AssertionError),
    ('brew-info-ollama.json', '{"formulae": [{"name": "ollama", "versions": {"stable": "0.32.3"}, '
                              '"installed": [{"version": ""}]}]}', AssertionError),
])
def test_an_output_the_parser_does_not_understand_fails(tmp_path, name, text, error):
    (tmp_path / 'meta.json').write_text(json.dumps({'macos': {}, 'model': 'Mac16,9', 'api': {}, 'failed': [],
                                                    'commands': {name: {'argv': [], 'rc': 0, 'stderr': ''}}}))
    (tmp_path / name).write_text(text)
    with pytest.raises(error):
        test_every_recorded_output_parses(str(tmp_path), name)


def test_a_file_no_parser_claims_fails(tmp_path):
    with pytest.raises(AssertionError, match='no parser claims'):
        test_every_recorded_output_parses(str(tmp_path), 'pmset-g-everything.txt')


def write_recording(tmp_path, files, commands=None, api=None, failed=()):
    """A recording directory: files {name: text}, commands {name: (rc, stderr)} (rc 0 by default), api {name: status}."""
    commands = dict((name, {'argv': [], 'rc': rc, 'stderr': stderr}) for name, (rc, stderr) in (commands or {}).items())
    for name in files:
        if name not in (api or {}):
            commands.setdefault(name, {'argv': [], 'rc': 0, 'stderr': ''})
    api = dict((name, {'method': 'GET', 'status': status}) for name, status in (api or {}).items())
    (tmp_path / 'meta.json').write_text(json.dumps({'macos': {}, 'model': 'Mac16,9', 'commands': commands, 'api': api,
                                                    'failed': sorted(failed)}))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return str(tmp_path)


def test_a_setting_this_mac_does_not_have_is_an_answer(tmp_path):
    directory = write_recording(tmp_path, {'systemsetup-getwakeonnetworkaccess.txt': 'Not supported on this machine.\n'})
    test_every_recorded_output_parses(directory, 'systemsetup-getwakeonnetworkaccess.txt')


@pytest.mark.parametrize('name, rc, stderr', [
    ('socketfilterfw-getglobalstate.txt', 1, 'socketfilterfw: must be root\n'),
    ('socketfilterfw-listapps.txt', None, ''),   # it did not run: no such binary
    ('pmset-g-custom.txt', 1, 'pmset: unknown option\n'),
    ('pmset-g-cap.txt', 1, ''),
    ('sshd-T.txt', 255, 'sshd: no hostkeys available -- exiting.\n'),
    ('fdesetup-status.txt', 1, 'Error: This command requires root.\n'),
    ('launchctl-print-disabled-system.txt', 1, ''),
    ('pfctl-s-info.txt', 1, 'pfctl: /dev/pf: Permission denied\n'),
])
def test_a_command_that_failed_is_not_parsed(tmp_path, name, rc, stderr):
    """Its failure is in meta.json (commands, failed); what it printed is an error message, not its output."""
    directory = write_recording(tmp_path, {name: ''}, {name: (rc, stderr)}, failed=[name])
    test_every_recorded_output_parses(directory, name)


def test_api_answers_are_parsed_where_they_succeeded(tmp_path):
    files = {'api-version.json': '{"version":"0.12.6"}', 'api-tags.json': '{"error":"something went wrong"}',
             'api-ps.json': '{"models":[]}'}
    directory = write_recording(tmp_path, files, api={'api-version.json': 200, 'api-tags.json': 500, 'api-ps.json': 200},
                                failed=['api-tags.json'])
    for name in sorted(files):
        test_every_recorded_output_parses(directory, name)
    (tmp_path / 'api-version.json').write_text('{"version":"banana"}')
    with pytest.raises(AssertionError):
        test_every_recorded_output_parses(directory, 'api-version.json')


def test_a_model_without_a_known_architecture_is_shown_all_the_same(tmp_path):
    """A cloud or embedding model's /api/show may not have the GGUF keys architecture_from_model_info needs."""
    show = {'parameters': 'num_ctx 8192', 'model_info': {'general.architecture': 'bert'}}
    directory = write_recording(tmp_path, {'api-show-embed_latest.json': json.dumps(show)},
                                api={'api-show-embed_latest.json': 200})
    test_every_recorded_output_parses(directory, 'api-show-embed_latest.json')


HARDWARE = {'SPHardwareDataType': [{'machine_model': 'Mac16,9', 'serial_number': 'SERIAL00000',
                                    'platform_UUID': '00000000-0000-4000-8000-000000000001',
                                    'provisioning_UDID': '00000000-0000000000000000'}]}


@pytest.mark.parametrize('leak', [
    None,
    'ether 8c:85:90:1a:2b:3c',
    'platform_UUID 8C3B1E2A-1234-5678-9ABC-DEF012345678',
    'inet6 2a02:8071:5e1:7f00::1b prefixlen 64',
    'inet6 fe80::1c2b:3c4d:5e6f:7a8b%en0',
    'RSA key fingerprint is MD5:1f:2e:3d:4c:5b:6a:79:88:97:a6:b5:c4:d3:e2:f1:00',
    'ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAI',
    'maintainer <jane.doe@example-corp.de>',
    'inet 10.214.3.2 netmask 255.255.255.0',
    'pass in from 10.214.3.0/24',
    {'provisioning_UDID': '00006041-001A2B3C4D5E801E'},
])
def test_what_the_redaction_missed_fails(tmp_path, leak):
    hardware = json.loads(json.dumps(HARDWARE))
    text = ('ether 02:00:00:00:00:01 inet6 fe80::1%en0 2001:db8::1 ::1 fe80::/10 00000000-0000-4000-8000-000000000002\n'
            'inet 192.0.2.1 netmask 255.255.255.0 broadcast 192.0.2.2, 224.0.0.251, from 10.0.0.0/8, "version": "1.2.3.4"\n')
    if isinstance(leak, dict):
        hardware['SPHardwareDataType'][0].update(leak)
    elif leak:
        text += leak + '\n'
    directory = write_recording(tmp_path, {'system_profiler-SPHardwareDataType.json': json.dumps(hardware),
                                           'launchctl-print-system-com.llmhost.ollama.txt': text})
    if leak is None:
        test_a_recording_is_whole_and_redacted(directory)
    else:
        with pytest.raises(AssertionError):
            test_a_recording_is_whole_and_redacted(directory)


ANCHOR_ARGV = ['/sbin/pfctl', '-a', 'com.apple/310.llmhost.ollama', '-sr']
AUTOLOGIN_ARGV = ['/usr/bin/defaults', 'read', '/Library/Preferences/com.apple.loginwindow', 'autoLoginUser']


@pytest.mark.parametrize('name, argv, text, rc, stderr, failed_too', [
    ('pfctl-a-com.apple_310.llmhost.ollama-sr.txt', ANCHOR_ARGV,
     'pass in quick on lo0 all flags S/SA keep state\nblock drop in quick proto tcp from any to any port = 11434\n', 0,
     'No ALTQ support in kernel\nALTQ related functions disabled\n', False),
    ('pfctl-a-com.apple_310.llmhost.ollama-sr.txt', ANCHOR_ARGV, '', 1, 'pfctl: DIOCGETRULES: Invalid argument\n', True),
    ('pfctl-a-com.apple_310.llmhost.ollama-sr.txt', ANCHOR_ARGV, '', 1, 'pfctl: /dev/pf: Permission denied\n', True),
    ('defaults-read-loginwindow-autoLoginUser.txt', AUTOLOGIN_ARGV, 'user1\n', 0, '', False),
    ('defaults-read-loginwindow-autoLoginUser.txt', AUTOLOGIN_ARGV, '', 1,
     'The domain/default pair of (/Library/Preferences/com.apple.loginwindow, autoLoginUser) does not exist\n', True),
])
def test_the_pf_anchors_and_the_automatic_login_parse(tmp_path, name, argv, text, rc, stderr, failed_too):
    directory = write_recording(tmp_path, {name: text}, {name: (rc, stderr)}, failed=[name] if failed_too else [])
    meta = json.loads((tmp_path / 'meta.json').read_text())
    meta['commands'][name]['argv'] = argv
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    test_every_recorded_output_parses(directory, name)


@pytest.mark.parametrize('name, argv, text', [
    ('pfctl-a-com.apple_310.llmhost.ollama-sr.txt', ANCHOR_ARGV, 'rdr pass on lo0 inet proto tcp to port 80 -> 127.0.0.1\n'),
    ('defaults-read-loginwindow-autoLoginUser.txt', AUTOLOGIN_ARGV, 'two\nlines\n'),
    ('ssh-Q-kex.txt', ['/usr/bin/ssh', '-Q', 'kex'], ''),
    ('ssh-Q-kex.txt', ['/usr/bin/ssh', '-Q', 'kex'], 'usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy]\n'),
])
def test_a_pf_anchor_or_automatic_login_not_understood_fails(tmp_path, name, argv, text):
    directory = write_recording(tmp_path, {name: text})
    meta = json.loads((tmp_path / 'meta.json').read_text())
    meta['commands'][name]['argv'] = argv
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    with pytest.raises(AssertionError):
        test_every_recorded_output_parses(directory, name)


@pytest.mark.parametrize('name', ['sw_vers.txt', 'sysctl-hw.model.txt', 'sysctl-memory.txt', 'scutil-get-HostName.txt',
                                  'launchctl-print-system-com.llmhost.ollama.txt', 'system_profiler-SPHardwareDataType.json'])
def test_a_command_that_did_not_run_has_nothing_to_parse(tmp_path, name):
    """No such binary (what record.yml gives on a machine that is not a Mac): an error in meta.json, an empty file."""
    directory = write_recording(tmp_path, {name: ''}, {name: (2, '')}, failed=[name])
    meta = json.loads((tmp_path / 'meta.json').read_text())
    meta['commands'][name]['error'] = 'Error executing command.'
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    test_every_recorded_output_parses(directory, name)
    if name.startswith('system_profiler-'):
        test_a_recording_is_whole_and_redacted(directory)


@pytest.mark.parametrize('name, stdout, rc, stderr', [
    ('sysctl-hw.model.txt', '', 255, 'sysctl: cannot stat /proc/sys/hw/model: No such file or directory\n'),
    ('sysctl-memory.txt', '', 255, 'sysctl: cannot stat /proc/sys/hw/memsize: No such file or directory\n'),
    ('sysctl-memory.txt', '137438953472\n', 1, "sysctl: unknown oid 'iogpu.wired_limit_mb'\n"),   # an Intel Mac
])
def test_sysctl_that_failed_is_not_parsed(tmp_path, name, stdout, rc, stderr):
    directory = write_recording(tmp_path, {name: stdout}, {name: (rc, stderr)}, failed=[name])
    test_every_recorded_output_parses(directory, name)
