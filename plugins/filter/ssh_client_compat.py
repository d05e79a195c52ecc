# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Can the SSH clients a user names still log in with the ssh_hardening algorithm lists?

SSH needs one algorithm in common per category (key exchange, host key, cipher, MAC, user key type), not all of
them. The data is the table of roles/ssh_hardening/docs/client-compat.md (its YAML block at the end, which a unit
test compares with the tables here): for each client, the first release that has each algorithm.

The answer follows the role's lockout guard: what is certain to shut a named client out is a lockout (the role
refuses it); what the table cannot tell (an algorithm it does not list, a release it has no data for, a client whose
result depends on its own preference order) is a warning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

# ---- the facts of docs/client-compat.md, as data -------------------------------------------------

# First release of each client that has the algorithm; None: no release up to CHECKED_UP_TO has it.
FIRST_RELEASE = {
    'putty': {
        'mlkem768x25519-sha256': '0.83',
        'sntrup761x25519-sha512': '0.82',
        'sntrup761x25519-sha512@openssh.com': '0.78',
        'curve25519-sha256': '0.75',
        'curve25519-sha256@libssh.org': '0.68',
        'chacha20-poly1305@openssh.com': '0.68',
        'aes256-gcm@openssh.com': '0.78',
        'aes128-gcm@openssh.com': '0.78',
        'aes256-ctr': '0.59',
        'aes192-ctr': '0.59',
        'aes128-ctr': '0.59',
        'hmac-sha2-512-etm@openssh.com': '0.79',
        'hmac-sha2-256-etm@openssh.com': '0.68',
        'umac-128-etm@openssh.com': None,
        'ssh-ed25519': '0.68',
    },
    'openssh': {
        'mlkem768x25519-sha256': '9.9',
        'sntrup761x25519-sha512': '9.9',
        'sntrup761x25519-sha512@openssh.com': '8.5',
        'curve25519-sha256': '7.4',
        'curve25519-sha256@libssh.org': '6.5',
        'chacha20-poly1305@openssh.com': '6.5',
        'aes256-gcm@openssh.com': '6.2',
        'aes128-gcm@openssh.com': '6.2',
        'aes256-ctr': '3.7',
        'aes192-ctr': '3.7',
        'aes128-ctr': '3.7',
        'hmac-sha2-512-etm@openssh.com': '6.2',
        'hmac-sha2-256-etm@openssh.com': '6.2',
        'umac-128-etm@openssh.com': '6.2',
        'ssh-ed25519': '6.5',
    },
    'windows_openssh': {
        'mlkem768x25519-sha256': '10.0',
        'sntrup761x25519-sha512': '10.0',
        'sntrup761x25519-sha512@openssh.com': '10.0',
        'curve25519-sha256': '7.7',
        'curve25519-sha256@libssh.org': '7.7',
        'chacha20-poly1305@openssh.com': '7.7',
        'aes256-gcm@openssh.com': '7.7',
        'aes128-gcm@openssh.com': '7.7',
        'aes256-ctr': '7.7',
        'aes192-ctr': '7.7',
        'aes128-ctr': '7.7',
        'hmac-sha2-512-etm@openssh.com': '7.7',
        'hmac-sha2-256-etm@openssh.com': '7.7',
        'umac-128-etm@openssh.com': '7.7',
        'ssh-ed25519': '7.7',
    },
}

# Releases the table covers: before FROM it knows nothing, after TO it cannot say that an algorithm is still missing.
CHECKED = {
    'putty': {'from': '0.45', 'to': '0.84'},
    'openssh': {'from': '3.7', 'to': '10.0'},
    'windows_openssh': {'from': '7.7', 'to': '10.0'},
}

# Algorithms a distribution may have backported to releases from this one on (before the first release above), so
# that a release in between may or may not have them.
BACKPORTED_FROM = {
    'openssh': {'sntrup761x25519-sha512': '8.9'},
}

CLIENT_NAMES = {'putty': 'PuTTY', 'openssh': 'OpenSSH', 'windows_openssh': 'Windows OpenSSH'}

CATEGORIES = {
    'kex': {'what': 'key exchanges', 'keyword': 'KexAlgorithms', 'known': [
        'mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com',
        'curve25519-sha256', 'curve25519-sha256@libssh.org']},
    'host_key_algorithms': {'what': 'host key algorithms', 'keyword': 'HostKeyAlgorithms', 'known': ['ssh-ed25519']},
    'ciphers': {'what': 'ciphers', 'keyword': 'Ciphers', 'known': [
        'chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com',
        'aes256-ctr', 'aes192-ctr', 'aes128-ctr']},
    'macs': {'what': 'MACs', 'keyword': 'MACs', 'known': [
        'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'umac-128-etm@openssh.com']},
    'pubkey_algorithms': {'what': 'user key types', 'keyword': 'PubkeyAcceptedAlgorithms', 'known': ['ssh-ed25519']},
}
ORDER = ['kex', 'host_key_algorithms', 'ciphers', 'macs', 'pubkey_algorithms']

# Ciphers that carry their own MAC: with one of them no MAC is negotiated at all.
AEAD_CIPHERS = frozenset(['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com'])

# What the client's own default preference order does when it could pick either kind of cipher.
_DEFAULT_ORDER = {'putty': " (PuTTY's default order puts AES-CTR before ChaCha20 and AES-GCM, so by default it fails)"}

_VERSION_RE = re.compile(r'^(\d+(?:\.\d+)*)(?:p\d+)?(?:-[A-Za-z][A-Za-z0-9]*)?$')


# ---- versions ------------------------------------------------------------------------------------

def _key(version):
    """A version string as a tuple of numbers that compares right, the trailing zeros dropped (9.5 == 9.5.0.0)."""
    numbers = [int(part) for part in _VERSION_RE.match(version).group(1).split('.')]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def _at_least(version, first):
    return first is not None and _key(version) >= _key(first)


def _version_problem(client, version):
    """'' for a version this client can have; else why not."""
    if isinstance(version, bool) or not isinstance(version, str):
        return ('the version must be a string in quotes, for example version: "0.80"; %r is a number to YAML '
                '(0.80 unquoted is the number 0.8)' % (version,))
    if not _VERSION_RE.match(version):
        return ('"%s" is not a version like "0.78" (PuTTY), "9.5" or "9.5p1" (OpenSSH, Windows OpenSSH)'
                % version)
    if client == 'putty' and re.match(r'^0\.\d$', version):
        return ('PuTTY versions have two digits after the point ("0.80", not "%s"): quote the version in YAML'
                % version)
    return ''


# ---- one client against one list ----------------------------------------------------------------

def _label(client, version):
    return '%s %s' % (CLIENT_NAMES[client], version)


def _has(client, version, algorithm):
    """True, False, or None (the table cannot tell) for this release of the client and this algorithm."""
    table = FIRST_RELEASE[client]
    if algorithm not in table:
        return None
    if _at_least(version, table[algorithm]):
        return True
    backport = BACKPORTED_FROM.get(client, {}).get(algorithm)
    if backport is not None and _at_least(version, backport):
        return None
    if table[algorithm] is None and _key(version) > _key(CHECKED[client]['to']):
        return None
    return False


def _why_unknown(client, version, algorithm):
    table = FIRST_RELEASE[client]
    if algorithm not in table:
        return '%s (not in the table)' % algorithm
    if table[algorithm] is None:
        return '%s (in no %s release up to %s, the last one the table checked)' % (
            algorithm, CLIENT_NAMES[client], CHECKED[client]['to'])
    return '%s (upstream from %s %s, maybe backported to %s by its distribution)' % (
        algorithm, CLIENT_NAMES[client], table[algorithm], version)


def _fix(client, version, category, algorithms, name):
    """What would let this client in: the algorithms it has that could be added, or the first release with one of
    the list."""
    table = FIRST_RELEASE[client]
    addable = [known for known in CATEGORIES[category]['known']
               if known not in algorithms and _has(client, version, known)]
    fixes = []
    if addable:
        choices = ['%s (%s %s+)' % (known, CLIENT_NAMES[client], table[known]) for known in addable]
        fixes.append('add %s to %s' % (' or '.join(choices), name))
    firsts = sorted((table[known] for known in algorithms if table.get(known) is not None), key=_key)
    if firsts:
        fixes.append('use %s %s or later (the first release with one of the list)' % (CLIENT_NAMES[client], firsts[0]))
        return ', or '.join(fixes)
    return ', or '.join(fixes) + ' (no %s release up to %s has any of the list)' % (CLIENT_NAMES[client],
                                                                                    CHECKED[client]['to'])


def _mac_finding(client, version, has, lists, name):
    """For a release with none of the MACs: (skip, warning). skip: no MAC is needed (or it is a lockout, when both are
    empty); a warning: whether it is needed depends on what the table cannot tell, or on the client's cipher order."""
    ciphers = has.get('ciphers', {})
    aead = [cipher for cipher, value in ciphers.items() if value and cipher in AEAD_CIPHERS]
    plain = [cipher for cipher, value in ciphers.items() if value is not False and cipher not in AEAD_CIPHERS]
    who, algorithms = _label(client, version), ', '.join(lists['macs'])
    if 'ciphers' in lists and not plain:
        return True, ''  # only ciphers with their own MAC in common (or no cipher at all, reported as such)
    if aead:
        return True, ('%s has none of the MACs in %s (%s): it logs in only if it picks %s (they carry their own MAC) '
                      'over %s%s; to be sure, %s'
                      % (who, name, algorithms, ' or '.join(aead), ' and '.join(plain), _DEFAULT_ORDER.get(client, ''),
                         _fix(client, version, 'macs', lists['macs'], name)))
    if plain and all(ciphers[cipher] is None for cipher in plain):
        return True, ('the role cannot tell whether %s can log in: it has none of the MACs in %s (%s), which it needs '
                      'if it has %s' % (who, name, algorithms,
                                        ' or '.join(_why_unknown(client, version, cipher) for cipher in plain)))
    return False, ''


def _check(client, version, lists, names):
    """(lockouts, warnings) of one client release against the lists."""
    lockouts, warnings = [], []
    who = _label(client, version)
    if _key(version) < _key(CHECKED[client]['from']):
        warnings.append('%s: the table starts at %s %s, so the role cannot tell whether this release can log in'
                        % (who, CLIENT_NAMES[client], CHECKED[client]['from']))
        return lockouts, warnings
    has = dict((category, dict((algorithm, _has(client, version, algorithm)) for algorithm in lists[category]))
               for category in lists)
    for category in [category for category in ORDER if lists.get(category)]:
        if any(has[category].values()):
            continue
        name = names.get(category) or CATEGORIES[category]['keyword']
        if category == 'macs':
            skip, warning = _mac_finding(client, version, has, lists, name)
            warnings.extend([warning] if warning else [])
            if skip:
                continue
        unknown = [algorithm for algorithm, value in has[category].items() if value is None]
        if unknown:
            warnings.append('the role cannot tell whether %s has one of the %s in %s: it has none of the others, '
                            'perhaps %s' % (who, CATEGORIES[category]['what'], name,
                                            ' or '.join(_why_unknown(client, version, algorithm)
                                                        for algorithm in unknown)))
        else:
            lockouts.append('%s has none of the %s in %s (%s), so it could not log in: %s'
                            % (who, CATEGORIES[category]['what'], name, ', '.join(lists[category]),
                               _fix(client, version, category, lists[category], name)))
    return lockouts, warnings


# ---- the filter ----------------------------------------------------------------------------------

def _entry_problem(entry):
    """'' for a {client, version} the table knows; else why not (quoting only what is safe to show)."""
    if not isinstance(entry, dict):
        return 'give a mapping with the keys client and version, for example {client: putty, version: "0.78"}'
    extra = sorted(str(key) for key in entry if key not in ('client', 'version'))
    if extra:
        return 'unknown key(s) %s (only client and version)' % ', '.join(extra)
    client = entry.get('client')
    if client not in FIRST_RELEASE:
        return 'unknown client %r (known: %s)' % (client, ', '.join(sorted(FIRST_RELEASE)))
    if 'version' not in entry:
        return 'no version for %s' % client
    return _version_problem(client, entry['version'])


def ssh_client_compat(clients, algorithms, names=None):
    """{'invalid', 'lockouts', 'warnings'} (lists of messages) of the named client releases against the lists."""
    if not isinstance(algorithms, dict) or set(algorithms) - set(CATEGORIES):
        raise AnsibleFilterError('ssh_client_compat: algorithms must be a mapping with keys among %s'
                                 % ', '.join(ORDER))
    lists = dict((category, [str(algorithm) for algorithm in value or []]) for category, value in algorithms.items())
    names = names or {}
    result = {'invalid': [], 'lockouts': [], 'warnings': []}
    for index, entry in enumerate(clients or [], 1):
        problem = _entry_problem(entry)
        if problem:
            result['invalid'].append('item %d: %s' % (index, problem))
            continue
        lockouts, warnings = _check(entry['client'], entry['version'], lists, names)
        result['lockouts'].extend(lockouts)
        result['warnings'].extend(warnings)
    return result


class FilterModule(object):
    def filters(self):
        return {'ssh_client_compat': ssh_client_compat}
