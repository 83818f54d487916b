#!/usr/bin/env bash
# go-tool.sh <binary> <go package> <version> <env variable> <what to say it is>
# Prints the path of a pinned Go tool, installing it when none is found. Order: $<env variable>,
# the per-user cache (~/.cache/pgkeeper/<binary>-<version>/), <binary> on PATH, then `go install`
# into that cache. Nothing is downloaded at run time except Go modules from the module proxy.
set -euo pipefail
BINARY="$1" PACKAGE="$2" VERSION="$3" VARIABLE="$4" WHAT="$5"

CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/pgkeeper/${BINARY}-${VERSION}"
CACHED="$CACHE_DIR/$BINARY"
OVERRIDE="${!VARIABLE:-}"

if [[ -n "$OVERRIDE" ]]; then
  if [[ -x "$OVERRIDE" ]]; then echo "$OVERRIDE"; exit 0; fi
  echo "$VARIABLE=$OVERRIDE is not an executable file; unset it or point it at the $BINARY binary" >&2
  exit 1
fi
if [[ -x "$CACHED" ]]; then echo "$CACHED"; exit 0; fi
if command -v "$BINARY" >/dev/null 2>&1; then command -v "$BINARY"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "$WHAT not found and Go is not installed: install Go (https://go.dev/dl) and rerun, or set $VARIABLE to a $BINARY $VERSION binary" >&2
  exit 1
fi
mkdir -p "$CACHE_DIR"
# One build at a time: a second caller (another checkout's tests, say) waits for it and uses its binary.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.lock"
  flock -n 9 || { echo "waiting for another install of $WHAT $VERSION into $CACHE_DIR..." >&2; flock 9; }
  if [[ -x "$CACHED" ]]; then echo "$CACHED"; exit 0; fi
fi
echo "installing $WHAT $VERSION into $CACHE_DIR (go install, a few minutes the first time)..." >&2
# Build into a temporary dir and move into place, so an interrupted build never leaves a broken binary.
BUILD_DIR="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
trap 'rm -rf "$BUILD_DIR"' EXIT
GOBIN="$BUILD_DIR" GOFLAGS=-mod=mod go install "${PACKAGE}@${VERSION}" >&2
mv "$BUILD_DIR/$BINARY" "$CACHED"
echo "$CACHED"
