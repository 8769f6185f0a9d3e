#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# zstd | local: the vmcore is stored as vmcore.N.zst, which stock "zstd -d"
# restores byte for byte; the manifest describes the logical (uncompressed)
# vmcore and names vmcore.N.zst as its place; info, key and manifest stay
# plain; vmcore.last.zst points at it. Level 1 with the default workers,
# level 3 with one worker, and an encrypted dump (passed through as
# vmcore_encrypted.N).
set -euo pipefail
NET=150
. "$(dirname "$0")/../integration/lib.sh"

command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 10

[sink z]
module = zstd
level = 1

[sink z3]
module = zstd
level = 3
workers = 1

[sink local]
module = file
fsync = no

[route level3]
client = 127.0.$NET.2/32
sink = z3 | local

[route default]
path = *
sink = z | local
INI
start_server -c "$C"

ZSTD_MAGIC=28b52ffd

# check_zstd_dump ADDR SENT CHAIN STEM: the usual facts of a dump stored
# through a zstd chain as STEM.0.zst (STEM vmcore or vmcore_encrypted).
check_zstd_dump() {
	local a=$1 sent=$2 chain=$3 stem=$4 d m z

	d=$(client_dir "$a")
	m=$d/manifest.0.json
	z=$d/$stem.0.zst
	wait_manifest "$d" 0 30
	wait_dumps "$a" 1 30
	assert_file "$z"
	assert_no_file "$d/$stem.0"
	assert_no_file "$d/$stem.0.incomplete"
	assert_no_file "$d/$stem.0.zst.incomplete"
	assert_no_file "$d/$stem.0.zst.zst"
	assert_eq "$(head -c 4 "$z" | od -An -tx1 | tr -d ' \n')" "$ZSTD_MAGIC" \
	    "first bytes of $z"
	[ "$(size_of "$z")" -lt "$(size_of "$sent")" ] ||
		fail "$z ($(size_of "$z") bytes) is not smaller than the $(size_of "$sent") bytes sent"
	zstd -q -t "$z" || fail "zstd -t rejects $z"
	zstd -q -d -c "$z" >"$T/restored"
	assert_same_bytes "$T/restored" "$sent"
	assert_eq "$(sha_of "$T/restored")" "$(sha_of "$sent")" "sha256 of zstd -d $z"
	rm -f "$T/restored"

	# The manifest: complete, and it describes the logical vmcore.
	assert_manifest "$m" complete "$sent"
	assert_eq "$(jget "$m" .route)" "$5" "route in $m"
	assert_eq "$(jget "$m" '.sinks | length')" 1 "chains in $m"
	assert_eq "$(jget "$m" '.sinks[0].name')" "$chain" "chain name in $m"
	assert_eq "$(mobject "$m" vmcore | jq -c .stored)" \
	    "{\"$chain\":\"$a/$stem.0.zst\"}" "where $m says the vmcore is"
	assert_eq "$(mobject "$m" info | jq -r .sha256)" "$(sha_of "$d/info.0")" \
	    "info sha256 in $m"

	# Everything but the vmcore is stored as it is: plain text and JSON.
	assert_file "$d/info.0"
	grep -q "Dump Status: good" "$d/info.0" || fail "info.0 lacks 'Dump Status: good'"
	grep -q "Dump Length: $(size_of "$sent")" "$d/info.0" ||
		fail "info.0 lacks the dump length $(size_of "$sent")"
	jq -e . "$m" >/dev/null || fail "$m is not plain JSON"
	for f in info.0.zst manifest.0.json.zst key.0.zst; do
		assert_no_file "$d/$f"
	done
	assert_symlink "$d/$stem.last.zst" "$stem.0.zst"
	assert_no_file "$d/$stem.last"
	assert_symlink "$d/info.last" info.0
	assert_symlink "$d/manifest.last.json" manifest.0.json
	for f in "$stem.0.zst" info.0 manifest.0.json; do
		assert_mode "$d/$f" 600
	done
	assert_no_temp_files "$d"
}

# 1. Level 1, the default number of workers: 64 MiB.
A=$(client_addr 1)
send_dump 0 "$A" -q -g 64M -s 151 -H chains-host -o "$T/sent1"
check_zstd_dump "$A" "$T/sent1" "z | local" vmcore default
D=$(client_dir "$A")
assert_log "sink z \\(zstd\\): dump [0-9]+ from ${A//./\\.}: vmcore: compressing at level 1 with [0-9]+ worker" "level 1 line"
assert_log "sink z \\(zstd\\): dump [0-9]+ from ${A//./\\.}: vmcore: 67108864 -> $(size_of "$D/vmcore.0.zst") bytes" "ratio line"
assert_log "dump [0-9]+ from ${A//./\\.} complete: 67108864 bytes.*stored by 1 of 1 sinks: $A/vmcore\.0\.zst" "complete line naming vmcore.0.zst"
grep -q "Hostname: chains-host" "$D/info.0" || fail "info.0 lacks the hostname"
pass "level 1: 64 MiB -> vmcore.0.zst ($(size_of "$D/vmcore.0.zst") bytes), zstd -d restores it byte-identical (sha256 $(sha_of "$T/sent1"))"
pass "level 1: manifest complete with the logical vmcore's size and sha256, stored at $A/vmcore.0.zst; info.0 and manifest plain; vmcore.last.zst -> vmcore.0.zst"

# A second dump of the same client: number 1, the links move.
send_dump 0 "$A" -q -g 2M -s 152 -o "$T/sent1b"
wait_manifest "$D" 1
wait_dumps "$A" 2
zstd -q -d -c "$D/vmcore.1.zst" | cmp -s - "$T/sent1b" ||
	fail "vmcore.1.zst does not decompress to what was sent"
assert_symlink "$D/vmcore.last.zst" vmcore.1.zst
assert_manifest "$D/manifest.1.json" complete "$T/sent1b"
pass "a second dump of the client: vmcore.1.zst, vmcore.last.zst moved to it"

# 2. Level 3, one worker: 32 MiB, half zero pages (holes).
A=$(client_addr 2)
send_dump 0 "$A" -q -g 32M -z 0.5 -s 153 -o "$T/sent2"
check_zstd_dump "$A" "$T/sent2" "z3 | local" vmcore level3
D=$(client_dir "$A")
assert_log "sink z3 \\(zstd\\): dump [0-9]+ from ${A//./\\.}: vmcore: compressing at level 3 with 1 worker\\(s\\)$" "level 3 line"
pass "level 3, workers 1: 32 MiB with holes -> vmcore.0.zst ($(size_of "$D/vmcore.0.zst") bytes), restored byte-identical"

# 3. Encrypted (a 4096-byte key, sent first as FreeBSD 13+ does):
# ciphertext does not compress, and decryptcore -n 0 opens exactly
# vmcore_encrypted.0, so the transform passes it through as it is and
# key.0 lies beside it. (The sender's image is not really encrypted and
# would compress: the old sink, which learnt of the key only at the end,
# stored vmcore_encrypted.0.zst, which decryptcore cannot open.)
A=$(client_addr 3)
head -c 4096 /dev/urandom >"$T/key3"
send_dump 0 "$A" -q -g 8M -s 154 --key "$T/key3" -o "$T/sent3"
D=$(client_dir "$A")
wait_manifest "$D" 0 30
wait_dumps "$A" 1 30
assert_same_bytes "$D/vmcore_encrypted.0" "$T/sent3"
assert_no_file "$D/vmcore_encrypted.0.zst"
assert_same_bytes "$D/key.0" "$T/key3"
assert_mode "$D/key.0" 600
assert_symlink "$D/key.last" key.0
assert_no_file "$D/vmcore.0.zst"
M=$D/manifest.0.json
assert_manifest "$M" complete "$T/sent3"
assert_eq "$(jget "$M" .encrypted)" true "encrypted"
assert_eq "$(jget "$M" .kdh.dumpkeysize)" 4096 "kdh.dumpkeysize"
assert_eq "$(mobject "$M" key | jq -r .sha256)" "$(sha_of "$T/key3")" "key sha256 in the manifest"
assert_eq "$(mobject "$M" key | jq -c .stored)" "{\"z | local\":\"$A/key.0\"}" "where the key is"
pass "encrypted, key first: vmcore_encrypted.0 is the 8 MiB sent byte for byte, passed through; key.0 is the 4096-byte key byte for byte (plain, mode 0600)"

stop_server
pass "server exited 0 on SIGTERM"
finish
