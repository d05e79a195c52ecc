"""defaults stand-in: path domains read, read-type, write and delete, with macOS's error texts and
exit codes (the missing-key text is what plugins/module_utils/autologin.py matches)."""

import os
import plistlib
import re
import subprocess
import sys

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils.autologin import Defaults

DEFAULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'guest', 'usr', 'bin',
                        'defaults')
LOGINWINDOW = '/Library/Preferences/com.apple.loginwindow'
HEADER = r'\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} defaults\[\d+:\d+\] \n'


def defaults(sim, *args, **kw):
    proc = subprocess.run([sys.executable, DEFAULTS] + list(args), env=sim.env(kw.get('euid', 0)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def prefs(sim):
    """/Library/Preferences of the simulated Mac (root's, 0755) and admin's ~/Library/Preferences."""
    for path, mode in (('/Library/Preferences', 0o755), ('/Users/admin/Library/Preferences', 0o700)):
        os.makedirs(sim.root_path(path), exist_ok=True)
        os.chmod(sim.root_path(path), mode)
    return sim


def stored(sim, domain=LOGINWINDOW):
    with open(sim.root_path(domain + '.plist'), 'rb') as f:
        data = f.read()
    assert data.startswith(b'bplist00')   # binary, as cfprefsd writes
    return plistlib.loads(data)


def test_write_then_read_a_string(prefs):
    assert defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'admin') == (0, '', '')
    assert stored(prefs) == {'autoLoginUser': 'admin'}
    assert defaults(prefs, 'read', LOGINWINDOW, 'autoLoginUser', euid=501) == (0, 'admin\n', '')
    assert defaults(prefs, 'read-type', LOGINWINDOW, 'autoLoginUser') == (0, 'Type is string\n', '')
    assert os.stat(prefs.root_path(LOGINWINDOW + '.plist')).st_mode & 0o777 == 0o644


@pytest.mark.parametrize('flag, text, value, printed, kind', [
    ('-int', '42', 42, '42', 'integer'), ('-integer', '-3', -3, '-3', 'integer'),
    ('-bool', 'YES', True, '1', 'boolean'), ('-boolean', 'false', False, '0', 'boolean'),
    ('-bool', 'TRUE', True, '1', 'boolean'), ('-float', '1.5', 1.5, '1.5', 'float'),
    ('-string', 'two words', 'two words', 'two words', 'string')])
def test_typed_values(prefs, flag, text, value, printed, kind):
    assert defaults(prefs, 'write', LOGINWINDOW, 'k', flag, text) == (0, '', '')
    assert stored(prefs)['k'] == value and type(stored(prefs)['k']) is type(value)
    assert defaults(prefs, 'read', LOGINWINDOW, 'k') == (0, printed + '\n', '')
    assert defaults(prefs, 'read-type', LOGINWINDOW, 'k') == (0, 'Type is %s\n' % kind, '')


def test_a_bare_value_is_a_string_and_a_write_keeps_the_other_keys(prefs):
    defaults(prefs, 'write', LOGINWINDOW, 'GuestEnabled', '-bool', 'no')
    assert defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', 'admin') == (0, '', '')
    assert stored(prefs) == {'GuestEnabled': False, 'autoLoginUser': 'admin'}


def test_a_domain_given_with_its_plist_suffix(prefs):
    defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'admin')
    assert defaults(prefs, 'read', LOGINWINDOW + '.plist', 'autoLoginUser') == (0, 'admin\n', '')


def test_a_missing_key_or_domain(prefs):
    rc, out, err = defaults(prefs, 'read', LOGINWINDOW, 'autoLoginUser', euid=501)
    assert (rc, out) == (1, '')
    assert re.match(HEADER + r'The domain/default pair of \(%s, autoLoginUser\) does not exist\n\Z' % LOGINWINDOW,
                    err), err
    defaults(prefs, 'write', LOGINWINDOW, 'other', '-int', '1')
    rc, out, err = defaults(prefs, 'read', LOGINWINDOW, 'autoLoginUser')
    assert (rc, out) == (1, '') and err.endswith('\nThe domain/default pair of (%s, autoLoginUser) does not exist\n'
                                                 % LOGINWINDOW)
    rc, out, err = defaults(prefs, 'read-type', LOGINWINDOW, 'autoLoginUser')
    assert (rc, out) == (1, '') and 'The domain/default pair of (%s, autoLoginUser) does not exist' % LOGINWINDOW in err
    rc, out, err = defaults(prefs, 'read', '/Library/Preferences/com.example.none')
    assert (rc, out) == (1, '')
    assert re.match(HEADER + r'Domain /Library/Preferences/com\.example\.none does not exist\n\Z', err), err


def test_the_collections_defaults_wrapper(prefs):
    """plugins/module_utils/autologin.py's Defaults against the stand-in: None for a missing key."""
    def run(argv):
        return defaults(prefs, *argv[1:])
    wrapper = Defaults('/usr/bin/defaults', run)
    assert wrapper.read(LOGINWINDOW, 'autoLoginUser') is None
    wrapper.write_string(LOGINWINDOW, 'autoLoginUser', 'admin')
    assert wrapper.read(LOGINWINDOW, 'autoLoginUser') == 'admin'
    wrapper.delete(LOGINWINDOW, 'autoLoginUser')
    assert wrapper.read(LOGINWINDOW, 'autoLoginUser') is None


def test_read_of_a_whole_domain(prefs):
    defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'admin')
    defaults(prefs, 'write', LOGINWINDOW, 'GuestEnabled', '-bool', 'false')
    defaults(prefs, 'write', LOGINWINDOW, 'LoginwindowText', '-string', 'Hello there')
    assert defaults(prefs, 'read', LOGINWINDOW) == (
        0, '{\n    GuestEnabled = 0;\n    LoginwindowText = "Hello there";\n    autoLoginUser = admin;\n}\n', '')


def test_a_user_cannot_write_roots_preferences(prefs):
    rc, out, err = defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'admin', euid=501)
    assert (rc, out, err) == (1, '', 'Could not write domain %s; exiting\n' % LOGINWINDOW)
    assert not os.path.exists(prefs.root_path(LOGINWINDOW + '.plist'))
    defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'admin')
    rc, out, err = defaults(prefs, 'delete', LOGINWINDOW, 'autoLoginUser', euid=501)
    assert (rc, err) == (1, 'Could not write domain %s; exiting\n' % LOGINWINDOW)
    assert stored(prefs) == {'autoLoginUser': 'admin'}
    # a directory that does not exist cannot be written either (INVENTED: cfprefsd creates nothing)
    rc, _out, err = defaults(prefs, 'write', '/Library/Nowhere/com.example', 'k', '-int', '1')
    assert (rc, err) == (1, 'Could not write domain /Library/Nowhere/com.example; exiting\n')


def test_a_user_writes_their_own_path_domain(prefs):
    domain = '/Users/admin/Library/Preferences/com.example.tool'
    assert defaults(prefs, 'write', domain, 'level', '-int', '3', euid=501) == (0, '', '')
    assert defaults(prefs, 'read', domain, 'level', euid=501) == (0, '3\n', '')
    assert defaults(prefs, 'delete', domain, 'level', euid=501) == (0, '', '')
    assert stored(prefs, domain) == {}
    rc, _out, err = defaults(prefs, 'write', domain, 'level', '-int', '3', euid=502)   # not guest's home
    assert (rc, err) == (1, 'Could not write domain %s; exiting\n' % domain)


def test_delete(prefs):
    defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'admin')
    defaults(prefs, 'write', LOGINWINDOW, 'GuestEnabled', '-bool', 'no')
    assert defaults(prefs, 'delete', LOGINWINDOW, 'autoLoginUser') == (0, '', '')
    assert stored(prefs) == {'GuestEnabled': False}
    rc, out, err = defaults(prefs, 'read', LOGINWINDOW, 'autoLoginUser')
    assert rc == 1 and 'does not exist' in err
    # INVENTED texts: a delete of a missing key or domain
    rc, out, err = defaults(prefs, 'delete', LOGINWINDOW, 'autoLoginUser')
    assert (rc, out) == (1, '')
    assert re.match(HEADER + r'Domain \(%s\) not found\.\nDefaults have not been changed\.\n\Z' % LOGINWINDOW, err)
    assert defaults(prefs, 'delete', LOGINWINDOW) == (0, '', '')     # the whole domain
    assert not os.path.exists(prefs.root_path(LOGINWINDOW + '.plist'))
    rc, _out, err = defaults(prefs, 'delete', LOGINWINDOW)
    assert rc == 1 and 'Domain (%s) not found.' % LOGINWINDOW in err


def test_an_xml_plist_is_read_and_written_back_binary(prefs):
    with open(prefs.root_path(LOGINWINDOW + '.plist'), 'wb') as f:
        plistlib.dump({'autoLoginUser': 'guest', 'count': 2}, f)
    assert defaults(prefs, 'read', LOGINWINDOW, 'autoLoginUser') == (0, 'guest\n', '')
    defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'admin')
    assert stored(prefs) == {'autoLoginUser': 'admin', 'count': 2}


def test_array_and_array_add_of_strings(prefs):
    """What Ansible's DarwinUser._update_system_user runs for a system user (HiddenUsersList)."""
    hidden = LOGINWINDOW + '.plist'
    rc, out, err = defaults(prefs, 'read', hidden, 'HiddenUsersList')
    assert (rc, out) == (1, '') and 'does not exist' in err
    assert defaults(prefs, 'write', hidden, 'HiddenUsersList', '-array-add', '_llmgateway') == (0, '', '')
    assert defaults(prefs, 'write', hidden, 'HiddenUsersList', '-array-add', 'svc two') == (0, '', '')
    assert stored(prefs)['HiddenUsersList'] == ['_llmgateway', 'svc two']
    assert defaults(prefs, 'read', hidden, 'HiddenUsersList') == (0, '(\n    _llmgateway,\n    "svc two"\n)\n', '')
    assert defaults(prefs, 'read-type', hidden, 'HiddenUsersList') == (0, 'Type is array\n', '')
    assert defaults(prefs, 'write', hidden, 'HiddenUsersList', '-array', 'a', 'b') == (0, '', '')
    assert stored(prefs)['HiddenUsersList'] == ['a', 'b']
    assert defaults(prefs, 'write', hidden, 'HiddenUsersList', '-array') == (0, '', '')
    assert stored(prefs)['HiddenUsersList'] == []
    rc, out, err = defaults(prefs, 'write', hidden, 'HiddenUsersList', '-array-add', 'x', euid=501)
    assert (rc, err) == (1, 'Could not write domain %s; exiting\n' % hidden)


@pytest.mark.parametrize('flag, text', [('-int', 'many'), ('-bool', 'maybe'), ('-float', 'x')])
def test_a_bad_value_changes_nothing(prefs, flag, text):
    rc, out, err = defaults(prefs, 'write', LOGINWINDOW, 'k', flag, text)
    assert (rc, out) == (1, '') and err.startswith('Value for key k is not a valid ')
    assert not os.path.exists(prefs.root_path(LOGINWINDOW + '.plist'))


@pytest.mark.parametrize('args', [
    ['read', 'com.apple.loginwindow', 'autoLoginUser'], ['write', 'com.apple.dock', 'autohide', '-bool', 'yes'],
    ['read', '-g', 'AppleLocale'], ['read', 'NSGlobalDomain'], ['-currentHost', 'read', LOGINWINDOW],
    ['domains'], ['export', LOGINWINDOW, '-'], ['read'], ['write', LOGINWINDOW, 'k', '-data', 'ab'],
    ['write', LOGINWINDOW, 'k', '-dict', 'a']])
def test_what_is_not_simulated(prefs, args):
    rc, out, err = defaults(prefs, *args)
    assert (rc, out) == (2, '') and err.startswith('macsim: defaults ') and err.endswith(' is not simulated\n'), err


@pytest.mark.parametrize('args', [[], ['bogus'], ['write', LOGINWINDOW], ['write', LOGINWINDOW, 'k'],
                                  ['read', LOGINWINDOW, 'a', 'b'], ['delete', LOGINWINDOW, 'a', 'b']])
def test_usage(prefs, args):
    rc, out, err = defaults(prefs, *args)
    assert (rc, out) == (1, '') and err.startswith("Command line interface to a user's defaults.\n")


def test_calls_are_logged(prefs):
    defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'admin')
    defaults(prefs, 'read', LOGINWINDOW, 'autoLoginUser', euid=501)
    defaults(prefs, 'write', LOGINWINDOW, 'autoLoginUser', '-string', 'guest', euid=501)
    defaults(prefs, 'read', 'com.apple.dock')
    calls = [(c['tool'], c['argv'][1], c['rc'], c['kind'], c['euid']) for c in prefs.calls()]
    assert calls == [('defaults', 'write', 0, 'write', 0), ('defaults', 'read', 0, 'read', 501),
                     ('defaults', 'write', 1, 'write', 501), ('defaults', 'read', 2, 'error', 0)]
