#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The kernel message buffer of a minidump, stored as msgbuf.N beside the
# vmcore: an unwrapped ring as it is, a wrapped one rotated so the newest
# text comes last, control characters escaped; a big-endian platform; the
# manifest lists it (kind "msgbuf", with its xxh128: this server runs
# with digest = xxh128, msgbuf_arches with the default sha256), its panic
# line is logged and netdump-reboot gets NETDUMP_MSGBUF. Compressed dumps
# and images that are no minidump get no msgbuf.
set -euo pipefail
NET=135
. "$(dirname "$0")/lib.sh"

python3 "$ND_LIBDIR/ops_msgbuf.py" "$T/img" || fail "cannot generate the images"
S=$T/scripts
mkdir -p "$S" "$T/calls"
cat >"$S/netdump-reboot" <<EOF
#!/bin/sh
echo "\${NETDUMP_MSGBUF-<unset>}" >"$T/calls/reboot.\$1"
EOF
chmod 0755 "$S/netdump-reboot"
printf '[server]\nsink_dir = %s\nscripts_dir = %s\ndigest = xxh128\n' \
    "$ND_SINK_DIR" "$S" >"$T/server.ini"
DIGEST=xxh128

start_server -c "$T/server.ini" --timeout 5

# Send IMAGE from ADDR and check the msgbuf against EXPECTED; the panic
# line PANIC must be logged.
msgbuf_case() {	# ADDR IMAGE EXPECTED PANIC WHAT
	local a=$1 what=$5 d

	d=$(client_dir "$a")
	send_dump 0 "$a" -q -f "$2" -H msgbuf-host
	assert_msgbuf "$a" "$2" "$3" "$4" "$what"
	assert_mode "$d/msgbuf.0" 600
	assert_eq "$(mobject "$MSGBUF_MANIFEST" msgbuf | jq -r .stored.local)" "$a/msgbuf.0" "$what: where the manifest says msgbuf.0 is"
	wait_file "$T/calls/reboot.$a" 10
	assert_eq "$(cat "$T/calls/reboot.$a")" "$a/msgbuf.0" "$what: NETDUMP_MSGBUF"
}

A=$(client_addr 1)
msgbuf_case "$A" "$T/img/unwrapped.img" "$T/img/unwrapped.expected" \
    "panic: test panic one" "unwrapped ring"
grep -q '\\x1b\[1mbold console text\\x1b\[0m' "$(client_dir "$A")/msgbuf.0" ||
	fail "escape sequences are not written as \\x1b"
pass "unwrapped ring: msgbuf.0 is the text up to 'Dumping 64 out of 256 MB:' (ESC as \\x1b, tab kept), in the manifest with its xxh128; log 'panic: test panic one'; NETDUMP_MSGBUF=$A/msgbuf.0"

B=$(client_addr 2)
msgbuf_case "$B" "$T/img/wrapped.img" "$T/img/wrapped.expected" \
    "panic: test panic two" "wrapped ring"
DB=$(client_dir "$B")
assert_eq "$(tail -n 1 "$DB/msgbuf.0")" "Dumping 64 out of 256 MB:..1%" "last line of a wrapped msgbuf"
assert_eq "$(grep -n 'panic: test panic two' "$DB/msgbuf.0" | cut -d: -f1)" "$(($(wc -l <"$DB/msgbuf.0") - 5))" "line of the panic (5 before the last)"
grep -q 'with a bell \\x07 and DEL \\x7f inside' "$DB/msgbuf.0" || fail "BEL and DEL are not escaped"
grep -q 'carriage return\\x0d$' "$DB/msgbuf.0" || fail "CR is not escaped"
! grep -q $'\a' "$DB/msgbuf.0" || fail "a raw BEL in msgbuf.0"
assert_eq "$(head -c 1 "$DB/msgbuf.0")" K "the oldest byte of the ring comes first"
pass "wrapped ring: rotated after the last 'Dumping' line, newest text last (panic 5 lines before 'Dumping 64 out of 256 MB:..1%'), BEL/DEL/CR escaped, exactly as expected"

# The panic signature: the KDH's panic string, its backtrace's frames
# past the panic machinery (only kdb_backtrace here: none), the same for
# both clients, whose rings differ; in the manifest and the log.
SIG=$(jq -r .signature.id "$DB/manifest.0.json")
assert_match "$SIG" '^[0-9a-f]{16}$' "signature id"
assert_eq "$(jq -r .signature.panic "$DB/manifest.0.json")" "netdump-send test dump" "signature panic"
assert_eq "$(jq -c .signature.frames "$DB/manifest.0.json")" "[]" "signature frames past kdb_backtrace"
assert_eq "$(jq -r .signature.id "$(client_dir "$A")/manifest.0.json")" "$SIG" "the same crash from two clients"
assert_log "dump [0-9]+ from ${B//./\\.}: signature $SIG: netdump-send test dump\$" "signature line"
pass "panic signature: $SIG in the manifest and the log, the same for the same panic from two clients"

C=$(client_addr 3)
msgbuf_case "$C" "$T/img/ppc.img" "$T/img/ppc.expected" \
    "panic: test panic two" "big-endian (powerpc64) header"
pass "a big-endian powerpc64 minidump (mmu_name before msgbufsize) gives its msgbuf too"

# No msgbuf: a kernel-compressed dump, and an image that is no minidump.
no_msgbuf() {	# ADDR WHAT
	local d
	d=$(client_dir "$1")
	assert_no_file "$d/msgbuf.0"
	assert_eq "$(mobject "$d/manifest.0.json" msgbuf)" null "$2: msgbuf object in the manifest"
	wait_file "$T/calls/reboot.$1" 10
	assert_eq "$(cat "$T/calls/reboot.$1")" "<unset>" "$2: NETDUMP_MSGBUF"
	assert_no_log "dump [0-9]+ from ${1//./\\.}: panic:" "$2: no panic line"
}
zstd -q -c "$T/img/unwrapped.img" >"$T/img/unwrapped.img.zst"
D=$(client_addr 4)
send_dump 0 "$D" -q --compression zstd -f "$T/img/unwrapped.img.zst"
wait_manifest "$(client_dir "$D")" 0
assert_manifest "$(client_dir "$D")/manifest.0.json" complete "$T/img/unwrapped.img.zst"
no_msgbuf "$D" "zstd dump"
E=$(client_addr 5)
send_dump 0 "$E" -q -g 1M -s 351
wait_manifest "$(client_dir "$E")" 0
no_msgbuf "$E" "generated image"
pass "a zstd-compressed minidump and a generated image: no msgbuf.0, none in the manifest, NETDUMP_MSGBUF unset"

# A second minidump of the same client takes the next number.
send_dump 0 "$A" -q -f "$T/img/wrapped.img"
wait_manifest "$(client_dir "$A")" 1
cmp -s "$(client_dir "$A")/msgbuf.1" "$T/img/wrapped.expected" || fail "msgbuf.1 differs"
cmp -s "$(client_dir "$A")/msgbuf.0" "$T/img/unwrapped.expected" || fail "msgbuf.0 changed"
pass "the next dump of $A has msgbuf.1; msgbuf.0 stays"

# A header panic string of blanks (nothing once masked): the message
# buffer's panic line names the crash. It had no signature.
F=$(client_addr 6)
send_dump 0 "$F" -q -f "$T/img/wrapped.img" --panic ' '
wait_manifest "$(client_dir "$F")" 0
assert_match "$(jq -r .signature.id "$(client_dir "$F")/manifest.0.json")" '^[0-9a-f]{16}$' \
    "signature id of a dump whose header panic string is blank"
assert_eq "$(jq -r .signature.panic "$(client_dir "$F")/manifest.0.json")" "test panic two" \
    "its signature's panic, from the message buffer"
pass "a blank header panic string: the signature comes from the message buffer's panic line"

# A ring of zeros: no msgbuf object of 0 bytes; the manifest says why.
G=$(client_addr 7)
send_dump 0 "$G" -q -f "$T/img/empty.img"
wait_manifest "$(client_dir "$G")" 0
assert_no_file "$(client_dir "$G")/msgbuf.0"
assert_eq "$(mobject "$(client_dir "$G")/manifest.0.json" msgbuf)" null "msgbuf object of an empty ring"
assert_eq "$(jq -r .msgbuf_missing "$(client_dir "$G")/manifest.0.json")" \
    "the message buffer is empty" "msgbuf_missing of an empty ring"
pass "an empty ring: no msgbuf.0, msgbuf_missing 'the message buffer is empty'"

stop_server
finish
