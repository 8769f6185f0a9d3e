#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A client that dies at each point of the protocol: after its HERALD with
# no data, in the middle of a batch (not on a 64 KiB or packet boundary),
# after all its data but before the KDH, after the KDH but before
# FINISHED. The server closes each dump after --timeout seconds of
# silence, keeps exactly the bytes sent, labels it incomplete and says it
# timed out. A HERALD alone leaves no file at all (a dump starts with its
# first data). Then the server serves a normal dump.
set -euo pipefail
NET=161
. "$(dirname "$0")/../integration/lib.sh"

start_server --timeout 2

# check_died ADDR SENT STEM KDH: the dump of ADDR is incomplete, timed out
# and holds exactly SENT; KDH: whether a valid KDH was received.
check_died() {
	local a=$1 sent=$2 stem=$3 kdh=$4 d m

	d=$(client_dir "$a")
	wait_manifest "$d" 0 30
	wait_dumps "$a" 1 30
	m=$d/manifest.0.json
	assert_manifest "$m" incomplete
	assert_match "$(jget "$m" .reason)" "timeout" "reason of $a"
	assert_eq "$(jget "$m" .finished)" false "finished of $a"
	if [ "$kdh" = yes ]; then
		assert_eq "$(jget "$m" .kdh.validity)" ok "kdh.validity of $a"
	else
		assert_eq "$(jget "$m" .kdh)" null "kdh of $a"
	fi
	assert_file "$d/$stem.0.incomplete"
	assert_no_file "$d/$stem.0"
	assert_no_file "$d/$stem.last"
	assert_prefix_of "$d/$stem.0.incomplete" "$sent"
	assert_eq "$(size_of "$d/$stem.0.incomplete")" "$(size_of "$sent")" \
	    "bytes kept of $a"
	assert_eq "$(mobject "$m" vmcore | jq -r .sha256)" "$(sha_of "$sent")" \
	    "vmcore sha256 of $a"
	grep -q "Dump Status: bad" "$d/info.0" || fail "info.0 of $a is not 'bad'"
	assert_log "dump [0-9]+ from ${a//./\\.}: the client fell silent for 2 s \\(timeout\\)" \
	    "timeout line of $a"
}

# 1. Only a HERALD: the client dies before any data.
A=$(client_addr 1)
send_dump 3 "$A" -q -g 4M -s 411 --stop-after 0 -o "$T/sent1"
assert_eq "$(size_of "$T/sent1")" 0 "bytes sent by the HERALD-only client"
# Counted in a summary line (one per second), not logged per client.
wait_log "[0-9]+ clients sent a HERALD and then nothing \\(timeout\\)" 20
assert_no_log "dump [0-9]+ from ${A//./\\.} (complete|incomplete)" "a dump end for a HERALD alone"
[ ! -e "$(client_dir "$A")" ] ||
	fail "a HERALD alone left files: $(ls -A "$(client_dir "$A")")"
left=$(find "$DUMPDIR" -mindepth 1 -not -name '.netdump-server.sock' | head -5)
[ -z "$left" ] || fail "a HERALD alone left something in the dump directory: $left"
pass "HERALD only: no dump files at all, the log counts a client that sent a HERALD and then nothing"

# 2. Mid-batch: 3 MiB + 5000 bytes is neither a call nor a packet boundary.
B=$(client_addr 2)
send_dump 3 "$B" -q -g 8M -s 412 --stop-after $((3 * 1048576 + 5000)) \
    -o "$T/sent2"
n=$(size_of "$T/sent2")
[ $((n % 65536)) -ne 0 ] || fail "the client stopped on a call boundary ($n)"
assert_gt "$n" $((3 * 1048576 + 4999)) "bytes sent mid-batch"
check_died "$B" "$T/sent2" vmcore no
pass "died mid-batch after $n bytes: exactly those kept, incomplete, timed out"

# 3. All data sent, dead before the KDH (so no FINISHED either).
C=$(client_addr 3)
send_dump 0 "$C" -q -g 3M -s 413 --no-kdh --no-finished -o "$T/sent3"
check_died "$C" "$T/sent3" vmcore no
pass "died before the KDH: all $(size_of "$T/sent3") bytes kept, incomplete, timed out"

# 4. Data and KDH sent, dead before FINISHED; an encrypted dump, key kept.
E=$(client_addr 4)
send_dump 0 "$E" -q -g 3M -s 414 --key-size 300 --no-finished -o "$T/sent4"
check_died "$E" "$T/sent4" vmcore_encrypted yes
assert_eq "$(size_of "$(client_dir "$E")/key.0")" 300 "key kept of $E"
pass "died before FINISHED: data, KDH and key kept, incomplete, timed out"

# 5. A compressed dump (its KDH says where the padded body ends) that
# died before FINISHED.
F=$(client_addr 5)
send_dump 0 "$F" -q -g 2M -s 415 -c zstd --no-finished -o "$T/sent5"
d=$(client_dir "$F")
wait_manifest "$d" 0 30
assert_manifest "$d/manifest.0.json" incomplete
assert_match "$(jget "$d/manifest.0.json" .reason)" "timeout" "reason of $F"
assert_no_file "$d/vmcore.0.zst"
assert_no_file "$d/vmcore.0"
assert_prefix_of "$d/vmcore.0.zst.incomplete" "$T/sent5"
assert_eq "$(size_of "$d/vmcore.0.zst.incomplete")" \
    "$(jget "$d/manifest.0.json" .kdh.dumplength)" "stored size = the KDH's dumplength"
pass "a compressed dump that died before FINISHED is kept as vmcore.0.zst.incomplete, cut where its KDH says"

# The server still serves, the HERALD-only client too: its first dump is
# number 0, since the HERALD alone took no number.
send_dump 0 "$A" -q -g 2M -s 416 -o "$T/sent6"
wait_manifest "$(client_dir "$A")" 0
wait_dumps "$A" 1
assert_manifest "$(client_dir "$A")/manifest.0.json" complete "$T/sent6"
assert_same_bytes "$(client_dir "$A")/vmcore.0" "$T/sent6"
assert_symlink "$(client_dir "$A")/vmcore.last" vmcore.0
pass "afterwards a normal dump from the HERALD-only client is complete as vmcore.0"

assert_no_temp_files "$DUMPDIR"
stop_server
pass "server exited 0 on SIGTERM"
finish
