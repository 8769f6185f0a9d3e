#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A 256 MiB dump over a lossy link (2 % loss, 8948-byte payloads) arrives
# complete and byte-identical; the same image without a KDH is kept whole
# and labelled incomplete.
set -euo pipefail
NET=126
. "$(dirname "$0")/lib.sh"

start_server --timeout 30
A=$(client_addr 1)
D=$(client_dir "$A")

send_dump 0 "$A" -q -g 256M -s 161 --mtu 9000 --loss 0.02 --timeout-ms 10 \
    --retries 300 -o "$T/sent"
wait_manifest "$D" 0 60
wait_dumps "$A" 1 60
assert_eq "$(size_of "$T/sent")" 268435456 "bytes sent"
assert_manifest "$D/manifest.0.json" complete "$T/sent"
assert_same_bytes "$D/vmcore.0" "$T/sent"
assert_eq "$(jget "$D/manifest.0.json" .coverage.received)" 268435456 "coverage.received"
pass "256 MiB with 2% loss: complete, byte-identical (sha256 $(sha_of "$D/vmcore.0" | cut -c1-16)...)"

send_dump 0 "$A" -q -g 256M -s 161 --no-kdh
wait_manifest "$D" 1 60
wait_dumps "$A" 2 60
M=$D/manifest.1.json
assert_manifest "$M" incomplete "$T/sent"
assert_match "$(jget "$M" .reason)" "kernel dump header|KDH" "reason"
assert_same_bytes "$D/vmcore.1.incomplete" "$T/sent"
assert_eq "$(jget "$M" .coverage.expected_from)" "highest offset received" "expected_from"
assert_eq "$(jget "$M" .coverage.gap_count)" 0 "gap_count"
pass "the same 256 MiB without a KDH: kept whole as vmcore.1.incomplete, incomplete: '$(jget "$M" .reason)'"

stop_server
pass "server exited 0 on SIGTERM"
finish
