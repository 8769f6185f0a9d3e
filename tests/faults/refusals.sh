#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Refusals under a crowd. A client that netdump-crash vetoed is refused
# for 60 s, its retransmitted HERALDs too, without asking the hook again;
# HERALDs from clients that may not dump are logged in full 5 times per
# 10 s, all clients together, and the rest counted in one line. Both must
# hold for several clients at once (a flood of HERALDs from refused or
# disallowed addresses must neither re-run hooks nor flood the log).
# Both parts run; what fails is collected and fails the test at the end.
# Then a refusal is of the HERALD's path too: one forged from a kernel's
# address and port with a path netdump-crash refuses leaves the kernel's
# own HERALD answered.
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
n=$(grep -c "not allowed to dump" "$SERVER_LOG" || true)
if [ "$n" -eq 5 ]; then
	pass "20 HERALDs from 2 disallowed clients in 2 s: 5 lines in full"
else
	BUGS+=("'not allowed to dump' logged $n times for 20 HERALDs in 2 s (5 per 10 s is the rule)")
	echo "BUG: ${BUGS[-1]}"
fi
if poll 12 _log_has_n "15 more HERALDs not answered: client not allowed" 1; then
	pass "the other 15 counted in one line"
else
	BUGS+=("no counter line for the 15 HERALDs not logged in full")
	echo "BUG: ${BUGS[-1]}"
fi
stop_server

# 3. A HERALD forged from a kernel's address and port (a raw socket) with
# a path netdump-crash refuses: the kernel's own HERALD, with its own
# path, is not the forged one's and must not be refused with it (it was,
# for 60 s: the kernel gave up).
cat >"$S/netdump-crash" <<SH
#!/bin/sh
echo "\$NETDUMP_PATH" >>"$T/paths.\$NETDUMP_CLIENT"
[ "\$NETDUMP_PATH" != evil ]
SH
start_server -c "$T/server.ini"
a=$(client_addr 6)
python3 "$(dirname "$0")/ndfault.py" spoof-herald "$PORT" "$a" 1 --path evil \
    >"$T/forge6.log" 2>&1 || fail "spoof-herald: $(cat "$T/forge6.log")"
wait_log "client ${a//./\\.}: netdump-crash said no" 10
send_dump 0 "$a" -q -g 1M -s 496 -o "$T/sent6"
wait_manifest "$(client_dir "$a")" 0
assert_same_bytes "$(client_dir "$a")/vmcore.0" "$T/sent6"
assert_eq "$(tr '\n' ' ' <"$T/paths.$a")" "evil . " "paths netdump-crash was asked about"
pass "a HERALD forged from the kernel's address and port with a path netdump-crash refuses: the kernel's own HERALD is answered, its dump identical"
stop_server
pass "server exited 0 on SIGTERM"
[ "${#BUGS[@]}" -eq 0 ] || fail "${#BUGS[@]} defects: ${BUGS[*]}"
finish
