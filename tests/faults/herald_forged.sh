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
#
# Asserted each time: the honest dump is byte-identical, in the place its
# own HERALD names; nothing is stored under the forged path.
set -euo pipefail
NET=231
. "$(dirname "$0")/lib-faults.sh"

A=$(client_addr 1)
B=$(client_addr 2)
C=$(client_addr 3)

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
stop_server

# 2. Another address of the server first.
start_server -a 0.0.0.0
python3 "$FAULTS/ndfault.py" spoof-herald "$PORT" "$B" 1 --dst 127.0.0.2 \
    --interval 0 || fail "forged HERALD"
send_dump 0 "$B" -g 4M -s 2 -o "$T/sent2"
wait_manifest "$(client_dir "$B")" 0
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sent2"
pass "a HERALD forged to another address of the server: the true one is answered from the address it went to"
stop_server
finish
