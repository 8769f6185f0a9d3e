#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A client whose host refuses the server's acks (ICMP port unreachable: a
# host that rebooted, a NAT mapping that went, an attacker who sends from
# a port that answers nothing) while its dump's sink stalls: the dump's
# buffers fill and its session stops reading, with an ICMP error pending
# on its socket. epoll reports an error whatever the events asked for,
# so the old receive thread, which left the error there while paused,
# spun at a whole core until the sink came back.
#
# The stall (12 s) is longer than the server's timeout (3 s): the silence
# is the sink's, not the client's, and the old server ended the dump as
# "the client fell silent" while its datagrams waited in the socket, then
# dropped them.
#
# Asserted: while the session is paused the receive thread uses almost
# no CPU; the dump, once the sink is back, keeps every byte sent (those
# that waited in the socket are read after the pause, though each read
# may first return the error of a refused ack) and ends incomplete by
# time-out, counted from the pause's end; an honest dump from another
# host afterwards is complete and byte-identical.
set -euo pipefail
NET=187
. "$(dirname "$0")/lib-faults.sh"

B=$(client_addr 1)
H=$(client_addr 2)
cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 3

[sink local]
module = file
fsync = no

[sink stall]
module = flaky
stall_ms = 12000

[route refused]
client = $B/32
sink = stall | local

[route default]
path = *
sink = local
INI
start_server -c "$T/server.ini"

# CPU ticks (1/100 s) of the receive thread: the process's main thread.
recv_ticks() {
	sed 's/.*) //' "/proc/$SERVER_PID/task/$SERVER_PID/stat" |
		awk '{ print $12 + $13 }'
}

# 1600 packets (2.3 MB) fill the dump's 2 MiB of buffers behind the stall.
timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" bounce "$PORT" "$B" \
    "$T/sent.bounce" 1600 --seed 1871 2>"$T/bounce.log" ||
	fail "ndfault.py bounce: $(cat "$T/bounce.log")"
# The stall lasts 12 s from the dump's first block; the client is done
# after about 6 s: 3 s of the pause, measured.
t0=$(recv_ticks)
sleep 3
t1=$(recv_ticks)
kill -0 "$SERVER_PID" || fail "the server died"
assert_lt $((t1 - t0)) 50 "receive thread CPU ticks (1/100 s) in 3 s of a paused session whose client refuses its acks"
pass "a paused session whose client's host refuses the acks: the receive thread used $((t1 - t0))/100 s of CPU in 3 s"

D=$(client_dir "$B")
wait_manifest "$D" 0 40
wait_dumps "$B" 1 40
assert_manifest "$D/manifest.0.json" incomplete
assert_match "$(jget "$D/manifest.0.json" .reason)" "timeout|silent" "reason of the refused client's dump"
assert_same_bytes "$D/vmcore.0.incomplete" "$T/sent.bounce"
pass "its dump, once the sink came back: every byte sent kept (the rest read after the pause, each read refused once), incomplete by time-out"

send_dump 0 "$H" -q -g 4M -s 1872 -o "$T/sent.honest"
HD=$(client_dir "$H")
wait_manifest "$HD" 0 30
assert_manifest "$HD/manifest.0.json" complete "$T/sent.honest"
assert_same_bytes "$HD/vmcore.0" "$T/sent.honest"
pass "an honest dump afterwards: complete, byte-identical"
stop_server
finish
