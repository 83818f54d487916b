#!/usr/bin/env bash
# Prints the path of a Temporal CLI, installing the pinned version when none is found.
# Order: $TEMPORAL_CLI, the per-user cache, `temporal` on PATH, then `go install` into the cache.
# Nothing is downloaded at run time except Go modules from the module proxy.
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1 # later tags carry a replace directive and cannot be go-installed
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/pgkeeper/temporal-${TEMPORAL_CLI_VERSION}"
CACHED="$CACHE_DIR/temporal"

if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  if [[ -x "$TEMPORAL_CLI" ]]; then echo "$TEMPORAL_CLI"; exit 0; fi
  echo "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file; unset it or point it at the temporal binary" >&2
  exit 1
fi
if [[ -x "$CACHED" ]]; then echo "$CACHED"; exit 0; fi
if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "Temporal CLI not found and Go is not installed: install Go (https://go.dev/dl) or the Temporal CLI (https://docs.temporal.io/cli), or set TEMPORAL_CLI to its path" >&2
  exit 1
fi
echo "installing Temporal CLI ${TEMPORAL_CLI_VERSION} into $CACHE_DIR (go install, a few minutes the first time)..." >&2
mkdir -p "$CACHE_DIR"
# Build into a temporary dir and move into place, so an interrupted build never leaves a broken binary.
BUILD_DIR="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
trap 'rm -rf "$BUILD_DIR"' EXIT
GOBIN="$BUILD_DIR" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}" >&2
mv "$BUILD_DIR/temporal" "$CACHED"
echo "$CACHED"
