# bloodcert: `make demo` runs the platform on SQLite; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo's port: make demo PORT=8080
PORT ?= 8000

.PHONY: demo test lint typecheck unit serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,sm]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bloodcert demo --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk >/dev/null || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

.PHONY: assets
assets:  # rebuild the pages' CSS and JS bundles (src/bloodcert/web/static/dist) with esbuild from npm
	cd frontend && npm ci --no-audit --no-fund && npm run build
