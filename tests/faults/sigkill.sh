#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The server is killed with SIGKILL in the middle of a dump (no chance to
# close it) and restarted on the same dump directory. What is on disk is
# named incomplete, no manifest or info claims it complete, every byte on
# disk is a byte that was sent (or a hole of zeros); the restarted server
# serves again, numbers its next dump past the dead one (bounds) and
# leaves the dead one's files alone.
set -euo pipefail
NET=162
. "$(dirname "$0")/../integration/lib.sh"

start_server --timeout 30
A=$(client_addr 1)
D=$(client_dir "$A")

# A slow client: 64 MiB at 20 % loss with 200 ms rounds takes minutes.
send_bg "$A" -q -g 64M -s 421 -t 200 -r 40 --loss 0.2 -o "$T/sent"
CPID=$BG_PID
wait_file "$D/vmcore.0.incomplete" 30
# Let some of it reach the disk (the file sink writes 256 KiB blocks).
_grown() {
	[ "$(size_of "$D/vmcore.0.incomplete")" -ge $((1 << 20)) ]
}
poll 60 _grown || fail "vmcore.0.incomplete did not reach 1 MiB"
kill -0 "$CPID" 2>/dev/null || fail "the client ended before the kill"

kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
pass "SIGKILL with dump 0 at $(size_of "$D/vmcore.0.incomplete") bytes on disk"
# The client goes on retrying into the void; stop it now.
kill -TERM "$CPID" 2>/dev/null || true
wait "$CPID" 2>/dev/null || true

ls -la "$D" >"$T/after-kill.ls"
assert_file "$D/vmcore.0.incomplete"
assert_no_file "$D/vmcore.0"
assert_no_file "$D/vmcore.last"
for m in "$D"/manifest.*.json; do
	[ -e "$m" ] || continue
	[ "$(jget "$m" .status)" != complete ] || fail "$m claims complete after SIGKILL"
done
if [ -s "$D/info.0" ]; then
	! grep -q "Dump Status: good" "$D/info.0" || fail "info.0 says good after SIGKILL"
fi
pass "after SIGKILL: vmcore.0.incomplete, no vmcore.0, no vmcore.last, nothing claims complete"

# Every stored byte is the byte sent at that offset, or a hole (zeros).
python3 - "$D/vmcore.0.incomplete" "$T/sent" <<'EOF' || fail "the killed dump holds bytes that were never sent"
import sys
stored = open(sys.argv[1], "rb").read()
sent = open(sys.argv[2], "rb").read()
if len(stored) > len(sent):
    sys.exit("stored %d bytes, more than the %d sent" % (len(stored), len(sent)))
same = holes = 0
for i in range(0, len(stored), 4096):
    s, t = stored[i:i + 4096], sent[i:i + 4096]
    if s == t:
        same += 1
    elif s == bytes(len(s)):
        holes += 1
    else:
        for k in range(len(s)):
            if s[k] != t[k] and s[k] != 0:
                sys.exit("byte %d is %d, sent %d" % (i + k, s[k], t[k]))
if same == 0:
    sys.exit("no page of the killed dump matches what was sent")
print("killed dump: %d pages as sent, %d holes" % (same, holes))
EOF
SUM0=$(sha_of "$D/vmcore.0.incomplete")
pass "every page on disk is as sent or a hole"

# Restart on the same directory (a new port: the old one may linger).
start_server --timeout 30
send_dump 0 "$A" -q -g 4M -s 422 -o "$T/sent2"
wait_manifest "$D" 1
wait_dumps "$A" 1
assert_manifest "$D/manifest.1.json" complete "$T/sent2"
assert_same_bytes "$D/vmcore.1" "$T/sent2"
assert_symlink "$D/vmcore.last" vmcore.1
assert_eq "$(head -1 "$D/bounds")" 2 "bounds after the second dump"
pass "the restarted server serves: dump 1 complete and byte-identical, bounds 2"

assert_file "$D/vmcore.0.incomplete"
assert_eq "$(sha_of "$D/vmcore.0.incomplete")" "$SUM0" "the killed dump's bytes"
assert_no_file "$D/vmcore.0"
if [ -e "$D/manifest.0.json" ]; then
	[ "$(jget "$D/manifest.0.json" .status)" != complete ] ||
		fail "manifest.0.json claims complete after the restart"
fi
pass "the killed dump is untouched by the restart and still named incomplete"

stop_server
pass "server exited 0 on SIGTERM"
finish
