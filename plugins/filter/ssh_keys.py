# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters for OpenSSH public key lines (authorized_keys format), used by the ssh_hardening role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import re
import struct

_KEY_RE = re.compile(r'(?:^|\s)((?:ssh|ecdsa|sk-ssh|sk-ecdsa|rsa)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/]+={0,3})(?=\s|$)')


def _parse(line):
    """(declared type, base64 blob) of a key line, options prefix (from="...") allowed; None if none."""
    match = _KEY_RE.search(str(line).strip())
    if not match:
        return None
    return match.group(1), match.group(2)


def ssh_key_blob(line):
    """The base64 key of an authorized_keys or .pub line ('' when the line holds no key)."""
    parsed = _parse(line)
    return parsed[1] if parsed else ''


def ssh_key_type(line):
    """The key type an authorized_keys or .pub line declares ('' when the line holds no key)."""
    parsed = _parse(line)
    return parsed[0] if parsed else ''


def ssh_key_problem(line, allowed_types=('ssh-ed25519',)):
    """'' for a public key line of an allowed type whose data matches its declared type; else why not."""
    parsed = _parse(line)
    if parsed is None:
        return 'not a public key line'
    declared, blob = parsed
    if declared not in allowed_types:
        return '%s keys are not allowed (allowed: %s)' % (declared, ', '.join(allowed_types))
    try:
        data = base64.b64decode(blob.encode('ascii'), validate=True)
    except (binascii.Error, ValueError):
        return 'the key data is not valid base64'
    if len(data) < 4:
        return 'the key data is too short'
    (length,) = struct.unpack('>I', data[:4])
    embedded = data[4:4 + length].decode('ascii', 'replace')
    if embedded != declared:
        return 'the line says %s but the key data is %s' % (declared, embedded)
    return ''


def merge_authorized_keys(existing, wanted, exclusive=False):
    """Lines of the new authorized_keys: `wanted` alone when exclusive, else the existing lines as they are
    (comments kept, blank lines dropped) plus every wanted key whose key data is not there yet."""
    wanted = [str(line).strip() for line in wanted if str(line).strip()]
    if exclusive:
        return wanted
    lines = [str(line).rstrip() for line in existing if str(line).strip()]
    present = set(ssh_key_blob(line) for line in lines) - set([''])
    for line in wanted:
        blob = ssh_key_blob(line)
        if blob not in present:
            lines.append(line)
            present.add(blob)
    return lines


class FilterModule(object):
    def filters(self):
        return {
            'ssh_key_blob': ssh_key_blob,
            'ssh_key_type': ssh_key_type,
            'ssh_key_problem': ssh_key_problem,
            'merge_authorized_keys': merge_authorized_keys,
        }
