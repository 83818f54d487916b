#!/usr/bin/env bash
# `npm run up [-- <database>]`: install what is missing, then start the Temporal dev server,
# a worker and a first backup (see scripts/up.ts). Ctrl-C stops everything it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/ensure-deps.sh
scripts/ensure-postgres.sh
npm run --silent build # the worker runs compiled: ~50 MB less memory than under tsx
exec node --import tsx scripts/up.ts "$@"
