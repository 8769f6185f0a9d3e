#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A HERALD flood must not cost an honest client its dump. A kernel does not
# send its first data the moment its HERALD is acked: it is a round trip
# away and prepares the dump first (a minidump walks the page tables).
# Here the honest client waits 150 ms after the ack, with the kernel's
# timing (1 s rounds, 10 retries), while 2000 addresses send 6000 HERALDs a
# second: few enough that the server keeps up (the honest HERALD is not
# lost in a full socket buffer but answered at once), more than 256 in
# 150 ms. Its session must still be there when its data comes: a HERALD
# flood may delay a client's HERALD, but once answered, its dump must go
# through.
set -euo pipefail
NET=167
. "$(dirname "$0")/lib-faults.sh"

start_server --timeout 10

# Without a flood the slow starter is served (the test's own control).
A=$(client_addr 1)
python3 "$FAULTS/ndfault.py" dump "$PORT" "$A" "$T/sent0" --size 1048576 \
    --seed 471 --think 150 --timeout 1.0 --retries 10 ||
	fail "without a flood the slow starter failed"
wait_manifest "$(client_dir "$A")" 0
assert_manifest "$(client_dir "$A")/manifest.0.json" complete "$T/sent0"
pass "no flood: a client that sends its data 150 ms after the HERALD's ack is served"

python3 "$FAULTS/ndfault.py" herald-flood "$PORT" "$NET" 6 2000 --rate 6000 \
    >"$T/flood.json" &
FPID=$!
sleep 1
B=$(client_addr 2)
rc=0
timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" dump "$PORT" "$B" \
    "$T/sent1" --size 1048576 --seed 472 --think 150 --timeout 1.0 \
    --retries 10 >"$T/evict.log" 2>&1 || rc=$?
flood_done "$FPID" "$T/flood.json"
if [ "$rc" != 0 ]; then
	cat "$T/evict.log" >&2
	started=$(grep -cE "dump [0-9]+ from ${B//./\\.}:20024 started" "$SERVER_LOG" || true)
	ended=$(grep -cE "dump [0-9]+ from ${B//./\\.} (complete|incomplete)|client ${B//./\\.}: no data" "$SERVER_LOG" || true)
	fail "during a HERALD flood the honest client's HERALD was answered ($started session(s) started) but its data never was ($ended ended): the session waiting for data was evicted as the oldest of 256 (receiver.c evict_heralded) within 150 ms, and a kernel never HERALDs again: its dump is lost"
fi
wait_manifest "$(client_dir "$B")" 0
assert_manifest "$(client_dir "$B")/manifest.0.json" complete "$T/sent1"
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sent1"
pass "during a HERALD flood ($(cat "$T/flood.json")) a client that sends its data 150 ms after the ack is served"

stop_server
pass "server exited 0 on SIGTERM"
finish
