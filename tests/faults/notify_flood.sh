#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Webhooks behind an endpoint that takes the connection and never
# answers, while HERALDs from 300 addresses are refused: netdump-crash
# says no to all but one client, each refusal is a webhook event, and
# anyone who can send a HERALD can cause one. The sending thread is held
# in its first POST for the endpoint's timeout (300 s), so deliveries
# pile up: at most 256 may wait, the oldest refusals go, and one warning
# (not one per event) says so. The server keeps serving, and
# SIGTERM ends it within seconds, not at the POST's timeout, counting
# what it did not send.
#
# Asserted: at least 280 refusals (netdump-crash runs that said no); one "webhooks wait for a slow
# or dead endpoint" line; a dump after the flood is stored complete; the
# server exits 0 within 15 s of SIGTERM; its exit line counts 257
# webhooks not sent (256 deliveries queued, the one abandoned), and with
# the dropped ones at least every event, and the endpoint's own exit line
# counts every refusal among them as not posted. Then, with an endpoint that takes only dumps'
# events, the refusals are not queued at all: no warning, and at exit
# only the dump's event not sent, nothing dropped. Last, a healthy
# endpoint beside the hanging one gets its events at once.
set -euo pipefail
NET=226
. "$(dirname "$0")/lib-faults.sh"

python3 - "$T/hang.port" <<'PY' &
# Takes connections and never answers; its port goes to the file once it
# listens.
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept()
    held.append(c)
PY
wait_file "$T/hang.port" 10
HANG=$(cat "$T/hang.port")
S=$T/scripts
mkdir -p "$S"
A=127.$NET.0.7		# not in the flood (127.NET.1.1 ...): may dump
# Each run leaves a line in calls: the server logs 20 lines about the
# hooks of HERALDs in 10 s and counts the rest.
printf '#!/bin/sh\necho "$1" >>"%s"\n[ "$1" = "%s" ]\n' "$T/calls" "$A" \
    >"$S/netdump-crash"
said_no() { grep -cv "^${A//./\\.}\$" "$T/calls" 2>/dev/null || true; }
chmod 0755 "$S/netdump-crash"
write_conf() {	# EVENTS
	cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
scripts_dir = $S
max_hooks = 64

[notify slow]
url = http://127.0.0.1:$HANG/hook
events = $1
refused_per_minute = 100000
timeout = 300
retries = 0
INI
}

# 300 addresses in turn, 100 HERALDs a second for 4 s: the first HERALD
# of each runs netdump-crash, and so does a repeat whose refusal was
# forgotten for a newer one (256 are remembered). Paced, so the hooks do
# not take the machine from the tests beside this one.
flood() {
	timeout $((60 * WAIT_SCALE)) python3 "$FAULTS/ndfault.py" herald-flood \
	    --rate 100 "$PORT" "$NET" 4 300 >"$T/flood.json" 2>"$T/flood.log" ||
		{ cat "$T/flood.log" >&2; fail "ndfault.py herald-flood failed"; }
}

write_conf "refused complete"
start_server -c "$T/server.ini"
# A refusal first (its POST holds the thread), then a dump whose event
# waits: the flood's refusals must not push that event out.
send_dump 1 "127.$NET.0.8" -q -g 1M -s 6 -t 100 -r 0
wait_log "client 127\\.$NET\\.0\\.8: netdump-crash said no" 10
send_dump 0 "$A" -q -g 1M -s 5
wait_manifest "$(client_dir "$A")" 0
flood
poll 30 sh -c "[ \$(grep -cv '^${A//./\\.}\$' '$T/calls') -ge 280 ]" ||
	fail "netdump-crash said no only $(said_no) times for 300 addresses"
refused=$(said_no)
wait_log "notify slow: 256 webhooks wait for a slow or dead endpoint: the oldest refusal dropped, or the oldest webhook \\([0-9]+ so far, all endpoints\\)" 10
assert_eq "$(grep -c 'webhooks wait for a slow or dead endpoint' "$SERVER_LOG")" 1 \
    "queue-full warnings (one a minute at most)"
pass "$refused refusals while the endpoint hangs: one warning that the oldest webhooks are dropped"

send_dump 0 "$A" -q -g 2M -s 7 -o "$T/sent"
wait_manifest "$(client_dir "$A")" 1
assert_manifest "$(client_dir "$A")/manifest.1.json" complete "$T/sent"
pass "a dump during the flood is stored complete"

t0=$SECONDS
stop_server
took=$((SECONDS - t0))
[ "$took" -le $((15 * WAIT_SCALE)) ] ||
	fail "the server took $took s to exit with a POST held (timeout 300 s)"
line=$(grep -E "notify: [0-9]+ webhooks not sent at exit, [0-9]+ dropped before \\(queue full\\)" "$SERVER_LOG") ||
	fail "no exit line counting the webhooks not sent"
left=$(sed -E 's/.*notify: ([0-9]+) webhooks not sent.*/\1/' <<<"$line")
dropped=$(sed -E 's/.*at exit, ([0-9]+) dropped.*/\1/' <<<"$line")
assert_eq "$left" 257 "webhooks not sent at exit (256 deliveries held back, the one abandoned)"
# One event per refusal (hooks still running at the first count have
# added some; a hook that could not run is a refusal too) and one for
# each of the two dumps; none was sent, none went uncounted, and none of
# the dropped ones was a dump's.
refused=$(said_no)
[ $((left + dropped)) -ge $((refused + 2)) ] ||
	fail "webhooks not sent ($left) + dropped ($dropped) < the $((refused + 2)) events"
assert_match "$line" ", 0 of them of a dump$" "dumps' events dropped for refusals"
# Every refusal, queued or dropped (with the ones a dropped body said
# were not posted), is in the endpoint's count: all events but the two
# dumps'.
unposted=$(grep -oE "notify slow: [0-9]+ refusals not posted at exit" "$SERVER_LOG" |
    grep -oE "[0-9]+ refusals" | cut -d' ' -f1)
assert_eq "${unposted:-0}" $((left + dropped - 2)) "refusals counted as not posted at exit"
pass "SIGTERM: exit 0 in $took s; $left webhooks not sent, $dropped dropped (refusals only), of $((refused + 2)) events; ${unposted:-0} refusals counted as not posted"

# An endpoint that takes only dumps' events: the refusals never wait, so
# they cannot push the dump's event out.
write_conf complete
start_server -c "$T/server.ini"
: >"$T/calls"
flood
poll 30 sh -c "[ \$(grep -cv '^${A//./\\.}\$' '$T/calls') -ge 280 ]" ||
	fail "netdump-crash said no only $(said_no) times for 300 addresses"
send_dump 0 "$A" -q -g 2M -s 8 -o "$T/sent"
wait_manifest "$(client_dir "$A")" 1
stop_server
assert_no_log "webhooks wait for a slow or dead endpoint" "a queue-full warning for events no endpoint takes"
assert_log "notify: 1 webhooks not sent at exit, 0 dropped before \\(queue full\\)" \
    "the exit line: the dump's event, abandoned, and nothing dropped"
pass "events = complete: $(said_no) refusals never queued; the dump's event waited alone"

# A second, healthy endpoint beside the hanging one: each endpoint has its
# own POST in flight, so the hanging one (listed first, timeout 300 s)
# holds back only its own; the healthy one has every dump's event while
# the other's first POST still waits.
GP=$(free_port)
python3 - "$GP" "$T/good" <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with open(out, "a") as f:
            f.write("post\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
write_conf complete
cat >>"$T/server.ini" <<INI

[notify good]
url = http://127.0.0.1:$GP/hook
events = complete
INI
start_server -c "$T/server.ini"
for s in 11 12 13; do
	send_dump 0 "$A" -q -g 1M -s $s
done
good_posts() { [ "$(wc -l <"$T/good" 2>/dev/null || echo 0)" -ge 3 ]; }
poll 30 good_posts || fail "the healthy endpoint has $(wc -l <"$T/good" 2>/dev/null || echo 0) of 3 webhooks while the other hangs"
assert_no_log "notify slow: .*gave up" "the hanging endpoint given up (its POST waits 300 s)"
stop_server
pass "a hanging endpoint beside a healthy one: the healthy one had all 3 dumps' events at once"
finish
