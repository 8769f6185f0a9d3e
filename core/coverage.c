/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coverage.h"

void
nd_cov_init(struct nd_coverage *c)
{
	memset(c, 0, sizeof(*c));
}

void
nd_cov_free(struct nd_coverage *c)
{
	free(c->r);
	memset(c, 0, sizeof(*c));
}

/* Index of the first range whose end >= start (ranges touching count). */
static size_t
first_touching(const struct nd_coverage *c, uint64_t start)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->r[mid].end < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
nd_cov_add(struct nd_coverage *c, uint64_t start, uint64_t end,
    uint64_t *added)
{
	size_t i, j;
	uint64_t overlap = 0, nstart, nend;

	*added = 0;
	if (start >= end)
		return 0;
	/* Fast path: extends or follows the last range. */
	if (c->n > 0 && start >= c->r[c->n - 1].start) {
		struct nd_range *last = &c->r[c->n - 1];

		if (start <= last->end) {
			if (end > last->end) {
				*added = end - last->end;
				last->end = end;
			}
			c->total += *added;
			return 0;
		}
	}
	i = first_touching(c, start);
	/* Ranges i..j-1 touch or overlap [start, end) and merge with it. */
	nstart = start;
	nend = end;
	for (j = i; j < c->n && c->r[j].start <= end; j++) {
		uint64_t os = c->r[j].start > start ? c->r[j].start : start;
		uint64_t oe = c->r[j].end < end ? c->r[j].end : end;

		if (oe > os)
			overlap += oe - os;
		if (c->r[j].start < nstart)
			nstart = c->r[j].start;
		if (c->r[j].end > nend)
			nend = c->r[j].end;
	}
	if (j == i) {
		/* A new range: make room at i. */
		if (c->n == c->cap) {
			size_t ncap = c->cap ? c->cap * 2 : 16;
			struct nd_range *nr;

			if (c->n >= ND_COV_MAX_RANGES) {
				errno = E2BIG;
				return -1;
			}
			nr = reallocarray(c->r, ncap, sizeof(*nr));
			if (nr == NULL)
				return -1;
			c->r = nr;
			c->cap = ncap;
		}
		memmove(&c->r[i + 1], &c->r[i], (c->n - i) * sizeof(*c->r));
		c->n++;
	} else if (j - i > 1) {
		memmove(&c->r[i + 1], &c->r[j], (c->n - j) * sizeof(*c->r));
		c->n -= j - i - 1;
	}
	c->r[i].start = nstart;
	c->r[i].end = nend;
	*added = (end - start) - overlap;
	c->total += *added;
	return 0;
}

bool
nd_cov_contains(const struct nd_coverage *c, uint64_t start, uint64_t end)
{
	size_t i;

	if (start >= end)
		return true;
	if (c->n == 0)
		return false;
	if (c->r[c->n - 1].start <= start)
		return c->r[c->n - 1].end >= end;
	i = first_touching(c, start + 1);
	return i < c->n && c->r[i].start <= start && c->r[i].end >= end;
}

uint64_t
nd_cov_end(const struct nd_coverage *c)
{
	return c->n ? c->r[c->n - 1].end : 0;
}

void
nd_cov_walk(const struct nd_coverage *c, uint64_t start, uint64_t end,
    void (*fn)(void *, uint64_t, uint64_t, bool), void *arg)
{
	uint64_t pos = start;
	size_t i;

	if (start >= end)
		return;
	for (i = first_touching(c, start + 1); i < c->n && pos < end; i++) {
		uint64_t s = c->r[i].start, e = c->r[i].end;

		if (s >= end)
			break;
		if (s > pos) {
			fn(arg, pos, s, false);
			pos = s;
		}
		if (e > pos) {
			uint64_t stop = e < end ? e : end;

			fn(arg, pos, stop, true);
			pos = stop;
		}
	}
	if (pos < end)
		fn(arg, pos, end, false);
}

size_t
nd_cov_gaps(const struct nd_coverage *c, uint64_t limit, struct nd_range *out,
    size_t max)
{
	uint64_t pos = 0;
	size_t i, n = 0;

	for (i = 0; i < c->n && pos < limit; i++) {
		if (c->r[i].start > pos) {
			uint64_t e = c->r[i].start < limit ? c->r[i].start :
			    limit;

			if (n < max) {
				out[n].start = pos;
				out[n].end = e;
			}
			n++;
		}
		pos = c->r[i].end;
	}
	if (pos < limit) {
		if (n < max) {
			out[n].start = pos;
			out[n].end = limit;
		}
		n++;
	}
	return n;
}
