#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The dump index at scale: N manifests as the server writes them (savecore
# layout, 1,000 clients, 200 signatures), then netdump-server --list,
# --list --by-signature and --list --hosts timed, with their peak memory.
# A measurement, not pass/fail: see docs/performance.md.
#
#   tests/bench/index.sh [--build DIR] [--dumps N]
set -euo pipefail

BUILD=./build
N=100000
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift ;;
	--dumps) N=$2; shift ;;
	*) echo "usage: $0 [--build DIR] [--dumps N]" >&2; exit 2 ;;
	esac
	shift
done
SERVER=$BUILD/core/netdump-server
[ -x "$SERVER" ] || { echo "$0: no $SERVER: build first" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/nd-bench-index.XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 - "$W/dumps" "$N" <<'PYEOF'
import json, os, sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    client = "10.0.%d.%d" % (i % 1000 // 250, i % 1000 % 250 + 1)
    d = os.path.join(top, client)
    num = i // 1000
    if num == 0:
        os.makedirs(d, exist_ok=True)
    sig = "%016x" % (i % 200 * 7919)
    m = {
        "manifest_version": 1, "server": "netdump-server 0.1.0",
        "dump_id": i, "status": "complete" if i % 10 else "incomplete",
        "reason": "", "client": {"address": client, "port": 20024,
                                 "name": client},
        "number": num, "path": ".", "route": "default",
        "start": "2026-%02d-%02dT%02d:%02d:00.000Z" % (
            1 + i % 12, 1 + i % 28, i % 24, i % 60),
        "end": "2026-12-02T00:00:01.000Z", "seconds": 1.0,
        "bytes_received": 1 << 30, "packets": 1000, "duplicate_packets": 0,
        "conflicts": 0, "refused_far_packets": 0, "finished": True,
        "encrypted": False, "msgbuf_missing": None,
        "protocol": "freebsd-netdump",
        "signature": {"id": sig, "architecture": "amd64",
                      "version": "FreeBSD 14.1-RELEASE GENERIC",
                      "panic": "page fault %d" % (i % 200),
                      "frames": ["tcp_output"]},
        "kdh": None,
        "objects": [{"kind": "vmcore", "size": 1 << 30, "sha256": None,
                     "stored": {"local": "%s/vmcore.%d" % (client, num)}}],
        "sinks": [{"name": "local", "result": "ok"}],
    }
    with open(os.path.join(d, "manifest.%d.json" % num), "w") as f:
        json.dump(m, f, indent=2)
PYEOF
cat >"$W/server.ini" <<EOF2
[server]
dumpdir = $W/dumps
EOF2
echo "$N manifests, $(du -sh "$W/dumps" | cut -f1) on disk"
for view in "" --by-signature --hosts; do
	sync
	/usr/bin/time -f "%e s, %M KiB peak" -o "$W/time" \
	    "$SERVER" -c "$W/server.ini" --list $view >"$W/out"
	echo "--list $view: $(wc -l <"$W/out") lines, $(cat "$W/time")"
done
