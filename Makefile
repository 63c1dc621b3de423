# The two commands: `make run` serves the API locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := $(VENV)/checkov
PIP := -m pip --disable-pip-version-check

.PHONY: run test bench package clean

# checkov gets a venv of its own (requirements-checkov.txt says why), installed while the project's
# installs: both mostly wait on the package index.
$(STAMP): requirements.txt requirements-dev.txt requirements-checkov.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(PY) $(PIP) --python $(CHECKOV_VENV)/bin/python install --quiet --no-deps -r requirements-checkov.txt & checkov=$$!; \
	$(PY) $(PIP) install --quiet -r requirements-dev.txt; project=$$?; wait $$checkov && exit $$project
	@touch $(STAMP)

## Serve the API on 127.0.0.1:$${PORT:-8000} with an embedded DynamoDB and fake WeChat.
run: $(STAMP)
	$(PY) -m devstack

## Lint, type-check, then run the whole suite (unit, integration, API, infra lint: cfn-lint, checkov).
test: $(STAMP)
	$(PY) -m ruff check --quiet app.py chalicelib devstack infra bench tests
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider tests

## Count DynamoDB round trips per route and measure import time; writes bench/results.json.
bench: $(STAMP)
	$(PY) bench/run.py

## Package the Lambda app with the infra/ resources merged in (output in build/package).
package: $(STAMP)
	$(PY) -m infra.package build/package

clean:
	rm -rf $(VENV) build .pytest_cache
