"""ifconfig and `route -n get default` stand-ins (test fixtures) so Ansible's Darwin network
facts (GenericBsdIfconfigNetwork) see the instance's real addresses in macOS layout.

Read-only: the kernel's view (ioctl, /sys, /proc/net) printed the macOS way; Linux `lo` is shown
as `lo0`. The layout is not in the reference and follows macOS as remembered (INVENTED as far as
the reference goes); Ansible parses it by keywords.
"""

import fcntl
import socket
import struct

from macsimlib.common import out, err

SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK = 0x8913, 0x8915, 0x8919, 0x891b
SIOCGIFMTU, SIOCGIFHWADDR = 0x8921, 0x8927

# Linux IFF_* bit -> (macOS IFF_* bit, name)
FLAG_MAP = [(0x1, 0x1, 'UP'), (0x2, 0x2, 'BROADCAST'), (0x8, 0x8, 'LOOPBACK'),
            (0x10, 0x10, 'POINTOPOINT'), (0x40, 0x40, 'RUNNING'), (0x80, 0x80, 'NOARP'),
            (0x100, 0x100, 'PROMISC'), (0x200, 0x200, 'ALLMULTI'), (0x1000, 0x8000, 'MULTICAST')]
MAC_ORDER = [(0x1, 'UP'), (0x2, 'BROADCAST'), (0x8, 'LOOPBACK'), (0x10, 'POINTOPOINT'),
             (0x20, 'SMART'), (0x40, 'RUNNING'), (0x80, 'NOARP'), (0x100, 'PROMISC'),
             (0x200, 'ALLMULTI'), (0x800, 'SIMPLEX'), (0x8000, 'MULTICAST')]


def mac_name(linux_name):
    return 'lo0' if linux_name == 'lo' else linux_name


def linux_name(name):
    return 'lo' if name == 'lo0' else name


def _ioctl(sock, req, name):
    return fcntl.ioctl(sock.fileno(), req, struct.pack('256s', name.encode()[:15]))


def _ipv4(sock, req, name):
    try:
        return socket.inet_ntoa(_ioctl(sock, req, name)[20:24])
    except OSError:
        return None


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def interfaces():
    """The network namespace's interfaces (ioctl and /proc/net: /sys may show the host's)."""
    inet6 = {}
    for line in (_read('/proc/net/if_inet6') or '').splitlines():
        parts = line.split()
        if len(parts) == 6:
            addr = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(parts[0]))
            inet6.setdefault(parts[5], []).append((addr, int(parts[2], 16), int(parts[3], 16)))
    res = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for index, n in sorted(socket.if_nameindex()):
            try:
                lflags = struct.unpack('H', _ioctl(sock, SIOCGIFFLAGS, n)[16:18])[0]
                mtu = struct.unpack('i', _ioctl(sock, SIOCGIFMTU, n)[16:20])[0]
                hw = _ioctl(sock, SIOCGIFHWADDR, n)[18:24]
            except OSError:
                continue
            res.append({
                'name': n, 'flags': lflags, 'mtu': mtu, 'index': index,
                'ether': ':'.join('%02x' % b for b in bytearray(hw)),
                'inet': _ipv4(sock, SIOCGIFADDR, n), 'netmask': _ipv4(sock, SIOCGIFNETMASK, n),
                'broadcast': _ipv4(sock, SIOCGIFBRDADDR, n) if lflags & 0x2 else None,
                'inet6': inet6.get(n, []),
            })
    finally:
        sock.close()
    return res


def mac_flags(iface):
    lf = iface['flags']
    bits = 0
    for lbit, mbit, _name in FLAG_MAP:
        if lf & lbit:
            bits |= mbit
    if lf & 0x2:
        bits |= 0x20 | 0x800  # SMART, SIMPLEX on Ethernet-like interfaces
    if lf & 0x8:
        bits |= 0x8000  # macOS lo0 is MULTICAST
    names = [name for bit, name in MAC_ORDER if bits & bit]
    return '%x<%s>' % (bits, ','.join(names))


def show(iface):
    name = mac_name(iface['name'])
    loop = iface['flags'] & 0x8
    mtu = 16384 if loop else iface['mtu']
    out('%s: flags=%s mtu %d' % (name, mac_flags(iface), mtu))
    out('\toptions=%s' % ('1203<RXCSUM,TXCSUM,TXSTATUS,SW_TIMESTAMP>' if loop else
                          '400<CHANNEL_IO>'))
    if not loop and iface['ether']:
        out('\tether %s' % iface['ether'])
    if iface['inet']:
        mask = struct.unpack('!I', socket.inet_aton(iface['netmask'] or '255.255.255.255'))[0]
        line = '\tinet %s netmask 0x%08x' % (iface['inet'], mask)
        if iface['broadcast'] and iface['broadcast'] != '0.0.0.0':
            line += ' broadcast %s' % iface['broadcast']
        out(line)
    for addr, plen, scope in iface['inet6']:
        if scope == 0x20:  # link-local
            out('\tinet6 %s%%%s prefixlen %d scopeid 0x%x ' % (addr, name, plen, iface['index']))
        else:
            out('\tinet6 %s prefixlen %d ' % (addr, plen))
    out('\tnd6 options=201<PERFORMNUD,DAD>')
    if not loop:
        out('\tmedia: autoselect (10GbaseT <full-duplex>)')
        out('\tstatus: %s' % ('active' if iface['flags'] & 0x40 else 'inactive'))


def ifconfig(ctx, args):
    if args in ([], ['-a']):
        for iface in interfaces():
            show(iface)
        return 0, 'read'
    if len(args) == 1 and not args[0].startswith('-'):
        for iface in interfaces():
            if iface['name'] == linux_name(args[0]):
                show(iface)
                return 0, 'read'
        err('ifconfig: interface %s does not exist' % args[0])
        return 1, 'error'
    err('macsim: ifconfig %s is not simulated' % ' '.join(args))
    return 2, 'error'


def default_route_v4():
    for line in (_read('/proc/net/route') or '').splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 8 and parts[1] == '00000000' and parts[7] == '00000000':
            gw = socket.inet_ntoa(struct.pack('<I', int(parts[2], 16)))
            return parts[0], gw
    return None


def default_route_v6():
    for line in (_read('/proc/net/ipv6_route') or '').splitlines():
        parts = line.split()
        if len(parts) == 10 and parts[0] == '0' * 32 and parts[1] == '00' and parts[9] != 'lo':
            gw = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(parts[4]))
            return parts[9], gw
    return None


def route(ctx, args):
    rest = [a for a in args if a != '-n']
    v6 = '-inet6' in rest
    rest = [a for a in rest if a not in ('-inet6', '-inet')]
    if rest != ['get', 'default']:
        err('macsim: route %s is not simulated' % ' '.join(args))
        return 2, 'error'
    found = default_route_v6() if v6 else default_route_v4()
    if not found:
        err('route: writing to routing socket: not in table')
        return 1, 'read'
    ifname, gw = found
    mtu = next((i['mtu'] for i in interfaces() if i['name'] == ifname), 1500)
    out('   route to: default')
    out('destination: default')
    out('       mask: default')
    out('    gateway: %s' % gw)
    out('  interface: %s' % mac_name(ifname))
    out('      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING,GLOBAL>')
    out(' recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire')
    out('%9d %9d %9d %9d %9d %9d %9d %9d ' % (0, 0, 0, 0, 0, 0, mtu, 0))
    return 0, 'read'
