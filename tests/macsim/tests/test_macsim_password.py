"""tests/macsim/macsim: admin's password, made once per instance for every profile (a Mac's is what
loginwindow's automatic login needs), reported as `password` by `info`; an instance provisioned before
Macs had one reports None. The controller script is loaded as a module, no container needed."""

import os

import pytest


@pytest.fixture
def cli(macsim_cli):
    return macsim_cli


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
