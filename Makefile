# funnelboard: `make demo` and `make test` are all the set-up a fresh machine needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FB := $(VENV)/bin/funnelboard
DEMO_DIR ?= demo-workspace

.PHONY: install demo test lint bench docs screenshots clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	rm -rf $(DEMO_DIR)
	$(FB) demo $(DEMO_DIR)

test: install
	./scripts/system-packages.sh
	$(PY) -m pytest -n 2 --dist loadfile -q

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy src

# sizes in demo contacts; `make bench BENCH_ROWS="1000000 10000000"` adds 10M (slow)
BENCH_ROWS ?= 1000000
bench: install
	$(PY) bench/bench_import.py --rows $(BENCH_ROWS)
	$(PY) bench/bench_funnel.py --rows $(BENCH_ROWS)
	$(PY) bench/bench_catalogue.py
	$(PY) bench/bench_web.py --contacts 50000 $(BENCH_ROWS)

docs: install
	$(PY) -m funnelboard.docs_gen docs/data-contract.md
	$(PY) -m funnelboard.cli.reference docs/metrics.md

# re-take the README's screenshots (the browser tests save them to docs/screenshots/)
screenshots: install
	./scripts/system-packages.sh
	FUNNELBOARD_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/test_browser.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
