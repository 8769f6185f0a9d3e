/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The work pool (nds_host.pool_open): threads that a module hands slow
 * jobs to, each with a state of its own (a connection), started with the
 * first job, with every signal blocked, and stopped after the queue is
 * drained.
 */
#ifndef ND_WORKPOOL_H
#define ND_WORKPOOL_H

#include "netdump/sink.h"

typedef int	(*nd_pool_init_fn)(void *arg, void **state);
typedef void	(*nd_pool_fini_fn)(void *arg, void *state);
typedef void	(*nd_pool_job_fn)(void *job, void *state);

/*
 * A pool of threads (at least 1) that are not started yet; its log
 * lines start with prefix. NULL and why in err.
 */
struct nds_pool	*nd_pool_open(unsigned threads, nd_pool_init_fn init,
		    nd_pool_fini_fn fini, void *arg, const char *prefix,
		    char *err, size_t errlen);
/*
 * Queue fn(job, state); the first call starts the threads. 0, or -1 when
 * the job will never run (it stays the caller's).
 */
int		 nd_pool_submit(struct nds_pool *, nd_pool_job_fn fn,
		    void *job);
/* Start the threads if none runs; how many run. */
unsigned	 nd_pool_start(struct nds_pool *);
/* Run what is queued, stop and join the threads, free the pool. */
void		 nd_pool_close(struct nds_pool *);
/* How many threads run: for the tests. */
unsigned	 nd_pool_running(struct nds_pool *);

#endif /* ND_WORKPOOL_H */
