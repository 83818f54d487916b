#!/usr/bin/env bash
# Installs what a fresh clone is missing: npm packages (from package-lock.json), the Temporal CLI
# and, when the caller sets NEED_S3=1, the S3 test server (versitygw: a few minutes to build the
# first time, so `npm run up` without --s3 does not wait for it). Exports TEMPORAL_CLI and VERSITYGW
# for the caller (source this file). PostgreSQL is the caller's business: `npm run up` and the
# benchmark use the user's server (ensure-postgres.sh), the tests their own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
  echo "installing npm packages..." >&2
  (cd "$ROOT" && npm ci --no-audit --no-fund >&2)
fi
TEMPORAL_CLI="$("$ROOT/scripts/temporal-cli.sh")"
export TEMPORAL_CLI
if [[ "${NEED_S3:-}" == 1 ]]; then
  VERSITYGW="$("$ROOT/scripts/versitygw.sh")"
  export VERSITYGW
fi
