#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Forged and flooded crash announcements on the Linux port (Red Hat's
# protocol). A RHEL 4 kernel announces its crash with REPLY_START_NETDUMP
# from port 6666 once a second until answered (drivers/net/netdump.c), so
# the client's address and port are public, and an announcement is all it
# takes to reach the server's session logic. netdump-linux plays the
# kernel; ndfault.py announce sends the announcements (forged with
# IP_HDRINCL where they claim the live client's own address and port).
#
#   1. A dump whose store hangs for 7 s: the server stops asking for pages
#      while its buffers are full, so the honest client has nothing to
#      say. Forged announcements from its address and port during that
#      pause, past restart_silence (1 s) and timeout (3 s), must neither
#      restart the dump ("the client started over") nor time it out:
#      a paused session is alive. The dump is complete and equal to the
#      memory sent.
#   2. Secure mode, a netdump-crash hook that takes 2 s: announcements
#      with a wrong cookie from 80 addresses twice a second must not
#      push the honest client's waiting announcement out; it is admitted
#      and dumps. They are counted, not answered.
#   3. Below min_free every client is refused and rebooted without its
#      memory; announcements from 60 addresses get that for 16 at a time
#      (a handshake and a log line each), the rest are counted.
#   4. A client that dies mid-dump, and a datagram from its address and
#      port each second that answers nothing the server asked (an unasked
#      HELLO reply): the dump still falls silent at timeout, not after
#      as long as its claimed size lets it ask for pages.
#   5. Two ports of one address announcing while netdump-crash runs: one
#      session is admitted, not two side by side.
#   6. Announcements from addresses that cannot see the server's HELLO
#      (a blind forger guessing its number) take no dump slot and log
#      nothing: an honest client after them is served.
#   7. 100 announcers that never answer HELLO: 36 sessions evicted, the
#      64 kept given up after 20 tries, all counted in summary lines.
#   8. A blind forger of page replies cannot turn RAM into holes.
set -euo pipefail
NET=230
. "$(dirname "$0")/lib-faults.sh"

LINUX=$(dirname "$ND_SEND")/netdump-linux
ELFCHECK="python3 $FAULTS/../integration/elfcheck.py"
[ -x "$LINUX" ] || fail "no $LINUX"
LPORT=$(free_port)
A=$(client_addr 1)

write_conf() {	# extra [server] lines...
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		echo "linux_port = $LPORT"
		for l in "$@"; do echo "$l"; done
		echo "[sink local]"
		echo "module = file"
		echo "[sink hangs]"
		echo "module = flaky"
		echo "stall_ms = 7000"
		echo "[route default]"
		echo "path = *"
		echo "sink = ${ROUTE:-hangs | local}"
	} >"$T/server.ini"
}

vmcore_of() {	# CLIENT-ADDR: its vmcore, once its manifest is there
	poll 30 sh -c "ls '$DUMPDIR/$1'-*/manifest.json >/dev/null 2>&1" ||
	    fail "no manifest for $1 after 30 s"
	ls -d "$DUMPDIR/$1"-*/ | sort -V | tail -1
}

# 1. A pause is no silence.
write_conf "timeout = 3" "restart_silence = 1"
start_server -c "$T/server.ini"
timeout -k 5 $((120 * WAIT_SCALE)) "$LINUX" -b "$A:6666" -n 2048 -z 0 \
    -s 3 --timeout 30 --image-out "$T/image1" --regs-out "$T/regs1" \
    "127.0.0.1:$LPORT" >"$T/linux.1.log" 2>&1 &
P1=$!
wait_log "linux dump [0-9]+ from ${A//./\\.} started" 20
sleep 2
python3 "$FAULTS/ndfault.py" announce "$LPORT" "$NET" 1 1 --raw \
    --rounds 3 --interval 1 || fail "forged announcements"
wait "$P1" || fail "netdump-linux from $A: $(cat "$T/linux.1.log")"
D=$(vmcore_of "$A")
assert_eq "$(jget "$D/manifest.json" .status)" complete "status"
$ELFCHECK "$D/vmcore" "$T/image1" "$T/regs1" ||
    fail "the core differs from the memory sent"
assert_no_log "the client started over" "a restart forged during the pause"
assert_no_log "fell silent" "a time-out during the pause"
assert_eq "$(grep -cE "linux dump [0-9]+ from ${A//./\\.} started" "$SERVER_LOG")" 1 \
    "dumps started from $A"
pass "forged announcements while the server pauses: no restart, no time-out; the dump is complete"
stop_server

# 2. Wrong cookies do not push a waiting client out.
if [ "${ND_VALGRIND:-0}" != 1 ]; then	# hooks need pidfd_open
	B=$(client_addr 2)
	mkdir -p "$DUMPDIR/magic" "$T/scripts"
	printf '0123456789abcdef\n' >"$DUMPDIR/magic/$B"
	printf '#!/bin/sh\nsleep 2\nexit 0\n' >"$T/scripts/netdump-crash"
	chmod 755 "$T/scripts/netdump-crash"
	write_conf "timeout = 10" "secure = yes" "scripts_dir = $T/scripts"
	start_server -c "$T/server.ini"
	python3 "$FAULTS/ndfault.py" announce "$LPORT" "$NET" 100 80 \
	    --magic 1111111111111111 --rounds 40 --interval 0.5 \
	    >"$T/flood2.log" 2>&1 &
	F2=$!
	sleep 1
	timeout -k 5 $((120 * WAIT_SCALE)) "$LINUX" -b "$B:6666" -n 1024 \
	    -s 4 --magic 0123456789abcdef --timeout 15 \
	    --image-out "$T/image2" --regs-out "$T/regs2" \
	    "127.0.0.1:$LPORT" >"$T/linux.2.log" 2>&1 ||
	    fail "netdump-linux from $B was not served during the flood: $(cat "$T/linux.2.log")"
	kill "$F2" 2>/dev/null || true
	wait "$F2" 2>/dev/null || true
	D=$(vmcore_of "$B")
	assert_eq "$(jget "$D/manifest.json" .status)" complete "status"
	$ELFCHECK "$D/vmcore" "$T/image2" "$T/regs2" ||
	    fail "the secure dump differs from the memory sent"
	wait_log "linux port: [0-9]+ crash announcements refused: secure is on and the cookie is not the one in <dumpdir>/magic/<client-ip>" 15
	assert_eq "$(ls -d "$DUMPDIR/127.0.$NET.1"[0-9][0-9]-* 2>/dev/null | wc -l)" 0 \
	    "directories of the forged clients"
	pass "secure: 80 addresses with a wrong cookie twice a second; the honest client waiting for netdump-crash is admitted and dumps"
	stop_server
fi

# 3. Refusals are bounded.
write_conf "timeout = 10" "min_free = 99%"
start_server -c "$T/server.ini"
python3 "$FAULTS/ndfault.py" announce "$LPORT" "$NET" 100 60 ||
    fail "announcements"
wait_log "linux port: 44 crash announcements refused and not answered: as many refused clients as are rebooted at once are being rebooted" 15
assert_eq "$(grep -c "refused; asking for its task list" "$SERVER_LOG")" 16 \
    "refused clients being rebooted"
pass "60 refused clients at once: 16 are rebooted, 44 counted in one line"
stop_server

# 4. Datagrams that answer nothing are no sign of life.
ROUTE=local write_conf "timeout = 3"
start_server -c "$T/server.ini"
C=$(client_addr 3)
rc=0
timeout -k 5 $((60 * WAIT_SCALE)) "$LINUX" -b "$C:6666" -n 65536 -s 5 \
    --die-after 10 "127.0.0.1:$LPORT" >"$T/linux.4.log" 2>&1 || rc=$?
assert_eq "$rc" 4 "exit of the client that died"
python3 "$FAULTS/ndfault.py" announce "$LPORT" "$NET" 3 1 --raw --hello \
    --rounds 12 --interval 1 >"$T/hello.log" 2>&1 &
H=$!
wait_log "linux dump [0-9]+ from ${C//./\\.}: the client fell silent|linux dump [0-9]+ from ${C//./\\.} fell silent" 8
kill -0 "$H" 2>/dev/null || fail "the unasked replies ended before the time-out: $(cat "$T/hello.log")"
wait "$H" || fail "unasked replies: $(cat "$T/hello.log")"
D=$(vmcore_of "$C")
assert_eq "$(jget "$D/manifest.json" .status)" incomplete "status of the dump whose client died"
pass "a client that died, and an unasked reply from its address every second: the dump fell silent at timeout (3 s) all the same"
stop_server

# 5. Two ports of one address announce while netdump-crash runs: one
#    session and one dump, not one each (a forger needs only the address
#    to run hooks and open dumps beside the real one).
if [ "${ND_VALGRIND:-0}" != 1 ]; then	# hooks need pidfd_open
	E=$(client_addr 4)
	mkdir -p "$T/scripts"
	printf '#!/bin/sh\nsleep 1\nexit 0\n' >"$T/scripts/netdump-crash"
	chmod 755 "$T/scripts/netdump-crash"
	ROUTE=local write_conf "timeout = 5" "scripts_dir = $T/scripts"
	start_server -c "$T/server.ini"
	pids=
	for port in 6666 7777; do
		timeout -k 5 $((60 * WAIT_SCALE)) "$LINUX" -b "$E:$port" -n 256 \
		    -s 6 --timeout 8 "127.0.0.1:$LPORT" >"$T/linux.5.$port.log" 2>&1 &
		pids="$pids $!"
	done
	wait_log "dump [0-9]+ from ${E//./\\.} complete" 30
	for p in $pids; do wait "$p" || true; done
	# The other port's client keeps announcing; it may have its turn
	# once the first dump is over, never beside it.
	first_end=$(grep -nE "dump [0-9]+ from ${E//./\\.} complete" "$SERVER_LOG" | head -1 | cut -d: -f1)
	assert_eq "$(head -n "$first_end" "$SERVER_LOG" | grep -cE "linux dump [0-9]+ from ${E//./\\.}:[0-9]+: crash announced")" 1 \
	    "sessions of $E admitted before its first dump ended"
	pass "two ports of one address announcing during netdump-crash: one session at a time"
	stop_server
fi

# 6. Announcements from clients that cannot see the server's requests
#    take no dump slot: with max_concurrent_dumps = 2, one announcement
#    from each of 4 addresses, each followed by HELLO replies numbered 1
#    to 200 (a blind forger's guesses), before an honest client. Counted
#    as dumps from their announcement, their sessions held both slots
#    while the server asked HELLO for over a minute; with a counted
#    request number, the guesses answered HELLO and did the same.
F=$(client_addr 5)
ROUTE=local write_conf "timeout = 5" "max_concurrent_dumps = 2"
start_server -c "$T/server.ini"
python3 "$FAULTS/ndfault.py" announce "$LPORT" "$NET" 120 4 --guess 200 ||
    fail "announcements"
# linux_served ADDR N AFTER: netdump-linux from ADDR (seed N) is served,
# and its core is complete and equal to the memory sent, AFTER what.
linux_served() {
	timeout -k 5 $((60 * WAIT_SCALE)) "$LINUX" -b "$1:6666" -n 1024 -s "$2" \
	    --timeout 15 --image-out "$T/image$2" --regs-out "$T/regs$2" \
	    "127.0.0.1:$LPORT" >"$T/linux.$2.log" 2>&1 ||
		fail "netdump-linux from $1 was not served after $3: $(cat "$T/linux.$2.log")"
	D=$(vmcore_of "$1")
	assert_eq "$(jget "$D/manifest.json" .status)" complete "status"
	$ELFCHECK "$D/vmcore" "$T/image$2" "$T/regs$2" ||
		fail "the dump after $3 differs from the memory sent"
}
linux_served "$F" 7 "4 blind announcers"
assert_no_log "linux dump [0-9]+ from 127\\.0\\.$NET\\.12[0-3]:" "a session of a blind announcer started or logged"
pass "4 announcements with HELLO replies guessed 1-200, max_concurrent_dumps = 2: the honest client after them dumps, complete; nothing logged of the blind ones"
stop_server

# 7. Sessions waiting for HELLO are bounded (64, linux_dump_int.h
#    LX_MAX_HANDSHAKE): 100 addresses that announce and never answer cost
#    36 evictions, counted in one line, and an honest client after them
#    is served.
G=$(client_addr 6)
ROUTE=local write_conf "timeout = 5"
start_server -c "$T/server.ini"
python3 "$FAULTS/ndfault.py" announce "$LPORT" "$NET" 130 100 ||
    fail "announcements"
# Counted every 10 s: a burst that straddles a line is in two.
unproven() {
	grep -oE "linux port: [0-9]+ sessions dropped before their client answered HELLO: more than 64 admitted were waiting for an answer \\(forged announcements\\?\\) \\(the last from 127\\.0\\.$NET\\.[0-9]+\\)" "$SERVER_LOG" |
	    awk '{ n += $3 } END { print n + 0 }'
}
all_unproven() { [ "$(unproven)" -ge 36 ]; }
poll 25 all_unproven || true
assert_eq "$(unproven)" 36 "sessions dropped before HELLO was answered"
linux_served "$G" 8 "100 silent announcers"
pass "100 announcers that never answer HELLO: 36 of their sessions dropped, one line; the honest client after them dumps, complete"
# The rest give up after 20 HELLO tries (71.5 s): counted in summary
# lines, not a warning each (a log line per forged announcement). All
# 100 are counted once: dropped (one more when the honest client came)
# or given up.
gave_up() {
	grep -oE "linux port: [0-9]+ sessions given up: their client never answered HELLO \(20 tries; forged announcements\?\) \(the last from 127\.0\.$NET\.[0-9]+\)" "$SERVER_LOG" |
	    awk '{ n += $3 } END { print n + 0 }'
}
all_gave_up() { [ $(($(gave_up) + $(unproven))) -ge 100 ]; }
poll $((100 * WAIT_SCALE)) all_gave_up || true
assert_eq $(($(gave_up) + $(unproven))) 100 "silent announcers dropped or given up, counted"
assert_no_log "no answer to HELLO" "a warning per silent announcer"
pass "the silent announcers kept: $(gave_up) given up after 20 HELLO tries in $(grep -c 'sessions given up: their client never answered HELLO' "$SERVER_LOG") summary line(s), no line each"
stop_server

# 8. A blind forger of page replies: REPLY_RESERVED "not RAM, and none
#    after" (info 0) from the client's address and port, numbered with
#    every frame number the dump pulls, all through it. A page request
#    numbered by its frame alone took them (39 % of the RAM turned into
#    holes in a dump labelled complete); numbered frame XOR a number
#    drawn for the session, none is an answer: the dump is complete and
#    equal to the memory sent.
H=$(client_addr 7)
ROUTE=local write_conf "timeout = 5"
start_server -c "$T/server.ini"
python3 "$FAULTS/ndfault.py" reserved "$LPORT" "$H" 4096 $((12 * WAIT_SCALE)) \
    >"$T/reserved.log" 2>&1 &
FORGER=$!
sleep 0.5
timeout -k 5 $((60 * WAIT_SCALE)) "$LINUX" -b "$H:6666" -n 4096 -s 9 \
    --timeout 15 --image-out "$T/image9" --regs-out "$T/regs9" \
    "127.0.0.1:$LPORT" >"$T/linux.9.log" 2>&1 ||
	fail "netdump-linux from $H was not served: $(cat "$T/linux.9.log")"
kill -0 "$FORGER" 2>/dev/null || fail "the forger ended before the dump did: $(cat "$T/reserved.log")"
wait "$FORGER" || fail "the forger failed: $(cat "$T/reserved.log")"
D=$(vmcore_of "$H")
assert_eq "$(jget "$D/manifest.json" .status)" complete "status under forged page replies"
$ELFCHECK "$D/vmcore" "$T/image9" "$T/regs9" ||
	fail "the dump under forged page replies differs from the memory sent"
pass "$(tail -1 "$T/reserved.log" | sed 's/^[^:]*: //') during a 4096-page dump: complete, equal to the memory sent"
stop_server
finish
