#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Access control: allow, deny (checked first), secure = yes (nobody
# without 'allow') and --secure. A client that may not dump gets no
# answer, no hook runs for it, and the log says so once a minute.
set -euo pipefail
NET=131
. "$(dirname "$0")/lib.sh"

S=$T/scripts
mkdir -p "$S" "$T/calls"
cat >"$S/netdump-crash" <<EOF
#!/bin/sh
echo "\$*" >>"$T/calls/crash"
exit 0
EOF
chmod 0755 "$S/netdump-crash"

conf() {	# [server] lines...
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		echo "scripts_dir = $S"
		printf '%s\n' "$@"
	} >"$T/server.ini"
}

not_allowed_re() {	# ADDR
	echo "client ${1//./\\.}: not allowed to dump \(allow, deny, secure\); not answering"
}

crash_runs() {	# ADDR
	if [ -f "$T/calls/crash" ]; then
		grep -c "^$1 " "$T/calls/crash" || true
	else
		echo 0
	fi
}

# A client that may not dump: no ack, nothing stored, no hook.
refused_client() {	# ADDR SEED
	send_dump 1 "$1" -q -g 1M -s "$2" -t 100 -r 2
	wait_log "$(not_allowed_re "$1")" 5
	assert_no_file "$(client_dir "$1")"
	assert_no_log "dump [0-9]+ from ${1//./\\.}" "a refused client's dump must not start"
	assert_eq "$(crash_runs "$1")" 0 "netdump-crash runs for refused $1"
}

allowed_client() {	# ADDR SEED
	send_dump 0 "$1" -q -g 1M -s "$2" -o "$T/sent.$1"
	wait_manifest "$(client_dir "$1")" 0
	assert_manifest "$(client_dir "$1")/manifest.0.json" complete "$T/sent.$1"
	assert_no_log "$(not_allowed_re "$1")" "an allowed client"
}

A=$(client_addr 1)
B=$(client_addr 2)
C=$(client_addr 3)
D=$(client_addr 4)

# 1. allow = one address.
conf "allow = $A/32"
start_server -c "$T/server.ini"
allowed_client "$A" 311
assert_eq "$(crash_runs "$A")" 1 "netdump-crash runs for allowed $A"
pass "allow = $A/32: $A dumps (netdump-crash ran for it)"
refused_client "$B" 312
send_dump 1 "$B" -q -g 1M -s 312 -t 100 -r 2
send_dump 1 "$B" -q -g 1M -s 312 -t 100 -r 2
sleep 1.5	# past a tick of the server: nothing more is logged meanwhile
# Refusals are logged in full 5 times per reason per 10 s, all clients
# together, then counted in one line per interval.
assert_eq "$(grep -cE "$(not_allowed_re "$B")" "$SERVER_LOG")" 5 "'not allowed' lines for $B after 3 attempts"
assert_eq "$(grep -c "$B" "$SERVER_LOG")" 5 "log lines naming $B"
wait_log "more HERALDs not answered: client not allowed .* the last from ${B//./\\.}\\)" 12
pass "$B gets no ack (3 attempts, 9 HERALDs) and the log says '$(grep -m1 -oE 'client [0-9.]+: not allowed.*' "$SERVER_LOG")' 5 times, then counts the rest"
stop_server

# 2. deny overrides allow.
rm -rf "${DUMPDIR:?}" "$T/calls/crash"
conf "allow = 127.0.$NET.0/24" "deny = $C/32"
start_server -c "$T/server.ini"
refused_client "$C" 313
allowed_client "$D" 314
pass "allow = 127.0.$NET.0/24 with deny = $C/32: $C is refused, $D dumps"
stop_server

# 3. secure = yes without allow: nobody.
rm -rf "${DUMPDIR:?}" "$T/calls/crash"
conf "secure = yes"
start_server -c "$T/server.ini"
refused_client "$A" 315
refused_client "$D" 316
pass "secure = yes without allow: $A and $D are refused"
stop_server

# 4. --secure on the command line, with allow: as secure = yes.
rm -rf "${DUMPDIR:?}" "$T/calls/crash"
conf "allow = $A/32, $D/32"
start_server -c "$T/server.ini" --secure
allowed_client "$A" 317
allowed_client "$D" 318
refused_client "$B" 319
pass "--secure with allow = $A/32, $D/32: those two dump, $B is refused"
stop_server

# 5. --secure without allow: nobody; without --secure and allow: everyone.
rm -rf "${DUMPDIR:?}" "$T/calls/crash"
conf
start_server -c "$T/server.ini" --secure
refused_client "$A" 320
stop_server
rm -rf "${DUMPDIR:?}"
start_server -c "$T/server.ini"
allowed_client "$B" 321
pass "--secure without allow refuses $A; with neither, $B dumps"
stop_server
finish
