#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Payload sizes: MTU 9000 (8948-byte payloads, more than netdumpd's 4096),
# MTU 1500 (1448) and the legacy 4096 cap at MTU 9000 all store the same
# bytes.
set -euo pipefail
NET=113
. "$(dirname "$0")/lib.sh"

start_server --timeout 10
SIZE=16M
BYTES=16777216

# run_mtu I MTU ORDER MIN-PACKETS MAX-PACKETS
run_mtu() {
	local a d m pk

	a=$(client_addr "$1")
	d=$(client_dir "$a")
	send_dump 0 "$a" -q -g $SIZE -s 31 --mtu "$2" --order "$3" -o "$T/sent$1"
	wait_manifest "$d" 0
	wait_dumps "$a" 1
	m=$d/manifest.0.json
	assert_manifest "$m" complete "$T/sent$1"
	assert_same_bytes "$d/vmcore.0" "$T/sent$1"
	# Data packets + KDH + FINISHED; retransmissions only add to it.
	pk=$(jget "$m" .packets)
	[ "$pk" -ge "$4" ] && [ "$pk" -le "$5" ] ||
		fail "MTU $2 ($3): $pk packets, expected $4..$5"
}

# 64 KiB calls: 8 packets of <= 8948 bytes each, 256 calls.
run_mtu 1 9000 modern 2050 2150
pass "MTU 9000: 8948-byte payloads (~2050 packets) arrive complete and byte-identical"
run_mtu 2 1500 modern 11778 11900
pass "MTU 1500: 1448-byte payloads (~11778 packets) arrive complete and byte-identical"
run_mtu 3 9000 legacy 4098 4200
pass "MTU 9000, legacy order: 4096-byte cap (~4098 packets), complete and byte-identical"

assert_eq "$(sha_of "$T/sent1")" "$(sha_of "$T/sent2")" "same image at both MTUs"
assert_eq "$(sha_of "$(client_dir "$(client_addr 1)")/vmcore.0")" \
    "$(sha_of "$(client_dir "$(client_addr 2)")/vmcore.0")" "stored vmcores"
pass "the vmcores stored at MTU 9000 and 1500 are identical"

stop_server
pass "server exited 0 on SIGTERM"
finish
