#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Hook scripts and the handler: netdump-crash (at HERALD, may veto),
# netdump-start (beside the dump), netdump-reboot (after every dump, with
# the outcome in its environment) and netdumpd's handler (-i). Their argv,
# environment and working directory; a veto; hooks that are unfit to run;
# hooks that hang past hook_timeout.
set -euo pipefail
NET=128
. "$(dirname "$0")/lib.sh"

S=$T/scripts
CALLS=$T/calls
mkdir -p "$S" "$CALLS" "$DUMPDIR"
HT=$((2 + WAIT_SCALE))		# hook_timeout

# Each run of a hook leaves one file in $CALLS: argv (one per line), the
# working directory and the whole environment. Writing it last and renaming
# it makes a half-written record invisible.
# make_hook FILE STATUS [SHELL-LINES]: the lines run first (e.g. a hang).
make_hook() {
	local f=$1 rc=$2 extra=${3:-}

	cat >"$f.new" <<EOF
#!/bin/sh
$extra
n=\$(basename "\$0")
r=\$(mktemp "$CALLS/.rec.XXXXXX")
{
	echo "argc=\$#"
	for a in "\$@"; do echo "arg=\$a"; done
	echo "cwd=\$(pwd)"
	env | sort | sed 's/^/env:/'
} >"\$r"
mv "\$r" "$CALLS/\$n.\${NETDUMP_CLIENT:-none}.\$\$"
exit $rc
EOF
	chmod 0755 "$f.new"
	mv "$f.new" "$f"
}

# The records of HOOK for client ADDR, oldest first.
calls_of() {	# HOOK ADDR
	ls -tr "$CALLS/$1.$2".* 2>/dev/null || true
}

ncalls() {	# HOOK ADDR
	calls_of "$1" "$2" | grep -c . || true
}

_has_calls() {	# HOOK ADDR N
	[ "$(ncalls "$1" "$2")" -ge "$3" ]
}

wait_call() {	# HOOK ADDR [N] [SECONDS]
	poll "${4:-20}" _has_calls "$1" "$2" "${3:-1}" ||
		fail "$1 did not run ${3:-1} time(s) for $2 within ${4:-20} s (x$WAIT_SCALE): $(ls "$CALLS")"
}

# The last record of HOOK for ADDR.
last_call() {	# HOOK ADDR
	calls_of "$1" "$2" | tail -1
}

# argv of a record, blank-separated.
rec_args() {
	sed -n 's/^arg=//p' "$1" | paste -sd' '
}

rec_env() {	# RECORD NAME: the value, or "<unset>"
	local line

	line=$(grep -m1 "^env:$2=" "$1" || true)
	if [ -z "$line" ]; then
		echo "<unset>"
	else
		echo "${line#env:"$2"=}"
	fi
}

# A process is gone once it is dead or a zombie (whose reaping is up to
# whoever inherited it).
_pid_gone() {
	local st

	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

assert_pid_gone() {	# PID WHAT
	poll 5 _pid_gone "$1" || fail "$2 (pid $1) still runs"
}

cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
scripts_dir = $S
hook_timeout = $HT
INI

make_hook "$S/netdump-crash" 0
make_hook "$S/netdump-start" 0
make_hook "$S/netdump-reboot" 0
make_hook "$T/handler" 0
start_server -c "$T/server.ini" --timeout 2 -i "$T/handler"

# 1. A complete dump: crash, start, reboot and the handler, in that order.
A=$(client_addr 1)
DA=$(client_dir "$A")
send_dump 0 "$A" -q -g 1M -s 281 -H hook-host -o "$T/sentA"
wait_manifest "$DA" 0
wait_dumps "$A" 1
assert_manifest "$DA/manifest.0.json" complete "$T/sentA"
wait_call handler "$A"

c=$(last_call netdump-crash "$A")
assert_eq "$(ncalls netdump-crash "$A")" 1 "netdump-crash runs for $A"
assert_eq "$(sed -n 's/^argc=//p' "$c")" 2 "netdump-crash argc"
assert_eq "$(sed -n 1p <(sed -n 's/^arg=//p' "$c"))" "$A" "netdump-crash argv[1]"
assert_match "$(sed -n 2p <(sed -n 's/^arg=//p' "$c"))" "^$DUMPDIR(/\.)?$" "netdump-crash argv[2]"
assert_eq "$(rec_env "$c" NETDUMP_CLIENT)" "$A" "NETDUMP_CLIENT of netdump-crash"
assert_eq "$(sed -n 's/^cwd=//p' "$c")" "$DUMPDIR" "cwd of netdump-crash"
assert_log "netdump-crash $S/netdump-crash started \(pid [0-9]+\)" "crash started line"
assert_log "netdump-crash $S/netdump-crash exited with status 0" "crash exit line"
pass "netdump-crash ran once with argv '$(rec_args "$c")', NETDUMP_CLIENT=$A, cwd $DUMPDIR; status 0 let the dump in"

# Only PATH and NETDUMP_* are passed (sh itself adds PWD and the like).
leaked=$(grep '^env:' "$c" | sed 's/^env://; s/=.*//' |
    grep -vE '^(PATH|NETDUMP_[A-Z_]+|PWD|OLDPWD|SHLVL|_)$' | paste -sd' ' || true)
assert_eq "$leaked" "" "variables a hook may not inherit"
assert_eq "$(rec_env "$c" PATH)" "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "PATH of a hook"
pass "a hook's environment is PATH and NETDUMP_* only (ND_SERVER, HOME etc. are not passed)"

c=$(last_call netdump-start "$A")
assert_eq "$(ncalls netdump-start "$A")" 1 "netdump-start runs for $A"
assert_eq "$(rec_args "$c")" "$A" "netdump-start argv"
assert_eq "$(rec_env "$c" NETDUMP_CLIENT)" "$A" "NETDUMP_CLIENT of netdump-start"
pass "netdump-start ran with argv '$A'"

c=$(last_call netdump-reboot "$A")
assert_eq "$(ncalls netdump-reboot "$A")" 1 "netdump-reboot runs for $A"
assert_eq "$(rec_args "$c")" "$A $DA" "netdump-reboot argv"
assert_eq "$(sed -n 's/^cwd=//p' "$c")" "$DUMPDIR" "cwd of netdump-reboot"
assert_eq "$(rec_env "$c" NETDUMP_STATUS)" complete "NETDUMP_STATUS"
assert_eq "$(rec_env "$c" NETDUMP_REASON)" "" "NETDUMP_REASON of a complete dump"
assert_eq "$(rec_env "$c" NETDUMP_CLIENT)" "$A" "NETDUMP_CLIENT of netdump-reboot"
assert_eq "$(rec_env "$c" NETDUMP_VMCORE)" "$A/vmcore.0" "NETDUMP_VMCORE"
assert_eq "$(rec_env "$c" NETDUMP_MANIFEST)" "$A/manifest.0.json" "NETDUMP_MANIFEST"
assert_eq "$(rec_env "$c" NETDUMP_MSGBUF)" "<unset>" "NETDUMP_MSGBUF of a dump that is no minidump"
assert_match "$(rec_env "$c" NETDUMP_DUMP_ID)" '^[0-9]+$' "NETDUMP_DUMP_ID"
[ -f "$DUMPDIR/$(rec_env "$c" NETDUMP_VMCORE)" ] || fail "NETDUMP_VMCORE does not name a file relative to the working directory"
pass "netdump-reboot ran after the dump: argv '$A $DA', cwd = dumpdir, NETDUMP_STATUS=complete, NETDUMP_VMCORE=$A/vmcore.0, NETDUMP_MANIFEST=$A/manifest.0.json"

c=$(last_call handler "$A")
assert_eq "$(rec_args "$c")" "success $A hook-host $A/info.0 $A/vmcore.0" "handler argv of a complete dump"
assert_eq "$(sed -n 's/^cwd=//p' "$c")" "$DUMPDIR" "cwd of the handler"
pass "the handler (-i) ran as 'handler $(rec_args "$c")'"

# Order: crash before the dump starts, start beside it, reboot after it ends.
crash_line=$(grep -n "netdump-crash $S/netdump-crash exited" "$SERVER_LOG" | head -1 | cut -d: -f1)
start_line=$(grep -nE "dump [0-9]+ from ${A//./\\.}:20024 started" "$SERVER_LOG" | head -1 | cut -d: -f1)
end_line=$(grep -nE "dump [0-9]+ from ${A//./\\.} complete" "$SERVER_LOG" | head -1 | cut -d: -f1)
reboot_line=$(grep -n "netdump-reboot $S/netdump-reboot started" "$SERVER_LOG" | head -1 | cut -d: -f1)
handler_line=$(grep -n "handler $T/handler started" "$SERVER_LOG" | head -1 | cut -d: -f1)
[ "$crash_line" -lt "$start_line" ] || fail "netdump-crash ended (line $crash_line) after the dump started (line $start_line)"
[ "$end_line" -lt "$reboot_line" ] || fail "netdump-reboot started (line $reboot_line) before the dump ended (line $end_line)"
[ "$reboot_line" -lt "$handler_line" ] || fail "the handler (line $handler_line) ran before netdump-reboot (line $reboot_line)"
pass "log order: netdump-crash exits, the dump starts, the dump ends, netdump-reboot, the handler"

# 2. A client that dies: timeout after 2 s; the outcome reaches the hooks.
B=$(client_addr 2)
DB=$(client_dir "$B")
send_dump 3 "$B" -q -g 4M -s 282 --stop-after 1M
wait_manifest "$DB" 0 30
wait_call handler "$B" 1 30
c=$(last_call netdump-reboot "$B")
assert_eq "$(rec_env "$c" NETDUMP_STATUS)" incomplete "NETDUMP_STATUS of a dump whose client died"
assert_match "$(rec_env "$c" NETDUMP_REASON)" "timeout" "NETDUMP_REASON of a timed-out dump"
assert_eq "$(rec_env "$c" NETDUMP_VMCORE)" "$B/vmcore.0.incomplete" "NETDUMP_VMCORE of a timed-out dump"
assert_eq "$(rec_args "$c")" "$B $DB" "netdump-reboot argv of a timed-out dump"
c=$(last_call handler "$B")
assert_eq "$(rec_args "$c")" "timeout $B $B $B/info.0 $B/vmcore.0.incomplete" "handler argv of a timed-out dump"
pass "a dump that timed out: netdump-reboot sees NETDUMP_STATUS=incomplete ('$(rec_env "$c" NETDUMP_REASON)'), handler '$(rec_args "$c")'"

# 3. A finished dump without a KDH is an error for the handler.
C=$(client_addr 3)
DC=$(client_dir "$C")
send_dump 0 "$C" -q -g 1M -s 283 --no-kdh
wait_manifest "$DC" 0
wait_call handler "$C"
assert_manifest "$DC/manifest.0.json" incomplete
c=$(last_call handler "$C")
assert_eq "$(rec_args "$c")" "error $C $C $C/info.0 $C/vmcore.0.incomplete" "handler argv of a dump without KDH"
assert_eq "$(rec_env "$(last_call netdump-reboot "$C")" NETDUMP_STATUS)" incomplete "NETDUMP_STATUS without KDH"
pass "a finished dump without KDH: handler '$(rec_args "$c")'"

# handler_host N HOST WANT: client N sends a dump whose header names the
# host HOST (the sender's choice); the handler gets WANT as its HOST.
handler_host() {
	local a c

	a=$(client_addr "$1")
	send_dump 0 "$a" -q -g 1M -s $((272 + $1)) -H "$2"
	wait_call handler "$a"
	c=$(last_call handler "$a")
	assert_eq "$(rec_args "$c")" "success $a ${3//@/$a} $a/info.0 $a/vmcore.0" "handler argv of a host named $2"
	pass "a host named '$2': handler '$(rec_args "$c")'"
}

# 3b. A host name that starts with '-' reaches the handler as '_': no
# option for a handler that passes it on.
handler_host 12 --force _-force
# 3c. A host name of dots only would name the parent of a handler's
# "/archive/$HOST": the handler gets the address (@) instead.
handler_host 13 .. @

# 4. netdump-crash says no: no ack, nothing stored, and the client is
# refused for a while (the hook is not asked again).
make_hook "$S/netdump-crash" 1
D=$(client_addr 4)
send_dump 1 "$D" -q -g 1M -s 284 -t 100 -r 2
wait_log "client ${D//./\\.}: netdump-crash said no \(status 1\); refusing the dump" 10
assert_log "netdump-crash $S/netdump-crash exited with status 1" "crash exit line"
assert_no_file "$(client_dir "$D")"
assert_no_log "dump [0-9]+ from ${D//./\\.}" "a vetoed dump must not start"
assert_eq "$(ncalls netdump-start "$D")" 0 "netdump-start runs for a vetoed dump"
assert_eq "$(ncalls netdump-reboot "$D")" 0 "netdump-reboot runs for a vetoed dump"
send_dump 1 "$D" -q -g 1M -s 284 -t 100 -r 2
assert_eq "$(ncalls netdump-crash "$D")" 1 "netdump-crash runs for a refused client"
assert_no_file "$(client_dir "$D")"
pass "netdump-crash exit 1: the client got no ack (exit 1), no files, log 'netdump-crash said no'; a retry within 60 s is refused without asking the hook again"

# 5. Hooks unfit to run are skipped, and the dump goes on.
make_hook "$S/netdump-crash" 1	# would veto, if it ran
chmod 0775 "$S/netdump-crash"
make_hook "$S/netdump-start" 0
chmod 0644 "$S/netdump-start"
E=$(client_addr 5)
DE=$(client_dir "$E")
send_dump 0 "$E" -q -g 1M -s 285 -o "$T/sentE"
wait_manifest "$DE" 0
wait_call netdump-reboot "$E"
assert_manifest "$DE/manifest.0.json" complete "$T/sentE"
assert_log "netdump-crash $S/netdump-crash: writable by group or others; not run" "group-writable hook"
assert_log "netdump-start $S/netdump-start: not an executable file; not run" "non-executable hook"
assert_eq "$(ncalls netdump-crash "$E")" 0 "runs of a group-writable netdump-crash"
assert_eq "$(ncalls netdump-start "$E")" 0 "runs of a non-executable netdump-start"
pass "a group-writable netdump-crash and a non-executable netdump-start are not run (logged); the dump completes"

chmod 0757 "$S/netdump-crash"
F0=$(client_addr 6)
send_dump 0 "$F0" -q -g 1M -s 286
wait_manifest "$(client_dir "$F0")" 0
wait_log "netdump-crash $S/netdump-crash: writable by group or others; not run" 10 2
assert_eq "$(ncalls netdump-crash "$F0")" 0 "runs of an other-writable netdump-crash"
if [ "$(id -u)" = 0 ]; then
	chmod 0755 "$S/netdump-crash"
	chown 65534 "$S/netdump-crash"
	F1=$(client_addr 7)
	send_dump 0 "$F1" -q -g 1M -s 287
	wait_manifest "$(client_dir "$F1")" 0
	assert_log "netdump-crash $S/netdump-crash: owned by uid 65534, neither root nor us; not run" "foreign hook"
	assert_eq "$(ncalls netdump-crash "$F1")" 0 "runs of a netdump-crash owned by another user"
	pass "an other-writable hook and one owned by another user (uid 65534) are not run either"
else
	pass "an other-writable hook is not run (the foreign-owner case needs root)"
fi
rm -f "$S/netdump-crash"

# 6. netdump-crash hangs: killed after hook_timeout with what it started,
# and the dump is refused although the client keeps asking.
make_hook "$S/netdump-crash" 0 "echo \$\$ >$T/crash.pid; sleep 100 & echo \$! >$T/crash.child; wait"
G=$(client_addr 8)
t0=$(date +%s)
send_dump 1 "$G" -q -g 1M -s 288 -t 500 -r $((HT * 2 + 4))
t1=$(date +%s)
wait_log "netdump-crash $S/netdump-crash \(pid [0-9]+\) ran past hook_timeout; killed" 10
wait_log "client ${G//./\\.}: netdump-crash said no" 10
assert_no_file "$(client_dir "$G")"
assert_no_log "dump [0-9]+ from ${G//./\\.}" "a dump whose netdump-crash hung must not start"
for f in crash.pid crash.child; do
	assert_pid_gone "$(cat "$T/$f")" "the hung hook's process ($f)"
done
[ $((t1 - t0)) -gt "$HT" ] || fail "the client gave up after $((t1 - t0)) s, before hook_timeout ($HT s): the refusal is not shown"
pass "a netdump-crash that hangs is killed after hook_timeout ($HT s) with its child; the client heralded for $((t1 - t0)) s and got no ack"
rm -f "$S/netdump-crash"

# 7. netdump-reboot hangs for one client: the server goes on serving
# another, whose dump completes (and whose hook runs) meanwhile.
make_hook "$S/netdump-reboot" 0 "if [ \"\$NETDUMP_CLIENT\" = $(client_addr 9) ]; then echo \$\$ >$T/reboot.pid; sleep 100 & echo \$! >$T/reboot.child; wait; fi"
H=$(client_addr 9)
I=$(client_addr 10)
send_dump 0 "$H" -q -g 1M -s 289 -H host-h
wait_file "$T/reboot.child" 10
wait_file "$T/reboot.pid" 10
hp=$(cat "$T/reboot.pid")
send_dump 0 "$I" -q -g 4M -s 290 -o "$T/sentI"
wait_manifest "$(client_dir "$I")" 0
wait_call netdump-reboot "$I"
! _pid_gone "$hp" || fail "the hung netdump-reboot of $H ended before the dump of $I was done; hook_timeout too short to show anything"
assert_manifest "$(client_dir "$I")/manifest.0.json" complete "$T/sentI"
pass "while netdump-reboot of $H hangs, a dump from $I completes and its own netdump-reboot runs"
wait_log "netdump-reboot $S/netdump-reboot \(pid $hp\) ran past hook_timeout; killed" $((HT + 10))
assert_pid_gone "$hp" "the hung netdump-reboot"
assert_pid_gone "$(cat "$T/reboot.child")" "the child of the hung netdump-reboot"
wait_call handler "$H" 1 10
assert_eq "$(rec_args "$(last_call handler "$H")")" "success $H host-h $H/info.0 $H/vmcore.0" "handler after a killed netdump-reboot"
pass "the hung netdump-reboot is killed after hook_timeout with its child; the handler runs after it"

stop_server

# Relative paths (-d, scripts_dir, -i, the configuration file) are from
# the directory the server started in, where they were checked: a hook
# runs in the dump directory, and a relative path resolved there named
# another file (here decoys that record "decoy") than the one checked.
R=$T/rel
mkdir -p "$R/hooks" "$R/dumps/hooks"
make_hook "$R/hooks/netdump-crash" 0
make_hook "$R/handler" 0
printf '#!/bin/sh\ntouch %s/decoy\n' "$T" >"$R/dumps/hooks/netdump-crash"
cp "$R/dumps/hooks/netdump-crash" "$R/dumps/handler"
chmod 0755 "$R/dumps/hooks/netdump-crash" "$R/dumps/handler"
printf '[server]\nsink_dir = %s\nscripts_dir = hooks\n' "$ND_SINK_DIR" \
    >"$R/server.ini"
J=$(client_addr 11)
cd "$R"
start_server -c server.ini -d dumps -i handler --timeout 2
cd - >/dev/null
send_dump 0 "$J" -q -g 1M -s 291 -o "$T/sentJ"
wait_manifest "$R/dumps/$J" 0
wait_call netdump-crash "$J"
wait_call handler "$J"
assert_no_file "$T/decoy"
assert_manifest "$R/dumps/$J/manifest.0.json" complete "$T/sentJ"
kill -HUP "$SERVER_PID"
wait_log "SIGHUP: configuration reloaded from ${R//./\\.}/server\\.ini" 10
pass "relative -d, scripts_dir, -i and -c: the hooks checked are the hooks run, and SIGHUP reads the configuration again"
stop_server

# A file sink whose dir is absolute, outside the dump directory: DIR and
# NETDUMP_DIR are where the vmcore is, not the dump directory.
ABS=$T/elsewhere
mkdir -p "$ABS"
cat >"$T/abs.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
scripts_dir = $S

[sink local]
module = file
fsync = no
dir = $ABS

[route default]
path = *
sink = local
INI
start_server -c "$T/abs.ini" --timeout 2
K=$(client_addr 40)
send_dump 0 "$K" -q -g 1M -s 292 -o "$T/sentK"
wait_manifest "$ABS/$K" 0
wait_call netdump-reboot "$K"
c=$(last_call netdump-reboot "$K")
assert_eq "$(rec_args "$c")" "$K $ABS/$K" "netdump-reboot argv with an absolute dir"
assert_eq "$(rec_env "$c" NETDUMP_DIR)" "$ABS/$K" "NETDUMP_DIR with an absolute dir"
pass "file sink dir = $ABS: netdump-reboot's DIR and NETDUMP_DIR are where the vmcore went"
stop_server
finish
