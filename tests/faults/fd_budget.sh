#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A file-descriptor budget: the server runs with RLIMIT_NOFILE 1024 while
# a source loops over short sessions for 10 s, 250 a second (150 under a
# sanitizer) from 200 addresses (127.0.NET.10..209): a HERALD, one data
# message, a KDH that announces it and FINISHED from a new ephemeral
# port each time (a new session; the server answers the port a HERALD
# came from). Each
# session has its own socket on the server, and an ended one keeps it for
# grace (30 s) to answer a repeated FINISHED (a kernel resends FINISHED
# like any message: debugnet_send in sys/net/debugnet.c, 11 rounds about
# 1 s apart, then ETIMEDOUT), so 2500 sessions would need 2500
# descriptors. The server keeps the session sockets within
# RLIMIT_NOFILE - (64 + 16 * max_concurrent_dumps + 2 * max_hooks) and
# closes the oldest ended session's socket first when it needs one.
#
# Asserted: an honest netdump-send dump (16 MiB, 1 % loss) HERALDing
# 4 s into the loop is complete and byte-identical; the server never
# logs "cannot open a session socket" (nor EMFILE); its open descriptors
# stay below the limit; the log shows ended sessions closed early ("its
# ended session was closed early to free a file descriptor"); at least
# 80 % of the looping sessions were answered (the budget makes room, it
# does not refuse).
set -euo pipefail
NET=185
. "$(dirname "$0")/lib-faults.sh"

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 10

[sink local]
module = file
fsync = no

[route default]
path = *
sink = local
INI
ND_WRAPPER=(bash -c 'ulimit -n 1024; exec "$@"' nd-ulimit "${ND_WRAPPER[@]}")
start_server -c "$C"
grep -qE "^Max open files +1024 " "/proc/$SERVER_PID/limits" ||
	fail "the server does not run with 1024 descriptors: $(grep "open files" "/proc/$SERVER_PID/limits")"

TICK=$(getconf CLK_TCK)
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}
vm_hwm() {
	awk '/^VmHWM/ { print $2 " " $3 }' "/proc/$SERVER_PID/status"
}
nfds() {
	ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l
}

# 250 sessions a second (150 under a sanitizer: each is a dump stored).
RATE=250
[ "$WAIT_SCALE" = 1 ] || RATE=150
cpu0=$(cpu_ticks)
timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" session-loop "$PORT" \
    "$NET" 10 --rate "$RATE" --first 10 --naddr 200 >"$T/loop.json" 2>"$T/loop.log" &
LOOP=$!
maxfd=0
for _ in $(seq 40); do
	n=$(nfds)
	[ "$n" -le "$maxfd" ] || maxfd=$n
	sleep 0.1
done
H=$(client_addr 1)
send_bg "$H" -q -g 16M -s 1851 --loss 0.01 -t 100 -o "$T/sent.honest"
HPID=$BG_PID
while kill -0 "$LOOP" 2>/dev/null; do
	n=$(nfds)
	[ "$n" -le "$maxfd" ] || maxfd=$n
	sleep 0.1
done
rc=0
wait "$LOOP" || rc=$?
[ "$rc" = 0 ] || { cat "$T/loop.log" >&2; fail "ndfault.py session-loop exited $rc"; }
cpu1=$(cpu_ticks)
echo "note: loop: $(cat "$T/loop.json")"
echo "note: server CPU for the loop: $((cpu1 - cpu0)) ticks ($TICK/s), VmHWM $(vm_hwm), at most $maxfd descriptors open"

wait_bg "$HPID" 0 "$H"
HD=$(client_dir "$H")
wait_manifest "$HD" 0 30
wait_dumps "$H" 1 30
assert_manifest "$HD/manifest.0.json" complete "$T/sent.honest"
assert_same_bytes "$HD/vmcore.0" "$T/sent.honest"
pass "an honest 16 MiB dump during the session loop: complete, byte-identical"

assert_no_log "cannot open a session socket|no session socket could be opened" "descriptors ran out"
assert_no_log "Too many open files" "descriptors ran out"
[ "$maxfd" -lt 1000 ] || fail "the server had $maxfd descriptors open (limit 1024)"
sessions=$(jq .sessions "$T/loop.json")
answered=$(jq .answered "$T/loop.json")
# More sessions answered than the budget holds (672 sockets), nearly all
# of those that came: a budget that refused instead of reclaiming would
# answer fewer than 700. How many come in 10 s is the machine's speed
# (150 a second in slower builds, 100 a second on a loaded one), not
# what is asserted.
[ "$answered" -ge 700 ] ||
	fail "only $answered of $sessions looping sessions were answered (the budget holds 672)"
[ $((answered * 100)) -ge $((sessions * 80)) ] ||
	fail "only $answered of $sessions looping sessions were answered"
assert_log "dump [0-9]+ from 127\\.0\\.$NET\\.[0-9]+: its ended session was closed early to free a file descriptor" \
    "ended sessions' sockets reclaimed"
pass "$answered of $sessions short sessions answered under RLIMIT_NOFILE 1024, at most $maxfd descriptors open, ended sessions closed early, no 'cannot open a session socket'"

stop_server
pass "server exited 0 on SIGTERM"

# When nothing can be reclaimed (every session a HERALD younger than half
# a second), the HERALD past the budget is not answered, and said so;
# its kernel asks again a second later and gets in once one has aged.
# small_budget LIMIT INI N: at RLIMIT_NOFILE LIMIT, with INI, the budget
# is 46 sockets; dump N of the honest client after it is complete.
small_budget() {
	local limit=$1 ini=$2 n=$3

	ND_WRAPPER=(bash -c "ulimit -n $limit; exec \"\$@\"" nd-ulimit "${ND_WRAPPER[@]:4}")
	start_server -c "$ini"
	grep -qE "^Max open files +$limit " "/proc/$SERVER_PID/limits" ||
		fail "the server does not run with $limit descriptors"
	timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" heralds "$PORT" \
	    "$NET" 60 --first 400 --gap 0 >"$T/budget.json" 2>"$T/budget.log" ||
		{ cat "$T/budget.log" >&2; fail "ndfault.py heralds exited non-zero"; }
	wait_log "client 127\\.$NET\\.[0-9.]+: 46 session sockets are open, all the descriptor limit leaves \\(RLIMIT_NOFILE $limit\\); not answering" 5
	assert_no_log "cannot open a session socket|no session socket could be opened" "descriptors ran out at the small limit"
	assert_no_log "Too many open files" "descriptors ran out at the small limit"
	[ "$(nfds)" -lt "$limit" ] || fail "the server has $(nfds) descriptors open (limit $limit)"
	send_dump 0 "$H" -q -g 1M -s $((185 + n)) -o "$T/sent.small.$n"
	wait_manifest "$HD" "$n"
	assert_manifest "$HD/manifest.$n.json" complete "$T/sent.small.$n"
	pass "RLIMIT_NOFILE $limit, a budget of 46 sockets: '$(grep -m1 -oE "46 session sockets are open.*" "$SERVER_LOG")'; $(jq .answered "$T/budget.json") of 60 answered in the end; a dump after it complete"
	stop_server
}

# RLIMIT_NOFILE 128 - (64 + 16 x 1 dump + 2 x 1 hook) = 46 sockets.
printf '[server]\nsink_dir = %s\nmax_concurrent_dumps = 1\nmax_hooks = 1\n' \
    "$ND_SINK_DIR" >"$T/small.ini"
small_budget 128 "$T/small.ini" 1

# The Linux port's console logs (256 clients, a file open each) and the
# metrics' scrapes (64 at once) are kept back too: 448 - (82 + 256 + 64)
# = 46. The old budget left them nothing (366 sockets): a console flood
# and scrapes then took the descriptors dumps needed for their files.
printf 'linux_port = %s\nmetrics = 127.0.0.1:%s\n' "$(free_port)" "$(free_port)" \
    >>"$T/small.ini"
small_budget 448 "$T/small.ini" 2
finish
