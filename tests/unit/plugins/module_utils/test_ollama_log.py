# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ollama's startup lines, from the captures in shared/reference/macos-formats-provisioning.md 9.1."""

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils import ollama_log
from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import Unreachable

# Homebrew ollama 0.17.0 on an Apple M4 (reference 9.1, verbatim)
M4_0_17 = ''.join([
    'time=2026-02-25T18:13:51.328+08:00 level=INFO source=routes.go:1718 msg="Listening on [::]:11434 (version 0.17'
    '.0)"\n',
    'time=2026-02-25T18:13:51.328+08:00 level=INFO source=runner.go:67 msg="discovering available GPUs..."\n',
    'time=2026-02-25T18:13:51.328+08:00 level=INFO source=server.go:431 msg="starting runner" cmd="/opt/homebrew/Ce'
    'llar/ollama/0.17.0/bin/ollama runner --ollama-engine --port 54544"\n',
    'time=2026-02-25T18:13:51.833+08:00 level=INFO source=types.go:42 msg="inference compute" id=0 filter_id=0 libr'
    'ary=Metal compute=0.0 name=Metal description="Apple M4" libdirs="" driver=0.0 pci_id="" type=discrete total="2'
    '5.0 GiB" available="25.0 GiB"\n',
    'time=2026-02-25T18:13:51.833+08:00 level=INFO source=routes.go:1768 msg="vram-based default context" total_vra'
    'm="25.0 GiB" default_num_ctx=32768\n',
])

# 0.9.3, the older format (reference 9.1, verbatim)
OLD_0_9_3 = ''.join([
    'time=2025-07-02T12:22:50.442-07:00 level=INFO source=routes.go:1288 msg="Listening on 127.0.0.1:11434 (version'
    ' 0.9.3)"\n',
    'time=2025-07-02T12:22:50.472-07:00 level=INFO source=types.go:130 msg="inference compute" id=0 library=metal v'
    'ariant="" compute="" driver=0.0 name="" total="27.0 GiB" available="27.0 GiB"\n',
])

# The same start without Metal: the shape of Ollama's line for its CPU fallback (library=cpu).
CPU = ''.join([
    'time=2026-11-30T09:00:00.000Z level=INFO source=routes.go:1718 msg="Listening on 127.0.0.1:11434 (version 0.32'
    '.3)"\n',
    'time=2026-11-30T09:00:00.400Z level=INFO source=types.go:42 msg="inference compute" id=cpu library=cpu compute'
    '="" name=cpu description=cpu libdirs=ollama driver="" pci_id="" type="" total="128.0 GiB" available="120.3 GiB'
    '"\n',
])


def test_the_current_format_names_metal_its_memory_and_the_default_context():
    start = ollama_log.last_start(M4_0_17)
    assert start['version'] == '0.17.0' and start['address'] == '[::]:11434'
    assert start['on_gpu'] is True
    (gpu,) = start['compute']
    assert gpu['library'] == 'Metal' and gpu['description'] == 'Apple M4' and gpu['type'] == 'discrete'
    assert gpu['total_bytes'] == 25 << 30 and gpu['available'] == '25.0 GiB'
    assert start['default_num_ctx'] == 32768
    assert len(start['lines']) == 3
    assert ollama_log.gpu_problem(start, '/x.log') is None


def test_the_old_lower_case_metal_is_the_gpu_too():
    start = ollama_log.last_start(OLD_0_9_3)
    assert start['version'] == '0.9.3' and start['on_gpu'] is True
    assert start['compute'][0]['total_bytes'] == 27 << 30 and start['default_num_ctx'] is None


def test_only_the_last_start_counts():
    start = ollama_log.last_start(M4_0_17 + CPU)
    assert start['version'] == '0.32.3' and start['on_gpu'] is False
    problem = ollama_log.gpu_problem(start, '/Library/Logs/llmhost/ollama.log')
    assert 'runs without the GPU' in problem and 'library=cpu' in problem
    assert 'msg="inference compute" id=cpu' in problem  # the evidence is quoted
    assert ollama_log.last_start(CPU + M4_0_17)['on_gpu'] is True


@pytest.mark.parametrize('text, words', [
    ('', 'has no "Listening on" line'),
    ('time=x level=INFO source=routes.go:1 msg="Listening on 127.0.0.1:11434 (version 0.32.3)"\n',
     'has no "inference compute" line'),
])
def test_a_log_without_the_evidence_says_what_is_missing(text, words):
    assert words in ollama_log.gpu_problem(ollama_log.last_start(text), '/x.log')


def test_quoted_keys_and_escapes():
    line = 'time=t level=INFO msg="entering low vram mode" "total vram"="10.7 GiB" threshold="20.0 GiB" note="a \\"b\\""'
    fields = ollama_log.parse_line(line)
    assert fields['total vram'] == '10.7 GiB' and fields['note'] == 'a "b"'
    assert ollama_log.parse_line('panic: $HOME is not defined') == {}


@pytest.mark.parametrize('text, size', [('107.5 GiB', int(107.5 * (1 << 30))), ('512 MiB', 512 << 20),
                                        ('0 B', 0), ('lots', None), (None, None)])
def test_sizes(text, size):
    assert ollama_log.parse_size(text) == size


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_waits_for_the_server_and_the_report_of_the_running_version():
    clock = Clock()
    logs = iter([None, 'time=x level=INFO msg="Listening on 127.0.0.1:11434 (version 0.32.3)"\n', CPU, CPU])
    answers = iter([Unreachable('Cannot reach', url='u'), '0.32.3', '0.32.3', '0.32.3'])

    def version():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    start = ollama_log.wait_for_start(lambda: next(logs), version, '/x.log', 30, clock, clock.sleep)
    assert start['version'] == '0.32.3' and clock.now == 2.0


def test_an_old_start_of_another_version_is_not_taken_for_the_running_server():
    clock = Clock()
    with pytest.raises(LlmhostError, match='answers as Ollama 0.32.3 but the last start in /x.log is 0.17.0'):
        ollama_log.wait_for_start(lambda: M4_0_17, lambda: '0.32.3', '/x.log', 3, clock, clock.sleep)


def test_a_server_that_never_answers_fails_with_the_end_of_its_log():
    clock = Clock()

    def down():
        raise Unreachable('Cannot reach the Ollama server at http://127.0.0.1:11434: refused', url='u')

    with pytest.raises(LlmhostError) as excinfo:
        ollama_log.wait_for_start(lambda: 'panic: $HOME is not defined\n', down, '/x.log', 5, clock, clock.sleep)
    assert 'waited 5s' in excinfo.value.msg and 'panic: $HOME is not defined' in excinfo.value.msg


def test_after_newsyslog_rotated_the_log_the_start_is_found_in_the_rotated_copy():
    """A server that runs on after a rotation logs only requests to the new file (this failed the GPU check
    on a converged Mac before the rotated copies were read)."""
    files = {'/l/ollama.log': '[GIN] 2026/12/02 | 200 | GET "/api/version"\n',
             '/l/ollama.log.0.bz2': '[GIN] older request\n',
             '/l/ollama.log.1.bz2': M4_0_17 + '[GIN] first request\n',
             '/l/ollama.log.2.bz2': OLD_0_9_3}
    text = ollama_log.read_since_last_start('/l/ollama.log', files.get)
    assert text.startswith(M4_0_17) and text.endswith('"/api/version"\n') and '0.9.3' not in text
    assert ollama_log.last_start(text)['version'] == '0.17.0'


def test_the_current_log_alone_when_it_has_the_start_and_none_without_a_log():
    files = {'/l/ollama.log': CPU, '/l/ollama.log.0': M4_0_17}
    assert ollama_log.read_since_last_start('/l/ollama.log', files.get) == CPU
    assert ollama_log.read_since_last_start('/l/ollama.log', {}.get) is None
    # a rotated file without a start, and nothing older: what there is
    assert ollama_log.read_since_last_start('/l/ollama.log', {'/l/ollama.log.0.gz': 'x'}.get) == 'x\n'
