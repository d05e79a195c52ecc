# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Attributes the llmhost.macos modules share. A module that words one of them more exactly
    (what its check mode still reads, what its diff holds) documents that one itself, which
    replaces the fragment's."""

    # Every module: honest check mode and diff.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: In check mode the module reads the current state, reports what it would change, and changes nothing.
    support: full
  diff_mode:
    description: With C(--diff) the module returns the state before and after.
    support: full
'''

    # Modules that manage the Mac itself (pmset, systemsetup, launchctl, brew).
    DARWIN = r'''
attributes:
  platform:
    description: The operating systems the module manages.
    platforms: darwin
    support: full
'''

    # Modules that only read (ollama_info, ollama_gpu, ollama_fit, sshd_check).
    READ_ONLY = r'''
attributes:
  check_mode:
    description: The module only reads; it runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: The module never changes anything.
    support: full
'''
