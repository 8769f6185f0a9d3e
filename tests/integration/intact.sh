#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# An intact 32 MiB dump in the modern order: stored byte for byte, sparse,
# mode 0600, manifest and info agree, *.last symlinks; a second dump from
# the same client takes the next number.
set -euo pipefail
NET=111
. "$(dirname "$0")/lib.sh"

start_server --timeout 10
A=$(client_addr 1)
D=$(client_dir "$A")

send_dump 0 "$A" -q -g 32M --zero-ratio 0.5 -s 11 -H intact-host \
    --panic "integration panic" -o "$T/sent0"
wait_manifest "$D" 0
wait_dumps "$A" 1
assert_log "dump [0-9]+ from ${A//./\\.} complete: 33554432 bytes" "complete line"
pass "client exited 0 and the server logged the dump complete"

assert_same_bytes "$D/vmcore.0" "$T/sent0"
assert_eq "$(size_of "$D/vmcore.0")" 33554432 "size of vmcore.0"
pass "vmcore.0 is byte-identical to the 32 MiB sent (sha256 $(sha_of "$D/vmcore.0"))"

M=$D/manifest.0.json
assert_manifest "$M" complete "$T/sent0"
assert_eq "$(jget "$M" .kdh.validity)" ok "kdh.validity"
assert_eq "$(jget "$M" .kdh.dumplength)" 33554432 "kdh.dumplength"
assert_eq "$(jget "$M" .kdh.hostname)" intact-host "kdh.hostname"
assert_eq "$(jget "$M" .kdh.panicstring)" "integration panic" "kdh.panicstring"
assert_eq "$(jget "$M" .kdh.compression)" none "kdh.compression"
assert_eq "$(jget "$M" .coverage.received)" 33554432 "coverage.received"
assert_eq "$(jget "$M" .client.address)" "$A" "client.address"
assert_eq "$(jget "$M" .client.port)" 20024 "client.port"
assert_eq "$(jget "$M" .encrypted)" false "encrypted"
assert_eq "$(mobject "$M" vmcore | jq -r .stored.local)" "$A/vmcore.0" \
    "where the manifest says vmcore.0 is"
assert_eq "$(mobject "$M" info | jq -r .sha256)" "$(sha_of "$D/info.0")" \
    "info sha256 in the manifest"
pass "manifest.0.json: complete, no gaps, sha256 and size of the vmcore and info match"

grep -q "Dump Status: good" "$D/info.0" || fail "info.0 lacks 'Dump Status: good'"
grep -q "Hostname: intact-host" "$D/info.0" || fail "info.0 lacks the hostname"
grep -q "Panic String: integration panic" "$D/info.0" || fail "info.0 lacks the panic string"
grep -q "Dump Length: 33554432" "$D/info.0" || fail "info.0 lacks the dump length"
pass "info.0 says 'Dump Status: good' with the KDH's hostname, panic string and length"

for f in vmcore.0 info.0 manifest.0.json; do
	assert_mode "$D/$f" 600
done
pass "vmcore.0, info.0 and manifest.0.json have mode 0600"

alloc=$(($(stat -c %b "$D/vmcore.0") * $(stat -c %B "$D/vmcore.0")))
[ "$alloc" -lt $((33554432 * 3 / 4)) ] ||
	fail "vmcore.0 is not sparse: $alloc bytes allocated for 33554432"
pass "vmcore.0 is sparse ($alloc bytes allocated for 33554432, zero ratio 0.5)"

assert_symlink "$D/vmcore.last" vmcore.0
assert_symlink "$D/info.last" info.0
assert_symlink "$D/manifest.last.json" manifest.0.json
assert_eq "$(tr -d '\n' <"$D/bounds")" 1 "bounds after the first dump"
assert_no_file "$D/vmcore.0.incomplete"
assert_no_temp_files "$DUMPDIR"
pass "vmcore.last, info.last, manifest.last.json point at dump 0; bounds is 1"

# A second dump of the same client takes number 1 and moves the links.
send_dump 0 "$A" -q -g 1M -s 12 -o "$T/sent1"
wait_manifest "$D" 1
wait_dumps "$A" 2
assert_same_bytes "$D/vmcore.1" "$T/sent1"
assert_manifest "$D/manifest.1.json" complete "$T/sent1"
assert_symlink "$D/vmcore.last" vmcore.1
assert_symlink "$D/info.last" info.1
assert_symlink "$D/manifest.last.json" manifest.1.json
assert_eq "$(tr -d '\n' <"$D/bounds")" 2 "bounds after the second dump"
assert_same_bytes "$D/vmcore.0" "$T/sent0"
pass "a second dump became vmcore.1, *.last moved to it, dump 0 untouched"

stop_server
pass "server exited 0 on SIGTERM"
finish
