#!/usr/bin/env bash
# Install the Debian packages the tests need, only when they are missing:
#   postgresql      real PostgreSQL for the event-store tests (tests/support/postgres.py
#                   runs its own throwaway cluster with initdb/pg_ctl; no service is used)
#   openssh-server  a real sshd for the SFTP delivery channel tests
#   chromium        headless browser for the Deliveries page test (driven over DevTools)
#   redis-server    the Celery broker for the CeleryExecutor tests (tests/e2e/test_airflow_celery.py
#                   starts its own redis-server on loopback; the Debian service is not used)
# Idempotent and quiet: on a machine that has them all it only says so. Runs apt-get
# directly as root, otherwise through sudo.
set -euo pipefail

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || command -v initdb > /dev/null 2>&1
}
have_sshd() {
  [ -x /usr/sbin/sshd ] || command -v sshd > /dev/null 2>&1
}
have_chromium() {
  command -v chromium > /dev/null 2>&1
}
have_redis() {
  [ -x /usr/bin/redis-server ] || command -v redis-server > /dev/null 2>&1
}

missing=()
have_postgres || missing+=(postgresql)
have_sshd || missing+=(openssh-server)
have_chromium || missing+=(chromium)
have_redis || missing+=(redis-server)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: PostgreSQL server, OpenSSH server, Chromium and Redis server are present, nothing to install"
  exit 0
fi

if ! command -v apt-get > /dev/null 2>&1; then
  echo "error: missing ${missing[*]} and apt-get is not available; install them with this system's package manager" >&2
  exit 1
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo > /dev/null 2>&1; then
    sudo "$@"
  else
    echo "error: installing ${missing[*]} needs root (or sudo)" >&2
    exit 1
  fi
}

echo "system packages: missing ${missing[*]}; running apt-get update and apt-get install ${missing[*]}"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null

still_missing=()
have_postgres || still_missing+=(postgresql)
have_sshd || still_missing+=(openssh-server)
have_chromium || still_missing+=(chromium)
have_redis || still_missing+=(redis-server)
if [ "${#still_missing[@]}" -ne 0 ]; then
  echo "error: apt-get finished but ${still_missing[*]} is still not usable" >&2
  exit 1
fi
echo "system packages: installed ${missing[*]}"
