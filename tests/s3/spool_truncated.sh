#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A spool file loses bytes while its dump waits for the store (here it is
# cut by hand while the server is down, as a crash of the file system or
# a full disk could): the restarted server's background thread says so,
# relabels the object in the pending record, and once the store is back
# uploads what is left under the object's incomplete name, with its real
# length, never padded with zeros under the final name.
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
finish
