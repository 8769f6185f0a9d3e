#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Encrypted dumps (EKCD): the key in the legacy 12.x order (KDH then key at
# the end, payloads capped at 4096) and in the modern order (key straight
# after the HERALD). vmcore_encrypted.N and key.N must be byte-exact.
set -euo pipefail
NET=112
. "$(dirname "$0")/lib.sh"

start_server --timeout 10

# check_encrypted ADDR SENT KEYFILE
check_encrypted() {
	local a=$1 sent=$2 key=$3 d m

	d=$(client_dir "$a")
	wait_manifest "$d" 0
	wait_dumps "$a" 1
	m=$d/manifest.0.json
	assert_manifest "$m" complete "$sent"
	assert_same_bytes "$d/vmcore_encrypted.0" "$sent"
	assert_same_bytes "$d/key.0" "$key"
	assert_no_file "$d/vmcore.0"
	assert_eq "$(jget "$m" .encrypted)" true "encrypted in $m"
	assert_eq "$(jget "$m" .kdh.dumpkeysize)" "$(size_of "$key")" "kdh.dumpkeysize"
	assert_eq "$(mobject "$m" key | jq -r .size)" "$(size_of "$key")" "key size in $m"
	assert_eq "$(mobject "$m" key | jq -r .sha256)" "$(sha_of "$key")" "key sha256 in $m"
	assert_eq "$(mobject "$m" key | jq -r .stored.local)" "$a/key.0" "key location in $m"
	assert_eq "$(mobject "$m" vmcore | jq -r .stored.local)" \
	    "$a/vmcore_encrypted.0" "vmcore location in $m"
	assert_mode "$d/key.0" 600
	assert_symlink "$d/vmcore_encrypted.last" vmcore_encrypted.0
	assert_symlink "$d/key.last" key.0
	grep -q "Dump Status: good" "$d/info.0" || fail "$d/info.0 is not good"
}

# 1. Legacy order, a 5000-byte key: two packets at the 4096-byte cap.
head -c 5000 /dev/urandom >"$T/key1"
A1=$(client_addr 1)
send_dump 0 "$A1" -q --order legacy --key "$T/key1" -g 4M -s 21 -o "$T/sent1"
check_encrypted "$A1" "$T/sent1" "$T/key1"
pass "legacy order, 5000-byte key: vmcore_encrypted.0 and key.0 byte-exact, complete"

# 2. Legacy order, a 4096-byte key from --key-size; the daemon cannot know
# the bytes, so compare with the manifest and the KDH only.
A2=$(client_addr 2)
D2=$(client_dir "$A2")
send_dump 0 "$A2" -q --order legacy --key-size 4096 -g 4M -s 22 -o "$T/sent2"
wait_manifest "$D2" 0
wait_dumps "$A2" 1
assert_manifest "$D2/manifest.0.json" complete "$T/sent2"
assert_same_bytes "$D2/vmcore_encrypted.0" "$T/sent2"
assert_eq "$(size_of "$D2/key.0")" 4096 "size of key.0"
assert_eq "$(mobject "$D2/manifest.0.json" key | jq -r .sha256)" \
    "$(sha_of "$D2/key.0")" "key sha256 in the manifest"
assert_eq "$(jget "$D2/manifest.0.json" .kdh.dumpkeysize)" 4096 "kdh.dumpkeysize"
pass "legacy order, --key-size 4096: key.0 has 4096 bytes matching the manifest, complete"

# 3. Modern order, key right after the HERALD, three 1448-byte packets.
head -c 4000 /dev/urandom >"$T/key3"
A3=$(client_addr 3)
send_dump 0 "$A3" -q --order modern --key "$T/key3" -g 4M -s 23 -o "$T/sent3"
check_encrypted "$A3" "$T/sent3" "$T/key3"
pass "modern order, 4000-byte key: vmcore_encrypted.0 and key.0 byte-exact, complete"

# 4. Modern order at MTU 9000: a 20000-byte key in 8948-byte packets.
head -c 20000 /dev/urandom >"$T/key4"
A4=$(client_addr 4)
send_dump 0 "$A4" -q --mtu 9000 --key "$T/key4" -g 2M -s 24 -o "$T/sent4"
check_encrypted "$A4" "$T/sent4" "$T/key4"
pass "modern order at MTU 9000, 20000-byte key: byte-exact, complete"

assert_no_temp_files "$DUMPDIR"
stop_server
pass "server exited 0 on SIGTERM"
finish
