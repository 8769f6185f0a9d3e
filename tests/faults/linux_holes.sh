#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Frames a Linux client says are not RAM cost what came, not what it
# claims. REPLY_RESERVED carries the next frame that is RAM ("info", 0 for
# none: RHEL 4's drivers/net/netdump.c, platform_next_available), so one
# reply to the first request of a client announcing 2^28 frames (1 TiB,
# within max_dump_size) could make the whole terabyte holes: a dump judged
# complete at once, whose stream chains then compress or upload a
# terabyte of zeros (zstd: many minutes of a core; s3: a terabyte sent).
#
# The server takes a claimed skip whole while the frames not RAM stay
# within 16 MiB plus the RAM pages that came (the FreeBSD path's slack
# for a gap), and beyond that a frame per reply. Asserted:
#   * the terabyte claim (file sink, and a "zstd | local" chain): the
#     warning once, the dump incomplete within seconds of the client's
#     end, at most 16 MiB of frames not RAM plus one per reply, a small
#     file;
#   * a map whose gap is wider than the budget (128 RAM frames, 16 MiB
#     and 2,000 frames not RAM, 128 RAM frames): the same warning, and
#     the core complete and exact (elfcheck.py), with two PT_LOADs;
#   * a client whose every frame is not RAM (1024 frames, one reply):
#     incomplete, not a complete core of zeros;
#   * frames answered REPLY_ERROR below the last: missing, not zeros.
set -euo pipefail
NET=227
. "$(dirname "$0")/lib-faults.sh"

LINUX=$(dirname "$ND_SEND")/netdump-linux
ELFCHECK="python3 $(dirname "$0")/../integration/elfcheck.py"
[ -x "$LINUX" ] || fail "no $LINUX"
command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }

LPORT=$(free_port)
cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
linux_port = $LPORT
timeout = 3

[sink local]
module = file
fsync = no

[sink z]
module = zstd
level = 1

[route zstd]
client = $(client_addr 2)/32
sink = z | local

[route default]
path = *
sink = local
INI
start_server -c "$T/server.ini"

SLACK=4096			# 16 MiB of 4 KiB frames
CLAIM=$(((1 << 28) - 1024))	# 1 TiB less the header's room

core_of() {	# CLIENT: its directory with a manifest
	poll $((20 * WAIT_SCALE)) sh -c "ls '$DUMPDIR/$(client_addr "$1")'-*/manifest.json >/dev/null 2>&1" ||
	    fail "no manifest for $(client_addr "$1") after $((20 * WAIT_SCALE)) s"
	dirname "$(ls "$DUMPDIR/$(client_addr "$1")"-*/manifest.json | head -1)"
}

# ------------------------------------------------------- a terabyte claim
# Both clients answer every request for 5 s, then stop; the server's
# timeout (3 s) ends their dumps.
for i in 1 2; do
	timeout -s KILL 5 "$LINUX" -b "$(client_addr $i):6666" -n "$CLAIM" \
	    --holes "0-$CLAIM" "127.0.0.1:$LPORT" >"$T/linux.$i.log" 2>&1 &
done
for i in 1 2; do
	D=$(core_of $i)
	M=$D/manifest.json
	assert_eq "$(jget "$M" .status)" incomplete "status of the terabyte claim (client $i)"
	assert_eq "$(jget "$M" .linux.page_frames)" "$CLAIM" "page_frames (client $i)"
	assert_eq "$(jget "$M" .linux.pages_received)" 0 "pages_received (client $i)"
	notram=$(jget "$M" .linux.pages_not_ram)
	replies=$(jget "$M" .packets)
	echo "note: client $i: $notram frames not RAM after $replies replies"
	[ "$notram" -ge "$SLACK" ] || fail "only $notram frames not RAM taken (client $i)"
	[ "$notram" -le $((SLACK + replies)) ] ||
		fail "$notram frames not RAM from $replies replies: more than 16 MiB plus one a reply (client $i)"
	for f in "$D"/vmcore*; do
		sz=$(size_of "$f")
		[ "$sz" -lt $((1 << 30)) ] || fail "$f is $sz bytes long"
	done
	assert_log "linux dump [0-9]+ from 127\\.0\\.$NET\\.$i: the client says frames 0 to $((CLAIM - 1)) are not RAM, more than 16 MiB beyond the RAM it sent; from frame 4096 on they are asked for one at a time" \
	    "the warning for the terabyte claim (client $i)"
	[ "$(grep -c "from $(client_addr $i): the client says" "$SERVER_LOG")" = 1 ] ||
		fail "the warning is not said once for client $i"
done
assert_eq "$(jget "$(core_of 2)/manifest.json" '.sinks[0].name')" "z | local" "chain of client 2"
pass "a terabyte claimed not RAM, file sink and zstd | local: incomplete when the client stopped, at most 16 MiB plus a frame a reply"

# ------------------------------------------------- a gap wider than that
GAP=$((SLACK + 2000))
N=$((128 + GAP + 128))
timeout -k 5 $((120 * WAIT_SCALE)) "$LINUX" -b "$(client_addr 3):6666" -n "$N" \
    --holes "128-$((128 + GAP))" -s 9 --image-out "$T/image3" \
    --regs-out "$T/regs3" "127.0.0.1:$LPORT" >"$T/linux.3.log" 2>&1 ||
	{ cat "$T/linux.3.log" >&2; fail "netdump-linux with a wide gap failed"; }
D=$(core_of 3)
M=$D/manifest.json
assert_eq "$(jget "$M" .status)" complete "status with a gap wider than the budget"
assert_eq "$(jget "$M" .linux.pages_received)" 256 "pages_received with the wide gap"
assert_eq "$(jget "$M" .linux.pages_not_ram)" "$GAP" "pages_not_ram with the wide gap"
assert_log "from 127\\.0\\.$NET\\.3: the client says frames 128 to $((128 + GAP - 1)) are not RAM" \
    "the warning for the wide gap"
$ELFCHECK "$D/vmcore" "$T/image3" "$T/regs3" --loads 2 --holes "128-$((128 + GAP))" ||
	fail "the core with the wide gap differs from what was sent"
pass "a gap of 16 MiB and 2,000 frames after 128 RAM frames: complete and exact, two PT_LOADs"

# --------------------------------------------- no frame is RAM at all
# One reply says none of 1024 frames is RAM: within the slack, so taken
# whole, but no kernel has no RAM: incomplete, not a core of zeros.
timeout -k 5 $((60 * WAIT_SCALE)) "$LINUX" -b "$(client_addr 5):6666" -n 1024 \
    --holes 0-1024 "127.0.0.1:$LPORT" >"$T/linux.5.log" 2>&1 ||
	{ cat "$T/linux.5.log" >&2; fail "netdump-linux with no RAM failed"; }
D=$(core_of 5)
M=$D/manifest.json
assert_eq "$(jget "$M" .status)" incomplete "status with no frame RAM"
assert_eq "$(jget "$M" .reason)" "no page of RAM came: the client said no frame is RAM" "reason with no frame RAM"
assert_eq "$(jget "$M" .linux.pages_received)" 0 "pages_received with no frame RAM"
pass "a client whose every frame is not RAM: incomplete, no complete core of zeros"

# -------------------------------------------- frames the client refuses
# A kernel answers REPLY_ERROR only past its last frame; a client that
# refuses frames below it (16 of 256 here) has not sent them: they are
# missing, and the dump incomplete, not a complete one with zeros there.
timeout -k 5 $((60 * WAIT_SCALE)) "$LINUX" -b "$(client_addr 4):6666" -n 256 \
    --refuse 64-80 -s 10 "127.0.0.1:$LPORT" >"$T/linux.4.log" 2>&1 ||
	{ cat "$T/linux.4.log" >&2; fail "netdump-linux refusing 16 frames failed"; }
D=$(core_of 4)
M=$D/manifest.json
assert_eq "$(jget "$M" .status)" incomplete "status with 16 frames refused"
assert_eq "$(jget "$M" .linux.pages_received)" 240 "pages_received with 16 frames refused"
assert_eq "$(jget "$M" .linux.pages_not_ram)" 0 "pages_not_ram with 16 frames refused"
assert_eq "$(jget "$M" .linux.pages_missing)" 16 "pages_missing with 16 frames refused"
pass "16 frames answered REPLY_ERROR below the last: missing, the dump incomplete"
