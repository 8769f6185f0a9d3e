/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The front of the ELF core a Linux netdump is stored as, the file Red
 * Hat's netdump-server wrote and the crash utility opens as a "netdump"
 * vmcore (crash's netdump.c, is_netdump): ET_CORE, little-endian, ELF64
 * for x86_64 and ELF32 for i386; one PT_NOTE first, with NT_PRSTATUS (the
 * registers of REPLY_REGS) and NT_TASKSTRUCT (the crashing task of the
 * START text); then one PT_LOAD per RAM range, page-aligned in the file
 * with p_align the page size, which is how crash tells it from a kdump.
 *
 * The layout is flat: page frame N is at header_size + N * page_size
 * whether it is RAM or not, so a page can be written where it belongs as
 * soon as it arrives, before the RAM map is known; frames that are not
 * RAM stay holes of a sparse file. The header is built last, when the
 * RAM map is, into the space nd_elf_header_size reserved.
 *
 * Pure: no I/O, no allocation.
 */
#ifndef ND_ELFCORE_H
#define ND_ELFCORE_H

#include <stddef.h>
#include <stdint.h>

#define ND_ELF_PAGE_MIN		1024
#define ND_ELF_PAGE_MAX		(1024 * 1024)
/* e_phnum is 16 bits and 0xffff (PN_XNUM) means "look elsewhere". */
#define ND_ELF_MAX_LOADS	65533

/* What the client told us (see linux_wire.h for where each comes from). */
struct nd_elf_desc {
	uint32_t	 machine;	/* START's nr: EM_386 or EM_X86_64 */
	uint32_t	 page_size;	/* REPLY_PAGE_SIZE's info */
	uint64_t	 max_pfn;	/* REPLY_NR_PAGES: highest frame + 1 */
	uint64_t	 task;		/* START's task_struct:0x... */
	uint64_t	 page_offset;	/* START's page_offset:0x..., 0 unknown */
	const uint8_t	*regs;		/* REPLY_REGS after its text line */
	size_t		 regs_len;	/* elf_gregset_t: 68 i386, 216 x86_64 */
	/*
	 * The PT_LOAD headers room is left for, fixed before the memory
	 * arrives because the page data starts right after that room.
	 * A RAM map with more ranges is merged down to it (see
	 * nd_elf_header_build). 1 to ND_ELF_MAX_LOADS.
	 */
	size_t		 max_loads;
};

/* Page frames first .. first + count - 1 are RAM. */
struct nd_elf_range {
	uint64_t	first;
	uint64_t	count;
};

/*
 * The bytes reserved at the front of the file for the ELF header, the
 * program headers (one PT_NOTE, max_loads PT_LOAD) and the notes, rounded
 * up to the page size: page data starts there, frame N at
 * nd_elf_header_size() + N * page_size. It does not depend on the
 * registers, the task or the RAM map, so it is known from the START,
 * PAGE_SIZE and NR_PAGES replies alone. An i386 dump whose file would
 * reach 4 GiB is written as ELF64 (still EM_386, the 64-bit headers
 * kexec-tools can give an i386 with PAE; crash reads both), and its
 * header size is ELF64's. The file must reach the end of the last
 * PT_LOAD (ftruncate to the last RAM frame's end at least), or crash
 * calls it truncated.
 * Returns 0 (errno EINVAL) for an unknown machine, a page size that is
 * not a power of two from ND_ELF_PAGE_MIN to ND_ELF_PAGE_MAX, max_loads
 * out of range, or a max_pfn whose file size overflows 64 bits.
 */
size_t	nd_elf_header_size(const struct nd_elf_desc *);

/*
 * Write the header region, nd_elf_header_size() bytes, into out: the ELF
 * header, the PT_NOTE, one PT_LOAD per RAM range (ram sorted by frame,
 * not overlapping, non-empty, below max_pfn; nram may be 0) and the
 * notes; every other byte zero. More ranges than max_loads are merged,
 * the closest neighbours first, and the frames between them then read as
 * zeros, holes in the file. On ELF32 the first PT_LOAD starts at frame 0
 * (see elfcore.c for why).
 * Returns the number of PT_LOAD headers written, or -1 with errno set:
 * EINVAL for what nd_elf_header_size refuses, registers of a length
 * other than the machine's, or a bad RAM map; ENOBUFS when outlen is
 * smaller than the header size. out is untouched on failure.
 */
int	nd_elf_header_build(const struct nd_elf_desc *,
	    const struct nd_elf_range *ram, size_t nram, uint8_t *out,
	    size_t outlen);

#endif /* ND_ELFCORE_H */
