#!/usr/bin/env bash
# Start or stop the reference counterparties of the embedded default:
# the TTP and the registry holder, as background processes on loopback.
# Their configs, keys, logs and pid files live under $AANLEVERING_HOME.
# Both speak https with certificates of a throwaway CA ($AANLEVERING_HOME/tls,
# made by `aanlevering demo-ca`); clients verify them with tls/ca.pem.
set -euo pipefail
umask 077  # what it makes under $AANLEVERING_HOME is for this account only (docs/privacy.md)
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOME_DIR="${AANLEVERING_HOME:-$PWD/var}"
TTP_PORT="${AANLEVERING_TTP_PORT:-18765}"
RH_PORT="${AANLEVERING_REGISTRY_HOLDER_PORT:-18766}"
RUN_DIR="$HOME_DIR/run"
TLS_DIR="$HOME_DIR/tls"
mkdir -p "$RUN_DIR"
TLS_ARGS=(--tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key"
  --tls-client-ca "$TLS_DIR/ca.pem")

wait_healthy() {  # url name
  for _ in $(seq 1 100); do
    if curl -fsS --cacert "$TLS_DIR/ca.pem" "$1/health" > /dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "error: $2 did not become healthy at $1; see $RUN_DIR/$2.log" >&2
  return 1
}

start_one() {  # name port command...
  local name=$1 port=$2; shift 2
  if [ -f "$RUN_DIR/$name.pid" ] && kill -0 "$(cat "$RUN_DIR/$name.pid")" 2> /dev/null; then
    echo "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"
    return 0
  fi
  nohup "$@" > "$RUN_DIR/$name.log" 2>&1 &
  echo $! > "$RUN_DIR/$name.pid"
  wait_healthy "https://127.0.0.1:$port" "$name"
  echo "$name listening on https://127.0.0.1:$port (log $RUN_DIR/$name.log)"
}

# Hospitals the demo counterparties serve (space-separated ids); each gets
# $HOME_DIR/ttp/clients/<id>.key and $HOME_DIR/registry-holder/<id>.api-key.
HOSPITALS="${AANLEVERING_DEMO_HOSPITALS:-demo-hospital}"
HOSPITAL_ARGS=()
for hospital in $HOSPITALS; do HOSPITAL_ARGS+=(--hospital "$hospital"); done
FIRST_HOSPITAL="${HOSPITALS%% *}"

case "${1:-start}" in
  start)
    if [ ! -f "$TLS_DIR/ca.pem" ]; then
      "$BIN/aanlevering" demo-ca --out "$TLS_DIR" --client demo-hospital > /dev/null
    fi
    if [ ! -f "$HOME_DIR/ttp/ttp.yaml" ]; then
      "$BIN/aanlevering" ttp init-config --out "$HOME_DIR/ttp" \
        --catalogue "${AANLEVERING_CATALOGUE:-schemas/catalogue}" \
        --forward-base-url "https://127.0.0.1:$RH_PORT" --forward-ca-bundle "$TLS_DIR/ca.pem" \
        "${HOSPITAL_ARGS[@]}" > /dev/null
    fi
    for hospital in $HOSPITALS; do
      if [ ! -f "$HOME_DIR/ttp/clients/$hospital.key" ]; then
        echo "error: $HOME_DIR/ttp was set up without hospital $hospital; stop the services and" \
          "remove $HOME_DIR/ttp and $HOME_DIR/registry-holder to set them up for:" \
          "$HOSPITALS" >&2
        exit 2
      fi
    done
    if [ ! -f "$HOME_DIR/registry-holder/registry-holder.yaml" ]; then
      "$BIN/aanlevering" registry-holder init-config --out "$HOME_DIR/registry-holder" \
        --ttp-url "https://127.0.0.1:$TTP_PORT" --ttp-ca-bundle "$TLS_DIR/ca.pem" \
        --ttp-clients "$HOME_DIR/ttp/clients" \
        --ttp-forwarding "$HOME_DIR/ttp/forwarding" "${HOSPITAL_ARGS[@]}" > /dev/null
      mkdir -p "$HOME_DIR/secrets"  # 0700 when made here; an existing folder keeps its mode
      # The embedded default hospital run (make run) is the first hospital.
      install -m 600 "$HOME_DIR/registry-holder/$FIRST_HOSPITAL.api-key" \
        "$HOME_DIR/secrets/registry-holder.api-key"
    fi
    start_one ttp "$TTP_PORT" "$BIN/aanlevering" ttp serve \
      --config "$HOME_DIR/ttp/ttp.yaml" --host 127.0.0.1 --port "$TTP_PORT" "${TLS_ARGS[@]}"
    start_one registry-holder "$RH_PORT" "$BIN/aanlevering" registry-holder serve \
      --config "$HOME_DIR/registry-holder/registry-holder.yaml" --host 127.0.0.1 --port "$RH_PORT" \
      "${TLS_ARGS[@]}"
    ;;
  stop)
    for name in registry-holder ttp; do
      if [ -f "$RUN_DIR/$name.pid" ]; then
        kill "$(cat "$RUN_DIR/$name.pid")" 2> /dev/null || true
        rm -f "$RUN_DIR/$name.pid"
        echo "stopped $name"
      fi
    done
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
