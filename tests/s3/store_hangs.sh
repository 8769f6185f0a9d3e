#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The store stops answering (a gateway of this test's own, SIGSTOPped: its
# socket still takes connections, nothing comes back) while an encrypted
# dump arrives. The key comes first, as a FreeBSD 13+ kernel sends it
# (netdump_client.c, netdump_start), and is stored as soon as it is whole,
# in the middle of the dump: the dump's worker must not wait on the store
# for it, or the receiver runs out of buffers, stops acking, and the
# client gives up. The dump is received complete; once the gateway goes
# on, the spool uploads the key and the vmcore, identical.
set -euo pipefail
NET=234
. "$(dirname "$0")/lib-s3.sh"

store_own hang hang
write_conf "$T/s3.ini" "$EP" "$BUCKET" bucket <<'OPTS'
part_size = 5M
retries = 1
connect_timeout = 2
stall_timeout = 5
retry_interval = 1
retry_max_interval = 2
OPTS
start_server -c "$T/s3.ini"

GW_PID=$(cat "$RGW_DIR/run/client.rgw.hang.pid")
kill -STOP "$GW_PID"
curl -s -m 2 -o /dev/null "$EP/" && fail "the stopped gateway still answers"
A=$(client_addr 1)
send_dump 0 "$A" -q -g 24M -z 0.3 -s 51 --ekcd aes256-cbc \
    --key-out "$T/key.sent" -o "$T/sent"
pass "an encrypted 24 MiB dump received in $SEND_MS ms while the store hangs"
wait_dumps "$A" 1 60
assert_log "dump [0-9]+ from ${A//./\\.} complete: 25165824 bytes" "complete line"
assert_log "upload pending, spooled in ${SPOOL//./\\.}/" "where says pending"
[ "$(spool_folders | wc -l)" -eq 1 ] || fail "expected one spool folder: $(spool_folders)"
pass "the dump is complete and waits in the spool"

kill -CONT "$GW_PID"
wait_log "uploaded s3://$BUCKET/.*/vmcore_encrypted " 60
poll 30 _spool_empty || fail "spool not empty: $(spool_folders)"
K=$(stored_key "$A")
assert_match "$K" "/vmcore_encrypted$" "the vmcore's key"
s3_get "$BUCKET" "$K" "$T/got" "$EP"
assert_same_bytes "$T/got" "$T/sent"
s3_get "$BUCKET" "${K%/vmcore_encrypted}/key" "$T/got.key" "$EP"
assert_same_bytes "$T/got.key" "$T/key.sent"
s3_exists "$BUCKET" "${K%/vmcore_encrypted}/manifest.json" "$EP" ||
	fail "no manifest.json beside $K"
# The one upload the sink began (under the guess "vmcore") it gave up
# waiting for; the gateway, going on, may still carry it out: an upload
# the sink never learned of, for the bucket's lifecycle rule (ini(5)).
# None under the names stored.
assert_eq "$(s3_uploads "$BUCKET" "$EP" | grep -v '/vmcore$' || true)" "" \
    "uploads in progress but the guess's"
pass "the store answers again: vmcore_encrypted and key uploaded, identical; the spool is empty"
stop_server
finish
