#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: config_files
short_description: Several files and directories, each compared before it is written, in one task
version_added: 0.2.0
description:
  - Puts a list of files (with their content), directories and removed paths in place, in the order given, in
    one module run. A converged host costs one C(lstat) of each path and one read of each file, and no write.
    M(ansible.builtin.template) costs two module runs a file (a stat, then the file module for the attributes),
    which is most of the time a re-run of a role takes.
  - A file whose content differs is written to a temporary file in the same directory, with the wanted owner,
    group and mode, checked there with its O(files[].validate) command, and renamed over the old file. A file
    whose new content fails its check is not replaced, the task fails with the command's message, and the
    entries after it are not touched.
  - A file whose content is right but whose owner, group or mode is not is only changed in place.
  - Every entry is checked before any path is read, and every owner and group is looked up before anything is
    written, so bad input fails the task with nothing changed.
  - Render templates on the controller with the P(ansible.builtin.template#lookup) lookup, see the examples.
author:
  - llmhost.macos developers (@llmhost)
extends_documentation_fragment:
  - llmhost.macos.attributes
attributes:
  check_mode:
    description:
      - In check mode the module reads the same, reports what it would change, and writes nothing. Validate
        commands do not run. An owner or group that does not exist yet (a user an earlier task would create) is
        reported as a change instead of failing the task.
    support: full
  diff_mode:
    description:
      - One diff for each path that changes. Its text is the owner, group and mode (numeric before, as wanted
        after), then the file's content unless O(files[].diff=false).
    support: full
  idempotent:
    description: A second run with the same arguments reports no change and writes nothing.
    support: full
  platform:
    description: Any POSIX system. The collection uses it on macOS, and its tests run it on Linux too.
    platforms: posix
    support: full
options:
  files:
    description: The paths, handled in this order. A directory comes before the files in it.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - The absolute path. The final component is not followed when it is a symbolic link; such a path fails
            the task unless O(files[].state=absent).
        type: path
        required: true
      state:
        description:
          - V(file) with O(files[].content), V(directory) (created with its parents when missing), or V(absent),
            which removes a file or a link and fails on a directory.
          - A path that exists as another kind (a directory where a file is wanted) fails the task and is left
            as it is.
        type: str
        choices: [file, directory, absent]
        default: file
      content:
        description: The file's content, as text. Required with O(files[].state=file).
        type: str
      owner:
        description:
          - The owner, a user name or a number.
          - Not given, the owner of an existing path is left as it is, and a new path gets the user the module runs
            as.
        type: str
      group:
        description:
          - The group, a name or a number.
          - Not given, the group of an existing path is left as it is, and a new path gets the system's default (on
            macOS, the group of the directory it is in).
        type: str
      mode:
        description:
          - The permissions as a quoted octal string, such as V('0644'). Required unless O(files[].state=absent).
          - An unquoted YAML number (V(0644) is the integer 420) fails the task.
        type: str
      validate:
        description:
          - A command that checks the new file before it replaces the old one. It is split like a shell would
            split it (but no shell runs it), and the word V(%s) is replaced with the temporary file's path, for
            example V(/usr/sbin/sshd -t -f %s).
        type: str
      diff:
        description:
          - With V(false), the content is never returned in the diff, only whether it changed. Use it, with
            C(no_log) on the task, for a file that holds secrets.
        type: bool
        default: true
notes:
  - Give the task C(become=true) for files owned by another user.
  - The temporary file is named C(.NAME.XXXXXXXX), in the same directory, while its check runs. A glob such as
    sshd's C(Include /etc/ssh/sshd_config.d/*) does not match a name that starts with a dot; a program that reads
    every file of a directory would see it.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.file
'''

EXAMPLES = r'''
- name: The service's directory, its start script and its log rotation
  llmhost.macos.config_files:
    files:
      - path: /usr/local/libexec/llmhost
        state: directory
        owner: root
        group: wheel
        mode: "0755"
      - path: /usr/local/libexec/llmhost/ollama-serve
        content: "{{ lookup('ansible.builtin.template', 'ollama-serve.j2') }}"
        owner: root
        group: wheel
        mode: "0755"
        validate: /bin/bash -n %s
      - path: /etc/newsyslog.d/llmhost.ollama.conf
        content: "{{ lookup('ansible.builtin.template', 'newsyslog.conf.j2') }}"
        owner: root
        group: wheel
        mode: "0644"
        validate: /usr/sbin/newsyslog -n -f %s
      - path: /usr/local/libexec/llmhost/old-script
        state: absent
  become: true
  register: scripts
  notify: Restart the server

- name: Something only when one of them changed
  ansible.builtin.debug:
    msg: the start script changed
  when: "'/usr/local/libexec/llmhost/ollama-serve' in scripts.changed_paths"
'''

RETURN = r'''
changed_paths:
  description: The paths changed (in check mode, that would change), in order.
  returned: always
  type: list
  elements: str
  sample: [/usr/local/libexec/llmhost/ollama-serve]
files:
  description: Each entry, in order, with what changed.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The path.
      type: str
    state:
      description: The state wanted.
      type: str
    changed:
      description: Whether the path changed (in check mode, would change).
      type: bool
    changes:
      description: What changed, among V(created), V(content), V(owner), V(group), V(mode) and V(removed).
      type: list
      elements: str
  sample:
    - {path: /usr/local/libexec/llmhost, state: directory, changed: false, changes: []}
    - {path: /usr/local/libexec/llmhost/ollama-serve, state: file, changed: true, changes: [content]}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError, exit_with_result, module_runner
from ansible_collections.llmhost.macos.plugins.module_utils.config_files import FileSystem, apply, check_spec, plan


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True, options=dict(
                path=dict(type='path', required=True),
                state=dict(type='str', choices=['file', 'directory', 'absent'], default='file'),
                content=dict(type='str'),
                owner=dict(type='str'),
                group=dict(type='str'),
                mode=dict(type='str'),
                validate=dict(type='str'),
                diff=dict(type='bool', default=True),
            )),
        ),
        supports_check_mode=True,
    )
    try:
        entries = check_spec(module.params['files'])
        fs = FileSystem(module_runner(module))
        result = apply(plan(entries, fs, check_mode=module.check_mode), fs, check_mode=module.check_mode)
    except LlmhostError as exc:
        details = dict({'changed_paths': []}, **exc.details)
        module.fail_json(msg=exc.msg, changed=bool(details['changed_paths']), **details)
    exit_with_result(module, result)


if __name__ == '__main__':
    main()
