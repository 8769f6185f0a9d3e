/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Prometheus metrics ([server] metrics = ADDRESS:PORT): counters kept
 * here, under one lock, fed where things happen (a dump ends, a HERALD is
 * refused), and served at /metrics in the text exposition format by a
 * libmicrohttpd thread. Off by default; all the feeding functions cost a
 * lock and a few additions, and nothing when metrics are off.
 */
#ifndef ND_METRICS_H
#define ND_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct nd_dump;

/* Scrapes served at once: descriptors the server keeps back for them. */
#define ND_METRICS_CONNECTIONS	64

/*
 * The listening socket for spec ("ADDRESS:PORT"), made before the
 * daemon forks and drops privileges; -1 with err set when spec is bad or
 * the port cannot be bound.
 */
int	nd_metrics_listen(const char *spec, char *err, size_t errlen);
/*
 * Serve on it (after the fork: a thread); the dump directory's free
 * space is read through dumpdir_fd (duplicated) at each scrape.
 */
int	nd_metrics_start(int listen_fd, int dumpdir_fd, char *err,
	    size_t errlen);
void	nd_metrics_stop(void);
/* A dump has been judged and stored (its worker thread). */
void	nd_metrics_dump_ended(const struct nd_dump *);
/* n clients were refused or ignored, for reason (a short literal). */
void	nd_metrics_refused(const char *reason, uint64_t n);

#endif /* ND_METRICS_H */
