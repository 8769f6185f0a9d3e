# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# Helpers for the s3 sink's tests: the real netdump-server and netdump-send
# over UDP on loopback, and a real S3 (radosgw) that rgw.sh started for the
# whole set (ctest fixture "rgw"). Adapted from tests/integration/lib.sh,
# whose conventions it follows: a test sets NET before sourcing this file
# and its clients use 127.0.NET.x; NET is claimed with the same locks, so
# these tests and the integration tests never share a client network.
#
# Each test works in a bucket of its own. A test that stops or kills the
# store starts a gateway of its own on the shared cluster (gw_start), so
# the other tests go on undisturbed.
#
# Environment (set by ctest): ND_SERVER, ND_SEND, ND_SINK_DIR, ND_RGW_DIR.

set -euo pipefail

: "${ND_SERVER:?ND_SERVER must name the netdump-server binary}"
: "${ND_SEND:?ND_SEND must name the netdump-send binary}"
: "${ND_SINK_DIR:?ND_SINK_DIR must name the sinks folder of the build tree}"
: "${ND_RGW_DIR:?ND_RGW_DIR must name the folder of the rgw fixture}"
: "${NET:?the test must set NET before sourcing lib-s3.sh}"

TEST_NAME=$(basename "$0" .sh)

if [ ! -f "$ND_RGW_DIR/env" ]; then
	if [ -f "$ND_RGW_DIR/skip" ]; then
		echo "SKIP ($TEST_NAME): $(cat "$ND_RGW_DIR/skip")"
	else
		echo "SKIP ($TEST_NAME): no radosgw (the s3.rgw_start fixture did not run)"
	fi
	exit 77
fi
# shellcheck source=/dev/null
. "$ND_RGW_DIR/env"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE

ND_LOCKDIR=/tmp/netdump-it-locks

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

# Claim NET, or the first free one of 130..254, as lib.sh does.
_nd_claim_net() {
	local n

	mkdir -p "$ND_LOCKDIR" 2>/dev/null || true
	chmod 1777 "$ND_LOCKDIR" 2>/dev/null || true
	for n in "$NET" $(seq 130 254); do
		exec {ND_NET_FD}>>"$ND_LOCKDIR/net.$n" || continue
		if flock -n "$ND_NET_FD" && _nd_net_unused "$n"; then
			NET=$n
			return 0
		fi
		exec {ND_NET_FD}>&-
	done
	echo "FAIL: no free client network 127.0.N.0/24 to claim" >&2
	exit 1
}
_nd_claim_net

T=$(mktemp -d "${TMPDIR:-/tmp}/nd-s3-$TEST_NAME.XXXXXX")
DUMPDIR=$T/dumps
SPOOL=$T/spool
mkdir -p "$DUMPDIR"
PORT=""
SERVER_PID=""
SERVER_LOG=""
SERVER_NO=0
SEND_NO=0
PASSED=()
GATEWAYS=()
BUCKET=""

WAIT_SCALE=1
# grep without -q: -q stops at the first match and ldd dies of SIGPIPE.
if ldd "$ND_SERVER" 2>/dev/null | grep 'lib[at]san' >/dev/null; then
	WAIT_SCALE=3
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

_s3_cleanup() {
	local rc=$? name

	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	for name in "${GATEWAYS[@]}"; do
		gw_stop "$name" KILL || true
	done
	if [ "$rc" -eq 0 ]; then
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
trap _s3_cleanup EXIT

fail() {
	echo "FAIL ($TEST_NAME): $*" >&2
	exit 1
}

pass() {
	PASSED+=("$*")
	echo "PASS: $*"
}

finish() {
	echo "PASS: $TEST_NAME: ${#PASSED[@]} checks"
}

client_addr() {
	echo "127.0.$NET.$1"
}

assert_eq() {	# ACTUAL EXPECTED WHAT
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

assert_match() {	# STRING ERE WHAT
	[[ $1 =~ $2 ]] || fail "$3: '$1' does not match /$2/"
}

size_of() {
	stat -c %s "$1"
}

sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}

assert_same_bytes() {	# GOT SENT
	[ -f "$1" ] || fail "missing $1"
	cmp -s "$1" "$2" ||
		fail "$1 ($(size_of "$1") bytes) differs from $2 ($(size_of "$2") bytes): $(cmp "$1" "$2" 2>&1 | head -1)"
}

# Poll CMD... every 100 ms for up to SECONDS (scaled); 0 when it succeeded.
poll() {	# SECONDS CMD...
	local limit=$(($1 * WAIT_SCALE * 10)) i=0

	shift
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -lt "$limit" ] || return 1
		sleep 0.1
	done
}

_log_count() {
	grep -cE -- "$1" "$SERVER_LOG" 2>/dev/null || true
}

_log_has_n() {
	[ "$(_log_count "$1")" -ge "$2" ]
}

wait_log() {	# ERE [SECONDS] [COUNT]
	poll "${2:-30}" _log_has_n "$1" "${3:-1}" ||
		fail "server log: no ${3:-1} line(s) matching /$1/ after ${2:-30}s (x$WAIT_SCALE)"
}

assert_log() {	# ERE WHAT
	grep -qE -- "$1" "$SERVER_LOG" || fail "server log: $2: no line matching /$1/"
}

assert_no_log() {	# ERE WHAT
	! grep -qE -- "$1" "$SERVER_LOG" ||
		fail "server log: $2: unexpected line: $(grep -E -- "$1" "$SERVER_LOG" | head -1)"
}

# Wait until COUNT dumps from ADDR have ended.
wait_dumps() {	# ADDR [COUNT] [SECONDS]
	wait_log "dump [0-9]+ from ${1//./\\.} (complete|incomplete): " \
	    "${3:-60}" "${2:-1}"
}

# The key the N-th dump (from 1) of ADDR reported for its vmcore (or
# archive), from the server's closing line, without a pending note.
stored_key() {	# ADDR [N]
	grep -E "dump [0-9]+ from ${1//./\\.} (complete|incomplete): " "$SERVER_LOG" |
	    sed -n "${2:-1}p" | sed -E 's/.*stored by [0-9]+ of [0-9]+ sinks: s3:\/\/[^/]+\///; s/ \(upload pending.*//'
}

# ---------------------------------------------------------------- S3

free_tcp_port() {
	python3 - <<'EOF'
import random, socket
for _ in range(500):
    p = random.randint(33000, 60000)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    raise SystemExit("no free TCP port")
EOF
}

# curl signed for the store: s3curl ENDPOINT PATH [curl options...]
s3curl() {
	local ep=$1 path=$2

	shift 2
	curl -sS --max-time 60 --aws-sigv4 "aws:amz:$RGW_REGION:s3" \
	    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
	    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$ep$path"
}

# A bucket of this test's own: s3_mkbucket NAME [ENDPOINT]
s3_mkbucket() {
	s3curl "${2:-$RGW_ENDPOINT}" "/$1" -f -X PUT >/dev/null ||
		fail "cannot create bucket $1"
}

# Download KEY of BUCKET to FILE; fails the test when it is not there.
s3_get() {	# BUCKET KEY FILE [ENDPOINT]
	s3curl "${4:-$RGW_ENDPOINT}" "/$1/$2" -f -o "$3" ||
		fail "cannot download s3://$1/$2"
}

s3_exists() {	# BUCKET KEY [ENDPOINT]
	s3curl "${3:-$RGW_ENDPOINT}" "/$1/$2" -f -I -o /dev/null 2>/dev/null
}

# The keys in BUCKET, one a line.
s3_keys() {	# BUCKET [ENDPOINT]
	s3curl "${2:-$RGW_ENDPOINT}" "/$1?list-type=2&max-keys=1000" -f |
	    grep -o '<Key>[^<]*</Key>' | sed 's/<Key>//; s/<\/Key>//' || true
}

# The keys of the multipart uploads in progress in BUCKET, one a line.
s3_uploads() {	# BUCKET [ENDPOINT]
	s3curl "${2:-$RGW_ENDPOINT}" "/$1?uploads=" -f |
	    grep -o '<Key>[^<]*</Key>' | sed 's/<Key>//; s/<\/Key>//' || true
}

# The ETag of KEY (a multipart object's ends in -<parts>).
s3_etag() {	# BUCKET KEY [ENDPOINT]
	s3curl "${3:-$RGW_ENDPOINT}" "/$1/$2" -f -I |
	    tr -d '\r' | sed -n 's/^[Ee][Tt]ag: *//p' | tr -d '"'
}

# A gateway of this test's own on the shared cluster: gw_start NAME sets
# GW_ENDPOINT. Started again with the same NAME, it keeps its port.
gw_start() {	# NAME
	local name=$1 port pidf=$RGW_DIR/run/client.rgw.$1.pid portf=$T/gw.$1.port

	if [ -f "$portf" ]; then
		port=$(cat "$portf")
	else
		port=$(free_tcp_port)
		echo "$port" >"$portf"
	fi
	mkdir -p "$RGW_DIR/rgw-$name"
	radosgw -c "$RGW_CONF" -n "client.rgw.$name" \
	    --rgw-frontends="beast endpoint=127.0.0.1:$port" \
	    --rgw-data="$RGW_DIR/rgw-$name" ||
		fail "radosgw client.rgw.$name did not start"
	GW_ENDPOINT=http://127.0.0.1:$port
	poll 30 curl -s -o /dev/null "$GW_ENDPOINT/" ||
		fail "radosgw client.rgw.$name does not answer on $port"
	[[ " ${GATEWAYS[*]} " == *" $name "* ]] || GATEWAYS+=("$name")
	[ -f "$pidf" ] || fail "no pid file $pidf"
}

_gw_gone() {	# PID
	! kill -0 "$1" 2>/dev/null
}

# Stop (TERM) or kill (KILL) a gateway of this test.
gw_stop() {	# NAME [SIGNAL]
	local pidf=$RGW_DIR/run/client.rgw.$1.pid pid

	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill "-${2:-TERM}" "$pid" 2>/dev/null || true
	poll 20 _gw_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidf"
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

# start_server [server options...] (a -c CONF among them, usually)
start_server() {
	local try rc

	[ -z "$SERVER_PID" ] || fail "start_server: a server is running already"
	for try in 1 2 3 4 5; do
		PORT=$(free_port)
		SERVER_NO=$((SERVER_NO + 1))
		SERVER_LOG=$T/server.$SERVER_NO.log
		"$ND_SERVER" -D -a 127.0.0.1 --port "$PORT" -d "$DUMPDIR" "$@" \
		    >"$SERVER_LOG" 2>&1 &
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
		if grep -q "cannot bind" "$SERVER_LOG"; then
			continue
		fi
		cat "$SERVER_LOG" >&2
		fail "netdump-server $* did not start (exit $rc)"
	done
	fail "netdump-server: no free port after 5 tries"
}

# SIGTERM the server; it must exit 0 with no sanitizer report.
stop_server() {
	local rc=0

	[ -n "$SERVER_PID" ] || fail "stop_server: no server running"
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	if ! poll 60 _server_gone; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=""
		fail "netdump-server did not exit within 60s of SIGTERM"
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

# send_dump WANT-RC ADDR [netdump-send options...]; output in $SEND_LOG,
# run time in $SEND_MS (milliseconds).
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
# $BG_PID, its output to $T/bg.<addr>.log. Collect it with wait_bg.
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

# A configuration with one s3 sink "bucket" on ENDPOINT/BUCKET, spooling
# in $SPOOL, routed as ROUTE ("bucket", "zstd | bucket", ...); more lines
# for the [sink bucket] section come on stdin, more sections in $EXTRA.
# The client timeout is $DUMP_TIMEOUT (10) seconds.
write_conf() {	# FILE ENDPOINT BUCKET ROUTE
	{
		printf '[server]\nsink_dir = %s\ntimeout = %s\n\n' \
		    "$ND_SINK_DIR" "${DUMP_TIMEOUT:-10}"
		printf '[sink bucket]\nmodule = s3\nendpoint = %s\nbucket = %s\n' "$2" "$3"
		printf 'region = %s\npath_style = yes\nspool_dir = %s\n' "$RGW_REGION" "$SPOOL"
		printf 'collector = %s\n' "c-$TEST_NAME"
		cat
		printf '\n%s\n' "${EXTRA:-}"
		printf '\n[route default]\npath = *\nsink = %s\n' "$4"
	} >"$1"
}

# Spool folders still there (pending dumps), one a line.
spool_folders() {
	[ -d "$SPOOL" ] || return 0
	find "$SPOOL" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'
}

_spool_empty() {
	[ -z "$(spool_folders)" ]
}
