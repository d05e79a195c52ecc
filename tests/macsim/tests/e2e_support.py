"""What the end-to-end files (test_e2e*.py) share: the skip rule, running macsim, and the check that
`down` left nothing behind. They need root and MACSIM_E2E=1 (`make macsim` sets both)."""

import os
import subprocess
import sys

import pytest

MACSIM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'macsim')
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')

E2E_ONLY = pytest.mark.skipif(
    os.environ.get('MACSIM_E2E') != '1' or os.geteuid() != 0,
    reason='end-to-end macsim tests need root and MACSIM_E2E=1')


def macsim(*args, **kw):
    """Run tests/macsim/macsim; a non-zero exit fails the test unless check=False."""
    check = kw.pop('check', True)
    proc = subprocess.run([sys.executable, MACSIM] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=180, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError('macsim %s failed (%d): %s%s' % (' '.join(args), proc.returncode, proc.stdout,
                                                              proc.stderr))
    return proc


def leftovers(meta):
    """Everything `down` must have removed: netns, veth pair, mounts, processes, the instance dir."""
    found = []
    if os.path.exists('/run/netns/' + meta['netns']):
        found.append('netns')
    for link in (meta['veth_host'], meta['veth_peer']):
        if os.path.exists('/sys/class/net/' + link):
            found.append(link)
    with open('/proc/self/mountinfo') as f:
        if meta['instance_dir'] in f.read():
            found.append('mount')
    if meta.get('pidns'):
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    if os.readlink('/proc/%s/ns/pid' % pid) == meta['pidns']:
                        found.append('pid %s' % pid)
                except OSError:
                    pass
    if meta.get('pid') and os.path.exists('/proc/%d' % meta['pid']):
        with open('/proc/%d/stat' % meta['pid']) as f:
            if ' Z ' not in f.read():
                found.append('nspawn')
    if os.path.exists(meta['instance_dir']):
        found.append('instance dir')
    return found
