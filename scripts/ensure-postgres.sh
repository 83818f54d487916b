#!/usr/bin/env bash
# Makes sure PostgreSQL answers on DB_HOST:DB_PORT. On a machine with a local Debian cluster
# that is down, starts it; otherwise says what is wrong and stops.
set -euo pipefail

HOST="${DB_HOST:-127.0.0.1}"
PORT="${DB_PORT:-5432}"

answers() { pg_isready -q -h "$HOST" -p "$PORT" -t 3; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "PostgreSQL client tools not found: install them (Debian: apt-get install postgresql-client)" >&2
  exit 1
fi
if answers; then exit 0; fi

if command -v pg_lsclusters >/dev/null 2>&1 && [[ "$HOST" == "127.0.0.1" || "$HOST" == "localhost" ]]; then
  # Start the local cluster(s) listening on that port.
  while read -r version cluster port _; do
    if [[ "$port" == "$PORT" ]]; then
      echo "starting local PostgreSQL cluster $version/$cluster on port $PORT..." >&2
      pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
    fi
  done < <(pg_lsclusters --no-header)
  for _ in $(seq 1 30); do
    if answers; then exit 0; fi
    sleep 1
  done
fi
echo "PostgreSQL does not answer on $HOST:$PORT: start it, or set DB_HOST/DB_PORT to a running server" >&2
exit 1
