/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: retention (keep_per_client, max_total_size, keep_per_signature).
 * It runs when a dump ends and removes whole finished dumps from anywhere
 * beneath the sink's directory: incomplete ones first, the oldest first,
 * and a complete one only while the complete dumps alone are over the
 * limit, so junk can never push a complete dump out. keep_per_signature
 * runs first, by the same rule within each panic signature, sparing the
 * signature's first complete dump; a repeat it takes keeps its summary
 * (info, msgbuf, manifest) unless repeats = remove. A summary is no dump
 * to keep_per_client, and the first thing max_total_size takes.
 *
 * The dumps are found by their manifests (scan.c). A dump between begin
 * and end in this process, whatever sink instance has it, is never
 * touched.
 */
#include <dirent.h>
#include <pthread.h>
#include <time.h>

#include "retention.h"


static void
fmt_size(uint64_t n, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)n / 1024;
	size_t u;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return;
	}
	for (u = 0; v >= 1024 && u + 2 < sizeof(units); u++)
		v /= 1024;
	snprintf(buf, len, "%.1f %ciB", v, units[u]);
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

/* Remove the *.last links in dfd that point at a file rd is losing. */
static void
unlink_last_links(const struct ret_scan *sc, int dfd, const char *path,
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
		ret_warn(sc->fs, path, "opendir", errno);
		xclose(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (!last_link_name(rd->layout, de->d_name) || (len =
		    readlinkat(dfd, de->d_name, target, sizeof(target) - 1)) ==
		    -1)
			continue;	/* not a link, or gone */
		target[len] = '\0';
		for (i = 0; i < rd->nfiles; i++)
			if (strcmp(target, rd->files[i].name) == 0)
				break;
		if (i < rd->nfiles && rd->files[i].taking &&
		    unlinkat(dfd, de->d_name, 0) == -1 && errno != ENOENT)
			ret_warn(sc->fs, de->d_name, "unlink", errno);
	}
	closedir(dp);
}

/*
 * What the log says a removal took: "dir/vmcore.3.incomplete +info.3,
 * manifest.3.json", cut short with "..." when the names do not fit.
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

/*
 * Unlink the files of rd that this removal takes, in dfd: those of a
 * summary, then the core, the manifest last. After a failure, no later
 * pass, so a dump removed in part still has its core, or at least its
 * manifest, and is tried again. Returns the bytes freed.
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
			if (!f->taking || (f->manifest ? 2 : f->core) != pass)
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
 * Remove one dump: the *.last links that point at it, its files, then a
 * redhat dump's directory. Files marked keep stay, and so does the
 * directory then: what is left is the dump's summary.
 */
static void
remove_dump(struct ret_scan *sc, struct ret_dump *rd, const char *why)
{
	const struct file_sink *fs = sc->fs;
	bool top = strcmp(rd->dir, ".") == 0, failed = false, summary = false;
	char path[PATH_MAX];
	const char *shown;
	uint64_t freed;
	struct stat sb;
	size_t i;
	int fd, hfd = -1;

	rd->tried = true;
	for (i = 0; i < rd->nfiles; i++) {
		rd->files[i].taking = !rd->files[i].keep && !rd->files[i].gone;
		summary |= rd->files[i].keep;
	}
	/* The directory of the files, from the sink's, for the log. */
	snprintf(path, sizeof(path), "%s%s%s", top ? "" : rd->dir,
	    !top && rd->sub != NULL ? "/" : "", rd->sub != NULL ? rd->sub : "");
	shown = path[0] != '\0' ? path : ".";
	/* Component by component, no symlink: the tree may have changed. */
	if ((fd = open_walk(sc->root, rd->dir)) == -1) {
		ret_warn(fs, rd->dir, "open", errno);
		return;
	}
	hfd = rd->sub != NULL ? openat(fd, rd->sub, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC) : dup(fd);
	if (hfd == -1 || fstat(hfd, &sb) == -1) {
		ret_warn(fs, shown, "open", errno);
		goto out;
	}
	if (sb.st_dev != rd->dev || sb.st_ino != rd->ino) {
		fs->host->log(fs->ctx, NDS_LOG_WARNING, "retention: %s: "
		    "replaced while it was looked at; left alone", shown);
		goto out;
	}
	if (rd->layout != LAYOUT_REDHAT)
		unlink_last_links(sc, hfd, shown, rd);
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

enum ret_limit { BY_CLIENT, BY_SIGNATURE, BY_SIZE };

/*
 * One limit over v[0..n), in removal order: one client's dumps, one
 * signature's (first always stays) or all of them by size. One goes while
 * all are over the limit, a complete one only while the complete ones
 * alone are: the newest complete ones stay, incomplete ones fill only the
 * room fewer complete ones leave, and a dump that may not go (active, or
 * tried already) never pushes a complete one out.
 */
static void
apply_limit(struct ret_scan *sc, struct ret_dump **v, size_t n,
    const struct ret_dump *first, enum ret_limit by)
{
	const struct file_config *cfg = sc->fs->cfg;
	const uint64_t max = (uint64_t)(by == BY_SIZE ? cfg->max_total :
	    by == BY_SIGNATURE ? cfg->keep_sig : cfg->keep);
	uint64_t all = 0, complete = 0, m, before;
	struct ret_dump *rd;
	char why[160], lim[32], sz[32];
	size_t i, j;
	bool w;

	for (i = 0; i < n; i++)
		if (v[i] != first) {
			m = by == BY_SIZE ? v[i]->size : 1;
			all += m;
			complete += whole(v[i]) ? m : 0;
		}
	fmt_size(max, lim, sizeof(lim));
	for (i = 0; i < n; i++) {
		rd = v[i];
		w = whole(rd);
		if (rd == first || rd->active || rd->tried ||
		    (w ? complete : all) <= max)
			continue;
		if (by == BY_SIZE)
			fmt_size(w ? complete : all, sz, sizeof(sz));
		if (by == BY_SIZE && w)
			snprintf(why, sizeof(why), "max_total_size = %s: the "
			    "oldest complete dump, and complete dumps took %s",
			    lim, sz);
		else if (by == BY_SIZE)
			snprintf(why, sizeof(why), "max_total_size = %s: %s, "
			    "and %s were stored", lim, rd->summary ? "a "
			    "repeat's summary" : rd->unfinished ? "unfinished" :
			    "incomplete", sz);
		else if (by == BY_SIGNATURE)
			snprintf(why, sizeof(why), "keep_per_signature = %"
			    PRIu64 ": %s repeat of signature %s", max,
			    rd->complete ? "an older" : "an incomplete",
			    rd->sig);
		else if (w)
			snprintf(why, sizeof(why), "keep_per_client = %" PRIu64
			    ": the oldest of the client's %" PRIu64 " complete "
			    "dumps", max, complete);
		else
			snprintf(why, sizeof(why), "keep_per_client = %" PRIu64
			    ": %s, and the client had %" PRIu64 " dumps", max,
			    rd->unfinished ? "unfinished" : "incomplete", all);
		for (j = 0; j < rd->nfiles; j++)
			rd->files[j].keep = by == BY_SIGNATURE &&
			    cfg->repeats == REPEATS_SUMMARY &&
			    !rd->files[j].core;
		before = rd->size;
		remove_dump(sc, rd, why);
		/* Gone or not: a failure never takes a newer dump instead. */
		m = by == BY_SIZE ? before - rd->size : 1;
		all -= m;
		complete -= w ? m : 0;
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

/* keep_per_signature, over the dumps with a signature and still a core. */
static void
ret_signature(struct ret_scan *sc)
{
	struct ret_dump **v = sc->p;
	size_t i, j, n = 0, run;

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
		/* The oldest complete one; the oldest when none is. */
		for (j = 0; j < run && !v[i + j]->complete; j++)
			continue;
		apply_limit(sc, v + i, run, v[i + (j < run ? j : 0)],
		    BY_SIGNATURE);
	}
}

static void
ret_keep(struct ret_scan *sc)
{
	size_t i, n = 0;

	/* A repeat's summary is no dump here: it neither counts nor goes. */
	for (i = 0; i < sc->n; i++)
		if (sc->v[i].mine && !sc->v[i].summary && !sc->v[i].gone)
			sc->p[n++] = &sc->v[i];
	apply_limit(sc, sc->p, n, NULL, BY_CLIENT);
}

static void
ret_total(struct ret_scan *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		sc->p[i] = &sc->v[i];
	apply_limit(sc, sc->p, sc->n, NULL, BY_SIZE);
}

/*
 * Called with retention_lock held; never fails the dump. The dump that
 * ended is still registered, so it stays: its hooks and its outcome line
 * name its files after the sink's end.
 */
void
run_retention(const struct file_dump *d)
{
	const struct file_sink *fs = d->fs;
	const struct nds_dump *dump = d->dump;
	const char *top = fs->cfg->dir != NULL ? fs->cfg->dir :
	    "dump directory";
	const char *dir = fs->cfg->dir != NULL ? fs->cfg->dir :
	    dump->dumpdir_fd >= 0 ? "." : dump->dumpdir;
	struct ret_scan sc = { .d = d, .fs = fs,
	    .layout = (enum file_layout)fs->cfg->layout };
	struct stat sb;
	size_t i, n;

	/* The sink's directory, as open_base finds it. */
	if (dir == NULL)
		errno = ENOENT;
	else if (base_where(fs->cfg->dir, sc.base, sizeof(sc.base)) == -1) {
		ret_warn(fs, top, "path", ENAMETOOLONG);
		return;
	}
	if (dir == NULL || (sc.root = openat(dump->dumpdir_fd >= 0 ?
	    dump->dumpdir_fd : AT_FDCWD, dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		ret_warn(fs, top, "open", errno);
		return;
	}
	if (fstat(sc.root, &sb) == 0)
		find_others(&sc, dump->dumpdir_fd, &sb);
	/* Half a picture could pick the wrong dumps: do nothing. */
	if (scan_dir(&sc, sc.root, ".", NULL, "", 0) == -1 ||
	    (sc.p = calloc(sc.n + 1, sizeof(*sc.p))) == NULL) {
		ret_warn(fs, top, "scan", ENOMEM);
		goto out;
	}
	if (sc.n == 0)
		goto out;	/* no manifest yet: nothing to keep or remove */
	for (i = 0, n = 0; i < sc.n; i++) {
		sc.v[i].active = active_dump(sc.v[i].layout, sc.v[i].dev,
		    sc.v[i].ino, sc.v[i].number, sc.v[i].client);
		/* Still arriving: no finished dump, neither counts nor goes. */
		if (sc.v[i].active && sc.v[i].unfinished)
			free_ret_dump(&sc.v[i]);
		else
			sc.v[n++] = sc.v[i];
	}
	sc.n = n;
	qsort(sc.v, sc.n, sizeof(*sc.v), cmp_ret_dump);
	if (fs->cfg->keep_sig > 0) {
		ret_signature(&sc);
		/* Its summaries go before complete dumps now. */
		qsort(sc.v, sc.n, sizeof(*sc.v), cmp_ret_dump);
	}
	if (fs->cfg->keep > 0)
		ret_keep(&sc);
	if (fs->cfg->max_total > 0)
		ret_total(&sc);
out:
	for (i = 0; i < sc.n; i++)
		free_ret_dump(&sc.v[i]);
	free(sc.v);
	free(sc.p);
	free(sc.text);
	close(sc.root);
}
