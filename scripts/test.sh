#!/usr/bin/env bash
# `npm test`: install what is missing, type-check, then run every test against the real
# PostgreSQL, the real pg tools and a real Temporal dev server (each test file starts its own).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/ensure-deps.sh
npx tsc -p tsconfig.json
# Files run one at a time: each starts a dev server and PostgreSQL work; two cores are shared.
if [[ $# -eq 0 ]]; then set -- test/*.test.ts; fi
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@"
