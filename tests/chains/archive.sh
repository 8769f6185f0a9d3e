#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# archive | local with compression zstd, gzip and none: one tarball per dump,
# dump.N.tar.zst / .tar.gz / .tar, with manifest.N.json beside it. GNU tar
# and bsdtar both extract it (into separate folders) to the vmcore sent,
# byte for byte and sparse, its info, the key of an encrypted dump and the
# manifest. An incomplete dump (the client stops) still becomes a tarball,
# named ....incomplete, holding every byte that was received.
set -euo pipefail
NET=153
. "$(dirname "$0")/../integration/lib.sh"

for tool in tar bsdtar zstd gzip; do
	command -v "$tool" >/dev/null || { echo "SKIP ($TEST_NAME): no $tool"; exit 77; }
done
tar --version | grep -q 'GNU tar' || { echo "SKIP ($TEST_NAME): tar is not GNU tar"; exit 77; }

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 3

[sink arz]
module = archive
compression = zstd

[sink argz]
module = archive
compression = gzip

[sink artar]
module = archive
compression = none

[sink local]
module = file
fsync = no

[route gzip]
client = 127.0.$NET.2/32
sink = argz | local

[route none]
client = 127.0.$NET.3/32
sink = artar | local

[route none2]
client = 127.0.$NET.6/32
sink = artar | local

[sink keep]
module = file
fsync = no
dir = two

[route two]
client = 127.0.$NET.7/32
sink = arz | local, argz | keep

[route default]
path = *
sink = arz | local
INI
start_server -c "$C"

magic_of() {	# FILE: the tarball's kind from its first bytes
	local head

	head=$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')
	case $head in
	28b52ffd) echo zstd ;;
	1f8b*) echo gzip ;;
	*)
		if [ "$(dd if="$1" bs=1 skip=257 count=5 status=none)" = ustar ]; then
			echo none
		else
			echo "unknown ($head)"
		fi
		;;
	esac
}

# extract_check TOOL TARBALL OUT ADDR STEM SENT STATUS MANIFEST [KEY]:
# TOOL (tar or bsdtar) extracts TARBALL into OUT: one folder
# ADDR-YYYYmmdd-HHMMSS with STEM (the vmcore, sparse, byte-identical to
# SENT), info (Dump Status as STATUS says), manifest.json (MANIFEST,
# stored beside the tarball, but for the tarball's place) and, given KEY,
# the key.
extract_check() {
	local tool=$1 tb=$2 out=$3 a=$4 stem=$5 sent=$6 status=$7 m=$8 key=${9:-}
	local top names want v alloc size

	mkdir -p "$out"
	"$tool" -xf "$tb" -C "$out" 2>"$out.err" ||
		fail "$tool -xf $tb: $(cat "$out.err")"
	top=$(find "$out" -mindepth 1 -maxdepth 1)
	[ "$(echo "$top" | wc -l)" -eq 1 ] && [ -d "$top" ] ||
		fail "$tool: $tb should hold one folder, has: $(ls -A "$out" | tr '\n' ' ')"
	assert_match "$(basename "$top")" "^${a//./\\.}-[0-9]{8}-[0-9]{6}$" "$tool: folder in $tb"
	names=$(ls -A "$top" | grep -v '^msgbuf$' | sort | tr '\n' ' ')
	want="info manifest.json $stem "
	[ -z "$key" ] || want="info key manifest.json $stem "
	want=$(echo "$want" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
	assert_eq "$names" "$want" "$tool: files extracted from $tb"

	v=$top/$stem
	assert_same_bytes "$v" "$sent"
	assert_eq "$(sha_of "$v")" "$(sha_of "$sent")" "$tool: sha256 of $stem"
	size=$(size_of "$v")
	alloc=$(($(stat -c %b "$v") * $(stat -c %B "$v")))
	[ "$alloc" -lt $((size * 3 / 4)) ] ||
		fail "$tool: the extracted $stem is not sparse: $alloc bytes allocated for $size"
	EXTRACT_ALLOC=$alloc

	grep -q "Dump Status: $status" "$top/info" ||
		fail "$tool: info in $tb does not say 'Dump Status: $status': $(cat "$top/info")"
	assert_eq "$(sha_of "$top/info")" "$(mobject "$m" info | jq -r .sha256)" \
	    "$tool: info sha256 against the manifest"
	assert_outer_manifest "$top/manifest.json" "$m" "${tb#"$DUMPDIR"/}"
	if [ -n "$key" ]; then
		assert_same_bytes "$top/key" "$key"
	fi
}

# archive_dump I EXT COMP SINK STEM [KEY] [send options...]: a complete
# dump from client I through SINK | local, stored as dump.0EXT, checked
# with both tools.
archive_dump() {
	local i=$1 ext=$2 comp=$3 sink=$4 stem=$5 key=$6 a d m tb left

	shift 6
	a=$(client_addr "$i")
	d=$(client_dir "$a")
	m=$d/manifest.0.json
	tb=$d/dump.0$ext
	send_dump 0 "$a" -q -g 16M -z 0.5 -s "16$i" -H "arch-$i" -o "$T/sent$i" \
	    ${key:+--key "$key"} "$@"
	wait_manifest "$d" 0 30
	wait_dumps "$a" 1 30
	wait_log "sink $sink \\(archive\\): dump [0-9]+ from ${a//./\\.}: tarball ${a//./\\.}/dump\\.0${ext//./\\.} \\([0-9]+ bytes\\)" 30
	assert_log "sink $sink \\(archive\\): dump [0-9]+ from ${a//./\\.}: tarball ${a//./\\.}/dump\\.0${ext//./\\.} \\($(size_of "$tb") bytes\\)" \
	    "tarball line with its size"
	assert_file "$tb"
	assert_mode "$tb" 600
	assert_eq "$(magic_of "$tb")" "$comp" "compression of $tb"
	assert_no_file "$tb.incomplete"
	assert_manifest "$m" complete "$T/sent$i"
	assert_eq "$(jget "$m" '.sinks[0].name')" "$sink | local" "chain in $m"
	# The chain stores the tarball and the manifest; nothing else.
	left=$(ls -A "$d" | sort | tr '\n' ' ')
	assert_eq "$left" "bounds dump.0$ext manifest.0.json " "files in $d"
	assert_no_temp_files "$DUMPDIR"

	extract_check tar "$tb" "$T/gnu$i" "$a" "$stem" "$T/sent$i" good "$m" "$key"
	GNU_ALLOC=$EXTRACT_ALLOC
	extract_check bsdtar "$tb" "$T/bsd$i" "$a" "$stem" "$T/sent$i" good "$m" "$key"
	BSD_ALLOC=$EXTRACT_ALLOC
	grep -q "Hostname: arch-$i" "$T"/gnu"$i"/*/info || fail "info lacks the KDH's hostname"
	rm -rf "$T/gnu$i" "$T/bsd$i"
}

head -c 1000 /dev/urandom >"$T/key2"
head -c 4096 /dev/urandom >"$T/key4"

# 1. zstd, plain.
archive_dump 1 .tar.zst zstd arz vmcore ""
pass "zstd: dump.0.tar.zst + manifest.0.json; GNU tar and bsdtar extract vmcore (byte-identical, sparse: $GNU_ALLOC / $BSD_ALLOC bytes allocated of 16 MiB), info (good), manifest.json"

# 2. gzip, encrypted (a 1000-byte key).
archive_dump 2 .tar.gz gzip argz vmcore_encrypted "$T/key2"
pass "gzip: dump.0.tar.gz; both tools extract vmcore_encrypted (byte-identical, sparse), info, manifest.json and the 1000-byte key byte for byte"

# 3. none, plain.
archive_dump 3 .tar none artar vmcore ""
pass "none: dump.0.tar; both tools extract vmcore (byte-identical, sparse: $GNU_ALLOC / $BSD_ALLOC bytes), info, manifest.json"

# 4. zstd, encrypted (a 4096-byte key), legacy order.
archive_dump 4 .tar.zst zstd arz vmcore_encrypted "$T/key4" --order legacy
pass "zstd, legacy order: both tools extract vmcore_encrypted and the 4096-byte key byte for byte"

# 5./6. The client stops after 8 MiB (zstd) or 5 MB, mid-call (none): the
# tarball is named .incomplete and holds exactly the bytes received.
incomplete_dump() {	# I EXT COMP SINK STOP
	local i=$1 ext=$2 comp=$3 sink=$4 stop=$5 a d m tb

	a=$(client_addr "$i")
	d=$(client_dir "$a")
	m=$d/manifest.0.json
	tb=$d/dump.0$ext.incomplete
	send_dump 3 "$a" -q -g 16M -z 0.5 -s "16$i" --stop-after "$stop" -o "$T/sent$i"
	wait_manifest "$d" 0 30
	wait_dumps "$a" 1 30
	wait_log "sink $sink \\(archive\\): dump [0-9]+ from ${a//./\\.}: tarball ${a//./\\.}/dump\\.0${ext//./\\.}\\.incomplete \\([0-9]+ bytes\\)" 30
	assert_file "$tb"
	assert_no_file "$d/dump.0$ext"
	assert_eq "$(magic_of "$tb")" "$comp" "compression of $tb"
	assert_manifest "$m" incomplete
	assert_match "$(jget "$m" .reason)" "silent|timeout" "reason in $m"
	assert_eq "$(mobject "$m" vmcore | jq -r .size)" "$(size_of "$T/sent$i")" "vmcore size in $m"
	assert_eq "$(mobject "$m" vmcore | jq -r .sha256)" "$(sha_of "$T/sent$i")" "vmcore sha256 in $m"
	assert_log "dump [0-9]+ from ${a//./\\.} incomplete: $(size_of "$T/sent$i") bytes.*stored by 1 of 1 sinks" "incomplete line"
	extract_check tar "$tb" "$T/gnu$i" "$a" vmcore "$T/sent$i" bad "$m"
	extract_check bsdtar "$tb" "$T/bsd$i" "$a" vmcore "$T/sent$i" bad "$m"
	rm -rf "$T/gnu$i" "$T/bsd$i"
}
incomplete_dump 5 .tar.zst zstd arz 8M
assert_eq "$(size_of "$T/sent5")" 8388608 "bytes sent before the client stopped"
pass "client stopped after 8 MiB (zstd): dump.0.tar.zst.incomplete; both tools extract the 8 MiB received byte for byte (sparse), info says bad, manifest incomplete"
incomplete_dump 6 .tar none artar 5000000
pass "client stopped mid-call after $(size_of "$T/sent6") bytes (none): dump.0.tar.incomplete holds exactly those bytes, with both tools"

# The daemon still serves: another complete dump of client 1.
A=$(client_addr 1)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 2M -s 170 -o "$T/sent7"
wait_manifest "$D" 1
wait_file "$D/dump.1.tar.zst"
assert_manifest "$D/manifest.1.json" complete "$T/sent7"
mkdir "$T/x7"
bsdtar -xf "$D/dump.1.tar.zst" -C "$T/x7"
assert_same_bytes "$(find "$T/x7" -name vmcore -type f)" "$T/sent7"
pass "a second dump of client 1 afterwards: dump.1.tar.zst, complete, extracts to what was sent"

# Two archive chains of one dump, zstd and gzip, which end in turn: the
# first manifest beside a tarball names the first tarball, with its size;
# the second names both, and the size, which differs between them, is
# null rather than one chain's.
mkdir -p "$DUMPDIR/two"
G=$(client_addr 7)
send_dump 0 "$G" -q -g 4M -s 1537 -o "$T/sent7"
wait_manifest "$(client_dir "$G")" 0 30
wait_manifest "$DUMPDIR/two/$G" 0 30
Z=$(client_dir "$G")/dump.0.tar.zst
assert_ne "$(size_of "$Z")" "$(size_of "$DUMPDIR/two/$G/dump.0.tar.gz")" "sizes of the two tarballs"
archive_of() {	# MANIFEST
	jq -c '.objects[] | select(.kind == "archive") | [.size, .stored["arz | local"], .stored["argz | keep"]]' "$1"
}
assert_eq "$(archive_of "$(client_dir "$G")/manifest.0.json")" \
    "[$(size_of "$Z"),\"$G/dump.0.tar.zst\",null]" "the first chain's archive object"
assert_eq "$(archive_of "$DUMPDIR/two/$G/manifest.0.json")" \
    "[null,\"$G/dump.0.tar.zst\",\"two/$G/dump.0.tar.gz\"]" "the second chain's archive object"
pass "two archive chains: the second manifest names both tarballs, the size null as they differ"

stop_server
pass "server exited 0 on SIGTERM"
finish
