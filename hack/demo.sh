#!/usr/bin/env bash
# demo.sh is the README's main command. The full story — a local kwok cluster
# and git remote, `latch run` latching a scale story into git — arrives with
# the controller (issue 5). Until then it shows what works today.
set -euo pipefail
cd "$(dirname "$0")/.."
cat <<'MSG'
latch demo: the controller (`latch run`) has not landed yet, so the full demo —
a local cluster, a local git remote, and latch writing round numbers back to
git as an HPA scales — is not available. What exists today:

  make test                 builds the real test binaries and runs the suite
  go run ./cmd/latch --help the CLI
MSG
if [[ -d internal/simulate ]]; then
	echo
	echo "Backtesting the default latch policy on a generated diurnal trace:"
	go run ./cmd/latch simulate --help >/dev/null 2>&1 && echo "  go run ./cmd/latch simulate --trace FILE"
fi
