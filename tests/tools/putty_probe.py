# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log in to a test host (tests/macsim) with PuTTY's Plink, as the admin does from Windows; print what happened.

Usage: python putty_probe.py INSTANCE WAY KEYDIR

  ed25519   the Ed25519 key tests/tools/putty-key made in KEYDIR, loaded in Pageant (`pageant KEY --exec plink ...`)
  rsa       an RSA key loaded in Pageant: the instance's own RSA key (the `debian` profile has one, in admin's
            authorized_keys) converted with puttygen, else KEYDIR/id_putty_rsa.ppk from tests/tools/putty-key
  password  admin's password (`macsim info`), with `plink -pwfile` and Pageant out of the way (`-noagent`)
  rsa-key   no login: prints {"key", "public"}, the RSA key the `rsa` way uses and its OpenSSH line

Prints one JSON object: {"way", "outcome", "detail", "rc", "stdout", "stderr", "key"}. outcome is
  accepted  plink ran `echo ok` on the host (exit 0, "ok" on stdout)
  refused   the server turned the login down: plink says the server refused the key or offered no method left
  skipped   the way does not apply (no password for this instance)
  error     anything else (network, host key, a missing tool): never taken for a refusal
Plink trusts exactly the host's Ed25519 key from the instance's known_hosts (`-hostkey SHA256:...`), so a wrong
host fails as "error". HOME and PUTTYDIR (PuTTY's directory, ~/.putty, where plink and puttygen save a random
seed) point at a temporary directory, so nothing is left behind. Pageant
0.78 returns 0 from `--exec` whatever the command does, so plink's exit status is carried out through a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MACSIM = os.path.join(HERE, '..', 'macsim', 'macsim')
PUTTY_KEY = os.path.join(HERE, 'putty-key')
TIMEOUT = 60

# What plink 0.78 prints when the server, not the network, ends the login.
REFUSED = ('No supported authentication methods available', 'Server refused our key', 'Access denied')


def instance(name):
    out = subprocess.run([sys.executable, MACSIM, 'info', name], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def host_key_fingerprint(known_hosts):
    """SHA256:... of the ssh-ed25519 key in a known_hosts file (the only host key a hardened server offers)."""
    out = subprocess.run(['ssh-keygen', '-l', '-E', 'sha256', '-f', known_hosts], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        if line.rstrip().endswith('(ED25519)'):
            return line.split()[1]
    raise SystemExit('no ssh-ed25519 key in %s' % known_hosts)


def putty_key(keydir, kind):
    """Path of the key putty-key made (it makes it the first time)."""
    subprocess.run([PUTTY_KEY, keydir, kind], capture_output=True, text=True, check=True)
    return os.path.join(keydir, 'id_putty.ppk' if kind == 'ed25519' else 'id_putty_rsa.ppk')


def rsa_key(info, keydir):
    """The RSA key of the `rsa` way: the instance's own one converted (afresh: a new instance has a new key)."""
    if not info.get('rsa_identity_file'):
        return putty_key(keydir, 'rsa')
    if not os.path.isdir(keydir):
        os.makedirs(keydir)
    converted = os.path.join(keydir, '%s-rsa.ppk' % info['name'])
    subprocess.run(['puttygen', info['rsa_identity_file'], '-o', converted, '--new-passphrase', os.devnull],
                   capture_output=True, text=True, check=True)
    return converted


def plink(info, fingerprint, tmp, options, agent_key=None):
    """(rc, stdout, stderr) of plink -batch ... echo ok, through Pageant holding agent_key when given."""
    argv = ['plink', '-batch', '-ssh', '-v', '-P', str(info.get('port', 22)), '-hostkey', fingerprint] + options + [
        '%s@%s' % (info['user'], info['address']), 'echo', 'ok']
    env = dict(os.environ, HOME=tmp)
    if agent_key:
        rc_file = os.path.join(tmp, 'plink.rc')
        env['PLINK_RC'] = rc_file
        argv = ['pageant', agent_key, '--exec', 'sh', '-c', '"$@"; echo $? >"$PLINK_RC"', 'sh'] + argv
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=TIMEOUT,
                          check=False)
    rc = proc.returncode
    if agent_key:
        try:
            with open(rc_file) as handle:
                rc = int(handle.read().strip())
        except (OSError, ValueError):
            rc = -1  # pageant did not get to run plink
    return rc, proc.stdout, proc.stderr


def outcome(rc, stdout, stderr):
    if rc == 0 and stdout.strip() == 'ok':
        return 'accepted'
    if rc not in (0, -1) and any(text in stderr for text in REFUSED):
        return 'refused'
    return 'error'


def main():
    name, way, keydir = sys.argv[1:4]
    info = instance(name)
    fingerprint = host_key_fingerprint(info['known_hosts'])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ['PUTTYDIR'] = os.path.join(tmp, '.putty')  # puttygen and plink save a random seed there
        if way == 'ed25519':
            key = putty_key(keydir, 'ed25519')
            rc, stdout, stderr = plink(info, fingerprint, tmp, [], agent_key=key)
        elif way == 'rsa':
            key = rsa_key(info, keydir)
            rc, stdout, stderr = plink(info, fingerprint, tmp, [], agent_key=key)
        elif way == 'rsa-key':
            key = rsa_key(info, keydir)
            public = subprocess.run(['puttygen', key, '-O', 'public-openssh'], capture_output=True, text=True,
                                    check=True).stdout.strip()
            print(json.dumps({'key': key, 'public': public}))
            return
        elif way == 'password':
            key = None
            if not info.get('password'):
                print(json.dumps({'way': way, 'outcome': 'skipped', 'detail': 'no password for %s' % name}))
                return
            pwfile = os.path.join(tmp, 'password')
            with open(os.open(pwfile, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as handle:
                handle.write(info['password'])
            rc, stdout, stderr = plink(info, fingerprint, tmp, ['-noagent', '-pwfile', pwfile])
        else:
            sys.exit('unknown way %s' % way)
    fatal = [line for line in stderr.splitlines() if line.startswith('FATAL ERROR')]
    print(json.dumps({'way': way, 'outcome': outcome(rc, stdout, stderr), 'detail': (fatal or [''])[-1], 'rc': rc,
                      'stdout': stdout, 'stderr': stderr, 'key': key}))


if __name__ == '__main__':
    main()
