#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The Linux front-end against the FreeBSD one on the same machine: one
# server with linux_port, the same amount of memory sent by netdump-linux
# (Red Hat's protocol: the server pulls, 64 page requests out) and by
# netdump-send (netdump(4): the client pushes), alternately, N times each;
# medians of the throughput and of the server's CPU seconds per GB, and
# their ratios. Timings, not pass/fail: see docs/performance.md.
#
#   tests/bench/linux.sh [--build DIR] [--size MiB] [--runs N] [--loss P]
set -euo pipefail

BUILD=./build
SIZE=1024
RUNS=3
LOSS=0
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--loss) LOSS=$2; shift ;;
	*) echo "usage: $0 [--build DIR] [--size MiB] [--runs N] [--loss P]" >&2
	   exit 2 ;;
	esac
	shift
done
SERVER=$BUILD/core/netdump-server
LINUX=$BUILD/client/netdump-linux
SEND=$BUILD/client/netdump-send
for f in "$SERVER" "$LINUX" "$SEND"; do
	[ -x "$f" ] || { echo "$0: no $f: build first" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/nd-bench-linux.XXXXXX")
trap 'kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT
PORT=$((25000 + RANDOM % 4000))
LPORT=$((PORT + 1))
cat >"$W/server.ini" <<EOF
[server]
dumpdir = $W/dumps
sink_dir = $BUILD/sinks
address = 127.0.0.1
port = $PORT
linux_port = $LPORT
runtime_dir = $W
max_dump_size = 64G
[sink local]
module = file
fsync = no
[route default]
path = *
sink = local
EOF
mkdir -p "$W/dumps"
"$SERVER" -D -c "$W/server.ini" >"$W/server.log" 2>&1 &
PID=$!
sleep 1

cpu() {	# the server's user + system time, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$PID/stat"
}

one() {	# linux|freebsd: prints "MB/s CPU-s/GB"
	local c0 c1 t0 t1 rc=0

	c0=$(cpu)
	t0=$(date +%s%N)
	if [ "$1" = linux ]; then
		"$LINUX" -b 127.0.0.1:$((LPORT + 1)) -n $((SIZE * 256)) \
		    --zero 0 --loss "$LOSS" "127.0.0.1:$LPORT" || rc=$?
	else
		"$SEND" -q -b 127.0.0.1 -g "${SIZE}M" --loss "$LOSS" \
		    "127.0.0.1:$PORT" || rc=$?
	fi
	# Until the server has stored it (its last line for the dump).
	while [ "$(grep -cE 'dump [0-9]+ from .* (complete|incomplete):' \
	    "$W/server.log")" -lt "$N" ]; do
		sleep 0.05
	done
	t1=$(date +%s%N)
	c1=$(cpu)
	[ "$rc" = 0 ] || { echo "$0: $1 client exited $rc" >&2; exit 1; }
	rm -rf "${W:?}/dumps/"*
	awk -v b=$((SIZE * 1048576)) -v ns=$((t1 - t0)) -v c=$((c1 - c0)) \
	    -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f %.2f\n",
	    b / (ns / 1e9) / 1e6, c / hz / (b / 1e9) }'
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

N=0
: >"$W/linux"
: >"$W/freebsd"
for r in $(seq "$RUNS"); do
	for p in linux freebsd; do
		N=$((N + 1))
		one "$p" >>"$W/$p"
		echo "run $r $p: $(tail -1 "$W/$p")"
	done
done
LM=$(cut -d' ' -f1 "$W/linux" | median)
LC=$(cut -d' ' -f2 "$W/linux" | median)
FM=$(cut -d' ' -f1 "$W/freebsd" | median)
FC=$(cut -d' ' -f2 "$W/freebsd" | median)
printf 'size %s MiB, loss %s, %s runs each (medians)\n' "$SIZE" "$LOSS" "$RUNS"
printf '%-8s %10s %14s\n' front-end MB/s "CPU s/GB"
printf '%-8s %10s %14s\n' linux "$LM" "$LC" freebsd "$FM" "$FC"
awk -v a="$LM" -v b="$FM" -v c="$LC" -v d="$FC" 'BEGIN {
	printf "linux/freebsd: throughput %.2fx, CPU per GB %.2fx\n", a / b, c / d }'
