#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# savecore's minfree file (check_space in sbin/savecore/savecore.c): the
# first line of <dumpdir>/minfree, in KiB, is a floor on free space beside
# min_free, at HERALD and while writing. A file that is not a number, not
# a regular file, or a link counts as 0, with a warning, and never blocks
# the server.
set -euo pipefail
NET=223
. "$(dirname "$0")/lib.sh"

S=$T/scripts
mkdir -p "$S" "$DUMPDIR"
cat >"$T/server.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
scripts_dir = $S
hook_timeout = 10
INI
start_server -c "$T/server.ini" --timeout 3
HUGE=1099511627776	# KiB: 1 PiB, more than any disk here has free

# A floor no disk here meets: the HERALD is not answered.
echo "$HUGE" >"$DUMPDIR/minfree"
A=$(client_addr 1)
send_dump 1 "$A" -q -g 1M -s 41 -t 100 -r 2
wait_log "client ${A//./\\.}: [0-9]+ bytes free in $DUMPDIR, below savecore's minfree \(1125899906842624\)" 10
assert_no_file "$(client_dir "$A")/vmcore.0"
pass "minfree of $HUGE KiB: the HERALD is refused, the log names savecore's minfree"

# HERALDs from twelve more addresses (anyone can send one) in the next
# seconds: five lines in ten seconds, then the count of those not logged
# comes with the next line.
t0=$(date +%s)
for n in $(seq 10 21); do
	send_dump 1 "$(client_addr "$n")" -q -g 1M -s 41 -t 100 -r 0
done
# All within the ten seconds that started with the first line.
[ $(($(date +%s) - t0)) -lt 7 ] || fail "twelve HERALDs took $(($(date +%s) - t0)) s"
assert_eq "$(grep -c "bytes free in $DUMPDIR" "$SERVER_LOG")" 5 \
    "lines for 13 HERALDs below minfree within seconds"
sleep 10
send_dump 1 "$(client_addr 22)" -q -g 1M -s 41 -t 100 -r 0
wait_log "client $(client_addr 22 | sed 's/\./\\./g'): [0-9]+ bytes free in .* \\(and 8 HERALDs not logged since\\)" 10
pass "13 HERALDs below minfree within seconds: five lines, and the next line counts the other 8"

# Trailing blanks are allowed (strtoll); a small floor lets dumps in.
printf '1024 \n' >"$DUMPDIR/minfree"
B=$(client_addr 2)
send_dump 0 "$B" -q -g 1M -s 42 -o "$T/sentB"
wait_manifest "$(client_dir "$B")" 0
assert_manifest "$(client_dir "$B")/manifest.0.json" complete "$T/sentB"
pass "minfree of 1024 KiB: the dump is stored"

# Not a number: taken as 0, with a warning.
echo "lots" >"$DUMPDIR/minfree"
C=$(client_addr 3)
send_dump 0 "$C" -q -g 1M -s 43
wait_manifest "$(client_dir "$C")" 0
assert_log "$DUMPDIR/minfree: not a number of KiB; taken as 0" "warning for a bad minfree"
pass "a minfree that is not a number is taken as 0, with a warning"

# A FIFO must not block the server; a link is not followed.
rm -f "$DUMPDIR/minfree"
mkfifo "$DUMPDIR/minfree"
D=$(client_addr 4)
send_dump 0 "$D" -q -g 1M -s 44
wait_manifest "$(client_dir "$D")" 0
rm -f "$DUMPDIR/minfree"
echo "$HUGE" >"$T/elsewhere"
ln -s "$T/elsewhere" "$DUMPDIR/minfree"
E=$(client_addr 5)
send_dump 0 "$E" -q -g 1M -s 45
wait_manifest "$(client_dir "$E")" 0
pass "a FIFO named minfree does not block the server; a symlink is not followed"
rm -f "$DUMPDIR/minfree"

# Set while a dump is let in (netdump-crash writes it): the dump's first
# free-space check gives it up, before its first byte is written, as the
# file is there by then; what it kept is labelled incomplete.
printf '#!/bin/sh\necho %s >"%s/minfree"\nexit 0\n' "$HUGE" "$DUMPDIR" >"$S/netdump-crash"
chmod 0755 "$S/netdump-crash"
F=$(client_addr 6)
send_dump 1 "$F" -q -g 96M -z 0.5 -s 46 -t 300 -r 3 -o "$T/sentF"
wait_manifest "$(client_dir "$F")" 0 30
M=$(client_dir "$F")/manifest.0.json
assert_eq "$(jget "$M" .status)" incomplete "status"
assert_log "dump [0-9]+: [0-9]+ bytes free, below savecore's minfree" "floor line while writing"
assert_prefix_of "$(client_dir "$F")/vmcore.0.incomplete" "$T/sentF"
pass "a minfree crossed while writing gives the dump up; the stored prefix is kept, labelled incomplete"
rm -f "$DUMPDIR/minfree" "$S/netdump-crash"
stop_server
finish
