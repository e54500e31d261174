# One-command entry points: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test demo bench clean-db schema

venv: $(STAMP)

# A Python >= 3.12: python3.13 / python3.12 / python3 on PATH, else pyenv's newest 3.12+.
$(STAMP): pyproject.toml
	@set -e; \
	if [ ! -x $(PY) ]; then \
	  found=""; \
	  for cand in python3.13 python3.12 python3; do \
	    if command -v $$cand >/dev/null 2>&1 && $$cand -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then found=$$(command -v $$cand); break; fi; \
	  done; \
	  if [ -z "$$found" ] && command -v pyenv >/dev/null 2>&1; then \
	    for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.[0-9]+)?$$' | sort -rV); do \
	      if PYENV_VERSION=$$v pyenv exec python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then \
	        found="$$(PYENV_VERSION=$$v pyenv which python)"; break; fi; \
	    done; \
	  fi; \
	  if [ -z "$$found" ]; then \
	    echo "error: no Python >= 3.12 found (tried python3.13, python3.12, python3 on PATH and pyenv versions)." >&2; \
	    echo "       Install Python 3.12+ (e.g. 'pyenv install 3.12') and run 'make venv' again." >&2; \
	    exit 1; \
	  fi; \
	  echo "Using $$found ($$($$found --version)) for $(VENV)"; \
	  "$$found" -m venv $(VENV); \
	fi; \
	$(PY) -m pip install --quiet --upgrade pip; \
	$(PY) -m pip install --quiet -e '.[dev]'; \
	touch $(STAMP)

test: venv
	$(PY) -m pytest -q -n 2 --dist loadfile

demo: venv
	$(VENV)/bin/live demo

bench: venv
	$(PY) bench/oms_writer.py
	$(PY) bench/sim_orders.py

schema: venv
	$(PY) -m backend.live.config.schema > docs/live/config.schema.json
