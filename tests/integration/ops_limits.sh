#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# max_concurrent_dumps (--concurrent 2): two open dumps take both slots, a
# third client's HERALD is not answered (logged once a second as refused
# HERALDs), --status shows the two; once they time out a new dump runs.
set -euo pipefail
NET=130
. "$(dirname "$0")/lib.sh"

TO=$((4 + WAIT_SCALE))
start_server --concurrent 2 --timeout "$TO"
A=$(client_addr 1)
B=$(client_addr 2)
C=$(client_addr 3)

# Two clients herald, send 1 MiB and fall silent: their dumps stay open.
send_dump 3 "$A" -q -g 4M -s 301 --stop-after 1M
send_dump 3 "$B" -q -g 4M -s 302 --stop-after 1M
"$ND_SERVER" -d "$DUMPDIR" --port "$PORT" --status >"$T/status1" 2>&1 || fail "--status failed: $(cat "$T/status1")"
grep -q "dumps in flight: 2 (max 2)" "$T/status1" || fail "--status does not show 2 of 2 dumps in flight: $(cat "$T/status1")"
for a in "$A" "$B"; do
	grep -qF "$a:20024" "$T/status1" || fail "--status does not list $a: $(cat "$T/status1")"
done
pass "two silent clients hold both slots: --status says 'dumps in flight: 2 (max 2)' and lists them"

# The third gets no ack, and nothing of it is stored.
t0=$(date +%s)
send_dump 1 "$C" -q -g 1M -s 303 -t 100 -r 2
wait_log "refused [0-9]+ HERALDs: 2 dumps are running \(max_concurrent_dumps\)" 5
assert_no_log "dump [0-9]+ from ${C//./\\.}" "a third dump must not start"
assert_no_file "$(client_dir "$C")"
assert_eq "$(grep -cE "dump [0-9]+ from .* started" "$SERVER_LOG")" 2 "dumps started"
[ $(($(date +%s) - t0)) -lt "$TO" ] || fail "the third client was tried too late to prove anything"
"$ND_SERVER" -d "$DUMPDIR" --port "$PORT" --status >"$T/status2" 2>&1 || fail "--status failed: $(cat "$T/status2")"
grep -q "dumps in flight: 2 (max 2)" "$T/status2" || fail "--status: $(cat "$T/status2")"
pass "a third client gets no ack (exit 1), nothing stored; log: '$(grep -m1 -oE 'refused [0-9]+ HERALDs.*' "$SERVER_LOG")'"

# Once both time out, a slot is free again; the refused client is not
# held to its refusal.
wait_dumps "$A" 1 $((TO + 10))
wait_dumps "$B" 1 $((TO + 10))
assert_manifest "$(client_dir "$A")/manifest.0.json" incomplete
assert_manifest "$(client_dir "$B")/manifest.0.json" incomplete
# The slot is given back when the worker is done (after netdump-reboot).
poll 10 bash -c "\"\$0\" -d \"\$1\" --port \"\$2\" --status | grep -q 'dumps in flight: 0'" "$ND_SERVER" "$DUMPDIR" "$PORT" ||
	fail "--status never showed 0 dumps in flight"
send_dump 0 "$C" -q -g 1M -s 304 -o "$T/sentC"
wait_manifest "$(client_dir "$C")" 0
assert_manifest "$(client_dir "$C")/manifest.0.json" complete "$T/sentC"
pass "after the two timed out ($TO s), the refused client dumps completely"

# Three at once again, with real data: at most two run.
D=$(client_addr 4)
E=$(client_addr 5)
F=$(client_addr 6)
send_dump 3 "$D" -q -g 4M -s 305 --stop-after 1M
send_dump 3 "$E" -q -g 4M -s 306 --stop-after 1M
send_bg "$F" -q -g 1M -s 307 -t 200 -r $((TO * 5 + 20)) -o "$T/sentF"
fpid=$BG_PID
# F keeps heralding: it gets a slot only once D and E time out.
wait_dumps "$D" 1 $((TO + 10))
wait_dumps "$E" 1 $((TO + 10))
wait_bg "$fpid" 0 "$F"
wait_manifest "$(client_dir "$F")" 0
assert_manifest "$(client_dir "$F")/manifest.0.json" complete "$T/sentF"
fstart=$(grep -nE "dump [0-9]+ from ${F//./\\.}:20024 started" "$SERVER_LOG" | cut -d: -f1)
dend=$(grep -nE "dump [0-9]+ from ${D//./\\.} incomplete" "$SERVER_LOG" | cut -d: -f1)
eend=$(grep -nE "dump [0-9]+ from ${E//./\\.} incomplete" "$SERVER_LOG" | cut -d: -f1)
[ "$fstart" -gt "$dend" ] || [ "$fstart" -gt "$eend" ] ||
	fail "the dump of $F started (log line $fstart) before either open dump ended ($dend, $eend)"
pass "a client that keeps heralding gets its slot once one of the two open dumps ends, and completes"

stop_server
finish
