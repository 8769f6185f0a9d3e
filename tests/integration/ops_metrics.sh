#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Prometheus metrics ([server] metrics = ADDRESS:PORT): the page at
# /metrics parses as the text exposition format (Debian's
# python3-prometheus-client parser, the format's reference
# implementation), and its numbers are what happened: dumps by route and
# status, bytes received and stored per chain, refusals by reason, each
# client's last dump, the dump directory's free space. Other paths are
# 404; idle connections from one address do not keep others out; a bad
# or taken ADDRESS:PORT stops the server at start.
set -euo pipefail
NET=144
. "$(dirname "$0")/lib.sh"

MPORT=$(free_port)
{
	echo "[server]"
	echo "sink_dir = $ND_SINK_DIR"
	echo "metrics = 127.0.0.1:$MPORT"
	echo "deny = $(client_addr 9)/32"
} >"$T/server.ini"
start_server -c "$T/server.ini"
A=$(client_addr 1)
B=$(client_addr 2)
send_dump 0 "$A" -q -g 1M -s 1
send_dump 0 "$B" -q -g 2M -s 2 --no-kdh
wait_dumps "$A" 1
wait_dumps "$B" 1
# A denied client: refused, counted under its reason.
"$ND_SEND" -b "$(client_addr 9)" -q -g 1M -t 100 -r 1 "127.0.0.1:$PORT" \
    >/dev/null 2>&1 || true

http() {	# METHOD PATH: the status code; the body in $T/body
	python3 - "$MPORT" "$1" "$2" "$T/body" <<'PYEOF2'
import sys, urllib.error, urllib.request
port, method, path, out = sys.argv[1:5]
req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path),
                             method=method)
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
open(out, "wb").write(body)
print(code)
PYEOF2
}
assert_eq "$(http GET /metrics)" 200 "GET /metrics"
cp "$T/body" "$T/metrics"
/usr/bin/python3 - "$T/metrics" "$A" "$B" >"$T/values" <<'PYEOF' ||
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
a, b = sys.argv[2], sys.argv[3]
v = {}
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        key = s.name + "".join("|%s=%s" % kv for kv in sorted(s.labels.items()))
        v[key] = s.value
def get(k):
    return int(v.get(k, -1))
print(get("netdump_up"))
print(get("netdump_dumps_total|route=default|status=complete"))
print(get("netdump_dumps_total|route=default|status=incomplete"))
print(get("netdump_received_bytes_total"))
print(get("netdump_stored_bytes_total|chain=local"))
print(get("netdump_chain_failures_total|chain=local"))
print(get("netdump_refusals_total|reason=not_allowed") > 0)
print(get("netdump_client_last_dump_timestamp_seconds|client=%s|status=complete" % a) > 0)
print(get("netdump_client_last_dump_timestamp_seconds|client=%s|status=incomplete" % b) > 0)
print(get("netdump_dumps_in_flight"))
print(get("netdump_dumpdir_free_bytes") > 0)
PYEOF
    fail "the page does not parse as the exposition format: $(head -c 600 "$T/metrics")"
mapfile -t V <"$T/values"
assert_eq "${V[0]}" 1 "netdump_up"
assert_eq "${V[1]}" 1 "complete dumps of route default"
assert_eq "${V[2]}" 1 "incomplete dumps of route default"
assert_eq "${V[3]}" $((3 * 1048576)) "bytes received"
assert_eq "${V[4]}" $((3 * 1048576)) "bytes stored by the file chain"
assert_eq "${V[5]}" 0 "failures of the file chain"
assert_eq "${V[6]}" True "refusals of the denied client"
assert_eq "${V[7]}" True "$A's last dump, complete"
assert_eq "${V[8]}" True "$B's last dump, incomplete"
assert_eq "${V[9]}" 0 "dumps in flight"
assert_eq "${V[10]}" True "free space of the dump directory"
pass "/metrics parses as the exposition format, and says what happened"

assert_eq "$(http GET /other)" 404 "another path"
assert_eq "$(http POST /metrics)" 405 "POST"
pass "other paths are 404, other methods 405"
# Idle connections from one address (a request begun and never ended)
# take at most 4 of the 64 places: a scraper from another address is
# still answered at once.
python3 - "$MPORT" "$(client_addr 5)" "$(client_addr 6)" <<'PYEOF3' ||
import socket, sys, time, urllib.request
port, idle_from, scrape_from = int(sys.argv[1]), sys.argv[2], sys.argv[3]
held = []
for _ in range(40):
    s = socket.socket()
    s.bind((idle_from, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    held.append(s)
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=3,
                             source_address=(scrape_from, 0))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
reply = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    reply += b
assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
PYEOF3
	fail "a scrape while 40 idle connections from one address were open was not answered"
pass "40 idle connections from one address: a scrape from another is answered"
stop_server

refusals() {	# REASON: netdump_refusals_total of that reason, 0 if absent
	assert_eq "$(http GET /metrics)" 200 "GET /metrics"
	/usr/bin/python3 - "$T/body" "$1" <<'PYEOF4'
import sys
from prometheus_client.parser import text_string_to_metric_families
n = 0
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        if s.name == "netdump_refusals_total" and s.labels["reason"] == sys.argv[2]:
            n = int(s.value)
print(n)
PYEOF4
}

# Refusals count clients left unanswered, not the data of a session that
# was answered and waits for a place: D's HERALD is answered first, C's
# dump then takes the one place before D sends its data, and D's data
# waits until C's dump times out.
sed -e '/^deny = /d' "$T/server.ini" >"$T/one.ini"
printf 'max_concurrent_dumps = 1\ntimeout = 3\n' >>"$T/one.ini"
start_server -c "$T/one.ini"
C=$(client_addr 3)
D=$(client_addr 4)
python3 "$ND_LIBDIR/../faults/ndfault.py" dump "$PORT" "$D" "$T/sentD" \
    --size 65536 --seed 3 --wait-for "$T/go" --timeout 1.0 \
    --retries $((10 * WAIT_SCALE)) >"$T/d.log" 2>&1 &
dpid=$!
d_heralded() { grep -q "heralded; waiting for" "$T/d.log" 2>/dev/null; }
poll 10 d_heralded || fail "D's HERALD was not answered: $(cat "$T/d.log")"
send_dump 3 "$C" -q -g 4M -s 4 --stop-after 256K
wait_log "dump [0-9]+ from ${C//./\\.}:20024 started" 10
touch "$T/go"
wait "$dpid" || fail "the client whose data waited was not served: $(cat "$T/d.log")"
wait_dumps "$D" 1
assert_manifest "$(client_dir "$D")/manifest.0.json" complete "$T/sentD"
c_end=$(grep -nE "dump [0-9]+ from ${C//./\\.} incomplete" "$SERVER_LOG" | head -1 | cut -d: -f1)
d_start=$(grep -nE "dump [0-9]+ from ${D//./\\.}:20024 started" "$SERVER_LOG" | head -1 | cut -d: -f1)
[ -n "$c_end" ] && [ -n "$d_start" ] && [ "$d_start" -gt "$c_end" ] ||
	fail "D's dump did not wait for C's to end (lines $c_end, $d_start)"
assert_eq "$(refusals max_concurrent_dumps)" 0 "refusals for max_concurrent_dumps (none was refused)"
assert_no_log "refused [0-9]+ HERALDs" "no HERALD was refused"
stop_server
# A refusal for space, counted once (the client is then ignored for 60 s).
printf 'min_free = 99%%\n' >>"$T/one.ini"
start_server -c "$T/one.ini"
"$ND_SEND" -b "$(client_addr 5)" -q -g 1M -t 100 -r 2 "127.0.0.1:$PORT" \
    >/dev/null 2>&1 || true
wait_log "below min_free" 10
assert_eq "$(refusals min_free)" 1 "refusals for min_free"
stop_server
pass "refusals by reason: none for data that waited for a place (the client was answered), one for min_free"

# The port is taken (by a listener of ours): the server says so and stops.
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$MPORT" &
HOLDER=$!
sleep 0.5
refused_start "with the metrics port taken" \
    "metrics: cannot serve on 127\\.0\\.0\\.1:$MPORT" "$T/taken.log" -c "$T/server.ini"
kill "$HOLDER" 2>/dev/null || true
sed -i "s/^metrics = .*/metrics = localhost:80x/" "$T/server.ini"
refused_start "with a bad metrics address" "is not ADDRESS:PORT" "$T/bad.log" \
    -c "$T/server.ini"
pass "a taken port and a bad ADDRESS:PORT stop the server at start, saying why"
finish
