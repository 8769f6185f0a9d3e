#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Fan-out into one sink: "sink = local, z | local, z2 | local" stores
# every dump three times in one directory, plain and compressed twice,
# each copy under a number of its own, and each copy's manifest lists all
# copies' places with the first number. With keep_per_client = 1,
# retention must count each copy by its own names and keep every copy of
# the dump that just ended while any of its chains still runs. The old
# retention took each manifest for a dump of all copies and removed the
# newest dump as it arrived: after two dumps no vmcore was left.
#
# Asserted after each of two dumps: the plain copy byte-identical, the
# compressed ones restoring identical, and nothing of the dump before.
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

[sink z2]
module = zstd
level = 3

[sink local]
module = file
fsync = no
keep_per_client = 1

[route default]
path = *
sink = local, z | local, z2 | local
INI
start_server -c "$T/server.ini"
A=$(client_addr 1)
D=$(client_dir "$A")
for n in 1 2; do
	send_dump 0 "$A" -q -g 2M -s $((180 + n)) -o "$T/sent$n"
	wait_dumps "$A" "$n"
	plain=$((3 * n - 3))
	for k in 0 1 2; do
		wait_manifest "$D" $((plain + k))
	done
	wait_log "dump $n from ${A//./\\.} complete" 10
	assert_same_bytes "$D/vmcore.$plain" "$T/sent$n"
	for k in 1 2; do
		zstd -q -d -c "$D/vmcore.$((plain + k)).zst" | cmp -s - "$T/sent$n" ||
			fail "vmcore.$((plain + k)).zst does not restore dump $n"
	done
	left=$(cd "$D" && ls vmcore.[0-9]* manifest.[0-9]*.json | sort -V | tr '\n' ' ')
	assert_eq "$left" "manifest.$plain.json manifest.$((plain + 1)).json manifest.$((plain + 2)).json vmcore.$plain vmcore.$((plain + 1)).zst vmcore.$((plain + 2)).zst " \
	    "the vmcores and manifests after dump $n"
done
pass "local, z | local, z2 | local with keep_per_client = 1: the three copies of the newest dump stay, identical; the dump before goes whole"
stop_server
finish
