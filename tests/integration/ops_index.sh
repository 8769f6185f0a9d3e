#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The dump index: netdump-server --list rebuilds it from the manifests
# beneath the dump directory, with or without the daemon (so it survives
# restarts). Panic signatures: the same panic at another address from
# another client is the same signature; another panic is another. Views:
# the dumps, --by-signature (dumps, clients, first, last), --hosts (each
# client's last dump), as tables and --json; a file named like a
# manifest that is not one is counted, not listed; *.last links are not
# counted twice.
set -euo pipefail
NET=143
. "$(dirname "$0")/lib.sh"

start_server
A=$(client_addr 1)
B=$(client_addr 2)
send_dump 0 "$A" -q -g 1M -s 1 --panic "vm_fault: fault on nofault entry, addr: 0xfffffe0012345000"
wait_dumps "$A" 1
send_dump 0 "$B" -q -g 1M -s 2 --panic "vm_fault: fault on nofault entry, addr: 0xfffffe00abcdef00"
wait_dumps "$B" 1
send_dump 0 "$A" -q -g 1M -s 3 --panic "page fault"
wait_dumps "$A" 2
wait_manifest "$(client_dir "$A")" 1
SA=$(jq -r .signature.id "$(client_dir "$A")/manifest.0.json")
SB=$(jq -r .signature.id "$(client_dir "$B")/manifest.0.json")
SP=$(jq -r .signature.id "$(client_dir "$A")/manifest.1.json")
assert_eq "$SB" "$SA" "the same panic at another address from another client"
assert_ne "$SP" "$SA" "another panic"
assert_eq "$(jq -r .signature.panic "$(client_dir "$B")/manifest.0.json")" \
    "vm_fault: fault on nofault entry, addr: 0x?" "the masked panic string"
assert_log "dump [0-9]+ from ${B//./\\.}: signature $SA: vm_fault: fault on nofault entry, addr: 0x\\?" "signature line"
pass "signatures: $SA for both vm_fault panics, $SP for the page fault; in the manifests and the log"

# Something named like a manifest that is not one.
echo "not json" >"$DUMPDIR/$A/manifest.9.json"

list() {	# VIEW-OPTIONS...: JSON on stdout, stderr in $T/list.err
	"$ND_SERVER" -d "$DUMPDIR" --list "$@" 2>"$T/list.err"
}

check_views() {	# WHAT
	list --json >"$T/dumps.json"
	assert_eq "$(jq length "$T/dumps.json")" 3 "$1: dumps listed"
	assert_eq "$(jq -r '[.[].client] | join(" ")' "$T/dumps.json")" "$A $B $A" "$1: clients, oldest first"
	assert_eq "$(jq -r '.[0].stored.local' "$T/dumps.json")" "$A/vmcore.0" "$1: where the first dump went"
	assert_eq "$(jq -r '.[2].size' "$T/dumps.json")" 1048576 "$1: size"
	assert_grep "$T/list.err" "1 file\\(s\\) named like a manifest were not read" "$1: the bogus manifest"
	list --by-signature --json >"$T/sigs.json"
	assert_eq "$(jq length "$T/sigs.json")" 2 "$1: signatures"
	assert_eq "$(jq -r --arg s "$SA" '.[] | select(.signature == $s) | "\(.dumps) \(.clients)"' "$T/sigs.json")" "2 2" "$1: dumps and clients of $SA"
	assert_eq "$(jq -r '.[0].signature' "$T/sigs.json")" "$SA" "$1: first seen first"
	list --hosts --json >"$T/hosts.json"
	assert_eq "$(jq -r --arg a "$A" '.[] | select(.client == $a) | "\(.dumps) \(.signature) \(.status)"' "$T/hosts.json")" "2 $SP complete" "$1: $A's dumps and last"
	list --by-signature >"$T/sigs.txt"
	assert_eq "$(wc -l <"$T/sigs.txt")" 3 "$1: table lines"
	assert_grep "$T/sigs.txt" "^$SA +2 +2 " "$1: the table row of $SA"
}
check_views "daemon running"
stop_server
check_views "daemon stopped"
pass "--list, --by-signature, --hosts (table and JSON) from the manifests, the same with the daemon stopped; a bogus manifest counted, *.last not twice"

rc=0
"$ND_SERVER" -d "$DUMPDIR" --json >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "--json without --list"
pass "--json without --list is a usage error"

# A panic string is the sender's: terminal escapes in it (ESC, C1's CSI
# as UTF-8 and as a bare byte, a byte that is not UTF-8) and a
# right-to-left override (the rest of the line shown backwards) must not
# reach the operator's terminal through the tables.
start_server
C=$(client_addr 3)
send_dump 0 "$C" -q -g 1M -s 4 \
    --panic "$(printf 'boom \302\2331m \033[2J \233 \377 \342\200\256dne end')"
wait_dumps "$C" 1
stop_server
for v in --hosts --by-signature --dumps; do
	[ "$v" = --dumps ] && set -- || set -- "$v"
	list "$@" >"$T/esc.txt"
	python3 - "$T/esc.txt" "$v" <<'PY' || fail "--list $v shows control characters: $(od -c "$T/esc.txt" | head -20)"
import sys
t = open(sys.argv[1], "rb").read().decode("utf-8")
bad = [hex(ord(c)) for c in t
       if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f or
       0x202a <= ord(c) <= 0x202e]
assert not bad, bad
assert sys.argv[2] == "--dumps" or "boom" in t and "end" in t, t
PY
done
pass "--list: a panic string with ESC, CSI (C1), a byte that is not UTF-8 and U+202E is shown with '?' for them"
# The manifest keeps the panic string whole, and is safe to cat: what a
# terminal obeys (C0, C1) or that turns text around goes escaped.
python3 - "$(client_dir "$C")/manifest.0.json" <<'PY' || fail "the manifest holds control characters as they are: $(od -c "$(client_dir "$C")/manifest.0.json" | grep -n '302 233' | head -3)"
import json, sys
t = open(sys.argv[1], "rb").read().decode("utf-8")
bad = [hex(ord(c)) for c in t if (ord(c) < 0x20 and c != "\n") or
       0x7f <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x202e]
assert not bad, bad
p = json.loads(t)["kdh"]["panicstring"]
assert p.startswith("boom \u009b1m \u001b[2J ") and p.endswith(" end"), p
PY
pass "the manifest: the same panic string, whole, with its C0 and C1 characters escaped"

# A manifest planted (or from a store that cut a name in two): an address
# of 63 bytes whose last character, two bytes long, does not fit the
# table's 64 and is cut, and a status with C1's CSI in UTF-8. The dump is
# still listed in --json (jansson refuses a string that is not UTF-8), and
# neither view has a control character.
M=$(ls "$DUMPDIR/$C"/manifest.0.json)
mkdir -p "$DUMPDIR/planted"
A62=$(printf 'a%.0s' $(seq 62))
jq --arg a "$A62$(printf '\303\251')" --arg s "$(printf 'ok\302\2332J')" \
    '.client.address = $a | .status = $s | .dump_id = 777' "$M" \
    >"$DUMPDIR/planted/manifest.0.json"
list --json >"$T/planted.json"
assert_eq "$(jq '[.[] | select(.dump_id == 777)] | length' "$T/planted.json")" 1 \
    "--json: the planted dump listed"
assert_eq "$(jq -r '.[] | select(.dump_id == 777) | .client' "$T/planted.json")" \
    "$A62?" "--json: the address cut where it fits"
list >"$T/planted.txt"
python3 - "$T/planted.txt" "$T/planted.json" <<'PY' || fail "--list shows control characters: $(od -c "$T/planted.txt" | head -20)"
import sys
for f in sys.argv[1:]:
    t = open(f, "rb").read().decode("utf-8")
    bad = [hex(ord(c)) for c in t
           if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
    assert not bad, (f, bad)
PY
rm -r "$DUMPDIR/planted"
pass "--list: a planted manifest with a cut character and C1 in its status is listed in --json, without control characters"

# A HERALD path of 12 components (folders the operator made, as the file
# sink wants them): the dump is stored 13 folders down and --list still
# finds it (it looks as deep as retention does).
mkdir -p "$DUMPDIR/a/b/c/d/e/f/g/h/i/j/k/l"
start_server
D=$(client_addr 5)
send_dump 0 "$D" -q -g 1M -s 6 -p a/b/c/d/e/f/g/h/i/j/k/l
wait_dumps "$D" 1
stop_server
list --json >"$T/deep.json"
assert_eq "$(jq --arg c "$D" '[.[] | select(.client == $c)] | length' "$T/deep.json")" 1 \
    "--json: the dump 13 folders down"
assert_eq "$(jq -r --arg c "$D" '.[] | select(.client == $c) | .manifest' "$T/deep.json")" \
    "a/b/c/d/e/f/g/h/i/j/k/l/$D/manifest.0.json" "--json: where its manifest is"
pass "--list finds a dump whose HERALD path has 12 components"

# A failed chain's cut-short copy is in the manifest too (so retention
# removes it); --list shows where a chain that stored the dump put it.
mkdir -p "$DUMPDIR/other"
cat >"$T/fan.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR
[sink local]
module = file
[sink other]
module = file
dir = other
[sink refuse]
module = flaky
failures = 1000
[route default]
path = *
sink = refuse | local, other
INI
start_server -c "$T/fan.ini"
F=$(client_addr 4)
send_dump 0 "$F" -q -g 1M -s 5
wait_manifest "$DUMPDIR/other/$F" 0
stop_server
list >"$T/fan.txt"
assert_grep "$T/fan.txt" "^[^ ]+ +${F//./\\.} .* other/${F//./\\.}/vmcore\\.0$" "--list: where the dump went"
pass "--list names the copy a chain stored, not a failed chain's cut-short one"
finish
