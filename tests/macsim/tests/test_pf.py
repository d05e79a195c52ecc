"""pfctl stand-in: pf's state, the pf.conf subset parser, the one normalised printing, the nftables
translation (shared/reference/macos-formats-provisioning.md section 6, gateway.md section 6.1)."""

import os
import shutil
import subprocess
import sys

import pytest

MACSIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(MACSIM_DIR, 'guest')
PFCTL = os.path.join(GUEST, 'usr', 'sbin', 'pfctl')
sys.path.insert(0, os.path.join(GUEST, 'usr', 'local', 'lib', 'macsim'))

from macsimlib import pf  # noqa: E402

ALTQ = 'No ALTQ support in kernel\nALTQ related functions disabled\n'
WARNING = ('pfctl: Use of -f option, could result in flushing of rules\n'
           'present in the main ruleset added by the system at startup.\n'
           'See /etc/pf.conf for further details.\n\n')
GATEWAY = '''# comment
pass in quick on lo0 all
block drop in quick proto tcp from any to any port 11434
pass in quick proto tcp from { 10.1.2.0/24, 192.168.0.0/16 } to any port 11435 flags S/SA keep state
block drop in quick proto tcp from any to any port 11435
'''
GATEWAY_PRINTED = ['pass in quick on lo0 all flags S/SA keep state',
                   'block drop in quick proto tcp from any to any port = 11434',
                   'pass in quick inet proto tcp from 10.1.2.0/24 to any port = 11435 flags S/SA keep state',
                   'pass in quick inet proto tcp from 192.168.0.0/16 to any port = 11435 flags S/SA keep state',
                   'block drop in quick proto tcp from any to any port = 11435']


@pytest.fixture
def mac(sim, tmp_path):
    """A Sim with Apple's /etc/pf.conf and /etc/pf.anchors/com.apple."""
    for rel in ('etc/pf.conf', 'etc/pf.anchors/com.apple'):
        dst = sim.root_path('/' + rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(os.path.join(GUEST, rel), dst)
    return sim


def pfctl(sim, *args, **kw):
    proc = subprocess.run([sys.executable, PFCTL] + list(args), env=sim.env(kw.get('euid', 0)), input=kw.get('input'),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def write(tmp_path, text, name='anchor.conf'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ---- parser and printing (pure) ----------------------------------------------------------------------

def test_the_gateway_anchor_parses_and_lists_expand():
    parsed = pf.parse(GATEWAY)
    assert [pf.format_rule(r) for r in parsed['rules']] == GATEWAY_PRINTED


@pytest.mark.parametrize('text, printed', [
    ('block in', 'block drop in all'),
    ('block return in proto udp to any port = 53', 'block return in proto udp from any to any port = 53'),
    ('pass out quick', 'pass out quick all flags S/SA keep state'),
    ('pass in proto tcp from any port 22 to any no state', 'pass in proto tcp from any port = 22 to any'),
    ('pass in inet6 proto tcp from fd00::/8 to any port 80 flags any',
     'pass in inet6 proto tcp from fd00::/8 to any port = 80 keep state'),
    ('pass in quick proto tcp from 198.18.0.1/32 to 10.0.0.2 port 8080',
     'pass in quick inet proto tcp from 198.18.0.1 to 10.0.0.2 port = 8080 flags S/SA keep state'),
    ('pass in on en0 proto udp from any to any port 5353 keep state', 'pass in on en0 proto udp from any to any port = 5353 flags S/SA keep state'),
    ('anchor "com.apple/*"', 'anchor "com.apple/*" all'),
    ('scrub-anchor "com.apple/*"', 'scrub-anchor "com.apple/*" all fragment reassemble'),
])
def test_print_rule_normalises(text, printed):
    assert [pf.format_rule(r) for r in pf.parse(text)['rules']] == [printed]


def test_a_printed_rule_parses_back_to_itself():
    for line in GATEWAY_PRINTED:
        assert [pf.format_rule(r) for r in pf.parse(line)['rules']] == [line]


def test_tables_and_proto_lists():
    parsed = pf.parse('table <gw_clients> const persist { 10.1.2.0/24, 10.9.9.9 }\n'
                      'pass in quick proto { tcp, udp } from <gw_clients> to any port 11435\n')
    assert pf.verbose_lines(parsed) == [
        'table <gw_clients> const persist { 10.1.2.0/24 10.9.9.9 }',
        'pass in quick proto tcp from <gw_clients> to any port = 11435 flags S/SA keep state',
        'pass in quick proto udp from <gw_clients> to any port = 11435 flags S/SA keep state']


def test_continuation_lines_and_comments():
    parsed = pf.parse('pass in quick proto tcp \\\n  from any to any port 22 # ssh\n')
    assert [pf.format_rule(r) for r in parsed['rules']] == ['pass in quick proto tcp from any to any port = 22 flags S/SA keep state']


@pytest.mark.parametrize('text, line, message', [
    ('pass in all\nrdr pass on lo0 proto tcp from any to any port 80 -> 127.0.0.1 port 8080\n', 2, 'syntax error'),
    ('\n\npass inn all\n', 3, 'syntax error'),
    ('pass in proto icmp all\n', 1, 'syntax error'),
    ('pass in from 10.1.2.0/33 to any\n', 1, 'syntax error'),
    ('pass in from any to any port 80\n', 1, 'port only applies to tcp/udp'),
    ('pass in quick proto tcp from { 10.0.0.0/8 to any\n', 1, 'syntax error'),
    ('set skip on lo0\n', 1, 'syntax error'),
    ('pass in quick proto tcp from any to any port 70000\n', 1, 'syntax error'),
])
def test_syntax_errors_name_the_line(text, line, message):
    with pytest.raises(pf.PfSyntaxError) as e:
        pf.parse(text)
    assert (e.value.line, e.value.message) == (line, message)


# ---- the command ----------------------------------------------------------------------------------------

def test_non_root_cannot_open_dev_pf(mac):
    for args in (['-s', 'info'], ['-E'], ['-a', 'com.apple/300.x', '-sr'], ['-d']):
        assert pfctl(mac, *args, euid=501) == (1, '', 'pfctl: /dev/pf: Permission denied\n')


def test_a_fresh_boot_has_pf_disabled_with_apples_ruleset(mac):
    rc, out, err = pfctl(mac, '-s', 'info')
    assert (rc, err) == (0, ALTQ)
    assert out.split('\n')[0] == 'Status: Disabled' + ' ' * 30 + 'Debug: Urgent'
    assert out.split('\n')[1:3] == ['', 'State Table                          Total             Rate']
    assert pfctl(mac, '-sr') == (0, 'scrub-anchor "com.apple/*" all fragment reassemble\nanchor "com.apple/*" all\n', ALTQ)
    assert pfctl(mac, '-a', 'com.apple', '-sr') == (0, 'anchor "200.AirDrop/*" all\nanchor "250.ApplicationFirewall/*" all\n', ALTQ)
    assert pfctl(mac, '-v', '-s', 'Anchors') == (0, '  com.apple\n  com.apple/200.AirDrop\n  com.apple/250.ApplicationFirewall\n', ALTQ)
    assert pfctl(mac, '-s', 'Anchors') == (0, '  com.apple\n', ALTQ)
    assert pfctl(mac, '-s', 'References') == (0, 'TOKENS:\n' + pf.show_references({'refs': []}, 0)[1] + '\n', ALTQ)


def test_enable_references(mac):
    rc, out, err = pfctl(mac, '-E')
    assert (rc, out) == (0, '')
    assert err.startswith(ALTQ + 'pf enabled\nToken : ')
    token1 = err.split('Token : ')[1].strip()
    assert token1.isdigit()
    rc, out, err = pfctl(mac, '-E')          # another reference, even though pf is on
    assert rc == 0 and 'pf enabled\nToken : ' in err
    token2 = err.split('Token : ')[1].strip()
    assert token1 != token2
    rc, out, err = pfctl(mac, '-s', 'References')
    assert rc == 0 and all(any(t in line.split() for line in out.splitlines()) for t in (token1, token2))
    assert pfctl(mac, '-s', 'info')[1].startswith('Status: Enabled for 0 days 00:00:0')
    assert pfctl(mac, '-e') == (1, '', ALTQ + 'pfctl: pf already enabled\n')
    assert pfctl(mac, '-X', '42') == (1, '', ALTQ + 'pfctl: DIOCSTOPREF: Invalid argument\n')
    assert pfctl(mac, '-X', token1) == (
        0, '', ALTQ + 'disable request successful. 1 more pf enable reference(s) remaining, pf still enabled.\n')
    assert token1 not in pfctl(mac, '-s', 'References')[1]
    assert pfctl(mac, '-X', token2) == (0, '', ALTQ + 'pf disabled\n')
    assert pfctl(mac, '-s', 'info')[1].startswith('Status: Disabled ')
    assert pfctl(mac, '-X', token2) == (1, '', ALTQ + 'pfctl: pf not enabled\n')


def test_disable_drops_every_reference(mac):
    pfctl(mac, '-E')
    pfctl(mac, '-E')
    assert pfctl(mac, '-d') == (0, '', ALTQ + 'pf disabled\n')
    assert pfctl(mac, '-s', 'References')[1].count('\n') == 2
    assert pfctl(mac, '-d') == (1, '', ALTQ + 'pfctl: pf not enabled\n')
    assert pfctl(mac, '-e') == (0, '', ALTQ + 'pf enabled\n')


def test_enabled_time_counts_from_enabling(mac):
    pfctl(mac, '-E')
    state = mac.read_json('pf.json')
    state['enabled_at'] -= 2 * 86400 + 3 * 3600 + 4 * 60 + 5
    mac.write_json('pf.json', state)
    line = pfctl(mac, '-s', 'info')[1].split('\n')[0]
    assert line == '%-44s%15s' % ('Status: Enabled for 2 days 03:04:05', 'Debug: Urgent')


def test_a_new_boot_clears_kernel_state(mac, tmp_path):
    pfctl(mac, '-E')
    pfctl(mac, '-a', 'com.apple/300.test', '-f', write(tmp_path, GATEWAY))
    mac.set_boot(2, 'boot-two', 1700001000.0)
    assert pfctl(mac, '-s', 'info')[1].startswith('Status: Disabled')
    assert pfctl(mac, '-a', 'com.apple/300.test', '-sr') == (1, '', ALTQ + 'pfctl: DIOCGETRULES: Invalid argument\n')
    assert 'com.apple/300.test' not in pfctl(mac, '-v', '-s', 'Anchors')[1]


def test_load_an_anchor_and_show_it_the_same_way_as_nvf(mac, tmp_path):
    path = write(tmp_path, GATEWAY)
    rc, out, err = pfctl(mac, '-nvf', path, euid=501)      # -n does not need /dev/pf
    assert (rc, out, err) == (0, '\n'.join(GATEWAY_PRINTED) + '\n', WARNING)
    assert pfctl(mac, '-a', 'com.apple/300.test', '-f', path) == (0, '', WARNING + ALTQ)
    rc, shown, err = pfctl(mac, '-a', 'com.apple/300.test', '-sr')
    assert (rc, shown, err) == (0, out, ALTQ)
    assert pfctl(mac, '-a', 'com.apple/300.test', '-s', 'rules')[1] == out
    assert pfctl(mac, '-v', '-s', 'Anchors')[1].endswith('  com.apple/300.test\n')
    # -n loads nothing.
    pfctl(mac, '-n', '-a', 'com.apple/300.other', '-f', path)
    assert 'com.apple/300.other' not in pfctl(mac, '-v', '-s', 'Anchors')[1]


def test_syntax_error_loads_nothing(mac, tmp_path):
    good = write(tmp_path, GATEWAY)
    pfctl(mac, '-a', 'com.apple/300.test', '-f', good)
    bad = write(tmp_path, 'pass in all\n\nbogus rule\n', 'pf.conf')
    expected = WARNING + ALTQ + '%s:3: syntax error\npfctl: Syntax error in config file: pf rules not loaded\n' % bad
    assert pfctl(mac, '-a', 'com.apple/300.test', '-f', bad) == (1, '', expected)
    assert pfctl(mac, '-a', 'com.apple/300.test', '-sr')[1] == '\n'.join(GATEWAY_PRINTED) + '\n'
    assert pfctl(mac, '-nf', bad, euid=501)[0] == 1


def test_missing_file(mac, tmp_path):
    assert pfctl(mac, '-nf', str(tmp_path / 'nope')) == (1, '', WARNING + 'pfctl: %s: No such file or directory\n' % (tmp_path / 'nope'))


def test_flush_an_anchor(mac, tmp_path):
    path = write(tmp_path, GATEWAY)
    pfctl(mac, '-a', 'com.apple/300.test', '-f', path)
    assert pfctl(mac, '-a', 'com.apple/300.test', '-F', 'rules') == (0, '', ALTQ + 'rules cleared\n')
    assert pfctl(mac, '-a', 'com.apple/300.test', '-sr')[0] == 1
    pfctl(mac, '-a', 'com.apple/300.test', '-f', path)
    assert pfctl(mac, '-a', 'com.apple/300.test', '-F', 'all') == (
        0, '', ALTQ + 'rules cleared\nnat cleared\ndummynet cleared\n0 tables deleted.\n')
    assert pfctl(mac, '-a', 'com.apple', '-sr')[1].count('\n') == 2    # Apple's own rules untouched


def test_reloading_pf_conf_keeps_runtime_anchors(mac, tmp_path):
    """gateway.md D04: `pfctl -f /etc/pf.conf` leaves com.apple/300.x alone (INVENTED, believed)."""
    pfctl(mac, '-a', 'com.apple/300.test', '-f', write(tmp_path, GATEWAY))
    rc, out, err = pfctl(mac, '-f', mac.root_path('/etc/pf.conf'))
    assert (rc, out) == (0, '')
    assert pfctl(mac, '-a', 'com.apple/300.test', '-sr')[1] == '\n'.join(GATEWAY_PRINTED) + '\n'
    assert pfctl(mac, '-a', 'com.apple', '-sr')[1].count('\n') == 2


def test_wildcard_anchor_shows_apples_bug(mac):
    assert pfctl(mac, '-a', 'com.apple/*', '-sr') == (0, 'anchor "*" all {\n}\n', ALTQ + 'pfctl: DIOCGETRULES: Invalid argument\n')


def test_rules_from_stdin(mac):
    assert pfctl(mac, '-a', 'com.apple/300.test', '-f', '-', input=GATEWAY)[0] == 0
    assert pfctl(mac, '-a', 'com.apple/300.test', '-sr')[1] == '\n'.join(GATEWAY_PRINTED) + '\n'


@pytest.mark.parametrize('args', [[], ['-z'], ['-s'], ['bogus']])
def test_usage(mac, args):
    rc, out, err = pfctl(mac, *args)
    assert rc in (1, 64) and out == '' and err.startswith('usage: pfctl')


def test_calls_are_logged(mac):
    pfctl(mac, '-s', 'info')
    pfctl(mac, '-E')
    pfctl(mac, '-E', euid=501)
    pfctl(mac, '-nvf', '/dev/null')
    pfctl(mac, '-a', 'com.apple/300.test', '-F', 'rules')
    pfctl(mac, '-a', 'com.apple/300.test', '-sr')
    # kind as the README says: a call that would change pf is a write, refused (not root) or changing nothing
    assert [(c['tool'], c['argv'][1:], c['rc'], c['kind']) for c in mac.calls()] == [
        ('pfctl', ['-s', 'info'], 0, 'read'), ('pfctl', ['-E'], 0, 'write'), ('pfctl', ['-E'], 1, 'write'),
        ('pfctl', ['-nvf', '/dev/null'], 0, 'read'), ('pfctl', ['-a', 'com.apple/300.test', '-F', 'rules'], 0, 'write'),
        ('pfctl', ['-a', 'com.apple/300.test', '-sr'], 1, 'error')]


# ---- enforcement: the nftables text -----------------------------------------------------------------------

def test_nft_table_follows_the_enabled_flag(mac, tmp_path):
    pfctl(mac, '-a', 'com.apple/300.test', '-f', write(tmp_path, GATEWAY))
    with open(mac.path('pf.nft')) as f:
        assert f.read() == 'table inet macsim_pf\ndelete table inet macsim_pf\n'
    pfctl(mac, '-E')
    with open(mac.path('pf.nft')) as f:
        script = f.read()
    assert 'chain input {' in script and 'type filter hook input priority 0; policy accept;' in script
    rules = [line.split('  #')[0].strip() for line in script.splitlines() if '  # com.apple/300.test: ' in line]
    assert rules == [
        'iifname "lo" meta l4proto != tcp accept',
        'iifname "lo" meta l4proto tcp tcp flags & (syn | ack) == syn accept',
        'meta l4proto tcp tcp dport 11434 drop',
        'meta nfproto ipv4 meta l4proto tcp ip saddr 10.1.2.0/24 tcp dport 11435 tcp flags & (syn | ack) == syn accept',
        'meta nfproto ipv4 meta l4proto tcp ip saddr 192.168.0.0/16 tcp dport 11435 tcp flags & (syn | ack) == syn accept',
        'meta l4proto tcp tcp dport 11435 drop']
    pfctl(mac, '-d')
    with open(mac.path('pf.nft')) as f:
        assert f.read() == 'table inet macsim_pf\ndelete table inet macsim_pf\n'


def test_nft_anchors_in_alphabetical_order_and_last_match(mac, tmp_path):
    pfctl(mac, '-a', 'com.apple/310.b', '-f', write(tmp_path, 'pass in proto tcp from 10.0.0.1 to any port 80\n', 'b'))
    pfctl(mac, '-a', 'com.apple/300.a', '-f', write(tmp_path, 'block return in proto tcp from any to any port 80\n', 'a'))
    pfctl(mac, '-e')
    with open(mac.path('pf.nft')) as f:
        lines = [line.strip() for line in f.read().splitlines()]
    a = lines.index('meta l4proto tcp tcp dport 80 meta mark set 2  # com.apple/300.a: block return in proto tcp from any to any port = 80')
    b = [i for i, line in enumerate(lines) if line.startswith('meta nfproto ipv4 meta l4proto tcp ip saddr 10.0.0.1 tcp dport 80 '
                                                              'tcp flags & (syn | ack) == syn meta mark set 1')]
    assert b and a < b[0] < lines.index('meta mark 2 drop')


def test_flushing_the_main_ruleset_detaches_the_anchors(mac, tmp_path):
    pfctl(mac, '-a', 'com.apple/300.test', '-f', write(tmp_path, GATEWAY))
    pfctl(mac, '-E')
    assert pfctl(mac, '-F', 'all')[2] == ALTQ + '\n'.join(pf.FLUSH_ALL_MAIN) + '\n'
    with open(mac.path('pf.nft')) as f:
        assert '300.test' not in f.read()
    assert pfctl(mac, '-sr') == (0, '', ALTQ)


def test_boot_hook_resets_and_removes_the_table(mac, tmp_path):
    pfctl(mac, '-a', 'com.apple/300.test', '-f', write(tmp_path, GATEWAY))
    pfctl(mac, '-E')
    ctx = pf_ctx(mac)
    pf.reset_at_boot(ctx)
    assert mac.read_json('pf.json')['enabled'] is False
    with open(mac.path('pf.nft')) as f:
        assert f.read() == 'table inet macsim_pf\ndelete table inet macsim_pf\n'


def pf_ctx(sim):
    from macsimlib.common import Ctx
    old = dict(os.environ)
    os.environ.update(sim.env(0))
    try:
        return Ctx('pfctl-boot', ['10-pf-reset'])
    finally:
        os.environ.clear()
        os.environ.update(old)
