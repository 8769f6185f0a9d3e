#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Send dumps whose kernel dump headers are built here, byte by byte, at
the offsets of struct kerneldumpheader (sys/sys/kerneldump.h, version 4:
magic[20]@0, architecture[12]@20, version@32, architectureversion@36,
dumplength@40, dumptime@48, dumpkeysize@56, blocksize@60, hostname[64]@64,
versionstring[192]@128, panicstring[175]@320, compression@495,
dumpextent@496, parity@508; big-endian), as a kernel fills them
(dump_init_header in sys/kern/kern_shutdown.c).

usage: savecore_info.py PORT ADDR CASE

CASE is one of the names in CASES; the info.N the server writes for it
must equal tests/integration/golden/info.CASE (for a little-endian host:
savecore prints the parity word without a byte swap).
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "faults"))
import ndfault  # noqa: E402

DUMPTIME = 1795419292           # 2026-11-23 07:34:52 UTC

TRUNCATED = (b"FreeBSD 15.0-CURRENT #0 main-n270000-0123456789ab: "
             b"Tue Nov 24 10:00:00 UTC 2026\n    " + b"o" * 200)

CASES = {
    # newvers.sh -r (or -R on a clean tree): one line, the ident last.
    "one_line": dict(
        version=b"FreeBSD 14.2-RELEASE releng/14.2-n269506-c8918d6c7412 "
                b"GENERIC\n",
        host=b"web1.example.org", panic=b"page fault while in kernel mode"),
    # newvers.sh with metadata (custom or modified tree): two lines.
    "two_lines": dict(
        version=b"FreeBSD 14.2-STABLE #3 stable/14-n269871-0ab1c2d3e4f5-"
                b"dirty: Mon Nov 23 08:00:00 CET 2026\n    root@build."
                b"example.org:/usr/obj/usr/src/amd64.amd64/sys/CUSTOM\n",
        host=b"db2", panic=b"vm_fault: pager read error, pid 1"),
    # Longer than the field: strlcpy, then versionstring[190] = '\n'.
    "truncated": dict(version=TRUNCATED, host=b"h", panic=b"p"),
    # dumpon -Z: dumplength is what was written, dumpextent the memory.
    "zstd": dict(
        version=b"FreeBSD 13.3-RELEASE-p1 GENERIC\n", host=b"fw",
        panic=b"sanity check failed", compression=2, extent=4294967296),
    # dumpon -k: the key follows the first header; keysize in the KDH.
    "encrypted": dict(
        version=b"FreeBSD 14.1-RELEASE-p5 GENERIC\n", host=b"vault",
        panic=b"Fatal trap 12: page fault while in kernel mode",
        keysize=4096),
}


def kdh(case, dumplength):
    c = CASES[case]
    b = bytearray(512)
    b[0:20] = b"FreeBSD Kernel Dump".ljust(20, b"\0")
    b[20:32] = b"amd64".ljust(12, b"\0")
    struct.pack_into(">IIQQII", b, 32, 4, 2, dumplength, DUMPTIME,
                     c.get("keysize", 0), 512)
    b[64:64 + len(c["host"])] = c["host"]
    v = c["version"]
    if len(v) > 191:            # strlcpy into 192 bytes, truncated
        v = v[:190] + b"\n"
    b[128:128 + len(v)] = v
    b[320:320 + len(c["panic"])] = c["panic"]
    b[495] = c.get("compression", 0)
    struct.pack_into(">Q", b, 496, c.get("extent", dumplength))
    x = 0
    for i in range(0, 508, 4):
        x ^= struct.unpack_from(">I", b, i)[0]
    struct.pack_into(">I", b, 508, x)
    return bytes(b)


def main():
    port, addr, case = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    body = ndfault.image(256 * 1024, 7)
    c = ndfault.Client(addr, port)
    c.herald()
    if CASES[case].get("keysize"):
        c.call(ndfault.EKCD_KEY, bytes(range(256)) * 16)
    c.dump(body)
    c.call(ndfault.KDH, kdh(case, len(body)))
    c.finished()


if __name__ == "__main__":
    main()
