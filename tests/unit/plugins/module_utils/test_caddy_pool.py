# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Draining and restoring an upstream of the gateway's running Caddy, with the documents Caddy 2.11.7 gave
(tests/unit/fixtures/caddy, see its README)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import caddy_pool as C
from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from caddy_fakes import admin_socket_server
from macfakes import fixture

CONFIG = json.loads(fixture('caddy', 'fleet.config.json'))
LOCAL = C.dials(CONFIG)[0]
OTHER = C.dials(CONFIG)[1]
IN_FLIGHT = json.loads(fixture('caddy', 'upstreams.in_flight.json'))
DRAINED = json.loads(fixture('caddy', 'upstreams.drained.json'))


@pytest.fixture
def admin_socket():
    with admin_socket_server() as served:
        yield served


class FakeAdmin:
    """The admin API as Caddy answers it: the running config, and the in-flight counts a test scripts."""

    def __init__(self, config, upstreams=()):
        self.current = json.loads(json.dumps(config))
        self.upstream_answers = list(upstreams)
        self.loaded = []
        self.reads = 0

    def running(self):
        return True

    def config(self):
        self.reads += 1
        return json.loads(json.dumps(self.current))

    def load(self, config):
        self.loaded.append(config)
        self.current = config

    def upstreams(self):
        self.reads += 1
        return self.upstream_answers.pop(0) if len(self.upstream_answers) > 1 else self.upstream_answers[0]


def listing(dial, count):
    return [{'address': LOCAL, 'num_requests': 0, 'fails': 0}] + (
        [{'address': dial, 'num_requests': count, 'fails': 0}] if count is not None else [])


def test_the_recorded_config_has_two_upstreams_behind_both_proxies():
    # one reverse_proxy for the inference endpoints, one for the read-only ones: the same pool in each
    assert (LOCAL, OTHER) == ('127.0.0.1:11434', '10.214.71.3:11434')
    assert [[u['dial'] for u in proxy['upstreams']] for proxy in C.proxies(CONFIG)] == [[LOCAL, OTHER]] * 2


def test_in_flight_reads_caddys_listing():
    assert C.in_flight(IN_FLIGHT, '127.0.0.1:18001') == 1
    assert C.in_flight(IN_FLIGHT, '127.0.0.1:18002') == 0
    assert C.in_flight(DRAINED, '127.0.0.1:18001') == 0      # gone from the list once its last request is done
    assert C.in_flight(None, 'x:1') == 0


def test_drain_takes_it_out_of_the_running_pool_and_waits_for_its_requests():
    admin = FakeAdmin(CONFIG, [listing(OTHER, 2), listing(OTHER, 1), listing(OTHER, None)])
    sleeps = []
    result = C.ensure_drained(admin, OTHER, 60, sleep=sleeps.append, clock=lambda: 0)
    assert result['changed'] is True and result['pool'] == [LOCAL] and result['in_flight'] == 0
    assert len(admin.loaded) == 1 and C.dials(admin.loaded[0]) == [LOCAL]
    # everything else in the configuration is as it was
    restored = json.loads(json.dumps(admin.loaded[0]))
    for proxy in C.proxies(restored):
        assert proxy['upstreams'] == [{'dial': LOCAL}]
        proxy['upstreams'].append({'dial': OTHER})
    assert restored == CONFIG
    assert sleeps == [1, 1]


def test_a_drained_upstream_is_only_waited_for():
    admin = FakeAdmin(C.without_upstream(CONFIG, OTHER), [listing(OTHER, None)])
    result = C.ensure_drained(admin, OTHER, 60, file_config=lambda: CONFIG, sleep=pytest.fail)
    assert result['changed'] is False and admin.loaded == [] and admin.reads == 2


def test_an_upstream_the_gateway_does_not_know_is_not_reported_drained():
    admin = FakeAdmin(CONFIG, [listing(OTHER, None)])
    with pytest.raises(LlmhostError) as info:
        C.ensure_drained(admin, '10.214.71.9:11434', 60, file_config=lambda: CONFIG)
    assert 'is not an upstream of the gateway' in info.value.msg and admin.loaded == []


def test_drain_gives_up_after_the_timeout_and_says_the_upstream_is_out_of_the_pool():
    now = [0]

    def sleep(seconds):
        now[0] += seconds

    admin = FakeAdmin(CONFIG, [listing(OTHER, 3)])
    with pytest.raises(LlmhostError) as info:
        C.ensure_drained(admin, OTHER, 5, sleep=sleep, clock=lambda: now[0])
    assert '3 request(s) in flight after 5 s' in info.value.msg
    assert info.value.details['changed'] is True and C.dials(admin.current) == [LOCAL]


def test_the_last_upstream_is_never_drained():
    alone = C.without_upstream(CONFIG, OTHER)
    admin = FakeAdmin(alone, [listing(OTHER, None)])
    with pytest.raises(LlmhostError) as info:
        C.ensure_drained(admin, LOCAL, 60)
    assert 'last upstream' in info.value.msg and admin.loaded == []


def test_drain_in_check_mode_loads_nothing_and_waits_for_nothing():
    admin = FakeAdmin(CONFIG, [listing(OTHER, 2)])
    result = C.ensure_drained(admin, OTHER, 60, check_mode=True, sleep=pytest.fail)
    assert result['changed'] is True and result['in_flight'] == 2 and admin.loaded == []


def test_active_loads_the_file_only_when_the_running_pool_lacks_it():
    admin = FakeAdmin(C.without_upstream(CONFIG, OTHER))
    result = C.ensure_active(admin, OTHER, lambda: CONFIG)
    assert result['changed'] is True and admin.loaded == [CONFIG] and result['pool'] == [LOCAL, OTHER]
    again = FakeAdmin(CONFIG)
    result = C.ensure_active(again, OTHER, pytest.fail)          # converged: one read, the file not adapted
    assert result['changed'] is False and again.reads == 1 and again.loaded == []


def test_active_puts_back_that_upstream_alone_in_the_files_order():
    third = '10.214.71.4:11434'
    three = json.loads(json.dumps(CONFIG))
    for proxy in C.proxies(three):
        proxy['upstreams'].append({'dial': third})
    # a rolling run with two Macs in one batch: both drained, the first one back
    admin = FakeAdmin(C.without_upstream(C.without_upstream(three, OTHER), LOCAL))
    result = C.ensure_active(admin, LOCAL, lambda: three)
    assert result['changed'] is True and result['pool'] == [LOCAL, third]
    assert [[u['dial'] for u in p['upstreams']] for p in C.proxies(admin.current)] == [[LOCAL, third]] * 2
    result = C.ensure_active(admin, OTHER, lambda: three)
    assert admin.current == three and result['pool'] == [LOCAL, OTHER, third]


def test_active_loads_the_file_when_its_proxies_no_longer_pair_up():
    running = C.without_upstream(CONFIG, OTHER)
    running['apps']['http']['servers']['srv0']['routes'] = running['apps']['http']['servers']['srv0']['routes'][:0]
    admin = FakeAdmin(running)
    assert C.ensure_active(admin, OTHER, lambda: CONFIG)['changed'] is True and admin.loaded == [CONFIG]


def test_active_refuses_an_upstream_the_file_does_not_have():
    admin = FakeAdmin(C.without_upstream(CONFIG, OTHER))
    with pytest.raises(LlmhostError) as info:
        C.ensure_active(admin, '10.9.9.9:11434', lambda: CONFIG)
    assert 'not an upstream' in info.value.msg and admin.loaded == []


def test_active_in_check_mode_loads_nothing():
    admin = FakeAdmin(C.without_upstream(CONFIG, OTHER))
    assert C.ensure_active(admin, OTHER, lambda: CONFIG, check_mode=True)['changed'] is True
    assert admin.loaded == []


# ---- the admin API client over a real unix socket --------------------------------------------------------

def test_the_client_speaks_http_over_the_unix_socket(admin_socket):
    path, server = admin_socket
    admin = C.CaddyAdmin(path)
    result = C.ensure_drained(admin, OTHER, 10)
    assert result['changed'] is True
    assert [(method, url) for method, url, _body in server.seen] == [
        ('GET', '/config/'), ('POST', '/load'), ('GET', '/reverse_proxy/upstreams')]
    assert C.dials(server.seen[1][2]) == [LOCAL]


def test_an_error_answer_and_a_missing_socket_are_reported(admin_socket):
    path, server = admin_socket
    server.answers['/config/'] = (500, '{"error":"loading config: boom"}')
    with pytest.raises(LlmhostError) as info:
        C.CaddyAdmin(path).config()
    assert 'answered GET /config/ with 500: {"error":"loading config: boom"}' in info.value.msg
    with pytest.raises(LlmhostError) as info:
        C.CaddyAdmin(path + '.gone').config()
    assert 'did not answer GET /config/' in info.value.msg and 'is the gateway running?' in info.value.msg


def test_a_gateway_that_does_not_run_has_nothing_to_drain_or_put_back(tmp_path):
    """A first rolling run, before the gateway play has made the gateway: no socket, no request through it."""
    admin = C.CaddyAdmin(str(tmp_path / 'admin.sock'))
    for result in (C.ensure_drained(admin, OTHER, 60, file_config=pytest.fail),
                   C.ensure_active(admin, OTHER, pytest.fail)):
        assert result['changed'] is False and result['pool'] == []
        assert 'the gateway is not running (no admin socket' in result['warnings'][0]
    assert admin.requests == 0


def test_a_socket_nobody_listens_on_is_an_error(tmp_path):
    """A stale socket file (Caddy killed): the gateway may be half up, so the task fails rather than guess."""
    import socket
    path = str(tmp_path / 'admin.sock')
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    with pytest.raises(LlmhostError) as info:
        C.ensure_drained(C.CaddyAdmin(path), OTHER, 60)
    assert 'did not answer GET /config/' in info.value.msg
