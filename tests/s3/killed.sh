#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The gateway is killed (SIGKILL) in the middle of a multipart upload: the
# dump is still received whole and spooled, the upload that could not be
# aborted is remembered in the pending record, and when the gateway is
# back the background thread aborts it (no orphaned upload stays) and
# uploads the dump again, byte-identical.
set -euo pipefail
NET=205
. "$(dirname "$0")/lib-s3.sh"

store_own killed kd

# One part at a time, so the upload is still going when the kill comes.
write_conf "$T/s3.ini" "$EP" "$BUCKET" bucket <<EOF
part_size = 5M
max_inflight_parts = 1
upload_threads = 1
retries = 2
connect_timeout = 2
retry_interval = 1
retry_max_interval = 2
EOF
start_server -c "$T/s3.ini"
A=$(client_addr 1)
send_bg "$A" -q -g 200M -z 0.2 -s 51 -o "$T/sent"
SEND=$BG_PID

_upload_started() {
	UPLOADING=$(s3_uploads "$BUCKET" "$EP" 2>/dev/null)
	[ -n "$UPLOADING" ]
}
poll 60 _upload_started || fail "no multipart upload started"
gw_stop killed KILL
pass "the gateway was killed while the upload of $UPLOADING was under way"

wait_bg "$SEND" 0 "$A"
wait_dumps "$A" 1 120
assert_log "dump [0-9]+ from ${A//./\\.} complete: 209715200 bytes" "complete line"
assert_log "upload pending, spooled in ${SPOOL//./\\.}/" "where says pending"
F=$(spool_folders)
R=$SPOOL/$F/pending
[ -f "$R" ] || fail "no pending record"
STALE=$(sed -n 's/^stale = //p' "$R")
[ -n "$STALE" ] || fail "the record has no upload to abort: $(cat "$R")"
V=$(find "$SPOOL/$F" -name '*-vmcore')
assert_same_bytes "$V" "$T/sent"
pass "the 200 MiB dump was received complete and is in the spool, the upload to abort in its record"

gw_start killed
K=$(stored_key "$A")
wait_log "uploaded s3://$BUCKET/${K//./\\.} " 60
wait_log "uploaded s3://$BUCKET/.*/manifest\.json" 30
poll 15 _spool_empty || fail "spool not empty: $(spool_folders)"
assert_eq "$(s3_uploads "$BUCKET" "$EP")" "" "uploads in progress after the retry"
s3_get "$BUCKET" "$K" "$T/got" "$EP"
assert_same_bytes "$T/got" "$T/sent"
pass "the interrupted upload ($STALE) was aborted, the dump uploaded again, identical"
stop_server
finish
