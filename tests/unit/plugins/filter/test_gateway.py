# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ollama_gateway role's input checks: every problem named, the keys never shown."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.llmhost.macos.plugins.filter.gateway import FilterModule, gateway_network, gateway_pools, gateway_problems

KEY_A = '6f1c2a9e0b7d4c3f8a5e1d2b9c0f7a6e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a'
KEY_B = 'sk-bob.Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0'


def test_good_input_has_no_problem():
    clients = [{'name': 'alice', 'key': KEY_A}, {'name': 'ci-runner.2', 'key': KEY_B}]
    assert gateway_problems(clients, allowed_cidrs=['192.168.1.0/24', 'fd00::/8'],
                            upstreams=['127.0.0.1:11434', 'mac2.local:11434', '[fd00::2]:11434']) == []
    assert gateway_problems([]) == []


@pytest.mark.parametrize('clients, expected', [
    ('alice', 'ollama_gateway_clients: expects a list of {name, key}, got str'),
    (['alice'], 'ollama_gateway_clients item 1: expects a mapping with name and key'),
    ([{'name': 'alice', 'key': KEY_A, 'role': 'admin'}], 'ollama_gateway_clients item 1: unknown keys role (name and key only)'),
    ([{'name': '__denied__', 'key': KEY_A}], "ollama_gateway_clients item 1: name expects 1 to 64 letters"),
    ([{'name': 'a b', 'key': KEY_A}], "ollama_gateway_clients item 1: name expects"),
    ([{'key': KEY_A}], "ollama_gateway_clients item 1: name expects"),
    ([{'name': 'alice', 'key': KEY_A}, {'name': 'alice', 'key': KEY_B}],
     'ollama_gateway_clients alice (item 2): the name is also item 1'),
    ([{'name': 'alice', 'key': KEY_A}, {'name': 'bob', 'key': KEY_A}],
     'ollama_gateway_clients bob (item 2): the key is also the key of item 1; every client needs its own key'),
])
def test_client_problems(clients, expected):
    problems = gateway_problems(clients)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize('key', [
    'short',                                   # under 32
    'x' * 257,                                 # over 256
    KEY_A[:40] + '"' + KEY_A[:10],             # a quote would end the Caddyfile token
    KEY_A[:40] + '{http.request.host}',        # a placeholder would be expanded
    KEY_A[:40] + '*',                          # a wildcard
    KEY_A[:40] + ' ' + KEY_A[:10],             # a space splits the token
    12345678901234567890123456789012345,       # not a string
    None,
])
def test_a_bad_key_is_refused_without_being_shown(key):
    problems = gateway_problems([{'name': 'carol', 'key': key}])
    assert len(problems) == 1
    assert problems[0].startswith('ollama_gateway_clients carol (item 1): key expects 32 to 256 characters')
    assert 'the key is not shown' in problems[0]
    assert str(key) not in problems[0]


@pytest.mark.parametrize('cidrs, expected', [
    ('192.168.1.0/24', 'ollama_gateway_allowed_cidrs: expects a list of CIDRs, got str'),
    (['192.168.1.7/24'], 'ollama_gateway_allowed_cidrs item 1: expects a CIDR such as 192.168.1.0/24 (host bits zero)'),
    (['192.168.1.0/33'], 'ollama_gateway_allowed_cidrs item 1: expects a CIDR'),
    (['lan'], 'ollama_gateway_allowed_cidrs item 1: expects a CIDR'),
    ([24], 'ollama_gateway_allowed_cidrs item 1: expects a CIDR such as 192.168.1.0/24, got 24'),
])
def test_cidr_problems(cidrs, expected):
    problems = gateway_problems([], allowed_cidrs=cidrs)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_the_cidr_filter_names_the_variable_it_checks():
    cidr_problems = FilterModule().filters()['cidr_problems']
    assert cidr_problems(['10.214.5.2/32', '192.168.1.0/24', 'fd00::/64'], 'ollama_allowed_cidrs') == []
    assert cidr_problems(['10.214.5.0/32', '10.214.5.2/24'], 'ollama_allowed_cidrs') == [
        "ollama_allowed_cidrs item 2: expects a CIDR such as 192.168.1.0/24 (host bits zero), got '10.214.5.2/24' "
        "(10.214.5.2/24 has host bits set)"]
    assert cidr_problems({}, 'ollama_allowed_cidrs') == ['ollama_allowed_cidrs: expects a list of CIDRs, got dict']


@pytest.mark.parametrize('upstreams, expected', [
    ([], 'ollama_gateway_upstreams: expects a non-empty list of HOST:PORT'),
    ('127.0.0.1:11434', 'ollama_gateway_upstreams: expects a non-empty list of HOST:PORT'),
    (['127.0.0.1'], 'ollama_gateway_upstreams item 1: expects HOST:PORT'),
    (['http://mac2:11434'], 'ollama_gateway_upstreams item 1: expects HOST:PORT'),
    (['mac2:70000'], 'ollama_gateway_upstreams item 1: expects HOST:PORT'),
    (['mac2:0'], 'ollama_gateway_upstreams item 1: expects HOST:PORT'),
    (['-mac2:11434'], "ollama_gateway_upstreams item 1: '-mac2:11434' is neither an address nor a host name"),
    (['mac2:11434', 'mac2:11434'], 'ollama_gateway_upstreams item 2: mac2:11434 is listed twice'),
])
def test_upstream_problems(upstreams, expected):
    problems = gateway_problems([], upstreams=upstreams)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_every_problem_is_reported_at_once():
    problems = gateway_problems([{'name': 'a b', 'key': 'short'}], allowed_cidrs=['x'], upstreams=['y'])
    assert len(problems) == 4


@pytest.mark.parametrize('address, netmask, network', [
    ('192.168.1.50', '255.255.255.0', '192.168.1.0/24'),
    ('10.213.168.34', '255.255.255.252', '10.213.168.32/30'),
    ('172.16.5.9', '255.240.0.0', '172.16.0.0/12'),
])
def test_the_network_of_an_address(address, netmask, network):
    assert gateway_network(address, netmask) == network


def test_a_bad_netmask_fails_clearly():
    with pytest.raises(AnsibleFilterError, match='gateway_network'):
        gateway_network('192.168.1.50', '255.0.255.0')


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {'gateway_problems', 'gateway_network', 'cidr_problems', 'gateway_pools'}


# ---- gateway_pools: where a Mac is drained before a rolling upgrade restarts its Ollama ------------------------

FLEET = {
    'studio-1': {'ollama_gateway_upstreams': ['127.0.0.1:11434', '192.168.1.21:11434', '192.168.1.22:11434']},
    'studio-2': {'ollama_host': '192.168.1.21:11434', 'ollama_allowed_cidrs': ['192.168.1.20/32']},
    'studio-3': {'ollama_host': '192.168.1.22:11434', 'ollama_allowed_cidrs': ['192.168.1.20/32'],
                 # a gateway role's variables on a Mac that runs none (site.yml skips it there)
                 'ollama_gateway_upstreams': ['127.0.0.1:11434', '192.168.1.21:11434']},
    'lonely': {},
    'edge': {'ollama_gateway_upstreams': ['192.168.1.21:11434', '[::1]:11434'],
             'ollama_gateway_homebrew_prefix': '/usr/local'},
}
HOSTS = list(FLEET)


def pools(host):
    return [(pool['gateway'], pool['upstream']) for pool in gateway_pools(host, HOSTS, FLEET)]


def test_a_backend_mac_is_drained_on_every_gateway_that_fronts_it():
    assert pools('studio-2') == [('studio-1', '192.168.1.21:11434'), ('edge', '192.168.1.21:11434')]
    assert pools('studio-3') == [('studio-1', '192.168.1.22:11434')]


def test_the_gateway_mac_is_its_loopback_upstream_on_its_own_gateway_alone():
    assert pools('studio-1') == [('studio-1', '127.0.0.1:11434')]
    assert pools('edge') == [('edge', '[::1]:11434')]
    assert gateway_pools('edge', HOSTS, FLEET)[0]['admin_socket'] == '/usr/local/var/lib/llmhost-gateway/admin.sock'


def test_a_mac_with_one_upstream_has_nothing_to_drain_to():
    assert pools('lonely') == []


def test_the_caddy_binary_and_socket_follow_the_gateways_homebrew_prefix():
    edge = gateway_pools('edge', HOSTS, FLEET)[0]
    assert edge['caddy'] == '/usr/local/opt/caddy/bin/caddy'
    assert edge['caddyfile'] == '/usr/local/etc/llmhost-gateway/Caddyfile'


@pytest.mark.parametrize('ollama_host, extra, expected', [
    ('192.168.1.21', {}, [('studio-1', '192.168.1.21:11434')]),                       # no port: Ollama's
    ('0.0.0.0:11434', {'ansible_host': '192.168.1.21'}, [('studio-1', '192.168.1.21:11434')]),
    ('0.0.0.0', {'ansible_facts': {'default_ipv4': {'address': '192.168.1.21'}}}, [('studio-1', '192.168.1.21:11434')]),
    ('mac2.local:11434', {}, []),                       # a name the gateway does not list: site.yml stops on that
])
def test_a_backend_is_found_however_its_ollama_host_is_written(ollama_host, extra, expected):
    fleet = dict(FLEET, **{'studio-2': dict(FLEET['studio-2'], ollama_host=ollama_host, **extra)})
    assert [(p['gateway'], p['upstream']) for p in gateway_pools('studio-2', ['studio-1', 'studio-2'], fleet)] == expected


def test_ollamas_port_is_added_where_ollama_host_has_none():
    from ansible_collections.llmhost.macos.plugins.filter.gateway import _with_port
    assert [_with_port(value) for value in ('[::1]', '[::1]:8080', '10.0.0.5', '10.0.0.5:11500', 'studio.local')] \
        == ['[::1]:11434', '[::1]:8080', '10.0.0.5:11434', '10.0.0.5:11500', 'studio.local:11434']
