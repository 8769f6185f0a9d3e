#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Refusals under a crowd. A client that netdump-crash vetoed is refused
# for 60 s, its retransmitted HERALDs too, without asking the hook again;
# a client that may not dump is logged once a minute. Both must hold for
# each of several clients at once (a flood of HERALDs from refused or
# disallowed addresses must neither re-run hooks nor flood the log).
# Both parts run; what fails is collected and fails the test at the end.
set -euo pipefail
NET=169
. "$(dirname "$0")/../integration/lib.sh"

S=$T/scripts
mkdir -p "$S"
cat >"$S/netdump-crash" <<SH
#!/bin/sh
echo x >>"$T/calls.\$NETDUMP_CLIENT"
exit 1
SH
chmod 0755 "$S/netdump-crash"
cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
scripts_dir = $S
INI
start_server -c "$T/server.ini"
BUGS=()

# 1. Three clients vetoed at once; each HERALDs 11 times (200 ms rounds).
for i in 1 2 3; do
	send_bg "$(client_addr $i)" -q -g 1M -s "49$i" -t 200 -r 10
	eval "P$i=\$BG_PID"
done
for i in 1 2 3; do
	eval "wait_bg \$P$i 1 $(client_addr $i)"
done
calls=""
for i in 1 2 3; do
	a=$(client_addr $i)
	n=$(wc -l <"$T/calls.$a" 2>/dev/null || echo 0)
	calls="$calls $a:$n"
done
assert_no_file "$DUMPDIR/$(client_addr 1)"
if [ "$calls" = " $(client_addr 1):1 $(client_addr 2):1 $(client_addr 3):1" ]; then
	pass "three clients vetoed at once: netdump-crash ran once for each"
else
	BUGS+=("netdump-crash ran$calls times: a vetoed client is to be refused for 60 s without asking the hook again; with several refused at once each refusal evicts the other (receiver.c refusal_slot picks slot 0 unless another slot has both an earlier 'until' and an earlier 'logged')")
	echo "BUG: ${BUGS[-1]}"
fi
stop_server

# 2. --secure, nobody allowed: two clients HERALD in turn, 10 times each.
start_server --secure
python3 - "$PORT" "$(client_addr 4)" "$(client_addr 5)" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
socks = []
for a in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 20024))
    socks.append(s)
for _ in range(10):
    for s in socks:
        s.sendto(struct.pack(">IIQII", 1, 1, 0, 0, 0), ("127.0.0.1", port))
    time.sleep(0.2)
PY
sleep 0.5
for i in 4 5; do
	a=$(client_addr $i)
	n=$(grep -c "client ${a//./\\.}: not allowed to dump" "$SERVER_LOG" || true)
	if [ "$n" -eq 1 ]; then
		pass "disallowed client $a, 10 HERALDs in turn with another: logged once"
	else
		BUGS+=("client $a: 'not allowed to dump' logged $n times for 10 HERALDs in 2 s (once a minute is the rule); two refused clients take turns in refusal slot 0 (receiver.c refusal_slot, log_allowed)")
		echo "BUG: ${BUGS[-1]}"
	fi
done
stop_server
pass "server exited 0 on SIGTERM"
[ "${#BUGS[@]}" -eq 0 ] || fail "${#BUGS[@]} defects: ${BUGS[*]}"
finish
