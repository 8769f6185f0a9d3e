#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# zstd | local with frame_size = 1M: vmcore.N.zst is in the zstd seekable
# format. Stock "zstd -d" restores it whole; its seek table lists one frame
# per MiB (the last one partial); zstd-seek-read gives, at random offsets,
# exactly the bytes dd takes from the image sent, also across frame
# boundaries, within the last partial frame and past the end.
set -euo pipefail
NET=152
. "$(dirname "$0")/../integration/lib.sh"

command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }
: "${ND_ZSTD_SEEK_READ:?ND_ZSTD_SEEK_READ must name the zstd-seek-read tool}"
[ -x "$ND_ZSTD_SEEK_READ" ] || fail "$ND_ZSTD_SEEK_READ is not executable"

MIB=1048576
C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 10

[sink zs]
module = zstd
level = 1
frame_size = 1M

[sink local]
module = file
fsync = no

[route default]
path = *
sink = zs | local
INI
start_server -c "$C"

# The seek table of FILE: "frames last-dsize all-but-last-are-1MiB csum".
seek_table() {
	python3 - "$1" "$MIB" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
fs = int(sys.argv[2])
nframes, desc, magic = struct.unpack("<IBI", data[-9:])
assert magic == 0x8F92EAB1, "no seekable magic at the end"
entry = 12 if desc & 0x80 else 8
table = data[-9 - nframes * entry:-9]
hdr = data[-9 - nframes * entry - 8:-9 - nframes * entry]
smagic, ssize = struct.unpack("<II", hdr)
assert smagic == 0x184D2A5E, "seek table is not in a skippable frame"
assert ssize == nframes * entry + 9, "skippable frame size"
ds = [struct.unpack_from("<II", table, i * entry)[1] for i in range(nframes)]
cs = [struct.unpack_from("<II", table, i * entry)[0] for i in range(nframes)]
assert sum(cs) == len(data) - len(hdr) - ssize, "frames do not fill the file"
print(nframes, ds[-1], int(all(d == fs for d in ds[:-1])), int(bool(desc & 0x80)), sum(ds))
PY
}

# check_reads ZST SENT OFF:LEN...: each range read through the seek table
# equals the same range of SENT taken by dd.
check_reads() {
	local zst=$1 sent=$2 r off len n=0

	shift 2
	for r in "$@"; do
		off=${r%:*}
		len=${r#*:}
		"$ND_ZSTD_SEEK_READ" "$zst" "$off" "$len" >"$T/got" 2>"$T/got.err" ||
			fail "zstd-seek-read $zst $off $len: $(cat "$T/got.err")"
		dd if="$sent" of="$T/want" iflag=skip_bytes,count_bytes bs=256k \
		    skip="$off" count="$len" status=none
		cmp -s "$T/got" "$T/want" ||
			fail "range [$off, +$len): zstd-seek-read gives $(size_of "$T/got") bytes that differ from dd's $(size_of "$T/want"): $(cmp "$T/got" "$T/want" 2>&1 | head -1)"
		n=$((n + 1))
	done
	READS=$n
}

# seekable_dump I SIZE-OPTION SEED: send, then the common checks; sets
# D, Z, SIZE, NFRAMES, LAST.
seekable_dump() {
	local a table

	a=$(client_addr "$1")
	D=$(client_dir "$a")
	send_dump 0 "$a" -q -g "$2" -s "$3" -o "$T/sent$1"
	wait_manifest "$D" 0 30
	wait_dumps "$a" 1 30
	Z=$D/vmcore.0.zst
	SIZE=$(size_of "$T/sent$1")
	assert_manifest "$D/manifest.0.json" complete "$T/sent$1"
	assert_file "$Z"
	assert_symlink "$D/vmcore.last.zst" vmcore.0.zst
	zstd -q -t "$Z" || fail "zstd -t rejects the seekable $Z"
	zstd -q -d -c "$Z" | cmp -s - "$T/sent$1" ||
		fail "zstd -d of the seekable $Z is not the image sent"
	assert_log "sink zs \\(zstd\\): dump [0-9]+ from ${a//./\\.}: vmcore: compressing at level 1 with [0-9]+ worker\\(s\\), seekable frames of $MIB bytes" \
	    "seekable line"
	assert_log "sink zs \\(zstd\\): dump [0-9]+ from ${a//./\\.}: vmcore: $SIZE -> $(size_of "$Z") bytes \\([0-9.]+:1\\), seekable" \
	    "ratio line"
	table=$(seek_table "$Z") || fail "the seek table of $Z is damaged"
	read -r NFRAMES LAST full csum total <<<"$table"
	assert_eq "$NFRAMES" $(((SIZE + MIB - 1) / MIB)) "frames in the seek table"
	assert_eq "$full" 1 "every frame but the last holds 1 MiB"
	assert_eq "$LAST" $((SIZE - (NFRAMES - 1) * MIB)) "size of the last frame"
	assert_eq "$total" "$SIZE" "decompressed size in the seek table"
	assert_eq "$csum" 1 "checksum flag of the seek table"
}

# 1. 32 MiB: 32 full frames.
seekable_dump 1 32M 161
assert_eq "$SIZE" $((32 * MIB)) "size sent"
pass "32 MiB: vmcore.0.zst ($(size_of "$Z") bytes) restores whole with stock zstd -d; its seek table has $NFRAMES frames of 1 MiB with checksums"

# Twenty reads, the fixed ones at the edges, the rest random.
ranges=(0:1 0:4096 $((MIB - 100)):200 $((5 * MIB - 1)):2
    $((3 * MIB - 524288)):$((2 * MIB)) $((SIZE - 1)):1 $((SIZE - 4096)):4096
    $((31 * MIB - 7)):$((MIB + 7)) 0:"$SIZE" $((SIZE - 10)):100)
while read -r off len; do
	ranges+=("$off:$len")
done < <(python3 -c '
import random, sys
r = random.Random(161)
size = int(sys.argv[1])
for _ in range(10):
    off = r.randrange(size)
    print(off, r.randint(1, min(3 << 20, size - off)))
' "$SIZE")
check_reads "$Z" "$T/sent1" "${ranges[@]}"
assert_eq "$READS" 20 "reads made"
pass "32 MiB: $READS reads with zstd-seek-read (across frame boundaries, the last byte, past the end, the whole file, 10 random) equal dd of the image sent"

# 2. 5 MiB + 516 KiB: the last frame is partial.
seekable_dump 2 5636k 162
assert_eq "$LAST" $((516 * 1024)) "bytes in the partial last frame"
L0=$(((NFRAMES - 1) * MIB))
ranges=($((L0 - 10)):20 "$L0:$LAST" $((L0 + 1000)):5000 $((SIZE - 1)):1
    $((SIZE - 300)):300 $((SIZE - 300)):1000 $((L0 - MIB - 3)):$((MIB + 500))
    0:"$SIZE")
check_reads "$Z" "$T/sent2" "${ranges[@]}"
pass "5 MiB + 516 KiB: $NFRAMES frames, the last one $LAST bytes; $READS reads in and around it (into it from the frame before, all of it, its end, past the end) equal dd"

stop_server
pass "server exited 0 on SIGTERM"
finish
