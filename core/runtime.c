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

