#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A spool file loses bytes while its dump waits for the store (here it is
# cut by hand while the server is down, as a crash of the file system or
# a full disk could): the restarted server's background thread says so,
# relabels the object in the pending record, and once the store is back
# uploads what is left under the object's incomplete name, with its real
# length, never padded with zeros under the final name. A spool file that
# gained bytes, and a record cut short, lose nothing either.
set -euo pipefail
NET=206
. "$(dirname "$0")/lib-s3.sh"

store_down cut ct
write_conf "$T/s3.ini" "$EP" "$BUCKET" bucket <<<"$SPOOL_RETRY_OPTIONS"
start_server -c "$T/s3.ini"
A=$(client_addr 1)
SIZE=$((24 * 1048576))
send_dump 0 "$A" -q -g 24M -z 0.3 -s 61 -o "$T/sent"
wait_dumps "$A" 1
assert_log "dump [0-9]+ from ${A//./\\.} complete: $SIZE bytes" "complete line"
assert_log "upload pending, spooled in ${SPOOL//./\\.}/" "where says pending"
K=$(stored_key "$A")
assert_match "$K" "/vmcore$" "the vmcore's key"
F=$(spool_folders)
[ -n "$F" ] && [ "$(echo "$F" | wc -l)" -eq 1 ] ||
	fail "expected one spool folder: $F"
R=$SPOOL/$F/pending
wait_file "$R"
V=$(find "$SPOOL/$F" -name '*-vmcore')
assert_same_bytes "$V" "$T/sent"
grep -qx "size = $SIZE" "$R" || fail "the record does not claim $SIZE bytes: $(cat "$R")"
pass "the dump was received complete with the store down; spooled, its record claims $SIZE bytes"
stop_server

# Not on a part boundary, and past the first part: the upload is multipart.
CUT=$((7 * 1048576 + 12345))
truncate -s "$CUT" "$V"
pass "the spool file was cut to $CUT bytes while the server was down"

# Restarted with the store still down: the cut is found, told, and put in
# the record, so that the next run (or an older one) does the same.
start_server -c "$T/s3.ini"
wait_log "holds $CUT bytes, its pending record says $SIZE" 30
assert_log "spool file ${SPOOL//./\\.}/$F/[0-9]+-vmcore holds $CUT bytes, its pending record says $SIZE: .* go to s3://$BUCKET/${K//./\\.}\.incomplete, nothing to s3://$BUCKET/${K//./\\.}\$" \
    "the log names the cut, both sizes and both keys"
stop_server
grep -qx "key = $K.incomplete" "$R" && grep -qx "size = $CUT" "$R" &&
    grep -qx "expected = $SIZE" "$R" ||
	fail "the record was not relabelled: $(cat "$R")"
assert_eq "$(size_of "$V")" "$CUT" "size of the spool file"
pass "the cut was told and the record now says $CUT bytes under $K.incomplete"

gw_start cut
[ "$GW_ENDPOINT" = "$EP" ] || fail "the gateway came back on another port"
start_server -c "$T/s3.ini"
# The manifest goes last, after the vmcore.
wait_log "uploaded s3://$BUCKET/.*/manifest\.json" 60
poll 15 _spool_empty || fail "spool not empty: $(spool_folders)"

s3_get "$BUCKET" "$K.incomplete" "$T/got" "$EP"
assert_eq "$(size_of "$T/got")" "$CUT" "size of s3://$BUCKET/$K.incomplete"
assert_prefix_of "$T/got" "$T/sent"
if s3_exists "$BUCKET" "$K" "$EP"; then
	fail "an object under the final name s3://$BUCKET/$K"
fi
s3_exists "$BUCKET" "${K%/vmcore}/manifest.json" "$EP" ||
	fail "no manifest.json beside $K"
assert_eq "$(s3_uploads "$BUCKET" "$EP")" "" "uploads in progress"
pass "s3://$BUCKET/$K.incomplete holds exactly the $CUT bytes that were left, nothing is under $K"

assert_log "uploaded s3://$BUCKET/${K//./\\.}\.incomplete \(pending since [0-9]+ s\), only $CUT of $SIZE bytes" \
    "the upload line says it is short"
assert_no_log "uploaded s3://$BUCKET/${K//./\\.} " "an upload under the final name"
assert_no_log "holds $CUT bytes, its pending record says" "the cut told again"
pass "the upload says what was lost; the cut was told once"
stop_server

# The other ways a spool folder and its record disagree, with the store
# down again: a spool file that gained bytes (what was judged and recorded
# goes, the file stays for whoever looks), and a record cut short at a
# line's end (refused whole: its missing size is not read as 0 bytes to
# upload under the final name, nor is its spool removed).
gw_stop cut
start_server -c "$T/s3.ini"
B=$(client_addr 2)
C=$(client_addr 3)
BSIZE=$((8 * 1048576))
send_dump 0 "$B" -q -g 8M -z 0.3 -s 62 -o "$T/sentB"
send_dump 0 "$C" -q -g 8M -z 0.3 -s 63 -o "$T/sentC"
wait_dumps "$B" 1
wait_dumps "$C" 1
stop_server
FB=$(grep -lx "client = $B" "$SPOOL"/*/pending | xargs dirname)
FC=$(grep -lx "client = $C" "$SPOOL"/*/pending | xargs dirname)
[ -d "$FB" ] && [ -d "$FC" ] || fail "no spool folders for $B and $C: $(spool_folders)"
VB=$(find "$FB" -name '*-vmcore')
VC=$(find "$FC" -name '*-vmcore')
KB=$(stored_key "$B")
head -c 4096 /dev/urandom >>"$VB"
sed -i '/^size = /,$d' "$FC/pending"
grep -q "^key = " "$FC/pending" && ! grep -q "^size = " "$FC/pending" ||
	fail "the record was not cut after a key: $(cat "$FC/pending")"
pass "spooled with the store down; $B's vmcore spool file gained 4096 bytes, $C's record was cut before its first size"

gw_start cut
start_server -c "$T/s3.ini"
wait_log "uploaded s3://$BUCKET/${KB//./\\.} " 60
wait_log "${FC//./\\.}: pending: no end line: the record was cut short; left alone" 30
assert_log "${VB//./\\.}: $((BSIZE + 4096)) bytes, the record says $BSIZE; uploading $BSIZE \(what was judged\)" \
    "the longer spool file told"
KEPT=$SPOOL/.kept-${FB##*/}-${VB##*/}
wait_log "${VB//./\\.} held more than its record says: kept as ${KEPT//./\\.}, to remove by hand" 30
s3_get "$BUCKET" "$KB" "$T/gotB" "$EP"
assert_same_bytes "$T/gotB" "$T/sentB"
assert_eq "$(size_of "$KEPT")" "$((BSIZE + 4096))" "size of the kept spool file"
_folder_gone() { [ ! -e "$FB" ]; }
poll 30 _folder_gone || fail "$FB stays: $(ls -A "$FB")"
pass "s3://$BUCKET/$KB holds the $BSIZE bytes received; the longer spool file is kept beside, out of the outbox's way; its folder is gone"
assert_no_log "uploaded s3://$BUCKET/.*${C//./\\.}" "an upload of $C's dump"
assert_same_bytes "$VC" "$T/sentC"
pass "the cut record is left alone (logged), its spool file kept whole, nothing of it uploaded"
stop_server
finish
