# Test entry points for the llmhost.macos collection.
# `make test` runs everything; every target also works alone and sets up .venv first.
# All tools come from .venv, installed from requirements-dev.txt.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := test
.PHONY: test venv lint sanity units integration macsim molecule build

VENV := .venv
STAMP := $(VENV)/.installed-requirements-dev
TOOLS := tests/tools
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# Python versions for sanity's per-version tests (compile, import): 3.9 runs the modules on the
# Macs (/usr/bin/python3), 3.11 is the controller. The other sanity tests run on the controller.
CONTROLLER_PYTHON := 3.11
SANITY_PYTHONS ?= 3.9 3.11

test: lint sanity units integration build macsim molecule

# Rebuilt from scratch whenever requirements-dev.txt changes, so nothing stale stays installed.
venv: $(STAMP)
$(STAMP): requirements-dev.txt
	python=$$($(TOOLS)/find-python $(CONTROLLER_PYTHON))
	"$$python" -m venv --clear $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/python -m pip check
	touch $@

# ansible-lint: settings (production profile, offline, strict) in .ansible-lint. Its yaml rule
# runs yamllint with .yamllint on every YAML file it lints.
# antsibull-changelog lint: every fragment in changelogs/fragments has a known section.
lint: $(STAMP)
	ansible-lint
	antsibull-changelog lint

# ansible-test needs the collection at .../ansible_collections/llmhost/macos: sanity runs on a
# snapshot of the checkout there (tests/tools/snapshot), in a temporary directory. ansible-test
# looks up interpreters by name on PATH (pyenv's shims there fail for unselected versions), so a
# temporary bin directory links each pythonX.Y to the real interpreter.
# The pip bootstrap script ansible-test would download is replaced by an offline stand-in.
sanity: $(STAMP)
	python $(TOOLS)/install_get_pip.py
	tmp=$$(mktemp -d)
	trap 'rm -rf "$$tmp"' EXIT
	mkdir "$$tmp/bin"
	for version in $(CONTROLLER_PYTHON) $(SANITY_PYTHONS); do
		ln -sf "$$($(TOOLS)/find-python $$version)" "$$tmp/bin/python$$version"
	done
	targets=()
	for version in $(SANITY_PYTHONS); do targets+=(--target-python "$$version"); done
	export PATH="$$tmp/bin:$$PATH"
	$(TOOLS)/snapshot "$$tmp/ansible_collections/llmhost/macos"
	cd "$$tmp/ansible_collections/llmhost/macos"
	ansible-test sanity --color no --controller origin:python=venv/$(CONTROLLER_PYTHON) "$${targets[@]}"

# pytest exits 5 when it collects no test; that fails the target like any other error.
units: $(STAMP)
	dirs=()
	for dir in tests/unit tests/macsim/tests; do
		if [ -d "$$dir" ]; then dirs+=("$$dir"); fi
	done
	if [ $${#dirs[@]} -eq 0 ]; then echo "units: no tests/unit or tests/macsim/tests" >&2; exit 1; fi
	pytest "$${dirs[@]}"

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
	molecule test --all

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
	ansible-galaxy collection install --offline dist/llmhost-macos-*.tar.gz
	shopt -s nullglob
	python $(CURDIR)/$(TOOLS)/check_installed_docs.py "$$ANSIBLE_COLLECTIONS_PATH" src/plugins/modules/*.py
