#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# s3-bench.sh: upload throughput of the s3 sink against radosgw on
# loopback, with the file sink as the baseline, in one run.
#
#   tests/bench/s3-bench.sh [-b BUILD-DIR] [-s SIZE] [-n RUNS] [-z RATIO]
#
# For each sink configuration the real daemon receives RUNS dumps of SIZE
# (netdump-send's memory-like image with RATIO zero pages) over UDP on
# loopback, and the script reports, as medians:
#
#   receive  SIZE / time until netdump-send got its last ack
#   stored   SIZE / time until the daemon logged the dump as stored (for
#            s3: every part sent and the upload completed)
#
# and, last, "spool upload": SIZE / time the background thread takes to
# upload one spooled dump left by an earlier run (one thread, parts one
# after the other): the s3 path without the UDP receive in front of it.
#
# S3 objects are dense: holes are uploaded as zeros, so the s3 sink moves
# SIZE bytes whatever RATIO is, while the file sink writes only the data.
# The cluster (rgw.sh, about 15 s to start) keeps objects in memory: keep
# SIZE x RUNS x 3 below 3 GiB.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
SIZE=256M
RUNS=3
RATIO=0.5

usage() {
	sed -n '4,24p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while getopts b:s:n:z:h opt; do
	case $opt in
	b) BUILD=$(cd "$OPTARG" && pwd) ;;
	s) SIZE=$OPTARG ;;
	n) RUNS=$OPTARG ;;
	z) RATIO=$OPTARG ;;
	*) usage ;;
	esac
done
SERVER=$BUILD/core/netdump-server
SEND=$BUILD/client/netdump-send
SINKS=$BUILD/sinks
for f in "$SERVER" "$SEND" "$SINKS/s3.so" "$SINKS/file.so"; do
	[ -e "$f" ] || { echo "s3-bench: $f is missing (build first, or -b)" >&2; exit 1; }
done
BYTES=$(python3 -c "
import sys
s = sys.argv[1]
m = {'k': 1 << 10, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
print(int(s[:-1]) * m[s[-1]] if s[-1] in m else int(s))" "$SIZE")

W=$(mktemp -d "${TMPDIR:-/tmp}/nd-s3-bench.XXXXXX")
SERVER_PID=""
CLIENT=127.0.250.1

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	bash "$ROOT/tests/s3/rgw.sh" stop "$W/rgw" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

now_ns() {
	date +%s%N
}

mbps() {	# BYTES NANOSECONDS
	python3 -c "import sys; print('%.1f' % (int(sys.argv[1]) / (int(sys.argv[2]) / 1e9) / 1e6))" "$1" "$2"
}

median() {
	tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

free_udp_port() {
	python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1])"
}

s3curl() {	# PATH [curl options...]
	local path=$1

	shift
	curl -sS --aws-sigv4 "aws:amz:$RGW_REGION:s3" \
	    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
	    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$RGW_ENDPOINT$path"
}

log_count() {	# FILE ERE
	grep -cE -- "$2" "$1" 2>/dev/null || true
}

wait_count() {	# FILE ERE N SECONDS
	local i

	for i in $(seq 1 $(($4 * 50))); do
		[ "$(log_count "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.02
	done
	echo "s3-bench: no $3 lines /$2/ in $1 after $4 s" >&2
	tail -20 "$1" >&2
	exit 1
}

start_server() {	# CONF LOG
	PORT=$(free_udp_port)
	"$SERVER" -D -a 127.0.0.1 --port "$PORT" -d "$W/dumps" -c "$1" \
	    >"$2" 2>&1 &
	SERVER_PID=$!
	wait_count "$2" "listening on" 1 30
}

stop_server() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || true
	SERVER_PID=""
}

conf() {	# FILE ROUTE [s3 options...]
	local file=$1 route=$2

	shift 2
	{
		printf '[server]\nsink_dir = %s\ntimeout = 10\n\n' "$SINKS"
		printf '[sink local]\nmodule = file\n\n'
		printf '[sink bucket]\nmodule = s3\nendpoint = %s\n' "$RGW_ENDPOINT"
		printf 'bucket = bench\npath_style = yes\nregion = %s\n' "$RGW_REGION"
		printf 'spool_dir = %s/spool\n' "$W"
		printf '%s\n' "$@"
		printf '\n[sink zstd]\nmodule = zstd\nlevel = 1\n'
		printf '\n[route default]\npath = *\nsink = %s\n' "$route"
	} >"$file"
}

# bench NAME ROUTE [s3 options...]: RUNS dumps, one table row.
bench() {
	local name=$1 route=$2 log=$W/$1.log run t0 t1 t2 rx="" st=""

	shift 2
	conf "$W/$name.ini" "$route" "$@"
	start_server "$W/$name.ini" "$log"
	for run in $(seq 1 "$RUNS"); do
		t0=$(now_ns)
		"$SEND" -q -b "$CLIENT" -g "$SIZE" -z "$RATIO" -s "$run" \
		    "127.0.0.1:$PORT"
		t1=$(now_ns)
		wait_count "$log" "dump [0-9]+ from .* complete: " "$run" 600
		t2=$(now_ns)
		rx="$rx $(mbps "$BYTES" $((t1 - t0)))"
		st="$st $(mbps "$BYTES" $((t2 - t0)))"
		rm -rf "${W:?}/dumps"/*
	done
	stop_server
	printf '%-34s %10s %10s\n' "$name" "$(echo $rx | median)" \
	    "$(echo $st | median)"
	# Room in the in-memory store for the next configuration.
	{ s3curl "/bench?list-type=2&max-keys=1000" |
	    grep -o '<Key>[^<]*</Key>' || true; } |
	    sed 's/<Key>//; s/<\/Key>//' | while read -r key; do
		s3curl "/bench/$key" -X DELETE >/dev/null
	done
}

echo "starting radosgw (single-node Ceph, memstore) on loopback..." >&2
rc=0
bash "$ROOT/tests/s3/rgw.sh" start "$W/rgw" >&2 || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "s3-bench: no radosgw: $(cat "$W/rgw/skip" 2>/dev/null || echo "rgw.sh failed")" >&2
	exit "$rc"
fi
# shellcheck source=/dev/null
. "$W/rgw/env"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
s3curl /bench -f -X PUT >/dev/null
mkdir -p "$W/dumps"

echo
echo "s3 sink bench: $RUNS dumps of $SIZE (zero ratio $RATIO) per row, medians;"
echo "radosgw $(radosgw --version 2>/dev/null | awk '{ print $3 }'), memstore OSD, loopback;"
echo "$(nproc) cores, $(uname -r)"
echo
printf '%-34s %10s %10s\n' "sink" "receive" "stored"
printf '%-34s %10s %10s\n' "" "MB/s" "MB/s"
bench "file (baseline)" local
bench "s3, 8M parts x 4 (default)" bucket
bench "s3, 16M parts x 8, 8 threads" bucket "part_size = 16M" \
    "max_inflight_parts = 8" "upload_threads = 8"
bench "s3, spool = no (memory parts)" bucket "spool = no"
if [ -e "$SINKS/zstd.so" ]; then
	bench "zstd | s3 (level 1)" "zstd | bucket"
fi

# The background upload of a spooled dump, on its own: a dump spooled
# while the store "refuses" (a wrong secret), then uploaded by a new
# server with the right one.
conf "$W/spool.ini" bucket "retry_interval = 3600"
export AWS_SECRET_ACCESS_KEY=wrong
start_server "$W/spool.ini" "$W/spool1.log"
"$SEND" -q -b "$CLIENT" -g "$SIZE" -z "$RATIO" -s 99 "127.0.0.1:$PORT"
wait_count "$W/spool1.log" "dump [0-9]+ from .* complete: " 1 600
stop_server
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
t0=$(now_ns)
start_server "$W/spool.ini" "$W/spool2.log"
wait_count "$W/spool2.log" "uploaded s3://bench/.*/vmcore " 1 600
t2=$(now_ns)
stop_server
# The background thread waits 1 s after start before it begins.
printf '%-34s %10s %10s\n' "spool upload (1 thread, 8M parts)" "-" \
    "$(mbps "$BYTES" $((t2 - t0 - 1000000000)))"
echo
echo "receive: until netdump-send's last ack; stored: until the daemon logged"
echo "the dump stored (s3: upload completed). S3 objects are dense: the s3 rows"
echo "upload all $SIZE, the file sink writes only the non-zero pages."
