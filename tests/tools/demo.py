# Copyright (c) 2026, llmhost.macos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: the collection's main job on a simulated Mac Studio, for a newcomer with a clone and root.

  demo up     boot the simulated Mac (fresh, as it comes out of the box) if it is not running, run the
              bootstrap playbook and site.yml against it, print the gateway's URL and an example request through
              it with the model's answer, and write .demo/demo.json (url, api_key) for scripts. Run again, it converges (changed=0) and
              says so.
  demo down   remove the simulated Mac and .demo/.
  demo check  what CI runs: down, up (an answer), up again (changed=0), down (nothing left).

The simulated Mac has no internet: its boot job com.macsim.registry stands in for registry.ollama.ai
(ollama_registry_url), and Homebrew's code comes from a tarball put on the Mac (bootstrap_homebrew_url).
"""

import json
import os
import re
import secrets
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MACSIM = os.path.join(ROOT, 'tests', 'macsim', 'macsim')
DEMO = os.path.join(ROOT, '.demo')
NAME = os.environ.get('DEMO_NAME', 'llmhost-demo')
STATE = os.environ.get('MACSIM_STATE') or '/var/lib/llmhost-macsim'
MODEL = 'llama3.3-128k:70b'
REGISTRY = 'http://127.0.0.1:5000'   # the simulated Mac's stand-in for registry.ollama.ai (tests/macsim/README.md)
GATEWAY_PORT = 11435


def say(text):
    print(text, flush=True)


def run(argv, capture=False, check=True, env=None):
    proc = subprocess.run(argv, cwd=ROOT, text=True, check=False, env=env,
                          stdout=subprocess.PIPE if capture else None, stderr=None, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        sys.exit('demo: %s failed (exit %d)' % (' '.join(shlex.quote(a) for a in argv), proc.returncode))
    return proc


def macsim(*args, capture=True):
    return run([MACSIM] + list(args), capture=capture)


def playbook(path, inventory, extra):
    """Run a playbook with the output on the terminal; return {host: changed count} from its recap."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_FORCE_COLOR='0')
    argv = ['ansible-playbook', '-i', inventory, path, '-e', '@' + extra]
    proc = subprocess.Popen(argv, cwd=ROOT, text=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    recap = {}
    for line in proc.stdout:
        sys.stdout.write(line)
        match = re.match(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', line)
        if match:
            recap[match.group(1)] = int(match.group(2))
    if proc.wait() != 0:
        sys.exit('demo: %s failed (exit %d); the output above says why' % (os.path.relpath(path, ROOT), proc.returncode))
    return recap


def up():
    if os.geteuid() != 0:
        sys.exit('demo: must run as root (the simulated Mac uses systemd-nspawn and network namespaces)')
    os.makedirs(DEMO, exist_ok=True)
    instance = json.loads(macsim('up', NAME, '--profile', 'fresh-mac-studio').stdout)
    say('demo: simulated Mac %s at %s (%s)' % (NAME, instance['address'],
                                               'booted now' if instance.get('created') else 'already running'))
    tarball = os.path.join(DEMO, 'homebrew-brew-HEAD.tar.gz')
    if not os.path.exists(tarball):
        macsim('homebrew-tarball', tarball)
    on_mac = os.path.join(STATE, NAME, 'merged', 'var', 'tmp', 'homebrew-brew-HEAD.tar.gz')
    if not os.path.exists(on_mac):
        run(['cp', tarball, on_mac])

    inventory = os.path.join(DEMO, 'inventory.yml')
    ssh_args = '-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes' % instance['known_hosts']
    host = {'ansible_host': instance['address'], 'ansible_port': instance['port'], 'ansible_user': instance['user'],
            'ansible_ssh_private_key_file': instance['identity_file'], 'ansible_ssh_common_args': ssh_args}
    with open(inventory, 'w') as handle:
        json.dump({'llm_servers': {'hosts': {NAME: host}}}, handle, indent=2)
    extra = os.path.join(DEMO, 'vars.json')
    # the demo client's key, made once and kept with the demo (a real inventory takes keys from Ansible Vault)
    key_file = os.path.join(DEMO, 'api_key')
    if not os.path.exists(key_file):
        with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as handle:
            handle.write(secrets.token_hex(32))
    with open(key_file) as handle:
        api_key = handle.read().strip()
    with open(os.open(extra, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
        json.dump({'bootstrap_homebrew_url': 'file:///var/tmp/homebrew-brew-HEAD.tar.gz',
                   'ollama_registry_url': REGISTRY,
                   'ollama_gateway_clients': [{'name': 'demo', 'key': api_key}]}, handle, indent=2)

    say('\ndemo: 1/2 the bootstrap playbook (Command Line Tools, Homebrew)')
    playbook(os.path.join(ROOT, 'playbooks', 'bootstrap.yml'), inventory, extra)
    say('\ndemo: 2/2 site.yml (power, SSH, Ollama and its models, the gateway)')
    recap = playbook(os.path.join(ROOT, 'site.yml'), inventory, extra)

    url = 'http://%s:%d' % (instance['address'], GATEWAY_PORT)
    request = {'model': MODEL, 'prompt': 'Why is the sky blue? One sentence.', 'stream': False}
    # from this machine, which is on the simulated Mac's network, through the gateway
    curl = ['curl', '-sS', '-H', 'Authorization: Bearer %s' % api_key, url + '/api/generate', '-d', json.dumps(request)]
    answer = json.loads(run(curl, capture=True).stdout)
    demo = {'url': url, 'openai_base_url': url + '/v1', 'api_key': api_key, 'model': MODEL,
            'ssh': {'host': instance['address'], 'port': instance['port'], 'user': instance['user'],
                    'key': instance['identity_file'], 'known_hosts': instance['known_hosts']}}
    with open(os.open(os.path.join(DEMO, 'demo.json'), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
        json.dump(demo, handle, indent=2)
        handle.write('\n')

    changed = recap.get(NAME)
    say('')
    say('demo: %s' % ('converged: site.yml changed nothing (changed=0)' if changed == 0
                      else 'provisioned: site.yml made %s changes; run `make demo` again to see it converge' % changed))
    say('demo: the gateway: %s (Ollama itself listens on the Mac\'s loopback only)' % url)
    say('demo: example request, from this machine:')
    say('  curl -H "Authorization: Bearer $(cat .demo/api_key)" %s/api/generate -d %s' % (
        url, shlex.quote(json.dumps(request))))
    say('demo: answer from %s: %s' % (answer.get('model'), answer.get('response', '').strip()))
    say('demo: the OpenAI SDK: OpenAI(base_url="%s/v1", api_key=<.demo/api_key>)' % url)
    say('demo: url and api_key for scripts in %s; `make demo-down` removes it all' % os.path.relpath(
        os.path.join(DEMO, 'demo.json'), ROOT))


def down():
    result = json.loads(macsim('down', NAME).stdout)
    run(['rm', '-rf', DEMO])
    say('demo: %s' % ('removed %s and .demo/' % NAME if result.get('removed') else 'nothing to remove'))


def check():
    """What CI runs: `make demo` from nothing answers, a second one converges, `make demo-down` leaves nothing."""
    down()
    first = run([sys.executable, os.path.abspath(__file__), 'up'], capture=True).stdout
    sys.stdout.write(first)
    second = run([sys.executable, os.path.abspath(__file__), 'up'], capture=True).stdout
    sys.stdout.write(second)
    with open(os.path.join(DEMO, 'demo.json')) as handle:
        demo = json.load(handle)
    problems = []
    if 'demo: answer from %s: The sky is blue' % MODEL not in first:
        problems.append('the first run printed no answer from %s' % MODEL)
    if 'converged: site.yml changed nothing (changed=0)' not in second:
        problems.append('the second run did not converge with changed=0')
    if not (demo.get('url') and demo.get('api_key') and set(demo.get('ssh', {})) >= {'host', 'user', 'key'}):
        problems.append('.demo/demo.json lacks url, api_key or ssh host/user/key: %r' % sorted(demo))
    # the gateway refuses a request without the key
    refused = run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', demo.get('url', '') + '/api/tags'],
                  capture=True, check=False).stdout
    if refused != '401':
        problems.append('the gateway answered %r, not 401, to a request without a key' % refused)
    down()
    if os.path.exists(DEMO) or os.path.exists(os.path.join(STATE, NAME)):
        problems.append('demo-down left %s or %s' % (DEMO, os.path.join(STATE, NAME)))
    if problems:
        sys.exit('demo check failed: ' + '; '.join(problems))
    say('demo check: passed (an answer, then changed=0, then nothing left)')


def main():
    action = sys.argv[1] if len(sys.argv) > 1 else 'up'
    if action == 'up':
        up()
    elif action == 'down':
        down()
    elif action == 'check':
        check()
    else:
        sys.exit('usage: demo [up|down|check]')


if __name__ == '__main__':
    main()
