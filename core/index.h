/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The dump index: netdump-server --list. It is rebuilt from the manifests
 * beneath the dump directory each time (the manifests are the record, so
 * it survives restarts and needs the daemon not at all), and shows the
 * dumps, their signatures grouped, or the clients' last dumps.
 */
#ifndef ND_INDEX_H
#define ND_INDEX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum nd_list_view {
	ND_LIST_DUMPS,		/* one line per dump, oldest first */
	ND_LIST_SIGNATURES,	/* per signature: count, clients, first, last */
	ND_LIST_HOSTS,		/* per client: its dumps and the last one */
};

/*
 * Print the view of the dumps beneath dumpdir to out, as a table or as
 * JSON; 0, or 1 with a message on stderr when dumpdir cannot be read.
 */
int	nd_index_list(const char *dumpdir, enum nd_list_view, bool json,
	    FILE *out);

/*
 * Call seen(arg, id, count) for the signature of every dump beneath
 * dumpdir that has one, with the count its manifest recorded (0: none);
 * sigseen.c counts them. -1 when dumpdir cannot be read.
 */
int	nd_index_signatures(const char *dumpdir,
	    void (*seen)(void *, const char *id, uint64_t count), void *arg);

#endif /* ND_INDEX_H */
