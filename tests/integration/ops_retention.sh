#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Retention in the file sink: keep_per_client keeps a client's newest N
# finished dumps (all their files: vmcore, info, manifest, key, msgbuf);
# max_total_size removes the oldest finished dumps of any client beyond a
# total. Incomplete dumps always go before complete ones, and a complete
# dump goes only when the complete dumps alone are over the limit, so junk
# (a HERALD, a few bytes, FINISHED) can never push a complete dump out. A
# dump in progress, the dump that just ended, and one without a manifest
# are never removed.
set -euo pipefail
NET=136
. "$(dirname "$0")/lib.sh"

require_file_options keep_per_client max_total_size

# The dump numbers of a client's savecore folder that have a manifest.
numbers() {	# DIR
	ls "$1" | sed -n 's/^manifest\.\([0-9]*\)\.json$/\1/p' | sort -n | paste -sd' '
}

# ---------------------------------------------------------------- keep
python3 "$ND_LIBDIR/ops_msgbuf.py" "$T/img" || fail "cannot generate a minidump"
file_sink_conf "keep_per_client = 2"
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

# An incomplete dump among them goes first: dump 1 of $E (cut off) goes
# when dump 2 ends, though dump 0 is older; dump 0 goes when dump 3 ends.
E=$(client_addr 3)
DE=$(client_dir "$E")
send_dump 0 "$E" -q -g 1M -s 364
wait_manifest "$DE" 0
send_dump 3 "$E" -q -g 4M -s 365 --stop-after 1M
wait_manifest "$DE" 1 20
send_dump 0 "$E" -q -g 1M -s 366
wait_manifest "$DE" 2
wait_log "retention: removed dump 1 of ${E//./\\.} \\(${E//./\\.}/vmcore\\.1\\.incomplete \\+info\\.1, manifest\\.1\\.json; .*\\): keep_per_client = 2: incomplete, and the client had 3 dumps" 10
assert_eq "$(numbers "$DE")" "0 2" "dumps of $E after the third"
send_dump 0 "$E" -q -g 1M -s 367
wait_manifest "$DE" 3
wait_log "retention: removed dump 0 of ${E//./\\.} .*keep_per_client = 2: the oldest of the client's 3 complete dumps" 10
assert_eq "$(numbers "$DE")" "2 3" "dumps of $E kept"
assert_no_file "$DE/vmcore.1.incomplete"
assert_symlink "$DE/vmcore.last" vmcore.3
pass "keep_per_client = 2 with dumps 0, 2, 3 complete and 1 incomplete: the incomplete one goes first, then 0, so 2 and 3 remain"

# Junk, as an attacker sends it: a HERALD, 16 bytes, FINISHED, no kernel
# dump header. Two junk dumps after two complete ones must not remove the
# complete ones: the first junk dump goes when the second ends, and the
# second (the dump that just ended stays) when the next dump ends.
F=$(client_addr 5)
DF=$(client_dir "$F")
head -c 16 /dev/urandom >"$T/junk"
send_dump 0 "$F" -q -g 1M -s 368 -o "$T/sentF0"
wait_manifest "$DF" 0
send_dump 0 "$F" -q -g 1M -s 369 -o "$T/sentF1"
wait_manifest "$DF" 1
send_dump 0 "$F" -q --no-kdh -f "$T/junk"
wait_dumps "$F" 3
assert_file "$DF/vmcore.2.incomplete"
assert_eq "$(jget "$DF/manifest.2.json" .status)" incomplete "status of junk dump 2"
assert_eq "$(numbers "$DF")" "0 1 2" "dumps of $F after the first junk"
send_dump 0 "$F" -q --no-kdh -f "$T/junk"
wait_dumps "$F" 4
wait_log "retention: removed dump 2 of ${F//./\\.} \\(${F//./\\.}/vmcore\\.2\\.incomplete .*keep_per_client = 2: incomplete" 10
assert_no_log "retention: removed dump [01] of ${F//./\\.} " "complete dumps of $F must stay"
assert_eq "$(numbers "$DF")" "0 1 3" "dumps of $F after two junk dumps"
for n in 0 1; do
	assert_file "$DF/info.$n"
	assert_file "$DF/manifest.$n.json"
	assert_eq "$(jget "$DF/manifest.$n.json" .status)" complete "status of dump $n of $F"
done
assert_same_bytes "$DF/vmcore.0" "$T/sentF0"
assert_same_bytes "$DF/vmcore.1" "$T/sentF1"
assert_no_file "$DF/vmcore.2.incomplete"
assert_no_file "$DF/info.2"
assert_no_file "$DF/manifest.2.json"
assert_symlink "$DF/vmcore.last" vmcore.1
pass "keep_per_client = 2, two complete dumps of $F then two junk dumps: both complete dumps (vmcore, info, manifest) stay, the first junk dump is removed"
send_dump 0 "$F" -q -g 1M -s 370 -o "$T/sentF4"
wait_dumps "$F" 5
wait_log "retention: removed dump 3 of ${F//./\\.} .*keep_per_client = 2: incomplete" 10
wait_log "retention: removed dump 0 of ${F//./\\.} .*keep_per_client = 2: the oldest of the client's 3 complete dumps" 10
assert_eq "$(numbers "$DF")" "1 4" "dumps of $F after a complete one"
assert_same_bytes "$DF/vmcore.1" "$T/sentF1"
assert_same_bytes "$DF/vmcore.4" "$T/sentF4"
pass "the next complete dump of $F removes the last junk dump first, then the oldest complete one: dumps 1 and 4 remain"

# A kernel dump header whose dumplength is 2^64 - 1 (parity right): the
# manifest writes it, and the coverage it sets, as a string, since JSON
# readers such as the server's own (jansson) refuse a document with an
# integer past 2^63 - 1. So retention reads that manifest, and the junk
# goes like any incomplete dump; with the number written as a number it
# was never removed.
G=$(client_addr 6)
DG=$(client_dir "$G")
python3 "$ND_LIBDIR/../faults/ndfault.py" dump "$PORT" "$G" "$T/sentG0" \
    --size 65536 --dumplength 18446744073709551615 >/dev/null ||
	fail "ndfault.py dump with a dumplength of 2^64 - 1"
wait_manifest "$DG" 0
MG=$DG/manifest.0.json
assert_eq "$(jq -r '.kdh.dumplength | type' "$MG")" string "type of a dumplength past 2^63 - 1"
assert_eq "$(jget "$MG" .kdh.dumplength)" 18446744073709551615 "dumplength"
assert_eq "$(jget "$MG" .coverage.expected)" 18446744073709551615 "coverage.expected"
assert_eq "$(jq -r '.kdh.dumptime | type' "$MG")" number "type of dumptime"
assert_eq "$(jget "$MG" .status)" incomplete "status with a dumplength of 2^64 - 1"
send_dump 0 "$G" -q -g 1M -s 371
wait_manifest "$DG" 1
send_dump 0 "$G" -q -g 1M -s 372
wait_manifest "$DG" 2
wait_log "retention: removed dump 0 of ${G//./\\.} .*keep_per_client = 2: incomplete" 10
assert_eq "$(numbers "$DG")" "1 2" "dumps of $G"
pass "a dumplength of 2^64 - 1 is written as a string; that dump's manifest is read and it goes as incomplete"
stop_server

# ---------------------------------------------------------------- total
rm -rf "${DUMPDIR:?}"
file_sink_conf "max_total_size = 5M"
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

# The dump that ends is never removed by its own retention, and an
# incomplete dump never pushes a complete one out: when the open dump of
# $C times out (3 MiB, incomplete) the total is 7 MiB, over 5M, but the
# complete dumps alone take 4 MiB, so nothing goes.
wait_dumps "$C" 1 $((TO + 10))
wait_manifest "$DC" 0
assert_file "$DC/vmcore.0.incomplete"
assert_file "$O/vmcore.0.incomplete"
assert_no_log "retention: .*${C//./\\.}/vmcore" "the dump of $C must stay"
assert_no_log "retention: removed dump 1 of " "the complete dumps must stay"
assert_eq "$(numbers "$DA")/$(numbers "$DB")/$(numbers "$DC")" "1/1/0" "dumps of $A/$B/$C after $C ended"
pass "when the open dump of $C times out it stays, and the complete dumps of $A and $B stay too: they alone fit in 5M"

# Junk from $A (2 MiB without a kernel dump header, incomplete) cannot
# evict $B's complete dump: the oldest incomplete dump, $C's, goes, then
# $A's first junk dump when the second ends; the complete ones stay.
send_dump 0 "$A" -q -g 2M -z 0 -s 375 --no-kdh
wait_dumps "$A" 3
wait_log "retention: removed dump 0 of ${C//./\\.} \\(${C//./\\.}/vmcore\\.0\\.incomplete .*max_total_size = 5\\.0 MiB: incomplete, and 9\\.[0-9] MiB were stored" 10
assert_file "$DA/vmcore.2.incomplete"
send_dump 0 "$A" -q -g 2M -z 0 -s 376 --no-kdh
wait_dumps "$A" 4
wait_log "retention: removed dump 2 of ${A//./\\.} \\(${A//./\\.}/vmcore\\.2\\.incomplete .*max_total_size = 5\\.0 MiB: incomplete" 10
assert_no_log "retention: removed dump 1 of " "the complete dumps must stay"
assert_eq "$(numbers "$DA")/$(numbers "$DB")/$(numbers "$DC")" "1 3/1/" "dumps of $A/$B/$C after two junk dumps of $A"
assert_same_bytes "$DA/vmcore.1" "$T/sentA1"
assert_same_bytes "$DB/vmcore.1" "$T/sentB1"
assert_file "$DB/info.1"
assert_file "$DB/manifest.1.json"
assert_file "$DA/vmcore.3.incomplete"
assert_file "$O/vmcore.0.incomplete"
pass "max_total_size = 5M: two 2M junk dumps of $A remove $C's incomplete dump and $A's first junk dump, never $B's (or $A's) complete dump"

# A complete dump of $B: the junk goes first, then complete dumps, oldest
# first, while the complete ones alone are over 5M.
send_dump 0 "$B" -q -g 2M -z 0 -s 377 -o "$T/sentB2"
wait_dumps "$B" 3
wait_log "retention: removed dump 3 of ${A//./\\.} .*max_total_size = 5\\.0 MiB: incomplete" 10
wait_log "retention: removed dump 1 of ${A//./\\.} .*max_total_size = 5\\.0 MiB: the oldest complete dump, and complete dumps took 6\\.[0-9] MiB" 10
assert_eq "$(numbers "$DA")/$(numbers "$DB")" "/1 2" "dumps of $A/$B after $B's third"
assert_same_bytes "$DB/vmcore.1" "$T/sentB1"
assert_same_bytes "$DB/vmcore.2" "$T/sentB2"
pass "a complete dump of $B then removes $A's junk dump first, and only then the oldest complete dump ($A's)"
stop_server

# ---------------------------------------------------------------- names
# The sink's "dir", relative in UTF-8 and absolute: the manifest records
# where each file went as "where" spells it, in UTF-8 as it is, and
# retention finds the files it removes. Retention used to look for the
# files under the path from the sink's directory, not from the dump
# directory, and (for the UTF-8 name) to read back "\u00c3\u0084rger"
# for the name: it removed the manifest, and the vmcore and info stayed
# for good.
H=$(client_addr 7)
k=0
for U in "$(printf '\303\204rger')" "$T/elsewhere/"; do
	rm -rf "${DUMPDIR:?}"
	case $U in
	/*) B=${U%/} W=${U%/} ;;
	*) B=$DUMPDIR/$U W=$U ;;
	esac
	mkdir -p "$B"
	file_sink_conf "keep_per_client = 1" "dir = $U"
	start_server -c "$T/server.ini"
	send_dump 0 "$H" -q -g 1M -s $((378 + k))
	wait_manifest "$B/$H" 0
	assert_eq "$(jq -r '.objects[] | select(.kind == "vmcore") | .stored.local' "$B/$H/manifest.0.json")" \
	    "$W/$H/vmcore.0" "where the manifest says the vmcore is (dir = $U)"
	send_dump 0 "$H" -q -g 1M -s $((379 + k)) -o "$T/sentH$k"
	wait_manifest "$B/$H" 1
	wait_log "retention: removed dump 0 of ${H//./\\.} .*keep_per_client = 1" 10
	assert_eq "$(ls "$B/$H" | grep -c '\.0')" 0 "files of dump 0 left in $B/$H"
	assert_same_bytes "$B/$H/vmcore.1" "$T/sentH$k"
	pass "dir = $U: the manifest says where as the sink spells it, and retention removes the whole dump"
	stop_server
	k=$((k + 2))
done

# ---------------------------------------------------------------- nested
# Two file sinks, one inside the other's directory: "local" keeps one
# dump per client, "keepall" (dir = keep, beneath it) every dump. Each
# stores its own copy and its own manifest; local's retention must not
# take keepall's copies for dumps of its own (it removed them, and
# counted every dump twice).
rm -rf "${DUMPDIR:?}"
mkdir -p "$DUMPDIR/keep"
file_sink_conf "keep_per_client = 1" "" "[sink keepall]" "module = file" \
    "dir = keep" "" "[route default]" "path = *" "sink = local, keepall"
start_server -c "$T/server.ini"
H=$(client_addr 8)
for n in 0 1 2; do
	send_dump 0 "$H" -q -g 1M -s $((390 + n)) -o "$T/sentK$n"
	wait_manifest "$DUMPDIR/keep/$H" "$n"
	wait_manifest "$DUMPDIR/$H" "$n"
done
wait_log "retention: removed dump 1 of ${H//./\\.} .*keep_per_client = 1" 10
assert_eq "$(numbers "$DUMPDIR/$H")" "2" "dumps local keeps"
assert_eq "$(numbers "$DUMPDIR/keep/$H")" "0 1 2" "dumps keepall keeps"
for n in 0 1 2; do
	assert_same_bytes "$DUMPDIR/keep/$H/vmcore.$n" "$T/sentK$n"
done
assert_no_log "retention: removed .*keep/" "a removal in keepall's directory"
pass "a file sink inside another's directory: the outer one's keep_per_client = 1 leaves the inner one's three dumps alone"
stop_server

# ---------------------------------------------------------------- archive
# archive | local: the manifest beside each tarball names it (the host
# adds its place once the transform has made it), so retention removes
# the tarball with its manifest. It used to remove the manifest alone,
# and the tarballs stayed for good.
rm -rf "${DUMPDIR:?}"
file_sink_conf "keep_per_client = 1" "" "[sink arz]" "module = archive" \
    "" "[route default]" "path = *" "sink = arz | local"
start_server -c "$T/server.ini"
H=$(client_addr 9)
for n in 0 1 2; do
	send_dump 0 "$H" -q -g 1M -s $((395 + n))
	wait_manifest "$DUMPDIR/$H" "$n"
done
wait_log "retention: removed dump 1 of ${H//./\\.} .*dump\\.1\\.tar\\.zst" 10
assert_eq "$(ls "$DUMPDIR/$H" | grep -v '^bounds$' | paste -sd' ')" \
    "dump.2.tar.zst manifest.2.json" "files left of three archived dumps"
pass "archive | local, keep_per_client = 1: each dump's tarball goes with its manifest"
stop_server

finish
