#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# SIGTERM while dumps are open: the server closes them, keeps every byte,
# labels them incomplete ("shut down"), writes their manifests and exits 0.
# A SIGHUP (configuration reload) in between leaves the open dumps alone.
set -euo pipefail
NET=127
. "$(dirname "$0")/lib.sh"

start_server --timeout 60
A=$(client_addr 1)
B=$(client_addr 2)
D=$(client_dir "$A")

# Two clients die mid-dump; with a 60 s timeout their dumps stay open.
send_dump 3 "$A" -q -g 32M -s 171 --stop-after 4M -o "$T/sentA"
send_dump 3 "$B" -q -g 8M -s 172 --stop-after 100k --order modern \
    --key-size 512 -o "$T/sentB"
# A third is actually sending (and keeps retrying) when SIGTERM comes.
C=$(client_addr 3)
# Lossy, so that it takes far longer than this test (>= 50 ms per call).
send_bg "$C" -q -g 64M -s 173 --loss 0.2 --timeout-ms 50 --retries 40 \
    -o "$T/sentC"
CPID=$BG_PID
wait_log "dump [0-9]+ from ${C//./\\.}:20024 started" 10

kill -HUP "$SERVER_PID"
wait_log "SIGHUP" 10
kill -0 "$SERVER_PID" 2>/dev/null || fail "SIGHUP killed the server"
assert_no_log "dump [0-9]+ from .* (complete|incomplete): " "no dump may end on SIGHUP"
assert_no_file "$D/manifest.0.json"
pass "SIGHUP is logged ($(grep -m1 -o 'SIGHUP.*' "$SERVER_LOG" | cut -c1-60)...); the open dumps stay open"

stop_server
pass "SIGTERM with three dumps open: the server exited 0"

rc=0
wait "$CPID" || rc=$?
assert_ne "$rc" 0 "exit status of the client cut off by the shutdown"

assert_log "signal 15: closing open dumps" "shutdown line"
for a in "$A" "$B" "$C"; do
	assert_log "dump [0-9]+ from ${a//./\\.} incomplete: .*shut down" "incomplete line of $a"
	m=$(client_dir "$a")/manifest.0.json
	assert_file "$m"
	assert_manifest "$m" incomplete
	assert_match "$(jget "$m" .reason)" "shut ?down" "reason of $a"
done
pass "all three dumps were closed incomplete with the reason '$(jget "$D/manifest.0.json" .reason)'"

assert_same_bytes "$D/vmcore.0.incomplete" "$T/sentA"
assert_eq "$(size_of "$D/vmcore.0.incomplete")" 4194304 "bytes kept of $A"
DB=$(client_dir "$B")
assert_same_bytes "$DB/vmcore_encrypted.0.incomplete" "$T/sentB"
assert_eq "$(size_of "$DB/key.0")" 512 "key of $B"
DC=$(client_dir "$C")
python3 "$ND_LIBDIR/gapcheck.py" "$DC/vmcore.0.incomplete" "$T/sentC" \
    "$DC/manifest.0.json" || fail "$C: stored bytes differ from those sent"
pass "each dump keeps exactly the bytes that arrived (4 MiB, $(size_of "$DB/vmcore_encrypted.0.incomplete") bytes + key, $(size_of "$DC/vmcore.0.incomplete") bytes)"

assert_no_temp_files "$DUMPDIR"
for a in "$A" "$B" "$C"; do
	assert_no_file "$(client_dir "$a")/vmcore.last"
done
pass "no temporary files left, no *.last links for incomplete dumps"
finish
