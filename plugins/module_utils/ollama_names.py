# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ollama model references and the errors every Ollama module_utils raises.

A reference is [host/][namespace/]model[:tag] (types/model/name.go), each part defaulted as Ollama
does. Pure Python 3.9, no third-party imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError

DEFAULT_HOST = 'registry.ollama.ai'
DEFAULT_NAMESPACE = 'library'
DEFAULT_TAG = 'latest'

# types/model/name.go: the parts of host/namespace/model:tag, with their lengths.
_HOST_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$')
_NAMESPACE_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$')
_MODEL_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$')
_TAG_RE = _MODEL_RE


class OllamaError(LlmhostError):
    """A failure reported to the user; details become result keys."""


class Unreachable(OllamaError):
    """The server did not answer (refused, timed out, DNS)."""


class ModelName(object):
    """A model reference [host/][namespace/]model[:tag], parts defaulted like Ollama does."""

    __slots__ = ('host', 'namespace', 'model', 'tag')

    def __init__(self, host, namespace, model, tag):
        self.host = host
        self.namespace = namespace
        self.model = model
        self.tag = tag

    @property
    def key(self):
        """Ollama compares names case-insensitively."""
        return (self.host.lower(), self.namespace.lower(), self.model.lower(), self.tag.lower())

    @property
    def display(self):
        """The name as /api/tags lists it: host and namespace only where they are not the defaults."""
        if self.host.lower() != DEFAULT_HOST:
            return '%s/%s/%s:%s' % (self.host, self.namespace, self.model, self.tag)
        if self.namespace.lower() != DEFAULT_NAMESPACE:
            return '%s/%s:%s' % (self.namespace, self.model, self.tag)
        return '%s:%s' % (self.model, self.tag)

    def __eq__(self, other):
        return isinstance(other, ModelName) and self.key == other.key

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return 'ModelName(%r)' % self.display


def parse_model_name(name, option='name'):
    """Parse and validate a model reference; OllamaError naming the option and the bad part."""
    if not isinstance(name, str) or not name.strip():
        raise OllamaError('%s: a model name is required, e.g. llama3.3:70b' % option)
    text = name.strip()
    if '@' in text:
        raise OllamaError('%s: %r: pinning by digest (@sha256:...) is not supported; use a tag' % (option, name))
    parts = text.split('/')
    if len(parts) > 3:
        raise OllamaError('%s: %r has more than host/namespace/model' % (option, name))
    last = parts[-1]
    model, sep, tag = last.partition(':')
    if not sep:
        tag = DEFAULT_TAG
    host, namespace = DEFAULT_HOST, DEFAULT_NAMESPACE
    if len(parts) == 3:
        host, namespace = parts[0], parts[1]
    elif len(parts) == 2:
        namespace = parts[0]
    for part, regex, what in ((host, _HOST_RE, 'host'), (namespace, _NAMESPACE_RE, 'namespace'),
                              (model, _MODEL_RE, 'model'), (tag, _TAG_RE, 'tag')):
        if not regex.match(part or ''):
            raise OllamaError('%s: %r is not a valid model name: bad %s %r '
                              '(letters, digits, _ and - (and . in model and tag), starting with a letter, digit or _)'
                              % (option, name, what, part))
    return ModelName(host, namespace, model, tag)


def same_model(listed_name, wanted):
    """True when a name from /api/tags or /api/ps is the model `wanted` (a ModelName)."""
    try:
        return parse_model_name(listed_name) == wanted
    except OllamaError:
        return False
