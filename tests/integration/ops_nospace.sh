#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Free space, on a small tmpfs as the dump directory: min_free at HERALD
# (netdump-nospace: non-zero = look once more, zero = give up), min_free
# while writing (the dump is kept, labelled incomplete, the client gets no
# more acks), and a full disk without min_free. The daemon keeps serving.
set -euo pipefail
NET=129
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root for tmpfs"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

mount_tmpfs() {	# SIZE
	tmpfs_mount "$DUMPDIR" "$1"
}

umount_tmpfs() {
	tmpfs_umount "$DUMPDIR"
}

free_bytes() {
	df -B1 --output=avail "$DUMPDIR" | tail -1 | tr -d ' '
}

S=$T/scripts
mkdir -p "$S" "$T/calls"

# A hook that records argv and NETDUMP_CLIENT in $T/calls/<name>.<argv1>.N
# and runs some shell lines before it exits with STATUS.
make_hook() {	# NAME STATUS [SHELL-LINES]
	cat >"$S/$1.new" <<EOF
#!/bin/sh
${3:-}
r=\$(mktemp "$T/calls/.rec.XXXXXX")
{ echo "args=\$*"; echo "client=\${NETDUMP_CLIENT:-<unset>}"; echo "cwd=\$(pwd)"; } >"\$r"
mv "\$r" "$T/calls/\$(basename "\$0").\$1.\$\$"
exit $2
EOF
	chmod 0755 "$S/$1.new"
	mv "$S/$1.new" "$S/$1"
}

ncalls() {	# NAME ADDR
	ls "$T/calls/$1.$2".* 2>/dev/null | grep -c . || true
}

last_call() {	# NAME ADDR
	ls -tr "$T/calls/$1.$2".* 2>/dev/null | tail -1
}

write_conf() {	# MIN_FREE [more [server] lines]
	{
		echo "[server]"
		echo "sink_dir = $ND_SINK_DIR"
		echo "scripts_dir = $S"
		echo "hook_timeout = $((5 * WAIT_SCALE))"
		[ -z "$1" ] || echo "min_free = $1"
	} >"$T/server.ini"
}

BUGS=()

# ---------------------------------------------------------------- at HERALD
mount_tmpfs 64M
write_conf 40M
start_server -c "$T/server.ini" --timeout 3
dd if=/dev/zero of="$DUMPDIR/filler" bs=1M count=30 status=none
[ "$(free_bytes)" -lt $((40 << 20)) ] || fail "the filler left $(free_bytes) bytes free"

# 1. No netdump-nospace: refused at once.
A=$(client_addr 1)
send_dump 1 "$A" -q -g 8M -s 291 -t 100 -r 2
wait_log "client ${A//./\\.}: [0-9]+ bytes free in $DUMPDIR, below min_free \(41943040\)$" 10
assert_no_file "$(client_dir "$A")"
assert_no_log "dump [0-9]+ from ${A//./\\.}" "a dump below min_free must not start"
pass "free space below min_free (40M), no netdump-nospace: the HERALD is not answered, nothing stored"

# 2. netdump-nospace exits 0: the dump is given up.
make_hook netdump-nospace 0
B=$(client_addr 2)
send_dump 1 "$B" -q -g 8M -s 292 -t 100 -r 2
wait_log "client ${B//./\\.}: netdump-nospace gave the dump up" 10
c=$(last_call netdump-nospace "$B")
[ -n "$c" ] || fail "netdump-nospace did not run for $B"
assert_match "$(sed -n 's/^args=//p' "$c")" "^$B $DUMPDIR(/\.)?$" "netdump-nospace argv"
assert_eq "$(sed -n 's/^client=//p' "$c")" "$B" "NETDUMP_CLIENT of netdump-nospace"
assert_eq "$(sed -n 's/^cwd=//p' "$c")" "$DUMPDIR" "cwd of netdump-nospace"
assert_no_file "$(client_dir "$B")"
pass "netdump-nospace ran with argv '$(sed -n 's/^args=//p' "$c")' and exited 0: the dump was given up, no ack, no files"

# 3. netdump-nospace exits 1 but makes no room: one more look, then no.
make_hook netdump-nospace 1
C=$(client_addr 3)
send_dump 1 "$C" -q -g 8M -s 293 -t 100 -r 2
wait_log "client ${C//./\\.}: [0-9]+ bytes free in $DUMPDIR, below min_free \(41943040\); giving up the dump" 10
assert_eq "$(ncalls netdump-nospace "$C")" 1 "runs of netdump-nospace for $C"
assert_no_file "$(client_dir "$C")"
pass "netdump-nospace exit 1 without making room: looked once more, still too little, given up"

# 4. netdump-nospace makes room and exits 1: the dump proceeds.
make_hook netdump-nospace 1 "rm -f '$DUMPDIR/filler'"
D=$(client_addr 4)
send_dump 0 "$D" -q -g 8M -s 294 -o "$T/sentD"
wait_manifest "$(client_dir "$D")" 0
assert_manifest "$(client_dir "$D")/manifest.0.json" complete "$T/sentD"
assert_no_file "$DUMPDIR/filler"
assert_eq "$(ncalls netdump-nospace "$D")" 1 "runs of netdump-nospace for $D"
pass "netdump-nospace removed a file and exited 1: the space was checked once more and the 8M dump completed"

# ---------------------------------------------------------------- writing
# The floor is looked at from the first bytes on, again before half the
# room above it can be gone and at least every MiB near it (never more
# than 64 MiB apart): a 96 MiB image, half of it zero pages (holes), finds
# the dump directory at most a MiB below 40M. netdump-nospace runs beside
# the dump, and its answer is read at the next check, 8 MiB on.
make_hook netdump-nospace 0
E=$(client_addr 5)
DE=$(client_dir "$E")
send_dump 1 "$E" -q -g 96M -z 0.5 -s 295 -t 300 -r 3 -o "$T/sentE"
wait_manifest "$DE" 0 30
wait_dumps "$E" 1
M=$DE/manifest.0.json
assert_log "dump [0-9]+: [0-9]+ bytes free, below min_free \(41943040\)" "floor crossed while writing"
assert_log "dump [0-9]+ from ${E//./\\.}: giving up at [0-9]+ bytes: netdump-nospace gave the dump up" "give-up line"
assert_eq "$(jget "$M" .status)" incomplete "status of a dump given up below min_free"
assert_match "$(jget "$M" .reason)" "min_free" "reason of a dump given up below min_free"
assert_file "$DE/vmcore.0.incomplete"
assert_no_file "$DE/vmcore.0"
assert_prefix_of "$DE/vmcore.0.incomplete" "$T/sentE"
kept=$(size_of "$DE/vmcore.0.incomplete")
[ "$kept" -ge $((8 << 20)) ] && [ "$kept" -lt $((96 << 20)) ] ||
	fail "vmcore.0.incomplete has $kept bytes; expected from 8 MiB to less than 96 MiB"
efree=$(grep -oE "dump [0-9]+: [0-9]+ bytes free, below min_free \(41943040\)" "$SERVER_LOG" |
    head -1 | awk '{ print $3 }')
assert_gt "$efree" $((41943040 - (1 << 20) - 1)) "bytes free when the floor was found crossed"
assert_eq "$(mobject "$M" vmcore | jq -r .size)" "$kept" "vmcore size in the manifest"
c=$(last_call netdump-nospace "$E")
[ -n "$c" ] || fail "netdump-nospace did not run for $E while writing"
assert_match "$(sed -n 's/^args=//p' "$c")" "^$E $DUMPDIR(/\.)?$" "netdump-nospace argv while writing"
assert_eq "$(sed -n 's/^cwd=//p' "$c")" "$DUMPDIR" "cwd of netdump-nospace while writing"
NOSPACE_CLIENT_WRITING=$(sed -n 's/^client=//p' "$c")
grep -q "Dump Status: bad" "$DE/info.0" || fail "info.0 does not say 'Dump Status: bad'"
pass "below min_free while writing: netdump-nospace (exit 0) ran, the client got no more acks (exit 1), the first $kept bytes are kept as vmcore.0.incomplete, manifest incomplete: '$(jget "$M" .reason)'"

# The daemon keeps serving once there is room again.
rm -f "$DE/vmcore.0.incomplete"
F=$(client_addr 6)
send_dump 0 "$F" -q -g 4M -s 296 -o "$T/sentF"
wait_manifest "$(client_dir "$F")" 0
assert_manifest "$(client_dir "$F")/manifest.0.json" complete "$T/sentF"
pass "after room was made, a 4M dump completes"
stop_server

# The floor crossed at the last page of a 64 MiB + 4 KiB dump of data:
# the client has sent everything (and had FINISHED acked) before the writer
# notices, but what is stored is cut short and must not pass as complete.
umount_tmpfs
mount_tmpfs 128M
write_conf 80M
rm -f "$S/netdump-nospace"
start_server -c "$T/server.ini" --timeout 3
G=$(client_addr 7)
DG=$(client_dir "$G")
send_bg "$G" -q -g 65540k -z 0 -s 297 -t 300 -r 3 -o "$T/sentG"
gpid=$BG_PID
wait_manifest "$DG" 0 60
grc=0
wait "$gpid" || grc=$?
wait_log "dump [0-9]+ from ${G//./\\.}: giving up at [0-9]+ bytes" 10
M=$DG/manifest.0.json
gstored=$(ls "$DG" | grep '^vmcore' | head -1)
gsize=$(size_of "$DG/$gstored")
assert_eq "$(mobject "$M" vmcore | jq -r .size)" "$gsize" "vmcore size in the manifest of $G"
assert_prefix_of "$DG/$gstored" "$T/sentG"
if [ "$(jget "$M" .status)" != incomplete ] || [ "$gstored" = vmcore.0 ]; then
	BUGS+=("floor crossed at the last page (client exit $grc): $gsize of $(size_of "$T/sentG") bytes stored as $gstored, manifest status '$(jget "$M" .status)' reason '$(jget "$M" .reason)'; expected incomplete with a min_free reason")
else
	pass "floor crossed at the last page (client exit $grc): $gsize bytes kept as $gstored, manifest incomplete: '$(jget "$M" .reason)'"
fi
stop_server

# ---------------------------------------------------------------- full disk
# No min_free, 16M: the write fails with ENOSPC. The file sink keeps what
# it wrote; the daemon keeps serving.
umount_tmpfs
mount_tmpfs 16M
write_conf ""
start_server -c "$T/server.ini" --timeout 3
H=$(client_addr 8)
DH=$(client_dir "$H")
hrc=0
send_bg "$H" -q -g 32M -z 0 -s 298 -t 300 -r 3 -o "$T/sentH"
hpid=$BG_PID
wait_dumps "$H" 1 60
wait "$hpid" || hrc=$?
assert_log "dump [0-9]+: sink local: write: vmcore\.0\.incomplete: write at offset [0-9]+: No space left on device" "write error line"
assert_file "$DH/vmcore.0.incomplete"
assert_no_file "$DH/vmcore.0"
assert_prefix_of "$DH/vmcore.0.incomplete" "$T/sentH"
assert_log "dump [0-9]+ from ${H//./\\.} (complete|incomplete): .*stored by 0 of 1 sinks" "outcome line of a dump nobody stored"
# Acked to the end by design: a FreeBSD client sends its KDH (and so the
# info and the panic string) last, and the protocol cannot say "stored
# nowhere" anyway.
assert_eq "$hrc" 0 "netdump-send's exit when no sink could store its dump"
hline=$(grep -E "dump [0-9]+ from ${H//./\\.} (complete|incomplete): " "$SERVER_LOG" | head -1)
pass "full disk: the write error is logged (No space left on device), the $(size_of "$DH/vmcore.0.incomplete") bytes written are kept as vmcore.0.incomplete, the client acked to the end (exit 0)"
"$ND_SERVER" -d "$DUMPDIR" --port "$PORT" --status >"$T/status.full" 2>&1 || fail "--status: $(cat "$T/status.full")"
hstatus=$(awk -v a="$H" '$2 == a { print $3 }' "$T/status.full" | tail -1)
if [[ $hline =~ \ complete:\  ]] || [ "$hstatus" = complete ]; then
	BUGS+=("full disk, one sink: the dump that no sink stored is reported complete (log: '${hline#* }'; --status: '$hstatus'); expected incomplete")
fi

rm -f "$DH/vmcore.0.incomplete"
I=$(client_addr 9)
send_dump 0 "$I" -q -g 4M -s 299 -o "$T/sentI"
wait_manifest "$(client_dir "$I")" 0
assert_manifest "$(client_dir "$I")/manifest.0.json" complete "$T/sentI"
assert_same_bytes "$(client_dir "$I")/vmcore.0" "$T/sentI"
pass "after room was made, the daemon stores a 4M dump completely"
stop_server

# With a second sink on another disk the manifest records the failure.
rm -rf "${DUMPDIR:?}"/*
mkdir -p "$T/spare"
write_conf ""
cat >>"$T/server.ini" <<INI

[sink local]
module = file

[sink spare]
module = file
layout = netdumpd
dir = $T/spare

[route default]
path = *
sink = local, spare
INI
start_server -c "$T/server.ini" --timeout 3
J=$(client_addr 10)
send_dump 0 "$J" -q -g 32M -z 0 -s 300 -t 300 -r 3 -o "$T/sentJ"
M=$T/spare/manifest.$J.0.json
wait_file "$M"
assert_eq "$(jget "$M" '.sinks[] | select(.name == "local") | .result')" failed "result of the full sink"
assert_match "$(jget "$M" '.sinks[] | select(.name == "local") | .error')" "No space left on device" "error of the full sink"
assert_eq "$(jget "$M" '.sinks[] | select(.name == "spare") | .result')" ok "result of the spare sink"
assert_same_bytes "$T/spare/vmcore.$J.0" "$T/sentJ"
assert_prefix_of "$(client_dir "$J")/vmcore.0.incomplete" "$T/sentJ"
pass "full disk with a second sink elsewhere: its manifest says sink local failed ('$(jget "$M" '.sinks[] | select(.name == "local") | .error')'), spare has every byte"
stop_server

# ---------------------------------------------------------------- bugs
if [ "$NOSPACE_CLIENT_WRITING" != "$E" ]; then
	BUGS+=("netdump-nospace while writing gets NETDUMP_CLIENT='$NOSPACE_CLIENT_WRITING' (at HERALD it gets the client address; expected '$E')")
fi
if [ "${#BUGS[@]}" -gt 0 ]; then
	for b in "${BUGS[@]}"; do
		echo "BUG: $b" >&2
	done
	fail "${#BUGS[@]} check(s) failed (see BUG lines)"
fi
pass "netdump-nospace while writing gets NETDUMP_CLIENT=$E, as at HERALD"
finish
