#!/usr/bin/env bash
# `make run`: the main job on embedded defaults. Everything it writes lives
# under $AANLEVERING_HOME (default ./var), so `make clean-home` wipes it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export AANLEVERING_HOME="${AANLEVERING_HOME:-$PWD/var}"
PATIENTS="${AANLEVERING_DEMO_PATIENTS:-2000}"
SEED="${AANLEVERING_DEMO_SEED:-2026}"
mkdir -p "$AANLEVERING_HOME"

step() { printf '\n== %s\n' "$*"; }

step "Checking the registration catalogue"
"$BIN/aanlevering" registrations check
"$BIN/aanlevering" registrations list

step "Generating demo EHR data ($PATIENTS patients, seed $SEED) into $AANLEVERING_HOME/demo"
"$BIN/aanlevering" demo-data --out "$AANLEVERING_HOME/demo" --patients "$PATIENTS" --seed "$SEED"

if "$BIN/aanlevering" --help | grep -q " validate "; then
  step "Validating every registration's 2026 data (year to date) against its dictionary"
  for registration in $("$BIN/aanlevering" registrations list | cut -f1); do
    period=2026
    status=0
    "$BIN/aanlevering" validate --registration "$registration" \
      --input "$AANLEVERING_HOME/demo/csv-utf8" --period "$period" \
      --report-dir "$AANLEVERING_HOME/reports/$registration/$period" || status=$?
    echo "validate $registration $period: exit $status (0 valid, 1 blocked, 2 unusable input)"
  done
fi

step "Event log"
"$BIN/aanlevering" events tail --limit 20 || true

printf '\nDone. State lives in %s (demo data, reports, event log).\n' "$AANLEVERING_HOME"
