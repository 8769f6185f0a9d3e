#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The store is down before the dumps come (a gateway of this test's own,
# stopped): both dumps are still received at full speed and spooled; once
# the gateway is back, the background thread uploads them, byte-identical.
set -euo pipefail
NET=204
. "$(dirname "$0")/lib-s3.sh"

store_down outage og
write_conf "$T/s3.ini" "$EP" "$BUCKET" bucket <<<"$SPOOL_RETRY_OPTIONS"
start_server -c "$T/s3.ini"
A=$(client_addr 1)
send_dump 0 "$A" -q -g 40M -z 0.3 -s 41 -o "$T/sent1"
ms1=$SEND_MS
wait_dumps "$A" 1
assert_log "dump [0-9]+ from ${A//./\\.} complete: 41943040 bytes" "complete line"
assert_log "upload pending, spooled in ${SPOOL//./\\.}/" "where says pending"
assert_log "bucket $BUCKET at ${EP//./\\.}: .*(onnect|refused)" "the error names bucket and endpoint"
pass "dump 1 received complete in $ms1 ms with the store down; spooled, pending"

# The store is known to be down: the next dump does not even try.
B=$(client_addr 2)
send_dump 0 "$B" -q -g 24M -s 42 -o "$T/sent2"
ms2=$SEND_MS
wait_dumps "$B" 1
[ "$(spool_folders | wc -l)" -eq 2 ] || fail "expected two spool folders: $(spool_folders)"
pass "dump 2 received in $ms2 ms straight into the spool; two dumps pending"
[ "$ms1" -lt 30000 ] && [ "$ms2" -lt 30000 ] ||
	fail "a dump took more than 30 s to receive with the store down"

gw_start outage
[ "$GW_ENDPOINT" = "$EP" ] || fail "the gateway came back on another port"
wait_log "answers again" 30
wait_log "uploaded s3://$BUCKET/.*/vmcore " 30 2
poll 15 _spool_empty || fail "spool not empty: $(spool_folders)"
for i in 1 2; do
	addr=$(client_addr "$i")
	K=$(stored_key "$addr")
	s3_get "$BUCKET" "$K" "$T/got$i" "$EP"
	assert_same_bytes "$T/got$i" "$T/sent$i"
	s3_exists "$BUCKET" "${K%/vmcore}/manifest.json" "$EP" ||
		fail "no manifest.json beside $K"
done
assert_eq "$(s3_uploads "$BUCKET" "$EP")" "" "uploads in progress"
pass "the gateway is back: both dumps were uploaded, identical, the spool is empty"
stop_server
finish
