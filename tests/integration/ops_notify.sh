#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Webhooks ([notify NAME]): a real local HTTP server (python's
# http.server) receives a JSON POST when a dump ends, when one is refused
# (netdump-crash says no), and when a panic signature is new to the dump
# directory; the bearer token and the HMAC-SHA256 of the body are in the
# headers; the signature's count grows with repeats. A dead endpoint is
# retried, then given up, and never holds a dump back.
set -euo pipefail
NET=145
. "$(dirname "$0")/lib.sh"

HP=$(free_port)
DEAD=$(free_port)
python3 - "$HP" "$T/posts" <<'PYEOF' &
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path,
                                "auth": self.headers.get("Authorization"),
                                "sig": self.headers.get("X-Netdump-Signature"),
                                "type": self.headers.get("Content-Type"),
                                "body": body.decode()}) + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PYEOF
# A JWT-sized token (1-2 KiB is common): sent whole, not cut at 1 KiB.
TOKEN="secret-token-$(printf 'x%.0s' $(seq 1 1500))-end"
mkdir -p "$T/scripts"
# netdump-crash says no to client 3, and to every address not 127.0.NET.x
# (the refusal flood below); it leaves a line for each run.
printf '#!/bin/sh\necho "$1" >>"%s"\ncase "$1" in %s) exit 1;; 127.0.%s.*) exit 0;; esac\nexit 1\n' \
    "$T/calls" "$(client_addr 3)" "$NET" >"$T/scripts/netdump-crash"
chmod 755 "$T/scripts/netdump-crash"
cat >"$T/server.ini" <<EOF2
[server]
sink_dir = $ND_SINK_DIR
scripts_dir = $T/scripts
[notify ops]
url = http://127.0.0.1:$HP/hook
events = complete incomplete refused new-signature
token = $TOKEN
hmac_key = k3y
[notify dead]
url = http://127.0.0.1:$DEAD/nobody
events = complete incomplete refused
retries = 1
timeout = 2
EOF2
start_server -c "$T/server.ini"
A=$(client_addr 1)
B=$(client_addr 2)
send_dump 0 "$A" -q -g 1M -s 1 --panic "page fault at 0xfffff80012345678"
wait_dumps "$A" 1
send_dump 0 "$B" -q -g 1M -s 2 --panic "page fault at 0xfffff800abcdef00"
wait_dumps "$B" 1
send_dump 0 "$A" -q -g 1M -s 3 --no-kdh
wait_dumps "$A" 2
# netdump-crash says no to client 3: refused.
"$ND_SEND" -b "$(client_addr 3)" -q -g 1M -t 200 -r 2 "127.0.0.1:$PORT" \
    >/dev/null 2>&1 || true

posts() {	# the number of POSTs received
	[ -f "$T/posts" ] && wc -l <"$T/posts" || echo 0
}
posts_at_least() {	# N: counted anew at every try of poll
	[ "$(posts)" -ge "$1" ]
}
poll 20 posts_at_least 5 || fail "$(posts) webhooks received, 5 expected: $(cat "$T/posts" 2>/dev/null)"
sleep 1
assert_eq "$(posts)" 5 "webhooks received"
/usr/bin/python3 - "$T/posts" "$A" "$B" "$(client_addr 3)" "$DUMPDIR" "$TOKEN" <<'PYEOF' || fail "the webhooks are not what happened"
import hashlib, hmac, json, os, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
a, b, c, top, token = sys.argv[2:7]
def check(cond, what):
    if not cond:
        print("webhook check failed: %s\n%s" % (what, json.dumps(posts, indent=1)))
        sys.exit(1)
for p in posts:
    check(p["path"] == "/hook", "path")
    check(p["auth"] == "Bearer " + token, "bearer token, whole")
    check(p["type"] == "application/json", "content type")
    mac = hmac.new(b"k3y", p["body"].encode(), hashlib.sha256).hexdigest()
    check(p["sig"] == "sha256=" + mac, "HMAC of the body")
bodies = [json.loads(p["body"]) for p in posts]
ev = [(x["event"], x["client"]) for x in bodies]
check(ev.count(("new-signature", a)) == 1, "one new-signature, for %s" % a)
check(("new-signature", b) not in ev, "no new-signature for the repeat")
done = [x for x in bodies if x["event"] == "complete"]
check(len(done) == 2, "two complete dumps")
check(done[0]["signature"]["count"] == 1 and done[1]["signature"]["count"] == 2,
      "the signature's count grows")
check(done[0]["signature"]["id"] == done[1]["signature"]["id"], "one signature")
check(done[0]["signature"]["panic"] == "page fault at 0x?", "masked panic")
check(os.path.isfile(os.path.join(top, done[0]["stored"]["local"])),
      "stored.local names the vmcore")
inc = [x for x in bodies if x["event"] == "incomplete"]
check(len(inc) == 1 and inc[0]["client"] == a and inc[0]["signature"] is None
      and "KDH" in inc[0]["reason"], "the incomplete dump")
ref = [x for x in bodies if x["event"] == "refused"]
check(len(ref) == 1 and ref[0]["client"] == c and
      ref[0]["reason"] == "netdump-crash said no", "the refusal")
PYEOF
pass "webhooks: complete, incomplete, refused and new-signature, with the whole 1.5 KiB bearer token and the body's HMAC; a repeat counts, is not new"

# A panic string in Latin-1 with some UTF-8 (a KDH holds bytes, not
# text): the body keeps the signature, with '?' for the bytes that are
# not UTF-8. jansson refused the string, and the signature went missing.
D4=$(client_addr 4)
send_dump 0 "$D4" -q -g 1M -s 4 --panic "$(printf 'disque \351chou\351 \303\251 0x1')"
wait_dumps "$D4" 1
poll 60 posts_at_least 7 || fail "$(posts) webhooks received, 7 expected"
/usr/bin/python3 - "$T/posts" "$D4" <<'PYEOF' || fail "the webhook of a Latin-1 panic string is not what happened"
import json, sys
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
done = [x for x in bodies if x["event"] == "complete" and x["client"] == sys.argv[2]]
new = [x for x in bodies if x["event"] == "new-signature" and x["client"] == sys.argv[2]]
if len(done) != 1 or done[0]["signature"] is None or len(new) != 1:
    sys.exit("no complete event with a signature: %s" % json.dumps(bodies, indent=1))
if done[0]["signature"]["panic"] != "disque ?chou? \u00e9 0x?":
    sys.exit("panic %r" % done[0]["signature"]["panic"])
PYEOF
pass "a panic string that is not UTF-8: the webhook keeps the signature, '?' for the bytes that are not"
wait_log "notify dead: http://127\\.0\\.0\\.1:$DEAD: gave up after 2 tries" 60
assert_no_log "/nobody" "the webhook URL's path (often its secret) in the log"
assert_log "dump [0-9]+ from ${B//./\\.} complete:" "dumps beside a dead endpoint"
pass "a dead endpoint: retried, given up, logged; the dumps went on"

# A flood of refusals (HERALDs from 30 addresses or so, each refused by
# netdump-crash; anyone who can send HERALDs can cause them): the
# endpoint gets refused_per_minute (10) of them a minute, the rest are
# counted, in the next one's "unposted" and at exit. Each was a POST.
python3 "$ND_LIBDIR/../faults/ndfault.py" herald-flood --rate 30 "$PORT" \
    $((NET + 1)) 1 256 >/dev/null 2>&1 || fail "ndfault.py herald-flood failed"
flood_runs() { grep -c "^127\.$((NET + 1))\." "$T/calls" 2>/dev/null || true; }
# Counted anew at every try of poll.
all_flood_runs() { [ "$(flood_runs)" -ge 30 ]; }
poll 60 all_flood_runs || true
sleep 1
N=$(flood_runs)	# 30 or 31: the pacing's last may fall in
assert_ge "$N" 30 "netdump-crash runs for the flooding addresses"
refused_posts() {
	python3 -c 'import json, sys
print(sum(json.loads(json.loads(l)["body"])["event"] == "refused"
          for l in open(sys.argv[1])))' "$T/posts"
}
ten_refused_posts() { [ "$(refused_posts)" -ge 10 ]; }
poll 20 ten_refused_posts || true
sleep 1
wait_log "notify ops: 10 refusals posted this minute \(refused_per_minute\); the rest are counted" 10
stop_server
posted=$(refused_posts)
assert_ge "$posted" 10 "refused events posted"
assert_le "$posted" 11 "refused events posted (client 3's may fall in the minute before)"
unposted=$(grep -oE "notify ops: [0-9]+ refusals not posted at exit" "$SERVER_LOG" |
    grep -oE "[0-9]+ refusals" | cut -d' ' -f1)
assert_eq "$((posted + ${unposted:-0}))" $((N + 1)) "refusals posted and counted (the flood's and client 3's)"
# The dead endpoint took none: those it gave up on, those still queued
# and those over its refused_per_minute are all counted at exit.
dead=$(grep -oE "notify dead: [0-9]+ refusals not posted at exit" "$SERVER_LOG" |
    grep -oE "[0-9]+ refusals" | cut -d' ' -f1)
assert_eq "${dead:-0}" $((N + 1)) "refusals the dead endpoint never took, counted at exit"
pass "$((N + 1)) refusals within a minute: $posted posted (refused_per_minute = 10), ${unposted:-0} counted and logged at exit; the dead endpoint's $((N + 1)) all counted"
finish
