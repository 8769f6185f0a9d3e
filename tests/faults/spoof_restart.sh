#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Spoofed restarts: while an honest client dumps 64 MiB, an attacker
# forges HERALDs from the client's own address and port 20024 (a raw
# socket writes the IP header, IP_HDRINCL) to the herald port. A kernel
# heralds from port 20024 (netdump_start in
# sys/netinet/netdump/netdump_client.c: dc_client_port = NETDUMP_ACKPORT),
# so that address and port are public. A live kernel resends what is not
# acked about once a second, and a restarted one sends its HERALD again
# for as long as debugnet_send (sys/net/debugnet.c) retries: 11 rounds
# about 1 s apart, then ETIMEDOUT. So a HERALD from the client's address
# and port proves nothing while the dump is alive; a restart is only
# believed once the dump has been silent for restart_silence seconds
# (default 10; a paused session counts as alive).
# tests/integration/reherald.sh covers a real restart after the silence.
#
# A probe first forges a HERALD from another address where a socket
# listens, and must be answered: forged HERALDs do reach the server as
# HERALDs from the address they claim. Asserted: the honest dump is
# complete and byte-identical; exactly one dump started from the client;
# the log says "a new HERALD while the dump is alive" (5 full lines in
# 10 s, then a counter line for the rest); no restart was logged.
# Then a FINISHED forged the same way, to the session's port mid-dump,
# ends nothing, and empty datagrams forged from a dead client's address
# do not keep its dump from timing out.
set -euo pipefail
NET=182
. "$(dirname "$0")/lib-faults.sh"

start_server --timeout 10
A=$(client_addr 1)
D=$(client_dir "$A")
PROBE=$(client_addr 3)
NSPOOF=8

# The honest client reads its 64 MiB from a pipe fed at 10 MiB/s, so the
# dump lasts about 6 s with no loss at all.
python3 - "$T/image" <<'PY'
import random, sys
rnd = random.Random(1821)
with open(sys.argv[1], "wb") as f:
    for i in range(1024):
        f.write(bytes(65536) if rnd.random() < 0.3 else rnd.randbytes(65536))
PY
throttle() {
	python3 - "$T/image" <<'PY'
import os, sys, time
rate = 10 << 20
start = time.monotonic()
done = 0
with open(sys.argv[1], "rb") as f:
    while True:
        b = f.read(65536)
        if not b:
            break
        os.write(1, b)
        done += len(b)
        d = start + done / rate - time.monotonic()
        if d > 0:
            time.sleep(d)
PY
}
throttle | timeout -k 5 $((120 * WAIT_SCALE)) "$ND_SEND" -b "$A" -q --loss 0 \
    -f - -o "$T/sent" "127.0.0.1:$PORT" >"$T/honest.log" 2>&1 &
HPID=$!

wait_log "dump [0-9]+ from ${A//./\\.}:20024 started" 20
sleep 0.5
timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" spoof-herald \
    "$PORT" "$A" "$NSPOOF" --interval 0.25 --probe "$PROBE" \
    >"$T/spoof.log" 2>&1 || { cat "$T/spoof.log" >&2; fail "ndfault.py spoof-herald failed"; }
cat "$T/spoof.log"
kill -0 "$HPID" 2>/dev/null ||
	fail "the honest dump ended before the last forged HERALD: make it last longer"
pass "$NSPOOF HERALDs forged from $A:20024 during the dump (a probe forged from $PROBE was answered)"

rc=0
wait "$HPID" || rc=$?
[ "$rc" = 0 ] || { cat "$T/honest.log" >&2; fail "netdump-send exited $rc"; }
assert_eq "$(size_of "$T/sent")" $((64 << 20)) "bytes the honest client sent"
wait_manifest "$D" 0 30
wait_dumps "$A" 1 30
assert_manifest "$D/manifest.0.json" complete "$T/sent"
assert_same_bytes "$D/vmcore.0" "$T/sent"
assert_no_file "$D/vmcore.1"
assert_no_file "$D/vmcore.1.incomplete"
assert_eq "$(grep -cE "dump [0-9]+ from ${A//./\\.}:20024 started" "$SERVER_LOG")" 1 \
    "dumps started from $A"
assert_no_log "from ${A//./\\.}: a new HERALD after" "a restart believed"
assert_no_log "${A//./\\.}.*started over" "the dump ended by a restart"
pass "the honest 64 MiB dump: complete, byte-identical, the only dump from $A"

re="dump [0-9]+ from ${A//./\\.}: a new HERALD while the dump is alive \\(last data [0-9]+ s ago, restart_silence = 10\\); not answering"
assert_eq "$(grep -cE "$re" "$SERVER_LOG")" 5 "full lines for the forged HERALDs (5 in 10 s)"
wait_log "[0-9]+ more HERALDs not answered: the client's dump is alive .* the last from ${A//./\\.}\\)" 20
n=$(grep -oE "[0-9]+ more HERALDs not answered: the client's dump is alive" "$SERVER_LOG" |
    awk '{ s += $1 } END { print s }')
assert_eq "$n" $((NSPOOF - 5)) "forged HERALDs in the counter line"
pass "logged: 5 lines 'a new HERALD while the dump is alive', then '$n more' in a counter line"

# A KDH and a FINISHED forged from the client's own address and port to
# its session's port (which anyone finds by trying them all) in the middle
# of the dump: a kernel's FINISHED is numbered next after all it sent, so
# one that is not ends nothing while data follows. The dump goes on to
# its end and every byte is kept; the real KDH differs from the forged
# one that came first, so the dump is labelled incomplete with the
# conflict, as any second sender makes it.
B=$(client_addr 4)
DB=$(client_dir "$B")
timeout $((120 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" dump "$PORT" "$B" \
    "$T/sentB" --size $((4 << 20)) --seed 183 --forge-finished \
    >"$T/nd.B.log" 2>&1 || { cat "$T/nd.B.log" >&2; fail "the dump after a forged FINISHED was not acked to the end"; }
grep -q "forged a KDH and a FINISHED to port" "$T/nd.B.log" || fail "no FINISHED was forged: $(cat "$T/nd.B.log")"
wait_manifest "$DB" 0 30
assert_eq "$(jget "$DB/manifest.0.json" .finished)" true "FINISHED of the dump with a forged one"
assert_match "$(jget "$DB/manifest.0.json" .reason)" "differed .* at KDH offset 0" "reason"
assert_same_bytes "$DB/vmcore.0.incomplete" "$T/sentB"
pass "a KDH and a FINISHED forged from $B:20024 to its session mid-dump: the dump went on to its end, every byte kept, the forged KDH a conflict"

# Empty datagrams forged from the address and port of a client that died
# (no KDH, no FINISHED), one a second to its session's port: no sign of
# life. The dump falls silent at timeout (10 s), while they still come.
C=$(client_addr 5)
timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" dump "$PORT" "$C" \
    "$T/sentC" --size $((1 << 20)) --seed 184 --no-kdh --no-finished \
    >"$T/nd.C.log" 2>&1 || { cat "$T/nd.C.log" >&2; fail "the dump that dies"; }
SP=$(grep -oE "dump [0-9]+ from ${C//./\\.}:20024 started: .* answering from port [0-9]+" "$SERVER_LOG" |
    grep -oE '[0-9]+$')
[ -n "$SP" ] || fail "no session port for $C in the log"
python3 - "$FAULTS" "$C" "$SP" <<'PY' &
import socket, sys, time
sys.path.insert(0, sys.argv[1])
import ndfault
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
for _ in range(20):
    raw.sendto(ndfault.forged(sys.argv[2], ndfault.CLIENT_PORT,
                              ndfault.SERVER, int(sys.argv[3]), b""),
               (ndfault.SERVER, 0))
    time.sleep(1)
PY
RUNTS=$!
wait_log "dump [0-9]+ from ${C//./\\.}: the client fell silent for 10 s" 16
kill -0 "$RUNTS" 2>/dev/null || fail "the forged runts ended before the time-out"
kill "$RUNTS" 2>/dev/null || true
wait "$RUNTS" 2>/dev/null || true
pass "a runt a second forged from a dead client's address: its dump fell silent at timeout all the same"

stop_server
pass "server exited 0 on SIGTERM"
finish
