# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Redaction of what playbooks/record.yml brings back from a Mac, on the controller.

A recording is meant to be sent to others and committed as a test fixture, so what identifies the Mac or
its people goes: serial numbers and hardware UUIDs, user and computer names (only where a name stands:
a user called ollama leaves /opt/homebrew/opt/ollama alone), IPv4 and IPv6 addresses of hosts (loopback,
netmasks, well-known networks and versions stay), hardware (MAC) and mail addresses, SSH public keys,
certificates and key fingerprints, and what a model was told (/api/show's system prompt, messages, license).
Each distinct value gets one stand-in (the same address is the same documentation address everywhere in one
recording), so the text still parses the way the original did.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.llmhost.macos.plugins.module_utils.ollama_fit import SYSCTL_ARGS
from ansible_collections.llmhost.macos.plugins.module_utils.systemsetup import SETTINGS as SYSTEMSETUP_SETTINGS

# loopback, the unspecified and broadcast addresses, and the documentation ranges (the stand-ins themselves)
KEEP_V4 = ('127.', '0.0.0.0', '255.255.255.255', '192.0.2.', '198.51.100.', '203.0.113.')
V4 = r'(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])'
IPV4_RE = re.compile(r'(?<![0-9.])%s(?![0-9]|\.[0-9])' % V4)
MAC_RE = re.compile(r'(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])')
# candidates only: a time (12:30:05) matches too, ipaddress and the '::' or eight-group rule sort them out;
# an IPv4 tail (::ffff:10.0.0.5) belongs to the address, so this runs before IPV4_RE
IPV6_RE = re.compile(r'(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:%s|[0-9A-Fa-f]{0,4})(?:%%[A-Za-z0-9]+)?'
                     r'(?![0-9A-Za-z:]|\.[0-9])' % V4)
PREFIX_RE = re.compile(r'/([0-9]{1,3})(?![0-9])')
# networks written the same on every LAN (RFC 1918, link-local, CGNAT, multicast, ULA, ...): not a host's address
WELL_KNOWN_NETWORKS = frozenset(ipaddress.ip_network(n) for n in (
    '0.0.0.0/0', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16',
    '224.0.0.0/4', '240.0.0.0/4', '::/0', '::1/128', '2000::/3', 'fc00::/7', 'fd00::/8', 'fe80::/10', 'ff00::/8'))
# a four-part version is not an address: "CFBundleVersion" : "1.2.3.4", "version": "...", version 1.2.3.4, v1.2.3.4
VERSION_BEFORE_RE = re.compile(r'(?i)(?:version["\']?[ \t]*(?:=>|=|:)?[ \t]*["\']?|version</key>\s*<string>|(?<![A-Za-z])v)$')
UUID_RE = re.compile(r'\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b')
# a public key or certificate after its type: ssh-ed25519, sk-ssh-ed25519@openssh.com, ssh-ed25519-cert-v01@openssh.com
KEY_RE = re.compile(r'\b((?:sk-)?(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521))(?:-cert-v01)?(?:@openssh\.com)?'
                    r'\s+)AAAA[0-9A-Za-z+/]+={0,2}')
FINGERPRINT_RE = re.compile(r'\bSHA256:[0-9A-Za-z+/]{43}\b')
MD5_RE = re.compile(r'\bMD5:(?:[0-9A-Fa-f]{2}:){15}[0-9A-Fa-f]{2}\b')
# a mail address; not SSH's names for key types and algorithms (...@openssh.com, curve25519-sha256@libssh.org,
# hmac-sha2-256@ssh.com), a Bonjour host (user@mac.local) or a stand-in (example.com)
EMAIL_RE = re.compile(r'(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@'
                      r'(?!(?:[A-Za-z0-9-]+\.)*(?:openssh\.com|libssh\.org|ssh\.com|example\.(?:com|net|org))\b)'
                      r'(?:[A-Za-z0-9-]+\.)+(?!local\b)[A-Za-z]{2,}\b')
# the value of any serial number key: "serial_number" : "...", system_profiler's displays
# ("_spdisplays_display-serial-number" : "..."), or `Serial Number (system): ...` in its text form
SERIAL_RE = re.compile(r'("[^"\n]*serial[^"\n]*"[ \t]*:[ \t]*")([^"\n]+)(")|(?m:^([ \t]*[^:"\n]*serial[^:"\n]*:[ \t]*)(\S[^\n]*?)()[ \t]*$)',
                       re.IGNORECASE)
SERIAL_STAND_IN_RE = re.compile(r'^SERIAL\d{5}$')
# where a user's or a computer's name stands: a home directory, ~name, name@host and user@name, the value of a
# user or host key (`username = jane`, `UserName: jane`, `autoLoginUser = jane`, `"user": "jane"`,
# `HostName: studio`, sshd -T's `allowusers bob jane`), and a line that is the name alone (what scutil --get
# and defaults read print). Nowhere else: a user called ollama or caddy is also a formula, a path, a word.
NAME_BEFORE = (r'(/Users/|(?<![A-Za-z0-9_.-])~|@|(?i:(?:user(?:name)?|logname|owner|host(?:name)?|computername)"?'
               r'[ \t]*(?:=>|=|:)[ \t]*"?)|(?i:(?:allow|deny)users(?:[ \t]+[^\s]+)*?[ \t]+))')
NAME_END = r'(?![A-Za-z0-9_-])'


class _StandIns(object):
    """One stand-in per distinct value, numbered in order of appearance."""

    def __init__(self, make):
        self.make = make
        self.seen = {}

    def __call__(self, value):
        if value not in self.seen:
            self.seen[value] = self.make(len(self.seen) + 1)
        return self.seen[value]


def _v4(number):
    return '192.0.2.%d' % number if number < 255 else '198.51.100.%d' % (number - 254)


def _well_known_network(match):
    """The address is a well-known network's, written as one (10.0.0.0/8, fe80::/10)."""
    prefix = PREFIX_RE.match(match.string, match.end())
    if not prefix:
        return False
    try:
        return ipaddress.ip_network('%s/%s' % (match.group(0), prefix.group(1))) in WELL_KNOWN_NETWORKS
    except ValueError:
        return False


def _keep_v4(address):
    """Not a host's address: loopback, the stand-ins, a netmask, "this network" (0/8), multicast, reserved (240/4)."""
    parsed = ipaddress.IPv4Address(address)
    inverted = ~int(parsed) & 0xffffffff
    netmask = address.startswith('255.') and inverted & (inverted + 1) == 0   # ones, then zeros: 255.255.240.0
    return (address.startswith(KEEP_V4) or netmask or address.startswith('0.') or parsed.is_multicast
            or parsed in ipaddress.IPv4Network('240.0.0.0/4'))


def _ipv4_candidate(match, v4):
    address = match.group(0)
    if _keep_v4(address) or _well_known_network(match):
        return address
    if VERSION_BEFORE_RE.search(match.string[max(0, match.start() - 40):match.start()]):
        return address
    return v4(address)


def _ipv6_candidate(match, link_local, other, v4):
    token = match.group(0)
    address, percent, zone = token.partition('%')
    if '::' not in address and address.count(':') != (6 if '.' in address else 7):
        return token
    try:
        parsed = ipaddress.IPv6Address(address)
    except ValueError:
        return token
    if parsed.is_loopback or parsed.is_unspecified or _well_known_network(match):
        return token
    if parsed.ipv4_mapped:   # ::ffff:10.0.0.5 is 10.0.0.5, and gets its stand-in
        mapped = str(parsed.ipv4_mapped)
        return token if _keep_v4(mapped) else '::ffff:' + v4(mapped) + percent + zone
    # a link-local address stays link-local (fe80::N), with its zone
    return (link_local if parsed.is_link_local else other)(parsed.exploded) + percent + zone


def _name_patterns(names):
    """(pattern, stand-in) for each name, the longest first, so a computer name is not cut by a user name in it."""
    patterns = []
    for name in sorted((n for n in names if isinstance(n, str) and n.strip()), key=len, reverse=True):
        escaped = re.escape(name)
        patterns.append((re.compile(r'%s%s%s|(?<![A-Za-z0-9_.-])%s(?=@|\.local\b)|(?m:^%s(?=[ \t]*$))'
                                    % (NAME_BEFORE, escaped, NAME_END, escaped, escaped)), str(names[name])))
    return patterns


def _check_mapping(what, value):
    if not isinstance(value, dict):
        raise AnsibleFilterError('redact: %s expects a mapping of secret to stand-in, got %s' % (what, type(value).__name__))
    return value


def redact(data, literals=None, names=None):
    """Data (a string, or lists and mappings of them) with identifying values replaced, consistently across it all.

    literals maps each known secret string (a serial number) to its stand-in, replaced as a whole word wherever
    it is; names maps user and computer names to theirs, replaced only where a name stands (NAME_BEFORE).
    Mapping keys are left as they are.
    """
    literals = _check_mapping('literals', literals or {})
    names = _check_mapping('names', names or {})
    # longest first, so a computer name is not cut by a user name inside it
    secrets = [(re.compile(r'(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])' % re.escape(secret)), str(literals[secret]))
               for secret in sorted((s for s in literals if isinstance(s, str) and s.strip()), key=len, reverse=True)]
    name_patterns = _name_patterns(names)
    uuids = _StandIns(lambda n: '00000000-0000-4000-8000-%012d' % n)
    macs = _StandIns(lambda n: '02:00:00:00:%02x:%02x' % (n // 256, n % 256))
    v4 = _StandIns(_v4)
    v6_link = _StandIns(lambda n: 'fe80::%x' % n)
    v6 = _StandIns(lambda n: '2001:db8::%x' % n)
    serials = _StandIns(lambda n: 'SERIAL%05d' % n)
    emails = _StandIns(lambda n: 'email%d@example.com' % n)

    def serial(value):
        return value if SERIAL_STAND_IN_RE.match(value) else serials(value)

    def serial_field(match):
        groups = match.groups()
        before, value, after = groups[:3] if match.group(1) is not None else groups[3:]
        return before + serial(value) + after

    def text(value):
        for pattern, stand_in in secrets:
            value = pattern.sub(lambda m, s=stand_in: s, value)
        for pattern, stand_in in name_patterns:
            value = pattern.sub(lambda m, s=stand_in: (m.group(1) or '') + s, value)
        value = SERIAL_RE.sub(serial_field, value)
        value = EMAIL_RE.sub(lambda m: emails(m.group(0).lower()), value)
        value = KEY_RE.sub(lambda m: m.group(1) + 'AAAAREDACTED', value)
        value = FINGERPRINT_RE.sub('SHA256:REDACTED', value)
        value = MD5_RE.sub('MD5:REDACTED', value)
        value = UUID_RE.sub(lambda m: uuids(m.group(0).upper()), value)
        value = MAC_RE.sub(lambda m: macs(m.group(0).lower()), value)
        value = IPV6_RE.sub(lambda m: _ipv6_candidate(m, v6_link, v6, v4), value)
        return IPV4_RE.sub(lambda m: _ipv4_candidate(m, v4), value)

    def walk(value):
        if isinstance(value, str):
            return text(value)
        if isinstance(value, dict):
            return dict((key, serial(text(item)) if isinstance(item, str) and 'serial' in str(key).lower() and item
                         else walk(item)) for key, item in value.items())
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        return value

    return walk(data)


# Names macOS itself gives accounts and groups: not identifying, and a stand-in would change what they mean
# (`group = admin` in launchctl print).
SYSTEM_NAMES = frozenset(('admin', 'staff', 'wheel', 'everyone', 'root', 'daemon', 'nobody', 'localhost'))
NAME_STAND_INS = {'ComputerName': 'Mac Name', 'LocalHostName': 'mac-name', 'HostName': 'mac-name.example.net'}


def _is_address(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _literal(literals, secret, stand_in):
    secret = (secret or '').strip() if isinstance(secret, str) else ''
    if len(secret) > 1 and secret.lower() not in SYSTEM_NAMES and not _is_address(secret):
        literals.setdefault(secret, stand_in)


def _json(text):
    try:
        return json.loads(text or '')
    except ValueError:
        return None


# what a model was told, by whoever made it or by a user: not the collection's business, and maybe private
SHOW_PRIVATE = ('system', 'messages', 'license')
MODELFILE_PRIVATE_RE = re.compile(r'(?m)^(?:SYSTEM|LICENSE|MESSAGE)\b[^\n]*?(?:"""[\s\S]*?"""[^\n]*)?(?:\n|$)')


def _show_without_prompts(content):
    """An /api/show answer without the system prompt, messages and license, in the fields and in the Modelfile."""
    show = _json(content)
    if not isinstance(show, dict):
        return content
    kept = dict((key, value) for key, value in show.items() if key not in SHOW_PRIVATE)
    if isinstance(kept.get('modelfile'), str):
        kept['modelfile'] = MODELFILE_PRIVATE_RE.sub('', kept['modelfile'])
    return content if kept == show else json.dumps(kept, separators=(',', ':'))


def _safe(name):
    return re.sub(r'[^A-Za-z0-9._-]', '_', name)


def _loop_results(registered):
    """The per-command results in registered loops (or their results), and the messages of loops that have none."""
    if not isinstance(registered, list) or not all(isinstance(r, dict) and ('item' in r or 'results' in r or 'msg' in r)
                                                   for r in registered):
        raise AnsibleFilterError('recording expects the registered results of a command loop')
    results, aborted = [], []
    for entry in registered:
        if 'item' in entry:
            results.append(entry)
        elif isinstance(entry.get('results'), list):
            results += entry['results']
        else:   # the loop failed as a whole (a become that failed): ignore_errors, and no result per command
            aborted.append(str(entry.get('msg') or 'the command loop failed'))
    if not all(isinstance(r, dict) and 'item' in r for r in results):
        raise AnsibleFilterError('recording expects the registered results of a command loop')
    return results, aborted


def _users_text(users):
    """dscl's output, from the registered result or as text; an error when dscl failed, as nobody could be redacted."""
    if not isinstance(users, dict):
        return users or ''
    if users.get('rc') != 0 or users.get('failed') or not (users.get('stdout') or '').strip():
        raise AnsibleFilterError("recording: dscl . -list /Users UniqueID failed (rc %s: %s), so the users' names are "
                                 'unknown and could not be redacted: nothing is recorded'
                                 % (users.get('rc'), (users.get('stderr') or users.get('msg') or '').strip()))
    return users['stdout']


def recording(registered, users='', api=None, shows=None, literals=None, names=None, commands=None):
    """playbooks/record.yml's registered results as {name, files, meta}, redacted."""
    results, aborted = _loop_results(registered)
    users = _users_text(users)
    found = {}
    for secret, stand_in in (literals or {}).items():   # the caller's too: an address is left to the patterns
        _literal(found, secret, stand_in)
    files, meta_commands, failed = {}, {}, []
    by_file = {}
    for result in results:
        item = result['item']
        files[item['file']] = result.get('stdout') or ''
        rc = result.get('rc')
        meta_commands[item['file']] = {'argv': item['argv'], 'rc': rc, 'stderr': result.get('stderr') or ''}
        # it did not run at all (no such binary): Ansible's message, which is not the one of a command that exited
        if 'stdout' not in result or (rc != 0 and result.get('msg') not in (None, '', 'non-zero return code')):
            meta_commands[item['file']]['error'] = result.get('msg') or ''
        if rc != 0:
            failed.append(item['file'])
        by_file[item['file']] = result
    for command in commands or []:   # in a loop that failed as a whole: recorded as not run
        if command['file'] not in files:
            files[command['file']] = ''
            meta_commands[command['file']] = {'argv': command['argv'], 'rc': None, 'stderr': '',
                                              'error': '; '.join(aborted) or 'not run'}
            failed.append(command['file'])
    hardware = ((_json(files.get('system_profiler-SPHardwareDataType.json')) or {}).get('SPHardwareDataType')
                or [{}])[0]
    _literal(found, hardware.get('serial_number'), 'SERIAL00000')
    _literal(found, hardware.get('provisioning_UDID'), '00000000-0000000000000000')
    # a name macOS gave from the model ("Mac Studio", "Mac-Studio") identifies nobody, and is the model's name too
    model_names = (hardware.get('machine_name') or '', (hardware.get('machine_name') or '').replace(' ', '-'))
    found_names = {}
    for name, stand_in in NAME_STAND_INS.items():
        result = by_file.get('scutil-get-%s.txt' % name) or {}
        if result.get('rc') == 0 and (result.get('stdout') or '').strip() not in model_names:
            _literal(found_names, result.get('stdout'), stand_in)
    number = 0
    for line in (users or '').splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit() and int(fields[1]) >= 500 and fields[0].lower() not in SYSTEM_NAMES:
            number += 1
            _literal(found_names, fields[0], 'user%d' % number)
    for name, stand_in in (names or {}).items():   # the caller's (inventory name, ansible_user) after the Mac's own
        _literal(found_names, name, stand_in)
    api_meta = {}
    for result in api or []:
        name = 'api-%s.json' % result['item']
        files[name] = result.get('content') or ''
        api_meta[name] = {'method': 'GET', 'path': '/api/%s' % result['item'], 'status': result.get('status')}
    for result in shows or []:
        name = 'api-show-%s.json' % _safe(result['item'])
        files[name] = _show_without_prompts(result.get('content') or '')
        api_meta[name] = {'method': 'POST', 'path': '/api/show', 'model': result['item'],
                          'status': result.get('status')}
    failed += [name for name, entry in api_meta.items() if entry['status'] != 200]
    versions = dict(line.split(':', 1) for line in files.get('sw_vers.txt', '').splitlines() if ':' in line)
    versions = dict((key.strip(), value.strip()) for key, value in versions.items())
    meta = {
        'recorded_by': 'llmhost.macos playbooks/record.yml',
        'macos': versions,
        'model': files.get('sysctl-hw.model.txt', '').strip() or hardware.get('machine_model'),
        'chip': hardware.get('chip_type'),
        'memory': hardware.get('physical_memory'),
        'commands': meta_commands,
        'api': api_meta,
        'failed': sorted(failed),
        'aborted': aborted,
    }
    model = re.sub(r'[^A-Za-z0-9,._-]', '_', meta['model'] or 'Mac')
    name = '%s-macOS-%s' % (model, _safe(versions.get('ProductVersion') or 'unknown'))
    redacted = redact({'files': files, 'meta': meta}, found, found_names)
    return {'name': name, 'files': redacted['files'], 'meta': redacted['meta']}


ALF = '/usr/libexec/ApplicationFirewall/socketfilterfw'
LOGINWINDOW = '/Library/Preferences/com.apple.loginwindow'


def _anchor(anchor):
    parts = anchor.split('/') if isinstance(anchor, str) else ['']
    return len(parts) > 1 and all(part and part not in ('.', '..') and _safe(part) == part for part in parts)


def record_commands(labels, formulae=(), brew='/opt/homebrew/bin/brew', anchors=()):
    """What playbooks/record.yml runs: [{file, argv, root}], every command read-only."""
    for what, names in (('labels', labels), ('formulae', formulae)):
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and _safe(n) == n for n in names):
            raise AnsibleFilterError('record_commands: %s expects a list of names (letters, digits, . _ -), got %r'
                                     % (what, names))
    if not isinstance(anchors, (list, tuple)) or not all(_anchor(a) for a in anchors):
        raise AnsibleFilterError('record_commands: anchors expects a list of pf anchor paths (com.apple/NAME), got %r'
                                 % (anchors,))
    commands = [
        ('sw_vers.txt', ['/usr/bin/sw_vers'], False),
        ('sysctl-hw.model.txt', ['/usr/sbin/sysctl', '-n', 'hw.model'], False),
        ('system_profiler-SPHardwareDataType.json', ['/usr/sbin/system_profiler', '-json', 'SPHardwareDataType'], False),
        ('system_profiler-SPDisplaysDataType.json', ['/usr/sbin/system_profiler', '-json', 'SPDisplaysDataType'], False),
        ('pmset-g-custom.txt', ['/usr/bin/pmset', '-g', 'custom'], False),
        ('pmset-g-cap.txt', ['/usr/bin/pmset', '-g', 'cap'], False),
        ('sysctl-memory.txt', ['/usr/sbin/sysctl'] + list(SYSCTL_ARGS), False),
        ('fdesetup-status.txt', ['/usr/bin/fdesetup', 'status'], True),
        ('sshd-T.txt', ['/usr/sbin/sshd', '-T'], True),
        ('ssh-Q-kex.txt', ['/usr/bin/ssh', '-Q', 'kex'], False),
        ('launchctl-print-disabled-system.txt', ['/bin/launchctl', 'print-disabled', 'system'], True),
        ('pfctl-s-info.txt', ['/sbin/pfctl', '-s', 'info'], True),
        ('socketfilterfw-getglobalstate.txt', [ALF, '--getglobalstate'], False),
        ('socketfilterfw-getstealthmode.txt', [ALF, '--getstealthmode'], False),
        ('socketfilterfw-listapps.txt', [ALF, '--listapps'], False),
        ('defaults-read-loginwindow-autoLoginUser.txt', ['/usr/bin/defaults', 'read', LOGINWINDOW, 'autoLoginUser'],
         False),
    ]
    commands += [('systemsetup-get%s.txt' % name, ['/usr/sbin/systemsetup', '-get' + name], True)
                 for name in sorted(SYSTEMSETUP_SETTINGS)]
    commands += [('scutil-get-%s.txt' % name, ['/usr/sbin/scutil', '--get', name], False) for name in NAME_STAND_INS]
    commands += [('launchctl-print-system-%s.txt' % label, ['/bin/launchctl', 'print', 'system/' + label], True)
                 for label in labels]
    commands += [('pfctl-a-%s-sr.txt' % anchor.replace('/', '_'), ['/sbin/pfctl', '-a', anchor, '-sr'], True)
                 for anchor in anchors]
    commands += [('brew-info-%s.json' % name, [brew, 'info', '--json=v2', name], False) for name in formulae]
    commands += [('brew-services-info-%s.json' % name, [brew, 'services', 'info', name, '--json'], False)
                 for name in formulae]
    return [{'file': file_name, 'argv': argv, 'root': root} for file_name, argv, root in commands]


class FilterModule(object):
    def filters(self):
        return {'redact': redact, 'recording': recording, 'record_commands': record_commands}
