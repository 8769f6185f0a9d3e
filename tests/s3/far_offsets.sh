#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Offsets a sender claims cost nothing it did not send. A raw S3 object
# cannot hold a hole: it is uploaded byte by byte. An attacker's three
# packets, HERALD, one byte at offset 2^40 - 2 and FINISHED (with
# max_dump_size = 2T), once meant a terabyte of zeros uploaded. A kernel
# sends in offset order, 64 KiB per debugnet_send call, each call acked
# whole before the next (sys/net/debugnet.c, netdump_dumper in
# sys/netinet/netdump/netdump_client.c), so data far beyond what arrived
# is refused: nothing is uploaded past the last byte received. A byte a
# few MiB ahead is within what a lossy kernel can leave missing; it is
# kept, the object ends right after it, and the dump says it has a gap.
set -euo pipefail
NET=207
. "$(dirname "$0")/lib-s3.sh"

BUCKET=far-$NET-$$
s3_mkbucket "$BUCKET"
DUMP_TIMEOUT=5 write_conf "$T/s3.ini" "$RGW_ENDPOINT" "$BUCKET" bucket <<EOF
part_size = 5M
EOF
sed -i 's/^\[server\]$/[server]\nmax_dump_size = 2T/' "$T/s3.ini"
start_server -c "$T/s3.ini"

# one_byte ADDR OFFSET [ROUNDS]: HERALD, one byte at OFFSET (sent up to
# ROUNDS times, 1 s apart, until acked), FINISHED, as a client from
# ADDR:20024; prints "acked" or "unacked" for the byte.
one_byte() {
	python3 - "$PORT" "$1" "$2" "${3:-1}" <<'PY'
import socket, struct, sys
port, addr, off = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rounds = int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, 20024))
s.settimeout(3)

def msg(kind, seq, off, payload=b""):
    return struct.pack(">IIQII", kind, seq, off, len(payload), 0) + payload

s.sendto(msg(1, 1, 0), ("127.0.0.1", port))
ack, server = s.recvfrom(64)
assert ack == struct.pack(">I", 1), ack
# Sent again every second, as a kernel does, ROUNDS times: a jump past
# missing bytes is taken once the client has sent nothing else for 3 s.
s.settimeout(1)
got = False
for _ in range(rounds):
    s.sendto(msg(3, 2, off, b"\xab"), server)
    try:
        got = s.recvfrom(64)[0] == struct.pack(">I", 2)
        break
    except socket.timeout:
        pass
s.settimeout(3)
s.sendto(msg(2, 3, 0), server)
assert s.recvfrom(64)[0] == struct.pack(">I", 3)
print("acked" if got else "unacked")
PY
}

cpu() {
	awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}

# 1. The terabyte hole: refused, nothing uploaded, no CPU spent.
A=$(client_addr 1)
c0=$(cpu)
assert_eq "$(one_byte "$A" $(((1 << 40) - 2)))" unacked "the byte at 2^40 - 2"
wait_dumps "$A" 1
c1=$(cpu)
K=$(stored_key "$A")
s3_get "$BUCKET" "${K%/vmcore*}/manifest.json" "$T/m1"
assert_eq "$(jq -r .status "$T/m1")" incomplete "status of the terabyte hole"
assert_eq "$(jq -r .refused_far_packets "$T/m1")" 1 "refused_far_packets"
assert_eq "$(jq -r .bytes_received "$T/m1")" 0 "bytes received"
size=$(s3curl "$RGW_ENDPOINT" "/$BUCKET/$K" -I 2>/dev/null | tr -d '\r' |
    sed -n 's/^[Cc]ontent-[Ll]ength: *//p')
[ -z "$size" ] || [ "$size" -eq 0 ] || fail "the terabyte hole uploaded $size bytes"
ticks=$(getconf CLK_TCK)
[ $((c1 - c0)) -lt $((ticks * WAIT_SCALE)) ] || fail "the terabyte hole cost $((c1 - c0)) ticks of server CPU"
assert_log "dropped 1 data too far beyond what had arrived" "the drop line"
pass "HERALD, a byte at 2^40 - 2, FINISHED: the byte refused, ${size:-no} object bytes, $(((c1 - c0) * 1000 / ticks)) ms of server CPU"

# 2. A byte 8 MiB ahead: kept, the object ends just after it.
B=$(client_addr 2)
OFF=$((8 << 20))
assert_eq "$(one_byte "$B" "$OFF" 8)" acked "the byte at 8 MiB"
wait_dumps "$B" 1
K=$(stored_key "$B")
s3_wait "$BUCKET" "$K"
s3_wait "$BUCKET" "${K%/vmcore*}/manifest.json"
s3_get "$BUCKET" "$K" "$T/got"
assert_eq "$(size_of "$T/got")" $((OFF + 1)) "size of the uploaded vmcore"
assert_eq "$(tail -c 1 "$T/got" | od -An -tx1 | tr -d ' ')" ab "its last byte"
assert_eq "$(head -c "$OFF" "$T/got" | tr -d '\0' | wc -c)" 0 "non-zero bytes before it"
s3_get "$BUCKET" "${K%/vmcore*}/manifest.json" "$T/m2"
assert_eq "$(jq -r .status "$T/m2")" incomplete "status"
assert_eq "$(jq -c .coverage.gaps "$T/m2")" "[[0,$OFF]]" "gaps"
assert_eq "$(jq -r '.objects[] | select(.kind == "vmcore") | .sha256' "$T/m2")" null "sha256 of a vmcore with a gap"
pass "a byte at 8 MiB: kept, the object is $((OFF + 1)) bytes (not extended), the gap listed, no digest claimed"
stop_server
finish
