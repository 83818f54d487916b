#!/usr/bin/env bash
# `npm run build`, after tsc: the CLI bundled, dist/cli/cli.js (what bin/pgkeeper runs) and the
# chunks its commands load when they run (so `--help` still loads next to nothing).
# Loading the CLI's modules one by one (the Temporal client and protobufjs, zod with its locales,
# commander, cli-progress) means resolving and reading ~600 files; bundled, `pgkeeper backup`
# reaches Temporal ~0.2 s sooner on 0.3 CPU-s less (measured on the bench machine), and the CLI
# sits in every round trip a user or a script makes. Workers do not run from the bundle
# (bin/pgkeeper hands `worker` to bin/pgkeeper-worker); dist/worker/ stays external here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf dist/cli
exec node_modules/.bin/esbuild dist/client/cli.js --bundle --splitting --platform=node --format=esm --target=node20 \
  --outdir=dist/cli --external:'../worker/*' --log-level=warning \
  --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
