# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# For the attack tests that run senders in the background: lib.sh (the
# test sets NET before sourcing this; its cleanup ends the background
# senders with the test) and FAULTS (this folder, for ndfault.py).

# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
FAULTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Wait for a herald-flood sender (ndfault.py) whose summary goes to FILE:
# it must have ended well and sent HERALDs, or the test saw no flood.
flood_done() {	# PID FILE
	wait "$1" || fail "the flood sender failed: $(cat "$2" 2>/dev/null)"
	assert_gt "$(jq .sent "$2")" 0 "HERALDs the flood sent"
}
