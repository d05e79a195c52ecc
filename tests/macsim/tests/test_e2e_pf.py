"""End to end: pfctl's rules really filter the instance's network (nftables in its netns). Needs root
and the cached base (with nftables); runs only with MACSIM_E2E=1.

    MACSIM_E2E=1 pytest tests/macsim/tests/test_e2e_pf.py

An anchor under com.apple/300.test lets port 8080 in only from 198.18.0.1; the controller connects
from its veth address (dropped) and from 198.18.0.1 (answered), an address this test adds to the
controller end of the instance's veth and removes again.
"""

import json
import os
import subprocess
import time

import pytest

from e2e_support import E2E_ONLY, macsim

pytestmark = E2E_ONLY

NAME = 'pf-e2e'
ALLOWED = '198.18.0.1'
ANCHOR = ('pass in quick proto tcp from %s/32 to any port 8080 flags S/SA keep state\n'
          'block drop in quick proto tcp from any to any port 8080\n' % ALLOWED)
PRINTED = ('pass in quick inet proto tcp from %s to any port = 8080 flags S/SA keep state\n'
           'block drop in quick proto tcp from any to any port = 8080\n' % ALLOWED)


@pytest.fixture(scope='module')
def instance():
    macsim('down', NAME)
    info = json.loads(macsim('up', NAME).stdout)
    with open(os.path.join(info['instance_dir'], 'meta.json')) as f:
        meta = json.load(f)
    try:
        yield info, meta
    finally:
        subprocess.run(['ip', 'addr', 'del', ALLOWED + '/32', 'dev', meta['veth_host']],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        macsim('down', NAME)


def run(*argv, **kw):
    return macsim('exec', NAME, '--', *argv, **kw)


def curl(address, source=None):
    cmd = ['curl', '-sS', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}']
    if source:
        cmd += ['--interface', source]
    proc = subprocess.run(cmd + ['http://%s:8080/' % address], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=20, check=False)
    return proc.returncode, proc.stdout


def nft_tables():
    return run('sh', '-c', 'nft list tables 2>/dev/null', check=False).stdout


def test_pf_filters_by_source(instance):
    info, meta = instance
    if 'nft' not in run('sh', '-c', 'command -v nft || true').stdout:
        pytest.skip('the base has no nftables yet: pfctl keeps state only')
    run('sh', '-c', 'cat > /tmp/300.test.conf', input=ANCHOR)
    assert run('pfctl', '-nvf', '/tmp/300.test.conf').stdout == PRINTED
    run('pfctl', '-a', 'com.apple/300.test', '-f', '/tmp/300.test.conf')
    assert run('pfctl', '-a', 'com.apple/300.test', '-sr').stdout == PRINTED
    # A listener that any source could reach while pf is off.
    run('sh', '-c', 'cd /tmp && nohup /usr/local/libexec/macsim/python3 -m http.server 8080 '
        '>/tmp/http.log 2>&1 </dev/null & sleep 1')
    subprocess.run(['ip', 'addr', 'add', ALLOWED + '/32', 'dev', meta['veth_host']], check=True)
    for _attempt in range(20):
        if curl(info['address']) == (0, '200'):
            break
        time.sleep(0.25)
    assert curl(info['address']) == (0, '200')          # pf is off: the anchor's rules do nothing
    assert 'macsim_pf' not in nft_tables()
    token = run('pfctl', '-E').stderr.split('Token : ')[1].split()[0]
    assert curl(info['address'])[0] == 28                # from the controller's veth address: dropped
    assert curl(info['address'], ALLOWED) == (0, '200')
    assert macsim('ssh', NAME, '--', 'true', check=False).returncode == 0    # port 22 untouched
    run('pfctl', '-X', token)
    assert curl(info['address']) == (0, '200')
    assert 'macsim_pf' not in nft_tables()


def test_a_reboot_forgets_pf(instance):
    info, meta = instance
    run('pfctl', '-a', 'com.apple/300.test', '-f', '/tmp/300.test.conf')
    run('pfctl', '-E')
    macsim('reboot', NAME)
    assert run('pfctl', '-s', 'info').stdout.startswith('Status: Disabled ')
    assert run('pfctl', '-a', 'com.apple/300.test', '-sr', check=False).returncode == 1
    assert 'macsim_pf' not in nft_tables()
