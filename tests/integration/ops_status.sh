#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# netdump-server --status: the running daemon reports the dumps in flight
# (client, path, bytes, rate, age) and the recent outcomes; with no daemon
# it exits 1 saying no daemon answers. The socket is found from -d or -c
# (status_socket).
set -euo pipefail
NET=134
. "$(dirname "$0")/lib.sh"

status() {	# OUTFILE [options]: --status, which must exit 0
	local out=$1

	shift
	"$ND_SERVER" "$@" --status >"$out" 2>"$out.err" ||
		fail "--status $* exited non-zero: $(cat "$out" "$out.err")"
}

no_daemon() {	# WHAT [options]: --status must exit 1 saying no daemon answers
	local what=$1 rc=0

	shift
	"$ND_SERVER" "$@" --status >"$T/nd.out" 2>"$T/nd.err" || rc=$?
	assert_eq "$rc" 1 "exit status of --status $what"
	grep -q "no daemon answers at " "$T/nd.err" || fail "--status $what said: $(cat "$T/nd.out" "$T/nd.err")"
	[ ! -s "$T/nd.out" ] || fail "--status $what printed a report: $(cat "$T/nd.out")"
}

# 1. Nobody there.
no_daemon "with no daemon" -d "$T/nothing"
pass "no daemon: --status exits 1: '$(cat "$T/nd.err")'"

# 2. A dump in flight (its HERALD path names a directory that exists).
mkdir -p "$DUMPDIR/lab"
start_server --timeout 5
# The socket is in runtime_dir (as root), else beside the dumps; its name
# has the port.
sock_path() {
	if [ "$(id -u)" = 0 ]; then
		echo "/run/netdump-server/netdump-server.$PORT.sock"
	else
		echo "$DUMPDIR/.netdump-server.$PORT.sock"
	fi
}
SOCK=$(sock_path)
[ -S "$SOCK" ] || fail "no status socket at $SOCK"
assert_mode "$SOCK" 600
status "$T/s0" -d "$DUMPDIR" --port "$PORT"
grep -qE "^netdump-server .*, pid $SERVER_PID, up [0-9]+ s, configuration built-in$" "$T/s0" ||
	fail "--status first line: $(head -1 "$T/s0")"
grep -qF "listening on 127.0.0.1:$PORT, dumps in $DUMPDIR" "$T/s0" || fail "--status: $(cat "$T/s0")"
grep -qx "dumps in flight: 0 (max 16)" "$T/s0" || fail "--status: $(cat "$T/s0")"
grep -qx "recent outcomes: 0" "$T/s0" || fail "--status: $(cat "$T/s0")"
pass "an idle daemon: pid, uptime, address, dump directory, 0 dumps in flight, 0 outcomes (socket mode 0600)"

# Another server on the same port at another address, same directories:
# its status socket would be this one's. It does not start, and this
# one's socket still answers for this one.
rc=0
timeout 20 "$ND_SERVER" -D -a 127.0.0.2 --port "$PORT" -d "$DUMPDIR" \
    >"$T/second.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "a second server on port $PORT started (exit $rc): $(cat "$T/second.log")"
grep -qF "status socket $SOCK: another server answers there" "$T/second.log" ||
	fail "the second server said: $(cat "$T/second.log")"
status "$T/s0b" -d "$DUMPDIR" --port "$PORT"
grep -qE "pid $SERVER_PID," "$T/s0b" || fail "--status after the second start: $(head -1 "$T/s0b")"
pass "a second server on port $PORT at another address does not take the status socket over: '$(grep -o 'another server answers there.*' "$T/second.log")'"

A=$(client_addr 1)
# Lossy with 200 ms rounds: about 7 s for 1 MiB.
send_bg "$A" -q -g 1M -s 341 -t 200 --loss 0.2 -p lab -o "$T/sentA"
apid=$BG_PID
wait_log "dump [0-9]+ from ${A//./\\.}:20024 started" 10
did=$(grep -m1 -oE "dump [0-9]+ from ${A//./\\.}:20024 started" "$SERVER_LOG" | cut -d' ' -f2)
sleep 1.2
status "$T/s1" -d "$DUMPDIR" --port "$PORT"
row_re="^  $did +${A//./\\.}:20024 +lab +[0-9.]+ (B|MiB) +[0-9.]+ MB/s +[0-9]+s$"
grep -qx "dumps in flight: 1 (max 16)" "$T/s1" || fail "--status during the dump: $(cat "$T/s1")"
grep -qE "^  ID +CLIENT +PATH +BYTES +RATE +AGE$" "$T/s1" || fail "--status: no header: $(cat "$T/s1")"
grep -qE "$row_re" "$T/s1" || fail "--status: no row for dump $did: $(cat "$T/s1")"
row1=$(grep -E "$row_re" "$T/s1")
age1=$(awk '{ print $NF }' <<<"$row1" | tr -d s)
[ "$age1" -ge 1 ] || fail "age of a dump that runs for over a second: $row1"
# The same through a configuration file naming the dump directory.
printf '[server]\ndumpdir = %s\nport = %s\n' "$DUMPDIR" "$PORT" >"$T/c.ini"
sleep 1
status "$T/s2" -c "$T/c.ini"
row2=$(grep -E "$row_re" "$T/s2") || fail "--status -c: no row for dump $did: $(cat "$T/s2")"
age2=$(awk '{ print $NF }' <<<"$row2" | tr -d s)
[ "$age2" -gt "$age1" ] || fail "the age did not grow: '$row1' then '$row2'"
pass "during a dump: 'dumps in flight: 1' and the row '$(sed 's/^ *//; s/  */ /g' <<<"$row2")'; -c with dumpdir finds the same socket"

wait_bg "$apid" 0 "$A"
wait_manifest "$DUMPDIR/lab/$A" 0
wait_dumps "$A" 1
# The dump holds its place until its worker is done, just after the log.
none_in_flight() {	# OUTFILE
	status "$1" -d "$DUMPDIR" --port "$PORT"
	grep -qx "dumps in flight: 0 (max 16)" "$1"
}
poll 10 none_in_flight "$T/s3" || fail "--status after the dump: $(cat "$T/s3")"
grep -qx "recent outcomes: 1" "$T/s3" || fail "--status after the dump: $(cat "$T/s3")"
grep -qE "^  $did +${A//./\\.} +complete +1\.0 MiB +[0-9.]+s  lab/${A//./\\.}/vmcore\.0$" "$T/s3" ||
	fail "--status: no 'complete' outcome for dump $did: $(cat "$T/s3")"
pass "after the dump: 0 in flight, and recent outcomes lists '$(grep -E "^  $did " "$T/s3" | sed 's/^ *//; s/  */ /g')'"

# An incomplete one carries its reason.
B=$(client_addr 2)
send_dump 3 "$B" -q -g 4M -s 342 --stop-after 1M
wait_dumps "$B" 1 20
status "$T/s4" -d "$DUMPDIR" --port "$PORT"
grep -qx "recent outcomes: 2" "$T/s4" || fail "--status: $(cat "$T/s4")"
grep -qE "^  [0-9]+ +${B//./\\.} +incomplete +1\.0 MiB +[0-9.]+s  ${B//./\\.}/vmcore\.0\.incomplete \(the client fell silent for 5 s \(timeout\)\)$" "$T/s4" ||
	fail "--status: no incomplete outcome for $B: $(cat "$T/s4")"
pass "an incomplete dump is listed with its reason: '$(grep -E " ${B//./\\.} " "$T/s4" | sed 's/^ *//; s/  */ /g')'"

# A client that connects and never reads does not hold the daemon up.
python3 - "$SOCK" "$T/idle-connected" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
open(sys.argv[2], "w").close()
time.sleep(3)
EOF
idle=$!
wait_file "$T/idle-connected" 10
status "$T/s5" -d "$DUMPDIR" --port "$PORT"
C=$(client_addr 3)
send_dump 0 "$C" -q -g 1M -s 343
wait_manifest "$(client_dir "$C")" 0
wait "$idle" || fail "the idle status client failed"
pass "a status client that never reads holds nothing up: another --status and a dump go through"

# 2b. A dump received whose end hook still runs holds its place of
# max_concurrent_dumps, and is counted in flight (new HERALDs are refused
# for it): not a row, a line.
if [ "${ND_VALGRIND:-0}" != 1 ]; then	# hooks need pidfd_open
	stop_server
	mkdir -p "$T/scripts"
	printf '#!/bin/sh\nsleep %s\n' $((6 * WAIT_SCALE)) >"$T/scripts/netdump-reboot"
	chmod 755 "$T/scripts/netdump-reboot"
	printf '[server]\nsink_dir = %s\nscripts_dir = %s\n' "$ND_SINK_DIR" "$T/scripts" >"$T/hook.ini"
	start_server -c "$T/hook.ini" --timeout 5
	C=$(client_addr 4)
	send_dump 0 "$C" -q -g 1M -s 345
	wait_manifest "$(client_dir "$C")" 0
	wait_log "netdump-reboot .* started \\(pid" 10
	status "$T/s4" -d "$DUMPDIR" --port "$PORT"
	grep -qx "dumps in flight: 1 (max 16)" "$T/s4" || fail "--status while netdump-reboot runs: $(cat "$T/s4")"
	grep -qx "  1 received, being stored or running end hooks" "$T/s4" ||
		fail "--status while netdump-reboot runs: $(cat "$T/s4")"
	! grep -qE "^  ID +CLIENT" "$T/s4" || fail "--status: a row for a dump received: $(cat "$T/s4")"
	pass "a dump whose netdump-reboot runs: 'dumps in flight: 1' and '1 received, being stored or running end hooks'"
	stop_server
	start_server --timeout 5
	SOCK=$(sock_path)
fi

# 3. Gone: the socket is removed at exit; a stale one is not mistaken.
stop_server
assert_no_file "$SOCK"
no_daemon "after SIGTERM" -d "$DUMPDIR" --port "$PORT"
start_server --timeout 5
SOCK=$(sock_path)
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
[ -S "$SOCK" ] || fail "expected the killed daemon's socket to stay"
no_daemon "with a stale socket" -d "$DUMPDIR" --port "$PORT"
pass "after SIGTERM the socket is gone; after SIGKILL the stale socket gets 'no daemon answers' ($(cut -d: -f3- "$T/nd.err" | sed 's/^ *//'))"

# 4. status_socket puts the socket elsewhere; -c finds it, -d does not.
rm -f "$SOCK"
printf '[server]\nsink_dir = %s\nstatus_socket = %s\n' "$ND_SINK_DIR" "$T/ctl.sock" >"$T/s.ini"
touch "$T/before-server"
start_server -c "$T/s.ini" --timeout 5
SOCK=$(sock_path)
[ -S "$T/ctl.sock" ] || fail "no socket at status_socket $T/ctl.sock"
# The default path must not be made: one there older than this server is a
# stale socket of another test's killed server that drew the same port.
[ ! -e "$SOCK" ] || [ "$SOCK" -ot "$T/before-server" ] ||
    fail "$SOCK was made though status_socket = $T/ctl.sock"
status "$T/s6" -c "$T/s.ini"
grep -q "pid $SERVER_PID," "$T/s6" || fail "--status -c: $(cat "$T/s6")"
grep -qF "configuration $T/s.ini" "$T/s6" || fail "--status -c: $(cat "$T/s6")"
no_daemon "with -d while status_socket is elsewhere" -d "$DUMPDIR" --port "$PORT"
stop_server
assert_no_file "$T/ctl.sock"
pass "status_socket = $T/ctl.sock: --status -c finds it (configuration named), -d does not, removed at exit"

# 5. A status_socket longer than a socket address holds (108 bytes) stops
# the server at start (and --check-config: the file is refused as it is
# read): cut to fit, it would be a socket elsewhere, which --status never
# finds.
LONG="$T/$(printf 'd%.0s' $(seq 1 120))/ctl.sock"
printf '[server]\nsink_dir = %s\nstatus_socket = %s\n' "$ND_SINK_DIR" "$LONG" >"$T/long.ini"
refused_start "with a status_socket too long" \
    "status socket path too long \\(${#LONG} bytes, at most 107\\)" "$T/long.log" \
    -c "$T/long.ini"
pass "a status_socket of ${#LONG} bytes stops the server at start: $(grep -o 'status socket path too long ([^)]*)' "$T/long.log")"

# 6. What answers at a status socket is printed without its control
# characters, C1 included (an impostor's terminal escapes), and root never
# asks the dump directory, which belongs to the user the daemon drops to:
# a socket planted there is no daemon.
fake_status() {	# SOCKET: answers every connection with escapes, in the background
	python3 - "$1" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(4)
while True:
    c, _ = s.accept()
    c.sendall(b"\x1b]0;pwned\x07\x1b[2J \xc2\x9b1m \x9b all fine\n")
    c.close()
PY
	poll 10 test -S "$1" || fail "no fake status socket at $1"
}
printf '[server]\nsink_dir = %s\nstatus_socket = %s\n' "$ND_SINK_DIR" "$T/fake.sock" >"$T/fake.ini"
fake_status "$T/fake.sock"
status "$T/s7" -c "$T/fake.ini"
assert_eq "$(cat "$T/s7")" "?]0;pwned??[2J ?1m ? all fine" "--status of an impostor, escapes (ESC, BEL, CSI as UTF-8 and as a byte) and all"
if [ "$(id -u)" = 0 ]; then
	FP=$(free_port)
	fake_status "$DUMPDIR/.netdump-server.$FP.sock"
	no_daemon "as root with a socket planted in the dump directory" \
	    -d "$DUMPDIR" --port "$FP"
fi
pass "--status prints no control character of what answers; as root, a socket in the dump directory is not asked"
# 7. Something that answers at the socket and never ends its answer: one
# that is not the server. --status gives up after 10 s, saying so.
python3 - "$T/mute.sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(4)
c, _ = s.accept()
c.sendall(b"daemon pid 1, ")
time.sleep(60)
PY
MUTE=$!
poll 10 test -S "$T/mute.sock" || fail "no mute socket"
printf '[server]\nsink_dir = %s\nstatus_socket = %s\n' "$ND_SINK_DIR" "$T/mute.sock" >"$T/mute.ini"
rc=0
timeout 30 "$ND_SERVER" -c "$T/mute.ini" --status >"$T/mute.out" 2>"$T/mute.err" || rc=$?
kill "$MUTE" 2>/dev/null || true
assert_eq "$rc" 1 "exit status of --status when the answer never ends"
grep -q "did not finish its answer in 10 s" "$T/mute.err" ||
	fail "--status said: $(cat "$T/mute.out" "$T/mute.err")"
pass "--status gives up on an answer that never ends: '$(cat "$T/mute.err")'"
finish
