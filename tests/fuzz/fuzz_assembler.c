/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the vmcore assembler driven by a sequence of 6-byte
 * operations, with the dump's queue and pool stubbed out (dump.c is not
 * linked). Operation byte 0, low two bits:
 *   0  packet at the absolute offset bytes 1-3 (24 bits), length bytes 4-5
 *   1  packet at the end of the previous one plus the signed 16-bit
 *      bytes 2-3 (bit 2 of byte 0 adds byte 1 blocks), length bytes 4-5
 *   2  control: pool of 1 + byte 1 % 12 buffers; byte 2 bit 0: the worker
 *      keeps the BLOCKs it gets, bit 1: no room for late bytes, bit 2: the
 *      worker gives back what it kept
 *   3  finish at the limit bytes 2-5 (UINT64_MAX when byte 1 is even)
 * Payload bytes are a function of their offset (1..127), so every
 * delivered byte can be checked: covered bytes carry the pattern,
 * uncovered ones read as zero, nothing is left of a buffer's old contents.
 * Also: BLOCK and HOLE items are contiguous from 0, late bytes lie behind
 * them; a block goes only once a page beyond it has arrived (the hold-back
 * that keeps compressed padding from the sinks) or when a packet lands
 * beyond the window, and at finish only below the cut; ND_ASM_DUPLICATE
 * exactly when every byte had arrived before; BUSY leaves the window, the
 * stream and the coverage ahead of the frontier as they were; with no cut
 * the stream ends at the size nd_asm_finish returns; every buffer of the
 * pool comes back.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "assembler.h"
#include "dump.h"

#define BLK	((uint64_t)ND_BLOCK_SIZE)
#define POISON	0xff
#define MAX_OUT	32

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct {
	struct nd_dump	*dump;
	unsigned	 pool;
	uint8_t		*out[MAX_OUT];
	unsigned	 nout;
	bool		 hold;
	uint8_t		*held[MAX_OUT];
	unsigned	 nheld;
	bool		 late_ok;
	uint64_t	 stream;	/* end of the BLOCK/HOLE stream */
	bool		 in_data;	/* in nd_asm_data (else finish) */
	bool		 jump;		/* its packet ends beyond the window */
	uint64_t	 pkt_off;
	uint64_t	 size;		/* in nd_asm_finish: what it returns */
} S;

#define CHECK(e)	do {						\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

/* The byte at off is pat[off % PERIOD]; pat repeats to cover a block. */
#define PERIOD	251
static uint8_t	pat[PERIOD + ND_BLOCK_SIZE + ND_MAX_PAYLOAD];
static uint8_t	zeros[ND_BLOCK_SIZE];

static const uint8_t *
pattern_at(uint64_t off)
{
	if (pat[0] == 0) {
		size_t k;

		for (k = 0; k < sizeof(pat); k++)
			pat[k] = (uint8_t)(1 + ((k % PERIOD) * 97 + 13) % 127);
	}
	return pat + off % PERIOD;
}

/*
 * Returned buffers are kept for the next get (fresh 256 KiB allocations
 * cost an mmap each under ASan) and poisoned meanwhile, so a use after
 * return still faults.
 */
static uint8_t	*spare[MAX_OUT];
static unsigned	 nspare;

static void
buf_forget(uint8_t *b)
{
	unsigned i;

	for (i = 0; i < S.nout && S.out[i] != b; i++)
		;
	CHECK(i < S.nout);
	S.out[i] = S.out[--S.nout];
	CHECK(nspare < MAX_OUT);
	ASAN_POISON_MEMORY_REGION(b, ND_BLOCK_SIZE);
	spare[nspare++] = b;
}

uint8_t *
nd_dump_get_block(struct nd_dump *d)
{
	uint8_t *b;

	CHECK(d == S.dump);
	if (S.nout >= S.pool)
		return NULL;
	if (nspare > 0) {
		b = spare[--nspare];
		ASAN_UNPOISON_MEMORY_REGION(b, ND_BLOCK_SIZE);
	} else if ((b = malloc(ND_BLOCK_SIZE)) == NULL)
		abort();
	memset(b, POISON, ND_BLOCK_SIZE);
	S.out[S.nout++] = b;
	return b;
}

void
nd_dump_put_block(struct nd_dump *d, uint8_t *b)
{
	CHECK(d == S.dump);
	buf_forget(b);
}

/* As dump.c counts it: the first conflict's place is kept. */
void
nd_dump_conflict(struct nd_dump *d, const char *what, uint64_t off)
{
	CHECK(d == S.dump);
	if (d->conflicts++ == 0) {
		d->conflict_what = what;
		d->conflict_off = off;
	}
}

int
nd_dump_late_ok(struct nd_dump *d)
{
	CHECK(d == S.dump);
	return S.late_ok;
}

struct run_check {
	const uint8_t	*buf;
	uint64_t	 base;
};

/* Covered runs carry the pattern, the others are zeros. */
static void
check_run(void *arg, uint64_t s, uint64_t e, bool is_data)
{
	const struct run_check *rc = arg;

	CHECK(memcmp(rc->buf + (s - rc->base), is_data ? pattern_at(s) :
	    zeros, (size_t)(e - s)) == 0);
}

int
nd_dump_post(struct nd_dump *d, const struct nd_work *w)
{
	struct run_check rc;
	uint64_t end;

	CHECK(d == S.dump);
	switch (w->kind) {
	case ND_WORK_BLOCK:
		CHECK(w->off == S.stream && w->off % BLK == 0);
		CHECK(w->len > 0 && w->len <= BLK);
		/*
		 * The hold-back: a block goes once a page beyond it has
		 * arrived, or below the block of a packet that lands beyond
		 * the window; at finish, only below the cut.
		 */
		end = w->off + w->len;
		if (!S.in_data)
			CHECK(end <= S.size);
		else
			CHECK(end + ND_PAGE <= nd_cov_end(&d->cov) ||
			    (S.jump && end <= S.pkt_off - S.pkt_off % BLK));
		rc.buf = w->buf;
		rc.base = w->off;
		nd_cov_walk(&d->cov, w->off, w->off + w->len, check_run, &rc);
		S.stream += w->len;
		if (S.hold) {
			CHECK(S.nheld < MAX_OUT);
			S.held[S.nheld++] = w->buf;
		} else
			buf_forget(w->buf);
		break;
	case ND_WORK_HOLE:
		CHECK(w->off == S.stream && w->len > 0 && w->buf == NULL);
		S.stream += w->len;
		break;
	case ND_WORK_LATE:
		CHECK(w->len > 0 && w->len <= ND_MAX_PAYLOAD);
		CHECK(w->off + w->len <= S.stream);
		CHECK(memcmp(w->buf, pattern_at(w->off), w->len) == 0);
		free(w->buf);
		break;
	default:
		CHECK(!"unexpected work kind");
	}
	return 0;
}

static void
count_run(void *arg, uint64_t s, uint64_t e, bool is_data)
{
	if (is_data)
		*(uint64_t *)arg += e - s;
}

/* Covered bytes in [s, e). */
static uint64_t
covered(const struct nd_coverage *c, uint64_t s, uint64_t e)
{
	uint64_t n = 0;

	nd_cov_walk(c, s, e, count_run, &n);
	return n;
}

static void
release_held(void)
{
	while (S.nheld > 0)
		buf_forget(S.held[--S.nheld]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nd_dump *d;
	struct nd_asm a;
	uint64_t last_end = 0, limit = UINT64_MAX, fsize, want;
	size_t i;

	memset(&S, 0, sizeof(S));
	S.pool = ND_POOL_BLOCKS;
	S.late_ok = true;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return 0;
	nd_cov_init(&d->cov);
	S.dump = d;
	nd_asm_init(&a, d);

	for (i = 0; i + 6 <= size; i += 6) {
		const uint8_t *op = data + i;
		uint64_t off, before, split, ahead, frontier, stream;
		uint8_t *payload;
		size_t len;
		enum nd_asm_result r;
		bool had;

		switch (op[0] & 3) {
		case 0:
		case 1:
			if ((op[0] & 3) == 0)
				off = (uint64_t)op[1] << 16 |
				    (uint64_t)op[2] << 8 | op[3];
			else {
				int64_t delta = (int16_t)(op[2] << 8 | op[3]);

				if (op[0] & 4)
					delta += (int64_t)(op[1] * BLK);
				off = (int64_t)last_end + delta < 0 ? 0 :
				    (uint64_t)((int64_t)last_end + delta);
			}
			len = (size_t)(op[4] << 8 | op[5]);
			if (len > ND_MAX_PAYLOAD)
				len = ND_MAX_PAYLOAD;
			/* Exactly len bytes, so ASan sees any overread. */
			if ((payload = malloc(len ? len : 1)) == NULL)
				abort();
			memcpy(payload, pattern_at(off), len);
			before = d->cov.total;
			had = nd_cov_contains(&d->cov, off, off + len);
			frontier = a.frontier;
			stream = S.stream;
			split = off > frontier ? off : frontier;
			ahead = covered(&d->cov, split, off + len);
			S.in_data = true;
			S.jump = off + len > frontier + ND_WINDOW_BLOCKS * BLK;
			S.pkt_off = off;
			r = nd_asm_data(&a, off, payload, len);
			S.in_data = false;
			free(payload);
			if (r == ND_ASM_BUSY) {
				/*
				 * No trace ahead of the frontier; a late part
				 * (behind it) may have been taken already.
				 */
				CHECK(a.frontier == frontier);
				CHECK(S.stream == stream);
				CHECK(covered(&d->cov, split, off + len) ==
				    ahead);
				break;
			}
			CHECK(r == ND_ASM_OK || r == ND_ASM_DUPLICATE);
			CHECK(nd_cov_contains(&d->cov, off, off + len));
			CHECK((r == ND_ASM_DUPLICATE) == had);
			if (r == ND_ASM_DUPLICATE)
				CHECK(d->cov.total == before);
			last_end = off + len;
			break;
		case 2:
			S.pool = 1 + op[1] % 12;
			if (S.pool > MAX_OUT)
				S.pool = MAX_OUT;
			S.hold = op[2] & 1;
			S.late_ok = !(op[2] & 2);
			if (op[2] & 4)
				release_held();
			break;
		case 3:
			if (op[1] & 1)
				limit = (uint64_t)op[2] << 24 | op[3] << 16 |
				    op[4] << 8 | op[5];
			i = size;	/* finish now */
			break;
		}
	}

	want = nd_cov_end(&d->cov) < limit ? nd_cov_end(&d->cov) : limit;
	S.size = want;
	fsize = nd_asm_finish(&a, limit);
	CHECK(fsize == want);
	/* The stream reaches the size, and with no cut stops there. */
	CHECK(S.stream >= fsize);
	if (limit == UINT64_MAX)
		CHECK(S.stream == fsize);
	release_held();
	CHECK(S.nout == 0);
	nd_cov_free(&d->cov);
	free(d);
	return 0;
}
