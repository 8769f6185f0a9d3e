#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A client restarts while its old dump's last data still waits, unread, in
# the session socket, because the sink is slow and every buffer is taken
# (the test-only flaky transform sleeps on every write).
#   slow   300 ms a write: the new HERALD makes the server read that rest
#          into the old dump without an answer (it waits for the sink to
#          free a buffer), close the old dump, and answer the new dump from
#          the same port. Nothing the old client sent is lost, and nothing
#          of it ends up in the new dump.
#   stuck  2 s a write: no buffer is freed within the 1 s the server waits,
#          so the rest is dropped, and said to be; the old dump keeps a
#          prefix of what was sent, and the new dump is served at once.
set -euo pipefail
NET=138
. "$(dirname "$0")/../integration/lib.sh"

C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 30
; Take the new HERALD at once, while the old dump's rest still waits in
; its socket: the path a restart after restart_silence rarely needs.
restart_silence = 0

[sink local]
module = file
fsync = no

[sink slow]
module = flaky
delay_ms = 300

[sink stuck]
module = flaky
delay_ms = 2000

[route stuck]
client = $(client_addr 2)/32
sink = stuck | local

[route default]
path = *
sink = slow | local
INI
start_server -c "$C"

# restart ADDR OUT: the old client, a HERALD, then 2 MiB + 92 KiB of data
# in one burst (the pool holds 2 MiB), and 150 ms later the HERALD of its
# new self, which sends one page and FINISHED. OUT gets the old bytes,
# OUT.new the new.
restart() {
	python3 - "$PORT" "$1" "$2" <<'PY'
import os, socket, struct, sys, time
port, addr, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((addr, 20024))
s.settimeout(5)

def msg(kind, seq, off, payload=b""):
    return struct.pack(">IIQII", kind, seq, off, len(payload), 0) + payload

def herald():
    s.sendto(msg(1, 1, 0), ("127.0.0.1", port))
    while True:
        ack, src = s.recvfrom(64)
        if ack == struct.pack(">I", 1):
            return src

sport = herald()
data = os.urandom(2 * 1024 * 1024 + 64 * 1448)
with open(out, "wb") as f:
    f.write(data)
seq = 2
for off in range(0, len(data), 1448):
    s.sendto(msg(3, seq, off, data[off:off + 1448]), sport)
    seq += 1
    if seq % 64 == 0:
        time.sleep(0.001)   # the socket buffers, not a flood
time.sleep(0.15)
# Whatever acks came meanwhile are the old client's; its new self starts
# with a clean socket, as a rebooted kernel does.
s.setblocking(False)
try:
    while True:
        s.recvfrom(64)
except BlockingIOError:
    pass
s.setblocking(True)
s.settimeout(5)
nport = herald()
assert nport == sport, ("the new dump is answered from another port", sport, nport)
# The new dump: 4 pages at offset 0, the KDH-less FINISHED is enough here.
new = os.urandom(4096)
s.sendto(msg(3, 2, 0, new), nport)
assert s.recvfrom(64)[0] == struct.pack(">I", 2)
s.sendto(msg(2, 3, 0), nport)
assert s.recvfrom(64)[0] == struct.pack(">I", 3)
with open(out + ".new", "wb") as f:
    f.write(new)
PY
}

# ---------------------------------------------------------------- slow
A=$(client_addr 1)
D=$(client_dir "$A")
restart "$A" "$T/sent0"
wait_manifest "$D" 1 30
wait_dumps "$A" 2 30

assert_log "dump [0-9]+ from ${A//./\\.}: took [0-9]+ messages its client sent before it restarted, unanswered" \
    "the rest read at the restart"
took=$(grep -oE "${A//./\\.}: took [0-9]+ messages" "$SERVER_LOG" | grep -oE "took [0-9]+" | grep -oE "[0-9]+")
assert_gt "$took" 0 "messages read at the restart"
M0=$D/manifest.0.json
assert_eq "$(jget "$M0" .status)" incomplete "status of the old dump"
assert_match "$(jget "$M0" .reason)" "new HERALD" "reason of the old dump"
assert_same_bytes "$D/vmcore.0.incomplete" "$T/sent0"
pass "the old dump keeps all $(size_of "$T/sent0") bytes its client sent, $took messages of them read at the restart, unanswered"

assert_eq "$(jget "$D/manifest.1.json" .status)" incomplete "status of the new dump (no KDH)"
assert_same_bytes "$D/vmcore.1.incomplete" "$T/sent0.new"
pass "the new dump, answered from the old port, holds its own 4096 bytes and nothing of the old"
assert_no_log "${A//./\\.}: dropped [0-9]+ messages" "messages dropped behind a sink that frees buffers"

# ---------------------------------------------------------------- stuck
A=$(client_addr 2)
D=$(client_dir "$A")
restart "$A" "$T/sent2"
wait_log "dump [0-9]+ from ${A//./\\.}: dropped [0-9]+ messages its client sent before it restarted: its sinks freed no buffer within 1000 ms" 10
wait_manifest "$D" 1 60
wait_dumps "$A" 2 60
M0=$D/manifest.0.json
assert_eq "$(jget "$M0" .status)" incomplete "status of the old dump"
assert_prefix_of "$D/vmcore.0.incomplete" "$T/sent2"
kept=$(size_of "$D/vmcore.0.incomplete")
assert_gt "$(size_of "$T/sent2")" "$kept" "bytes the old dump kept behind a stuck sink"
assert_same_bytes "$D/vmcore.1.incomplete" "$T/sent2.new"
pass "behind a stuck sink the unread rest is dropped and logged, the old dump keeps the first $kept bytes exactly, the new dump is served from the old port"

stop_server
pass "server exited 0 on SIGTERM"
finish
