#!/bin/sh
# One-shot provisioning of the reference TTP and registry holder for compose.
#
# It is the only container that sees every secret volume, and only while it
# creates the secrets; afterwards each service mounts its own volume only:
#   $TTP_DIR      (ttp-data)              TTP config, master key, forwarding keys, TLS, audit
#   $RH_DIR       (registry-holder-data)  registry holder config, its TTP key, TLS, audit, storage
#   $SECRETS_DIR  (hospital-secrets)      what Airflow needs: its two API keys and two CA files
# Clear API keys go to the party that presents them; the services keep hashes.
# Idempotent: does nothing once both configs exist. Paths can be overridden
# (tests run this script against temporary folders).
set -eu
TTP_DIR="${TTP_DIR:-/var/lib/ttp}"
RH_DIR="${RH_DIR:-/var/lib/registry-holder}"
SECRETS_DIR="${SECRETS_DIR:-/etc/aanlevering/secrets}"
CATALOGUE="${AANLEVERING_CATALOGUE:-/opt/aanlevering/config/catalogue}"
PROVIDER="${AANLEVERING_PROVIDER_ID:-demo-hospital}"
TTP_HOST="${TTP_HOST:-ttp}"
RH_HOST="${RH_HOST:-registry-holder}"
umask 077

if [ -f "$TTP_DIR/ttp.yaml" ] && [ -f "$RH_DIR/registry-holder.yaml" ]; then
  echo "counterparts already provisioned"
  exit 0
fi
mkdir -p "$TTP_DIR" "$RH_DIR" "$SECRETS_DIR"

# A throwaway CA per service (demo only: put real certificates in tls/ instead).
aanlevering demo-ca --out "$TTP_DIR/tls" --server-name "$TTP_HOST" --server-name localhost
aanlevering demo-ca --out "$RH_DIR/tls" --server-name "$RH_HOST" --server-name localhost
cp "$RH_DIR/tls/ca.pem" "$TTP_DIR/registry-holder-ca.pem"
cp "$TTP_DIR/tls/ca.pem" "$RH_DIR/ttp-ca.pem"
cp "$TTP_DIR/tls/ca.pem" "$SECRETS_DIR/ttp-ca.pem"
cp "$RH_DIR/tls/ca.pem" "$SECRETS_DIR/registry-holder-ca.pem"

aanlevering ttp init-config --out "$TTP_DIR" --catalogue "$CATALOGUE" --hospital "$PROVIDER" --forward-base-url "https://$RH_HOST:8766" --forward-ca-bundle "$TTP_DIR/registry-holder-ca.pem"

# The TTP issued every organisation's API key: hand each to its holder.
mv "$TTP_DIR/clients/$PROVIDER.key" "$SECRETS_DIR/ttp.key"
mkdir -p "$RH_DIR/ttp-clients"
for forwarding in "$TTP_DIR"/forwarding/*.key; do
  holder=$(basename "$forwarding" .key)
  mv "$TTP_DIR/clients/$holder.key" "$RH_DIR/ttp-clients/$holder.key"
done
mkdir -p "$TTP_DIR/admin"
mv "$TTP_DIR"/clients/*.key "$TTP_DIR/admin/"  # the admin key stays with the TTP's operator
rmdir "$TTP_DIR/clients"

aanlevering registry-holder init-config --out "$RH_DIR" --hospital "$PROVIDER" --ttp-url "https://$TTP_HOST:8765" --ttp-ca-bundle "$RH_DIR/ttp-ca.pem" --ttp-clients "$RH_DIR/ttp-clients" --ttp-forwarding "$TTP_DIR/forwarding"
mv "$RH_DIR/$PROVIDER.api-key" "$SECRETS_DIR/registry-holder.api-key"
chmod 0444 "$SECRETS_DIR"/*.pem
echo "provisioned: TTP in $TTP_DIR, registry holder in $RH_DIR, hospital secrets in $SECRETS_DIR"
