#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A lost FINISHED ack: the kernel resends FINISHED after the server has
# closed the dump. The closed session must still ack it (grace period), so
# the client ends with exit 0 and the dump is complete. Half of all acks
# are lost; the runs repeat with other seeds until a FINISHED was resent.
# A HERALD from the client's address and port refused by a limit does not
# silence the ended dump's acks.
set -euo pipefail
NET=120
. "$(dirname "$0")/lib.sh"

start_server --timeout 20
A=$(client_addr 1)
D=$(client_dir "$A")

resent=0
for n in 0 1 2 3 4 5 6 7 8 9; do
	send_dump 0 "$A" -v -g 256k -s $((101 + n)) --ack-loss 0.5 \
	    --timeout-ms 30 --retries 100 -o "$T/sent$n"
	wait_manifest "$D" "$n"
	wait_dumps "$A" $((n + 1))
	assert_manifest "$D/manifest.$n.json" complete "$T/sent$n"
	assert_same_bytes "$D/vmcore.$n" "$T/sent$n"
	if grep -q "retransmit round [0-9]*: FINISHED" "$SEND_LOG"; then
		resent=$((resent + 1))
		pass "seed $((101 + n)): FINISHED was resent after the dump closed; client exit 0, dump $n complete"
		[ "$resent" -lt 2 ] || break
	fi
done
[ "$resent" -gt 0 ] || fail "10 runs with 50% ack loss never lost a FINISHED ack"
assert_no_log "incomplete" "no dump may be incomplete"

stop_server
pass "server exited 0 on SIGTERM"

# A HERALD from the client's address and port (forged: anyone can send
# one) while its ended dump waits out its grace, refused because every
# place of max_concurrent_dumps is taken: the ended session still
# acknowledges its client's repeated FINISHED.
printf '[server]\nsink_dir = %s\nmax_concurrent_dumps = 1\n' "$ND_SINK_DIR" >"$T/one.ini"
start_server -c "$T/one.ini" --timeout 20
A=$(client_addr 2)
B=$(client_addr 3)
send_dump 0 "$A" -q -g 256k -s 121 -o "$T/sentA"
wait_dumps "$A" 1
SP=$(grep -oE "dump [0-9]+ from ${A//./\\.}:20024 started: .* answering from port [0-9]+" "$SERVER_LOG" |
    tail -1 | grep -oE '[0-9]+$')
send_bg "$B" -q -g 4M -s 122 -t 200 --loss 0.3 -o "$T/sentB"
wait_log "dump [0-9]+ from ${B//./\\.}:20024 started" 10
python3 - "$A" "$PORT" "$SP" <<'PY' || fail "the repeated FINISHED after a refused HERALD was not acknowledged"
import socket, struct, sys, time
addr, hport, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, 20024))
# netdump_msg_hdr: type, seqno, offset (64 bits), length, aux2; big-endian
s.sendto(struct.pack(">IIQII", 1, 900, 0, 0, 0), ("127.0.0.1", hport))
time.sleep(0.3)
s.sendto(struct.pack(">IIQII", 2, 901, 0, 0, 0), ("127.0.0.1", sport))
s.settimeout(2)
while True:
    data, src = s.recvfrom(64)
    if src[1] == sport and struct.unpack(">I", data[:4])[0] == 901:
        break
PY
wait_log "refused [0-9]+ HERALDs: .*\\(max_concurrent_dumps\\)" 5
wait "$BG_PID" || true
pass "a HERALD refused while every place is taken: the ended dump still acknowledges its client's repeated FINISHED"
stop_server
finish
