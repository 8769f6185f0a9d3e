#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Spoofing: 127.0.NET.9 (at port 20024 and at another port) sends valid
# messages to a session's port: the whole first call before the client's
# own data, each of the client's packets (same seqno, same offset, other
# bytes) just before the client sends it, its own KDH (another host, half
# the length, a key), a key, FINISHED in the middle, and data and FINISHED
# after the end. Never acked, never stored: the stored dump is exactly
# the client's, its KDH the client's, and it ends with the client's
# FINISHED.
# A forger from the client's own address and port who picks the numbers
# (a VMCORE the server drops and a copy of a packet it takes, numbered
# 1000 past the client's, then FINISHED numbered next after them) ends
# nothing: a kernel never numbers that far past what was acked, so only
# numbers within one call count toward FINISHED's. One who walks the
# number up within reach (copies of a packet, 64 apart) ends nothing
# either: only messages that bring new bytes count, and a FINISHED ends a
# dump at once only when all the dump says it has came (a kernel's comes
# last), else only if nothing follows it; a KDH of the forger's own
# (uncompressed or gzip) that announces other than what has come does
# not make the dump whole.
# A FINISHED forged between the HERALD and the first data, numbered next
# (a kernel's HERALD is number 1), ends nothing, nor does one after a
# KDH announcing nothing: a kernel sends data first.
# One byte forged 3 MiB ahead of a client's stream (the very byte it will
# send there) is not taken while the client sends on: nothing of the
# client's comes behind the stream (late: an ordered chain fails on it).
set -euo pipefail
NET=165
. "$(dirname "$0")/../integration/lib.sh"
FAULTS=$(cd "$(dirname "$0")" && pwd)

start_server --timeout 10
A=$(client_addr 1)
D=$(client_dir "$A")
timeout $((120 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" spoof "$PORT" \
    "$NET" "$T/sent" $((2 << 20)) || fail "ndfault.py spoof failed"
pass "nothing the spoofer sent was answered, to it or to the client"

wait_manifest "$D" 0
wait_dumps "$A" 1
M=$D/manifest.0.json
assert_manifest "$M" complete "$T/sent"
assert_same_bytes "$D/vmcore.0" "$T/sent"
assert_eq "$(jget "$M" .kdh.hostname)" ndfault "KDH hostname"
assert_eq "$(jget "$M" .kdh.dumplength)" $((2 << 20)) "KDH dumplength"
assert_eq "$(jget "$M" .encrypted)" false "encrypted"
assert_no_file "$D/key.0"
assert_eq "$(jget "$M" .finished)" true "finished"
pass "stored: exactly the client's bytes and KDH, no key, not encrypted"

S=$(client_dir "127.0.$NET.9")
[ ! -e "$S" ] || fail "the spoofer has files: $(ls -A "$S")"
assert_no_log "dump [0-9]+ from 127\.0\.$NET\.9" "a dump from the spoofer"
assert_no_log "${A//./\\.}: dropped" "drops counted against the client (the spoofed datagrams must not reach its session)"
pass "no dump from the spoofer, nothing of it reached the session"

# forged_dump N SEED NOTE WHAT [ndfault.py dump options]: client N's dump
# with the forgery the options ask for, acked to its end (ndfault.py
# fails otherwise) and its manifest 0 there; NOTE is what ndfault.py says
# it forged. Sets FA (the client), FD (its directory), FS (what it sent).
forged_dump() {
	local n=$1 seed=$2 note=$3 what=$4

	shift 4
	FA=$(client_addr "$n")
	FD=$(client_dir "$FA")
	FS=$T/sent.$n
	timeout $((120 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" dump \
	    "$PORT" "$FA" "$FS" --seed "$seed" "$@" >"$T/nd.$n.log" 2>&1 ||
		{ cat "$T/nd.$n.log" >&2; fail "the dump after $what was not acked to the end"; }
	grep -q "$note" "$T/nd.$n.log" || fail "nothing was forged: $(cat "$T/nd.$n.log")"
	wait_manifest "$FD" 0
}

# assert_kdh_conflict FILE: the forged dump went on to the client's end:
# incomplete for the two KDHs (the forger's first, kept), every byte the
# client sent in FD/FILE.
assert_kdh_conflict() {
	assert_manifest "$FD/manifest.0.json" incomplete
	assert_match "$(jget "$FD/manifest.0.json" .reason)" "differed from the bytes received first at the same place, the first at KDH offset" "reason"
	assert_same_bytes "$FD/$1" "$FS"
}

forged_dump 2 166 "forged numbers" "forged numbers" --size $((2 << 20)) \
    --forge-seqno
assert_manifest "$FD/manifest.0.json" complete "$FS"
assert_same_bytes "$FD/vmcore.0" "$FS"
assert_eq "$(jget "$FD/manifest.0.json" .finished)" true "finished"
pass "numbers a forger picked and its FINISHED numbered next after them: the dump went on to the client's FINISHED, complete"

forged_dump 4 168 "forged one byte at" "a byte forged far ahead" \
    --size $((6 << 20)) --forge-far $(((3 << 20) + 5))
assert_manifest "$FD/manifest.0.json" complete "$FS"
assert_same_bytes "$FD/vmcore.0" "$FS"
assert_eq "$(jget "$FD/manifest.0.json" .coverage.late_bytes)" 0 "bytes that came behind the stream"
assert_log "${FA//./\\.}: dropped 1 data far ahead of the stream while the client sent" "the drop line"
pass "a byte forged 3 MiB ahead: not taken while the client sent on; complete, nothing late"

forged_dump 3 167 "forged numbers walked" "walked numbers" --size $((2 << 20)) \
    --forge-walk
assert_manifest "$FD/manifest.0.json" complete "$FS"
assert_same_bytes "$FD/vmcore.0" "$FS"
pass "numbers a forger walked up within reach and its FINISHED next after them: the dump went on to the client's FINISHED, complete"

# The same walk with a valid KDH of the forger's before its FINISHED,
# announcing exactly the 64 KiB that have come (a forger who knows): the
# walk was in copies, which bring nothing new, so the KDH's number is not
# within reach and the FINISHED not next; the dump goes on, and the
# client's own KDH then differs from the first one kept.
forged_dump 6 170 "forged numbers walked" "walked numbers and a forged KDH" \
    --size $((2 << 20)) --forge-walk --forge-walk-kdh $((64 << 10))
assert_kdh_conflict "vmcore.0.incomplete"
pass "numbers walked in copies, then a KDH announcing exactly what had come and FINISHED: the dump went on to the client's end, every byte kept, incomplete for the two KDHs"

# A walk in bytes new to the dump (the stream's next 16, one each), then
# a gzip KDH announcing 32 KiB when 64 KiB and 16 bytes have come: the
# FINISHED is next, but the dump is not whole (a compressed dump's data
# ends at its length's 4096-byte block; the first version allowed 64 KiB
# past it).
forged_dump 7 171 "forged numbers walked" "walked numbers and a forged gzip KDH" \
    --size $((2 << 20)) --forge-walk --forge-walk-fresh \
    --forge-walk-kdh $((32 << 10)) --forge-compression 1
# Named by the first KDH, the forger's.
assert_kdh_conflict "vmcore.0.gz.incomplete"
pass "numbers walked in new bytes, then a gzip KDH announcing 32 KiB when 64 KiB had come and FINISHED: the dump went on to the client's end, every byte kept"

# The same walk in new bytes with a KDH announcing exactly what has come
# (64 KiB and the 16 bytes): FINISHED is next, but the KDH says a key of
# 32 bytes comes with it, and none came; then one whose forged key is
# longer than its KDH says. Neither dump is whole: each goes on (stored
# as encrypted, named by the first KDH, the forger's).
forged_dump 11 173 "forged numbers walked" "walked numbers and a KDH announcing a key that never came" \
    --size $((2 << 20)) --forge-walk --forge-walk-fresh \
    --forge-walk-kdh $(((64 << 10) + 16)) --forge-keysize 32
assert_kdh_conflict "vmcore_encrypted.0.incomplete"
pass "numbers walked in new bytes, a KDH announcing what came and a 32-byte key, no key, FINISHED: the dump went on to the client's end, every byte kept"

forged_dump 12 174 "forged numbers walked" "walked numbers and a key longer than its KDH says" \
    --size $((2 << 20)) --forge-walk --forge-walk-fresh \
    --forge-walk-kdh $(((64 << 10) + 16)) --forge-keysize 16 --forge-key 32
assert_kdh_conflict "vmcore_encrypted.0.incomplete"
pass "numbers walked in new bytes, a KDH announcing what came and a 16-byte key, 32 bytes of key, FINISHED: the dump went on to the client's end, every byte kept"

forged_dump 5 169 "forged FINISHED 2 before the data" \
    "a FINISHED forged before its data" --size $((2 << 20)) --forge-first
assert_manifest "$FD/manifest.0.json" complete "$FS"
assert_same_bytes "$FD/vmcore.0" "$FS"
assert_eq "$(_log_count "from ${FA//./\\.}:20024 started")" 1 "dumps of the client"
pass "a FINISHED forged before the first data, numbered next: the dump went on, complete"

# A valid KDH announcing nothing, then FINISHED, before the first data:
# no data came, so the dump is not whole; it goes on, incomplete only
# for the two KDHs.
forged_dump 8 172 "forged FINISHED 3 before the data" \
    "a KDH and a FINISHED forged before its data" --size $((2 << 20)) \
    --forge-first-kdh
assert_kdh_conflict "vmcore.0.incomplete"
pass "a KDH announcing nothing and a FINISHED forged before the first data: the dump went on to the client's end, every byte kept"

stop_server
pass "server exited 0 on SIGTERM"
finish
