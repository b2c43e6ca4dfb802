# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
# Test processes: one per core (pytest-xdist); WORKERS=0 runs them in this process.
WORKERS ?= auto
PYTEST := $(BIN)/pytest -q -n $(WORKERS)

.PHONY: run test test-pg lint unit quick browser screenshot bench loadtest clean image-check password htmx-if-npm

# Everything: the runtime and the test tools (make test and the targets below it).
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The runtime alone (make run): no test tools to install just to look at the dashboard.
$(BIN)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

static/htmx.min.js: static/htmx.version static/htmx.sha256 scripts/fetch-htmx.sh
	sh scripts/fetch-htmx.sh

# The browser tests drive Debian's Chromium (never a downloaded browser) and inject axe-core,
# which is fetched from its npm package and checked against the sha256 pinned in tests/browser/.
CHROMIUM := /usr/bin/chromium
AXE := .cache/axe.min.js
$(AXE): tests/browser/axe.version tests/browser/axe.sha256 scripts/fetch-axe.sh
	sh scripts/fetch-axe.sh $@

## run: the dashboard on http://$(HOST):$(PORT) (demo data unless LOBSTR_TOKEN is set); htmx is
## fetched when npm is there, and the pages work by full reloads when it is not
run: $(BIN)/.runtime htmx-if-npm
	$(BIN)/python -m lobstr_dash serve --host $(HOST) --port $(PORT)

# htmx only swaps parts of pages in place: without npm, make run goes on (lobstr-dash serve then
# says how to add it), and a failed download does not stop it either.
htmx-if-npm:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory static/htmx.min.js \
		|| echo "make run: htmx could not be fetched; the pages work by full reloads"; fi

## test: lint, Dockerfile lint, and every test (browser tests run when Chromium is installed)
test: $(BIN)/.installed static/htmx.min.js $(AXE) lint
	@[ -x $(CHROMIUM) ] || echo "make test: Chromium not found at $(CHROMIUM): the browser tests will be SKIPPED (apt-get install chromium)"
	$(PYTEST)

## unit: every test except the browser ones
unit: $(BIN)/.installed static/htmx.min.js
	$(PYTEST) -m "not browser"

## quick: the tests that take under a couple of seconds each (no browser, none marked slow)
quick: $(BIN)/.installed static/htmx.min.js
	$(PYTEST) -m "not browser and not slow"

## test-pg: every test but the browser ones with each dashboard on PostgreSQL (DATABASE_URL set to
## a throwaway cluster's database; not part of make test, which runs a subset on both engines)
test-pg: $(BIN)/.installed static/htmx.min.js
	TEST_ENGINE=postgresql $(PYTEST) -m "not browser"

## browser: only the browser tests (Playwright driving $(CHROMIUM)); screenshots go to test-artifacts/
browser: $(BIN)/.installed static/htmx.min.js $(AXE)
	$(PYTEST) -m browser

## screenshot: regenerate the README's screenshots (docs/screenshot-run*.png: desktop, phone, dark) of the mixed demo run
screenshot: $(BIN)/.installed static/htmx.min.js
	UPDATE_DOCS_SCREENSHOT=1 $(BIN)/pytest -q tests/browser/test_screenshots.py

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/hadolint --no-color Dockerfile

# Datasette, only for the bench's side-by-side figures: a venv of its own, never made by make test.
.venv-bench/bin/.installed: requirements-bench.txt
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

## bench: the performance figures of bench/RESULTS.md, the page weights, the store figures beside
## Datasette (deep pages, 100k first pages, search, export, a 50 x 100k store; STORE_RUNS=5 makes the
## many-run store smaller), then SQLite vs PostgreSQL and two replicas (not part of make test)
STORE_RUNS ?= 50
bench: $(BIN)/.installed static/htmx.min.js .venv-bench/bin/.installed
	$(BIN)/python -m bench
	$(BIN)/python -m bench.sizes
	$(BIN)/python -m bench.store --runs $(STORE_RUNS)
	$(BIN)/python -m bench.engines

## loadtest: 50 clients for 30 s on a warm run page and on its CSV export, gunicorn as in the image;
## appends its figures to bench/RESULTS.md (not part of make test). Needs hey or wrk (Debian packages).
loadtest: $(BIN)/.installed static/htmx.min.js
	@command -v hey >/dev/null || command -v wrk >/dev/null || \
		{ apt-get update -q && apt-get install -y -q --no-install-recommends hey; }
	$(BIN)/python -m loadtest

## image-check: build the Docker image without a daemon or registry (podman + debootstrap), run it,
## and check it from outside; a few minutes cold, under a minute warm (not part of make test)
image-check: $(BIN)/.installed static/htmx.min.js
	PYTHON=$(BIN)/python bash scripts/image-check.sh

## password: print a `name:hash` line for AUTH_USERS (make password NAME=alice); asks for the password
password: $(BIN)/.installed
	@$(BIN)/python -m lobstr_dash.ops.hashpw $(NAME)

clean:
	rm -rf $(VENV) static/htmx.min.js .pytest_cache .ruff_cache .cache test-artifacts
