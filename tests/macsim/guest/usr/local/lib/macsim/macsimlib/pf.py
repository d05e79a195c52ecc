"""pfctl stand-in (test fixture): /sbin/pfctl of the simulated Mac, pf's state and a small pf.conf parser.

Sources: shared/reference/macos-formats-provisioning.md section 6 (texts, REAL/DERIVED there) and
shared/reference/gateway.md section 6.1 (xnu's -E/-X/-d semantics). Tags below: REAL (a capture),
DERIVED (BSD pfctl / xnu source), INVENTED (no source: tests and modules must not depend on it).

pf's state is kernel state: the enabled flag, the enable references (tokens) and the loaded rules
last one boot. The state file /var/db/macsim/pf.json records the boot id it belongs to; a state of
another boot is thrown away and replaced by what com.apple.pfctl leaves at boot: /etc/pf.conf
loaded (main ruleset, `load anchor "com.apple"`), pf disabled, no references.

Enforcement: while pf is enabled, the filter rules the main ruleset reaches (`anchor "com.apple/*"`
evaluates every anchor attached under com.apple in alphabetical order of name) are translated into
the nftables table `inet macsim_pf` of the instance's network namespace (see nft_script); disabled
pf has no table. Without /usr/sbin/nft nothing is enforced (the state is still kept).
"""

import ipaddress
import os
import random
import subprocess
import sys
import time

from macsimlib.common import err, out, read_json

STATE = 'pf.json'
PF_CONF = '/etc/pf.conf'
NFT = '/usr/sbin/nft'
NFT_TABLE = 'macsim_pf'
MAX_DEPTH = 8

ALTQ = ('No ALTQ support in kernel', 'ALTQ related functions disabled')                       # REAL
F_WARNING = ('pfctl: Use of -f option, could result in flushing of rules',                     # REAL
             'present in the main ruleset added by the system at startup.',
             'See /etc/pf.conf for further details.', '')
FLUSH_ALL_MAIN = ('rules cleared', 'nat cleared', 'dummynet cleared', '0 tables deleted.', '0 states cleared',  # REAL
                  'source tracking entries cleared', 'pf: statistics cleared', 'pf: interface flags reset')
FLUSH_ALL_ANCHOR = ('rules cleared', 'nat cleared', 'dummynet cleared', '0 tables deleted.')   # REAL (an anchor)
# INVENTED (abbreviated: pfctl(8)'s real usage text is longer).
USAGE = ('usage: pfctl [-AdeEghmNnOPqRrvz] [-a anchor] [-D macro=value] [-F modifier]\n'
         '\t[-f file] [-i interface] [-k host | network] [-o level] [-p device]\n'
         '\t[-s modifier [-v]] [-T command [address ...]] [-t table] [-x level]\n'
         '\t[-X token]')
# Interface names of a Mac and what they are in the instance's netns.
IFNAMES = {'lo0': 'lo'}


class PfSyntaxError(Exception):
    def __init__(self, line, message='syntax error'):
        Exception.__init__(self, message)
        self.line = line
        self.message = message


# ---- parsing --------------------------------------------------------------------------------------

def _logical_lines(text):
    """(line number, text) with comments removed and `\\` continuations joined."""
    result, buf, start = [], '', None
    for number, raw in enumerate(text.split('\n'), 1):
        line = raw
        quoted = False
        for i, ch in enumerate(line):
            if ch == '"':
                quoted = not quoted
            elif ch == '#' and not quoted:
                line = line[:i]
                break
        if start is None:
            start = number
        if line.rstrip().endswith('\\'):
            buf += line.rstrip()[:-1] + ' '
            continue
        buf += line
        if buf.strip():
            result.append((start, buf))
        buf, start = '', None
    if buf.strip():
        result.append((start, buf))
    return result


def _tokens(line, number):
    toks, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch.isspace():
            i += 1
        elif ch in '{},':
            toks.append(ch)
            i += 1
        elif ch == '"':
            end = line.find('"', i + 1)
            if end < 0:
                raise PfSyntaxError(number)
            toks.append(line[i:end + 1])
            i = end + 1
        elif ch == '<':
            end = line.find('>', i + 1)
            if end < 0:
                raise PfSyntaxError(number)
            toks.append(line[i:end + 1])
            i = end + 1
        else:
            j = i
            while j < len(line) and not line[j].isspace() and line[j] not in '{},"<':
                j += 1
            toks.append(line[i:j])
            i = j
    return toks


class _Stream(object):
    def __init__(self, toks, number):
        self.toks = toks
        self.i = 0
        self.number = number

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, *want):
        tok = self.peek()
        if tok is None or (want and tok not in want):
            raise PfSyntaxError(self.number)
        self.i += 1
        return tok

    def accept(self, *want):
        if self.peek() in want:
            self.i += 1
            return True
        return False

    def list_or_one(self):
        """`{ a, b c }` or one token: a list of tokens."""
        if not self.accept('{'):
            return [self.take()]
        items = []
        while True:
            tok = self.take()
            if tok == '}':
                break
            if tok != ',':
                items.append(tok)
        if not items:
            raise PfSyntaxError(self.number)
        return items


def _address(tok, number):
    """'any', '<table>' or an address/CIDR, normalised: (kind, value, af) with af 'inet'/'inet6'/None."""
    if tok == 'any':
        return ('any', 'any', None)
    if tok.startswith('<') and tok.endswith('>') and len(tok) > 2:
        return ('table', tok[1:-1], None)
    try:
        iface = ipaddress.ip_interface(tok)
    except ValueError:
        raise PfSyntaxError(number)
    af = 'inet' if iface.version == 4 else 'inet6'
    if iface.network.prefixlen == iface.max_prefixlen:
        return ('host', str(iface.ip), af)
    return ('net', '%s/%d' % (iface.ip, iface.network.prefixlen), af)


def _port(stream):
    stream.accept('=')
    tok = stream.take()
    if not tok.isdigit() or not 0 < int(tok) < 65536:
        raise PfSyntaxError(stream.number)
    return int(tok)


def _parse_filter(stream, tables):
    """pass|block [drop|return] in|out [quick] [on IF] [inet|inet6] [proto P|{P, ...}]
    (all | [from SRC [port N]] [to DST [port N]]) [flags F/M|any] [keep state|no state]: expanded rules."""
    action = stream.take('pass', 'block')
    block = None
    if action == 'block':
        block = 'return' if stream.accept('return') else 'drop'
        stream.accept('drop')
    direction = stream.take('in', 'out')
    quick = stream.accept('quick')
    ifname = stream.take() if stream.accept('on') else None
    af = stream.take() if stream.peek() in ('inet', 'inet6') else None
    protos = [None]
    if stream.accept('proto'):
        protos = stream.list_or_one()
        if any(p not in ('tcp', 'udp') for p in protos):
            raise PfSyntaxError(stream.number)
    srcs, dsts, sport, dport = ['any'], ['any'], None, None
    if not stream.accept('all'):
        if stream.accept('from'):
            srcs = stream.list_or_one()
            if stream.accept('port'):
                sport = _port(stream)
        if stream.accept('to'):
            dsts = stream.list_or_one()
            if stream.accept('port'):
                dport = _port(stream)
    flags = None
    state = None
    while stream.peek() is not None:
        if stream.accept('flags'):
            tok = stream.take()
            if tok != 'any' and tok not in ('S/SA', 'S/SAFR', 'S/FSRA'):
                raise PfSyntaxError(stream.number)
            flags = tok
        elif stream.accept('keep'):
            stream.take('state')
            state = 'keep'
        elif stream.accept('no'):
            stream.take('state')
            state = 'no'
        else:
            raise PfSyntaxError(stream.number)
    if (sport or dport) and protos == [None]:
        raise PfSyntaxError(stream.number, 'port only applies to tcp/udp')    # DERIVED (BSD parse.y)
    keep = action == 'pass' and state != 'no'       # DERIVED: pass rules keep state by default
    if keep and flags is None:
        flags = 'S/SA'                              # DERIVED: 'flags S/SA' by default on stateful rules
    if flags == 'any':
        flags = None
    rules = []
    for proto in protos:
        for src_tok in srcs:
            src = _address(src_tok, stream.number)
            for dst_tok in dsts:
                dst = _address(dst_tok, stream.number)
                rule_af = af
                for a in (src[2], dst[2]):
                    if a and rule_af and a != rule_af:
                        if len(srcs) * len(dsts) > 1:
                            rule_af = 'skip'          # BSD expand_rule skips mismatching combinations
                            break
                        raise PfSyntaxError(stream.number, 'no routing address with matching address family found.')
                    rule_af = rule_af or a
                if rule_af == 'skip':
                    continue
                for addr in (src, dst):
                    if addr[0] == 'table' and addr[1] not in tables:
                        tables[addr[1]] = {'flags': [], 'addresses': [], 'defined': False}
                rules.append({'type': 'filter', 'action': action, 'block': block, 'direction': direction,
                              'quick': quick, 'ifname': ifname, 'af': rule_af, 'proto': proto,
                              'src': list(src[:2]), 'sport': sport, 'dst': list(dst[:2]), 'dport': dport,
                              'flags': flags, 'keep_state': keep})
    return rules


def parse(text, anchor=''):
    """Parse a ruleset for `anchor` ('' = main): {'rules': [...], 'tables': {...}, 'loads': [(anchor, file)]}.
    Raises PfSyntaxError (line numbers of the file)."""
    rules, tables, loads = [], {}, []
    for number, line in _logical_lines(text):
        stream = _Stream(_tokens(line, number), number)
        first = stream.peek()
        if first in ('pass', 'block'):
            rules.extend(_parse_filter(stream, tables))
        elif first in ('anchor', 'scrub-anchor', 'nat-anchor', 'rdr-anchor', 'dummynet-anchor'):
            kind = stream.take()
            name = stream.take()
            if not (name.startswith('"') and name.endswith('"')) or len(name) < 3:
                raise PfSyntaxError(number)
            if stream.peek() is not None:
                raise PfSyntaxError(number)
            rules.append({'type': kind, 'name': name[1:-1]})
        elif first == 'load':
            stream.take()
            stream.take('anchor')
            name = stream.take()
            stream.take('from')
            path = stream.take()
            if stream.peek() is not None or not all(t.startswith('"') and t.endswith('"') for t in (name, path)):
                raise PfSyntaxError(number)
            loads.append((_join(anchor, name[1:-1]), path[1:-1]))
        elif first == 'table':
            stream.take()
            name = stream.take()
            if not (name.startswith('<') and name.endswith('>')):
                raise PfSyntaxError(number)
            flags = []
            while stream.peek() in ('const', 'persist', 'counters'):
                flags.append(stream.take())
            addresses = []
            if stream.peek() == '{':
                for tok in stream.list_or_one():
                    kind, value, _af = _address(tok, number)
                    if kind not in ('host', 'net'):
                        raise PfSyntaxError(number)
                    addresses.append(value)
            if stream.peek() is not None:
                raise PfSyntaxError(number)
            tables[name[1:-1]] = {'flags': flags, 'addresses': addresses, 'defined': True}
        else:
            raise PfSyntaxError(number)
    return {'rules': rules, 'tables': tables, 'loads': loads}


def _join(anchor, name):
    return '%s/%s' % (anchor, name) if anchor else name


# ---- printing (BSD pfctl's print_rule / print_tabledef: DERIVED; exact spacing INVENTED where BSD differs) ----

def format_address(addr):
    kind, value = addr
    return '<%s>' % value if kind == 'table' else value


def format_rule(rule):
    """One rule as `pfctl -sr` and `pfctl -nvf` print it (one normalised form for both)."""
    if rule['type'] == 'scrub-anchor':
        return 'scrub-anchor "%s" all fragment reassemble' % rule['name']     # REAL (pfctl -sr on a Mac)
    if rule['type'] != 'filter':
        return '%s "%s" all' % (rule['type'], rule['name'])                   # REAL (anchor "..." all)
    words = [rule['action']]
    if rule['action'] == 'block':
        words.append('return' if rule['block'] == 'return' else 'drop')
    words.append(rule['direction'])
    if rule['quick']:
        words.append('quick')
    if rule['ifname']:
        words += ['on', rule['ifname']]
    if rule['af']:
        words.append(rule['af'])
    if rule['proto']:
        words += ['proto', rule['proto']]
    if rule['src'][0] == 'any' and rule['dst'][0] == 'any' and not rule['sport'] and not rule['dport']:
        words.append('all')
    else:
        words += ['from', format_address(rule['src'])]
        if rule['sport']:
            words += ['port', '=', str(rule['sport'])]
        words += ['to', format_address(rule['dst'])]
        if rule['dport']:
            words += ['port', '=', str(rule['dport'])]
    if rule['flags']:
        words += ['flags', rule['flags']]
    if rule['keep_state']:
        words += ['keep', 'state']
    return ' '.join(words)


def format_table(name, table):
    """`table <name> const { a b }` (BSD print_tabledef: DERIVED); printed by -nvf only, -sr never shows tables."""
    line = 'table <%s>' % name + ''.join(' ' + f for f in table['flags'])
    if table['addresses']:
        line += ' {' + ''.join(' ' + a for a in table['addresses']) + ' }'
    return line


def filter_lines(ruleset):
    """`-s rules` of a ruleset (nat-anchor/rdr-anchor/dummynet-anchor belong to -s nat / dummynet)."""
    return [format_rule(r) for r in ruleset['rules'] if r['type'] not in ('nat-anchor', 'rdr-anchor', 'dummynet-anchor')]


def verbose_lines(parsed):
    """What `pfctl -nvf FILE` prints on stdout: table definitions, then every rule (including nat/rdr anchors)."""
    lines = [format_table(n, t) for n, t in parsed['tables'].items() if t['defined']]
    return lines + [format_rule(r) for r in parsed['rules']] + \
        ['load anchor "%s" from "%s"' % load for load in parsed['loads']]


# ---- state ------------------------------------------------------------------------------------------

def _empty_ruleset():
    return {'rules': [], 'tables': {}}


def _read_text(ctx, path):
    try:
        with open(ctx.root_path(path)) as f:
            return f.read()
    except OSError:
        return None


def boot_state(ctx):
    """pf as com.apple.pfctl leaves it at boot: /etc/pf.conf loaded, pf disabled, no references."""
    state = {'boot_id': ctx.boot.get('boot_id'), 'enabled': False, 'enabled_at': None, 'refs': [],
             'anonymous_refs': 0, 'rulesets': {}, 'next_pid': 0}
    text = _read_text(ctx, PF_CONF)
    if text is not None:
        try:
            load_file(ctx, state, '', text)
        except PfSyntaxError:
            pass
    return state


def load_state(ctx):
    state = read_json(ctx.path(STATE), None)
    if not isinstance(state, dict) or state.get('boot_id') != ctx.boot.get('boot_id'):
        state = boot_state(ctx)
    return state


def load_file(ctx, state, anchor, text, depth=0):
    """Replace `anchor`'s rules and tables with the parsed text; follow `load anchor` (paths of the Mac)."""
    parsed = parse(text, anchor)
    loaded = []
    for sub, path in parsed['loads']:
        sub_text = _read_text(ctx, path)
        if sub_text is None or depth > MAX_DEPTH:
            continue
        loaded.append((sub, sub_text))
    state['rulesets'][anchor] = {'rules': parsed['rules'], 'tables': parsed['tables']}
    for sub, sub_text in loaded:
        try:
            load_file(ctx, state, sub, sub_text, depth + 1)
        except PfSyntaxError:
            pass
    return parsed


def anchors_of(state, parent, recursive):
    """Anchors attached under `parent` ('' = main): those named by anchor rules and those holding rules."""
    names = set()
    for path, ruleset in state['rulesets'].items():
        if path and (ruleset['rules'] or ruleset['tables']):
            names.add(path)
    for path, ruleset in list(state['rulesets'].items()):
        for rule in ruleset['rules']:
            if rule['type'] != 'filter':
                base = rule['name'][:-2] if rule['name'].endswith('/*') else rule['name']
                if base and base != '*':
                    names.add(_join(path, base))
    found = set()
    for name in names:
        parts = name.split('/')
        for i in range(1, len(parts) + 1):
            found.add('/'.join(parts[:i]))
    prefix = parent + '/' if parent else ''
    result = [n for n in found if n.startswith(prefix) and n != parent]
    if not recursive:
        result = [n for n in result if '/' not in n[len(prefix):]]
    return sorted(result)


def effective_rules(state):
    """The filter rules pf evaluates, in order: the main ruleset with its anchor rules expanded
    (`anchor "X/*"`: every anchor attached under X in alphabetical order; `anchor "X"`: X itself)."""
    result = []

    def walk(path, depth):
        if depth > MAX_DEPTH:
            return
        ruleset = state['rulesets'].get(path) or _empty_ruleset()
        for rule in ruleset['rules']:
            if rule['type'] == 'filter':
                result.append((path, rule))
            elif rule['type'] == 'anchor':
                if rule['name'].endswith('/*'):
                    base = _join(path, rule['name'][:-2])
                    for child in anchors_of(state, base, False):
                        walk(child, depth + 1)
                else:
                    walk(_join(path, rule['name']), depth + 1)
    walk('', 0)
    return result


# ---- nftables ---------------------------------------------------------------------------------------

def _set_name(anchor, table, family):
    safe = ''.join(c if c.isalnum() else '_' for c in anchor)
    return 't%s_%s_%s' % (family, safe, table)


def _nft_match(rule, anchor):
    """nft match expressions for one pf rule: a list of alternatives (a <table> of both families gives two)."""
    base = []
    if rule['ifname']:
        key = 'iifname' if rule['direction'] == 'in' else 'oifname'
        base.append('%s "%s"' % (key, IFNAMES.get(rule['ifname'], rule['ifname'])))
    if rule['af']:
        base.append('meta nfproto %s' % ('ipv4' if rule['af'] == 'inet' else 'ipv6'))
    if rule['proto']:
        base.append('meta l4proto %s' % rule['proto'])
    alternatives = [base]
    for field, addr in (('saddr', rule['src']), ('daddr', rule['dst'])):
        kind, value = addr
        if kind == 'any':
            continue
        if kind == 'table':
            alternatives = [alt + ['%s %s @%s' % (fam, field, _set_name(anchor, value, fam))]
                            for alt in alternatives for fam in ('ip', 'ip6')]
        else:
            fam = 'ip6' if ':' in value else 'ip'
            alternatives = [alt + ['%s %s %s' % (fam, field, value)] for alt in alternatives]
    for key, port in (('sport', rule['sport']), ('dport', rule['dport'])):
        if port:
            alternatives = [alt + ['%s %s %d' % (rule['proto'], key, port)] for alt in alternatives]
    if rule['flags'] and rule['proto'] == 'tcp':
        # flags S/SA: of SYN and ACK only SYN set.
        alternatives = [alt + ['tcp flags & (syn | ack) == syn'] for alt in alternatives]
    elif rule['flags'] and rule['proto'] is None:
        # pf checks the flags of TCP packets only: other protocols match without them.
        alternatives = [alt + extra for alt in alternatives
                        for extra in (['meta l4proto != tcp'], ['meta l4proto tcp', 'tcp flags & (syn | ack) == syn'])]
    return [' '.join(alt) for alt in alternatives]


def nft_script(state):
    """The `nft -f -` text that makes the netns enforce what pf would (disabled: only delete the table).

    Semantics (INVENTED mapping of pf's): packets of a connection conntrack knows (pf's states) pass;
    otherwise the rules run in pf's order: a `quick` rule that matches decides at once, a non-quick
    match is remembered in the packet mark (1 pass, 2 block) and the last one decides; no match passes.
    `in` rules go to an input chain, `out` rules to an output chain; lo0 is Linux's lo. `block return`
    rejects (TCP reset / ICMP unreachable)."""
    lines = ['table inet %s' % NFT_TABLE, 'delete table inet %s' % NFT_TABLE]
    if not state['enabled']:
        return '\n'.join(lines) + '\n'
    rules = effective_rules(state)
    lines.append('table inet %s {' % NFT_TABLE)
    seen_tables = set()
    for anchor, rule in rules:
        for addr in (rule['src'], rule['dst']):
            if addr[0] == 'table' and (anchor, addr[1]) not in seen_tables:
                seen_tables.add((anchor, addr[1]))
                table = state['rulesets'].get(anchor, _empty_ruleset())['tables'].get(addr[1], {'addresses': []})
                for fam, typ in (('ip', 'ipv4_addr'), ('ip6', 'ipv6_addr')):
                    elems = [a for a in table['addresses'] if (':' in a) == (fam == 'ip6')]
                    lines.append('  set %s {' % _set_name(anchor, addr[1], fam))
                    lines.append('    type %s; flags interval;' % typ)
                    if elems:
                        lines.append('    elements = { %s }' % ', '.join(elems))
                    lines.append('  }')
    for chain, hook, direction in (('input', 'input', 'in'), ('output', 'output', 'out')):
        lines.append('  chain %s {' % chain)
        lines.append('    type filter hook %s priority 0; policy accept;' % hook)
        lines.append('    ct state established,related accept')
        lines.append('    meta mark set 0')
        for anchor, rule in rules:
            if rule['direction'] != direction:
                continue
            if rule['action'] == 'pass':
                verdict = 'accept' if rule['quick'] else 'meta mark set 1'
            elif rule['block'] == 'return':
                verdict = 'reject' if rule['quick'] else 'meta mark set 2'
            else:
                verdict = 'drop' if rule['quick'] else 'meta mark set 2'
            for match in _nft_match(rule, anchor):
                prefix = match + ' ' if match else ''
                lines.append('    %s%s  # %s: %s' % (prefix, verdict, anchor or 'main', format_rule(rule)))
        lines.append('    meta mark 2 drop')
        lines.append('  }')
    lines.append('}')
    return '\n'.join(lines) + '\n'


def apply_enforcement(ctx, state):
    """Make nftables say what pf's state says. Unit tests (MACSIM_STATE_DIR) get the script in pf.nft instead."""
    script = nft_script(state)
    if ctx.testing:
        with open(ctx.path('pf.nft'), 'w') as f:
            f.write(script)
        return True
    if not os.path.exists(NFT):
        return False
    proc = subprocess.run([NFT, '-f', '-'], input=script, universal_newlines=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        err('macsim: pfctl: nft failed (%d): %s' % (proc.returncode, proc.stderr.strip()))
        return False
    return True


def reset_at_boot(ctx):
    """Boot hook: pf's kernel state of the new boot (the netns outlives a reboot: remove the table)."""
    with ctx.locked():
        state = boot_state(ctx)
        ctx.save_state(STATE, state)
        apply_enforcement(ctx, state)


# ---- the command ------------------------------------------------------------------------------------------

def _parse_args(args):
    """pfctl's getopt subset: returns a dict, or None for a usage error."""
    opts = {'anchor': None, 'E': False, 'e': False, 'd': False, 'X': None, 'show': None, 'flush': None,
            'file': None, 'n': False, 'v': 0}
    with_value = {'a': 'anchor', 'X': 'X', 's': 'show', 'F': 'flush', 'f': 'file'}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith('-') or arg == '-':
            return None
        j = 1
        while j < len(arg):
            ch = arg[j]
            if ch in with_value:
                value = arg[j + 1:]
                if not value:
                    i += 1
                    if i >= len(args):
                        return None
                    value = args[i]
                opts[with_value[ch]] = value
                break
            if ch in 'Eed':
                opts[ch] = True
            elif ch == 'n':
                opts['n'] = True
            elif ch == 'v':
                opts['v'] += 1
            elif ch == 'q':
                pass
            else:
                return None
            j += 1
        i += 1
    return opts


SHOW = {'rules': 'rules', 'r': 'rules', 'info': 'info', 'i': 'info', 'References': 'References',
        'Anchors': 'Anchors', 'A': 'Anchors'}


def _status_line(state, now):
    if not state['enabled']:
        statline = 'Status: Disabled'
    else:
        secs = max(0, int(now - (state['enabled_at'] or now)))
        statline = 'Status: Enabled for %d days %.2d:%.2d:%.2d' % (secs // 86400, secs // 3600 % 24, secs // 60 % 60, secs % 60)
    return '%-44s%15s' % (statline, 'Debug: Urgent')    # DERIVED (print_status)


def show_info(state, now):
    """-s info: the status line, a blank line, then the State Table (INVENTED: counters always 0, the
    Counters/Limit Counters sections of a real pfctl are left out)."""
    lines = [_status_line(state, now), '']
    lines.append('%-27s %14s %16s' % ('State Table', 'Total', 'Rate'))
    lines.append('  %-25s %14u %14s' % ('current entries', 0, ''))
    for name in ('searches', 'inserts', 'removals'):
        lines.append('  %-25s %14u %14.1f/s' % (name, 0, 0.0))
    return lines


def show_references(state, now):
    """-s References: INVENTED layout (no capture exists); each token is a word of its own line."""
    lines = ['TOKENS:', '%-8s %-24s %-22s %s' % ('PID', 'Process Name', 'TOKEN', 'TIMESTAMP')]
    for ref in state['refs']:
        secs = max(0, int(now - ref['at']))
        stamp = '%d days %.2d:%.2d:%.2d' % (secs // 86400, secs // 3600 % 24, secs // 60 % 60, secs % 60)
        lines.append('%-8d %-24s %-22s %s' % (ref['pid'], ref['name'], ref['token'], stamp))
    return lines


def main(ctx, args):
    opts = _parse_args(args)
    if opts is None or not (opts['E'] or opts['e'] or opts['d'] or opts['X'] or opts['show'] or opts['flush'] or opts['file']):
        err(USAGE)
        return 64 if opts is None else 1, 'error'    # INVENTED exit statuses
    if opts['show'] is not None and opts['show'] not in SHOW:
        err('pfctl: Unknown show modifier \'%s\'' % opts['show'])   # INVENTED wording
        return 1, 'error'
    if opts['flush'] is not None and opts['flush'] not in ('rules', 'all', 'r', 'a'):
        err('pfctl: Unknown flush modifier \'%s\'' % opts['flush'])  # INVENTED wording
        return 1, 'error'
    anchor = (opts['anchor'] or '').strip('/')
    if opts['file'] is not None:
        for line in F_WARNING:
            err(line)
    noaction = opts['n']
    # the call log's kind (README): a call that would change pf is a write, also when it is refused or fails
    writes = not noaction and bool(opts['E'] or opts['e'] or opts['d'] or opts['X'] or opts['flush'] is not None
                                   or opts['file'] is not None)
    if not noaction:
        if not ctx.is_root:
            err('pfctl: /dev/pf: Permission denied')      # DERIVED (err(1, "%s", pf_device))
            return 1, ('write' if writes else 'error')
        for line in ALTQ:
            err(line)
    with ctx.locked():
        state = load_state(ctx)
        rc, changed = _run(ctx, opts, anchor, state, noaction)
        if changed:
            ctx.save_state(STATE, state)
            apply_enforcement(ctx, state)
    return rc, ('write' if writes else ('read' if rc == 0 else 'error'))


def _run(ctx, opts, anchor, state, noaction):
    now = time.time()
    changed = False
    if opts['flush'] is not None and not noaction:
        rulesets = state['rulesets']
        if opts['flush'][0] == 'r':
            ruleset = rulesets.get(anchor)
            if ruleset is not None:
                ruleset['rules'] = []
                if anchor and not ruleset['tables']:
                    del rulesets[anchor]
            err('rules cleared')                                               # REAL
        else:
            if anchor:
                rulesets.pop(anchor, None)
            else:
                rulesets[''] = _empty_ruleset()
            for line in (FLUSH_ALL_ANCHOR if anchor else FLUSH_ALL_MAIN):
                err(line)
        changed = True
    if opts['file'] is not None:
        path = opts['file']
        if path == '-':
            text = sys.stdin.read()
        else:
            try:
                with open(path) as f:
                    text = f.read()
            except OSError as e:
                err('pfctl: %s: %s' % (path, e.strerror))                   # DERIVED (err(1, "%s", file))
                return 1, changed
        try:
            if noaction:
                parsed = parse(text, anchor)
            else:
                # Parsed completely before anything changes (pf loads a ruleset in one transaction).
                # INVENTED (believed, gateway.md 7 unverified): `-f /etc/pf.conf` replaces the main ruleset
                # and the anchors it loads (com.apple); anchors loaded at run time (com.apple/300.x) stay.
                scratch = {'rulesets': {}}
                parsed = load_file(ctx, scratch, anchor, text)
                state['rulesets'].update(scratch['rulesets'])
                changed = True
        except PfSyntaxError as e:
            err('%s:%d: %s' % (path, e.line, e.message))                         # REAL
            err('pfctl: Syntax error in config file: pf rules not loaded')       # REAL
            return 1, changed
        if opts['v']:
            for line in verbose_lines(parsed):
                out(line)
    if noaction:
        return 0, changed
    if opts['d']:
        if not state['enabled']:
            err('pfctl: pf not enabled')                                         # DERIVED (BSD), unverified
            return 1, changed
        state.update(enabled=False, enabled_at=None, refs=[], anonymous_refs=0)  # DIOCSTOP: every reference goes
        err('pf disabled')                                                       # DERIVED
        changed = True
    if opts['e']:
        if state['enabled']:
            err('pfctl: pf already enabled')                                     # REAL
            return 1, changed
        state.update(enabled=True, enabled_at=now, anonymous_refs=state.get('anonymous_refs', 0) + 1)
        err('pf enabled')                                                        # DERIVED
        changed = True
    if opts['E']:
        token = str(random.SystemRandom().getrandbits(64) or 1)
        if not state['enabled']:
            state.update(enabled=True, enabled_at=now)
        state['refs'].append({'token': token, 'pid': os.getpid(), 'name': 'pfctl', 'at': now})
        err('pf enabled')                                                        # DERIVED (decompile), REAL-ish
        err('Token : %s' % token)
        changed = True
    if opts['X']:
        tokens = [r['token'] for r in state['refs']]
        if not state['enabled']:
            err('pfctl: pf not enabled')                                         # INVENTED (ENOENT; wording not recovered)
            return 1, changed
        if opts['X'] not in tokens:
            err('pfctl: DIOCSTOPREF: Invalid argument')                          # INVENTED (EINVAL; wording not recovered)
            return 1, changed
        state['refs'] = [r for r in state['refs'] if r['token'] != opts['X']]
        remaining = len(state['refs']) + state.get('anonymous_refs', 0)
        if remaining == 0:
            state.update(enabled=False, enabled_at=None)
            err('pf disabled')                                                   # DERIVED (decompile)
        else:
            err('disable request successful. %d more pf enable reference(s) remaining, pf still enabled.' % remaining)
        changed = True
    if opts['show']:
        what = SHOW[opts['show']]
        if what == 'info':
            for line in show_info(state, now):
                out(line)
        elif what == 'References':
            for line in show_references(state, now):
                out(line)
        elif what == 'Anchors':
            for name in anchors_of(state, anchor, opts['v'] > 0):
                out('  %s' % name)                                               # REAL (-v -s Anchors)
        elif anchor.endswith('*'):
            # REAL (osquery#1521): Apple's pfctl cannot show a wildcard anchor.
            out('anchor "*" all {')
            err('pfctl: DIOCGETRULES: Invalid argument')
            out('}')
        else:
            if anchor and anchor not in anchors_of(state, '', True):
                err('pfctl: DIOCGETRULES: Invalid argument')                     # DERIVED (xnu: no such ruleset, EINVAL)
                return 1, changed
            for line in filter_lines(state['rulesets'].get(anchor) or _empty_ruleset()):
                out(line)
    return 0, changed
