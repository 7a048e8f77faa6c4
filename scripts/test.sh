#!/usr/bin/env bash
# Installs everything the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh test
.venv/bin/tos-lint rules test
.venv/bin/python -m pytest -q "$@"
