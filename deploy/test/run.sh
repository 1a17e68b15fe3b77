#!/usr/bin/env bash
# Lints and renders deploy/chart, builds deploy/kustomize and checks the
# Dockerfile. A module of its own (the Helm SDK stays out of latch's go.mod).
set -euo pipefail
cd "$(dirname "$0")"
exec go test "$@" ./...
