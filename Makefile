# Test entry points for the llmhost.macos collection.
# `make test` runs everything; every target also works alone and sets up .venv first.
# All tools come from .venv, installed from requirements-dev.txt.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := test
.PHONY: test venv venv-latest venv-py39 lint sanity sanity-lowest sanity-latest units units-lowest \
	units-latest units-py39 integration macsim molecule build demo demo-down demo-check bench

# The supported range is the tested range. meta/runtime.yml admits ansible-core 2.19 and later:
#   .venv         ansible-core 2.19 (the lowest) on Python 3.11: everything, molecule included
#   .venv-latest  ansible-core 2.21 (the newest) on Python 3.12: units and sanity
#   .venv-py39    Python 3.9, what the modules run on (macOS's /usr/bin/python3): the module_utils,
#                 module and stand-in unit tests (and the simulated Macs run the modules on 3.9 too)
VENV := .venv
STAMP := $(VENV)/.installed-requirements-dev
VENV_LATEST := .venv-latest
STAMP_LATEST := $(VENV_LATEST)/.installed-requirements-latest
VENV_PY39 := .venv-py39
STAMP_PY39 := $(VENV_PY39)/.installed-requirements-py39
TOOLS := tests/tools
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# Python versions for sanity's per-version tests (compile, import): 3.9 runs the modules on the
# Macs (/usr/bin/python3), the controller's version the rest. The other sanity tests run on the
# controller.
CONTROLLER_PYTHON := 3.11
CONTROLLER_PYTHON_LATEST := 3.12
SANITY_PYTHONS ?= 3.9 3.11
SANITY_PYTHONS_LATEST ?= 3.9 3.12

test: lint sanity units integration build macsim molecule demo-check

# The main job on a simulated Mac Studio, fresh out of the box: bootstrap, then site.yml; prints the endpoint and
# an example request with the model's answer, writes .demo/demo.json. Again: it converges (changed=0).
demo: $(STAMP)
	if [ "$$(id -u)" != 0 ]; then echo "demo: must run as root (the simulated Mac uses systemd-nspawn)" >&2; exit 1; fi
	python3 $(TOOLS)/demo.py up

demo-down:
	python3 $(TOOLS)/demo.py down

# make demo from nothing ends with the model's answer, a second one converges, demo-down leaves nothing.
demo-check: $(STAMP)
	if [ "$$(id -u)" != 0 ]; then echo "demo-check: must run as root (the simulated Mac uses systemd-nspawn)" >&2; exit 1; fi
	python3 $(TOOLS)/demo.py check

# site.yml against the usual way (benchmarks/usual-stack.yml) on two identical simulated Mac Studios: re-run, check
# mode, drift repair (median of BENCH_RUNS alternating runs) and a reboot with nobody logged in; prints a table and
# writes benchmarks/results/bench-*.json. BENCH_ARGS=--keep leaves both Macs up.
BENCH_RUNS ?= 5
bench: $(STAMP)
	if [ "$$(id -u)" != 0 ]; then echo "bench: must run as root (the simulated Macs use systemd-nspawn)" >&2; exit 1; fi
	python3 benchmarks/bench.py --runs $(BENCH_RUNS) $(BENCH_ARGS)

# Rebuilt from scratch whenever requirements-dev.txt changes, so nothing stale stays installed.
# $(call make-venv,DIRECTORY,PYTHON_VERSION,REQUIREMENTS): a fresh virtualenv with exactly those pins.
define make-venv
	python=$$($(TOOLS)/find-python $(2))
	"$$python" -m venv --clear $(1)
	$(1)/bin/python -m pip install --disable-pip-version-check -r $(3)
	$(1)/bin/python -m pip check
endef

venv: $(STAMP)
$(STAMP): requirements-dev.txt
	$(call make-venv,$(VENV),$(CONTROLLER_PYTHON),requirements-dev.txt)
	touch $@

venv-latest: $(STAMP_LATEST)
$(STAMP_LATEST): requirements-latest.txt
	$(call make-venv,$(VENV_LATEST),$(CONTROLLER_PYTHON_LATEST),requirements-latest.txt)
	touch $@

# ansible-core does not install on 3.9; its target-side code (ansible.module_utils, which supports
# 3.9) comes from .venv through a .pth pointing at a directory that holds only the `ansible` package.
venv-py39: $(STAMP_PY39)
$(STAMP_PY39): requirements-py39.txt $(STAMP)
	$(call make-venv,$(VENV_PY39),3.9,requirements-py39.txt)
	mkdir -p $(VENV_PY39)/ansible-core
	ln -sfn "$$($(VENV)/bin/python -c 'import ansible, os; print(os.path.dirname(ansible.__file__))')" \
		$(VENV_PY39)/ansible-core/ansible
	site=$$($(VENV_PY39)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	echo "$(CURDIR)/$(VENV_PY39)/ansible-core" > "$$site/ansible-module-utils.pth"
	touch $@

# ansible-lint: settings (production profile, offline, strict) in .ansible-lint. Its yaml rule
# runs yamllint with .yamllint on every YAML file it lints.
# antsibull-changelog lint: every fragment in changelogs/fragments has a known section.
# molecule/real-mac is for a user's own Mac and never runs here: its playbooks are syntax-checked, with a
# documentation address (TEST-NET-1) for the Mac that nothing connects to.
lint: $(STAMP)
	ansible-lint
	antsibull-changelog lint
	LLMHOST_MAC_HOST=192.0.2.10 molecule syntax -s real-mac
	ansible-playbook --syntax-check -i inventory/hosts.yml molecule/real-mac/verify.yml

# ansible-test needs the collection at .../ansible_collections/llmhost/macos: sanity runs on a
# snapshot of the checkout there (tests/tools/snapshot), in a temporary directory. ansible-test
# looks up interpreters by name on PATH (pyenv's shims there fail for unselected versions), so
# tests/tools/sanity links each pythonX.Y to the real interpreter in a temporary bin directory.
# The pip bootstrap script ansible-test would download is replaced by an offline stand-in.
sanity: sanity-lowest sanity-latest

sanity-lowest: $(STAMP)
	$(TOOLS)/sanity $(VENV) $(CONTROLLER_PYTHON) $(SANITY_PYTHONS)

sanity-latest: $(STAMP_LATEST)
	$(TOOLS)/sanity $(VENV_LATEST) $(CONTROLLER_PYTHON_LATEST) $(SANITY_PYTHONS_LATEST)

# pytest exits 5 when it collects no test; that fails the target like any other error.
units: units-lowest units-latest units-py39

units-lowest: $(STAMP)
	pytest tests/unit tests/macsim/tests

units-latest: $(STAMP_LATEST)
	$(VENV_LATEST)/bin/pytest -p no:cacheprovider tests/unit tests/macsim/tests

# What runs on the Mac, on the Mac's Python: module_utils and modules (with ansible-core's
# module_utils), and the stand-ins of the simulated Mac. Roles and filters run on the controller.
units-py39: $(STAMP_PY39)
	$(VENV_PY39)/bin/pytest -p no:cacheprovider tests/unit/plugins/module_utils tests/unit/plugins/modules \
		tests/macsim/tests

# Modules run in-process with their real HTTP code against the Ollama API emulator on loopback:
# every fault it injects, check mode, idempotence counted from its request log. No root needed.
integration: $(STAMP)
	pytest tests/integration

# The simulated Mac itself, end to end: boot, facts, stand-ins over SSH, reboot, teardown leaving
# nothing behind. Needs root (systemd-nspawn, network namespaces); the first run builds the base.
macsim: $(STAMP)
	if [ "$$(id -u)" != 0 ]; then echo "macsim: must run as root (test hosts use systemd-nspawn)" >&2; exit 1; fi
	MACSIM_E2E=1 pytest tests/macsim/tests/test_e2e*.py

# The scenarios (delegated driver) start test hosts with tests/macsim/macsim, which needs root.
molecule: $(STAMP)
	if [ "$$(id -u)" != 0 ]; then echo "molecule: must run as root (test hosts use systemd-nspawn)" >&2; exit 1; fi
	molecule test --all --exclude real-mac

# Build the collection from a snapshot of the checkout, install the tarball into a temporary
# collections path and load every module's documentation from that install. Build and install
# run outside the checkout: from inside, ansible.cfg's collections/ symlink makes the collection
# look installed already and ansible-galaxy skips the install.
build: $(STAMP)
	tmp=$$(mktemp -d)
	trap 'rm -rf "$$tmp"' EXIT
	$(TOOLS)/snapshot "$$tmp/src"
	cd "$$tmp"
	export ANSIBLE_COLLECTIONS_PATH="$$tmp/collections"
	ansible-galaxy collection build --output-path dist src
	# The license text ships with the code it covers.
	members=$$(tar -tzf dist/llmhost-macos-*.tar.gz)
	grep -qx COPYING <<<"$$members" || { echo "build: COPYING is not in the tarball" >&2; exit 1; }
	ansible-galaxy collection install --offline dist/llmhost-macos-*.tar.gz
	shopt -s nullglob
	python $(CURDIR)/$(TOOLS)/check_installed_docs.py "$$ANSIBLE_COLLECTIONS_PATH" src/plugins/modules/*.py
	# The collection's playbooks run by name from the install (`ansible-playbook llmhost.macos.bootstrap`).
	# community.general (a dependency) comes from the ansible package in .venv, found on sys.path; llmhost.macos
	# is only in the temporary collections path (the checkout is not on sys.path).
	for playbook in src/playbooks/*.yml; do
		name=llmhost.macos.$$(basename "$$playbook" .yml)
		ansible-playbook --syntax-check -i localhost, "$$name"
	done
