#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The server is killed (SIGKILL: no close, no end) in the middle of a dump
# going to S3, and started again on the same spool. While the dump
# arrived, its spool folder's pending record named the vmcore as arriving
# (no size, its incomplete key) and its multipart upload as one to abort;
# the restarted server finds the folder's lock free with the record still
# so, aborts that upload and uploads what the spool holds under the
# incomplete name: every page as sent or a hole, nothing under the
# complete name, no upload left, the spool emptied. A dump that ends normally leaves
# no record behind (the multipart and outage tests check the spool).
set -euo pipefail
NET=208
. "$(dirname "$0")/lib-s3.sh"

BUCKET=sk-$NET-$$
s3_mkbucket "$BUCKET"
write_conf "$T/s3.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
retry_interval = 1
retry_max_interval = 2
EOF
DUMP_TIMEOUT=30
start_server -c "$T/s3.ini"
A=$(client_addr 1)

# A slow client: 64 MiB at 20 % loss with 200 ms rounds takes minutes.
send_bg "$A" -q -g 64M -s 431 -t 200 -r 40 --loss 0.2 -o "$T/sent"
CPID=$BG_PID
# Past the first 5 MiB part: the multipart upload is under way.
_spooled() {
	local v

	F=$(spool_folders)
	[ -n "$F" ] || return 1
	v=$(find "$SPOOL/$F" -name '*-vmcore' | head -1)
	[ -n "$v" ] && [ "$(size_of "$v")" -ge $((6 << 20)) ] &&
	    [ -n "$(s3_uploads "$BUCKET")" ]
}
poll 40 _spooled || fail "no vmcore of 6 MiB in the spool, or no upload under way"
kill -0 "$CPID" 2>/dev/null || fail "the client ended before the kill"

kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
kill -TERM "$CPID" 2>/dev/null || true
wait "$CPID" 2>/dev/null || true
R=$SPOOL/$F/pending
V=$(find "$SPOOL/$F" -name '*-vmcore')
cp --sparse=always "$V" "$T/spooled"
[ -f "$R" ] || fail "no pending record in the killed dump's spool folder"
grep -q '^arriving = yes$' "$R" || fail "the record does not name the vmcore arriving: $(cat "$R")"
IKEY=$(sed -n 's/^key = //p' "$R")
assert_match "$IKEY" "^${A//./\\.}/[0-9]{8}T[0-9]{6}Z-c-server_killed-[0-9]+/vmcore\.incomplete$" \
    "the arriving vmcore's key in the record"
! grep -q '^size = ' "$R" || fail "the record gives the arriving vmcore a size: $(cat "$R")"
UPLOADING=$(s3_uploads "$BUCKET")
grep -q '^stale_id = ' "$R" || fail "the record does not name the upload under way ($UPLOADING): $(cat "$R")"
pass "SIGKILL with $(size_of "$T/spooled") bytes spooled, the record naming the vmcore arriving under $IKEY"

start_server -c "$T/s3.ini"
wait_log "dump [0-9]+ from ${A//./\\.}: the server stopped while it arrived; the $(size_of "$T/spooled") bytes spooled .* go to s3://$BUCKET/${IKEY//./\\.}$" 30
wait_log "uploaded s3://$BUCKET/${IKEY//./\\.} " 60
s3_get "$BUCKET" "$IKEY" "$T/got"
assert_same_bytes "$T/got" "$T/spooled"
assert_sent_or_holes "$T/got" "$T/sent"
! s3_exists "$BUCKET" "${IKEY%.incomplete}" ||
	fail "the cut dump is also under the complete name ${IKEY%.incomplete}"
poll 15 _spool_empty || fail "spool not empty: $(spool_folders)"
assert_eq "$(s3_uploads "$BUCKET")" "" "uploads in progress after the restart (the killed one: $UPLOADING)"
pass "the restarted server aborted the killed server's upload and uploaded the spooled $(size_of "$T/got") bytes as s3://$BUCKET/$IKEY, every page as sent or a hole"

# The restarted server serves; its dump ends and leaves nothing spooled.
send_dump 0 "$A" -q -g 6M -s 432 -o "$T/sent2"
wait_dumps "$A" 1
K=$(stored_key "$A")
s3_get "$BUCKET" "$K" "$T/got2"
assert_same_bytes "$T/got2" "$T/sent2"
poll 15 _spool_empty || fail "spool not empty after a dump that ended: $(spool_folders)"
pass "the next dump is stored whole as s3://$BUCKET/$K and leaves the spool empty"
stop_server
finish
