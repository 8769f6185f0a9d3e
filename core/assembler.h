/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vmcore assembler, on the receive thread: payloads are copied into a
 * window of ND_WINDOW_BLOCKS blocks starting at the frontier; a block goes
 * to the dump's worker once it is whole and a page beyond it has arrived
 * (the tail is held back until the KDH says where the dump really ends,
 * so kernel-compressed padding never reaches a sink). Offsets behind
 * the frontier are duplicates (dropped) or late bytes (sent separately).
 */
#ifndef ND_ASSEMBLER_H
#define ND_ASSEMBLER_H

#include <stdint.h>

#include "dump.h"

#define ND_WINDOW_BLOCKS	4

struct nd_asm {
	struct nd_dump	*dump;
	uint64_t	 frontier;	/* everything below went to the worker */
	uint8_t		*win[ND_WINDOW_BLOCKS];	/* win[i] at frontier + i * BLOCK */
};

enum nd_asm_result {
	ND_ASM_OK,		/* stored: ack it */
	ND_ASM_DUPLICATE,	/* already had every byte: ack it */
	ND_ASM_BUSY,		/* no buffer or queue room: do not ack */
	ND_ASM_OVERFLOW,	/* coverage is at nd_cov_cap: end it */
};

void	nd_asm_init(struct nd_asm *, struct nd_dump *);
/*
 * Whether data at [off, end) would move the window past bytes still
 * missing (all that comes below it afterwards comes late) with less than
 * half a call's data just below off: not a kernel's next call, which
 * follows the one before it, whatever packets of that one a FreeBSD 12
 * kernel skipped (it skips at most the last 32 of 64), but a byte far
 * ahead (forged, say) or a range skipped.
 */
bool	nd_asm_far_jump(const struct nd_asm *, uint64_t off, uint64_t end);
enum nd_asm_result nd_asm_data(struct nd_asm *, uint64_t off,
	    const uint8_t *payload, size_t len);
/*
 * Hand everything held to the worker, cut at limit (the KDH's dumplength
 * for compressed dumps, else UINT64_MAX). Returns the vmcore's final size.
 */
uint64_t nd_asm_finish(struct nd_asm *, uint64_t limit);

#endif /* ND_ASSEMBLER_H */
