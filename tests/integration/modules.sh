#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Sink modules: one built for another ABI major is refused at start with
# a message about the ABI, and so is one whose option table points outside
# its config struct; -H prints a module's option table.
set -euo pipefail
NET=124
. "$(dirname "$0")/lib.sh"

[ -f "$ND_SINK_DIR/mismatch.so" ] || fail "$ND_SINK_DIR/mismatch.so is not built"

cat >"$T/mismatch.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR

[sink bad]
module = mismatch

[route r]
path = *
sink = bad
INI
PORT=$(free_port)
rc=0
timeout 30 "$ND_SERVER" -c "$T/mismatch.ini" -D -a 127.0.0.1 --port "$PORT" \
    -d "$DUMPDIR" >"$T/mismatch.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the daemon started with an ABI-mismatched module (exit $rc)"
grep -q "ABI" "$T/mismatch.out" || fail "no 'ABI' in: $(cat "$T/mismatch.out")"
grep -q "mismatch" "$T/mismatch.out" || fail "the module is not named in: $(cat "$T/mismatch.out")"
! grep -q "listening" "$T/mismatch.out" || fail "the daemon listened"
pass "a module built for another ABI: the daemon refuses to start (exit $rc): $(grep ABI "$T/mismatch.out" | head -1 | cut -c1-120)"

rc=0
"$ND_SERVER" -c "$T/mismatch.ini" --check-config >"$T/check.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "--check-config accepted an ABI-mismatched module"
grep -q "ABI" "$T/check.out" || fail "--check-config: no 'ABI' in: $(cat "$T/check.out")"
pass "--check-config refuses it too (exit $rc)"

# The host fills a module's config struct from its option table: a row
# whose field lies outside the struct, or misaligned for its type, is
# refused before anything is written.
refused_module() {	# MODULE CONFIG_SIZE WHAT
	local rc=0

	sed "s/module = mismatch/module = $1/" "$T/mismatch.ini" >"$T/$1.ini"
	"$ND_SERVER" -c "$T/$1.ini" --check-config >"$T/$1.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "--check-config accepted $3"
	grep -q "option 'window' does not fit the module's config struct ($2 bytes)" "$T/$1.out" ||
		fail "$1: $(cat "$T/$1.out")"
	pass "$3: refused (exit $rc), naming the option"
}
refused_module badoptions 8 "an option outside the module's config struct"
refused_module misaligned 16 "an option whose field is misaligned for its type"

rc=0
"$ND_SERVER" -H mismatch -c "$T/mismatch.ini" >"$T/h.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "-H mismatch exited 0"
pass "-H mismatch: exit $rc"

"$ND_SERVER" -H file >"$T/help.out" 2>&1 || fail "-H file exited non-zero: $(cat "$T/help.out")"
for opt in layout dir fsync mode; do
	grep -qE "^ +$opt " "$T/help.out" || fail "-H file does not list option '$opt': $(cat "$T/help.out")"
done
grep -q "savecore|netdumpd|redhat" "$T/help.out" || fail "-H file does not list the layouts"
pass "-H file prints the option table (layout, dir, fsync, mode) and exits 0"

rc=0
"$ND_SERVER" -H nosuchmodule >"$T/h2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "-H nosuchmodule exited 0"
grep -q "not found" "$T/h2.out" || fail "-H nosuchmodule: $(cat "$T/h2.out")"
pass "-H nosuchmodule: exit $rc, 'not found'"

# A sink_dir without the module.
mkdir "$T/empty"
printf '[server]\nsink_dir = %s\n[sink s]\nmodule = file\n' "$T/empty" >"$T/empty.ini"
rc=0
"$ND_SERVER" -c "$T/empty.ini" --check-config >"$T/e.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a sink_dir without the module was accepted"
pass "sink_dir without the module: refused (exit $rc)"

# Chains the server cannot serve as written are refused at load, naming
# the route: two archives in one chain (the second would be handed only
# the first one's tarball and refuse it: every dump through it was lost),
# and a route of more chains than a session holds (the old server served
# the first 32 and dropped the rest without a word).
refused_routes() {	# NAME SINK-LINE ERE WHAT
	local rc=0

	{
		printf '[server]\nsink_dir = %s\n' "$ND_SINK_DIR"
		printf '[sink a1]\nmodule = archive\n[sink a2]\nmodule = archive\n'
		printf '[sink z]\nmodule = zstd\n[sink local]\nmodule = file\n'
		printf '[route r]\npath = *\nsink = %s\n' "$2"
	} >"$T/$1.ini"
	"$ND_SERVER" -c "$T/$1.ini" --check-config >"$T/$1.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "--check-config accepted $4"
	grep -qE "$3" "$T/$1.out" || fail "$1: $(cat "$T/$1.out")"
	pass "$4: refused (exit $rc), naming the route"
}
refused_routes twoarchives "a1 | z | a2 | local" \
    "\\[route r\\] 'a1 \\| z \\| a2 \\| local': 'a2' \\(module archive\\) makes a tarball of the dump, but after 'a1' there is only its tarball" \
    "a chain with two archives"
refused_routes manychains "$(for i in $(seq 33); do printf 'local, '; done)local" \
    "\\[route r\\] sink: 34 chains; a route has 32 at most" \
    "a route of 34 chains"
{
	printf '[server]\nsink_dir = %s\n[sink a1]\nmodule = archive\n[sink z]\nmodule = zstd\n' "$ND_SINK_DIR"
	for i in $(seq 31); do printf '[sink l%d]\nmodule = file\ndir = out%d\n' "$i" "$i"; done
	printf '[route r]\npath = *\nsink = a1 | z | l1'
	for i in $(seq 31); do printf ', l%d' "$i"; done
	printf '\n'
} >"$T/okchains.ini"
"$ND_SERVER" -c "$T/okchains.ini" --check-config >"$T/okchains.out" 2>&1 ||
	fail "32 chains, one of them archive | zstd | local: $(cat "$T/okchains.out")"
pass "a route of 32 chains, one of them archive | zstd | local: accepted"

# --check-config touches no directory: an s3 sink's spool_dir, which the
# server makes at start, is made to create the sink and removed again,
# whether the configuration then passes or not (the old check left it,
# owned by whoever ran the check: root's, a daemon running as another
# user could not use it at the next reload).
mkdir -p "$T/cc"
long=$(printf 'x%.0s' $(seq 300))
for c in "spool/deep:" "spool/deep: | nosuch" "s2//a//:" "s3/new/$long:"; do
	printf '[server]\nsink_dir = %s\n[sink b]\nmodule = s3\nendpoint = http://127.0.0.1:9\nbucket = dumps\npath_style = yes\nspool_dir = %s\n[route r]\npath = *\nsink = b%s\n' \
	    "$ND_SINK_DIR" "$T/cc/${c%%:*}" "${c#*:}" >"$T/cc.ini"
	rc=0
	AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b "$ND_SERVER" -c "$T/cc.ini" \
	    --check-config >"$T/cc.out" 2>&1 || rc=$?
	case $c in
	*nosuch) [ "$rc" -ne 0 ] || fail "--check-config accepted sink 'nosuch'" ;;
	s3/*) [ "$rc" -ne 0 ] || fail "--check-config accepted a 300-byte folder name" ;;
	*) [ "$rc" -eq 0 ] || fail "--check-config of an s3 sink: $(cat "$T/cc.out")" ;;
	esac
	[ -z "$(ls -A "$T/cc")" ] || fail "--check-config (spool_dir ${c%%:*}, exit $rc) left $(find "$T/cc" | tr '\n' ' ')"
done
pass "--check-config of an s3 sink, passing, failing, its spool_dir with // and a trailing /, or failing to be made: made and removed, nothing left"

# The built-in configuration loads the file sink from the build tree.
"$ND_SERVER" --check-config >"$T/builtin.out" 2>&1 || fail "built-in --check-config: $(cat "$T/builtin.out")"
grep -q "module = file" "$T/builtin.out" || fail "built-in configuration has no file sink"
! grep -qE "layout = (netdumpd|redhat)" "$T/builtin.out" || fail "built-in configuration is not savecore"
pass "the built-in configuration: file sink, savecore layout"
finish
