#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A lost FINISHED ack: the kernel resends FINISHED after the server has
# closed the dump. The closed session must still ack it (grace period), so
# the client ends with exit 0 and the dump is complete. Half of all acks
# are lost; the runs repeat with other seeds until a FINISHED was resent.
set -euo pipefail
NET=120
. "$(dirname "$0")/lib.sh"

start_server --timeout 20
A=$(client_addr 1)
D=$(client_dir "$A")

resent=0
for n in 0 1 2 3 4 5 6 7 8 9; do
	send_dump 0 "$A" -v -g 256k -s $((101 + n)) --ack-loss 0.5 \
	    --timeout-ms 30 --retries 100 -o "$T/sent$n"
	wait_manifest "$D" "$n"
	wait_dumps "$A" $((n + 1))
	assert_manifest "$D/manifest.$n.json" complete "$T/sent$n"
	assert_same_bytes "$D/vmcore.$n" "$T/sent$n"
	if grep -q "retransmit round [0-9]*: FINISHED" "$SEND_LOG"; then
		resent=$((resent + 1))
		pass "seed $((101 + n)): FINISHED was resent after the dump closed; client exit 0, dump $n complete"
		[ "$resent" -lt 2 ] || break
	fi
done
[ "$resent" -gt 0 ] || fail "10 runs with 50% ack loss never lost a FINISHED ack"
assert_no_log "incomplete" "no dump may be incomplete"

stop_server
pass "server exited 0 on SIGTERM"
finish
