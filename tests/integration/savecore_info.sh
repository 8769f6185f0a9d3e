#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# info.N byte for byte as savecore(8) writes it for the same header
# (printheader in sbin/savecore/savecore.c): golden files in golden/ for a
# one-line, a two-line and a truncated version string, a kernel-compressed
# and an encrypted dump; the dump time in the server's zone (TZ), the
# parity word unswapped, Bounds = N. Then crashinfo(8)'s find_kernel
# (usr.sbin/crashinfo/crashinfo.sh) must find the kernel's own version
# block in each.
set -euo pipefail
NET=224
. "$(dirname "$0")/lib.sh"

GOLDEN=$ND_LIBDIR/golden
export TZ=XXX-2		# UTC+2, as POSIX spells it: no tzdata needed
start_server --timeout 10
A=$(client_addr 1)
D=$(client_dir "$A")

if [ "$(python3 -c 'import sys; print(sys.byteorder)')" != little ]; then
	echo "note: the golden parity lines are for a little-endian host"
fi

n=0
for case in one_line two_lines truncated zstd encrypted; do
	python3 "$ND_LIBDIR/savecore_info.py" "$PORT" "$A" "$case" ||
		fail "$case: the sender failed"
	wait_manifest "$D" "$n"
	sed "1s/127\.0\.224\.1/$A/" "$GOLDEN/info.$case" >"$T/want.$n"
	if ! cmp -s "$D/info.$n" "$T/want.$n"; then
		diff -u "$T/want.$n" "$D/info.$n" >&2 || true
		fail "$case: info.$n differs from golden/info.$case"
	fi
	n=$((n + 1))
done
pass "info.0 to info.4 equal savecore's output byte for byte: one-line, two-line and truncated version strings, zstd, encrypted"

# crashinfo's find_kernel (main): the "Version String" line and the lines
# after it up to the next "  Name: " line, trailing newlines cut by $(),
# against gdb's printf "  Version String: %s", version.
ivers() {	# INFO
	awk '
	/Version String/ { print; nextline = 1; next }
	nextline == 1 {
		if ($0 ~ "^  [A-Za-z ]+: ")
			nextline = 0
		else
			print
	}' "$1"
}
kvers() {	# CASE: what gdb prints for the kernel's version variable
	python3 - "$ND_LIBDIR" "$1" <<'EOF'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location(
    "si", os.path.join(sys.argv[1], "savecore_info.py"))
si = importlib.util.module_from_spec(spec)
spec.loader.exec_module(si)
v = si.CASES[sys.argv[2]]["version"]
if len(v) > 191:    # the header holds what dump_init_header kept of it
    v = v[:190] + b"\n"
sys.stdout.buffer.write(b"  Version String: " + v)
EOF
}
n=0
for case in one_line two_lines truncated; do
	assert_eq "$(ivers "$D/info.$n")" "$(kvers "$case")" "crashinfo's version block of info.$n ($case)"
	n=$((n + 1))
done
pass "crashinfo's find_kernel reads the kernel's own version block from each info.N, two-line and truncated ones included"

stop_server
finish
