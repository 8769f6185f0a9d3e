#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# What real kernels send, from netdump-send with their quirks: the two-line
# version string of sys/conf/newvers.sh and the '\n' dump_init_header
# forces at index 190 of a truncated one (sys/kern/kern_shutdown.c); the
# EKCD key as a struct kerneldumpkey padded to the 4096-byte block
# (kerneldumpcrypto_create); a compressed dump whose dumplength is the
# stream and whose last block is zero-padded (dump_finish,
# kerneldumpcomp_write_cb); block-multiple dumper writes in a minidump's
# irregular batches (sys/amd64/amd64/minidump_machdep.c); and the 2019
# buffered netdump_client.c whose KDH and key overwrite the start of the
# data call still in its buffer. Only the Version String block and the
# status of info.N are checked: the rest of its format is not ours.
set -euo pipefail
NET=213
. "$(dirname "$0")/lib.sh"

# The Version String block of an info file, as crashinfo's find_kernel
# cuts it: the line and every following one up to the next field line.
version_block() {	# INFO
	awk '/^  Version String: /	{ p = 1; print; next }
	     p && /^  [A-Za-z ]+: /	{ exit }
	     p				{ print }' "$1"
}

# check_dump ADDR SENT: dump 0 of ADDR stored complete and equal to SENT.
check_dump() {
	local a=$1 sent=$2 d

	d=$(client_dir "$a")
	wait_manifest "$d" 0
	wait_dumps "$a" 1
	assert_manifest "$d/manifest.0.json" complete "$sent"
	grep -q "^  Dump Status: good$" "$d/info.0" || fail "$d/info.0 is not good"
}

start_server --timeout 10

# (a) The default version string: newvers.sh's two lines for a modified
# tree, both in info.0's Version String block and nothing else.
A=$(client_addr 1)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 1M -s 2131 -o "$T/sent1"
check_dump "$A" "$T/sent1"
assert_same_bytes "$D/vmcore.0" "$T/sent1"
printf '%s\n' \
    "  Version String: FreeBSD 14.2-STABLE #3 stable/14-n269873-3d2a9c1b5d07-dirty: Tue Mar  4 10:21:33 UTC 2025" \
    "    root@build.example.org:/usr/obj/usr/src/amd64.amd64/sys/CUSTOM" \
    >"$T/want1"
version_block "$D/info.0" >"$T/got1"
cmp -s "$T/got1" "$T/want1" || {
	diff "$T/want1" "$T/got1" >&2 || true
	fail "info.0's Version String block is not the two newvers.sh lines"
}
assert_eq "$(grep -A1 '^  Version String: ' "$D/info.0" | tail -1)" \
    "    root@build.example.org:/usr/obj/usr/src/amd64.amd64/sys/CUSTOM" \
    "the line after Version String"
pass "two-line version string: info.0's Version String block is exactly the two lines"

# The one-line form (newvers.sh -r).
A=$(client_addr 2)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 1M -s 2132 --one-line-version -o "$T/sent2"
check_dump "$A" "$T/sent2"
assert_eq "$(version_block "$D/info.0")" \
    "  Version String: FreeBSD 14.2-STABLE stable/14-n269873-3d2a9c1b5d07 CUSTOM" \
    "one-line Version String block"
pass "--one-line-version: a one-line block"

# (b) A version string longer than the 192-byte field: the kernel keeps
# 190 characters and forces '\n' at index 190 (then the NUL).
A=$(client_addr 3)
D=$(client_dir "$A")
long="FreeBSD 15.0-CURRENT #12 main-n275000-0123456789ab-dirty: Wed Jan  1 00:00:00 UTC 2025\n    root@a-build-host-with-a-long-name.example.org:/usr/obj/usr/home/builder/src/amd64.amd64/sys/A-KERNEL-CONFIG-WITH-A-VERY-LONG-NAME-INDEED\n"
send_dump 0 "$A" -q -g 1M -s 2133 --version-string "$long" -o "$T/sent3"
check_dump "$A" "$T/sent3"
python3 - "$long" "$D/manifest.0.json" "$T/want3" <<'PY'
import json, sys
s = sys.argv[1].encode().decode("unicode_escape")
assert len(s) > 191, len(s)
want = s[:190] + "\n"
got = json.load(open(sys.argv[2]))["kdh"]["versionstring"]
if got != want:
    sys.exit("kdh.versionstring %r, expected %r" % (got, want))
open(sys.argv[3], "w").write("  Version String: " + want)
PY
version_block "$D/info.0" >"$T/got3"
cmp -s "$T/got3" "$T/want3" || {
	diff "$T/want3" "$T/got3" >&2 || true
	fail "info.0's Version String block is not the truncated string"
}
assert_eq "$(version_block "$D/info.0" | wc -l)" 2 "lines in the truncated block"
pass "truncated version string: 190 characters and the forced newline, two lines in info.0"

# (c) EKCD as the kernel sends it: struct kerneldumpkey (encryption, IV,
# big-endian encrypted key size, the key) padded to 4096; dumpkeysize the
# padded size. Modern order with chacha20, legacy with AES-256-CBC.
ekcd_case() {	# I ORDER CIPHER CODE KEYSIZE
	local a d m

	a=$(client_addr "$1")
	d=$(client_dir "$a")
	send_dump 0 "$a" -q -g 1M -s "213$1" --order "$2" --ekcd "$3" \
	    --ekcd-key-size "$5" --key-out "$T/key$1" -o "$T/sent$1"
	check_dump "$a" "$T/sent$1"
	m=$d/manifest.0.json
	assert_same_bytes "$d/vmcore_encrypted.0" "$T/sent$1"
	assert_same_bytes "$d/key.0" "$T/key$1"
	assert_eq "$(size_of "$d/key.0")" 4096 "size of key.0"
	assert_eq "$(jget "$m" .kdh.dumpkeysize)" 4096 "kdh.dumpkeysize"
	python3 - "$d/key.0" "$4" "$5" <<'PY' || fail "key.0 is not a padded kerneldumpkey"
import struct, sys
k = open(sys.argv[1], "rb").read()
enc, size = int(sys.argv[2]), int(sys.argv[3])
assert k[0] == enc, k[0]
assert struct.unpack(">I", k[33:37])[0] == size, k[33:37]
assert any(k[37:37 + size]), "no encrypted key"
assert not any(k[37 + size:]), "padding is not zeros"
PY
}
ekcd_case 4 modern chacha20 2 512
pass "EKCD chacha20, modern order: key.0 is the 4096-byte kerneldumpkey sent, dumpkeysize 4096"
ekcd_case 5 legacy aes256-cbc 1 256
pass "EKCD aes256-cbc, legacy order: key.0 is the 4096-byte kerneldumpkey sent"

# An encrypted dump whose key cannot be stored (here a directory stands
# where the file sink writes it first; in the field a full disk): without
# its key the vmcore cannot be read, and info and manifest must say so
# rather than "good" and "complete".
a=$(client_addr 12)
d=$(client_dir "$a")
mkdir -p "$d/.key.0.tmp"
send_dump 0 "$a" -q -g 1M -s 2142 --ekcd chacha20 -o "$T/sent12"
wait_manifest "$d" 0
assert_eq "$(jget "$d/manifest.0.json" .status)" incomplete "status of a dump without its key"
assert_match "$(jget "$d/manifest.0.json" .reason)" "no sink stored the dump" "reason"
assert_grep "$d/info.0" "Dump Status: bad" "info of a dump without its key"
assert_no_file "$d/key.0"
rmdir "$d/.key.0.tmp"
pass "EKCD: a key that cannot be stored makes the dump incomplete in info and manifest"

# (d) Kernel-compressed: dumplength is the stream, fewer bytes than sent
# (the last block zero-padded); dumpextent the uncompressed size. The
# server keeps exactly dumplength bytes.
python3 - "$T/image" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    for i in range(400):
        f.write(("page %d: vm_fault: pager read error\n" % i).encode() * 50)
        f.write(b"\0" * 2500 if i % 4 else os.urandom(1200))
PY
zstd -q -c "$T/image" >"$T/image.zst"
gzip -c "$T/image" >"$T/image.gz"
comp_case() {	# I METHOD FILE SUFFIX
	local a d m n sent

	a=$(client_addr "$1")
	d=$(client_dir "$a")
	send_dump 0 "$a" -q -c "$2" --file "$3" -o "$T/wire$1"
	check_dump "$a" "$3"
	m=$d/manifest.0.json
	n=$(size_of "$3")
	sent=$(size_of "$T/wire$1")
	[ $((n % 4096)) -ne 0 ] || fail "$3 happens to be a multiple of 4096; change the image"
	assert_eq "$(jget "$m" .kdh.dumplength)" "$n" "kdh.dumplength ($2)"
	assert_gt "$sent" "$n" "bytes sent over dumplength ($2)"
	assert_eq $((sent % 4096)) 0 "bytes sent modulo 4096 ($2)"
	assert_eq "$(size_of "$d/vmcore.0.$4")" "$n" "size of vmcore.0.$4"
	assert_same_bytes "$d/vmcore.0.$4" "$3"
	assert_eq "$(tail -c $((sent - n)) "$T/wire$1" | tr -d '\0' | wc -c)" 0 \
	    "non-zero padding ($2)"
	assert_eq "$(jget "$m" .kdh.dumpextent)" "$(size_of "$T/image")" "kdh.dumpextent ($2)"
	pass "$2: dumplength $n < $sent bytes sent, dumpextent $(size_of "$T/image"); vmcore.0.$4 is the $n-byte stream, complete"
}
comp_case 6 zstd "$T/image.zst" zst
comp_case 7 gzip "$T/image.gz" gz

# (e) The 2019 buffered client: the KDH is copied over the start of the
# last data call, still buffered, which goes out after it. Stored as sent,
# complete; the KDH's bytes sit at a block boundary inside the vmcore.
A=$(client_addr 8)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 1M -s 2138 --buffered-header-bug -o "$T/sent8"
check_dump "$A" "$T/sent8"
assert_same_bytes "$D/vmcore.0" "$T/sent8"
off=$(python3 - "$T/sent8" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
i = b.find(b"FreeBSD Kernel Dump\0")
assert i > 0 and i % 4096 == 0 and b.find(b"FreeBSD Kernel Dump\0", i + 1) < 0, i
assert b"#3 stable/14" in b[i + 128:i + 320]
print(i)
PY
) || fail "the sent image has no KDH over a block start"
pass "--buffered-header-bug: complete, the KDH over the last call at offset $off as sent"

# With a key the key blob overwrites the KDH in the buffer in turn.
A=$(client_addr 9)
D=$(client_dir "$A")
send_dump 0 "$A" -q -g 1M -s 2139 --bug-12-header --ekcd chacha20 \
    --key-out "$T/key9" -o "$T/sent9"
check_dump "$A" "$T/sent9"
assert_same_bytes "$D/vmcore_encrypted.0" "$T/sent9"
assert_same_bytes "$D/key.0" "$T/key9"
python3 - "$T/sent9" "$T/key9" <<'PY' || fail "the key blob is not over the last call"
import sys
b, k = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
i = b.find(k)
assert i > 0 and i % 4096 == 0, i
PY
pass "--bug-12-header with EKCD: complete, the key blob over the last call as sent"

# (f) Blocksize-multiple writes in a minidump's batches: the header page
# alone, the message buffer, then 64 KiB calls; a file that ends mid-block
# is padded with zeros to the block and its dumplength says so.
A=$(client_addr 10)
D=$(client_dir "$A")
send_dump 0 "$A" -vv -g 1M -s 2140 -o "$T/sent10"
check_dump "$A" "$T/sent10"
grep -o 'VMCORE: seq [0-9.]*, offset [0-9]*, [0-9]* bytes' "$SEND_LOG" |
    awk '{ print $5, $6 }' | tr -d , >"$T/calls10"
# 4 KiB header; msgbuf 64 KiB; msgbuf's last 32 KiB, dump_avail, bitmap
# and page-table pages coalesced; then the pages.
assert_eq "$(head -4 "$T/calls10" | tr '\n' ' ')" \
    "0 4096 4096 65536 69632 61440 131072 65536 " \
    "the first data calls (offset length)"
awk '$1 % 4096 || $2 % 4096 { bad++ } END { exit bad > 0 }' "$T/calls10" ||
	fail "a data call is not a block multiple"
head -c 10000 /dev/urandom >"$T/odd"
A=$(client_addr 11)
D=$(client_dir "$A")
send_dump 0 "$A" -q -f "$T/odd" -o "$T/sent11"
check_dump "$A" "$T/sent11"
assert_eq "$(size_of "$T/sent11")" 12288 "bytes sent for a 10000-byte file"
assert_eq "$(jget "$D/manifest.0.json" .kdh.dumplength)" 12288 "kdh.dumplength"
cmp -s -n 10000 "$T/sent11" "$T/odd" || fail "the padded image does not start with the file"
assert_same_bytes "$D/vmcore.0" "$T/sent11"
pass "block-multiple data calls: 4 KiB header, 64 KiB calls, a 10000-byte file padded to 12288"

# (g) A minidump whose page map grew while it was written: FreeBSD 13 and
# before count the map's pages for dumplength, then walk the map again to
# write them (sys/amd64/amd64/minidump_machdep.c, minidumpsys), and
# netdump's dumper has no media size to stop the extra pages
# (dump_check_bounds). A few whole pages past a page-aligned dumplength:
# complete, every byte kept. Past it by less than a page, by more than
# 64 KiB, or past a length that is no page multiple: not this KDH's
# (faults.never_complete). Such a dump is not whole by the strict rule
# that ends a session at FINISHED at once, so it ends FINISH_WAIT (5 s)
# later; a copy of its first data message that the network delivers
# after FINISHED must not take that FINISHED back (it did: the dump
# ended by time-out, incomplete, "the client fell silent").
A=$(client_addr 13)
D=$(client_dir "$A")
timeout $((120 * WAIT_SCALE)) python3 "$ND_LIBDIR/../faults/ndfault.py" dump \
    "$PORT" "$A" "$T/sent13" --size $((32 * 4096)) --seed 2143 \
    --dumplength $((28 * 4096)) --late-copy >"$T/nd13.log" 2>&1 ||
	{ cat "$T/nd13.log" >&2; fail "ndfault.py dump failed"; }
wait_manifest "$D" 0
wait_dumps "$A" 1
assert_eq "$(jget "$D/manifest.0.json" .status)" complete "status with 4 pages past dumplength"
assert_eq "$(jget "$D/manifest.0.json" .finished)" true "finished, with a late copy after FINISHED"
assert_same_bytes "$D/vmcore.0" "$T/sent13"
pass "a minidump 4 pages past its dumplength (a page map grown while dumping), a late copy of its first data after FINISHED: complete, all 32 pages kept"

assert_no_temp_files "$DUMPDIR"
stop_server
pass "server exited 0 on SIGTERM"
finish
