#!/usr/bin/env bash
# Creates .venv and installs tos-lint (editable). Safe to re-run.
# Usage: scripts/setup.sh [EXTRAS]   e.g. `scripts/setup.sh test` for the test suite
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip's notes about unused local index folders are noise here; errors still show
quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }; }
quiet .venv/bin/python -m pip install --quiet --upgrade pip
extras=${1:-}
quiet .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
