#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Fan-out: "sink = local, z | local2" stores every dump twice, plain and
# compressed, each chain on its own. When one chain fails (its directory is
# gone at the start of the dump; as root also its disk full in the middle
# of the dump, on a 4 MiB tmpfs) the other chain's copy is complete and
# byte-identical, the manifest lists both chains, one "ok" and one "failed"
# with its error, the dump is complete (a chain stored it), and the failed
# chain serves the next dump again. A directory missing at start is said
# once, and the sink serves when it is there.
set -euo pipefail
NET=154
. "$(dirname "$0")/../integration/lib.sh"

command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }

ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
mkdir -p "$T/tiny"
[ "$ROOT" = 0 ] || tmpfs_mount "$T/tiny" 4M

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 5

[sink z]
module = zstd
level = 1

[sink local]
module = file
fsync = no

[sink local2]
module = file
fsync = no
dir = fan2

[sink tiny]
module = file
fsync = no
dir = $T/tiny

[route tight]
client = 127.0.$NET.2/32
sink = local, z | tiny

[route default]
path = *
sink = local, z | local2
INI
start_server -c "$C"

# local2's directory is not there at start (a file system mounted later,
# say): one warning says what every dump would find, and the sink is not
# disabled for it, so that it serves once the directory is there.
wait_log "sink local2 \\(file\\): dir fan2: No such file or directory; every dump for this sink fails until the server can list and write it" 10
assert_no_log "sink (local|tiny) \\(file\\): dir" "a warning about a directory that is there"
mkdir "$DUMPDIR/fan2"

# ---------------------------------------------------------------- both ok
A=$(client_addr 1)
D=$(client_dir "$A")
D2=$DUMPDIR/fan2/$A
send_dump 0 "$A" -q -g 32M -z 0.5 -s 171 -o "$T/sent1"
wait_dumps "$A" 1 30
wait_manifest "$D" 0
wait_manifest "$D2" 0
assert_log "dump [0-9]+ from ${A//./\\.} complete: 33554432 bytes.*stored by 2 of 2 sinks" "complete line, 2 of 2"
assert_same_bytes "$D/vmcore.0" "$T/sent1"
assert_file "$D2/vmcore.0.zst"
zstd -q -d -c "$D2/vmcore.0.zst" | cmp -s - "$T/sent1" ||
	fail "fan2/$A/vmcore.0.zst does not decompress to what was sent"
assert_no_file "$D2/vmcore.0"
assert_no_file "$D/vmcore.0.zst"
M=$D/manifest.0.json
assert_manifest "$M" complete "$T/sent1"
assert_same_bytes "$D2/manifest.0.json" "$M"
assert_same_bytes "$D2/info.0" "$D/info.0"
assert_eq "$(jget "$M" '[.sinks[] | "\(.name)=\(.result)"] | join(",")')" \
    "local=ok,z | local2=ok" "chains in the manifest"
assert_eq "$(mobject "$M" vmcore | jq -c .stored)" \
    "{\"local\":\"$A/vmcore.0\",\"z | local2\":\"fan2/$A/vmcore.0.zst\"}" "where the vmcore is"
assert_symlink "$D/vmcore.last" vmcore.0
assert_symlink "$D2/vmcore.last.zst" vmcore.0.zst
pass "local, z | local2: vmcore.0 (plain, identical) and fan2/$A/vmcore.0.zst (restores identical); one manifest, the same in both, lists both chains ok"

# ---------------------------------------------------------------- begin fails
# local2's directory is gone when the dump starts: that chain fails at its
# first step, local stores the dump alone, and the dump is complete.
A=$(client_addr 3)
D=$(client_dir "$A")
mv "$DUMPDIR/fan2" "$DUMPDIR/fan2.away"
send_dump 0 "$A" -q -g 8M -s 173 -o "$T/sent3"
wait_manifest "$D" 0
wait_dumps "$A" 1
mv "$DUMPDIR/fan2.away" "$DUMPDIR/fan2"
M=$D/manifest.0.json
assert_same_bytes "$D/vmcore.0" "$T/sent3"
assert_eq "$(jget "$M" .status)" complete "status with one chain failed"
assert_eq "$(jget "$M" .reason)" "" "reason with one chain failed"
assert_eq "$(jget "$M" '[.sinks[] | "\(.name)=\(.result)"] | join(",")')" \
    "local=ok,z | local2=failed" "chains in the manifest"
err=$(jget "$M" '.sinks[] | select(.name == "z | local2") | .error')
assert_match "$err" "fan2" "error of the failed chain"
assert_eq "$(jget "$M" '.sinks[] | select(.name == "local") | has("error")')" false \
    "the chain that worked has no error"
assert_eq "$(mobject "$M" vmcore | jq -c .stored)" "{\"local\":\"$A/vmcore.0\"}" \
    "where the vmcore is"
assert_log "dump [0-9]+: sink z \\| local2: begin: " "begin failure line"
assert_log "dump [0-9]+ from ${A//./\\.} complete: 8388608 bytes.*stored by 1 of 2 sinks: ${A//./\\.}/vmcore\\.0$" \
    "complete line, 1 of 2"
assert_no_log "disabled" "a chain disabled"
assert_symlink "$D/vmcore.last" vmcore.0
pass "local2's folder gone: z | local2 failed at begin ('$err'), local stored vmcore.0 identical, manifest complete with one chain ok and one failed"

# The failed chain serves the next dump again.
send_dump 0 "$A" -q -g 4M -s 174 -o "$T/sent3b"
wait_manifest "$D" 1
wait_dumps "$A" 2
M=$D/manifest.1.json
assert_manifest "$M" complete "$T/sent3b"
z=$(mobject "$M" vmcore | jq -r '.stored["z | local2"]')
assert_match "$z" "^fan2/${A//./\\.}/vmcore\\.[0-9]+\\.zst$" "where z | local2 stored the next dump"
zstd -q -d -c "$DUMPDIR/$z" | cmp -s - "$T/sent3b" ||
	fail "fan2/$z does not decompress to the next dump"
pass "the folder back: the next dump is stored by both chains ($z)"

# ---------------------------------------------------------------- late data
# A MiB that arrives after the 4 MiB beyond it (ndfault.py: the calls of
# [1, 2) MiB go last). local writes it where it belongs, so the dump is
# complete; z | local2 is an ordered chain that had moved past it and
# fails. Its copy holds less than the dump: it must be named cut short,
# and no "last" link may move to it.
A=$(client_addr 5)
D=$(client_dir "$A")
D2=$DUMPDIR/fan2/$A
timeout $((120 * WAIT_SCALE)) python3 "$(dirname "$0")/../faults/ndfault.py" \
    dump "$PORT" "$A" "$T/sent5" --size $((6 << 20)) --seed 175 \
    --late 1048576-2097152 >"$T/nd.5.log" 2>&1 ||
	{ cat "$T/nd.5.log" >&2; fail "ndfault.py dump with a late MiB failed"; }
wait_manifest "$D" 0
wait_dumps "$A" 1
M=$D/manifest.0.json
assert_eq "$(jget "$M" .status)" complete "status with the ordered chain failed"
assert_same_bytes "$D/vmcore.0" "$T/sent5"
assert_eq "$(jget "$M" '[.sinks[] | "\(.name)=\(.result)"] | join(",")')" \
    "local=ok,z | local2=failed" "chains in the manifest"
assert_match "$(jget "$M" '.sinks[] | select(.name == "z | local2") | .error')" \
    "arrived at offset 1048576 after the stream passed it" "error of the ordered chain"
# ndfault.py's image is random: z passes it through uncompressed.
assert_file "$D2/vmcore.0.incomplete"
assert_no_file "$D2/vmcore.0"
assert_no_file "$D2/vmcore.last"
assert_lt "$(size_of "$D2/vmcore.0.incomplete")" "$(size_of "$T/sent5")" "bytes in the cut copy"
cmp -s -n 1048576 "$D2/vmcore.0.incomplete" "$T/sent5" ||
	fail "the first MiB of fan2/$A/vmcore.0.incomplete differs from what was sent"
assert_symlink "$D/vmcore.last" vmcore.0
pass "a late MiB: local stored the dump whole, z | local2 failed ('late data'); its copy is vmcore.0.incomplete ($(size_of "$D2/vmcore.0.incomplete") bytes), no vmcore.last beside it"

# Late bytes that come while the hole they fill is still held back: the
# dump jumps from 256 KiB to 2 MiB (the stream skips the rest as a hole,
# sent to the sinks before the next data), and [256 KiB, 2 MiB) comes
# right behind the first call at 2 MiB, before its block is whole. The
# late bytes are written at once; the hole held back must go first, or
# it punches them out of local's copy (which was then called complete
# with 1.75 MiB of zeros in it).
A=$(client_addr 6)
D=$(client_dir "$A")
timeout $((120 * WAIT_SCALE)) python3 "$(dirname "$0")/../faults/ndfault.py" \
    dump "$PORT" "$A" "$T/sent6" --size $((3 << 20)) --seed 176 \
    --late 262144-2097152 --late-after 2097152 >"$T/nd.6.log" 2>&1 ||
	{ cat "$T/nd.6.log" >&2; fail "ndfault.py dump with late bytes behind a held hole failed"; }
wait_manifest "$D" 0
wait_dumps "$A" 1
assert_eq "$(jget "$D/manifest.0.json" .status)" complete "status of the dump with late bytes"
assert_same_bytes "$D/vmcore.0" "$T/sent6"
pass "late bytes behind a hole the stream still held: local's copy is byte-identical"

# ---------------------------------------------------------------- disk full
if [ "$ROOT" != 1 ]; then
	stop_server
	echo "SKIP ($TEST_NAME): a chain whose disk fills needs root (tmpfs); the other parts passed"
	finish
	exit 77
fi
# 64 MiB without zero pages compresses to far more than the 4 MiB tmpfs.
A=$(client_addr 2)
D=$(client_dir "$A")
DT=$T/tiny/$A
send_dump 0 "$A" -q -g 64M -z 0 -s 172 -o "$T/sent2"
wait_manifest "$D" 0 30
wait_dumps "$A" 1 30
M=$D/manifest.0.json
assert_same_bytes "$D/vmcore.0" "$T/sent2"
assert_eq "$(jget "$M" .status)" complete "status with one chain full"
assert_eq "$(jget "$M" .reason)" "" "reason with one chain full"
assert_eq "$(mobject "$M" vmcore | jq -r .sha256)" "$(sha_of "$T/sent2")" "vmcore sha256"
assert_eq "$(jget "$M" '[.sinks[] | "\(.name)=\(.result)"] | join(",")')" \
    "local=ok,z | tiny=failed" "chains in the manifest"
err=$(jget "$M" '.sinks[] | select(.name == "z | tiny") | .error')
assert_match "$err" "No space left on device" "error of the full chain"
assert_log "dump [0-9]+: sink z \\| tiny: write: .*No space left on device" "write error line"
assert_log "dump [0-9]+ from ${A//./\\.} complete: 67108864 bytes.*stored by 1 of 2 sinks: ${A//./\\.}/vmcore\\.0$" \
    "complete line, 1 of 2"
assert_no_log "disabled" "a chain disabled"
# What the full chain did write is kept, labelled incomplete, and is the
# start of the compressed stream.
part=$(ls "$DT" | grep '^vmcore' || true)
[ "$(echo "$part" | wc -l)" -eq 1 ] && [ -n "$part" ] ||
	fail "the full chain should leave one vmcore file, has: $(ls -A "$DT" | tr '\n' ' ')"
assert_match "$part" '\.incomplete$' "name of what the full chain kept"
# Named in the manifest too (the chain's result says it failed): a copy no
# manifest names is one retention never removes.
assert_eq "$(mobject "$M" vmcore | jq -c .stored)" \
    "{\"local\":\"$A/vmcore.0\",\"z | tiny\":\"$DT/$part\"}" "where the vmcore is"
assert_no_file "$DT/vmcore.0.zst"
zstd -q -d -c "$DT/$part" >"$T/partial" 2>/dev/null || true
[ "$(size_of "$T/partial")" -gt 0 ] || fail "$part does not decompress at all"
assert_prefix_of "$T/partial" "$T/sent2"
pass "4 MiB tmpfs full: z | tiny failed ('$err'), local stored vmcore.0 identical, manifest complete with 'local' ok and 'z | tiny' failed; the full chain kept $part ($(size_of "$DT/$part") bytes, decompressing to the first $(size_of "$T/partial") bytes sent)"

# Room again: the next dump is stored by both chains.
rm -f "$DT/$part"
send_dump 0 "$A" -q -g 2M -s 175 -o "$T/sent2b"
wait_manifest "$D" 1
wait_dumps "$A" 2
M=$D/manifest.1.json
assert_manifest "$M" complete "$T/sent2b"
z=$(mobject "$M" vmcore | jq -r '.stored["z | tiny"]')
assert_match "$z" "^$T/tiny/${A//./\\.}/vmcore\\.[0-9]+\\.zst$" "where z | tiny stored the next dump (absolute: dir is)"
zstd -q -d -c "$z" | cmp -s - "$T/sent2b" ||
	fail "$z does not decompress to the next dump"
pass "room again: the next dump is stored by both chains ($z)"

stop_server
pass "server exited 0 on SIGTERM"
finish
