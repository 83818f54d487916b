#!/usr/bin/env bash
# Prints the directory of the PostgreSQL server programs (initdb, pg_ctl, postgres) that the test
# suite builds its own cluster with. Looks at PG_BIN_DIR, `pg_config --bindir`, the newest
# /usr/lib/postgresql/<major>/bin (Debian, Ubuntu) or /usr/pgsql-<major>/bin (RHEL), then PATH.
# PG_BIN_DIR may legitimately hold only the client tools (the Docker image's does), so a directory
# without the server programs is passed over rather than refused.
set -euo pipefail

has_server() { [[ -n "$1" && -x "$1/initdb" && -x "$1/pg_ctl" && -x "$1/postgres" ]]; }

newest() { # the given directories, newest major version first
  printf '%s\n' "$@" | sort -V -r
}

candidates=("${PG_BIN_DIR:-}")
if command -v pg_config >/dev/null 2>&1; then candidates+=("$(pg_config --bindir 2>/dev/null || true)"); fi
shopt -s nullglob
for dir in $(newest /usr/lib/postgresql/*/bin /usr/pgsql-*/bin); do candidates+=("$dir"); done
shopt -u nullglob
# On PATH, initdb is often a symlink (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb):
# the real directory is the one that also holds postgres.
if command -v initdb >/dev/null 2>&1; then candidates+=("$(dirname "$(readlink -f "$(command -v initdb)")")"); fi

for dir in "${candidates[@]}"; do
  if has_server "$dir"; then echo "$dir"; exit 0; fi
done
echo "PostgreSQL server programs (initdb, pg_ctl, postgres) not found; the tests run their own cluster with them: install them (Debian/Ubuntu: apt-get install postgresql; RHEL/Fedora: dnf install postgresql-server; macOS: brew install postgresql) or set PG_BIN_DIR to their directory" >&2
exit 1
