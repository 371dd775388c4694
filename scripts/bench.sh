#!/usr/bin/env bash
# `make bench`: benchmark scripts that print `bench: <name> <value> <unit>` lines.
# Timings depend on the machine and its load; they are figures, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
for script in scripts/bench_*.py; do
  echo "== $script"
  "$BIN/python" "$script"
done
