/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: the dumps between begin and end, and the instances, which
 * retention leaves alone: a dump still being stored, another chain's copy
 * of it, and another instance's directory.
 */
#include <pthread.h>

#include "file.h"

/*
 * Dumps between begin and end, of every instance: the module is loaded once
 * per process, so these are process-wide.
 */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static struct file_dump *active_dumps;
/* Every instance, for the directories of the others (skip_others). */
static struct file_sink *sinks;

void
register_sink(struct file_sink *fs)
{
	pthread_mutex_lock(&active_lock);
	fs->next_sink = sinks;
	sinks = fs;
	pthread_mutex_unlock(&active_lock);
}

void
unregister_sink(struct file_sink *fs)
{
	struct file_sink **pp;

	pthread_mutex_lock(&active_lock);
	for (pp = &sinks; *pp != NULL; pp = &(*pp)->next_sink)
		if (*pp == fs) {
			*pp = fs->next_sink;
			break;
		}
	pthread_mutex_unlock(&active_lock);
}

int
register_dump(struct file_dump *d)
{
	struct file_dump *a;
	struct stat sb;

	if (fstat(d->dirfd, &sb) == -1)
		return -1;
	d->dev = sb.st_dev;
	d->ino = sb.st_ino;
	pthread_mutex_lock(&active_lock);
	for (a = active_dumps; a != NULL; a = a->next_active)
		if (a->dump == d->dump && a->layout == d->layout &&
		    a->dev == d->dev && a->ino == d->ino) {
			if (d->nsiblings < NITEMS(d->siblings))
				d->siblings[d->nsiblings++] = a->number;
			if (a->nsiblings < NITEMS(a->siblings))
				a->siblings[a->nsiblings++] = d->number;
		}
	d->next_active = active_dumps;
	active_dumps = d;
	pthread_mutex_unlock(&active_lock);
	return 0;
}

void
unregister_dump(struct file_dump *d)
{
	struct file_dump **pp;

	pthread_mutex_lock(&active_lock);
	for (pp = &active_dumps; *pp != NULL; pp = &(*pp)->next_active)
		if (*pp == d) {
			*pp = d->next_active;
			break;
		}
	pthread_mutex_unlock(&active_lock);
}

/* Whether number is a's, or another chain's copy of a's dump beside it. */
static bool
is_copy_of(const struct file_dump *a, unsigned int number)
{
	size_t i;

	for (i = 0; i < a->nsiblings; i++)
		if (a->siblings[i] == number)
			return true;
	return a->number == number;
}

/*
 * Whether a dump of layout in the directory dev/ino, numbered number
 * (savecore, netdumpd) of client (netdumpd), is between begin and end in
 * any instance, or another chain's copy of one that is.
 */
bool
active_dump(enum file_layout layout, dev_t dev, ino_t ino,
    unsigned int number, const char *client)
{
	const struct file_dump *a;
	bool found = false;

	pthread_mutex_lock(&active_lock);
	for (a = active_dumps; a != NULL && !found; a = a->next_active)
		found = a->layout == layout && a->dev == dev && a->ino == ino &&
		    (layout == LAYOUT_REDHAT || (is_copy_of(a, number) &&
		    (layout == LAYOUT_SAVECORE ||
		    strcmp(a->dump->client_name, client) == 0)));
	pthread_mutex_unlock(&active_lock);
	return found;
}

/*
 * The directories of the instances but self, copied (at most max): the
 * names are taken under the lock, opened by the caller without it.
 */
size_t
other_sink_dirs(const struct file_sink *self, char **dirs, size_t max)
{
	const struct file_sink *o;
	size_t n = 0;

	pthread_mutex_lock(&active_lock);
	for (o = sinks; o != NULL && n < max; o = o->next_sink)
		if (o != self && o->cfg->dir != NULL &&
		    (dirs[n] = strdup(o->cfg->dir)) != NULL)
			n++;
	pthread_mutex_unlock(&active_lock);
	return n;
}
