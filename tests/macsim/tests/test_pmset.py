"""pmset stand-in: exact texts and exit codes (reference section 1)."""

import pytest

USAGE = "Usage: pmset <options>\nSee pmset(1) for details: 'man pmset'\n"

STUDIO_CUSTOM = """\
AC Power:
 Sleep On Power Button 1
 powermode            0
 standby              0
 ttyskeepawake        1
 hibernatemode        0
 powernap             1
 hibernatefile        /var/vm/sleepimage
 displaysleep         10
 womp                 1
 networkoversleep     0
 sleep                1
 tcpkeepalive         1
 autorestart          0
 disksleep            10
"""

STUDIO_LIVE = """\
System-wide power settings:
Currently in use:
 disksleep            10
 powernap             1
 womp                 1
 networkoversleep     0
 sleep                1
 Sleep On Power Button 1
 hibernatefile        /var/vm/sleepimage
 ttyskeepawake        1
 hibernatemode        0
 tcpkeepalive         1
 powermode            0
 autorestart          0
 standby              0
 displaysleep         10
"""

STUDIO_CAP = """\
Capabilities for AC Power:
 displaysleep
 disksleep
 sleep
 womp
 autorestart
 standby
 powernap
 ttyskeepawake
 hibernatemode
 hibernatefile
 lowpowermode
 highpowermode
"""

LAPTOP_CUSTOM = """\
Battery Power:
 Sleep On Power Button 1
 lowpowermode         0
 standby              1
 ttyskeepawake        1
 hibernatemode        3
 powernap             1
 hibernatefile        /var/vm/sleepimage
 displaysleep         2
 womp                 0
 networkoversleep     0
 sleep                1
 lessbright           1
 tcpkeepalive         1
 disksleep            10
AC Power:
 Sleep On Power Button 1
 lowpowermode         0
 standby              1
 ttyskeepawake        1
 hibernatemode        3
 powernap             1
 hibernatefile        /var/vm/sleepimage
 displaysleep         10
 womp                 1
 networkoversleep     0
 sleep                1
 tcpkeepalive         1
 disksleep            10
"""

LAPTOP_LIVE = """\
System-wide power settings:
 SleepDisabled\t\t0
Currently in use:
 standby              1
 Sleep On Power Button 1
 hibernatefile        /var/vm/sleepimage
 powernap             1
 networkoversleep     0
 disksleep            10
 sleep                1
 hibernatemode        3
 ttyskeepawake        1
 displaysleep         10
 tcpkeepalive         1
 lowpowermode         0
 womp                 1
"""

LAPTOP_CAP = """\
Capabilities for AC Power:
 displaysleep
 disksleep
 sleep
 womp
 acwake
 lidwake
 lessbright
 halfdim
 standby
 powernap
 ttyskeepawake
 hibernatemode
 hibernatefile
 proximitywake
 lowpowermode
"""

TCPKA = ("Warning: This option disables TCP Keep Alive mechanism when sytem is sleeping. This "
         "will result in some critical features like 'Find My Mac' not to function properly.\n")


def custom_values(sim, profile='AC Power'):
    """Parse -g custom the way a tolerant module would: split on the last run of spaces."""
    res = sim.run('pmset', '-g', 'custom')
    assert res.rc == 0
    values, current = {}, None
    for line in res.out.splitlines():
        if not line.startswith(' '):
            current = line.rstrip(':')
            continue
        if current == profile:
            key, value = line.strip().rsplit(None, 1)
            values[key] = value
    return values


# ---- reads -------------------------------------------------------------------------------------

@pytest.mark.parametrize('args', [('-g', 'custom'), ('-g', 'disk')])
def test_custom_desktop(sim, args):
    res = sim.run('pmset', *args)
    assert (res.rc, res.out, res.err) == (0, STUDIO_CUSTOM, '')


def test_custom_laptop_battery_first(laptop):
    res = laptop.run('pmset', '-g', 'custom')
    assert (res.rc, res.out, res.err) == (0, LAPTOP_CUSTOM, '')


@pytest.mark.parametrize('args', [('-g',), ('-g', 'live'), ('-g', '')])
def test_live_desktop(sim, args):
    res = sim.run('pmset', *args)
    assert (res.rc, res.out, res.err) == (0, STUDIO_LIVE, '')


def test_live_laptop_system_block_uses_tabs(laptop):
    res = laptop.run('pmset', '-g')
    assert (res.rc, res.out) == (0, LAPTOP_LIVE)


def test_live_reads_current_source(laptop):
    laptop.run('pmset', '-b', 'displaysleep', '3')
    state = laptop.read_json('pmset.json')
    state['current_source'] = 'Battery Power'
    laptop.write_json('pmset.json', state)
    out = laptop.run('pmset', '-g').out
    assert ' displaysleep         3\n' in out
    assert ' lessbright           1\n' in out
    assert laptop.run('pmset', '-g', 'cap').out.startswith('Capabilities for Battery Power:\n')
    assert laptop.run('pmset', '-g', 'ps').out.startswith("Now drawing from 'Battery Power'\n")


def test_live_hides_unsupported_custom_shows_them(sim):
    state = sim.read_json('profile.json')['pmset']['settings']
    assert 'gpuswitch' not in state['AC Power']
    sim.run('pmset', '-a', 'sleep', '1')  # a write creates pmset.json
    data = sim.read_json('pmset.json')
    data['settings']['AC Power']['gpuswitch'] = 2
    sim.write_json('pmset.json', data)
    assert ' gpuswitch            2\n' in sim.run('pmset', '-g', 'custom').out
    assert 'gpuswitch' not in sim.run('pmset', '-g').out


def test_live_assertion_suffixes(sim):
    sim.faults({'pmset': {'sleep_prevented_by': ['sharingd', 'powerd'],
                          'display_sleep_prevented_by': ['caffeinate']}})
    out = sim.run('pmset', '-g').out
    assert ' sleep                1 (sleep prevented by sharingd, powerd)\n' in out
    assert ' displaysleep         10 (display sleep prevented by caffeinate)\n' in out
    assert '(sleep prevented' not in sim.run('pmset', '-g', 'custom').out


def test_cap(sim, laptop):
    assert sim.run('pmset', '-g', 'cap').out == STUDIO_CAP
    assert laptop.run('pmset', '-g', 'cap').out == LAPTOP_CAP


@pytest.mark.parametrize('what', ['ps', 'batt'])
def test_ps(sim, laptop, what):
    assert sim.run('pmset', '-g', what).out == "Now drawing from 'AC Power'\n"
    assert laptop.run('pmset', '-g', what).out == (
        "Now drawing from 'AC Power'\n"
        " -InternalBattery-0 (id=24313955)\t100%; charged; 0:00 remaining present: true\n")


def test_sched(sim):
    assert sim.run('pmset', '-g', 'sched').out == 'No scheduled events.\n'


def test_unknown_get(sim):
    res = sim.run('pmset', '-g', 'bogus')
    assert (res.rc, res.out) == (1, 'Error: unhandled argument bogus\n' + USAGE)


def test_real_but_unsimulated_get(sim):
    res = sim.run('pmset', '-g', 'assertions')
    assert res.rc == 2 and res.out == '' and 'not simulated' in res.err


def test_reads_work_as_non_root(sim):
    res = sim.run('pmset', '-g', 'custom', euid=501)
    assert (res.rc, res.out) == (0, STUDIO_CUSTOM)


# ---- writes -------------------------------------------------------------------------------------

@pytest.mark.parametrize('flag', [[], ['-a'], ['-c']])
def test_set_as_root(sim, flag):
    res = sim.run('pmset', *(flag + ['sleep', '0', 'disksleep', '0']))
    assert (res.rc, res.out, res.err) == (0, '', '')
    values = custom_values(sim)
    assert values['sleep'] == '0' and values['disksleep'] == '0'


def test_set_not_root(sim):
    res = sim.run('pmset', '-a', 'sleep', '0', euid=501)
    assert (res.rc, res.out, res.err) == (1, "'%s' must be run as root...\n" % sim.script('pmset'), '')
    assert custom_values(sim)['sleep'] == '1'


@pytest.mark.parametrize('args', [
    ['-a', 'bogus', '1'],            # unknown setting
    ['-a', 'sleep', 'abc'],          # non-numeric
    ['-a', 'sleep', '-1'],           # negative (looks like a bad flag)
    ['-x', 'sleep', '1'],            # bad flag
    ['-a', 'sleep'],                 # value missing
    ['-a', 'sleep', '1', 'bogus', '1'],  # all arguments parsed before anything is set
    ['-a', 'hibernatemode', '1'],    # only 0, 3, 25
    ['-a', 'sleep', '1.5'],
])
@pytest.mark.parametrize('euid', [0, 501])
def test_bad_arguments_print_usage_before_root_check(sim, args, euid):
    res = sim.run('pmset', *args, euid=euid)
    assert (res.rc, res.out, res.err) == (1, USAGE, '')
    assert custom_values(sim)['sleep'] == '1'


def test_onoff_any_nonzero_is_one(sim):
    assert sim.run('pmset', 'womp', '0').rc == 0
    assert custom_values(sim)['womp'] == '0'
    assert sim.run('pmset', 'womp', '7').rc == 0
    assert custom_values(sim)['womp'] == '1'


def test_hibernatemode_values(laptop):
    assert laptop.run('pmset', '-a', 'hibernatemode', '25').rc == 0
    assert custom_values(laptop)['hibernatemode'] == '25'


def test_synonyms(sim):
    assert sim.run('pmset', 'dim', '5', 'spindown', '7', 'darkwakes', '0').rc == 0
    values = custom_values(sim)
    assert (values['displaysleep'], values['disksleep'], values['powernap']) == ('5', '7', '0')


def test_powernap_also_writes_sleepservices(sim):
    sim.run('pmset', '-a', 'powernap', '0')
    out = sim.run('pmset', '-g', 'custom').out
    assert ' powernap             0\n' in out and ' SleepServices        0\n' in out
    assert 'SleepServices' not in sim.run('pmset', '-g').out


def test_powermode_desktop(sim):
    assert sim.run('pmset', '-a', 'powermode', '2').rc == 0
    assert custom_values(sim)['powermode'] == '2'
    assert sim.run('pmset', '-a', 'lowpowermode', '1').rc == 0
    assert custom_values(sim)['powermode'] == '1'
    res = sim.run('pmset', '-a', 'powermode', '3')
    assert (res.rc, res.out) == (1, 'Unsupported mode 3\n')
    res = sim.run('pmset', '-a', 'powermode', '3', euid=501)
    assert (res.rc, res.out) == (1, 'Unsupported mode 3\n')


def test_powermode_laptop(laptop):
    res = laptop.run('pmset', '-a', 'powermode', '2')
    assert (res.rc, res.out) == (1, 'HighPowerMode not supported on Battery Power\n')
    res = laptop.run('pmset', '-c', 'powermode', '2')
    assert (res.rc, res.out) == (1, 'HighPowerMode not supported on AC Power\n')
    assert laptop.run('pmset', '-b', 'lowpowermode', '1').rc == 0
    assert custom_values(laptop, 'Battery Power')['lowpowermode'] == '1'
    assert custom_values(laptop, 'AC Power')['lowpowermode'] == '0'


def test_battery_flag_on_desktop_sets_nothing(sim):
    res = sim.run('pmset', '-b', 'sleep', '0')
    assert (res.rc, res.out, res.err) == (0, '', '')
    assert sim.run('pmset', '-g', 'custom').out == STUDIO_CUSTOM


def test_flags_select_profiles_on_laptop(laptop):
    assert laptop.run('pmset', '-c', 'sleep', '0').rc == 0
    assert custom_values(laptop, 'AC Power')['sleep'] == '0'
    assert custom_values(laptop, 'Battery Power')['sleep'] == '1'
    assert laptop.run('pmset', '-b', 'sleep', '0', '-c', 'womp', '0').rc == 0
    assert custom_values(laptop, 'Battery Power')['sleep'] == '0'
    assert custom_values(laptop, 'AC Power')['womp'] == '0'
    assert custom_values(laptop, 'Battery Power')['womp'] == '0'


def test_unsupported_setting_silently_not_stored(sim, laptop):
    assert sim.run('pmset', '-a', 'lidwake', '1').rc == 0
    assert 'lidwake' not in sim.run('pmset', '-g', 'custom').out
    res = laptop.run('pmset', '-a', 'autorestart', '1')
    assert (res.rc, res.out, res.err) == (0, '', '')
    assert 'autorestart' not in laptop.run('pmset', '-g', 'custom').out
    # a non-table setting is always stored
    assert sim.run('pmset', '-a', 'networkoversleep', '1').rc == 0
    assert custom_values(sim)['networkoversleep'] == '1'


def test_fault_ignore(sim):
    sim.faults({'pmset': {'ignore': ['womp']}})
    res = sim.run('pmset', '-a', 'womp', '0', 'sleep', '0')
    assert (res.rc, res.out, res.err) == (0, '', '')
    values = custom_values(sim)
    assert values['womp'] == '1' and values['sleep'] == '0'


def test_tcpkeepalive_warning(sim):
    res = sim.run('pmset', '-a', 'tcpkeepalive', '0')
    assert (res.rc, res.out, res.err) == (0, TCPKA, '')
    assert custom_values(sim)['tcpkeepalive'] == '0'


@pytest.mark.parametrize('settings,expected', [
    (['sleep', '30', 'displaysleep', '60'], [
        '- Display sleep should have a lower timeout than system sleep.']),
    (['sleep', '10', 'disksleep', '0'], [
        '- Disk sleep should be non-zero whenever system sleep is non-zero.']),
    (['sleep', '10', 'displaysleep', '0', 'disksleep', '0'], [
        '- Display sleep should have a lower timeout than system sleep.',
        '- Disk sleep should be non-zero whenever system sleep is non-zero.']),
    (['sleep', '1', 'displaysleep', '0'], []),
    (['sleep', '0', 'disksleep', '0', 'displaysleep', '0'], []),
    (['sleep', '20', 'displaysleep', '20'], []),
])
def test_timer_warnings(sim, settings, expected):
    res = sim.run('pmset', '-a', *settings)
    assert res.rc == 0 and res.out == ''
    if expected:
        assert res.err.splitlines() == [
            'Warning: Idle sleep timings for "AC Power" may not behave as expected.'] + expected
    else:
        assert res.err == ''


def test_timer_warning_names_the_profile(laptop):
    res = laptop.run('pmset', '-b', 'sleep', '5', 'displaysleep', '0')
    assert res.err.splitlines()[0] == (
        'Warning: Idle sleep timings for "Battery Power" may not behave as expected.')


def test_system_wide_settings(laptop):
    res = laptop.run('pmset', '-a', 'disablesleep', '1', euid=501)
    assert (res.rc, res.out) == (0, "'%s' must be run as root...\n" % laptop.script('pmset'))
    assert laptop.run('pmset', '-a', 'disablesleep', '1').rc == 0
    assert laptop.run('pmset', '-g').out.startswith(
        'System-wide power settings:\n SleepDisabled\t\t1\nCurrently in use:\n')


def test_autopoweroff_bad_value_is_quiet(sim):
    res = sim.run('pmset', '-a', 'autopoweroff', 'x')
    assert (res.rc, res.out, res.err) == (1, '', '')


def test_state_persists_in_file(sim):
    sim.run('pmset', '-a', 'sleep', '0')
    assert sim.read_json('pmset.json')['settings']['AC Power']['sleep'] == 0


# ---- call log -----------------------------------------------------------------------------------

def test_call_log(sim):
    sim.run('pmset', '-g', 'custom', euid=501)
    sim.run('pmset', '-a', 'sleep', '0', euid=501)
    sim.run('pmset', '-a', 'sleep', '0')
    sim.run('pmset', '-a', 'bogus', '0')
    calls = sim.calls()
    assert [(c['kind'], c['rc'], c['euid']) for c in calls] == [
        ('read', 0, 501), ('write', 1, 501), ('write', 0, 0), ('error', 1, 0)]
    first = calls[0]
    assert first['tool'] == 'pmset' and first['boot'] == 1 and first['uid'] == 501
    assert first['argv'][1:] == ['-g', 'custom']
    assert set(first) == {'ts', 'boot', 'tool', 'argv', 'uid', 'euid', 'rc', 'kind'}


def test_injected_failure(sim):
    sim.faults({'pmset': {'fail': {'match': ['-a'], 'rc': 1, 'stdout': 'boom\n'}}})
    res = sim.run('pmset', '-a', 'sleep', '0')
    assert (res.rc, res.out) == (1, 'boom\n')
    assert custom_values(sim)['sleep'] == '1'
    assert sim.calls()[0]['kind'] == 'error'
