#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The server's threads: each dump's worker is named "nd-dump <id>" (top -H,
# perf and /proc tell it from the receive path, the process's main thread)
# and runs worker_nice levels below the receive path, 19 by default and
# capped at 19, so its hashing and writing never take a core from the acks;
# 0 keeps it equal. Linux keeps a nice value per thread (setpriority(2)).
set -euo pipefail
NET=147
. "$(dirname "$0")/lib.sh"

# The nice value of a thread: field 19 of /proc/PID/task/TID/stat, counted
# after the ")" that ends the name.
thread_nice() {	# PID TID
	sed 's/^.*) //' "/proc/$1/task/$2/stat" | cut -d' ' -f17
}

# The thread id of the server's worker for a dump, once there is one.
dump_thread() {	# PID
	local t

	for t in /proc/"$1"/task/*; do
		if [[ "$(cat "$t/comm" 2>/dev/null)" == "nd-dump "* ]]; then
			basename "$t"
			return 0
		fi
	done
	return 1
}

# Start a server with worker_nice set as given (empty: the default), hold
# a dump open (its client sends 1 MiB and falls silent) and check its
# worker's name and priority against the receive path's.
check_worker() {	# WORKER_NICE-OR-EMPTY EXPECTED-OFFSET SEED
	local conf=$T/server.$3.ini main tid mnice wnice want a

	printf '[server]\n' >"$conf"
	[ -z "$1" ] || printf 'worker_nice = %s\n' "$1" >>"$conf"
	start_server -c "$conf" --timeout 60
	a=$(client_addr "$3")
	send_dump 3 "$a" -q -g 4M -s "$3" --stop-after 1M
	poll 10 dump_thread "$SERVER_PID" >/dev/null ||
		fail "no thread named 'nd-dump <id>' in $SERVER_PID: $(cat /proc/"$SERVER_PID"/task/*/comm | tr '\n' ,)"
	tid=$(dump_thread "$SERVER_PID")
	assert_match "$(cat "/proc/$SERVER_PID/task/$tid/comm")" '^nd-dump [0-9]+$' "the worker's name"
	main=$SERVER_PID
	mnice=$(thread_nice "$SERVER_PID" "$main")
	wnice=$(thread_nice "$SERVER_PID" "$tid")
	want=$((mnice + $2))
	[ "$want" -le 19 ] || want=19
	assert_eq "$wnice" "$want" "the worker's nice (receive path at $mnice, worker_nice ${1:-default})"
	stop_server
	wait_dumps "$a" 1 10
	assert_manifest "$(client_dir "$a")/manifest.0.json" incomplete
	pass "worker_nice ${1:-unset}: the worker 'nd-dump' runs at nice $wnice, the receive path at $mnice; its dump is stored (incomplete) at shutdown"
}

# Run at nice 14 or more, the suite could not tell 19 from 5 or 0 apart.
if [ "$(nice)" -ge 14 ]; then
	echo "SKIP: the suite runs at nice $(nice); worker_nice cannot be told apart"
	exit 77
fi
check_worker "" 19 1
check_worker 5 5 2
check_worker 0 0 3

# A value out of range is refused with the range.
printf '[server]\nworker_nice = 20\n' >"$T/bad.ini"
if "$ND_SERVER" -c "$T/bad.ini" -d "$DUMPDIR" --check-config >"$T/bad.out" 2>&1; then
	fail "worker_nice = 20 was accepted"
fi
assert_grep "$T/bad.out" "worker_nice.*0 to 19" "the error names the range"
pass "worker_nice = 20 is refused: $(head -1 "$T/bad.out")"

finish
