# The two commands: `make run` serves the API locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench package admin clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

## Serve the API on 127.0.0.1:$${PORT:-8000} with an embedded DynamoDB and fake WeChat.
run: $(STAMP)
	$(PY) -m devstack

## Lint, type-check, then run the whole suite (unit, integration, API, infra lint).
test: $(STAMP)
	$(PY) -m ruff check --quiet app.py chalicelib admin devstack infra bench tests
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider tests

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
	rm -rf $(VENV) build .pytest_cache
