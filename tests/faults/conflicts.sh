#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Conflicts: a dump that contradicts itself. A kernel that resends a
# packet resends the same bytes at the same offset (debugnet_send in
# sys/net/debugnet.c retransmits the unacked packets of its call from the
# same buffer), and it sends one KDH (netdump_write_headers in
# sys/netinet/netdump/netdump_client.c) and one key. Different bytes at a
# place that already has some come from a second sender (a spoofer of
# the client's own address and port) or a broken client. The server
# acks them, keeps the first copy, counts them in the manifest
# ("conflicts", "first_conflict": {"object", "offset"}) and never labels
# such a dump complete. A KDH that conflicts, or whose dumplength ends
# before the data received (past its last block's padding when the dump
# is compressed), cuts nothing: a forged
# short KDH must not truncate a compressed dump and have it labelled
# complete. What each client sends (ndfault.py, speaking the protocol by
# hand; netdump-send for the honest one):
#   1 data     1 MiB; after the first 64 KiB call, the packet at offset
#              1448 again with other bytes (acked)
#   2 kdh      1 MiB, KDH compression = zstd: a KDH saying dumplength
#              4096, then the real one (1 MiB); both acked
#   3 short    1 MiB uncompressed, its only KDH saying dumplength 4096
#   4 zshort   the same with KDH compression = zstd
#   5 key      an encrypted dump whose 256-byte key comes twice, the
#              second time with other bytes
#   6 same     the packet at 1448 again with the same bytes, and the KDH
#              twice: retransmissions, no conflict
#   7 honest   netdump-send with 5 % duplicates, 2 % loss each way
# Asserted: 1, 2, 5 incomplete with "N message(s) differed from the bytes
# received first at the same place, the first at OBJECT offset X (the
# first copy was kept)", the first copy stored (vmcore, KDH, key); 3 and
# 4 incomplete, "data arrived up to offset 1048576, beyond the 4096 bytes
# the KDH describes", all 1 MiB kept; 6 and 7 complete, conflicts 0.
set -euo pipefail
NET=183
. "$(dirname "$0")/../integration/lib.sh"
FAULTS=$(cd "$(dirname "$0")" && pwd)

start_server --timeout 10
MIB=1048576

# conflict I CASE: ndfault.py conflict from client I; sent bytes in
# $T/sent.I.
conflict() {
	timeout $((120 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" conflict \
	    "$PORT" "$(client_addr "$1")" "$T/sent.$1" "$2" >"$T/nd.$1.log" 2>&1 ||
		{ cat "$T/nd.$1.log" >&2; fail "ndfault.py conflict $2 failed"; }
}

# dump_of I: wait for dump 0 of client I; sets A, D, M.
dump_of() {
	A=$(client_addr "$1")
	D=$(client_dir "$A")
	M=$D/manifest.0.json
	wait_manifest "$D" 0 30
	wait_dumps "$A" 1 30
}

# The file a manifest names for an object kind.
stored_file() {	# MANIFEST KIND
	echo "$DUMPDIR/$(mobject "$1" "$2" | jq -r '.stored | to_entries[0].value')"
}

conflict_reason() {	# N OBJECT OFFSET
	local s=
	[ "$1" = 1 ] || s=s
	echo "$1 message$s differed from the bytes received first at the same place, the first at $2 offset $3 (the first copy was kept)"
}

# ---------------------------------------------------------------- 1 data
conflict 1 data
dump_of 1
assert_manifest "$M" incomplete "$T/sent.1"
assert_eq "$(jget "$M" .conflicts)" 1 "conflicts"
assert_eq "$(jq -c .first_conflict "$M")" '{"object":"vmcore","offset":1448}' "first_conflict"
assert_eq "$(jget "$M" .reason)" "$(conflict_reason 1 vmcore 1448)" "reason"
assert_same_bytes "$D/vmcore.0.incomplete" "$T/sent.1"
assert_eq "$(jget "$M" .finished)" true "finished"
pass "other bytes at offset 1448, acked: incomplete ('$(jget "$M" .reason)'), the first copy stored"

# ---------------------------------------------------------------- 2 kdh
conflict 2 kdh
dump_of 2
assert_manifest "$M" incomplete "$T/sent.2"
assert_eq "$(jget "$M" .conflicts)" 1 "conflicts"
assert_eq "$(jq -c .first_conflict "$M")" '{"object":"KDH","offset":0}' "first_conflict"
assert_eq "$(jget "$M" .reason)" "$(conflict_reason 1 KDH 0)" "reason"
assert_eq "$(jget "$M" .kdh.hostname)" forged "KDH kept (the first)"
assert_eq "$(jget "$M" .kdh.dumplength)" 4096 "KDH dumplength kept"
V=$(stored_file "$M" vmcore)
assert_same_bytes "$V" "$T/sent.2"
pass "a compressed dump with a second KDH claiming 4096 bytes first: not cut ($(size_of "$V") bytes kept), incomplete ('$(jget "$M" .reason)')"

# ---------------------------------------------------------------- 3, 4 short
nd_short() {	# I COMPRESSION
	timeout $((120 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" dump "$PORT" \
	    "$(client_addr "$1")" "$T/sent.$1" --size $MIB --seed $((1830 + $1)) \
	    --dumplength 4096 --compression "$2" >"$T/nd.$1.log" 2>&1 ||
		{ cat "$T/nd.$1.log" >&2; fail "ndfault.py dump (client $1) failed"; }
}
nd_short 3 0
nd_short 4 2
for i in 3 4; do
	dump_of $i
	assert_manifest "$M" incomplete "$T/sent.$i"
	assert_eq "$(jget "$M" .reason)" \
	    "data arrived up to offset $MIB, beyond the 4096 bytes the KDH describes" \
	    "reason (client $i)"
	assert_eq "$(jget "$M" .conflicts)" 0 "conflicts (client $i)"
	V=$(stored_file "$M" vmcore)
	assert_same_bytes "$V" "$T/sent.$i"
done
pass "a KDH whose dumplength (4096) ends 1020 KiB before the data, uncompressed and zstd: nothing cut, incomplete ('$(jget "$M" .reason)')"

# ---------------------------------------------------------------- 5 key
conflict 5 key
dump_of 5
assert_manifest "$M" incomplete "$T/sent.5"
assert_eq "$(jget "$M" .conflicts)" 1 "conflicts"
assert_eq "$(jq -c .first_conflict "$M")" '{"object":"key","offset":0}' "first_conflict"
assert_eq "$(jget "$M" .reason)" "$(conflict_reason 1 key 0)" "reason"
assert_same_bytes "$(stored_file "$M" key)" "$T/sent.5.key"
assert_same_bytes "$(stored_file "$M" vmcore)" "$T/sent.5"
pass "a second key with other bytes: incomplete ('$(jget "$M" .reason)'), the first key stored"

# ---------------------------------------------------------------- 6, 7 honest
conflict 6 same
dump_of 6
assert_manifest "$M" complete "$T/sent.6"
assert_same_bytes "$D/vmcore.0" "$T/sent.6"
assert_eq "$(jget "$M" .conflicts)" 0 "conflicts"
assert_eq "$(jget "$M" .first_conflict)" null "first_conflict"
[ "$(jget "$M" .duplicate_packets)" -ge 1 ] || fail "the resent packet was not counted as a duplicate"
pass "the same bytes resent (a packet and the KDH): complete, conflicts 0, duplicate_packets $(jget "$M" .duplicate_packets)"

send_dump 0 "$(client_addr 7)" -q -g 4M -s 1837 --dup 0.05 --loss 0.02 \
    --ack-loss 0.02 -t 20 -r 50 -o "$T/sent.7"
dump_of 7
assert_manifest "$M" complete "$T/sent.7"
assert_same_bytes "$D/vmcore.0" "$T/sent.7"
assert_eq "$(jget "$M" .conflicts)" 0 "conflicts"
pass "netdump-send with duplicates and loss each way: complete, conflicts 0, duplicate_packets $(jget "$M" .duplicate_packets)"

stop_server
pass "server exited 0 on SIGTERM"
finish
