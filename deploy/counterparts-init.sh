#!/bin/sh
# One-shot provisioning of the reference TTP, registry holder and SFTP drop for compose.
#
# It is the only container that sees every secret volume, and only while it
# creates the secrets; afterwards each service mounts its own volume only:
#   $TTP_DIR      (ttp-data)              TTP config, master key, forwarding keys, TLS, audit
#   $RH_DIR       (registry-holder-data)  registry holder config, its TTP key, TLS, audit, storage
#   $SFTP_DIR     (sftp-data)             the SFTP drop's host key, authorized_keys, sshd_config
#   $SFTP_INBOX   (sftp-inbox)            the hospital's SFTP inboxes (sftp and registry holder)
#   $SECRETS_DIR  (hospital-secrets)      what Airflow needs: its two API keys and two CA
#                                         files, sftp/id_ed25519 and sftp/known_hosts
# Clear API keys go to the party that presents them; the services keep hashes.
# Idempotent: does nothing once every config exists (an install from before the
# SFTP drop gets just that part). Paths can be overridden (tests run this script
# against temporary folders). SFTP_CHROOT is the chroot as the sftp service sees
# it; its incoming/ is the sftp-inbox volume, $SFTP_INBOX here (decision 0920).
set -eu
TTP_DIR="${TTP_DIR:-/var/lib/ttp}"
RH_DIR="${RH_DIR:-/var/lib/registry-holder}"
SECRETS_DIR="${SECRETS_DIR:-/etc/aanlevering/secrets}"
CATALOGUE="${AANLEVERING_CATALOGUE:-/opt/aanlevering/config/catalogue}"
PROVIDER="${AANLEVERING_PROVIDER_ID:-demo-hospital}"
TTP_HOST="${TTP_HOST:-ttp}"
RH_HOST="${RH_HOST:-registry-holder}"
SFTP_DIR="${SFTP_DIR:-/var/lib/sftp}"
SFTP_INBOX="${SFTP_INBOX:-/var/lib/sftp-inbox}"
SFTP_CHROOT="${SFTP_CHROOT:-/srv/sftp}"
SFTP_HOST="${SFTP_HOST:-sftp}"
SFTP_PORT="${SFTP_PORT:-2222}"
SFTP_LISTEN="${SFTP_LISTEN:-0.0.0.0}"
SFTP_USER="${SFTP_USER:-aanlevering}"
umask 077

if [ -f "$TTP_DIR/ttp.yaml" ] && [ -f "$RH_DIR/registry-holder.yaml" ] \
  && [ -f "$SFTP_DIR/sshd_config" ]; then
  echo "counterparts already provisioned"
  exit 0
fi
mkdir -p "$TTP_DIR" "$RH_DIR" "$SECRETS_DIR" "$SFTP_DIR" "$SFTP_INBOX"

# The hospital's inboxes at the registry holder (its config names
# sftp-inbox/<hospital>/<registration>) are the inbox volume the sftp service
# serves: a link to it. An install from before the SFTP drop had a plain folder
# there; what it holds moves over.
INBOX_LINK="$RH_DIR/sftp-inbox/$PROVIDER"
if [ ! -L "$INBOX_LINK" ]; then
  mkdir -p "$RH_DIR/sftp-inbox"
  if [ -d "$INBOX_LINK" ]; then
    cp -R "$INBOX_LINK/." "$SFTP_INBOX/"
    rm -rf "$INBOX_LINK"
  fi
  ln -s "$SFTP_INBOX" "$INBOX_LINK"
fi

if [ ! -f "$TTP_DIR/ttp.yaml" ] || [ ! -f "$RH_DIR/registry-holder.yaml" ]; then
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
fi

# The SFTP drop (decision 0920). Its host key, pinned in the hospital's
# known_hosts (the channel never accepts a key on first sight). The hospital's
# key pair: the private half only for Airflow's task runners, the public half the
# one key sshd lets in. An sshd_config that takes that key only: no passwords,
# no shell, no forwarding, the account locked in the chroot with the inbox as
# incoming/. sshd_config is written last: without it, a rerun makes all anew.
mkdir -p "$SECRETS_DIR/sftp"
rm -f "$SFTP_DIR/ssh_host_ed25519_key" "$SFTP_DIR/ssh_host_ed25519_key.pub" \
  "$SECRETS_DIR/sftp/id_ed25519" "$SECRETS_DIR/sftp/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N "" -C "sftp-host-key" -f "$SFTP_DIR/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N "" -C "$PROVIDER" -f "$SECRETS_DIR/sftp/id_ed25519"
echo "restrict $(cat "$SECRETS_DIR/sftp/id_ed25519.pub")" >"$SFTP_DIR/authorized_keys"
rm "$SECRETS_DIR/sftp/id_ed25519.pub"
echo "[$SFTP_HOST]:$SFTP_PORT $(cut -d' ' -f1,2 "$SFTP_DIR/ssh_host_ed25519_key.pub")" \
  >"$SECRETS_DIR/sftp/known_hosts"
# Public halves: readable by the account sshd reads authorized_keys as.
chmod 0644 "$SFTP_DIR/authorized_keys" "$SFTP_DIR/ssh_host_ed25519_key.pub"
chmod 0444 "$SECRETS_DIR/sftp/known_hosts"
cat >"$SFTP_DIR/sshd_config.partial" <<SSHD
# Made by counterparts-init (deploy/counterparts-init.sh): the reference registry
# holder's SFTP drop. Key login for $SFTP_USER only, SFTP only, in its chroot.
Port $SFTP_PORT
ListenAddress $SFTP_LISTEN
HostKey $SFTP_DIR/ssh_host_ed25519_key
PidFile none
AuthorizedKeysFile $SFTP_DIR/authorized_keys
AllowUsers $SFTP_USER
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
HostbasedAuthentication no
PermitRootLogin no
UsePAM no
StrictModes yes
DisableForwarding yes
PermitTTY no
PermitTunnel no
PermitUserRC no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
ChrootDirectory $SFTP_CHROOT
ForceCommand internal-sftp -u 0077
LogLevel VERBOSE
SSHD
chmod 0644 "$SFTP_DIR/sshd_config.partial"
mv "$SFTP_DIR/sshd_config.partial" "$SFTP_DIR/sshd_config"
echo "provisioned: TTP in $TTP_DIR, registry holder in $RH_DIR, SFTP drop in $SFTP_DIR," \
  "hospital secrets in $SECRETS_DIR"
