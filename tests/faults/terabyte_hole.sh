#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A terabyte hole: with max_dump_size = 2T an attacker sends three
# datagrams, a HERALD, one byte of vmcore at offset 2^40 - 2 and
# FINISHED. Stored as it came, that is a 1 TiB sparse vmcore whose hash,
# holes and sink writes walk a terabyte of zeros. No kernel sends that:
# netdump_dumper (sys/netinet/netdump/netdump_client.c) fills a 64 KiB
# buffer and flushes it in offset order, and debugnet_send
# (sys/net/debugnet.c) sends at most 64 packets per call and waits for
# every ack of a call before the next, so what a kernel leaves missing
# below its highest byte is about one call.
#
# The server refuses (does not ack) data that would leave more than
# 16 MiB plus a quarter of what arrived missing below the highest byte.
# Asserted, through the file sink and through a "zstd | local" chain:
#   * the far byte is not acked; the manifest comes within a few seconds:
#     incomplete, refused_far_packets 1, 0 bytes received; the stored
#     vmcore holds nothing (no terabyte file, sparse or not); the log
#     says "dropped 1 data too far beyond what had arrived";
#   * the server's CPU time (utime + stime) grows by less than 1 s;
#   * a byte within the budget (offset 8 MiB, after nothing) is acked,
#     once the client has brought nothing before it for 3 s, and stored
#     at its offset: 8 MiB + 1 bytes, sparse, incomplete with the one gap
#     [0, 8 MiB);
#   * an honest dump (netdump-send, 8 MiB) beside it all is complete and
#     byte-identical.
set -euo pipefail
NET=180
. "$(dirname "$0")/lib-faults.sh"

command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 10
max_dump_size = 2T

[sink local]
module = file
fsync = no

[sink z]
module = zstd
level = 1

[route zstd]
client = 127.0.$NET.2/31
sink = z | local

[route default]
path = *
sink = local
INI
start_server -c "$C"

TICK=$(getconf CLK_TCK)
# The server's CPU time so far, in clock ticks (utime + stime).
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}
vm_hwm() {
	awk '/^VmHWM/ { print $2 " " $3 }' "/proc/$SERVER_PID/status"
}

FAR=$(((1 << 40) - 2))
NEAR=$((8 << 20))

# far I OFFSET [ROUNDS]: HERALD, one byte at OFFSET (sent ROUNDS times
# until acked, 1 by default), FINISHED from client I; the answer
# ({"acked": ...}) goes to $T/far.I.json.
far() {
	timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" far "$PORT" \
	    "$(client_addr "$1")" "$2" --rounds "${3:-1}" >"$T/far.$1.json" \
	    2>"$T/far.$1.log" ||
		{ cat "$T/far.$1.log" >&2; fail "ndfault.py far $2 from client $1 failed"; }
}

# The honest dump runs beside the attacks (1 % loss, 100 ms rounds: a
# few seconds long).
H=$(client_addr 5)
send_bg "$H" -q -g 8M -s 1801 --loss 0.01 -t 100 -o "$T/sent.honest"
HPID=$BG_PID

cpu0=$(cpu_ticks)
far 1 "$FAR"
far 2 "$FAR"
for i in 1 2; do
	a=$(client_addr $i)
	d=$(client_dir "$a")
	# A few seconds (its FINISHED follows a message refused, so it is
	# not numbered next: 5 s of grace); hashing a terabyte of zeros
	# would take an hour.
	wait_manifest "$d" 0 10
	wait_dumps "$a" 1 10
done
cpu1=$(cpu_ticks)
for i in 1 2; do
	assert_eq "$(jget "$T/far.$i.json" .acked)" false "ack of the byte at 2^40 - 2 (client $i)"
	a=$(client_addr $i)
	d=$(client_dir "$a")
	m=$d/manifest.0.json
	assert_manifest "$m" incomplete
	assert_eq "$(jget "$m" .refused_far_packets)" 1 "refused_far_packets (client $i)"
	assert_eq "$(jget "$m" .bytes_received)" 0 "bytes_received (client $i)"
	assert_eq "$(jget "$m" .coverage.received)" 0 "coverage.received (client $i)"
	assert_eq "$(mobject "$m" vmcore | jq -r '.size // 0')" 0 "vmcore size in the manifest (client $i)"
	assert_eq "$(jget "$m" .finished)" true "finished (client $i)"
	# Whatever file holds the vmcore: tiny, and empty once decompressed.
	for f in "$d"/vmcore.0*; do
		[ -e "$f" ] || continue
		sz=$(size_of "$f")
		[ "$sz" -lt 4096 ] || fail "$f is $sz bytes long (a terabyte hole was stored)"
		[ $(($(stat -c %b "$f") * $(stat -c %B "$f"))) -lt 65536 ] ||
			fail "$f uses $(du -h "$f" | cut -f1) on disk"
		case $f in
		*.zst*) assert_eq "$(zstd -dc "$f" | wc -c)" 0 "bytes in $f" ;;
		*) assert_eq "$sz" 0 "size of $f" ;;
		esac
	done
	assert_log "${a//./\\.}: dropped 1 data too far beyond what had arrived" \
	    "the refusal of the far byte (client $i)"
done
used=$((cpu1 - cpu0))
echo "note: server CPU for the two terabyte holes: $used ticks ($TICK/s), VmHWM $(vm_hwm)"
# A second of CPU (times WAIT_SCALE for a slow build) against the minutes
# a walk over the hole would take.
[ "$used" -lt $((TICK * WAIT_SCALE)) ] ||
	fail "the server used $used clock ticks ($TICK a second) of CPU for two 3-datagram dumps"
assert_eq "$(jget "$(client_dir "$(client_addr 2)")/manifest.0.json" '.sinks[0].name')" \
    "z | local" "chain of client 2"
pass "a byte at 2^40 - 2, file sink and zstd | local: not acked, incomplete in a few seconds, refused_far_packets 1, nothing stored, $used ticks of server CPU"

# Within the budget: one byte at 8 MiB, after nothing, is kept, once the
# client has brought nothing before it for 3 s (sent for up to 8 s).
far 3 "$NEAR" 40	# zstd | local
far 4 "$NEAR" 40	# file
python3 - "$T/expect.near" "$NEAR" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.truncate(int(sys.argv[2]))
    f.seek(int(sys.argv[2]))
    f.write(b"\x5a")
PY
for i in 3 4; do
	a=$(client_addr $i)
	d=$(client_dir "$a")
	wait_manifest "$d" 0 20
	wait_dumps "$a" 1 20
	m=$d/manifest.0.json
	assert_eq "$(jget "$T/far.$i.json" .acked)" true "ack of the byte at 8 MiB (client $i)"
	assert_manifest "$m" incomplete
	assert_eq "$(mobject "$m" vmcore | jq -r .size)" $((NEAR + 1)) "vmcore size (client $i)"
	# A digest, if one is claimed at all for bytes that never came, is
	# that of what is stored.
	sha=$(mobject "$m" vmcore | jq -r .sha256)
	[ "$sha" = null ] || assert_eq "$sha" "$(sha_of "$T/expect.near")" "vmcore sha256 (client $i)"
	assert_eq "$(jget "$m" .refused_far_packets)" 0 "refused_far_packets (client $i)"
	assert_eq "$(jget "$m" .bytes_received)" 1 "bytes_received (client $i)"
	assert_eq "$(jq -c .coverage.gaps "$m")" "[[0,$NEAR]]" "gaps (client $i)"
	if [ "$i" = 4 ]; then
		f=$d/vmcore.0.incomplete
		assert_same_bytes "$f" "$T/expect.near"
		[ $(($(stat -c %b "$f") * $(stat -c %B "$f"))) -lt $((1 << 20)) ] ||
			fail "$f is not sparse: $(du -h "$f" | cut -f1) on disk"
	else
		f=$(ls "$d"/vmcore.0*.zst* 2>/dev/null | head -1)
		[ -n "$f" ] || fail "no zstd vmcore in $d: $(ls -A "$d" | tr '\n' ' ')"
		zstd -qdc "$f" >"$T/near.$i" || fail "zstd -d $f"
		assert_same_bytes "$T/near.$i" "$T/expect.near"
	fi
done
pass "a byte at 8 MiB (within the budget): acked, stored at its offset (sparse; and through zstd), incomplete with the gap [0, 8 MiB)"

wait_bg "$HPID" 0 "$H"
HD=$(client_dir "$H")
wait_manifest "$HD" 0 30
wait_dumps "$H" 1 30
assert_manifest "$HD/manifest.0.json" complete "$T/sent.honest"
assert_same_bytes "$HD/vmcore.0" "$T/sent.honest"
assert_eq "$(jget "$HD/manifest.0.json" .refused_far_packets)" 0 "refused_far_packets of the honest dump"
pass "the honest dump beside the attacks: complete, byte-identical"

echo "note: server CPU in all: $(cpu_ticks) ticks, VmHWM $(vm_hwm)"
stop_server
pass "server exited 0 on SIGTERM"
finish
