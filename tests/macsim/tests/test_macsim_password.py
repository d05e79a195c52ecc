"""tests/macsim/macsim: admin's password, made once per instance for every profile (a Mac's is what
loginwindow's automatic login needs), reported as `password` by `info`; an instance provisioned before
Macs had one reports None. The controller script is loaded as a module, no container needed."""

import importlib.machinery
import importlib.util
import os

import pytest

MACSIM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'macsim')


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv('MACSIM_STATE', str(tmp_path))
    loader = importlib.machinery.SourceFileLoader('macsim_cli', MACSIM)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader('macsim_cli', loader))
    loader.exec_module(module)
    return module


def meta(cli, name, profile):
    os.makedirs(cli.inst_dir(name))
    return {'name': name, 'profile': profile, 'address': '10.213.0.2'}


@pytest.mark.parametrize('profile', ['mac-studio', 'macbook', 'fresh-mac-studio', 'debian'])
def test_every_profile_gets_a_password_once(cli, profile):
    instance = meta(cli, 'p1', profile)
    assert cli.instance_info(instance)['password'] is None       # before provisioning
    password = cli.admin_password(instance)
    assert len(password) == 20 and password.isalnum()
    path = os.path.join(cli.inst_dir('p1'), 'password')
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert cli.admin_password(instance) == password               # made once
    assert cli.admin_password(instance, create=False) == password
    info = cli.instance_info(instance)
    assert info['password'] == password
    assert ('rsa_identity_file' in info) == (profile == 'debian')


def test_an_instance_provisioned_before_macs_had_a_password(cli):
    instance = meta(cli, 'old', 'mac-studio')
    assert cli.admin_password(instance, create=False) is None
    assert cli.instance_info(instance)['password'] is None
    assert not os.path.exists(os.path.join(cli.inst_dir('old'), 'password'))
