#!/usr/bin/env bash
# Prints the path of the Temporal CLI (its dev server runs the tests and `npm run up`), installing it when missing.
# v1.5.1: later tags carry a replace directive and cannot be go-installed.
exec "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh" temporal github.com/temporalio/cli/cmd/temporal v1.5.1 TEMPORAL_CLI "Temporal CLI"
