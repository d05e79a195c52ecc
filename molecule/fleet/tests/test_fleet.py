# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two Macs behind one gateway, as the LAN sees them: from the controller, which is on fleet-a's subnet and on the
Macs' shared LAN (the bridge's .1). What reached each Ollama is read from that Mac's emulator request log."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml

testinfra_hosts = ['llmhost-fleet-a']

PROJECT = os.environ['MOLECULE_PROJECT_DIRECTORY']
SCENARIO = os.environ['MOLECULE_SCENARIO_DIRECTORY']
EPHEMERAL = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
MACSIM = os.path.join(PROJECT, 'tests', 'macsim', 'macsim')
CONFIG = yaml.safe_load(open(os.path.join(SCENARIO, 'molecule.yml')))['provisioner']['inventory']
KEY = CONFIG['host_vars']['llmhost-fleet-a']['ollama_gateway_clients'][0]['key']
REQUEST_LOG = CONFIG['group_vars']['all']['ollama_environment_extra']['OLLAMA_EMULATOR_LOG']
MODEL = 'qwen2.5:0.5b'
GATEWAY, BACKEND = 'llmhost-fleet-a', 'llmhost-fleet-b'
# health_interval 2s and health_timeout 2s: a Mac that stops answering is out of the pool within 4 s
OUT_OF_POOL = 8


def macsim(*args, check=True):
    proc = subprocess.run([MACSIM] + list(args), capture_output=True, text=True, check=False)
    if check and proc.returncode:
        raise AssertionError('macsim %s: %s' % (' '.join(args), proc.stderr))
    return proc


def info(name):
    return json.loads(macsim('info', name).stdout)


def served_by(name):
    """The /api/generate requests that reached NAME's Ollama, from its emulator's request log."""
    text = macsim('exec', name, '--', 'cat', REQUEST_LOG, check=False).stdout
    return [entry for entry in (json.loads(line) for line in text.splitlines() if line.strip())
            if entry.get('path') == '/api/generate']


def generate(url, timeout=15, tokens=4):
    """(ok, detail) of one short non-streaming generation through the gateway (50 tokens/s)."""
    body = json.dumps({'model': MODEL, 'prompt': 'hi', 'stream': False, 'options': {'num_predict': tokens}}).encode()
    request = urllib.request.Request(url + '/api/generate', data=body, headers={
        'Authorization': 'Bearer ' + KEY, 'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200 and json.loads(response.read()).get('done') is True, response.status
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, repr(exc)


@pytest.fixture(scope='module')
def url():
    return 'http://%s:11435' % info(GATEWAY)['address']


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def test_requests_are_spread_over_both_macs(url):
    before = {name: len(served_by(name)) for name in (GATEWAY, BACKEND)}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _i: generate(url), range(24)))
    assert all(ok for ok, _detail in results), results
    after = {name: len(served_by(name)) for name in (GATEWAY, BACKEND)}
    counts = {name: after[name] - before[name] for name in after}
    assert sum(counts.values()) == 24 and all(counts.values()), counts


def test_the_backend_mac_lets_the_gateway_mac_alone_reach_ollama(host):
    backend = info(BACKEND)['lan_address']
    # from fleet-a, over the LAN: answered
    probe = ('python3 -c "import urllib.request; print(urllib.request.urlopen('
             '\'http://%s:11434/api/version\', timeout=5).status)"' % backend)
    assert host.check_output(probe) == '200'
    assert_dropped_from_the_controller(backend)


def assert_dropped_from_the_controller(address):
    """From the controller, on the same LAN: pf drops it (a timeout, not a refusal)."""
    proc = subprocess.run(['curl', '-sS', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}',
                           'http://%s:11434/api/version' % address], capture_output=True, text=True, check=False)
    assert proc.returncode == 28, (proc.returncode, proc.stdout, proc.stderr)


def site_run(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(EPHEMERAL, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, 'collections'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(['ansible-playbook', '-i', os.path.join(EPHEMERAL, 'inventory'),
                           os.path.join(SCENARIO, 'converge.yml')] + list(args),
                          capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_bad_allowed_networks_are_refused_before_any_mac_is_touched():
    """ollama_allowed_cidrs with host bits set, then a good one on a Mac whose Ollama is on loopback: the first play
    of site.yml refuses each (any_errors_fatal: the other Mac is not touched either), and no pf rules changed."""
    def rules():
        return {name: macsim('exec', name, '--', 'cat', '/etc/pf.anchors/llmhost.ollama', check=False).stdout
                for name in (GATEWAY, BACKEND)}

    before = rules()
    assert before[GATEWAY] == '' and 'pass in quick proto tcp from' in before[BACKEND]
    for cidrs, message in (
            (['10.214.0.7/24'], "ollama_allowed_cidrs item 1: expects a CIDR such as 192.168.1.0/24 (host bits zero), "
                                "got '10.214.0.7/24'"),
            (['10.214.0.0/24'], 'ollama_allowed_cidrs: Ollama listens on loopback (ollama_host 127.0.0.1:11434)')):
        rc, out = site_run('--tags', 'ollama', '-e', json.dumps({'ollama_allowed_cidrs': cidrs}))
        text = ' '.join(out.split())
        assert rc != 0 and message in text, text[-3000:]
        assert 'PLAY [Ollama, one batch' not in text
    assert rules() == before


def test_a_rolling_run_stops_at_a_mac_that_no_gateway_lists():
    """A gateway whose upstreams name another address than fleet-b's: the rolling run drains, runs and restores
    fleet-a, then refuses fleet-b (it has ollama_allowed_cidrs, so it serves a gateway, but none lists it) before
    anything is done to it: its Ollama is not restarted."""
    def ollama_pid():
        out = macsim('exec', BACKEND, '--', 'launchctl', 'print', 'system/com.llmhost.ollama').stdout
        return [line.split('=')[1].strip() for line in out.splitlines() if line.strip().startswith('pid =')]

    before = ollama_pid()
    assert before
    rc, out = site_run('--tags', 'ollama', '-e', 'llmhost_serial=1', '-e',
                       json.dumps({'ollama_gateway_upstreams': ['127.0.0.1:11434', '10.214.0.99:11434']}))
    text = ' '.join(out.split())
    assert rc != 0
    assert ('llmhost-fleet-b has ollama_allowed_cidrs, so it is meant to be a gateway\'s upstream, but no gateway in '
            'the inventory lists') in text, text[-3000:]
    assert ollama_pid() == before


def keg(name):
    """The ollama version Homebrew's opt/ollama points at on NAME."""
    return os.path.basename(macsim('exec', name, '--', 'readlink', '/opt/homebrew/opt/ollama').stdout.strip())


def request_loop(url, seconds=None, until=None, workers=4):
    """Run `workers` request loops through the gateway for `seconds`, or until `until()` returns; their results
    as (started, ok, detail)."""
    results = []
    end = time.monotonic() + (seconds or 3600)

    def loop():
        while time.monotonic() < end and not (until and until.is_set()):
            started = time.monotonic()
            # 0.4 s each: a restart of a Mac that was not drained would cut one in flight
            ok, detail = generate(url, tokens=20)
            results.append((started, ok, detail))

    threads = [threading.Thread(target=loop) for _worker in range(workers)]
    for thread in threads:
        thread.start()
    return results, threads


def test_a_rolling_upgrade_fails_no_request(url):
    """Homebrew has a newer ollama on both Macs; site.yml -e llmhost_serial=1 upgrades one Mac at a time, each
    first drained out of the gateway's pool, while four clients keep sending requests through the gateway."""
    old = keg(GATEWAY)
    major, minor, _patch = (old.split('_')[0].split('.') + ['0', '0'])[:3]
    new = '%s.%d.0' % (major, int(minor) + 1)
    for name in (GATEWAY, BACKEND):
        macsim('exec', name, '--', 'sh', '-c',
               'echo \'{"ollama": "%s"}\' > /var/db/macsim/homebrew-available.json' % new)
    stop = threading.Event()
    results, threads = request_loop(url, until=stop)
    try:
        rc, out = site_run('--tags', 'ollama', '-e', 'llmhost_serial=1', '-e', 'ollama_package_state=latest')
    finally:
        time.sleep(3)           # a few more requests on the pool as it is after the run
        stop.set()
        for thread in threads:
            thread.join()
    assert rc == 0, out[-4000:]
    assert (keg(GATEWAY), keg(BACKEND)) == (new, new)
    failed = [detail for _started, ok, detail in results if not ok]
    assert failed == [] and len(results) > 40, (len(results), failed[:5])
    # both back in the pool afterwards
    before = {name: len(served_by(name)) for name in (GATEWAY, BACKEND)}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert all(ok for ok, _detail in pool.map(lambda _i: generate(url), range(16)))
    assert all(len(served_by(name)) > before[name] for name in before)


def test_a_mac_powered_off_costs_no_request_once_out_of_the_pool_and_comes_back(url):
    stopped_at = None
    results = []                    # (started, ok, detail)

    def loop(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.monotonic()
            ok, detail = generate(url)
            results.append((started, ok, detail))

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        workers = [pool.submit(loop, 30) for _worker in range(4)]
        time.sleep(5)
        macsim('stop', BACKEND)
        stopped_at = time.monotonic()       # off: nothing runs on it and its links are down
        for worker in workers:
            worker.result()
    after = [(round(started - stopped_at, 1), detail) for started, ok, detail in results
             if started > stopped_at + OUT_OF_POOL and not ok]
    assert after == []
    assert len([r for r in results if r[0] > stopped_at + OUT_OF_POOL]) > 20
    # powered on again: Ollama starts at boot, the health check lets it back in, and it serves again
    macsim('up', BACKEND)
    served = len(served_by(BACKEND))

    def back():
        for _i in range(8):
            assert generate(url)[0]
        return len(served_by(BACKEND)) > served
    assert wait_until(back, 60)
    # after that boot, with nobody logged in, pf's rules for Ollama are loaded again: the controller is dropped
    assert_dropped_from_the_controller(info(BACKEND)['lan_address'])
