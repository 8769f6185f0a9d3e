#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A kernel that panics again (or reboots into another dump) sends a new
# HERALD while the server still has its old dump open. The server takes it
# once the old dump has been silent for restart_silence (a live kernel
# resends every second; a restarting one resends its HERALD for about
# 12 s): the old dump is closed as incomplete ("new HERALD"), the new one
# is served, before the old dump's timeout. Also from another port of the
# address, as a kernel behind a NAT that rewrites ports restarts.
set -euo pipefail
NET=121
. "$(dirname "$0")/lib.sh"

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
restart_silence = 4
INI
start_server -c "$C" --timeout 30
A=$(client_addr 1)
D=$(client_dir "$A")

send_dump 3 "$A" -q -g 16M -s 111 --stop-after 4M -o "$T/sent0"
# At once: its HERALD is ignored until the old dump has been silent 4 s,
# well before the 30 s timeout.
t0=$SECONDS
send_dump 0 "$A" -q -g 4M -s 112 -o "$T/sent1"
wait_manifest "$D" 0 10
wait_manifest "$D" 1 10
wait_dumps "$A" 2 10
assert_gt $((SECONDS - t0)) 2 "seconds before the restart was taken"
assert_log "a new HERALD while the dump is alive" "the early HERALDs logged"

M0=$D/manifest.0.json
assert_manifest "$M0" incomplete
assert_match "$(jget "$M0" .reason)" "HERALD" "reason of the first dump"
assert_log "a new HERALD after [0-9]+ s of silence" "the restart warning"
assert_prefix_of "$D/vmcore.0.incomplete" "$T/sent0"
assert_eq "$(size_of "$D/vmcore.0.incomplete")" "$(size_of "$T/sent0")" "bytes kept of the first dump"
assert_no_log "fell silent" "the first dump must not have waited for the timeout"
# An ack of the old dump's data may reach the restarted client before the
# ack of its HERALD, and the client keeps the port of the first ack it
# sees: the new dump is answered from the old dump's port.
mapfile -t ports < <(grep -oE "dump [0-9]+ from $A:20024 started: .* answering from port [0-9]+" \
    "$SERVER_LOG" | grep -oE "[0-9]+$")
assert_eq "${#ports[@]}" 2 "dumps started from $A"
P0=${ports[0]}
assert_eq "${ports[1]}" "$P0" "port of the restarted dump"
pass "first dump closed at once as incomplete: '$(jget "$M0" .reason)', its 4 MiB kept; the new one answered from its port $P0"

assert_manifest "$D/manifest.1.json" complete "$T/sent1"
assert_same_bytes "$D/vmcore.1" "$T/sent1"
assert_symlink "$D/vmcore.last" vmcore.1
pass "the second dump from the same address is complete and byte-identical"

# A retransmitted HERALD before any data is the same dump, not a new one.
python3 - "$PORT" "$(client_addr 2)" <<'PY'
import socket, struct, sys
port, addr = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, 20024))
s.settimeout(5)
herald = struct.pack(">IIQII", 1, 1, 0, 0, 0)
s.sendto(herald, ("127.0.0.1", port))
a1, src1 = s.recvfrom(64)
s.sendto(herald, ("127.0.0.1", port))
a2, src2 = s.recvfrom(64)
assert a1 == a2 == struct.pack(">I", 1), (a1, a2)
assert src1 == src2, ("the repeated HERALD was answered from another port", src1, src2)
fin = struct.pack(">IIQII", 2, 2, 0, 0, 0)
s.sendto(fin, (src1[0], src1[1]))
assert s.recvfrom(64)[0] == struct.pack(">I", 2)
PY
sleep 1
assert_eq "$(_log_count "from 127\.0\.$NET\.2:20024 started")" 0 "dumps started by a HERALD and FINISHED alone"
pass "a repeated HERALD before any data is re-acked from the same port; FINISHED with no data is acked and starts no dump"

# A restarted kernel that took the old session's port from a late ack
# sends its HERALD there, not to the herald port (the kernel keeps the
# port of the first 4-byte datagram it sees: sys/net/debugnet.c,
# debugnet_handle_ack and DN_STATE_GOT_HERALD_PORT). It is answered there,
# as at the herald port: once the old dump has been silent 4 s.
C3=$(client_addr 3)
python3 - "$PORT" "$C3" <<'PY'
import socket, struct, sys, time
port, addr = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, 20024))
s.settimeout(5)

def msg(kind, seq, off, payload=b""):
    return struct.pack(">IIQII", kind, seq, off, len(payload), 0) + payload

s.sendto(msg(1, 1, 0), ("127.0.0.1", port))
ack, session = s.recvfrom(64)
s.sendto(msg(3, 2, 0, b"\x5a" * 4096), session)
assert s.recvfrom(64)[0] == struct.pack(">I", 2)
t0 = time.monotonic()
s.settimeout(1)
for _ in range(12):
    s.sendto(msg(1, 1, 0), session)
    try:
        ack, src = s.recvfrom(64)
        break
    except socket.timeout:
        pass
else:
    sys.exit("the HERALD sent to the session port was never answered")
waited = time.monotonic() - t0
assert ack == struct.pack(">I", 1), ack
assert src == session, ("answered from another port", src, session)
assert waited >= 3, ("answered after %.1f s, before restart_silence" % waited)
s.settimeout(5)
s.sendto(msg(3, 2, 0, b"\xa5" * 4096), session)
assert s.recvfrom(64)[0] == struct.pack(">I", 2)
s.sendto(msg(2, 3, 0), session)
assert s.recvfrom(64)[0] == struct.pack(">I", 3)
print("%.1f" % waited)
PY
wait_log "dump [0-9]+ from ${C3//./\\.}:20024 started" 10 2
assert_log "dump [0-9]+ from ${C3//./\\.}: a new HERALD after [0-9]+ s of silence" "the restart through the session port"
pass "a HERALD to the old session's port is answered there once the old dump is silent, and the new dump runs on that port"

# Behind a NAT that rewrites ports, a restarted kernel's HERALD comes
# from another port of the address (QEMU's user networking gives each new
# flow a new port): it is ignored while the old dump is alive, and is a
# restart once it has been silent 4 s, not a wait for its 30 s timeout.
C4=$(client_addr 4)
D4=$(client_dir "$C4")
send_dump 3 "$C4" --client-port 40001 -q -g 16M -s 113 --stop-after 4M \
    -o "$T/sent40"
t0=$SECONDS
send_dump 0 "$C4" --client-port 40002 -q -g 4M -s 114 -o "$T/sent41"
wait_manifest "$D4" 1 10
assert_gt $((SECONDS - t0)) 2 "seconds before the restart from another port was taken"
assert_log "dump [0-9]+ from ${C4//./\\.}:40001: a HERALD from port 40002 of its address after its silence" \
    "the restart from another port"
assert_manifest "$D4/manifest.0.json" incomplete
assert_eq "$(size_of "$D4/vmcore.0.incomplete")" "$(size_of "$T/sent40")" "bytes kept of the first dump"
assert_same_bytes "$D4/vmcore.1" "$T/sent41"
pass "a restart from another port (a NAT): taken once the old dump is silent, the old one kept as incomplete, the new one byte-identical"

stop_server
pass "server exited 0 on SIGTERM"
finish
