# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Option values and what the Ollama API reports about a model, parsed and compared.

keep_alive durations, model parameters (and /api/show's text form of them), the FROM blob of a
modelfile, context length, registry manifest digests, the `model` summary the modules return.
Pure Python 3.9, no third-party imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import OllamaError

_PARAM_NAME_RE = re.compile(r'^[a-z][a-z0-9_]*$')
_DURATION_RE = re.compile(r'^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$')
_DURATION_PART_RE = re.compile(r'(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)')
_DURATION_UNITS = {'ns': 1e-9, 'us': 1e-6, 'µs': 1e-6, 'ms': 1e-3, 's': 1, 'm': 60, 'h': 3600}


def parse_keep_alive(value, option='keep_alive'):
    """Normalize keep_alive to (api_value, seconds): seconds < 0 means forever, 0 unload.

    Accepts an int/float of seconds, a string of digits, or a Go duration ('5m', '1h30m', '-1m').
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise OllamaError('%s: expects seconds or a duration such as 5m, 24h or -1, got %r' % (option, value))
    if isinstance(value, (int, float)):
        return value, float(value)
    text = str(value).strip()
    if re.match(r'^-?\d+(\.\d+)?$', text):
        number = float(text)
        return (int(number) if number.is_integer() else number), number
    if _DURATION_RE.match(text):
        seconds = sum(float(amount) * _DURATION_UNITS[unit] for amount, unit in _DURATION_PART_RE.findall(text))
        return text, -seconds if text.startswith('-') else seconds
    raise OllamaError('%s: expects seconds or a duration such as 5m, 24h or -1, got %r' % (option, value))


def normalize_parameters(parameters, option='parameters'):
    """Check a parameters dict: names like num_ctx, scalar values or lists of them (stop)."""
    if not parameters:
        return {}
    problems = []
    result = {}
    for name in sorted(parameters):
        value = parameters[name]
        if not _PARAM_NAME_RE.match(str(name)):
            problems.append('%s: bad parameter name' % name)
            continue
        values = value if isinstance(value, list) else [value]
        if not values or any(item is None or isinstance(item, (dict, list)) for item in values):
            problems.append('%s: expects a number, a string, a boolean or a list of them, got %r' % (name, value))
            continue
        result[str(name)] = value
    if problems:
        raise OllamaError('Invalid %s: %s' % (option, '; '.join(problems)), invalid=problems)
    return result


def _scalar_from_text(text):
    text = text.strip()
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            return text.strip('"')
    if text in ('true', 'false'):
        return text == 'true'
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_show_parameters(text):
    """/api/show "parameters": one `name<spaces>value` line each, repeated names (stop) -> lists."""
    result = {}
    for line in (text or '').splitlines():
        if not line.strip():
            continue
        fields = line.strip().split(None, 1)
        name = fields[0]
        value = _scalar_from_text(fields[1]) if len(fields) > 1 else ''
        if name in result:
            if not isinstance(result[name], list):
                result[name] = [result[name]]
            result[name].append(value)
        else:
            result[name] = value
    return result


def _same_value(wanted, current):
    if isinstance(wanted, list) or isinstance(current, list):
        wanted_items = wanted if isinstance(wanted, list) else [wanted]
        current_items = current if isinstance(current, list) else [current]
        return sorted(_canonical(item) for item in wanted_items) == sorted(_canonical(item) for item in current_items)
    return _canonical(wanted) == _canonical(current)


def _canonical(value):
    if isinstance(value, bool):
        return 'b:%s' % value
    if isinstance(value, (int, float)):
        return 'n:%r' % float(value)
    if isinstance(value, str):
        parsed = _scalar_from_text(value)
        if isinstance(parsed, (bool, int, float)) and not isinstance(value, bool):
            return _canonical(parsed)
        return 's:%s' % value
    return 'x:%r' % (value,)


def parameter_differences(wanted, current):
    """[{parameter, before, after}] for each wanted parameter the model does not have."""
    changes = []
    for name in sorted(wanted):
        if name not in current or not _same_value(wanted[name], current[name]):
            changes.append({'parameter': name, 'before': current.get(name), 'after': wanted[name]})
    return changes


def from_blob(modelfile):
    """The weights blob a modelfile's FROM line points at (sha256-...), or None."""
    for line in (modelfile or '').splitlines():
        match = re.match(r'^FROM\s+\S*?(sha256[-:][0-9a-f]{64})\s*$', line.strip())
        if match:
            return match.group(1).replace(':', '-')
    return None


def context_length(show):
    """The architecture's context length from /api/show model_info (e.g. llama.context_length)."""
    info = (show or {}).get('model_info') or {}
    for key, value in info.items():
        if key.endswith('.context_length') and isinstance(value, int):
            return value
    return None


def manifest_digests(raw):
    """Digests a registry manifest can have locally: of its bytes, and as Ollama re-encodes it."""
    digests = set([hashlib.sha256(raw).hexdigest()])
    try:
        document = json.loads(raw.decode('utf-8'))
    except ValueError:
        return digests
    compact = json.dumps(document, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    digests.add(hashlib.sha256(compact).hexdigest())
    return digests


def model_summary(entry, show=None):
    """The `model` return value from an /api/tags entry and, where known, /api/show."""
    entry = entry or {}
    details = dict(entry.get('details') or (show or {}).get('details') or {})
    summary = {
        'name': entry.get('name') or entry.get('model'),
        'digest': entry.get('digest'),
        'size': entry.get('size'),
        'modified_at': entry.get('modified_at'),
        'details': {
            'family': details.get('family'),
            'parameter_size': details.get('parameter_size'),
            'quantization_level': details.get('quantization_level'),
            'format': details.get('format'),
            'parent_model': details.get('parent_model'),
            'context_length': details.get('context_length') or context_length(show),
        },
    }
    return summary


def is_forever(expires_at, now_year):
    """/api/ps expires_at of a model loaded with a negative keep_alive lies centuries ahead."""
    try:
        return int(str(expires_at)[:4]) > now_year + 100
    except ValueError:
        return False
