#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# What operating it costs a dump: the same honest FreeBSD dumps to a
# server without and with metrics (scraped every second) and one webhook
# (a local HTTP receiver), alternately, N times each; the medians of the
# throughput and their ratio. Timings, not pass/fail.
#
#   tests/bench/ops.sh [--build DIR] [--size MiB] [--runs N]
set -euo pipefail

BUILD=./build
SIZE=512
RUNS=5
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	*) echo "usage: $0 [--build DIR] [--size MiB] [--runs N]" >&2; exit 2 ;;
	esac
	shift
done
SERVER=$BUILD/core/netdump-server
SEND=$BUILD/client/netdump-send
W=$(mktemp -d "${TMPDIR:-/tmp}/nd-bench-ops.XXXXXX")
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$W"' EXIT
HP=$((20000 + RANDOM % 5000))
MP=$((HP + 1))
python3 - "$HP" <<'PYEOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF
PIDS+=($!)

run() {	# plain|ops: prints MB/s of one dump
	local port=$((26000 + RANDOM % 4000)) t0 t1 pid scraper=""

	{
		echo "[server]"
		echo "dumpdir = $W/dumps"
		echo "sink_dir = $BUILD/sinks"
		echo "address = 127.0.0.1"
		echo "port = $port"
		echo "runtime_dir = $W"
		if [ "$1" = ops ]; then
			echo "metrics = 127.0.0.1:$MP"
			echo "[notify hook]"
			echo "url = http://127.0.0.1:$HP/hook"
			echo "events = complete incomplete refused new-signature"
			echo "hmac_key = k"
		fi
		echo "[sink local]"
		echo "module = file"
		echo "fsync = no"
		echo "[route default]"
		echo "path = *"
		echo "sink = local"
	} >"$W/server.ini"
	mkdir -p "$W/dumps"
	"$SERVER" -D -c "$W/server.ini" >"$W/server.log" 2>&1 &
	pid=$!
	sleep 0.5
	if [ "$1" = ops ]; then
		( while sleep 1; do python3 -c 'import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1]).read()' "$MP" 2>/dev/null; done ) &
		scraper=$!
	fi
	t0=$(date +%s%N)
	"$SEND" -q -b 127.0.0.1 -g "${SIZE}M" --panic "bench panic" "127.0.0.1:$port"
	until grep -qE 'dump [0-9]+ from .* (complete|incomplete):' "$W/server.log"; do
		sleep 0.02
	done
	t1=$(date +%s%N)
	[ -z "$scraper" ] || kill "$scraper" 2>/dev/null || true
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -rf "${W:?}/dumps"
	awk -v b=$((SIZE * 1048576)) -v ns=$((t1 - t0)) \
	    'BEGIN { printf "%.1f\n", b / (ns / 1e9) / 1e6 }'
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

: >"$W/plain"
: >"$W/ops"
for r in $(seq "$RUNS"); do
	for m in plain ops; do
		run "$m" >>"$W/$m"
		echo "run $r $m: $(tail -1 "$W/$m") MB/s"
	done
done
P=$(median <"$W/plain")
O=$(median <"$W/ops")
echo "${SIZE} MiB, $RUNS runs each (medians): plain $P MB/s, metrics + webhook $O MB/s"
awk -v p="$P" -v o="$O" 'BEGIN { printf "with/without: %.3fx\n", o / p }'
