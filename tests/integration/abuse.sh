#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Protocol abuse by a purpose-built sender (abuse.py): malformed and
# out-of-range datagrams are never acked while valid ones in the same
# session are; nothing from another source port is answered; odd HERALDs
# are logged; the server survives a burst of 10k random datagrams and then
# serves a normal dump.
set -euo pipefail
NET=125
. "$(dirname "$0")/lib.sh"

cat >"$T/abuse.ini" <<INI
[server]
max_dump_size = 1M
timeout = 30
INI
start_server -c "$T/abuse.ini"
mkdir "$T/out"
timeout $((120 * WAIT_SCALE)) python3 "$ND_LIBDIR/abuse.py" "$PORT" "$NET" "$T/out" ||
	fail "abuse.py failed (exit $?)"
pass "abuse.py: runt, length mismatch, unknown type, beyond max_dump_size, out-of-range KDH/key, garbage: none acked; valid data in the same session acked"

kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died during the abuse"

# Both hand-made dumps are complete and exact.
for i in 1 2; do
	a=$(client_addr $i)
	wait_manifest "$DUMPDIR/$a" 0
	assert_manifest "$DUMPDIR/$a/manifest.0.json" complete "$T/out/$a"
	assert_same_bytes "$DUMPDIR/$a/vmcore.0" "$T/out/$a"
done
assert_no_log "from 127\.0\.$NET\.1: a new HERALD" "a spoofed HERALD must not end the running dump"
pass "the abused session's dump and a netdumpd-style (seqno 0) dump are complete and exact"

# Every kind of drop is counted and logged (once a second at most).
A1="127\.0\.$NET\.1"
wait_log "$A1: dropped [0-9]+ runt datagrams" 10
wait_log "$A1: dropped [0-9]+ datagrams whose length is not 24 \+ mh_len" 10
wait_log "$A1: dropped [0-9]+ unknown message types" 10
wait_log "$A1: dropped [0-9]+ data beyond max_dump_size \(3 in all\)" 10
wait_log "$A1: dropped [0-9]+ KDH bytes beyond 512 \(1 in all\)" 10
wait_log "$A1: dropped [0-9]+ key bytes beyond the key size limit \(1 in all\)" 10
wait_log "$A1: dropped [0-9]+ messages after the dump ended \(1 in all\)" 10
wait_log "herald socket: dropped [0-9]+ runt datagrams" 10
wait_log "herald socket: dropped [0-9]+ unexpected messages" 10
pass "the server logged every kind of dropped datagram"

wait_log "client 127\.0\.$NET\.3: HERALD path refused \(longer than 1024 bytes\)" 10
wait_log "client 127\.0\.$NET\.4: HERALD path refused \(not NUL-terminated\)" 10
pass "a 2000-byte and an unterminated HERALD path were logged as refused"

# After the burst the server still completes a normal dump.
A=$(client_addr 6)
send_dump 0 "$A" -q -g 1M -s 151 -o "$T/sent6"
wait_manifest "$DUMPDIR/$A" 0
wait_dumps "$A" 1
assert_manifest "$DUMPDIR/$A/manifest.0.json" complete "$T/sent6"
assert_same_bytes "$DUMPDIR/$A/vmcore.0" "$T/sent6"
pass "after 10k random datagrams at the herald port a normal 1 MiB dump (= max_dump_size) is complete and exact"

stop_server
pass "server exited 0 on SIGTERM"
finish
