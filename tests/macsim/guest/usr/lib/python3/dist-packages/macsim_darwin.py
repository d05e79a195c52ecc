"""macsim: make os.uname() report a Mac (Darwin, arm64) in this simulated Mac.

Loaded at interpreter start by macsim_darwin.pth. Ansible's platform detection (platform.system(),
platform.machine(), ...) goes through os.uname(). The release, kernel version string and machine
come from /var/db/macsim/profile.json; the node name stays the real host name.
A test fixture of tests/macsim, never part of the collection.
"""
import json
import os

_DEFAULTS = ('24.6.0', 'Darwin Kernel Version 24.6.0: Mon Jul 14 11:30:40 PDT 2025; '
             'root:xnu-11417.140.69~1/RELEASE_ARM64_T6041')
_real_uname = os.uname
_cache = []


def _darwin_fields():
    if not _cache:
        release, version = _DEFAULTS
        try:
            with open('/var/db/macsim/profile.json') as f:
                osinfo = json.load(f).get('os', {})
            release = osinfo.get('darwin_release', release)
            version = osinfo.get('kernel_version', version)
        except (OSError, ValueError):
            pass
        _cache.append((release, version))
    return _cache[0]


def uname():
    real = _real_uname()
    release, version = _darwin_fields()
    return os.uname_result(('Darwin', real.nodename, release, version, 'arm64'))


uname.__doc__ = _real_uname.__doc__
if getattr(os.uname, '__module__', None) != __name__:
    os.uname = uname
