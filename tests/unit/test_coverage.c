/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the byte-range set (core/coverage.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coverage.h"

/* Add [s, e) and return the number of new bytes; the add must succeed. */
static uint64_t
add(struct nd_coverage *c, uint64_t s, uint64_t e)
{
	uint64_t added = 0xdeadbeef;

	assert_int_equal(nd_cov_add(c, s, e, &added), 0);
	return added;
}

/* The set must be exactly the n ranges given as start, end pairs. */
static void
expect_ranges(const struct nd_coverage *c, const uint64_t *want, size_t n)
{
	struct nd_range got[64];
	uint64_t total = 0;
	size_t i;

	assert_true(n <= 64);
	assert_int_equal(c->n, n);
	assert_int_equal(nd_cov_ranges(c, got, 64), n);
	for (i = 0; i < n; i++) {
		assert_true(got[i].start == want[2 * i]);
		assert_true(got[i].end == want[2 * i + 1]);
		total += want[2 * i + 1] - want[2 * i];
	}
	assert_true(c->total == total);
}

static void
test_empty(void **state)
{
	struct nd_coverage c;
	struct nd_range g[2];

	(void)state;
	nd_cov_init(&c);
	assert_int_equal(c.n, 0);
	assert_true(c.total == 0);
	assert_true(nd_cov_end(&c) == 0);
	assert_false(nd_cov_contains(&c, 0, 1));
	/* An empty range is always contained. */
	assert_true(nd_cov_contains(&c, 5, 5));
	assert_int_equal(nd_cov_gaps(&c, 100, g, 2), 1);
	assert_true(g[0].start == 0 && g[0].end == 100);
	assert_int_equal(nd_cov_gaps(&c, 0, g, 2), 0);
	/* Empty and inverted adds change nothing. */
	assert_true(add(&c, 10, 10) == 0);
	assert_true(add(&c, 10, 5) == 0);
	assert_int_equal(c.n, 0);
	nd_cov_free(&c);
}

static void
test_in_order(void **state)
{
	struct nd_coverage c;
	uint64_t off;
	const uint64_t want[] = { 0, 1448 * 1000 };

	(void)state;
	nd_cov_init(&c);
	for (off = 0; off < 1448 * 1000; off += 1448)
		assert_true(add(&c, off, off + 1448) == 1448);
	/* The fast path extends one range. */
	expect_ranges(&c, want, 1);
	assert_true(nd_cov_end(&c) == 1448 * 1000);
	nd_cov_free(&c);
}

static void
test_out_of_order(void **state)
{
	struct nd_coverage c;
	const uint64_t want1[] = { 100, 200, 300, 400, 500, 600 };
	const uint64_t want2[] = { 0, 50, 100, 200, 300, 400, 500, 600,
	    700, 800 };

	(void)state;
	nd_cov_init(&c);
	assert_true(add(&c, 500, 600) == 100);
	assert_true(add(&c, 100, 200) == 100);
	assert_true(add(&c, 300, 400) == 100);
	expect_ranges(&c, want1, 3);
	assert_true(add(&c, 700, 800) == 100);
	assert_true(add(&c, 0, 50) == 50);
	expect_ranges(&c, want2, 5);
	assert_true(nd_cov_end(&c) == 800);
	nd_cov_free(&c);
}

static void
test_overlapping(void **state)
{
	struct nd_coverage c;
	const uint64_t want1[] = { 100, 250 };
	const uint64_t want2[] = { 50, 250 };
	const uint64_t want3[] = { 0, 400 };
	const uint64_t want4[] = { 0, 400, 500, 600 };

	(void)state;
	nd_cov_init(&c);
	assert_true(add(&c, 100, 200) == 100);
	/* Overlaps the end. */
	assert_true(add(&c, 150, 250) == 50);
	expect_ranges(&c, want1, 1);
	/* Overlaps the start (not the fast path). */
	assert_true(add(&c, 50, 120) == 50);
	expect_ranges(&c, want2, 1);
	/* Swallows the range whole. */
	assert_true(add(&c, 0, 400) == 200);
	expect_ranges(&c, want3, 1);
	assert_true(add(&c, 500, 600) == 100);
	/* Inside an existing range, then the last one (fast path). */
	assert_true(add(&c, 10, 20) == 0);
	assert_true(add(&c, 550, 560) == 0);
	/* Inside the last range but extending it. */
	assert_true(add(&c, 550, 600) == 0);
	expect_ranges(&c, want4, 2);
	nd_cov_free(&c);
}

static void
test_adjacent_merge(void **state)
{
	struct nd_coverage c;
	const uint64_t want1[] = { 100, 300 };
	const uint64_t want2[] = { 50, 300 };
	const uint64_t want3[] = { 50, 300, 301, 302 };

	(void)state;
	nd_cov_init(&c);
	assert_true(add(&c, 100, 200) == 100);
	assert_true(add(&c, 200, 300) == 100);
	expect_ranges(&c, want1, 1);
	/* Touching on the left. */
	assert_true(add(&c, 50, 100) == 50);
	expect_ranges(&c, want2, 1);
	/* One byte apart does not merge. */
	assert_true(add(&c, 301, 302) == 1);
	expect_ranges(&c, want3, 2);
	nd_cov_free(&c);
}

static void
test_fill_hole_merges_three(void **state)
{
	struct nd_coverage c;
	const uint64_t want1[] = { 0, 100, 200, 300, 400, 500, 600, 700 };
	const uint64_t want2[] = { 0, 100, 200, 500, 600, 700 };
	const uint64_t want3[] = { 0, 700 };

	(void)state;
	nd_cov_init(&c);
	add(&c, 0, 100);
	add(&c, 200, 300);
	add(&c, 400, 500);
	add(&c, 600, 700);
	expect_ranges(&c, want1, 4);
	/* Exactly the hole between two ranges: three become one. */
	assert_true(add(&c, 300, 400) == 100);
	expect_ranges(&c, want2, 3);
	/* Overlapping everything: all collapse, only the holes count. */
	assert_true(add(&c, 50, 650) == 200);
	expect_ranges(&c, want3, 1);
	nd_cov_free(&c);
}

static void
test_duplicates_add_zero(void **state)
{
	struct nd_coverage c;
	const uint64_t want[] = { 0, 1000, 2000, 3000 };
	uint64_t added = 1;

	(void)state;
	nd_cov_init(&c);
	add(&c, 0, 1000);
	add(&c, 2000, 3000);
	assert_true(add(&c, 0, 1000) == 0);
	assert_true(add(&c, 2000, 3000) == 0);
	assert_true(add(&c, 999, 1000) == 0);
	assert_true(add(&c, 2500, 2600) == 0);
	assert_int_equal(nd_cov_add(&c, 0, 0, &added), 0);
	assert_true(added == 0);
	expect_ranges(&c, want, 2);
	nd_cov_free(&c);
}

static void
test_contains_edges(void **state)
{
	struct nd_coverage c;

	(void)state;
	nd_cov_init(&c);
	add(&c, 100, 200);
	add(&c, 300, 400);
	assert_true(nd_cov_contains(&c, 100, 200));
	assert_true(nd_cov_contains(&c, 100, 101));
	assert_true(nd_cov_contains(&c, 199, 200));
	assert_false(nd_cov_contains(&c, 99, 100));
	assert_false(nd_cov_contains(&c, 99, 101));
	assert_false(nd_cov_contains(&c, 200, 201));
	assert_false(nd_cov_contains(&c, 199, 201));
	assert_false(nd_cov_contains(&c, 150, 350));
	assert_false(nd_cov_contains(&c, 0, 1));
	assert_true(nd_cov_contains(&c, 300, 400));
	assert_true(nd_cov_contains(&c, 399, 400));
	assert_false(nd_cov_contains(&c, 399, 401));
	assert_false(nd_cov_contains(&c, 400, 401));
	assert_false(nd_cov_contains(&c, 299, 300));
	assert_false(nd_cov_contains(&c, 1000, 2000));
	/* Empty ranges, wherever they are. */
	assert_true(nd_cov_contains(&c, 250, 250));
	assert_true(nd_cov_contains(&c, 5000, 5000));
	/* Near the top of the offset space. */
	add(&c, UINT64_MAX - 10, UINT64_MAX);
	assert_true(nd_cov_contains(&c, UINT64_MAX - 10, UINT64_MAX));
	assert_false(nd_cov_contains(&c, UINT64_MAX - 11, UINT64_MAX));
	assert_true(nd_cov_end(&c) == UINT64_MAX);
	nd_cov_free(&c);
}

static void
test_end(void **state)
{
	struct nd_coverage c;

	(void)state;
	nd_cov_init(&c);
	assert_true(nd_cov_end(&c) == 0);
	add(&c, 500, 600);
	assert_true(nd_cov_end(&c) == 600);
	add(&c, 0, 10);
	assert_true(nd_cov_end(&c) == 600);
	add(&c, 1000, 1001);
	assert_true(nd_cov_end(&c) == 1001);
	add(&c, 550, 1001);
	assert_true(nd_cov_end(&c) == 1001);
	nd_cov_free(&c);
}

#define MAX_RUNS	64

struct runs {
	size_t		n;
	uint64_t	s[MAX_RUNS], e[MAX_RUNS];
	bool		data[MAX_RUNS];
};

static void
collect_run(void *arg, uint64_t s, uint64_t e, bool is_data)
{
	struct runs *r = arg;

	assert_true(r->n < MAX_RUNS);
	r->s[r->n] = s;
	r->e[r->n] = e;
	r->data[r->n] = is_data;
	r->n++;
}

/* Walk [s, e) and compare with the expected runs (start, end, is_data). */
static void
expect_walk(const struct nd_coverage *c, uint64_t s, uint64_t e,
    const uint64_t *want, size_t n)
{
	struct runs r;
	size_t i;

	memset(&r, 0, sizeof(r));
	nd_cov_walk(c, s, e, collect_run, &r);
	assert_int_equal(r.n, n);
	for (i = 0; i < n; i++) {
		assert_true(r.s[i] == want[3 * i]);
		assert_true(r.e[i] == want[3 * i + 1]);
		assert_int_equal(r.data[i], want[3 * i + 2] != 0);
	}
}

static void
test_walk(void **state)
{
	struct nd_coverage c;
	const uint64_t all[] = {
		0, 100, 0,  100, 200, 1,  200, 300, 0,
		300, 400, 1,  400, 1000, 0,
	};
	const uint64_t inside[] = { 150, 180, 1 };
	const uint64_t straddle[] = { 150, 200, 1,  200, 300, 0,  300, 350, 1 };
	const uint64_t gap[] = { 210, 290, 0 };
	const uint64_t edge[] = { 200, 300, 0,  300, 400, 1 };
	const uint64_t beyond[] = { 2000, 3000, 0 };
	const uint64_t exact[] = { 100, 200, 1 };
	struct runs r;

	(void)state;
	nd_cov_init(&c);
	add(&c, 100, 200);
	add(&c, 300, 400);
	expect_walk(&c, 0, 1000, all, 5);
	expect_walk(&c, 150, 180, inside, 1);
	expect_walk(&c, 150, 350, straddle, 3);
	expect_walk(&c, 210, 290, gap, 1);
	expect_walk(&c, 200, 400, edge, 2);
	expect_walk(&c, 2000, 3000, beyond, 1);
	expect_walk(&c, 100, 200, exact, 1);
	/* An empty interval calls nothing. */
	memset(&r, 0, sizeof(r));
	nd_cov_walk(&c, 300, 300, collect_run, &r);
	nd_cov_walk(&c, 300, 200, collect_run, &r);
	assert_int_equal(r.n, 0);
	nd_cov_free(&c);

	/* An empty set is one uncovered run. */
	nd_cov_init(&c);
	expect_walk(&c, 2000, 3000, beyond, 1);
	nd_cov_free(&c);
}

static void
test_gaps(void **state)
{
	struct nd_coverage c;
	struct nd_range g[8];

	(void)state;
	nd_cov_init(&c);
	add(&c, 100, 200);
	add(&c, 300, 400);
	add(&c, 500, 600);

	/* Limit above the end: the tail counts as a gap. */
	assert_int_equal(nd_cov_gaps(&c, 1000, g, 8), 4);
	assert_true(g[0].start == 0 && g[0].end == 100);
	assert_true(g[1].start == 200 && g[1].end == 300);
	assert_true(g[2].start == 400 && g[2].end == 500);
	assert_true(g[3].start == 600 && g[3].end == 1000);

	/* Limit exactly at the end. */
	assert_int_equal(nd_cov_gaps(&c, 600, g, 8), 3);
	assert_true(g[2].start == 400 && g[2].end == 500);

	/* Limit inside a gap: that gap is cut. */
	assert_int_equal(nd_cov_gaps(&c, 250, g, 8), 2);
	assert_true(g[0].start == 0 && g[0].end == 100);
	assert_true(g[1].start == 200 && g[1].end == 250);

	/* Limit inside a range: nothing after it. */
	assert_int_equal(nd_cov_gaps(&c, 350, g, 8), 2);
	assert_true(g[1].start == 200 && g[1].end == 300);

	/* Limit inside the first gap. */
	assert_int_equal(nd_cov_gaps(&c, 50, g, 8), 1);
	assert_true(g[0].start == 0 && g[0].end == 50);

	/* max smaller than the count: the full count, max entries stored. */
	memset(g, 0xee, sizeof(g));
	assert_int_equal(nd_cov_gaps(&c, 1000, g, 2), 4);
	assert_true(g[0].start == 0 && g[0].end == 100);
	assert_true(g[1].start == 200 && g[1].end == 300);
	/* Nothing written beyond max. */
	assert_true(g[2].start == 0xeeeeeeeeeeeeeeeeull);
	assert_int_equal(nd_cov_gaps(&c, 1000, NULL, 0), 4);

	/* Coverage from 0: no leading gap. */
	add(&c, 0, 100);
	assert_int_equal(nd_cov_gaps(&c, 600, g, 8), 2);
	assert_true(g[0].start == 200 && g[0].end == 300);
	assert_true(g[1].start == 400 && g[1].end == 500);
	nd_cov_free(&c);
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

#define SPACE	(1u << 20)

/* Compare the set with the model: ranges, total, gaps, contains, walk. */
static void
check_model(const struct nd_coverage *c, const uint8_t *bm, uint64_t *seed)
{
	static struct nd_range gaps[65536], ranges[65536];
	uint64_t pos = 0, total = 0, limit;
	size_t i = 0, ng = 0, n;

	/* The ranges are exactly the runs of set bytes. */
	assert_true(nd_cov_ranges(c, ranges, 65536) == c->n);
	while (pos < SPACE) {
		uint64_t s;

		while (pos < SPACE && !bm[pos])
			pos++;
		if (pos == SPACE)
			break;
		s = pos;
		while (pos < SPACE && bm[pos])
			pos++;
		assert_true(i < c->n);
		assert_true(ranges[i].start == s);
		assert_true(ranges[i].end == pos);
		total += pos - s;
		i++;
	}
	assert_int_equal(i, c->n);
	assert_true(c->total == total);

	/* Gaps up to a random limit. */
	limit = rnd(seed) % (SPACE + 1);
	n = nd_cov_gaps(c, limit, gaps, sizeof(gaps) / sizeof(gaps[0]));
	assert_true(n <= sizeof(gaps) / sizeof(gaps[0]));
	for (pos = 0; pos < limit;) {
		uint64_t s;

		if (bm[pos]) {
			pos++;
			continue;
		}
		s = pos;
		while (pos < limit && !bm[pos])
			pos++;
		assert_true(ng < n);
		assert_true(gaps[ng].start == s);
		assert_true(gaps[ng].end == pos);
		ng++;
	}
	assert_int_equal(ng, n);

	/* Random contains queries, short and long. */
	for (i = 0; i < 2000; i++) {
		uint64_t s = rnd(seed) % SPACE;
		uint64_t len = 1 + rnd(seed) % (i % 2 ? 16 : 2048);
		uint64_t e = s + len > SPACE ? SPACE : s + len, k;
		bool all = true;

		for (k = s; k < e && all; k++)
			all = bm[k] != 0;
		assert_int_equal(nd_cov_contains(c, s, e), all);
	}
}

struct walk_check {
	const uint8_t	*bm;
	uint64_t	 next;
	int		 last;	/* -1 before the first run */
};

static void
walk_model(void *arg, uint64_t s, uint64_t e, bool is_data)
{
	struct walk_check *w = arg;
	uint64_t k;

	/* Contiguous, non-empty, alternating, and true to the model. */
	assert_true(s == w->next);
	assert_true(e > s);
	assert_true(w->last != (int)is_data);
	for (k = s; k < e; k++)
		assert_int_equal(w->bm[k] != 0, is_data);
	w->next = e;
	w->last = is_data;
}

static void
test_random_vs_bitmap(void **state)
{
	struct nd_coverage c;
	uint8_t *bm;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned i;

	(void)state;
	bm = calloc(1, SPACE);
	assert_non_null(bm);
	nd_cov_init(&c);
	for (i = 0; i < 10000; i++) {
		uint64_t r = rnd(&seed) % 100, len, s, e, k, want = 0, added;

		/* Mostly short runs, so the set stays fragmented. */
		if (r < 80)
			len = 1 + rnd(&seed) % 32;
		else if (r < 98)
			len = 33 + rnd(&seed) % 224;
		else
			len = 257 + rnd(&seed) % 3840;
		s = rnd(&seed) % SPACE;
		e = s + len > SPACE ? SPACE : s + len;
		for (k = s; k < e; k++)
			if (!bm[k]) {
				bm[k] = 1;
				want++;
			}
		assert_int_equal(nd_cov_add(&c, s, e, &added), 0);
		assert_true(added == want);
		if (i % 1000 == 999)
			check_model(&c, bm, &seed);
	}
	/* The set is fragmented, not nearly full or empty. */
	assert_true(c.n > 1000);
	assert_true(c.total > SPACE / 4 && c.total < SPACE - SPACE / 8);
	check_model(&c, bm, &seed);

	/* A walk over random windows reproduces the model. */
	for (i = 0; i < 200; i++) {
		uint64_t s = rnd(&seed) % SPACE;
		uint64_t e = s + 1 + rnd(&seed) % 65536;
		struct walk_check w;

		if (e > SPACE)
			e = SPACE;
		w.bm = bm;
		w.next = s;
		w.last = -1;
		nd_cov_walk(&c, s, e, walk_model, &w);
		assert_true(w.next == e);
	}
	nd_cov_free(&c);
	free(bm);
}

/* The highest range of a non-empty set. */
static struct nd_range
last_range(const struct nd_coverage *c)
{
	struct nd_range *all, last;
	size_t n = c->n;

	assert_true(n > 0);
	assert_non_null(all = calloc(n, sizeof(*all)));
	assert_int_equal(nd_cov_ranges(c, all, n), n);
	last = all[n - 1];
	free(all);
	return last;
}

/*
 * One-byte fragments at descending offsets, the order that made an array
 * shift every range on each insert: the set stays exact up to the cap.
 */
static void
test_descending_fragments(void **state)
{
	struct nd_coverage c;
	struct nd_range *all;
	uint64_t k, added;
	const uint64_t n = ND_COV_MAX_RANGES;

	(void)state;
	nd_cov_init(&c);
	for (k = n; k-- > 0;) {
		assert_int_equal(nd_cov_add(&c, 4 * k, 4 * k + 1, &added), 0);
		assert_true(added == 1);
	}
	assert_int_equal(c.n, n);
	assert_true(c.total == n);
	assert_non_null(all = calloc(n, sizeof(*all)));
	assert_int_equal(nd_cov_ranges(&c, all, n), n);
	for (k = 0; k < n; k++)
		assert_true(all[k].start == 4 * k && all[k].end == 4 * k + 1);
	free(all);
	assert_true(nd_cov_end(&c) == 4 * (n - 1) + 1);
	/* Bridging every other gap from the top down merges pairs. */
	for (k = n; k >= 2; k -= 2)
		assert_int_equal(nd_cov_add(&c, 4 * (k - 2), 4 * (k - 1) + 1,
		    &added), 0);
	assert_int_equal(c.n, n / 2);
	assert_true(nd_cov_contains(&c, 0, 5));
	assert_false(nd_cov_contains(&c, 5, 8));
	nd_cov_free(&c);
}

static void
test_range_cap(void **state)
{
	struct nd_coverage c;
	uint64_t k, added = 12345, total;
	size_t n;
	struct nd_range last;

	(void)state;
	nd_cov_init(&c);
	/* Alternating 1-byte ranges, in order: each one is a new range. */
	for (k = 0; k < ND_COV_MAX_RANGES; k++)
		assert_int_equal(nd_cov_add(&c, 2 * k, 2 * k + 1, &added), 0);
	assert_int_equal(c.n, ND_COV_MAX_RANGES);
	total = c.total;
	n = c.n;
	last = last_range(&c);

	/* One more separate range is refused, at the end or in the middle. */
	errno = 0;
	added = 12345;
	assert_int_equal(nd_cov_add(&c, 2 * k + 1, 2 * k + 2, &added), -1);
	assert_int_equal(errno, E2BIG);
	assert_true(added == 0);
	errno = 0;
	assert_int_equal(nd_cov_add(&c, 10 * k, 10 * k + 5, &added), -1);
	assert_int_equal(errno, E2BIG);
	/* Unchanged. */
	assert_int_equal(c.n, n);
	assert_true(c.total == total);
	assert_true(last_range(&c).start == last.start &&
	    last_range(&c).end == last.end);
	assert_false(nd_cov_contains(&c, 2 * k + 1, 2 * k + 2));
	assert_true(nd_cov_contains(&c, 2, 3));
	assert_false(nd_cov_contains(&c, 1, 2));

	/* Adds that do not need a new range still work at the cap. */
	assert_int_equal(nd_cov_add(&c, 2 * k - 1, 2 * k + 7, &added), 0);
	assert_true(added == 8);
	assert_int_equal(c.n, n);
	/* Filling a hole merges two ranges and frees a slot. */
	assert_int_equal(nd_cov_add(&c, 1, 2, &added), 0);
	assert_true(added == 1);
	assert_int_equal(c.n, n - 1);
	assert_int_equal(nd_cov_add(&c, 10 * k, 10 * k + 5, &added), 0);
	assert_true(added == 5);
	assert_int_equal(c.n, n);
	nd_cov_free(&c);
}

/*
 * A gap about every 30 KiB, as FreeBSD's debugnet leaves at 10 % loss (a
 * lost packet whose ack bit aliases another's is never sent again): past
 * 16384 ranges the set keeps growing, one range per 16 KiB covered; tiny
 * pieces are refused once the ranges outnumber that.
 */
static void
test_range_cap_grows(void **state)
{
	struct nd_coverage c;
	const uint64_t step = 30720, data = step - 1448, n = 20000;
	uint64_t k, added, cap;

	(void)state;
	nd_cov_init(&c);
	assert_int_equal(nd_cov_cap(&c), ND_COV_MAX_RANGES);
	for (k = 0; k < n; k++) {
		assert_int_equal(nd_cov_add(&c, k * step, k * step + data,
		    &added), 0);
		assert_true(added == data);
	}
	assert_int_equal(c.n, n);
	cap = c.total / ND_COV_BYTES_PER_RANGE;
	assert_int_equal(nd_cov_cap(&c), cap);
	assert_true(cap > n);
	/*
	 * One-byte pieces beyond the end: taken up to the cap (which their
	 * own bytes raise by one at most), no further.
	 */
	errno = 0;
	for (k = 0; nd_cov_add(&c, n * step + 2 * k, n * step + 2 * k + 1,
	    &added) == 0; k++)
		assert_true(k <= cap - n);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(c.n, nd_cov_cap(&c));
	assert_true(c.n == cap || c.n == cap + 1);
	nd_cov_free(&c);

	/* However much arrived, no more than the ceiling (64 MiB of nodes). */
	nd_cov_init(&c);
	c.total = ND_COV_BYTES_PER_RANGE * ND_COV_CEILING - 1;
	assert_int_equal(nd_cov_cap(&c), ND_COV_CEILING - 1);
	c.total = (uint64_t)1 << 40;
	assert_int_equal(nd_cov_cap(&c), ND_COV_CEILING);
	c.total = 0;
	nd_cov_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_overlapping),
		cmocka_unit_test(test_adjacent_merge),
		cmocka_unit_test(test_fill_hole_merges_three),
		cmocka_unit_test(test_duplicates_add_zero),
		cmocka_unit_test(test_contains_edges),
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_random_vs_bitmap),
		cmocka_unit_test(test_range_cap),
		cmocka_unit_test(test_range_cap_grows),
		cmocka_unit_test(test_descending_fragments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
