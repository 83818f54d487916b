#!/usr/bin/env bash
# `npm run up [-- <database>] [-- --s3]`: install what is missing, then start the Temporal dev server,
# a worker and a first backup (see scripts/up.ts). Ctrl-C stops everything it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NEED_S3=0
for arg in "$@"; do [[ "$arg" == --s3 ]] && NEED_S3=1; done
NEED_S3=$NEED_S3 source scripts/ensure-deps.sh
scripts/ensure-postgres.sh
scripts/ensure-tools.sh zstd # the default compression (age only when ENCRYPT_RECIPIENTS asks: the worker checks)
npm run --silent build # the worker runs compiled: ~50 MB less memory than under tsx
exec node --import tsx scripts/up.ts "$@"
