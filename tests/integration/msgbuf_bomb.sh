#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A message-buffer bomb: a minidump whose header claims a 4 MiB ring
# (msgbufsize, sys/amd64/include/minidump.h struct minidumphdr: magic[24],
# version, msgbufsize at byte 28, little-endian; the ring follows at 4096,
# sys/amd64/amd64/minidump_machdep.c) filled with "panic: " and no newline.
# A panic-line search that walks back to the line start for every match
# takes minutes on it, holding the dump's place and the server's exit. The
# dump must be stored, with its msgbuf and panic line, within seconds of
# little server CPU, and SIGTERM right after must end the server at once.
set -euo pipefail
NET=140
. "$(dirname "$0")/lib.sh"

RING=$((4 << 20))
python3 - "$T/bomb" "$RING" <<'PY'
import struct, sys
path, ring = sys.argv[1], int(sys.argv[2])
hdr = b"minidump FreeBSD/amd64".ljust(24, b"\0")
hdr += struct.pack("<IIII", 2, ring, 4096, 4096)
page = hdr.ljust(4096, b"\0")
body = (b"panic: " * (ring // 7 + 1))[:ring]
tail = bytes(range(256)) * 64          # some data after the ring
with open(path, "wb") as f:
    f.write(page + body + tail)
PY
start_server --timeout 5
A=$(client_addr 1)
D=$(client_dir "$A")
cpu0=$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")
send_dump 0 "$A" -q -f "$T/bomb"
wait_manifest "$D" 0 20
cpu1=$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")
ticks=$(getconf CLK_TCK)
assert_manifest "$D/manifest.0.json" complete "$T/bomb"
assert_same_bytes "$D/vmcore.0" "$T/bomb"
assert_file "$D/msgbuf.0"
head -c 7 "$D/msgbuf.0" | grep -q "panic: " || fail "msgbuf.0 does not start with the ring's text"
assert_eq "$(jget "$D/manifest.0.json" '.objects[] | select(.kind == "msgbuf") | .size')" \
    "$(size_of "$D/msgbuf.0")" "msgbuf size in the manifest"
assert_log "dump 1 .*panic: panic: " "the panic line"
# 4 MiB through the file sink is well under a second of CPU on this
# machine; the quadratic search took minutes.
[ $((cpu1 - cpu0)) -lt $((5 * ticks * WAIT_SCALE)) ] ||
	fail "the bomb cost $(((cpu1 - cpu0) * 100 / ticks)) cs of server CPU"
pass "a 4 MiB 'panic: ' ring: stored complete with its msgbuf ($(size_of "$D/msgbuf.0") bytes) in $(((cpu1 - cpu0) * 1000 / ticks)) ms of server CPU"

# Again, and SIGTERM while the dump is being stored: the server ends
# within 5 s, the dump kept.
send_dump 0 "$A" -q -f "$T/bomb"
t0=$(date +%s%N)
stop_server
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt $((5000 * WAIT_SCALE)) ] || fail "SIGTERM took $ms ms"
assert_file "$D/manifest.1.json"
pass "SIGTERM after a second bomb: exit 0 in $ms ms, the dump's manifest written"
finish
