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
};

/* Takes ownership of both; the caller holds the first reference. */
struct nd_runtime	*nd_runtime_new(struct nd_conf *, struct nd_sinkset *);
void			 nd_runtime_ref(struct nd_runtime *);
void			 nd_runtime_unref(struct nd_runtime *);

/* How the receiver asks for a fresh runtime on SIGHUP; NULL + err if bad. */
typedef struct nd_runtime *(*nd_reload_fn)(void *arg, char *err,
			    size_t errlen);

/* A finished dump, for the status command. */
struct nd_outcome {
	uint64_t	 id;
	char		 client[16];
	char		 path[64];
	char		 status[16];
	char		 reason[96];
	char		 where[160];
	uint64_t	 bytes;
	double		 seconds;
	time_t		 ended;		/* CLOCK_REALTIME */
};

#define ND_RECENT	16
void	nd_outcome_record(const struct nd_outcome *);
/* Copies up to ND_RECENT outcomes, newest first; returns how many. */
size_t	nd_outcome_recent(struct nd_outcome *out);

#endif /* ND_RUNTIME_H */
