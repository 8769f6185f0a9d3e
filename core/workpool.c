/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The work pool (see workpool.h and nds_host.pool_open). One queue per
 * pool, under its lock; the threads take jobs in the order they came.
 * Threads start with the first job rather than at open: modules open
 * their pools from create, which runs before the daemon forks, and a
 * thread does not survive a fork.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "util.h"
#include "workpool.h"

struct pool_job {
	struct pool_job	*next;
	nd_pool_job_fn	 fn;
	void		*job;
};

struct nds_pool {
	char		 prefix[160];
	nd_pool_init_fn	 init;
	nd_pool_fini_fn	 fini;
	void		*arg;
	unsigned	 nthreads;
	pthread_t	*threads;

	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	/* Under lock. */
	unsigned	 nstarted;
	struct pool_job	*head, **tail;
	bool		 stop;
};

struct nds_pool *
nd_pool_open(unsigned threads, nd_pool_init_fn init, nd_pool_fini_fn fini,
    void *arg, const char *prefix, char *err, size_t errlen)
{
	struct nds_pool *p;

	if (threads == 0) {
		snprintf(err, errlen, "a pool needs at least one thread");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->threads = calloc(threads, sizeof(*p->threads))) == NULL) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(p->prefix, sizeof(p->prefix), "%s", prefix);
	p->init = init;
	p->fini = fini;
	p->arg = arg;
	p->nthreads = threads;
	p->tail = &p->head;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	return p;
}

/* The thread's state: made at start, again before a job while it fails. */
static bool
state_try(struct nds_pool *p, void **state)
{
	*state = NULL;
	if (p->init == NULL || p->init(p->arg, state) == 0)
		return true;
	*state = NULL;
	return false;
}

static void *
pool_main(void *arg)
{
	struct nds_pool *p = arg;
	struct pool_job *j;
	void *state;
	bool ready;

	nd_thread_name("nd-pool");
	ready = state_try(p, &state);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->head == NULL && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		/* Stopping drains the queue first. */
		if ((j = p->head) == NULL)
			break;
		if ((p->head = j->next) == NULL)
			p->tail = &p->head;
		pthread_mutex_unlock(&p->lock);
		if (!ready)
			ready = state_try(p, &state);
		/* No state: the job fails itself rather than wait. */
		j->fn(j->job, ready ? state : NULL);
		free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	if (ready && p->fini != NULL)
		p->fini(p->arg, state);
	return NULL;
}

/*
 * Under lock: start the threads that are not running. Every signal is
 * blocked in them: the daemon takes its signals from a signalfd, which
 * works only while no thread accepts them.
 */
static void
pool_start_locked(struct nds_pool *p)
{
	sigset_t all, old;
	int e = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (p->nstarted < p->nthreads && (e = pthread_create(
	    &p->threads[p->nstarted], NULL, pool_main, p)) == 0)
		p->nstarted++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nstarted < p->nthreads)
		logit(LOG_WARNING, "%s: only %u of %u pool threads started: %s",
		    p->prefix, p->nstarted, p->nthreads, strerror(e));
}

int
nd_pool_submit(struct nds_pool *p, nd_pool_job_fn fn, void *job)
{
	struct pool_job *j;

	if ((j = malloc(sizeof(*j))) == NULL)
		return -1;
	j->next = NULL;
	j->fn = fn;
	j->job = job;
	pthread_mutex_lock(&p->lock);
	/* None could start last time: try again, as with the first job. */
	if (!p->stop && p->nstarted == 0)
		pool_start_locked(p);
	if (p->stop || p->nstarted == 0) {
		pthread_mutex_unlock(&p->lock);
		free(j);
		return -1;
	}
	*p->tail = j;
	p->tail = &j->next;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

unsigned
nd_pool_start(struct nds_pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	if (!p->stop && p->nstarted == 0)
		pool_start_locked(p);
	n = p->nstarted;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
nd_pool_close(struct nds_pool *p)
{
	unsigned i, n;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	n = p->nstarted;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	/* No new thread starts once stop is set: n is all of them. */
	for (i = 0; i < n; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p);
}

unsigned
nd_pool_running(struct nds_pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->nstarted;
	pthread_mutex_unlock(&p->lock);
	return n;
}
