#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The option tables are the truth: every key the server prints with
# --check-config, and every option a module declares (netdump-server -H
# MODULE prints its table), has its entry in netdump-server.ini.5, in the
# server section or in the module's own section; and every entry of a
# module's section that reads like an option names one the module has.
# Usage: options.sh NETDUMP-SERVER INI5 MODULE...
set -euo pipefail
SERVER=$1 INI5=$2
shift 2
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# The ".It Cm NAME" entries between a heading and the next one that
# matches STOP.
entries() {	# START-REGEX STOP-REGEX
	awk -v start="$1" -v stop="$2" '
		$0 ~ start { on = 1; next }
		on && $0 ~ stop { exit }
		on && /^\.It Cm [a-z_]+ No = / { print $3 }' "$INI5" | sort -u
}

server_keys=$("$SERVER" --check-config |
	awk '/^\[server\]/ { on = 1; next } /^\[/ { on = 0 } on && / =( |$)/ { print $1 }' | sort -u)
[ -n "$server_keys" ] || fail "--check-config printed no [server] keys"
documented=$(entries '^\.Sh THE SERVER SECTION' '^\.Sh ')
for k in $server_keys; do
	grep -qx "$k" <<<"$documented" || fail "[server] key '$k' is not in $INI5"
done
[ "$fails" -gt 0 ] || echo "pass: $(wc -w <<<"$server_keys") [server] keys, each documented"

for m in "$@"; do
	before=$fails
	opts=$("$SERVER" -H "$m" | awk '/^options:/ { on = 1; next } on && /^  [a-z_]/ { print $1 }' | sort -u)
	documented=$(entries "^\\.Ss The $m module" '^\.S[sh] ')
	[ -n "$documented" ] || fail "$INI5 has no section '.Ss The $m module' with options"
	for o in $opts; do
		grep -qx "$o" <<<"$documented" || fail "module $m: option '$o' is not in its section of $INI5"
	done
	for o in $documented; do
		grep -qx "$o" <<<"$opts" || fail "module $m: $INI5 documents '$o', which -H $m does not list"
	done
	[ "$fails" -gt "$before" ] ||
		echo "pass: module $m: $(wc -w <<<"$opts") options, each documented, none invented"
done
[ "$fails" -eq 0 ] || { echo "FAIL: $fails difference(s)" >&2; exit 1; }
