#!/usr/bin/env bash
# `npm run check:docker`: what can be checked of the Docker setup without a Docker engine.
#  1. every compose file and profile parses and resolves (docker compose / docker-compose config);
#  2. the Dockerfile's two stages, replayed in temporary directories with this machine's Node:
#     the build stage (npm ci, npm run build) and the run stage (npm ci --omit=dev, dist/ and bin/
#     only), then the image's commands run from it: the CLI and the worker's configuration check.
# Not exercised: the base images, apt-get inside them, and the containers talking to each other.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pgkeeper-docker-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say() { echo "[check:docker] $*"; }

# Without docker compose, docker-compose (Debian's package) is installed, or the command to install
# it named: a check that passed without reading the compose files would be no check of them.
compose=(docker-compose)
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else "$ROOT/scripts/ensure-tools.sh" docker-compose; fi
(cd "$ROOT" && "${compose[@]}" -f docker-compose.yml config -q && "${compose[@]}" -f docker-compose.yml --profile s3 config -q)
touch "$WORK/pgkeeper.env" && cp "$ROOT/docker-compose.production.yml" "$WORK/" && (cd "$WORK" && "${compose[@]}" -f docker-compose.production.yml config -q)
say "compose files parse: docker-compose.yml (default and --profile s3), docker-compose.production.yml (${compose[*]})"

say "build stage: npm ci, npm run build"
mkdir "$WORK/build"
(cd "$ROOT" && cp -r package.json package-lock.json tsconfig.json tsconfig.build.json common activities workflows worker client scripts "$WORK/build/")
(cd "$WORK/build" && npm ci --no-audit --no-fund --silent && npm run --silent build >/dev/null)

say "run stage: npm ci --omit=dev, dist/ and bin/ only"
mkdir "$WORK/app"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$WORK/app/"
(cd "$WORK/app" && npm ci --omit=dev --no-audit --no-fund --silent)
cp -r "$WORK/build/dist" "$ROOT/bin" "$WORK/app/"
for dev in tsx pino-pretty typescript eslint; do
  if [[ -d "$WORK/app/node_modules/$dev" ]]; then echo "the image would carry the development dependency $dev" >&2; exit 1; fi
done
(cd "$WORK/app" && bin/pgkeeper --help >/dev/null)
# The image's own ENV lines, as the container has them, beneath each compose file's settings.
image_env=()
while read -r assignment; do image_env+=("$assignment"); done < <(sed -n '/^ENV /,/[^\\]$/p' "$ROOT/Dockerfile" | sed -e 's/^ENV //' -e 's/\\$//' | tr ' ' '\n' | grep '=' | sed 's/\${PG_MAJOR}/15/')
# SCRATCH_DIR moved under $WORK: nothing is made on this machine outside it.
out="$(cd "$WORK/app" && env "${image_env[@]}" SCRATCH_DIR="$WORK/scratch" BACKUP_STORE=ftp://nowhere bin/pgkeeper-worker 2>&1 || true)"
[[ "$out" == *'unsupported store "ftp://"'* ]] || { echo "the image's worker did not check its configuration: $out" >&2; exit 1; }
# docker-compose.production.yml: BACKUP_STORE from pgkeeper.env, a copy on /backups. The image must
# not also set BACKUP_DIR (refused: "not both") nor put the copy on the primary.
out="$(cd "$WORK/app" && env "${image_env[@]}" SCRATCH_DIR="$WORK/scratch" BACKUP_STORE=s3://bucket/pg BACKUP_COPIES=file:///backups \
  AWS_ENDPOINT_URL_S3=http://127.0.0.1:1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 TEMPORAL_ADDRESS=127.0.0.1:1 timeout 60 bin/pgkeeper-worker 2>&1 || true)"
[[ "$out" != *'invalid configuration'* ]] || { echo "the production compose file's settings are refused in the image: $out" >&2; exit 1; }
say "the image's CLI runs compiled (bin/pgkeeper --help) and its worker validates its configuration; no tsx, pino-pretty, TypeScript or eslint in it"
