#!/usr/bin/env bash
# System packages the test suite uses for real (not mocked) parts:
# redis-server (shared near-duplicate index), ripgrep (benchmark baseline),
# chromium (the HTML report is loaded in headless Chromium: tests/test_html_report.py).
# Installs only what is missing; needs root and apt-get.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
command -v git >/dev/null 2>&1 || need+=(git)
# Debian's own build (no browser download); fonts-dejavu-core so pages render text.
[ -x /usr/bin/chromium ] || need+=(chromium fonts-dejavu-core)
if ((${#need[@]})); then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "system-deps: please install: ${need[*]}" >&2
    exit 1
  fi
fi
