#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Kernel-compressed dumps: the wire carries the zstd/gzip stream padded to
# 4096 bytes; the stored vmcore.N.zst / .gz (vmcore_encrypted.N when
# encrypted) is exactly the stream (the KDH dumplength cuts the padding)
# and the tools accept it.
set -euo pipefail
NET=114
. "$(dirname "$0")/lib.sh"

# A memory-like image that compresses: text, zeros and random bytes.
python3 - "$T/image" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    for i in range(600):
        f.write(("page %d: panic: page fault while in kernel mode\n" % i).encode() * 40)
        f.write(b"\0" * 3000 if i % 3 else os.urandom(1500))
    f.write(b"tail")
PY
zstd -q -c "$T/image" >"$T/image.zst"
gzip -c "$T/image" >"$T/image.gz"
for f in image.zst image.gz; do
	n=$(size_of "$T/$f")
	if [ $((n % 4096)) -eq 0 ]; then	# make sure the sender pads
		fail "$f happens to be a multiple of 4096 bytes ($n); change the image"
	fi
done

start_server --timeout 10

# 1. zstd
A=$(client_addr 1)
D=$(client_dir "$A")
send_dump 0 "$A" -q --compression zstd --file "$T/image.zst" -o "$T/wire.zst"
wait_manifest "$D" 0
wait_dumps "$A" 1
[ $(($(size_of "$T/wire.zst") % 4096)) -eq 0 ] || fail "the client did not pad the stream"
[ "$(size_of "$T/wire.zst")" -gt "$(size_of "$T/image.zst")" ] || fail "no padding sent"
assert_manifest "$D/manifest.0.json" complete "$T/image.zst"
assert_same_bytes "$D/vmcore.0.zst" "$T/image.zst"
assert_eq "$(jget "$D/manifest.0.json" .kdh.compression)" zstd "kdh.compression"
assert_eq "$(jget "$D/manifest.0.json" .kdh.dumplength)" "$(size_of "$T/image.zst")" \
    "kdh.dumplength"
zstd -q -t "$D/vmcore.0.zst" || fail "zstd -t rejects vmcore.0.zst"
zstd -q -d -c "$D/vmcore.0.zst" | cmp -s - "$T/image" || fail "vmcore.0.zst does not decompress to the image"
assert_no_file "$D/vmcore.0"
assert_symlink "$D/vmcore.last.zst" vmcore.0.zst
grep -q "Compression: zstd" "$D/info.0" || fail "info.0 does not say zstd"
pass "zstd: vmcore.0.zst is exactly the $(size_of "$T/image.zst")-byte stream (padding to $(size_of "$T/wire.zst") cut), zstd -t accepts it"

# 2. gzip
A=$(client_addr 2)
D=$(client_dir "$A")
send_dump 0 "$A" -q --compression gzip --file "$T/image.gz" -o "$T/wire.gz"
wait_manifest "$D" 0
wait_dumps "$A" 1
assert_manifest "$D/manifest.0.json" complete "$T/image.gz"
assert_same_bytes "$D/vmcore.0.gz" "$T/image.gz"
assert_eq "$(jget "$D/manifest.0.json" .kdh.compression)" gzip "kdh.compression"
gzip -t "$D/vmcore.0.gz" || fail "gzip -t rejects vmcore.0.gz"
gzip -d -c "$D/vmcore.0.gz" | cmp -s - "$T/image" || fail "vmcore.0.gz does not decompress to the image"
assert_no_file "$D/vmcore.0"
assert_symlink "$D/vmcore.last.gz" vmcore.0.gz
pass "gzip: vmcore.0.gz is exactly the $(size_of "$T/image.gz")-byte stream, gzip -t accepts it"

# 3. zstd, encrypted and legacy order: vmcore_encrypted.0, no suffix, as
# savecore names it (decryptcore -n 0 opens exactly that), linked as
# vmcore_encrypted.last.zst.
A=$(client_addr 3)
D=$(client_dir "$A")
head -c 600 /dev/urandom >"$T/key"
send_dump 0 "$A" -q --order legacy --key "$T/key" --compression zstd \
    --file "$T/image.zst"
wait_manifest "$D" 0
wait_dumps "$A" 1
assert_manifest "$D/manifest.0.json" complete "$T/image.zst"
assert_same_bytes "$D/vmcore_encrypted.0" "$T/image.zst"
assert_no_file "$D/vmcore_encrypted.0.zst"
assert_same_bytes "$D/key.0" "$T/key"
assert_symlink "$D/vmcore_encrypted.last.zst" vmcore_encrypted.0
assert_symlink "$D/key.last" key.0
assert_no_file "$D/vmcore_encrypted.last"
pass "zstd + EKCD in the legacy order: vmcore_encrypted.0 and key.0 exact, vmcore_encrypted.last.zst -> vmcore_encrypted.0"

stop_server
pass "server exited 0 on SIGTERM"
finish
