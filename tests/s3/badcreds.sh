#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Wrong credentials: the store refuses (403 SignatureDoesNotMatch); the
# server says so clearly, naming bucket and endpoint and what to check,
# never printing a secret; the dump is received all the same and waits in
# the spool with a pending record. After a restart with the right
# credentials (from credentials_file) the background thread uploads it,
# and the manifest in the bucket no longer says "pending". Nothing lost.
# A credentials_file put right while the server runs is read again by the
# next request: no reload, no restart.
set -euo pipefail
NET=203
. "$(dirname "$0")/lib-s3.sh"

BUCKET=bc-$NET-$$
s3_mkbucket "$BUCKET"
WRONG=Wrong-Secret-$$
write_conf "$T/s3.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
retry_interval = 1
retry_max_interval = 2
EOF
export AWS_SECRET_ACCESS_KEY=$WRONG
start_server -c "$T/s3.ini"
A=$(client_addr 1)
send_dump 0 "$A" -q -g 24M -s 31 -H bc-host -o "$T/sent"
wait_dumps "$A" 1
assert_log "dump [0-9]+ from ${A//./\\.} complete: 25165824 bytes" "complete line"
pass "the dump was received complete (24 MiB in ${SEND_MS} ms) although the store refuses"

assert_log "HTTP 403 SignatureDoesNotMatch" "the store's refusal"
assert_log "bucket $BUCKET at ${RGW_ENDPOINT//./\\.}: HTTP 403" "bucket and endpoint in the error"
assert_log "check AWS_SECRET_ACCESS_KEY or credentials_file" "what to check"
assert_log "upload pending, spooled in ${SPOOL//./\\.}/" "where says pending"
if grep -qF -- "$WRONG" "$T"/server.*.log; then
	fail "the secret key appears in the log"
fi
pass "clear error: $(grep -m1 -o 'CreateMultipartUpload to bucket.*credentials_file' "$SERVER_LOG")"

F=$(spool_folders)
[ "$(echo "$F" | wc -l)" -eq 1 ] && [ -n "$F" ] || fail "expected one spool folder, got: $F"
R=$SPOOL/$F/pending
[ -f "$R" ] || fail "no pending record in $SPOOL/$F"
grep -q "^bucket = $BUCKET\$" "$R" || fail "the record does not name the bucket"
V=$(find "$SPOOL/$F" -name '*-vmcore')
assert_same_bytes "$V" "$T/sent"
M=$(find "$SPOOL/$F" -name '*-manifest')
assert_eq "$(jq -r '.objects[] | select(.kind == "vmcore") | .stored.bucket' "$M")" \
    "s3://$BUCKET/$(stored_key "$A") (upload pending, spooled in $SPOOL/$F)" \
    "the spooled manifest says where the dump is and that the upload is pending"
assert_eq "$(s3_keys "$BUCKET")" "" "objects in the bucket"
assert_eq "$(s3_uploads "$BUCKET")" "" "uploads in progress"
pass "the dump is in $SPOOL/$F, identical, with its pending record; nothing in the bucket"

# The background thread keeps trying, and keeps being refused.
sleep 3
[ -f "$R" ] || fail "the pending record went away while the store refuses"
stop_server
pass "server exited 0 with the dump still pending"

# Right credentials, from a file this time (the environment stays wrong).
printf '[other]\naws_access_key_id = nobody\naws_secret_access_key = x\n\n[netdump]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$T/credentials"
chmod 600 "$T/credentials"
write_conf "$T/s3b.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
retry_interval = 1
credentials_file = $T/credentials
profile = netdump
EOF
start_server -c "$T/s3b.ini"
K=$(grep -m1 -o "s3://$BUCKET/[^ ]*/vmcore" "$T/server.1.log" | sed "s|s3://$BUCKET/||")
wait_log "uploaded s3://$BUCKET/${K//./\\.} " 30
wait_log "uploaded s3://$BUCKET/.*/manifest\.json" 30
poll 10 _spool_empty || fail "spool not empty after the upload: $(spool_folders)"
pass "after the restart the pending dump was uploaded: $(grep -m1 -o 'uploaded s3://.*/vmcore.*' "$SERVER_LOG")"

s3_get "$BUCKET" "$K" "$T/got"
assert_same_bytes "$T/got" "$T/sent"
s3_get "$BUCKET" "${K%/vmcore}/manifest.json" "$T/manifest"
assert_eq "$(jq -r '.objects[] | select(.kind == "vmcore") | .stored.bucket' "$T/manifest")" \
    "s3://$BUCKET/$K" "where the uploaded manifest says the vmcore is"
s3_get "$BUCKET" "${K%/vmcore}/info" "$T/info"
grep -q "Hostname: bc-host" "$T/info" || fail "info lacks the hostname"
assert_eq "$(s3_uploads "$BUCKET")" "" "uploads in progress"
if grep -qF -e "$WRONG" -e "$S3_SECRET_KEY" "$T"/server.*.log; then
	fail "a secret key appears in a log"
fi
pass "vmcore identical, info there, manifest in the bucket without the pending note; no secret in any log"
stop_server

# The file wrong, then put right (a new file renamed over it, as tools
# that rotate credentials do) while the server runs.
creds() {	# SECRET
	printf '[netdump]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	    "$S3_ACCESS_KEY" "$1" >"$T/credentials.new"
	chmod 600 "$T/credentials.new"
	mv "$T/credentials.new" "$T/credentials"
}
creds "$WRONG"
write_conf "$T/s3c.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
retry_interval = 1
retry_max_interval = 2
credentials_file = $T/credentials
profile = netdump
EOF
start_server -c "$T/s3c.ini"
B=$(client_addr 2)
send_dump 0 "$B" -q -g 8M -s 32 -o "$T/sentB"
wait_dumps "$B" 1
assert_log "bucket $BUCKET at ${RGW_ENDPOINT//./\\.}: HTTP 403" "the refusal with the file wrong"
creds "$S3_SECRET_KEY"
wait_log "credentials_file ${T//./\\.}/credentials changed: read again" 30
KB=$(stored_key "$B")
wait_log "uploaded s3://$BUCKET/${KB//./\\.} " 30
poll 10 _spool_empty || fail "spool not empty after the upload: $(spool_folders)"
s3_get "$BUCKET" "$KB" "$T/gotB"
assert_same_bytes "$T/gotB" "$T/sentB"
if grep -qF -e "$WRONG" -e "$S3_SECRET_KEY" "$T"/server.*.log; then
	fail "a secret key appears in a log"
fi
pass "the credentials file put right while the server runs: read again, the pending dump uploaded, identical"
stop_server
finish
