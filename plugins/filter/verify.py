# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""playbooks/verify.yml's figures, on the controller: the chip's memory bandwidth, generation against its bound,
and the summary table.

Generating one token reads every weight once, so a Mac cannot generate faster than its memory bandwidth divided by
the model's size: 546 GB/s / 42.5 GB, about 12.8 tokens/s, for llama3.3:70b (Q4_K_M) on an M4 Max with the 40-core
GPU. Runs reach a fraction of that (the KV cache is read too, and no kernel streams at the full rate).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import statistics

from ansible.errors import AnsibleFilterError

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import parse_model_name, same_model

# Unified memory bandwidth in GB/s (10^9 bytes/s), from Apple's technical specifications of the Macs each chip is
# sold in (support.apple.com/specs; apple.com/newsroom for the chip announcements). A chip sold with two GPU sizes
# at two bandwidths maps the GPU's core count to each.
BANDWIDTH_GBS = {
    'Apple M1': 68.25,
    'Apple M1 Pro': 200,
    'Apple M1 Max': 400,
    'Apple M1 Ultra': 800,
    'Apple M2': 100,
    'Apple M2 Pro': 200,
    'Apple M2 Max': 400,
    'Apple M2 Ultra': 800,
    'Apple M3': 100,
    'Apple M3 Pro': 150,
    'Apple M3 Max': {30: 300, 40: 400},
    'Apple M3 Ultra': 819,
    'Apple M4': 120,
    'Apple M4 Pro': 273,
    'Apple M4 Max': {32: 410, 40: 546},
    'Apple M5': 153,
}


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def gpu_cores(system_profiler_json):
    """The GPU's core count from `system_profiler -json SPDisplaysDataType` (sppci_cores), or None."""
    document = system_profiler_json if isinstance(system_profiler_json, dict) else {}
    for display in document.get('SPDisplaysDataType') or []:
        cores = _number((display or {}).get('sppci_cores'))
        if cores:
            return int(cores)
    return None


def memory_bandwidth(chip, cores=None, override=None):
    """{'gbs': GB/s or None, 'source': where it came from, or why it is unknown}."""
    if override not in (None, '', 0):
        value = _number(override) if not isinstance(override, str) else None
        if value is None:
            try:
                value = float(override)
            except (TypeError, ValueError):
                raise AnsibleFilterError('memory_bandwidth: the override expects GB/s as a number, got %r' % (override,))
        if value <= 0:
            raise AnsibleFilterError('memory_bandwidth: the override expects GB/s above 0, got %r' % (override,))
        return {'gbs': float(value), 'source': 'given (ollama_verify_memory_bandwidth_gbs)'}
    known = BANDWIDTH_GBS.get((chip or '').strip())
    if known is None:
        return {'gbs': None, 'source': '%s is not in the table: set ollama_verify_memory_bandwidth_gbs' % (chip or 'the chip')}
    if isinstance(known, dict):
        if cores in known:
            return {'gbs': float(known[cores]), 'source': "Apple's specifications, %s with the %d-core GPU" % (chip, cores)}
        which = ' reports %s' % cores if cores else ' does not say which'
        sizes = ' or '.join(str(c) for c in sorted(known))
        return {'gbs': None, 'source': '%s comes with %s GPU cores at different bandwidths, and this Mac%s: set '
                                       'ollama_verify_memory_bandwidth_gbs' % (chip, sizes, which)}
    return {'gbs': float(known), 'source': "Apple's specifications, %s" % chip}


def _rate(count, duration_ns):
    count, duration_ns = _number(count), _number(duration_ns)
    if not count or not duration_ns or duration_ns <= 0:
        return None
    return count * 1e9 / duration_ns


def generation_report(responses, weights_bytes, bandwidth_gbs=None):
    """Prompt-evaluation and generation rates (tokens/s) of /api/generate answers: each run's, their medians, and
    generation as a fraction of the bandwidth bound (bandwidth / the model's size)."""
    if not isinstance(responses, list) or not responses:
        raise AnsibleFilterError('generation_report expects the list of /api/generate answers, got %r' % (responses,))
    runs = []
    for answer in responses:
        answer = answer if isinstance(answer, dict) else {}
        runs.append({'prompt_tokens': answer.get('prompt_eval_count'), 'eval_tokens': answer.get('eval_count'),
                     'prompt_tps': _rate(answer.get('prompt_eval_count'), answer.get('prompt_eval_duration')),
                     'eval_tps': _rate(answer.get('eval_count'), answer.get('eval_duration'))})
    evals = [run['eval_tps'] for run in runs if run['eval_tps'] is not None]
    prompts = [run['prompt_tps'] for run in runs if run['prompt_tps'] is not None]
    weights = _number(weights_bytes)
    bound = bandwidth_gbs * 1e9 / weights if bandwidth_gbs and weights else None
    eval_median = statistics.median(evals) if evals else None
    return {
        'runs': runs,
        'eval_tps': eval_median,
        'eval_tps_min': min(evals) if evals else None,
        'eval_tps_max': max(evals) if evals else None,
        'prompt_tps': statistics.median(prompts) if prompts else None,
        'bound_tps': bound,
        'fraction_of_bound': eval_median / bound if bound and eval_median is not None else None,
        'weights_bytes': weights,
    }


def _cell(value):
    return '-' if value is None else str(value)


def verify_table(checks):
    """The summary as a text table: one line per check, OK or FAIL, what it is and what was seen."""
    if not isinstance(checks, list):
        raise AnsibleFilterError('verify_table expects a list of checks, got %r' % (checks,))
    rows = [('', 'area', 'check', 'seen')]
    for check in checks:
        rows.append(('OK' if check.get('ok') else ('--' if check.get('ok') is None else 'FAIL'),
                     _cell(check.get('area')), _cell(check.get('check')), _cell(check.get('seen'))))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ['  '.join(row[i].ljust(widths[i]) for i in range(3)) + '  ' + row[3] for row in rows]
    return '\n'.join(line.rstrip() for line in lines)


def describe_changes(changes, settings=None):
    """What a module in check mode would change, one phrase each (`ac sleep 1, wanted 0`); when nothing, the
    settings as they are (`sleep 0, autorestart 1`)."""
    if changes:
        return '; '.join('%s%s %s, wanted %s' % (
            (change.get('power_source') + ' ') if change.get('power_source') else '', change.get('setting'),
            _cell(change.get('before')), _cell(change.get('after'))) for change in changes)
    flat = {}
    for key, value in sorted((settings or {}).items()):
        if isinstance(value, dict):     # pmset: per power source; every source has the same wanted values
            for name, item in sorted(value.items()):
                flat.setdefault(name, item)
        else:
            flat[key] = value
    return ', '.join('%s %s' % (key, _cell(value)) for key, value in sorted(flat.items()))


def _find(name, entries):
    """The entry of /api/tags or /api/ps that is the model `name` (ollama's name rules: llama3.3 is llama3.3:latest)."""
    try:
        wanted = parse_model_name(name)
    except LlmhostError as exc:
        raise AnsibleFilterError(str(exc))
    for entry in entries or []:
        if same_model(entry.get('name') or entry.get('model') or '', wanted):
            return entry
    return None


def verify_model_check(name, models):
    """A check row: the model is on the server, with its digest (ollama_info's models)."""
    entry = _find(name, models)
    return {'area': 'models', 'check': '%s is there' % name, 'ok': entry is not None,
            'seen': ('digest %s' % entry.get('digest')) if entry else 'missing', 'digest': (entry or {}).get('digest')}


def _gb(value):
    return '%.1f GB' % (value / 1e9)


def verify_loaded_check(model, running):
    """A check row: a preloaded model (an ollama_models item) is in /api/ps with its num_ctx, wholly on the GPU."""
    model = model if isinstance(model, dict) else {'name': model}
    name = model.get('name')
    num_ctx = _number(((model.get('parameters') or {}).get('num_ctx')))
    entry = _find(name, running)
    check = '%s loaded%s, wholly on the GPU' % (name, ' with a %d context' % num_ctx if num_ctx else '')
    if entry is None:
        return {'area': 'models', 'check': check, 'ok': False, 'seen': 'not loaded'}
    size, vram, context = entry.get('size'), entry.get('size_vram'), entry.get('context_length')
    ok = bool(size) and vram == size and (num_ctx is None or context == num_ctx)
    seen = 'context %s, %s, %s' % (_cell(context), _gb(size or 0),
                                   'all on the GPU' if vram == size else '%s on the GPU' % _gb(vram or 0))
    return {'area': 'models', 'check': check, 'ok': ok, 'seen': seen, 'context_length': context, 'size': size,
            'size_vram': vram}


def describe_speed(speed):
    """generation_report's figures in one line."""
    if not speed or speed.get('eval_tps') is None:
        return 'not measured' + (' (no model loaded)' if speed and not speed.get('model') else '')
    text = '%s: %.1f tokens/s generated (median of %d, %.1f-%.1f)' % (
        speed.get('model'), speed['eval_tps'], len([r for r in speed['runs'] if r['eval_tps'] is not None]),
        speed['eval_tps_min'], speed['eval_tps_max'])
    if speed.get('prompt_tps') is not None:
        text += ', prompt %.0f tokens/s' % speed['prompt_tps']
    if speed.get('bound_tps'):
        text += '; bound %.1f (%g GB/s / %s): %.0f %%' % (
            speed['bound_tps'], speed['bandwidth_gbs'], _gb(speed['weights_bytes']), 100 * speed['fraction_of_bound'])
    else:
        text += '; no bound: %s' % speed.get('bandwidth_source', 'the bandwidth is unknown')
    return text


def verify_request_check(result, url=''):
    """A check row from one registered ansible.builtin.uri loop result whose item has path, method, keyed, want."""
    item = result.get('item') or {}
    status = result.get('status')
    what = '%s %s %s' % (item.get('method'), item.get('path'), 'with a key' if item.get('keyed') else 'without a key')
    return {'area': 'gateway', 'check': '%s: %s' % (what, item.get('want')), 'ok': status == item.get('want'),
            'seen': '%s%s' % (status, '' if status != -1 else ' (%s)' % (result.get('msg') or 'no answer')), 'url': url}


class FilterModule(object):
    def filters(self):
        return {
            'gpu_cores': gpu_cores,
            'memory_bandwidth': memory_bandwidth,
            'generation_report': generation_report,
            'verify_table': verify_table,
            'describe_changes': describe_changes,
            'describe_speed': describe_speed,
            'verify_model_check': verify_model_check,
            'verify_loaded_check': verify_loaded_check,
            'verify_request_check': verify_request_check,
        }
