"""Put tests/tools/get_pip_standin.py where ansible-test looks for its pip bootstrap script.

ansible-test asks for ~/.ansible/test/cache/get_pip_X_Y.py, X.Y being the pip version it
pins for its virtual environments (24.2 for ansible-core 2.19). The version is read from the
installed ansible-test, so run this with the interpreter that runs ansible-test.
"""

import os
import shutil
import sys
import types

from ansible_test._internal.python_requirements import get_venv_packages


def main():
    python = types.SimpleNamespace(version="%d.%d" % sys.version_info[:2])
    pip_version = get_venv_packages(python)["pip"]

    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip_standin.py")
    target = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % pip_version.replace(".", "_"))

    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(source, target)
    print("pip %s bootstrap stand-in installed: %s" % (pip_version, target))


if __name__ == "__main__":
    main()
