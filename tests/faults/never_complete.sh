#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A table of broken dumps whose client believes (or claims) it is done: each
# ends with FINISHED, yet none may be labelled complete. Each must be
# incomplete, with a reason, the gaps the manifest lists must be exactly
# the ranges that never arrived, no file may carry a complete name, no
# *.last link may point at it, and every stored byte must be a sent one.
#
#   missing KDH                    netdump-send --no-kdh
#   KDH dumplength > data sent     ndfault.py --dumplength
#   no data at all, KDH + FINISHED ndfault.py --no-data
#   FINISHED straight after HERALD ndfault.py --no-data --no-kdh
#   key announced, never sent      ndfault.py --keysize 4096
#   key announced, half sent       ndfault.py --keysize 4096 --key-bytes 2048
#   key not announced, or longer   ndfault.py --keysize 0|4096 --key-bytes
#   data past dumplength, or 0     ndfault.py --dumplength
#   packets never resent           ndfault.py --hole (first, middle, last)
#   the kernel's ack bitmap bug    netdump-send --shift-bug --loss 0.05
set -euo pipefail
NET=166
. "$(dirname "$0")/../integration/lib.sh"
FAULTS=$(cd "$(dirname "$0")" && pwd)

start_server --timeout 10
ROWS=0

# nc_check I WHAT REASON-ERE STEM SENT [GAPS-JSON]: dump 0 of client I.
nc_check() {
	local i=$1 what=$2 want=$3 stem=$4 sent=$5 gaps=${6:-} a d m reason

	a=$(client_addr "$i")
	d=$(client_dir "$a")
	wait_manifest "$d" 0 30
	wait_dumps "$a" 1 30
	m=$d/manifest.0.json
	assert_manifest "$m" incomplete
	reason=$(jget "$m" .reason)
	assert_match "$reason" "$want" "reason for '$what'"
	assert_eq "$(jget "$m" .finished)" true "finished for '$what'"
	assert_file "$d/$stem.0.incomplete"
	for n in vmcore.0 vmcore_encrypted.0 vmcore.0.gz vmcore.0.zst \
	    vmcore.last vmcore_encrypted.last key.last info.last; do
		assert_no_file "$d/$n"
	done
	grep -q "Dump Status: bad" "$d/info.0" || fail "info.0 for '$what' is not 'bad'"
	assert_log "dump [0-9]+ from ${a//./\\.} incomplete: " "incomplete line for '$what'"
	if [ -n "$gaps" ]; then
		assert_eq "$(jq -c .coverage.gaps "$m")" "$(jq -c . "$gaps")" \
		    "gaps of '$what'"
		assert_eq "$(jget "$m" .coverage.gap_count)" "$(jq length "$gaps")" \
		    "gap_count of '$what'"
	fi
	# Every stored byte is a sent one; the gaps read as zeros.
	python3 "$FAULTS/ndfault.py" check "$d/$stem.0.incomplete" "$sent" "$m" \
	    >/dev/null || fail "stored bytes of '$what' differ from the sent ones"
	ROWS=$((ROWS + 1))
	pass "$what: incomplete as $stem.0.incomplete, gaps $(jq -c .coverage.gaps "$m"), reason '$reason'"
}

nd() {	# I OUT [ndfault.py dump options]
	local i=$1 out=$2

	shift 2
	timeout $((120 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" dump "$PORT" \
	    "$(client_addr "$i")" "$out" "$@" >"$T/nd.$i.log" 2>&1 ||
		{ cat "$T/nd.$i.log" >&2; fail "ndfault.py dump $* failed"; }
}

MIB=1048576

# 1. No KDH at all.
send_dump 0 "$(client_addr 1)" -q -g 2M -s 461 --no-kdh -o "$T/sent1"
nc_check 1 "missing KDH" "kernel dump header|KDH" vmcore "$T/sent1"

# 2. The KDH says 1.5 MiB, 1 MiB was sent.
nd 2 "$T/sent2" --size $MIB --seed 462 --dumplength $((3 * MIB / 2)) \
    --gaps-out "$T/gaps2"
nc_check 2 "KDH dumplength larger than the data sent" "gap" vmcore \
    "$T/sent2" "$T/gaps2"
assert_eq "$(jget "$(client_dir "$(client_addr 2)")/manifest.0.json" .coverage.expected)" \
    $((3 * MIB / 2)) "expected bytes (from the KDH)"

# 3. HERALD, KDH (1 MiB), FINISHED: not one byte of data.
nd 3 "$T/sent3" --size $MIB --no-data --gaps-out "$T/gaps3"
nc_check 3 "no data at all, KDH and FINISHED" "gap" vmcore "$T/sent3" "$T/gaps3"

# 4. HERALD, then FINISHED at once: acked, but nothing came to store, so
# no dump starts and no files are made (a loop of these costs nothing).
nd 4 "$T/sent4" --size $MIB --no-data --no-kdh
sleep 1
assert_no_file "$(client_dir "$(client_addr 4)")/manifest.0.json"
assert_eq "$(_log_count "from 127\.0\.$NET\.4:20024 started")" 0 "dumps started by HERALD and FINISHED alone"
pass "FINISHED straight after the HERALD: acked, no dump, no files"

# 5. The KDH announces a 4096-byte key that never comes.
nd 5 "$T/sent5" --size $MIB --seed 465 --keysize 4096 --gaps-out "$T/gaps5"
nc_check 5 "encrypted, the key never sent" "4096-byte encryption key, 0 bytes" \
    vmcore_encrypted "$T/sent5" "$T/gaps5"
assert_no_file "$(client_dir "$(client_addr 5)")/key.0"

# 6. ... or only half of it (modern order: the key first).
nd 6 "$T/sent6" --size $MIB --seed 466 --keysize 4096 --key-bytes 2048 \
    --key-first --gaps-out "$T/gaps6"
nc_check 6 "encrypted, half the key sent" "4096-byte encryption key, 2048 bytes" \
    vmcore_encrypted "$T/sent6" "$T/gaps6"
k=$(client_dir "$(client_addr 6)")
assert_no_file "$k/key.0.complete"
if [ -e "$k/key.0" ]; then
	assert_eq "$(size_of "$k/key.0")" 2048 "size of the half key kept"
fi

# 6b. A key the header does not announce (dumpkeysize 0), or longer than
# it announces: a forged header or key, never a kernel's (the KDH and the
# key come from one kerneldumpcrypto, sys/kern/kern_shutdown.c). Which
# is true cannot be told, so the dump is not complete.
nd 9 "$T/sent9" --size $MIB --seed 469 --keysize 0 --key-bytes 3000 \
    --key-first --gaps-out "$T/gaps9"
nc_check 9 "a key the KDH does not announce" \
    "encryption key of 3000 bytes arrived, the KDH announces 0" \
    vmcore_encrypted "$T/sent9" "$T/gaps9"
nd 10 "$T/sent10" --size $MIB --seed 470 --keysize 4096 --key-bytes 5000 \
    --key-first --gaps-out "$T/gaps10"
nc_check 10 "a key longer than the KDH announces" \
    "encryption key of 5000 bytes arrived, the KDH announces 4096" \
    vmcore_encrypted "$T/sent10" "$T/gaps10"

# 6c. A KDH whose dumplength does not end where the data does. A
# compressed dump's last 4096-byte block is padded past it
# (sys/kern/kern_shutdown.c, kerneldumpcomp_write_cb); an uncompressed
# one's data ends there, but for a few whole pages of a minidump whose
# page map grew while it was written (integration.kernel_quirks). A dump
# length of 0 describes nothing at all.
nd 11 "$T/sent11" --size $((128 * 1024)) --seed 471 --dumplength 80000
nc_check 11 "uncompressed data past dumplength, within a block" \
    "data arrived up to offset 131072, beyond the 80000 bytes the KDH describes" \
    vmcore "$T/sent11"
assert_eq "$(size_of "$(client_dir "$(client_addr 11)")/vmcore.0.incomplete")" \
    $((128 * 1024)) "bytes kept past the KDH's length (none cut)"
# Whole pages past a page-aligned dumplength, but more than 64 KiB of
# them: no page map grows so much while a minidump is written.
nd 14 "$T/sent14" --size $((128 * 1024)) --seed 474 --dumplength 32768
nc_check 14 "uncompressed whole pages past dumplength, 96 KiB" \
    "data arrived up to offset 131072, beyond the 32768 bytes the KDH describes" \
    vmcore "$T/sent14"
nd 12 "$T/sent12" --size 65536 --seed 472 --dumplength 0
nc_check 12 "a dump length of 0, data sent" "describes no data" vmcore "$T/sent12"
nd 13 "$T/sent13" --size 4096 --no-data --dumplength 0
nc_check 13 "a dump length of 0, no data" "describes no data" vmcore "$T/sent13"

# 7. Packets silently never resent (what the kernel's ack bitmap bug
# does): the very first, a run in the middle, the very last.
SZ=$((2 * MIB))
nd 7 "$T/sent7" --size $SZ --seed 467 --hole 0-1448 \
    --hole $((700 * 1000))-$((800 * 1000)) --hole $((SZ - 376))-$SZ \
    --gaps-out "$T/gaps7"
assert_eq "$(jq length "$T/gaps7")" 3 "holes made"
nc_check 7 "packets never resent (first, middle, last)" "3 gaps" vmcore \
    "$T/sent7" "$T/gaps7"

# 8. The kernel's 32-bit ack bitmap bug itself, with loss: the client
# exits 0 (it believes everything was acked) but holes are left.
found=""
for s in 1 2 3 4 5 6 7 8; do
	a=$(client_addr 8)
	d=$(client_dir "$a")
	n=$((s - 1))
	send_dump 0 "$a" -q -g 4M -s "48$s" --shift-bug --loss 0.05 \
	    --timeout-ms 20 --retries 150 -o "$T/sent8.$n"
	wait_manifest "$d" "$n"
	if [ "$(jget "$d/manifest.$n.json" .status)" = incomplete ]; then
		found=$n
		break
	fi
	assert_manifest "$d/manifest.$n.json" complete "$T/sent8.$n"
	assert_same_bytes "$d/vmcore.$n" "$T/sent8.$n"
done
[ -n "$found" ] || fail "8 lossy dumps with the shift bug left no hole at all"
m=$d/manifest.$found.json
assert_match "$(jget "$m" .reason)" "gap" "reason of the shift-bug dump"
assert_gt "$(jget "$m" .coverage.gap_count)" 0 "gap_count of the shift-bug dump"
assert_no_file "$d/vmcore.$found"
python3 "$ND_LIBDIR/gapcheck.py" "$d/vmcore.$found.incomplete" "$T/sent8.$found" \
    "$m" --need-data-gap >/dev/null || fail "the shift-bug dump's stored bytes differ"
grep -q "Dump Status: bad" "$d/info.$found" || fail "info.$found is not 'bad'"
if [ "$found" -gt 0 ]; then
	assert_symlink "$d/vmcore.last" "vmcore.$((found - 1))"
else
	assert_no_file "$d/vmcore.last"
fi
ROWS=$((ROWS + 1))
pass "the ack bitmap bug (seed 48$((found + 1))): the client exited 0, the dump is incomplete with $(jget "$m" .coverage.gap_count) gaps: '$(jget "$m" .reason)'"

assert_no_log "dump [0-9]+ from 127\.0\.$NET\.([1-7]|1[1-4]) complete" "a broken dump labelled complete"
pass "$ROWS kinds of broken dump: none labelled complete"
stop_server
pass "server exited 0 on SIGTERM"
finish
