/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "assembler.h"

#define BLK	((uint64_t)ND_BLOCK_SIZE)

void
nd_asm_init(struct nd_asm *a, struct nd_dump *d)
{
	memset(a, 0, sizeof(*a));
	a->dump = d;
}

static void
zero_gap(void *arg, uint64_t start, uint64_t end, bool is_data)
{
	uint8_t **bufbase = arg;	/* [0] = buffer, [1] = its offset */

	if (!is_data)
		memset(bufbase[0] + (start - (uint64_t)(uintptr_t)bufbase[1]),
		    0, (size_t)(end - start));
}

/* Give block 0 (len bytes of it) to the worker; gaps read as zeros. */
static void
deliver_first(struct nd_asm *a, uint64_t len)
{
	struct nd_work w;

	if (a->win[0] != NULL && len > 0) {
		uint8_t *arg[2] = { a->win[0],
		    (uint8_t *)(uintptr_t)a->frontier };

		nd_cov_walk(&a->dump->cov, a->frontier, a->frontier + len,
		    zero_gap, arg);
		w = (struct nd_work){ ND_WORK_BLOCK, a->frontier, len,
		    a->win[0] };
		/* BLOCKs always fit: the ring is larger than the pool. */
		(void)nd_dump_post(a->dump, &w);
	} else {
		if (a->win[0] != NULL)
			nd_dump_put_block(a->dump, a->win[0]);
		if (len > 0) {
			w = (struct nd_work){ ND_WORK_HOLE, a->frontier, len,
			    NULL };
			(void)nd_dump_post(a->dump, &w);
		}
	}
}

static void
shift(struct nd_asm *a)
{
	memmove(&a->win[0], &a->win[1], (ND_WINDOW_BLOCKS - 1) *
	    sizeof(a->win[0]));
	a->win[ND_WINDOW_BLOCKS - 1] = NULL;
	a->frontier += BLK;
}

/* Move the window so that [.., end) fits in it. */
static void
advance_to(struct nd_asm *a, uint64_t off, uint64_t end)
{
	uint64_t target;
	unsigned i;
	bool any = false;

	if (end <= a->frontier + ND_WINDOW_BLOCKS * BLK)
		return;
	target = off - off % BLK;
	for (i = 0; i < ND_WINDOW_BLOCKS; i++)
		any = any || a->win[i] != NULL;
	/* A jump far ahead skips the empty stretch as one hole. */
	while (a->frontier < target && (any || a->win[0] != NULL)) {
		deliver_first(a, BLK);
		shift(a);
		any = false;
		for (i = 0; i < ND_WINDOW_BLOCKS; i++)
			any = any || a->win[i] != NULL;
	}
	if (a->frontier < target) {
		struct nd_work w = { ND_WORK_HOLE, a->frontier,
		    target - a->frontier, NULL };

		(void)nd_dump_post(a->dump, &w);
		a->frontier = target;
	}
}

/* Late bytes: copy the parts not seen before and queue them. */
static enum nd_asm_result
late(struct nd_asm *a, uint64_t off, const uint8_t *p, size_t len)
{
	struct nd_work w;
	uint64_t added;
	uint8_t *copy;

	if (nd_cov_contains(&a->dump->cov, off, off + len))
		return ND_ASM_DUPLICATE;
	if (!nd_dump_late_ok(a->dump) || (copy = malloc(len)) == NULL)
		return ND_ASM_BUSY;
	memcpy(copy, p, len);
	w = (struct nd_work){ ND_WORK_LATE, off, len, copy };
	if (nd_dump_post(a->dump, &w) == -1) {
		free(copy);
		return ND_ASM_BUSY;
	}
	/*
	 * Claim the bytes only once they are on their way; if the claim
	 * fails they are written anyway and the retransmission writes them
	 * again, which is harmless.
	 */
	if (nd_cov_add(&a->dump->cov, off, off + len, &added) == -1)
		return ND_ASM_BUSY;
	a->dump->late_bytes += added;
	return ND_ASM_OK;
}

/* Whether block b has a buffer in the window now. */
static bool
has_buffer(const struct nd_asm *a, uint64_t b)
{
	return b >= a->frontier && b < a->frontier + ND_WINDOW_BLOCKS * BLK &&
	    a->win[(b - a->frontier) / BLK] != NULL;
}

enum nd_asm_result
nd_asm_data(struct nd_asm *a, uint64_t off, const uint8_t *p, size_t len)
{
	struct nd_dump *d = a->dump;
	uint64_t end = off + len, added, pos;
	enum nd_asm_result r = ND_ASM_DUPLICATE;
	uint64_t first_block, b;
	uint8_t *taken[2];
	unsigned i;

	if (len == 0)
		return ND_ASM_DUPLICATE;
	if (off < a->frontier) {
		size_t n = end <= a->frontier ? len :
		    (size_t)(a->frontier - off);

		r = late(a, off, p, n);
		if (r == ND_ASM_BUSY || n == len)
			return r;
		off += n;
		p += n;
		len -= n;
	}
	if (nd_cov_contains(&d->cov, off, end))
		return r;
	/*
	 * Take the buffers before moving the window, so BUSY leaves no trace
	 * (a packet spans two blocks at most: it is smaller than one).
	 */
	first_block = off - off % BLK;
	for (i = 0, b = first_block; b < end; b += BLK, i++) {
		taken[i] = NULL;
		if (!has_buffer(a, b) &&
		    (taken[i] = nd_dump_get_block(d)) == NULL) {
			while (i-- > 0)
				if (taken[i] != NULL)
					nd_dump_put_block(d, taken[i]);
			return ND_ASM_BUSY;
		}
	}
	advance_to(a, off, end);
	for (i = 0, b = first_block; b < end; b += BLK, i++)
		if (taken[i] != NULL)
			a->win[(b - a->frontier) / BLK] = taken[i];
	if (nd_cov_add(&d->cov, off, end, &added) == -1)
		return ND_ASM_BUSY;
	for (pos = off; pos < end;) {
		uint64_t rel = pos - a->frontier;
		unsigned bi = (unsigned)(rel / BLK);
		uint64_t boff = rel % BLK;
		size_t n = (size_t)(BLK - boff < end - pos ? BLK - boff :
		    end - pos);

		memcpy(a->win[bi] + boff, p + (pos - off), n);
		pos += n;
	}
	/*
	 * Deliver whole blocks once a page beyond them has arrived: kernel
	 * compression pads the last 4 KiB block, so the padding (under a
	 * page) then lies wholly in a later block, held until the KDH says
	 * where the dump really ends.
	 */
	while (a->win[0] != NULL &&
	    nd_cov_end(&d->cov) >= a->frontier + BLK + ND_PAGE &&
	    nd_cov_contains(&d->cov, a->frontier, a->frontier + BLK)) {
		deliver_first(a, BLK);
		shift(a);
	}
	return ND_ASM_OK;
}

uint64_t
nd_asm_finish(struct nd_asm *a, uint64_t limit)
{
	uint64_t size = nd_cov_end(&a->dump->cov);
	unsigned i;

	if (size > limit)
		size = limit;
	for (i = 0; i < ND_WINDOW_BLOCKS; i++) {
		uint64_t len = 0;

		if (a->frontier < size)
			len = size - a->frontier < BLK ? size - a->frontier :
			    BLK;
		deliver_first(a, len);
		a->win[0] = NULL;
		if (len < BLK)
			break;
		shift(a);
	}
	/* Anything left in the window lies beyond the cut. */
	for (i = 0; i < ND_WINDOW_BLOCKS; i++)
		if (a->win[i] != NULL) {
			nd_dump_put_block(a->dump, a->win[i]);
			a->win[i] = NULL;
		}
	return size;
}
