#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The client dies mid-dump (as a kernel does when a call times out): the
# server closes the dump after --timeout seconds of silence, keeps exactly
# the bytes that arrived, labels it incomplete, and keeps serving.
set -euo pipefail
NET=116
. "$(dirname "$0")/lib.sh"

start_server --timeout 2
A=$(client_addr 1)
D=$(client_dir "$A")

send_dump 3 "$A" -q -g 32M -s 61 --stop-after 8M -o "$T/sent"
assert_eq "$(size_of "$T/sent")" 8388608 "bytes the client sent before it stopped"
wait_manifest "$D" 0 30
wait_dumps "$A" 1
M=$D/manifest.0.json
assert_manifest "$M" incomplete
assert_match "$(jget "$M" .reason)" "silent|timeout" "reason in $M"
assert_eq "$(jget "$M" .finished)" false "finished"
assert_eq "$(jget "$M" .kdh)" null "kdh"
assert_log "dump [0-9]+ from ${A//./\\.}: the client fell silent" "timeout warning"
assert_log "dump [0-9]+ from ${A//./\\.} incomplete: " "incomplete line"
pass "a client that stopped after 8 MiB: manifest incomplete, reason '$(jget "$M" .reason)'"

assert_file "$D/vmcore.0.incomplete"
assert_no_file "$D/vmcore.0"
assert_eq "$(size_of "$D/vmcore.0.incomplete")" 8388608 "size of vmcore.0.incomplete"
assert_prefix_of "$D/vmcore.0.incomplete" "$T/sent"
assert_eq "$(mobject "$M" vmcore | jq -r .size)" 8388608 "vmcore size in the manifest"
assert_eq "$(mobject "$M" vmcore | jq -r .sha256)" "$(sha_of "$T/sent")" "vmcore sha256 in the manifest"
assert_eq "$(mobject "$M" vmcore | jq -r .stored.local)" "$A/vmcore.0.incomplete" "vmcore location"
grep -q "Dump Status: bad" "$D/info.0" || fail "info.0 does not say 'Dump Status: bad'"
assert_no_file "$D/vmcore.last"
pass "vmcore.0.incomplete holds exactly the first 8 MiB sent; info says bad; no vmcore.last"

# The daemon still serves: the same client dumps again, completely.
send_dump 0 "$A" -q -g 4M -s 62 -o "$T/sent2"
wait_manifest "$D" 1
wait_dumps "$A" 2
assert_manifest "$D/manifest.1.json" complete "$T/sent2"
assert_same_bytes "$D/vmcore.1" "$T/sent2"
assert_symlink "$D/vmcore.last" vmcore.1
assert_prefix_of "$D/vmcore.0.incomplete" "$T/sent"
pass "a second dump afterwards is complete and byte-identical (vmcore.1)"

# A client stopped in the middle of a call (not on a call boundary).
A=$(client_addr 2)
D=$(client_dir "$A")
send_dump 3 "$A" -q -g 8M -s 63 --stop-after 1000000 -o "$T/sent3"
wait_manifest "$D" 0 30
M=$D/manifest.0.json
assert_manifest "$M" incomplete
assert_prefix_of "$D/vmcore.0.incomplete" "$T/sent3"
assert_eq "$(size_of "$D/vmcore.0.incomplete")" "$(size_of "$T/sent3")" "stored size"
pass "stopped mid-call after $(size_of "$T/sent3") bytes: exactly those bytes kept"

stop_server
pass "server exited 0 on SIGTERM"
finish
