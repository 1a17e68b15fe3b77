#!/usr/bin/env bash
# demo.sh is the README's main command: it makes sure the real binaries are
# built (a cold build takes 30-45 min on 2 cores; then seconds), then runs the
# latch demo on a local control plane and a local git remote.
set -euo pipefail
cd "$(dirname "$0")/.."
TESTBIN_ONLY="etcd kube-apiserver kube-controller-manager kube-scheduler kwok" hack/testbin.sh
export LATCH_TESTBIN="$(hack/testbin.sh --print-dir)"
exec go run ./hack/demo "$@"
