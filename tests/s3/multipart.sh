#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A 60 MiB dump streams into the bucket as a multipart upload of 12 parts
# while it arrives, and comes back byte-identical, with info and manifest
# beside it under the default key template; nothing is left in the spool
# or as an unfinished upload. Then the same without a spool (parts kept in
# memory), with a sparse dump, with a spool that has no room, with
# data that comes again after the stream passed it, and encrypted.
set -euo pipefail
NET=200
. "$(dirname "$0")/lib-s3.sh"

BUCKET=mp-$NET-$$
s3_mkbucket "$BUCKET"
write_conf "$T/s3.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
max_inflight_parts = 3
upload_threads = 3
retry_interval = 1
EOF
start_server -c "$T/s3.ini"

A=$(client_addr 1)
send_dump 0 "$A" -q -g 60M -z 0.3 -s 21 -H mp-host -o "$T/sent1"
wait_dumps "$A" 1
assert_log "dump [0-9]+ from ${A//./\\.} complete: 62914560 bytes" "complete line"
K=$(stored_key "$A")
assert_match "$K" "^${A//./\\.}/[0-9]{8}T[0-9]{6}Z-c-multipart-1/vmcore$" \
    "key of the vmcore (default key_template)"
pass "the dump is stored as s3://$BUCKET/$K"

s3_get "$BUCKET" "$K" "$T/got1"
assert_same_bytes "$T/got1" "$T/sent1"
etag=$(s3_etag "$BUCKET" "$K")
assert_match "$etag" '-12$' "ETag of the vmcore (a 12-part upload)"
pass "downloaded back byte-identical (sha256 $(sha_of "$T/got1")), ETag $etag: 12 parts of 5 MiB"

DIR=${K%/vmcore}
s3_get "$BUCKET" "$DIR/info" "$T/info1"
grep -q "Hostname: mp-host" "$T/info1" || fail "info lacks the hostname"
s3_get "$BUCKET" "$DIR/manifest.json" "$T/manifest1"
assert_eq "$(jq -r .status "$T/manifest1")" complete "manifest status"
assert_eq "$(jq -r '.objects[] | select(.kind == "vmcore") | .sha256' "$T/manifest1")" \
    "$(sha_of "$T/sent1")" "vmcore sha256 in the manifest"
assert_eq "$(jq -r '.objects[] | select(.kind == "vmcore") | .stored.bucket' "$T/manifest1")" \
    "s3://$BUCKET/$K" "where the manifest says the vmcore is"
assert_eq "$(jq -r '.sinks[0].result' "$T/manifest1")" ok "sink result"
pass "info and manifest.json are beside it; the manifest has its sha256 and its s3:// place"

assert_eq "$(s3_uploads "$BUCKET")" "" "multipart uploads left in progress"
poll 10 _spool_empty || fail "spool not empty: $(spool_folders)"
assert_no_log "pending|SignatureDoesNotMatch|failed" "errors"
pass "no unfinished upload in the bucket, nothing left in the spool"

# A second dump from the same client: a key of its own.
send_dump 0 "$A" -q -g 6M -s 22 -o "$T/sent2"
wait_dumps "$A" 2
K2=$(stored_key "$A" 2)
[ "$K2" != "$K" ] || fail "second dump got the first one's key"
s3_get "$BUCKET" "$K2" "$T/got2"
assert_same_bytes "$T/got2" "$T/sent2"
pass "a second 6 MiB dump (two parts) has a key of its own and is identical"
stop_server

# An incomplete dump: its name is known only at the end (vmcore.incomplete),
# after its upload began as "vmcore"; that upload is aborted and the dump
# goes up again from the spool under its own name, by the outbox.
DUMP_TIMEOUT=2 write_conf "$T/inc.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
prefix = inc/
EOF
start_server -c "$T/inc.ini"
send_dump 3 "$A" -q -g 32M -z 0.3 -s 24 --stop-after 16M -o "$T/sent4"
wait_dumps "$A" 1
assert_log "dump [0-9]+ from ${A//./\\.} incomplete" "incomplete line"
K4=$(stored_key "$A")
assert_match "$K4" '^inc/.*/vmcore\.incomplete$' "key of the incomplete vmcore"
# Sent again from the spool by the outbox once the dump ended.
s3_wait "$BUCKET" "$K4"
s3_get "$BUCKET" "$K4" "$T/got4"
[ "$(size_of "$T/got4")" -ge $((16 << 20)) ] || fail "only $(size_of "$T/got4") bytes stored"
cmp -s -n $((16 << 20)) "$T/got4" "$T/sent4" || fail "the first 16 MiB differ"
if s3_exists "$BUCKET" "${K4%.incomplete}"; then
	fail "the first key ${K4%.incomplete} is still there"
fi
assert_eq "$(s3_uploads "$BUCKET")" "" "multipart uploads left in progress"
# Its info and manifest follow it: nothing of the dump stays in the spool.
poll 30 _spool_empty || fail "spool not empty: $(spool_folders)"
pass "an incomplete dump whose upload began as vmcore went up as vmcore.incomplete ($(size_of "$T/got4") bytes, the 16 MiB sent intact)"
stop_server

# Without a spool: parts wait in memory; a sparse dump, mostly holes.
write_conf "$T/mem.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
max_inflight_parts = 2
spool = no
prefix = mem/
EOF
start_server -c "$T/mem.ini"
send_dump 0 "$A" -q -g 64M -z 0.9 -s 23 -o "$T/sent3"
wait_dumps "$A" 1
K3=$(stored_key "$A")
assert_match "$K3" "^mem/" "key with the prefix"
s3_get "$BUCKET" "$K3" "$T/got3"
assert_same_bytes "$T/got3" "$T/sent3"
assert_match "$(s3_etag "$BUCKET" "$K3")" '-13$' "ETag of the memory upload"
assert_eq "$(s3_uploads "$BUCKET")" "" "multipart uploads left in progress"
pass "spool = no: a 64 MiB sparse dump went from memory in 13 parts, identical"
stop_server

# No room for the spool (spool_min_free above any disk here): the host's
# free-space check says so, the dump goes from memory, and nothing is lost.
write_conf "$T/full.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
spool_min_free = 1048576T
prefix = full/
EOF
start_server -c "$T/full.ini"
send_dump 0 "$A" -q -g 12M -z 0.3 -s 25 -o "$T/sent5"
wait_dumps "$A" 1
assert_log "no room in .* \\([0-9]+ bytes free, below the sink's reserve \\([0-9]+\\)\\); not spooled, sent straight to the store" "no-room line"
K5=$(stored_key "$A")
assert_match "$K5" "^full/" "key with the prefix"
s3_get "$BUCKET" "$K5" "$T/got5"
assert_same_bytes "$T/got5" "$T/sent5"
poll 10 _spool_empty || fail "spool not empty: $(spool_folders)"
pass "no room for the spool: said, and the 12 MiB dump went from memory, identical"
stop_server

# Late data straight to the bucket: a MiB of the first part comes again
# after the stream has passed it (ndfault.py --late; a retransmission the
# kernel sends after later data). The spool takes it, the part that held
# it goes up again, and the object is the sent image.
write_conf "$T/late.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
prefix = late/
EOF
start_server -c "$T/late.ini"
L=$(client_addr 4)
timeout $((120 * WAIT_SCALE)) python3 "$(dirname "$0")/../faults/ndfault.py" \
    dump "$PORT" "$L" "$T/sentL" --size $((12 << 20)) --seed 255 \
    --late 1048576-2097152 >"$T/nd.L.log" 2>&1 ||
	{ cat "$T/nd.L.log" >&2; fail "ndfault.py dump with a late MiB failed"; }
wait_dumps "$L" 1
assert_log "dump [0-9]+ from ${L//./\\.} complete" "complete line"
KL=$(stored_key "$L")
assert_match "$KL" "^late/.*/vmcore$" "key of the vmcore with late data"
s3_get "$BUCKET" "$KL" "$T/gotL"
assert_same_bytes "$T/gotL" "$T/sentL"
assert_eq "$(s3_uploads "$BUCKET")" "" "multipart uploads left in progress"
pass "a MiB sent again after the stream passed it: the part went up again, the 12 MiB object is identical"

# An encrypted dump: the key comes first (as 13+ kernels send it) and is
# stored while the vmcore streams, without the worker waiting on the
# store: it waits in the spool, named in the record, and goes up once
# the dump ends, beside the vmcore, both byte for byte.
E=$(client_addr 5)
send_dump 0 "$E" -q -g 12M -s 256 --ekcd aes256-cbc --key-out "$T/keyE" \
    -o "$T/sentE"
wait_dumps "$E" 1
KE=$(stored_key "$E")
assert_match "$KE" "^late/.*/vmcore_encrypted$" "key of the encrypted vmcore"
# Its upload began under the guess "vmcore": sent again by the outbox.
s3_wait "$BUCKET" "$KE"
s3_get "$BUCKET" "$KE" "$T/gotE"
assert_same_bytes "$T/gotE" "$T/sentE"
s3_wait "$BUCKET" "${KE%/*}/key"
s3_get "$BUCKET" "${KE%/*}/key" "$T/gotkeyE"
assert_same_bytes "$T/gotkeyE" "$T/keyE"
s3_wait "$BUCKET" "${KE%/*}/manifest.json"
poll 15 _spool_empty || fail "spool not empty: $(spool_folders)"
assert_eq "$(s3_uploads "$BUCKET")" "" "multipart uploads left in progress"
pass "an encrypted dump: vmcore_encrypted and its key in the store, identical, the spool empty"
stop_server
pass "server exited 0 on SIGTERM"
finish
