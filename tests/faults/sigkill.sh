#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The server is killed with SIGKILL in the middle of a dump (no chance to
# close it) and restarted on the same dump directory. What is on disk is
# named incomplete, no manifest or info claims it complete, every byte on
# disk is a byte that was sent (or a hole of zeros); the restarted server
# serves again, numbers its next dump past the dead one (bounds) and
# leaves the dead one's files alone. The manifest the file sink wrote at
# the dump's begin, manifest.0.json.unfinished, says the dump never
# ended; --list shows it so, and once keep_per_client is set the dead
# dump is one of its client's, the first to go (all its files). An
# encrypted dump killed in the middle has its key stored already. Through
# the archive transform (whose tarball can only be written at the end),
# the vmcore spooled so far and the key are kept, as
# <addr>-<date>.incomplete, by the next start.
set -euo pipefail
NET=162
. "$(dirname "$0")/../integration/lib.sh"

start_server --timeout 30
A=$(client_addr 1)
D=$(client_dir "$A")

# A slow client: 64 MiB at 20 % loss with 200 ms rounds takes minutes.
send_bg "$A" -q -g 64M -s 421 -t 200 -r 40 --loss 0.2 -o "$T/sent"
CPID=$BG_PID
wait_file "$D/vmcore.0.incomplete" 30
# Let some of it reach the disk (the file sink writes 256 KiB blocks).
_grown() {
	[ "$(size_of "$D/vmcore.0.incomplete")" -ge $((1 << 20)) ]
}
poll 60 _grown || fail "vmcore.0.incomplete did not reach 1 MiB"
kill_server_mid_dump "$CPID"
pass "SIGKILL with dump 0 at $(size_of "$D/vmcore.0.incomplete") bytes on disk"

ls -la "$D" >"$T/after-kill.ls"
assert_file "$D/vmcore.0.incomplete"
assert_no_file "$D/vmcore.0"
assert_no_file "$D/vmcore.last"
for m in "$D"/manifest.*.json; do
	[ -e "$m" ] || continue
	[ "$(jget "$m" .status)" != complete ] || fail "$m claims complete after SIGKILL"
done
if [ -s "$D/info.0" ]; then
	! grep -q "Dump Status: good" "$D/info.0" || fail "info.0 says good after SIGKILL"
fi
pass "after SIGKILL: vmcore.0.incomplete, no vmcore.0, no vmcore.last, nothing claims complete"

assert_no_file "$D/manifest.0.json"
assert_file "$D/manifest.0.json.unfinished"
assert_eq "$(jget "$D/manifest.0.json.unfinished" .status)" unfinished "status of the manifest of begin"
assert_eq "$(jget "$D/manifest.0.json.unfinished" .number)" 0 "its number"
assert_eq "$(jget "$D/manifest.0.json.unfinished" .client.address)" "$A" "its client"
"$ND_SERVER" -d "$DUMPDIR" --list --json >"$T/list.json" 2>"$T/list.err" ||
	fail "--list after SIGKILL: $(cat "$T/list.err")"
assert_eq "$(jq -r --arg a "$A" '[.[] | select(.client == $a) | .status] | join(",")' "$T/list.json")" \
    unfinished "--list after SIGKILL"
pass "the killed dump's manifest.0.json.unfinished says so; --list shows it unfinished"

# Every stored byte is the byte sent at that offset, or a hole (zeros).
assert_sent_or_holes "$D/vmcore.0.incomplete" "$T/sent"
SUM0=$(sha_of "$D/vmcore.0.incomplete")
pass "every page on disk is as sent or a hole"

# Restart on the same directory (a new port: the old one may linger).
start_server --timeout 30
send_dump 0 "$A" -q -g 4M -s 422 -o "$T/sent2"
wait_manifest "$D" 1
wait_dumps "$A" 1
assert_manifest "$D/manifest.1.json" complete "$T/sent2"
assert_same_bytes "$D/vmcore.1" "$T/sent2"
assert_symlink "$D/vmcore.last" vmcore.1
assert_eq "$(head -1 "$D/bounds")" 2 "bounds after the second dump"
pass "the restarted server serves: dump 1 complete and byte-identical, bounds 2"

assert_file "$D/vmcore.0.incomplete"
assert_eq "$(sha_of "$D/vmcore.0.incomplete")" "$SUM0" "the killed dump's bytes"
assert_no_file "$D/vmcore.0"
if [ -e "$D/manifest.0.json" ]; then
	[ "$(jget "$D/manifest.0.json" .status)" != complete ] ||
		fail "manifest.0.json claims complete after the restart"
fi
pass "the killed dump is untouched by the restart and still named incomplete"
assert_file "$D/manifest.0.json.unfinished"
assert_no_file "$D/manifest.1.json.unfinished"
stop_server
pass "server exited 0 on SIGTERM"

# With keep_per_client = 1 the dead dump counts, and goes first: dump 2
# leaves only itself.
file_sink_conf "keep_per_client = 1"
start_server -c "$T/server.ini" --timeout 30
send_dump 0 "$A" -q -g 1M -s 423 -o "$T/sent3"
wait_manifest "$D" 2
wait_dumps "$A" 1
wait_log "retention: removed dump 0 of ${A//./\\.} .*keep_per_client = 1: unfinished" 10
wait_log "retention: removed dump 1 of ${A//./\\.} .*keep_per_client = 1: the oldest" 10
left=$(ls "$D" | paste -sd' ')
assert_eq "$left" "bounds info.2 info.last manifest.2.json manifest.last.json vmcore.2 vmcore.last" "files after dump 2"
assert_same_bytes "$D/vmcore.2" "$T/sent3"
pass "keep_per_client = 1: the killed dump went first, whole ($left)"
stop_server

# An encrypted dump: a FreeBSD 13+ kernel sends its key right after the
# HERALD "so a partial dump is still usable" (netdump_client.c,
# netdump_start); killed in the middle, the server has stored it already,
# byte for byte, beside the vmcore cut short.
B=$(client_addr 2)
DB=$(client_dir "$B")
start_server --timeout 30
send_bg "$B" -q -g 64M -s 424 -t 200 -r 40 --loss 0.2 --ekcd aes256-cbc \
    --key-out "$T/key.sent" -o "$T/sent4"
CPID=$BG_PID
D=$DB
wait_file "$D/vmcore.0.incomplete" 30
poll 60 _grown || fail "the encrypted dump's vmcore.0.incomplete did not reach 1 MiB"
kill_server_mid_dump "$CPID"
assert_file "$DB/key.0"
assert_same_bytes "$DB/key.0" "$T/key.sent"
assert_sent_or_holes "$DB/vmcore.0.incomplete" "$T/sent4"
assert_no_file "$DB/vmcore_encrypted.0"
pass "SIGKILL in the middle of an encrypted dump: key.0 is the key sent ($(size_of "$T/key.sent") bytes), beside vmcore.0.incomplete"

# archive | local: until the end the dump is in the archive's spool, a
# hidden folder of the dump directory (spool_dir's default).
C=$(client_addr 3)
cat >"$T/archive.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR

[sink arz]
module = archive

[sink local]
module = file
fsync = no

[route default]
path = *
sink = arz | local
INI
start_server -c "$T/archive.ini" --timeout 30
send_bg "$C" -q -g 64M -s 425 -t 200 -r 40 --loss 0.2 --ekcd aes256-cbc \
    --key-out "$T/key5.sent" -o "$T/sent5"
CPID=$BG_PID
# Bytes on disk, not the length: one late packet far out makes that.
allocated() {	# FILE
	echo $(($(stat -c %b "$1") * $(stat -c %B "$1")))
}
_spooled() {
	local f

	for f in "$DUMPDIR"/.archive-*/vmcore; do
		[ -f "$f" ] && [ "$(allocated "$f")" -ge $((1 << 20)) ] && return 0
	done
	return 1
}
poll 60 _spooled || fail "the archive's spool did not reach 1 MiB"
kill_server_mid_dump "$CPID"
start_server -c "$T/archive.ini" --timeout 30
wait_log "a dump cut short by the server's end is kept as ${C//./\\.}-[0-9]{8}-[0-9]{6}\\.incomplete in the dump directory, never archived: vmcore_encrypted \\([0-9]+ bytes long\\) and its key" 10
K=$(find "$DUMPDIR" -maxdepth 1 -name "$C-*.incomplete")
assert_eq "$(echo "$K" | wc -l)" 1 "folders kept for $C"
assert_same_bytes "$K/key" "$T/key5.sent"
assert_sent_or_holes "$K/vmcore_encrypted" "$T/sent5"
assert_ge "$(allocated "$K/vmcore_encrypted")" $((1 << 20)) "bytes kept"
assert_eq "$(find "$DUMPDIR" -maxdepth 1 -name '.archive-*' | wc -l)" 0 "spool folders left"
pass "SIGKILL through archive | local: the next start keeps $(size_of "$K/vmcore_encrypted") bytes of the vmcore and the key in $(basename "$K")"
send_dump 0 "$C" -q -g 1M -s 426 -o "$T/sent6"
wait_dumps "$C" 1
assert_eq "$(find "$DUMPDIR" -maxdepth 1 -name '.archive-*' | wc -l)" 0 "spool folders after a dump"
pass "the restarted server archives the next dump and leaves no spool folder"
stop_server
finish
