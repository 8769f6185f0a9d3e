/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The header region of a Linux netdump's ELF core (see elfcore.h). Every
 * field is written little-endian byte by byte at the offsets <elf.h>
 * gives, so the file is the same whatever the host.
 *
 * The prstatus layouts. struct elf_prstatus is the kernel's
 * include/linux/elfcore.h (not installed here; read in torvalds/linux, a
 * 2.6-era copy, the fields RHEL 4 has) and glibc's <sys/procfs.h>
 * (/usr/include/x86_64-linux-gnu/sys/procfs.h on this machine): pr_info
 * (three ints), pr_cursig (short), pr_sigpend and pr_sighold (unsigned
 * long), pr_pid/ppid/pgrp/sid, four struct timeval, pr_reg
 * (elf_gregset_t), pr_fpvalid (int).
 * - x86_64, from glibc's header compiled here: offsetof(pr_reg) 112,
 *   sizeof(pr_reg) 216 (27 registers of 8 bytes), sizeof 336.
 * - i386, with 32-bit longs (no 32-bit libc here): pr_info 12, pr_cursig
 *   2 and 2 of padding, pr_sigpend 4, pr_sighold 4, the pids 16, the
 *   timevals 32, so pr_reg at 72; pr_reg 68 (17 registers of 4 bytes),
 *   pr_fpvalid 4: sizeof 144. The same struct under gcc -m32 gives these
 *   numbers, and binutils' bfd/elf32-i386.c (elf_i386_grok_prstatus)
 *   takes a 144-byte note with its registers at 72 and 68 long, as
 *   bfd/elf64-x86-64.c takes 336, 112 and 216 (test_elfcore asks gdb).
 */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "elfcore.h"

/* Note names are "CORE" with n_namesz 4, no NUL: see put_note. */
#define NOTE_NAME	"CORE"
#define NOTE_NAMESZ	4
#define NOTE_HDR	12	/* n_namesz, n_descsz, n_type: Elf{32,64}_Nhdr */

struct arch {
	uint16_t	machine;
	uint64_t	addr_max;	/* highest kernel virtual address */
	size_t		word;		/* NT_TASKSTRUCT's size: a pointer */
	size_t		prstatus;	/* sizeof(struct elf_prstatus) */
	size_t		pr_reg;		/* offsetof(..., pr_reg) */
	size_t		nreg;		/* sizeof(elf_gregset_t) */
};

static const struct arch arches[] = {
	{ EM_386, UINT32_MAX, 4, 144, 72, 17 * 4 },
	{ EM_X86_64, UINT64_MAX, 8, 336, 112, 27 * 8 },
};

/* Where things go in the header region, from the descriptor alone. */
struct layout {
	const struct arch *arch;
	int		elf64;
	size_t		ehdr;		/* sizeof(Elf{32,64}_Ehdr) */
	size_t		phdr;		/* sizeof(Elf{32,64}_Phdr) */
	size_t		note_off;
	size_t		note_size;
	size_t		size;		/* the whole region, page-rounded */
};

/* One program header, whichever class it is written as. */
struct phdr {
	uint32_t	type;
	uint32_t	flags;
	uint64_t	offset;
	uint64_t	vaddr;
	uint64_t	paddr;
	uint64_t	filesz;
	uint64_t	memsz;
	uint64_t	align;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static size_t
round4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t
note_size(size_t descsz)
{
	return NOTE_HDR + round4(NOTE_NAMESZ) + round4(descsz);
}

static const struct arch *
arch_of(uint32_t machine)
{
	size_t i;

	for (i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (arches[i].machine == machine)
			return &arches[i];
	return NULL;
}

/* The region for one class; the notes follow the last program header. */
static void
layout_class(struct layout *l, const struct nd_elf_desc *d, int elf64)
{
	size_t ps = d->page_size;

	l->elf64 = elf64;
	l->ehdr = elf64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	l->phdr = elf64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	l->note_off = round4(l->ehdr + (1 + d->max_loads) * l->phdr);
	l->note_size = note_size(l->arch->prstatus) +
	    note_size(l->arch->word);
	l->size = (l->note_off + l->note_size + ps - 1) & ~(ps - 1);
}

static int
layout_of(const struct nd_elf_desc *d, struct layout *l)
{
	uint64_t ps = d->page_size;

	if ((l->arch = arch_of(d->machine)) == NULL)
		return -1;
	if (ps < ND_ELF_PAGE_MIN || ps > ND_ELF_PAGE_MAX ||
	    (ps & (ps - 1)) != 0)
		return -1;
	if (d->max_loads < 1 || d->max_loads > ND_ELF_MAX_LOADS)
		return -1;
	if (l->arch->machine == EM_X86_64) {
		layout_class(l, d, 1);
	} else {
		/*
		 * ELF32's offsets and sizes are 32 bits: an i386 with PAE
		 * and more than 4 GiB gets ELF64 headers, as kexec-tools
		 * writes them, which crash reads for EM_386 too.
		 */
		layout_class(l, d, 0);
		if (d->max_pfn > (UINT32_MAX - l->size) / ps)
			layout_class(l, d, 1);
	}
	if (d->max_pfn > (UINT64_MAX - l->size) / ps)
		return -1;
	return 0;
}

size_t
nd_elf_header_size(const struct nd_elf_desc *d)
{
	struct layout l;

	if (layout_of(d, &l) == -1) {
		errno = EINVAL;
		return 0;
	}
	return l.size;
}

static void
put_ehdr(uint8_t *out, const struct layout *l, uint16_t phnum)
{
	out[EI_MAG0] = ELFMAG0;
	out[EI_MAG1] = ELFMAG1;
	out[EI_MAG2] = ELFMAG2;
	out[EI_MAG3] = ELFMAG3;
	out[EI_CLASS] = l->elf64 ? ELFCLASS64 : ELFCLASS32;
	out[EI_DATA] = ELFDATA2LSB;
	out[EI_VERSION] = EV_CURRENT;
	out[EI_OSABI] = ELFOSABI_NONE;
	if (l->elf64) {
		put16(out + offsetof(Elf64_Ehdr, e_type), ET_CORE);
		put16(out + offsetof(Elf64_Ehdr, e_machine), l->arch->machine);
		put32(out + offsetof(Elf64_Ehdr, e_version), EV_CURRENT);
		put64(out + offsetof(Elf64_Ehdr, e_phoff), l->ehdr);
		put16(out + offsetof(Elf64_Ehdr, e_ehsize), (uint16_t)l->ehdr);
		put16(out + offsetof(Elf64_Ehdr, e_phentsize),
		    (uint16_t)l->phdr);
		put16(out + offsetof(Elf64_Ehdr, e_phnum), phnum);
	} else {
		put16(out + offsetof(Elf32_Ehdr, e_type), ET_CORE);
		put16(out + offsetof(Elf32_Ehdr, e_machine), l->arch->machine);
		put32(out + offsetof(Elf32_Ehdr, e_version), EV_CURRENT);
		put32(out + offsetof(Elf32_Ehdr, e_phoff), (uint32_t)l->ehdr);
		put16(out + offsetof(Elf32_Ehdr, e_ehsize), (uint16_t)l->ehdr);
		put16(out + offsetof(Elf32_Ehdr, e_phentsize),
		    (uint16_t)l->phdr);
		put16(out + offsetof(Elf32_Ehdr, e_phnum), phnum);
	}
}

/* ELF32 values were range-checked by layout_of; the casts cannot cut. */
static void
put_phdr(uint8_t *out, const struct layout *l, size_t i,
    const struct phdr *ph)
{
	uint8_t *p = out + l->ehdr + i * l->phdr;

	if (l->elf64) {
		put32(p + offsetof(Elf64_Phdr, p_type), ph->type);
		put32(p + offsetof(Elf64_Phdr, p_flags), ph->flags);
		put64(p + offsetof(Elf64_Phdr, p_offset), ph->offset);
		put64(p + offsetof(Elf64_Phdr, p_vaddr), ph->vaddr);
		put64(p + offsetof(Elf64_Phdr, p_paddr), ph->paddr);
		put64(p + offsetof(Elf64_Phdr, p_filesz), ph->filesz);
		put64(p + offsetof(Elf64_Phdr, p_memsz), ph->memsz);
		put64(p + offsetof(Elf64_Phdr, p_align), ph->align);
	} else {
		put32(p + offsetof(Elf32_Phdr, p_type), ph->type);
		put32(p + offsetof(Elf32_Phdr, p_flags), ph->flags);
		put32(p + offsetof(Elf32_Phdr, p_offset), (uint32_t)ph->offset);
		put32(p + offsetof(Elf32_Phdr, p_vaddr), (uint32_t)ph->vaddr);
		put32(p + offsetof(Elf32_Phdr, p_paddr), (uint32_t)ph->paddr);
		put32(p + offsetof(Elf32_Phdr, p_filesz), (uint32_t)ph->filesz);
		put32(p + offsetof(Elf32_Phdr, p_memsz), (uint32_t)ph->memsz);
		put32(p + offsetof(Elf32_Phdr, p_align), (uint32_t)ph->align);
	}
}

/*
 * One note; returns where its descriptor goes. The name is "CORE" with
 * n_namesz 4 and no NUL, as netdump-server wrote it: crash finds a
 * netdump's descriptor at name + n_namesz without rounding (netdump.c,
 * dump_Elf{32,64}_Nhdr; only for a kdump does it allow for the 5 of
 * "CORE\0"), so with 5 it would read NT_TASKSTRUCT a byte off. Readelf,
 * eu-readelf and bfd round, and read 4 the same.
 */
static uint8_t *
put_note(uint8_t *p, uint32_t type, size_t descsz)
{
	put32(p, NOTE_NAMESZ);
	put32(p + 4, (uint32_t)descsz);
	put32(p + 8, type);
	memcpy(p + NOTE_HDR, NOTE_NAME, NOTE_NAMESZ);
	return p + NOTE_HDR + round4(NOTE_NAMESZ);
}

static void
put_notes(uint8_t *out, const struct layout *l, const struct nd_elf_desc *d)
{
	const struct arch *a = l->arch;
	struct phdr ph = { .type = PT_NOTE, .offset = l->note_off,
	    .filesz = l->note_size, .align = 4 };
	uint8_t *p = out + l->note_off;
	uint8_t *desc;

	put_phdr(out, l, 0, &ph);
	/* pr_pid, signals and times are not sent: they stay 0. */
	desc = put_note(p, NT_PRSTATUS, a->prstatus);
	memcpy(desc + a->pr_reg, d->regs, a->nreg);
	p += note_size(a->prstatus);
	desc = put_note(p, NT_TASKSTRUCT, a->word);
	if (a->word == 8)
		put64(desc, d->task);
	else	/* a pointer past 32 bits is no i386 task: unknown */
		put32(desc, d->task > UINT32_MAX ? 0 : (uint32_t)d->task);
}

/* Sorted, disjoint, non-empty, below max_pfn. */
static int
ram_ok(const struct nd_elf_desc *d, const struct nd_elf_range *ram,
    size_t nram)
{
	uint64_t end = 0;
	size_t i;

	for (i = 0; i < nram; i++) {
		if (ram[i].count == 0 || ram[i].first < end ||
		    ram[i].first >= d->max_pfn ||
		    ram[i].count > d->max_pfn - ram[i].first)
			return -1;
		end = ram[i].first + ram[i].count;
	}
	return 0;
}

static uint64_t
gap(const struct nd_elf_range *ram, size_t i)
{
	return ram[i + 1].first - (ram[i].first + ram[i].count);
}

static size_t
gaps_above(const struct nd_elf_range *ram, size_t nram, uint64_t g)
{
	size_t i, n = 0;

	for (i = 0; i + 1 < nram; i++)
		if (gap(ram, i) > g)
			n++;
	return n;
}

/*
 * Which holes between RAM ranges stay holes between PT_LOADs: at most
 * max_loads - 1 of them, the widest. The smallest width g such that no
 * more than that many are wider is found by bisection (the RAM map is the
 * client's, so no quadratic merging and no allocation); every hole wider
 * than g separates, and of those exactly g wide the first *ties do.
 * Adjacent ranges (a hole of 0) always join.
 */
static uint64_t
merge_plan(const struct nd_elf_range *ram, size_t nram, size_t max_loads,
    size_t *ties)
{
	uint64_t lo = 0, hi = 0, mid;
	size_t i, keep = max_loads - 1;

	for (i = 0; i + 1 < nram; i++)
		if (gap(ram, i) > hi)
			hi = gap(ram, i);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (gaps_above(ram, nram, mid) <= keep)
			hi = mid;
		else
			lo = mid + 1;
	}
	*ties = lo == 0 ? 0 : keep - gaps_above(ram, nram, lo);
	return lo;
}

static void
put_load(uint8_t *out, const struct layout *l, const struct nd_elf_desc *d,
    size_t i, uint64_t first, uint64_t end)
{
	struct phdr ph = { .type = PT_LOAD, .flags = PF_R | PF_W | PF_X,
	    .align = d->page_size };

	ph.paddr = first * d->page_size;
	ph.offset = l->size + ph.paddr;
	ph.filesz = ph.memsz = (end - first) * d->page_size;
	/*
	 * The kernel maps RAM at page_offset only as far as its address
	 * space goes (i386: not past 4 GiB); beyond, like unknown, it is 0.
	 */
	if (d->page_offset != 0 && d->page_offset <= l->arch->addr_max &&
	    ph.paddr <= l->arch->addr_max - d->page_offset)
		ph.vaddr = d->page_offset + ph.paddr;
	put_phdr(out, l, 1 + i, &ph);
}

/* Returns the number of PT_LOADs written. */
static size_t
put_loads(uint8_t *out, const struct layout *l, const struct nd_elf_desc *d,
    const struct nd_elf_range *ram, size_t nram)
{
	uint64_t g, first, end, w;
	size_t i, n = 0, ties;

	if (nram == 0)
		return 0;
	g = merge_plan(ram, nram, d->max_loads, &ties);
	/*
	 * crash reads an ELF32 netdump flat, frame N at the first PT_LOAD's
	 * p_offset + N * page size (netdump.c, read_netdump), so that
	 * segment must start at frame 0; the frames below the first RAM
	 * range then read as zeros, which they are in the file.
	 */
	first = l->elf64 ? ram[0].first : 0;
	end = ram[0].first + ram[0].count;
	for (i = 1; i < nram; i++) {
		w = gap(ram, i - 1);
		if (w > g || (w == g && ties > 0)) {
			if (w == g)
				ties--;
			put_load(out, l, d, n++, first, end);
			first = ram[i].first;
		}
		end = ram[i].first + ram[i].count;
	}
	put_load(out, l, d, n++, first, end);
	return n;
}

int
nd_elf_header_build(const struct nd_elf_desc *d,
    const struct nd_elf_range *ram, size_t nram, uint8_t *out, size_t outlen)
{
	struct layout l;
	size_t nloads;

	if (layout_of(d, &l) == -1 || d->regs == NULL ||
	    d->regs_len != l.arch->nreg || (ram == NULL && nram != 0) ||
	    ram_ok(d, ram, nram) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (out == NULL || outlen < l.size) {
		errno = ENOBUFS;
		return -1;
	}
	memset(out, 0, l.size);
	put_notes(out, &l, d);
	nloads = put_loads(out, &l, d, ram, nram);
	put_ehdr(out, &l, (uint16_t)(1 + nloads));
	return (int)nloads;
}
