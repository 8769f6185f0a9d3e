#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Linux netdump dumps (Red Hat's protocol, linux_port), sent by
# netdump-linux as the RHEL 4 kernel's drivers/net/netdump.c answers:
# the server asks for every page frame, skips what REPLY_RESERVED says is
# not RAM, and stores an ELF core that crash opens (crash's netdump.c,
# is_netdump: ET_CORE, PT_NOTE first, page-aligned PT_LOADs) in Red Hat's
# layout, in the client's boot directory beside its console log. Checked
# with elfcheck.py (every RAM frame equal to the memory sent, NT_PRSTATUS
# holding the registers sent) and readelf. Also: loss and duplicates,
# i386, a zstd chain (which keeps the provisional one-segment header), a
# FreeBSD dump at the same time, 16 and 64 KiB pages (ia64's), a client
# that dies, secure mode's cookie (<dumpdir>/magic/<ip>), netdump-crash
# saying no, a client that claims more memory than max_dump_size, replies
# nobody asked for, and a panic on a console with no dump after it
# (netdump-crash as a notice), 17 of them at once.
set -euo pipefail
NET=142
. "$(dirname "$0")/lib.sh"

LINUX=$(dirname "$ND_SEND")/netdump-linux
ELFCHECK="python3 $(dirname "$0")/elfcheck.py"
[ -x "$LINUX" ] || fail "no $LINUX"
# 256 MiB of 4 KiB pages; under valgrind (20 times slower) 8 MiB.
PAGES=65536 PAGES3=16384 FBSD=64M
if [ "$WAIT_SCALE" -ge 20 ]; then
	PAGES=2048 PAGES3=2048 FBSD=4M
fi
LPORT=$(free_port)
write_conf() {	# extra [server] lines...
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		echo "linux_port = $LPORT"
		echo "timeout = 5"
		for l in "$@"; do echo "$l"; done
		echo "[sink local]"
		echo "module = file"
		echo "[sink z]"
		echo "module = zstd"
		echo "[route both]"
		echo "path = *"
		echo "client = $(client_addr 3)/32"
		echo "sink = local, z | local"
		echo "[route default]"
		echo "path = *"
		echo "sink = local"
	} >"$T/server.ini"
}

linux() {	# WANT-RC CLIENT [netdump-linux options...]
	local want=$1 n=$2 rc=0

	shift 2
	timeout -k 5 $((120 * WAIT_SCALE)) "$LINUX" -b "$(client_addr "$n"):6666" \
	    "$@" "127.0.0.1:$LPORT" >"$T/linux.$n.log" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$T/linux.$n.log" >&2
		fail "netdump-linux from $(client_addr "$n") $* exited $rc, expected $want"
	fi
}

boot_dirs() {	# CLIENT: its directories, oldest first
	ls -d "$DUMPDIR/$(client_addr "$1")"-* 2>/dev/null | sort || true
}

core_of() {	# CLIENT: its newest directory with a manifest
	local d

	poll 20 sh -c "ls '$DUMPDIR/$(client_addr "$1")'-*/manifest.json >/dev/null 2>&1" ||
	    fail "no manifest for $(client_addr "$1") after 20 s"
	# By directory, in version order: a second dump in the same minute is
	# "<minute>-1", which sorts before "<minute>/manifest.json" as a path.
	for d in "$DUMPDIR/$(client_addr "$1")"-*/manifest.json; do
		dirname "$d"
	done | sort -V | tail -1
}

write_conf
start_server -c "$T/server.ini"
A=$(client_addr 1)

# What a RHEL 4 kernel prints when it oopses, by mainline's extended
# netconsole; then the kernel crashes and dumps.
cat >"$T/oops.txt" <<'EOF'
Unable to handle kernel NULL pointer dereference at 0000000000000000 RIP:
<ffffffffa00e2113>{:ext3:ext3_get_blocks_handle+147}
Kernel panic - not syncing: Oops
EOF
"$LINUX" -b "$A:6665" --console "$T/oops.txt" --format ext \
    "127.0.0.1:$LPORT" || fail "netconsole text"
wait_log "console: ${A//./\\.}: .*Unable to handle kernel" 10
HOLES=160-256,$((PAGES / 2))-$((PAGES / 2 + PAGES / 32))
linux 0 1 -n "$PAGES" --loss 0.02 --dup 0.01 --holes "$HOLES" -s 5 \
    --image-out "$T/image1" --regs-out "$T/regs1"
D=$(core_of 1)
assert_eq "$(boot_dirs 1 | wc -l)" 1 "directories of $A (console and dump share one)"
assert_file "$D/log"
assert_file "$D/vmcore"
assert_no_file "$D/vmcore-incomplete"
$ELFCHECK "$D/vmcore" "$T/image1" "$T/regs1" --loads 3 --holes "$HOLES" ||
    fail "the ELF core differs from what was sent"
readelf -l "$D/vmcore" >"$T/readelf1" || fail "readelf -l"
assert_eq "$(grep -c '^  LOAD' "$T/readelf1")" 3 "readelf -l: PT_LOAD segments"
assert_eq "$(grep -c '^  NOTE' "$T/readelf1")" 1 "readelf -l: PT_NOTE segments"
readelf -n "$D/vmcore" | grep -q NT_PRSTATUS || fail "readelf -n: no NT_PRSTATUS"
M=$D/manifest.json
assert_eq "$(jget "$M" .status)" complete "status"
assert_eq "$(jget "$M" .protocol)" linux-netdump "protocol"
assert_eq "$(jget "$M" .linux.pages_missing)" 0 "pages missing"
assert_eq "$(jget "$M" .linux.page_frames)" "$PAGES" "page frames"
assert_match "$(jget "$M" .linux.oops)" "Unable to handle kernel NULL pointer dereference" "the oops in the manifest"
assert_match "$(jget "$M" .linux.last_oops)" "Kernel panic - not syncing: Oops" "the panic in the manifest"
# No signature: the masked oops line is the same for any NULL dereference
# of any kernel, and keep_per_signature took one host's crash for
# another's repeat.
assert_eq "$(jget "$M" .signature)" null "the signature of a Linux dump"
assert_gt "$(jget "$M" .linux.retransmits)" 0 "requests sent again with 2% loss"
assert_grep "$D/info" "Dump Status: good" "info"
assert_log "linux dump [0-9]+ from ${A//./\\.} started: $PAGES page frames" "start line"
pass "$PAGES pages, 2% loss, 1% duplicates: an ELF core equal to the memory with the registers sent, 3 PT_LOADs, beside the console log, the oops in the manifest"

# i386: ELF32, 17 registers, frame 0 not RAM.
B=$(client_addr 2)
linux 0 2 --i386 -n 4096 --holes 0-1,640-1024 -s 6 \
    --image-out "$T/image2" --regs-out "$T/regs2"
D=$(core_of 2)
$ELFCHECK "$D/vmcore" "$T/image2" "$T/regs2" --holes 0-1,640-1024 ||
    fail "the i386 core differs"
readelf -h "$D/vmcore" | grep -q "ELF32" || fail "the i386 core is not ELF32"
assert_eq "$(jget "$D/manifest.json" .linux.machine)" 3 "machine"
pass "i386: an ELF32 core with the 17 registers and every RAM frame"

# A FreeBSD dump at the same time as a Linux one, through a zstd chain.
C=$(client_addr 3)
send_bg "$(client_addr 4)" -q -g "$FBSD" -s 91 -o "$T/sent4"
FBSD=$BG_PID
linux 0 3 -n "$PAGES3" --loss 0.01 --holes 1000-1100 -s 7 \
    --image-out "$T/image3" --regs-out "$T/regs3"
wait_bg "$FBSD" 0 "$(client_addr 4)"
wait_manifest "$(client_dir "$(client_addr 4)")" 0
assert_same_bytes "$(client_dir "$(client_addr 4)")/vmcore.0" "$T/sent4"
poll 20 sh -c "ls '$DUMPDIR/$C'-*/vmcore.zst >/dev/null 2>&1" || fail "no vmcore.zst"
Z=$(ls "$DUMPDIR/$C"-*/vmcore.zst)
zstd -q -d "$Z" -o "$T/core3" || fail "zstd -d $Z"
$ELFCHECK "$T/core3" "$T/image3" "$T/regs3" --loads 1 ||
    fail "the zstd chain's core differs"
D=$(dirname "$(ls "$DUMPDIR/$C"-*/vmcore)")
$ELFCHECK "$D/vmcore" "$T/image3" "$T/regs3" --loads 2 --holes 1000-1100 ||
    fail "the file chain's core differs"
pass "a FreeBSD dump and a Linux one at once: both whole; the zstd chain keeps the one-segment header, the file chain has the RAM map"

# A client that dies after 1000 pages: silent for timeout (5 s), then
# stored as it is, vmcore-incomplete.
linux 4 5 -n 4096 --die-after 1000 -s 8
wait_log "linux dump [0-9]+ from $(client_addr 5 | sed 's/\./\\./g'): the client fell silent" 30
D=$(core_of 5)
assert_file "$D/vmcore-incomplete"
assert_eq "$(jget "$D/manifest.json" .status)" incomplete "status of a dead client's dump"
# It served 1000; a server slower than the client (valgrind) may have
# lost some of the last replies in its socket buffer.
GOT=$(jget "$D/manifest.json" .linux.pages_received)
assert_le "$GOT" 1000 "pages of a dead client"
assert_gt "$GOT" 0 "pages of a dead client"
assert_eq "$(jget "$D/manifest.json" .linux.pages_missing)" $((4096 - GOT)) "pages missing of a dead client"
assert_match "$(jget "$D/manifest.json" .reason)" "fell silent" "reason"
assert_grep "$D/info" "Dump Status: bad" "info of an incomplete dump"
pass "a client that dies: what came is kept as vmcore-incomplete, labelled incomplete"

# A client claiming 4 G pages of 64 KiB (256 TiB): not pulled (it would
# pass max_dump_size); Red Hat's server rebooted a client it had no room
# for, after its task list, and so does this one.
linux 0 6 -n 4000000000 --page-size 65536
wait_log "linux dump [0-9]+ from $(client_addr 6 | sed 's/\./\\./g'): not taking its memory: 4000000000 pages of 65536 bytes would pass max_dump_size" 10
assert_eq "$(find "$DUMPDIR" -path "*$(client_addr 6)-*" -name 'vmcore*' | wc -l)" 0 "cores of a client claiming 256 TiB"
pass "a client claiming 256 TiB: nothing pulled, asked for its task list and rebooted"

# 60 one-frame holes at 5% loss: a request sent again for a frame that
# the next one's REPLY_RESERVED already skipped counts it once.
SCATTER=$(seq 10 30 1780 | awk '{ printf "%s%d-%d", (NR > 1 ? "," : ""), $1, $1 + 1 }')
linux 0 12 -n 2048 --loss 0.05 --holes "$SCATTER" -s 12 \
    --image-out "$T/image12" --regs-out "$T/regs12"
D=$(core_of 12)
assert_eq "$(jget "$D/manifest.json" .status)" complete "status with 60 holes and 5% loss"
assert_eq "$(jget "$D/manifest.json" .linux.pages_not_ram)" 60 "frames not RAM"
assert_eq "$(jget "$D/manifest.json" .linux.pages_received)" $((2048 - 60)) "pages received"
$ELFCHECK "$D/vmcore" "$T/image12" "$T/regs12" --loads 61 --holes "$SCATTER" ||
    fail "the core with 60 holes differs"
pass "60 one-frame holes at 5% loss: each frame counted once, 61 PT_LOADs"

# 16 KiB pages and the largest, 64 KiB (ia64's): a request is answered
# with 16 or 64 datagrams at once (drivers/net/netdump.c sends the page in
# 1024-byte chunks), so the server keeps as many bytes out as with 4 KiB
# pages, not as many pages: on loopback with no loss none is asked again.
for ps in 16384 65536; do
	n=$((ps == 16384 ? 13 : 14))
	linux 0 "$n" -n $((PAGES * 512 / ps)) --page-size "$ps" \
	    --holes 10-12 -s "$n" --image-out "$T/image$n" --regs-out "$T/regs$n"
	D=$(core_of "$n")
	$ELFCHECK "$D/vmcore" "$T/image$n" "$T/regs$n" --holes 10-12 ||
	    fail "the core of $ps-byte pages differs"
	assert_eq "$(jget "$D/manifest.json" .status)" complete "status with $ps-byte pages"
	assert_eq "$(jget "$D/manifest.json" .linux.page_size)" "$ps" "page size in the manifest"
	if [ "$WAIT_SCALE" = 1 ]; then
		assert_eq "$(jget "$D/manifest.json" .linux.retransmits)" 0 "requests sent again with $ps-byte pages and no loss"
	fi
	pass "$ps-byte pages: an ELF core equal to the memory sent, $(jget "$D/manifest.json" .linux.retransmits) requests sent again"
done

# Replies nobody asked for: from a client with no session, and pages
# from one that is done. Counted, logged, never stored.
python3 - "$LPORT" "$(client_addr 7)" <<'EOF'
import socket, struct, sys
port, addr = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 6666))
for nr in range(50):
    # REPLY_MEM (3) for frame nr, chunk 0: never asked for.
    s.sendto(struct.pack(">BIII", 5, nr, 3, 0) + b"x" * 1024,
             ("127.0.0.1", port))
# A START whose text is not one (no task_struct): malformed.
s.sendto(struct.pack(">BIII", 4, 62, 8, 5) + b"hello", ("127.0.0.1", port))
EOF
wait_log "linux port: [0-9]+ netdump replies ignored: nothing of the kind was asked of that client" 20
assert_eq "$(grep -oE "linux port: [0-9]+ netdump replies ignored" "$SERVER_LOG" |
    awk '{ n += $3 } END { print n }')" 50 "replies counted as not asked for"
wait_log "linux port: 1 malformed netdump replies ignored" 20
pass "replies nobody asked for and a malformed announcement: counted, nothing stored"
stop_server

# Secure mode: the cookie in <dumpdir>/magic/<client-ip> must match.
write_conf "secure = yes" "scripts_dir = $T/scripts" "max_concurrent_dumps = 1"
mkdir -p "$DUMPDIR/magic" "$T/scripts"
printf '0123456789abcdef\n' >"$DUMPDIR/magic/$(client_addr 8)"
# Hooks need pidfd_open, which valgrind 3.19 does not know (below).
if [ "${ND_VALGRIND:-0}" != 1 ]; then
	printf '#!/bin/sh\necho "$@" >>%s\nexit 0\n' "$T/crash.secure" \
	    >"$T/scripts/netdump-crash"
	printf '#!/bin/sh\necho "$@" >>%s\n' "$T/start.secure" \
	    >"$T/scripts/netdump-start"
	chmod 755 "$T/scripts/netdump-crash" "$T/scripts/netdump-start"
fi
start_server -c "$T/server.ini"
# Console text carries no cookie: a panic on the console of a client
# that announces nothing runs no hook in secure mode (checked below,
# after the 10 s a console crash waits for an announcement).
STRANGER=$(client_addr 41)
"$LINUX" -b "$STRANGER:6665" --console "$T/oops.txt" --format plain \
    "127.0.0.1:$LPORT" || fail "netconsole text from $STRANGER"
STRANGER_AT=$SECONDS
linux 1 8 -n 1024 --magic 1111111111111111 --timeout 3 --start-interval 200
wait_log "linux port: [0-9]+ crash announcements refused: secure is on and the cookie is not the one in <dumpdir>/magic/<client-ip> \\(the last from $(client_addr 8 | sed 's/\./\\./g')\\)" 15
linux 1 9 -n 1024 --timeout 2 --start-interval 200
linux 0 8 -n 1024 --magic 0123456789abcdef -s 9 --image-out "$T/image8" \
    --regs-out "$T/regs8"
D=$(core_of 8)
$ELFCHECK "$D/vmcore" "$T/image8" "$T/regs8" || fail "the secure dump differs"
assert_eq "$(boot_dirs 9 | wc -l)" 0 "directories of a client without a cookie file"
pass "secure: a wrong cookie and no cookie file are not answered; the right cookie dumps"

# A FIFO where the cookie should be (clients write magic/ over ssh): it is
# no cookie, and opening it must not hang the receive thread. While one
# announcement after another names it, another client dumps.
mkfifo "$DUMPDIR/magic/$(client_addr 15)"
linux 1 15 -n 1024 --magic 0123456789abcdef --timeout 3 --start-interval 200 &
P15=$!
linux 0 8 -n 1024 --magic 0123456789abcdef -s 10 --image-out "$T/image8b" \
    --regs-out "$T/regs8b"
wait "$P15" || fail "netdump-linux from $(client_addr 15) (the FIFO cookie) was answered"
# The client reboots when its memory is in, before the manifest: wait for
# the second.
poll 20 sh -c "[ \$(ls '$DUMPDIR/$(client_addr 8)'-*/manifest.json | wc -l) -ge 2 ]" ||
	fail "no second manifest for $(client_addr 8) after 20 s"
D=$(core_of 8)
$ELFCHECK "$D/vmcore" "$T/image8b" "$T/regs8b" || fail "the dump beside the FIFO cookie differs: $D"
wait_log "secure is on and the cookie is not the one in <dumpdir>/magic/<client-ip> \\(the last from $(client_addr 15 | sed 's/\./\\./g')\\)" 15
assert_eq "$(boot_dirs 15 | wc -l)" 0 "directories of a client whose cookie is a FIFO"
pass "secure: a FIFO for a cookie is refused like a wrong one; the receive thread goes on (another client's dump meanwhile)"

if [ "${ND_VALGRIND:-0}" != 1 ]; then
	wait_log "console: ${STRANGER//./\\.}: " 10
	sleep $((STRANGER_AT + 13 - SECONDS > 0 ? STRANGER_AT + 13 - SECONDS : 0))
	! grep -q "^${STRANGER//./\\.} " "$T/crash.secure" 2>/dev/null ||
		fail "netdump-crash ran for a console panic in secure mode: $(cat "$T/crash.secure")"
	assert_no_log "client ${STRANGER//./\\.}: netdump-crash" "a hook for console text in secure mode"
	assert_grep "$T/crash.secure" "^$(client_addr 8 | sed 's/\./\\./g') " "netdump-crash for the client with its cookie"
	assert_grep "$T/start.secure" "^$(client_addr 8 | sed 's/\./\\./g')$" "netdump-start for a Linux dump"
	pass "secure: a panic on the console of a client that announces nothing runs no hook (13 s); the client with its cookie had netdump-crash and netdump-start"
fi

# max_concurrent_dumps = 1 (below): a second Linux client waits for the
# first to end; an announcement from another port of a client that is
# dumping is ignored.
printf '1111111111111111\n' >"$DUMPDIR/magic/$(client_addr 13)"
printf '1111111111111111\n' >"$DUMPDIR/magic/$(client_addr 14)"
timeout -k 5 $((120 * WAIT_SCALE)) "$LINUX" -b "$(client_addr 13):6666" \
    -n 8192 --loss 0.01 "127.0.0.1:$LPORT" >"$T/linux.13.log" 2>&1 &
P13=$!
wait_log "linux dump [0-9]+ from $(client_addr 13 | sed 's/\./\\./g') started" 20
python3 - "$LPORT" "$(client_addr 13)" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], 6667))
text = b"task_struct:0xffff81003f5a87f0 page_offset:0xffff810000000000 netdump_magic:0x1111111111111111\n"
s.sendto(struct.pack(">BIII", 4, 62, 8, 5) + text, ("127.0.0.1", int(sys.argv[1])))
EOF
linux 0 14 -n 2048
wait "$P13" || fail "netdump-linux from $(client_addr 13) failed"
wait_log "linux port: 1 crash announcements ignored: another port of the address has a session \\(the last from $(client_addr 13 | sed 's/\./\\./g')\\)" 15
first_end=$(grep -nE "dump [0-9]+ from $(client_addr 13 | sed 's/\./\\./g') complete" "$SERVER_LOG" | cut -d: -f1)
second_start=$(grep -nE "linux dump [0-9]+ from $(client_addr 14 | sed 's/\./\\./g') started" "$SERVER_LOG" | cut -d: -f1)
[ -n "$first_end" ] && [ -n "$second_start" ] || fail "no start or end line for the two clients"
assert_gt "$second_start" "$first_end" "line of the second dump's start after the first's end"
pass "max_concurrent_dumps = 1: the second Linux client waits for the first; another port's announcement is ignored"

# Hooks need pidfd_open, which valgrind 3.19 does not know: the rest is
# for the other runs.
if [ "${ND_VALGRIND:-0}" = 1 ]; then
	stop_server
	finish
	exit 0
fi

# A netdump-crash that takes 10 s to say no, past herald_hook_deadline
# (8 s): a Linux client announces until answered, so its answer counts.
printf '#!/bin/sh\nsleep 10\necho "$@" >>%s\nexit 1\n' "$T/crash.slow" \
    >"$T/scripts/netdump-crash"
chmod 755 "$T/scripts/netdump-crash"
printf '0123456789abcdef\n' >"$DUMPDIR/magic/$(client_addr 42)"
linux 0 42 -n 1024 --magic 0123456789abcdef --timeout 30 --start-interval 300
wait_log "client $(client_addr 42 | sed 's/\./\\./g'): netdump-crash said no" 10
assert_no_log "client $(client_addr 42 | sed 's/\./\\./g'): netdump-crash did not answer within herald_hook_deadline" "the deadline for a Linux client"
assert_eq "$(find "$DUMPDIR" -name 'vmcore*' -path "*$(client_addr 42)-*" | wc -l)" 0 "cores of a client a slow netdump-crash refused"
pass "a Linux client's netdump-crash says no after 10 s (past herald_hook_deadline): refused, nothing stored"

# netdump-crash says no: the client is rebooted without its memory (it
# would announce forever), as Red Hat's server did with a client it would
# not take.
printf '#!/bin/sh\necho "$@" >>%s\nexit 1\n' "$T/crash.args" \
    >"$T/scripts/netdump-crash"
chmod 755 "$T/scripts/netdump-crash"
printf 'fedcba9876543210\n' >"$DUMPDIR/magic/$(client_addr 10)"
linux 0 10 -n 1024 --magic fedcba9876543210 --timeout 10 --start-interval 300
wait_log "client $(client_addr 10 | sed 's/\./\\./g'): netdump-crash said no" 10
wait_log "linux dump [0-9]+ from $(client_addr 10 | sed 's/\./\\./g'): refused; asking for its task list and rebooting it without its memory" 10
assert_grep "$T/crash.args" "^$(client_addr 10 | sed 's/\./\\./g') " "netdump-crash's arguments"
assert_eq "$(find "$DUMPDIR" -name 'vmcore*' -path "*$(client_addr 10)-*" | wc -l)" 0 "cores of a client netdump-crash refused"
pass "netdump-crash says no: rebooted without its memory, nothing stored"

# A mainline netconsole client (no netdump) that panics: netdump-crash
# runs once the client has not announced a dump for 10 s, with its
# directory; a client that did announce one (above) had it run then. Not
# in secure mode (above): console text carries no cookie.
stop_server
write_conf "scripts_dir = $T/scripts"
start_server -c "$T/server.ini"
K=$(client_addr 11)
"$LINUX" -b "$K:6665" --console "$T/oops.txt" --format plain \
    "127.0.0.1:$LPORT" || fail "netconsole text from $K"
wait_log "client ${K//./\\.}: netdump-crash for the crash on its console exited 1" 30
assert_grep "$T/crash.args" "^${K//./\\.} $DUMPDIR/${K//./\\.}-[0-9]{4}-" "netdump-crash's arguments for a console crash"
assert_eq "$(grep -c "^${K//./\\.} " "$T/crash.args")" 1 "netdump-crash runs for a console crash"
pass "a panic on a netconsole client without netdump: netdump-crash with its directory, once"

# Seventeen netconsole clients panic within two seconds (anyone can send
# an oops with a forged address): the server keeps 16 such crashes
# waiting at a time, so the 17th waits for a place, and is told then
# instead of dropped.
for n in $(seq 20 36); do
	[ "$n" != 36 ] || sleep 1.2	# new clients: 16 a second
	"$LINUX" -b "$(client_addr "$n"):6665" --console "$T/oops.txt" \
	    --format plain "127.0.0.1:$LPORT" || fail "netconsole text from $(client_addr "$n")"
done
wait_log "netdump-crash for the crash on its console exited 1" 40 18
for n in $(seq 20 36); do
	assert_eq "$(grep -c "^$(client_addr "$n" | sed 's/\./\\./g') " "$T/crash.args")" 1 \
	    "netdump-crash runs for the console crash of $(client_addr "$n")"
done
pass "17 console crashes at once: netdump-crash for each, the 17th when a place is free"
stop_server

# A Linux client's netdump-crash that hangs: a Linux client announces
# until it is answered, so the hook has until hook_timeout; then it is
# killed, and its silence is not a no: the dump goes on and is stored.
write_conf "scripts_dir = $T/scripts" "hook_timeout = 3"
printf '#!/bin/sh\necho "$@" >>%s\nexec sleep 60\n' "$T/crash.hung" \
    >"$T/scripts/netdump-crash"
chmod 755 "$T/scripts/netdump-crash"
start_server -c "$T/server.ini"
H=$(client_addr 43)
linux 0 43 -n 1024 -s 43 --timeout 30 --start-interval 300 \
    --image-out "$T/image43" --regs-out "$T/regs43"
assert_log "client ${H//./\\.}: netdump-crash did not answer within hook_timeout; going on without its answer" "the late hook"
assert_log "netdump-crash $T/scripts/netdump-crash \\(pid [0-9]+\\) ran past hook_timeout; killed" "the hung hook killed"
assert_grep "$T/crash.hung" "^${H//./\\.} " "netdump-crash's arguments"
D=$(core_of 43)
$ELFCHECK "$D/vmcore" "$T/image43" "$T/regs43" || fail "the dump after a hung netdump-crash differs"
pass "a Linux client's netdump-crash hangs: killed at hook_timeout (3 s), the dump stored all the same"
stop_server
finish
