"""The brew stand-in (reference section 3) against the simulated launchd, without a container:
prefix, /Library and homes under the state directory's root/, launchctl is the stand-in script."""

import json
import os
import plistlib
import subprocess
import sys
import time

import pytest

TINYD_PLIST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
    '<plist version="1.0">\n'
    '<dict>\n'
    '\t<key>KeepAlive</key>\n'
    '\t<true/>\n'
    '\t<key>Label</key>\n'
    '\t<string>homebrew.mxcl.tinyd</string>\n'
    '\t<key>LimitLoadToSessionType</key>\n'
    '\t<array>\n'
    '\t\t<string>Aqua</string>\n'
    '\t\t<string>Background</string>\n'
    '\t\t<string>LoginWindow</string>\n'
    '\t\t<string>StandardIO</string>\n'
    '\t\t<string>System</string>\n'
    '\t</array>\n'
    '\t<key>ProgramArguments</key>\n'
    '\t<array>\n'
    '\t\t<string>{prefix}/opt/tinyd/bin/tinyd</string>\n'
    '\t</array>\n'
    '\t<key>RunAtLoad</key>\n'
    '\t<true/>\n'
    '\t<key>StandardErrorPath</key>\n'
    '\t<string>{prefix}/var/log/tinyd.log</string>\n'
    '\t<key>StandardOutPath</key>\n'
    '\t<string>{prefix}/var/log/tinyd.log</string>\n'
    '\t<key>WorkingDirectory</key>\n'
    '\t<string>{prefix}/var</string>\n'
    '</dict>\n'
    '</plist>\n'
)
ROOT_REFUSED = ('Error: Running Homebrew as root is extremely dangerous and no longer supported.\n'
                'As Homebrew does not drop privileges on installation you would be giving all\n'
                'build scripts full access to your system.\n')
HASH_KEYS = ['name', 'service_name', 'running', 'loaded', 'schedulable', 'pid', 'exit_code', 'user', 'status',
             'file', 'registered', 'loaded_file', 'command', 'working_dir', 'root_dir', 'log_path',
             'error_log_path', 'interval', 'cron']


@pytest.fixture
def brew(ld):
    ld.prefix = ld.root_path('/opt/homebrew')
    ld.agents = ld.root_path('/Users/admin/Library/LaunchAgents')
    ld.daemons = ld.root_path('/Library/LaunchDaemons')
    return ld


def install(sim, name):
    res = sim.run('brew', 'install', name, euid=501)
    assert res.rc == 0, res
    return res


def info(sim, name, euid=501):
    res = sim.run('brew', 'services', 'info', name, '--json', euid=euid)
    assert res.rc == 0, res
    data = json.loads(res.out)
    assert isinstance(data, list) and len(data) == 1
    assert list(data[0]) == HASH_KEYS
    return data[0]


def wait_for(fetch, until=bool, timeout=8.0):
    """fetch() again and again until until(value) holds; returns that value."""
    end = time.time() + timeout
    while time.time() < end:
        value = fetch()
        if until(value):
            return value
        time.sleep(0.1)
    raise AssertionError('condition not met')


def test_root_is_refused_except_services(brew):
    for args in (['install', 'tinyd'], ['list', '--versions'], ['info', '--json=v2', 'tinyd']):
        res = brew.run('brew', *args, euid=0)
        assert (res.rc, res.out, res.err) == (1, '', ROOT_REFUSED)
    assert brew.run('brew', 'services', 'list', euid=0).rc == 0
    assert brew.run('brew', '--prefix', euid=0).out == brew.prefix + '\n'
    kinds = [(c['argv'][1], c['kind'], c['rc']) for c in brew.calls() if c['tool'] == 'brew']
    assert kinds[:3] == [('install', 'write', 1), ('list', 'read', 1), ('info', 'read', 1)]


def test_install_and_list(brew):
    res = brew.run('brew', 'list', '--versions', 'tinyd', euid=501)
    assert (res.rc, res.out) == (1, '')
    res = install(brew, 'tinyd')
    assert res.out.startswith('==> Fetching downloads for: tinyd\n')
    assert 'To start tinyd now and restart at login:\n  brew services start tinyd\n' in res.out
    keg = os.path.join(brew.prefix, 'Cellar/tinyd/1.0.0')
    with open(os.path.join(keg, 'homebrew.mxcl.tinyd.plist')) as f:
        assert f.read() == TINYD_PLIST.replace('{prefix}', brew.prefix)
    assert os.readlink(os.path.join(brew.prefix, 'opt/tinyd')) == '../Cellar/tinyd/1.0.0'
    assert os.readlink(os.path.join(brew.prefix, 'bin/tinyd')) == '../Cellar/tinyd/1.0.0/bin/tinyd'
    assert os.access(os.path.join(brew.prefix, 'opt/tinyd/bin/tinyd'), os.X_OK)
    assert json.load(open(os.path.join(keg, 'INSTALL_RECEIPT.json')))['installed_on_request'] is True
    assert brew.run('brew', 'list', '--versions', 'tinyd', euid=501).out == 'tinyd 1.0.0\n'
    assert brew.run('brew', 'list', '--versions', euid=501).out == 'tinyd 1.0.0\n'
    assert brew.run('brew', 'list', euid=501).out == 'tinyd\n'
    res = brew.run('brew', 'install', 'tinyd', euid=501)
    assert res.rc == 0 and res.err.startswith('Warning: tinyd 1.0.0 is already installed and up-to-date.\n')
    res = brew.run('brew', 'install', 'nosuch', euid=501)
    assert (res.rc, res.err) == (1, 'Error: No available formula with the name "nosuch".\n')


def test_install_ollama(brew):
    install(brew, 'ollama')
    keg = os.path.join(brew.prefix, 'Cellar/ollama/0.32.3')
    assert os.readlink(os.path.join(keg, 'bin/ollama')) == '../libexec/ollama'
    with open(os.path.join(keg, 'homebrew.mxcl.ollama.plist'), 'rb') as f:
        plist = plistlib.load(f)
    assert plist['EnvironmentVariables'] == {'OLLAMA_FLASH_ATTENTION': '1', 'OLLAMA_KV_CACHE_TYPE': 'q8_0'}
    assert plist['ProgramArguments'] == [brew.prefix + '/opt/ollama/bin/ollama', 'serve']
    data = json.loads(brew.run('brew', 'info', '--json=v2', 'ollama', euid=501).out)
    assert data['casks'] == [] and len(data['formulae']) == 1
    formula = data['formulae'][0]
    assert formula['name'] == 'ollama' and formula['versions']['stable'] == '0.32.3'
    assert [i['version'] for i in formula['installed']] == ['0.32.3'] and formula['linked_keg'] == '0.32.3'
    assert formula['outdated'] is False
    assert formula['service']['run'] == ['$HOMEBREW_PREFIX/opt/ollama/bin/ollama', 'serve']
    hash_ = info(brew, 'ollama')
    assert hash_['command'] == ('OLLAMA_FLASH_ATTENTION="1" OLLAMA_KV_CACHE_TYPE="q8_0" '
                                '%s/opt/ollama/bin/ollama serve' % brew.prefix)
    assert (hash_['working_dir'], hash_['log_path']) == (brew.prefix + '/var', brew.prefix + '/var/log/ollama.log')
    res = brew.run('brew', 'services', 'run', 'ollama', euid=0)
    assert res.out == 'Service `ollama` cannot be run (but can be started) as root.\n'


def test_info_of_a_formula_not_started(brew):
    hash_ = info(brew, 'tinyd')   # known, not installed
    assert (hash_['loaded'], hash_['status'], hash_['user'], hash_['registered']) == (False, 'none', None, False)
    assert hash_['file'] == brew.prefix + '/opt/tinyd/homebrew.mxcl.tinyd.plist'
    res = brew.run('brew', 'services', 'info', 'nosuch', '--json', euid=501)
    assert (res.rc, res.err) == (1, 'Error: No available formula with the name "nosuch".\n')
    res = brew.run('brew', 'services', 'start', 'tinyd', euid=501)
    assert (res.rc, res.err) == (1, 'Error: Formula `tinyd` is not installed.\n')


def test_user_start_needs_a_gui_login(brew):
    install(brew, 'tinyd')
    res = brew.run('brew', 'services', 'start', 'tinyd', euid=501)
    agent = os.path.join(brew.agents, 'homebrew.mxcl.tinyd.plist')
    assert (res.rc, res.out) == (1, '')
    assert res.err == (
        'Bootstrap failed: 5: Input/output error\n'
        'Try re-running the command as root for richer errors.\n'
        'Error: Failure while executing; `/bin/launchctl bootstrap gui/501 %s` exited with 5.\n' % agent)
    assert os.path.exists(agent)
    launchctl = [c['argv'][1:] for c in brew.calls() if c['tool'] == 'launchctl']
    assert launchctl == [['print', 'gui/501/homebrew.mxcl.tinyd'], ['list', 'homebrew.mxcl.tinyd'],
                         ['enable', 'gui/501/homebrew.mxcl.tinyd'], ['bootstrap', 'gui/501', agent]]
    hash_ = info(brew, 'tinyd')
    assert (hash_['status'], hash_['registered'], hash_['user'], hash_['file']) == ('none', True, 'admin', agent)
    # After a GUI login the agent left in ~/Library/LaunchAgents is loaded and runs.
    assert brew.run('macsim-session', 'login', 'admin').rc == 0
    hash_ = wait_for(lambda: info(brew, 'tinyd'), lambda h: h['running'])
    assert (hash_['status'], hash_['loaded'], hash_['loaded_file'], hash_['user']) == ('started', True, agent, 'admin')
    res = brew.run('brew', 'services', 'start', 'tinyd', euid=501)
    assert (res.rc, res.out) == (0, 'Service `tinyd` already started, use `brew services restart tinyd` to restart.\n')
    res = brew.run('brew', 'services', 'restart', 'tinyd', euid=501)
    assert res.rc == 0, res
    assert res.out == ('Stopping `tinyd`... (might take a while)\n'
                       '==> Successfully stopped `tinyd` (label: homebrew.mxcl.tinyd)\n'
                       '==> Successfully started `tinyd` (label: homebrew.mxcl.tinyd)\n')
    res = brew.run('brew', 'services', 'stop', 'tinyd', euid=501)
    assert res.rc == 0 and not os.path.exists(agent)
    res = brew.run('brew', 'services', 'stop', 'tinyd', euid=501)
    assert (res.rc, res.err) == (0, 'Warning: Service `tinyd` is not started.\n')


def test_sudo_start_with_service_user(brew):
    install(brew, 'tinyd')
    res = brew.run('brew', 'services', 'start', 'tinyd', '--sudo-service-user', 'admin', euid=501)
    assert (res.rc, res.err.splitlines()[-1]) == (1, 'Error: Invalid usage: `brew services` is supported only '
                                                     'when running as root!')
    res = brew.run('brew', 'services', 'start', 'tinyd', '--sudo-service-user', 'admin', euid=0)
    assert res.rc == 0, res
    assert res.out == ('==> Setting username in homebrew.mxcl.tinyd to: root\n'
                       '==> Successfully started `tinyd` (label: homebrew.mxcl.tinyd)\n')
    assert res.err == 'Warning: tinyd must be run as non-root to start at user login!\n'
    daemon = os.path.join(brew.daemons, 'homebrew.mxcl.tinyd.plist')
    with open(daemon, 'rb') as f:
        plist = plistlib.load(f)
    assert plist['UserName'] == 'admin' and plist['Label'] == 'homebrew.mxcl.tinyd'
    hash_ = wait_for(lambda: info(brew, 'tinyd', euid=0), lambda h: h['running'])
    assert (hash_['user'], hash_['file'], hash_['loaded_file'], hash_['status'], hash_['exit_code']) == (
        'admin', daemon, daemon, 'started', None)
    # As admin (gui/501 not there): not loaded for admin, but the file is registered, as root's.
    hash_ = info(brew, 'tinyd', euid=501)
    assert (hash_['loaded'], hash_['registered'], hash_['user']) == (False, True, 'root')
    res = brew.run('brew', 'services', 'list', euid=0)
    assert res.out == ('Name  Status User  File\n'
                       'tinyd started         admin %s\n' % daemon)
    res = brew.run('brew', 'services', 'list', '--json', euid=0)
    assert json.loads(res.out) == [{'name': 'tinyd', 'status': 'started', 'user': 'admin', 'file': daemon,
                                    'exit_code': None}]
    res = brew.run('brew', 'services', 'stop', 'tinyd', euid=501)
    assert (res.rc, res.err) == (1, 'Error: Service `tinyd` is started as `root`. Try:\n'
                                    '  sudo brew services stop tinyd\n')
    res = brew.run('brew', 'services', 'stop', 'tinyd', euid=0)
    assert res.rc == 0 and not os.path.exists(daemon)
    assert brew.run('launchctl', 'print', 'system/homebrew.mxcl.tinyd').rc == 113


def test_sudo_start_takes_root_ownership_and_survives_reboot(brew):
    install(brew, 'tinyd')
    res = brew.run('brew', 'services', 'start', 'tinyd', euid=0)
    assert res.rc == 0, res
    assert 'Warning: Taking root:admin ownership of some tinyd paths:\n' in res.err
    assert '  %s/opt/tinyd\n' % brew.prefix in res.err
    assert 'This will require manual removal of these paths using `sudo rm` on\n' in res.err
    wait_for(lambda: info(brew, 'tinyd', euid=0)['running'])
    brew.reboot_launchd()
    hash_ = wait_for(lambda: info(brew, 'tinyd', euid=0), lambda h: h['running'])
    assert hash_['user'] == 'root' and hash_['status'] == 'started'


def test_crash_loop_is_an_error_status(brew):
    install(brew, 'tinyd')
    os.makedirs(os.path.join(brew.prefix, 'etc'), exist_ok=True)
    with open(os.path.join(brew.prefix, 'etc/tinyd.conf'), 'w') as f:
        f.write('exit = 78\n')
    assert brew.run('brew', 'services', 'start', 'tinyd', '--sudo-service-user', 'admin', euid=0).rc == 0
    hash_ = wait_for(lambda: info(brew, 'tinyd', euid=0), lambda h: h['exit_code'])
    assert (hash_['status'], hash_['exit_code'], hash_['running'], hash_['loaded']) == ('error', 78, False, True)
    text = brew.run('launchctl', 'print', 'system/homebrew.mxcl.tinyd').out
    assert '\tstate = spawn scheduled\n' in text and '\tlast exit code = 78: EX_CONFIG\n' in text
    assert 'tinyd: exit 78 (configured)\n' in open(os.path.join(brew.prefix, 'var/log/tinyd.log')).read()
    res = brew.run('brew', 'services', 'list', euid=0)
    assert res.out.splitlines()[1].startswith('tinyd error  78       admin ')


@pytest.mark.parametrize('args, message', [
    (['services', 'start'], 'Formula(e) missing, please provide a formula name or use `--all`.'),
    (['services', 'frob', 'tinyd'], 'unknown subcommand: `frob`'),
    (['services', 'list', 'tinyd'], 'The `list` subcommand does not accept a formula argument!'),
    (['services', 'start', 'tinyd', '--bogus'], 'invalid option: --bogus'),
])
def test_services_usage_errors(brew, args, message):
    res = brew.run('brew', *args, euid=501)
    assert res.rc == 1 and res.err.startswith('Usage: brew services [subcommand]\n')
    assert res.err.endswith('Error: Invalid usage: %s\n' % message)


def test_not_simulated(brew):
    res = brew.run('brew', 'reinstall', 'tinyd', euid=501)
    assert (res.rc, res.err) == (2, 'macsim: brew reinstall tinyd is not simulated\n')


# ---- newer versions: outdated, upgrade, install of an outdated formula ------------------------------

@pytest.fixture
def hb(sim):
    """brew without launchd (nothing here touches services)."""
    sim.prefix = sim.root_path('/opt/homebrew')
    return sim


def formula_info(sim, name):
    res = sim.run('brew', 'info', '--json=v2', name, euid=501)
    assert res.rc == 0, res
    return json.loads(res.out)['formulae'][0]


def kegs(sim, name):
    return sorted(os.listdir(os.path.join(sim.prefix, 'Cellar', name)))


def make_available(sim, **versions):
    sim.write_json('homebrew-available.json', versions)


def test_a_newer_version_makes_an_installed_formula_outdated(hb):
    install(hb, 'ollama')
    assert formula_info(hb, 'ollama')['outdated'] is False
    res = hb.run('brew', 'outdated', euid=501)
    assert (res.rc, res.out, res.err) == (0, '', '')
    make_available(hb, ollama='0.33.0')
    formula = formula_info(hb, 'ollama')
    assert (formula['outdated'], formula['versions']['stable'], formula['linked_keg']) == (True, '0.33.0', '0.32.3')
    assert [i['version'] for i in formula['installed']] == ['0.32.3']
    assert hb.run('brew', 'outdated', euid=501).out == 'ollama\n'
    res = hb.run('brew', 'outdated', 'ollama', euid=501)
    assert (res.rc, res.out) == (1, 'ollama\n')        # a named formula that is outdated: exit 1
    assert hb.run('brew', 'outdated', '-v', euid=501).out == 'ollama (0.32.3) < 0.33.0\n'
    res = hb.run('brew', 'outdated', '--json=v2', euid=501)
    assert res.rc == 0 and json.loads(res.out) == {'formulae': [{
        'name': 'ollama', 'installed_versions': ['0.32.3'], 'current_version': '0.33.0', 'pinned': False,
        'pinned_version': None}], 'casks': []}
    res = hb.run('brew', 'outdated', 'tinyd', euid=501)     # not installed: not outdated
    assert (res.rc, res.out) == (0, '')
    assert set((c['kind'], c['rc']) for c in hb.calls() if c['argv'][1] == 'outdated') == {('read', 0), ('read', 1)}


def test_the_newer_version_is_per_instance(hb, laptop):
    laptop.prefix = laptop.root_path('/opt/homebrew')
    install(hb, 'ollama')
    install(laptop, 'ollama')
    make_available(hb, ollama='0.33.0')
    assert formula_info(hb, 'ollama')['outdated'] is True
    assert formula_info(laptop, 'ollama')['outdated'] is False


def test_upgrade_pours_the_new_keg_relinks_and_cleans_up(hb):
    install(hb, 'ollama')
    old_keg = os.path.join(hb.prefix, 'Cellar/ollama/0.32.3')
    make_available(hb, ollama='0.33.0')
    res = hb.run('brew', 'upgrade', 'ollama', euid=501)
    assert (res.rc, res.err) == (0, ''), res
    assert res.out.startswith('==> Upgrading 1 outdated package:\n'
                              'ollama 0.32.3 -> 0.33.0\n'
                              '==> Upgrading ollama\n'
                              '  0.32.3 -> 0.33.0\n'
                              '\n'
                              '==> Pouring ollama--0.33.0.arm64_sequoia.bottle.tar.gz\n')
    assert '==> Running `brew cleanup ollama`...\n' in res.out
    assert 'Removing: %s... (' % old_keg in res.out
    assert kegs(hb, 'ollama') == ['0.33.0'] and not os.path.exists(old_keg)
    new_keg = os.path.join(hb.prefix, 'Cellar/ollama/0.33.0')
    assert os.readlink(os.path.join(hb.prefix, 'opt/ollama')) == '../Cellar/ollama/0.33.0'
    assert os.readlink(os.path.join(hb.prefix, 'var/homebrew/linked/ollama')) == '../../../Cellar/ollama/0.33.0'
    assert os.readlink(os.path.join(hb.prefix, 'bin/ollama')) == '../Cellar/ollama/0.33.0/bin/ollama'
    assert os.access(os.path.join(hb.prefix, 'bin/ollama'), os.X_OK)
    with open(os.path.join(new_keg, 'homebrew.mxcl.ollama.plist'), 'rb') as f:
        plist = plistlib.load(f)
    assert plist['ProgramArguments'] == [hb.prefix + '/opt/ollama/bin/ollama', 'serve']
    assert json.load(open(os.path.join(new_keg, 'INSTALL_RECEIPT.json')))['source']['versions'] == {'stable': '0.33.0'}
    formula = formula_info(hb, 'ollama')
    assert (formula['outdated'], formula['linked_keg'], [i['version'] for i in formula['installed']]) == (
        False, '0.33.0', ['0.33.0'])
    assert hb.run('brew', 'list', '--versions', 'ollama', euid=501).out == 'ollama 0.33.0\n'
    # Up to date now.
    res = hb.run('brew', 'upgrade', 'ollama', euid=501)
    assert (res.rc, res.out, res.err) == (0, '', 'Warning: ollama 0.33.0 already installed\n')
    res = hb.run('brew', 'upgrade', euid=501)
    assert (res.rc, res.out, res.err) == (0, '', '')
    assert [(c['argv'][1:], c['kind'], c['rc']) for c in hb.calls() if c['argv'][1] == 'upgrade'] == [
        (['upgrade', 'ollama'], 'write', 0), (['upgrade', 'ollama'], 'write', 0), (['upgrade'], 'write', 0)]


def test_upgrade_refuses_root_and_formulae_not_installed(hb):
    make_available(hb, ollama='0.33.0')
    res = hb.run('brew', 'upgrade', 'ollama', euid=0)
    assert (res.rc, res.out, res.err) == (1, '', ROOT_REFUSED)
    res = hb.run('brew', 'upgrade', 'ollama', euid=501)
    assert (res.rc, res.out, res.err) == (1, '', 'Error: ollama not installed\n')
    res = hb.run('brew', 'upgrade', 'nosuch', euid=501)
    assert (res.rc, res.err) == (1, 'Error: No available formula with the name "nosuch".\n')
    assert not os.path.exists(os.path.join(hb.prefix, 'Cellar'))
    assert [c['kind'] for c in hb.calls()] == ['write', 'write', 'error']


def test_upgrade_all_outdated(hb):
    install(hb, 'ollama')
    install(hb, 'tinyd')
    make_available(hb, ollama='0.33.0', tinyd='1.1.0')
    res = hb.run('brew', 'upgrade', euid=501)
    assert res.rc == 0, res
    assert res.out.startswith('==> Upgrading 2 outdated packages:\nollama 0.32.3 -> 0.33.0\ntinyd 1.0.0 -> 1.1.0\n')
    assert (kegs(hb, 'ollama'), kegs(hb, 'tinyd')) == (['0.33.0'], ['1.1.0'])
    assert os.readlink(os.path.join(hb.prefix, 'bin/tinyd')) == '../Cellar/tinyd/1.1.0/bin/tinyd'


def test_install_of_an_outdated_formula_upgrades_it(hb):
    install(hb, 'ollama')
    make_available(hb, ollama='0.33.0')
    res = hb.run('brew', 'install', 'ollama', euid=501)
    assert (res.rc, res.err) == (0, ''), res
    assert res.out.startswith('ollama 0.32.3 is installed but outdated\n==> Upgrading ollama\n  0.32.3 -> 0.33.0\n')
    assert kegs(hb, 'ollama') == ['0.33.0']
    res = hb.run('brew', 'install', 'ollama', euid=501)
    assert res.err.startswith('Warning: ollama 0.33.0 is already installed and up-to-date.\n')


def test_a_fresh_install_takes_the_newest_version(hb):
    make_available(hb, ollama='0.33.0')
    install(hb, 'ollama')
    assert kegs(hb, 'ollama') == ['0.33.0'] and formula_info(hb, 'ollama')['outdated'] is False


def test_no_install_cleanup_keeps_the_old_keg(hb):
    install(hb, 'ollama')
    make_available(hb, ollama='0.33.0')
    env = dict(hb.env(501), HOMEBREW_NO_INSTALL_CLEANUP='1')
    proc = subprocess.run([sys.executable, hb.script('brew'), 'upgrade', 'ollama'], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 0 and 'Removing:' not in proc.stdout
    assert kegs(hb, 'ollama') == ['0.32.3', '0.33.0']
    formula = formula_info(hb, 'ollama')
    assert (formula['outdated'], formula['linked_keg']) == (False, '0.33.0')
    assert hb.run('brew', 'list', '--versions', 'ollama', euid=501).out == 'ollama 0.32.3 0.33.0\n'
    res = hb.run('brew', 'uninstall', 'ollama', euid=501)
    assert res.out == ('Uninstalling %s/Cellar/ollama/0.32.3... (4 files)\n'
                       'Uninstalling %s/Cellar/ollama/0.33.0... (4 files)\n' % (hb.prefix, hb.prefix))
    assert not os.path.lexists(os.path.join(hb.prefix, 'bin/ollama'))


# ---- community.general.homebrew driving the stand-in -------------------------------------------------

HOMEBREW_MODULE = 'ansible_collections.community.general.plugins.modules.homebrew'


def homebrew_module(sim, tmp_path, **args):
    """Run community.general's homebrew module as Ansible would (arguments on stdin), with `path`
    pointing at a `brew` that runs the stand-in."""
    bindir = tmp_path / 'brewbin'
    if not bindir.exists():
        bindir.mkdir()
        wrapper = bindir / 'brew'
        wrapper.write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (sys.executable, sim.script('brew')))
        wrapper.chmod(0o755)
    args = dict(args, path=str(bindir))
    proc = subprocess.run([sys.executable, '-m', HOMEBREW_MODULE], input=json.dumps({'ANSIBLE_MODULE_ARGS': args}),
                          env=sim.env(501), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout[proc.stdout.index('{'):])


def test_community_general_homebrew_installs_and_upgrades(hb, tmp_path):
    pytest.importorskip(HOMEBREW_MODULE)
    result = homebrew_module(hb, tmp_path, name='ollama', state='present')
    assert (result.get('failed'), result['changed'], result['msg']) == (None, True, 'Package installed: ollama')
    assert homebrew_module(hb, tmp_path, name='ollama', state='present')['changed'] is False
    assert homebrew_module(hb, tmp_path, name='ollama', state='latest')['msg'] == 'Package already upgraded: ollama'
    make_available(hb, ollama='0.33.0')
    assert homebrew_module(hb, tmp_path, name='ollama', state='present')['changed'] is False
    result = homebrew_module(hb, tmp_path, name='ollama', state='latest', _ansible_check_mode=True)
    assert (result['changed'], result['msg']) == (True, 'Package would be upgraded: ollama')
    assert kegs(hb, 'ollama') == ['0.32.3']
    result = homebrew_module(hb, tmp_path, name='ollama', state='latest')
    assert (result.get('failed'), result['changed'], result['msg']) == (None, True, 'Package upgraded: ollama')
    assert kegs(hb, 'ollama') == ['0.33.0']
    assert homebrew_module(hb, tmp_path, name='ollama', state='latest')['changed'] is False
    writes = [c['argv'][1:] for c in hb.calls() if c['tool'] == 'brew' and c['kind'] == 'write']
    assert writes == [['install', 'ollama'], ['upgrade', 'ollama']]


# ---- caddy: a keg file copied from the simulated Mac (the real binary `macsim build` fetched) ----------

CADDY_IN_BASE = '/usr/local/lib/macsim/homebrew/caddy/caddy'
CADDY_PLIST_KEYS = ['EnvironmentVariables', 'KeepAlive', 'Label', 'LimitLoadToSessionType', 'ProgramArguments',
                    'RunAtLoad', 'StandardErrorPath', 'StandardOutPath']


def fake_caddy(sim, text='#!/bin/sh\necho v2.11.7\n'):
    path = sim.root_path(CADDY_IN_BASE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


def test_the_catalogue_has_caddy_with_the_formulas_service():
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'guest/usr/local/lib/macsim/homebrew/formulae.json')) as f:
        caddy = json.load(f)['caddy']
    assert caddy['version'] == '2.11.7'
    assert caddy['install'] == {'bin/caddy': {'file': CADDY_IN_BASE}}
    assert caddy['service'] == {
        'run': ['$HOMEBREW_PREFIX/opt/caddy/bin/caddy', 'run', '--config', '$HOMEBREW_PREFIX/etc/Caddyfile'],
        'keep_alive': {'always': True},
        'log_path': '$HOMEBREW_PREFIX/var/log/caddy.log', 'error_log_path': '$HOMEBREW_PREFIX/var/log/caddy.log',
        'environment_variables': {'XDG_DATA_HOME': '$HOMEBREW_PREFIX/var/lib', 'HOME': '$HOMEBREW_PREFIX/var/lib'}}


def test_install_caddy_copies_the_binary_into_the_cellar(hb):
    source = fake_caddy(hb)
    install(hb, 'caddy')
    keg = os.path.join(hb.prefix, 'Cellar/caddy/2.11.7')
    binary = os.path.join(keg, 'bin/caddy')
    assert not os.path.islink(binary) and open(binary).read() == open(source).read()
    assert os.stat(binary).st_mode & 0o777 == 0o755
    assert os.path.realpath(os.path.join(hb.prefix, 'opt/caddy/bin/caddy')) == os.path.realpath(binary)
    assert os.readlink(os.path.join(hb.prefix, 'bin/caddy')) == '../Cellar/caddy/2.11.7/bin/caddy'
    assert subprocess.run([os.path.join(hb.prefix, 'opt/caddy/bin/caddy'), 'version'], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False).stdout == 'v2.11.7\n'
    with open(os.path.join(keg, 'homebrew.mxcl.caddy.plist'), 'rb') as f:
        plist = plistlib.load(f)
    assert sorted(plist) == CADDY_PLIST_KEYS and plist['KeepAlive'] is True
    assert plist['ProgramArguments'] == [hb.prefix + '/opt/caddy/bin/caddy', 'run', '--config', hb.prefix + '/etc/Caddyfile']
    assert plist['EnvironmentVariables'] == {'XDG_DATA_HOME': hb.prefix + '/var/lib', 'HOME': hb.prefix + '/var/lib'}
    assert plist['StandardOutPath'] == plist['StandardErrorPath'] == hb.prefix + '/var/log/caddy.log'
    formula = formula_info(hb, 'caddy')
    assert (formula['versions']['stable'], formula['linked_keg'], formula['outdated']) == ('2.11.7', '2.11.7', False)
    assert formula['service']['run'][0] == '$HOMEBREW_PREFIX/opt/caddy/bin/caddy'
    assert hb.run('brew', 'list', '--versions', 'caddy', euid=501).out == 'caddy 2.11.7\n'


def test_upgrade_caddy_pours_a_new_keg_with_the_same_binary(hb):
    source = fake_caddy(hb)
    install(hb, 'caddy')
    make_available(hb, caddy='2.11.8')
    assert formula_info(hb, 'caddy')['outdated'] is True
    res = hb.run('brew', 'upgrade', 'caddy', euid=501)
    assert res.rc == 0 and 'caddy 2.11.7 -> 2.11.8\n' in res.out, res
    assert kegs(hb, 'caddy') == ['2.11.8']
    binary = os.path.join(hb.prefix, 'Cellar/caddy/2.11.8/bin/caddy')
    assert open(binary).read() == open(source).read()
    assert os.path.realpath(os.path.join(hb.prefix, 'opt/caddy/bin/caddy')) == os.path.realpath(binary)
    assert os.path.isfile(os.path.join(hb.prefix, 'Cellar/caddy/2.11.8/homebrew.mxcl.caddy.plist'))


def test_install_caddy_without_the_binary_in_the_base_pours_nothing(hb):
    res = hb.run('brew', 'install', 'caddy', euid=501)
    assert res.rc == 1 and res.err == ('Error: macsim: bin/caddy of caddy needs %s, which is not in this base image '
                                       '(rebuild it: macsim build)\n' % CADDY_IN_BASE), res
    assert not os.path.exists(os.path.join(hb.prefix, 'Cellar/caddy'))
