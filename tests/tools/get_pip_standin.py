"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test --venv creates each virtual environment without pip and then runs
~/.ansible/test/cache/get_pip_X_Y.py to install pip into it. The real script is
downloaded from ci-files.testing.ansible.com, which this network cannot reach.
tests/tools/install_get_pip.py copies this file to that path instead.

What it does, with the interpreter of the new virtual environment:
  1. python -m ensurepip   (pip from the standard library's bundled wheel)
  2. python -m pip install ARGS   (ARGS as given by ansible-test, e.g. pip==24.2,
     minus --no-setuptools/--no-wheel, which only get-pip.py understands)
Step 2 runs without PIP_CONFIG_FILE in the environment: ensurepip sets it to
/dev/null, which would hide this machine's pip configuration (index mirrors,
find-links, constraints).

Must stay compatible with every Python version sanity runs on (3.9+).
"""

import os
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def main():
    env = dict(os.environ)
    env.pop("PIP_CONFIG_FILE", None)

    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], env=env)

    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args, env=env)


if __name__ == "__main__":
    main()
