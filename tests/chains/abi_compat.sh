#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A transform built for an older minor of the sink ABI (2.2, the test-only
# "abi22" module, tests/sinks/abi22.c) loads and works in a newer server (2.3 on):
# its struct nds_object ends before 2.3's "incomplete", and the host reads
# no further (under AddressSanitizer, a read past that heap block fails
# the run). The dump is complete and byte-identical, named as a whole one.
set -euo pipefail
NET=228
. "$(dirname "$0")/../integration/lib.sh"

cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR

[sink local]
module = file
fsync = no

[sink old]
module = abi22

[route default]
path = *
sink = old | local
INI
"$ND_SERVER" -H abi22 -c "$T/server.ini" >"$T/h.out" 2>&1 ||
	fail "-H abi22: $(cat "$T/h.out")"
assert_grep "$T/h.out" "^module abi22 1\\.0 \\(sink ABI 2\\.2\\)" "the module's ABI"
pass "the module says it is built for ABI 2.2"

start_server -c "$T/server.ini"
A=$(client_addr 1)
send_dump 0 "$A" -q -g 4M -s 2281 -o "$T/sent"
D=$(client_dir "$A")
wait_manifest "$D" 0
assert_manifest "$D/manifest.0.json" complete "$T/sent"
assert_same_bytes "$D/vmcore.0" "$T/sent"
assert_no_file "$D/vmcore.0.incomplete"
pass "a 2.2 transform in a newer server: the dump is complete, byte-identical, named whole"
stop_server
finish
