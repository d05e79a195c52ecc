"""launchctl stand-in (test fixture): a thin client of the simulated launchd in PID 1.

Every subcommand is answered by PID 1 (macsimlib/launchd.py) over /var/run/macsim-launchd.sock:
the caller's uid comes from the socket's peer credentials, so root rules are checked there. This
side only forwards argv and the working directory (relative plist paths), prints the answer and
exits with its status. The call is logged in /var/log/macsim/calls.jsonl like every stand-in;
`kind` is what launchd says: read, write (tried to change something, even if refused) or error.
"""

import os
import sys

from macsimlib.common import err
from macsimlib.launchd import Paths, call, unreachable_message


def main(ctx, args):
    paths = Paths()
    request = {'argv': list(args), 'cwd': os.getcwd()}
    if ctx.testing:
        request['fake_euid'] = ctx.euid
    try:
        reply = call(paths, request)
    except (OSError, ValueError) as e:
        err(unreachable_message(paths, e))
        return 2, 'error'
    sys.stdout.write(reply.get('out') or '')
    sys.stderr.write(reply.get('err') or '')
    return int(reply.get('rc', 70)), reply.get('kind') or 'read'
