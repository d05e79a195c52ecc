#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: gateway_pool
short_description: Take one upstream out of the llmhost gateway's pool and wait for its requests, or put it back
version_added: 0.2.0
description:
  - For a rolling upgrade of several Macs behind one gateway (the P(llmhost.macos.ollama_gateway#role) role with
    several C(ollama_gateway_upstreams)). Runs on the gateway Mac and talks to its running Caddy through the admin
    API's unix socket.
  - V(drained) removes the upstream from Caddy's running configuration (C(GET /config/), then C(POST /load)).
    Caddy sends it no new request and finishes those in flight; the module waits until
    C(/reverse_proxy/upstreams) shows none left, so the Mac can then be stopped without cutting a request. An
    upstream that is already out of the pool is only waited for; one that is neither in the running pool nor in
    the Caddyfile fails the task.
  - V(active), when the running configuration lacks the upstream, puts it back where the gateway's Caddyfile
    (adapted to JSON with C(caddy adapt)) has it, and loads that; other upstreams still drained stay out. When the
    file's proxies no longer pair up with the running ones (the file changed since), the file's configuration is
    loaded as it is. A running pool that has the upstream costs one read.
  - The Caddyfile on disk is never written. A gateway restart or reload (the role's handlers, a reboot) also
    brings every upstream back.
author:
  - llmhost.macos developers (@llmhost)
extends_documentation_fragment:
  - llmhost.macos.attributes
  - llmhost.macos.attributes.darwin
attributes:
  check_mode:
    description: Reads the running pool and reports what would change; loads nothing and waits for nothing.
    support: full
  diff_mode:
    description: The pool's upstreams before and after, one a line.
    support: full
  idempotent:
    description: A second run reports no change; V(active) then costs one read of the running configuration.
    support: full
options:
  upstream:
    description: The upstream as the gateway's configuration has it, C(HOST:PORT) (an item of C(ollama_gateway_upstreams)).
    type: str
    required: true
  state:
    description: V(drained) takes it out of the pool and waits for its requests in flight; V(active) puts it back.
    type: str
    choices: [drained, active]
    default: drained
  admin_socket:
    description: The admin API's unix socket, the role's C(HOMEBREW_PREFIX/var/lib/llmhost-gateway/admin.sock).
    type: path
    default: /opt/homebrew/var/lib/llmhost-gateway/admin.sock
  caddyfile:
    description: The gateway's Caddyfile, loaded again by V(active).
    type: path
    default: /opt/homebrew/etc/llmhost-gateway/Caddyfile
  caddy:
    description: The C(caddy) binary that adapts the Caddyfile (found on C(PATH) and in Homebrew's C(opt/caddy/bin) when not given).
    type: path
  timeout:
    description:
      - With V(drained), how long to wait, in seconds, for the requests in flight. A generation at 128k context on a
        70B model can take minutes. When they are not done by then the task fails; the upstream stays out of the pool.
    type: int
    default: 900
notes:
  - The admin socket is the gateway service user's alone, so use C(become=true).
  - Refuses to drain the last upstream of the pool, since the gateway would then answer nothing.
  - A gateway that does not run (no admin socket, as before the first run of the gateway role) has no request
    passing through it; the task then warns and changes nothing, in both states. A socket nobody answers on fails.
seealso:
  - module: llmhost.macos.launchd_service
'''

EXAMPLES = r'''
- name: Take studio-2 out of the pool, wait for its requests
  llmhost.macos.gateway_pool:
    upstream: 192.168.1.21:11434
    state: drained
  delegate_to: studio-1
  become: true

- name: Put it back after its upgrade
  llmhost.macos.gateway_pool:
    upstream: 192.168.1.21:11434
    state: active
  delegate_to: studio-1
  become: true
'''

RETURN = r'''
upstream:
  description: The upstream.
  returned: success
  type: str
  sample: 192.168.1.21:11434
pool:
  description: The upstreams in the running pool after the task (in check mode, after it would have run).
  returned: success
  type: list
  elements: str
  sample: [127.0.0.1:11434]
in_flight:
  description: Requests still in flight to the upstream when the task ended (0 unless in check mode).
  returned: success
  type: int
  sample: 0
'''

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.caddy_pool import CaddyAdmin, ensure_active, ensure_drained
from ansible_collections.llmhost.macos.plugins.module_utils.common import Command, LlmhostError, exit_with_result, module_runner


def main():
    module = AnsibleModule(
        argument_spec=dict(
            upstream=dict(type='str', required=True),
            state=dict(type='str', choices=['drained', 'active'], default='drained'),
            admin_socket=dict(type='path', default='/opt/homebrew/var/lib/llmhost-gateway/admin.sock'),
            caddyfile=dict(type='path', default='/opt/homebrew/etc/llmhost-gateway/Caddyfile'),
            caddy=dict(type='path'),
            timeout=dict(type='int', default=900),
        ),
        supports_check_mode=True,
    )
    params = module.params
    admin = CaddyAdmin(params['admin_socket'])

    def file_config():
        caddy = params['caddy'] or module.get_bin_path('caddy', required=True, opt_dirs=['/opt/homebrew/opt/caddy/bin'])
        out = Command(caddy, module_runner(module)).check('adapt', '--config', params['caddyfile'], '--adapter', 'caddyfile')
        try:
            return json.loads(out)
        except ValueError:
            raise LlmhostError('caddy adapt gave no JSON for %s' % params['caddyfile'], stdout=out)

    try:
        if params['timeout'] < 0:
            raise LlmhostError('timeout: expects 0 or more seconds, got %d' % params['timeout'])
        if params['state'] == 'drained':
            result = ensure_drained(admin, params['upstream'], params['timeout'], file_config=file_config,
                                    check_mode=module.check_mode)
        else:
            result = ensure_active(admin, params['upstream'], file_config, check_mode=module.check_mode)
    except LlmhostError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
