#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The host's side of a sink's graded results, driven by the test-only
# "flaky" transform (tests/sinks/flaky.c), which declares that it handles
# the vmcore and the key, passes them on to the next stage, but answers
# its first writes with NDS_FAILED or NDS_FATAL:
#   routed     no failures: only the vmcore reaches flaky, the host gives
#              the info, message buffer and manifest to the storing sink
#              itself, and the dump is complete and byte-identical;
#   failing    NDS_FAILED: the chain fails for this dump, the dump is
#              labelled incomplete with the sink's error, and the sink
#              serves the next dump (FAILED never retires it);
#   fanout     NDS_FATAL in one chain of two: the other chain stores the
#              dump, the failing sink is disabled until restart, and the
#              next dump runs with the one chain left;
#   alone      NDS_FATAL in a route's only chain: the dump is incomplete,
#              and the next HERALD for that route is not answered;
#   racing     a dump heralded while its sink was alive, whose data
#              comes after another dump retired that sink: the chain is
#              failed at begin, the other chain stores the dump;
#   keyfail    NDS_FAILED for an encrypted dump's key, stored as soon as
#              it is whole while the dump arrives (a 13+ kernel sends it
#              first): the failure is logged and does not fail the chain;
#              the dump's end stores the key again, and the dump is
#              complete with the key as sent;
#   nostart    NDS_FATAL from start (in the daemon, before any dump): the
#              sink is retired at once, the log says why, and its route
#              answers no HERALD.
set -euo pipefail
NET=137
. "$(dirname "$0")/../integration/lib.sh"
FAULTS=$(cd "$(dirname "$0")/../faults" && pwd)

mkdir -p "$DUMPDIR"/{routed,failing,fanout,alone,racing,other,keyfail,nostart}
C=$T/server.ini
cat >"$C" <<INI
[server]
sink_dir = $ND_SINK_DIR
# The racing case holds a session silent through another dump.
timeout = $((10 * WAIT_SCALE))

[sink local]
module = file
fsync = no

[sink other]
module = file
fsync = no
dir = other

[sink pass]
module = flaky

[sink refuse]
module = flaky
failures = 50

[sink dies]
module = flaky
fatal = yes

[sink dies2]
module = flaky
fatal = yes

[sink dies3]
module = flaky
fatal = yes

[sink keyfail]
module = flaky
key_failures = 1

[route routed]
path = routed
sink = pass | local

[route keyfail]
path = keyfail
sink = keyfail | local

[route failing]
path = failing
sink = refuse | local

[route fanout]
path = fanout
sink = local, dies | other

[route alone]
path = alone
sink = dies2 | local

[route racing]
path = racing
sink = local, dies3 | other

[route default]
path = *
sink = local
INI
start_server -c "$C"
A=$(client_addr 1)
DUMPS=0

# dump_via PATH N SIZE SEED: one dump from $A with HERALD path PATH ("."
# for none), the N-th of its folder; D is that folder, SENT what was sent.
dump_via() {
	D=$(client_dir "$A" "$1")
	SENT=$T/sent.$4
	DUMPS=$((DUMPS + 1))
	if [ "$1" = . ]; then
		send_dump 0 "$A" -q -g "$3" -s "$4" -o "$SENT"
	else
		send_dump 0 "$A" -q -g "$3" -s "$4" -p "$1" -o "$SENT"
	fi
	wait_manifest "$D" "$2" 30
	wait_dumps "$A" "$DUMPS" 30
}

assert_manifest_chains() {	# MANIFEST EXPECTED
	assert_eq "$(jget "$1" '[.sinks[] | "\(.name)=\(.result)"] | join(",")')" \
	    "$2" "chains in $1"
}

# ---------------------------------------------------------------- routed
dump_via routed 0 4M 1371
assert_manifest "$D/manifest.0.json" complete "$SENT"
assert_same_bytes "$D/vmcore.0" "$SENT"
assert_file "$D/info.0"
assert_log "flaky: saw 1 object\\(s\\) and answered NDS_FAILED 0 time\\(s\\) in this dump" \
    "only the vmcore reached the transform"
pass "a transform of the vmcore alone: the host routed the other objects past it, the dump is complete and byte-identical"

# ---------------------------------------------------------------- failing
dump_via failing 0 4M 1372
M=$D/manifest.0.json
assert_eq "$(jget "$M" .status)" incomplete "status when the only chain failed"
assert_match "$(jget "$M" .reason)" "^no sink stored the dump: flaky: refused" "reason"
assert_manifest_chains "$M" "refuse | local=failed"
assert_log "dump [0-9]+: sink refuse \\| local: .*flaky: refused" "the chain's failure line"
assert_no_log "disabled until restart" "a sink retired by NDS_FAILED"
# The chain took nothing: its file says so by its name and its length,
# not padded with zeros to the dump's length.
assert_eq "$(size_of "$D/vmcore.0.incomplete")" 0 "length of what the failed chain kept"
# The manifest names it, so retention removes it with the dump.
assert_eq "$(jq -r '.objects[] | select(.kind == "vmcore") | .stored["refuse | local"]' "$M")" \
    "failing/$(basename "$D")/vmcore.0.incomplete" "where the manifest says the failed chain's vmcore is"
pass "NDS_FAILED: the chain failed, the dump is labelled incomplete ('$(jget "$M" .reason)')"

# FAILED does not retire a sink: the same route answers the next HERALD.
dump_via failing 1 1M 1373
assert_eq "$(jget "$D/manifest.1.json" .status)" incomplete "status of the next dump on that route"
# And a route without flaky is untouched by it.
dump_via . 0 1M 1374
assert_manifest "$D/manifest.0.json" complete "$SENT"
pass "the route whose chain failed still answers; the default route stores its dump complete"

# ---------------------------------------------------------------- fanout
dump_via fanout 0 4M 1375
M=$D/manifest.0.json
assert_eq "$(jget "$M" .status)" complete "status with one chain retired"
assert_manifest_chains "$M" "local=ok,dies | other=failed"
assert_same_bytes "$D/vmcore.0" "$SENT"
assert_log "dump [0-9]+: sink dies \\| other: .*flaky: fatal on the first write \\(sink disabled until restart\\)" \
    "the retirement line"
pass "NDS_FATAL in one chain of two: the other stored the dump complete, the sink is disabled until restart"

dump_via fanout 1 2M 1376
M=$D/manifest.1.json
assert_manifest "$M" complete "$SENT"
assert_manifest_chains "$M" "local=ok"
wait_log "started: path 'fanout', route 'fanout' \\(1 chain\\)" 5
pass "the next dump on that route runs with the one chain left, and is complete"

# ---------------------------------------------------------------- alone
dump_via alone 0 2M 1377
M=$D/manifest.0.json
assert_eq "$(jget "$M" .status)" incomplete "status when the only chain is retired"
assert_match "$(jget "$M" .reason)" "^no sink stored the dump: flaky: fatal on the first write" "reason"
assert_manifest_chains "$M" "dies2 | local=failed"
assert_eq "$(size_of "$D/vmcore.0.incomplete")" 0 "length of what the retired chain kept"
pass "NDS_FATAL in a route's only chain: the dump is labelled incomplete ('$(jget "$M" .reason)')"

# A kernel retries its HERALD for about 12 s; two rounds of 100 ms do here.
send_dump 1 "$A" -q -g 1M -s 1378 -p alone -t 100 -r 2
grep -q "failed: HERALD: no ack" "$SEND_LOG" ||
	fail "netdump-send should fail at its HERALD: $(cat "$SEND_LOG")"
assert_log "route 'alone' has no working sink; not answering" "the refusal line"
assert_no_file "$D/manifest.1.json"
pass "the route left without a working sink does not answer a HERALD"

# ---------------------------------------------------------------- racing
# B's HERALD is answered while dies3 works; its data comes only after A's
# dump has retired dies3. The chains of B's session were picked at its
# HERALD, so the host must catch the retired sink when B's dump begins.
B=$(client_addr 2)
python3 "$FAULTS/ndfault.py" dump "$PORT" "$B" "$T/sent.b" --size 1048576 \
    --seed 1380 --path racing --wait-for "$T/go" --timeout 1.0 \
    --retries 10 >"$T/racing.log" 2>&1 &
BPID=$!
poll 20 grep -q "heralded; waiting" "$T/racing.log" ||
	fail "ndfault.py never got its HERALD answered: $(cat "$T/racing.log")"
dump_via racing 0 2M 1381
assert_manifest_chains "$D/manifest.0.json" "local=ok,dies3 | other=failed"
touch "$T/go"
wait "$BPID" || fail "the held client failed: $(cat "$T/racing.log")"
DB=$(client_dir "$B" racing)
wait_manifest "$DB" 0 30
assert_eq "$(jget "$DB/manifest.0.json" .status)" complete "status of the held dump"
assert_same_bytes "$DB/vmcore.0" "$T/sent.b"
assert_manifest_chains "$DB/manifest.0.json" "local=ok,dies3 | other=failed"
assert_eq "$(jget "$DB/manifest.0.json" '.sinks[1].error')" \
    "sink dies3 disabled after a fatal error" "the retired chain's error"
assert_log "dump [0-9]+: sink dies3 \\| other: .*sink dies3 disabled after a fatal error" \
    "the failure line of the chain whose sink was retired after the HERALD"
pass "a sink retired between a dump's HERALD and its data: that chain fails at begin, the other stores the dump complete"

# ---------------------------------------------------------------- keyfail
D=$(client_dir "$A" keyfail)
DUMPS=$((DUMPS + 1))
send_dump 0 "$A" -q -g 2M -s 1382 -p keyfail --ekcd aes256-cbc \
    --key-out "$T/key.kf" -o "$T/sent.kf"
wait_manifest "$D" 0 30
wait_dumps "$A" "$DUMPS" 30
M=$D/manifest.0.json
assert_eq "$(jget "$M" .status)" complete "status after the key's early store failed"
assert_manifest_chains "$M" "keyfail | local=ok"
assert_same_bytes "$D/vmcore_encrypted.0" "$T/sent.kf"
assert_same_bytes "$D/key.0" "$T/key.kf"
assert_log "dump [0-9]+: sink keyfail \\| local: key: flaky: key refused \\(1 of 1\\); tried again at the dump's end" \
    "the early store's failure line"
assert_log "flaky: saw 3 object\\(s\\) and answered NDS_FAILED 1 time\\(s\\) in this dump" \
    "the key twice and the vmcore reached the transform"
pass "the key's store while the dump arrived failed: logged, the chain not failed, the key stored at the end as sent"

stop_server
pass "server exited 0 on SIGTERM"
# ---------------------------------------------------------------- nostart
# A server of its own: its start-up line would be in the others' log.
cat >"$T/nostart.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
timeout = 10

[sink local]
module = file
fsync = no

[sink nostart]
module = flaky
start_fails = yes

[route nostart]
path = nostart
sink = nostart | local

[route default]
path = *
sink = local
INI
start_server -c "$T/nostart.ini"
assert_log "sink nostart \\(flaky\\): cannot start: flaky: start refused \\(sink disabled until restart\\)" \
    "the line of a sink whose start failed"
send_dump 1 "$A" -q -g 1M -s 1379 -p nostart -t 100 -r 2
grep -q "failed: HERALD: no ack" "$SEND_LOG" ||
	fail "netdump-send should fail at its HERALD: $(cat "$SEND_LOG")"
assert_log "route 'nostart' has no working sink; not answering" "the refusal line"
assert_no_file "$(client_dir "$A" nostart)/manifest.0.json"
pass "a sink whose start fails is retired before any dump: its route answers no HERALD"

stop_server
pass "the second server exited 0 on SIGTERM"
finish
