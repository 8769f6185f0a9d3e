# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# For the attack tests that run senders in the background: lib.sh (the
# test sets NET before sourcing this), FAULTS (this folder, for
# ndfault.py), and a cleanup that ends the background senders with the
# test, so a failed check does not leave them sending (and holding the
# client network) for a minute.

# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
FAULTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_bg_cleanup() {
	local rc=$? p

	for p in $(jobs -p); do
		[ "$p" = "$SERVER_PID" ] || kill "$p" 2>/dev/null || true
	done
	set +e
	(exit "$rc")
	_nd_cleanup
}
trap _bg_cleanup EXIT
