/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A loaded configuration with its sinks. SIGHUP builds a new one and swaps
 * it in; dumps in flight keep a reference to the one they started with, so
 * a reload never touches them.
 */
#ifndef ND_RUNTIME_H
#define ND_RUNTIME_H

#include <stdatomic.h>

#include "conf.h"
#include "sink_load.h"

struct nd_runtime {
	struct nd_conf		*conf;
	struct nd_sinkset	*sinks;
	atomic_uint		 refs;
	struct nd_runtime	*next;		/* in the reaper's queue */
};

/* Takes ownership of both; the caller holds the first reference. */
struct nd_runtime	*nd_runtime_new(struct nd_conf *, struct nd_sinkset *);
void			 nd_runtime_ref(struct nd_runtime *);
/*
 * The last reference frees the runtime: on the reaper's thread once it is
 * started, so that no caller waits for sinks to end; else right here.
 */
void			 nd_runtime_unref(struct nd_runtime *);
/* After the fork: the last references go to the reaper from now on. */
void			 nd_runtime_reaper_start(void);
/* Free what the reaper holds and end it; the callers free from now on. */
void			 nd_runtime_reaper_stop(void);

/*
 * How the receiver asks for a fresh runtime on SIGHUP, to replace current
 * (whose unchanged sinks it takes over); NULL + err if bad.
 */
typedef struct nd_runtime *(*nd_reload_fn)(void *arg,
			    const struct nd_runtime *current, char *err,
			    size_t errlen);

#endif /* ND_RUNTIME_H */
