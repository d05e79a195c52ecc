"""brew stand-in (test fixture): /opt/homebrew/bin/brew of the simulated Mac.

Formulae come from a small catalogue (/usr/local/lib/macsim/homebrew/formulae.json): `ollama`
(bin/ollama runs the Ollama API emulator), `caddy` (bin/caddy a copy of the real Caddy binary that
`macsim build` put into the base) and `tinyd` (a tiny daemon that can be told to exit 78).
`brew services` follows Homebrew's own code (Library/Homebrew/services/*.rb, reference section 3):
the plist it writes, the launchctl commands it runs (through /bin/launchctl, so they are logged
and answered by the simulated launchd), how it computes status/pid/exit_code/user/file, and its
messages. Texts not taken from that code or the reference are marked INVENTED.

Commands: install, upgrade [NAME...], outdated [--json=v2] [-v] [NAME...], uninstall,
list [--versions] [NAME], info --json=v2 NAME, --prefix, --version, update [--force] [--quiet],
services [list] [--json], services info NAME [--json],
services start|stop|restart|run NAME [--sudo-service-user USER]. Anything else prints
`macsim: brew ... is not simulated`, exit 2.
Like Homebrew, it refuses to run as root except `services` and `--prefix`.

Newer versions: the catalogue's version is what Homebrew's API offers, unless a test put a newer
one into /var/db/macsim/homebrew-available.json ({"ollama": "0.33.0"}, formula -> version): then
an installed formula is outdated (info --json=v2 `outdated: true`, `versions.stable` the new
version, `brew outdated` lists it) and `brew upgrade` / `brew install` pour the new keg, relink
it and remove the old one (Homebrew's cleanup after an upgrade, unless HOMEBREW_NO_INSTALL_CLEANUP).

In unit tests (MACSIM_STATE_DIR) the prefix, /Library and the homes live under
$MACSIM_STATE_DIR/root, and launchctl is the stand-in script next to this tree.
"""

import json
import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import OrderedDict

from macsimlib.launchd import Paths, console_user, read_json
from macsimlib.users import UserDB

PREFIX = '/opt/homebrew'
HERE = os.path.dirname(os.path.realpath(__file__))                 # .../lib/macsim/macsimlib
CATALOG_DIR = os.path.join(os.path.dirname(HERE), 'homebrew')       # .../lib/macsim/homebrew
GUEST_USR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))  # .../usr
LAUNCHCTL = '/bin/launchctl'
HOMEBREW_VERSION = '4.6.3'   # INVENTED: any recent Homebrew
AVAILABLE = 'homebrew-available.json'   # in the state directory: formula -> newer version (tests)
SESSION_TYPES = ['Aqua', 'Background', 'LoginWindow', 'StandardIO', 'System']
ROOT_ERROR = ('Error: Running Homebrew as root is extremely dangerous and no longer supported.\n'
              'As Homebrew does not drop privileges on installation you would be giving all\n'
              'build scripts full access to your system.\n')        # REAL (brew.sh, public reports)
SERVICES_USAGE = (
    'Usage: brew services [subcommand]\n\n'
    'Manage background services with macOS\' launchctl(1) daemon manager or\n'
    'Linux\'s systemctl(1) service manager.\n\n'
    'If sudo is passed, operate on /Library/LaunchDaemons or /usr/lib/systemd/system  (started at boot).\n'
    'Otherwise, operate on ~/Library/LaunchAgents or ~/.config/systemd/user (started at login).\n')


class BrewExit(Exception):
    def __init__(self, rc, kind=None):
        Exception.__init__(self, rc)
        self.rc, self.kind = rc, kind


class UsageError(Exception):
    pass


def sh_quote(arg):
    """Utils::Shell.sh_quote: leave plain words alone."""
    if arg and re.match(r'^[A-Za-z0-9_%+,\-./:=@^]+$', arg):
        return arg
    return shlex.quote(arg)


def version_key(version):
    """Sort key of a version string (0.9.1 < 0.32.3 < 0.32.3_1 < 0.33.0)."""
    return [(0, int(part), '') if part.isdigit() else (1, 0, part) for part in re.split(r'[._+-]', version)]


class Formula(object):
    def __init__(self, brew, name, spec):
        self.brew, self.name, self.spec = brew, name, spec
        # The stable version the API offers: the catalogue's, or a newer one a test made available.
        self.version = brew.available.get(name) or spec['version']
        prefix = brew.prefix
        self.cellar = os.path.join(prefix, 'Cellar', name)
        self.keg = os.path.join(self.cellar, self.version)
        self.opt = os.path.join(prefix, 'opt', name)
        self.linked = os.path.join(prefix, 'var', 'homebrew', 'linked', name)
        self.plist_name = 'homebrew.mxcl.' + name
        self.service_file = os.path.join(self.opt, self.plist_name + '.plist')  # launchd_service_path

    def installed_versions(self):
        try:
            names = [v for v in os.listdir(self.cellar) if os.path.isdir(os.path.join(self.cellar, v))]
        except OSError:
            return []
        return sorted(names, key=version_key)

    @property
    def installed(self):
        return bool(self.installed_versions())

    @property
    def linked_version(self):
        """The version var/homebrew/linked/NAME points at (None when not linked)."""
        if not os.path.islink(self.linked):
            return None
        return os.path.basename(os.readlink(self.linked).rstrip('/'))

    @property
    def installed_version(self):
        """The keg in use: the linked one, else the newest installed (None when not installed)."""
        versions = self.installed_versions()
        if self.linked_version in versions:
            return self.linked_version
        return versions[-1] if versions else None

    @property
    def outdated(self):
        """Homebrew's outdated?: installed, and no installed keg is as new as the stable version."""
        versions = self.installed_versions()
        return bool(versions) and version_key(versions[-1]) < version_key(self.version)

    def keg_of(self, version):
        return os.path.join(self.cellar, version)

    def _fill(self, value):
        return value.replace('$HOMEBREW_PREFIX', self.brew.prefix).replace('$HOME', self.brew.home)

    @property
    def service(self):
        """The service block with placeholders replaced (None without one)."""
        raw = self.spec.get('service')
        if not raw:
            return None
        svc = {}
        for key, value in raw.items():
            if isinstance(value, str):
                svc[key] = self._fill(value)
            elif isinstance(value, list):
                svc[key] = [self._fill(v) for v in value]
            elif key == 'environment_variables':
                svc[key] = dict((k, self._fill(v)) for k, v in value.items())
            else:
                svc[key] = value
        return svc

    def keep_alive(self):
        svc = self.service or {}
        return bool((svc.get('keep_alive') or {}).get('always'))

    def manual_command(self):
        svc = self.service
        env = ['%s="%s"' % (k, v) for k, v in (svc.get('environment_variables') or {}).items() if k != 'PATH']
        return ' '.join(env + [sh_quote(a) for a in svc['run']])

    def plist(self):
        """Homebrew::Service#to_plist as a dict."""
        svc = self.service
        plist = {'Label': self.plist_name, 'ProgramArguments': list(svc['run']), 'RunAtLoad': True}
        if svc.get('working_dir'):
            plist['WorkingDirectory'] = svc['working_dir']
        if svc.get('log_path'):
            plist['StandardOutPath'] = svc['log_path']
        if svc.get('error_log_path'):
            plist['StandardErrorPath'] = svc['error_log_path']
        if svc.get('environment_variables'):
            plist['EnvironmentVariables'] = dict(svc['environment_variables'])
        keep_alive = svc.get('keep_alive') or {}
        if keep_alive.get('always'):
            plist['KeepAlive'] = True
        elif 'successful_exit' in keep_alive:
            plist['KeepAlive'] = {'SuccessfulExit': keep_alive['successful_exit']}
        elif 'crashed' in keep_alive:
            plist['KeepAlive'] = {'Crashed': keep_alive['crashed']}
        plist['LimitLoadToSessionType'] = list(SESSION_TYPES)
        return plist

    def api_service(self):
        """The `service` object of `brew info --json=v2` (API placeholders kept)."""
        raw = dict(self.spec.get('service') or {})
        return raw


def dump_plist(plist):
    """Keys in alphabetical order, tab-indented (reference 3.5)."""
    return plistlib.dumps(plist, fmt=plistlib.FMT_XML, sort_keys=True)


class Brew(object):
    def __init__(self, ctx):
        self.ctx = ctx
        self.env = os.environ
        self.lpaths = Paths()
        self.users = UserDB(self.lpaths.root if ctx.testing else None)
        self.prefix = ctx.root_path(PREFIX)
        self.euid, self.uid = ctx.euid, ctx.uid
        user = self.users.by_uid(self.euid)
        if ctx.testing:
            self.home = user.home if user else '/nonexistent'
            self.user = user.name if user else str(self.euid)
        else:
            self.home = self.env.get('HOME') or (user.home if user else '/')
            self.user = self.env.get('USER') or (user.name if user else str(self.euid))
        self.catalog = read_json(os.path.join(CATALOG_DIR, 'formulae.json'), {})
        self.catalog.pop('_comment', None)
        available = read_json(ctx.path(AVAILABLE), {})
        self.available = dict((k, v) for k, v in available.items() if isinstance(v, str) and v) \
            if isinstance(available, dict) else {}
        self._domain = None
        self.sudo_service_user = None

    # -- output ------------------------------------------------------------------------------------
    def puts(self, text=''):
        sys.stdout.write(text + '\n')
        sys.stdout.flush()

    def ohai(self, text):
        self.puts('==> ' + text)

    def opoo(self, text):
        sys.stdout.flush()
        sys.stderr.write('Warning: %s\n' % text)
        sys.stderr.flush()

    def odie(self, text, kind=None):
        sys.stdout.flush()
        sys.stderr.write('Error: %s\n' % text)
        raise BrewExit(1, kind)

    # -- paths and formulae --------------------------------------------------------------------------
    @property
    def is_root(self):
        return self.euid == 0

    @property
    def boot_path(self):
        return self.ctx.root_path('/Library/LaunchDaemons')

    @property
    def user_path(self):
        return os.path.join(self.home, 'Library', 'LaunchAgents')

    def formula(self, name):
        spec = self.catalog.get(name)
        if spec is None:
            # Believed real wording (FormulaUnavailableError).
            self.odie('No available formula with the name "%s".' % name, 'error')
        return Formula(self, name, spec)

    def installed_formulae(self):
        return [Formula(self, n, s) for n, s in sorted(self.catalog.items())
                if Formula(self, n, s).installed]

    # -- launchctl -----------------------------------------------------------------------------------
    def _launchctl_argv(self, args):
        if self.ctx.testing:
            return [sys.executable, os.path.join(GUEST_USR, 'bin', 'launchctl')] + list(args)
        return [LAUNCHCTL] + list(args)

    def popen_read(self, args):
        """Utils.popen_read: stdout captured, stderr discarded."""
        proc = subprocess.run(self._launchctl_argv(args), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True, check=False)
        return proc.returncode, proc.stdout

    def quiet_system(self, args):
        return subprocess.run(self._launchctl_argv(args), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, check=False).returncode == 0

    def safe_system(self, args):
        sys.stdout.flush()
        sys.stderr.flush()
        rc = subprocess.run(self._launchctl_argv(args), check=False).returncode
        if rc != 0:
            shown = ' '.join(sh_quote(a) for a in [LAUNCHCTL] + list(args))
            self.odie('Failure while executing; `%s` exited with %d.' % (shown, rc), 'write')

    def domain_target(self):
        """Homebrew's System.domain_target (the user/* fallbacks print a warning once)."""
        if self._domain is not None:
            return self._domain
        if self.is_root:
            self._domain = 'system'
            return self._domain
        console = console_user(self.lpaths) or {}
        ssh_tty = bool(self.env.get('HOMEBREW_SSH_TTY') or self.env.get('SSH_TTY')) and \
            console.get('uid') != self.uid
        sudo_user = bool(self.env.get('HOMEBREW_SUDO_USER') or self.env.get('SUDO_USER'))
        if self.ctx.testing:
            ssh_tty = bool(self.env.get('HOMEBREW_SSH_TTY')) and console.get('uid') != self.uid
            sudo_user = bool(self.env.get('HOMEBREW_SUDO_USER'))
        if ssh_tty or sudo_user or self.uid != self.euid:
            if not self.env.get('HOMEBREW_SERVICES_NO_DOMAIN_WARNING'):
                if ssh_tty:
                    self.opoo('running over SSH without /dev/console ownership, using user/* instead of gui/* domain!')
                elif sudo_user:
                    self.opoo('running through sudo, using user/* instead of gui/* domain!')
                else:
                    self.opoo('uid and euid do not match, using user/* instead of gui/* domain!')
                if not self.env.get('HOMEBREW_NO_ENV_HINTS'):
                    self.puts('Hide this warning by setting HOMEBREW_SERVICES_NO_DOMAIN_WARNING.')
                    self.puts('Hide these hints with HOMEBREW_NO_ENV_HINTS (see `man brew`).')
            self._domain = 'user/%d' % self.euid
        else:
            self._domain = 'gui/%d' % self.uid
        return self._domain


class Service(object):
    """Homebrew::Services::FormulaWrapper."""

    def __init__(self, brew, formula):
        self.brew, self.formula = brew, formula
        self.name = formula.name
        self.service_name = formula.plist_name
        self.service_file = formula.service_file
        self._status = None

    @property
    def dest_dir(self):
        return self.brew.boot_path if self.brew.is_root else self.brew.user_path

    @property
    def dest(self):
        return os.path.join(self.dest_dir, os.path.basename(self.service_file))

    def reset(self):
        self._status = None

    def status(self):
        """(output, success, type): `launchctl print DOMAIN/LABEL`, else `launchctl list LABEL`."""
        if self._status is None:
            rc, output = self.brew.popen_read(['print', '%s/%s' % (self.brew.domain_target(), self.service_name)])
            output = output.rstrip('\n')
            if rc == 0 and output:
                self._status = (output, True, 'print')
            else:
                rc, output = self.brew.popen_read(['list', self.service_name])
                output = output.rstrip('\n')
                self._status = (output, rc == 0 and bool(output), 'list')
        return self._status

    def loaded(self, cached=False):
        if not cached:
            self.reset()
        return self.status()[1]

    def _match(self, patterns):
        output, _success, kind = self.status()
        pattern = patterns.get(kind)
        if pattern is None:
            return None
        match = re.search(pattern, output)
        return match.group(1) if match else None

    @property
    def pid(self):
        value = self._match({'print': r'pid = ([0-9]+)', 'list': r'"PID" = ([0-9]*);'})
        return int(value or 0) if value is not None else None

    @property
    def running(self):
        return bool(self.pid)

    @property
    def exit_code(self):
        value = self._match({'print': r'last exit code = ([0-9]+)', 'list': r'"LastExitStatus" = ([0-9]*);'})
        return int(value or 0) if value is not None else None

    @property
    def loaded_file(self):
        return self._match({'print': r'path = (.*)'})

    def file_present(self, where=None):
        name = os.path.basename(self.service_file)
        boot = os.path.exists(os.path.join(self.brew.boot_path, name))
        user = os.path.exists(os.path.join(self.brew.user_path, name))
        if where == 'root':
            return boot
        if where == 'user':
            return user
        return boot or user

    @property
    def owner(self):
        if os.path.exists(self.dest):
            try:
                with open(self.dest, 'rb') as f:
                    plist = plistlib.load(f)
            except Exception:
                plist = None
            if isinstance(plist, dict) and plist.get('UserName'):
                return plist['UserName']
        if self.file_present('root'):
            return 'root'
        if self.file_present('user'):
            return self.brew.user
        return None

    def status_symbol(self):
        if self.running:
            return 'started'
        if not self.loaded(cached=True):
            return 'none'
        code = self.exit_code
        if code is not None and code == 0:
            return 'stopped'           # not timed: no formula here has an interval or cron
        if code is not None and code != 0:
            return 'error'
        if not self.status()[0]:
            return 'unknown'
        return 'other'

    def to_hash(self):
        hash_ = [
            ('name', self.name), ('service_name', self.service_name), ('running', self.running),
            ('loaded', self.loaded(cached=True)), ('schedulable', False), ('pid', self.pid),
            ('exit_code', self.exit_code), ('user', self.owner), ('status', self.status_symbol()),
            ('file', self.dest if self.file_present() else self.service_file),
            ('registered', self.file_present()), ('loaded_file', self.loaded_file),
        ]
        svc = self.formula.service
        if svc and svc.get('run'):
            hash_ += [('command', self.formula.manual_command()), ('working_dir', svc.get('working_dir')),
                      ('root_dir', svc.get('root_dir')), ('log_path', svc.get('log_path')),
                      ('error_log_path', svc.get('error_log_path')), ('interval', svc.get('interval')),
                      ('cron', svc.get('cron') or None)]
        return hash_


def ordered_json(pairs_list):
    """JSON.pretty_generate of an array of hashes (key order kept)."""
    return json.dumps([OrderedDict(pairs) for pairs in pairs_list], indent=2)


# ---- commands ------------------------------------------------------------------------------------

def cmd_install(brew, names):
    if not names:
        raise UsageError('This command requires at least 1 formula or cask argument.')
    for name in names:
        formula = brew.formula(name)
        if formula.outdated:
            # REAL (asdf-community/asdf-php#91, 2021: the line, then `==> Upgrading NAME`); which
            # stream it goes to is not known (stdout here).
            brew.puts('%s %s is installed but outdated' % (name, formula.installed_version))
            upgrade_formula(brew, formula)
            continue
        if formula.installed:
            # REAL (asdf-community/asdf-php#91, tilt-dev/tilt.build#842).
            brew.opoo('%s %s is already installed and up-to-date.\nTo reinstall %s, run:\n  brew reinstall %s'
                      % (name, formula.installed_version, formula.installed_version, name))
            continue
        # INVENTED: an abbreviated version of brew's install output.
        brew.ohai('Fetching downloads for: %s' % name)
        brew.ohai('Pouring %s--%s.arm64_sequoia.bottle.tar.gz' % (name, formula.version))
        try:
            count, size = install_keg(brew, formula)
        except OSError as e:
            brew.odie('Permission denied @ dir_s_mkdir - %s' % (e.filename or e), 'write')
        brew.ohai('Summary')
        brew.puts('%s: %d files, %s' % (formula.keg, count, human_size(size)))
        if formula.service:
            brew.ohai('Caveats')
            brew.puts('To start %s now and restart at login:\n  brew services start %s\n'
                      'Or, if you don\'t want/need a background service you can just run:\n  %s'
                      % (name, name, formula.manual_command()))
    return 0


def upgrade_formula(brew, formula):
    """Pour the stable version's keg, relink opt/, var/homebrew/linked/ and bin/ to it (its service
    plist is written anew), then remove the older kegs as Homebrew's post-upgrade cleanup does.
    Only the two `Upgrading` lines are REAL (asdf-community/asdf-php#91); the rest is an
    abbreviated brew output (INVENTED). Running services are left alone (not simulated)."""
    old_versions = [v for v in formula.installed_versions() if v != formula.version]
    check_sources(brew, formula)
    brew.ohai('Upgrading %s' % formula.name)
    brew.puts('  %s -> %s' % (formula.installed_version, formula.version))
    brew.puts()
    brew.ohai('Pouring %s--%s.arm64_sequoia.bottle.tar.gz' % (formula.name, formula.version))
    for version in old_versions:
        unlink_bins(brew, formula.keg_of(version))
    try:
        count, size = install_keg(brew, formula)
    except OSError as e:
        brew.odie('Permission denied @ dir_s_mkdir - %s' % (e.filename or e), 'write')
    brew.ohai('Summary')
    brew.puts('%s: %d files, %s' % (formula.keg, count, human_size(size)))
    if brew.env.get('HOMEBREW_NO_INSTALL_CLEANUP') or not old_versions:
        return
    brew.ohai('Running `brew cleanup %s`...' % formula.name)
    brew.puts('Disable this behaviour by setting HOMEBREW_NO_INSTALL_CLEANUP.')
    if not brew.env.get('HOMEBREW_NO_ENV_HINTS'):
        brew.puts('Hide these hints with HOMEBREW_NO_ENV_HINTS (see `man brew`).')
    for version in old_versions:
        keg = formula.keg_of(version)
        count, size = keg_stats(keg)
        brew.puts('Removing: %s... (%d files, %s)' % (keg, count, human_size(size)))
        try:
            shutil.rmtree(keg)
        except OSError as e:
            # e.g. a keg `sudo brew services start` gave to root (INVENTED text)
            brew.odie('Permission denied @ apply2files - %s' % (e.filename or keg), 'write')


def cmd_upgrade(brew, args):
    """`brew upgrade [NAME...]`: the outdated ones among NAMEs (all installed ones without)."""
    bad = [a for a in args if a.startswith('-') and a not in ('--formula', '--formulae', '-q', '--quiet')]
    if bad:
        return not_simulated(['upgrade'] + args)
    names = [a for a in args if not a.startswith('-')]
    if names:
        formulae = []
        for name in names:
            formula = brew.formula(name)
            if not formula.installed:
                brew.odie('%s not installed' % name, 'write')      # believed real wording
            if not formula.outdated:
                # Believed real (Homebrew/brew#7154: `Warning: qri 0.7.3 already installed`).
                brew.opoo('%s %s already installed' % (name, formula.installed_version))
                continue
            formulae.append(formula)
    else:
        formulae = [f for f in brew.installed_formulae() if f.outdated]
    if not formulae:
        return 0       # nothing on stdout: community.general's homebrew reads that as "already upgraded"
    brew.ohai('Upgrading %d outdated package%s:' % (len(formulae), '' if len(formulae) == 1 else 's'))
    for formula in formulae:
        brew.puts('%s %s -> %s' % (formula.name, formula.installed_version, formula.version))
    for formula in formulae:
        upgrade_formula(brew, formula)
    return 0


def cmd_outdated(brew, args):
    """`brew outdated [--json=v2] [-v] [NAME...]` (Homebrew's cmd/outdated.rb, as remembered: names
    only when stdout is not a TTY, `NAME (OLD) < NEW` with -v; exit 1 when a named formula is
    outdated; the v2 JSON's keys name, installed_versions, current_version, pinned, pinned_version)."""
    json_v2 = '--json=v2' in args
    verbose = ('-v' in args or '--verbose' in args or sys.stdout.isatty()) and not ('-q' in args or '--quiet' in args)
    known = ('--json=v2', '-v', '--verbose', '-q', '--quiet', '--formula', '--formulae')
    bad = [a for a in args if a.startswith('-') and a not in known]
    if bad:
        return not_simulated(['outdated'] + args)
    names = [a for a in args if not a.startswith('-')]
    formulae = [brew.formula(n) for n in names] if names else brew.installed_formulae()
    outdated = [f for f in formulae if f.outdated]
    if json_v2:
        entries = [OrderedDict([('name', f.name),
                                ('installed_versions', [v for v in f.installed_versions()
                                                        if version_key(v) < version_key(f.version)]),
                                ('current_version', f.version), ('pinned', False), ('pinned_version', None)])
                   for f in outdated]
        brew.puts(json.dumps(OrderedDict([('formulae', entries), ('casks', [])]), indent=2))
    else:
        for f in outdated:
            if verbose:
                old = [v for v in f.installed_versions() if version_key(v) < version_key(f.version)]
                brew.puts('%s (%s) < %s' % (f.name, ', '.join(old), f.version))
            else:
                brew.puts(f.name)
    if names and outdated:
        raise BrewExit(1, 'read')
    return 0


def unlink_bins(brew, keg):
    """Remove the prefix's bin/ links that point into `keg`."""
    bindir = os.path.join(brew.prefix, 'bin')
    rel = os.path.relpath(keg, bindir)
    for entry in sorted(os.listdir(bindir)) if os.path.isdir(bindir) else []:
        link = os.path.join(bindir, entry)
        if os.path.islink(link) and (os.readlink(link) + '/').startswith(rel + '/'):
            os.unlink(link)


def keg_stats(keg):
    count = size = 0
    for dirpath, _dirs, files in os.walk(keg):
        for name in files:
            count += 1
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                size += os.path.getsize(path)
    return count, size


def human_size(size):
    for unit in ('B', 'KB', 'MB', 'GB'):
        if size < 1024 or unit == 'GB':
            return ('%.1f%s' % (size, unit)) if unit != 'B' else '%dB' % size
        size /= 1024.0
    return str(size)


def check_sources(brew, formula):
    """A `file` is copied from the simulated Mac's own file system (the base image's caddy binary);
    without it nothing is poured (INVENTED message: a real brew would download the bottle)."""
    for rel, how in sorted(formula.spec.get('install', {}).items()):
        if 'file' in how and not os.path.isfile(brew.ctx.root_path(how['file'])):
            brew.odie('macsim: %s of %s needs %s, which is not in this base image (rebuild it: macsim build)'
                      % (rel, formula.name, how['file']), 'error')


def install_keg(brew, formula):
    keg = formula.keg
    check_sources(brew, formula)
    os.makedirs(keg)
    for rel, how in sorted(formula.spec.get('install', {}).items(), key=lambda kv: 'symlink' in kv[1]):
        dst = os.path.join(keg, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if 'wrapper' in how:
            target = how['wrapper']
            if brew.ctx.testing:
                # The emulator of the repository, run with this interpreter.
                target = '%s %s' % (sys.executable, os.path.join(
                    os.path.dirname(os.path.dirname(GUEST_USR)), 'ollama', os.path.basename(target)))
            with open(dst, 'w') as f:
                f.write('#!/bin/sh\nexec %s "$@"\n' % target)
            os.chmod(dst, 0o755)
        elif 'script' in how:
            with open(os.path.join(CATALOG_DIR, how['script'])) as f:
                text = f.read()
            if text.startswith('#!'):
                text = text.split('\n', 1)[1]
            shebang = sys.executable if brew.ctx.testing else '/usr/local/libexec/macsim/python3'  # macsim's own
            with open(dst, 'w') as f:
                f.write('#!%s\n' % shebang + text)
            os.chmod(dst, 0o755)
        elif 'file' in how:
            # A copy, not a wrapper or link: realpath of opt/NAME/bin/X is in the Cellar, as on a Mac.
            shutil.copyfile(brew.ctx.root_path(how['file']), dst)
            os.chmod(dst, 0o755)
        elif 'symlink' in how:
            os.symlink(how['symlink'], dst)
    if formula.service:
        path = os.path.join(keg, formula.plist_name + '.plist')
        with open(path, 'wb') as f:
            f.write(dump_plist(formula.plist()))
        os.chmod(path, 0o644)
    receipt = {'homebrew_version': HOMEBREW_VERSION, 'used_options': [], 'unused_options': [],
               'built_as_bottle': True, 'poured_from_bottle': True, 'loaded_from_api': True,
               'installed_as_dependency': False, 'installed_on_request': True, 'time': int(time.time()),
               'source': {'tap': 'homebrew/core', 'versions': {'stable': formula.version}},
               'runtime_dependencies': [], 'arch': 'arm64'}
    with open(os.path.join(keg, 'INSTALL_RECEIPT.json'), 'w') as f:
        json.dump(receipt, f, indent=2)
    for sub in ('opt', 'var/homebrew/linked', 'bin', 'var/log', 'etc'):
        os.makedirs(os.path.join(brew.prefix, sub), exist_ok=True)
    rel_keg = os.path.join('..', 'Cellar', formula.name, formula.version)
    _relink(formula.opt, rel_keg)
    _relink(formula.linked, os.path.join('..', '..', '..', 'Cellar', formula.name, formula.version))
    bindir = os.path.join(keg, 'bin')
    for entry in sorted(os.listdir(bindir)) if os.path.isdir(bindir) else []:
        _relink(os.path.join(brew.prefix, 'bin', entry), os.path.join(rel_keg, 'bin', entry))
    return keg_stats(keg)


def _relink(link, target):
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)


def cmd_uninstall(brew, names):
    if not names:
        raise UsageError('This command requires at least 1 installed formula or cask argument.')
    for name in names:
        formula = brew.formula(name)
        if not formula.installed:
            brew.odie('No such keg: %s' % formula.cellar, 'write')
        for version in formula.installed_versions():
            keg = formula.keg_of(version)
            count = sum(len(files) for _d, _s, files in os.walk(keg))
            brew.puts('Uninstalling %s... (%d files)' % (keg, count))   # INVENTED (size left out)
            unlink_bins(brew, keg)
        for link in (formula.opt, formula.linked):
            if os.path.islink(link):
                os.unlink(link)
        shutil.rmtree(formula.cellar)
    return 0


def cmd_list(brew, args):
    versions = '--versions' in args
    names = [a for a in args if not a.startswith('-')]
    bad = [a for a in args if a.startswith('-') and a not in ('--versions', '--formula', '--formulae', '-1')]
    if bad:
        raise UsageError('invalid option: %s' % bad[0])
    if names:
        formulae = []
        for name in names:
            formula = brew.formula(name)
            if formula.installed:
                formulae.append(formula)
        if not formulae:
            if not versions:
                brew.odie('No such keg: %s' % os.path.join(brew.prefix, 'Cellar', names[0]), 'read')
            raise BrewExit(1, 'read')   # `--versions NAME` of a formula not installed: nothing, 1
    else:
        formulae = brew.installed_formulae()
    for formula in formulae:
        if versions:
            brew.puts('%s %s' % (formula.name, ' '.join(formula.installed_versions())))
        elif names:
            for dirpath, _dirs, files in os.walk(formula.keg_of(formula.installed_version)):
                for name in sorted(files):
                    brew.puts(os.path.join(dirpath, name))
        else:
            brew.puts(formula.name)
    if names and len(formulae) < len(names):
        raise BrewExit(1, 'read')
    return 0


def cmd_info(brew, args):
    json_v2 = '--json=v2' in args
    names = [a for a in args if not a.startswith('-')]
    if not json_v2:
        return not_simulated(['info'] + args)
    if not names:
        raise UsageError('This command requires at least 1 formula or cask argument.')
    formulae = []
    for name in names:
        formula = brew.formula(name)
        installed = [{'version': v, 'used_options': [], 'built_as_bottle': True, 'poured_from_bottle': True,
                      'time': int(os.path.getmtime(os.path.join(formula.cellar, v))), 'runtime_dependencies': [],
                      'installed_as_dependency': False, 'installed_on_request': True}
                     for v in formula.installed_versions()]
        spec = formula.spec
        formulae.append({
            'name': name, 'full_name': name, 'tap': 'homebrew/core', 'oldnames': [], 'aliases': [],
            'versioned_formulae': [], 'desc': spec.get('desc'), 'license': spec.get('license'),
            'homepage': spec.get('homepage'),
            'versions': {'stable': formula.version, 'head': None, 'bottle': True},
            'revision': 0, 'version_scheme': 0, 'keg_only': False, 'dependencies': [],
            'build_dependencies': [], 'installed': installed,
            'linked_keg': formula.linked_version,
            'pinned': False, 'outdated': formula.outdated, 'deprecated': False, 'disabled': False,
            'service': formula.api_service() or None,
        })
    brew.puts(json.dumps({'formulae': formulae, 'casks': []}, indent=2))
    return 0


def cmd_update(brew, args):
    """`brew update`: an untarred Homebrew (no .git) becomes a checkout with --force, as Homebrew's
    update.sh does with `git init` and a fetch (INVENTED here: only .git/HEAD and .git/config are
    made, nothing is fetched); then there is nothing newer (INVENTED message)."""
    quiet = '--quiet' in args or '-q' in args
    git = os.path.join(brew.prefix, '.git')
    if not os.path.isdir(git):
        if '--force' not in args and '-f' not in args:
            brew.odie('%s is not a Git repository: run `brew update --force`.' % brew.prefix, 'write')  # INVENTED
        os.makedirs(os.path.join(git, 'refs', 'heads'))
        with open(os.path.join(git, 'HEAD'), 'w') as f:
            f.write('ref: refs/heads/main\n')
        with open(os.path.join(git, 'config'), 'w') as f:
            f.write('[remote "origin"]\n\turl = https://github.com/Homebrew/brew\n')
        if not quiet:
            brew.puts('Updated Homebrew from 0000000 to %s.' % HOMEBREW_VERSION)
        return 0
    if not quiet:
        brew.puts('Already up-to-date.')
    return 0


def not_simulated(args):
    sys.stderr.write('macsim: brew %s is not simulated\n' % ' '.join(args))
    raise BrewExit(2, 'error')


# ---- brew services ---------------------------------------------------------------------------------

def services_targets(brew, name):
    if not name:
        raise UsageError('Formula(e) missing, please provide a formula name or use `--all`.')
    return [Service(brew, brew.formula(name))]


def services_list(brew, as_json):
    services = [Service(brew, f) for f in brew.installed_formulae() if f.service]
    if not services:
        if sys.stderr.isatty():
            brew.opoo('No services available to control with `brew services`')
        return 0
    hashes = [dict(s.to_hash()) for s in services]
    if as_json:
        fields = ('name', 'status', 'user', 'file', 'exit_code')
        brew.puts(ordered_json([[(k, h[k]) for k in fields] for h in hashes]))
        return 0
    rows = []
    for h in hashes:
        status = h['status'] if h['status'] != 'error' else 'error  '
        if h['status'] == 'error':
            status += str(h['exit_code'])
        file_ = h['file'].replace(brew.home, '~') if h['loaded'] else ''
        rows.append((h['name'], status, h['user'] or '', file_))
    longest_name = max([len(r[0]) for r in rows] + [4])
    longest_status = max([len(r[1]) for r in rows] + [15])
    longest_user = max([len(h['user']) for h in hashes if h['user']] + [4])
    # No colours when stdout is not a TTY, but the header still takes off their 9 characters.
    head_status = longest_status - 9
    brew.puts('%-*.*s %-*.*s %-*.*s %s' % (longest_name, longest_name, 'Name', head_status, head_status,
                                           'Status', longest_user, longest_user, 'User', 'File'))
    for name, status, user, file_ in rows:
        brew.puts('%-*.*s %-*.*s %-*.*s %s' % (longest_name, longest_name, name, longest_status,
                                               longest_status, status, longest_user, longest_user, user, file_))
    return 0


def services_info(brew, targets, as_json, verbose):
    hashes = [s.to_hash() for s in targets]
    if as_json:
        brew.puts(ordered_json(hashes))
        return 0
    for pairs in hashes:
        h = dict(pairs)
        tty = sys.stdout.isatty() and not brew.env.get('HOMEBREW_NO_EMOJI')

        def pretty(value):
            return ('\u2714' if value else '\u2718') if tty else ('true' if value else 'false')
        text = '%s (%s)\nRunning: %s\nLoaded: %s\nSchedulable: %s\n' % (
            h['name'], h['service_name'], pretty(h['running']), pretty(h['loaded']), pretty(h['schedulable']))
        if h['pid'] is not None:
            text += 'User: %s\nPID: %s\n' % (h['user'], h['pid'])
        if verbose:
            text += 'File: %s %s\n' % (h['file'], pretty(bool(h['file'])))
            for key, label in (('command', 'Command'), ('working_dir', 'Working directory'),
                               ('root_dir', 'Root directory'), ('log_path', 'Log'), ('error_log_path', 'Error log')):
                if h.get(key) is not None:
                    text += '%s: %s\n' % (label, h[key])
        brew.puts(text)
    return 0


def install_service_file(brew, service):
    formula = service.formula
    if not formula.installed:
        raise UsageError('Formula `%s` is not installed.' % service.name)
    if not os.path.exists(service.service_file):
        raise UsageError('Formula `%s` has not implemented #plist, #service or provided a locatable '
                         'service file.' % service.name)
    with open(service.service_file, 'rb') as f:
        contents = f.read()
    if brew.sudo_service_user:
        # REAL quirk of Homebrew's code: the message names the invoking user, not the service user.
        brew.ohai('Setting username in %s to: %s' % (service.service_name, brew.user))
        plist = plistlib.loads(contents)
        plist['UserName'] = brew.sudo_service_user
        contents = dump_plist(plist)
    if os.path.lexists(service.dest):
        os.unlink(service.dest)
    os.makedirs(service.dest_dir, exist_ok=True)
    with open(service.dest, 'wb') as f:
        f.write(contents)
    os.chmod(service.dest, 0o644)


def take_root_ownership(brew, service):
    """`sudo brew services start` without --sudo-service-user: root:admin and +t on the keg paths."""
    if not brew.is_root or brew.sudo_service_user:
        return
    admin = brew.users.group_gid('admin')
    _chown(brew, service.dest, 0, admin)
    with open(service.dest, 'rb') as f:
        plist = plistlib.load(f)
    program = (plist.get('ProgramArguments') or [None])[0]
    key = 'first ProgramArguments value'
    if not program:
        program, key = plist.get('Program'), 'Program'
    paths = []
    if program:
        if os.path.exists(program):
            real = os.path.realpath(program)
            paths += [real, os.path.realpath(os.path.dirname(real))]
        else:
            brew.opoo('%s: the %s does not exist:\n  %s' % (service.name, key, program))
    formula = service.formula
    paths += [formula.opt, formula.linked, os.path.join(formula.opt, 'bin'), os.path.join(formula.opt, 'sbin')]
    paths = sorted(set(p for p in paths if os.path.exists(p)))
    brew.opoo('Taking root:admin ownership of some %s paths:\n  %s\n'
              'This will require manual removal of these paths using `sudo rm` on\n'
              'brew upgrade/reinstall/uninstall.' % (service.name, '\n  '.join(paths)))
    for path in paths:
        _chown(brew, path, 0, admin)
        try:
            os.chmod(path, os.stat(path).st_mode | 0o1000)
        except OSError:
            pass


def _chown(brew, path, uid, gid):
    try:
        os.chown(path, uid, gid)
    except PermissionError:
        if not brew.ctx.testing:   # unit tests fake root without being root
            raise


def service_load(brew, service, file_, enable):
    if brew.is_root:
        brew.opoo('%s must be run as non-root to start at user login!' % service.name)
    file_ = file_ or (service.dest if enable else service.service_file)
    target = brew.domain_target()
    if enable:
        brew.safe_system(['enable', '%s/%s' % (target, service.service_name)])
    brew.safe_system(['bootstrap', target, file_])
    verb = 'started' if enable else 'ran'
    brew.ohai('Successfully %s `%s` (label: %s)' % (verb, service.name, service.service_name))


def services_start(brew, targets):
    for service in targets:
        if service.running:
            brew.puts('Service `%s` already started, use `brew services restart %s` to restart.'
                      % (service.name, service.name))
            continue
        if not service.formula.installed:
            brew.odie('Formula `%s` is not installed.' % service.name, 'write')
        install_service_file(brew, service)
        take_root_ownership(brew, service)
        service_load(brew, service, None, enable=True)
    return 0


def services_run(brew, targets):
    for service in targets:
        if service.running:
            brew.puts('Service `%s` already running, use `brew services restart %s` to restart.'
                      % (service.name, service.name))
            continue
        if brew.is_root:
            brew.puts('Service `%s` cannot be run (but can be started) as root.' % service.name)
            continue
        service_load(brew, service, None, enable=False)
    return 0


def services_stop(brew, targets):
    for service in targets:
        if not service.loaded():
            if os.path.exists(service.dest):
                os.unlink(service.dest)
            if service.file_present():
                brew.odie('Service `%s` is started as `%s`. Try:\n  %sbrew services stop %s'
                          % (service.name, service.owner, '' if brew.is_root else 'sudo ', service.name), 'write')
            elif brew.quiet_system(['bootout', '%s/%s' % (brew.domain_target(), service.service_name)]):
                brew.ohai('Successfully stopped `%s` (label: %s)' % (service.name, service.service_name))
            else:
                brew.opoo('Service `%s` is not started.' % service.name)
            continue
        brew.puts('Stopping `%s`... (might take a while)' % service.name)
        target = '%s/%s' % (brew.domain_target(), service.service_name)
        brew.quiet_system(['bootout', target])
        waited = 0
        while service.loaded() and waited < 60:
            time.sleep(1)
            waited += 1
            brew.quiet_system(['bootout', target])
        if os.path.exists(service.dest):
            os.unlink(service.dest)
        service.reset()
        if service.loaded() or service.running:
            brew.opoo('Unable to stop `%s` (label: %s)' % (service.name, service.service_name))
        else:
            brew.ohai('Successfully stopped `%s` (label: %s)' % (service.name, service.service_name))
    return 0


def services_restart(brew, targets):
    ran, started = [], []
    for service in targets:
        if service.loaded() and not service.file_present():
            ran.append(service)
        else:
            started.append(service)
        if service.loaded():
            services_stop(brew, [service])
        service.reset()
    if ran:
        services_run(brew, ran)
    if started:
        services_start(brew, started)
    return 0


SERVICE_TRIGGERS = {
    None: 'list', 'list': 'list', 'ls': 'list', 'info': 'info', 'i': 'info',
    'restart': 'restart', 'relaunch': 'restart', 'reload': 'restart', 'r': 'restart',
    'run': 'run', 'start': 'start', 'launch': 'start', 'load': 'start', 's': 'start', 'l': 'start',
    'stop': 'stop', 'unload': 'stop', 'terminate': 'stop', 'term': 'stop', 't': 'stop', 'u': 'stop',
}


def cmd_services(brew, args):
    as_json = verbose = False
    named = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == '--json':
            as_json = True
        elif arg in ('-v', '--verbose'):
            verbose = True
        elif arg in ('-d', '--debug', '-q', '--quiet'):
            pass
        elif arg.startswith('--sudo-service-user='):
            brew.sudo_service_user = arg.split('=', 1)[1]
        elif arg == '--sudo-service-user':
            if i + 1 >= len(args):
                raise UsageError('--sudo-service-user requires an argument')
            i += 1
            brew.sudo_service_user = args[i]
        elif arg in ('--all', '--no-wait', '--keep') or arg.startswith(('--file=', '--max-wait=')):
            return not_simulated(['services'] + args)
        elif arg.startswith('-'):
            raise UsageError('invalid option: %s' % arg)
        else:
            named.append(arg)
        i += 1
    if len(named) > 2:
        raise UsageError('This command does not take more than 2 named arguments.')
    if brew.sudo_service_user is not None and not brew.is_root:
        raise UsageError('`brew services` is supported only when running as root!')
    subcommand = named[0] if named else None
    name = named[1] if len(named) > 1 else None
    action = SERVICE_TRIGGERS.get(subcommand)
    if action is None:
        if subcommand in ('kill', 'k', 'cleanup', 'clean', 'cl', 'rm'):
            return not_simulated(['services'] + args)
        raise UsageError('unknown subcommand: `%s`' % subcommand)
    if action == 'list':
        if name:
            raise UsageError('The `%s` subcommand does not accept a formula argument!' % subcommand)
        return services_list(brew, as_json)
    targets = services_targets(brew, name)
    if action == 'info':
        return services_info(brew, targets, as_json, verbose)
    return {'start': services_start, 'stop': services_stop, 'restart': services_restart,
            'run': services_run}[action](brew, targets)


# ---- entry point -----------------------------------------------------------------------------------

READ_COMMANDS = ('list', 'ls', 'info', 'outdated', '--prefix', '--version', '-v', 'help', '--help')


def main(ctx, args):
    brew = Brew(ctx)
    command = args[0] if args else None
    rest = args[1:]
    if command == 'services':
        sub = next((a for a in rest if not a.startswith('-')), None)
        kind = 'read' if SERVICE_TRIGGERS.get(sub) in ('list', 'info') else 'write'
    else:
        kind = 'read' if command in READ_COMMANDS else 'write'
    if brew.is_root and command not in ('services', '--prefix'):
        sys.stderr.write(ROOT_ERROR)
        return 1, kind
    try:
        if command is None or command in ('help', '--help', '-h'):
            brew.puts('Example usage:\n  brew search TEXT|/REGEX/\n  brew info [FORMULA|CASK...]\n'
                      '  brew install FORMULA|CASK...\n  brew services [subcommand]\n'
                      '(macsim simulates install, upgrade, outdated, uninstall, list, info --json=v2, services)')  # INVENTED
            return (0 if command else 1), 'read'
        if command == '--prefix':
            brew.puts(brew.formula(rest[0]).opt if rest else brew.prefix)
            return 0, 'read'
        if command in ('--version', '-v'):
            brew.puts('Homebrew %s' % HOMEBREW_VERSION)
            return 0, 'read'
        if command == 'install':
            return cmd_install(brew, [a for a in rest if not a.startswith('-')]), kind
        if command in ('update', 'up'):
            return cmd_update(brew, rest), kind
        if command == 'upgrade':
            return cmd_upgrade(brew, rest), kind
        if command == 'outdated':
            return cmd_outdated(brew, rest), kind
        if command in ('uninstall', 'remove', 'rm'):
            return cmd_uninstall(brew, [a for a in rest if not a.startswith('-')]), kind
        if command in ('list', 'ls'):
            return cmd_list(brew, rest), kind
        if command == 'info':
            return cmd_info(brew, rest), kind
        if command == 'services':
            return cmd_services(brew, rest), kind
        not_simulated(args)
    except UsageError as e:
        sys.stdout.flush()
        if command == 'services':
            sys.stderr.write(SERVICES_USAGE + '\n')
        # Homebrew prints the command's help, then this line (help abbreviated: INVENTED).
        sys.stderr.write('Error: Invalid usage: %s\n' % e)
        return 1, 'error'
    except BrewExit as e:
        return e.rc, e.kind or kind
    return 0, kind
