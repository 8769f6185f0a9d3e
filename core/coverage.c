/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coverage.h"

static int
range_cmp(const struct nd_cov_node *a, const struct nd_cov_node *b)
{
	return a->r.start < b->r.start ? -1 : a->r.start > b->r.start;
}

/*
 * RB_GENERATE_STATIC spells the attribute __unused, which libbsd leaves
 * undefined beside glibc's headers (a struct member has that name).
 */
RB_GENERATE_INTERNAL(nd_cov_tree, nd_cov_node, link, range_cmp,
    __attribute__((unused)) static)

/* The tree's operations take a non-const head; lookups do not modify it. */
#define TREE(c)	(&((struct nd_coverage *)(uintptr_t)(c))->tree)

void
nd_cov_init(struct nd_coverage *c)
{
	memset(c, 0, sizeof(*c));
	RB_INIT(&c->tree);
}

void
nd_cov_free(struct nd_coverage *c)
{
	struct nd_cov_node *n, *next;

	RB_FOREACH_SAFE(n, nd_cov_tree, &c->tree, next) {
		RB_REMOVE(nd_cov_tree, &c->tree, n);
		free(n);
	}
	nd_cov_init(c);
}

/* The range with the highest start <= off, or NULL. */
static struct nd_cov_node *
at_or_before(const struct nd_coverage *c, uint64_t off)
{
	struct nd_cov_node key, *n;

	if (off == UINT64_MAX)
		return c->last;
	key.r.start = off + 1;
	n = RB_NFIND(nd_cov_tree, TREE(c), &key);
	return n != NULL ? RB_PREV(nd_cov_tree, TREE(c), n) : c->last;
}

/* The first range whose end >= off (ranges touching off count). */
static struct nd_cov_node *
first_touching(const struct nd_coverage *c, uint64_t off)
{
	struct nd_cov_node *n = at_or_before(c, off);

	if (n != NULL && n->r.end >= off)
		return n;
	return n != NULL ? RB_NEXT(nd_cov_tree, TREE(c), n) :
	    RB_MIN(nd_cov_tree, TREE(c));
}

size_t
nd_cov_cap(const struct nd_coverage *c)
{
	uint64_t by_bytes = c->total / ND_COV_BYTES_PER_RANGE;

	if (by_bytes < ND_COV_MAX_RANGES)
		return ND_COV_MAX_RANGES;
	return by_bytes < ND_COV_CEILING ? (size_t)by_bytes : ND_COV_CEILING;
}

int
nd_cov_add(struct nd_coverage *c, uint64_t start, uint64_t end,
    uint64_t *added)
{
	struct nd_cov_node *first, *n, *next;
	uint64_t overlap = 0, nend;

	*added = 0;
	if (start >= end)
		return 0;
	/* Fast path: extends or overlaps the last range. */
	if (c->last != NULL && start >= c->last->r.start &&
	    start <= c->last->r.end) {
		if (end > c->last->r.end) {
			*added = end - c->last->r.end;
			c->last->r.end = end;
			c->total += *added;
		}
		return 0;
	}
	first = first_touching(c, start);
	if (first == NULL || first->r.start > end) {
		/* Touches nothing: a new range. */
		if (c->n >= nd_cov_cap(c)) {
			errno = E2BIG;
			return -1;
		}
		if ((n = malloc(sizeof(*n))) == NULL)
			return -1;
		n->r.start = start;
		n->r.end = end;
		RB_INSERT(nd_cov_tree, &c->tree, n);
		c->n++;
		if (c->last == NULL || start > c->last->r.start)
			c->last = n;
		*added = end - start;
		c->total += *added;
		return 0;
	}
	/* Merge first and every later range that touches [start, end). */
	nend = end;
	for (n = first; n != NULL && n->r.start <= end; n = next) {
		uint64_t os = n->r.start > start ? n->r.start : start;
		uint64_t oe = n->r.end < end ? n->r.end : end;

		next = RB_NEXT(nd_cov_tree, &c->tree, n);
		if (oe > os)
			overlap += oe - os;
		if (n->r.end > nend)
			nend = n->r.end;
		if (n != first) {
			if (n == c->last)
				c->last = first;
			RB_REMOVE(nd_cov_tree, &c->tree, n);
			free(n);
			c->n--;
		}
	}
	/* Moving first's start down keeps the order: nothing lies between. */
	if (start < first->r.start)
		first->r.start = start;
	first->r.end = nend;
	*added = (end - start) - overlap;
	c->total += *added;
	return 0;
}

bool
nd_cov_contains(const struct nd_coverage *c, uint64_t start, uint64_t end)
{
	struct nd_cov_node *n;

	if (start >= end)
		return true;
	if (c->last == NULL)
		return false;
	n = c->last->r.start <= start ? c->last : at_or_before(c, start);
	return n != NULL && n->r.end >= end;
}

uint64_t
nd_cov_end(const struct nd_coverage *c)
{
	return c->last != NULL ? c->last->r.end : 0;
}

void
nd_cov_walk(const struct nd_coverage *c, uint64_t start, uint64_t end,
    void (*fn)(void *, uint64_t, uint64_t, bool), void *arg)
{
	struct nd_cov_node *n;
	uint64_t pos = start;

	if (start >= end)
		return;
	for (n = first_touching(c, start + 1); n != NULL && pos < end;
	    n = RB_NEXT(nd_cov_tree, TREE(c), n)) {
		uint64_t s = n->r.start, e = n->r.end;

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
	struct nd_cov_node *n;
	uint64_t pos = 0;
	size_t count = 0;

	RB_FOREACH(n, nd_cov_tree, TREE(c)) {
		if (pos >= limit)
			break;
		if (n->r.start > pos) {
			if (count < max) {
				out[count].start = pos;
				out[count].end = n->r.start < limit ?
				    n->r.start : limit;
			}
			count++;
		}
		pos = n->r.end;
	}
	if (pos < limit) {
		if (count < max) {
			out[count].start = pos;
			out[count].end = limit;
		}
		count++;
	}
	return count;
}

size_t
nd_cov_ranges(const struct nd_coverage *c, struct nd_range *out, size_t max)
{
	struct nd_cov_node *n;
	size_t count = 0;

	RB_FOREACH(n, nd_cov_tree, TREE(c)) {
		if (count < max)
			out[count] = n->r;
		count++;
	}
	return count;
}
