/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Signature counts (see sigseen.h): a sorted array of (id, count), since
 * even 100,000 dumps have far fewer distinct crashes, searched with
 * bsearch and grown by insertion. The walk of the dump directory (2.5 s
 * for 100,000 manifests) runs on a thread of its own with no lock held;
 * a dump that ends before it is done waits for it, so that no count is
 * made twice or missed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "log.h"
#include "sigseen.h"
#include "util.h"

struct sigcount {
	char		 id[17];
	uint64_t	 n;		/* manifests found, then dumps counted */
	uint64_t	 seen;		/* the largest "seen" of a manifest */
};

struct sigtable {
	struct sigcount	*v;
	size_t		 n, cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t learnt_cond = PTHREAD_COND_INITIALIZER;
static struct sigtable table;		/* under lock */
static bool learning;			/* the thread runs; under lock */
static pthread_t thread;
static bool started;
static char *dir;

static int
cmp_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct sigcount *)elem)->id);
}

/* id's entry in t, inserted with zero counts if new; NULL out of memory. */
static struct sigcount *
find(struct sigtable *t, const char *id)
{
	struct sigcount *s, *grown;
	size_t lo = 0, hi = t->n, mid;

	/* bsearch's base may not be NULL, even for none. */
	if (t->n > 0 && (s = bsearch(id, t->v, t->n, sizeof(*t->v),
	    cmp_id)) != NULL)
		return s;
	if (strlen(id) >= sizeof(s->id))
		return NULL;
	if (t->n == t->cap) {
		if ((grown = reallocarray(t->v, t->cap ? t->cap * 2 : 64,
		    sizeof(*t->v))) == NULL)
			return NULL;
		t->v = grown;
		t->cap = t->cap ? t->cap * 2 : 64;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(id, t->v[mid].id) < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
	memset(&t->v[lo], 0, sizeof(t->v[lo]));
	memcpy(t->v[lo].id, id, strlen(id) + 1);
	t->n++;
	return &t->v[lo];
}

/* nd_index_signatures' seen(): one manifest with signature id. */
static void
found(void *arg, const char *id, uint64_t seen)
{
	struct sigcount *s = find(arg, id);

	if (s != NULL) {
		s->n++;
		if (seen > s->seen)
			s->seen = seen;
	}
}

static void *
learn(void *arg)
{
	struct sigtable t = { 0 };
	size_t i;

	(void)arg;
	nd_thread_name("nd-sigseen");
	if (nd_index_signatures(dir, found, &t) == -1)
		log_warnx("%s: the signatures of earlier dumps could not be "
		    "read; repeat counts start from this run", dir);
	for (i = 0; i < t.n; i++)
		if (t.v[i].seen > t.v[i].n)
			t.v[i].n = t.v[i].seen;
	pthread_mutex_lock(&lock);
	table = t;
	learning = false;
	pthread_cond_broadcast(&learnt_cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
nd_sigseen_start(const char *dumpdir)
{
	if ((dir = strdup(dumpdir)) == NULL)
		return -1;
	learning = true;
	if (pthread_create(&thread, NULL, learn, NULL) != 0) {
		learning = false;
		free(dir);
		dir = NULL;
		return -1;
	}
	started = true;
	return 0;
}

uint64_t
nd_sigseen_count(const char *id)
{
	struct sigcount *s;
	uint64_t n = 0;

	pthread_mutex_lock(&lock);
	while (learning)
		pthread_cond_wait(&learnt_cond, &lock);
	/*
	 * Past INT64_MAX (a manifest says so: edited by hand) the count
	 * stays there: JSON readers take no larger integer.
	 */
	if ((s = find(&table, id)) != NULL)
		n = s->n < INT64_MAX ? ++s->n : s->n;
	pthread_mutex_unlock(&lock);
	return n;
}

void
nd_sigseen_stop(void)
{
	if (started)
		pthread_join(thread, NULL);
	started = false;
	free(table.v);
	memset(&table, 0, sizeof(table));
	free(dir);
	dir = NULL;
}
