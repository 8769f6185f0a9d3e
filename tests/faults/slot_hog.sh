#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A slot hog: one source (127.0.NET.1:20024) sends small dumps one after
# another for 12 s, each a HERALD (resent every 20 ms until answered),
# four data messages, a KDH that announces them and FINISHED, each a
# new dump, while its route stores slowly ("slow | local", the test-only
# flaky transform with delay_ms = 1500): each of its dumps holds a dump slot for as long as
# its worker is storing. With max_concurrent_dumps = 4 it would hold
# every slot, and an honest kernel, whose HERALD comes again only once a
# second for 11 rounds before debugnet_send (sys/net/debugnet.c) gives
# up, would never get in. A kernel sends one dump per panic, so
# max_dumps_per_client (default 2: dumps in flight, including ended ones
# whose worker is still storing) leaves the other slots to other hosts.
#
# Asserted: an honest netdump-send dump (8 MiB, kernel timing) from
# another host during the hog is complete and byte-identical; reading the
# server log in order (a dump "started" line in, its "complete" or
# "incomplete" line out) never shows more than 2 of the hog's dumps in
# flight, and 2 are reached; the log says "dumps in flight
# (max_dumps_per_client)" for the hog.
set -euo pipefail
NET=184
. "$(dirname "$0")/lib-faults.sh"

HOG=$(client_addr 1)
H=$(client_addr 2)
C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 10
max_concurrent_dumps = 4

[sink local]
module = file
fsync = no

[sink slow]
module = flaky
delay_ms = 1500

[route hog]
client = $HOG/32
sink = slow | local

[route default]
path = *
sink = local
INI
start_server -c "$C"

timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" hog "$PORT" "$HOG" 12 \
    >"$T/hog.json" 2>"$T/hog.log" &
HOGPID=$!
# Let the hog fill what it can first.
wait_log "dump [0-9]+ from ${HOG//./\\.}:20024 started" 10 2
sleep 1
send_dump 0 "$H" -q -g 8M -s 1841 -o "$T/sent.honest"
HD=$(client_dir "$H")
wait_manifest "$HD" 0 30
wait_dumps "$H" 1 30
assert_manifest "$HD/manifest.0.json" complete "$T/sent.honest"
assert_same_bytes "$HD/vmcore.0" "$T/sent.honest"
kill -0 "$HOGPID" 2>/dev/null || fail "the hog stopped before the honest dump ended"
pass "an honest 8 MiB dump during the hog: complete, byte-identical ($SEND_MS ms)"

rc=0
wait "$HOGPID" || rc=$?
[ "$rc" = 0 ] || { cat "$T/hog.log" >&2; fail "ndfault.py hog exited $rc"; }
echo "note: hog: $(cat "$T/hog.json")"
started=$(grep -cE "dump [0-9]+ from ${HOG//./\\.}:20024 started" "$SERVER_LOG")
# Every dump the hog started ends (its worker logs the last line).
wait_dumps "$HOG" "$started" 30

inflight=$(awk -v hog="$HOG" '
	index($0, "from " hog ":20024 started") { n++; if (n > max) max = n }
	index($0, "from " hog " complete:") || index($0, "from " hog " incomplete:") { n-- }
	END { print max + 0 }' "$SERVER_LOG")
assert_eq "$inflight" 2 "most of the hog's dumps in flight at once (max_dumps_per_client = 2)"
assert_log "client ${HOG//./\\.}: 2 dumps in flight \\(max_dumps_per_client\\)" \
    "the hog held off"
pass "the hog started $started dumps, never more than $inflight in flight; logged 'dumps in flight (max_dumps_per_client)'"

stop_server
pass "server exited 0 on SIGTERM"
finish
