# -*- coding: utf-8 -*-
# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""config_files' planner and writer against a real temporary directory, as the user running the tests."""

from __future__ import annotations

import grp
import os
import pwd
import stat

import pytest

from ansible_collections.llmhost.macos.plugins.module_utils.common import LlmhostError
from ansible_collections.llmhost.macos.plugins.module_utils.config_files import FileSystem, apply, check_spec, plan

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


class Validator:
    """The validate commands run: their argv, and what the checked file held when it ran."""

    def __init__(self, rc=0, err=''):
        self.rc = rc
        self.err = err
        self.seen = []

    def __call__(self, argv):
        with open(argv[-1]) as handle:
            self.seen.append((list(argv), handle.read(), stat.S_IMODE(os.stat(argv[-1]).st_mode)))
        return self.rc, '', self.err


def converge(entries, check_mode=False, run=None):
    fs = FileSystem(run or Validator())
    return apply(plan(check_spec(entries), fs, check_mode=check_mode), fs, check_mode=check_mode)


def a_file(path, content='x = 1\n', mode='0644', **extra):
    return dict(path=str(path), content=content, owner=USER, group=GROUP, mode=mode, **extra)


def a_dir(path, mode='0755'):
    return dict(path=str(path), state='directory', owner=USER, group=GROUP, mode=mode)


def listing(directory):
    return sorted(os.listdir(directory))


def test_a_first_run_creates_in_order_and_a_second_changes_nothing(tmp_path):
    entries = [a_dir(tmp_path / 'etc' / 'gw', mode='0750'), a_file(tmp_path / 'etc' / 'gw' / 'Caddyfile', mode='0640')]
    first = converge(entries)
    assert first['changed_paths'] == [e['path'] for e in entries]
    assert [f['changes'] for f in first['files']] == [['created'], ['created']]
    assert stat.S_IMODE(os.stat(tmp_path / 'etc' / 'gw').st_mode) == 0o750
    assert stat.S_IMODE(os.stat(tmp_path / 'etc' / 'gw' / 'Caddyfile').st_mode) == 0o640
    assert (tmp_path / 'etc' / 'gw' / 'Caddyfile').read_text() == 'x = 1\n'

    second = converge(entries)
    assert second['changed'] is False and second['changed_paths'] == [] and second['diff'] == []
    assert listing(tmp_path / 'etc' / 'gw') == ['Caddyfile']


def test_new_content_is_checked_beside_the_file_then_renamed_over_it(tmp_path):
    target = tmp_path / 'serve'
    target.write_text('old\n')
    os.chmod(target, 0o755)
    validator = Validator()
    result = converge([a_file(target, 'new\n', mode='0755', validate='/bin/bash -n %s')], run=validator)
    assert result['files'][0]['changes'] == ['content']
    (argv, checked, mode), = validator.seen
    assert argv[:2] == ['/bin/bash', '-n'] and os.path.dirname(argv[2]) == str(tmp_path)
    assert os.path.basename(argv[2]).startswith('.serve.')
    assert (checked, mode) == ('new\n', 0o755)
    assert target.read_text() == 'new\n' and listing(tmp_path) == ['serve']
    assert result['diff'] == [{'before_header': str(target), 'after_header': str(target),
                               'before': 'owner %d, group %d, mode 0755\nold\n' % (os.getuid(), os.getgid()),
                               'after': 'owner %d, group %d, mode 0755\nnew\n' % (os.getuid(), os.getgid())}]


def test_content_that_fails_its_check_leaves_the_old_file_and_stops_the_rest(tmp_path):
    target = tmp_path / 'Caddyfile'
    target.write_text('working\n')
    os.chmod(target, 0o644)
    later = tmp_path / 'later'
    entries = [a_file(tmp_path / 'first', 'fine\n'), a_file(target, 'broken {\n', validate='caddy validate --config %s'),
               a_file(later)]
    with pytest.raises(LlmhostError) as excinfo:
        converge(entries, run=Validator(rc=1, err='Error: unexpected EOF\n'))
    assert str(target) + ' was not replaced' in excinfo.value.msg and 'unexpected EOF' in excinfo.value.msg
    assert excinfo.value.details['rc'] == 1
    assert excinfo.value.details['changed_paths'] == [str(tmp_path / 'first')]
    assert target.read_text() == 'working\n'
    assert listing(tmp_path) == ['Caddyfile', 'first']


def test_only_the_attributes_are_changed_in_place_when_the_content_is_right(tmp_path):
    target = tmp_path / 'keys.map'
    target.write_text('x = 1\n')
    os.chmod(target, 0o644)
    inode = os.stat(target).st_ino
    validator = Validator()
    result = converge([a_file(target, mode='0640', validate='check %s')], run=validator)
    assert result['files'][0]['changes'] == ['mode']
    assert validator.seen == []
    assert os.stat(target).st_ino == inode and stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_check_mode_reports_each_change_and_touches_nothing(tmp_path):
    (tmp_path / 'stale').write_text('old rules\n')
    (tmp_path / 'conf').write_text('old\n')
    before = {name: (tmp_path / name).read_text() for name in listing(tmp_path)}
    validator = Validator()
    entries = [a_dir(tmp_path / 'new-dir'), a_file(tmp_path / 'new-dir' / 'f'),
               a_file(tmp_path / 'conf', 'new\n', validate='x %s'), dict(path=str(tmp_path / 'stale'), state='absent')]
    result = converge(entries, check_mode=True, run=validator)
    assert [f['changes'] for f in result['files']] == [['created'], ['created'], ['content'], ['removed']]
    assert len(result['diff']) == 4 and validator.seen == []
    assert {name: (tmp_path / name).read_text() for name in listing(tmp_path)} == before


def test_a_user_not_there_yet_is_a_change_in_check_mode_and_an_error_before_any_write_otherwise(tmp_path):
    entries = [a_file(tmp_path / 'a'), dict(a_dir(tmp_path / 'data'), owner='_nosuchuser_llmhost')]
    result = converge(entries, check_mode=True)
    assert result['changed_paths'] == [str(tmp_path / 'a'), str(tmp_path / 'data')]
    with pytest.raises(LlmhostError, match='no such user or group: owner _nosuchuser_llmhost of .*nothing was changed'):
        converge(entries)
    assert listing(tmp_path) == []


def test_absent_removes_a_file_and_is_quiet_when_it_is_gone(tmp_path):
    (tmp_path / 'pf.rules').write_text('block\n')
    entry = dict(path=str(tmp_path / 'pf.rules'), state='absent')
    assert converge([entry])['files'][0]['changes'] == ['removed']
    assert listing(tmp_path) == []
    assert converge([entry])['changed'] is False


def test_a_path_of_another_kind_is_left_as_it_is(tmp_path):
    (tmp_path / 'dir').mkdir()
    (tmp_path / 'file').write_text('x\n')
    os.symlink(tmp_path / 'file', tmp_path / 'link')
    with pytest.raises(LlmhostError, match=r'/dir is a directory, not a file; it is left as it is'):
        converge([a_file(tmp_path / 'dir')])
    with pytest.raises(LlmhostError, match=r'/file is a file, not a directory'):
        converge([a_dir(tmp_path / 'file')])
    with pytest.raises(LlmhostError, match=r'/link is a link, not a file'):
        converge([a_file(tmp_path / 'link')])
    with pytest.raises(LlmhostError, match=r'/dir is a directory; config_files removes only files and links'):
        converge([dict(path=str(tmp_path / 'dir'), state='absent')])
    assert (tmp_path / 'file').read_text() == 'x\n' and os.path.islink(tmp_path / 'link')


def test_a_secret_file_diff_says_only_that_it_changed(tmp_path):
    target = tmp_path / 'keys.map'
    target.write_text('"Bearer old" "alice"\n')
    result = converge([a_file(target, '"Bearer new" "alice"\n', mode='0640', diff=False)])
    diff, = result['diff']
    assert 'Bearer' not in diff['before'] + diff['after']
    assert diff['after'].endswith('[content not shown, changed]\n')


@pytest.mark.parametrize('entry, message', [
    (dict(path='relative/x', content='', owner='root', group='wheel', mode='0644'), 'must be an absolute'),
    (dict(path='/etc/../x', content='', owner='root', group='wheel', mode='0644'), 'normalized'),
    (dict(path='/', state='directory', owner='root', group='wheel', mode='0755'), 'below /'),
    (dict(path='/x', owner='root', group='wheel', mode='0644'), 'a file needs its content'),
    (dict(path='/x', state='directory', content='x', owner='root', group='wheel', mode='0755'),
     'only a file has content, not a directory'),
    (dict(path='/x', content='x', owner='root', group='wheel', mode=420), r'mode must be an octal string such as "0644"'),
    (dict(path='/x', content='x', owner='root', group='wheel', mode='644'), 'mode must be an octal string'),
    (dict(path='/x', content='x', owner='root', group='wheel', mode='0644', validate='/bin/bash -n'),
     'with %s as one word'),
    (dict(path='/x', state='directory', owner='root', group='wheel', mode='0755', validate='t %s'), 'a command for a file'),
    (dict(path='/x', state='bogus'), 'state must be one of file, directory, absent'),
])
def test_bad_input_is_refused_before_anything_is_read(entry, message):
    with pytest.raises(LlmhostError, match=message):
        check_spec([entry])


def test_a_path_listed_twice_is_refused():
    entry = dict(path='/x', content='x', owner='root', group='wheel', mode='0644')
    with pytest.raises(LlmhostError, match=r'files\[1\] \(/x\) is listed twice'):
        check_spec([entry, dict(entry)])


def test_an_owner_or_group_not_given_is_left_as_it_is(tmp_path):
    target = tmp_path / 'logs'
    target.mkdir(mode=0o700)
    os.chown(target, os.getuid(), os.getgid())
    entry = dict(path=str(target), state='directory', owner=USER, mode='0755')
    result = converge([entry])
    assert result['files'][0]['changes'] == ['mode']
    assert result['diff'][0]['after'] == 'owner %d, group %d, mode 0755\n' % (os.getuid(), os.getgid())
    assert os.stat(target).st_gid == os.getgid()
    assert converge([entry])['changed'] is False
