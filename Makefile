# One-command entry points: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK  := requirements.lock
UV_VERSION := 0.13.9
UV    := $(VENV)/bin/uv

.PHONY: venv lock test lint demo bench clean-db schema

venv: $(STAMP)

# scripts/find-python.sh picks a Python >= 3.12 (3.12 first) or explains plainly that there is none.
# Installs exactly the versions (and hashes) of requirements.lock with uv (PyPI's `uv`: a first install takes ~20 s,
# pip ~1 min 45 s), then the project itself, editable (a dependency added to pyproject.toml but not yet to the
# lock is installed too; `make lock` pins it). Without uv: pip install -r requirements.lock && pip install -e '.[dev]'.
$(STAMP): pyproject.toml $(LOCK)
	@set -e; \
	if [ ! -x $(PY) ]; then \
	  found=$$(./scripts/find-python.sh); \
	  echo "Using $$found ($$($$found --version)) for $(VENV)"; \
	  "$$found" -m venv $(VENV); \
	fi; \
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); \
	$(UV) pip install --python $(PY) --quiet -r $(LOCK); \
	$(UV) pip install --python $(PY) --quiet -e '.[dev]'; \
	touch $(STAMP)

# After changing a dependency in pyproject.toml: pins every transitive dependency, with hashes, for Python 3.12.
lock:
	@[ -x $(UV) ] || $(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.12 --generate-hashes --quiet -o $(LOCK)

test: venv lint
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: venv
	$(PY) -m ruff check backend tests bench

demo: venv
	$(VENV)/bin/live demo

bench: venv
	$(PY) bench/oms_writer.py
	$(PY) bench/sim_orders.py
	$(PY) bench/order_roundtrip.py --orders 50 --flush-ms 10

# Stops the embedded PostgreSQL (`live db status` says where it is) and deletes its data: every table is lost.
clean-db: venv
	$(VENV)/bin/live db stop --delete-data

schema: venv
	$(PY) -m backend.live.config.schema > docs/live/config.schema.json
