#!/usr/bin/env bash
# `npm run bench [-- --scale 0.63 --reps 3 --keep]`: see bench/run.ts (never part of `npm test`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NEED_S3=1 source scripts/ensure-deps.sh
scripts/ensure-postgres.sh
scripts/ensure-tools.sh zstd age age-keygen # bench measures encryption too
npm run --silent build # the benchmark measures the compiled worker, as deployed
exec node --import tsx bench/run.ts "$@"
