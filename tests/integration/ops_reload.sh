#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# SIGHUP reloads the configuration: new dumps take the new routes, sinks
# and [server] keys; a dump in flight keeps the old ones; a bad file is
# refused and the old configuration stays. The daemon never exits on it.
# A sink whose section did not change goes on as it runs (its instance,
# threads and outbox: an upload under way is not cut), one whose options
# changed is made anew; the test-only flaky transform's count of writes
# refused, which is its instance's, shows which.
set -euo pipefail
NET=133
. "$(dirname "$0")/lib.sh"

C=$T/server.ini
write_conf() {	# ROUTE-SINK [more [server] lines...]
	local sink=$1

	shift
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		printf '%s\n' "$@"
		cat <<INI

[sink local]
module = file

[sink nd]
module = file
layout = netdumpd

[route default]
path = *
sink = $sink
INI
	} >"$C.new"
	mv "$C.new" "$C"
}

hup() {	# ERE of the line SIGHUP must log (the Nth such line)
	local n

	n=$(($(grep -cE -- "$1" "$SERVER_LOG" || true) + 1))
	kill -HUP "$SERVER_PID"
	wait_log "$1" 10 "$n"
	kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited on SIGHUP"
}

RELOADED="SIGHUP: configuration reloaded from $C \(1 routes, 2 sinks, [0-9]+ of them unchanged and kept as they run\)"
REFUSED="SIGHUP: the new configuration is refused, the old one stays: "

write_conf local
start_server -c "$C" --timeout 5
A=$(client_addr 1)
send_dump 0 "$A" -q -g 1M -s 331 -o "$T/sentA"
wait_manifest "$(client_dir "$A")" 0
assert_same_bytes "$(client_dir "$A")/vmcore.0" "$T/sentA"
pass "before the reload: route default stores with sink local (savecore: $A/vmcore.0)"

# A slow client (lossy, 200 ms per round: about 7 s for 1 MiB) is in
# flight across the reload.
B=$(client_addr 2)
send_bg "$B" -q -g 1M -s 332 -t 200 --loss 0.2 -o "$T/sentB"
bpid=$BG_PID
wait_log "dump [0-9]+ from ${B//./\\.}:20024 started" 10

write_conf nd
hup "$RELOADED"
pass "SIGHUP with a good file: '$(grep -m1 -oE 'SIGHUP: configuration reloaded.*' "$SERVER_LOG")'"

# New dumps take the new route: the netdumpd layout.
D=$(client_addr 3)
send_dump 0 "$D" -q -g 1M -s 333 -o "$T/sentD"
wait_manifest "$DUMPDIR" "$D.0"
assert_same_bytes "$DUMPDIR/vmcore.$D.0" "$T/sentD"
assert_no_file "$(client_dir "$D")"
M=$DUMPDIR/manifest.$D.0.json
assert_manifest "$M" complete "$T/sentD"
assert_eq "$(jget "$M" '.sinks[0].name')" nd "sink of a dump after the reload"
assert_no_log "dump [0-9]+ from ${B//./\\.} (complete|incomplete)" "the slow dump must still be in flight"
pass "the next dump uses the new sink (netdumpd layout: vmcore.$D.0) while $B is still sending"

# The dump in flight ends with the old configuration.
wait_bg "$bpid" 0 "$B"
wait_manifest "$(client_dir "$B")" 0
M=$(client_dir "$B")/manifest.0.json
assert_manifest "$M" complete "$T/sentB"
assert_eq "$(jget "$M" '.sinks[0].name')" local "sink of the dump in flight"
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sentB"
assert_no_file "$DUMPDIR/vmcore.$B.0"
reload_line=$(grep -nE "$RELOADED" "$SERVER_LOG" | head -1 | cut -d: -f1)
b_end=$(grep -nE "dump [0-9]+ from ${B//./\\.} complete" "$SERVER_LOG" | cut -d: -f1)
[ "$b_end" -gt "$reload_line" ] || fail "the slow dump ended (line $b_end) before the reload (line $reload_line)"
pass "the dump in flight across the reload completed with the old sink (savecore: $B/vmcore.0)"

# A bad file: unknown key. Refused; the last good configuration stays.
cp "$C" "$T/good.ini"
printf '[server]\nbogus_key = 1\n' >"$C"
hup "$REFUSED.*unknown key 'bogus_key'"
E=$(client_addr 4)
send_dump 0 "$E" -q -g 1M -s 334 -o "$T/sentE"
wait_manifest "$DUMPDIR" "$E.0"
assert_same_bytes "$DUMPDIR/vmcore.$E.0" "$T/sentE"
pass "SIGHUP with an unknown key: '$(grep -m1 -oE 'SIGHUP: the new configuration is refused.*' "$SERVER_LOG" | cut -c1-150)'; dumps still go to sink nd"

# A sink whose module does not exist: refused as well.
sed 's/^module = file$/module = nosuchmodule/' "$T/good.ini" >"$C"
hup "$REFUSED"
assert_eq "$(grep -cE "$REFUSED" "$SERVER_LOG")" 2 "refusals logged"
# A missing file.
rm -f "$C"
hup "$REFUSED"
F=$(client_addr 5)
send_dump 0 "$F" -q -g 1M -s 335 -o "$T/sentF"
wait_manifest "$DUMPDIR" "$F.0"
assert_same_bytes "$DUMPDIR/vmcore.$F.0" "$T/sentF"
pass "a missing module and a missing file are refused too; the server still serves with the last good configuration"

# [server] keys reload as well: deny a client.
write_conf nd "deny = $(client_addr 6)/32"
hup "$RELOADED"
G=$(client_addr 6)
send_dump 1 "$G" -q -g 1M -s 336 -t 100 -r 2
wait_log "client ${G//./\\.}: not allowed to dump" 5
pass "a [server] key (deny) takes effect on reload: $G is refused"

# [notify] sections added by a reload, with none at start: the webhooks'
# thread is not running, and the log says so (they used to be ignored
# without a word).
write_conf nd "deny = $(client_addr 6)/32"
printf '[notify ops]\nurl = http://127.0.0.1:9/hook\n' >>"$C"
hup "$RELOADED"
assert_log "SIGHUP: \\[notify\\] sections take effect only after a restart when there were none at start" \
    "the warning for [notify] added by a reload"
pass "[notify] added by a reload: the log says it takes a restart"

# A pid file and metrics added by a reload: opened at start, so the log
# says they take a restart, and the reload still happens.
write_conf nd "deny = $(client_addr 6)/32" "pidfile = $T/late.pid" "metrics = 127.0.0.1:$(free_port)"
hup "$RELOADED"
assert_log "SIGHUP: address, port, .*pidfile, daemon and metrics take effect only after a restart" \
    "the warning for a pid file and metrics added by a reload"
assert_no_file "$T/late.pid"
# The running configuration still has none: the same file read again
# says so again (the old reload took the new values in, unapplied, and
# the second SIGHUP said nothing).
n=$(grep -cE "SIGHUP: address, port, .*pidfile, daemon and metrics take effect only after a restart" "$SERVER_LOG")
hup "$RELOADED"
assert_eq "$(grep -cE "SIGHUP: address, port, .*pidfile, daemon and metrics take effect only after a restart" "$SERVER_LOG")" \
    $((n + 1)) "warnings after the same file read again"
assert_no_file "$T/late.pid"
pass "a pid file and metrics added by a reload: the log says they take a restart, at each reload"

# A burst of SIGHUPs: the server stays.
write_conf local
n=$(grep -cE -- "$RELOADED" "$SERVER_LOG")
for i in 1 2 3 4 5; do
	kill -HUP "$SERVER_PID"
done
# Signals that come together may merge: at least one reload.
wait_log "$RELOADED" 10 $((n + 1))
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited after a burst of SIGHUPs"
H=$(client_addr 7)
send_dump 0 "$H" -q -g 1M -s 337 -o "$T/sentH"
wait_manifest "$(client_dir "$H")" 0
assert_same_bytes "$(client_dir "$H")/vmcore.0" "$T/sentH"
pass "after a burst of SIGHUPs the server runs and stores with the reloaded route (sink local again)"

# An unchanged sink goes on as it ran; a changed one is made anew.
# flaky refuses the first write of its instance (failures = 1).
flaky_conf() {	# FAILURES [SINK-DIR [WORKER-NICE [DESTROY-MS]]]
	cat >"$C" <<INI
[server]
sink_dir = ${2:-$ND_SINK_DIR}
worker_nice = ${3:-19}

[sink local]
module = file

[sink fl]
module = flaky
failures = $1
destroy_ms = ${4:-0}

[route default]
path = *
sink = fl | local
INI
}
dump_status() {	# ADDR SEED: the status of its one dump's manifest
	send_dump 0 "$1" -q -g 1M -s "$2" -o "$T/sent.$2"
	wait_manifest "$(client_dir "$1")" 0
	jget "$(client_dir "$1")/manifest.0.json" .status
}
flaky_conf 1
hup "SIGHUP: configuration reloaded from $C \\(1 routes, 2 sinks, 1 of them unchanged and kept as they run\\)"
assert_eq "$(dump_status "$(client_addr 8)" 338)" incomplete "the first dump through the new flaky"
hup "SIGHUP: configuration reloaded from $C \\(1 routes, 2 sinks, 2 of them unchanged and kept as they run\\)"
assert_eq "$(dump_status "$(client_addr 9)" 339)" complete "the next dump, flaky kept across the reload"
pass "an unchanged sink is kept across a reload: its refusal was spent, the next dump is complete"
flaky_conf 2
hup "SIGHUP: configuration reloaded from $C \\(1 routes, 2 sinks, 1 of them unchanged and kept as they run\\)"
assert_eq "$(dump_status "$(client_addr 10)" 340)" incomplete "the first dump through flaky with failures = 2"
pass "a sink whose options changed is made anew: it refuses again"
# What of [server] reaches the sinks changed: none is kept. The modules
# from another folder (here the same files by another name), the pool
# threads a dump worker starts at another nice.
ln -s "$ND_SINK_DIR" "$T/sinks.again"
hup_fresh() {	# SEED SINK-DIR WORKER-NICE
	# The running flaky (failures = 2) has one refusal left: spent
	# first, so that only a new instance refuses the dump after.
	assert_eq "$(dump_status "$(client_addr $(($1 - 330)))" "$1")" incomplete \
	    "the second refusal of flaky with failures = 2"
	flaky_conf 2 "$2" "$3"
	hup "SIGHUP: configuration reloaded from $C \\(1 routes, 2 sinks, 0 of them unchanged and kept as they run\\)"
	assert_eq "$(dump_status "$(client_addr $(($1 - 329)))" "$(($1 + 1))")" incomplete \
	    "a dump after sink_dir = $2, worker_nice = $3"
}
hup_fresh 341 "$T/sinks.again" 19
hup_fresh 343 "$T/sinks.again" 10
pass "a reload that changes sink_dir or worker_nice makes every sink anew"

# A changed sink ends away from the receiving thread: an instance whose
# end takes 14 s (an outbox thread finishing a request to a slow store,
# a module joining its threads) holds back neither the reload nor the
# acks of a dump that comes meanwhile (a kernel gives up after 12 s
# without one: netdump_client.c, debugnet.c).
flaky_conf 0 "$T/sinks.again" 10 14000
hup "SIGHUP: configuration reloaded from $C \\(1 routes, 2 sinks, 1 of them unchanged and kept as they run\\)"
flaky_conf 0 "$T/sinks.again" 10 0
hup "SIGHUP: configuration reloaded from $C \\(1 routes, 2 sinks, 1 of them unchanged and kept as they run\\)"
assert_eq "$(dump_status "$(client_addr 20)" 350)" complete \
    "a dump while the old instance ends"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited"
pass "an old sink that takes 14 s to end delays neither the reload nor a dump"

stop_server
finish
