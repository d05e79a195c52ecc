# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The planners behind ollama_model and ollama_info: current state -> wanted state -> requests.

Cost model, what a converged run sends:
  present (pulled model)          GET /api/tags
  present (derived model)         GET /api/tags, POST /api/show
  + keep_alive                    GET /api/ps
A pull is confirmed by /api/show and /api/tags before it counts. The client is
ollama_client.Client; names and values come from ollama_names and ollama_values, the progress
of a pull and its summary from ollama_progress.

With defer_download (what the ollama_model action plugin asks for first), a pull that would
download is not started: ensure_model returns download_needed with a download_plan instead, and
the action plugin runs the module again in the background, showing its progress. A pull that
moves no data (state latest, and the registry has the build the server has) is done at once.
Pure Python 3.9, no third-party imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.llmhost.macos.plugins.module_utils.ollama_names import (
    OllamaError,
    parse_model_name,
    same_model,
)
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_progress import (
    download_summary,
    manifest_total_bytes,
    pull_message,
)
from ansible_collections.llmhost.macos.plugins.module_utils.ollama_values import (
    from_blob,
    is_forever,
    manifest_digests,
    model_summary,
    normalize_parameters,
    parameter_differences,
    parse_keep_alive,
    parse_show_parameters,
)


def validate_model_params(params):
    """Everything checked before the first request. Returns the parsed pieces."""
    name = parse_model_name(params['name'])
    base = parse_model_name(params['from'], option='from') if params.get('from') else None
    derived = base is not None
    for option in ('parameters', 'system', 'template'):
        if params.get(option) not in (None, {}) and not derived:
            raise OllamaError('%s needs from: a derived model is created from a base model' % option)
    if derived and base == name:
        raise OllamaError('from: %s cannot be derived from itself' % name.display)
    parameters = normalize_parameters(params.get('parameters'))
    keep_alive = parse_keep_alive(params.get('keep_alive'))
    if params['state'] == 'absent' and keep_alive is not None:
        raise OllamaError('keep_alive applies to state present or latest, not absent')
    for option in ('timeout', 'stall_timeout', 'download_timeout'):
        if params.get(option) is not None and params[option] <= 0:
            raise OllamaError('%s: expects a positive number of seconds, got %r' % (option, params[option]))
    if params.get('retries') is not None and params['retries'] < 0:
        raise OllamaError('retries: expects 0 or more, got %r' % params['retries'])
    if params.get('progress_interval') is not None and params['progress_interval'] < 0:
        raise OllamaError('progress_interval: expects 0 (no progress) or more seconds, got %r' % params['progress_interval'])
    return name, base, parameters, keep_alive


class DownloadDeferred(Exception):
    """A pull would download and defer_download is set: what the background run will pull."""

    def __init__(self, name, action, total_bytes):
        super(DownloadDeferred, self).__init__(name)
        self.name = name
        self.action = action
        self.total_bytes = total_bytes


def ensure_model(client, params, check_mode=False, now_year=None, defer_download=False, on_progress=None):
    """Bring one model to params['state']; returns the module result (diff included).

    defer_download: stop before a pull that downloads, returning download_needed and
    download_plan {model, action, total_bytes (None when the registry did not say)}.
    on_progress: called with the PullProgress while a pull runs.
    """
    started = client.clock()
    name, base, parameters, keep_alive = validate_model_params(params)
    state = params['state']
    result = {'changed': False, 'actions': []}

    entry = client.find(name)
    before = _diff_view(entry)
    if state == 'absent':
        if entry is not None:
            result['changed'] = True
            result['actions'].append('delete')
            if not check_mode and not client.delete(name.display):
                result.update(changed=False, actions=[])  # gone in the meantime (404)
        result.update(model=None, diff={'before': before, 'after': {}}, duration=client.clock() - started)
        return result

    pull_opts = dict(insecure=params.get('insecure', False), retries=params.get('retries', 3),
                     stall_timeout=params.get('stall_timeout', 300), deadline=params.get('download_timeout'),
                     on_progress=on_progress, defer_download=defer_download and not check_mode)
    try:
        if base is None:
            before_show = None
            after_entry, show = _ensure_pulled(client, name, entry, state, pull_opts, params, check_mode, result)
        else:
            after_entry, show, before_show = _ensure_derived(client, name, base, entry, state, parameters, pull_opts,
                                                             params, check_mode, result)
    except DownloadDeferred as deferred:
        result['actions'].append(deferred.action)
        result.update(download_needed=True, model=model_summary(entry) if entry else None, duration=client.clock() - started,
                      download_plan={'model': deferred.name, 'action': deferred.action, 'total_bytes': deferred.total_bytes})
        return result
    before = _diff_view(entry, before_show, parameters)
    if result['actions'] and check_mode:
        after = _planned_view(before, name, parameters)
    else:
        after = _diff_view(after_entry, show, parameters)

    if keep_alive is not None:
        replaced = bool(result['actions'])  # pulled, updated or (re)created: a loaded copy is the old one
        loaded_before, loaded_after = _ensure_loaded(client, name, keep_alive, after_entry, replaced, check_mode,
                                                     result, now_year or datetime.datetime.now().year)
        before['loaded'], after['loaded'] = loaded_before, loaded_after
        result['loaded'] = loaded_after
    result.update(model=model_summary(after_entry, show) if after_entry else None,
                  diff={'before': before, 'after': after}, duration=client.clock() - started,
                  changed=bool(result['actions']))
    return result


def _diff_view(entry, show=None, parameters=None):
    if not entry:
        return {}
    view = {'name': entry.get('name'), 'digest': entry.get('digest'), 'size': entry.get('size')}
    if show is not None and parameters:
        current = parse_show_parameters(show.get('parameters'))
        view['parameters'] = dict((key, current.get(key)) for key in sorted(parameters))
    return view


def _planned_view(before, name, parameters):
    """After-view in check mode: digest and size are unknown until the pull or create happens."""
    view = dict(before) if before else {'name': name.display}
    view.update(digest=None, size=None)
    if parameters:
        view['parameters'] = dict(parameters)
    return view


def _defer_if_downloading(client, name, entry, params, action):
    """DownloadDeferred unless the registry's manifest shows the server has its build already."""
    try:
        raw = client.registry_manifest(name, params.get('registry_url'), params.get('insecure', False))
    except OllamaError:
        raw = None  # the size stays unknown, and whether latest would download: assume it does
    if entry is not None and raw is not None and entry.get('digest') in manifest_digests(raw):
        return
    raise DownloadDeferred(name.display, action, manifest_total_bytes(raw) if raw is not None else None)


def _pull_and_confirm(client, name, entry, pull_opts, params, result, action):
    """Pull `name` (whose /api/tags entry is `entry`, or None), confirm it, record pull and download."""
    options = dict(pull_opts)
    if options.pop('defer_download', False):
        _defer_if_downloading(client, name, entry, params, action)
    started = client.clock()
    pulled = client.pull(name.display, **options)
    seconds = client.clock() - started
    result['pull'] = pulled
    result['pulled_bytes'] = result.get('pulled_bytes', 0) + pulled['bytes']
    before = result.get('download') or {'bytes': 0, 'seconds': 0}
    result['download'] = download_summary(before['bytes'] + pulled['bytes'], before['seconds'] + seconds)
    show = client.show(name.display)
    if show is None:
        raise OllamaError('Pulled %s, but the server does not show it (POST /api/show answered 404)' % name.display,
                          pull=pulled)
    new_entry = client.find(name)
    if new_entry is None:
        raise OllamaError('Pulled %s, but /api/tags does not list it' % name.display, pull=pulled)
    if entry is None:
        verb = 'pulled'
    else:
        verb = 'updated' if new_entry.get('digest') != entry.get('digest') else None
    result['msg'] = pull_message(name.display, verb, result['download'])
    return new_entry, show


def _ensure_pulled(client, name, entry, state, pull_opts, params, check_mode, result):
    """A model from a registry: pull when absent, or for latest when the registry has a newer one."""
    if entry is not None and state == 'present':
        return entry, None
    if check_mode:
        if entry is None:
            result['actions'].append('pull')
        elif _registry_has_newer(client, name, entry, params, result):
            result['actions'].append('update')
        return entry, None
    old_digest = entry.get('digest') if entry else None
    new_entry, show = _pull_and_confirm(client, name, entry, pull_opts, params, result,
                                        'pull' if entry is None else 'update')
    if old_digest is None:
        result['actions'].append('pull')
    elif new_entry.get('digest') != old_digest:
        result['actions'].append('update')
    if state == 'latest':
        result['digests'] = {'before': old_digest, 'after': new_entry.get('digest')}
    return new_entry, show


def _registry_has_newer(client, name, entry, params, result):
    try:
        digests = client.registry_digests(name, params.get('registry_url'), params.get('insecure', False))
    except OllamaError as exc:
        result.setdefault('warnings', []).append(
            'Could not read the registry manifest of %s (%s): assuming an update is available' % (name.display, exc.msg))
        return True
    result['digests'] = {'before': entry.get('digest'), 'registry': sorted(digests)}
    return entry.get('digest') not in digests


def _ensure_derived(client, name, base, entry, state, parameters, pull_opts, params, check_mode, result):
    """A model created from `base` with parameters/system/template: create when absent or different."""
    show = client.show(name.display) if entry is not None else None
    base_entry = None
    reasons = []
    if show is None:
        reasons.append('absent')
    else:
        for change in parameter_differences(parameters, parse_show_parameters(show.get('parameters'))):
            reasons.append('parameter %s' % change['parameter'])
        for option in ('system', 'template'):
            if params.get(option) is not None and (show.get(option) or '') != params[option]:
                reasons.append(option)
    if state == 'latest' or show is None:
        # the base must be there (and, for latest, current) before anything is created from it
        base_entry = client.find(base)
        base_show = None
        if base_entry is None or state == 'latest':
            if check_mode:
                if base_entry is None:
                    result['actions'].append('pull %s' % base.display)
                elif _registry_has_newer(client, base, base_entry, params, result):
                    result['actions'].append('update %s' % base.display)
                    if show is not None:
                        reasons.append('base %s would change' % base.display)
            else:
                old = base_entry.get('digest') if base_entry else None
                base_entry, base_show = _pull_and_confirm(client, base, base_entry, pull_opts, params, result,
                                                          ('pull %s' if old is None else 'update %s') % base.display)
                if state == 'latest':
                    result['digests'] = {'before': old, 'after': base_entry.get('digest')}
                if base_entry.get('digest') != old:
                    result['actions'].append(('pull %s' if old is None else 'update %s') % base.display)
        if show is not None and state == 'latest' and not check_mode:
            base_show = base_show or client.show(base.display)
            if from_blob(show.get('modelfile')) and from_blob(base_show.get('modelfile')) \
                    and from_blob(show.get('modelfile')) != from_blob(base_show.get('modelfile')):
                reasons.append('base %s changed' % base.display)
    if not reasons:
        return entry, show, show
    result['actions'].append('create' if show is None else 'recreate')
    result['reasons'] = reasons
    if check_mode:
        return entry, show, show
    before_show = show
    client.create(name.display, base.display, parameters, params.get('system'), params.get('template'))
    show = client.show(name.display)
    entry = client.find(name)
    if show is None or entry is None:
        raise OllamaError('Created %s, but the server does not list it' % name.display)
    still = parameter_differences(parameters, parse_show_parameters(show.get('parameters')))
    if still:
        raise OllamaError('Created %s, but it does not have %s' % (
            name.display, ', '.join('%s=%r' % (change['parameter'], change['after']) for change in still)),
            not_applied=still)
    return entry, show, before_show


def _ensure_loaded(client, name, keep_alive, entry, replaced, check_mode, result, now_year):
    """Load the model (keep_alive != 0) or unload it (0); returns (loaded before, loaded after).

    A loaded copy counts only when it is this build: after a pull, an update or a (re)create, or when
    /api/ps shows another digest, the model is loaded again.
    """
    api_value, seconds = keep_alive
    loaded = None
    if entry is not None:
        for model in client.running():
            if same_model(model.get('name') or model.get('model') or '', name):
                loaded = model
    was_loaded = loaded is not None
    if seconds == 0:
        needed = was_loaded
    else:
        forever = was_loaded and is_forever(loaded.get('expires_at'), now_year)
        other_build = bool(loaded.get('digest') and entry.get('digest')) and loaded['digest'] != entry['digest'] \
            if was_loaded else False
        stale = was_loaded and (replaced or other_build)
        needed = not was_loaded or stale or (seconds < 0) != forever
    if not needed:
        return was_loaded, was_loaded
    result['actions'].append('unload' if seconds == 0 else 'load')
    if not check_mode:
        client.load(name.display, api_value)
    return was_loaded, seconds != 0


def gather_info(client):
    """ollama_info: server version, models, running models."""
    version = client.version()
    models = [model_summary(entry) for entry in client.tags()]
    running = []
    for model in client.running():
        running.append({
            'name': model.get('name') or model.get('model'),
            'digest': model.get('digest'),
            'size': model.get('size'),
            'size_vram': model.get('size_vram'),
            'expires_at': model.get('expires_at'),
            'context_length': model.get('context_length'),
        })
    return {'version': version, 'models': models, 'running': running, 'url': client.url}
