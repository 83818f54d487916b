#!/usr/bin/env bash
# Prints the path of a versitygw binary (the S3-compatible test server), installing the pinned
# version when none is found. Order: $VERSITYGW, the per-user cache, `versitygw` on PATH, then
# `go install` into the cache. Nothing is downloaded at run time except Go modules from the module proxy.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0 # its go.mod has no replace directive, so `go install …@version` works
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/pgkeeper/versitygw-${VERSITYGW_VERSION}"
CACHED="$CACHE_DIR/versitygw"

if [[ -n "${VERSITYGW:-}" ]]; then
  if [[ -x "$VERSITYGW" ]]; then echo "$VERSITYGW"; exit 0; fi
  echo "VERSITYGW=$VERSITYGW is not an executable file; unset it or point it at the versitygw binary" >&2
  exit 1
fi
if [[ -x "$CACHED" ]]; then echo "$CACHED"; exit 0; fi
if command -v versitygw >/dev/null 2>&1; then command -v versitygw; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "versitygw not found and Go is not installed: install Go (https://go.dev/dl) and rerun, or set VERSITYGW to a versitygw ${VERSITYGW_VERSION} binary" >&2
  exit 1
fi
echo "installing versitygw ${VERSITYGW_VERSION} into $CACHE_DIR (go install, a few minutes the first time)..." >&2
mkdir -p "$CACHE_DIR"
# Build into a temporary dir and move into place, so an interrupted build never leaves a broken binary.
BUILD_DIR="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
trap 'rm -rf "$BUILD_DIR"' EXIT
GOBIN="$BUILD_DIR" GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}" >&2
mv "$BUILD_DIR/versitygw" "$CACHED"
echo "$CACHED"
