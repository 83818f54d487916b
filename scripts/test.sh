#!/usr/bin/env bash
# `npm test [-- test/x.test.ts ...]`: install what is missing, type-check, lint, then run the tests
# against a PostgreSQL cluster of their own (scripts/test-cluster.sh), the real pg tools and a real
# Temporal dev server (each test file starts its own). The machine's PostgreSQL is never used.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NEED_S3=1 source scripts/ensure-deps.sh
scripts/pg-server-bin.sh >/dev/null # no server programs: say how to install them before a long type-check
scripts/ensure-tools.sh zstd age age-keygen # the stream's filters, run for real by the tests
npx tsc -p tsconfig.json
npm run --silent lint
npm run --silent build # the workflow bundle the workers load, and the compiled CLI

# One directory for the whole run: the cluster, and TMPDIR for the test processes, so whatever a
# test leaves behind (even one killed half-way) goes when the run ends, on every exit path.
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pgkeeper-test-run.XXXXXX")"
cleanup() {
  "$ROOT/scripts/test-cluster.sh" stop "$RUN_DIR" || true
  # A test killed while it had a filesystem mounted (fault-disk-full) must not make rm fail.
  while read -r mounted; do umount "$mounted" 2>/dev/null || true; done < <(awk -v d="$RUN_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts 2>/dev/null)
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/test-cluster.sh start "$RUN_DIR"
# Nothing of the caller's connection settings may point the tests elsewhere.
unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGPASSFILE PGOPTIONS PGSSLMODE
source "$RUN_DIR/env"
mkdir -m 0700 "$RUN_DIR/tmp"
export TMPDIR="$RUN_DIR/tmp"

# Files run one at a time: each starts a dev server and PostgreSQL work; two cores are shared.
if [[ $# -eq 0 ]]; then set -- test/*.test.ts; fi
node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@"
