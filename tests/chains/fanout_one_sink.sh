#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Fan-out into one sink: "sink = local, z | local" stores every dump twice
# in one directory, plain and compressed, each copy under a number of its
# own, and each copy's manifest lists both copies' places with the first
# number. With keep_per_client = 1, retention must count each copy by
# its own names and keep both copies of the dump that just ended while
# either chain still runs. The old retention took each manifest for a
# dump of both copies and removed the newest dump as it arrived: after
# two dumps no vmcore was left.
#
# Asserted after each of two dumps: the plain copy byte-identical, the
# compressed one restoring identical, and nothing of the dump before.
set -euo pipefail
NET=233
. "$(dirname "$0")/../integration/lib.sh"

command -v zstd >/dev/null || { echo "SKIP ($TEST_NAME): no zstd program"; exit 77; }

cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 5

[sink z]
module = zstd
level = 1

[sink local]
module = file
fsync = no
keep_per_client = 1

[route default]
path = *
sink = local, z | local
INI
start_server -c "$T/server.ini"
A=$(client_addr 1)
D=$(client_dir "$A")
for n in 1 2; do
	send_dump 0 "$A" -q -g 2M -s $((180 + n)) -o "$T/sent$n"
	wait_dumps "$A" "$n"
	plain=$((2 * n - 2))
	packed=$((2 * n - 1))
	wait_manifest "$D" "$plain"
	wait_manifest "$D" "$packed"
	wait_log "dump $n from ${A//./\\.} complete" 10
	assert_same_bytes "$D/vmcore.$plain" "$T/sent$n"
	zstd -q -d -c "$D/vmcore.$packed.zst" | cmp -s - "$T/sent$n" ||
		fail "vmcore.$packed.zst does not restore dump $n"
	left=$(cd "$D" && ls vmcore.[0-9]* manifest.[0-9]*.json | sort | tr '\n' ' ')
	assert_eq "$left" "manifest.$plain.json manifest.$packed.json vmcore.$plain vmcore.$packed.zst " \
	    "the vmcores and manifests after dump $n"
done
pass "local, z | local with keep_per_client = 1: both copies of the newest dump stay, identical; the dump before goes whole"
stop_server
finish
