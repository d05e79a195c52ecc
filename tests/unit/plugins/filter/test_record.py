# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/record.yml's filters: what it runs, how a recording is put together, and what redaction takes out."""

from __future__ import annotations

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.llmhost.macos.plugins.filter.record import FilterModule, record_commands, recording, redact

KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIHq0pQ3b1s2xDkq9yX9fC3mP7y4iQJk0xY8h1m2n3o4p'


def test_addresses_get_one_stand_in_each_across_the_whole_recording():
    out = redact({'ifconfig': 'inet 10.214.3.2 netmask 0xffffff00 broadcast 10.214.3.255',
                  'pf': ['pass in from 10.214.3.2 to any', 'pass in from 192.168.1.0/24'],
                  'sshd': 'listenaddress 0.0.0.0:22\nlistenaddress [::]:22\n127.0.0.1 ::1'})
    assert out['ifconfig'] == 'inet 192.0.2.1 netmask 0xffffff00 broadcast 192.0.2.2'
    assert out['pf'] == ['pass in from 192.0.2.1 to any', 'pass in from 192.0.2.3/24']
    assert out['sshd'] == 'listenaddress 0.0.0.0:22\nlistenaddress [::]:22\n127.0.0.1 ::1'


def test_ipv6_and_hardware_addresses_go_times_and_versions_stay():
    text = ('ether 8c:85:90:1a:2b:3c inet6 fe80::1c2b:3c4d:5e6f:7a8b%en0 inet6 2a02:8071:5e1:7f00::1b '
            'since 12:30:05, boot rom 11881.140.96, ollama 0.12.6, 2a02:8071:5e1:7f00:0:0:0:1b again')
    assert redact(text) == ('ether 02:00:00:00:00:01 inet6 fe80::1%en0 inet6 2001:db8::1 '
                            'since 12:30:05, boot rom 11881.140.96, ollama 0.12.6, 2001:db8::1 again')


def test_keys_fingerprints_and_uuids_go():
    text = ('ssh-ed25519 %s jane@studio\nED25519 key fingerprint is SHA256:%s.\n'
            'platform_UUID 8C3B1E2A-1234-5678-9ABC-DEF012345678 8c3b1e2a-1234-5678-9abc-def012345678' % (KEY, 'x' * 43))
    assert redact(text) == ('ssh-ed25519 AAAAREDACTED jane@studio\nED25519 key fingerprint is SHA256:REDACTED.\n'
                            'platform_UUID 00000000-0000-4000-8000-000000000001 00000000-0000-4000-8000-000000000001')


def test_literals_longest_first_whole_words_only():
    literals = {'jane': 'user1', 'Jane Studio': 'Mac Name', 'jane-studio': 'mac-name'}
    assert redact('/Users/jane on Jane Studio (jane-studio.local), janet stays', literals) == \
        '/Users/user1 on Mac Name (mac-name.local), janet stays'
    assert redact({'k': 10, 'l': None, 'm': True}) == {'k': 10, 'l': None, 'm': True}
    with pytest.raises(AnsibleFilterError, match='literals expects a mapping'):
        redact('x', ['jane'])


def ran(file_name, argv, stdout='', rc=0, stderr=''):
    return {'item': {'file': file_name, 'argv': argv}, 'rc': rc, 'stdout': stdout, 'stderr': stderr}


def test_a_recording_names_the_mac_and_hides_its_people():
    hardware = {'SPHardwareDataType': [{'machine_model': 'Mac16,9', 'chip_type': 'Apple M4 Max', 'physical_memory': '128 GB',
                                        'serial_number': 'C02XK1ABCD12', 'provisioning_UDID': '00006041-001A2B3C4D5E801E'}]}
    commands = [
        ran('sw_vers.txt', ['sw_vers'], 'ProductName:\t\tmacOS\nProductVersion:\t\t15.6\nBuildVersion:\t\t24G84\n'),
        ran('sysctl-hw.model.txt', ['sysctl'], 'Mac16,9\n'),
        ran('system_profiler-SPHardwareDataType.json', ['system_profiler'], json.dumps(hardware)),
        ran('scutil-get-ComputerName.txt', ['scutil'], "Jane's Studio\n"),
        ran('scutil-get-LocalHostName.txt', ['scutil'], 'Janes-Studio\n'),
        ran('scutil-get-HostName.txt', ['scutil'], '', 1, 'HostName: not set\n'),
        ran('launchctl-print-system-com.llmhost.ollama.txt', ['launchctl'],
            'path = /Users/jane/x\nother = /Users/admin/y\nhost = studio.lan 10.0.0.5\n'),
        {'item': {'file': 'socketfilterfw-listapps.txt', 'argv': ['/nowhere']}, 'rc': 2, 'failed': True,
         'msg': '[Errno 2] No such file or directory'},
    ]
    users = 'admin 501\njane 502\n_ollama 260\nnobody -2\n'
    api = [{'item': 'version', 'status': 200, 'content': '{"version":"0.12.6"}'},
           {'item': 'tags', 'status': -1, 'content': ''}]
    shows = [{'item': 'llama3.3:70b', 'status': 200, 'content': '{"modelfile": "FROM /Users/jane/.ollama/models"}'}]
    out = recording(commands, users=users, api=api, shows=shows, literals={'studio.lan': 'mac-host'})
    assert out['name'] == 'Mac16,9-macOS-15.6'
    files, meta = out['files'], out['meta']
    assert files['scutil-get-ComputerName.txt'] == 'Mac Name\n' and files['scutil-get-LocalHostName.txt'] == 'mac-name\n'
    assert files['launchctl-print-system-com.llmhost.ollama.txt'] == \
        'path = /Users/user1/x\nother = /Users/admin/y\nhost = mac-host 192.0.2.1\n'
    assert 'C02XK1ABCD12' not in files['system_profiler-SPHardwareDataType.json']
    assert '001A2B3C4D5E801E' not in files['system_profiler-SPHardwareDataType.json']
    assert files['api-show-llama3.3_70b.json'] == '{"modelfile": "FROM /Users/user1/.ollama/models"}'
    assert meta['macos'] == {'ProductName': 'macOS', 'ProductVersion': '15.6', 'BuildVersion': '24G84'}
    assert (meta['model'], meta['chip'], meta['memory']) == ('Mac16,9', 'Apple M4 Max', '128 GB')
    assert meta['commands']['socketfilterfw-listapps.txt']['error'] == '[Errno 2] No such file or directory'
    assert meta['commands']['scutil-get-HostName.txt'] == {'argv': ['scutil'], 'rc': 1, 'stderr': 'HostName: not set\n'}
    assert meta['api']['api-show-llama3.3_70b.json'] == {'method': 'POST', 'path': '/api/show', 'model': 'llama3.3:70b',
                                                         'status': 200}
    assert meta['failed'] == ['api-tags.json', 'scutil-get-HostName.txt', 'socketfilterfw-listapps.txt']
    with pytest.raises(AnsibleFilterError, match='registered results'):
        recording({'results': []})


def test_an_address_given_as_a_literal_is_left_to_the_patterns():
    """The playbook passes ansible_host: an IP there must become a documentation address, not the host's stand-in
    (OLLAMA_HOST => mac-host:11434 would no longer be an address)."""
    commands = [ran('launchctl-print-system-com.llmhost.ollama.txt', ['launchctl'], 'OLLAMA_HOST => 10.0.0.5:11434\n')]
    out = recording(commands, literals={'10.0.0.5': 'mac-host', 'studio1': 'mac-host', 'localhost': 'mac-host'})
    assert out['files']['launchctl-print-system-com.llmhost.ollama.txt'] == 'OLLAMA_HOST => 192.0.2.1:11434\n'


def test_what_record_runs():
    commands = record_commands(['com.llmhost.ollama'], formulae=['ollama'], brew='/usr/local/bin/brew')
    by_file = dict((c['file'], c) for c in commands)
    assert len(by_file) == len(commands)
    assert by_file['launchctl-print-system-com.llmhost.ollama.txt'] == {
        'file': 'launchctl-print-system-com.llmhost.ollama.txt', 'argv': ['/bin/launchctl', 'print', 'system/com.llmhost.ollama'],
        'root': True}
    assert by_file['brew-info-ollama.json']['argv'] == ['/usr/local/bin/brew', 'info', '--json=v2', 'ollama']
    assert by_file['sysctl-memory.txt']['argv'] == ['/usr/sbin/sysctl', '-n', 'hw.memsize', 'iogpu.wired_limit_mb']
    assert not by_file['brew-services-info-ollama.json']['root']   # brew refuses to run as root
    assert by_file['systemsetup-getremotelogin.txt']['root'] and by_file['sshd-T.txt']['root']
    assert by_file['ssh-Q-kex.txt'] == {'file': 'ssh-Q-kex.txt', 'argv': ['/usr/bin/ssh', '-Q', 'kex'], 'root': False}
    assert len([name for name in by_file if name.startswith('systemsetup-get')]) == 8
    for labels, formulae in ((['a b'], []), ('com.llmhost.ollama', []), ([], ['../x'])):
        with pytest.raises(AnsibleFilterError, match='expects a list of names'):
            record_commands(labels, formulae=formulae)


def test_record_reads_the_pf_anchors_and_the_automatic_login():
    by_file = dict((c['file'], c) for c in record_commands([], anchors=['com.apple/310.llmhost.ollama']))
    assert by_file['pfctl-a-com.apple_310.llmhost.ollama-sr.txt'] == {
        'file': 'pfctl-a-com.apple_310.llmhost.ollama-sr.txt', 'root': True,
        'argv': ['/sbin/pfctl', '-a', 'com.apple/310.llmhost.ollama', '-sr']}
    assert by_file['defaults-read-loginwindow-autoLoginUser.txt'] == {
        'file': 'defaults-read-loginwindow-autoLoginUser.txt', 'root': False,
        'argv': ['/usr/bin/defaults', 'read', '/Library/Preferences/com.apple.loginwindow', 'autoLoginUser']}
    for anchors in (['com.apple/../x'], ['com.apple//x'], 'com.apple/x', ['com.apple/a b']):
        with pytest.raises(AnsibleFilterError, match='anchors expects'):
            record_commands([], anchors=anchors)
    out = recording([ran('defaults-read-loginwindow-autoLoginUser.txt', ['defaults'], 'jane\n')], users='jane 501\n')
    assert out['files']['defaults-read-loginwindow-autoLoginUser.txt'] == 'user1\n'
    assert set(FilterModule().filters()) == {'redact', 'recording', 'record_commands'}


# ---- names: only where a name stands, never the same word in a path or a formula -----------------------------

BREW_SERVICES = ('[{"name": "ollama", "service_name": "homebrew.mxcl.ollama", "user": "ollama", '
                 '"file": "/opt/homebrew/opt/ollama/homebrew.mxcl.ollama.plist", '
                 '"command": "/opt/homebrew/opt/ollama/bin/ollama serve"}]')


def test_names_are_replaced_only_where_a_name_stands():
    names = {'jane': 'user1', 'Janes-Studio': 'mac-name'}
    text = ('HOME => /Users/jane\nssh-ed25519 AAAAREDACTED jane@Janes-Studio.local\n~jane/.ssh\nusername = jane\n'
            'UserName: jane\nautoLoginUser = jane\nJanes-Studio\nallowusers bob jane\n'
            'Jane says jane is a word here; /opt/jane-tools and Janes-Studio-Backup stay\n')
    assert redact(text, names=names) == (
        'HOME => /Users/user1\nssh-ed25519 AAAAREDACTED user1@mac-name.local\n~user1/.ssh\nusername = user1\n'
        'UserName: user1\nautoLoginUser = user1\nmac-name\nallowusers bob user1\n'
        'Jane says jane is a word here; /opt/jane-tools and Janes-Studio-Backup stay\n')


def test_a_user_named_like_a_formula_leaves_homebrew_alone():
    commands = [ran('brew-services-info-ollama.json', ['brew'], BREW_SERVICES),
                ran('brew-info-caddy.json', ['brew'], '{"formulae": [{"name": "caddy", "full_name": "caddy"}]}'),
                ran('launchctl-print-system-com.llmhost.ollama.txt', ['launchctl'],
                    '\tprogram = /opt/homebrew/opt/ollama/bin/ollama\n\tworking directory = /Users/ollama\n'
                    '\tusername = ollama\n\tgroup = caddy\n')]
    out = recording(commands, users='ollama 501\ncaddy 502\nbrew 503\n')['files']
    assert out['brew-services-info-ollama.json'] == BREW_SERVICES.replace('"user": "ollama"', '"user": "user1"')
    assert out['brew-info-caddy.json'] == '{"formulae": [{"name": "caddy", "full_name": "caddy"}]}'
    assert out['launchctl-print-system-com.llmhost.ollama.txt'] == (
        '\tprogram = /opt/homebrew/opt/ollama/bin/ollama\n\tworking directory = /Users/user1\n'
        '\tusername = user1\n\tgroup = caddy\n')


def test_a_computer_named_after_its_model_is_not_a_secret():
    hardware = {'SPHardwareDataType': [{'machine_name': 'Mac Studio', 'machine_model': 'Mac16,9'}]}
    commands = [ran('system_profiler-SPHardwareDataType.json', ['system_profiler'], json.dumps(hardware)),
                ran('scutil-get-ComputerName.txt', ['scutil'], 'Mac Studio\n'),
                ran('scutil-get-LocalHostName.txt', ['scutil'], 'Mac-Studio\n')]
    files = recording(commands)['files']
    assert files['scutil-get-ComputerName.txt'] == 'Mac Studio\n'
    assert files['scutil-get-LocalHostName.txt'] == 'Mac-Studio\n'
    assert json.loads(files['system_profiler-SPHardwareDataType.json']) == hardware


# ---- what the patterns must also find -------------------------------------------------------------------------

DISPLAYS = '''{
  "SPDisplaysDataType" : [
    {
      "_name" : "Apple M4 Max",
      "spdisplays_ndrvs" : [
        {
          "_name" : "DELL U2723QE",
          "_spdisplays_display-product-id" : "a1b2",
          "_spdisplays_display-serial-number" : "4c3a5242",
          "_spdisplays_display-serial-number2" : "8QFK4H3",
          "spdisplays_display-serial-number" : "CN0XYZ123",
          "_spdisplays_display-vendor-id" : "10ac"
        }
      ],
      "sppci_cores" : "40"
    }
  ]
}'''


def test_display_serial_numbers_go():
    out = json.loads(redact(DISPLAYS, {'C02XK1ABCD12': 'SERIAL00000'}))
    display = out['SPDisplaysDataType'][0]['spdisplays_ndrvs'][0]
    assert [display[key] for key in sorted(display) if 'serial' in key] == ['SERIAL00001', 'SERIAL00002', 'SERIAL00003']
    assert display['_spdisplays_display-product-id'] == 'a1b2' and out['SPDisplaysDataType'][0]['sppci_cores'] == '40'
    assert redact('"serial_number" : "C02XK1ABCD12"', {'C02XK1ABCD12': 'SERIAL00000'}) == '"serial_number" : "SERIAL00000"'
    assert redact({'serial_number': 'C02XK1ABCD12'}) == {'serial_number': 'SERIAL00001'}


def test_email_addresses_md5_fingerprints_and_certificates_go():
    cert = 'AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIGb3yX9fC3mP7y4iQJk0xY8h1m2n3o4p'
    text = ('maintainer Jane Doe <jane.doe@example-corp.de>\nRSA key fingerprint is MD5:1f:2e:3d:4c:5b:6a:79:88:97:a6:b5:c4:d3:e2:f1:00.\n'
            'ssh-ed25519-cert-v01@openssh.com %s jane\nsk-ssh-ed25519-cert-v01@openssh.com %s\n'
            'hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com\n' % (cert, cert))
    assert redact(text) == (
        'maintainer Jane Doe <email1@example.com>\nRSA key fingerprint is MD5:REDACTED.\n'
        'ssh-ed25519-cert-v01@openssh.com AAAAREDACTED jane\nsk-ssh-ed25519-cert-v01@openssh.com AAAAREDACTED\n'
        'hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com\n')


def test_ssh_algorithm_names_are_not_mail_addresses():
    text = ('kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org\n'
            'macs umac-64-etm@openssh.com,hmac-sha2-256@ssh.com\n'
            'ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com\n')
    assert redact(text) == text


def test_what_a_model_was_told_does_not_leave_the_mac():
    """/api/show's system prompt, messages and license (and the same in the Modelfile) may be a user's words."""
    show = {'license': 'Copyright Jane', 'system': 'You help Jane with her taxes.',
            'messages': [{'role': 'user', 'content': 'my SSN is 078-05-1120'}],
            'modelfile': ('FROM /Users/jane/.ollama/models/blobs/sha256-x\nTEMPLATE """{{ .Prompt }}"""\n'
                          'SYSTEM You help Jane with her taxes.\nPARAMETER num_ctx 8192\n'
                          'LICENSE """Copyright\nJane"""\nMESSAGE user """my SSN\nis 078-05-1120"""\n'),
            'parameters': 'num_ctx 8192', 'model_info': {'general.architecture': 'llama'}}
    shows = [{'item': 'mine:latest', 'status': 200, 'content': json.dumps(show)}]
    out = json.loads(recording([], users='jane 501\n', shows=shows)['files']['api-show-mine_latest.json'])
    assert out == {'modelfile': 'FROM /Users/user1/.ollama/models/blobs/sha256-x\nTEMPLATE """{{ .Prompt }}"""\n'
                                'PARAMETER num_ctx 8192\n',
                   'parameters': 'num_ctx 8192', 'model_info': {'general.architecture': 'llama'}}
    shows = [{'item': 'gone', 'status': 404, 'content': '{"error":"model \'gone\' not found"}'}]
    assert recording([], shows=shows)['files']['api-show-gone.json'] == '{"error":"model \'gone\' not found"}'


# ---- what is not a host's address stays -----------------------------------------------------------------------

def test_netmasks_well_known_networks_and_versions_stay():
    text = ('inet 10.214.3.2 netmask 255.255.255.0 broadcast 10.214.3.255 mask 255.255.240.0\n'
            'pass in from { 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 127.0.0.0/8 } to 10.214.3.0/24\n'
            '"CFBundleVersion" : "1.2.3.4", "version": "2.0.1.7", version 3.1.4.1, v0.12.6.1, at 1.2.3.4\n'
            'fe80::/10 and fc00::/7 stay, 2a02:8071:5e1:7f00::/56 goes\n')
    assert redact(text) == (
        'inet 192.0.2.1 netmask 255.255.255.0 broadcast 192.0.2.2 mask 255.255.240.0\n'
        'pass in from { 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 127.0.0.0/8 } to 192.0.2.3/24\n'
        '"CFBundleVersion" : "1.2.3.4", "version": "2.0.1.7", version 3.1.4.1, v0.12.6.1, at 192.0.2.4\n'
        'fe80::/10 and fc00::/7 stay, 2001:db8::1/56 goes\n')


def test_what_is_never_a_hosts_address_stays():
    text = 'mDNS 224.0.0.251, SSDP 239.255.255.250, this network 0.12.6.1, reserved 240.0.0.1, a host 169.254.3.4'
    assert redact(text) == text.replace('169.254.3.4', '192.0.2.1')


def test_an_ipv4_mapped_ipv6_address_is_redacted_whole():
    assert redact('from ::ffff:10.0.0.5 and 10.0.0.5, ::ffff:127.0.0.1 and ::ffff:192.0.2.9') == \
        'from ::ffff:192.0.2.1 and 192.0.2.1, ::ffff:127.0.0.1 and ::ffff:192.0.2.9'


# ---- what did not run is recorded, not lost -------------------------------------------------------------------

def test_a_loop_that_failed_as_a_whole_is_recorded_as_not_run():
    """A become that fails (no sudo password) fails the root loop with no result per command (ignore_errors)."""
    commands = record_commands([], formulae=[])
    outside = {'results': [ran('sw_vers.txt', ['/usr/bin/sw_vers'], 'ProductName:\tmacOS\nProductVersion:\t15.6\n')],
               'changed': False}
    root = {'failed': True, 'msg': 'Task failed: Missing sudo password'}
    out = recording([outside, root], commands=commands, users='jane 501\n')
    meta = out['meta']
    assert out['files']['sw_vers.txt'].startswith('ProductName:') and out['files']['sshd-T.txt'] == ''
    assert meta['commands']['sshd-T.txt'] == {'argv': ['/usr/sbin/sshd', '-T'], 'rc': None, 'stderr': '',
                                              'error': 'Task failed: Missing sudo password'}
    assert meta['aborted'] == ['Task failed: Missing sudo password']
    assert set(meta['failed']) == set(c['file'] for c in commands) - {'sw_vers.txt'}
    assert recording([ran('sw_vers.txt', ['sw_vers'])])['meta']['aborted'] == []


def test_a_command_that_could_not_run_says_so():
    """ansible-core 2.19's command module on a missing binary: stdout there but empty, rc 2, no start."""
    missing = {'item': {'file': 'fdesetup-status.txt', 'argv': ['/usr/bin/fdesetup', 'status']}, 'rc': 2, 'stdout': '',
               'stderr': '', 'msg': 'Error executing command.', 'failed': False, 'failed_when_result': False}
    exited = ran('pmset-g-cap.txt', ['/usr/bin/pmset', '-g', 'cap'], '', 1, 'pmset: bad\n')
    exited['msg'] = 'non-zero return code'
    commands = recording([missing, exited])['meta']['commands']
    assert commands['fdesetup-status.txt']['error'] == 'Error executing command.'
    assert 'error' not in commands['pmset-g-cap.txt']


def test_without_the_users_there_is_no_recording():
    """dscl failing would leave every user's name in the files: the recording fails instead of being written."""
    with pytest.raises(AnsibleFilterError, match='dscl'):
        recording([], users={'rc': 1, 'stdout': '', 'stderr': 'DS Error: -14120 (eDSPermissionError)', 'failed': False})
    with pytest.raises(AnsibleFilterError, match='dscl'):
        recording([], users={'rc': 0, 'stdout': '', 'stderr': ''})
    out = recording([ran('launchctl-print-system-com.llmhost.ollama.txt', ['launchctl'], 'HOME => /Users/jane\n')],
                    users={'rc': 0, 'stdout': 'root 0\njane 501\n', 'stderr': ''})
    assert out['files']['launchctl-print-system-com.llmhost.ollama.txt'] == 'HOME => /Users/user1\n'
