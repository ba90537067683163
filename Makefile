# Two commands do everything: `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest processes for `make test` (pytest-xdist); each test file stays on one, with its own servers.
TEST_WORKERS ?= 2

.PHONY: serve test lint validate bench conformance clean ui

# The query editor (YASGUI) and the result pictures: npm packages pinned in web/package.json and
# web/package-lock.json (versions and hashes, no download addresses), bundled into web/dist (git-ignored).
# Without Node.js the pages still work, server-rendered and without JavaScript; `kg serve` says so in one line.
UI := web/dist/editor.js

# The virtual environment is rebuilt whenever pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

$(UI): web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/*)
	@if command -v npm >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' 2>/dev/null; then \
	  cd web && npm ci --no-audit --no-fund --loglevel=error && node build.mjs; \
	fi  # without Node.js, `kg serve` says in one line how to get the editor

ui: $(UI)

serve: $(BIN)/.installed ui
	$(BIN)/kg serve --host $(HOST) --port $(PORT)

test: $(BIN)/.installed
	@bash .ci/browser
	@bash .ci/node
	@$(MAKE) --no-print-directory ui
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile  # kg validate runs in it (test_graph_checks.py)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

validate: $(BIN)/.installed
	$(BIN)/kg validate

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/endpoint.py $(BENCH_ARGS)

# Every W3C SPARQL 1.0/1.1 query test, on plain pyoxigraph and through /sparql's path (conformance/README.md);
# the test files are fetched from PyPI into var/ on first use.
conformance: $(BIN)/.installed
	$(BIN)/python -m conformance.run --write benchmarks/CONFORMANCE.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var web/node_modules web/dist
