/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: retention (keep_per_client, max_total_size, keep_per_signature).
 * It runs when a dump ends and removes whole finished dumps from anywhere
 * beneath the sink's directory: incomplete ones first, the oldest first,
 * and a complete one only while the complete dumps alone are over the
 * limit. So junk (a HERALD, a few bytes, FINISHED) can never push a
 * complete dump out, of its own client or of another. keep_per_signature
 * runs first and by the same rule within each panic signature, sparing
 * the signature's first complete dump; a repeat it takes keeps its
 * summary (info, msgbuf, manifest) unless repeats = remove. A summary is
 * no dump to keep_per_client, and the first thing max_total_size takes. A dump is finished when its manifest
 * exists, since the core writes the manifest last: without one it is
 * still arriving, or the daemon died while it did, and it is never
 * touched. Neither is a dump between begin and end in this process,
 * whatever sink instance has it: the dump that just ended stays, since its
 * hooks and its outcome line name its files after the sink's end.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netdump/sink.h"
#include "sinkutil.h"

#include "file.h"
#include "retention.h"

/*
 * Dumps between begin and end, of every instance: the module is loaded once
 * per process, so these are process-wide. Retention leaves them alone even
 * when their manifest exists already.
 */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static struct file_dump *active_dumps;


int
register_dump(struct file_dump *d)
{
	struct stat sb;

	if (fstat(d->dirfd, &sb) == -1)
		return -1;
	d->dev = sb.st_dev;
	d->ino = sb.st_ino;
	pthread_mutex_lock(&active_lock);
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


static bool
is_active(enum file_layout layout, const struct ret_dump *rd)
{
	const struct file_dump *a;
	bool found = false;

	pthread_mutex_lock(&active_lock);
	for (a = active_dumps; a != NULL && !found; a = a->next_active)
		found = a->layout == layout && a->dev == rd->dev &&
		    a->ino == rd->ino && (layout == LAYOUT_REDHAT ||
		    (a->number == rd->number && (layout == LAYOUT_SAVECORE ||
		    strcmp(a->dump->client_name, rd->client) == 0)));
	pthread_mutex_unlock(&active_lock);
	return found;
}

void
ret_warn(const struct file_sink *fs, const char *path, const char *what,
    int e)
{
	char ebuf[128];

	fs->host->log(fs->ctx, NDS_LOG_WARNING, "retention: %s: %s: %s",
	    path, what, sink_errstr(e, ebuf, sizeof(ebuf)));
}

static void
fmt_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
	};
	double v;
	size_t u;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return;
	}
	v = (double)n / 1024;
	for (u = 0; v >= 1024 && u + 1 < NITEMS(units); u++)
		v /= 1024;
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* A complete dump that still has its core: what the limits keep. */
static bool
whole(const struct ret_dump *rd)
{
	return rd->complete && !rd->summary;
}

/*
 * Removal order: incomplete dumps and summaries before complete dumps (a
 * complete dump is what the limits are there to keep), then oldest first.
 */
static int
cmp_ret_dump(const void *a, const void *b)
{
	const struct ret_dump *x = a, *y = b;
	int c;

	if (whole(x) != whole(y))
		return whole(x) ? 1 : -1;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	if (x->number != y->number)
		return x->number < y->number ? -1 : 1;
	if ((c = strcmp(x->dir, y->dir)) != 0)
		return c;
	if ((c = strcmp(x->sub != NULL ? x->sub : "",
	    y->sub != NULL ? y->sub : "")) != 0)
		return c;
	return strcmp(x->client, y->client);
}

/* Remove the *.last links in dfd that point at a file of rd. */
static void
unlink_last_links(const struct file_sink *fs, int dfd, const char *path,
    const struct ret_dump *rd)
{
	struct dirent *de;
	char target[NAME_MAX + 1];
	ssize_t len;
	size_t i;
	DIR *dp;
	int fd;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (dp = fdopendir(fd)) == NULL) {
		ret_warn(fs, path, "opendir", errno);
		xclose(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (!last_link_name(rd->layout, de->d_name))
			continue;
		len = readlinkat(dfd, de->d_name, target, sizeof(target) - 1);
		if (len == -1)
			continue;	/* not a link, or gone */
		target[len] = '\0';
		for (i = 0; i < rd->nfiles; i++)
			if (strcmp(target, rd->files[i].name) == 0)
				break;
		if (i < rd->nfiles && rd->files[i].taking &&
		    unlinkat(dfd, de->d_name, 0) == -1 && errno != ENOENT)
			ret_warn(fs, de->d_name, "unlink", errno);
	}
	closedir(dp);
}

/*
 * What the log says a removal took: "dir/vmcore.3.incomplete +info.3,
 * manifest.3.json", so that nobody has to guess which files went. Cut
 * short with "..." when the names do not fit.
 */
static void
fmt_removed(const struct ret_dump *rd, const char *path, char *buf,
    size_t len)
{
	const struct ret_file *lead = NULL;
	size_t i, n, at;
	const char *sep = " +";

	/* The label leads if it goes; else the first file that goes. */
	for (i = 0; i < rd->nfiles; i++)
		if (rd->files[i].taking && (lead == NULL ||
		    rd->files[i].name == rd->label))
			lead = &rd->files[i];
	n = (size_t)snprintf(buf, len, "%s%s%s", path, path[0] != '\0' ?
	    "/" : "", lead != NULL ? lead->name : rd->label);
	for (i = 0; i < rd->nfiles && n < len; i++) {
		if (&rd->files[i] == lead || !rd->files[i].taking)
			continue;
		at = n;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", sep,
		    rd->files[i].name);
		sep = ", ";
		if (n >= len && at + 5 <= len) {
			snprintf(buf + at, len - at, " ...");
			break;
		}
	}
}

/* The log line of a removal: what went, how much, and why. */
static void
log_removal(const struct file_sink *fs, const struct ret_dump *rd,
    const char *path, uint64_t freed, bool failed, bool summary,
    const char *why)
{
	char sz[32], what[NAME_MAX + 32], files[PATH_MAX];

	fmt_size(freed, sz, sizeof(sz));
	fmt_removed(rd, path, files, sizeof(files));
	if (rd->sub != NULL || !rd->numbered)
		snprintf(what, sizeof(what), "of %s", rd->client);
	else
		snprintf(what, sizeof(what), "%u of %s", rd->number,
		    rd->client[0] != '\0' ? rd->client : "?");
	if (failed)
		fs->host->log(fs->ctx, NDS_LOG_WARNING, "retention: dump %s "
		    "(%s) removed in part, %s freed: %s", what, files, sz,
		    why);
	else if (summary)
		fs->host->log(fs->ctx, NDS_LOG_INFO, "retention: removed the "
		    "core of dump %s (%s; %s), kept its summary: %s", what,
		    files, sz, why);
	else
		fs->host->log(fs->ctx, NDS_LOG_INFO, "retention: removed dump "
		    "%s (%s; %s): %s", what, files, sz, why);
}

/* Removal order: the files of a summary, then the core, the manifest last. */
static int
removal_pass(const struct ret_file *f)
{
	return f->manifest ? 2 : f->core ? 1 : 0;
}

/*
 * Unlink the files of rd that this removal takes, in dfd, in removal
 * order; after a failure, no later pass, so a dump removed in part still
 * has its core, or at least its manifest, and is tried again. Returns the
 * bytes freed; *failed tells.
 */
static uint64_t
unlink_files(const struct file_sink *fs, int dfd, struct ret_dump *rd,
    bool *failed)
{
	struct ret_file *f;
	uint64_t freed = 0;
	size_t i;
	int pass;

	*failed = false;
	for (pass = 0; pass < 3 && !*failed; pass++)
		for (i = 0; i < rd->nfiles; i++) {
			f = &rd->files[i];
			if (!f->taking || removal_pass(f) != pass)
				continue;
			if (unlinkat(dfd, f->name, 0) == 0 || errno == ENOENT) {
				freed += f->size;
				f->gone = true;
			} else {
				ret_warn(fs, f->name, "unlink", errno);
				*failed = true;
			}
		}
	return freed;
}

/*
 * Remove one dump: the *.last links that point at it, its files, the
 * manifest last (a dump cut short here is still finished, and goes next
 * time), then a redhat dump's directory. Files marked keep stay, and so
 * does the directory then: what is left is the dump's summary.
 */
static void
remove_dump(const struct file_sink *fs, int root, struct ret_dump *rd,
    const char *why)
{
	char path[PATH_MAX];
	uint64_t freed = 0;
	struct stat sb;
	bool failed = false, summary = false;
	size_t i;
	int fd, hfd = -1;

	rd->tried = true;
	for (i = 0; i < rd->nfiles; i++) {
		rd->files[i].taking = !rd->files[i].keep && !rd->files[i].gone;
		summary |= rd->files[i].keep;
	}
	/* The directory of the files, from the sink's, for the log. */
	if (strcmp(rd->dir, ".") == 0)
		snprintf(path, sizeof(path), "%s", rd->sub != NULL ? rd->sub :
		    "");
	else if (rd->sub != NULL)
		snprintf(path, sizeof(path), "%s/%s", rd->dir, rd->sub);
	else
		snprintf(path, sizeof(path), "%s", rd->dir);
	/* Component by component, no symlink: the tree may have changed. */
	if ((fd = open_walk(root, rd->dir)) == -1) {
		ret_warn(fs, rd->dir, "open", errno);
		return;
	}
	if (rd->sub != NULL)
		hfd = openat(fd, rd->sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	else
		hfd = dup(fd);
	if (hfd == -1 || fstat(hfd, &sb) == -1) {
		ret_warn(fs, path[0] != '\0' ? path : ".", "open", errno);
		goto out;
	}
	if (sb.st_dev != rd->dev || sb.st_ino != rd->ino) {
		fs->host->log(fs->ctx, NDS_LOG_WARNING, "retention: %s: "
		    "replaced while it was looked at; left alone",
		    path[0] != '\0' ? path : ".");
		goto out;
	}
	if (rd->layout != LAYOUT_REDHAT)
		unlink_last_links(fs, hfd, path[0] != '\0' ? path : ".", rd);
	freed = unlink_files(fs, hfd, rd, &failed);
	rd->size -= freed;
	if (!failed && !summary && rd->sub != NULL && unlinkat(fd, rd->sub,
	    AT_REMOVEDIR) == -1 && errno != ENOENT) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			fs->host->log(fs->ctx, NDS_LOG_NOTICE, "retention: %s: "
			    "kept the directory: it holds other files", path);
		else
			ret_warn(fs, path, "rmdir", errno);
	}
	log_removal(fs, rd, path, freed, failed, summary, why);
	if (summary && !failed) {
		/* A summary now: max_total_size may still take it whole. */
		rd->summary = true;
		rd->has_core = false;
		rd->tried = false;
		for (i = 0; i < rd->nfiles; i++)
			rd->files[i].keep = false;
	} else
		rd->gone = !failed;
out:
	xclose(hfd);
	close(fd);
}

/* The sink's directory, as open_base finds it, as a descriptor of its own. */
static int
open_root(const struct file_dump *d)
{
	const struct nds_dump *dump = d->dump;
	const char *dir = d->fs->cfg->dir;
	int at = dump->dumpdir_fd >= 0 ? dump->dumpdir_fd : AT_FDCWD;

	if (dir == NULL) {
		dir = dump->dumpdir_fd >= 0 ? "." : dump->dumpdir;
		if (dir == NULL) {
			errno = ENOENT;
			return -1;
		}
	}
	return openat(at, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * keep_per_client for the client of the dump that ended. sc->v is in
 * removal order, incomplete dumps first: one goes while the client has
 * more than keep dumps, a complete one only while it has more than keep
 * complete ones. So the dumps kept are the newest keep complete ones;
 * incomplete ones, the newest first, fill only the places fewer complete
 * ones leave. An incomplete dump that may not go (it just ended, or is
 * still being stored) never pushes a complete one out.
 */
static void
ret_keep(const struct file_sink *fs, int root, struct ret_scan *sc)
{
	const size_t keep = (size_t)fs->cfg->keep;
	struct ret_dump *rd;
	char why[160];
	size_t i, all = 0, complete = 0;

	/* A repeat's summary is no dump here: it neither counts nor goes. */
	for (i = 0; i < sc->n; i++)
		if (sc->v[i].mine && !sc->v[i].summary && !sc->v[i].gone) {
			all++;
			if (sc->v[i].complete)
				complete++;
		}
	for (i = 0; i < sc->n; i++) {
		rd = &sc->v[i];
		if (!rd->mine || rd->active || rd->summary || rd->tried ||
		    (rd->complete ? complete : all) <= keep)
			continue;
		if (rd->complete)
			snprintf(why, sizeof(why), "keep_per_client = %zu: the "
			    "oldest of the client's %zu complete dumps", keep,
			    complete);
		else
			snprintf(why, sizeof(why), "keep_per_client = %zu: "
			    "incomplete, and the client had %zu dumps", keep,
			    all);
		remove_dump(fs, root, rd, why);
		/* Gone or not: a failure never takes a newer dump instead. */
		all--;
		if (rd->complete)
			complete--;
	}
}

/* Signature, then removal order: a signature's dumps side by side. */
static int
cmp_by_signature(const void *a, const void *b)
{
	const struct ret_dump *x = *(struct ret_dump *const *)a;
	const struct ret_dump *y = *(struct ret_dump *const *)b;
	int c = strcmp(x->sig, y->sig);

	return c != 0 ? c : cmp_ret_dump(x, y);
}

/*
 * keep_per_signature within the dumps of one signature, v[0..n) in
 * removal order. Its first complete dump (the oldest one; the oldest
 * dump when none is complete) always stays; of the others, as ret_keep
 * does per client, the newest keep complete ones stay and incomplete
 * ones fill only the places fewer complete ones leave. A repeat that
 * goes keeps its summary unless repeats = remove.
 */
static void
keep_signature(const struct file_sink *fs, int root, struct ret_dump **v,
    size_t n)
{
	const size_t keep = (size_t)fs->cfg->keep_sig;
	struct ret_dump *rd, *first = v[0];
	size_t i, j, all = 0, complete = 0;
	char why[160];

	for (i = 0; i < n; i++)
		if (v[i]->complete) {
			first = v[i];
			break;
		}
	for (i = 0; i < n; i++)
		if (v[i] != first) {
			all++;
			complete += v[i]->complete;
		}
	for (i = 0; i < n; i++) {
		rd = v[i];
		if (rd == first || rd->active ||
		    (rd->complete ? complete : all) <= keep)
			continue;
		snprintf(why, sizeof(why), "keep_per_signature = %zu: %s repeat "
		    "of signature %s", keep, rd->complete ? "an older" :
		    "an incomplete", rd->sig);
		for (j = 0; j < rd->nfiles; j++)
			rd->files[j].keep = fs->cfg->repeats ==
			    REPEATS_SUMMARY && !rd->files[j].core;
		remove_dump(fs, root, rd, why);
		/*
		 * Whatever came of it: a dump that could not go must not make
		 * one of the newest go in its place.
		 */
		all--;
		complete -= rd->complete;
	}
}

/*
 * keep_per_signature over every finished dump beneath the sink's
 * directory that has a signature and still its core: summaries, and
 * dumps without a signature, are not its business.
 */
static void
ret_signature(const struct file_sink *fs, int root, struct ret_scan *sc)
{
	struct ret_dump **v;
	size_t i, n = 0, run;

	if ((v = calloc(sc->n + 1, sizeof(*v))) == NULL) {
		ret_warn(fs, "keep_per_signature", "calloc", ENOMEM);
		return;
	}
	for (i = 0; i < sc->n; i++)
		if (sc->v[i].sig[0] != '\0' && sc->v[i].has_core &&
		    !sc->v[i].gone)
			v[n++] = &sc->v[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_by_signature);
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && strcmp(v[i]->sig,
		    v[i + run]->sig) == 0; run++)
			continue;
		keep_signature(fs, root, v + i, run);
	}
	free(v);
}

/*
 * max_total_size over every finished dump beneath the sink's directory,
 * in the same order and by the same rule as ret_keep: incomplete dumps
 * go, the oldest first, while all dumps take more than the limit; complete
 * ones only while the complete dumps alone do. So no client's incomplete
 * dumps can evict another's complete ones.
 */
static void
ret_total(const struct file_sink *fs, int root, struct ret_scan *sc)
{
	const uint64_t max = (uint64_t)fs->cfg->max_total;
	struct ret_dump *rd;
	char why[160], lim[32], sz[32];
	uint64_t all = 0, complete = 0, before, freed;
	size_t i;

	for (i = 0; i < sc->n; i++) {
		all += sc->v[i].size;
		if (whole(&sc->v[i]))
			complete += sc->v[i].size;
	}
	fmt_size(max, lim, sizeof(lim));
	for (i = 0; i < sc->n; i++) {
		rd = &sc->v[i];
		/* keep_per_client failed on it (in part): not again. */
		if (rd->active || rd->tried ||
		    (whole(rd) ? complete : all) <= max)
			continue;
		fmt_size(whole(rd) ? complete : all, sz, sizeof(sz));
		if (whole(rd))
			snprintf(why, sizeof(why), "max_total_size = %s: the "
			    "oldest complete dump, and complete dumps took %s",
			    lim, sz);
		else
			snprintf(why, sizeof(why), "max_total_size = %s: %s, "
			    "and %s were stored", lim, rd->summary ? "a "
			    "repeat's summary" : "incomplete", sz);
		before = rd->size;
		remove_dump(fs, root, rd, why);
		freed = before - rd->size;
		all -= freed;
		if (whole(rd))
			complete -= freed;
	}
}

/*
 * After a dump of d's client ended: keep_per_signature for everything
 * beneath the sink's directory, keep_per_client for that client, then
 * max_total_size for everything (ret_signature, ret_keep and ret_total
 * say which dumps go). Called with retention_lock held; never
 * fails the dump.
 */
void
run_retention(const struct file_dump *d)
{
	const struct file_sink *fs = d->fs;
	const char *top = fs->cfg->dir != NULL ? fs->cfg->dir :
	    "dump directory";
	struct ret_scan sc;
	size_t i;
	int root, fd;

	memset(&sc, 0, sizeof(sc));
	sc.d = d;
	if ((root = open_root(d)) == -1) {
		ret_warn(fs, top, "open", errno);
		return;
	}
	if ((fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		ret_warn(fs, top, "open", errno);
		goto out;
	}
	if (scan_dir(&sc, fd, ".", NULL, "", 0) == -1) {
		/* Half a picture could pick the wrong dumps: do nothing. */
		ret_warn(fs, top, "scan", ENOMEM);
		goto out;
	}
	qsort(sc.v, sc.n, sizeof(*sc.v), cmp_ret_dump);
	/* The dump that ended is still registered: it is active too. */
	for (i = 0; i < sc.n; i++)
		sc.v[i].active = is_active(sc.v[i].layout, &sc.v[i]);
	if (fs->cfg->keep_sig > 0) {
		ret_signature(fs, root, &sc);
		/* Its summaries go before complete dumps now. */
		qsort(sc.v, sc.n, sizeof(*sc.v), cmp_ret_dump);
	}
	if (fs->cfg->keep > 0)
		ret_keep(fs, root, &sc);
	if (fs->cfg->max_total > 0)
		ret_total(fs, root, &sc);
out:
	for (i = 0; i < sc.n; i++)
		free_ret_dump(&sc.v[i]);
	free(sc.v);
	close(root);
}

