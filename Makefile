# The two commands: `make run` serves the API locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pytest-xdist workers for `make test`: one per core (each has its own store and fake WeChat).
TEST_WORKERS ?= auto

# Bytecode is compiled on first import rather than all of it at install (`pip --no-compile`
# halves the install), and cached outside the source tree, so that no __pycache__ lands in
# chalicelib (and in the Lambda package); written even where the environment says not to, or
# every process of the suite (workers, live servers) would compile what it imports again.
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test bench package clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	@touch $(STAMP)

## Serve the API on 127.0.0.1:$${PORT:-8000} with an embedded DynamoDB and fake WeChat.
run: $(STAMP)
	$(PY) -m devstack

## Lint, type-check, then run the whole suite (unit, integration, API, infra lint) on
## $(TEST_WORKERS) workers, each test module on one worker (its module-scoped servers start once).
test: $(STAMP)
	$(PY) -m ruff check --quiet app.py chalicelib devstack infra bench tests
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder tests

## Count DynamoDB round trips per route and measure import time; writes bench/results.json.
bench: $(STAMP)
	$(PY) bench/run.py

## Package the Lambda app with the infra/ resources merged in (output in build/package).
package: $(STAMP)
	$(PY) -m infra.package build/package

clean:
	rm -rf $(VENV) build .pytest_cache
