#!/usr/bin/env bash
# Airflow of the embedded default: `airflow standalone` (SQLite, LocalExecutor,
# simple auth manager) with the project's dags/ and plugins/, all state under
# $AANLEVERING_HOME/airflow. Usage: scripts/airflow.sh start|stop|status|backfill
#
#   AANLEVERING_AIRFLOW_PORT        UI/API port (default 8790; 8080 is left for another Airflow)
#   AANLEVERING_AIRFLOW_LOG_PORT    worker log server port (default 8791)
#   AANLEVERING_AIRFLOW_TRIGGER_LOG_PORT  triggerer log server port (default 8792)
#   AANLEVERING_AIRFLOW_USER        login (default admin); its password is generated
#                                   once into $AIRFLOW_HOME/passwords.json
#
# The DAG tasks inherit this process's environment (AANLEVERING_* settings).
set -euo pipefail
umask 077  # staging, event log, reports and Airflow logs are for this account only (docs/privacy.md)
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
export AANLEVERING_HOME="${AANLEVERING_HOME:-$ROOT/var}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$AANLEVERING_HOME/airflow}"
PORT="${AANLEVERING_AIRFLOW_PORT:-8790}"
USER_NAME="${AANLEVERING_AIRFLOW_USER:-admin}"
URL="http://127.0.0.1:$PORT"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="$USER_NAME:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="$URL"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$URL/execution/"
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="${AANLEVERING_AIRFLOW_LOG_PORT:-8791}"
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="${AANLEVERING_AIRFLOW_TRIGGER_LOG_PORT:-8792}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=False
PID_FILE="$AIRFLOW_HOME/standalone.pid"
LOG_FILE="$AIRFLOW_HOME/standalone.log"
mkdir -p "$AIRFLOW_HOME"

password() {
  "$BIN/python" - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" "$USER_NAME" <<'PY'
import json, os, secrets, sys
path, user = sys.argv[1], sys.argv[2]
users = json.load(open(path)) if os.path.exists(path) else {}
if user not in users:
    users[user] = secrets.token_urlsafe(12)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(users, handle)
print(users[user])
PY
}

token() {
  curl -fsS -X POST "$URL/auth/token" -H 'Content-Type: application/json' \
    -d "{\"username\": \"$USER_NAME\", \"password\": \"$(password)\"}" |
    "$BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2> /dev/null; }

wait_ready() {  # bounded: the API answers and the DAGs are parsed
  for _ in $(seq 1 180); do
    if ! running; then
      echo "error: airflow standalone exited; see $LOG_FILE" >&2
      tail -20 "$LOG_FILE" >&2
      return 1
    fi
    if curl -fsS "$URL/api/v2/monitor/health" > /dev/null 2>&1 &&
      [ "$(curl -fsS -H "Authorization: Bearer $(token)" "$URL/api/v2/dags?limit=1" 2> /dev/null |
        "$BIN/python" -c 'import json,sys; print(json.load(sys.stdin)["total_entries"])' 2> /dev/null)" -gt 0 ] 2> /dev/null; then
      return 0
    fi
    sleep 1
  done
  echo "error: airflow did not become ready at $URL within 3 minutes; see $LOG_FILE" >&2
  return 1
}

case "${1:-start}" in
  start)
    password > /dev/null
    if running; then
      echo "airflow already running (pid $(cat "$PID_FILE")) at $URL"
    else
      "$BIN/airflow" db migrate > "$AIRFLOW_HOME/db-migrate.log" 2>&1
      # Own process group, so `stop` ends standalone and every component it started.
      PATH="$BIN:$PATH" setsid nohup "$BIN/airflow" standalone > "$LOG_FILE" 2>&1 < /dev/null &
      echo $! > "$PID_FILE"
    fi
    wait_ready
    echo "Airflow UI: $URL  (login: $USER_NAME / $(password); passwords in $AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE)"
    echo "Deliveries page: $URL/deliveries/"
    ;;
  stop)
    if running; then
      kill -TERM -- "-$(cat "$PID_FILE")" 2> /dev/null || true
      for _ in $(seq 1 30); do running || break; sleep 1; done
      running && kill -KILL -- "-$(cat "$PID_FILE")" 2> /dev/null || true
      echo "stopped airflow"
    fi
    rm -f "$PID_FILE"
    ;;
  status)
    running && echo "airflow running (pid $(cat "$PID_FILE")) at $URL" || echo "airflow not running"
    ;;
  token)
    token
    ;;
  backfill)  # backfill DAG_ID FROM TO: create the backfill, then unpause (paused: runs never start)
    dag_id=$2 from=$3 to=$4
    auth="Authorization: Bearer $(token)"
    body="{\"dag_id\": \"$dag_id\", \"from_date\": \"$from\", \"to_date\": \"$to\", \"max_active_runs\": 1}"
    for attempt in $(seq 1 30); do  # SQLite: 503 while the scheduler holds the database lock
      code=$(curl -sS -o "$AIRFLOW_HOME/backfill.json" -w '%{http_code}' -X POST "$URL/api/v2/backfills" \
        -H "$auth" -H 'Content-Type: application/json' -d "$body")
      [ "$code" != 503 ] && break
      sleep 1
    done
    if [ "$code" = 409 ]; then
      echo "$dag_id: a backfill is already running"
    elif [ "$code" = 422 ] && grep -q "No runs to create" "$AIRFLOW_HOME/backfill.json"; then
      echo "$dag_id: no closed period between $from and $to"
    elif [ "${code:0:1}" != 2 ]; then
      echo "error: backfill of $dag_id refused ($code): $(cat "$AIRFLOW_HOME/backfill.json")" >&2
      exit 1
    fi
    curl -fsS -X PATCH "$URL/api/v2/dags/$dag_id" -H "$auth" -H 'Content-Type: application/json' \
      -d '{"is_paused": false}' > /dev/null
    [ "${code:0:1}" != 2 ] || "$BIN/python" - "$AIRFLOW_HOME/backfill.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
print(f"backfill {b['id']} of {b['dag_id']}: {b['from_date']} .. {b['to_date']} (unpaused)")
PY
    ;;
  trigger)  # trigger DAG_ID CONF_JSON: a run by hand (e.g. a year-to-date delivery)
    dag_id=$2 conf=${3:-"{}"}
    auth="Authorization: Bearer $(token)"
    curl -fsS -X PATCH "$URL/api/v2/dags/$dag_id" -H "$auth" -H 'Content-Type: application/json' \
      -d '{"is_paused": false}' > /dev/null
    for attempt in $(seq 1 30); do
      code=$(curl -sS -o "$AIRFLOW_HOME/trigger.json" -w '%{http_code}' -X POST \
        "$URL/api/v2/dags/$dag_id/dagRuns" -H "$auth" -H 'Content-Type: application/json' \
        -d "{\"logical_date\": null, \"conf\": $conf}")
      [ "$code" != 503 ] && break
      sleep 1
    done
    [ "${code:0:1}" = 2 ] || { echo "error: trigger of $dag_id refused ($code)" >&2; exit 1; }
    echo "triggered $dag_id with $conf"
    ;;
  *)
    echo "usage: $0 start|stop|status|token|backfill DAG_ID FROM TO|trigger DAG_ID CONF" >&2
    exit 2
    ;;
esac
