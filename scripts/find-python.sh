#!/usr/bin/env bash
# Prints the path of a Python >= 3.12 for the project's .venv, 3.12 first (pgserver ships no wheels for 3.13+):
# python3.12 on PATH, pyenv's 3.12.x, then python3 / python3.13 on PATH, then pyenv's newer versions.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
pyenv_python() { PYENV_VERSION="$1" pyenv which python 2>/dev/null; }
pyenv_versions() { command -v pyenv >/dev/null 2>&1 && pyenv versions --bare 2>/dev/null | grep -E "^$1" | sort -V; }

if command -v python3.12 >/dev/null 2>&1 && ok python3.12; then command -v python3.12; exit 0; fi
for v in $(pyenv_versions '3\.12(\.[0-9]+)?$'); do
  p=$(pyenv_python "$v") && ok "$p" && { echo "$p"; exit 0; }
done
for cand in python3 python3.13; do
  if command -v "$cand" >/dev/null 2>&1 && ok "$cand"; then command -v "$cand"; exit 0; fi
done
for v in $(pyenv_versions '3\.(1[3-9]|[2-9][0-9])(\.[0-9]+)?$'); do
  p=$(pyenv_python "$v") && ok "$p" && { echo "$p"; exit 0; }
done
echo "error: no Python >= 3.12 found (tried python3.12, pyenv 3.12.x, python3, python3.13, newer pyenv versions)." >&2
echo "       Install Python 3.12 (e.g. 'pyenv install 3.12') and run 'make venv' again." >&2
exit 1
