/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sink modules: found in sink_dir, the build tree or the installed folder,
 * dlopen'd once, checked against the ABI before anything else is read, and
 * instantiated once per [sink NAME] section with checked options.
 */
#ifndef ND_SINK_LOAD_H
#define ND_SINK_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "conf.h"
#include "netdump/sink.h"

struct nd_outbox;

struct nds_host_ctx {
	char		 prefix[160];	/* "sink local (file)" */
	struct nd_outbox *outbox;	/* opened by create, or NULL */
	int		 dumpdir_fd;	/* from start on; -1 before */
};

struct nd_module {
	char				*name;
	char				*path;
	void				*handle;
	const struct nds_sink_module	*desc;
	atomic_uint			 refs;	/* sets that hold it */
};

/* One configured sink instance. */
struct nd_sink {
	char			*name;
	struct nd_module	*module;
	void			*instance;
	void			*config;	/* filled from its options */
	struct nds_host_ctx	 ctx;
	bool			 started;	/* start was called */
	atomic_bool		 dead;		/* a FATAL result retired it */
	atomic_uint		 refs;		/* sets that hold it: a reload
						 * keeps an unchanged one */
};

/* "zstd | local": transforms, then the sink that stores. */
struct nd_chain {
	char			 *text;		/* as routes name it */
	struct nd_sink		**stages;
	size_t			  nstages;
};

struct nd_sinkset {
	struct nd_module	**modules;
	size_t			  nmodules;
	struct nd_sink		**sinks;
	size_t			  nsinks;
	struct nd_chain		**chains;	/* every chain a route names */
	size_t			  nchains;
	size_t			  nkept;	/* sinks taken over from the
						 * set a reload replaced */
	/* What of [server] reaches a sink: none is kept if it changed. */
	char			 *sink_dir;	/* where its modules came from */
	int64_t			  worker_nice;	/* its pool threads' nice */
};

/*
 * Find and load module NAME; on failure say why in err (ABI mismatch,
 * missing symbol, dlopen's message, or every folder that was searched).
 */
struct nd_module *nd_module_load(const char *sink_dir, const char *name,
		    char *err, size_t errlen);
/* Drop a reference; the last one unloads the module. */
void		 nd_module_unload(struct nd_module *);
/* The option table, for netdump-server -H MODULE. */
void		 nd_module_print_options(const struct nd_module *, FILE *);

/*
 * Load every module, create every sink of the configuration and check
 * every chain the routes name (a single sink is a chain of one). prev is
 * the set a reload replaces, or NULL: a sink of prev whose [sink] section
 * is unchanged (same module, every option the same) and that is not
 * retired is taken over as it runs, instance, threads and outbox, not
 * made again (nor started), so a reload costs its work in progress
 * nothing; its module too. Nothing is taken over when sink_dir or
 * worker_nice changed (pool threads take a dump worker's nice).
 */
struct nd_sinkset *nd_sinkset_create(const struct nd_conf *,
		    const struct nd_sinkset *prev, char *err, size_t errlen);
void		 nd_sinkset_free(struct nd_sinkset *);
struct nd_sink	*nd_sinkset_find(const struct nd_sinkset *, const char *name);
struct nd_chain	*nd_sinkset_chain(const struct nd_sinkset *, const char *text);
int		 nd_sinkset_add_chains(struct nd_sinkset *,
		    const struct nd_conf *, char *err, size_t errlen);
/*
 * Call every sink's start, once, in the daemon: after the fork and the
 * privilege drop; then start the outbox thread of a sink that opened an
 * outbox. A sink that cannot start is retired, and the log says so.
 * dumpdir_fd is the dump directory, for dir_usable (kept open by the
 * caller while the set lives).
 */
void		 nd_sinkset_start(struct nd_sinkset *, int dumpdir_fd);
bool		 nd_sink_is_transform(const struct nd_sink *);
/* Whether objects of this kind go to s, or past it to the next stage. */
bool		 nd_sink_takes(const struct nd_sink *, enum nds_object_kind);

/*
 * A module's config struct, filled from the defaults and then from the
 * name = value pairs kv; NULL on an unknown name or a bad value, with
 * *bad its index in kv (nkv: a default or memory), and why. The config
 * owns its strings: nd_config_free.
 */
void		*nd_config_build(const struct nds_sink_module *,
		    const struct nd_kv *kv, size_t nkv, size_t *bad, char *why,
		    size_t whylen);
void		 nd_config_free(const struct nds_sink_module *, void *config);

/* The host API given to every module. */
extern const struct nds_host nd_host_api;

#endif /* ND_SINK_LOAD_H */
