#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The example sink (sinks/ledger/ledger.c, docs/architecture.md) beside the
# file sink: one line per dump in ledger.txt with each object's size as
# the file sink stored it, the vmcore's holes, complete or incomplete; a
# file option that leads out of the dump directory is refused.
set -euo pipefail
NET=156
. "$(dirname "$0")/../integration/lib.sh"

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 3

[sink local]
module = file
fsync = no

[route default]
path = *
sink = local, ledger
INI
start_server -c "$C"
L=$DUMPDIR/ledger.txt

A=$(client_addr 1)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 8M -z 0.5 -s 61 -o "$T/sent"
wait_manifest "$D" 0
wait_file "$L"
assert_same_bytes "$D/vmcore.0" "$T/sent"
line=$(grep "from $A " "$L")
assert_match "$line" "^dump [0-9]+ from $A complete: vmcore $(size_of "$D/vmcore.0") \(holes [0-9]+\) info $(size_of "$D/info.0") .*manifest $(size_of "$D/manifest.0.json")\$" "ledger line"
holes=$(echo "$line" | sed -E 's/.*\(holes ([0-9]+)\).*/\1/')
[ "$holes" -gt 0 ] && [ "$holes" -lt 8388608 ] ||
	fail "holes $holes: a half-zero image has some, fewer than its size"
pass "a complete dump: one ledger line, each size equal to the file sink's copy, $holes bytes of holes"

# A client that dies: the line says incomplete.
B=$(client_addr 2)
send_dump 3 "$B" -q -g 8M -s 62 --stop-after 2M
wait_manifest "$(client_dir "$B")" 0 30
assert_match "$(grep "from $B " "$L")" "^dump [0-9]+ from $B incomplete: vmcore [0-9]+" "ledger line of a dead client"
assert_eq "$(wc -l <"$L")" 2 "lines in the ledger"
pass "a dump whose client died: 'incomplete' in its line; one line per dump"
stop_server

# file = ../x would write outside the dump directory: refused.
cat >>"$C" <<INI

[sink ledger]
module = ledger
file = ../escape
INI
rc=0
timeout 20 "$ND_SERVER" -D -a 127.0.0.1 --port "$PORT" -d "$DUMPDIR" -c "$C" \
    >"$T/refused.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the server started with file = ../escape"
grep -q 'file: "\.\./escape" is not a file name' "$T/refused.log" ||
	fail "no clear error for file = ../escape: $(tail -3 "$T/refused.log")"
assert_no_file "$T/escape"
pass "a ledger file that leads out of the dump directory: the server does not start, and says why"
finish
