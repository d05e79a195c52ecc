"""Usage: check_installed_docs.py COLLECTIONS_PATH MODULE_FILE...

Prove that an installed build of llmhost.macos works: for each module file of the checkout
(plugins/modules/NAME.py), ansible-doc must load llmhost.macos.NAME from COLLECTIONS_PATH, and
ansible-doc's module list for the collection must name exactly those modules.
ansible-doc runs in an empty directory with only COLLECTIONS_PATH configured, so neither the
checkout's ansible.cfg nor its collections/ symlink can stand in for the build.
"""

import json
import os
import subprocess
import sys
import tempfile

COLLECTION = "llmhost.macos"


def ansible_doc(collections_path, *args):
    """Run ansible-doc on the given collections path; its JSON output, or None if it failed."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    env.pop("ANSIBLE_CONFIG", None)
    with tempfile.TemporaryDirectory() as empty_dir:
        result = subprocess.run(["ansible-doc", "--json", "-t", "module"] + list(args),
                                env=env, cwd=empty_dir, stdout=subprocess.PIPE, check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def main():
    collections_path = os.path.abspath(sys.argv[1])
    names = sorted(os.path.basename(path)[:-3] for path in sys.argv[2:]
                   if path.endswith(".py") and not path.endswith("__init__.py"))
    if not names:
        sys.exit("check_installed_docs: no modules given (plugins/modules/*.py is empty)")

    failures = []
    listed = sorted(name.split(".")[-1] for name in ansible_doc(collections_path, "--list", COLLECTION) or [])
    if listed != names:
        failures.append("ansible-doc --list %s gives %s, plugins/modules has %s" % (COLLECTION, listed, names))

    for name in names:
        fqcn = "%s.%s" % (COLLECTION, name)
        output = ansible_doc(collections_path, fqcn)
        if output is None:
            failures.append("ansible-doc %s failed (its error is above)" % fqcn)
            continue
        doc = output[fqcn]["doc"]
        if not doc["filename"].startswith(collections_path + os.sep):
            failures.append("%s was loaded from %s, not from the built collection" % (fqcn, doc["filename"]))
        else:
            print("ok: %s (%s) from %s" % (fqcn, doc["short_description"], doc["filename"]))

    for failure in failures:
        print("FAIL: " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
