# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# Helpers for the integration tests: a real netdump-server and real
# netdump-send (or a purpose-built python3 sender) over UDP on loopback.
#
# A test sets NET (its own number, 100..199) before sourcing this file. Its
# clients then use 127.0.NET.1, 127.0.NET.2, ... (client_addr I): netdump-send
# binds port 20024 on its address with SO_REUSEADDR, so two running tests
# must never share one, or acks go astray. NET is locked (flock) for the
# life of the test, so the same test of another build tree running at the
# same time takes another free NET (130..254) instead. The server always
# listens on 127.0.0.1 at a free port of its own ($PORT).
#
# Environment (set by ctest): ND_SERVER, ND_SEND, ND_SINK_DIR.

set -euo pipefail

: "${ND_SERVER:?ND_SERVER must name the netdump-server binary}"
: "${ND_SEND:?ND_SEND must name the netdump-send binary}"
: "${ND_SINK_DIR:?ND_SINK_DIR must name the sinks folder of the build tree}"
: "${NET:?the test must set NET before sourcing lib.sh}"

ND_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ND_LOCKDIR=/tmp/netdump-it-locks

# True if nobody has bound port 20024 on 127.0.N.1..16 (a run that takes no
# lock, e.g. an older copy of these tests, still shows up here).
_nd_net_unused() {
	python3 - "$1" <<'EOF'
import socket, sys
for i in range(1, 17):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.%s.%d" % (sys.argv[1], i), 20024))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
EOF
}

# Claim NET (or, if another run holds it, the first free one of 130..254)
# for as long as this shell lives.
_nd_claim_net() {
	local n

	mkdir -p "$ND_LOCKDIR" 2>/dev/null || true
	chmod 1777 "$ND_LOCKDIR" 2>/dev/null || true
	for n in "$NET" $(seq 130 254); do
		exec {ND_NET_FD}>>"$ND_LOCKDIR/net.$n" || continue
		if flock -n "$ND_NET_FD" && _nd_net_unused "$n"; then
			[ "$n" = "$NET" ] || echo "note: 127.0.$NET.0/24 is in use; this run takes 127.0.$n.0/24"
			NET=$n
			return 0
		fi
		exec {ND_NET_FD}>&-
	done
	echo "FAIL: no free client network 127.0.N.0/24 to claim" >&2
	exit 1
}
_nd_claim_net
# case.sh names its test after the case file (ND_TEST_NAME).
TEST_NAME=${ND_TEST_NAME:-$(basename "$0" .sh)}
T=$(mktemp -d "${TMPDIR:-/tmp}/nd-it-$TEST_NAME.XXXXXX")
DUMPDIR=$T/dumps
PORT=""
SERVER_PID=""
SERVER_LOG=""
SERVER_NO=0
SEND_NO=0
PASSED=()

# Sanitizer builds are about 3x slower; stretch every bounded wait.
WAIT_SCALE=1
# (grep without -q reads all of ldd's output: -q would stop at the first
# match and ldd, killed by SIGPIPE, would fail the pipeline.)
if ldd "$ND_SERVER" 2>/dev/null | grep 'lib[at]san' >/dev/null; then
	WAIT_SCALE=3
fi
# ND_VALGRIND=1 runs the server under valgrind's memcheck: any error or
# leak makes it exit 99, which stop_server reports as a failure.
ND_WRAPPER=()
if [ "${ND_VALGRIND:-0}" = 1 ]; then
	ND_WRAPPER=(valgrind --quiet --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite,indirect
	    --show-leak-kinds=definite,indirect --track-fds=no)
	WAIT_SCALE=20
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The tmpfs file systems a test mounted (tmpfs_mount), unmounted at exit.
ND_TMPFS=()
_nd_cleanup() {
	local rc=$? dir n=0 pid

	# What a test left in the background (web servers, held clients,
	# flood senders) goes with it, also when a check failed before the
	# test waited for them; the server goes below.
	for pid in $(jobs -p); do
		[ "$pid" = "$SERVER_PID" ] && continue
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	for dir in "${ND_TMPFS[@]}"; do
		n=$((n + 1))
		# On failure keep a listing and the manifests for the reader.
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			ls -laR "$dir" >"$T/tmpfs-listing.$n.txt" 2>&1 || true
			find "$dir" -name '*.json' -exec cp {} "$T/" \; 2>/dev/null || true
		fi
		umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
	done
	# 77 is a skip: clean up as after a pass.
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then
		rm -rf "$T"
	else
		echo "FAILED ($TEST_NAME): files kept in $T" >&2
		if [ -n "$SERVER_LOG" ] && [ -f "$SERVER_LOG" ]; then
			echo "---- last lines of $SERVER_LOG ----" >&2
			tail -n 60 "$SERVER_LOG" >&2
			echo "----" >&2
		fi
	fi
}
trap _nd_cleanup EXIT

# tmpfs_mount DIR SIZE: a small file system of its own there (root only),
# to run out of space on; unmounted when the test exits.
tmpfs_mount() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" ||
		fail "cannot mount a tmpfs on $1"
	ND_TMPFS+=("$1")
}

tmpfs_umount() {	# DIR
	local keep=() dir

	umount "$1" || fail "cannot unmount $1"
	for dir in "${ND_TMPFS[@]}"; do
		[ "$dir" = "$1" ] || keep+=("$dir")
	done
	ND_TMPFS=("${keep[@]}")
}

fail() {
	echo "FAIL ($TEST_NAME): $*" >&2
	exit 1
}

# Record one checked fact; printed as "PASS: ..." as it happens.
pass() {
	PASSED+=("$*")
	echo "PASS: $*"
}

# The I-th client address of this test.
client_addr() {
	echo "127.0.$NET.$1"
}

# ---------------------------------------------------------------- asserts

assert_eq() {	# ACTUAL EXPECTED WHAT
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

assert_ne() {	# ACTUAL UNEXPECTED WHAT
	[ "$1" != "$2" ] || fail "$3: got '$1', expected anything else"
}

assert_match() {	# STRING ERE WHAT
	[[ $1 =~ $2 ]] || fail "$3: '$1' does not match /$2/"
}

assert_gt() {	# A B WHAT: A > B (integers)
	[ "$1" -gt "$2" ] || fail "$3: $1 is not greater than $2"
}

assert_ge() {	# A B WHAT: A >= B (integers)
	[ "$1" -ge "$2" ] || fail "$3: $1 is less than $2"
}

assert_lt() {	# A B WHAT: A < B (integers)
	[ "$1" -lt "$2" ] || fail "$3: $1 is not less than $2"
}

assert_le() {	# A B WHAT: A <= B (integers)
	[ "$1" -le "$2" ] || fail "$3: $1 is greater than $2"
}

# FILE has a line matching ERE.
assert_grep() {	# FILE ERE WHAT
	[ -f "$1" ] || fail "$3: missing $1"
	grep -qE -- "$2" "$1" || fail "$3: no line of $1 matches /$2/"
}

assert_file() {
	[ -f "$1" ] && [ ! -L "$1" ] || fail "missing regular file $1"
}

assert_no_file() {
	[ ! -e "$1" ] && [ ! -L "$1" ] || fail "$1 should not exist"
}

assert_symlink() {	# LINK TARGET
	[ -L "$1" ] || fail "$1 is not a symlink"
	assert_eq "$(readlink "$1")" "$2" "target of $1"
}

sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# XXH128 as Debian's xxhsum prints it (the manifest with digest = xxh128).
xxh_of() {
	command -v xxhsum >/dev/null ||
	    fail "xxhsum is missing (Debian's xxhash package; ./bootstrap installs it)"
	xxhsum -H2 "$1" 2>/dev/null | cut -d' ' -f1
}

# The digest the server under test gives in its manifests: a test that
# sets [server] digest says so in DIGEST, so the manifest under test
# never decides what it is checked against.
DIGEST=${DIGEST:-sha256}
digest_of() {
	case $DIGEST in
	sha256) sha_of "$1" ;;
	xxh128) xxh_of "$1" ;;
	*) fail "unknown DIGEST '$DIGEST'" ;;
	esac
}
# The other one, which a manifest must not carry.
other_digest() {
	if [ "$DIGEST" = sha256 ]; then echo xxh128; else echo sha256; fi
}

size_of() {
	stat -c %s "$1"
}

assert_same_bytes() {	# STORED SENT
	assert_file "$1"
	[ -f "$2" ] || fail "missing $2"
	if ! cmp -s "$1" "$2"; then
		fail "$1 ($(size_of "$1") bytes) differs from $2 ($(size_of "$2") bytes): $(cmp "$1" "$2" 2>&1 | head -1)"
	fi
}

# The first N bytes of SENT, N the size of STORED, are exactly STORED.
assert_prefix_of() {	# STORED SENT
	local n

	assert_file "$1"
	n=$(size_of "$1")
	[ "$n" -le "$(size_of "$2")" ] ||
		fail "$1 ($n bytes) is longer than $2 ($(size_of "$2") bytes)"
	cmp -s -n "$n" "$1" "$2" ||
		fail "$1 is not the first $n bytes of $2: $(cmp -n "$n" "$1" "$2" 2>&1 | head -1)"
}

# Every page of STORED is the page SENT has at its offset, or a hole
# (zeros), and at least one is as sent: what a dump cut short holds.
assert_sent_or_holes() {	# STORED SENT
	assert_file "$1"
	python3 - "$1" "$2" <<'EOF' || fail "$1 holds bytes that were never sent"
import sys
stored = open(sys.argv[1], "rb").read()
sent = open(sys.argv[2], "rb").read()
if len(stored) > len(sent):
    sys.exit("stored %d bytes, more than the %d sent" % (len(stored), len(sent)))
same = holes = 0
for i in range(0, len(stored), 4096):
    s, t = stored[i:i + 4096], sent[i:i + 4096]
    if s == t:
        same += 1
    elif s == bytes(len(s)):
        holes += 1
    else:
        for k in range(len(s)):
            if s[k] != t[k] and s[k] != 0:
                sys.exit("byte %d is %d, sent %d" % (i + k, s[k], t[k]))
if same == 0:
    sys.exit("no page of %s matches what was sent" % sys.argv[1])
print("%s: %d pages as sent, %d holes" % (sys.argv[1], same, holes))
EOF
}

assert_mode() {	# FILE OCTAL
	assert_eq "$(stat -c %a "$1")" "$2" "mode of $1"
}

# No temporary or half-written object may be left in a directory tree.
assert_no_temp_files() {	# DIR
	local left

	left=$(find "$1" -name '.*.tmp' 2>/dev/null | head -5)
	[ -z "$left" ] || fail "temporary files left behind: $left"
}

# ---------------------------------------------------------------- file sink

# $T/server.ini: one file sink, "local", without fsync, with these lines
# in its section; the default route takes it.
file_sink_conf() {	# SINK-OPTION-LINES...
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		echo
		echo "[sink local]"
		echo "module = file"
		echo "fsync = no"
		printf '%s\n' "$@"
	} >"$T/server.ini"
}

# Fail unless the file sink has these options (-H file lists them).
require_file_options() {	# OPTION...
	local opt

	"$ND_SERVER" -H file >"$T/file-options" 2>&1 ||
		fail "-H file: $(cat "$T/file-options")"
	for opt in "$@"; do
		grep -qE "^ +$opt " "$T/file-options" ||
			fail "the file sink has no option $opt: $(cat "$T/file-options")"
	done
}

# ---------------------------------------------------------------- JSON

jget() {	# FILE JQ-FILTER: raw output
	jq -r "$2" "$1"
}

# A manifest stored beside what a transform made of the dump (OUTER, e.g.
# beside a tarball) is the one inside it (INNER) and the place of the
# transform's output (kind "archive"), which the host adds once it knows.
assert_outer_manifest() {	# INNER OUTER WHERE
	assert_eq "$(jq -cS 'del(.objects[] | select(.kind == "archive"))' "$2")" \
	    "$(jq -cS . "$1")" "$2 but its archive entry, against $1"
	assert_eq "$(jq -r '.objects[] | select(.kind == "archive") | .stored[]' "$2")" \
	    "$3" "where $2 says the archive is"
}

# The manifest's entry for an object kind, as compact JSON (or "null").
mobject() {	# MANIFEST KIND
	jq -c --arg k "$2" '[.objects[] | select(.kind == $k)][0]' "$1"
}

# Check the usual manifest facts of a dump against the file that was sent.
# assert_manifest MANIFEST STATUS [SENT-FILE]
assert_manifest() {
	local m=$1 status=$2 sent=${3:-}

	jq -e . "$m" >/dev/null || fail "$m is not valid JSON"
	assert_eq "$(jget "$m" .status)" "$status" "status in $m"
	assert_eq "$(jget "$m" '.sinks | map(.result) | unique | join(",")')" \
	    ok "sink results in $m"
	if [ "$status" = complete ]; then
		assert_eq "$(jget "$m" .reason)" "" "reason in $m"
		assert_eq "$(jget "$m" .coverage.gap_count)" 0 "gap_count in $m"
		assert_eq "$(jget "$m" .finished)" true "finished in $m"
	else
		assert_ne "$(jget "$m" .reason)" "" "reason in $m"
	fi
	if [ -n "$sent" ]; then
		assert_eq "$(mobject "$m" vmcore | jq -r .size)" \
		    "$(size_of "$sent")" "vmcore size in $m"
		assert_eq "$(mobject "$m" vmcore | jq -r ".$DIGEST")" \
		    "$(digest_of "$sent")" "vmcore $DIGEST in $m"
		assert_eq "$(mobject "$m" vmcore | jq "has(\"$(other_digest)\")")" \
		    false "vmcore without $(other_digest) in $m"
	fi
}

# ---------------------------------------------------------------- waiting

# Poll CMD... every 50 ms for up to SECONDS (scaled); 0 when it succeeded.
# The first dump from ADDR is IMAGE, stored complete and byte-identical,
# and its msgbuf.0 is EXPECTED, listed in the manifest with its digest and
# size; the panic line PANIC was logged. Sets MSGBUF_MANIFEST.
assert_msgbuf() {	# ADDR IMAGE EXPECTED PANIC WHAT
	local a=$1 img=$2 exp=$3 what=$5 d m mb

	d=$(client_dir "$a")
	wait_manifest "$d" 0
	m=$d/manifest.0.json
	MSGBUF_MANIFEST=$m
	assert_manifest "$m" complete "$img"
	assert_same_bytes "$d/vmcore.0" "$img"
	assert_file "$d/msgbuf.0"
	if ! cmp -s "$d/msgbuf.0" "$exp"; then
		diff <(cat -A "$exp") <(cat -A "$d/msgbuf.0") | head -20 >&2
		fail "$what: msgbuf.0 ($(size_of "$d/msgbuf.0") bytes) differs from the expected text ($(size_of "$exp") bytes)"
	fi
	mb=$(mobject "$m" msgbuf)
	[ "$mb" != null ] || fail "$what: the manifest lists no msgbuf object: $(jq -c .objects "$m")"
	assert_eq "$(jq -r ".$DIGEST" <<<"$mb")" "$(digest_of "$d/msgbuf.0")" "$what: msgbuf $DIGEST in the manifest"
	assert_eq "$(jq -r .size <<<"$mb")" "$(size_of "$d/msgbuf.0")" "$what: msgbuf size in the manifest"
	wait_log "dump [0-9]+ from ${a//./\\.}: $4\$" 10
}

poll() {	# SECONDS CMD...
	local limit=$(($1 * WAIT_SCALE * 20)) i=0

	shift
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -lt "$limit" ] || return 1
		sleep 0.05
	done
}

# Wait for DIR/manifest.N.json (written a moment after the client ends).
wait_manifest() {	# DIR N [SECONDS]
	local f="$1/manifest.$2.json" secs=${3:-20} have

	if ! poll "$secs" test -f "$f"; then
		have=$(ls -A "$1" 2>&1 | tr '\n' ' ')
		fail "no $f after $secs s (x$WAIT_SCALE); the folder has: $have"
	fi
}

# Wait for any file to appear.
wait_file() {	# FILE [SECONDS]
	poll "${2:-20}" test -f "$1" ||
		fail "no $1 after ${2:-20} s (x$WAIT_SCALE)"
}

_log_count() {	# ERE
	grep -cE -- "$1" "$SERVER_LOG" 2>/dev/null || true
}

_log_has_n() {	# ERE N
	[ "$(_log_count "$1")" -ge "$2" ]
}

# Wait until the server log has COUNT lines matching ERE.
wait_log() {	# ERE [SECONDS] [COUNT]
	poll "${2:-20}" _log_has_n "$1" "${3:-1}" ||
		fail "server log: no ${3:-1} line(s) matching /$1/ after ${2:-20}s (x$WAIT_SCALE)"
}

# Wait until COUNT dumps from ADDR have ended (the last line a dump logs).
wait_dumps() {	# ADDR [COUNT] [SECONDS]
	wait_log "dump [0-9]+ from ${1//./\\.} (complete|incomplete): " \
	    "${3:-20}" "${2:-1}"
}

assert_log() {	# ERE WHAT
	grep -qE -- "$1" "$SERVER_LOG" || fail "server log: $2: no line matching /$1/"
}

assert_no_log() {	# ERE WHAT
	! grep -qE -- "$1" "$SERVER_LOG" || fail "server log: $2: unexpected line: $(grep -E -- "$1" "$SERVER_LOG" | head -1)"
}

# ---------------------------------------------------------------- server

free_port() {
	python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(21000, 32000)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    raise SystemExit("no free UDP port")
EOF
}

_server_listening() {
	grep -q "listening on" "$SERVER_LOG" 2>/dev/null
}

_server_gone() {
	! kill -0 "$SERVER_PID" 2>/dev/null
}

_server_up_or_gone() {
	_server_listening || _server_gone
}

# The server must refuse to start with these options (at most 20 s): a
# non-zero exit, not the timeout's, with a line matching ERE in its log.
refused_start() {	# WHAT ERE LOG [server options]
	local what=$1 ere=$2 log=$3 rc=0

	shift 3
	# A server that started after all would run on: timeout ends it (124).
	timeout $((20 * WAIT_SCALE)) "$ND_SERVER" -D -a 127.0.0.1 \
	    --port "$(free_port)" -d "$DUMPDIR" "$@" >"$log" 2>&1 || rc=$?
	assert_ne "$rc" 0 "exit status $what"
	assert_ne "$rc" 124 "exit status $what (it ran on)"
	assert_grep "$log" "$ere" "the message $what"
}

# start_server [server options...]: -D -a 127.0.0.1 --port $PORT -d $DUMPDIR
# come first, so a -c file is overridden by them; more options may follow.
start_server() {
	local try rc

	[ -z "$SERVER_PID" ] || fail "start_server: a server is running already"
	for try in 1 2 3 4 5; do
		PORT=$(free_port)
		SERVER_NO=$((SERVER_NO + 1))
		SERVER_LOG=$T/server.$SERVER_NO.log
		"${ND_WRAPPER[@]}" "$ND_SERVER" -D -a 127.0.0.1 --port "$PORT" \
		    -d "$DUMPDIR" "$@" >"$SERVER_LOG" 2>&1 &
		SERVER_PID=$!
		poll 30 _server_up_or_gone || true
		if _server_listening; then
			echo "note: server $SERVER_NO on 127.0.0.1:$PORT (pid $SERVER_PID), clients 127.0.$NET.x, files in $T"
			return 0
		fi
		rc=0
		if _server_gone; then
			wait "$SERVER_PID" || rc=$?
		else
			kill -KILL "$SERVER_PID" 2>/dev/null || true
			wait "$SERVER_PID" 2>/dev/null || true
		fi
		SERVER_PID=""
		# Another process took the port between the probe and the bind.
		if grep -q "cannot bind" "$SERVER_LOG"; then
			continue
		fi
		cat "$SERVER_LOG" >&2
		fail "netdump-server $* did not start (exit $rc)"
	done
	fail "netdump-server: no free port after 5 tries"
}

# SIGKILL the server in the middle of the dump that client PID sends (no
# close, no end), then stop the client, which would retry into the void.
kill_server_mid_dump() {	# CLIENT-PID
	kill -0 "$1" 2>/dev/null || fail "the client ended before the kill"
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# SIGTERM the server; it must exit 0 (a sanitizer report makes it fail).
stop_server() {
	local rc=0

	[ -n "$SERVER_PID" ] || fail "stop_server: no server running"
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	if ! poll 30 _server_gone; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=""
		fail "netdump-server did not exit within 30s of SIGTERM"
	fi
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=""
	if [ "$rc" -ne 0 ]; then
		cat "$SERVER_LOG" >&2
		fail "netdump-server exited with status $rc after SIGTERM (expected 0)"
	fi
	if grep -qE 'runtime error:|AddressSanitizer|LeakSanitizer' "$SERVER_LOG"; then
		fail "sanitizer report in $SERVER_LOG"
	fi
	grep -q "exiting" "$SERVER_LOG" || fail "server log has no 'exiting' line"
}

# ---------------------------------------------------------------- clients

# send_dump WANT-RC ADDR [netdump-send options...]: run the kernel-exact
# client from ADDR:20024 against the server and check its exit status.
# Its output is kept in $SEND_LOG, its run time in $SEND_MS (ms).
send_dump() {
	local want=$1 addr=$2 rc=0 t0 t1

	shift 2
	SEND_NO=$((SEND_NO + 1))
	SEND_LOG=$T/send.$SEND_NO.log
	t0=$(date +%s%N)
	timeout -k 5 $((240 * WAIT_SCALE)) "$ND_SEND" -b "$addr" "$@" \
	    "127.0.0.1:$PORT" >"$SEND_LOG" 2>&1 || rc=$?
	t1=$(date +%s%N)
	SEND_MS=$(((t1 - t0) / 1000000))
	if [ "$rc" != "$want" ]; then
		cat "$SEND_LOG" >&2
		fail "netdump-send -b $addr $* exited $rc, expected $want"
	fi
	if grep -qE 'runtime error:|AddressSanitizer|LeakSanitizer' "$SEND_LOG"; then
		cat "$SEND_LOG" >&2
		fail "sanitizer report from netdump-send"
	fi
}

# send_bg ADDR [options...]: the same in the background; its pid goes to
# $BG_PID, its output to $T/bg.<pid>.log. Collect it with wait_bg.
send_bg() {
	local addr=$1

	shift
	timeout -k 5 $((240 * WAIT_SCALE)) "$ND_SEND" -b "$addr" "$@" \
	    "127.0.0.1:$PORT" >"$T/bg.$addr.log" 2>&1 &
	BG_PID=$!
}

wait_bg() {	# PID WANT-RC ADDR
	local rc=0

	wait "$1" || rc=$?
	if [ "$rc" != "$2" ]; then
		cat "$T/bg.$3.log" >&2
		fail "netdump-send from $3 exited $rc, expected $2"
	fi
}

# Where the savecore layout puts a client's dumps (path "." by default).
client_dir() {	# ADDR [HERALD-PATH]
	local p=${2:-.}

	if [ "$p" = . ]; then
		echo "$DUMPDIR/$1"
	else
		echo "$DUMPDIR/$p/$1"
	fi
}

finish() {
	echo "PASS: $TEST_NAME: ${#PASSED[@]} checks"
}
