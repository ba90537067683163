# Two commands do everything: `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test lint validate bench conformance clean

# The virtual environment is rebuilt whenever pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

serve: $(BIN)/.installed
	$(BIN)/kg serve --host $(HOST) --port $(PORT)

test: $(BIN)/.installed
	@bash .ci/browser
	$(BIN)/ruff check .
	$(BIN)/kg validate
	$(BIN)/python -m pytest

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
	rm -rf $(VENV) .pytest_cache .ruff_cache var
