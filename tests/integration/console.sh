#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The Linux port (linux_port): console text of Linux clients, sent by
# netdump-linux as RHEL 4's netconsole.ko sends netlog (REPLY_LOG, the
# running offset) and as mainline netconsole sends plain and extended
# text (Documentation/networking/netconsole.rst: release prefix, ncfrag
# fragments), lands in <client-ip>-YYYY-MM-DD-HH:MM/log, byte for byte;
# an oops or panic is logged; a boot sign within a minute of a client's
# directory stays in it (a new boot a minute later gets one of its own,
# as unit.test_console checks with its own clock); a lossy
# netlog is marked where text is missing; the log rotates at
# console_log_size; allow/deny decide who may send; below min_free,
# console text is not stored. Linux crash dumps: linux_dump.sh.
set -euo pipefail
NET=141
. "$(dirname "$0")/lib.sh"

LINUX=$(dirname "$ND_SEND")/netdump-linux
[ -x "$LINUX" ] || fail "no $LINUX"
LPORT=$(free_port)
{
	echo "[server]"
	echo "sink_dir = $ND_SINK_DIR"
	echo "linux_port = $LPORT"
	echo "console_log_size = 4096"
	echo "console_log_keep = 2"
	echo "deny = $(client_addr 9)/32"
} >"$T/server.ini"
start_server -c "$T/server.ini"

# What a RHEL 4 kernel prints when it oopses (the text of a panic).
cat >"$T/oops.txt" <<'EOF'
Linux version 2.6.9-89.ELsmp (mockbuild@x86-005.build.bos.redhat.com)
[...network console startup...]
Unable to handle kernel NULL pointer dereference at 0000000000000000 RIP:
<ffffffffa00e2113>{:ext3:ext3_get_blocks_handle+147}
Call Trace:<ffffffff80132a6b>{do_page_fault+575}
Kernel panic - not syncing: Oops
EOF

console() {	# CLIENT FORMAT [netdump-linux options...]
	local n=$1 fmt=$2

	shift 2
	"$LINUX" -b "$(client_addr "$n"):0" --console "$T/oops.txt" \
	    --format "$fmt" "$@" "127.0.0.1:$LPORT" ||
	    fail "netdump-linux --format $fmt exited $?"
}

logs_of() {	# CLIENT: its directories, oldest first
	ls -d "$DUMPDIR/$(client_addr "$1")"-* 2>/dev/null | sort || true
}

has_dir() {	# CLIENT
	[ -n "$(logs_of "$1")" ]
}

log_of() {	# CLIENT: the log of its newest directory, once there is one
	poll 10 has_dir "$1" ||
	    fail "no directory for $(client_addr "$1") after 10 s (x$WAIT_SCALE)"
	echo "$(logs_of "$1" | tail -1)/log"
}

has_bytes() {	# FILE BYTES: read anew at every try of poll
	[ "$(size_of "$1" 2>/dev/null || echo 0)" -ge "$2" ]
}

wait_bytes() {	# FILE BYTES
	poll 10 has_bytes "$1" "$2" ||
	    fail "$1: fewer than $2 bytes after 10 s"
}

A=$(client_addr 1)
B=$(client_addr 2)

# netlog in 20-byte chunks: the text as it is.
console 1 netlog --chunk 20
wait_log "console: ${A//./\\.}: new boot, console text in ${A//./\\.}-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}:[0-9]{2}/log" 10
wait_bytes "$(log_of 1)" "$(size_of "$T/oops.txt")"
assert_same_bytes "$(log_of 1)" "$T/oops.txt"
wait_log "console: ${A//./\\.}: Unable to handle kernel NULL pointer dereference" 10
pass "netlog: $(basename "$(dirname "$(log_of 1)")")/log is the text byte for byte, and the oops is logged"

# Mainline netconsole, plain: a datagram per line.
console 3 plain
wait_bytes "$(log_of 3)" "$(size_of "$T/oops.txt")"
assert_same_bytes "$(log_of 3)" "$T/oops.txt"
pass "plain netconsole: the text byte for byte"

# Extended, with a release in front and 16-byte ncfrag fragments: each
# message whole, after its timestamp (netdump-linux sends usec 1000000 +
# 1000 * seq).
console 2 ext --chunk 16 --release 6.1.0-28-amd64
awk '{ printf "[%5d.%06d] %s\n", 1, (NR - 1) * 1000, $0 }' "$T/oops.txt" \
    >"$T/ext.want"
wait_bytes "$(log_of 2)" "$(size_of "$T/ext.want")"
assert_same_bytes "$(log_of 2)" "$T/ext.want"
pass "extended netconsole: fragments reassembled, one line per message with its time"

# The same kernel starts again (its sequence numbers start over) within
# a minute of its directory: no directory of its own (a client cannot
# make one per datagram), but its text goes on in the same log after a
# line that says so, not taken for copies. A boot a minute later gets a
# directory of its own: unit.test_console, with its own clock.
console 2 ext --chunk 16 --release 6.1.0-28-amd64
{
	cat "$T/ext.want"
	echo "[netdump-server: the client's console started over]"
	cat "$T/ext.want"
} >"$T/ext.twice"
wait_bytes "$(log_of 2)" "$(size_of "$T/ext.twice")"
assert_eq "$(logs_of 2 | wc -l)" 1 "directories of $B after a second start within a minute"
assert_same_bytes "$(log_of 2)" "$T/ext.twice"
pass "a restart of $B within a minute of its directory: the same log, both texts whole, the restart marked"

# A lossy netlog: what came is kept, and where text is missing says so.
"$LINUX" -b "$(client_addr 4):0" --console "$T/oops.txt" --format netlog \
    --chunk 16 --loss 0.3 --seed 11 "127.0.0.1:$LPORT" || fail "lossy netlog"
wait_file "$(log_of 4)" 10
poll 10 grep -q "bytes of console text missing here" "$(log_of 4)" ||
    fail "no missing-text marker in $(log_of 4)"
grep -v '^\[netdump-server: ' "$(log_of 4)" | tr -d '\n' >"$T/kept"
tr -d '\n' <"$T/oops.txt" >"$T/all"
python3 - "$T/kept" "$T/all" <<'EOF' || fail "the lossy log holds text that was not sent"
import sys
kept = open(sys.argv[1], "rb").read()
sent = open(sys.argv[2], "rb").read()
# What was kept is the sent text with pieces left out, in order.
i = 0
for b in kept:
    i = sent.find(bytes([b]), i)
    if i < 0:
        sys.exit(1)
    i += 1
EOF
pass "lossy netlog: the chunks that came, in order, and a marker where text is missing"

# Rotation at console_log_size = 4096, two old logs kept.
python3 -c 'import sys
for i in range(600): sys.stdout.write("line %04d of a long boot log\n" % i)' \
    >"$T/long.txt"
"$LINUX" -b "$(client_addr 5):0" --console "$T/long.txt" --format plain \
    "127.0.0.1:$LPORT" || fail "long plain"
D5=$(dirname "$(log_of 5)")
poll 10 grep -q "line 0599" "$D5/log" || fail "the last line never came"
assert_file "$D5/log.1"
assert_file "$D5/log.2"
assert_no_file "$D5/log.3"
for f in log log.1 log.2; do
	assert_le "$(size_of "$D5/$f")" 4096 "size of $f"
done
cat "$D5/log.2" "$D5/log.1" "$D5/log" >"$T/rotated"
assert_eq "$(tail -c "$(size_of "$T/rotated")" "$T/long.txt" | sha256sum)" \
    "$(sha256sum <"$T/rotated")" "the kept logs are the end of the text"
pass "rotation at 4096 bytes: log, log.1 and log.2, which together end the text"

# allow/deny: a denied client stores nothing; the log counts it.
console 9 plain
wait_log "linux port: ignored [0-9]+ datagrams from clients allow/deny refuses \\(the last from $(client_addr 9 | sed 's/\./\\./g')\\)" 15
assert_eq "$(logs_of 9 | wc -l)" 0 "directories of the denied client"
pass "a denied client: nothing stored, counted in the log"

stop_server

# Below min_free, console text waits: the room is for dumps.
sed -i 's/^deny = .*/min_free = 99%/' "$T/server.ini"
start_server -c "$T/server.ini"
sleep 2
console 7 plain
wait_log "linux port: [0-9]+ bytes of console text not stored: the dump directory is below min_free" 15
assert_eq "$(logs_of 7 | wc -l)" 0 "directories of a client heard below min_free"
pass "below min_free: console text is not stored, and the log says so"
stop_server
finish
