# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role: defaults/main.yml and meta/argument_specs.yml name the same variables with the same defaults."""

from __future__ import annotations

import os

import pytest
import yaml

ROLES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles')


@pytest.mark.parametrize('role', sorted(os.listdir(ROLES)))
def test_defaults_agree_with_the_argument_spec(role):
    with open(os.path.join(ROLES, role, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLES, role, 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert name.startswith(role + '_'), name
        assert spec.get('default') == defaults[name], name
        assert spec.get('description'), name
    assert not any('{{' in str(value) for value in defaults.values())  # plain data, no templates
