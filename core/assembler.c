/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
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

struct zero_fill {
	uint8_t		*buf;
	uint64_t	 off;	/* of buf */
	bool		 any;
};

static void
zero_gap(void *arg, uint64_t start, uint64_t end, bool is_data)
{
	struct zero_fill *z = arg;

	if (!is_data) {
		memset(z->buf + (start - z->off), 0, (size_t)(end - start));
		z->any = true;
	}
}

/* Give block 0 (len bytes of it) to the worker; gaps read as zeros. */
static void
deliver_first(struct nd_asm *a, uint64_t len)
{
	struct nd_work w;

	if (a->win[0] != NULL && len > 0) {
		struct zero_fill z = { a->win[0], a->frontier, false };

		nd_cov_walk(&a->dump->cov, a->frontier, a->frontier + len,
		    zero_gap, &z);
		w = (struct nd_work){ ND_WORK_BLOCK, a->frontier, len,
		    a->win[0], z.any, false };
		/* BLOCKs always fit: the ring is larger than the pool. */
		(void)nd_dump_post(a->dump, &w);
	} else {
		if (a->win[0] != NULL)
			nd_dump_put_block(a->dump, a->win[0]);
		if (len > 0) {
			w = (struct nd_work){ ND_WORK_HOLE, a->frontier, len,
			    NULL, true, false };
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
		    target - a->frontier, NULL, true, false };

		(void)nd_dump_post(a->dump, &w);
		a->frontier = target;
	}
}

static void
count_data(void *arg, uint64_t start, uint64_t end, bool is_data)
{
	if (is_data)
		*(uint64_t *)arg += end - start;
}

bool
nd_asm_far_jump(const struct nd_asm *a, uint64_t off, uint64_t end)
{
	uint64_t target = off - off % BLK, below = 0;

	if (end <= a->frontier + ND_WINDOW_BLOCKS * BLK ||
	    target <= a->frontier ||
	    nd_cov_contains(&a->dump->cov, a->frontier, target))
		return false;
	nd_cov_walk(&a->dump->cov, off > ND_CALL_SIZE ? off - ND_CALL_SIZE : 0,
	    off, count_data, &below);
	return below < ND_CALL_SIZE / 2;
}

/* Queue late bytes [off, off + len) that no earlier message brought. */
static enum nd_asm_result
late_run(struct nd_asm *a, uint64_t off, const uint8_t *p, size_t len)
{
	struct nd_work w;
	uint64_t added;
	uint8_t *copy;

	if (!nd_dump_late_ok(a->dump) || (copy = malloc(len)) == NULL)
		return ND_ASM_BUSY;
	memcpy(copy, p, len);
	w = (struct nd_work){ ND_WORK_LATE, off, len, copy, false, false };
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
		return errno == E2BIG ? ND_ASM_OVERFLOW : ND_ASM_BUSY;
	a->dump->late_bytes += added;
	return ND_ASM_OK;
}

/*
 * Late bytes, behind the frontier: queue the runs not seen before, never
 * the ones already passed on (the first copy stays; those bytes are no
 * longer here to compare). The runs are listed before any is claimed,
 * since claiming changes the set being walked; past LATE_RUNS of them, or
 * when a run finds no room, the message stays unanswered and its
 * retransmission finds the runs queued so far covered.
 */
#define LATE_RUNS	8

struct late_walk {
	struct nd_range	 run[LATE_RUNS];
	size_t		 n;
};

static void
late_gap(void *arg, uint64_t start, uint64_t end, bool is_data)
{
	struct late_walk *lw = arg;

	if (!is_data && lw->n < LATE_RUNS)
		lw->run[lw->n++] = (struct nd_range){ start, end };
	else if (!is_data)
		lw->n = LATE_RUNS + 1;
}

static enum nd_asm_result
late(struct nd_asm *a, uint64_t off, const uint8_t *p, size_t len)
{
	struct late_walk lw = { .n = 0 };
	size_t i;

	if (nd_cov_contains(&a->dump->cov, off, off + len))
		return ND_ASM_DUPLICATE;
	nd_cov_walk(&a->dump->cov, off, off + len, late_gap, &lw);
	for (i = 0; i < lw.n && i < LATE_RUNS; i++) {
		enum nd_asm_result r = late_run(a, lw.run[i].start,
		    p + (lw.run[i].start - off),
		    (size_t)(lw.run[i].end - lw.run[i].start));

		if (r != ND_ASM_OK)
			return r;
	}
	return lw.n > LATE_RUNS ? ND_ASM_BUSY : ND_ASM_OK;
}

/* Whether block b has a buffer in the window now. */
static bool
has_buffer(const struct nd_asm *a, uint64_t b)
{
	return b >= a->frontier && b < a->frontier + ND_WINDOW_BLOCKS * BLK &&
	    a->win[(b - a->frontier) / BLK] != NULL;
}

/*
 * The part of [pos, end) that lies in one window block: its length, and
 * the block's index and the offset in it.
 */
static size_t
window_piece(const struct nd_asm *a, uint64_t pos, uint64_t end,
    unsigned *bi, uint64_t *boff)
{
	uint64_t rel = pos - a->frontier;

	*bi = (unsigned)(rel / BLK);
	*boff = rel % BLK;
	return (size_t)(BLK - *boff < end - pos ? BLK - *boff : end - pos);
}

/* Copy [pos, end) of the message into the window. */
static void
window_copy(struct nd_asm *a, uint64_t pos, uint64_t end, const uint8_t *src)
{
	unsigned bi;
	uint64_t boff;
	size_t n;

	for (; pos < end; pos += n, src += n) {
		n = window_piece(a, pos, end, &bi, &boff);
		memcpy(a->win[bi] + boff, src, n);
	}
}

/* Whether [pos, end) in the window holds exactly src. */
static bool
window_same(const struct nd_asm *a, uint64_t pos, uint64_t end,
    const uint8_t *src)
{
	unsigned bi;
	uint64_t boff;
	size_t n;

	for (; pos < end; pos += n, src += n) {
		n = window_piece(a, pos, end, &bi, &boff);
		if (a->win[bi] != NULL && memcmp(a->win[bi] + boff, src, n) !=
		    0)
			return false;
	}
	return true;
}

/*
 * A message that overlaps bytes already held: new bytes are copied, held
 * ones compared. A difference is a conflict (counted; the first copy
 * stays): a real kernel resends the same bytes at the same offset.
 */
struct overlap_walk {
	struct nd_asm	*a;
	const uint8_t	*p;
	uint64_t	 off;
	bool		 copy;		/* false: compare only */
};

static void
overlap_run(void *arg, uint64_t start, uint64_t end, bool is_data)
{
	struct overlap_walk *ow = arg;
	const uint8_t *src = ow->p + (start - ow->off);

	if (!is_data) {
		if (ow->copy)
			window_copy(ow->a, start, end, src);
	} else if (!window_same(ow->a, start, end, src))
		nd_dump_conflict(ow->a->dump, "vmcore", start);
}

enum nd_asm_result
nd_asm_data(struct nd_asm *a, uint64_t off, const uint8_t *p, size_t len)
{
	struct nd_dump *d = a->dump;
	uint64_t end = off + len, added;
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
		if ((r != ND_ASM_OK && r != ND_ASM_DUPLICATE) || n == len)
			return r;
		off += n;
		p += n;
		len -= n;
	}
	if (nd_cov_contains(&d->cov, off, end)) {
		struct overlap_walk ow = { a, p, off, false };

		nd_cov_walk(&d->cov, off, end, overlap_run, &ow);
		return r;
	}
	if (d->cov.n + 1 >= nd_cov_cap(&d->cov))
		return ND_ASM_OVERFLOW;
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
	/* In order (the common case) nothing can overlap. */
	if (off >= nd_cov_end(&d->cov))
		window_copy(a, off, end, p);
	else {
		struct overlap_walk ow = { a, p, off, true };

		nd_cov_walk(&d->cov, off, end, overlap_run, &ow);
	}
	if (nd_cov_add(&d->cov, off, end, &added) == -1)
		return ND_ASM_BUSY;
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
