#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Fragments: a hostile client HERALDs and then sends its vmcore as 1-byte
# messages at descending offsets, 2 bytes apart (40000, 39998, ... 0),
# 64 at a time, each window resent until acked, as a kernel resends a
# call. Every byte is a separate range of the coverage map, and each
# lands before all the others. A kernel never does this: netdump_dumper
# (sys/netinet/netdump/netdump_client.c) flushes a 64 KiB buffer at a
# time in offset order, and debugnet_send (sys/net/debugnet.c) cuts it
# into packets of the MTU's payload, so an honest dump's coverage is one
# range plus the few holes that loss leaves.
#
# The coverage map holds 16384 separate ranges at most; past that the
# session is ended: "the data arrived in more than 16384 separate pieces;
# the dump was ended", and what was acked before is kept. Asserted:
#   * the hostile client's messages are acked up to the cap, then no
#     more; its dump is incomplete with that reason (manifest and log),
#     bytes_received = the pieces acked, and the stored vmcore holds
#     each acked byte at its offset and zeros everywhere else;
#   * an honest netdump-send dump from another address, running beside
#     it, is complete and byte-identical;
#   * the server stays responsive: a dump sent after the attack completes.
set -euo pipefail
NET=181
. "$(dirname "$0")/lib-faults.sh"

start_server --timeout 10
TICK=$(getconf CLK_TCK)
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}
vm_hwm() {
	awk '/^VmHWM/ { print $2 " " $3 }' "/proc/$SERVER_PID/status"
}

A=$(client_addr 1)
D=$(client_dir "$A")
H=$(client_addr 2)
HD=$(client_dir "$H")
CAP=16384
TOP=40000

# The honest dump first (1 % loss, 100 ms rounds: it lasts a few seconds).
send_bg "$H" -q -g 8M -s 1811 --loss 0.01 -t 100 -o "$T/sent.honest"
HPID=$BG_PID
cpu0=$(cpu_ticks)
timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" fragments "$PORT" \
    "$A" "$T/frags.json" --top "$TOP" --step 2 --rounds 10 --timeout 0.3 --finished \
    >"$T/frags.log" 2>&1 || { cat "$T/frags.log" >&2; fail "ndfault.py fragments failed"; }
cat "$T/frags.log"
wait_manifest "$D" 0 20
wait_dumps "$A" 1 20
cpu1=$(cpu_ticks)
echo "note: server CPU for the fragments: $((cpu1 - cpu0)) ticks ($TICK/s), VmHWM $(vm_hwm)"

M=$D/manifest.0.json
acked=$(jq '.acked | length' "$T/frags.json")
sent=$(jq .sent "$T/frags.json")
assert_eq "$(jq .stopped "$T/frags.json")" true "the server stopped answering the pieces ($acked of $sent acked)"
[ "$acked" -le "$CAP" ] && [ "$acked" -ge $((CAP - 64)) ] ||
	fail "$acked pieces acked; expected the cap, $CAP (or just under)"
assert_manifest "$M" incomplete
assert_eq "$(jget "$M" .reason)" \
    "the data arrived in more than $CAP separate pieces; the dump was ended" \
    "reason"
assert_eq "$(jget "$M" .bytes_received)" "$acked" "bytes_received (the pieces acked)"
assert_eq "$(jget "$M" .finished)" false "finished"
assert_log "dump [0-9]+ from ${A//./\\.}: the data arrived in more than $CAP separate pieces; the dump was ended" \
    "the line that ends the dump"
pass "1-byte pieces at descending offsets: $acked of $sent acked, then the dump was ended ('$(jget "$M" .reason)')"

# What was acked is kept, each byte at its offset; nothing else is there.
python3 - "$D/vmcore.0.incomplete" "$T/frags.json" "$TOP" <<'PY' ||
import json, sys
stored = open(sys.argv[1], "rb").read()
acked = json.load(open(sys.argv[2]))["acked"]
top = int(sys.argv[3])
want = bytearray(top + 1)
for off, b in acked:
    want[off] = b
if len(stored) != len(want):
    sys.exit("stored %d bytes, expected %d (up to the highest piece)"
             % (len(stored), len(want)))
if stored != bytes(want):
    bad = next(i for i in range(len(want)) if stored[i] != want[i])
    sys.exit("byte %d is %d, expected %d" % (bad, stored[bad], want[bad]))
PY
	fail "the stored vmcore is not the acked pieces"
pass "the stored vmcore is exactly the $acked acked pieces, zeros between them"

wait_bg "$HPID" 0 "$H"
wait_manifest "$HD" 0 30
wait_dumps "$H" 1 30
assert_manifest "$HD/manifest.0.json" complete "$T/sent.honest"
assert_same_bytes "$HD/vmcore.0" "$T/sent.honest"
pass "the honest dump beside the attack: complete, byte-identical"

R=$(client_addr 3)
send_dump 0 "$R" -q -g 1M -s 1812 -o "$T/sent.after"
wait_manifest "$(client_dir "$R")" 0 20
assert_manifest "$(client_dir "$R")/manifest.0.json" complete "$T/sent.after"
pass "the server stays responsive: a dump after the attack completed in $SEND_MS ms"

stop_server
pass "server exited 0 on SIGTERM"
finish
