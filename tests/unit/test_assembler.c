/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the vmcore assembler (core/assembler.c). The dump's
 * queue and pool are replaced by the stubs below, so dump.o (and its
 * worker thread) never gets linked: posted work is recorded, BLOCK
 * contents are copied, and the pool size is set per test to simulate a
 * slow worker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "assembler.h"
#include "dump.h"

#define BLK		((uint64_t)ND_BLOCK_SIZE)
#define PKT		1448		/* netdump's payload on a 1500 MTU */
#define BATCH		46		/* packets in 64 KiB */
#define POISON		0xa5		/* fresh pool buffers hold this */
#define MAX_OUT		64

struct item {
	enum nd_work_kind	 kind;
	uint64_t		 off;
	uint64_t		 len;
	uint8_t			*data;	/* copy of BLOCK and LATE bytes */
};

/* What the stubbed dump saw. */
static struct stub {
	struct item	*items;
	size_t		 n, cap;
	unsigned	 pool;		/* buffers that may be out at once */
	uint8_t		*out[MAX_OUT];	/* buffers handed out */
	unsigned	 nout;
	bool		 hold;		/* the worker keeps posted BLOCKs */
	uint8_t		*held[MAX_OUT];
	unsigned	 nheld;
	bool		 late_ok;
	bool		 fail_late_post;	/* nd_dump_post refuses LATE */
	uint64_t	 stream;	/* end of the BLOCK/HOLE stream */
	unsigned	 gets;
} S;

static void
buf_forget(uint8_t *b)
{
	unsigned i;

	for (i = 0; i < S.nout; i++)
		if (S.out[i] == b)
			break;
	/* Only buffers of the pool, and each only once. */
	assert_true(i < S.nout);
	S.out[i] = S.out[--S.nout];
	free(b);
}

uint8_t *
nd_dump_get_block(struct nd_dump *d)
{
	uint8_t *b;

	(void)d;
	if (S.nout >= S.pool)
		return NULL;
	assert_true(S.nout < MAX_OUT);
	b = malloc(ND_BLOCK_SIZE);
	assert_non_null(b);
	memset(b, POISON, ND_BLOCK_SIZE);
	S.out[S.nout++] = b;
	S.gets++;
	return b;
}

void
nd_dump_put_block(struct nd_dump *d, uint8_t *b)
{
	(void)d;
	buf_forget(b);
}

/* As dump.c counts it: the first conflict's place is kept. */
void
nd_dump_conflict(struct nd_dump *d, const char *what, uint64_t off)
{
	(void)d;
	if (d->conflicts++ == 0) {
		d->conflict_what = what;
		d->conflict_off = off;
	}
}

int
nd_dump_late_ok(struct nd_dump *d)
{
	(void)d;
	return S.late_ok;
}

int
nd_dump_post(struct nd_dump *d, const struct nd_work *w)
{
	struct item *it;

	(void)d;
	if (w->kind == ND_WORK_LATE && S.fail_late_post)
		return -1;
	if (S.n == S.cap) {
		S.cap = S.cap ? 2 * S.cap : 64;
		S.items = realloc(S.items, S.cap * sizeof(*S.items));
		assert_non_null(S.items);
	}
	it = &S.items[S.n++];
	it->kind = w->kind;
	it->off = w->off;
	it->len = w->len;
	it->data = NULL;
	switch (w->kind) {
	case ND_WORK_BLOCK:
		/* The stream is contiguous, in block units. */
		assert_true(w->off == S.stream);
		assert_true(w->off % BLK == 0);
		assert_true(w->len > 0 && w->len <= BLK);
		assert_non_null(w->buf);
		it->data = malloc(w->len);
		assert_non_null(it->data);
		memcpy(it->data, w->buf, w->len);
		S.stream += w->len;
		if (S.hold)
			S.held[S.nheld++] = w->buf;
		else
			buf_forget(w->buf);
		break;
	case ND_WORK_HOLE:
		assert_true(w->off == S.stream);
		assert_true(w->len > 0);
		assert_null(w->buf);
		S.stream += w->len;
		break;
	case ND_WORK_LATE:
		/* Late bytes lie behind the stream. */
		assert_true(w->len > 0);
		assert_true(w->off + w->len <= S.stream);
		it->data = malloc(w->len);
		assert_non_null(it->data);
		memcpy(it->data, w->buf, w->len);
		free(w->buf);
		break;
	default:
		fail_msg("unexpected work kind %d", (int)w->kind);
	}
	return 0;
}

/* The worker is done with the BLOCKs it kept. */
static void
release_held(void)
{
	while (S.nheld > 0)
		buf_forget(S.held[--S.nheld]);
}

/* Forget everything, buffers still out included. */
static void
stub_reset(void)
{
	size_t i;

	for (i = 0; i < S.n; i++)
		free(S.items[i].data);
	free(S.items);
	for (i = 0; i < S.nout; i++)
		free(S.out[i]);
	memset(&S, 0, sizeof(S));
	S.pool = ND_POOL_BLOCKS;
	S.late_ok = true;
}

/*
 * Test memory is tracked, so a failed assertion (which longjmps out of
 * the test) leaks nothing: the teardown frees what is left.
 */
#define MAX_TRACKED	16

static void		*tracked[MAX_TRACKED];
static struct nd_dump	*cur_dump;

static void *
talloc(size_t size)
{
	unsigned i;

	for (i = 0; i < MAX_TRACKED; i++)
		if (tracked[i] == NULL) {
			tracked[i] = calloc(1, size ? size : 1);
			assert_non_null(tracked[i]);
			return tracked[i];
		}
	fail_msg("too many tracked allocations");
	return NULL;
}

static void
tfree(void *p)
{
	unsigned i;

	for (i = 0; i < MAX_TRACKED; i++)
		if (tracked[i] == p && p != NULL) {
			tracked[i] = NULL;
			free(p);
			return;
		}
	fail_msg("freeing an untracked pointer");
}

static int
teardown(void **state)
{
	unsigned i;

	(void)state;
	stub_reset();
	if (cur_dump != NULL) {
		nd_cov_free(&cur_dump->cov);
		free(cur_dump);
		cur_dump = NULL;
	}
	for (i = 0; i < MAX_TRACKED; i++) {
		free(tracked[i]);
		tracked[i] = NULL;
	}
	return 0;
}

static struct nd_dump *
dump_new(struct nd_asm *a)
{
	struct nd_dump *d;

	assert_null(cur_dump);
	stub_reset();
	d = calloc(1, sizeof(*d));
	assert_non_null(d);
	nd_cov_init(&d->cov);
	nd_asm_init(a, d);
	cur_dump = d;
	return d;
}

static void
dump_free(struct nd_dump *d)
{
	assert_ptr_equal(d, cur_dump);
	release_held();
	/* Every buffer came back. */
	assert_int_equal(S.nout, 0);
	nd_cov_free(&d->cov);
	free(d);
	cur_dump = NULL;
	stub_reset();
}

/* xorshift64*: reproducible randomness. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint8_t *
make_src(uint64_t size, uint64_t seed)
{
	uint8_t *src = talloc(size);
	uint64_t i;

	for (i = 0; i < size; i++)
		src[i] = (uint8_t)(rnd(&seed) >> 56);
	return src;
}

static enum nd_asm_result
tx(struct nd_asm *a, const uint8_t *src, uint64_t off, size_t len)
{
	return nd_asm_data(a, off, src + off, len);
}

static void
shuffle(uint64_t *v, size_t n, uint64_t *seed)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = (size_t)(rnd(seed) % i);
		uint64_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static size_t
count_kind(enum nd_work_kind k)
{
	size_t i, n = 0;

	for (i = 0; i < S.n; i++)
		n += S.items[i].kind == k;
	return n;
}

/*
 * The object the worker would write: BLOCKs and HOLEs in order (they must
 * be contiguous from 0 to exactly size), then LATE bytes on top.
 */
static uint8_t *
image(uint64_t size)
{
	uint8_t *img = talloc(size);
	uint64_t pos = 0;
	size_t i;

	for (i = 0; i < S.n; i++) {
		const struct item *it = &S.items[i];

		if (it->kind == ND_WORK_LATE)
			continue;
		assert_true(it->off == pos);
		assert_true(it->off + it->len <= size);
		if (it->kind == ND_WORK_BLOCK)
			memcpy(img + it->off, it->data, it->len);
		pos += it->len;
	}
	assert_true(pos == size);
	for (i = 0; i < S.n; i++) {
		const struct item *it = &S.items[i];

		if (it->kind == ND_WORK_LATE)
			memcpy(img + it->off, it->data, it->len);
	}
	return img;
}

static void
expect_image(const uint8_t *want, uint64_t size)
{
	uint8_t *img = image(size);

	assert_memory_equal(img, want, size);
	tfree(img);
}

/* Send [0, size) in order as PKT-byte packets; each must be stored. */
static void
send_in_order(struct nd_asm *a, const uint8_t *src, uint64_t size)
{
	uint64_t off;

	for (off = 0; off < size; off += PKT) {
		size_t len = size - off < PKT ? (size_t)(size - off) : PKT;

		assert_int_equal(tx(a, src, off, len), ND_ASM_OK);
	}
}

static void
test_empty_packet(void **state)
{
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t b = 1;

	(void)state;
	assert_int_equal(nd_asm_data(&a, 0, &b, 0), ND_ASM_DUPLICATE);
	assert_true(d->cov.total == 0);
	/* Nothing at all: finish delivers nothing, the size is 0. */
	assert_true(nd_asm_finish(&a, UINT64_MAX) == 0);
	assert_int_equal(S.n, 0);
	dump_free(d);
}

static void
test_in_order_blocks(void **state)
{
	const uint64_t size = 20 * BATCH * PKT;	/* 5 blocks and a bit */
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(size, 1);
	uint64_t off, k;

	(void)state;
	for (off = 0; off < size; off += PKT) {
		size_t len = size - off < PKT ? (size_t)(size - off) : PKT;

		assert_int_equal(tx(&a, src, off, len), ND_ASM_OK);
		/* A block goes once a page beyond it has arrived. */
		assert_int_equal(S.n, off + len < ND_PAGE ? 0 :
		    (off + len - ND_PAGE) / BLK);
	}
	assert_int_equal(S.n, 5);
	for (k = 0; k < 5; k++) {
		assert_int_equal(S.items[k].kind, ND_WORK_BLOCK);
		assert_true(S.items[k].off == k * BLK);
		assert_true(S.items[k].len == BLK);
		assert_memory_equal(S.items[k].data, src + k * BLK, BLK);
	}
	assert_true(d->cov.total == size);
	/* The tail is held back until finish. */
	assert_true(S.stream == 5 * BLK);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	assert_int_equal(S.n, 6);
	assert_int_equal(S.items[5].kind, ND_WORK_BLOCK);
	assert_true(S.items[5].off == 5 * BLK);
	assert_true(S.items[5].len == size - 5 * BLK);
	expect_image(src, size);
	assert_int_equal(count_kind(ND_WORK_HOLE), 0);
	tfree(src);
	dump_free(d);
}

static void
test_in_order_exact_blocks(void **state)
{
	const uint64_t size = 4 * BLK;
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(size, 2);

	(void)state;
	send_in_order(&a, src, size);
	/* Even a whole last block waits: the dump might end inside it. */
	assert_int_equal(S.n, 3);
	assert_true(S.stream == 3 * BLK);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	assert_int_equal(S.n, 4);
	assert_true(S.items[3].off == 3 * BLK && S.items[3].len == BLK);
	expect_image(src, size);
	tfree(src);
	dump_free(d);
}

/* Run a stream with every BATCH packets permuted; keep the items. */
static void
run_batches(const uint8_t *src, uint64_t size, bool permute, uint64_t seed,
    struct item **items, size_t *n)
{
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint64_t offs[BATCH], base;
	size_t i, nb;

	for (base = 0; base < size; base += BATCH * PKT) {
		for (nb = 0; nb < BATCH && base + nb * PKT < size; nb++)
			offs[nb] = base + nb * PKT;
		if (permute)
			shuffle(offs, nb, &seed);
		for (i = 0; i < nb; i++) {
			uint64_t off = offs[i];
			size_t len = size - off < PKT ? (size_t)(size - off) :
			    PKT;

			assert_int_equal(tx(&a, src, off, len), ND_ASM_OK);
		}
	}
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	/* The bytes are the source; keep the shape of the stream. */
	expect_image(src, size);
	*items = talloc(S.n * sizeof(**items));
	for (i = 0; i < S.n; i++) {
		(*items)[i] = S.items[i];
		(*items)[i].data = NULL;
	}
	*n = S.n;
	dump_free(d);
}

static void
test_reorder_in_batch(void **state)
{
	const uint64_t size = 23 * BATCH * PKT + 777;
	uint8_t *src = make_src(size, 3);
	struct item *ref, *got;
	size_t nref, ngot, i;

	(void)state;
	run_batches(src, size, false, 0, &ref, &nref);
	run_batches(src, size, true, 42, &got, &ngot);
	assert_int_equal(nref, ngot);
	for (i = 0; i < nref; i++) {
		assert_int_equal(ref[i].kind, got[i].kind);
		assert_true(ref[i].off == got[i].off);
		assert_true(ref[i].len == got[i].len);
	}
	tfree(ref);
	tfree(got);
	tfree(src);
}

static void
test_duplicate_behind_frontier(void **state)
{
	const uint64_t size = 2 * BLK + 10 * PKT;
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(size, 4);
	uint8_t junk[PKT];
	uint64_t total;
	size_t n;

	(void)state;
	send_in_order(&a, src, size);
	total = d->cov.total;
	n = S.n;
	assert_int_equal(n, 2);
	/* Whole packets, partial packets, within delivered blocks. */
	assert_int_equal(tx(&a, src, 0, PKT), ND_ASM_DUPLICATE);
	assert_int_equal(tx(&a, src, 100 * PKT, PKT), ND_ASM_DUPLICATE);
	assert_int_equal(tx(&a, src, BLK - 5, 10), ND_ASM_DUPLICATE);
	/* A duplicate's bytes are not looked at (nor written anywhere). */
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(nd_asm_data(&a, 7 * PKT, junk, PKT),
	    ND_ASM_DUPLICATE);
	assert_true(d->cov.total == total);
	assert_int_equal(S.n, n);
	assert_true(d->late_bytes == 0);

	/* Over the frontier, already had on both sides. */
	assert_int_equal(tx(&a, src, 2 * BLK - 100, 200), ND_ASM_DUPLICATE);
	assert_true(d->cov.total == total);
	assert_int_equal(S.n, n);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	expect_image(src, size);
	tfree(src);
	dump_free(d);
}

/*
 * Regression: a packet whose bytes all arrived before but still lie in the
 * window (ahead of the frontier) once returned ND_ASM_OK, so dup_packets
 * undercounted.
 */
static void
test_duplicate_in_window(void **state)
{
	const uint64_t size = 10 * PKT;
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(size, 5);
	uint64_t total;

	(void)state;
	send_in_order(&a, src, size);
	total = d->cov.total;
	assert_int_equal(S.n, 0);
	/* Still in the window: the held-back block, whole packets, parts. */
	assert_int_equal(tx(&a, src, size - PKT, PKT), ND_ASM_DUPLICATE);
	assert_int_equal(tx(&a, src, 3 * PKT, PKT), ND_ASM_DUPLICATE);
	assert_int_equal(tx(&a, src, 3 * PKT + 5, 100), ND_ASM_DUPLICATE);
	assert_true(d->cov.total == total);
	assert_int_equal(S.n, 0);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	expect_image(src, size);
	tfree(src);
	dump_free(d);
}

static void
test_partial_overlap_counts_new(void **state)
{
	const uint64_t size = 10 * PKT;
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(size + PKT, 6);

	(void)state;
	send_in_order(&a, src, size);
	assert_int_equal(tx(&a, src, size - 100, PKT), ND_ASM_OK);
	assert_true(d->cov.total == size - 100 + PKT);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size - 100 + PKT);
	expect_image(src, size - 100 + PKT);
	tfree(src);
	dump_free(d);
}

/*
 * A message whose bytes differ from what arrived first at the same place
 * (spoofed, or injected ahead of the client): the first copy stays, the
 * difference is counted with its offset, and new bytes still land.
 */
static void
test_conflict_in_window(void **state)
{
	const uint64_t size = 10 * PKT;
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(size + PKT, 7);
	uint8_t junk[2 * PKT];

	(void)state;
	send_in_order(&a, src, size);
	assert_int_equal(d->conflicts, 0);
	/* Same offsets, other bytes: a duplicate that conflicts. */
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(nd_asm_data(&a, 3 * PKT, junk, PKT),
	    ND_ASM_DUPLICATE);
	assert_true(d->conflicts == 1);
	assert_string_equal(d->conflict_what, "vmcore");
	assert_true(d->conflict_off == 3 * PKT);
	/* Half old (conflicting), half new: the new half is taken. */
	memcpy(junk + PKT, src + size, PKT);
	assert_int_equal(nd_asm_data(&a, size - PKT, junk, 2 * PKT),
	    ND_ASM_OK);
	assert_true(d->conflicts == 2);
	assert_true(d->conflict_off == 3 * PKT);	/* the first stays */
	/* The honest retransmission of the same bytes is no conflict. */
	assert_int_equal(tx(&a, src, 4 * PKT, PKT), ND_ASM_DUPLICATE);
	assert_true(d->conflicts == 2);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size + PKT);
	expect_image(src, size + PKT);
	tfree(src);
	dump_free(d);
}

/*
 * Behind the frontier a message that is partly new queues only its new
 * runs: the bytes already passed on are never written over.
 */
static void
test_late_partial_keeps_first(void **state)
{
	const uint64_t size = (ND_WINDOW_BLOCKS + 2) * BLK;
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(size, 8);
	uint8_t *pkt;
	uint64_t hole = 5 * PKT, off;

	(void)state;
	/* All but one packet: past the window, the frontier jumps the gap. */
	S.pool = ND_WINDOW_BLOCKS + 2;
	for (off = 0; off < size; off += PKT)
		if (off != hole)
			assert_int_equal(tx(&a, src, off, size - off < PKT ?
			    (size_t)(size - off) : PKT), ND_ASM_OK);
	assert_false(nd_cov_contains(&d->cov, hole, hole + PKT));
	assert_true(a.frontier > hole + PKT);
	/* One message over the gap and both neighbours, neighbours wrong. */
	pkt = talloc(3 * PKT);
	memset(pkt, 0x77, 3 * PKT);
	memcpy(pkt + PKT, src + hole, PKT);
	S.late_ok = true;
	assert_int_equal(nd_asm_data(&a, hole - PKT, pkt, 3 * PKT), ND_ASM_OK);
	assert_int_equal(count_kind(ND_WORK_LATE), 1);
	assert_true(d->late_bytes == PKT);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	expect_image(src, size);
	tfree(pkt);
	tfree(src);
	dump_free(d);
}

static void
test_far_jump_and_late(void **state)
{
	const uint64_t gap = 10 * PKT, b1end = 200 * PKT;
	const uint64_t far = 5 * BLK + 123;
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(6 * BLK, 7);
	uint8_t *want;
	struct nd_range g[4];
	uint64_t off, late;

	(void)state;
	/* Block 0 with one packet missing, the start of block 1. */
	for (off = 0; off < b1end; off += PKT)
		if (off != gap)
			assert_int_equal(tx(&a, src, off, PKT), ND_ASM_OK);
	/* Block 0 is incomplete: nothing goes. */
	assert_int_equal(S.n, 0);

	/* Far beyond the window: the window is forced forward. */
	assert_int_equal(tx(&a, src, far, PKT), ND_ASM_OK);
	assert_int_equal(S.n, 3);
	want = talloc(BLK);
	assert_int_equal(S.items[0].kind, ND_WORK_BLOCK);
	assert_true(S.items[0].off == 0 && S.items[0].len == BLK);
	memcpy(want, src, BLK);
	memset(want + gap, 0, PKT);
	assert_memory_equal(S.items[0].data, want, BLK);
	assert_int_equal(S.items[1].kind, ND_WORK_BLOCK);
	assert_true(S.items[1].off == BLK && S.items[1].len == BLK);
	memset(want, 0, BLK);
	memcpy(want, src + BLK, b1end - BLK);
	assert_memory_equal(S.items[1].data, want, BLK);
	assert_int_equal(S.items[2].kind, ND_WORK_HOLE);
	assert_true(S.items[2].off == 2 * BLK);
	assert_true(S.items[2].len == 3 * BLK);
	/* Coverage still shows what never came. */
	assert_int_equal(nd_cov_gaps(&d->cov, far + PKT, g, 4), 2);
	assert_true(g[0].start == gap && g[0].end == gap + PKT);
	assert_true(g[1].start == b1end && g[1].end == far);

	/* The missing packet arrives behind the frontier: a LATE item. */
	S.late_ok = false;
	assert_int_equal(tx(&a, src, gap, PKT), ND_ASM_BUSY);
	assert_false(nd_cov_contains(&d->cov, gap, gap + PKT));
	assert_int_equal(S.n, 3);
	S.late_ok = true;
	assert_int_equal(tx(&a, src, gap, PKT), ND_ASM_OK);
	assert_int_equal(S.n, 4);
	assert_int_equal(S.items[3].kind, ND_WORK_LATE);
	assert_true(S.items[3].off == gap && S.items[3].len == PKT);
	assert_memory_equal(S.items[3].data, src + gap, PKT);
	assert_true(d->late_bytes == PKT);
	assert_true(nd_cov_contains(&d->cov, gap, gap + PKT));
	/* Again: a duplicate, no new item. */
	assert_int_equal(tx(&a, src, gap, PKT), ND_ASM_DUPLICATE);
	assert_int_equal(S.n, 4);

	/* Straddling the frontier: the part behind is late, the rest new. */
	late = 5 * BLK - 1000;
	assert_int_equal(tx(&a, src, late, 1000 + 123 + PKT + 500),
	    ND_ASM_OK);
	assert_int_equal(S.n, 5);
	assert_int_equal(S.items[4].kind, ND_WORK_LATE);
	assert_true(S.items[4].off == late && S.items[4].len == 1000);
	assert_memory_equal(S.items[4].data, src + late, 1000);
	assert_true(d->late_bytes == PKT + 1000);
	assert_true(nd_cov_contains(&d->cov, late, far + PKT + 500));

	assert_true(nd_asm_finish(&a, UINT64_MAX) == far + PKT + 500);
	memcpy(want, src + 5 * BLK, 123 + PKT + 500);
	assert_int_equal(S.items[5].kind, ND_WORK_BLOCK);
	assert_true(S.items[5].off == 5 * BLK);
	assert_memory_equal(S.items[5].data, want, 123 + PKT + 500);
	tfree(want);

	/* The object: everything that came, zeros where nothing did. */
	want = talloc(far + PKT + 500);
	memcpy(want, src, b1end);
	memcpy(want + late, src + late, far + PKT + 500 - late);
	expect_image(want, far + PKT + 500);
	tfree(want);
	tfree(src);
	dump_free(d);
}

static void
test_jump_from_start(void **state)
{
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(10 * BLK + 2 * PKT, 8);

	(void)state;
	assert_int_equal(tx(&a, src, 10 * BLK + PKT, PKT), ND_ASM_OK);
	/* No buffer was in use: the skipped stretch is a single HOLE. */
	assert_int_equal(S.n, 1);
	assert_int_equal(S.items[0].kind, ND_WORK_HOLE);
	assert_true(S.items[0].off == 0 && S.items[0].len == 10 * BLK);
	assert_int_equal(S.gets, 1);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == 10 * BLK + 2 * PKT);
	assert_int_equal(S.n, 2);
	assert_int_equal(S.items[1].kind, ND_WORK_BLOCK);
	assert_true(S.items[1].len == 2 * PKT);
	/* The gap at the start of the block reads as zeros. */
	{
		uint8_t z[PKT];

		memset(z, 0, sizeof(z));
		assert_memory_equal(S.items[1].data, z, PKT);
		assert_memory_equal(S.items[1].data + PKT,
		    src + 10 * BLK + PKT, PKT);
	}
	tfree(src);
	dump_free(d);
}

static void
test_straddling_window_end(void **state)
{
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(5 * BLK, 9);
	const uint64_t off = 4 * BLK - 100;

	(void)state;
	assert_int_equal(tx(&a, src, 0, PKT), ND_ASM_OK);
	/* Ends past the window: blocks 0..2 go, the packet lands in 0..1. */
	assert_int_equal(tx(&a, src, off, PKT), ND_ASM_OK);
	assert_int_equal(S.n, 2);
	assert_int_equal(S.items[0].kind, ND_WORK_BLOCK);
	assert_true(S.items[0].len == BLK);
	assert_memory_equal(S.items[0].data, src, PKT);
	assert_int_equal(S.items[1].kind, ND_WORK_HOLE);
	assert_true(S.items[1].off == BLK && S.items[1].len == 2 * BLK);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == off + PKT);
	{
		uint8_t *want = talloc(off + PKT);

		memcpy(want, src, PKT);
		memcpy(want + off, src + off, PKT);
		expect_image(want, off + PKT);
		tfree(want);
	}
	tfree(src);
	dump_free(d);
}

static void
test_finish_limit(void **state)
{
	const uint64_t size = 3 * BLK + 5000;
	uint8_t *src = make_src(size, 10);
	struct nd_asm a;
	struct nd_dump *d;

	(void)state;
	/* Cut inside the held-back block: the padding never goes. */
	d = dump_new(&a);
	send_in_order(&a, src, size);
	assert_true(nd_asm_finish(&a, 3 * BLK + 1000) == 3 * BLK + 1000);
	assert_int_equal(S.n, 4);
	assert_true(S.items[3].off == 3 * BLK && S.items[3].len == 1000);
	expect_image(src, 3 * BLK + 1000);
	dump_free(d);

	/* Cut exactly at a block boundary. */
	d = dump_new(&a);
	send_in_order(&a, src, size);
	assert_true(nd_asm_finish(&a, 3 * BLK) == 3 * BLK);
	assert_int_equal(S.n, 3);
	expect_image(src, 3 * BLK);
	dump_free(d);

	/* A limit beyond the data: the size is what arrived. */
	d = dump_new(&a);
	send_in_order(&a, src, size);
	assert_true(nd_asm_finish(&a, 100 * BLK) == size);
	expect_image(src, size);
	dump_free(d);

	/* A gap in the tail block is zeros in the final BLOCK. */
	d = dump_new(&a);
	assert_int_equal(tx(&a, src, 0, 1000), ND_ASM_OK);
	assert_int_equal(tx(&a, src, 3000, 1000), ND_ASM_OK);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == 4000);
	assert_int_equal(S.n, 1);
	{
		uint8_t want[4000];

		memcpy(want, src, sizeof(want));
		memset(want + 1000, 0, 2000);
		expect_image(want, sizeof(want));
	}
	dump_free(d);
	tfree(src);
}

/*
 * Regression: compressed padding (under a page) that straddles a block
 * boundary must not reach the worker. Here the dump is 2 * BLK + 3000
 * bytes but the KDH says 2 * BLK - 1000; when a block went as soon as one
 * byte beyond it had arrived, block 1 went whole with 1000 bytes of
 * padding, and the stream ended beyond the size nd_asm_finish returned.
 */
static void
test_finish_limit_across_block(void **state)
{
	const uint64_t size = 2 * BLK + 3000, limit = 2 * BLK - 1000;
	uint8_t *src = make_src(size, 11);
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	size_t i;

	(void)state;
	send_in_order(&a, src, size);
	assert_true(nd_asm_finish(&a, limit) == limit);
	for (i = 0; i < S.n; i++)
		assert_true(S.items[i].off + S.items[i].len <= limit);
	expect_image(src, limit);
	dump_free(d);
	tfree(src);
}

/* The hold-back, exactly: a block goes once ND_PAGE bytes beyond it came. */
static void
test_hold_back_page(void **state)
{
	const uint64_t edge = BLK + ND_PAGE;
	uint8_t *src = make_src(edge + 1, 16);
	struct nd_asm a;
	struct nd_dump *d;

	(void)state;
	d = dump_new(&a);
	send_in_order(&a, src, edge - 1);
	assert_int_equal(S.n, 0);
	assert_int_equal(tx(&a, src, edge - 1, 1), ND_ASM_OK);
	assert_int_equal(S.n, 1);
	assert_true(S.items[0].off == 0 && S.items[0].len == BLK);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == edge);
	expect_image(src, edge);
	dump_free(d);

	/* One byte short: a cut just below the block still holds. */
	d = dump_new(&a);
	send_in_order(&a, src, edge - 1);
	assert_true(nd_asm_finish(&a, 1) == 1);
	assert_true(S.stream == 1);
	expect_image(src, 1);
	dump_free(d);
	tfree(src);
}

static void
test_pool_busy(void **state)
{
	const uint64_t size = 3 * BLK;
	uint8_t *src = make_src(size, 12);
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint64_t total, off;
	size_t n;

	(void)state;
	S.pool = 1;
	assert_int_equal(tx(&a, src, 0, PKT), ND_ASM_OK);
	/* Block 1 needs a second buffer. */
	total = d->cov.total;
	assert_int_equal(tx(&a, src, BLK + 10, PKT), ND_ASM_BUSY);
	assert_true(d->cov.total == total);
	assert_int_equal(d->cov.n, 1);
	assert_int_equal(S.n, 0);
	/* The retransmission, once a buffer is free, is stored. */
	S.pool = 2;
	assert_int_equal(tx(&a, src, BLK + 10, PKT), ND_ASM_OK);
	assert_true(d->cov.total == total + PKT);

	/* A packet over two blocks with one of them unavailable. */
	total = d->cov.total;
	n = d->cov.n;
	assert_int_equal(tx(&a, src, 2 * BLK - 100, PKT), ND_ASM_BUSY);
	assert_true(d->cov.total == total);
	assert_int_equal(d->cov.n, n);
	assert_false(nd_cov_contains(&d->cov, 2 * BLK - 100, 2 * BLK - 99));
	S.pool = 3;
	assert_int_equal(tx(&a, src, 2 * BLK - 100, PKT), ND_ASM_OK);

	/* Everything in order now; the result is the source. */
	S.pool = ND_POOL_BLOCKS;
	for (off = 0; off < size; off += PKT) {
		size_t len = size - off < PKT ? (size_t)(size - off) : PKT;

		assert_int_not_equal(tx(&a, src, off, len), ND_ASM_BUSY);
	}
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	expect_image(src, size);
	dump_free(d);
	tfree(src);
}

/* A slow worker keeps the blocks it was given; the pool runs dry. */
static void
test_slow_worker(void **state)
{
	const uint64_t size = 16 * BLK + 999;
	uint8_t *src = make_src(size, 13);
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint64_t off = 0, total;
	unsigned busy = 0;

	(void)state;
	S.hold = true;
	while (off < size) {
		size_t len = size - off < PKT ? (size_t)(size - off) : PKT;
		enum nd_asm_result r;

		total = d->cov.total;
		r = tx(&a, src, off, len);
		if (r == ND_ASM_BUSY) {
			/* No trace; the worker catches up; retransmit. */
			assert_true(d->cov.total == total);
			assert_int_equal(S.nout, ND_POOL_BLOCKS);
			busy++;
			release_held();
			continue;
		}
		assert_int_equal(r, ND_ASM_OK);
		off += len;
	}
	assert_true(busy >= 2);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	expect_image(src, size);
	dump_free(d);
	tfree(src);
}

/*
 * Regression: a packet far beyond the window that finds the pool empty
 * must return ND_ASM_BUSY before the window moves. When advance_to() ran
 * first, the earlier blocks and a HOLE were posted and the frontier moved
 * without the coverage; if the dump then ended, nd_asm_finish returned
 * nd_cov_end() while the stream already ran to the new frontier.
 */
static void
test_busy_after_jump(void **state)
{
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(10 * BLK + PKT, 15);
	size_t n;

	(void)state;
	S.hold = true;
	S.pool = 1;
	assert_int_equal(tx(&a, src, 0, PKT), ND_ASM_OK);
	n = S.n;
	assert_int_equal(tx(&a, src, 10 * BLK, PKT), ND_ASM_BUSY);
	/* No trace: nothing posted, so ending here is consistent. */
	assert_int_equal(S.n, n);
	assert_true(S.stream == 0);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == PKT);
	expect_image(src, PKT);
	dump_free(d);
	tfree(src);
}

/*
 * Regression: late bytes must be claimed in the coverage only once they
 * are posted. When the claim came first, a failed post (queue full)
 * returned ND_ASM_BUSY with the bytes claimed, the retransmission was a
 * "duplicate" and the bytes were lost. (Hard to reach: late_ok caps LATE
 * items at ND_LATE_MAX, below the ring size.)
 */
static void
test_late_post_fails(void **state)
{
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);
	uint8_t *src = make_src(6 * BLK, 14);
	uint64_t total;
	size_t n;

	(void)state;
	assert_int_equal(tx(&a, src, 5 * BLK, PKT), ND_ASM_OK);
	assert_int_equal(S.n, 1);	/* HOLE [0, 5 * BLK) */
	total = d->cov.total;
	n = S.n;
	S.fail_late_post = true;
	assert_int_equal(tx(&a, src, 1000, PKT), ND_ASM_BUSY);
	assert_int_equal(S.n, n);
	assert_true(d->late_bytes == 0);
	assert_true(d->cov.total == total);
	assert_false(nd_cov_contains(&d->cov, 1000, 1000 + PKT));
	S.fail_late_post = false;
	assert_int_equal(tx(&a, src, 1000, PKT), ND_ASM_OK);
	assert_int_equal(S.n, n + 1);
	assert_int_equal(S.items[n].kind, ND_WORK_LATE);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == 5 * BLK + PKT);
	dump_free(d);
	tfree(src);
}

/*
 * Random packet sizes, each group of 64 packets permuted, random
 * retransmissions of earlier packets: the stream is the source exactly.
 */
static void
random_stream(uint64_t seed, size_t maxpkt, bool expect_no_late)
{
	enum { GROUP = 64 };
	uint64_t size = 3 * BLK + rnd(&seed) % (2 * BLK);
	uint8_t *src = make_src(size, seed);
	uint64_t *offs, *lens, npk = 0, off, g, i;
	struct nd_asm a;
	struct nd_dump *d = dump_new(&a);

	offs = talloc(size * sizeof(*offs));
	lens = talloc(size * sizeof(*lens));
	for (off = 0; off < size; off += lens[npk++]) {
		offs[npk] = off;
		lens[npk] = 1 + rnd(&seed) % maxpkt;
		if (lens[npk] > size - off)
			lens[npk] = size - off;
	}
	for (g = 0; g < npk; g += GROUP) {
		uint64_t order[GROUP], n = npk - g < GROUP ? npk - g : GROUP;

		for (i = 0; i < n; i++)
			order[i] = g + i;
		shuffle(order, n, &seed);
		for (i = 0; i < n; i++) {
			uint64_t p = order[i];
			enum nd_asm_result r;

			r = tx(&a, src, offs[p], lens[p]);
			assert_int_equal(r, ND_ASM_OK);
			/* Now and then a retransmission of anything sent. */
			if (rnd(&seed) % 10 == 0) {
				uint64_t q = rnd(&seed) % (g + i + 1);
				uint64_t before = d->cov.total;

				q = q < g ? q : order[q - g];
				r = tx(&a, src, offs[q], lens[q]);
				assert_int_not_equal(r, ND_ASM_BUSY);
				assert_true(d->cov.total == before);
			}
		}
	}
	assert_true(d->cov.total == size);
	assert_true(nd_asm_finish(&a, UINT64_MAX) == size);
	if (expect_no_late) {
		assert_int_equal(count_kind(ND_WORK_LATE), 0);
		assert_int_equal(count_kind(ND_WORK_HOLE), 0);
	}
	expect_image(src, size);
	tfree(offs);
	tfree(lens);
	tfree(src);
	dump_free(d);
}

static void
test_random_streams(void **state)
{
	uint64_t seed;

	(void)state;
	/* 64 packets of up to 8 KiB fit the window: no forced delivery. */
	for (seed = 1; seed <= 6; seed++)
		random_stream(seed * 0x9e3779b97f4a7c15ull, 8192, true);
	/* Jumbo packets overrun it: holes, zero-filled blocks, late bytes. */
	for (seed = 1; seed <= 6; seed++)
		random_stream(seed * 0xbf58476d1ce4e5b9ull, ND_MAX_PAYLOAD,
		    false);
}

#define T(f)	cmocka_unit_test_teardown(f, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_empty_packet),
		T(test_in_order_blocks),
		T(test_in_order_exact_blocks),
		T(test_reorder_in_batch),
		T(test_duplicate_behind_frontier),
		T(test_duplicate_in_window),
		T(test_partial_overlap_counts_new),
		T(test_conflict_in_window),
		T(test_late_partial_keeps_first),
		T(test_far_jump_and_late),
		T(test_jump_from_start),
		T(test_straddling_window_end),
		T(test_finish_limit),
		T(test_finish_limit_across_block),
		T(test_hold_back_page),
		T(test_pool_busy),
		T(test_slow_worker),
		T(test_busy_after_jump),
		T(test_late_post_fails),
		T(test_random_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
