#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Try one way into a test host with the real OpenSSH client; print {"way", "outcome", "detail"}.

Usage: ssh_probe.py INSTANCE WAY   (WAY: ed25519, rsa, password, kbdint, root, hostkeys-all, hostkeys-ed25519)
outcome: accepted | refused (for host keys: accepted when the offered types are the expected ones).
Passwords go through SSH_ASKPASS (no sshpass needed).
"""

from __future__ import print_function

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MACSIM = os.path.join(HERE, '..', '..', '..', 'tests', 'macsim', 'macsim')
BASE = ['ssh', '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no',
        '-o', 'ControlPath=none', '-o', 'ConnectTimeout=10', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR']


def instance(name):
    out = subprocess.run([sys.executable, MACSIM, 'info', name], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def attempt(argv, env=None):
    proc = subprocess.run(argv + ['true'], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                          timeout=30, check=False)
    return ('accepted' if proc.returncode == 0 else 'refused'), (proc.stderr.strip().splitlines() or [''])[-1]


def with_password(info, methods):
    with tempfile.TemporaryDirectory() as tmp:
        askpass = os.path.join(tmp, 'askpass')
        with open(askpass, 'w') as handle:
            handle.write('#!/bin/sh\nprintf "%%s\\n" %s\n' % json.dumps(info['password']))
        os.chmod(askpass, 0o700)
        env = dict(os.environ, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE='force', DISPLAY=':0')
        argv = ['ssh', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'ControlPath=none',
                '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR', '-o', 'PubkeyAuthentication=no',
                '-o', 'PreferredAuthentications=%s' % methods, '-o', 'NumberOfPasswordPrompts=1',
                '%s@%s' % (info['user'], info['address'])]
        return attempt(argv, env)


def main():
    name, way = sys.argv[1], sys.argv[2]
    info = instance(name)
    target = '%s@%s' % (info['user'], info['address'])
    if way == 'ed25519':
        outcome, detail = attempt(BASE + ['-i', info['identity_file'], target])
    elif way == 'rsa':
        outcome, detail = attempt(BASE + ['-i', info['rsa_identity_file'], target])
    elif way == 'root':
        outcome, detail = attempt(BASE + ['-i', info['identity_file'], 'root@' + info['address']])
    elif way == 'password':
        outcome, detail = with_password(info, 'password')
    elif way == 'kbdint':
        outcome, detail = with_password(info, 'keyboard-interactive')
    elif way.startswith('hostkeys-'):
        scan = subprocess.run(['ssh-keyscan', info['address']], capture_output=True, text=True, timeout=30, check=False)
        offered = sorted(line.split()[1] for line in scan.stdout.splitlines() if line and not line.startswith('#'))
        wanted = ['ssh-ed25519'] if way == 'hostkeys-ed25519' else None
        outcome = 'accepted' if (offered == wanted if wanted else len(offered) > 1) else 'refused'
        detail = ' '.join(offered)
    else:
        sys.exit('unknown way %s' % way)
    print(json.dumps({'way': way, 'outcome': outcome, 'detail': detail}))


if __name__ == '__main__':
    main()
