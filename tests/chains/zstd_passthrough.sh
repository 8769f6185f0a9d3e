#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A dump the kernel compressed itself, through zstd | local: the zstd
# transform passes it through, so it is stored once, exactly as the kernel
# sent it (the KDH dumplength cuts the padding): vmcore.0.zst or
# vmcore.0.gz, never compressed a second time (.zst.zst, .gz.zst). An
# encrypted dump whose key comes first is passed through too.
set -euo pipefail
NET=151
. "$(dirname "$0")/../integration/lib.sh"

command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }

# A memory-like image that compresses: text, zeros and random bytes.
python3 - "$T/image" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    for i in range(700):
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

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 10

[sink z]
module = zstd
level = 1

[sink local]
module = file
fsync = no

[route default]
path = *
sink = z | local
INI
start_server -c "$C"

# passthrough I METHOD FILE EXT: FILE sent as a METHOD-compressed dump is
# stored once as vmcore.0EXT, byte for byte.
passthrough() {
	local i=$1 method=$2 file=$3 ext=$4 a d m

	a=$(client_addr "$i")
	d=$(client_dir "$a")
	m=$d/manifest.0.json
	send_dump 0 "$a" -q --compression "$method" --file "$file" -o "$T/wire$i"
	wait_manifest "$d" 0
	wait_dumps "$a" 1
	[ "$(size_of "$T/wire$i")" -gt "$(size_of "$file")" ] ||
		fail "$method: the client sent no padding"
	assert_manifest "$m" complete "$file"
	assert_eq "$(jget "$m" .kdh.compression)" "$method" "kdh.compression"
	assert_same_bytes "$d/vmcore.0$ext" "$file"
	assert_eq "$(mobject "$m" vmcore | jq -c .stored)" \
	    "{\"z | local\":\"$a/vmcore.0$ext\"}" "where the manifest says the vmcore is"
	for f in vmcore.0 vmcore.0.zst.zst vmcore.0.gz.zst vmcore.0.zst vmcore.0.gz \
	    "vmcore.0$ext.incomplete" vmcore.0.incomplete; do
		[ "$f" = "vmcore.0$ext" ] || assert_no_file "$d/$f"
	done
	[ "$(ls "$d" | grep -c '^vmcore\.0')" -eq 1 ] ||
		fail "$method: more than one vmcore stored: $(ls "$d" | tr '\n' ' ')"
	assert_symlink "$d/vmcore.last$ext" "vmcore.0$ext"
	assert_log "sink z \\(zstd\\): dump [0-9]+ from ${a//./\\.}: vmcore: $method-compressed by the kernel: passing it through" \
	    "pass-through line for $method"
	assert_log "dump [0-9]+ from ${a//./\\.} complete: .*stored by 1 of 1 sinks: ${a//./\\.}/vmcore\\.0${ext//./\\.}$" \
	    "complete line naming vmcore.0$ext"
	grep -q "Compression: $method" "$d/info.0" || fail "info.0 does not say $method"
}

# 1. zstd
passthrough 1 zstd "$T/image.zst" .zst
zstd -q -d -c "$(client_dir "$(client_addr 1)")/vmcore.0.zst" | cmp -s - "$T/image" ||
	fail "vmcore.0.zst does not decompress (once) to the image"
pass "zstd-compressed by the kernel: stored once as vmcore.0.zst, exactly the $(size_of "$T/image.zst")-byte stream (padding cut), one zstd -d gives the image; log says pass-through"

# 2. gzip
passthrough 2 gzip "$T/image.gz" .gz
gzip -d -c "$(client_dir "$(client_addr 2)")/vmcore.0.gz" | cmp -s - "$T/image" ||
	fail "vmcore.0.gz does not decompress to the image"
pass "gzip-compressed by the kernel: stored once as vmcore.0.gz, exactly the $(size_of "$T/image.gz")-byte stream; no .gz.zst"

# No "compressed twice" warning for either.
assert_no_log "compressed twice" "a kernel-compressed dump compressed again"
assert_no_log "sink z \\(zstd\\): .*compressing at level" "the compressor started for a kernel-compressed dump"
pass "the compressor never started: no 'compressing at level' and no 'compressed twice' line"

# 3. An ordinary dump afterwards through the same chain is compressed.
A=$(client_addr 3)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 4M -s 155 -o "$T/sent3"
wait_manifest "$D" 0
assert_manifest "$D/manifest.0.json" complete "$T/sent3"
zstd -q -d -c "$D/vmcore.0.zst" | cmp -s - "$T/sent3" ||
	fail "vmcore.0.zst of an uncompressed dump does not decompress to it"
pass "an uncompressed dump through the same chain afterwards is compressed (vmcore.0.zst restores it)"

# 4. An encrypted dump from a FreeBSD 13+ kernel, which sends its key
# first (netdump-send --order modern): the transform knows it is
# ciphertext when the vmcore opens and passes it through, so decryptcore
# -n 0 finds vmcore_encrypted.0. The image here compresses well (the
# sender does not really encrypt): the old sink, which only learnt of the
# key at the end, compressed it to vmcore_encrypted.0.zst.
A=$(client_addr 4)
D=$(client_dir "$A")
send_dump 0 "$A" -q --order modern --ekcd chacha20 --file "$T/image" -o "$T/sent4"
wait_manifest "$D" 0
wait_dumps "$A" 1
assert_manifest "$D/manifest.0.json" complete "$T/sent4"
assert_same_bytes "$D/vmcore_encrypted.0" "$T/sent4"
assert_no_file "$D/vmcore_encrypted.0.zst"
assert_log "sink z \\(zstd\\): dump [0-9]+ from ${A//./\\.}: vmcore: encrypted \\(a key came with the dump\\)" \
    "pass-through line for the encrypted dump"
pass "an encrypted dump, key first: stored once as vmcore_encrypted.0, byte for byte, not compressed"

stop_server
pass "server exited 0 on SIGTERM"
finish
