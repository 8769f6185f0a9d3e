/* SPDX-License-Identifier: BSD-2-Clause */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

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

void
nd_runtime_unref(struct nd_runtime *rt)
{
	if (rt == NULL || atomic_fetch_sub(&rt->refs, 1) != 1)
		return;
	nd_sinkset_free(rt->sinks);
	nd_conf_free(rt->conf);
	free(rt);
}

static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nd_outcome recent[ND_RECENT];
static size_t recent_next, recent_count;

void
nd_outcome_record(const struct nd_outcome *o)
{
	pthread_mutex_lock(&recent_lock);
	recent[recent_next] = *o;
	recent_next = (recent_next + 1) % ND_RECENT;
	if (recent_count < ND_RECENT)
		recent_count++;
	pthread_mutex_unlock(&recent_lock);
}

size_t
nd_outcome_recent(struct nd_outcome *out)
{
	size_t i, n;

	pthread_mutex_lock(&recent_lock);
	n = recent_count;
	for (i = 0; i < n; i++)
		out[i] = recent[(recent_next + ND_RECENT - 1 - i) % ND_RECENT];
	pthread_mutex_unlock(&recent_lock);
	return n;
}
