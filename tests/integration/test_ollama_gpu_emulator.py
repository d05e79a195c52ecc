# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ollama_gpu over real HTTP against the Ollama API emulator, reading the startup lines it writes."""

from __future__ import annotations

import bz2
import sys
import os

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'macsim', 'ollama'))
import ollama_emulator  # noqa: E402

from ansible_collections.llmhost.macos.plugins.modules import ollama_gpu  # noqa: E402


def started(tmp_path, **kwargs):
    server = ollama_emulator.start(host='127.0.0.1', port=0, models_dir=str(tmp_path / 'models'), **kwargs)
    log = tmp_path / 'ollama.log'
    log.write_text('\n'.join(server.startup_log(server.url)) + '\n[GIN] a request\n')
    return server, log


def test_metal_found_costs_one_request(run, tmp_path):
    server, log = started(tmp_path)
    try:
        server.clear_requests()
        result = run(ollama_gpu, {'url': server.url, 'log_path': str(log), 'wait': 5})
        assert not result.failed, result
        assert result['on_gpu'] and result['compute'][0]['library'] == 'Metal'
        assert result['compute'][0]['total'] == '107.5 GiB' and result['default_num_ctx'] == 262144
        assert not result['changed']
        assert [(r['method'], r['path']) for r in server.requests] == [('GET', '/api/version')]
    finally:
        server.stop()


def test_a_server_on_the_cpu_fails_quoting_its_lines(run, tmp_path):
    server, log = started(tmp_path, gpu='none')
    try:
        result = run(ollama_gpu, {'url': server.url, 'log_path': str(log), 'wait': 2})
        assert result.failed and 'runs without the GPU' in result['msg'] and 'library=cpu' in result['msg']
        assert not run(ollama_gpu, {'url': server.url, 'log_path': str(log), 'wait': 2, 'require_gpu': False}).failed
    finally:
        server.stop()


def test_the_start_is_found_in_a_log_newsyslog_rotated_and_compressed(run, tmp_path):
    server, log = started(tmp_path)
    try:
        with bz2.open(str(log) + '.0.bz2', 'wt') as handle:
            handle.write(log.read_text())
        log.write_text('[GIN] a request after the rotation\n')
        result = run(ollama_gpu, {'url': server.url, 'log_path': str(log), 'wait': 2})
        assert not result.failed and result['on_gpu'], result
    finally:
        server.stop()
