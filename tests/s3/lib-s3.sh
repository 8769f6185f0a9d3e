# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# Helpers for the s3 sink's tests: the real netdump-server and netdump-send
# over UDP on loopback, and a real S3 (radosgw) that rgw.sh started for the
# whole set (ctest fixture "rgw"). Built on tests/integration/lib.sh,
# which it sources: a test sets NET before sourcing this file and its
# clients use 127.0.NET.x, claimed with the same locks, so these tests and
# the integration tests never share a client network.
#
# Each test works in a bucket of its own. A test that stops or kills the
# store starts a gateway of its own on the shared cluster (gw_start), so
# the other tests go on undisturbed.
#
# Environment (set by ctest): ND_SERVER, ND_SEND, ND_SINK_DIR, ND_RGW_DIR.

set -euo pipefail

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

# lib.sh claims NET, makes $T, and gives the asserts, the server and the
# client; this file adds the store. S3 is slower than a disk: every bound
# wait is three times as long.
# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
WAIT_SCALE=$((WAIT_SCALE * 3))
SPOOL=$T/spool
mkdir -p "$DUMPDIR"
GATEWAYS=()
BUCKET=""

# The gateways this test started go too, then lib.sh's cleanup, which
# sees the test's exit status. Without errexit: "(exit 1)" would end the
# shell here, after a failure, and leave the server running.
_s3_cleanup() {
	local rc=$? name

	set +e
	for name in "${GATEWAYS[@]}"; do
		gw_stop "$name" KILL
	done
	(exit "$rc")
	_nd_cleanup
}
trap _s3_cleanup EXIT

# The key the N-th dump (from 1) of ADDR reported for its vmcore (or
# archive), from the server's closing line, without a pending note.
stored_key() {	# ADDR [N]
	grep -E "dump [0-9]+ from ${1//./\\.} (complete|incomplete): " "$SERVER_LOG" |
	    sed -n "${2:-1}p" | sed -E 's/.*stored by [0-9]+ of [0-9]+ sinks: s3:\/\/[^/]+\///; s/ \(upload pending.*//'
}

# ---------------------------------------------------------------- S3

free_tcp_port() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/free_tcp_port.py"
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

# Whether KEY is in BUCKET: 200 yes, 404 no; any other answer (or none)
# fails the test, so that an error never reads as "absent".
s3_exists() {	# BUCKET KEY [ENDPOINT]
	local code

	code=$(s3curl "${3:-$RGW_ENDPOINT}" "/$1/$2" -I -o /dev/null \
	    -w '%{http_code}' 2>/dev/null) || code="no answer ($code)"
	case $code in
	200) return 0 ;;
	404) return 1 ;;
	*) fail "HEAD s3://$1/$2: $code" ;;
	esac
}

# s3_wait BUCKET KEY [ENDPOINT]: the object comes, or fail. What the outbox
# sends once its dump ended (an object whose multipart upload began under
# a guessed name, a dump kept in the spool) is not there at the dump's end.
s3_wait() {
	poll 60 s3_exists "$@" || fail "s3://$1/$2 never came"
}

# The <Key>s of a listing, one a line; a listing that fails gives a line
# that says so, which no expected list contains (these run in "$(...)",
# where fail would end only the subshell).
s3_list_keys() {	# ENDPOINT PATH
	local out

	if ! out=$(s3curl "$1" "$2" -f 2>&1); then
		echo "(cannot list $2: $out)"
		return 0
	fi
	grep -o '<Key>[^<]*</Key>' <<<"$out" | sed 's/<Key>//; s/<\/Key>//' || true
}

# The keys in BUCKET, one a line.
s3_keys() {	# BUCKET [ENDPOINT]
	s3_list_keys "${2:-$RGW_ENDPOINT}" "/$1?list-type=2&max-keys=1000"
}

# The keys of the multipart uploads in progress in BUCKET, one a line.
s3_uploads() {	# BUCKET [ENDPOINT]
	s3_list_keys "${2:-$RGW_ENDPOINT}" "/$1?uploads="
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

# A store of this test's own, to stop or kill: a gateway NAME and a bucket
# on it. Sets EP and BUCKET.
store_own() {	# NAME BUCKET-PREFIX
	gw_start "$1"
	EP=$GW_ENDPOINT
	BUCKET=$2-$NET-$$
	s3_mkbucket "$BUCKET" "$EP"
}

# A store that is down when the dumps come: store_own, then the gateway
# stopped. gw_start NAME brings the store back on the same port.
store_down() {	# NAME BUCKET-PREFIX
	store_own "$1" "$2"
	gw_stop "$1"
	! curl -s -o /dev/null "$EP/" || fail "the gateway still answers"
}

# The sink options of the tests whose store is down: give up on it at
# once and look again every second or two, so the spool does the work.
SPOOL_RETRY_OPTIONS='part_size = 5M
retries = 1
connect_timeout = 2
retry_interval = 1
retry_max_interval = 2'

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
