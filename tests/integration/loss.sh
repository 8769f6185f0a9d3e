#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A lossy network: 5 % loss, 5 % duplicates, half the calls reordered and
# 5 % of the acks lost; the dump still arrives complete and byte-identical.
set -euo pipefail
NET=115
. "$(dirname "$0")/lib.sh"

start_server --timeout 20

# A short round timeout keeps it fast on loopback; more retries keep a
# busy (sanitizer) host from failing a call.
A=$(client_addr 1)
D=$(client_dir "$A")
send_dump 0 "$A" -v -g 16M -s 51 --loss 0.05 --dup 0.05 --reorder 0.5 \
    --ack-loss 0.05 --timeout-ms 20 --retries 150 -o "$T/sent"
grep -q "retransmit round" "$SEND_LOG" || fail "no retransmission happened: the faults were not applied"
wait_manifest "$D" 0
wait_dumps "$A" 1
M=$D/manifest.0.json
assert_manifest "$M" complete "$T/sent"
assert_same_bytes "$D/vmcore.0" "$T/sent"
pass "16 MiB with 5% loss, 5% dup, reorder, 5% ack loss: complete, byte-identical"

# The same at MTU 9000 in the legacy order.
A=$(client_addr 2)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 8M -s 52 --mtu 9000 --order legacy --loss 0.05 \
    --dup 0.05 --reorder 0.5 --ack-loss 0.05 --timeout-ms 20 --retries 150 \
    --key-size 700 -o "$T/sent2"
wait_manifest "$D" 0
wait_dumps "$A" 1
assert_manifest "$D/manifest.0.json" complete "$T/sent2"
assert_same_bytes "$D/vmcore_encrypted.0" "$T/sent2"
assert_eq "$(size_of "$D/key.0")" 700 "key size"
pass "8 MiB legacy order + key at MTU 9000 with the same faults: complete, byte-identical"

stop_server
pass "server exited 0 on SIGTERM"

# About 5 % of ~11800 packets went out twice, and lost acks made the client
# resend packets the server had: the manifest must count duplicates.
assert_gt "$(jget "$M" .duplicate_packets)" 100 "duplicate_packets in $M"
pass "the manifest counts $(jget "$M" .duplicate_packets) duplicate packets"
finish
