# The two commands: `make run` serves the API locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := $(VENV)/checkov
PIP := -m pip --disable-pip-version-check
# pytest-xdist workers for `make test`: one per core (each has its own store and fake WeChat).
TEST_WORKERS ?= auto

# Bytecode is compiled on first import rather than all of it at install (`pip --no-compile`
# halves the install), and cached outside the source tree, so that no __pycache__ lands in
# chalicelib (and in the Lambda package); written even where the environment says not to, or
# every process of the suite (workers, live servers) would compile what it imports again.
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache
unexport PYTHONDONTWRITEBYTECODE
# The merchant console (console/): its sources, its installed modules and its build.
CONSOLE_SOURCES := console/index.html console/vite.config.js console/package.json $(shell find console/src -type f)
CONSOLE_MODULES := console/node_modules/.package-lock.json
CONSOLE_BUILD := console/dist/index.html
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench package admin clean console browsers

# checkov gets a venv of its own (requirements-checkov.txt says why), installed while the project's
# installs: both mostly wait on the package index.
$(STAMP): requirements.txt requirements-dev.txt requirements-checkov.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(PY) $(PIP) --python $(CHECKOV_VENV)/bin/python install --quiet --no-deps -r requirements-checkov.txt & checkov=$$!; \
	$(PY) $(PIP) install --quiet --no-compile -r requirements-dev.txt; project=$$?; wait $$checkov && exit $$project
	@touch $(STAMP)

$(CONSOLE_MODULES): console/package-lock.json
	cd console && npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_BUILD): $(CONSOLE_MODULES) $(CONSOLE_SOURCES)
	cd console && npm run --silent build -- --logLevel warn
	@touch $@

## Build the merchant console into console/dist when its sources changed (needs Node.js 20.19+ and npm).
console: $(CONSOLE_BUILD)

## Chromium and its driver for the browser tests (Debian packages, with a Chinese font), when missing.
browsers:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    chromium chromium-driver fonts-wqy-microhei; }

## Serve the API on 127.0.0.1:$${PORT:-8000} and the console beside it (on PORT+1), with an embedded
## DynamoDB and fake WeChat; without npm (or if the build fails) the API alone.
run: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory console || \
	  echo "console: the build failed, serving the API only"; else \
	  echo "console: npm not found, serving the API only (install Node.js 20.19+ and npm to get the console)"; fi
	$(PY) -m devstack

## Lint, type-check, build the console, then run the whole suite (unit, integration, API, infra lint:
## cfn-lint and checkov, browser) on $(TEST_WORKERS) workers, each test module on one worker (its
## module-scoped servers start once).
test: $(STAMP) browsers console
	$(PY) -m ruff check --quiet app.py chalicelib admin devstack infra bench tests
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder tests

## Count DynamoDB round trips per route and measure import time; writes bench/results.json.
bench: $(STAMP)
	$(PY) bench/run.py

## The admin CLI against DYNAMODB_ENDPOINT_URL / TABLE_PREFIX or AWS: make admin ARGS="import members.csv".
admin: $(STAMP)
	$(PY) -m admin $(ARGS)

## Package the Lambda app with the infra/ resources merged in (output in build/package).
package: $(STAMP)
	$(PY) -m infra.package build/package

clean:
	rm -rf $(VENV) build .pytest_cache console/node_modules console/dist test-output
