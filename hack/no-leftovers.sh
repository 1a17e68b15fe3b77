#!/usr/bin/env bash
# no-leftovers.sh RUN_ID fails when a process started by the test run RUN_ID
# is still running: every fixture must stop what it started. `make test`
# exports LATCH_TEST_RUN=RUN_ID to the tests, and the processes they start
# inherit it, so only this run's processes are looked at — a demo or another
# test run on the same machine is left alone. Stragglers found are stopped,
# so one leak does not poison the next run.
set -euo pipefail
run=${1:?usage: no-leftovers.sh RUN_ID (the LATCH_TEST_RUN the tests ran with)}
left=()
for environ in /proc/[0-9]*/environ; do
	pid=${environ#/proc/}
	pid=${pid%/environ}
	[[ "$pid" == "$$" ]] && continue
	if { tr "\\0" "\\n" <"$environ"; } 2>/dev/null | grep -qx "LATCH_TEST_RUN=$run"; then
		left+=("$pid $(readlink "/proc/$pid/exe" 2>/dev/null || echo '?')")
	fi
done
if ((${#left[@]} > 0)); then
	echo "no-leftovers: processes of test run $run still running after the tests (a fixture did not clean up):" >&2
	printf '  %s\n' "${left[@]}" >&2
	for entry in "${left[@]}"; do kill -9 "${entry%% *}" 2>/dev/null || true; done
	exit 1
fi
echo "no-leftovers: no process of test run $run left running"
