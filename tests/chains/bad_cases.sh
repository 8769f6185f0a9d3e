#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The bad cases of chains: each leaves a clearly labelled incomplete output,
# keeps every byte it received (or, on a full disk, every byte that fit),
# and the daemon keeps serving.
#
#   (c) the client dies mid-dump, through zstd | local and archive | local
#   (d) a dump without a KDH, through both chains (the archive one encrypted)
#   (a) as root: the disk fills while compressing, in the middle of the
#       stream (8 MiB tmpfs) and at the compressor's last flush (1 MiB)
#   (e) the store refuses the tarball: the manifest still names it
#   (f) gzip dumps through zstd: cut only within the last block
#   (b) as root: the archive spool fills (4 MiB tmpfs, encrypted dump), the
#       disk fills while the tarball is written (1 MiB tmpfs: the spool is
#       kept whole beside), and spool and tarball share a file system
#
# Without root (a) and (b) are skipped with a message. Defects found are
# collected as BUG lines and fail the test at the end, after every case ran.
set -euo pipefail
NET=155
. "$(dirname "$0")/../integration/lib.sh"

for tool in zstd tar bsdtar; do
	command -v "$tool" >/dev/null || { echo "SKIP ($TEST_NAME): no $tool"; exit 77; }
done

ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
MOUNTS=()
_bad_cleanup() {
	local rc=$? m

	set +e
	if [ -n "$SERVER_PID" ]; then
		kill -KILL "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=""
	fi
	for m in "${MOUNTS[@]}"; do
		[ "$rc" -eq 0 ] || ls -laR "$m" >>"$T/tmpfs-listing.txt" 2>&1
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	(exit "$rc")
	_nd_cleanup
}
trap _bad_cleanup EXIT

mkdir -p "$T/full" "$T/small" "$T/spool" "$T/tinyout" "$T/pair"
if [ "$ROOT" = 1 ]; then
	for m in full:8M small:1M spool:4M tinyout:1M pair:40M; do
		mount -t tmpfs -o "size=${m#*:},mode=0700" tmpfs "$T/${m%:*}" ||
			fail "cannot mount a tmpfs on $T/${m%:*}"
		MOUNTS+=("$T/${m%:*}")
	done
fi
mkdir -p "$T/pair/out"

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 2

[sink z]
module = zstd
level = 1

[sink zone]
module = zstd
level = 1
workers = 1

[sink arz]
module = archive
compression = zstd

[sink arsp]
module = archive
compression = zstd
spool_dir = $T/spool

[sink arnospool]
module = archive
spool_dir = $T/nospool

[sink local]
module = file
fsync = no

[sink full]
module = file
fsync = no
dir = $T/full

[sink small]
module = file
fsync = no
dir = $T/small

[sink tinyout]
module = file
fsync = no
dir = $T/tinyout

[sink tarfail]
module = flaky
failures = 1000

[sink arpair]
module = archive
compression = none
spool_dir = $T/pair

[sink pairout]
module = file
fsync = no
dir = $T/pair/out

[route a-full]
client = 127.0.$NET.1/32
sink = z | full

[route a-lastflush]
client = 127.0.$NET.2/32
sink = zone | small

[route c-archive]
client = 127.0.$NET.4/32
sink = arz | local

[route d-archive]
client = 127.0.$NET.6/32
sink = arz | local

[route b-spool]
client = 127.0.$NET.7/32
sink = arsp | local

[route b-tarball]
client = 127.0.$NET.8/32
sink = arz | tinyout

[route e-tarfail]
client = 127.0.$NET.9/32
sink = arz | tarfail | local

[route b-pair]
client = 127.0.$NET.11/32
sink = arpair | pairout

[route default]
path = *
sink = z | local
INI
start_server -c "$C"

# A spool_dir that is not there: said at start, once, by the archive
# sink whose it is; the one that is there draws no warning.
wait_log "sink arnospool \\(archive\\): spool_dir ${T//./\\.}/nospool: No such file or directory; every dump for this sink fails until the server can list and write it" 10
assert_no_log "sink arsp \\(archive\\): spool_dir" "a warning about a spool_dir that is there"

BUGS=()
bug() {
	echo "BUG: $*" >&2
	BUGS+=("$*")
}

# One folder with STEM, info and manifest.json (and key) out of TARBALL
# with TOOL; sets TOP.
extract() {	# TOOL TARBALL OUT
	mkdir -p "$3"
	"$1" -xf "$2" -C "$3" 2>"$3.err" || fail "$1 -xf $2: $(cat "$3.err")"
	TOP=$(find "$3" -mindepth 1 -maxdepth 1 -type d)
	[ "$(echo "$TOP" | wc -l)" -eq 1 ] && [ -n "$TOP" ] ||
		fail "$1: $2 should hold one folder, has: $(ls -A "$3" | tr '\n' ' ')"
}

# The outcome --status reports for the last dump of ADDR.
status_of() {	# ADDR
	"$ND_SERVER" -d "$DUMPDIR" --port "$PORT" --status >"$T/status.out" 2>&1 ||
		fail "--status: $(cat "$T/status.out")"
	awk -v a="$1" '$2 == a { print $3 }' "$T/status.out" | tail -1
}

# The outcome line of the N-th dump of ADDR.
outcome_line() {	# ADDR [N]
	grep -E "dump [0-9]+ from ${1//./\\.} (complete|incomplete): " "$SERVER_LOG" |
	    sed -n "${2:-1}p"
}

# ---------------------------------------------------------------- (c)
# The client dies after 8 MiB: zstd | local.
A=$(client_addr 3)
D=$(client_dir "$A")
send_dump 3 "$A" -q -g 32M -s 181 --stop-after 8M -o "$T/sent3"
assert_eq "$(size_of "$T/sent3")" 8388608 "bytes sent before the client stopped"
wait_manifest "$D" 0 30
wait_dumps "$A" 1 30
M=$D/manifest.0.json
assert_manifest "$M" incomplete "$T/sent3"
assert_match "$(jget "$M" .reason)" "silent|timeout" "reason in $M"
assert_eq "$(jget "$M" .finished)" false "finished"
assert_file "$D/vmcore.0.zst.incomplete"
for f in vmcore.0.zst vmcore.0.incomplete vmcore.0 vmcore.last.zst; do
	assert_no_file "$D/$f"
done
assert_eq "$(mobject "$M" vmcore | jq -r '.stored["z | local"]')" \
    "$A/vmcore.0.zst.incomplete" "where the manifest says the vmcore is"
zstd -q -t "$D/vmcore.0.zst.incomplete" ||
	fail "vmcore.0.zst.incomplete is not a whole zstd stream"
zstd -q -d -c "$D/vmcore.0.zst.incomplete" >"$T/got3"
assert_same_bytes "$T/got3" "$T/sent3"
grep -q "Dump Status: bad" "$D/info.0" || fail "info.0 does not say 'Dump Status: bad'"
assert_log "dump [0-9]+ from ${A//./\\.} incomplete: 8388608 bytes .*timeout.*stored by 1 of 1 sinks: ${A//./\\.}/vmcore\\.0\\.zst\\.incomplete$" \
    "incomplete line"
pass "(c) zstd | local, client died after 8 MiB: vmcore.0.zst.incomplete is a whole zstd stream of exactly the 8 MiB received; manifest and info say incomplete/bad"

# The client dies mid-call: archive | local.
A=$(client_addr 4)
D=$(client_dir "$A")
send_dump 3 "$A" -q -g 32M -s 182 --stop-after 5000000 -o "$T/sent4"
wait_manifest "$D" 0 30
wait_dumps "$A" 1 30
M=$D/manifest.0.json
assert_manifest "$M" incomplete "$T/sent4"
assert_match "$(jget "$M" .reason)" "silent|timeout" "reason in $M"
TB=$D/dump.0.tar.zst.incomplete
wait_file "$TB"
assert_no_file "$D/dump.0.tar.zst"
for tool in tar bsdtar; do
	extract "$tool" "$TB" "$T/c-$tool"
	assert_same_bytes "$TOP/vmcore" "$T/sent4"
	grep -q "Dump Status: bad" "$TOP/info" || fail "$tool: info does not say bad"
	assert_outer_manifest "$TOP/manifest.json" "$M" "${TB#"$DUMPDIR"/}"
done
pass "(c) archive | local, client died mid-call after $(size_of "$T/sent4") bytes: dump.0.tar.zst.incomplete; GNU tar and bsdtar extract exactly those bytes, info bad, the manifest"

# ---------------------------------------------------------------- (d)
# No KDH: zstd | local.
A=$(client_addr 5)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 8M -s 183 --no-kdh -o "$T/sent5"
wait_manifest "$D" 0
wait_dumps "$A" 1
M=$D/manifest.0.json
assert_manifest "$M" incomplete "$T/sent5"
assert_match "$(jget "$M" .reason)" "kernel dump header|KDH" "reason in $M"
assert_eq "$(jget "$M" .finished)" true "finished"
assert_eq "$(jget "$M" .kdh)" null "kdh"
assert_file "$D/vmcore.0.zst.incomplete"
assert_no_file "$D/vmcore.0.zst"
zstd -q -d -c "$D/vmcore.0.zst.incomplete" >"$T/got5"
assert_same_bytes "$T/got5" "$T/sent5"
grep -q "Dump Status: bad" "$D/info.0" || fail "info.0 does not say 'Dump Status: bad'"
pass "(d) zstd | local, no KDH: vmcore.0.zst.incomplete restores the 8 MiB sent byte for byte; incomplete: '$(jget "$M" .reason)'"

# No KDH, encrypted: archive | local.
A=$(client_addr 6)
D=$(client_dir "$A")
head -c 1000 /dev/urandom >"$T/key6"
send_dump 0 "$A" -q -g 8M -s 184 --no-kdh --key "$T/key6" -o "$T/sent6"
wait_manifest "$D" 0
wait_dumps "$A" 1
M=$D/manifest.0.json
assert_manifest "$M" incomplete "$T/sent6"
assert_match "$(jget "$M" .reason)" "kernel dump header|KDH" "reason in $M"
assert_eq "$(jget "$M" .encrypted)" true "encrypted"
TB=$D/dump.0.tar.zst.incomplete
wait_file "$TB"
assert_no_file "$D/dump.0.tar.zst"
for tool in tar bsdtar; do
	extract "$tool" "$TB" "$T/d-$tool"
	assert_same_bytes "$TOP/vmcore_encrypted" "$T/sent6"
	assert_same_bytes "$TOP/key" "$T/key6"
	grep -q "Dump Status: bad" "$TOP/info" || fail "$tool: info does not say bad"
	assert_outer_manifest "$TOP/manifest.json" "$M" "${TB#"$DUMPDIR"/}"
done
pass "(d) archive | local, no KDH, encrypted: dump.0.tar.zst.incomplete; both tools extract vmcore_encrypted and the key byte for byte, info bad"

# (e) The store refuses the tarball (a flaky stage after the archive, every
# write of it failed): the chain fails at its end, after the manifest went
# by, so the host writes the manifest beside what the store kept, naming
# it and saying the chain failed: retention finds a dump's files by it.
A=$(client_addr 9)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 2M -s 187 -o "$T/sent9"
wait_dumps "$A" 1
wait_manifest "$D" 0
M=$D/manifest.0.json
assert_eq "$(jget "$M" .status)" incomplete "(e) status"
assert_eq "$(jget "$M" '.sinks[0].result')" failed "(e) the chain's result"
assert_match "$(jget "$M" .reason)" "no sink stored the dump" "(e) reason"
part=$(cd "$D" && ls | grep '^dump' || true)
[ -n "$part" ] || fail "(e) the store kept no tarball: $(ls -A "$D" | tr '\n' ' ')"
assert_eq "$(jget "$M" '.objects[] | select(.kind == "archive") | .stored[]')" \
    "$A/$part" "(e) where the manifest says the tarball is"
pass "(e) the store refused the tarball: the manifest beside '$part' names it, chain failed, dump incomplete"

# (f) Gzip dumps (KDH compression 1) through zstd | local. The core holds
# a block back until a page beyond it has come (assembler.c), and cuts a
# compressed vmcore at dumplength only when its data ends in the 4096-byte
# block dumplength ends in (the padding, all a kernel sends past it): so a
# cut never reaches into what a chain was given. One whose data ends
# there: cut, complete, the zstd copy the dumplength bytes sent. One whose
# data runs 41,952 bytes on: not cut, incomplete, every byte kept, and
# the manifest names the copy (retention finds a dump's files by it).
# (Seed 149's image starts with zero pages, so zstd compresses rather
# than passing it through.) With 64 KiB of slack the second was cut
# behind what zstd had compressed, and its close failed.
gz_dump() {	# I SIZE DUMPLENGTH
	timeout $((60 * WAIT_SCALE)) python3 "$(dirname "$0")/../faults/ndfault.py" \
	    dump "$PORT" "$(client_addr "$1")" "$T/sent$1" --size "$2" \
	    --seed 149 --compression 1 --dumplength "$3" >"$T/nd.$1.log" 2>&1 ||
		{ cat "$T/nd.$1.log" >&2; fail "(f) ndfault.py dump failed"; }
	wait_dumps "$(client_addr "$1")" 1
	wait_manifest "$(client_dir "$(client_addr "$1")")" 0
}
gz_dump 10 262144 258049
D=$(client_dir "$(client_addr 10)")
M=$D/manifest.0.json
assert_eq "$(jget "$M" .status)" complete "(f) status, padding in the last block"
assert_eq "$(jget "$M" '.sinks[0].result')" ok "(f) the chain's result"
zstd -q -d -c "$D/vmcore.0.gz.zst" | cmp -s - <(head -c 258049 "$T/sent10") ||
	fail "(f) vmcore.0.gz.zst is not the 258049 bytes sent before the padding"
gz_dump 12 300000 258048
D=$(client_dir "$(client_addr 12)")
M=$D/manifest.0.json
assert_eq "$(jget "$M" .status)" incomplete "(f) status, data past the last block"
assert_match "$(jget "$M" .reason)" "beyond the 258048 bytes the KDH describes" "(f) reason"
core=$(cd "$D" && ls | grep '^vmcore' || true)
[ -n "$core" ] || fail "(f) no vmcore kept: $(ls -A "$D" | tr '\n' ' ')"
zstd -q -d -c "$D/$core" | cmp -s - "$T/sent12" || fail "(f) $core is not every byte sent"
assert_eq "$(jget "$M" '.objects[] | select(.kind == "vmcore") | .stored[]')" \
    "$(client_addr 12)/$core" "(f) where the manifest says the copy is"
pass "(f) gzip through zstd: cut at dumplength in its last block, complete; 41952 bytes past it, not cut, incomplete, all kept as $core"

# The daemon still serves.
A=$(client_addr 3)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 4M -s 185 -o "$T/sent3b"
wait_manifest "$D" 1
assert_manifest "$D/manifest.1.json" complete "$T/sent3b"
zstd -q -d -c "$D/vmcore.1.zst" | cmp -s - "$T/sent3b" || fail "vmcore.1.zst is not the next dump"
assert_symlink "$D/vmcore.last.zst" vmcore.1.zst
pass "(c/d) the daemon still serves: a complete dump afterwards is vmcore.1.zst"

if [ "$ROOT" != 1 ]; then
	stop_server
	echo "SKIP ($TEST_NAME): (a) and (b) need root for tmpfs; (c) and (d) passed"
	finish
	exit 0
fi

# ---------------------------------------------------------------- (a)
# The disk fills in the middle of the compressed stream: 64 MiB without
# zero pages through z | full (8 MiB).
A=$(client_addr 1)
DF=$T/full/$A
send_bg "$A" -q -g 64M -z 0 -s 186 -o "$T/sent1"
apid=$BG_PID
wait_dumps "$A" 1 60
arc=0
wait "$apid" || arc=$?
assert_log "dump [0-9]+: sink z \\| full: write: .*No space left on device" "write error line"
line=$(outcome_line "$A")
assert_match "$line" " incomplete: .*no sink stored the dump.*stored by 0 of 1 sinks" "outcome line"
assert_eq "$(status_of "$A")" incomplete "--status outcome"
part=$(ls "$DF" | grep '^vmcore' || true)
[ "$(echo "$part" | wc -l)" -eq 1 ] && [ -n "$part" ] ||
	fail "(a) one vmcore file expected in $DF, found: $(ls -A "$DF" | tr '\n' ' ')"
assert_match "$part" '\.incomplete$' "(a) name of the partial output"
assert_no_file "$DF/vmcore.0.zst"
zstd -q -d -c "$DF/$part" >"$T/got1" 2>/dev/null || true
[ "$(size_of "$T/got1")" -gt 0 ] || fail "(a) $part does not decompress at all"
assert_prefix_of "$T/got1" "$T/sent1"
if [ -f "$DF/manifest.0.json" ]; then
	assert_eq "$(jget "$DF/manifest.0.json" .status)" incomplete "(a) status in the manifest"
fi
[ "$part" = vmcore.0.zst.incomplete ] ||
	bug "(a) disk full mid-stream, z | full: the partial zstd stream is named '$part', without the .zst the chain's output has (a complete one is vmcore.0.zst, a client that died leaves vmcore.0.zst.incomplete): expected vmcore.0.zst.incomplete"
pass "(a) disk full while compressing (client exit $arc): the write error is logged, the dump is incomplete ('no sink stored the dump', 0 of 1 sinks, --status incomplete), $part keeps $(size_of "$DF/$part") bytes that decompress to the first $(size_of "$T/got1") bytes sent"

# Room again: the same client dumps completely.
rm -f "$DF/$part"
send_dump 0 "$A" -q -g 4M -s 187 -o "$T/sent1b"
wait_manifest "$DF" 1
assert_manifest "$DF/manifest.1.json" complete "$T/sent1b"
zstd -q -d -c "$DF/vmcore.1.zst" | cmp -s - "$T/sent1b" || fail "(a) vmcore.1.zst is not the next dump"
pass "(a) after the partial file was removed, the next dump is complete (vmcore.1.zst)"

# The disk fills at the compressor's last flush, when the core closes the
# vmcore: one worker buffers all of a 3 MiB dump, so every compressed byte
# goes out then, onto a 1 MiB tmpfs.
A=$(client_addr 2)
DS=$T/small/$A
send_dump 0 "$A" -q -g 3M -z 0 -s 188 -o "$T/sent2"
wait_dumps "$A" 1 30
assert_log "dump [0-9]+: sink zone \\| small: (close|write|end): .*No space left on device" "error line at the last flush"
line=$(outcome_line "$A")
st=$(status_of "$A")
part=$(ls "$DS" | grep '^vmcore' || true)
[ -n "$part" ] || fail "(a) the last flush left no vmcore file in $DS"
zstd -q -d -c "$DS/$part" >"$T/got2" 2>/dev/null || true
[ "$(size_of "$T/got2")" -gt 0 ] || fail "(a) $part, cut at the last flush, does not decompress at all"
assert_prefix_of "$T/got2" "$T/sent2"
assert_match "$part" '\.incomplete$' "(a) name of the output cut at the last flush"
if [[ $line =~ \ complete:\  ]] || [ "$st" != incomplete ]; then
	bug "(a) disk full at the compressor's last flush (zone | small, the only chain): the dump that no sink stored is reported complete (log: '${line#* }'; --status: '$st'); expected incomplete, 'no sink stored the dump'"
fi
[[ $part == *.zst.incomplete ]] ||
	bug "(a) disk full at the last flush: the partial zstd stream is named '$part'; expected vmcore.0.zst.incomplete"
pass "(a) disk full at the last flush: the error is logged, $part ($(size_of "$DS/$part") bytes) decompresses to a prefix of what was sent"

# ---------------------------------------------------------------- (b)
# The spool fills: archive with spool_dir on a 4 MiB tmpfs, an encrypted
# dump with 8 MiB of data (16 MiB, half zero pages). The tarball goes to the
# dump directory, which has room.
A=$(client_addr 7)
D=$(client_dir "$A")
head -c 2000 /dev/urandom >"$T/key7"
send_dump 0 "$A" -q -g 16M -z 0.5 -s 189 --key "$T/key7" -o "$T/sent7"
wait_dumps "$A" 1 30
eline=$(grep -E "dump [0-9]+: sink arsp \\| local: write: spool in ${T//./\\.}/spool: write at offset [0-9]+: No space left on device" "$SERVER_LOG" | head -1)
[ -n "$eline" ] || fail "(b) no spool write error in the log"
spooled=$(echo "$eline" | sed -E 's/.*write at offset ([0-9]+):.*/\1/')
line=$(outcome_line "$A")
assert_match "$line" " incomplete: .*no sink stored the dump: spool .*No space left on device.*stored by 0 of 1 sinks" "(b) outcome line"
assert_eq "$(status_of "$A")" incomplete "(b) --status outcome"
TB=$D/dump.0.tar.zst.incomplete
wait_file "$TB"
assert_no_file "$D/dump.0.tar.zst"
assert_log "sink arsp \\(archive\\): dump [0-9]+ from ${A//./\\.}: tarball ${A//./\\.}/dump\\.0\\.tar\\.zst\\.incomplete \\($(size_of "$TB") bytes\\)" "(b) tarball line"
for tool in tar bsdtar; do
	extract "$tool" "$TB" "$T/b-$tool"
	v=$TOP/vmcore_encrypted
	assert_file "$v"
	assert_gt "$spooled" 0 "(b) bytes spooled"
	# The entry ends where the write that failed began: it holds what the
	# chain took, not zeros padded to the dump's length. That write
	# failed somewhere in its block (256 KiB at most).
	kept=$(size_of "$v")
	assert_gt "$kept" $((spooled - 262144)) "(b) $tool: bytes of vmcore_encrypted (the spool held $spooled)"
	assert_gt $((spooled + 1)) "$kept" "(b) $tool: bytes of vmcore_encrypted (the spool held $spooled)"
	assert_prefix_of "$v" "$T/sent7"
	if [ ! -f "$TOP/key" ]; then
		[ "$tool" = tar ] && bug "(b) spool full, archive | local, encrypted dump: the tarball holds no key ($(ls "$TOP" | tr '\n' ' ')); the 2000-byte key arrived whole, and the core stores no manifest either: the key is kept nowhere, so the vmcore_encrypted that was kept cannot be decrypted"
	elif ! cmp -s "$TOP/key" "$T/key7"; then
		fail "(b) $tool: the key in the tarball differs from the one sent"
	fi
done
inside=$(ls "$TOP" | tr '\n' ' ')
beside=$(ls "$D" | tr '\n' ' ')
used=$(df -B1 --output=used "$T/spool" | tail -1 | tr -d ' ')
[ "$used" -lt $((256 * 1024)) ] || fail "(b) the spool still holds $used bytes after the dump"
pass "(b) spool full: the error is logged, the dump is incomplete (0 of 1 sinks, --status incomplete), the tarball is emitted as dump.0.tar.zst.incomplete and both tools extract vmcore_encrypted, the first $kept bytes sent (all the chain took before the spool filled at $spooled); the spool is released (tarball holds: $inside; folder holds: $beside)"

# Room again (the spool is free): the next dump is complete.
send_dump 0 "$A" -q -g 1M -s 190 -o "$T/sent7b"
wait_manifest "$D" 1
assert_manifest "$D/manifest.1.json" complete "$T/sent7b"
wait_file "$D/dump.1.tar.zst"
extract bsdtar "$D/dump.1.tar.zst" "$T/b-next"
assert_same_bytes "$TOP/vmcore" "$T/sent7b"
pass "(b) the next dump through the same archive sink is complete (dump.1.tar.zst)"

# The disk fills while the tarball is written (arz | tinyout, 1 MiB): the
# tarball is made in the chain's end, after the core judged the dump and
# stored the manifest.
A=$(client_addr 8)
DT=$T/tinyout/$A
send_dump 0 "$A" -q -g 3M -z 0 -s 191 -o "$T/sent8"
wait_dumps "$A" 1 30
assert_log "dump [0-9]+: sink arz \\| tinyout: end: .*No space left on device" "(b) tarball write error line"
line=$(outcome_line "$A")
st=$(status_of "$A")
part=$(ls "$DT" | grep '^dump' || true)
[ -n "$part" ] || fail "(b) the full tarball disk holds no dump file: $(ls -A "$DT" | tr '\n' ' ')"
assert_match "$part" '\.incomplete$' "(b) name of the cut tarball"
mstatus=none
if [ -f "$DT/manifest.0.json" ]; then
	mstatus="$(jget "$DT/manifest.0.json" .status), chain $(jget "$DT/manifest.0.json" '.sinks[0].result')"
fi
# The host tries to put the manifest beside it, naming it (retention
# finds a dump's files by its manifest); on this full disk it cannot.
[ "$mstatus" != none ] ||
	assert_log "dump [0-9]+: sink arz \\| tinyout: the manifest beside the cut tarball: .*No space left on device" "(b) the manifest that could not be written"
[ "$mstatus" = none ] || assert_eq "$(jget "$DT/manifest.0.json" \
    '.objects[] | select(.kind == "archive") | .stored[]')" "$A/$part" \
    "(b) where the manifest beside the cut tarball says it is"
if [[ $line =~ \ complete:\  ]] || [ "$st" != incomplete ]; then
	bug "(b) disk full while the tarball is written (arz | tinyout, the only chain): the dump is reported complete (log: '${line#* }'; --status: '$st'); expected incomplete, 'no sink stored the dump'"
fi
if [ "$mstatus" != none ] && [ "$mstatus" != "incomplete, chain failed" ]; then
	bug "(b) disk full while the tarball is written: manifest.0.json beside the cut tarball '$part' says '$mstatus'; expected incomplete with the chain failed"
fi
[[ $part == *.tar.zst.incomplete ]] ||
	bug "(b) disk full while the tarball is written: the cut tarball is named '$part'; expected dump.0.tar.zst.incomplete"
# What the cut tarball lacks is not lost: the spool stays whole until the
# next stage has the tarball, and is kept beside (its data was fed to the
# compressor and taken out of the spool before: gone, but for what the
# cut tarball held).
wait_log "a dump whose tarball failed is kept as ${A//./\\.}-[0-9]{8}-[0-9]{6}\\.incomplete in the dump directory, never archived: vmcore \\([0-9]+ bytes long\\)" 10
SV=$(ls -d "$DUMPDIR/$A"-*.incomplete)
assert_same_bytes "$SV/vmcore" "$T/sent8"
pass "(b) disk full while the tarball is written: the error is logged, the cut tarball is kept as $part, the whole vmcore as $(basename "$SV")/vmcore"

# The spool and the tarball on one file system (a 40 MiB tmpfs): the
# spool stays whole until the next stage has the tarball, so the file
# system needs room for both. A 12 MiB dump that does not compress
# (compression = none) is stored whole and its spool goes; a 28 MiB one
# fills the disk while its tarball is written: the cut tarball is kept
# and the spool beside it, whole (the old sink punched what it had fed
# out of the spool, and a tarball cut short, or a server killed while it
# was written, lost the rest).
A=$(client_addr 11)
DP=$T/pair/out/$A
send_dump 0 "$A" -q -g 12M -z 0 -s 192 -o "$T/sent11"
wait_dumps "$A" 1 60
wait_manifest "$DP" 0
assert_manifest "$DP/manifest.0.json" complete "$T/sent11"
extract tar "$DP/dump.0.tar" "$T/pair-tar"
assert_same_bytes "$TOP/vmcore" "$T/sent11"
[ -z "$(ls -A "$T/pair" | grep -v '^out$')" ] || fail "(b) the spool holds $(ls -A "$T/pair" | tr '\n' ' ') after a tarball stored whole"
pass "(b) spool and tarball on one 40 MiB file system: a 12 MiB dump is stored whole (dump.0.tar, $(size_of "$DP/dump.0.tar") bytes), its spool gone"
rm -f "$DP"/dump.0.tar "$DP"/manifest.0.json "$DP"/info.0
send_dump 0 "$A" -q -g 28M -z 0 -s 193 -o "$T/sent11b"
wait_dumps "$A" 2 60
wait_log "a dump whose tarball failed is kept as ${A//./\\.}-[0-9]{8}-[0-9]{6}\\.incomplete in ${T//./\\.}/pair, never archived: vmcore \\([0-9]+ bytes long\\)" 10
SV=$(ls -d "$T/pair/$A"-*.incomplete)
assert_same_bytes "$SV/vmcore" "$T/sent11b"
assert_match "$(outcome_line "$A" 2)" " incomplete: .*no sink stored the dump: .*No space left on device" "(b) outcome of the 28 MiB dump on the 40 MiB file system"
pass "(b) the same, a 28 MiB dump: the tarball cut short ($(ls "$DP" | grep '^dump' | tr '\n' ' ')), the whole vmcore kept as $(basename "$SV")/vmcore"

stop_server
pass "server exited 0 on SIGTERM"

if [ "${#BUGS[@]}" -gt 0 ]; then
	fail "${#BUGS[@]} defect(s) found (see the BUG lines above)"
fi
finish
