# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint unit browser bench loadtest clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

static/htmx.min.js: static/htmx.version static/htmx.sha256 scripts/fetch-htmx.sh
	sh scripts/fetch-htmx.sh

## run: the dashboard on http://$(HOST):$(PORT) (demo data unless LOBSTR_TOKEN is set)
run: $(BIN)/.installed static/htmx.min.js
	BIND=$(HOST):$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py app:app

## test: lint, Dockerfile lint, and every test (browser tests run when Chromium is installed)
test: $(BIN)/.installed static/htmx.min.js lint
	$(BIN)/pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/hadolint --no-color Dockerfile

## bench: the performance figures of bench/RESULTS.md (not part of make test)
bench: $(BIN)/.installed static/htmx.min.js
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) static/htmx.min.js .pytest_cache .ruff_cache
