#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The benchmark: netdump-server against a minimal receiver (ndsink-min) on
# the same load from ndload, run alternately, N times each; medians and
# ratios. See docs/performance.md.
#
#   tests/bench/bench.sh [--quick] [--build DIR] [--out DIR] [--runs N]
#                        [--only SCENARIO,...] [--publish] [--compare TSV]
#                        [--replot] [--fsync] [--list] (--help for all)
#
# It builds nothing: build first (cmake --build build). Results go to
# OUT (default BUILD/bench): runs.tsv (every run), summary.tsv, summary.md,
# and, with gnuplot, performance-clients.png and performance-cpu.png;
# --quick writes quick.tsv (and appends to quick-history.tsv) instead.
# The exit status is 0 unless something crashed or failed to start: the
# numbers never fail the run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

usage() {
	cat <<'EOF'
usage: tests/bench/bench.sh [options]
  --quick            CI mode: 64 MiB loads, 1 and 8 clients, file sink
                     beside the baseline and the ack-only receiver, 5
                     alternations; writes OUT/quick.tsv
  --build DIR        the build tree (default ./build)
  --out DIR          where results go (default BUILD/bench)
  --runs N           alternations per scenario (default 5)
  --only LIST        only these scenarios (comma separated; see --list)
  --list             list the scenarios and exit
  --replot           run nothing: summarize, check and plot OUT's last runs
  --fsync            let the file sink fsync (default: fsync = no, as the
                     baseline does not fsync either)
  --publish          copy the PNG plots to docs/performance-*.png
  --compare TSV      print the ratios of an earlier summary/quick TSV beside
                     the new ones
  --workdir DIR      scratch space for the dumps (default: a new folder in
                     ${TMPDIR:-/tmp}); emptied after every run
  --base-addr A      first client address (default 127.0.60.1)
Environment: S3_ENDPOINT (+ S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY,
S3_REGION) adds an s3 row against that (radosgw) endpoint.
EOF
}

QUICK=0
BUILD=./build
OUT=""
RUNS=""
ONLY=""
PUBLISH=0
COMPARE=""
WORK=""
FSYNC=no
BASE_ADDR=127.0.60.1
LIST=0
REPLOT=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--build) BUILD=$2; shift ;;
	--out) OUT=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--list) LIST=1 ;;
	--replot) REPLOT=1 ;;
	--fsync) FSYNC=yes ;;
	--publish) PUBLISH=1 ;;
	--compare) COMPARE=$2; shift ;;
	--workdir) WORK=$2; shift ;;
	--base-addr) BASE_ADDR=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

# ------------------------------------------------------------ scenarios
#
# name clients size-per-client payload zero-ratio receivers runs-cap note
# Receivers: base (ndsink-min), null (ndsink-min --no-write: it only
# acks, the ceiling of the generator and the kernel's UDP path, so of any
# server here), file, zstd, archive, s3 (netdump-server with that chain),
# xxh128 (the file sink with [server] digest = xxh128 instead of SHA-256).
# payload is bytes per datagram, or PAYLOADxN for calls of N datagrams
# (default: 64 KiB per call, as the kernel's). runs-cap limits the
# alternations of a long scenario (0: no cap). The concurrency scenarios
# (c*) and mtu1500 all move 512 MiB in total, so their throughputs line
# up in the plot.
if [ "$QUICK" = 1 ]; then
	SCENARIOS=(
	"q1	1	64M	1448	0	base,file,null	0	1 client, MTU 1500"
	"q8	8	8M	1448	0	base,file,null	0	8 clients, MTU 1500"
	)
else
	SCENARIOS=(
	"mtu1500	1	512M	1448	0	base,file,xxh128,null	0	1 client, MTU 1500 (1448-byte payloads), no zero pages"
	"zero70	1	512M	1448	0.7	base,file,xxh128,null	0	1 client, MTU 1500, 70 % zero pages"
	"c8z70	8	64M	1448	0.7	base,file,xxh128,null	0	8 clients, MTU 1500, 70 % zero pages"
	"p4096	1	512M	4096	0	base,file,xxh128,null	0	1 client, 4 KiB payloads (16 a call), no zero pages"
	"p4096z70	1	512M	4096	0.7	base,file,xxh128,null	0	1 client, 4 KiB payloads (16 a call), 70 % zero pages"
	"p4096c8	8	64M	4096	0.7	base,file,xxh128,null	0	8 clients, 4 KiB payloads (16 a call), 70 % zero pages"
	"b64	1	512M	4096x64	0.7	base,file,xxh128,null	0	1 client, 4 KiB payloads in calls of 64 (256 KiB), 70 % zero pages"
	"mtu9000	1	512M	8948	0.7	base,file,xxh128,null	0	1 client, MTU 9000 (8948-byte payloads), 70 % zero pages"
	"zstd	1	512M	1448	0.7	base,file,zstd,null	0	the zstd | local chain, 1 client, MTU 1500, 70 % zero pages"
	"c4	4	128M	1448	0	base,file	0	4 clients, MTU 1500"
	"c8	8	64M	1448	0	base,file,xxh128,null	0	8 clients, MTU 1500, no zero pages"
	"c16	16	32M	1448	0	base,file	0	16 clients, MTU 1500"
	"c64	64	8M	1448	0	base,file,xxh128,null	0	64 clients, MTU 1500"
	"dump1g	1	1G	1448	0.7	base,file	3	a 1 GiB dump, 70 % zero pages"
	"dump8g	1	8G	1448	0.7	base,file	1	an 8 GiB dump, 70 % zero pages"
	"sinks	1	1G	1448	0.5	base,file,zstd,archive,s3	3	the sink chains on a 1 GiB memory-like image (50 % zero pages)"
	)
fi

if [ "$LIST" = 1 ]; then
	printf '%s\n' "${SCENARIOS[@]}" | awk -F'\t' '{ printf "%-8s %3s x %-5s payload %-5s zero %-4s %s\n", $1, $2, $3, $4, $5, $8 }'
	exit 0
fi

[ -n "$RUNS" ] || RUNS=5
[ -n "$OUT" ] || OUT=$BUILD/bench

SERVER=$BUILD/core/netdump-server
NDLOAD=$BUILD/tests/bench/ndload
NDMIN=$BUILD/tests/bench/ndsink-min
SINK_DIR=$BUILD/sinks
for b in "$SERVER" "$NDLOAD" "$NDMIN"; do
	if [ ! -x "$b" ]; then
		echo "bench.sh: $b is missing: build first (cmake --build $BUILD)" >&2
		exit 2
	fi
done
[ -f "$SINK_DIR/file.so" ] || { echo "bench.sh: no $SINK_DIR/file.so: build the sinks first" >&2; exit 2; }
BUILD=$(cd "$BUILD" && pwd)
SERVER=$BUILD/core/netdump-server
NDLOAD=$BUILD/tests/bench/ndload
NDMIN=$BUILD/tests/bench/ndsink-min
SINK_DIR=$BUILD/sinks
MEMWARM=$BUILD/tests/bench/memwarm
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# One benchmark at a time on this machine: the client addresses are fixed.
exec 9>>/tmp/netdump-bench.lock
if ! flock -w 1800 9; then
	echo "bench.sh: another benchmark holds /tmp/netdump-bench.lock" >&2
	exit 2
fi

if [ -z "$WORK" ]; then
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ndbench.XXXXXX")
	OWN_WORK=1
else
	mkdir -p "$WORK"
	OWN_WORK=0
fi
WORK=$(cd "$WORK" && pwd)
LOGS=$OUT/logs
mkdir -p "$LOGS"
RECV_PID=""
REPORTING=/sys/module/page_reporting/parameters/page_reporting_order
REPORTING_WAS=""	# the order to restore at exit (warm_memory)

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	# First: whatever fails below, the host gets its memory back.
	[ -z "$REPORTING_WAS" ] || echo "$REPORTING_WAS" 2>/dev/null >"$REPORTING" || true
	if [ -n "$RECV_PID" ] && kill -0 "$RECV_PID" 2>/dev/null; then
		kill -KILL "$RECV_PID" 2>/dev/null || true
		wait "$RECV_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK/dumps" "$WORK/spool"
	[ "$OWN_WORK" = 0 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() {
	echo "bench: $*" >&2
}

CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------------ receivers

free_port() {
	python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(33000, 39000)
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

# The configuration of a netdump-server receiver, on stdout.
server_conf() {	# RECEIVER
	printf '[server]\nsink_dir = %s\ntimeout = 30\n' "$SINK_DIR"
	[ "$1" != xxh128 ] || printf 'digest = xxh128\n'
	printf '\n'
	printf '[sink local]\nmodule = file\nfsync = %s\n\n' "$FSYNC"
	case $1 in
	file | xxh128) printf '[route default]\npath = *\nsink = local\n' ;;
	zstd)
		printf '[sink zstd]\nmodule = zstd\nlevel = 1\n\n'
		printf '[route default]\npath = *\nsink = zstd | local\n' ;;
	archive)
		printf '[sink archive]\nmodule = archive\n\n'
		printf '[route default]\npath = *\nsink = archive | local\n' ;;
	s3)
		printf '[sink bucket]\nmodule = s3\nendpoint = %s\nbucket = %s\n' \
		    "$S3_ENDPOINT" "${S3_BUCKET:-ndbench}"
		printf 'region = %s\npath_style = yes\nspool_dir = %s\n\n' \
		    "${S3_REGION:-us-east-1}" "$WORK/spool"
		printf '[route default]\npath = *\nsink = bucket\n' ;;
	esac
}

# Why a receiver cannot run here, or nothing.
receiver_unavailable() {	# RECEIVER
	case $1 in
	base | null | file | xxh128) ;;
	zstd | archive)
		[ -f "$SINK_DIR/$1.so" ] || echo "no $1 sink module in $SINK_DIR (not built yet)" ;;
	s3)
		if [ -z "${S3_ENDPOINT:-}" ]; then
			echo "S3_ENDPOINT is not set (no radosgw fixture running)"
		elif [ ! -f "$SINK_DIR/s3.so" ]; then
			echo "no s3 sink module in $SINK_DIR"
		elif ! curl -s -o /dev/null --max-time 5 "$S3_ENDPOINT/"; then
			echo "$S3_ENDPOINT does not answer"
		fi ;;
	esac
}

s3_prepare() {
	export AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY:-${AWS_ACCESS_KEY_ID:-}}
	export AWS_SECRET_ACCESS_KEY=${S3_SECRET_KEY:-${AWS_SECRET_ACCESS_KEY:-}}
	# Create the bucket; an existing one is fine.
	curl -sS --max-time 30 --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" \
	    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
	    -X PUT "$S3_ENDPOINT/${S3_BUCKET:-ndbench}" -o /dev/null || true
}

_recv_ready() {	# LOG
	grep -q "listening on" "$1" 2>/dev/null
}

# Start a receiver on a free port: sets RECV_PID, PORT, RECV_LOG.
start_receiver() {	# RECEIVER LOG
	local recv=$1

	RECV_LOG=$2
	for _ in 1 2 3 4 5; do
		PORT=$(free_port)
		if [ "$recv" = base ]; then
			"$NDMIN" -a 127.0.0.1 -p "$PORT" -d "$WORK/dumps" \
			    >"$RECV_LOG" 2>&1 &
		elif [ "$recv" = null ]; then
			"$NDMIN" -a 127.0.0.1 -p "$PORT" -d "$WORK/dumps" \
			    --no-write >"$RECV_LOG" 2>&1 &
		else
			server_conf "$recv" >"$WORK/server.conf"
			"$SERVER" -D -d "$WORK/dumps" -a 127.0.0.1 --port "$PORT" \
			    --concurrent 256 -c "$WORK/server.conf" \
			    >"$RECV_LOG" 2>&1 &
		fi
		RECV_PID=$!
		for _ in $(seq 1 500); do
			_recv_ready "$RECV_LOG" && return 0
			kill -0 "$RECV_PID" 2>/dev/null || break
			sleep 0.02
		done
		kill -KILL "$RECV_PID" 2>/dev/null || true
		wait "$RECV_PID" 2>/dev/null || true
		RECV_PID=""
		grep -qiE "cannot bind|address already in use" "$RECV_LOG" && continue
		note "the $recv receiver did not start; its log:"
		cat "$RECV_LOG" >&2
		exit 1
	done
	note "no free port after 5 tries"
	exit 1
}

nthreads() {	# PID
	find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# CPU seconds (user + system, every thread) of a live process.
cpu_seconds() {	# PID
	awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' \
	    "/proc/$1/stat"
}

# CPU seconds of a process's main thread alone: the receive path (the
# datagrams, the acks, the assembler). Dump workers, pools and the other
# threads of netdump-server are the rest of cpu_seconds.
main_thread_cpu_seconds() {	# PID
	awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' \
	    "/proc/$1/task/$1/stat"
}

rss_kib() {	# PID
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# The server is done when every dump has logged its end and the dump
# worker threads are gone (or, if a sink keeps threads, its CPU time has
# stood still for half a second).
wait_server_done() {	# CLIENTS BASE-THREADS SECONDS
	local n limit=$(($3 * 20)) cpu last="" still=0

	for _ in $(seq 1 "$limit"); do
		kill -0 "$RECV_PID" 2>/dev/null || return 1
		n=$(grep -cE "dump [0-9]+ from [0-9.]+ (complete|incomplete): " \
		    "$RECV_LOG" || true)
		if [ "$n" -ge "$1" ]; then
			[ "$(nthreads "$RECV_PID")" -gt "$2" ] || return 0
			cpu=$(cpu_seconds "$RECV_PID")
			if [ "$cpu" = "$last" ]; then
				still=$((still + 1))
				[ "$still" -lt 10 ] || return 0
			else
				still=0
			fi
			last=$cpu
		fi
		sleep 0.05
	done
	note "the server did not finish $1 dumps within $3 s"
	return 1
}

stop_receiver() {	# -> its exit status
	local rc=0

	kill -TERM "$RECV_PID" 2>/dev/null || true
	for _ in $(seq 1 600); do
		kill -0 "$RECV_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$RECV_PID" 2>/dev/null; then
		note "receiver $RECV_PID ignored SIGTERM for 30 s; killed"
		kill -KILL "$RECV_PID" 2>/dev/null || true
	fi
	wait "$RECV_PID" || rc=$?
	RECV_PID=""
	return "$rc"
}

kv() {	# KEY LINE
	local w

	for w in $2; do
		case $w in "$1"=*) echo "${w#*=}"; return ;; esac
	done
	echo ""
}

# ------------------------------------------------------------ one run

RUNS_TSV=$OUT/runs.tsv
[ "$QUICK" = 1 ] && RUNS_TSV=$OUT/quick-runs.tsv
SUMMARY=$OUT/summary.tsv
[ "$QUICK" = 1 ] && SUMMARY=$OUT/quick.tsv
MD=$OUT/summary.md
[ "$QUICK" = 1 ] && MD=$OUT/quick.md
CRASHED=0
SKIPPED=()

run_one() {	# SCENARIO RECEIVER RUN CLIENTS SIZE PAYLOAD ZERO
	local scen=$1 recv=$2 run=$3 k=$4 size=$5 payload=$6 zero=$7
	local log stats rc=0 base_threads cpu rss bytes out out_disk complete
	local status=ok gb cpg budget srv_rc=0 rcpu

	rm -rf "$WORK/dumps" "$WORK/spool"
	mkdir -p "$WORK/dumps"
	log=$LOGS/$scen.$recv.$run.log
	start_receiver "$recv" "$log"
	base_threads=$(nthreads "$RECV_PID")
	budget=$((120 + $(numfmt --from=iec "$size") * k / 5000000))
	local batch=()
	[[ "$payload" != *x* ]] ||
		batch=(--batch $((${payload%x*} * ${payload#*x})))
	stats=$(timeout -k 5 "$budget" "$NDLOAD" --server "127.0.0.1:$PORT" \
	    --base-addr "$BASE_ADDR" --clients "$k" --size "$size" \
	    --payload "${payload%x*}" "${batch[@]}" --zero "$zero" \
	    2>>"$log") || rc=$?
	if [ "$rc" -gt 1 ]; then
		note "ndload failed (exit $rc) in $scen/$recv run $run: $(tail -1 "$log")"
		stop_receiver || true
		CRASHED=1
		return 0
	fi
	if [ "$recv" != base ] && [ "$recv" != null ]; then
		wait_server_done "$k" "$base_threads" \
		    $((60 + $(numfmt --from=iec "$size") * k / 20000000)) ||
			status=unfinished
	fi
	if kill -0 "$RECV_PID" 2>/dev/null; then
		cpu=$(cpu_seconds "$RECV_PID")
		rcpu=$(main_thread_cpu_seconds "$RECV_PID")
		rss=$(rss_kib "$RECV_PID")
	else
		cpu=0 rcpu=0 rss=0 status=crashed
	fi
	out=$(du -sb --apparent-size "$WORK/dumps" | cut -f1)
	out_disk=$(($(du -sk "$WORK/dumps" | cut -f1) * 1024))
	if [ "$recv" = null ]; then
		complete=$(kv "done" "$stats")
	elif [ "$recv" = base ]; then
		complete=$(find "$WORK/dumps" -name '*.vmcore' -size "$(numfmt --from=iec "$size")c" | wc -l)
	else
		complete=$(grep -cE "dump [0-9]+ from [0-9.]+ complete: " "$log" || true)
	fi
	stop_receiver || srv_rc=$?
	if [ "$srv_rc" -ne 0 ]; then
		note "$recv exited $srv_rc after SIGTERM in $scen run $run (log: $log)"
		status=exit$srv_rc
		CRASHED=1
	fi
	[ "$status" != crashed ] || CRASHED=1
	rm -rf "$WORK/dumps" "$WORK/spool"
	sync
	bytes=$(kv bytes "$stats")
	gb=$(awk -v b="$bytes" 'BEGIN { printf "%.6f", b / 1e9 }')
	cpg=$(awk -v c="$cpu" -v g="$gb" 'BEGIN { printf "%.3f", (g > 0 ? c / g : 0) }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\t%s\n' \
	    "$scen" "$recv" "$run" "$k" "$size" "$payload" "$zero" \
	    "$(kv mbps "$stats")" "$(kv msgps "$stats")" "$(kv seconds "$stats")" \
	    "$bytes" "$(kv retransmits "$stats")" "$(kv timeouts "$stats")" \
	    "$(kv client_max_s "$stats")" "$(kv gen_cpu_s "$stats")" \
	    "$cpu" "$cpg" "$rss" "$out" "$out_disk" "$complete" "$k" "$status" \
	    "$rcpu" >>"$RUNS_TSV"
	printf '  %-8s %-8s run %s: %7s MB/s %7s msg/s  cpu %6s s/GB  rss %6s KiB  retx %s  timeouts %s  complete %s/%s%s\n' \
	    "$scen" "$recv" "$run" "$(kv mbps "$stats")" "$(kv msgps "$stats")" \
	    "$cpg" "$rss" "$(kv retransmits "$stats")" "$(kv timeouts "$stats")" \
	    "$complete" "$k" "$([ "$status" = ok ] || echo "  [$status]")"
}

# ------------------------------------------------------------ machine

machine_info() {
	local f="$OUT/machine.txt"

	{
		echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "commit: $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SRC" diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
		echo "cpu: $(lscpu | awk -F: '/^Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(nproc) online$(lscpu | awk -F: '/^Hypervisor vendor/ { gsub(/^ +/, "", $2); print ", " $2 " guest"; exit }')"
		echo "kernel: $(uname -sr)"
		echo "memory: $(free -g | awk '/^Mem:/ { print $2 " GiB" }')"
		echo "filesystem: $(df -T "$WORK" | awk 'NR == 2 { print $2 " on " $1 }') ($WORK)"
		echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
	} >"$f"
}

# A virtual machine's free page reporting (virtio-balloon) hands every
# free 2 MiB block back to the host a few seconds after it is freed, and
# the next write to it waits for the host again: on the bench machine, a
# 1 GiB pwrite took 2.4 s after 15 s idle, 0.23 s with reporting stopped.
# The bench deletes its outputs after every run, so every run would write
# into memory the host had taken back, and the receivers that write (the
# baseline, the server) would pay for the host where the ack-only one does
# not. As root, stop it for the bench (an order above the largest block,
# 11, where the kernel takes it; else the largest, 10, which leaves only
# 4 MiB blocks reported) and restore it at exit. Then write once to the
# machine's free memory (memwarm.c says why), except in the quick mode,
# which must stay quick, and except while reporting would undo it.
warm_memory() {
	local line was order

	if [ -e "$REPORTING" ]; then
		was=$(cat "$REPORTING")
		for order in 11 10 ""; do
			[ -n "$order" ] || break
			echo "$order" 2>/dev/null >"$REPORTING" && break
		done
		if [ -n "$order" ]; then
			REPORTING_WAS=$was
			line="free page reporting: order $order for the bench (was $was, restored at exit)"
		else
			line="free page reporting: on (order $was; not changed: that takes root): the receivers that write pay the host for memory it took back"
		fi
		echo "$line" | tee -a "$OUT/machine.txt" | sed 's/^/bench: /'
		[ "$order" = 11 ] || return 0
	fi
	[ "$QUICK" = 0 ] && [ -x "$MEMWARM" ] || return 0
	line=$("$MEMWARM") || return 0
	echo "memory warmed: $(numfmt --to=iec "$(kv warmed "$line")") in $(kv seconds "$line") s" |
	    tee -a "$OUT/machine.txt" | sed 's/^/bench: /'
}

run_all() {
	local line scen k size payload zero receivers cap desc runs need avail
	local r why n j run recvs s3_ready=0

	machine_info
	echo "bench: $(date -u '+%F %T') build $BUILD, $RUNS alternation(s), results in $OUT"
	sed 's/^/bench: /' "$OUT/machine.txt"
	warm_memory
	printf 'scenario\treceiver\trun\tclients\tsize\tpayload\tzero\tmbps\tmsgps\tseconds\tbytes\tretransmits\ttimeouts\tclient_max_s\tgen_cpu_s\tcpu_s\tcpu_s_per_gb\trss_kib\tout_bytes\tout_disk_bytes\tcomplete\tstatus\trecv_cpu_s\n' >"$RUNS_TSV"
	for line in "${SCENARIOS[@]}"; do
		IFS=$'\t' read -r scen k size payload zero receivers cap desc <<<"$line"
		if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$scen,"* ]]; then
			continue
		fi
		runs=$RUNS
		if [ "$cap" != 0 ] && [ "$runs" -gt "$cap" ]; then
			runs=$cap
		fi
		# Disk: the baseline writes every byte, zero pages too.
		need=$(($(numfmt --from=iec "$size") * k * 11 / 10 + (1 << 30)))
		avail=$(($(df -Pk "$WORK" | awk 'NR == 2 { print $4 }') * 1024))
		if [ "$avail" -lt "$need" ]; then
			SKIPPED+=("$scen: needs $(numfmt --to=iec "$need") free in $WORK, has $(numfmt --to=iec "$avail")")
			note "skipping $scen: not enough disk space"
			continue
		fi
		recvs=()
		for r in ${receivers//,/ }; do
			why=$(receiver_unavailable "$r")
			if [ -n "$why" ]; then
				SKIPPED+=("$scen/$r: $why")
				note "skipping $scen/$r: $why"
				continue
			fi
			if [ "$r" = s3 ] && [ "$s3_ready" = 0 ]; then
				s3_prepare
				s3_ready=1
			fi
			recvs+=("$r")
		done
		echo "bench: $scen: $desc; $k x $size, payload $payload, zero $zero; ${recvs[*]} x $runs"
		for run in $(seq 1 "$runs"); do
			# Alternate, and rotate who goes first.
			n=${#recvs[@]}
			for j in $(seq 0 $((n - 1))); do
				r=${recvs[$(((j + run - 1) % n))]}
				run_one "$scen" "$r" "$run" "$k" "$size" "$payload" "$zero"
			done
		done
	done
	echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
}

# ------------------------------------------------------------ summary

# The commit the runs measured (machine.txt has it).
run_commit() {
	local c

	c=$(awk '/^commit:/ { print $2; exit }' "$OUT/machine.txt" 2>/dev/null || true)
	[ -n "$c" ] || c=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')
	echo "$c"
}

# Medians per scenario and receiver; ratios against the baseline (and
# against the file sink, for the other sinks).
summarize() {
	awk -F'\t' -v OFS='\t' -v date="$(date -u -r "$RUNS_TSV" +%FT%TZ)" \
	    -v commit="$(run_commit)" '
	function median(s,    a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		if (n == 0)
			return 0
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	NR == 1 { next }
	{
		key = $1 SUBSEP $2
		if (!(key in n)) {
			order[++nkeys] = key
			if (!($1 in seen)) { seen[$1] = 1; scen[++nscen] = $1 }
		}
		n[key]++
		clients[key] = $4; size[key] = $5; payload[key] = $6; zero[key] = $7
		mbps[key] = mbps[key] " " $8
		msgps[key] = msgps[key] " " $9
		cpg[key] = cpg[key] " " $17
		if (($11 + 0) > 0 && $23 != "") rcpg[key] = rcpg[key] " " ($23 / ($11 / 1e9))
		if ($18 + 0 > rss[key] + 0) rss[key] = $18
		retx[key] += $12
		tmo[key] += $13
		outb[key] = outb[key] " " $19
		outd[key] = outd[key] " " $20
		split($21, c, "/"); comp[key] += c[1]; want[key] += c[2]
		if ($22 != "ok") bad[key]++
	}
	END {
		print "date", "commit", "scenario", "receiver", "runs", "clients", "size", "payload", "zero", "mbps", "msgps", "cpu_s_per_gb", "rss_kib", "retransmits", "timeouts", "out_bytes", "out_disk_bytes", "complete", "ratio_vs_base", "ratio_vs_file", "cpu_vs_file", "rss_vs_file", "out_vs_file", "ratio_vs_null", "recv_cpu_s_per_gb"
		for (i = 1; i <= nkeys; i++) {
			k = order[i]
			med[k] = median(mbps[k]); mcpu[k] = median(cpg[k])
			mout[k] = median(outd[k])
		}
		for (i = 1; i <= nkeys; i++) {
			k = order[i]; split(k, p, SUBSEP)
			b = p[1] SUBSEP "base"; f = p[1] SUBSEP "file"
			z = p[1] SUBSEP "null"
			rb = (b in med && med[b] > 0) ? sprintf("%.3f", med[k] / med[b]) : "-"
			rz = (z in med && med[z] > 0 && p[2] != "null") ? sprintf("%.3f", med[k] / med[z]) : "-"
			rf = rc = rr = ro = "-"
			if (p[2] != "base" && p[2] != "null" && p[2] != "file" && (f in med) && med[f] > 0) {
				rf = sprintf("%.3f", med[k] / med[f])
				if (mcpu[f] > 0) rc = sprintf("%.3f", mcpu[k] / mcpu[f])
				if (rss[f] > 0) rr = sprintf("%.3f", rss[k] / rss[f])
				if (mout[f] > 0) ro = sprintf("%.3f", mout[k] / mout[f])
			}
			print date, commit, p[1], p[2], n[k], clients[k], size[k], payload[k], zero[k], sprintf("%.1f", med[k]), sprintf("%.0f", median(msgps[k])), sprintf("%.3f", mcpu[k]), rss[k], retx[k], tmo[k], sprintf("%.0f", mout[k]), sprintf("%.0f", median(outd[k])), comp[k] "/" want[k] (bad[k] ? " (" bad[k] " bad runs)" : ""), rb, rf, rc, rr, ro, rz, (rcpg[k] == "" ? "-" : sprintf("%.3f", median(rcpg[k])))
		}
	}' "$RUNS_TSV" >"$SUMMARY"
	[ "$QUICK" = 0 ] || [ "$REPLOT" = 1 ] ||
		tail -n +2 "$SUMMARY" >>"$OUT/quick-history.tsv"

	# The markdown table.
	awk -F'\t' '
	NR == 1 { next }
	BEGIN {
		print "| scenario | receiver | clients × size | payload | zero | MB/s | msg/s | ratio vs baseline | ratio vs ack only | CPU s/GB | of it, main thread | peak RSS MiB | retransmits | timeouts | complete | vs file: MB/s, CPU, RSS, output |"
		print "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
	}
	{
		vf = ($20 == "-") ? "" : $20 ", " $21 ", " $22 ", " $23
		printf "| %s | %s | %s × %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %s | %s | %s |\n", $3, ($4 == "base" ? "baseline" : $4 == "null" ? "ack only" : $4), $6, $7, $8, $9, $10, $11, ($4 == "base" ? "1" : $19), ($24 == "" ? "-" : $24), $12, ($25 == "" ? "-" : $25), $13 / 1024, $14, $15, $18, vf
	}' "$SUMMARY" >"$MD"
}

if [ "$REPLOT" = 0 ]; then
	run_all
else
	[ -f "$RUNS_TSV" ] || { echo "bench.sh: no $RUNS_TSV to replot" >&2; exit 2; }
	[ ! -f "$OUT/skipped.txt" ] || mapfile -t SKIPPED <"$OUT/skipped.txt"
fi
summarize

echo
echo "bench: medians of $RUNS alternation(s) (ratio = receiver / baseline median MB/s)"
if command -v column >/dev/null; then
	column -t -s $'\t' <(cut -f3-4,6,8-9,10-15,18-25 "$SUMMARY") | sed 's/^/  /'
else
	cut -f3-4,6,8-9,10-15,18-25 "$SUMMARY" | sed 's/^/  /'
fi

# ------------------------------------------------------------ targets

# The performance targets, as information (never a failure).
field() {	# SCENARIO RECEIVER COLUMN
	awk -F'\t' -v s="$1" -v r="$2" -v c="$3" '$3 == s && $4 == r { print $c }' "$SUMMARY"
}
check() {	# TEXT VERDICT
	printf '  %-62s %s\n' "$1" "$2"
}
verdict() {	# AWK-CONDITION VALUE...
	if [ -z "$2" ] || [ "$2" = - ]; then
		echo "not measured"
	elif awk -v a="$2" -v b="${3:-0}" "BEGIN { exit !($1) }"; then
		echo "met ($2)"
	else
		echo "MISSED ($2)"
	fi
}
if [ "$QUICK" = 0 ]; then
	echo
	echo "bench: targets"
	check "file sink >= 0.95 x baseline at MTU 1500" "$(verdict 'a >= 0.95' "$(field mtu1500 file 19)")"
	check "file sink >= 0.95 x baseline at 4 KiB payloads" "$(verdict 'a >= 0.95' "$(field p4096 file 19)")"
	check "file sink faster than baseline, 70 % zero pages" "$(verdict 'a > 1' "$(field zero70 file 19)")"
	check "zstd chain (level 1) >= 0.8 x file sink" "$(verdict 'a >= 0.8' "$(field sinks zstd 20)")"
	for r in file xxh128; do
		for s in zero70 c8z70 p4096z70 p4096c8; do
			check "$r >= 0.85 x ack only, $s" "$(verdict 'a >= 0.85' "$(field $s $r 24)")"
		done
		for s in mtu1500 c8 p4096; do
			check "$r >= 0.75 x ack only, $s (no zero pages)" "$(verdict 'a >= 0.75' "$(field $s $r 24)")"
		done
	done
	check "xxh128 digest: CPU per GB below the SHA-256 file sink's, mtu1500" "$(verdict 'a < 1' "$(field mtu1500 xxh128 21)")"
	r=$(field c64 file 14); t=$(field c64 file 15)
	check "64 clients: no timeouts, no retransmits (server)" "$(verdict 'a == 0 && b == 0' "${t:-}" "${r:-}") [timeouts ${t:--}, retransmits ${r:--}]"
	for s in mtu1500 c8 c64 dump1g dump8g; do
		rss=$(field "$s" file 13)
		k=$(field "$s" file 6)
		[ -n "$rss" ] || continue
		check "peak RSS $s <= 16 MiB + 2 MiB x $k = $(((16 + 2 * k) * 1024)) KiB" \
		    "$(verdict 'a <= b' "$rss" $(((16 + 2 * k) * 1024))) KiB"
	done
	a=$(field dump1g file 13); b=$(field dump8g file 13)
	if [ -n "$a" ] && [ -n "$b" ]; then
		check "peak RSS 8 GiB dump within 1 MiB of the 1 GiB dump" \
		    "$(verdict 'a - b <= 1024 && b - a <= 1024' "$b" "$a") KiB vs $a KiB"
	fi
fi

if [ "${#SKIPPED[@]}" -gt 0 ]; then
	echo
	echo "bench: skipped:"
	printf '  %s\n' "${SKIPPED[@]}"
	printf '%s\n' "${SKIPPED[@]}" >"$OUT/skipped.txt"
else
	rm -f "$OUT/skipped.txt"
fi

if [ -n "$COMPARE" ]; then
	echo
	echo "bench: ratio vs baseline, $COMPARE -> now"
	awk -F'\t' '
	FNR == 1 { next }
	NR == FNR { old[$3 SUBSEP $4] = $19; next }
	$4 != "base" { k = $3 SUBSEP $4; printf "  %-8s %-8s %6s -> %6s\n", $3, $4, (k in old ? old[k] : "-"), $19 }
	' "$COMPARE" "$SUMMARY"
fi

# ------------------------------------------------------------ plots

plot() {
	local clients_dat=$OUT/clients.dat cpu_dat=$OUT/cpu.dat term cpu_from

	if ! command -v gnuplot >/dev/null; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			note "installing gnuplot-nox for the plots"
			apt-get install -y -q gnuplot-nox >/dev/null 2>&1 ||
			    { apt-get update -q >/dev/null 2>&1 &&
			    apt-get install -y -q gnuplot-nox >/dev/null 2>&1; } || true
		fi
		if ! command -v gnuplot >/dev/null; then
			note "no gnuplot (install gnuplot-nox): no plots"
			return 0
		fi
	fi
	# Throughput against clients: mtu1500 is the 1-client point.
	awk -F'\t' '
	NR == 1 { next }
	($3 == "mtu1500" || $3 ~ /^c[0-9]+$/ || $3 ~ /^q[0-9]+$/) { v[$6 + 0, $4] = $10; ks[$6 + 0] = 1 }
	END {
		n = 0
		for (k in ks) list[++n] = k + 0
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && list[j - 1] > list[j]; j--) { t = list[j]; list[j] = list[j - 1]; list[j - 1] = t }
		for (i = 1; i <= n; i++) {
			k = list[i]
			printf "%d %s %s %s\n", k, ((k, "base") in v) ? v[k, "base"] : "NaN", ((k, "file") in v) ? v[k, "file"] : "NaN", ((k, "null") in v) ? v[k, "null"] : "NaN"
		}
	}' "$SUMMARY" >"$clients_dat"
	# CPU per GB per sink: the sinks scenario, else the 1-client one.
	cpu_from=$(awk -F'\t' 'NR > 1 { s[$3] = 1 } END { r = ("sinks" in s) ? "sinks" : (("mtu1500" in s) ? "mtu1500" : "q1"); print r }' "$SUMMARY")
	awk -F'\t' '
	NR == 1 { next }
	{ c[$3, $4] = $12; if (!(($3, $4) in seen)) { seen[$3, $4] = 1; r[$3] = r[$3] " " $4 } }
	END {
		s = ("sinks" in r) ? "sinks" : (("mtu1500" in r) ? "mtu1500" : "q1")
		n = split(r[s], a, " ")
		for (i = 1; i <= n; i++)
			printf "\"%s\" %s\n", (a[i] == "base" ? "baseline" : a[i] == "null" ? "ack only" : a[i]), c[s, a[i]]
	}' "$SUMMARY" >"$cpu_dat"
	term="pngcairo size 800,500 font 'sans,10'"
	if ! gnuplot -e "set terminal pngcairo" -e "exit" >/dev/null 2>&1; then
		term="png size 800,500"
	fi
	rm -f "$OUT/performance-clients.png" "$OUT/performance-cpu.png"
	[ ! -s "$clients_dat" ] || gnuplot <<EOF || note "gnuplot failed (clients plot)"
set terminal $term
set output "$OUT/performance-clients.png"
set title "Throughput against concurrent clients (MTU 1500, 512 MiB in all, median)"
set xlabel "concurrent clients"
set ylabel "MB/s"
set logscale x 2
set xrange [0.8:80]
set key bottom right
set grid
set yrange [0:*]
plot "$clients_dat" using 1:2 with linespoints lw 2 pt 7 title "baseline (ndsink-min: ack + pwrite)", \
     "$clients_dat" using 1:3 with linespoints lw 2 pt 5 title "netdump-server, file sink", \
     "$clients_dat" using 1:4 with points pt 2 ps 1.5 lc rgb "#888888" title "ack only (ndsink-min --no-write)"
EOF
	[ ! -s "$cpu_dat" ] || gnuplot <<EOF || note "gnuplot failed (CPU plot)"
set terminal $term
set output "$OUT/performance-cpu.png"
set title "Receiver CPU seconds per GB received (scenario $cpu_from, median)"
set ylabel "CPU s / GB"
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
unset key
plot "$cpu_dat" using 2:xtic(1) lc rgb "#4477aa"
EOF
	for f in "$OUT"/performance-clients.png "$OUT"/performance-cpu.png; do
		[ -f "$f" ] || continue
		echo "bench: plot: $f"
		if [ "$PUBLISH" = 1 ]; then
			cp "$f" "$SRC/docs/"
			echo "bench: copied to $SRC/docs/$(basename "$f")"
		fi
	done
}
plot

echo "bench: runs: $RUNS_TSV"
echo "bench: summary: $SUMMARY, $MD"
if [ "$CRASHED" = 1 ]; then
	note "a receiver crashed, did not finish or failed to start: see $LOGS"
	exit 1
fi
exit 0
