#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The server is killed (SIGKILL: no close, no end) in the middle of a dump
# going to S3 through two chains into one sink ("bucket, zstd | bucket"),
# and started again on the same spool. While the dump arrived, each copy's
# spool folder had a pending record naming its vmcore as arriving (no
# size, an incomplete key of its own: the zstd copy's is vmcore.copy1,
# as its suffix comes only with its close) and its multipart upload as one
# to abort; the restarted server finds the folders' locks free with the
# records still so, aborts the uploads and uploads what the spool holds
# under the incomplete names: the raw copy every page as sent or a hole,
# the zstd copy a prefix of a zstd stream of what was sent, nothing under
# a complete name, no upload left, the spool emptied. A dump that ends
# normally leaves no record behind.
set -euo pipefail
NET=208
. "$(dirname "$0")/lib-s3.sh"

if [ ! -f "$ND_SINK_DIR/zstd.so" ]; then
	echo "SKIP ($TEST_NAME): no zstd module in $ND_SINK_DIR"
	exit 77
fi
command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }

BUCKET=sk-$NET-$$
s3_mkbucket "$BUCKET"
EXTRA=$'[sink zstd]\nmodule = zstd\nlevel = 1' \
    write_conf "$T/s3.ini" "$RGW_ENDPOINT" "$BUCKET" "bucket, zstd | bucket" <<EOF
part_size = 5M
retry_interval = 1
retry_max_interval = 2
EOF
DUMP_TIMEOUT=30
start_server -c "$T/s3.ini"
A=$(client_addr 1)
DIR_RE="${A//./\\.}/[0-9]{8}T[0-9]{6}Z-c-server_killed-[0-9]+"

# A slow client: 64 MiB at 20 % loss with 200 ms rounds takes minutes.
send_bg "$A" -q -g 64M -s 431 -t 200 -r 40 --loss 0.2 -o "$T/sent"
CPID=$BG_PID
# The folder of the copy whose arriving key ends in KEY-END, or nothing.
folder_of() {	# KEY-END
	local f

	for f in $(spool_folders); do
		if grep -q "^key = .*/$1\$" "$SPOOL/$f/pending" 2>/dev/null; then
			echo "$f"
			return 0
		fi
	done
}
# Past the raw copy's first 5 MiB part: its multipart upload is under way.
_spooled() {
	local v

	RAW=$(folder_of vmcore.incomplete)
	ZST=$(folder_of vmcore.copy1.incomplete)
	[ -n "$RAW" ] && [ -n "$ZST" ] || return 1
	v=$(find "$SPOOL/$RAW" -name '*-vmcore' | head -1)
	[ -n "$v" ] && [ "$(size_of "$v")" -ge $((6 << 20)) ] &&
	    grep -q '^stale_id = ' "$SPOOL/$RAW/pending"
}
poll 40 _spooled || fail "no copy of 6 MiB with its upload named in the spool: $(spool_folders)"
kill_server_mid_dump "$CPID"
UPLOADING=$(s3_uploads "$BUCKET")
[ -n "$UPLOADING" ] || fail "no multipart upload left by the killed server"
for c in RAW ZST; do
	R=$SPOOL/${!c}/pending
	cp --sparse=always "$(find "$SPOOL/${!c}" -name '*-vmcore')" "$T/spooled.$c"
	! grep -q '^size = ' "$R" || fail "the record gives the arriving vmcore a size: $(cat "$R")"
	grep -q '^arriving = yes$' "$R" || fail "the record does not name the vmcore arriving: $(cat "$R")"
done
IKEY=$(sed -n 's/^key = //p' "$SPOOL/$RAW/pending")
ZKEY=$(sed -n 's/^key = //p' "$SPOOL/$ZST/pending")
assert_match "$IKEY" "^$DIR_RE/vmcore\.incomplete$" "the raw copy's arriving key"
assert_match "$ZKEY" "^$DIR_RE/vmcore\.copy1\.incomplete$" "the zstd copy's arriving key"
pass "SIGKILL with $(size_of "$T/spooled.RAW") and $(size_of "$T/spooled.ZST") bytes spooled, the records naming the copies arriving under $IKEY and $ZKEY, and the upload under way"

start_server -c "$T/s3.ini"
for k in "$IKEY:RAW" "$ZKEY:ZST"; do
	key=${k%:*}
	wait_log "dump [0-9]+ from ${A//./\\.}: the server stopped while it arrived; the $(size_of "$T/spooled.${k##*:}") bytes spooled .* go to s3://$BUCKET/${key//./\\.}$" 30
	wait_log "uploaded s3://$BUCKET/${key//./\\.} " 60
	s3_get "$BUCKET" "$key" "$T/got.${k##*:}"
	assert_same_bytes "$T/got.${k##*:}" "$T/spooled.${k##*:}"
done
assert_sent_or_holes "$T/got.RAW" "$T/sent"
# A zstd stream cut short: what decodes is the start of what was sent.
zstd -dcq "$T/got.ZST" >"$T/got.ZST.raw" 2>/dev/null || true
assert_gt "$(size_of "$T/got.ZST.raw")" 0 "bytes the cut zstd copy decodes to"
assert_prefix_of "$T/got.ZST.raw" "$T/sent"
for key in "$IKEY" "$ZKEY"; do
	! s3_exists "$BUCKET" "${key%.incomplete}" ||
		fail "a cut copy is also under ${key%.incomplete}"
done
! s3_exists "$BUCKET" "${IKEY%.incomplete}.zst" || fail "a cut copy is under vmcore.zst"
poll 15 _spool_empty || fail "spool not empty: $(spool_folders)"
assert_eq "$(s3_uploads "$BUCKET")" "" "uploads in progress after the restart (the killed ones: $UPLOADING)"
pass "the restarted server aborted the killed server's uploads and uploaded both copies as they were spooled ($(size_of "$T/got.RAW") bytes, every page as sent or a hole; $(size_of "$T/got.ZST") bytes of zstd decoding to the first $(size_of "$T/got.ZST.raw") bytes sent)"

# The restarted server serves; its dump ends and leaves nothing spooled.
send_dump 0 "$A" -q -g 6M -s 432 -o "$T/sent2"
wait_dumps "$A" 1
K=$(stored_key "$A")
s3_get "$BUCKET" "$K" "$T/got2"
assert_same_bytes "$T/got2" "$T/sent2"
s3_wait "$BUCKET" "$K.zst"
poll 15 _spool_empty || fail "spool not empty after a dump that ended: $(spool_folders)"
pass "the next dump is stored whole as s3://$BUCKET/$K and $K.zst and leaves the spool empty"
stop_server
finish
