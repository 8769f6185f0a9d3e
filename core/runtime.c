/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "runtime.h"

/*
 * The reaper: a thread that frees runtimes whose last reference went.
 * Freeing one ends the sinks no newer runtime kept, and a sink's end may
 * wait (its outbox thread finishing a request, a module joining its
 * threads); the receive thread, which drops a runtime's references at a
 * reload and when a session ends, must not wait with it. Off until
 * nd_runtime_reaper_start (no thread before the daemon forks); after
 * nd_runtime_reaper_stop the caller frees.
 */
static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct nd_runtime	*queue;
	pthread_t		 thread;
	bool			 on, running, stopping;
} reaper = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

struct nd_runtime *
nd_runtime_new(struct nd_conf *conf, struct nd_sinkset *sinks)
{
	struct nd_runtime *rt;

	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return NULL;
	rt->conf = conf;
	rt->sinks = sinks;
	atomic_init(&rt->refs, 1);
	return rt;
}

void
nd_runtime_ref(struct nd_runtime *rt)
{
	atomic_fetch_add(&rt->refs, 1);
}

static void
runtime_free(struct nd_runtime *rt)
{
	nd_sinkset_free(rt->sinks);
	nd_conf_free(rt->conf);
	free(rt);
}

static void *
reaper_main(void *arg)
{
	struct nd_runtime *rt;

	(void)arg;
	pthread_mutex_lock(&reaper.lock);
	for (;;) {
		while (reaper.queue == NULL && !reaper.stopping)
			pthread_cond_wait(&reaper.cond, &reaper.lock);
		if ((rt = reaper.queue) == NULL)
			break;
		reaper.queue = rt->next;
		pthread_mutex_unlock(&reaper.lock);
		runtime_free(rt);
		pthread_mutex_lock(&reaper.lock);
	}
	pthread_mutex_unlock(&reaper.lock);
	return NULL;
}

/* Queue rt for the reaper, starting it if it is not running; false: not. */
static bool
reaper_take(struct nd_runtime *rt)
{
	bool taken = false;
	int error;

	pthread_mutex_lock(&reaper.lock);
	if (reaper.on && !reaper.running) {
		if ((error = pthread_create(&reaper.thread, NULL, reaper_main,
		    NULL)) == 0)
			reaper.running = true;
		else {
			reaper.on = false;
			errno = error;
			log_warn("cannot start the thread that ends old "
			    "configurations' sinks; the receiving thread "
			    "ends them");
		}
	}
	if (reaper.running && !reaper.stopping) {
		rt->next = reaper.queue;
		reaper.queue = rt;
		pthread_cond_signal(&reaper.cond);
		taken = true;
	}
	pthread_mutex_unlock(&reaper.lock);
	return taken;
}

void
nd_runtime_unref(struct nd_runtime *rt)
{
	if (rt == NULL || atomic_fetch_sub(&rt->refs, 1) != 1)
		return;
	if (!reaper_take(rt))
		runtime_free(rt);
}

void
nd_runtime_reaper_start(void)
{
	pthread_mutex_lock(&reaper.lock);
	reaper.on = true;
	pthread_mutex_unlock(&reaper.lock);
}

void
nd_runtime_reaper_stop(void)
{
	bool running;

	pthread_mutex_lock(&reaper.lock);
	reaper.on = false;
	reaper.stopping = true;
	running = reaper.running;
	pthread_cond_signal(&reaper.cond);
	pthread_mutex_unlock(&reaper.lock);
	if (running)
		pthread_join(reaper.thread, NULL);
	pthread_mutex_lock(&reaper.lock);
	reaper.running = false;
	reaper.stopping = false;
	pthread_mutex_unlock(&reaper.lock);
}

