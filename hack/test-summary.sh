#!/usr/bin/env bash
# test-summary.sh LOG prints, after a failed `go test ./...`, what failed and
# why, taken from the whole log: each `--- FAIL` with the lines the test
# logged under it, and each timeout panic with the tests it found running.
# CI shows only the end of a run's output, and a timed-out package ends
# with thousands of lines of goroutine dump that push the cause out of view.
set -euo pipefail
log=${1:?usage: test-summary.sh LOG (the output of go test)}
echo
echo "================ test summary: what failed (from $log) ================"
awk '
	# A --- FAIL line and the indented lines the test logged after it.
	/^[[:space:]]*--- FAIL/ { print; infail = 1; n = 0; next }
	infail && /^[[:space:]]/ { if (n++ < 40) print; else if (n == 41) print "        … (cut)"; next }
	{ infail = 0 }
	# A timeout panic: the panic line and the "running tests:" list after it.
	/^panic: test timed out/ { print; inpanic = 1; next }
	inpanic && /^[[:space:]]/ { print; next }
	inpanic { inpanic = 0 }
	/^panic:/ { print }
	/^FAIL[[:space:]]/ { print }
' "$log" | head -n 400
echo "================ end of test summary ================"
