#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Hostile HERALD paths: "..", absolute paths and symlinks leading out of
# the dump directory never make the server write outside it; such dumps
# land under the default path and are complete. A valid existing path is
# used as given.
set -euo pipefail
NET=122
. "$(dirname "$0")/lib.sh"

mkdir -p "$DUMPDIR/prod/web" "$T/outside" "$T/outside2"
ln -s "$T/outside" "$DUMPDIR/evil"		# absolute target, outside
ln -s ../outside2 "$DUMPDIR/evil2"		# relative target, outside
mkdir -p "$DUMPDIR/ok"
ln -s "$T/outside" "$DUMPDIR/ok/deeper"		# a symlink further down
chmod 700 "$DUMPDIR"
before=$(cd "$T" && find . -path ./dumps -prune -o -print | sort)

start_server --timeout 10

# hostile I PATH: the dump must land in DUMPDIR/<addr>/, complete.
hostile() {
	local a d

	a=$(client_addr "$1")
	d=$DUMPDIR/$a
	send_dump 0 "$a" -q -g 1M -s "12$1" -p "$2" -o "$T/sent$1"
	wait_manifest "$d" 0
	wait_dumps "$a" 1
	assert_manifest "$d/manifest.0.json" complete "$T/sent$1"
	assert_same_bytes "$d/vmcore.0" "$T/sent$1"
	assert_eq "$(mobject "$d/manifest.0.json" vmcore | jq -r .stored.local)" \
	    "$a/vmcore.0" "where '$2' was stored"
}

hostile 1 '../escape'
assert_log "client 127\.0\.$NET\.1: HERALD path refused" "'..' refused"
pass "-p ../escape: refused (logged), stored complete under the default path"
hostile 2 '/abs'
assert_log "client 127\.0\.$NET\.2: HERALD path refused \(absolute\)" "absolute path refused"
pass "-p /abs: refused (logged), stored complete under the default path"
hostile 3 'evil'
assert_log 'herald path "evil" is not usable' "the symlink refused"
pass "-p evil (symlink to a folder outside): stored complete under the default path"
hostile 4 'evil2'
assert_log 'herald path "evil2" is not usable' "the relative symlink refused"
pass "-p evil2 (relative symlink out): stored complete under the default path"
hostile 5 'ok/deeper'
pass "-p ok/deeper (symlink below a real folder): stored under the default path"
hostile 6 'prod/../../escape'
pass "-p prod/../../escape: stored under the default path"
hostile 7 'no/such/dir'
pass "-p no/such/dir (does not exist): stored under the default path"
# A hidden folder is the server's or a sink's own (here where an s3 spool
# would be), which retention does not go into: dumps there would stay.
mkdir -p "$DUMPDIR/.s3-spool"
hostile 9 '.s3-spool'
assert_log "client 127\.0\.$NET\.9: HERALD path refused \(component starting with '\.'\)" "hidden path refused"
assert_eq "$(ls -A "$DUMPDIR/.s3-spool" | wc -l)" 0 "files in the hidden folder"
pass "-p .s3-spool (a hidden folder that exists): refused, stored under the default path"

# A path 17 directories deep (that exists) is refused: a client could
# otherwise name the directory the server made for it, dump after dump,
# and nest its dumps below where retention and the index look (32 down).
deep=$(printf 'd/%.0s' $(seq 1 17)); deep=${deep%/}
mkdir -p "$DUMPDIR/$deep"
hostile 10 "$deep"
assert_log "client 127\.0\.$NET\.10: HERALD path refused \(deeper than 16 directories\)" "a 17-deep path refused"
pass "-p d/d/.../d (17 deep, exists): refused, stored under the default path"

# A symbolic link that stays inside the dump directory is not taken
# either: the path the manifest names must be the one retention walks
# (it follows no link), or retention finds the manifest and never the
# vmcore (which filled the disk past keep_per_client).
ln -s prod/web "$DUMPDIR/latest"
hostile 11 latest
assert_log 'herald path "latest" is not usable \(goes through a symbolic link\)' "the link inside refused"
pass "-p latest (a symlink to prod/web, inside): stored under the default path"

# A valid existing path is used.
A=$(client_addr 8)
D=$DUMPDIR/prod/web/$A
send_dump 0 "$A" -q -g 2M -s 128 -p prod/web -o "$T/sent8"
wait_manifest "$D" 0
wait_dumps "$A" 1
assert_manifest "$D/manifest.0.json" complete "$T/sent8"
assert_same_bytes "$D/vmcore.0" "$T/sent8"
assert_eq "$(jget "$D/manifest.0.json" .path)" prod/web "path in the manifest"
assert_eq "$(mobject "$D/manifest.0.json" vmcore | jq -r .stored.local)" \
    "prod/web/$A/vmcore.0" "where prod/web was stored"
assert_no_file "$DUMPDIR/$A"
pass "-p prod/web lands in DUMPDIR/prod/web/$A/vmcore.0, complete"

stop_server

# A sink directory and a HERALD path so long that the file names after
# them would not fit in the manifest's 1023-byte "where" (a 250-byte dir,
# the longest path taken, 767 bytes): the path is not used. It was, and
# "where" fell back to the bare name, by which retention never found the
# dump's files (the manifest went, the vmcore stayed).
LONGDIR=$(printf 'y%.0s' $(seq 1 250))
x255=$(printf 'x%.0s' $(seq 1 255))
LONGPATH=$x255/$x255/$x255
mkdir -p "$DUMPDIR/$LONGDIR/$LONGPATH"
cat >"$T/long.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR

[sink local]
module = file
dir = $LONGDIR

[route default]
path = *
sink = local
INI
start_server -c "$T/long.ini" --timeout 10
A=$(client_addr 12)
D=$DUMPDIR/$LONGDIR/$A
send_dump 0 "$A" -q -g 1M -s 1212 -p "$LONGPATH" -o "$T/sent12"
wait_manifest "$D" 0
assert_manifest "$D/manifest.0.json" complete "$T/sent12"
assert_same_bytes "$D/vmcore.0" "$T/sent12"
assert_log "herald path \"x{255}/x{255}/x{255}\" is not usable \(File name too long\)" "the long path refused"
assert_eq "$(mobject "$D/manifest.0.json" vmcore | jq -r .stored.local)" \
    "$LONGDIR/$A/vmcore.0" "where the dump under the long path was stored"
pass "a 767-byte path beneath a 250-byte dir: stored in the dir, its \"where\" whole"
stop_server

# Nothing appeared outside the dump directory.
[ -z "$(ls -A "$T/outside")" ] || fail "files written outside: $(ls -A "$T/outside")"
[ -z "$(ls -A "$T/outside2")" ] || fail "files written outside: $(ls -A "$T/outside2")"
after=$(cd "$T" && find . -path ./dumps -prune -o -print | grep -vE '^\./(sent[0-9]+|server\.[0-9]+\.log|send\.[0-9]+\.log|long\.ini)$' | sort)
assert_eq "$after" "$before" "files beside the dump directory"
assert_no_file /abs
assert_no_file "$T/escape"
assert_no_file "$(dirname "$T")/escape"
pass "nothing was written outside the dump directory; the outside folders are empty"
assert_symlink "$DUMPDIR/evil" "$T/outside"
assert_no_temp_files "$DUMPDIR"
finish
