#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A HERALD flood must not cost an honest client its dump. A kernel does not
# send its first data the moment its HERALD is acked: it is a round trip
# away and prepares the dump first (a minidump walks the page tables).
# Here the honest client waits 150 ms after the ack, with the kernel's
# timing (1 s rounds, 10 retries), while 2000 addresses send 6000 HERALDs a
# second: few enough that the server keeps up (the honest HERALD is not
# lost in a full socket buffer but answered at once). Its session must
# still be there when its data comes: a HERALD flood may delay a client's
# HERALD, but once answered, its dump must go through. Then the same with
# a flood larger than the room of waiting sessions (admission.h
# MAX_HERALDED), where the oldest are dropped all the time.
set -euo pipefail
NET=167
. "$(dirname "$0")/lib-faults.sh"

start_server --timeout 10

# kernel_timed ADDR N RETRIES LOG: 1 MiB from a client with a kernel's
# timing (HERALD again every second, RETRIES times; data 150 ms after
# the ack), sent as $T/sentN; its exit status.
kernel_timed() {
	timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" dump "$PORT" \
	    "$1" "$T/sent$2" --size 1048576 --seed $((471 + $2)) --think 150 \
	    --timeout 1.0 --retries "$3" >"$4" 2>&1
}
# stored_whole ADDR N: its dump is stored complete, equal to $T/sentN.
stored_whole() {
	wait_manifest "$(client_dir "$1")" 0
	assert_manifest "$(client_dir "$1")/manifest.0.json" complete "$T/sent$2"
	assert_same_bytes "$(client_dir "$1")/vmcore.0" "$T/sent$2"
}

# Without a flood the slow starter is served (the test's own control).
A=$(client_addr 1)
kernel_timed "$A" 0 10 "$T/control.log" ||
	fail "without a flood the slow starter failed: $(tail -1 "$T/control.log")"
stored_whole "$A" 0
pass "no flood: a client that sends its data 150 ms after the HERALD's ack is served"

python3 "$FAULTS/ndfault.py" herald-flood "$PORT" "$NET" 6 2000 --rate 6000 \
    >"$T/flood.json" &
FPID=$!
sleep 1
B=$(client_addr 2)
rc=0
kernel_timed "$B" 1 10 "$T/evict.log" || rc=$?
flood_done "$FPID" "$T/flood.json"
if [ "$rc" != 0 ]; then
	cat "$T/evict.log" >&2
	started=$(grep -cE "dump [0-9]+ from ${B//./\\.}:20024 started" "$SERVER_LOG" || true)
	ended=$(grep -cE "dump [0-9]+ from ${B//./\\.} (complete|incomplete)|client ${B//./\\.}: no data" "$SERVER_LOG" || true)
	fail "during a HERALD flood the honest client's HERALD was answered ($started session(s) started) but its data never was ($ended ended): the session waiting for data was evicted as the oldest waiting (admission.c heralded_room) within 150 ms, and a kernel never HERALDs again: its dump is lost"
fi
stored_whole "$B" 1
pass "during a HERALD flood ($(cat "$T/flood.json")) a client that sends its data 150 ms after the ack is served"

# A flood larger than the room (6000 addresses, 20000 HERALDs a second,
# for 14 s: longer than a kernel's 12 s of HERALD retries). Each place
# must come free as often at any moment: a room that filled in a burst
# and emptied in one HERALD_KEEP_MS later was open only part of each
# half second, and a kernel whose retries (1 s) beat with it never got in.
python3 "$FAULTS/ndfault.py" herald-flood "$PORT" "$NET" 14 6000 \
    --rate 20000 >"$T/flood2.json" &
FPID=$!
sleep 2
C=$(client_addr 3)
rc=0
kernel_timed "$C" 2 11 "$T/evict2.log" || rc=$?
flood_done "$FPID" "$T/flood2.json"
[ "$rc" = 0 ] || fail "during a flood larger than the room the honest client got no answer in a kernel's 11 retries: $(tail -1 "$T/evict2.log")"
stored_whole "$C" 2
assert_log "more than 4096 waiting: a flood of HERALDs" "the room was full"
pass "during a flood larger than the room ($(cat "$T/flood2.json")) a kernel-timed client is answered within its retries and served"

stop_server
pass "server exited 0 on SIGTERM"
finish
