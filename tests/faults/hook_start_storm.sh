#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A storm of netdump-start hooks: 600 addresses (127.NET.b.c) each send a
# HERALD and nothing more, then 30 others a HERALD and one data message
# (and FINISHED), while netdump-start takes 25 s to run. A HERALD costs
# an attacker one datagram; each hook costs the server a process. A
# kernel's HERALD is followed by its data within a round trip
# (netdump_start in sys/netinet/netdump/netdump_client.c sends the
# HERALD, then netdump_dumper the first 64 KiB buffer), so netdump-start
# runs only once a dump has data, and at most max_hooks hooks (here 8)
# run at once, for all hooks and all clients; the rest are not started
# and counted ("hooks not started: max_hooks are running").
#
# Asserted: after the 600 HERALDs no netdump-start process ran at all
# (none seen by pgrep on its path, none recorded by the script, none
# logged); during the 30 dumps never more than 8 netdump-start processes
# at once, and exactly 8 ran; the log's counter line counts the other
# 22; every dump of the 30 was still stored; the server exits 0.
set -euo pipefail
NET=186
. "$(dirname "$0")/lib-faults.sh"

S=$T/scripts
mkdir -p "$S"
cat >"$S/netdump-start" <<'SH'
#!/bin/sh
echo "$NETDUMP_CLIENT" >>"$(dirname "$0")/../calls"
sleep 25
SH
chmod 0755 "$S/netdump-start"
cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
scripts_dir = $S
timeout = 10
max_hooks = 8
max_concurrent_dumps = 32

[sink local]
module = file
fsync = no

[route default]
path = *
sink = local
INI
start_server -c "$T/server.ini"

TICK=$(getconf CLK_TCK)
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}
vm_hwm() {
	awk '/^VmHWM/ { print $2 " " $3 }' "/proc/$SERVER_PID/status"
}
nhooks() {
	{ pgrep -f -- "$S/netdump-start" || true; } | wc -l
}

# storm OUT ARGS...: ndfault.py heralds ARGS in the background, output in
# OUT.json and OUT.log; max gets the most netdump-start processes seen at
# once, while it runs and for a second after.
storm() {
	local out=$1 pid rc=0 until

	shift
	timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" heralds \
	    "$PORT" "$NET" "$@" >"$out.json" 2>"$out.log" &
	pid=$!
	max=0
	until=""
	while [ -z "$until" ] || [ "$SECONDS" -le "$until" ]; do
		n=$(nhooks)
		[ "$n" -le "$max" ] || max=$n
		sleep 0.05
		if [ -z "$until" ] && ! kill -0 "$pid" 2>/dev/null; then
			until=$((SECONDS + 1))
		fi
	done
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || { cat "$out.log" >&2; fail "ndfault.py heralds $* exited $rc"; }
}

# ---------------------------------------------------------------- HERALDs only
cpu0=$(cpu_ticks)
storm "$T/heralds" 600 --gap 0.005
cpu1=$(cpu_ticks)
echo "note: 600 HERALDs: $(cat "$T/heralds.json"); server CPU $((cpu1 - cpu0)) ticks ($TICK/s), VmHWM $(vm_hwm)"
answered=$(jq .answered "$T/heralds.json")
[ "$answered" -ge 256 ] || fail "only $answered of 600 HERALDs were answered"
assert_eq "$max" 0 "netdump-start processes seen after HERALDs with no data"
assert_no_file "$T/calls"
assert_no_log "netdump-start .* started" "a netdump-start run for a HERALD alone"
pass "600 HERALDs with no data ($answered answered): no netdump-start ran"

# ---------------------------------------------------------------- first data
storm "$T/data" 30 --first 600 --gap 0.02 --data --finished
echo "note: 30 dumps: $(cat "$T/data.json"); server CPU in all $(cpu_ticks) ticks, VmHWM $(vm_hwm)"
assert_eq "$(jq .data_acked "$T/data.json")" 30 "dumps whose data was acked"
assert_eq "$max" 8 "most netdump-start processes at once (max_hooks = 8)"
assert_eq "$(wc -l <"$T/calls")" 8 "netdump-start runs"
assert_eq "$(grep -cE "netdump-start .* started" "$SERVER_LOG")" 8 "netdump-start runs logged"
# Counter lines, one per 10 s: wait for the one that brings the total
# to 22.
wait_log "[0-9]+ more hooks not started: max_hooks are running in the last 10 s \\(22 in all" 25
n=$(grep -oE "[0-9]+ more hooks not started: max_hooks are running" "$SERVER_LOG" |
    awk '{ s += $1 } END { print s }')
assert_eq "$n" 22 "hooks not started, in the counter line"
pass "30 dumps with data: netdump-start ran 8 times, never more than 8 at once; 'hooks not started: max_hooks are running' counts $n"

i=600
for _ in $(seq 30); do
	a="127.$NET.$((1 + i / 250)).$((1 + i % 250))"
	wait_manifest "$(client_dir "$a")" 0 20
	i=$((i + 1))
done
pass "every one of the 30 dumps was stored"

stop_server
[ "$(nhooks)" = 0 ] || fail "netdump-start processes left after the server exited: $(nhooks)"
pass "server exited 0 on SIGTERM, no netdump-start left"
finish
