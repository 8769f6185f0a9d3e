#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Progress lines ("N MiB received so far") say what came: with
# progress_interval = 1, a dump that is arriving gets one, and a client
# that then only resends a packet acked already (a kernel whose ack was
# lost does that; anyone at its address can do it for ever) adds none
# while it repeats itself. They once came every interval for as long as
# any message came: one per 30 s for ever, from one datagram a minute.
set -euo pipefail
NET=157
. "$(dirname "$0")/../integration/lib.sh"
FAULTS=$(cd "$(dirname "$0")" && pwd)

file_sink_conf
sed -i 's/^\[server\]$/[server]\nprogress_interval = 1/' "$T/server.ini"
start_server -c "$T/server.ini"

# 64 KiB, then the first packet again every 0.25 s for 6 s, then the
# rest (64 KiB more).
A=$(client_addr 1)
D=$(client_dir "$A")
timeout $((120 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" dump "$PORT" "$A" \
    "$T/sent.1" --size $((128 << 10)) --seed 157 --repeat 6 >"$T/nd.1.log" 2>&1 ||
	{ cat "$T/nd.1.log" >&2; fail "the dump was not acked to the end"; }
grep -q "repeated the first packet" "$T/nd.1.log" || fail "nothing was repeated: $(cat "$T/nd.1.log")"
wait_manifest "$D" 0
assert_manifest "$D/manifest.0.json" complete "$T/sent.1"
assert_same_bytes "$D/vmcore.0" "$T/sent.1"
n=$(_log_count "dump [0-9]+ from ${A//./\\.}: [0-9]+ MiB received so far")
# One for the first 64 KiB; perhaps one more for the rest, if a tick fell
# between its first bytes and its end (a few under a sanitizer, slower).
# Six seconds of repeats made six.
assert_ge "$n" 1 "progress lines of the dump"
assert_le "$n" $((WAIT_SCALE + 1)) "progress lines of the dump (6 s of copies of one packet)"
pass "progress lines every second: $n for a dump that then repeated one packet for 6 s; complete, byte-identical"

stop_server
pass "server exited 0 on SIGTERM"
finish
