#!/usr/bin/env bash
# no-leftovers.sh fails when a process started from the test binary cache is
# still running after the tests: every fixture must stop what it started.
# It stops the stragglers it finds, so one leak does not poison the next run.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && ./testbin.sh --print-dir)
left=()
for exe in /proc/[0-9]*/exe; do
	target=$(readlink "$exe" 2>/dev/null) || continue
	if [[ "$target" == "$dir/"* ]]; then
		pid=${exe#/proc/}
		left+=("${pid%/exe} $target")
	fi
done
if ((${#left[@]} > 0)); then
	echo "no-leftovers: processes from $dir still running after the tests (a fixture did not clean up):" >&2
	printf '  %s\n' "${left[@]}" >&2
	for entry in "${left[@]}"; do kill -9 "${entry%% *}" 2>/dev/null || true; done
	exit 1
fi
echo "no-leftovers: no test processes left running"
