# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """How the Ollama modules reach the server (module_utils/ollama_client.CONNECTION_ARGUMENT_SPEC)."""

    DOCUMENTATION = r'''
options:
  url:
    description:
      - Base URL of the Ollama server. The module runs on the managed host, so the default is the server on that
        host's loopback, where the collection's LaunchDaemon binds it.
    type: str
    default: http://127.0.0.1:11434
  timeout:
    description:
      - Seconds to wait for the server to accept a connection and answer a request. An unreachable server fails
        the task within this time, naming the URL.
    type: float
    default: 30
  validate_certs:
    description: Verify the TLS certificate of an C(https) URL the module talks to.
    type: bool
    default: true
attributes:
  platform:
    description: The module talks HTTP to the Ollama server; it runs wherever the server is reachable.
    platforms: posix
    support: full
'''
