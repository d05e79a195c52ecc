# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway as the LAN sees it: from the controller, which is on the simulated Mac's subnet.

Clients are the ones users run: curl, the OpenAI Python SDK and the Ollama Python client. What reached Ollama is
read from the emulator's request log on the Mac. pf is enforced in the Mac's network namespace (nftables), so a
client outside the allowed network is really dropped. The same tests run again after a reboot with nobody logged in;
the ones that re-run the role (revocation, no clients) only before it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import threading
import time

import ollama
import openai
import pytest
import yaml

testinfra_hosts = ['all']

PROJECT = os.environ['MOLECULE_PROJECT_DIRECTORY']
SCENARIO = os.environ['MOLECULE_SCENARIO_DIRECTORY']
EPHEMERAL = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
MACSIM = os.path.join(PROJECT, 'tests', 'macsim', 'macsim')
GROUP_VARS = yaml.safe_load(open(os.path.join(SCENARIO, 'molecule.yml')))['provisioner']['inventory']['group_vars']['all']
CLIENTS = GROUP_VARS['ollama_gateway_clients']
KEYS = {client['name']: client['key'] for client in CLIENTS}
MODEL = 'qwen2.5:0.5b'
PORT = 11435
REQUEST_LOG = GROUP_VARS['ollama_environment_extra']['OLLAMA_EMULATOR_LOG']
ACCESS_LOG = '/Library/Logs/llmhost-gateway/access.log'
ANCHOR = 'com.apple/300.llmhost.ollama-gateway'
OUTSIDE = '198.18.0.1'      # a source address outside the Mac's subnet, added to the controller's end of its veth


def rebooted():
    marker = os.path.join(EPHEMERAL, 'reboots')
    return os.path.exists(marker) and int(open(marker).read()) > 0


@pytest.fixture(scope='module')
def mac(host):
    name = host.backend.host
    info = json.loads(subprocess.run([MACSIM, 'info', name], capture_output=True, text=True, check=True).stdout)
    with open(os.path.join(info['instance_dir'], 'meta.json')) as handle:
        info['meta'] = json.load(handle)
    info['url'] = 'http://%s:%d' % (info['address'], PORT)
    return info


def curl(url, *args, source=None, timeout=5):
    """(curl's exit status, HTTP status, headers text) of one request."""
    argv = ['curl', '-sS', '--path-as-is', '-m', str(timeout), '-o', '/dev/null', '-D', '-', '-w', '\n%{http_code}']
    if source:
        argv += ['--interface', source]
    proc = subprocess.run(argv + list(args) + [url], capture_output=True, text=True, check=False)
    lines = proc.stdout.rstrip('\n').rsplit('\n', 1)
    return proc.returncode, (lines[-1] if lines else ''), (lines[0] if len(lines) > 1 else '')


def bearer(name):
    return 'Authorization: Bearer %s' % KEYS[name]


def requests_seen(host):
    """The emulator's request log: every request that reached Ollama."""
    text = host.file(REQUEST_LOG).content_string if host.file(REQUEST_LOG).exists else ''
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


CALL_LOG = '/var/log/macsim/calls.jsonl'


@pytest.mark.skipif(rebooted(), reason='the call log of the check, converge and idempotence runs, before the reboot')
def test_check_mode_and_the_second_run_wrote_nothing(host):
    """The stand-ins' call log: the check run on the fresh Mac and the idempotence run made no write (brew, dscl,
    dseditgroup, defaults, launchctl, pfctl, socketfilterfw ...). Runs before the tests that run the role again."""
    calls = [json.loads(line) for line in host.file(CALL_LOG).content_string.splitlines() if line.strip()]
    # each run reads FileVault's state once, in the ollama role's input checks
    starts = [i for i, call in enumerate(calls) if call['tool'] == 'fdesetup']
    assert len(starts) == 3, [c['argv'] for c in calls if c['tool'] == 'fdesetup']
    check, converge, idempotence = calls[starts[0]:starts[1]], calls[starts[1]:starts[2]], calls[starts[2]:]
    for run in (check, idempotence):
        writes = [' '.join(call['argv']) for call in run if call['kind'] == 'write']
        assert writes == []
    # the converge run did write the firewall: the anchor loaded and pf enabled, the app allowed
    written = [' '.join(call['argv']) for call in converge if call['kind'] == 'write']
    assert any('-a %s -f' % ANCHOR in w for w in written), written
    assert any('--unblockapp' in w for w in written), written
    # a converged gateway costs reads only: pf three, the Application Firewall two
    pf = [call['argv'] for call in idempotence if call['tool'] == 'pfctl']
    alf = [call['argv'] for call in idempotence if call['tool'] == 'socketfilterfw']
    assert len(pf) == 3 and len(alf) == 2, (pf, alf)


# ---- keys ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('header', [
    None,
    'Authorization: Bearer 0000000000000000000000000000000000000000000000000000000000000000',
    'Authorization: bearer ' + CLIENTS[0]['key'],
    'Authorization: ' + CLIENTS[0]['key'],
    'Authorization: Bearer ' + CLIENTS[0]['key'] + 'x',
    'Authorization: Basic YWxpY2U6c2VjcmV0',
], ids=['no key', 'wrong key', 'lower-case scheme', 'no scheme', 'key with a suffix', 'basic'])
def test_a_request_without_a_good_key_gets_401(mac, header):
    status, code, headers = curl(mac['url'] + '/api/tags', *(['-H', header] if header else []))
    assert (status, code) == (0, '401')
    assert 'www-authenticate: bearer' in headers.lower()


def test_every_client_is_answered_and_named_in_the_access_log(host, mac):
    for name in KEYS:
        assert curl(mac['url'] + '/api/tags', '-H', bearer(name))[:2] == (0, '200'), name
    text = host.check_output('sudo cat %s' % ACCESS_LOG)      # Caddy's own 0600, the service user's
    lines = [json.loads(line) for line in text.splitlines()[-len(KEYS):]]
    assert [line['gw_client'] for line in lines] == list(KEYS)
    assert all(line['request']['headers']['Authorization'] == ['REDACTED'] for line in lines)
    assert not any(key in text for key in KEYS.values())


# ---- what a good key may reach ------------------------------------------------------------------------

REFUSED = [
    ('POST', '/api/pull'), ('POST', '/api/push'), ('POST', '/api/create'), ('POST', '/api/copy'),
    ('DELETE', '/api/delete'), ('POST', '/api/blobs/sha256:' + '0' * 64), ('HEAD', '/api/blobs/sha256:' + '0' * 64),
    ('GET', '/api/pull'), ('POST', '/api/tags'), ('GET', '/api/chat'),
    ('POST', '/API/PULL'), ('POST', '//api/pull'), ('POST', '/api/./pull'), ('POST', '/api/chat/../pull'),
    ('POST', '/v1/../api/pull'), ('POST', '/v1/..%2fapi/pull'), ('POST', '/v1/%2e%2e/api/pull'), ('POST', '/api/%70ull'),
    ('DELETE', '/v1/../api/delete'),
]


def test_admin_endpoints_are_refused_however_written_and_never_reach_ollama(host, mac):
    before = len(requests_seen(host))
    for method, path in REFUSED:
        extra = ['-I'] if method == 'HEAD' else ['-X', method, '-d', '{"model": "%s"}' % MODEL]
        status, code, _headers = curl(mac['url'] + path, '-H', bearer('alice'), *extra)
        assert (status, code) == (0, '403'), (method, path)
    assert len(requests_seen(host)) == before
    # and without a key the same paths are 401 (no route enumeration)
    assert curl(mac['url'] + '/api/pull', '-d', '{}')[:2] == (0, '401')
    tags = json.loads(subprocess.run(['curl', '-sS', '-H', bearer('alice'), mac['url'] + '/api/tags'],
                                     capture_output=True, text=True, check=True).stdout)
    assert [m['name'] for m in tags['models']] == [MODEL]


# ---- the network ----------------------------------------------------------------------------------------

@pytest.fixture
def outside_address(mac):
    veth = mac['meta']['veth_host']
    subprocess.run(['ip', 'addr', 'add', OUTSIDE + '/32', 'dev', veth], check=True)
    try:
        yield OUTSIDE
    finally:
        subprocess.run(['ip', 'addr', 'del', OUTSIDE + '/32', 'dev', veth], check=False)


def connects(address, port, source=None):
    try:
        with socket.create_connection((address, port), timeout=3, source_address=(source, 0) if source else None):
            return True
    except (socket.timeout, TimeoutError):
        return False


def test_a_client_outside_the_allowed_network_is_dropped(mac, outside_address):
    # the address itself works: SSH from it connects, pf's anchor leaves port 22 alone
    assert connects(mac['address'], 22, outside_address)
    assert not connects(mac['address'], PORT, outside_address)
    assert curl(mac['url'] + '/api/tags', '-H', bearer('alice'), source=outside_address, timeout=3)[0] == 28
    assert connects(mac['address'], PORT)


def test_ollama_itself_is_closed_to_the_network_and_open_on_the_mac(host, mac):
    assert not connects(mac['address'], 11434)
    assert json.loads(host.check_output('curl -sS http://127.0.0.1:11434/api/version'))['version']


# ---- streaming, through the real clients ----------------------------------------------------------------

def test_ndjson_streams_through_the_ollama_client(mac):
    client = ollama.Client(host=mac['url'], headers={'Authorization': 'Bearer ' + KEYS['alice']})
    start, arrivals, text = time.monotonic(), [], ''
    for part in client.chat(model=MODEL, messages=[{'role': 'user', 'content': 'Count to thirty.'}], stream=True,
                            options={'num_predict': 30}):
        arrivals.append(time.monotonic() - start)
        text += part['message']['content']
    assert len(arrivals) > 10 and text
    # 20 tokens/s: the first token long before the last (a buffering proxy delivers them together)
    assert arrivals[-1] - arrivals[0] > 0.8, arrivals


def test_sse_streams_through_the_openai_sdk(mac):
    client = openai.OpenAI(base_url=mac['url'] + '/v1', api_key=KEYS['bob'], max_retries=0)
    assert MODEL in [m.id for m in client.models.list()]
    start, arrivals = time.monotonic(), []
    stream = client.chat.completions.create(model=MODEL, messages=[{'role': 'user', 'content': 'Hello'}], stream=True,
                                            max_tokens=30)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - start)
    assert len(arrivals) > 10
    assert arrivals[-1] - arrivals[0] > 0.8, arrivals
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=mac['url'] + '/v1', api_key='0' * 64, max_retries=0).models.list()
    with pytest.raises(ollama.ResponseError) as refused:
        ollama.Client(host=mac['url'], headers={'Authorization': 'Bearer ' + '0' * 64}).list()
    assert refused.value.status_code == 401


def test_a_client_that_goes_away_cancels_the_generation(host, mac):
    before = len(requests_seen(host))
    conn = http.client.HTTPConnection(mac['address'], PORT, timeout=10)
    conn.request('POST', '/api/generate', body=json.dumps({'model': MODEL, 'prompt': 'Write a long story.',
                                                           'options': {'num_predict': 400}}),
                 headers={'Authorization': 'Bearer ' + KEYS['alice'], 'Content-Type': 'application/json'})
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.readline())['done'] is False
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    gone = wait_until(lambda: [r for r in requests_seen(host)[before:] if r['path'] == '/api/generate'], 10)
    assert gone and gone[0]['outcome'] == 'client_gone', gone
    # 400 tokens at 20/s would take 20 s: it stopped early
    assert gone[0]['tokens'] < 400 and gone[0]['duration'] < 10, gone


# ---- at boot, with nobody logged in -------------------------------------------------------------------------

def test_the_gateway_and_the_firewall_are_up(host, mac):
    job = host.run('launchctl print system/com.llmhost.ollama-gateway')
    assert job.rc == 0 and '\tstate = running' in job.stdout
    caddy = [line.split(None, 1) for line in host.check_output('ps -eo uid=,args=').splitlines() if ' run --config ' in line]
    assert [fields[0] for fields in caddy] == ['450'], caddy      # _llmgateway
    assert host.check_output('sudo pfctl -s info 2>/dev/null').startswith('Status: Enabled')
    rules = host.check_output('sudo pfctl -a %s -sr 2>/dev/null' % ANCHOR)
    assert 'from %s to any port = %d' % (mac['meta']['subnet'], PORT) in rules
    assert 'block drop in quick proto tcp from any to any port = 11434' in rules
    alf = host.check_output('sudo /usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate')
    assert 'enabled' in alf.lower()
    caddy_path = host.check_output('realpath /opt/homebrew/opt/caddy/bin/caddy')
    assert caddy_path in host.check_output('sudo /usr/libexec/ApplicationFirewall/socketfilterfw --listapps')
    assert curl(mac['url'] + '/api/version', '-H', bearer('alice'))[:2] == (0, '200')


# ---- revocation and an empty client list: the role run again (before the reboot only) ----------------------

def run_gateway_role(clients, **role_vars):
    extra = os.path.join(EPHEMERAL, 'gateway-clients.json')
    with open(extra, 'w') as handle:
        json.dump(dict(role_vars, ollama_gateway_clients=clients), handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(EPHEMERAL, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, 'collections'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(['ansible-playbook', '-i', os.path.join(EPHEMERAL, 'inventory'), '-e', '@' + extra,
                           os.path.join(SCENARIO, 'gateway-only.yml')], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert not any(key in proc.stdout + proc.stderr for key in KEYS.values())
    return proc.stdout


def caddy_pid(host):
    return [line.split()[0] for line in host.check_output('ps -eo pid=,args=').splitlines() if ' run --config ' in line]


@pytest.mark.skipif(rebooted(), reason='run once, before the reboot')
def test_a_removed_client_is_revoked_alone_and_no_clients_refuses_everyone(host, mac):
    pid = caddy_pid(host)
    try:
        run_gateway_role([c for c in CLIENTS if c['name'] != 'bob'])
        assert curl(mac['url'] + '/api/tags', '-H', bearer('bob'))[1] == '401'
        assert curl(mac['url'] + '/api/tags', '-H', bearer('alice'))[1] == '200'
        out = run_gateway_role([])
        assert 'refuses every request' in out
        for name in KEYS:
            assert curl(mac['url'] + '/api/tags', '-H', bearer(name))[1] == '401'
        assert curl(mac['url'] + '/api/tags')[1] == '401'
        # applied through the admin socket: the same Caddy process all along
        assert caddy_pid(host) == pid
    finally:
        run_gateway_role(CLIENTS)
    for name in KEYS:
        assert curl(mac['url'] + '/api/tags', '-H', bearer(name))[1] == '200'


@pytest.mark.skipif(rebooted(), reason='run once, before the reboot')
def test_tls_with_caddys_own_ca_whose_root_the_controller_pins(host, mac):
    """ollama_gateway_tls: the role fetches the CA's root certificate to the controller (tls_root_dest), and
    curl pinning it gets an answer over HTTPS with a key; without the pin the certificate is refused, without a key
    the request. Back to HTTP afterwards, for the tests after the reboot."""
    root = os.path.join(EPHEMERAL, 'gateway-root-ca.crt')
    https = 'https://%s:%d' % (mac['address'], PORT)
    try:
        out = run_gateway_role(CLIENTS, ollama_gateway_tls=True, ollama_gateway_tls_root_dest=root)
        assert https in out
        with open(root) as handle:
            assert handle.read().startswith('-----BEGIN CERTIFICATE-----')
        assert curl(https + '/api/tags', '--cacert', root, '-H', bearer('alice'))[:2] == (0, '200')
        assert curl(https + '/api/tags', '--cacert', root)[:2] == (0, '401')
        assert curl(https + '/api/tags', '-H', bearer('alice'))[0] == 60      # not trusted without the pin
        assert curl('http://%s:80/' % mac['address'], timeout=3)[0] in (7, 28)   # nothing on port 80
    finally:
        run_gateway_role(CLIENTS)
    assert curl(mac['url'] + '/api/tags', '-H', bearer('alice'))[:2] == (0, '200')


# ---- load: 32 streaming clients for 60 s (before the reboot only) -------------------------------------------

LOAD_CLIENTS = 32
LOAD_SECONDS = 60
# Ollama's own answer when its queue is full (OLLAMA_MAX_QUEUE): 503 "server busy, please try again.  maximum
# pending requests exceeded"
QUEUE_FULL = 'server busy'


def caddy_rss_kb(host):
    pid = caddy_pid(host)
    assert len(pid) == 1, pid
    return int(host.check_output('ps -o rss= -p %s' % pid[0]).strip())


def stream_once(address, key, results):
    start = time.monotonic()
    conn = http.client.HTTPConnection(address, PORT, timeout=30)
    try:
        conn.request('POST', '/api/generate', body=json.dumps({'model': MODEL, 'prompt': 'Tell me a story.',
                                                               'options': {'num_predict': 20}}),
                     headers={'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'})
        response = conn.getresponse()
        if response.status == 200:
            lines = [json.loads(line) for line in response.read().splitlines() if line.strip()]
            outcome = 'complete' if lines and lines[-1].get('done') else 'cut short'
        else:
            body = response.read().decode('utf-8', 'replace')
            outcome = 'queue full' if response.status == 503 and QUEUE_FULL in body else 'HTTP %d' % response.status
    except (OSError, http.client.HTTPException) as exc:
        outcome = 'error %s' % type(exc).__name__
    finally:
        conn.close()
    results.append((outcome, time.monotonic() - start))


@pytest.mark.skipif(rebooted(), reason='run once, before the reboot')
def test_32_streaming_clients_for_a_minute_complete_and_the_gateway_stays_flat(host, mac):
    results, deadline = [], time.monotonic() + LOAD_SECONDS
    names = list(KEYS)

    def client(index):
        while time.monotonic() < deadline:
            stream_once(mac['address'], KEYS[names[index % len(names)]], results)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(LOAD_CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(10)
    warm = caddy_rss_kb(host)
    for thread in threads:
        thread.join(LOAD_SECONDS + 40)
    assert not any(thread.is_alive() for thread in threads), 'a request hung'
    end = caddy_rss_kb(host)
    outcomes = {}
    for outcome, _seconds in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert set(outcomes) <= {'complete', 'queue full'}, outcomes
    # each client streamed many requests (20 tokens at 20 tokens/s: about a second each)
    assert outcomes.get('complete', 0) >= LOAD_CLIENTS * LOAD_SECONDS / 4, outcomes
    assert max(seconds for _outcome, seconds in results) < 30
    # the gateway's memory after a minute of load: no more than 50 % (and 16 MB) over what it was after 10 s
    assert end <= max(warm * 1.5, warm + 16384), (warm, end)
