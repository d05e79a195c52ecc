"""Tests of the Ollama emulator's generation speed and cancellation (tests/macsim/ollama): the eval and
prompt rates (OLLAMA_EMULATOR_EVAL_RATE / _PROMPT_RATE, start(eval_rate=, prompt_rate=), /_emulator/rates)
on /api/generate, /api/chat and /v1/chat/completions, the metrics that report them, and a client that
goes away mid-stream or during the prompt evaluation (request log outcome client_gone, "tokens").
In-process servers on 127.0.0.1 with a temporary OLLAMA_MODELS. Timing asserts use generous bounds."""

import http.client
import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

OLLAMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ollama')
if OLLAMA_DIR not in sys.path:
    sys.path.insert(0, OLLAMA_DIR)

import ollama_emulator as oe  # noqa: E402
from ollama_support import api  # noqa: E402

TINY = 'tinyllama:latest'
QUESTION = 'Why is the sky blue?'
CANNED_TOKENS = 21                           # words of oe.CANNED_REPLY
# The emulator's prompt tokens for QUESTION with tinyllama (its system prompt has 6 words): generate
# counts prompt + system words + 10 = 21, chat 4 per message + its words + system words + 6 = 21.
PROMPT_TOKENS = 21


# ---- helpers -------------------------------------------------------------------------------------

@pytest.fixture
def make(tmp_path):
    servers = []

    def factory(**kw):
        server = oe.start(models_dir=str(tmp_path / 'models'), **kw)
        servers.append(server)
        server.install(TINY)
        return server

    yield factory
    for server in servers:
        server.stop()


def connect(server, timeout=10):
    u = urllib.parse.urlsplit(server.url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


def timed_lines(server, path, body):
    """(response, [(seconds since the request, line bytes)]) of a streamed response, read line by line."""
    conn = connect(server)
    t0 = time.monotonic()
    conn.request('POST', path, body=json.dumps(body), headers={'Content-Type': 'application/json'})
    resp = conn.getresponse()
    lines = []
    while True:
        line = resp.readline()
        if not line:
            break
        if line.strip():
            lines.append((time.monotonic() - t0, line))
    conn.close()
    return resp, lines


def timed_api(server, path, body):
    t0 = time.monotonic()
    status, obj = api(server, path, body)
    return status, obj, time.monotonic() - t0


def wait_for(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def last_entry(server, path):
    entries = [e for e in server.requests if e['path'] == path]
    return entries[-1] if entries else None


def gone(server, path):
    entry = last_entry(server, path)
    return entry is not None and entry['outcome'] == 'client_gone'


def loaded_names(server):
    return [m['name'] for m in api(server, '/api/ps')[1]['models']]


def warm(server):
    """Load the model first, so the timings below have no load in them."""
    assert api(server, '/api/generate', {'model': TINY})[1]['done_reason'] == 'load'


# ---- default: instant, as before -------------------------------------------------------------------

def test_default_rate_is_instant_and_unchanged(make):
    emu = make()
    assert emu.rates == {'eval_rate': 0.0, 'prompt_rate': 0.0}
    warm(emu)
    resp, lines = timed_lines(emu, '/api/generate', {'model': TINY, 'prompt': QUESTION})
    assert resp.status == 200 and lines[-1][0] < 1.0
    *chunks, final = [json.loads(line) for _when, line in lines]
    assert ''.join(c['response'] for c in chunks) == oe.CANNED_REPLY and len(chunks) == CANNED_TOKENS
    assert final['done_reason'] == 'stop'
    assert final['eval_duration'] == CANNED_TOKENS * oe.EVAL_NS_PER_TOKEN
    assert final['prompt_eval_count'] == PROMPT_TOKENS
    assert final['prompt_eval_duration'] == PROMPT_TOKENS * oe.PROMPT_NS_PER_TOKEN
    entry = last_entry(emu, '/api/generate')
    assert (entry['outcome'], entry['tokens']) == ('complete', CANNED_TOKENS)
    # num_predict beyond the canned reply: the reply repeats up to that many tokens (INVENTED).
    status, body, seconds = timed_api(emu, '/api/generate', {'model': TINY, 'prompt': QUESTION, 'stream': False,
                                                             'options': {'num_predict': 50}})
    assert status == 200 and seconds < 1.0 and body['eval_count'] == 50 and body['done_reason'] == 'length'
    assert body['response'].startswith(oe.CANNED_REPLY + ' The sky is blue')
    assert last_entry(emu, '/api/generate')['tokens'] == 50
    api(emu, '/api/tags')
    assert last_entry(emu, '/api/tags')['tokens'] is None               # not an inference request
    assert last_entry(emu, '/api/generate')['tokens'] == 50
    assert [e['tokens'] for e in emu.requests if e['path'] == '/api/generate'][0] == 0   # the load


# ---- the rates --------------------------------------------------------------------------------------

def test_streamed_generate_at_the_eval_rate(make):
    emu = make(eval_rate=20)
    warm(emu)
    resp, lines = timed_lines(emu, '/api/generate', {'model': TINY, 'prompt': QUESTION,
                                                     'options': {'num_predict': 20}})
    assert resp.status == 200 and resp.getheader('Content-Type') == 'application/x-ndjson'
    *chunks, final = [json.loads(line) for _when, line in lines]
    assert len(chunks) == 20 and final['done'] is True and final['done_reason'] == 'length'
    first, last = lines[0][0], lines[-1][0]
    assert 0.8 <= last < 4.0                                 # 20 tokens at 20/s: about 1 s
    assert first < last / 4                                  # the first line well before the last
    gaps = [b[0] - a[0] for a, b in zip(lines, lines[1:-1])]
    assert max(gaps) < 0.5 and sum(gaps) / len(gaps) > 0.02  # one line per token, spread out
    assert final['eval_count'] == 20 and final['eval_duration'] == 1000000000
    assert final['eval_count'] / final['eval_duration'] * 1e9 == pytest.approx(20)
    assert final['total_duration'] >= final['eval_duration'] + final['prompt_eval_duration']
    entry = last_entry(emu, '/api/generate')
    assert (entry['status'], entry['outcome'], entry['tokens']) == (200, 'complete', 20)


def test_chat_non_streamed_waits_for_prompt_and_answer(make):
    emu = make(eval_rate=25, prompt_rate=42)
    warm(emu)
    msgs = [{'role': 'user', 'content': QUESTION}]
    status, body, seconds = timed_api(emu, '/api/chat', {'model': TINY, 'messages': msgs, 'stream': False,
                                                         'options': {'num_predict': 10}})
    assert status == 200 and body['done_reason'] == 'length'
    assert 0.8 <= seconds < 4.0                              # 21 / 42 + 10 / 25 = 0.9 s
    assert body['message']['content'] == ''.join(oe.Emulator._tokens(emu.emulator, {'num_predict': 10})[0])
    assert (body['prompt_eval_count'], body['prompt_eval_duration']) == (PROMPT_TOKENS, 500000000)
    assert (body['eval_count'], body['eval_duration']) == (10, 400000000)
    assert body['prompt_eval_count'] / body['prompt_eval_duration'] * 1e9 == pytest.approx(42)
    assert last_entry(emu, '/api/chat')['tokens'] == 10
    # Streamed chat: the first line only after the prompt evaluation, then the tokens.
    resp, lines = timed_lines(emu, '/api/chat', {'model': TINY, 'messages': msgs, 'options': {'num_predict': 5}})
    assert resp.status == 200 and len(lines) == 6
    assert lines[0][0] >= 0.4                                # 0.5 s of prompt + 1 / 25 s
    assert lines[-1][0] - lines[0][0] >= 0.1                 # 4 more tokens at 25/s: 0.16 s
    assert json.loads(lines[-1][1])['eval_duration'] == 200000000


def test_openai_chat_sse_and_non_streamed_at_the_rate(make):
    emu = make(eval_rate=15)
    warm(emu)
    msgs = [{'role': 'user', 'content': 'Hello'}]
    resp, lines = timed_lines(emu, '/v1/chat/completions', {'model': TINY, 'messages': msgs, 'stream': True,
                                                            'max_tokens': 15})
    assert resp.status == 200 and resp.getheader('Content-Type') == 'text/event-stream'
    events = [(t, line.decode().strip()[len('data: '):]) for t, line in lines]
    assert events[-1][1] == '[DONE]'
    chunks = [json.loads(data) for _when, data in events[:-1]]
    deltas = [c['choices'][0]['delta']['content'] for c in chunks[:-1]]
    assert len(deltas) == 15 and chunks[-1]['choices'][0]['finish_reason'] == 'length'
    first, last = events[0][0], events[-1][0]
    assert 0.8 <= last < 4.0 and first < last / 4           # 15 tokens at 15/s: about 1 s
    assert last_entry(emu, '/v1/chat/completions')['tokens'] == 15
    status, body, seconds = timed_api(emu, '/v1/chat/completions', {'model': TINY, 'messages': msgs,
                                                                    'max_tokens': 6})
    assert status == 200 and body['usage']['completion_tokens'] == 6
    assert 0.3 <= seconds < 3.0                              # the whole answer after 6 / 15 s
    assert body['choices'][0]['message']['content'].startswith('The sky is blue')


def test_rates_control_endpoint_and_settings(make):
    emu = make()
    warm(emu)
    assert api(emu, '/_emulator/rates') == (200, {'eval_rate': 0, 'prompt_rate': 0})
    assert api(emu, '/_emulator/rates', {'eval_rate': 40}, method='PUT') == (200, {'eval_rate': 40, 'prompt_rate': 0})
    for bad in ({'eval_rate': -1}, {'prompt_rate': 'fast'}, {'speed': 3}, {}, [1]):
        assert api(emu, '/_emulator/rates', bad, method='PUT')[0] == 400
    assert emu.rates == {'eval_rate': 40.0, 'prompt_rate': 0.0}
    status, body, seconds = timed_api(emu, '/api/generate', {'model': TINY, 'prompt': QUESTION, 'stream': False,
                                                             'options': {'num_predict': 10}})
    assert seconds >= 0.2 and body['eval_duration'] == 250000000   # 10 tokens at 40/s
    assert emu.set_rates(prompt_rate='105') == {'eval_rate': 40.0, 'prompt_rate': 105.0}
    status, body, seconds = timed_api(emu, '/api/generate', {'model': TINY, 'prompt': QUESTION, 'stream': False,
                                                             'options': {'num_predict': 4}})
    assert seconds >= 0.2 and body['prompt_eval_duration'] == 200000000   # 21 prompt tokens at 105/s
    assert api(emu, '/_emulator/rates', {'eval_rate': 0, 'prompt_rate': 0}, method='PUT')[1] == {
        'eval_rate': 0, 'prompt_rate': 0}
    status, body, seconds = timed_api(emu, '/api/generate', {'model': TINY, 'prompt': QUESTION, 'stream': False})
    assert seconds < 1.0 and body['eval_duration'] == CANNED_TOKENS * oe.EVAL_NS_PER_TOKEN
    assert not [e for e in emu.requests if e['path'].startswith('/_emulator')]     # control: never logged
    # `ollama serve` reads the environment; start() checks the values.
    env = {'HOME': '/nonexistent', 'OLLAMA_EMULATOR_EVAL_RATE': '12.5', 'OLLAMA_EMULATOR_PROMPT_RATE': '300'}
    kwargs = oe.serve_settings(env, probe=lambda path: ({'memsize': 64 << 30, 'wired_limit_mb': 0,
                                                         'chip': 'Apple M4'}, None))[0]
    assert (kwargs['eval_rate'], kwargs['prompt_rate']) == ('12.5', '300')
    assert oe.Emulator(models_dir=os.path.join(emu.models_dir, 'x'), eval_rate='12.5').eval_rate == 12.5
    with pytest.raises(ValueError):
        oe.Emulator(models_dir=os.path.join(emu.models_dir, 'x'), eval_rate='-3')
    with pytest.raises(ValueError):
        oe.Emulator(models_dir=os.path.join(emu.models_dir, 'x'), prompt_rate='nan')


def test_a_busy_model_does_not_expire(make):
    emu = make(eval_rate=10)
    conn = connect(emu)
    conn.request('POST', '/api/generate', body=json.dumps({'model': TINY, 'prompt': QUESTION, 'keep_alive': '200ms',
                                                           'options': {'num_predict': 8}}))
    resp = conn.getresponse()
    assert resp.readline()
    time.sleep(0.4)                                          # longer than its keep-alive
    assert loaded_names(emu) == [TINY]
    assert resp.read().count(b'\n') == 8                     # 7 more tokens and the final object
    conn.close()
    assert loaded_names(emu) == [TINY]                       # the keep-alive starts again at the end
    assert wait_for(lambda: loaded_names(emu) == [], timeout=2)


# ---- cancellation -------------------------------------------------------------------------------------

def test_client_gone_mid_stream_stops_the_generation(make):
    emu = make(eval_rate=20)
    warm(emu)
    conn = connect(emu)
    conn.request('POST', '/api/generate', body=json.dumps({'model': TINY, 'prompt': QUESTION,
                                                           'options': {'num_predict': 80}}))
    resp = conn.getresponse()
    got = [json.loads(resp.readline()) for _line in range(5)]
    assert all(line['done'] is False for line in got)
    closed = time.monotonic()
    conn.close()
    assert wait_for(lambda: gone(emu, '/api/generate'), timeout=2)
    noticed = time.monotonic() - closed
    entry = last_entry(emu, '/api/generate')
    assert entry['status'] == 200 and 5 <= entry['tokens'] < 40    # 80 tokens would take 4 s
    assert noticed < 1.5 and entry['duration'] < 3.0                # stopped at once, not at the end
    assert loaded_names(emu) == [TINY]                              # as Ollama leaves it: still loaded
    [runner] = emu.emulator.loaded.values()
    assert runner['refs'] == 0
    # The next request is served as usual (the runner is free).
    status, body, seconds = timed_api(emu, '/api/generate', {'model': TINY, 'prompt': QUESTION, 'stream': False,
                                                             'options': {'num_predict': 3}})
    assert status == 200 and body['eval_count'] == 3 and body['load_duration'] < oe.LOAD_NS
    # keep_alive 0: the cancelled request's end unloads the model, as a completed one would.
    conn = connect(emu)
    conn.request('POST', '/v1/chat/completions', body=json.dumps({
        'model': TINY, 'stream': True, 'keep_alive': 0, 'max_tokens': 80,
        'messages': [{'role': 'user', 'content': 'Hello'}]}))
    resp = conn.getresponse()
    assert resp.readline().startswith(b'data: ')
    conn.close()
    assert wait_for(lambda: gone(emu, '/v1/chat/completions'), timeout=2)
    assert 1 <= last_entry(emu, '/v1/chat/completions')['tokens'] < 40
    assert wait_for(lambda: loaded_names(emu) == [], timeout=1)


def test_client_gone_during_prompt_evaluation(make):
    emu = make(eval_rate=50, prompt_rate=2)                  # 21 prompt tokens: 10.5 s before the first byte
    warm(emu)
    u = urllib.parse.urlsplit(emu.url)
    body = json.dumps({'model': TINY, 'prompt': QUESTION}).encode()
    sock = socket.create_connection((u.hostname, u.port), timeout=5)
    sock.sendall(b'POST /api/generate HTTP/1.1\r\nHost: localhost:11434\r\nContent-Type: application/json\r\n'
                 b'Content-Length: %d\r\n\r\n' % len(body) + body)
    assert select.select([sock], [], [], 0.4)[0] == []       # nothing at all before the first token
    closed = time.monotonic()
    sock.close()
    assert wait_for(lambda: gone(emu, '/api/generate'), timeout=2)
    assert time.monotonic() - closed < 1.5
    entry = last_entry(emu, '/api/generate')
    assert (entry['status'], entry['tokens']) == (None, 0) and entry['duration'] < 3.0
    assert loaded_names(emu) == [TINY]
    # Non-streamed too: the client gives up while the answer is being made.
    conn = connect(emu, timeout=0.5)
    conn.request('POST', '/api/chat', body=json.dumps({'model': TINY, 'stream': False,
                                                       'messages': [{'role': 'user', 'content': QUESTION}]}))
    with pytest.raises(socket.timeout):
        conn.getresponse()
    conn.close()
    assert wait_for(lambda: gone(emu, '/api/chat'), timeout=2)
    entry = last_entry(emu, '/api/chat')
    assert (entry['status'], entry['tokens']) == (None, 0)
    assert [(e['path'], e['outcome']) for e in emu.requests if e['path'] != '/api/ps'] == [
        ('/api/generate', 'complete'), ('/api/generate', 'client_gone'), ('/api/chat', 'client_gone')]


def test_a_burst_of_connections_waits_in_the_listen_queue(make):
    """A Go server listens with the kernel's somaxconn as backlog: 64 connections opened at once, none accepted yet by
    a handler, are all established (socketserver's default of 5 made the kernel reset some: Caddy's 502s under load)."""
    server = make()
    port = server.port
    listening = subprocess.run(['ss', '-Hltn', 'sport = :%d' % port], stdout=subprocess.PIPE, universal_newlines=True,
                               check=True).stdout.split()
    assert int(listening[2]) >= 128, listening      # Send-Q of a listening socket: its backlog
    socks = [socket.create_connection(('127.0.0.1', port), timeout=5) for _sock in range(64)]
    try:
        for sock in socks:
            sock.sendall(b'GET /api/version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
        answers = [sock.recv(64) for sock in socks]
        assert all(answer.startswith(b'HTTP/1.1 200') for answer in answers), answers
    finally:
        for sock in socks:
            sock.close()
