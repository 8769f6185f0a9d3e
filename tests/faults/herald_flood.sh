#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A flood of HERALDs from 6000 source addresses (127.NET.b.c:20024, never
# any data), as fast as python can send them. The server keeps at most
# 4096 sessions waiting for data (admission.h MAX_HERALDED; the oldest are
# dropped and the drop is logged as a flood), so its open files and memory
# stay bounded; an honest client still gets its dump through; with
# --concurrent 2 and two honest dumps running, a third honest client is
# not answered, flood or not.
set -euo pipefail
NET=163
. "$(dirname "$0")/lib-faults.sh"

start_server --timeout 10 --concurrent 2

# Sample the server's open files and peak RSS every 100 ms.
sampler() {
	while [ ! -e "$T/stop-sampler" ]; do
		fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
		echo "$fds ${hwm:-0}" >>"$T/samples"
		sleep 0.1
	done
}
sampler &
SAMPLER=$!
max_fds() { sort -n -k1 "$T/samples" | tail -1 | cut -d' ' -f1; }
max_hwm() { sort -n -k2 "$T/samples" | tail -1 | cut -d' ' -f2; }

flood() {	# SECONDS OUT
	python3 "$FAULTS/ndfault.py" herald-flood "$PORT" "$NET" "$1" 6000 >"$2"
}
# The waiting sessions' sockets, and a few of the server's own.
FDS_MAX=$((4096 + 150))

# ---- 1. The flood, and an honest client in the middle of it.
flood 5 "$T/flood1.json" &
FPID=$!
sleep 1
A=$(client_addr 1)
START=$(date +%s%N)
send_dump 0 "$A" -q -g 8M -s 431 -o "$T/sent1"
TOOK=$((($(date +%s%N) - START) / 1000000))
flood_done "$FPID" "$T/flood1.json"
F1=$(cat "$T/flood1.json")
wait_manifest "$(client_dir "$A")" 0
assert_manifest "$(client_dir "$A")/manifest.0.json" complete "$T/sent1"
assert_same_bytes "$(client_dir "$A")/vmcore.0" "$T/sent1"
pass "an honest 8 MiB dump during the flood is complete and byte-identical ($TOOK ms; flood: $F1)"

assert_gt "$(echo "$F1" | jq .acks)" 0 "HERALDs of the flood answered"
wait_log "dropped [0-9]+ sessions that sent a HERALD but no data \(more than 4096 waiting: a flood of HERALDs\?\)" 10
pass "the server logs the dropped sessions as a flood ($(grep -c 'a flood of HERALDs' "$SERVER_LOG") lines)"

kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died in the flood"
fds=$(max_fds)
[ "$fds" -lt "$FDS_MAX" ] || fail "the server had $fds files open during the flood (bound: 4096 waiting sessions + a few)"
pass "open files during the flood: at most $fds (< $FDS_MAX)"
hwm=$(max_hwm)
# Not from WAIT_SCALE: lib.sh's "ldd | grep -q" under pipefail misses a
# sanitizer now and then (ldd gets SIGPIPE), and a static runtime (clang)
# never shows in ldd.
if ! grep -qa -e __asan_init -e __tsan_init -e __msan_init "$ND_SERVER" &&
    [ "${ND_VALGRIND:-0}" != 1 ]; then
	[ "$hwm" -lt $((64 * 1024)) ] || fail "peak RSS $hwm kB during the flood (bound 64 MiB)"
	pass "peak RSS during the flood and an 8 MiB dump: $hwm kB (< 64 MiB)"
else
	echo "note: peak RSS $hwm kB under a sanitizer or valgrind (not bounded here: the allocator's quarantine)"
fi

# ---- 2. The concurrency limit holds during a flood.
B=$(client_addr 2)
C=$(client_addr 3)
E=$(client_addr 4)
# Two slow honest dumps: 20 % loss with 100 ms rounds.
send_bg "$B" -q -g 64M -s 432 -t 100 -r 40 --loss 0.2 -o "$T/sent2"
BPID=$BG_PID
send_bg "$C" -q -g 64M -s 433 -t 100 -r 40 --loss 0.2 -o "$T/sent3"
CPID=$BG_PID
wait_file "$(client_dir "$B")/vmcore.0.incomplete" 20
wait_file "$(client_dir "$C")/vmcore.0.incomplete" 20
flood 4 "$T/flood2.json" &
FPID=$!
sleep 0.5
send_dump 1 "$E" -q -g 1M -s 434 -t 100 -r 10
grep -q "failed to contact" "$SEND_LOG" || fail "the third client was not refused at its HERALD: $(cat "$SEND_LOG")"
if ! kill -0 "$BPID" 2>/dev/null || ! kill -0 "$CPID" 2>/dev/null; then
	fail "a slow honest client ended before the third one was refused"
fi
flood_done "$FPID" "$T/flood2.json"
wait_log "refused [0-9]+ HERALDs: 2 dumps are running \(max_concurrent_dumps\)" 10
assert_no_log "dump [0-9]+ from ${E//./\\.}:" "a dump for the third client"
[ ! -e "$(client_dir "$E")" ] || fail "the third client has files"
fds=$(max_fds)
[ "$fds" -lt "$FDS_MAX" ] || fail "the server had $fds files open during the second flood"
pass "--concurrent 2, two dumps running, a flood: the third honest client is not answered; open files at most $fds"

# The slow clients die; their dumps time out and are kept, incomplete.
kill -TERM "$BPID" "$CPID" 2>/dev/null || true
wait "$BPID" 2>/dev/null || true
wait "$CPID" 2>/dev/null || true
for i in 2 3; do
	a=$(client_addr $i)
	d=$(client_dir "$a")
	wait_manifest "$d" 0 40
	assert_manifest "$d/manifest.0.json" incomplete
	python3 "$ND_LIBDIR/gapcheck.py" "$d/vmcore.0.incomplete" "$T/sent$i" \
	    "$d/manifest.0.json" >/dev/null || fail "$a: stored bytes differ from those sent"
done
# Now there is room: the third client gets through.
send_dump 0 "$E" -q -g 1M -s 435 -o "$T/sent4"
wait_manifest "$(client_dir "$E")" 0
assert_manifest "$(client_dir "$E")/manifest.0.json" complete "$T/sent4"
assert_same_bytes "$(client_dir "$E")/vmcore.0" "$T/sent4"
pass "once the two slow dumps timed out (kept, incomplete), the third client is served"

# Junk at the ports of sessions with no dump: a HERALD from each of 200
# addresses, then a runt, a message longer than its header says and one of
# an unknown type to its session. Counted for all such sessions together,
# not a line per session (they come and go as fast as HERALDs can).
timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" heralds "$PORT" \
    200 200 --gap 0.002 --junk >"$T/junk.json" ||
	fail "ndfault.py heralds --junk exited non-zero"
assert_eq "$(jq .junk "$T/junk.json")" 600 "junk datagrams sent"
runts() {
	grep -oE "sessions without a dump: dropped [0-9]+ runt datagrams" \
	    "$SERVER_LOG" | awk '{ n += $6 } END { print n + 0 }'
}
# A line at most every 10 s (TALLY_EVERY).
# Counted anew at every try of poll.
all_runts() { [ "$(runts)" -ge 200 ]; }
poll 30 all_runts || true
assert_eq "$(runts)" 200 "runts counted for sessions without a dump"
assert_no_log "127\.200\.[0-9]+\.[0-9]+: dropped" "a drop line naming one junk sender's session"
lines=$(_log_count "sessions without a dump: dropped")
assert_le "$lines" 12 "drop lines for 600 junk datagrams"
pass "600 junk datagrams at 200 sessions without a dump: counted together ($lines lines), none named per session"

touch "$T/stop-sampler"
wait "$SAMPLER" || true
echo "note: the flood made the server log $(wc -l <"$SERVER_LOG") lines ($(du -k "$SERVER_LOG" | cut -f1) kB)"
stop_server
pass "server exited 0 on SIGTERM"
finish
