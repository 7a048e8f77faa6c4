#!/usr/bin/env bash
# Creates .venv and installs tos-lint (editable). Safe to re-run.
# Usage: scripts/setup.sh [EXTRAS]   e.g. `scripts/setup.sh test` for the test suite
# Libraries are installed at the versions in constraints.txt, the last ones
# the test suite passed with; TOS_LINT_UNPINNED=1 takes the newest that
# pyproject.toml allows instead.
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
pins=(-c constraints.txt)
if [ "${TOS_LINT_UNPINNED:-0}" = 1 ]; then pins=(); fi
quiet .venv/bin/python -m pip install --quiet "${pins[@]}" -e ".${extras:+[$extras]}"
