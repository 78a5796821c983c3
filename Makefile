# EntryPoint Engine. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast lint typecheck check bench drill clean promtool

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## run: start Temporal (UI on http://localhost:8233), migrate, run the worker and a demo cohort
run: $(STAMP)
	$(BIN)/entrypoint dev

## test: the whole suite (lint, types, domain, records on SQLite and PostgreSQL, workflows on real Temporal servers)
test: $(STAMP)
	@$(MAKE) -s promtool 2>/dev/null || echo "note: promtool could not be installed; its alert-rule checks are skipped"
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/mypy --strict domain contract
	$(BIN)/pytest -q

test-fast: $(STAMP)
	$(BIN)/pytest -q tests/domain

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict domain contract

## bench: quick benchmarks (a few minutes); `make bench BENCH_ARGS=--full` for the published table (BENCHMARKS.md)
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## drill: real faults (worker, Temporal, PostgreSQL, SMTP) against a 100-pair cohort; one table per drill (README)
## `make drill DRILL_ARGS="worker smtp"` runs some; `DRILL_ARGS="--pairs 20"` a smaller cohort
drill: $(STAMP)
	$(BIN)/python -m bench.drill $(DRILL_ARGS)

## promtool: Prometheus's promtool (from Debian's prometheus package, unpacked into .venv/bin) for the rule tests
promtool: $(BIN)/promtool

$(BIN)/promtool: | $(STAMP)
	@tmp=$$(mktemp -d) && cd $$tmp && apt-get download -qq prometheus >/dev/null 2>&1 \
	  && dpkg-deb -x prometheus_*.deb unpacked && cp unpacked/usr/bin/promtool $(CURDIR)/$(BIN)/promtool; \
	  status=$$?; rm -rf $$tmp; exit $$status

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
