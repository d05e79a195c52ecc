# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters for SSH public keys, used by the ssh_hardening role.

A key is accepted in two forms: an OpenSSH line (authorized_keys or .pub format, `TYPE BASE64 COMMENT`) or an
RFC 4716 public key file, what PuTTYgen's "Save public key" writes (one multi-line string). Private keys are
recognised so that they can be refused without ever repeating their content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import re
import struct

from ansible.errors import AnsibleFilterError

_KEY_RE = re.compile(r'(?:^|\s)((?:ssh|ecdsa|sk-ssh|sk-ecdsa|rsa)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/]+={0,3})(?=\s|$)')
_TYPE_RE = re.compile(r'^[A-Za-z0-9@._+-]{1,64}$')

_RFC4716_BEGIN = '---- BEGIN SSH2 PUBLIC KEY ----'
_RFC4716_END = '---- END SSH2 PUBLIC KEY ----'
_LINE_BREAK_RE = re.compile(r'\r\n|\r|\n')
_QUOTED_ESCAPE_RE = re.compile(r'\\(.)')

_KEEP_IT_PRIVATE = ('which must stay private and never be given to the role (if it was committed or shared, make a '
                    'new key). Give its public key instead: ')
_PRIVATE_KEYS = (
    (re.compile(r'PuTTY-User-Key-File-\d+\s*:|^\s*Private-(?:Lines|MAC)\s*:', re.MULTILINE),
     'this is a PuTTY private key (.ppk), ' + _KEEP_IT_PRIVATE
     + 'in PuTTYgen, load the .ppk and copy the one line in the box "Public key for pasting into OpenSSH '
       'authorized_keys file", or give the file that "Save public key" writes'),
    (re.compile(r'-----BEGIN OPENSSH PRIVATE KEY-----'),
     'this is an OpenSSH private key, ' + _KEEP_IT_PRIVATE
     + 'the .pub file next to it, or the line that `ssh-keygen -y -f KEYFILE` prints'),
    (re.compile(r'-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----|---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----'),
     'this is a private key, ' + _KEEP_IT_PRIVATE + 'the line that `ssh-keygen -y -f KEYFILE` prints'),
)


class _NotAPublicKey(ValueError):
    """Why a text is not an accepted public key; the message never quotes the text."""


# ---- the two forms -------------------------------------------------------------------------------

def _parse(line):
    """(declared type, base64 blob) of a key line, options prefix (from="...") allowed; None if none."""
    match = _KEY_RE.search(str(line).strip())
    if not match:
        return None
    return match.group(1), match.group(2)


def _private_key_problem(text):
    """Why `text` must not be used ('' unless it is, or holds, a private key)."""
    for pattern, message in _PRIVATE_KEYS:
        if pattern.search(text):
            return message
    return ''


def _rfc4716_lines(text):
    """The lines between the BEGIN and END markers of an RFC 4716 key, stripped, blank lines left out."""
    lines = [line.strip() for line in _LINE_BREAK_RE.split(text.strip())]
    lines = [line for line in lines if line]
    if lines[0] != _RFC4716_BEGIN:
        if lines[0].startswith(_RFC4716_BEGIN):
            raise _NotAPublicKey('the RFC 4716 public key lost its line breaks: give it as one string with the lines '
                                 'of the file (in YAML, a literal block "|", not ">")')
        raise _NotAPublicKey('the RFC 4716 public key must start with the line "%s"' % _RFC4716_BEGIN)
    if lines.count(_RFC4716_BEGIN) > 1 or _RFC4716_END in lines[1:-1]:
        raise _NotAPublicKey('one RFC 4716 public key per item: nothing may follow "%s"' % _RFC4716_END)
    if lines[-1] != _RFC4716_END:
        raise _NotAPublicKey('the RFC 4716 public key has no "%s" line: give the whole file, down to that line'
                             % _RFC4716_END)
    return lines[1:-1]


def _rfc4716_headers(lines):
    """({lower-case header name: value}, the lines after the headers); a line ending in a backslash continues."""
    headers = {}
    index = 0
    while index < len(lines) and ':' in lines[index]:  # base64 never holds a colon
        logical = lines[index]
        while logical.endswith('\\'):
            index += 1
            if index >= len(lines):
                raise _NotAPublicKey('the last header of the RFC 4716 public key ends in a backslash, so it continues '
                                     'on a line that is not there')
            logical = logical[:-1] + lines[index]
        name, value = logical.split(':', 1)
        headers[name.strip().lower()] = value.strip()
        index += 1
    return headers, lines[index:]


def _unquote(value):
    """A header value without the double quotes around it (PuTTYgen's), \\" and \\\\ inside unescaped."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _QUOTED_ESCAPE_RE.sub(r'\1', value[1:-1])
    return value


def _embedded_type(blob):
    """The key type the base64 key data starts with (an SSH string: 4-byte length, then the name)."""
    try:
        data = base64.b64decode(blob.encode('ascii'), validate=True)
    except (binascii.Error, ValueError):
        raise _NotAPublicKey('the key data is not valid base64') from None
    if len(data) < 4:
        raise _NotAPublicKey('the key data is too short')
    (length,) = struct.unpack('>I', data[:4])
    return data[4:4 + length].decode('ascii', 'replace')


def _from_rfc4716(text):
    """(type, base64 blob, comment or '') of an RFC 4716 public key; the type is the one the key data names."""
    headers, body = _rfc4716_headers(_rfc4716_lines(text))
    if any(':' in line for line in body):
        raise _NotAPublicKey('a header of the RFC 4716 public key comes after its key data')
    blob = ''.join(body)
    if not blob:
        raise _NotAPublicKey('the RFC 4716 public key has no key data')
    if not re.match(r'^[A-Za-z0-9+/]+={0,3}$', blob):
        raise _NotAPublicKey('the key data is not valid base64')
    kind = _embedded_type(blob)
    if not _TYPE_RE.match(kind):
        raise _NotAPublicKey('the key data does not start with a key type')
    return kind, blob, _unquote(headers.get('comment', '')).strip()


def _public_key(key):
    """(declared type, base64 blob, OpenSSH line) of a public key in either form; else _NotAPublicKey says why."""
    text = '' if key is None else str(key)
    private = _private_key_problem(text)
    if private:
        raise _NotAPublicKey(private)
    if _RFC4716_BEGIN in text:
        kind, blob, comment = _from_rfc4716(text)
        return kind, blob, ' '.join([kind, blob] + ([comment] if comment else []))
    parsed = _parse(text)
    if parsed is None:
        raise _NotAPublicKey('not a public key line')
    return parsed[0], parsed[1], text.strip()


# ---- the filters ---------------------------------------------------------------------------------

def ssh_key_openssh(key):
    """The OpenSSH line (`TYPE BASE64 COMMENT`) of a public key in either form ('' when it is not one)."""
    try:
        return _public_key(key)[2]
    except _NotAPublicKey:
        return ''


def ssh_key_blob(key):
    """The base64 key data of a public key in either form ('' when it is not one)."""
    try:
        return _public_key(key)[1]
    except _NotAPublicKey:
        return ''


def ssh_key_type(key):
    """The key type a public key declares, in either form ('' when it is not one)."""
    try:
        return _public_key(key)[0]
    except _NotAPublicKey:
        return ''


def ssh_key_problem(key, allowed_types=('ssh-ed25519',)):
    """'' for a public key (either form) of an allowed type whose data matches its declared type; else why not."""
    try:
        declared, blob = _public_key(key)[:2]
        if declared not in allowed_types:
            return '%s keys are not allowed (allowed: %s)' % (declared, ', '.join(allowed_types))
        embedded = _embedded_type(blob)
    except _NotAPublicKey as problem:
        return str(problem)
    if embedded != declared:
        return 'the line says %s but the key data is %s' % (declared, embedded)
    return ''


def _wanted_line(index, key):
    """The line to write for one wanted key: its OpenSSH line; a private key or a broken RFC 4716 key fails."""
    text = str(key)
    try:
        return _public_key(text)[2]
    except _NotAPublicKey as problem:
        if _private_key_problem(text) or _RFC4716_BEGIN in text:
            raise AnsibleFilterError('merge_authorized_keys: wanted key %d: %s' % (index, problem)) from None
        return text.strip()


def _identity(line):
    """What makes two authorized_keys lines the same: the key data, or for a line without a key the line."""
    return ssh_key_blob(line) or line.strip()


def merge_authorized_keys(existing, wanted, exclusive=False):
    """Lines of the new authorized_keys: the existing lines as they are (comments kept, blank lines dropped; none
    when exclusive) plus every wanted key whose key data is not there yet. Wanted keys are written as OpenSSH lines,
    whichever form they come in."""
    wanted = [_wanted_line(index, key) for index, key in enumerate(wanted, 1) if str(key).strip()]
    lines = [] if exclusive else [str(line).rstrip() for line in existing if str(line).strip()]
    present = set(_identity(line) for line in lines)
    for line in wanted:
        if _identity(line) not in present:
            lines.append(line)
            present.add(_identity(line))
    return lines


class FilterModule(object):
    def filters(self):
        return {
            'ssh_key_blob': ssh_key_blob,
            'ssh_key_type': ssh_key_type,
            'ssh_key_openssh': ssh_key_openssh,
            'ssh_key_problem': ssh_key_problem,
            'merge_authorized_keys': merge_authorized_keys,
        }
