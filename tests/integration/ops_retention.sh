#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Retention in the file sink: keep_per_client keeps a client's newest N
# finished dumps (all their files: vmcore, info, manifest, key, msgbuf);
# max_total_size removes the oldest finished dumps of any client beyond a
# total. A dump in progress, or one without a manifest, is never removed.
set -euo pipefail
NET=136
. "$(dirname "$0")/lib.sh"

"$ND_SERVER" -H file >"$T/file-options" 2>&1 || fail "-H file: $(cat "$T/file-options")"
for opt in keep_per_client max_total_size; do
	grep -qE "^ +$opt " "$T/file-options" ||
		fail "the file sink has no option $opt (yet): $(cat "$T/file-options")"
done

conf() {	# SINK-OPTION-LINES...
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		echo
		echo "[sink local]"
		echo "module = file"
		echo "fsync = no"
		printf '%s\n' "$@"
	} >"$T/server.ini"
}

# The dump numbers of a client's savecore folder that have a manifest.
numbers() {	# DIR
	ls "$1" | sed -n 's/^manifest\.\([0-9]*\)\.json$/\1/p' | sort -n | paste -sd' '
}

# ---------------------------------------------------------------- keep
python3 "$ND_LIBDIR/ops_msgbuf.py" "$T/img" || fail "cannot generate a minidump"
conf "keep_per_client = 2"
start_server -c "$T/server.ini" --timeout 2
A=$(client_addr 1)
DA=$(client_dir "$A")
B=$(client_addr 2)
DB=$(client_dir "$B")

send_dump 0 "$B" -q -g 1M -s 360 -o "$T/sentB0"
wait_manifest "$DB" 0
# Dump 0 has a msgbuf, dump 1 is encrypted (key.1), 2 and 3 are plain.
send_dump 0 "$A" -q -f "$T/img/unwrapped.img"
wait_manifest "$DA" 0
assert_file "$DA/msgbuf.0"
send_dump 0 "$A" -q -g 1M -s 361 --key-size 64
wait_manifest "$DA" 1
assert_file "$DA/key.1"
assert_file "$DA/vmcore_encrypted.1"
assert_eq "$(numbers "$DA")" "0 1" "dumps of $A after two"
send_dump 0 "$A" -q -g 1M -s 362 -o "$T/sentA2"
wait_manifest "$DA" 2
wait_log "retention: removed dump 0 of ${A//./\\.} .*keep_per_client = 2" 10
assert_eq "$(numbers "$DA")" "1 2" "dumps of $A after three"
send_dump 0 "$A" -q -g 1M -s 363 -o "$T/sentA3"
wait_manifest "$DA" 3
wait_log "retention: removed dump 1 of ${A//./\\.} .*keep_per_client = 2" 10
assert_eq "$(numbers "$DA")" "2 3" "dumps of $A after four"
left=$(ls "$DA" | paste -sd' ')
assert_eq "$left" "bounds info.2 info.3 info.last manifest.2.json manifest.3.json manifest.last.json vmcore.2 vmcore.3 vmcore.last" "files of $A"
assert_eq "$(tr -d '\n' <"$DA/bounds")" 4 "bounds of $A"
assert_symlink "$DA/vmcore.last" vmcore.3
assert_symlink "$DA/manifest.last.json" manifest.3.json
assert_same_bytes "$DA/vmcore.2" "$T/sentA2"
assert_same_bytes "$DA/vmcore.3" "$T/sentA3"
assert_same_bytes "$DB/vmcore.0" "$T/sentB0"
pass "keep_per_client = 2: after 4 dumps of $A only dumps 2 and 3 remain ($left); msgbuf.0, key.1 and vmcore_encrypted.1 went with theirs; bounds says 4; $B's dump untouched"

# An incomplete dump among them: complete dumps go first (documented in
# netdump-server.ini(5)), so the incomplete dump 1 outlives dump 2.
E=$(client_addr 3)
DE=$(client_dir "$E")
send_dump 0 "$E" -q -g 1M -s 364
wait_manifest "$DE" 0
send_dump 3 "$E" -q -g 4M -s 365 --stop-after 1M
wait_manifest "$DE" 1 20
send_dump 0 "$E" -q -g 1M -s 366
wait_manifest "$DE" 2
wait_log "retention: removed dump 0 of ${E//./\\.} " 10
send_dump 0 "$E" -q -g 1M -s 367
wait_manifest "$DE" 3
wait_log "retention: removed dump 2 of ${E//./\\.} " 10
assert_eq "$(numbers "$DE")" "1 3" "dumps of $E kept"
assert_file "$DE/vmcore.1.incomplete"
assert_symlink "$DE/vmcore.last" vmcore.3
pass "keep_per_client = 2 with dumps 0, 2, 3 complete and 1 incomplete: complete ones go first, so 1 and 3 remain (as netdump-server.ini(5) says)"
stop_server

# ---------------------------------------------------------------- total
rm -rf "${DUMPDIR:?}"
conf "max_total_size = 5M"
TO=$((5 + 3 * WAIT_SCALE))
start_server -c "$T/server.ini" --timeout "$TO"
# Dumps of random data (no holes): each takes 2 MiB plus two small files.
send_dump 0 "$A" -q -g 2M -z 0 -s 370
wait_manifest "$DA" 0
send_dump 0 "$B" -q -g 2M -z 0 -s 371 -o "$T/sentB0"
wait_manifest "$DB" 0
assert_eq "$(numbers "$DA")/$(numbers "$DB")" "0/0" "dumps under 5M"
send_dump 0 "$A" -q -g 2M -z 0 -s 372 -o "$T/sentA1"
wait_manifest "$DA" 1
wait_log "retention: removed dump 0 of ${A//./\\.} .*max_total_size = 5\.0 MiB" 10
assert_eq "$(numbers "$DA")/$(numbers "$DB")" "1/0" "dumps of $A/$B over 5M"
assert_no_file "$DA/vmcore.0"
assert_no_file "$DA/info.0"
assert_symlink "$DA/vmcore.last" vmcore.1
pass "max_total_size = 5M: the third 2M dump removes the oldest (dump 0 of $A); $B's dump 0 stays"

# A dump in progress (silent after 3 MiB, open for $TO s), and files
# without a manifest (a daemon that died mid-dump), are never removed.
C=$(client_addr 4)
DC=$(client_dir "$C")
rm -rf "$DC"
send_dump 3 "$C" -q -g 8M -z 0 -s 373 --stop-after 3M -o "$T/sentC"
O=$DUMPDIR/$(client_addr 9)
mkdir -m 0700 "$O"
head -c 1048576 /dev/urandom >"$O/vmcore.0.incomplete"
echo "Dump Status: bad" >"$O/info.0"
echo 1 >"$O/bounds"
send_dump 0 "$B" -q -g 2M -z 0 -s 374 -o "$T/sentB1"
wait_manifest "$DB" 1
wait_log "retention: removed dump 0 of ${B//./\\.} .*max_total_size" 10
assert_eq "$(numbers "$DA")/$(numbers "$DB")" "1/1" "dumps of $A/$B"
assert_no_log "dump [0-9]+ from ${C//./\\.} (complete|incomplete)" "the dump of $C must still be open"
assert_file "$DC/vmcore.0.incomplete"
assert_prefix_of "$DC/vmcore.0.incomplete" "$T/sentC"
assert_file "$O/vmcore.0.incomplete"
assert_file "$O/info.0"
assert_same_bytes "$DA/vmcore.1" "$T/sentA1"
assert_same_bytes "$DB/vmcore.1" "$T/sentB1"
pass "with a 3M dump in progress and an orphan without manifest: only $B's dump 0 (the oldest finished) is removed; the open dump and the orphan stay"

# The dump that ends is never removed by its own retention: when the open
# dump times out (3 MiB, incomplete) the total is over 5M, and the complete
# dumps go first.
wait_dumps "$C" 1 $((TO + 10))
wait_manifest "$DC" 0
assert_file "$DC/vmcore.0.incomplete"
assert_file "$O/vmcore.0.incomplete"
assert_no_log "retention: .*${C//./\\.}/vmcore" "the dump of $C must stay"
wait_log "retention: removed dump 1 of ${B//./\\.} .*max_total_size" 10
assert_eq "$(numbers "$DA")/$(numbers "$DB")/$(numbers "$DC")" "//0" "dumps of $A/$B/$C after $C ended"
pass "when the open dump times out it stays, and the complete dumps of $A and $B go to bring the total under 5M"
stop_server

finish
