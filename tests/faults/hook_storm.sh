#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A storm of hooks: 1000 clients HERALD within a few seconds, each answered
# by a netdump-crash run that vetoes it, so hooks start and exit all the
# time while the server reads HERALDs. The server must survive it, run the
# hook exactly once for each client, and exit cleanly (under ASan: no
# use-after-free of a finished hook's event tag). Its log stays short:
# 20 lines about these hooks in 10 s, the rest counted (anyone can send
# HERALDs; each once made three lines: started, exited, said no).
set -euo pipefail
NET=170
. "$(dirname "$0")/../integration/lib.sh"

S=$T/scripts
mkdir -p "$S"
cat >"$S/netdump-crash" <<'SH'
#!/bin/sh
echo "$NETDUMP_CLIENT" >>"$(dirname "$0")/../calls"
exit 1
SH
chmod 0755 "$S/netdump-crash"
# Each client sends one HERALD and never retries, so every hook must be
# let run: max_hooks (16 by default) is lifted here; the cap has a test
# of its own (faults.hook_start_storm).
cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
scripts_dir = $S
max_hooks = 1000
INI
start_server -c "$T/server.ini"

python3 - "$PORT" "$NET" <<'PY'
import socket, struct, sys, time
port, net = int(sys.argv[1]), int(sys.argv[2])
for i in range(1000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.%d.%d.%d" % (net, 1 + i // 200, 1 + i % 200), 20024))
    s.sendto(struct.pack(">IIQII", 1, 1, 0, 0, 0), ("127.0.0.1", port))
    s.close()
    time.sleep(0.002)
PY
_all_ran_or_dead() {
	[ "$(wc -l <"$T/calls" 2>/dev/null || echo 0)" -ge 1000 ] ||
	    ! kill -0 "$SERVER_PID" 2>/dev/null
}
poll 30 _all_ran_or_dead || true
kill -0 "$SERVER_PID" 2>/dev/null || {
	rc=0
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=""
	fail "the server died in the storm (exit $rc) after $(wc -l <"$T/calls") hook runs: $(grep -m1 -E 'ERROR: AddressSanitizer|runtime error' "$SERVER_LOG" || tail -1 "$SERVER_LOG")"
}
[ "$(wc -l <"$T/calls")" -ge 1000 ] ||
	fail "netdump-crash ran $(wc -l <"$T/calls") times for 1000 clients"
# Every line about these hooks, logged or counted: three for each.
_hook_lines() {
	local said quiet

	said=$(grep -cE "netdump-crash .* (started|exited with status 1)|netdump-crash said no" \
	    "$SERVER_LOG" || true)
	quiet=$(grep -oE "lines about hooks run for HERALDs not logged in the last [0-9]+ s \(20 a time are; [0-9]+ in all" \
	    "$SERVER_LOG" | tail -1 | grep -oE "[0-9]+ in all" | cut -d' ' -f1)
	echo $((said + ${quiet:-0}))
}
# Counted anew at every try of poll.
_all_hook_lines() { [ "$(_hook_lines)" -ge 3000 ]; }
poll 40 _all_hook_lines || true
assert_eq "$(_hook_lines)" 3000 "lines about the hooks, logged and counted"
said=$(grep -cE "netdump-crash .* (started|exited with status 1)|netdump-crash said no" "$SERVER_LOG")
assert_le "$said" 120 "lines about the hooks logged in full"
assert_lt "$(wc -l <"$SERVER_LOG")" 300 "lines in the server's log"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died in the storm"
assert_eq "$(sort -u "$T/calls" | wc -l)" 1000 "clients the hook ran for"
assert_eq "$(wc -l <"$T/calls")" 1000 "hook runs"
pass "1000 HERALDs in 3 s, 1000 vetoes by netdump-crash: the hook ran once for each, the server is up; $said lines about them in full, the rest counted ($(wc -l <"$SERVER_LOG") lines in the log)"
stop_server
pass "server exited 0 on SIGTERM, no sanitizer report"
finish
