#!/usr/bin/env bash
# `make run`: the main job on embedded defaults, with Airflow.
# Demo data, the reference TTP and registry holder, register decisions and
# opt-outs, then `airflow standalone` with the project's DAGs and the
# Deliveries page; every example registration's DAG is backfilled from
# 2026-01-01 and unpaused. Everything it writes lives under $AANLEVERING_HOME
# (default ./var); `make stop` stops what it started, `make clean-home` wipes it.
set -euo pipefail
umask 077  # staging, event log, reports and Airflow logs are for this account only (docs/privacy.md)
cd "$(dirname "$0")/.."
BIN=.venv/bin
export AANLEVERING_HOME="${AANLEVERING_HOME:-$PWD/var}"
# This is the demo: deliver as demo-hospital to the reference TTP and registry holder
# (outside demo mode both are refused, decisions 0710 and 0711). Airflow's tasks inherit it.
export AANLEVERING_DEMO_MODE=yes
export AANLEVERING_TTP_PORT="${AANLEVERING_TTP_PORT:-18765}"
export AANLEVERING_REGISTRY_HOLDER_PORT="${AANLEVERING_REGISTRY_HOLDER_PORT:-18766}"
export AANLEVERING_AIRFLOW_PORT="${AANLEVERING_AIRFLOW_PORT:-8790}"
# Both counterparties speak https with the throwaway demo CA (scripts/services.sh).
export AANLEVERING_TTP_URL="https://127.0.0.1:$AANLEVERING_TTP_PORT"
export AANLEVERING_TTP_CA_FILE="$AANLEVERING_HOME/tls/ca.pem"
export AANLEVERING_TTP_API_KEY_FILE="$AANLEVERING_HOME/ttp/clients/demo-hospital.key"
export AANLEVERING_REGISTRY_HOLDER_URL="https://127.0.0.1:$AANLEVERING_REGISTRY_HOLDER_PORT"
export AANLEVERING_REGISTRY_HOLDER_CA_FILE="$AANLEVERING_HOME/tls/ca.pem"
PATIENTS="${AANLEVERING_DEMO_PATIENTS:-2000}"
SEED="${AANLEVERING_DEMO_SEED:-2026}"
DEMO="$AANLEVERING_HOME/demo"
# Where the DAGs read each registration's EHR extract (see docs/airflow.md):
# the demo data, DICA in the Windows-1252 CSV variant, NKR as a FHIR bulk export.
export AANLEVERING_INPUT__DICA_DSAA="${AANLEVERING_INPUT__DICA_DSAA:-$DEMO/clean/csv-cp1252}"
export AANLEVERING_INPUT__LDTR="${AANLEVERING_INPUT__LDTR:-$DEMO/clean/csv-utf8}"
export AANLEVERING_INPUT__NKR_BORST="${AANLEVERING_INPUT__NKR_BORST:-$DEMO/clean/fhir-bulk/nkr-borst}"
# LDTR's registry holder takes SFTP; the demo delivers it into an outbox folder instead.
export AANLEVERING_OUTBOX__LDTR="${AANLEVERING_OUTBOX__LDTR:-$AANLEVERING_HOME/outbox}"
mkdir -p "$AANLEVERING_HOME"

step() { printf '\n== %s\n' "$*"; }

step "Registration catalogue"
"$BIN/aanlevering" registrations check
"$BIN/aanlevering" registrations list

step "Demo EHR data: $PATIENTS patients per registration, seed $SEED (clean, and with 2% bad rows)"
if [ ! -f "$DEMO/clean/demo-data.json" ]; then
  "$BIN/aanlevering" demo-data --out "$DEMO/clean" --patients "$PATIENTS" --seed "$SEED" --bad-share 0
  "$BIN/aanlevering" demo-data --out "$DEMO/with-bad-rows" --patients "$PATIENTS" --seed "$SEED"
else
  echo "already there: $DEMO (make clean-home to start over)"
fi

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
# The demo file stands in for the EHR's daily export, taken now: an ingest records the
# export's time, and from 2027 a run needs one from the last 36 hours (decision 0475).
touch "$DEMO/clean/optouts.csv"
"$BIN/aanlevering" optout ingest "$DEMO/clean/optouts.csv"

step "Validation of data with bad rows (the report shows what a registry holder would see)"
status=0
"$BIN/aanlevering" validate --registration dica-dsaa --input "$DEMO/with-bad-rows/csv-utf8" \
  --period 2026-Q1 --report-dir "$AANLEVERING_HOME/reports/demo-with-bad-rows" > /dev/null 2>&1 || status=$?
echo "exit $status (1 = blocked by validation, as expected for bad rows); report in $AANLEVERING_HOME/reports/demo-with-bad-rows"

step "Airflow (standalone: SQLite, LocalExecutor) with the delivery DAGs and the Deliveries page"
bash scripts/airflow.sh start

step "Backfill every registration from 2026-01-01 (one run per closed period) and unpause"
today=$(date +%Y-%m-%dT00:00:00Z)
for registration in $("$BIN/aanlevering" registrations list | cut -f1); do
  bash scripts/airflow.sh backfill "deliver-$registration" 2026-01-01T00:00:00+01:00 "$today"
done
# NKR is yearly and 2026 has not closed: a year-to-date delivery, triggered by hand.
bash scripts/airflow.sh trigger deliver-nkr-borst '{"period": "2026", "allow_open_period": true}'

step "Waiting (at most ${AANLEVERING_RUN_WAIT_SECONDS:-300} s) for a receipted delivery of every registration"
deadline=$((SECONDS + ${AANLEVERING_RUN_WAIT_SECONDS:-300}))
registrations=$("$BIN/aanlevering" registrations list | cut -f1)
while :; do
  # A registration counts once one of its deliveries is receipted (status lists
  # "  <registration> <period> v<n> receipted via ..."); a staged one is still under way.
  listed=$("$BIN/aanlevering" status 2> /dev/null || true)
  waiting=""
  for registration in $registrations; do
    grep -qE "^  $registration [^ ]+ v[0-9]+ receipted " <<< "$listed" || waiting="$waiting $registration"
  done
  [ -z "$waiting" ] && break
  if [ $SECONDS -ge $deadline ]; then
    echo "not receipted yet:$waiting; the DAGs keep running: watch the Airflow UI"
    break
  fi
  sleep 5
done
"$BIN/aanlevering" events rebuild
"$BIN/aanlevering" status | head -40

PASSWORD=$("$BIN/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$AANLEVERING_HOME/airflow/passwords.json")
cat <<DONE

Airflow UI:       http://127.0.0.1:$AANLEVERING_AIRFLOW_PORT   (login: admin / $PASSWORD)
Deliveries page:  http://127.0.0.1:$AANLEVERING_AIRFLOW_PORT/deliveries/   (also under Browse, and a tab on each DAG)
The DAGs keep delivering the remaining periods in the background (LDTR has ten months).

Everything lives in $AANLEVERING_HOME:
  airflow/     AIRFLOW_HOME (SQLite database, logs, passwords.json with the login)
  reports/     validation reports (validation-report.html for the registry holder, data-docs/ for you)
  outbox/      deliveries made to the outbox channel (ldtr here; manual upload): not delivered
               until you confirm the upload ('aanlevering confirm-upload', decision 0794)
  registry-holder/storage/  what the reference registry holder received and receipted
  events.sqlite3            the append-only event log ('aanlevering events tail')
'make stop' ends Airflow, the TTP and the registry holder.
DONE
