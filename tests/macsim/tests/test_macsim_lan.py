"""tests/macsim/macsim: `up --lan LAN` gives the instances of one LAN one /24 out of 10.214.0.0/16 and each its
own address on it; a second LAN gets another /24. The controller script is loaded as a module, no container or
interface is made (host_addresses is stubbed)."""

import os

import pytest


@pytest.fixture
def cli(macsim_cli, monkeypatch):
    module = macsim_cli
    monkeypatch.setattr(module, 'host_addresses', lambda: set(module.in_use))
    module.in_use = []
    monkeypatch.setattr(module.os.path, 'exists', lambda path, _real=os.path.exists: (
        False if path.startswith('/sys/class/net/') else _real(path)))
    return module


def test_the_instances_of_a_lan_share_its_subnet_and_not_an_address(cli):
    a = cli.new_meta('fleet-a', 'mac-studio', 'fleet')
    b = cli.new_meta('fleet-b', 'mac-studio', 'fleet')
    net = a['lan_address'].rsplit('.', 1)[0]
    assert a['lan_address'].startswith('10.214.') and b['lan_address'] == net + '.3'
    assert a['lan_address'] == net + '.2' and a['lan_controller_ip'] == b['lan_controller_ip'] == net + '.1'
    assert a['lan_bridge'] == b['lan_bridge'] == 'mlan-fleet'
    assert a['lan_veth_host'] != b['lan_veth_host']
    assert cli.instance_info(b)['lan_address'] == b['lan_address']
    # the LAN is not the controller's link to the instance: that stays the instance's own /30
    assert a['address'].startswith('10.213.') and a['address'] != b['address']


def test_a_freed_address_is_given_again_and_another_lan_gets_another_subnet(cli):
    cli.new_meta('a1', 'mac-studio', 'one')
    b1 = cli.new_meta('b1', 'mac-studio', 'one')
    other = cli.new_meta('c1', 'mac-studio', 'two')
    assert other['lan_index'] != b1['lan_index']
    os.unlink(os.path.join(cli.inst_dir('a1'), 'meta.json'))
    again = cli.new_meta('a2', 'mac-studio', 'one')
    assert again['lan_host'] == 2 and again['lan_index'] == b1['lan_index']


def test_a_subnet_the_controller_already_has_is_skipped(cli):
    start = cli.zlib.crc32(b'busy') % 256
    cli.in_use = ['10.214.%d.1' % start]
    meta = cli.new_meta('x1', 'mac-studio', 'busy')
    assert meta['lan_index'] == (start + 1) % 256


def test_an_instance_without_a_lan_has_no_lan_keys(cli):
    meta = cli.new_meta('solo', 'mac-studio')
    assert 'lan' not in meta and 'lan_address' not in cli.instance_info(meta)
