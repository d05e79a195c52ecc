# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: site.yml against the usual way (benchmarks/usual-stack.yml), on two identical simulated Macs.

  bench.py [--runs N] [--keep]

Boots two simulated Mac Studios as they come out of the box (profile fresh-mac-studio), bootstraps both with
playbooks/bootstrap.yml, converges one with site.yml ("ours") and the other with benchmarks/usual-stack.yml
("usual"), once each and untimed. Then, N times (default 5), alternating which stack goes first:

  re-run   the same playbook again on the converged host: wall time, tasks changed (PLAY RECAP), commands run
           on the host (the stand-ins' call log, /var/log/macsim/calls.jsonl), requests to Ollama (the
           emulator's request log, GET /_emulator/requests on the host's loopback);
  check    the same with --check;
  drift    `pmset -a sleep 10` behind Ansible's back, a re-run, and whether sleep is 0 again.

Finally one reboot of each with nobody logged in, and whether /api/tags answers on the host within 120 s.
Prints a table (median [min-max] per measure, both stacks, the ratio ours/usual of the re-run wall time) and
writes benchmarks/results/bench-YYYYmmdd-HHMMSS.json. --keep leaves the instances up (a later run reuses
them: `macsim up` of a running instance changes nothing); otherwise they are removed at the end.

The usual stack's Ollama is what `brew services start ollama` makes: a LaunchAgent of the admin's GUI session,
so its host gets a simulated GUI login of the admin before its converge (as the seed's Mac was set up at its
desktop). Our host gets none: site.yml needs none.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MACSIM = os.path.join(ROOT, 'tests', 'macsim', 'macsim')
RESULTS = os.path.join(ROOT, 'benchmarks', 'results')
STATE = os.environ.get('MACSIM_STATE') or '/var/lib/llmhost-macsim'
REGISTRY = 'http://127.0.0.1:5000'   # the simulated Mac's stand-in for registry.ollama.ai (tests/macsim/README.md)
EMULATOR_LOG = '/Users/admin/ollama-requests.jsonl'
STACKS = {
    'ours': {'name': 'llmhost-bench-ours', 'playbook': 'site.yml'},
    'usual': {'name': 'llmhost-bench-usual', 'playbook': 'benchmarks/usual-stack.yml'},
}
PHASES = ('rerun', 'check', 'drift')
MEASURES = ('wall', 'changed', 'commands', 'writes', 'ollama_requests')
LABELS = {
    'rerun': 're-run', 'check': 'check mode', 'drift': 'drift repair',
    'wall': 'wall time (s)', 'changed': 'tasks changed', 'commands': 'commands on the host',
    'writes': '  of which writes', 'ollama_requests': 'requests to Ollama',
}
REBOOT_WAIT = 120
NOTES = (
    'commands: calls of the macOS stand-ins (pmset, systemsetup, launchctl, brew, dscl, ...) in the call log;',
    '  writes: those that tried to change state. requests: to the Ollama API on the host (its request log).',
)

RECAP = re.compile(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)'
                   r'(?:\s+skipped=(\d+))?(?:\s+rescued=(\d+))?(?:\s+ignored=(\d+))?')


# ---- pure parts (tests/unit/benchmarks) --------------------------------------------------------------------------

def parse_recap(text):
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}} from ansible-playbook's PLAY RECAP."""
    recap = {}
    for line in text.splitlines():
        match = RECAP.match(line.strip())
        if match:
            keys = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
            recap[match.group(1)] = {k: int(v) for k, v in zip(keys, match.groups()[1:]) if v is not None}
    return recap


def count_calls(text):
    """Stand-in calls in a chunk of calls.jsonl: {'commands': N, 'writes': N, 'errors': N, 'by_tool': {tool: N}}.
    A line that is not JSON (a partial last line) is not counted."""
    counts = {'commands': 0, 'writes': 0, 'errors': 0, 'by_tool': {}}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        counts['commands'] += 1
        if entry.get('kind') == 'write':
            counts['writes'] += 1
        elif entry.get('kind') == 'error':
            counts['errors'] += 1
        tool = entry.get('tool', '?')
        counts['by_tool'][tool] = counts['by_tool'].get(tool, 0) + 1
    return counts


def complete_lines(chunk):
    """The part of a chunk read from a growing log up to its last newline (the rest is read next time)."""
    end = chunk.rfind(b'\n')
    return chunk[:end + 1] if end >= 0 else b''


def requests_since(entries, since):
    """The emulator's request log entries recorded at or after `since` (epoch seconds): {'count', 'by_path'}."""
    new = [e for e in entries if (e.get('ts') or 0) >= since]
    by_path = {}
    for entry in new:
        key = '%s %s' % (entry.get('method', '?'), entry.get('path', '?'))
        by_path[key] = by_path.get(key, 0) + 1
    return {'count': len(new), 'by_path': by_path}


def pmset_sleep_values(text):
    """The `sleep` value of each power source in `pmset -g custom`."""
    return [int(m.group(1)) for m in re.finditer(r'^\s*sleep\s+(\d+)\s*$', text, re.M)]


def summarize(values):
    """{'median', 'min', 'max', 'n'} of the numbers given (None when there are none)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values), 'n': len(values)}


def fmt_number(value, measure):
    if value is None:
        return '-'
    if measure == 'wall':
        return '%.1f' % value
    return ('%d' % value) if float(value).is_integer() else ('%.1f' % value)


def fmt_stat(stat, measure):
    """`median [min-max]`, or the median alone when min == max."""
    if not stat:
        return '-'
    median = fmt_number(stat['median'], measure)
    if stat['min'] == stat['max']:
        return median
    return '%s [%s-%s]' % (median, fmt_number(stat['min'], measure), fmt_number(stat['max'], measure))


def ratio(ours, usual):
    if not ours or not usual or not usual['median']:
        return None
    return ours['median'] / usual['median']


def format_table(summary, reboot, runs):
    """The side-by-side table: one row per phase and measure, ours and usual, and the re-run ratio."""
    rows = [('', 'ours (site.yml)', 'usual (usual-stack.yml)')]
    for phase in PHASES:
        rows.append(('%s, %d run%s: median [min-max]' % (LABELS[phase], runs, '' if runs == 1 else 's'), '', ''))
        for measure in MEASURES:
            rows.append(('  ' + LABELS[measure], fmt_stat(summary['ours'][phase].get(measure), measure),
                         fmt_stat(summary['usual'][phase].get(measure), measure)))
        if phase == 'drift':
            rows.append(('  sleep back to 0', fmt_restored(summary['ours']['drift'].get('restored')),
                         fmt_restored(summary['usual']['drift'].get('restored'))))
    rows.append(('reboot, nobody logged in', '', ''))
    rows.append(('  /api/tags answers within %d s' % REBOOT_WAIT, fmt_reboot(reboot.get('ours')),
                 fmt_reboot(reboot.get('usual'))))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ['  '.join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    value = ratio(summary['ours']['rerun'].get('wall'), summary['usual']['rerun'].get('wall'))
    lines.append('')
    lines.append('re-run wall time, ours/usual (medians): %s' % ('-' if value is None else '%.2f' % value))
    lines.extend(NOTES)
    return '\n'.join(lines)


def fmt_restored(flags):
    if not flags:
        return '-'
    return '%d of %d' % (sum(1 for f in flags if f), len(flags))


def fmt_reboot(result):
    if not result:
        return '-'
    if result.get('serving'):
        return 'yes, after %.1f s' % result['seconds']
    return 'no'


def summarize_samples(samples):
    """{stack: {phase: {measure: summary, 'restored': [bools]}}} from {stack: {phase: [sample, ...]}}."""
    out = {}
    for stack, phases in samples.items():
        out[stack] = {}
        for phase in PHASES:
            runs = phases.get(phase, [])
            out[stack][phase] = {m: summarize([r.get(m) for r in runs]) for m in MEASURES}
            if phase == 'drift':
                out[stack][phase]['restored'] = [r.get('restored') for r in runs]
    return out


# ---- the simulated Macs ------------------------------------------------------------------------------------------

def say(text):
    print('bench: %s' % text, flush=True)


def run(argv, check=True, capture=True, timeout=None):
    proc = subprocess.run(argv, cwd=ROOT, text=True, stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None, stdin=subprocess.DEVNULL, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        sys.exit('bench: %s failed (exit %d)\n%s' % (' '.join(shlex.quote(a) for a in argv), proc.returncode,
                                                     (proc.stderr or '')[-2000:]))
    return proc


def macsim(*args, check=True, timeout=None):
    return run([MACSIM] + list(args), check=check, timeout=timeout)


def on_host(name, *argv, check=False, timeout=30):
    """A command as root inside the instance (macsim exec)."""
    try:
        return macsim('exec', name, '--', *argv, check=check, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


class Host:
    def __init__(self, stack, workdir):
        self.stack = stack
        self.name = STACKS[stack]['name']
        self.playbook = os.path.join(ROOT, STACKS[stack]['playbook'])
        self.workdir = os.path.join(workdir, stack)
        os.makedirs(self.workdir, exist_ok=True)
        self.calls = os.path.join(STATE, self.name, 'merged', 'var', 'log', 'macsim', 'calls.jsonl')
        self.instance = None
        self.counter = 0

    def up(self, tarball):
        self.instance = json.loads(macsim('up', self.name, '--profile', 'fresh-mac-studio').stdout)
        booted = 'booted now' if self.instance.get('created') else 'already running'
        say('%s: %s at %s (%s)' % (self.stack, self.name, self.instance['address'], booted))
        on_mac = os.path.join(STATE, self.name, 'merged', 'var', 'tmp', 'homebrew-brew-HEAD.tar.gz')
        if not os.path.exists(on_mac):
            run(['cp', tarball, on_mac])
        self.inventory = os.path.join(self.workdir, 'inventory.json')
        i = self.instance
        host = {'ansible_host': i['address'], 'ansible_port': i['port'], 'ansible_user': i['user'],
                'ansible_ssh_private_key_file': i['identity_file'],
                'ansible_ssh_common_args': '-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes' % i['known_hosts']}
        with open(self.inventory, 'w') as handle:
            json.dump({'llm_servers': {'hosts': {self.name: host}}}, handle, indent=2)
        extra = {'bootstrap_homebrew_url': 'file:///var/tmp/homebrew-brew-HEAD.tar.gz',
                 'ollama_registry_url': REGISTRY}
        if self.stack == 'ours':
            # as molecule/site: the emulator's request log in a file too; a client for the gateway
            extra['ollama_environment_extra'] = {'OLLAMA_EMULATOR_LOG': EMULATOR_LOG}
            extra['ollama_gateway_clients'] = [{'name': 'bench', 'key': 'b' * 64}]
        else:
            with open(i['identity_file'] + '.pub') as handle:
                extra['usual_admin_public_key'] = handle.read().strip()
        self.extra = os.path.join(self.workdir, 'vars.json')
        with open(os.open(self.extra, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
            json.dump(extra, handle, indent=2)

    def playbook_run(self, path, label, check_mode=False):
        """Run a playbook against this host, its output in a log file; (wall seconds, recap of this host)."""
        self.counter += 1
        log = os.path.join(self.workdir, '%02d-%s.log' % (self.counter, label))
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_NOCOLOR='1')
        argv = ['ansible-playbook', '-i', self.inventory, path, '-e', '@' + self.extra]
        if check_mode:
            argv.append('--check')
        start = time.monotonic()
        with open(log, 'w') as handle:
            proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, check=False)
        wall = time.monotonic() - start
        with open(log) as handle:
            recap = parse_recap(handle.read()).get(self.name)
        if proc.returncode != 0 or recap is None:
            sys.exit('bench: %s %s on %s failed (exit %d); see %s' % (label, os.path.relpath(path, ROOT), self.name,
                                                                      proc.returncode, log))
        return wall, recap

    def calls_offset(self):
        try:
            return os.path.getsize(self.calls)
        except OSError:
            return 0

    def calls_since(self, offset):
        try:
            with open(self.calls, 'rb') as handle:
                handle.seek(offset)
                chunk = complete_lines(handle.read())
        except OSError:
            chunk = b''
        return count_calls(chunk.decode('utf-8', 'replace'))

    def emulator_requests(self):
        proc = on_host(self.name, 'curl', '-s', '-m', '10', 'http://127.0.0.1:11434/_emulator/requests')
        if proc is None or proc.returncode != 0:
            return None
        try:
            return json.loads(proc.stdout)
        except ValueError:
            return None

    def measured(self, label, check_mode=False):
        """One timed run of this host's playbook with its counts."""
        offset, since = self.calls_offset(), time.time()
        wall, recap = self.playbook_run(self.playbook, label, check_mode=check_mode)
        calls = self.calls_since(offset)
        entries = self.emulator_requests()
        requests = requests_since(entries, since) if entries is not None else None
        return {'wall': round(wall, 3), 'changed': recap['changed'], 'recap': recap,
                'commands': calls['commands'], 'writes': calls['writes'], 'calls_by_tool': calls['by_tool'],
                'ollama_requests': requests['count'] if requests else None,
                'requests_by_path': requests['by_path'] if requests else None}

    def sleep_values(self):
        proc = on_host(self.name, 'pmset', '-g', 'custom')
        return pmset_sleep_values(proc.stdout) if proc is not None and proc.returncode == 0 else []

    def drift(self, label):
        on_host(self.name, 'pmset', '-a', 'sleep', '10', check=True)
        before = self.sleep_values()
        sample = self.measured(label)
        after = self.sleep_values()
        sample.update(sleep_before=before, sleep_after=after, restored=bool(after) and all(v == 0 for v in after))
        return sample

    def reboot(self):
        macsim('reboot', self.name, timeout=300)
        start = time.monotonic()
        result = {'serving': False, 'seconds': None}
        while time.monotonic() - start < REBOOT_WAIT:
            proc = on_host(self.name, 'curl', '-s', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}',
                           'http://127.0.0.1:11434/api/tags', timeout=15)
            if proc is not None and proc.stdout.strip() == '200':
                result = {'serving': True, 'seconds': round(time.monotonic() - start, 1)}
                break
            time.sleep(2)
        console = on_host(self.name, 'cat', '/var/run/macsim-console.json')
        result['logged_in'] = bool(console is not None and console.returncode == 0 and console.stdout.strip())
        loginwindow = on_host(self.name, 'cat', '/var/db/macsim/loginwindow.json')
        if loginwindow is not None and loginwindow.returncode == 0:
            try:
                result['loginwindow'] = json.loads(loginwindow.stdout)
            except ValueError:
                pass
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bench', description=__doc__.split('\n\n')[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=5, help='alternating runs of each phase (default 5)')
    parser.add_argument('--keep', action='store_true', help='leave both simulated Macs up at the end')
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error('--runs must be at least 1')
    if os.geteuid() != 0:
        sys.exit('bench: must run as root (the simulated Macs use systemd-nspawn and network namespaces)')

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d-%H%M%S')
    workdir = os.path.join(RESULTS, 'bench-%s' % stamp)
    os.makedirs(workdir, exist_ok=True)
    started = time.time()
    hosts = {stack: Host(stack, workdir) for stack in STACKS}
    try:
        tarball = os.path.join(RESULTS, 'homebrew-brew-HEAD.tar.gz')
        if not os.path.exists(tarball):
            macsim('homebrew-tarball', tarball)
        for host in hosts.values():
            host.up(tarball)
        for host in hosts.values():
            say('%s: bootstrap (untimed)' % host.stack)
            host.playbook_run(os.path.join(ROOT, 'playbooks', 'bootstrap.yml'), 'bootstrap')
            if host.stack == 'usual':
                # brew services start needs the admin's GUI session, as at the seed's desktop
                login = json.loads(macsim('login', host.name, 'admin').stdout)
                say('usual: admin logged in at the simulated desktop (%s)' % (
                    'now' if login.get('created') else 'already'))
            say('%s: converge with %s (untimed)' % (host.stack, STACKS[host.stack]['playbook']))
            wall, recap = host.playbook_run(host.playbook, 'converge')
            say('%s: converged in %.0f s, changed=%d' % (host.stack, wall, recap['changed']))

        samples = {stack: {phase: [] for phase in PHASES} for stack in STACKS}
        for i in range(args.runs):
            order = ('ours', 'usual') if i % 2 == 0 else ('usual', 'ours')
            for stack in order:
                host = hosts[stack]
                for phase in PHASES:
                    label = '%s-%d' % (phase, i + 1)
                    if phase == 'drift':
                        sample = host.drift(label)
                    else:
                        sample = host.measured(label, check_mode=(phase == 'check'))
                    samples[stack][phase].append(sample)
                    say('run %d/%d %-5s %-6s %6.1f s  changed=%-3d commands=%-4d writes=%-3d ollama=%s%s' % (
                        i + 1, args.runs, stack, phase, sample['wall'], sample['changed'], sample['commands'],
                        sample['writes'], sample['ollama_requests'],
                        '' if phase != 'drift' else '  sleep back to 0: %s' % ('yes' if sample['restored'] else 'NO')))

        reboot = {}
        for stack in STACKS:
            say('%s: reboot, nobody logged in; waiting up to %d s for /api/tags' % (stack, REBOOT_WAIT))
            reboot[stack] = hosts[stack].reboot()
            say('%s: %s' % (stack, fmt_reboot(reboot[stack])))

        summary = summarize_samples(samples)
        table = format_table(summary, reboot, args.runs)
        value = ratio(summary['ours']['rerun']['wall'], summary['usual']['rerun']['wall'])
        result = {'started': datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(),
                  'finished': datetime.datetime.now(datetime.timezone.utc).isoformat(),
                  'runs': args.runs, 'hosts': {s: {'name': h.name, 'playbook': STACKS[s]['playbook']}
                                               for s, h in hosts.items()},
                  'samples': samples, 'summary': summary, 'reboot': reboot,
                  'rerun_wall_ratio_ours_over_usual': value, 'logs': os.path.relpath(workdir, ROOT),
                  'table': table}
        path = os.path.join(RESULTS, 'bench-%s.json' % stamp)
        with open(path, 'w') as handle:
            json.dump(result, handle, indent=2)
            handle.write('\n')
        print('\n' + table + '\n', flush=True)
        say('results: %s (playbook logs in %s)' % (os.path.relpath(path, ROOT), os.path.relpath(workdir, ROOT)))
    finally:
        if not args.keep:
            for host in hosts.values():
                macsim('down', host.name, check=False)
            say('removed %s' % ', '.join(h.name for h in hosts.values()))


if __name__ == '__main__':
    main()
