#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The message buffer of a minidump of each architecture FreeBSD 12-15
# writes them for, through the real daemon over loopback UDP: arm64 with
# 16 KiB pages (the ring one 16 KiB page in), arm64 4 KiB, powerpc64le
# and powerpc64 (the same magic, either byte order), i386, amd64, arm,
# mips and mipsel. msgbuf.0 must be the ring's text and the panic line
# logged. A dump that is no minidump, and an arm64 one with 64 KiB pages,
# get no msgbuf.0, and the manifest says why in "msgbuf_missing".
# The images come from msgbuf_arches.py, built from the FreeBSD headers.
set -euo pipefail
NET=210
. "$(dirname "$0")/lib.sh"

python3 "$ND_LIBDIR/msgbuf_arches.py" "$T/img" || fail "cannot generate the images"
printf '[server]\nsink_dir = %s\n' "$ND_SINK_DIR" >"$T/server.ini"

start_server -c "$T/server.ini" --timeout 5

# The manifest's msgbuf_missing, "null" when it has none.
missing_of() {	# MANIFEST
	jq -r '.msgbuf_missing // "null"' "$1"
}

# Send the image of CASE from the I-th address; msgbuf.0 must be its text.
arch_case() {	# I CASE
	local a d panic

	a=$(client_addr "$1")
	panic=$(cat "$T/img/$2.panic")
	d=$(client_dir "$a")
	send_dump 0 "$a" -q -f "$T/img/$2.img" -H "msgbuf-$2"
	assert_msgbuf "$a" "$T/img/$2.img" "$T/img/$2.expected" "$panic" "$2"
	assert_eq "$(tail -n 1 "$d/msgbuf.0")" "Dumping 40 out of 1024 MB:..3%" "$2: last line of msgbuf.0"
	assert_eq "$(missing_of "$MSGBUF_MANIFEST")" null "$2: msgbuf_missing in the manifest"
	pass "$2: msgbuf.0 is the ring's text, rotated after 'Dumping', in the manifest; '$panic' logged"
}

i=0
for c in arm64-16k powerpc64le powerpc64 i386 arm64-4k amd64 arm mips mipsel; do
	i=$((i + 1))
	arch_case "$i" "$c"
done

# No msgbuf, and the reason in the manifest.
no_msgbuf() {	# ADDR WHAT REASON
	local d=$(client_dir "$1")

	assert_no_file "$d/msgbuf.0"
	assert_eq "$(mobject "$d/manifest.0.json" msgbuf)" null "$2: msgbuf object in the manifest"
	assert_no_log "dump [0-9]+ from ${1//./\\.}: panic:" "$2: no panic line"
	assert_eq "$(missing_of "$d/manifest.0.json")" "$3" "$2: msgbuf_missing in the manifest"
}

# A full (ELF) dump, as 32-bit powerpc writes: no minidump magic.
N=$(client_addr 20)
{ printf '\177ELF\002\002\001'; head -c 1048569 /dev/urandom; } >"$T/img/elf.img"
send_dump 0 "$N" -q -f "$T/img/elf.img"
wait_manifest "$(client_dir "$N")" 0
assert_manifest "$(client_dir "$N")/manifest.0.json" complete "$T/img/elf.img"
K=$(client_addr 21)
send_dump 0 "$K" -q -f "$T/img/arm64-64k.img"
wait_manifest "$(client_dir "$K")" 0
assert_manifest "$(client_dir "$K")/manifest.0.json" complete "$T/img/arm64-64k.img"

no_msgbuf "$N" "ELF dump" 'not a minidump (no "minidump FreeBSD/" magic)'
pass "a dump that is no minidump (ELF): no msgbuf.0; manifest msgbuf_missing says 'not a minidump'"
no_msgbuf "$K" "arm64 with 64 KiB pages" "unsupported arm64 page size (64 KiB)"
pass "an arm64 minidump with 64 KiB pages: no msgbuf.0; manifest msgbuf_missing says why"

stop_server
finish
