#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Dumps without a usable kernel dump header: kept byte for byte, labelled
# incomplete, with a reason that names what is wrong with the header.
set -euo pipefail
NET=117
. "$(dirname "$0")/lib.sh"

start_server --timeout 10

# kdh_case I REASON-ERE [netdump-send options...]
kdh_case() {
	local i=$1 want=$2 a d m reason stem=vmcore

	shift 2
	a=$(client_addr "$i")
	d=$(client_dir "$a")
	send_dump 0 "$a" -q -g 3M -s "7$i" -o "$T/sent$i" "$@"
	wait_manifest "$d" 0
	wait_dumps "$a" 1
	m=$d/manifest.0.json
	assert_manifest "$m" incomplete "$T/sent$i"
	reason=$(jget "$m" .reason)
	assert_match "$reason" "$want" "reason for $*"
	assert_eq "$(jget "$m" .finished)" true "finished for $*"
	[ "$(jget "$m" .encrypted)" = true ] && stem=vmcore_encrypted
	assert_same_bytes "$d/$stem.0.incomplete" "$T/sent$i"
	assert_no_file "$d/$stem.0"
	assert_no_file "$d/$stem.last"
	grep -q "Dump Status: bad" "$d/info.0" || fail "info.0 for $* is not 'bad'"
	assert_log "dump [0-9]+ from ${a//./\\.} incomplete: .*\\(" "incomplete line with a reason"
	pass "$*: kept byte-identical as $stem.0.incomplete, incomplete: '$reason'"
}

kdh_case 1 "kernel dump header|KDH" --no-kdh
assert_eq "$(jget "$(client_dir "$(client_addr 1)")/manifest.0.json" .kdh)" null "kdh without a KDH"
kdh_case 2 "parity" --bad-kdh parity
kdh_case 3 "magic" --bad-kdh magic
kdh_case 4 "version" --bad-kdh version
kdh_case 5 "short" --bad-kdh short
# An encrypted dump without a KDH keeps its key and its encrypted name.
kdh_case 6 "kernel dump header|KDH" --no-kdh --key-size 300
assert_eq "$(size_of "$(client_dir "$(client_addr 6)")/key.0")" 300 "key kept without a KDH"
assert_eq "$(jget "$(client_dir "$(client_addr 6)")/manifest.0.json" .encrypted)" true "encrypted without a KDH"

for i in 2 3 4; do
	m=$(client_dir "$(client_addr $i)")/manifest.0.json
	assert_ne "$(jget "$m" .kdh.validity)" ok "kdh.validity of case $i"
done
pass "the manifest's kdh.validity names the defect"

stop_server
pass "server exited 0 on SIGTERM"
finish
