#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A flood at a session's port while its dump runs: 10k random datagrams
# from other source ports and addresses (the client's own address at other
# ports, other addresses at 20024 and elsewhere), and before every packet
# of the client, the same packet well-formed (its seqno, its offset) with
# other bytes, plus FINISHED and a KDH of another host. Nothing of it is
# answered (the flooding sockets listen), the client never sees an ack it
# did not ask for, and its dump is complete and byte-identical.
set -euo pipefail
NET=164
. "$(dirname "$0")/../integration/lib.sh"
FAULTS=$(cd "$(dirname "$0")" && pwd)

start_server --timeout 10
A=$(client_addr 1)
D=$(client_dir "$A")
timeout $((120 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" session-flood \
    "$PORT" "$NET" "$T/sent" $((4 << 20)) --count 10000 >"$T/flood.log" ||
	{ cat "$T/flood.log"; fail "ndfault.py session-flood failed"; }
cat "$T/flood.log"
pass "$(tail -1 "$T/flood.log" | sed 's/^ndfault.py: //')"

wait_manifest "$D" 0
wait_dumps "$A" 1
M=$D/manifest.0.json
assert_manifest "$M" complete "$T/sent"
assert_same_bytes "$D/vmcore.0" "$T/sent"
assert_eq "$(jget "$M" .kdh.hostname)" ndfault "KDH hostname"
pass "the dump is complete and byte-identical; the KDH is the client's"

# Nothing from the flood reached the session (the socket is connected to
# the client's 20024): no drop of any kind was counted against it.
assert_no_log "${A//./\\.}: dropped" "drops counted for the flooded session"
for a in 2 3 9; do
	assert_no_log "dump [0-9]+ from 127\.0\.$NET\.$a" "a dump from flooding address .$a"
done
pass "the kernel filtered the flood: no drops counted for the session, no dump from a flooding address"

# The server still serves.
send_dump 0 "$(client_addr 4)" -q -g 1M -s 441 -o "$T/sent4"
wait_manifest "$(client_dir "$(client_addr 4)")" 0
assert_same_bytes "$(client_dir "$(client_addr 4)")/vmcore.0" "$T/sent4"
pass "a normal dump afterwards is complete"
stop_server
pass "server exited 0 on SIGTERM"
finish
