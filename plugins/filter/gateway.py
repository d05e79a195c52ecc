# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Input checks and small derivations of the ollama_gateway role, on the controller.

The keys are never part of a message: a problem with a client's key names the client (or its position in the list).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError

# A client's name goes into the keys map and the access log: a token Caddy needs no quoting for, and never
# the map's own "__denied__" default.
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')
# A key is one quoted Caddyfile token compared with `==`: no quote, backslash, space, '{' (placeholders) or '*'
# (wildcards in header matchers); 32 characters at least (openssl rand -hex 32 gives 64).
KEY_RE = re.compile(r'^[A-Za-z0-9._~+/=-]{32,256}$')
HOSTPORT_RE = re.compile(r'^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})$')
HOSTNAME_RE = re.compile(r'^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$')


def _cidr_problem(value):
    if not isinstance(value, str):
        return 'expects a CIDR such as 192.168.1.0/24, got %r' % (value,)
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return 'expects a CIDR such as 192.168.1.0/24 (host bits zero), got %r (%s)' % (value, exc)
    return None


def gateway_client_problems(clients):
    """Problems of ollama_gateway_clients, each naming the client, never the key."""
    if not isinstance(clients, list):
        return ['ollama_gateway_clients: expects a list of {name, key}, got %s' % type(clients).__name__]
    problems = []
    names = {}
    keys = {}
    for index, client in enumerate(clients, 1):
        where = 'ollama_gateway_clients item %d' % index
        if not isinstance(client, dict):
            problems.append('%s: expects a mapping with name and key' % where)
            continue
        unknown = sorted(set(client) - set(['name', 'key']))
        if unknown:
            problems.append('%s: unknown keys %s (name and key only)' % (where, ', '.join(unknown)))
        name = client.get('name')
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append('%s: name expects 1 to 64 letters, digits, dots, hyphens or underscores, starting with a '
                            'letter or digit, got %r' % (where, name))
        else:
            where = 'ollama_gateway_clients %s (item %d)' % (name, index)
            if name in names:
                problems.append('%s: the name is also item %d' % (where, names[name]))
            names.setdefault(name, index)
        key = client.get('key')
        if not isinstance(key, str) or not KEY_RE.match(key):
            problems.append('%s: key expects 32 to 256 characters of A-Z a-z 0-9 . _ ~ + / = - (openssl rand -hex 32 '
                            'makes one); the key is not shown' % where)
        elif key in keys:
            problems.append('%s: the key is also the key of item %d; every client needs its own key' % (where, keys[key]))
        else:
            keys[key] = index
    return problems


def gateway_cidr_problems(cidrs, variable='ollama_gateway_allowed_cidrs'):
    if not isinstance(cidrs, list):
        return ['%s: expects a list of CIDRs, got %s' % (variable, type(cidrs).__name__)]
    problems = []
    for index, cidr in enumerate(cidrs, 1):
        problem = _cidr_problem(cidr)
        if problem:
            problems.append('%s item %d: %s' % (variable, index, problem))
    return problems


def gateway_upstream_problems(upstreams):
    if not isinstance(upstreams, list) or not upstreams:
        return ['ollama_gateway_upstreams: expects a non-empty list of HOST:PORT, got %r' % (upstreams,)]
    problems = []
    seen = set()
    for index, upstream in enumerate(upstreams, 1):
        match = HOSTPORT_RE.match(upstream) if isinstance(upstream, str) else None
        if not match or not 0 < int(match.group('port')) < 65536:
            problems.append('ollama_gateway_upstreams item %d: expects HOST:PORT such as 127.0.0.1:11434 or '
                            'mac2.local:11434, got %r' % (index, upstream))
            continue
        host = match.group('host').strip('[]')
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not HOSTNAME_RE.match(host):
                problems.append('ollama_gateway_upstreams item %d: %r is neither an address nor a host name'
                                % (index, upstream))
        if upstream in seen:
            problems.append('ollama_gateway_upstreams item %d: %s is listed twice' % (index, upstream))
        seen.add(upstream)
    return problems


def gateway_network(address, netmask):
    """The network of an interface, '192.168.1.0/24' from 192.168.1.50 and 255.255.255.0."""
    try:
        return str(ipaddress.ip_interface(u'%s/%s' % (address, netmask)).network)
    except ValueError as exc:
        raise AnsibleFilterError('gateway_network: %s' % exc)


LOOPBACK_RE = re.compile(r'^(127\.[0-9.]+|localhost|\[::1\]):[0-9]+$')
WILDCARD_HOSTS = ('0.0.0.0', '[::]', '::', '')


def _with_port(hostport, port='11434'):
    """HOST:PORT of an ollama_host value, Ollama's port added when it has none."""
    hostport = str(hostport)
    return hostport if re.search(r':[0-9]+$', hostport) else '%s:%s' % (hostport, port)   # [::1] has no port


def _addresses_of(host_vars):
    """Where other Macs reach this one's Ollama: its ollama_host, or on every address (0.0.0.0) the inventory's
    ansible_host and the gathered default IPv4 address, with Ollama's port."""
    mine = _with_port(host_vars.get('ollama_host') or '127.0.0.1:11434')
    address, port = mine.rsplit(':', 1)
    if address not in WILDCARD_HOSTS:
        return {mine}
    facts = host_vars.get('ansible_facts') or {}
    found = [host_vars.get('ansible_host'), (facts.get('default_ipv4') or {}).get('address')]
    return set('%s:%s' % (a, port) for a in found if a)


def gateway_pools(host, hosts, hostvars):
    """Where `host`'s Ollama is in the pool of a gateway among `hosts`: [{gateway, upstream, admin_socket,
    caddyfile, caddy}], for a rolling upgrade to drain it first. A gateway counts when it fronts several upstreams
    (with one there is no other Mac to send requests to) and runs on a Mac that is nobody's upstream (site.yml gives
    a Mac with ollama_allowed_cidrs no gateway). On its own gateway `host` is the loopback upstreams; on another,
    the upstream equal to its ollama_host (with Ollama's port; on 0.0.0.0, its ansible_host or gathered address)."""
    mine = _addresses_of(hostvars[host])
    pools = []
    for gateway in hosts:
        gateway_vars = hostvars[gateway]
        if gateway_vars.get('ollama_allowed_cidrs'):
            continue
        upstreams = gateway_vars.get('ollama_gateway_upstreams') or ['127.0.0.1:11434']
        if len(upstreams) < 2:
            continue
        prefix = gateway_vars.get('ollama_gateway_homebrew_prefix') or '/opt/homebrew'
        for upstream in upstreams:
            if (upstream in mine and not LOOPBACK_RE.match(upstream)) if gateway != host else LOOPBACK_RE.match(upstream):
                pools.append({'gateway': gateway, 'upstream': upstream,
                              'admin_socket': prefix + '/var/lib/llmhost-gateway/admin.sock',
                              'caddyfile': prefix + '/etc/llmhost-gateway/Caddyfile',
                              'caddy': prefix + '/opt/caddy/bin/caddy'})
    return pools


def gateway_problems(clients, allowed_cidrs=None, upstreams=None):
    """Every problem of the role's input, one sentence each; the keys are never part of one."""
    problems = gateway_client_problems(clients)
    if allowed_cidrs is not None:
        problems += gateway_cidr_problems(allowed_cidrs)
    if upstreams is not None:
        problems += gateway_upstream_problems(upstreams)
    return problems


class FilterModule(object):
    def filters(self):
        return {
            'gateway_problems': gateway_problems,
            'gateway_network': gateway_network,
            'cidr_problems': gateway_cidr_problems,
            'gateway_pools': gateway_pools,
        }
