# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway_pool module's glue: the admin API on a real unix socket (recorded answers), `caddy adapt` faked."""

from __future__ import annotations

import json

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils.caddy_pool import dials, without_upstream
from ansible_collections.llmhost.macos.plugins.modules import gateway_pool
from caddy_fakes import CONFIG, admin_socket_server

LOCAL = dials(CONFIG)[0]
OTHER = dials(CONFIG)[1]
CADDYFILE = '/opt/homebrew/etc/llmhost-gateway/Caddyfile'


@pytest.fixture
def admin_socket():
    with admin_socket_server() as served:
        yield served


class FakeCaddy:
    path = '/opt/homebrew/opt/caddy/bin/caddy'

    def __init__(self):
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        assert argv == [self.path, 'adapt', '--config', CADDYFILE, '--adapter', 'caddyfile']
        return 0, json.dumps(CONFIG), ''


def test_drained_takes_the_upstream_out_and_shows_the_pool(run_module, admin_socket):
    path, server = admin_socket
    caddy = FakeCaddy()
    result, failed = run_module(gateway_pool, {'upstream': OTHER, 'admin_socket': path, '_ansible_diff': True}, caddy)
    assert not failed and result['changed'] is True and result['pool'] == [LOCAL] and result['in_flight'] == 0
    assert result['diff'] == {'before': '%s\n%s\n' % (LOCAL, OTHER), 'after': LOCAL + '\n'}
    assert [(m, p) for m, p, _b in server.seen] == [('GET', '/config/'), ('POST', '/load'),
                                                    ('GET', '/reverse_proxy/upstreams')]
    assert caddy.calls == []


def test_active_loads_the_adapted_caddyfile_once_and_then_costs_one_read(run_module, admin_socket):
    path, server = admin_socket
    server.answers['/config/'] = (200, json.dumps(without_upstream(CONFIG, OTHER)))
    caddy = FakeCaddy()
    result, failed = run_module(gateway_pool, {'upstream': OTHER, 'state': 'active', 'admin_socket': path}, caddy)
    assert not failed and result['changed'] is True and result['pool'] == [LOCAL, OTHER]
    assert server.seen[-1] == ('POST', '/load', CONFIG) and len(caddy.calls) == 1
    server.seen.clear()
    result, failed = run_module(gateway_pool, {'upstream': OTHER, 'state': 'active', 'admin_socket': path}, caddy)
    assert not failed and result['changed'] is False
    assert [(m, p) for m, p, _b in server.seen] == [('GET', '/config/')] and len(caddy.calls) == 1


def test_check_mode_loads_nothing(run_module, admin_socket):
    path, server = admin_socket
    result, failed = run_module(gateway_pool, {'upstream': OTHER, 'admin_socket': path, '_ansible_check_mode': True},
                                FakeCaddy())
    assert not failed and result['changed'] is True
    assert 'POST' not in [m for m, _p, _b in server.seen]


def test_the_last_upstream_fails_and_a_stopped_gateway_only_warns(run_module, admin_socket):
    path, server = admin_socket
    server.answers['/config/'] = (200, json.dumps(without_upstream(CONFIG, OTHER)))
    result, failed = run_module(gateway_pool, {'upstream': LOCAL, 'admin_socket': path}, FakeCaddy())
    assert failed and 'is the last upstream of the gateway' in result['msg']
    warnings = []
    result, failed = run_module(gateway_pool, {'upstream': LOCAL, 'admin_socket': path + '.gone'}, FakeCaddy(),
                                warnings=warnings)
    assert not failed and result['changed'] is False
    assert warnings and 'the gateway is not running' in warnings[0]
