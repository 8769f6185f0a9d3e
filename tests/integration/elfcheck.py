#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Check a Linux netdump's ELF core against what the client sent.

elfcheck.py VMCORE IMAGE REGS [--loads N] [--holes A-B,...]

The layout crash expects of a netdump vmcore (crash's netdump.c,
is_netdump: ET_CORE, a PT_NOTE first, PT_LOADs page-aligned in the file
with p_align the page size); NT_PRSTATUS's pr_reg holding the registers
sent (struct elf_prstatus of the kernel's include/linux/elfcore.h:
pr_reg at 112 on x86_64, 72 on i386); every PT_LOAD's bytes equal to the
memory image at its physical address (netdump-linux --image-out: frame N
at N * page size); every frame outside the holes inside some PT_LOAD.
Prints what differs and exits 1.
"""
import struct
import sys


def fail(msg):
    print("elfcheck: " + msg)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    loads_want = None
    holes = []
    if "--loads" in args:
        i = args.index("--loads")
        loads_want = int(args[i + 1])
        del args[i:i + 2]
    if "--holes" in args:
        i = args.index("--holes")
        for r in args[i + 1].split(","):
            a, b = r.split("-")
            holes.append((int(a), int(b)))
        del args[i:i + 2]
    core_path, image_path, regs_path = args
    core = open(core_path, "rb")
    image = open(image_path, "rb").read()
    regs = open(regs_path, "rb").read()
    ident = core.read(64)
    if ident[:4] != b"\x7fELF":
        fail("not an ELF file")
    is64 = ident[4] == 2
    if ident[5] != 1:
        fail("not little-endian")
    if is64:
        (e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize,
         e_phnum) = struct.unpack_from("<HHIQQQIHHH", ident, 16)
    else:
        (e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize,
         e_phnum) = struct.unpack_from("<HHIIIIIHHH", ident, 16)
    if e_type != 4:
        fail("e_type %d, not ET_CORE" % e_type)
    phdrs = []
    for i in range(e_phnum):
        core.seek(e_phoff + i * e_phentsize)
        raw = core.read(e_phentsize)
        if is64:
            p_type, _, off, vaddr, paddr, filesz, memsz, align = \
                struct.unpack_from("<IIQQQQQQ", raw)
        else:
            p_type, off, vaddr, paddr, filesz, memsz, _, align = \
                struct.unpack_from("<IIIIIIII", raw)
        phdrs.append((p_type, off, paddr, filesz, memsz, align))
    if not phdrs or phdrs[0][0] != 4:
        fail("the first program header is not PT_NOTE")
    loads = [p for p in phdrs[1:] if p[0] == 1]
    if loads_want is not None and len(loads) != loads_want:
        fail("%d PT_LOAD, %d expected" % (len(loads), loads_want))
    page = loads[0][5] if loads else 0
    # The notes: NT_PRSTATUS's pr_reg is the registers sent.
    _, noff, _, nsz, _, _ = phdrs[0]
    core.seek(noff)
    notes = core.read(nsz)
    pos, found = 0, False
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
        desc = pos + 12 + ((namesz + 3) & ~3)
        if ntype == 1:
            at = 112 if e_machine == 62 else 72
            got = notes[desc + at:desc + at + len(regs)]
            if got != regs:
                fail("NT_PRSTATUS pr_reg differs from the registers sent")
            found = True
        pos = desc + ((descsz + 3) & ~3)
    if not found:
        fail("no NT_PRSTATUS note")
    covered = 0
    for _, off, paddr, filesz, memsz, align in loads:
        if align != page or off % page != 0:
            fail("PT_LOAD at file offset %#x, align %d: not page-aligned"
                 % (off, align))
        core.seek(off)
        pos = 0
        while pos < filesz:
            n = min(1 << 20, filesz - pos)
            got = core.read(n)
            want = image[paddr + pos:paddr + pos + n]
            want += b"\0" * (n - len(want))
            if got != want:
                for k in range(0, n, page):
                    if got[k:k + page] != want[k:k + page]:
                        fail("page frame %d differs (PT_LOAD at %#x)"
                             % ((paddr + pos + k) // page, paddr))
            pos += n
        covered += filesz
    frames = len(image) // page
    for pfn in range(frames):
        if any(a <= pfn < b for a, b in holes):
            continue
        if not any(p[2] <= pfn * page < p[2] + p[3] for p in loads):
            fail("RAM frame %d is in no PT_LOAD" % pfn)
    print("elfcheck: %d PT_LOAD, %d bytes, registers and every RAM frame "
          "as sent" % (len(loads), covered))


main()
