#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Eight clients dump at once from eight addresses: all complete, each
# byte-identical to what it sent. Then --concurrent 1: a second client is
# not answered while one dump is running, and is once it has ended.
set -euo pipefail
NET=118
. "$(dirname "$0")/lib.sh"

start_server --timeout 20
declare -A PIDS
for i in 1 2 3 4 5 6 7 8; do
	send_bg "$(client_addr $i)" -q -g 16M -s "8$i" -o "$T/sent$i"
	PIDS[$i]=$BG_PID
done
for i in 1 2 3 4 5 6 7 8; do
	wait_bg "${PIDS[$i]}" 0 "$(client_addr $i)"
done
pass "8 concurrent clients all exited 0"

for i in 1 2 3 4 5 6 7 8; do
	a=$(client_addr $i)
	d=$(client_dir "$a")
	wait_manifest "$d" 0
	assert_manifest "$d/manifest.0.json" complete "$T/sent$i"
	assert_same_bytes "$d/vmcore.0" "$T/sent$i"
done
[ "$(sha_of "$T/sent1")" != "$(sha_of "$T/sent2")" ] || fail "different seeds gave the same image"
wait_log "dump [0-9]+ from 127\.0\.$NET\.[1-8] complete: " 20 8
assert_no_log "incomplete" "no dump may be incomplete"
pass "8 concurrent 16 MiB dumps: all complete and byte-identical to their own image"
stop_server

# max_concurrent_dumps: with one allowed, a second HERALD is refused
# while the first dump is open, and answered once it has closed.
start_server --timeout 3 --concurrent 1
A=$(client_addr 9)
B=$(client_addr 10)
send_dump 3 "$A" -q -g 4M -s 89 --stop-after 1M
send_dump 1 "$B" -q -g 1M -s 90 --timeout-ms 100 --retries 3
grep -q "failed to contact" "$SEND_LOG" || fail "the refused client did not report 'failed to contact'"
wait_log "refused [0-9]+ HERALDs: 1 dumps are running" 10
pass "--concurrent 1: a second client gets no answer while a dump is open"
wait_dumps "$A" 1 30
send_dump 0 "$B" -q -g 1M -s 90 -o "$T/sentB"
wait_manifest "$(client_dir "$B")" 0
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sentB"
pass "--concurrent 1: once the first dump timed out, the second client is served"

stop_server
pass "server exited 0 on SIGTERM"
finish
