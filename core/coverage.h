/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Coverage: which byte ranges of an object have arrived, as a set of
 * disjoint, non-adjacent half-open ranges in a red-black tree (BSD's
 * <sys/tree.h>, from libbsd). Dumps arrive in order, so the common case is
 * extending the last range in O(1); any other insert is O(log n) plus the
 * ranges it merges, each of which was inserted once. A hostile client
 * could fragment coverage without end, so the number of ranges is capped
 * by the bytes covered.
 */
#ifndef ND_COVERAGE_H
#define ND_COVERAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/tree.h>

/*
 * The ranges an object may have: ND_COV_MAX_RANGES, and beyond that one
 * per ND_COV_BYTES_PER_RANGE covered, so that what they cost (a 64-byte
 * node each) is bounded by what arrived, up to ND_COV_CEILING (64 MiB).
 * A dump without loss has one range; FreeBSD's debugnet never sends
 * again a lost packet whose ack bit aliases another's (the 32-bit shift
 * in debugnet_handle_ack), which leaves a gap about every 50 KiB at 5 %
 * loss (16384 of them by 850 MB, the ceiling by 50 GB), every 30 KiB at
 * 10 %.
 */
#define ND_COV_MAX_RANGES	(1u << 14)
#define ND_COV_BYTES_PER_RANGE	((uint64_t)16 << 10)
#define ND_COV_CEILING		(1u << 20)

struct nd_range {
	uint64_t	start;
	uint64_t	end;
};

struct nd_cov_node {
	RB_ENTRY(nd_cov_node)	link;
	struct nd_range		r;
};

RB_HEAD(nd_cov_tree, nd_cov_node);

struct nd_coverage {
	struct nd_cov_tree	 tree;
	struct nd_cov_node	*last;		/* the highest range */
	size_t			 n;		/* ranges */
	uint64_t		 total;		/* bytes covered */
};

void	 nd_cov_init(struct nd_coverage *);
void	 nd_cov_free(struct nd_coverage *);
/* How many ranges the set may hold now (see ND_COV_MAX_RANGES). */
size_t	 nd_cov_cap(const struct nd_coverage *);
/*
 * Mark [start, end) covered; *added gets the number of newly covered bytes.
 * Returns 0, or -1 (errno ENOMEM, or E2BIG past nd_cov_cap) leaving the
 * set unchanged.
 */
int	 nd_cov_add(struct nd_coverage *, uint64_t start, uint64_t end,
	    uint64_t *added);
bool	 nd_cov_contains(const struct nd_coverage *, uint64_t start,
	    uint64_t end);
/* Highest covered offset + 1, or 0 when empty. */
uint64_t nd_cov_end(const struct nd_coverage *);
/*
 * Call fn for each maximal covered (is_data) or uncovered run inside
 * [start, end), in order.
 */
void	 nd_cov_walk(const struct nd_coverage *, uint64_t start, uint64_t end,
	    void (*fn)(void *, uint64_t, uint64_t, bool is_data), void *arg);
/* Number of uncovered runs in [0, limit); stores up to max of them. */
size_t	 nd_cov_gaps(const struct nd_coverage *, uint64_t limit,
	    struct nd_range *out, size_t max);
/* Number of ranges; stores up to max of them, in order. */
size_t	 nd_cov_ranges(const struct nd_coverage *, struct nd_range *out,
	    size_t max);

#endif /* ND_COVERAGE_H */
