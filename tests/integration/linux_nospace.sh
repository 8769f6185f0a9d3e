#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A Linux netdump dump (Red Hat's protocol, netdump-linux as the RHEL 4
# kernel's drivers/net/netdump.c answers) into a dump directory that runs
# out of room: a 16 MiB tmpfs and 32 MiB of memory. Without min_free the
# write fails with ENOSPC; with min_free the floor is crossed while the
# server pulls pages. Either way the server asks for no more pages and
# reboots the client, as Red Hat's server did, what was written is kept as
# vmcore-incomplete (the name Red Hat's server gives a dump it did not
# finish), the log says why, a FreeBSD client is served meanwhile, and
# once there is room again the next Linux dump is whole.
set -euo pipefail
NET=149
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root for tmpfs"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

LINUX=$(dirname "$ND_SEND")/netdump-linux
ELFCHECK="python3 $(dirname "$0")/elfcheck.py"
[ -x "$LINUX" ] || fail "no $LINUX"
LPORT=$(free_port)
# 32 MiB of 4 KiB frames, sent with no zero page (-z 0): zero pages
# become holes, which take no room on the disk.
PAGES=8192

write_conf() {	# extra [server] lines...
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		echo "linux_port = $LPORT"
		echo "timeout = 3"
		for l in "$@"; do echo "$l"; done
	} >"$T/server.ini"
}

linux() {	# CLIENT [netdump-linux options...]: its exit status
	local n=$1 rc=0

	shift
	timeout -k 5 $((120 * WAIT_SCALE)) "$LINUX" -b "$(client_addr "$n"):6666" \
	    --timeout 10 "$@" "127.0.0.1:$LPORT" >"$T/linux.$n.log" 2>&1 || rc=$?
	echo "$rc"
}

core_dir() {	# CLIENT: its newest directory
	ls -d "$DUMPDIR/$(client_addr "$1")"-* 2>/dev/null | sort | tail -1
}

# ------------------------------------------------------------ full disk
tmpfs_mount "$DUMPDIR" 16M
write_conf
start_server -c "$T/server.ini"
A=$(client_addr 1)
arc=$(linux 1 -n "$PAGES" -z 0 -s 31)
wait_log "^[0-9:.]+ dump [0-9]+ from ${A//./\\.} (complete|incomplete): " 30
assert_log "dump [0-9]+: sink local: write: vmcore-incomplete: write at offset [0-9]+: No space left on device" "write error line"
D=$(core_dir 1)
[ -n "$D" ] || fail "no directory for $A"
assert_file "$D/vmcore-incomplete"
assert_no_file "$D/vmcore"
assert_log "^[0-9:.]+ dump [0-9]+ from ${A//./\\.} incomplete: " "outcome line of a dump that did not fit"
assert_log "dump [0-9]+ from ${A//./\\.} incomplete: .*stored by 0 of 1 sinks" "the outcome says no sink stored it"
assert_log "linux dump [0-9]+ from ${A//./\\.}: [0-9]+ pages, 0 not RAM, [1-9][0-9]* missing" "pulling stopped once no sink could store more"
kept=$(size_of "$D/vmcore-incomplete")
assert_gt "$kept" 0 "bytes kept of the dump that did not fit"
pass "full disk: ENOSPC logged, no more pages asked for, the $kept bytes written kept as vmcore-incomplete, labelled incomplete (client exit $arc)"

# The daemon keeps serving: a FreeBSD dump, small enough once the Linux
# one is gone.
rm -rf "$D"
B=$(client_addr 2)
send_dump 0 "$B" -q -g 4M -s 32 -o "$T/sent2"
wait_manifest "$(client_dir "$B")" 0
assert_manifest "$(client_dir "$B")/manifest.0.json" complete "$T/sent2"
assert_same_bytes "$(client_dir "$B")/vmcore.0" "$T/sent2"
pass "after the full disk, a FreeBSD client's 4M dump is stored whole"

# And a Linux one that fits is whole.
C=$(client_addr 3)
crc=$(linux 3 -n 1024 -s 33 --image-out "$T/image3" --regs-out "$T/regs3")
assert_eq "$crc" 0 "netdump-linux exit of a dump that fits"
wait_log "^[0-9:.]+ dump [0-9]+ from ${C//./\\.} complete: " 30
D=$(core_dir 3)
assert_file "$D/vmcore"
$ELFCHECK "$D/vmcore" "$T/image3" "$T/regs3" || fail "the core that fits differs"
assert_eq "$(jget "$D/manifest.json" .status)" complete "status of the dump that fits"
pass "once there is room, a 4 MiB Linux dump is whole"
stop_server

# ------------------------------------------------------------ min_free
# The floor, 8 MiB of the 16: crossed while the pages come. The server
# pulls no more pages, keeps what it has and reboots the client.
rm -rf "${DUMPDIR:?}"/*
write_conf "min_free = 8M"
start_server -c "$T/server.ini"
E=$(client_addr 4)
erc=$(linux 4 -n "$PAGES" -z 0 -s 34)
wait_log "^[0-9:.]+ dump [0-9]+ from ${E//./\\.} (complete|incomplete): " 30
assert_log "dump [0-9]+: [0-9]+ bytes free, below min_free \\(8388608\\)" "min_free line"
assert_log "linux dump [0-9]+ from ${E//./\\.}: [0-9]+ pages, 0 not RAM, [1-9][0-9]* missing" "pulling stopped short"
D=$(core_dir 4)
[ -n "$D" ] || fail "no directory for $E"
assert_file "$D/vmcore-incomplete"
assert_no_file "$D/vmcore"
wait_file "$D/manifest.json"
assert_eq "$(jget "$D/manifest.json" .status)" incomplete "status of a dump given up below min_free"
assert_match "$(jget "$D/manifest.json" .reason)" "min_free" "reason of a dump given up below min_free"
free=$(df -B1 --output=avail "$DUMPDIR" | tail -1 | tr -d ' ')
# The floor is looked at again before half the room above it can go, and
# at least every MiB: at most a MiB below it, then the info and manifest.
assert_gt "$free" $((6 << 20)) "bytes left free on the dump directory"
pass "below min_free while pulling: $(size_of "$D/vmcore-incomplete") bytes kept as vmcore-incomplete, manifest incomplete ('$(jget "$D/manifest.json" .reason)'), $free bytes still free (client exit $erc)"
stop_server
finish
