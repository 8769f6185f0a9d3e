/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Signature counts (see sigseen.h): a sorted array of (id, count), since
 * even 100,000 dumps have far fewer distinct crashes, searched with
 * bsearch and grown by insertion.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "log.h"
#include "sigseen.h"

struct sigcount {
	char		 id[17];
	uint64_t	 n;		/* manifests found, then dumps counted */
	uint64_t	 seen;		/* the largest "seen" of a manifest */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigcount *sigs;
static size_t nsigs, capsigs;
static char *loaded_dir;	/* the directory sigs are of; NULL none */

static int
cmp_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct sigcount *)elem)->id);
}

/* id's entry, inserted with zero counts if new; NULL out of memory. */
static struct sigcount *
find(const char *id)
{
	struct sigcount *s, *grown;
	size_t lo = 0, hi = nsigs, mid;
	int c;

	if ((s = bsearch(id, sigs, nsigs, sizeof(*sigs), cmp_id)) != NULL)
		return s;
	if (strlen(id) >= sizeof(s->id))
		return NULL;
	if (nsigs == capsigs) {
		if ((grown = reallocarray(sigs, capsigs ? capsigs * 2 : 64,
		    sizeof(*sigs))) == NULL)
			return NULL;
		sigs = grown;
		capsigs = capsigs ? capsigs * 2 : 64;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(id, sigs[mid].id);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	memmove(&sigs[lo + 1], &sigs[lo], (nsigs - lo) * sizeof(*sigs));
	memset(&sigs[lo], 0, sizeof(sigs[lo]));
	memcpy(sigs[lo].id, id, strlen(id) + 1);
	nsigs++;
	return &sigs[lo];
}

/* nd_index_signatures' seen(): one manifest with signature id. */
static void
found(void *arg, const char *id, uint64_t seen)
{
	struct sigcount *s = find(id);

	(void)arg;
	if (s != NULL) {
		s->n++;
		if (seen > s->seen)
			s->seen = seen;
	}
}

/* Learn dumpdir's signatures, if they are not the ones known. */
static void
load(const char *dumpdir)
{
	size_t i;

	if (loaded_dir != NULL && strcmp(loaded_dir, dumpdir) == 0)
		return;
	nd_sigseen_free();
	if ((loaded_dir = strdup(dumpdir)) == NULL)
		return;
	if (nd_index_signatures(dumpdir, found, NULL) == -1)
		log_warnx("%s: the signatures of earlier dumps could not be "
		    "read; repeat counts start from this run", dumpdir);
	for (i = 0; i < nsigs; i++)
		if (sigs[i].seen > sigs[i].n)
			sigs[i].n = sigs[i].seen;
}

uint64_t
nd_sigseen_count(const char *dumpdir, const char *id)
{
	struct sigcount *s;
	uint64_t n = 0;

	pthread_mutex_lock(&lock);
	load(dumpdir);
	if ((s = find(id)) != NULL)
		n = ++s->n;
	pthread_mutex_unlock(&lock);
	return n;
}

void
nd_sigseen_free(void)
{
	free(sigs);
	sigs = NULL;
	nsigs = capsigs = 0;
	free(loaded_dir);
	loaded_dir = NULL;
}
