#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A client behind a NAT that rewrites ports (QEMU or VirtualBox user
# networking, containers): its kernel sends from 20024 (debugnet_udp_output
# in sys/net/debugnet.c uses dp_client_port as the source port), but the
# server sees another port. Every ack must go to the port the HERALD came
# from, and nothing to 20024 on that address, which is not the client.
set -euo pipefail
NET=221
. "$(dirname "$0")/lib.sh"

start_server --timeout 10
A=$(client_addr 1)
B=$(client_addr 2)
D=$(client_dir "$A")
NATPORT=40123

# Whatever reaches A:20024 during the dump: it must stay empty.
python3 - "$A" "$T/at20024" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 20024))
s.settimeout(0.2)
got = 0
end = time.monotonic() + 30
open(sys.argv[2] + ".ready", "w").close()
while time.monotonic() < end:
    try:
        s.recv(65536)
        got += 1
    except socket.timeout:
        pass
    try:
        open(sys.argv[2] + ".stop").close()
        break
    except OSError:
        pass
open(sys.argv[2], "w").write("%d\n" % got)
EOF
LISTENER=$!
wait_file "$T/at20024.ready" 10

send_dump 0 "$A" -q --client-port "$NATPORT" -g 8M --zero-ratio 0.3 -s 5 \
    -o "$T/sent"
wait_manifest "$D" 0
assert_same_bytes "$D/vmcore.0" "$T/sent"
assert_manifest "$D/manifest.0.json" complete "$T/sent"
assert_eq "$(jget "$D/manifest.0.json" .client.port)" "$NATPORT" "client.port"
pass "a dump from $A:$NATPORT (a NAT's port, not 20024) is stored complete and byte-identical"

touch "$T/at20024.stop"
wait "$LISTENER"
assert_eq "$(cat "$T/at20024")" 0 "datagrams sent to $A:20024"
pass "nothing was sent to $A:20024 while the dump came from port $NATPORT"

# A direct client still gets its acks at 20024, beside the NAT'd one.
send_dump 0 "$B" -q -g 4M -s 6 -o "$T/sentB"
wait_manifest "$(client_dir "$B")" 0
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sentB"
assert_eq "$(jget "$(client_dir "$B")/manifest.0.json" .client.port)" 20024 \
    "client.port of a direct client"
pass "a direct client at 20024 is served as before"

stop_server
finish
