#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# HERALDs forged before the true one. A kernel heralds from port 20024
# (netdump_start in sys/netinet/netdump/netdump_client.c: dc_client_port
# = NETDUMP_ACKPORT), and takes an ack only from the server address it
# was given (debugnet_handle_ip in sys/net/debugnet_inet.c), so an
# attacker who knows a client's address can send its HERALD first:
#
#   1. with another path (raw socket, IP_HDRINCL): the true HERALD must
#      not be taken for a retransmission of the forged one, or the dump
#      is filed under the attacker's path and route;
#   2. to another address of a server listening on all of them: the true
#      HERALD must not be answered from a socket bound to that other
#      address, which the kernel ignores;
#   3. from four other ports of the client's address
#      (max_heralded_per_client = 4), renewed: the true HERALD must get a
#      place once they are older than half a second.
#   4. from ever new ports of the client's address, thousands a second:
#      the true HERALD, from the kernel's port 20024, takes the place of
#      a forged one however young.
#
# And right after the true HERALD was answered, before its data (a
# kernel sends no HERALD again once answered): one with another path, or
# to another address of the server, must neither take the dump nor close
# its session (late_forged: an honest client by hand beside the forger).
#
# Asserted each time: the honest dump is byte-identical, in the place its
# own HERALD names; nothing is stored under the forged path.
set -euo pipefail
NET=231
. "$(dirname "$0")/lib-faults.sh"

A=$(client_addr 1)
B=$(client_addr 2)
C=$(client_addr 3)

# The honest side by hand: HERALD with path GOOD, its ack; then a HERALD
# forged from the same address and port (path EVIL, to address DST); then
# one page of data and FINISHED to the port that acked, which must be
# acked. Exits non-zero with the reason otherwise.
late_forged() {	# ADDR GOOD EVIL DST ("" for no path)
	python3 - "$FAULTS" "$PORT" "$@" <<'PY'
import socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
from ndfault import FINISHED, HERALD, VMCORE, forged, msg
port, addr, good, evil, dst = int(sys.argv[2]), *sys.argv[3:7]
path = lambda p: p.encode() + b"\0" if p else b""
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, 20024))
s.settimeout(2)
s.sendto(msg(HERALD, 1, 0, path(good)), ("127.0.0.1", port))
ack, session = s.recvfrom(64)
assert ack == struct.pack(">I", 1), ack
raw.sendto(forged(addr, 20024, dst, port, msg(HERALD, 7, 0, path(evil))),
           (dst, 0))
time.sleep(0.05)
for seq, m in ((2, msg(VMCORE, 2, 0, b"\x5a" * 4096)), (3, msg(FINISHED, 3))):
    for _ in range(5):
        s.sendto(m, session)
        try:
            a, src = s.recvfrom(64)
        except socket.timeout:
            continue
        if a == struct.pack(">I", seq) and src == session:
            break
    else:
        sys.exit("message %d was never acked from %s" % (seq, session))
PY
}

# 1. Another path first (the file sink files a dump under its HERALD's
# path when that folder exists).
mkdir -p "$DUMPDIR/good" "$DUMPDIR/evil"
start_server
python3 "$FAULTS/ndfault.py" spoof-herald "$PORT" "$A" 1 --path evil \
    --interval 0 || fail "forged HERALD"
send_dump 0 "$A" -g 4M -p good -s 1 -o "$T/sent1"
wait_manifest "$(client_dir "$A" good)" 0
assert_same_bytes "$(client_dir "$A" good)/vmcore.0" "$T/sent1"
assert_eq "$(ls -A "$DUMPDIR/evil" | wc -l)" 0 "files under the forged path"
pass "a HERALD forged with another path before the true one: the dump is filed under its own path"
D=$(client_addr 4)
late_forged "$D" good evil 127.0.0.1 || fail "a HERALD forged after the true one's ack"
wait_manifest "$(client_dir "$D" good)" 0
assert_eq "$(ls -A "$DUMPDIR/evil" | wc -l)" 0 "files under the forged path"
assert_log "client ${D//./\\.}: another HERALD \\(path 'evil'\\) while one waits for its data; not answering" "the late forged HERALD"
pass "a HERALD forged with another path after the true one's ack: not answered, the dump stays under its own path"

# 3. Four other ports of the client's address, forged again and again.
for p in 30001 30002 30003 30004; do
	python3 "$FAULTS/ndfault.py" spoof-herald "$PORT" "$C" 30 \
	    --sport "$p" --interval 1 >"$T/forge.$p.log" 2>&1 &
done
sleep 1
send_dump 0 "$C" -g 4M -s 3 -o "$T/sent3"
wait_manifest "$(client_dir "$C")" 0
assert_same_bytes "$(client_dir "$C")/vmcore.0" "$T/sent3"
pass "HERALDs forged from four other ports of the address: the true one gets a place"

# 4. HERALDs forged from ever new ports of the address, thousands a
# second: each forged session is replaced within a millisecond of the
# half second after which it may go, so a place freed by age is taken
# again before the kernel's next HERALD, a second later, comes.
E=$(client_addr 4)
python3 "$FAULTS/ndfault.py" spoof-herald "$PORT" "$E" 40000 \
    --sport 30001 --ports 20000 --interval 0.0002 >"$T/forge.fast.log" 2>&1 &
FORGER=$!
wait_log "client ${E//./\\.}: [0-9]+ sessions wait for their first data" 20
send_dump 0 "$E" -g 4M -s 4 -o "$T/sent4"
kill -0 "$FORGER" 2>/dev/null || fail "the forger stopped before the true dump ended: $(cat "$T/forge.fast.log")"
wait_manifest "$(client_dir "$E")" 0
assert_same_bytes "$(client_dir "$E")/vmcore.0" "$T/sent4"
kill "$FORGER" 2>/dev/null || true
wait "$FORGER" 2>/dev/null || true
pass "HERALDs forged from ever new ports of the address, thousands a second: the true one, from 20024, gets a place"
stop_server

# 2. Another address of the server first.
start_server -a 0.0.0.0
python3 "$FAULTS/ndfault.py" spoof-herald "$PORT" "$B" 1 --dst 127.0.0.2 \
    --interval 0 || fail "forged HERALD"
send_dump 0 "$B" -g 4M -s 2 -o "$T/sent2"
wait_manifest "$(client_dir "$B")" 0
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sent2"
pass "a HERALD forged to another address of the server: the true one is answered from the address it went to"
E=$(client_addr 5)
late_forged "$E" "" "" 127.0.0.2 || fail "a HERALD forged to another address after the true one's ack"
wait_manifest "$(client_dir "$E")" 0
pass "a HERALD forged to another address after the true one's ack: the session answers on"

# 3. HERALDs forged from a broadcast address: no session socket can
#    answer one (connect fails), and each was a line; now 5 lines in
#    10 s and a counter line, the server serving on.
python3 "$FAULTS/ndfault.py" spoof-herald "$PORT" 127.255.255.255 50 \
    --interval 0.01 || fail "HERALDs forged from a broadcast address"
wait_log "[0-9]+ more HERALDs not answered: no session socket could be opened" 15
n=$(_log_count "client 127\\.255\\.255\\.255: cannot open a session socket")
assert_le "$n" 5 "lines for 50 HERALDs from a broadcast address"
G=$(client_addr 6)
send_dump 0 "$G" -q -g 1M -s 3
wait_manifest "$(client_dir "$G")" 0
pass "50 HERALDs forged from 127.255.255.255: $n lines and a counter line; a dump after them is stored"
stop_server
finish
