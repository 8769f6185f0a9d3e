#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Signature-aware retention in the file sink. keep_per_signature = N keeps
# the first complete dump of a panic signature and its newest N dumps;
# older repeats lose their core (vmcore, key) and keep a summary (info,
# message buffer, manifest) with repeats = summary, or go whole with
# repeats = remove.
# An incomplete repeat goes before a complete one, and the only complete
# dump of a signature never goes for an incomplete one. Every manifest
# counts the signature's dumps ("seen"), so --list --by-signature still
# counts repeats that went whole, after a restart too.
#
# The panic strings are FreeBSD's: vm_fault_trap()'s "vm_fault: fault on
# nofault entry, addr: %#lx" (sys/vm/vm_fault.c), the same crash at
# another address; and trap_fatal()'s "page fault" (sys/amd64/amd64/
# trap.c), another crash.
set -euo pipefail
NET=146
. "$(dirname "$0")/lib.sh"

require_file_options keep_per_signature repeats

FAULT="vm_fault: fault on nofault entry, addr: 0xfffffe00"
A=$(client_addr 1)
DA=$(client_dir "$A")
B=$(client_addr 2)
DB=$(client_dir "$B")
C=$(client_addr 3)
DC=$(client_dir "$C")

file_sink_conf "keep_per_signature = 1"
start_server -c "$T/server.ini" --timeout 2
send_dump 0 "$A" -q -g 1M -s 380 --panic "${FAULT}12345000" -o "$T/sentA0"
wait_manifest "$DA" 0
send_dump 0 "$B" -q -g 1M -s 381 --panic "${FAULT}abcdef00" --key-size 64
wait_manifest "$DB" 0
send_dump 0 "$A" -q -g 1M -s 382 --panic "page fault" -o "$T/sentA1"
wait_manifest "$DA" 1
# KDH sent, FINISHED not: incomplete, with the signature of its KDH; a
# minidump, so that it has a message buffer for its summary to keep.
python3 "$ND_LIBDIR/ops_msgbuf.py" "$T/img" || fail "cannot generate a minidump"
send_dump 0 "$A" -q -f "$T/img/unwrapped.img" --panic "${FAULT}00c0ffee" --no-finished || true
wait_manifest "$DA" 2 30
assert_file "$DA/msgbuf.2"
S=$(jget "$DA/manifest.0.json" .signature.id)
P=$(jget "$DA/manifest.1.json" .signature.id)
assert_eq "$(jget "$DB/manifest.0.json" .signature.id)" "$S" "the same crash at another address"
assert_ne "$P" "$S" "another crash"
assert_eq "$(jget "$DA/manifest.2.json" '"\(.status) \(.signature.id)"')" "incomplete $S" "the dump without FINISHED"
assert_eq "$(jget "$DA/manifest.2.json" .signature.seen)" 3 "dumps of $S when $A's dump 2 ended"
assert_no_log "retention: " "nothing over the limit yet"
pass "three dumps of $S (the last incomplete), one of $P: nothing removed yet (the first is kept, and the dump that ends)"

send_dump 0 "$B" -q -g 1M -s 384 --panic "${FAULT}deadbe00" -o "$T/sentB1"
wait_manifest "$DB" 1
wait_log "retention: removed the core of dump 2 of ${A//./\\.} \\(${A//./\\.}/vmcore\\.2\\.incomplete; .*\\), kept its summary: keep_per_signature = 1: an incomplete repeat of signature $S" 10
wait_log "retention: removed the core of dump 0 of ${B//./\\.} \\(${B//./\\.}/vmcore_encrypted\\.0 \\+key\\.0; .*\\), kept its summary: keep_per_signature = 1: an older repeat of signature $S" 10
assert_same_bytes "$DA/vmcore.0" "$T/sentA0"
assert_same_bytes "$DA/vmcore.1" "$T/sentA1"
assert_same_bytes "$DB/vmcore.1" "$T/sentB1"
assert_eq "$(ls "$DB" | paste -sd' ')" "bounds info.0 info.1 info.last manifest.0.json manifest.1.json manifest.last.json vmcore.1 vmcore.last" "files of $B"
assert_symlink "$DB/vmcore.last" vmcore.1
assert_no_file "$DA/vmcore.2.incomplete"
assert_file "$DA/info.2"
assert_file "$DA/manifest.2.json"
assert_same_bytes "$DA/msgbuf.2" "$T/img/unwrapped.expected"
assert_eq "$(jget "$DB/manifest.1.json" .signature.seen)" 4 "dumps of $S when $B's dump 1 ended"
pass "keep_per_signature = 1: $A's first dump and $B's newest stay whole; the incomplete repeat keeps info, msgbuf and manifest, $B's older one info and manifest (its key went with the vmcore); $P untouched"

list() {	# VIEW-OPTIONS...
	"$ND_SERVER" -d "$DUMPDIR" --list "$@" 2>"$T/list.err"
}
list --by-signature --json >"$T/sigs.json"
assert_eq "$(jq -r --arg s "$S" '.[] | select(.signature == $s) | "\(.dumps) \(.kept) \(.clients)"' "$T/sigs.json")" "4 2 2" "dumps, kept and clients of $S"
list --json >"$T/dumps.json"
assert_eq "$(jq -r '[.[] | .core_removed | tostring] | join(" ")' "$T/dumps.json")" "false true false true false" "cores removed, oldest first"
list >"$T/dumps.txt"
assert_grep "$T/dumps.txt" "$S \\(removed\\) ${B//./\\.}/vmcore_encrypted\\.0$" "the table says the core went"
pass "--list: the summaries' cores shown removed; --by-signature: $S had 4 dumps, 2 kept whole"
stop_server

# repeats = remove, after a restart: the next repeat removes $B's dump 1
# whole (the summaries are not dumps any more to count), and the count
# goes on from the manifests.
file_sink_conf "keep_per_signature = 1" "repeats = remove"
start_server -c "$T/server.ini" --timeout 2
send_dump 0 "$C" -q -g 1M -s 385 --panic "${FAULT}00001000" -o "$T/sentC0"
wait_manifest "$DC" 0
wait_log "retention: removed dump 1 of ${B//./\\.} \\(${B//./\\.}/vmcore\\.1 \\+info\\.1, manifest\\.1\\.json; .*\\): keep_per_signature = 1: an older repeat of signature $S" 10
assert_no_file "$DB/vmcore.1"
assert_no_file "$DB/manifest.1.json"
assert_file "$DB/manifest.0.json"
assert_same_bytes "$DA/vmcore.0" "$T/sentA0"
assert_same_bytes "$DC/vmcore.0" "$T/sentC0"
assert_eq "$(jget "$DC/manifest.0.json" .signature.seen)" 5 "dumps of $S after the restart"
list --by-signature --json >"$T/sigs.json"
assert_eq "$(jq -r --arg s "$S" '.[] | select(.signature == $s) | "\(.dumps) \(.kept)"' "$T/sigs.json")" "5 2" "dumps and kept of $S"
pass "repeats = remove after a restart: $B's newer dump goes whole; the count says 5 dumps of $S, 2 kept whole"

# The only complete dump never goes for incomplete ones: a new signature,
# complete once, then incomplete twice.
send_dump 0 "$C" -q -g 1M -s 386 --panic "general protection fault" -o "$T/sentC1"
wait_manifest "$DC" 1
for s in 387 388; do
	send_dump 0 "$C" -q -g 1M -s $s --panic "general protection fault" --no-finished || true
done
wait_manifest "$DC" 3 30
wait_log "retention: removed dump 2 of ${C//./\\.} \\(${C//./\\.}/vmcore\\.2\\.incomplete .*keep_per_signature = 1: an incomplete repeat" 10
assert_same_bytes "$DC/vmcore.1" "$T/sentC1"
assert_file "$DC/vmcore.3.incomplete"
assert_no_log "retention: removed dump 1 of ${C//./\\.}" "the only complete dump of the signature"
pass "the only complete dump of a signature stays; of two incomplete repeats the older goes"
stop_server

# A manifest whose count is the largest JSON readers take (INT64_MAX:
# hand-edited, or a count that came that far): the next dump of the
# signature says as much again, not one more. One more was a number no
# reader takes (jansson refuses integers past INT64_MAX), and the dump
# fell out of --list, of retention and of the counts.
MAX=9223372036854775807
sed -i -E "s/\"seen\": [0-9]+/\"seen\": $MAX/" "$DC/manifest.0.json"
start_server -c "$T/server.ini" --timeout 2
send_dump 0 "$C" -q -g 1M -s 389 --panic "${FAULT}00001000" -o "$T/sentC4"
wait_manifest "$DC" 4
assert_eq "$(grep -oE '"seen": [0-9]+' "$DC/manifest.4.json")" "\"seen\": $MAX" \
    "the count after a manifest's INT64_MAX"
list --json >"$T/all.json"
assert_eq "$(jq -r --arg c "$C" '[.[] | select(.client == $c and (.manifest | endswith("manifest.4.json")))] | length' "$T/all.json")" 1 \
    "the dump after it in --list"
pass "a count of INT64_MAX in a manifest: the next dump says INT64_MAX and is listed"
stop_server
finish
