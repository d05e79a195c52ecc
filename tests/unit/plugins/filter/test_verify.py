# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/verify.yml's figures: the chip's bandwidth, tokens/s against the bound, the summary table."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.llmhost.macos.plugins.filter.verify import (FilterModule, describe_speed, generation_report,
                                                                     gpu_cores, memory_bandwidth, verify_loaded_check,
                                                                     verify_model_check, verify_table)

LLAMA33_70B = 42520413916   # what /api/tags reports for llama3.3:70b (Q4_K_M)


@pytest.mark.parametrize('chip, cores, gbs', [
    ('Apple M4 Max', 40, 546.0), ('Apple M4 Max', 32, 410.0), ('Apple M3 Ultra', 80, 819.0),
    ('Apple M3 Ultra', None, 819.0), ('Apple M4 Pro', 20, 273.0), ('Apple M1', 8, 68.25),
])
def test_the_bandwidth_of_each_chip(chip, cores, gbs):
    assert memory_bandwidth(chip, cores)['gbs'] == gbs


def test_a_chip_with_two_gpus_needs_the_core_count_and_an_unknown_chip_the_override():
    unknown = memory_bandwidth('Apple M4 Max')
    assert unknown['gbs'] is None and '32 or 40 GPU cores' in unknown['source'] and 'does not say' in unknown['source']
    assert '36' in memory_bandwidth('Apple M4 Max', 36)['source']
    assert 'not in the table' in memory_bandwidth('Apple M9 Hyper')['source']
    assert memory_bandwidth('Apple M9 Hyper', override='1200')['gbs'] == 1200.0
    assert memory_bandwidth('Apple M4 Max', 40, override=500)['gbs'] == 500.0
    for bad in ('fast', -3):
        with pytest.raises(AnsibleFilterError, match='override expects GB/s'):
            memory_bandwidth('Apple M4 Max', 40, override=bad)


def test_the_gpu_cores_from_system_profiler():
    assert gpu_cores({'SPDisplaysDataType': [{'sppci_model': 'Apple M4 Max', 'sppci_cores': '40'}]}) == 40
    assert gpu_cores({}) is None and gpu_cores({'SPDisplaysDataType': [{}]}) is None and gpu_cores('') is None


def answer(prompt_count, prompt_ns, count, ns):
    return {'prompt_eval_count': prompt_count, 'prompt_eval_duration': prompt_ns, 'eval_count': count, 'eval_duration': ns}


def test_tokens_per_second_the_median_of_the_runs_and_the_fraction_of_the_bound():
    runs = [answer(40, 400000000, 100, 10 ** 10), answer(40, 500000000, 100, 12500000000), answer(40, 200000000, 90, 10 ** 10)]
    report = generation_report(runs, LLAMA33_70B, 546.0)
    assert [round(run['eval_tps'], 3) for run in report['runs']] == [10.0, 8.0, 9.0]
    assert report['eval_tps'] == 9.0 and (report['eval_tps_min'], report['eval_tps_max']) == (8.0, 10.0)
    assert report['prompt_tps'] == 100.0
    assert round(report['bound_tps'], 2) == 12.84                # 546 GB/s over 42.5 GB: "about 13 tokens/s"
    assert round(report['fraction_of_bound'], 3) == 0.701


def test_no_bound_without_a_bandwidth_and_runs_without_timings_are_left_out():
    report = generation_report([answer(None, None, 0, 0), answer(10, 10 ** 9, 20, 2 * 10 ** 9)], LLAMA33_70B)
    assert report['eval_tps'] == 10.0 and report['bound_tps'] is None and report['fraction_of_bound'] is None
    assert report['runs'][0]['eval_tps'] is None
    with pytest.raises(AnsibleFilterError, match='list of /api/generate answers'):
        generation_report([], LLAMA33_70B)


def test_the_summary_table():
    table = verify_table([{'area': 'power', 'check': 'sleep never', 'ok': True, 'seen': 'sleep 0'},
                          {'area': 'ssh', 'check': 'a password login is refused', 'ok': False, 'seen': 'password accepted'},
                          {'area': 'speed', 'check': 'generation', 'ok': None, 'seen': '9.1 tokens/s'}])
    assert table.splitlines() == [
        '      area   check                        seen',
        'OK    power  sleep never                  sleep 0',
        'FAIL  ssh    a password login is refused  password accepted',
        '--    speed  generation                   9.1 tokens/s',
    ]
    assert set(FilterModule().filters()) == {
        'gpu_cores', 'memory_bandwidth', 'generation_report', 'verify_table', 'describe_changes', 'describe_speed',
        'verify_model_check', 'verify_request_check', 'verify_loaded_check'}


def test_a_model_is_there_by_ollamas_name_rules_with_its_digest():
    models = [{'name': 'llama3.3:70b', 'digest': 'a' * 64, 'size': LLAMA33_70B}, {'name': 'qwen2.5:latest', 'digest': 'b' * 64}]
    assert verify_model_check('llama3.3:70b', models) == {
        'area': 'models', 'check': 'llama3.3:70b is there', 'ok': True, 'seen': 'digest ' + 'a' * 64, 'digest': 'a' * 64}
    assert verify_model_check('qwen2.5', models)['ok'] is True
    assert verify_model_check('tinyllama', models)['ok'] is False
    with pytest.raises(AnsibleFilterError, match='pinning by digest'):
        verify_model_check('llama3.3@sha256:' + 'a' * 64, models)


def test_a_preloaded_model_with_its_context_wholly_on_the_gpu():
    item = {'name': 'llama3.3-128k:70b', 'from': 'llama3.3:70b', 'parameters': {'num_ctx': 131072}, 'preload': True}
    running = [{'name': 'llama3.3-128k:70b', 'size': 67484911324, 'size_vram': 67484911324, 'context_length': 131072}]
    check = verify_loaded_check(item, running)
    assert check['ok'] is True and check['seen'] == 'context 131072, 67.5 GB, all on the GPU'
    assert check['check'] == 'llama3.3-128k:70b loaded with a 131072 context, wholly on the GPU'
    partly = [dict(running[0], size_vram=40000000000)]
    assert verify_loaded_check(item, partly)['ok'] is False and '40.0 GB on the GPU' in verify_loaded_check(item, partly)['seen']
    short = [dict(running[0], context_length=8192)]
    assert verify_loaded_check(item, short)['ok'] is False
    assert verify_loaded_check(item, [])['seen'] == 'not loaded'
    assert verify_loaded_check({'name': 'llama3.3:70b'}, [dict(running[0], name='llama3.3:70b', context_length=4096)])['ok']


def test_the_speed_in_one_line():
    runs = [answer(40, 400000000, 100, 10 ** 10)] * 5
    speed = dict(generation_report(runs, LLAMA33_70B, 546.0), model='llama3.3-128k:70b', bandwidth_gbs=546.0)
    assert describe_speed(speed) == ('llama3.3-128k:70b: 10.0 tokens/s generated (median of 5, 10.0-10.0), prompt 100 '
                                     'tokens/s; bound 12.8 (546 GB/s / 42.5 GB): 78 %')
    unknown = dict(generation_report(runs, LLAMA33_70B), model='x', bandwidth_source='Apple M4 Max comes with 32 or 40')
    assert describe_speed(unknown).endswith('; no bound: Apple M4 Max comes with 32 or 40')
    assert describe_speed(dict(generation_report([{}], None), model='')) == 'not measured (no model loaded)'


def test_what_a_module_in_check_mode_would_change_or_what_is_there():
    from ansible_collections.llmhost.macos.plugins.filter.verify import describe_changes
    assert describe_changes([{'power_source': 'ac', 'setting': 'sleep', 'before': 1, 'after': 0},
                             {'setting': 'restartfreeze', 'before': False, 'after': True}]) == \
        'ac sleep 1, wanted 0; restartfreeze False, wanted True'
    assert describe_changes([], {'ac': {'sleep': 0, 'autorestart': 1}, 'battery': {'sleep': 0}}) == 'autorestart 1, sleep 0'
    assert describe_changes([], {'restartfreeze': True}) == 'restartfreeze True'
