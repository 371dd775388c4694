#!/usr/bin/env bash
# `make run`: the main job on embedded defaults, end to end without extra setup.
# Everything it writes lives under $AANLEVERING_HOME (default ./var), so
# `make clean-home` wipes it; `make stop` stops the background services.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export AANLEVERING_HOME="${AANLEVERING_HOME:-$PWD/var}"
export AANLEVERING_TTP_PORT="${AANLEVERING_TTP_PORT:-18765}"
export AANLEVERING_REGISTRY_HOLDER_PORT="${AANLEVERING_REGISTRY_HOLDER_PORT:-18766}"
export AANLEVERING_TTP_URL="http://127.0.0.1:$AANLEVERING_TTP_PORT"
export AANLEVERING_TTP_API_KEY_FILE="$AANLEVERING_HOME/ttp/clients/demo-hospital.key"
export AANLEVERING_REGISTRY_HOLDER_URL="http://127.0.0.1:$AANLEVERING_REGISTRY_HOLDER_PORT"
PATIENTS="${AANLEVERING_DEMO_PATIENTS:-2000}"
SEED="${AANLEVERING_DEMO_SEED:-2026}"
DEMO="$AANLEVERING_HOME/demo"
mkdir -p "$AANLEVERING_HOME"

step() { printf '\n== %s\n' "$*"; }

step "Registration catalogue"
"$BIN/aanlevering" registrations check
"$BIN/aanlevering" registrations list

step "Demo EHR data: $PATIENTS patients per registration, seed $SEED (clean, and with 2% bad rows)"
"$BIN/aanlevering" demo-data --out "$DEMO/clean" --patients "$PATIENTS" --seed "$SEED" --bad-share 0
"$BIN/aanlevering" demo-data --out "$DEMO/with-bad-rows" --patients "$PATIENTS" --seed "$SEED"

step "Keys and reference counterparties (TTP, registry holder)"
"$BIN/aanlevering" keys init-demo
bash scripts/services.sh start

step "Register decisions: the example registrations are included as of 1 March 2026"
for registration in $("$BIN/aanlevering" registrations list | cut -f1); do
  "$BIN/aanlevering" register decide --registration "$registration" --decision included \
    --decided-on 2026-03-01 --effective-from 2026-03-01 --term-years 5 > /dev/null
done
"$BIN/aanlevering" register status

step "Opt-outs from the EHR (the opt-out regime starts 2027-01-01; 2026 is not affected)"
"$BIN/aanlevering" optout ingest "$DEMO/clean/optouts.csv"
"$BIN/aanlevering" optout list

step "Validation of data with bad rows (the report shows what a registry holder would see)"
status=0
"$BIN/aanlevering" validate --registration dica-dsaa --input "$DEMO/with-bad-rows/csv-utf8" \
  --period 2026-Q1 --report-dir "$AANLEVERING_HOME/reports/demo-with-bad-rows" || status=$?
echo "exit $status (1 = blocked by validation, as expected for bad rows)"

step "Deliveries of every closed 2026 period (backfill from 2026-01-01)"
deliver() {  # registration period input [extra args]
  local registration=$1 period=$2 input=$3; shift 3
  local code=0
  "$BIN/aanlevering" run --registration "$registration" --period "$period" --input "$input" "$@" \
    2> "$AANLEVERING_HOME/run/last-run.log" | sed 's/^/  /' || code=$?
  [ "$code" -eq 0 ] || { echo "  $registration $period: exit $code"; tail -3 "$AANLEVERING_HOME/run/last-run.log"; }
}
for quarter in 2026-Q1 2026-Q2 2026-Q3; do
  deliver dica-dsaa "$quarter" "$DEMO/clean/csv-cp1252"
done
for month in 01 02 03 04 05 06 07 08 09 10; do
  deliver ldtr "2026-$month" "$DEMO/clean/csv-utf8" --outbox "$AANLEVERING_HOME/outbox"
done
deliver nkr-borst 2026 "$DEMO/clean/fhir-bulk/nkr-borst" --allow-open-period

step "Delivery ledger and calendar"
"$BIN/aanlevering" events rebuild
"$BIN/aanlevering" status

cat <<DONE

Done. Everything lives in $AANLEVERING_HOME:
  reports/     validation reports (validation-report.html for the registry holder, data-docs/ for you)
  outbox/      deliveries made to the outbox channel (ldtr here; manual upload)
  registry-holder/storage/  what the reference registry holder received and receipted
  events.sqlite3            the append-only event log ('aanlevering events tail')
The TTP and registry holder keep running on ports $AANLEVERING_TTP_PORT and $AANLEVERING_REGISTRY_HOLDER_PORT: 'make stop' ends them.
DONE
