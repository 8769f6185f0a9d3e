#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The option entries of netdump-server.ini.5 come from the option rows the
# server reads keys with: netdump-server -H server --mdoc prints one entry
# per [server] key, -H MODULE --mdoc one per option of the module, each
# between the lines '.\" BEGIN GENERATED SECTION NAME' and
# '.\" END GENERATED SECTION NAME'. The page keeps them where they belong,
# with hand-written prose around them.
#
# This puts the entries the binary prints now into a copy of the page and
# fails on any difference, so a row changed without regenerating the page
# (or an entry edited by hand) fails. It fails too when a row has no entry
# in the page, an entry has no row, an entry sits outside its section
# (THE SERVER SECTION, or '.Ss The MODULE module'), an option's entry
# there is written by hand, or --check-config prints a [server] key that
# has no row. With --write it puts the entries into the page itself:
# 'cmake --build build --target docs-options'.
# Usage: options.sh [--write] NETDUMP-SERVER INI5 MODULE...
set -euo pipefail
write=no
if [ "${1:-}" = --write ]; then
	write=yes
	shift
fi
SERVER=$1 INI5=$2
shift 2
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$SERVER" -H server --mdoc >"$T/entries"
for m in "$@"; do
	"$SERVER" -H "$m" --mdoc >>"$T/entries"
done

# The page with every generated entry replaced by what the binary prints;
# what is wrong with the page's entries goes to problems.
awk -v sections="server $*" -v problems="$T/problems" '
	function problem(msg) { print FILENAME ":" FNR ": " msg > problems }
	BEGIN { n = split(sections, s, " "); for (i = 1; i <= n; i++) has[s[i]] = 1 }
	FNR == NR {
		if ($0 ~ /^\.\\" BEGIN GENERATED /) { key = $4 " " $5; order[++nkeys] = key }
		entry[key] = entry[key] $0 "\n"
		next
	}
	/^\.Sh / { region = $0 == ".Sh THE SERVER SECTION" ? "server" : "" }
	/^\.Ss / {
		if ($2 == "The" && $4 == "module" && NF == 4)
			region = $3
		else if (region != "server")
			region = ""
	}
	inside {
		if ($0 ~ /^\.\\" END GENERATED /) {
			if ($4 " " $5 != inside)
				problem("END of " $4 " " $5 " closes the entry of " inside)
			inside = ""
		}
		next
	}
	/^\.\\" END GENERATED / { problem("END of " $4 " " $5 " without its BEGIN") }
	/^\.\\" BEGIN GENERATED / {
		key = $4 " " $5
		inside = key
		if (!(key in entry)) {
			problem("entry of " key ", which no option row has")
			print
			next
		}
		if (key in seen)
			problem("a second entry of " key)
		else if ($4 != region)
			problem("the entry of " key " is outside its section")
		seen[key] = 1
		printf "%s", entry[key]
		next
	}
	/^\.It Cm [a-z_0-9]+ No = / && region in has {
		problem("a hand-written entry in the section of " region ": " $0)
	}
	{ print }
	END {
		if (inside != "")
			problem("the entry of " inside " has no END")
		for (i = 1; i <= nkeys; i++)
			if (!(order[i] in seen))
				print INI5 ": option " order[i] " has no entry; " \
				    "add the lines \".\\\" BEGIN GENERATED " order[i] "\" and " \
				    "\".\\\" END GENERATED " order[i] "\" where it belongs" > problems
	}' INI5="$INI5" "$T/entries" "$INI5" >"$T/page"
touch "$T/problems"
while IFS= read -r line; do
	fail "$line"
done <"$T/problems"

server_keys=$("$SERVER" --check-config |
	awk '/^\[server\]/ { on = 1; next } /^\[/ { on = 0 } on && / =( |$)/ { print $1 }')
[ -n "$server_keys" ] || fail "--check-config printed no [server] keys"
for k in $server_keys; do
	grep -qx "\.\\\\\" BEGIN GENERATED server $k" "$T/entries" ||
		fail "--check-config prints [server] key '$k', which -H server does not list"
done

[ "$fails" -eq 0 ] || { echo "FAIL: $fails problem(s) in $INI5" >&2; exit 1; }
if cmp -s "$INI5" "$T/page"; then
	echo "pass: $(grep -c '^\.\\" BEGIN GENERATED' "$T/entries") option entries in $INI5, each as its row prints it ($(wc -w <<<"$server_keys") [server] keys; modules $*)"
	exit 0
fi
if [ "$write" = yes ]; then
	cat "$T/page" >"$INI5"
	echo "$INI5: option entries regenerated"
	exit 0
fi
diff -u "$INI5" "$T/page" >&2 || true
echo "FAIL: the option entries of $INI5 differ from the option rows (above: the page, then the rows)." >&2
echo "Edit the row (core/conf_server.c, or the module's table), not the page, and regenerate: cmake --build BUILD --target docs-options" >&2
exit 1
