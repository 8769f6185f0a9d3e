#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# --daemon with --pidfile: detaches at once, the pid file names the daemon,
# it serves dumps; a second instance is refused while the pid file is
# locked; SIGTERM ends it and removes the pid file. user = nobody (as root):
# the daemon runs as nobody and stores dumps; a dump directory nobody cannot
# write is refused at start with a message naming both; an s3 spool_dir
# nobody cannot write is a warning at start.
set -euo pipefail
NET=132
. "$(dirname "$0")/lib.sh"

DAEMON_PID=""
_ops_cleanup() {
	local rc=$?

	set +e
	[ -z "$DAEMON_PID" ] || kill -KILL "$DAEMON_PID" 2>/dev/null
	(exit "$rc")
	_nd_cleanup
}
trap _ops_cleanup EXIT

# Dead, or a zombie that whoever inherited it has not reaped yet.
_pid_gone() {
	local st

	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

_pidfile_ready() {	# FILE
	[ -s "$1" ] && grep -qE '^[0-9]+$' "$1"
}

# A daemon's stderr is /dev/null: sanitizer reports go to files instead.
export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$T/sanitizer"
export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$T/sanitizer"
no_sanitizer_report() {
	local f

	for f in "$T"/sanitizer.*; do
		[ -e "$f" ] || continue
		cat "$f" >&2
		fail "sanitizer report from a daemon: $f"
	done
}

PIDFILE=$T/netdump-server.pid
PORT=$(free_port)

# 1. --daemon returns at once, once the daemon runs; the pid file names
# it already (an init system reads it as soon as the command returns). (The
# dump directory exists: creating it is logged before detaching.)
mkdir -m 0700 "$DUMPDIR"
t0=$(date +%s%N)
rc=0
timeout 20 "$ND_SERVER" --daemon -P "$PIDFILE" -a 127.0.0.1 --port "$PORT" \
    -d "$DUMPDIR" --timeout 5 >"$T/daemon.out" 2>&1 || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq "$rc" 0 "exit status of netdump-server --daemon"
[ "$ms" -lt $((3000 * WAIT_SCALE)) ] || fail "--daemon took $ms ms to return"
# It returns once the daemon runs: the pid is there already.
_pidfile_ready "$PIDFILE" || fail "no pid in $PIDFILE when --daemon returned: '$(cat "$PIDFILE" 2>&1)'"
DAEMON_PID=$(cat "$PIDFILE")
kill -0 "$DAEMON_PID" 2>/dev/null || fail "pid $DAEMON_PID from $PIDFILE is not running"
assert_eq "$(readlink "/proc/$DAEMON_PID/exe")" "$(readlink -f "$ND_SERVER")" "program of pid $DAEMON_PID"
assert_eq "$(readlink "/proc/$DAEMON_PID/cwd")" / "working directory of the daemon"
assert_eq "$(readlink "/proc/$DAEMON_PID/fd/2")" /dev/null "stderr of the daemon"
assert_eq "$(awk '{ print $7 }' "/proc/$DAEMON_PID/stat")" 0 "controlling terminal of the daemon"
[ ! -s "$T/daemon.out" ] || fail "--daemon wrote to the terminal: $(cat "$T/daemon.out")"
pass "--daemon returned in $ms ms (exit 0, no output); $PIDFILE holds $DAEMON_PID: a live netdump-server in /, stdio on /dev/null, no terminal"

# It serves (its log goes to syslog: look at the files).
A=$(client_addr 1)
send_dump 0 "$A" -q -g 2M -s 321 -o "$T/sentA"
wait_manifest "$(client_dir "$A")" 0
assert_manifest "$(client_dir "$A")/manifest.0.json" complete "$T/sentA"
assert_same_bytes "$(client_dir "$A")/vmcore.0" "$T/sentA"
"$ND_SERVER" -d "$DUMPDIR" --port "$PORT" --status >"$T/status" 2>&1 || fail "--status: $(cat "$T/status")"
grep -q "pid $DAEMON_PID," "$T/status" || fail "--status does not name pid $DAEMON_PID: $(cat "$T/status")"
pass "the daemon stored a 2M dump completely; --status answers with its pid"

# 2. A second instance with the same pid file fails, in either mode.
for mode in -D --daemon; do
	rc=0
	timeout 20 "$ND_SERVER" "$mode" -P "$PIDFILE" -a 127.0.0.1 \
	    --port "$(free_port)" -d "$T/other" >"$T/second.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "a second instance ($mode) exited $rc"
	grep -q "is locked: netdump-server is already running (pid $DAEMON_PID)" "$T/second.out" ||
		fail "a second instance ($mode) said: $(cat "$T/second.out")"
	assert_eq "$(cat "$PIDFILE")" "$DAEMON_PID" "pid file after a second instance ($mode)"
done
assert_no_file "$T/other"
kill -0 "$DAEMON_PID" || fail "the daemon died when a second instance started"
pass "a second instance (-D and --daemon) exits $rc: '$(head -1 "$T/second.out")'; the pid file and the daemon stay"

# 3. SIGTERM: the daemon exits and removes its pid file.
BUGS=()
# stop_daemon PID PIDFILE WHAT: SIGTERM; a daemon that ignores it is
# noted (and killed) so that the rest of the test still runs.
stop_daemon() {
	kill -TERM "$1"
	if ! poll 5 _pid_gone "$1"; then
		BUGS+=("$3: the daemon (pid $1) did not exit within $((5 * WAIT_SCALE)) s of SIGTERM ($(grep -E '^(ShdPnd|SigBlk)' "/proc/$1/status" | paste -sd' '))")
		kill -KILL "$1"
		poll 10 _pid_gone "$1" || fail "pid $1 survives SIGKILL"
		rm -f "$2"
		return 1
	fi
}
if stop_daemon "$DAEMON_PID" "$PIDFILE" "--daemon"; then
	poll 5 test ! -e "$PIDFILE" || fail "$PIDFILE is left after the daemon exited"
	assert_no_file "/run/netdump-server/netdump-server.$PORT.sock"
	assert_no_file "$DUMPDIR/.netdump-server.$PORT.sock"
	pass "SIGTERM: the daemon exited and removed $PIDFILE and its status socket"
fi
DAEMON_PID=""

# 3b. Started with its standard streams closed (by a careless init script:
# <&- >&- 2>&-), and a stale pid in the pid file: the pid file and the
# sockets must not land on descriptors 0-2, where daemonize() puts
# /dev/null. The daemon holds its lock, its pid file names it, it serves.
echo 4242 >"$PIDFILE"
rc=0
timeout 20 "$ND_SERVER" --daemon -P "$PIDFILE" -a 127.0.0.1 --port "$PORT" \
    -d "$DUMPDIR" --timeout 5 <&- >&- 2>&- || rc=$?
assert_eq "$rc" 0 "exit status of --daemon with its standard streams closed"
# It returns once the daemon runs: the pid is there already.
_pidfile_ready "$PIDFILE" || fail "no pid in $PIDFILE when --daemon returned: '$(cat "$PIDFILE" 2>&1)'"
DAEMON_PID=$(cat "$PIDFILE")
[ "$DAEMON_PID" != 4242 ] || fail "the pid file still names the stale pid"
kill -0 "$DAEMON_PID" 2>/dev/null || fail "pid $DAEMON_PID from $PIDFILE is not running"
rc=0
timeout 20 "$ND_SERVER" -D -P "$PIDFILE" -a 127.0.0.1 --port "$(free_port)" \
    -d "$T/other" >"$T/third.out" 2>&1 || rc=$?
grep -q "is locked: netdump-server is already running (pid $DAEMON_PID)" "$T/third.out" ||
	fail "a second instance beside the daemon without standard streams said: $(cat "$T/third.out")"
B=$(client_addr 3)
send_dump 0 "$B" -q -g 1M -s 323 -o "$T/sentB3"
wait_manifest "$(client_dir "$B")" 0
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sentB3"
stop_daemon "$DAEMON_PID" "$PIDFILE" "--daemon without standard streams" || true
DAEMON_PID=""
pass "--daemon with stdin, stdout and stderr closed: the pid file names it and is locked, and it serves"

# 4. user = nobody, root only.
report_bugs() {
	local b

	[ "${#BUGS[@]}" -gt 0 ] || return 0
	for b in "${BUGS[@]}"; do
		echo "BUG: $b" >&2
	done
	fail "${#BUGS[@]} check(s) failed (see BUG lines)"
}
if [ "$(id -u)" != 0 ]; then
	pass "user = nobody: skipped (needs root)"
	no_sanitizer_report
	report_bugs
	finish
	exit 0
fi
NOBODY_UID=$(id -u nobody)
chmod 0711 "$T"		# nobody must reach its dump directory
ND=$T/nobody-dumps
mkdir -m 0700 "$ND"
chown nobody "$ND"
cat >"$T/nobody.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
user = nobody
INI
DUMPDIR=$ND
start_server -c "$T/nobody.ini" --timeout 5
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$SERVER_PID/status")
assert_eq "$uids" "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" "real, effective, saved and fs uid of the server"
assert_log "running as user nobody" "privilege drop line"
B=$(client_addr 2)
send_dump 0 "$B" -q -g 2M -s 322 -o "$T/sentB"
wait_manifest "$(client_dir "$B")" 0
assert_manifest "$(client_dir "$B")/manifest.0.json" complete "$T/sentB"
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sentB"
assert_eq "$(stat -c %U "$(client_dir "$B")/vmcore.0")" nobody "owner of vmcore.0"
"$ND_SERVER" -d "$DUMPDIR" --port "$PORT" --status >"$T/status2" 2>&1 || fail "--status: $(cat "$T/status2")"
grep -q "pid $SERVER_PID," "$T/status2" || fail "--status: $(cat "$T/status2")"
# The socket is root's, in root's runtime_dir: nothing of it lies where
# nobody could redirect it, so nobody cannot remove it at exit either.
SOCK=/run/netdump-server/netdump-server.$PORT.sock
assert_eq "$(stat -c '%U %a' "$SOCK")" "root 600" "owner and mode of the status socket"
assert_eq "$(stat -c '%U %a' /run/netdump-server)" "root 755" "owner and mode of runtime_dir"
stop_server
assert_no_file "$ND/.netdump-server.$PORT.sock"
rc=0
"$ND_SERVER" -d "$DUMPDIR" --port "$PORT" --status >"$T/status3" 2>&1 || rc=$?
assert_eq "$rc" 1 "--status after the server exited"
pass "user = nobody: the server runs as uid $NOBODY_UID (Uid: $uids), stores a dump owned by nobody, answers --status through root's socket, exits 0"

# A sink's spool nobody may not write (root's, 0700): create runs as root,
# where every directory is writable, so the check belongs after the drop,
# in start, as the archive sink's does. The s3 sink needs no store for it.
RS=$T/root-spool
mkdir -m 0700 "$RS"
cat >"$T/nobody-s3.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
user = nobody

[sink bucket]
module = s3
endpoint = http://127.0.0.1:9
bucket = crashes
spool_dir = $RS

[route default]
path = *
sink = bucket
INI
AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s start_server -c "$T/nobody-s3.ini" --timeout 5
wait_log "sink bucket \\(s3\\): spool_dir ${RS//./\\.}[: ].*every dump for this sink fails until the server can list and write it" 10
stop_server
pass "an s3 spool_dir nobody cannot write: said at start, '$(grep -m1 'spool_dir' "$SERVER_LOG")'"


# With a dump directory nobody may not write: a clear refusal at start.
RD=$T/root-dumps
mkdir -m 0755 "$RD"
PORT=$(free_port)
rc=0
timeout 20 "$ND_SERVER" -D -c "$T/nobody.ini" -a 127.0.0.1 --port "$PORT" \
    -d "$RD" >"$T/nobody.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the server started with a dump directory nobody cannot write (exit $rc): $(cat "$T/nobody.out")"
grep -q "$RD" "$T/nobody.out" || fail "the message does not name $RD: $(cat "$T/nobody.out")"
grep -q "nobody" "$T/nobody.out" || fail "the message does not name the user: $(cat "$T/nobody.out")"
grep -q "not readable and writable" "$T/nobody.out" || fail "the message does not say 'not readable and writable': $(cat "$T/nobody.out")"
! grep -q "listening on" "$T/nobody.out" || fail "the server listened: $(cat "$T/nobody.out")"
assert_eq "$(ls -A "$RD" | grep -vx '.netdump-server.sock' || true)" "" "contents of $RD"
if [ -e "$RD/.netdump-server.sock" ]; then
	echo "note: the refused start leaves its status socket behind: $RD/.netdump-server.sock"
fi
pass "a dump directory nobody cannot write: exit $rc, '$(grep -m1 'not readable and writable' "$T/nobody.out")'"

# A drop box nobody may write and enter but not list (0300): every dump
# would fail (the file sink opens the directory to store in it; retention
# and the signature counts list it). Refused at start the same way, and
# the dump stored before stays as it was.
chmod 0300 "$ND"
rc=0
timeout 20 "$ND_SERVER" -D -c "$T/nobody.ini" -a 127.0.0.1 --port "$PORT" \
    -d "$ND" >"$T/dropbox.out" 2>&1 || rc=$?
chmod 0700 "$ND"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the server started with a dump directory nobody cannot list (exit $rc): $(cat "$T/dropbox.out")"
grep -q "dump directory $ND is not readable and writable by user nobody" "$T/dropbox.out" ||
	fail "no refusal naming $ND and nobody: $(cat "$T/dropbox.out")"
! grep -q "listening on" "$T/dropbox.out" || fail "the server listened: $(cat "$T/dropbox.out")"
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sentB"
pass "a drop box (0300) nobody cannot list: exit $rc, '$(grep -m1 'not readable' "$T/dropbox.out")'; the earlier dump untouched"

# The same as a daemon with a pid file: nothing runs afterwards.
rc=0
timeout 20 "$ND_SERVER" --daemon -P "$T/nobody.pid" -c "$T/nobody.ini" \
    -a 127.0.0.1 --port "$PORT" -d "$RD" >"$T/nobody2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "--daemon with a dump directory nobody cannot write exited 0"
grep -q "not readable and writable" "$T/nobody2.out" || fail "--daemon: $(cat "$T/nobody2.out")"
pass "the same with --daemon fails in the foreground (exit $rc) with the same message"

# A daemon as nobody with its pid file in a directory of root's.
ND2=$T/nobody-dumps2
mkdir -m 0700 "$ND2"
chown nobody "$ND2"
PORT=$(free_port)
timeout 20 "$ND_SERVER" --daemon -P "$T/nobody3.pid" -c "$T/nobody.ini" \
    -a 127.0.0.1 --port "$PORT" -d "$ND2" >"$T/nobody3.out" 2>&1 ||
	fail "--daemon as nobody: $(cat "$T/nobody3.out")"
poll 10 _pidfile_ready "$T/nobody3.pid" || fail "no pid in $T/nobody3.pid"
DAEMON_PID=$(cat "$T/nobody3.pid")
assert_eq "$(awk '/^Uid:/ { print $3 }' "/proc/$DAEMON_PID/status")" "$NOBODY_UID" "uid of the daemon"
DUMPDIR=$ND2
C=$(client_addr 3)
send_dump 0 "$C" -q -g 1M -s 323 -o "$T/sentC"
wait_manifest "$(client_dir "$C")" 0
assert_same_bytes "$(client_dir "$C")/vmcore.0" "$T/sentC"
stop_daemon "$DAEMON_PID" "$T/nobody3.pid" "--daemon with user = nobody" || true
DAEMON_PID=""
if [ -e "$T/nobody3.pid" ]; then
	echo "note: a daemon running as nobody leaves its pid file in a directory of root's ($T/nobody3.pid, $(cat "$T/nobody3.pid")): it cannot unlink it"
fi
pass "--daemon with user = nobody: the daemon runs as nobody and stores a dump"
no_sanitizer_report
report_bugs
finish
