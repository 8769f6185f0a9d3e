#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# archive | bucket: one tarball per dump (pax, sparse vmcore, zstd filter)
# goes up as dump.tar.zst beside the manifest, and extracts back to what
# was sent.
set -euo pipefail
NET=202
. "$(dirname "$0")/lib-s3.sh"

if [ ! -f "$ND_SINK_DIR/archive.so" ]; then
	echo "SKIP ($TEST_NAME): no archive module in $ND_SINK_DIR"
	exit 77
fi
command -v bsdtar >/dev/null || { echo "SKIP ($TEST_NAME): no bsdtar"; exit 77; }

BUCKET=ar-$NET-$$
s3_mkbucket "$BUCKET"
EXTRA=$'[sink archive]\nmodule = archive\ncompression = zstd' \
    write_conf "$T/s3.ini" "$RGW_ENDPOINT" "$BUCKET" "archive | bucket" <<EOF
part_size = 5M
EOF
start_server -c "$T/s3.ini"
A=$(client_addr 1)

send_dump 0 "$A" -q -g 40M -z 0.5 -s 61 -H ar-host -o "$T/sent"
wait_dumps "$A" 1
# The closing line names the vmcore's place; an archive chain has none.
# The first tarball's upload began under the guess "dump": it goes up
# again by the outbox, once the dump ended.
_archive_up() { s3_keys "$BUCKET" | grep -q '/dump\.tar\.zst$'; }
poll 60 _archive_up || true
K=$(s3_keys "$BUCKET" | grep '/dump\.tar\.zst$' || true)
assert_match "$K" "^${A//./\\.}/[0-9]{8}T[0-9]{6}Z-c-archive-1/dump\\.tar\\.zst\$" \
    "key of the archive"
s3_get "$BUCKET" "$K" "$T/dump.tar.zst"
mkdir "$T/x"
bsdtar -xf "$T/dump.tar.zst" -C "$T/x" || fail "bsdtar cannot extract the archive"
V=$(find "$T/x" -name vmcore -type f | head -1)
[ -n "$V" ] || fail "no vmcore in the archive: $(find "$T/x" | head)"
assert_same_bytes "$V" "$T/sent"
I=$(find "$T/x" -name info -type f | head -1)
[ -n "$I" ] && grep -q "Hostname: ar-host" "$I" ||
	fail "the archive has no info with the dump's hostname"
pass "s3://$BUCKET/$K ($(size_of "$T/dump.tar.zst") bytes) extracts to the vmcore sent and its info"

s3_wait "$BUCKET" "${K%/*}/manifest.json"
s3_get "$BUCKET" "${K%/*}/manifest.json" "$T/manifest"
assert_eq "$(jq -r .status "$T/manifest")" complete "manifest status"
pass "manifest.json is beside the archive"

assert_eq "$(s3_uploads "$BUCKET")" "" "multipart uploads left in progress"
poll 10 _spool_empty || fail "spool not empty: $(spool_folders)"
pass "nothing left in the spool or in progress"
stop_server
finish
