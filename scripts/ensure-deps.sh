#!/usr/bin/env bash
# Installs what a fresh clone is missing: npm packages (from package-lock.json), the Temporal CLI,
# the S3 test server (versitygw) and a running PostgreSQL. Exports TEMPORAL_CLI and VERSITYGW for
# the caller (source this file).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
  echo "installing npm packages..." >&2
  (cd "$ROOT" && npm ci --no-audit --no-fund >&2)
fi
TEMPORAL_CLI="$("$ROOT/scripts/temporal-cli.sh")"
export TEMPORAL_CLI
VERSITYGW="$("$ROOT/scripts/versitygw.sh")"
export VERSITYGW
"$ROOT/scripts/ensure-postgres.sh"
