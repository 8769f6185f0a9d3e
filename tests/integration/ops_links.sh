#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Root touches nothing that another user can redirect. The daemon starts as
# root and drops to `user`, who owns the dump directory (and may own the
# directory of the pid file): a link planted there must not make root write
# or change a file of its choice. The pid file is opened without following
# links and must be a plain file of root's with one name; the status
# socket lives in runtime_dir, which must be root's alone, and is never
# chown'd or chmod'd by path.
set -euo pipefail
NET=139
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	pass "links: skipped (needs root)"
	finish
	exit 0
fi

# refused WHAT ERE [server options]: the server must not start, and say so.
refused() {
	local what=$1 re=$2 rc=0

	shift 2
	timeout 20 "$ND_SERVER" -D -a 127.0.0.1 --port "$(free_port)" \
	    -d "$DUMPDIR" "$@" >"$T/refused.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
		fail "$what: the server started (exit $rc): $(cat "$T/refused.out")"
	grep -qE "$re" "$T/refused.out" ||
		fail "$what: the message does not match /$re/: $(cat "$T/refused.out")"
	! grep -q "listening on" "$T/refused.out" ||
		fail "$what: the server listened: $(cat "$T/refused.out")"
	pass "$what: refused, '$(grep -m1 -E "$re" "$T/refused.out")'"
}

# A file root owns, which the links below point at.
VICTIM=$T/victim
echo "precious" >"$VICTIM"
chmod 0600 "$VICTIM"

# 1. The pid file is a link that the dropped-to user planted.
PD=$T/piddir
mkdir -m 0755 "$PD"
chown nobody "$PD"
ln -s "$VICTIM" "$PD/netdump-server.pid"
refused "a symlinked pid file" "pid file .* is a symbolic link" \
    -P "$PD/netdump-server.pid"
assert_eq "$(cat "$VICTIM")" "precious" "the victim after a symlinked pid file"

# 2. ... or a second name (hard link) of a file root owns.
rm "$PD/netdump-server.pid"
ln "$VICTIM" "$PD/netdump-server.pid"
refused "a hard-linked pid file" "not a plain file of ours" \
    -P "$PD/netdump-server.pid"
assert_eq "$(cat "$VICTIM")" "precious" "the victim after a hard-linked pid file"
rm "$PD/netdump-server.pid"

# 3. runtime_dir is a link, or is writable by someone else.
RUN=$T/run
mkdir -m 0755 "$RUN"
chown nobody "$RUN"
ln -s "$RUN" "$T/runlink"
printf '[server]\nsink_dir = %s\nruntime_dir = %s\n' "$ND_SINK_DIR" \
    "$T/runlink" >"$T/link.ini"
refused "runtime_dir is a symbolic link" "is not a directory \(a link is refused\)" \
    -c "$T/link.ini"
printf '[server]\nsink_dir = %s\nruntime_dir = %s\n' "$ND_SINK_DIR" \
    "$RUN" >"$T/owned.ini"
refused "runtime_dir owned by nobody" "may be written by a user other than root" \
    -c "$T/owned.ini"
assert_eq "$(ls -A "$RUN")" "" "contents of the refused runtime_dir"

# 4. A good start: runtime_dir made root's, 0755, the socket 0600 in it,
# the pid file a plain file; a link planted in the dump directory where
# the socket used to live is left alone.
GOOD=$T/goodrun
ln -s "$VICTIM" "$DUMPDIR/.netdump-server.sock"
printf '[server]\nsink_dir = %s\nruntime_dir = %s\n' "$ND_SINK_DIR" \
    "$GOOD" >"$T/good.ini"
start_server -c "$T/good.ini" -P "$PD/netdump-server.pid"
assert_eq "$(stat -c '%U %a' "$GOOD")" "root 755" "owner and mode of the runtime_dir made"
assert_eq "$(stat -c '%F %U %a' "$GOOD/netdump-server.$PORT.sock")" \
    "socket root 600" "the status socket"
assert_eq "$(stat -c '%F %U %h' "$PD/netdump-server.pid")" \
    "regular file root 1" "the pid file"
assert_eq "$(cat "$PD/netdump-server.pid")" "$SERVER_PID" "pid in the pid file"
"$ND_SERVER" -c "$T/good.ini" --port "$PORT" --status >"$T/status" 2>&1 ||
	fail "--status: $(cat "$T/status")"
grep -q "pid $SERVER_PID," "$T/status" || fail "--status: $(cat "$T/status")"
A=$(client_addr 1)
send_dump 0 "$A" -q -g 1M -s 391 -o "$T/sentA"
wait_manifest "$(client_dir "$A")" 0
assert_manifest "$(client_dir "$A")/manifest.0.json" complete "$T/sentA"
stop_server
assert_eq "$(stat -c '%U %a' "$VICTIM")" "root 600" "owner and mode of the victim"
assert_eq "$(cat "$VICTIM")" "precious" "the victim"
[ -L "$DUMPDIR/.netdump-server.sock" ] || fail "the planted link was touched"
assert_no_file "$GOOD/netdump-server.$PORT.sock"
pass "runtime_dir $GOOD: root 755, socket root 600, --status answers; the pid file is root's; the victim and the planted link untouched"
finish
