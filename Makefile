# One-command entry points: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test lint demo bench clean-db schema

venv: $(STAMP)

# scripts/find-python.sh picks a Python >= 3.12 (3.12 first) or explains plainly that there is none.
$(STAMP): pyproject.toml
	@set -e; \
	if [ ! -x $(PY) ]; then \
	  found=$$(./scripts/find-python.sh); \
	  echo "Using $$found ($$($$found --version)) for $(VENV)"; \
	  "$$found" -m venv $(VENV); \
	fi; \
	$(PY) -m pip install --quiet --upgrade pip; \
	$(PY) -m pip install --quiet -e '.[dev]'; \
	touch $(STAMP)

test: venv lint
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: venv
	$(PY) -m ruff check backend tests bench

demo: venv
	$(VENV)/bin/live demo

bench: venv
	$(PY) bench/oms_writer.py
	$(PY) bench/sim_orders.py

schema: venv
	$(PY) -m backend.live.config.schema > docs/live/config.schema.json
