#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A slow flood of HERALDs (80 a second from 2000 addresses, never any
# data) against a server with a short timeout (2 s) and the default grace
# (30 s), run with a limit of 1024 open files it cannot raise. The
# sessions that waited for data in vain must not pile up: open files stay
# bounded (the 160 or so that wait and a few) and an honest client still
# gets in.
set -euo pipefail
NET=168
. "$(dirname "$0")/lib-faults.sh"

ulimit -n 1024 2>/dev/null || echo "note: cannot set the limit of open files to 1024"
start_server --timeout 2

sampler() {
	while [ ! -e "$T/stop-sampler" ]; do
		find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l >>"$T/samples"
		sleep 0.2
	done
}
sampler &
SAMPLER=$!

python3 "$FAULTS/ndfault.py" herald-flood "$PORT" "$NET" 13 2000 --rate 80 \
    >"$T/flood.json" &
FPID=$!
sleep 11
A=$(client_addr 1)
rc=0
timeout $((60 * WAIT_SCALE)) "$ND_SEND" -q -b "$A" -g 1M -s 481 -o "$T/sent" \
    "127.0.0.1:$PORT" >"$T/send.log" 2>&1 || rc=$?
flood_done "$FPID" "$T/flood.json"
touch "$T/stop-sampler"
wait "$SAMPLER" || true
fds=$(sort -n "$T/samples" | tail -1)
emfile=$(grep -c "Too many open files" "$SERVER_LOG" || true)
ended=$(grep -oE "[0-9]+ clients sent a HERALD and then nothing" "$SERVER_LOG" |
    awk '{ n += $1 } END { print n + 0 }')
echo "note: flood $(cat "$T/flood.json"); at most $fds files open; $ended sessions timed out without data; $emfile 'Too many open files'"
[ "$rc" = 0 ] || fail "an honest client was not served during a slow HERALD flood (netdump-send: $(tail -1 "$T/send.log")); the server had $fds files open, $emfile times 'Too many open files': sessions that timed out without data stay open for 'grace' seconds (receiver.c session_end on S_HERALDED, then tick buries only after grace), outside the MAX_HERALDED cap"
[ "$fds" -lt 400 ] || fail "the server had $fds files open (bound: the 160 or so waiting sessions + a few): HERALD-only sessions that timed out linger for 'grace' (30 s) with their socket"
wait_manifest "$(client_dir "$A")" 0
assert_manifest "$(client_dir "$A")/manifest.0.json" complete "$T/sent"
pass "a slow HERALD flood: at most $fds files open, an honest client served"
stop_server
pass "server exited 0 on SIGTERM"
finish
