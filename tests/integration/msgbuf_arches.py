#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Minidumps of each FreeBSD architecture for msgbuf_arches.sh.

Each image is laid out as minidumpsys (sys/<arch>/<arch>/minidump_machdep.c)
writes it: struct minidumphdr (sys/<arch>/include/minidump.h) zero-padded
to one page, the raw message buffer ring, round_page(msgbufsize) bytes,
then memory. Fields are in the crashed CPU's byte order; the page is 4096
bytes but for arm64 v3 with MINIDUMP_FLAG_PS_16K (flags bit 0), 16384.
The ring is wrapped: the newest text ends with "Dumping N out of M MB:",
so the server rotates it and the expected text is the chronological one,
NULs dropped, control characters but newline and tab as \\xNN, a final
newline added.

usage: msgbuf_arches.py OUTDIR
writes OUTDIR/<case>.img, <case>.expected and <case>.panic per case.
"""
import os
import struct
import sys

from ops_msgbuf import render  # the text the server writes for a ring

# The ring size each header claims: not a multiple of any page size.
RING = 48 * 1024 + 300


def fields_amd64(size):
    # sys/amd64/include/minidump.h, MINIDUMP_VERSION 3
    return [(24, "I", 3), (28, "I", size), (32, "I", 4096), (36, "I", 8192),
            (40, "Q", 0xffffffff80000000), (48, "Q", 0xfffff80000000000),
            (56, "Q", 0xfffffc0000000000), (64, "I", 4096)]


def fields_i386(size):
    # sys/i386/include/minidump.h, MINIDUMP_VERSION 2: kernbase is 32-bit
    return [(24, "I", 2), (28, "I", size), (32, "I", 4096), (36, "I", 8192),
            (40, "I", 0x00400000), (44, "I", 1), (48, "I", 4096)]


def fields_arm(size):
    # sys/arm/include/minidump.h, MINIDUMP_VERSION 2, mmuformat 2 (V6)
    return [(24, "I", 2), (28, "I", size), (32, "I", 4096), (36, "I", 8192),
            (40, "I", 0xc0000000), (44, "I", 7), (48, "I", 2),
            (52, "I", 4096)]


def fields_arm64(size, flags):
    # sys/arm64/include/minidump.h, MINIDUMP_VERSION 3: flags at 76,
    # bits 0-1 MINIDUMP_FLAG_PS_4K 0, MINIDUMP_FLAG_PS_16K 1
    return [(24, "I", 3), (28, "I", size), (32, "I", 4096), (36, "I", 8192),
            (40, "Q", 0xffff000000000000), (48, "Q", 0x80000000),
            (56, "Q", 0xffffa00000000000), (64, "Q", 0xffffa00100000000),
            (72, "I", 4096), (76, "I", flags)]


def fields_ppc64(size):
    # sys/powerpc/include/minidump.h, MINIDUMP_VERSION 2: char magic[32],
    # char mmu_name[32], then the numbers; hw_direct_map is an int
    return [(64, "I", 2), (68, "I", size), (72, "I", 4096), (76, "I", 8192),
            (80, "Q", 0xc008000000000000), (88, "Q", 0xc00fffffffffffff),
            (96, "Q", 0xc000000000000000), (104, "Q", 0xc003ffffffffffff),
            (112, "i", 1), (120, "Q", 0xc000000000100000),
            (128, "Q", 0xc000000002000000), (136, "I", 4096)]


def fields_mips(size):
    # sys/mips/include/minidump.h (FreeBSD 12/13), MINIDUMP_VERSION 2
    return [(24, "I", 2), (28, "I", size), (32, "I", 4096), (36, "I", 8192),
            (40, "Q", 0xffffffffc0000000), (48, "Q", 0x9800000000000000),
            (56, "Q", 0x9800001000000000), (64, "I", 4096)]


# case: (arch in the magic, header fields as (offset, struct format,
# value), page size, byte order). Every field at natural alignment.
CASES = {
    "arm64-16k": ("arm64", fields_arm64(RING, 1), 16384, "<"),
    "arm64-4k": ("arm64", fields_arm64(RING, 0), 4096, "<"),
    "powerpc64le": ("powerpc64", fields_ppc64(RING), 4096, "<"),
    "powerpc64": ("powerpc64", fields_ppc64(RING), 4096, ">"),
    "i386": ("i386", fields_i386(RING), 4096, "<"),
    "amd64": ("amd64", fields_amd64(RING), 4096, "<"),
    "arm": ("arm", fields_arm(RING), 4096, "<"),
    "mips": ("mips", fields_mips(RING), 4096, ">"),
    "mipsel": ("mips", fields_mips(RING), 4096, "<"),
    # arm64 v3 with 64 KiB pages (flags 2): FreeBSD never wrote one
    "arm64-64k": ("arm64", fields_arm64(RING, 2), 65536, "<"),
}


def header(arch, fields, page, endian):
    h = bytearray(page)
    magic = ("minidump FreeBSD/" + arch).encode()
    h[:len(magic)] = magic
    if arch == "powerpc64":
        h[32:41] = b"mmu_radix"
    for off, fmt, val in fields:
        struct.pack_into(endian + fmt, h, off, val)
    return bytes(h)


def chrono(name, size):
    panic = b"panic: %s test panic, vm_fault 0x%x" % (name.encode(), size)
    newest = (b"Fatal trap 12: page fault while in kernel mode\n" + panic +
              b"\ncpuid = 1\n\x1b[1mKDB: stack backtrace:\x1b[0m\n"
              b"Uptime: 1d2h3m4s\n"
              b"Dumping 40 out of 1024 MB:..3%")
    lines = []
    n = 0
    while sum(len(x) for x in lines) < size:
        lines.append(b"%s: old line %06d\n" % (name.encode(), n))
        n += 1
    older = b"K" + b"".join(lines)[-(size - len(newest) - 1):]
    text = older + newest
    assert len(text) == size and b"\0" not in text
    return text, panic


def image(name, arch, fields, page, endian):
    size = RING
    text, panic = chrono(name, size)
    p = size // 3 + 11          # the write pointer
    ring = bytearray(size)
    for i, c in enumerate(text):
        ring[(p + i) % size] = c
    padded = -(-size // page) * page
    body = bytes(ring) + b"\0" * (padded - size)
    memory = bytes((i * 37 + 11) & 0xff or 1 for i in range(4 * page))
    return header(arch, fields, page, endian) + body + memory, \
        render(text), panic


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (arch, fields, page, endian) in CASES.items():
        img, expected, panic = image(name, arch, fields, page, endian)
        base = os.path.join(out, name)
        with open(base + ".img", "wb") as f:
            f.write(img)
        with open(base + ".expected", "wb") as f:
            f.write(expected)
        with open(base + ".panic", "wb") as f:
            f.write(panic)


if __name__ == "__main__":
    main()
