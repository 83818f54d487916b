#!/usr/bin/env bash
# The test suite's own PostgreSQL cluster, so tests may restart and kill it and never touch the
# machine's server (nor depend on it running, or on how it authenticates).
#
#   test-cluster.sh start <dir>   initdb into <dir>/pg, start it on a free port of 127.0.0.1, create
#                                 the roles, and write <dir>/env: the variables the tests need
#   test-cluster.sh stop <dir>    stop it (immediately: the cluster is thrown away afterwards)
#
# Connections: TCP on 127.0.0.1 only, and a unix socket inside <dir>; every one of them needs a
# password (scram-sha-256). Roles: a superuser (DB_USER/DB_PASSWORD, also PGUSER/PGPASSWORD) and a
# plain login role (PGKEEPER_TEST_ROLE/PGKEEPER_TEST_ROLE_PASSWORD), both with random passwords; and
# a user name pg_hba.conf rejects (PGKEEPER_TEST_TURNED_AWAY).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMMAND="${1:-}"
RUN_DIR="${2:-}"
if [[ "$COMMAND" != start && "$COMMAND" != stop || -z "$RUN_DIR" ]]; then
  echo "usage: $0 start|stop <directory>" >&2
  exit 2
fi
PG_DIR="$RUN_DIR/pg"
DATA="$PG_DIR/data"
LOG="$PG_DIR/postgres.log"

# initdb and postgres refuse to run as root. As root (CI here), run them as the `postgres` system
# user that the server packages create, or else as `nobody`; creating a user would change the
# machine for good, so it is never done. Only the cluster's own directory is given to that user.
RUN_AS=""
if [[ $EUID -eq 0 ]]; then
  if id -u postgres >/dev/null 2>&1; then RUN_AS=postgres
  elif id -u nobody >/dev/null 2>&1; then RUN_AS=nobody
  else
    echo "running as root, and neither a 'postgres' nor a 'nobody' user exists to run the test cluster as: run the tests as an ordinary user" >&2
    exit 1
  fi
fi
as_owner() {
  if [[ -n "$RUN_AS" ]]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}

BIN="$("$ROOT/scripts/pg-server-bin.sh")"
PSQL="$BIN/psql"
[[ -x "$PSQL" ]] || PSQL=psql

if [[ "$COMMAND" == stop ]]; then
  if [[ -f "$DATA/postmaster.pid" ]]; then
    (cd "$PG_DIR" && as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1) || true
  fi
  exit 0
fi

random_secret() { od -An -tx1 -N18 /dev/urandom | tr -d ' \n'; }
free_port() { # bound by the kernel, released at once: a small race that the start retries cover
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

SUPERUSER=pgk_test_admin
SUPERUSER_PASSWORD="$(random_secret)"
ROLE=pgk_test_app
ROLE_PASSWORD="$(random_secret)"

# The run directory may be private (mktemp -d is 0700); the cluster's user only needs to pass through.
chmod 0711 "$RUN_DIR"
mkdir -m 0700 "$PG_DIR" "$PG_DIR/socket"
[[ -z "$RUN_AS" ]] || chown -R "$RUN_AS:" "$PG_DIR"
cd "$PG_DIR" # the cluster's user may not be able to read the caller's working directory

PWFILE="$PG_DIR/superuser-password"
(umask 077 && printf '%s\n' "$SUPERUSER_PASSWORD" >"$PWFILE")
[[ -z "$RUN_AS" ]] || chown "$RUN_AS:" "$PWFILE"
LOCALE=(--no-locale)
if locale -a 2>/dev/null | grep -qix 'c.utf-\?8'; then LOCALE=(--locale=C.UTF-8); fi
if ! as_owner "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --pwfile="$PWFILE" -A scram-sha-256 -E UTF8 "${LOCALE[@]}" --no-sync --no-instructions >"$PG_DIR/initdb.log" 2>&1; then
  cat "$PG_DIR/initdb.log" >&2
  echo "initdb of the test cluster failed (output above)" >&2
  exit 1
fi
rm -f "$PWFILE"
# A user pg_hba.conf turns away before any password is asked (the first line that matches wins).
TURNED_AWAY=pgk_test_turned_away
as_owner sed -i "1i host all $TURNED_AWAY all reject" "$DATA/pg_hba.conf"

# Settings for a throwaway cluster: durability off (a crash test still exercises crash recovery,
# fsync only makes it survive the machine's own crash), logs in one file the tests can show.
cat >>"$DATA/postgresql.conf" <<EOF

# pgkeeper test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR/socket'
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = '1GB'
max_connections = 100
include = 'port.conf'
EOF

PORT=""
for _ in 1 2 3 4 5; do
  candidate="$(free_port)"
  echo "port = $candidate" >"$DATA/port.conf"
  [[ -z "$RUN_AS" ]] || chown "$RUN_AS:" "$DATA/port.conf"
  if as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null; then PORT="$candidate"; break; fi
done
if [[ -z "$PORT" ]]; then
  tail -n 20 "$LOG" >&2 || true
  echo "the test cluster did not start (log above: $LOG)" >&2
  exit 1
fi

PGPASSWORD="$SUPERUSER_PASSWORD" "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres \
  -c "create role $ROLE login password '$ROLE_PASSWORD'"

# Everything a test process needs: where the server is, who to be, and how to restart or kill it.
{
  for pair in \
    "DB_HOST=127.0.0.1" "DB_PORT=$PORT" "DB_USER=$SUPERUSER" "DB_PASSWORD=$SUPERUSER_PASSWORD" \
    "PGHOST=127.0.0.1" "PGPORT=$PORT" "PGUSER=$SUPERUSER" "PGPASSWORD=$SUPERUSER_PASSWORD" "PGDATABASE=postgres" \
    "PGKEEPER_TEST_ROLE=$ROLE" "PGKEEPER_TEST_ROLE_PASSWORD=$ROLE_PASSWORD" "PGKEEPER_TEST_TURNED_AWAY=$TURNED_AWAY" \
    "PGKEEPER_TEST_PGDATA=$DATA" "PGKEEPER_TEST_PG_LOG=$LOG" "PGKEEPER_TEST_PG_BIN=$BIN" "PGKEEPER_TEST_PG_RUN_AS=$RUN_AS"; do
    printf 'export %s=%q\n' "${pair%%=*}" "${pair#*=}"
  done
} >"$RUN_DIR/env"
chmod 0600 "$RUN_DIR/env"
