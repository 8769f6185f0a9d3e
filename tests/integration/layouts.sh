#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A configuration file: the netdumpd and Red Hat layouts of the file sink,
# routes by HERALD path glob and by client network, --check-config, and
# errors that name file:line.
set -euo pipefail
NET=123
. "$(dirname "$0")/lib.sh"

mkdir -p "$DUMPDIR/ndd/a" "$DUMPDIR/rh"
C=$T/netdump-server.ini
cat >"$C" <<INI
; integration test configuration
[server]
address = 127.0.0.1
port = 1
dumpdir = $DUMPDIR
timeout = 10
max_dump_size = 8M

[sink nd]
module = file
layout = netdumpd
fsync = no

[sink rh]
module = file
layout = redhat
mode = 0640

[sink sc]
module = file
layout = savecore

[route by-client]
path = *
client = 127.0.$NET.5/32
sink = rh

[route ndd]
path = ndd/*
sink = nd

[route redhat]
path = rh
sink = rh

[route both]
path = twice
sink = nd, sc

[route default]
path = *
sink = sc
INI

# --check-config prints the effective configuration and exits 0; what it
# prints loads again and prints the same.
"$ND_SERVER" -c "$C" --check-config >"$T/check1" 2>"$T/check1.err" ||
	{ cat "$T/check1.err"; fail "--check-config exited non-zero"; }
for want in '[sink nd]' 'layout = netdumpd' '[sink rh]' 'layout = redhat' \
    '[route ndd]' 'path = ndd/*' "client = 127.0.$NET.5/32" 'max_dump_size = 8M' \
    'timeout = 10'; do
	grep -qF -- "$want" "$T/check1" || fail "--check-config output lacks '$want'"
done
"$ND_SERVER" -c "$T/check1" --check-config >"$T/check2" 2>&1 ||
	fail "the printed configuration does not load: $(cat "$T/check2")"
diff <(grep -v '^;' "$T/check1") <(grep -v '^;' "$T/check2") >/dev/null ||
	fail "the printed configuration does not print the same: $(diff <(grep -v '^;' "$T/check1") <(grep -v '^;' "$T/check2"))"
pass "--check-config prints the effective configuration (exit 0) and it reloads unchanged"

# Command-line values get the configuration's checks: -p '../x' would
# put dumps of clients without a path beside the dump directory; a port
# that is no number is said so.
rc=0
"$ND_SERVER" -c "$C" -p ../x --check-config >"$T/p.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "-p ../x was taken: $(cat "$T/p.out")"
grep -qF -- "-p: expected a relative path without '..', like '.' or 'lab', got '../x'" "$T/p.out" ||
	fail "-p ../x said: $(cat "$T/p.out")"
rc=0
"$ND_SERVER" -c "$C" --port abc --check-config >"$T/port.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "--port abc was taken"
grep -qF -- "--port: expected a number, got 'abc'" "$T/port.out" || fail "--port abc said: $(cat "$T/port.out")"
pass "-p ../x and --port abc are refused with the configuration's words"

start_server -c "$C"

# netdumpd layout: <dir>/<path>/vmcore.<client>.N, info.<client>.N, ...
A=$(client_addr 1)
D=$DUMPDIR/ndd/a
send_dump 0 "$A" -q -g 2M -s 131 -p ndd/a -o "$T/sent1"
wait_manifest "$D" "$A.0"
wait_dumps "$A" 1
M=$D/manifest.$A.0.json
assert_manifest "$M" complete "$T/sent1"
assert_same_bytes "$D/vmcore.$A.0" "$T/sent1"
assert_file "$D/info.$A.0"
assert_eq "$(tr -d '\n' <"$D/bounds.$A")" 1 "bounds.$A"
assert_symlink "$D/vmcore.$A.last" "vmcore.$A.0"
assert_symlink "$D/info.$A.last" "info.$A.0"
assert_eq "$(jget "$M" .route)" ndd "route"
assert_eq "$(mobject "$M" vmcore | jq -r .stored.nd)" "ndd/a/vmcore.$A.0" "stored.nd"
assert_no_file "$D/$A"
send_dump 0 "$A" -q -g 1M -s 132 -p ndd/a -o "$T/sent1b"
wait_manifest "$D" "$A.1"
assert_same_bytes "$D/vmcore.$A.1" "$T/sent1b"
assert_symlink "$D/vmcore.$A.last" "vmcore.$A.1"
pass "netdumpd layout via route 'ndd': ndd/a/vmcore.$A.0 and .1, info, bounds.$A, *.last"

# Red Hat layout: <dir>/<path>/<addr>-YYYY-MM-DD-HH:MM/vmcore
A=$(client_addr 2)
send_dump 0 "$A" -q -g 2M -s 133 -p rh -o "$T/sent2"
wait_dumps "$A" 1
RD=$(find "$DUMPDIR/rh" -mindepth 1 -maxdepth 1 -type d -name "$A-*")
[ "$(echo "$RD" | wc -l)" -eq 1 ] && [ -n "$RD" ] || fail "one Red Hat folder expected, found: $RD"
assert_match "$(basename "$RD")" "^127\.0\.$NET\.2-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}:[0-9]{2}$" "Red Hat folder name"
M=$RD/manifest.json
wait_file "$M"
assert_manifest "$M" complete "$T/sent2"
assert_same_bytes "$RD/vmcore" "$T/sent2"
assert_file "$RD/info"
assert_mode "$RD/vmcore" 640
assert_eq "$(jget "$M" .route)" redhat "route"
pass "redhat layout via route 'redhat': rh/$(basename "$RD")/vmcore, mode 0640"
send_dump 0 "$A" -q -g 1M -s 134 -p rh -o "$T/sent2b"
wait_dumps "$A" 2
[ "$(find "$DUMPDIR/rh" -mindepth 1 -maxdepth 1 -type d -name "$A-*" | wc -l)" -eq 2 ] ||
	fail "a second Red Hat dump did not get a folder of its own"
cmp -s "$RD/vmcore" "$T/sent2" || fail "the second Red Hat dump overwrote the first"
found=$(for v in "$DUMPDIR"/rh/"$A"-*/vmcore; do if cmp -s "$v" "$T/sent2b"; then echo "$v"; fi; done)
[ -n "$found" ] || fail "the second Red Hat dump is not stored"
pass "a second Red Hat dump gets its own folder ($(basename "$(dirname "$found")"))"

# Route by client network, whatever the path.
A=$(client_addr 5)
send_dump 0 "$A" -q -g 1M -s 135 -o "$T/sent5"
wait_dumps "$A" 1
[ -n "$(find "$DUMPDIR" -maxdepth 1 -type d -name "$A-*")" ] ||
	fail "client $A was not routed to the Red Hat sink by its address"
assert_no_file "$DUMPDIR/$A"
pass "route 'by-client' (client = 127.0.$NET.5/32) sends that client to the Red Hat sink"

# Two sinks on one route: both store the dump.
A=$(client_addr 3)
mkdir -p "$DUMPDIR/twice"
send_dump 0 "$A" -q -g 1M -s 136 -p twice -o "$T/sent3"
wait_dumps "$A" 1
wait_manifest "$DUMPDIR/twice/$A" 0
wait_manifest "$DUMPDIR/twice" "$A.0"
assert_same_bytes "$DUMPDIR/twice/$A/vmcore.0" "$T/sent3"
assert_same_bytes "$DUMPDIR/twice/vmcore.$A.0" "$T/sent3"
M=$DUMPDIR/twice/$A/manifest.0.json
assert_manifest "$M" complete "$T/sent3"
assert_eq "$(mobject "$M" vmcore | jq -c .stored)" \
    "{\"nd\":\"twice/vmcore.$A.0\",\"sc\":\"twice/$A/vmcore.0\"}" "stored by both sinks"
pass "route 'both' (sink = nd, sc): the dump is stored by both sinks, the manifest lists both"

# Everything else: the savecore default route.
A=$(client_addr 4)
send_dump 0 "$A" -q -g 1M -s 137 -p other -o "$T/sent4"
wait_manifest "$DUMPDIR/$A" 0
assert_same_bytes "$DUMPDIR/$A/vmcore.0" "$T/sent4"
assert_eq "$(jget "$DUMPDIR/$A/manifest.0.json" .route)" default "route"
pass "an unmatched path takes route 'default' (savecore layout)"

# max_dump_size from the file: 8M; data beyond it is never acked.
send_dump 1 "$(client_addr 6)" -q -g 9M -s 138 --timeout-ms $((50 * WAIT_SCALE)) --retries 2
grep -q "failed: VMCORE" "$SEND_LOG" || fail "a dump beyond max_dump_size did not fail at the data"
wait_log "dropped [0-9]+ data beyond max_dump_size" 10
pass "max_dump_size = 8M: data beyond 8 MiB is not acked, the client fails, the drop is logged"
stop_server

# Errors name the file and the line.
bad() {	# WHAT ERE LINE-TEXT...
	local what=$1 want=$2 rc=0

	shift 2
	printf '%s\n' "$@" >"$T/bad.ini"
	"$ND_SERVER" -c "$T/bad.ini" --check-config >"$T/bad.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "$what: --check-config exited 0"
	grep -qE -- "$want" "$T/bad.out" || fail "$what: message '$(cat "$T/bad.out")' does not match /$want/"
	# The daemon itself refuses to start as well.
	rc=0
	timeout 20 "$ND_SERVER" -c "$T/bad.ini" -D -a 127.0.0.1 --port "$PORT" \
	    -d "$DUMPDIR" >"$T/bad.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$what: the daemon did not refuse to start (exit $rc)"
	grep -qE -- "$want" "$T/bad.out" || fail "$what: start message does not match /$want/"
}
bad "unknown key" "bad\.ini:3: .*bogus" '[server]' 'timeout = 5' 'bogus = 2'
pass "an unknown [server] key: exit non-zero, 'bad.ini:3: ... bogus'"
bad "unknown sink option" "bad\.ini:4: .*wibble" '[sink x]' 'module = file' \
    'layout = savecore' 'wibble = 1' '[route r]' 'path = *' 'sink = x'
pass "an unknown sink option: exit non-zero, 'bad.ini:4: ... wibble'"
bad "bad layout" "bad\.ini:3: .*layout" '[sink x]' 'module = file' 'layout = nonsense'
pass "a bad enum value: exit non-zero, 'bad.ini:3: ... layout'"
# (A route may name a module directly, so this is a missing module.)
bad "unknown sink in a route" "nosuch" '[route r]' 'path = *' 'sink = nosuch'
pass "a route naming an unknown sink or module: exit non-zero, names it"
bad "bad number" "bad\.ini:2: .*timeout" '[server]' 'timeout = soon'
pass "a bad number: exit non-zero, 'bad.ini:2: ... timeout'"
finish
