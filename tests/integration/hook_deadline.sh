#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Hooks within the kernel's patience. A kernel resends an unanswered batch
# for about 12 s and then gives up (debugnet_send in sys/net/debugnet.c:
# nretries = 10 rounds of npolls = 2000 polls of 0.5 ms after the first
# send); netdump-send keeps the same budget (-r 10 -t 1000). So:
#  - a netdump-crash slower than herald_hook_deadline does not hold the
#    HERALD past it: the dump is admitted, stored, and the late answer is
#    not used; a quick veto still refuses; with every hook place taken a
#    HERALD goes on without netdump-crash at its deadline;
#  - netdump-nospace mid-dump runs beside the dump: acks never stop while
#    it makes room, and a dump that uses up half the reserve meanwhile is
#    given up cleanly (stored prefix, labelled).
set -euo pipefail
NET=222
. "$(dirname "$0")/lib.sh"

S=$T/scripts
mkdir -p "$S"
hook() {	# NAME SHELL-LINES
	printf '#!/bin/sh\n%s\n' "$2" >"$S/$1.new"
	chmod 0755 "$S/$1.new"
	mv "$S/$1.new" "$S/$1"
}

write_conf() {	# [more [server] lines]
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		echo "scripts_dir = $S"
		echo "hook_timeout = 60"
		printf '%s\n' "$@"
	} >"$T/server.ini"
}

# ------------------------------------------------------- netdump-crash
# 15 s, then "no": too late to count. The HERALD is answered at the
# deadline (8 s), well before the client's 11 s of retransmissions end.
hook netdump-crash "sleep 15; exit 1"
write_conf
start_server -c "$T/server.ini" --timeout 10
A=$(client_addr 1)
send_dump 0 "$A" -q -g 1M -s 31 -o "$T/sentA"
wait_manifest "$(client_dir "$A")" 0
assert_same_bytes "$(client_dir "$A")/vmcore.0" "$T/sentA"
[ "$SEND_MS" -ge 7000 ] && [ "$SEND_MS" -lt 11000 ] ||
	fail "the client took $SEND_MS ms; the HERALD should be answered at the 8 s deadline"
assert_log "client ${A//./\\.}: netdump-crash did not answer within herald_hook_deadline \(8 s\)" "deadline line"
wait_log "client ${A//./\\.}: netdump-crash answered 1 after the deadline; the answer is not used" 20
pass "a 15 s netdump-crash: the HERALD was answered at the 8 s deadline (client done in $SEND_MS ms), the dump stored, the late 'no' logged and not used"

# A quick "no" is still a refusal, seen by the client in time.
hook netdump-crash "exit 1"
B=$(client_addr 2)
send_dump 1 "$B" -q -g 1M -s 32
wait_log "client ${B//./\\.}: netdump-crash said no \(status 1\); refusing the dump" 5
assert_no_file "$(client_dir "$B")/vmcore.0"
pass "a netdump-crash that says no in time still refuses the dump"
stop_server

# A shorter deadline is honoured; more than 10 s is refused by the parser.
hook netdump-crash "sleep 15; exit 0"
write_conf "herald_hook_deadline = 3"
start_server -c "$T/server.ini" --timeout 10
C=$(client_addr 3)
send_dump 0 "$C" -q -g 1M -s 33
[ "$SEND_MS" -lt 6000 ] || fail "with herald_hook_deadline = 3 the client took $SEND_MS ms"
assert_log "client ${C//./\\.}: netdump-crash did not answer within herald_hook_deadline \(3 s\)" "3 s deadline line"
stop_server
write_conf "herald_hook_deadline = 11"
rc=0
"$ND_SERVER" -c "$T/server.ini" -d "$DUMPDIR" --check-config >"$T/check.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "herald_hook_deadline = 11 was accepted"
grep -q "herald_hook_deadline" "$T/check.out" || fail "the error does not name herald_hook_deadline: $(cat "$T/check.out")"
pass "herald_hook_deadline = 3 answers in $SEND_MS ms; 11 is refused (the kernel's budget is about 12 s)"

# Every hook place taken (max_hooks = 1, held by a late netdump-crash that
# runs on to hook_timeout): a second client's HERALD, resent every
# second, goes on without netdump-crash at the deadline from its first
# copy; each copy used to start the clock again, so the client was never
# answered and its dump was lost.
hook netdump-crash "sleep 15; exit 0"
write_conf "herald_hook_deadline = 3" "max_hooks = 1"
start_server -c "$T/server.ini" --timeout 10
D=$(client_addr 4)
send_dump 0 "$D" -q -g 1M -s 34
E=$(client_addr 5)
send_dump 0 "$E" -q -g 1M -s 35 -o "$T/sentE"
[ "$SEND_MS" -lt 8000 ] || fail "with every hook place taken the client took $SEND_MS ms"
assert_log "client ${E//./\\.}: max_hooks hooks run, and the HERALD's deadline has passed; going on without netdump-crash" \
    "the line for a HERALD that found no hook place"
wait_manifest "$(client_dir "$E")" 0
assert_same_bytes "$(client_dir "$E")/vmcore.0" "$T/sentE"
pass "every hook place taken: a HERALD goes on without netdump-crash at its deadline (client done in $SEND_MS ms), the dump stored"
stop_server
rm -f "$S/netdump-crash"

# ----------------------------------------------------- netdump-nospace
if [ "$(id -u)" != 0 ]; then
	echo "note: not root: the netdump-nospace part needs a tmpfs; skipped"
	finish
	exit 0
fi
tmpfs_mount "$DUMPDIR" 160M
write_conf "min_free = 40M"

# 160 MiB with a 90 MiB filler leaves 70 MiB. An 80 MiB dump, half zero
# pages, has written about 32 MiB at the first check (64 MiB into the
# stream): 38 MiB free, below 40M. The hook sleeps 15 s and then makes
# room; the rest of the dump (about 8 MiB) stays above half the reserve.
# (Seconds scaled: a slow build must not outlast the hook's sleep.)
hook netdump-nospace "sleep $((15 * WAIT_SCALE)); rm -f '$DUMPDIR/filler'; exit 1"
start_server -c "$T/server.ini" --timeout 10
dd if=/dev/zero of="$DUMPDIR/filler" bs=1M count=90 status=none
E=$(client_addr 5)
send_dump 0 "$E" -q -g 80M -z 0.5 -s 35 -o "$T/sentE"
[ "$SEND_MS" -lt $((10000 * WAIT_SCALE)) ] || fail "the client took $SEND_MS ms: acks stopped while netdump-nospace ran"
wait_manifest "$(client_dir "$E")" 0 40
assert_manifest "$(client_dir "$E")/manifest.0.json" complete "$T/sentE"
assert_same_bytes "$(client_dir "$E")/vmcore.0" "$T/sentE"
assert_log "dump [0-9]+: [0-9]+ bytes free, below min_free" "floor line"
wait_log "netdump-nospace $S/netdump-nospace exited with status 1" 25
pass "a 15 s netdump-nospace mid-dump: the client got every ack (done in $SEND_MS ms), the dump is complete and byte-identical"
stop_server

# The same hook, but the dump outgrows half the reserve while it sleeps:
# from 38 MiB free at the first check, the free space is looked at every
# 8 MiB of the stream (4 MiB written) and falls below 20 MiB at about
# 104 MiB into it: given up at once, the client sees no more acks, the
# prefix is kept.
rm -rf "${DUMPDIR:?}"/*
dd if=/dev/zero of="$DUMPDIR/filler" bs=1M count=90 status=none
start_server -c "$T/server.ini" --timeout 3
F=$(client_addr 6)
t0=$(date +%s%N)
send_dump 1 "$F" -q -g 160M -z 0.5 -s 36 -o "$T/sentF"
t1=$(date +%s%N)
wait_manifest "$(client_dir "$F")" 0 40
M=$(client_dir "$F")/manifest.0.json
assert_eq "$(jget "$M" .status)" incomplete "status"
assert_log "dump [0-9]+ from ${F//./\\.}: giving up at [0-9]+ bytes: half of the min_free reserve is gone and netdump-nospace still runs" "give-up line"
assert_prefix_of "$(client_dir "$F")/vmcore.0.incomplete" "$T/sentF"
assert_gt "$(size_of "$(client_dir "$F")/vmcore.0.incomplete")" 0 "bytes kept before the dump was given up"
# Given up, the client retransmits its call for ~12 s and stops; held
# until the hook's sleep ended, it would take longer.
[ $(((t1 - t0) / 1000000)) -lt $((12000 + 3000 * WAIT_SCALE)) ] || fail "the client was held $(((t1 - t0) / 1000000)) ms"
pass "a dump that uses half the reserve while netdump-nospace runs is given up cleanly: incomplete, prefix kept, the client stopped in $(((t1 - t0) / 1000000)) ms"
stop_server

# A netdump-nospace that hangs: the dump ends complete, its end waits for
# the hook to hook_timeout, then kills it with its process group, and the
# hook's place is free again (max_hooks = 1: a netdump-crash runs at once).
rm -rf "${DUMPDIR:?}"/*
dd if=/dev/zero of="$DUMPDIR/filler" bs=1M count=90 status=none
hook netdump-nospace "sleep 300 & echo \$! >'$T/nospace.child'; wait"
{
	echo "[server]"
	echo "sink_dir = $ND_SINK_DIR"
	echo "scripts_dir = $S"
	echo "hook_timeout = 5"
	echo "max_hooks = 1"
	echo "min_free = 40M"
} >"$T/server.ini"
start_server -c "$T/server.ini" --timeout 10
G=$(client_addr 7)
send_dump 0 "$G" -q -g 80M -z 0.5 -s 37 -o "$T/sentG"
wait_manifest "$(client_dir "$G")" 0 40
assert_manifest "$(client_dir "$G")/manifest.0.json" complete "$T/sentG"
wait_log "netdump-nospace $S/netdump-nospace \(pid [0-9]+\) ran past hook_timeout; killed" 20
child=$(cat "$T/nospace.child")
poll 5 bash -c "! kill -0 $child 2>/dev/null" || fail "the hung hook's child $child still runs"
rm -f "$DUMPDIR/filler"
hook netdump-crash "exit 0"
H=$(client_addr 8)
send_dump 0 "$H" -q -g 1M -s 38
[ "$SEND_MS" -lt 5000 ] || fail "netdump-crash waited $SEND_MS ms for a hook place: the killed hook still holds it"
wait_manifest "$(client_dir "$H")" 0
pass "a hung netdump-nospace is killed with its child at hook_timeout once its dump ends (the dump complete), and its place among max_hooks is free again"
rm -f "$S/netdump-crash"
stop_server
finish
