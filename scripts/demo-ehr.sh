#!/usr/bin/env bash
# `make demo-ehr`: the demo EHR folder in the shape docker-compose.yml reads, for
# trying compose (deploy/compose.env.example: AANLEVERING_EHR_DIR=./var/demo/ehr).
# Compose mounts that folder at /data/ehr and reads each registration from its
# <registration id>/ subfolder (AANLEVERING_INPUT_DIR) and the opt-outs from
# optouts.csv; the demo data `make run` generates is laid out by format instead
# (decision 0712). Copies, not links: a link may point outside the mount.
# The same folders as `make run` reads (scripts/run.sh); generated when missing.
set -euo pipefail
umask 077  # synthetic, but kept like every file of the home (docs/privacy.md)
cd "$(dirname "$0")/.."
AANLEVERING=.venv/bin/aanlevering
[ -x "$AANLEVERING" ] || AANLEVERING=aanlevering  # installed elsewhere: from the PATH
export AANLEVERING_HOME="${AANLEVERING_HOME:-$PWD/var}"
DEMO="$AANLEVERING_HOME/demo"
OUT="$DEMO/ehr"
if [ ! -f "$DEMO/clean/demo-data.json" ]; then
  "$AANLEVERING" demo-data --out "$DEMO/clean" --patients "${AANLEVERING_DEMO_PATIENTS:-2000}" \
    --seed "${AANLEVERING_DEMO_SEED:-2026}" --bad-share 0
fi
rm -rf "$OUT.partial"
mkdir -p "$OUT.partial"
cp -R "$DEMO/clean/csv-cp1252" "$OUT.partial/dica-dsaa"
cp -R "$DEMO/clean/csv-utf8" "$OUT.partial/ldtr"
cp -R "$DEMO/clean/fhir-bulk/nkr-borst" "$OUT.partial/nkr-borst"
cp "$DEMO/clean/optouts.csv" "$OUT.partial/optouts.csv"
# The compose containers run as uid 50000 and mount this folder read-only: written
# 0600/0700 as another account they could read none of it (decision 0921). Hand it to
# uid 50000 (as root), or give uid 50000 read access by ACL; it stays closed to others.
CONTAINER_UID=50000
if [ "$(id -u)" = 0 ]; then
  chown -R "$CONTAINER_UID:$CONTAINER_UID" "$OUT.partial"
elif command -v setfacl >/dev/null 2>&1 && setfacl -R -m "u:$CONTAINER_UID:rX" "$OUT.partial"; then
  :
else
  echo "warning: $OUT is readable by $(id -un) only; the compose containers (uid" \
    "$CONTAINER_UID) cannot read it: run 'sudo chown -R $CONTAINER_UID $OUT' (Docker" \
    "Desktop on macOS maps ownership and needs nothing)" >&2
fi
rm -rf "$OUT"
mv "$OUT.partial" "$OUT"
echo "$OUT: dica-dsaa/ ldtr/ nkr-borst/ optouts.csv (set AANLEVERING_EHR_DIR to it; the" \
  "containers, uid $CONTAINER_UID, may read it)"
