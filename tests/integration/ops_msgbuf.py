#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Minidump-like images for ops_msgbuf.sh, and the msgbuf text expected.

A FreeBSD minidump starts with a page whose first 24 bytes are the magic
("minidump FreeBSD/<arch>", NUL-padded), then u32 version and u32
msgbufsize in the platform's byte order; the raw message buffer ring
follows at offset 4096. The server writes the ring as text: an unwrapped
ring (it still has its zero tail) as it is, a wrapped one rotated after
the last "Dumping N out of M MB:" line so that the newest text comes last;
NULs dropped, control characters other than newline and tab escaped as
\\xNN, a newline added at the end if missing.

usage: ops_msgbuf.py OUTDIR
writes OUTDIR/{unwrapped,wrapped,ppc}.img and .expected
"""
import os
import random
import struct
import sys

PAGE = 4096
SIZE = 64 * 1024            # msgbufsize


def header(arch, endian, size):
    """A minidump's first page. amd64: char magic[24], then version and
    msgbufsize (sys/amd64/include/minidump.h); powerpc64: char magic[32],
    char mmu_name[32], then version and msgbufsize
    (sys/powerpc/include/minidump.h)."""
    if arch.startswith("powerpc64"):
        magic = b"minidump FreeBSD/powerpc64".ljust(32, b"\0")
        magic += b"mmu_phyp".ljust(32, b"\0")
    else:
        magic = ("minidump FreeBSD/" + arch).encode().ljust(24, b"\0")
    return (magic + struct.pack(endian + "II", 2, size)).ljust(PAGE, b"\0")


def data_pages(seed):
    rnd = random.Random(seed)
    # Random pages and zero pages, like memory.
    out = b""
    for i in range(16):
        if i % 3 == 2:
            out += b"\0" * PAGE
        else:
            out += bytes(rnd.getrandbits(8) for _ in range(PAGE))
    return out


def render(chrono):
    """What the server must write for this chronological byte string."""
    out = bytearray()
    for c in chrono:
        if c == 0:
            continue
        if c in (0x0A, 0x09) or (c >= 0x20 and c != 0x7F):
            out.append(c)
        else:
            out += b"\\x%02x" % c
    if out and out[-1:] != b"\n":
        out += b"\n"
    return bytes(out)


def unwrapped(path):
    text = (b"---<<BOOT>>---\n"
            b"Copyright (c) 1992-2024 The FreeBSD Project.\n"
            b"FreeBSD 14.1-RELEASE amd64\n"
            b"em0: link state changed to UP\n"
            b"\x1b[1mbold console text\x1b[0m and a tab:\there\n"
            b"\n"
            b"Fatal trap 12: page fault while in kernel mode\n"
            b"panic: test panic one\n"
            b"cpuid = 0\n"
            b"time = 1700000000\n"
            b"Dumping 64 out of 256 MB:")
    ring = text.ljust(SIZE, b"\0")
    with open(path + ".img", "wb") as f:
        f.write(header("amd64", "<", SIZE) + ring + data_pages(1))
    with open(path + ".expected", "wb") as f:
        f.write(render(text))


def wrapped(path, arch="amd64", endian="<", p=20000):
    newest = (b"kernel: pid 4242 (sh), jid 0, uid 0: exited on signal 11\n"
              b"Fatal trap 9: general protection fault while in kernel mode\n"
              b"panic: test panic two\n"
              b"cpuid = 1\n"
              b"KDB: stack backtrace:\n"
              b"#0 0xffffffff80b9002d at kdb_backtrace+0x5d\n"
              b"Uptime: 3d4h12m7s\n"
              b"Dumping 64 out of 256 MB:..1%")
    need = SIZE - len(newest)
    lines = []
    n = 0
    while sum(len(x) for x in lines) < need + 100:
        line = b"old kernel line %06d: routine chatter" % n
        if n == 700:
            line += b" with a bell \x07 and DEL \x7f inside"
        if n == 701:
            line += b" and a carriage return\r"
        lines.append(line + b"\n")
        n += 1
    older = b"".join(lines)[-(need - 1):]
    older = b"K" + older            # the oldest byte: not a digit or dot
    chrono = older + newest
    assert len(chrono) == SIZE and b"\0" not in chrono
    assert len(newest) < p < SIZE
    # The kernel writes the ring in circles: byte i of the chronological
    # text is at (p + i) % SIZE, so the newest byte lies at p - 1.
    ring = bytearray(SIZE)
    for i, c in enumerate(chrono):
        ring[(p + i) % SIZE] = c
    with open(path + ".img", "wb") as f:
        f.write(header(arch, endian, SIZE) + bytes(ring) + data_pages(2))
    with open(path + ".expected", "wb") as f:
        f.write(render(chrono))


def empty(path):
    """A minidump whose ring holds nothing: all zero bytes."""
    with open(path + ".img", "wb") as f:
        f.write(header("amd64", "<", SIZE) + b"\0" * SIZE + data_pages(3))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    empty(os.path.join(out, "empty"))
    unwrapped(os.path.join(out, "unwrapped"))
    wrapped(os.path.join(out, "wrapped"))
    wrapped(os.path.join(out, "ppc"), arch="powerpc64", endian=">", p=40000)


if __name__ == "__main__":
    main()
