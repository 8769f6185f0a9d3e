#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# zstd | bucket: the compressed vmcore goes up as vmcore.zst and
# decompresses to exactly what was sent. The first one streams under the
# name "vmcore" (the suffix comes only when it closes), is aborted there
# and goes up again from the spool under vmcore.zst (by the outbox); the
# next one starts under the right name at once. With "local, zstd | bucket"
# and late data, the ordered chain's cut copy goes up under an incomplete
# key. With "bucket, zstd | bucket" (one sink in two chains: both copies
# have the same keys) vmcore and vmcore.zst both stay, each whole: the
# second copy's upload starts under a name no object gets, never under
# the first copy's final key.
set -euo pipefail
NET=201
. "$(dirname "$0")/lib-s3.sh"

if [ ! -f "$ND_SINK_DIR/zstd.so" ]; then
	echo "SKIP ($TEST_NAME): no zstd module in $ND_SINK_DIR"
	exit 77
fi
command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }

BUCKET=zs-$NET-$$
s3_mkbucket "$BUCKET"
EXTRA=$'[sink zstd]\nmodule = zstd\nlevel = 1' \
    write_conf "$T/s3.ini" "$RGW_ENDPOINT" "$BUCKET" "zstd | bucket" <<EOF
part_size = 5M
EOF
start_server -c "$T/s3.ini"
A=$(client_addr 1)

for i in 1 2; do
	send_dump 0 "$A" -q -g 48M -z 0.5 -s $((50 + i)) -o "$T/sent$i"
	wait_dumps "$A" "$i"
	K=$(stored_key "$A" "$i")
	assert_match "$K" '/vmcore\.zst$' "key of dump $i"
	# The first went up again by the outbox, once the dump ended.
	s3_wait "$BUCKET" "$K"
	s3_get "$BUCKET" "$K" "$T/got$i.zst"
	n=$(size_of "$T/got$i.zst")
	[ "$n" -gt $((5 << 20)) ] ||
		fail "dump $i: $n bytes compressed: too small for a multipart upload"
	zstd -q -t "$T/got$i.zst" || fail "zstd -t rejects dump $i"
	zstd -q -d -c "$T/got$i.zst" >"$T/got$i"
	assert_same_bytes "$T/got$i" "$T/sent$i"
	if s3_exists "$BUCKET" "${K%.zst}"; then
		fail "dump $i: ${K%.zst} is still there"
	fi
	pass "dump $i: s3://$BUCKET/$K ($n bytes, ETag $(s3_etag "$BUCKET" "$K")) decompresses to the 48 MiB sent"
done
# The second started under vmcore.zst, learned from the first (whose
# upload went again under its final name): stored at once, not pending.
assert_log "dump [0-9]+ from ${A//./\\.} complete: .*/vmcore\.zst \(upload pending" "the first dump sent again"
assert_no_log "dump 2 from ${A//./\\.} complete: .*upload pending" "the second dump pending"
pass "the second dump's upload began under vmcore.zst: stored when it closed"

# Small enough for one PUT: no multipart upload at all.
send_dump 0 "$A" -q -g 2M -s 53 -o "$T/sent3"
wait_dumps "$A" 3
K=$(stored_key "$A" 3)
assert_match "$K" '/vmcore\.zst$' "key of dump 3"
s3_get "$BUCKET" "$K" "$T/got3.zst"
zstd -q -d -c "$T/got3.zst" | cmp -s - "$T/sent3" ||
	fail "dump 3 does not decompress to what was sent"
assert_match "$(s3_etag "$BUCKET" "$K")" '^[0-9a-f]{32}$' "ETag of a single PUT"
pass "a 2 MiB dump went up in one PUT as vmcore.zst, identical"

assert_eq "$(s3_uploads "$BUCKET")" "" "multipart uploads left in progress"
poll 10 _spool_empty || fail "spool not empty: $(spool_folders)"
pass "nothing left in the spool or in progress"
stop_server

# Fan-out with late data: local takes the MiB that comes after the 4 MiB
# beyond it and the dump is complete; zstd | bucket had passed it and
# fails. What that chain did store goes up under an incomplete key, never
# under the final one (ndfault.py's image is random: zstd passes it
# through).
B2=zl-$NET-$$
s3_mkbucket "$B2"
EXTRA=$'[sink zstd]\nmodule = zstd\nlevel = 1\n\n[sink local]\nmodule = file\nfsync = no' \
    write_conf "$T/s3late.ini" "$RGW_ENDPOINT" "$B2" "local, zstd | bucket" <<INI
part_size = 5M
INI
start_server -c "$T/s3late.ini"
L=$(client_addr 2)
timeout $((120 * WAIT_SCALE)) python3 "$(dirname "$0")/../faults/ndfault.py" \
    dump "$PORT" "$L" "$T/sentL" --size $((6 << 20)) --seed 254 \
    --late 1048576-2097152 >"$T/nd.L.log" 2>&1 ||
	{ cat "$T/nd.L.log" >&2; fail "ndfault.py dump with a late MiB failed"; }
wait_manifest "$(client_dir "$L")" 0
wait_dumps "$L" 1
M=$(client_dir "$L")/manifest.0.json
assert_eq "$(jget "$M" .status)" complete "status with the ordered chain failed"
assert_eq "$(jget "$M" '[.sinks[] | "\(.name)=\(.result)"] | join(",")')" \
    "local=ok,zstd | bucket=failed" "chains in the manifest"
assert_same_bytes "$(client_dir "$L")/vmcore.0" "$T/sentL"
_cut_copy_up() { s3_keys "$B2" | grep -qE '/vmcore'; }
poll 20 _cut_copy_up || fail "no vmcore key in s3://$B2: $(s3_keys "$B2")"
keys=$(s3_keys "$B2" | grep -E '/vmcore')
assert_match "$keys" '/vmcore\.incomplete$' "key of the cut copy"
! grep -qE '/vmcore$' <<<"$keys" || fail "a key without .incomplete for the cut copy: $keys"
poll 30 _spool_empty || fail "spool not empty: $(spool_folders)"
pass "late data: local whole, zstd | bucket failed; its copy went up as ${keys##*/}, no final key"
stop_server

B3=zf-$NET-$$
s3_mkbucket "$B3"
EXTRA=$'[sink zstd]\nmodule = zstd\nlevel = 1' \
    write_conf "$T/s3fan.ini" "$RGW_ENDPOINT" "$B3" "bucket, zstd | bucket" <<INI
part_size = 5M
INI
start_server -c "$T/s3fan.ini"
F=$(client_addr 3)
for i in 1 2; do
	send_dump 0 "$F" -q -g 24M -z 0.5 -s $((60 + i)) -o "$T/fan$i"
	wait_dumps "$F" "$i"
	K=$(stored_key "$F" "$i")
	D3=${K%/vmcore*}
	# The second copy's upload began under a name no object gets: it
	# goes up again by the outbox, its manifest after it.
	for k in vmcore vmcore.zst info manifest.json; do
		s3_wait "$B3" "$D3/$k"
	done
	poll 30 _spool_empty || fail "spool not empty: $(spool_folders)"
	s3_get "$B3" "$D3/vmcore" "$T/fgot$i"
	assert_same_bytes "$T/fgot$i" "$T/fan$i"
	s3_get "$B3" "$D3/vmcore.zst" "$T/fgot$i.zst"
	zstd -q -d -c "$T/fgot$i.zst" | cmp -s - "$T/fan$i" ||
		fail "fan-out dump $i: vmcore.zst does not decompress to what was sent"
	left=$(s3_keys "$B3" | grep -F "$D3/" | sed 's|.*/||' | sort | paste -sd' ')
	assert_eq "$left" "info manifest.json vmcore vmcore.zst" "keys of fan-out dump $i"
	pass "fan-out dump $i: vmcore and vmcore.zst both whole in s3://$B3/$D3"
done
assert_eq "$(s3_uploads "$B3")" "" "multipart uploads left in progress"
stop_server
finish
