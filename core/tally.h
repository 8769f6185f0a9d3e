/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HERALDs not answered (or answered with a change), by reason. The first
 * TALLY_LINES of a reason in an interval of TALLY_EVERY seconds are logged
 * in full; the rest are counted and logged as one counter line when the
 * interval is over, however many arrive and from however many addresses:
 * a flood of forged HERALDs cannot fill the log.
 */
#ifndef ND_TALLY_H
#define ND_TALLY_H

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <time.h>

#define TALLY_EVERY	10		/* seconds between counter lines */
#define TALLY_LINES	5		/* full lines per reason before */

enum tally {
	TALLY_NOT_ALLOWED,
	TALLY_OTHER_PORT,
	TALLY_ALIVE,
	TALLY_WAITING,
	TALLY_NO_ROUTE,
	TALLY_NO_SINK,
	TALLY_PATH,
	TALLY_CLIENT_DUMPS,
	TALLY_CLIENT_DUMPS_WAIT,
	TALLY_CLIENT_HERALDED,
	TALLY_HOOKS,
	TALLY_FDS,
	TALLY_RECLAIMED,
	TALLY_SOCKET,
	TALLY_NKINDS
};

struct tallies {
	uint64_t	n[TALLY_NKINDS];
	uint64_t	logged[TALLY_NKINDS];
	char		last[TALLY_NKINDS][INET_ADDRSTRLEN];
	time_t		since[TALLY_NKINDS];	/* the interval's start */
	unsigned	lines[TALLY_NKINDS];	/* full lines in it */
	uint64_t	hooks_seen;		/* of nd_hooks_refused */
	uint64_t	hook_lines_seen;	/* of nd_hook_lines_quiet */
	time_t		hook_lines_since;
};

/* Count one for kind from (may be NULL); log it in full while allowed. */
void	nd_tally(struct tallies *, enum tally kind,
	    const struct sockaddr_in *from, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* The counter lines of the intervals that are over (now: CLOCK_MONOTONIC). */
void	nd_tally_log(struct tallies *, time_t now);

#endif /* ND_TALLY_H */
