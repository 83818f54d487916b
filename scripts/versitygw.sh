#!/usr/bin/env bash
# Prints the path of versitygw (the S3-compatible test server), installing it when missing.
# v1.8.0: its go.mod has no replace directive, so `go install …@version` works.
exec "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh" versitygw github.com/versity/versitygw/cmd/versitygw v1.8.0 VERSITYGW "versitygw"
