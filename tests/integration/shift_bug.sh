#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The kernel's 32-bit ack bitmap bug, emulated: with loss, the client
# believes a batch was acked although packets aliasing an acked one were
# lost. The client exits 0, but the server must notice the holes: the
# manifest says incomplete with gaps, the info file says bad, and every
# byte outside the listed gaps is what was sent (the gaps read as zeros).
set -euo pipefail
NET=119
. "$(dirname "$0")/lib.sh"

start_server --timeout 20
A=$(client_addr 1)
D=$(client_dir "$A")

found=""
for n in 0 1 2 3 4; do
	send_dump 0 "$A" -q -g 16M -s $((91 + n)) --shift-bug --loss 0.05 \
	    --timeout-ms 20 --retries 150 -o "$T/sent$n"
	wait_manifest "$D" "$n"
	wait_dumps "$A" $((n + 1))
	M=$D/manifest.$n.json
	if [ "$(jget "$M" .status)" = incomplete ]; then
		found=$n
		break
	fi
	# No hole this time: the dump must then be intact.
	assert_manifest "$M" complete "$T/sent$n"
	assert_same_bytes "$D/vmcore.$n" "$T/sent$n"
	echo "seed $((91 + n)) left no hole; trying another"
done
[ -n "$found" ] || fail "5 lossy dumps with the shift bug left no hole at all"
n=$found
M=$D/manifest.$n.json
gaps=$(jget "$M" .coverage.gap_count)
assert_gt "$gaps" 0 "gap_count"
assert_match "$(jget "$M" .reason)" "gap" "reason"
assert_eq "$(jget "$M" .finished)" true "finished"
assert_eq "$(jget "$M" .kdh.validity)" ok "kdh.validity"
grep -q "Dump Status: bad" "$D/info.$n" || fail "info.$n does not say bad"
assert_log "dump [0-9]+ from ${A//./\\.} incomplete: .*gap" "incomplete line naming the gaps"
pass "client exited 0, yet dump $n is incomplete with $gaps gaps: '$(jget "$M" .reason)'"

assert_file "$D/vmcore.$n.incomplete"
assert_eq "$(size_of "$D/vmcore.$n.incomplete")" "$(size_of "$T/sent$n")" "stored size"
assert_eq "$(jget "$M" .coverage.received)" \
    $(($(size_of "$T/sent$n") - $(jget "$M" '[.coverage.gaps[] | .[1] - .[0]] | add'))) \
    "received bytes = size - the gaps' lengths"
python3 "$ND_LIBDIR/gapcheck.py" "$D/vmcore.$n.incomplete" "$T/sent$n" "$M" \
    --need-data-gap || fail "the stored bytes do not match outside the gaps"
pass "outside the $gaps listed gaps the stored bytes equal the sent ones; the gaps are zeros"

stop_server
pass "server exited 0 on SIGTERM"
finish
