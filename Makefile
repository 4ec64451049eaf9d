# Two entry points: `make run` (set up and serve) and `make test` (set up and run every check).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
HTMX_VERSION := $(shell node -p "require('./package.json').dependencies['htmx.org']" 2>/dev/null)
HTMX_FILE := static/vendor/htmx-$(HTMX_VERSION).min.js
MORPH_VERSION := $(shell node -p "require('./package.json').dependencies['idiomorph']" 2>/dev/null)
MORPH_FILE := static/vendor/idiomorph-$(MORPH_VERSION).min.js
# axe-core, which the browser tests run on every page (a devDependency: never served).
AXE_FILE := node_modules/axe-core/axe.min.js
SYSTEM_PACKAGES := chromium qemu-system-arm gcc-aarch64-linux-gnu postgresql

.PHONY: run test lint setup setup-test system-deps constraints clean

# One worker for development; production runs one per CPU (README "Running in production").
run: setup
	@echo "LPA2 Explorer: http://$(HOST):$(PORT)/"
	$(BIN)/python -m app.server --host $(HOST) --port $(PORT) --workers 1

test: setup-test system-deps lint
	$(BIN)/python -m pytest

lint: setup-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

setup: $(VENV)/.runtime $(HTMX_FILE)

setup-test: $(VENV)/.test $(HTMX_FILE) $(AXE_FILE)

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(VENV)/bin/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

# htmx and idiomorph (the morph swap) come from the npm registry (package-lock.json pins them
# with their integrity hashes); each served copy carries its version in the name so it can be
# cached for a year.
$(HTMX_FILE): package.json package-lock.json
	@test -n "$(HTMX_VERSION)" || { echo "node and npm are needed to fetch htmx"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf static/vendor && mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@
	cp node_modules/idiomorph/dist/idiomorph.min.js $(MORPH_FILE)

$(AXE_FILE): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# The browser, emulator and database server the tests drive. Installed with apt when missing
# (as root); otherwise the affected tests say how to install them (and fail under CI=true).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v qemu-system-aarch64 >/dev/null || missing="$$missing qemu-system-arm"; \
	command -v aarch64-linux-gnu-gcc >/dev/null || missing="$$missing gcc-aarch64-linux-gnu"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "not root: install$$missing with apt-get to run every test"; \
	  fi; \
	fi

constraints: $(VENV)/.test
	{ echo "# Exact versions the project is tested with; every install (Makefile, Dockerfile) uses them."; \
	  echo "# Regenerate with: make constraints"; \
	  $(BIN)/pip freeze --exclude-editable | grep -vi '^lpa2'; } > constraints.txt

clean:
	rm -rf $(VENV) node_modules static/vendor tests/conformance/build
