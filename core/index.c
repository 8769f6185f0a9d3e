/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The dump index (see index.h): every regular file beneath the dump
 * directory named manifest*.json (not the *.last links) is read with
 * jansson, and what an operator asks of a list of dumps is printed. The
 * walk does not follow symlinks and goes 32 directories deep at most; a
 * manifest larger than 1 MiB, or not one of ours, is skipped with a
 * count, and so are directories deeper down. Memory is about 400 bytes
 * per dump (more with --json, which keeps each dump's places).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "index.h"
#include "util.h"

/* As deep as the file sink's retention looks: a HERALD path has many. */
#define MAX_DEPTH	32
#define MAX_MANIFEST	(1 << 20)

struct entry {
	char		*file;		/* relative to the dump directory */
	json_int_t	 id;
	char		 status[16];
	char		 client[64];
	char		 start[40];
	json_int_t	 size;		/* the vmcore's, -1 unknown */
	char		 sig[17];	/* "" none */
	uint64_t	 seen;		/* the signature's count then; 0 */
	char		*panic;		/* NULL none */
	char		*where;		/* the vmcore's first place, or NULL */
	json_t		*stored;	/* the vmcore's places (JSON), or NULL */
	bool		 core_gone;	/* its files beside the manifest are */
};

struct index {
	struct entry	*v;
	size_t		 n, cap;
	size_t		 skipped;	/* files not read */
	size_t		 deep;		/* directories past MAX_DEPTH */
};

/*
 * The tables go to terminals and --json must be UTF-8 (jansson drops a
 * string that is not, and with it the whole dump): control characters
 * (C1 too) and what is not UTF-8, such as a character copy() cut in two,
 * become '?'.
 */
static void
tame(char *s)
{
	s[nd_terminal_safe(s, strlen(s), "")] = '\0';
}

static void
copy(char *dst, size_t len, json_t *v)
{
	const char *s = json_string_value(v);

	snprintf(dst, len, "%s", s != NULL ? s : "");
	tame(dst);
}

static char *
dup_or_null(json_t *v)
{
	const char *s = json_string_value(v);
	char *d = s != NULL ? strdup(s) : NULL;

	if (d != NULL)
		tame(d);
	return d;
}

/* walk's: whether entries keep their places as JSON (--list --json). */
static bool ix_keep_stored;

/*
 * Whether the files of a vmcore or archive object that a file sink kept
 * beside the manifest are all gone, as retention's keep_per_signature
 * leaves a repeat. dfd is the manifest's directory, file its path from
 * the dump directory: a place counts when its directory (from the sink's
 * directory) ends that path's, as the file sink keeps a dump's objects
 * beside its manifest. Other places (a URL, another directory) are not
 * looked at.
 */
static bool
core_gone(json_t *places, int dfd, const char *file, bool gone)
{
	const char *chain, *w, *base, *fslash = strrchr(file, '/');
	size_t flen = fslash != NULL ? (size_t)(fslash - file) : 0, wlen;
	json_t *where;
	struct stat sb;

	json_object_foreach(places, chain, where) {
		if ((w = json_string_value(where)) == NULL || w[0] == '/' ||
		    strstr(w, "://") != NULL)
			continue;
		base = strrchr(w, '/') != NULL ? strrchr(w, '/') + 1 : w;
		wlen = base > w ? (size_t)(base - w - 1) : 0;
		if (base[0] == '\0' || base[0] == '.' || wlen > flen ||
		    strncmp(file + flen - wlen, w, wlen) != 0 ||
		    (wlen > 0 && wlen < flen && file[flen - wlen - 1] != '/'))
			continue;
		if (fstatat(dfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			return false;
		gone = true;
	}
	return gone;
}

/* Whether the manifest's chain stored the dump ("sinks": result ok). */
static bool
chain_ok(json_t *root, const char *chain)
{
	json_t *sink;
	const char *name, *result;
	size_t i;

	json_array_foreach(json_object_get(root, "sinks"), i, sink) {
		name = json_string_value(json_object_get(sink, "name"));
		result = json_string_value(json_object_get(sink, "result"));
		if (name != NULL && result != NULL && strcmp(name, chain) == 0)
			return strcmp(result, "ok") == 0;
	}
	return false;
}

/*
 * The vmcore object's size and places (where: a chain's that stored the
 * dump, before a failed chain's cut-short copy), and whether its files
 * are gone.
 */
static void
vmcore_of(json_t *root, int dfd, const char *file, struct entry *e)
{
	json_t *obj, *where, *places, *any, *ok;
	const char *chain, *kind;
	bool gone = false, vmcore = false;
	size_t i;

	e->size = -1;
	json_array_foreach(json_object_get(root, "objects"), i, obj) {
		kind = json_string_value(json_object_get(obj, "kind"));
		places = json_object_get(obj, "stored");
		if (kind != NULL && strcmp(kind, "archive") == 0)
			gone = core_gone(places, dfd, file, gone);
		/* The first vmcore object: a manifest has one. */
		if (kind == NULL || strcmp(kind, "vmcore") != 0 || vmcore)
			continue;
		vmcore = true;
		gone = core_gone(places, dfd, file, gone);
		if (json_is_integer(json_object_get(obj, "size")))
			e->size = json_integer_value(json_object_get(obj,
			    "size"));
		if (ix_keep_stored)
			e->stored = json_incref(places);
		any = ok = NULL;
		json_object_foreach(places, chain, where) {
			if (any == NULL)
				any = where;
			if (ok == NULL && chain_ok(root, chain))
				ok = where;
		}
		if (e->where == NULL && any != NULL)
			e->where = dup_or_null(ok != NULL ? ok : any);
	}
	e->core_gone = gone;
}

static int
add(struct index *ix, int dfd, const char *file, const char *text,
    size_t len)
{
	json_t *root, *client, *sig;
	struct entry *e;
	void *grown;

	root = json_loadb(text, len, 0, NULL);
	if (root == NULL || json_integer_value(json_object_get(root,
	    "manifest_version")) != 1 || !json_is_integer(json_object_get(root,
	    "dump_id"))) {
		json_decref(root);
		ix->skipped++;
		return 0;
	}
	if (ix->n == ix->cap) {
		ix->cap = ix->cap ? ix->cap * 2 : 256;
		if ((grown = realloc(ix->v, ix->cap * sizeof(*ix->v))) ==
		    NULL) {
			json_decref(root);
			return -1;
		}
		ix->v = grown;
	}
	e = &ix->v[ix->n];
	memset(e, 0, sizeof(*e));
	e->id = json_integer_value(json_object_get(root, "dump_id"));
	copy(e->status, sizeof(e->status), json_object_get(root, "status"));
	client = json_object_get(root, "client");
	copy(e->client, sizeof(e->client), json_object_get(client,
	    "address"));
	copy(e->start, sizeof(e->start), json_object_get(root, "start"));
	if (json_is_object(sig = json_object_get(root, "signature"))) {
		copy(e->sig, sizeof(e->sig), json_object_get(sig, "id"));
		if (json_integer_value(json_object_get(sig, "seen")) > 0)
			e->seen = (uint64_t)json_integer_value(
			    json_object_get(sig, "seen"));
		e->panic = dup_or_null(json_object_get(sig, "panic"));
	}
	vmcore_of(root, dfd, file, e);
	json_decref(root);
	if ((e->file = strdup(file)) == NULL)
		return -1;
	tame(e->file);
	ix->n++;
	return 0;
}

static bool
manifest_name(const char *name)
{
	size_t n = strlen(name);

	return strncmp(name, "manifest", 8) == 0 && n >= 13 &&
	    strcmp(name + n - 5, ".json") == 0 &&
	    strstr(name, ".last") == NULL && name[0] != '.';
}

/*
 * The file sink's manifest of a dump not ended, "manifest.3.json.unfinished",
 * while the finished one is not there: a dump still arriving, or one the
 * server never finished (it was killed).
 */
static bool
unfinished_name(int dfd, const char *name)
{
	static const char tail[] = ".unfinished";
	char finished[NAME_MAX + 1];
	size_t n = strlen(name), t = sizeof(tail) - 1;
	struct stat sb;

	if (n <= t || n - t > NAME_MAX || strcmp(name + n - t, tail) != 0)
		return false;
	memcpy(finished, name, n - t);
	finished[n - t] = '\0';
	return manifest_name(finished) && fstatat(dfd, finished, &sb,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT;
}

static int
read_one(struct index *ix, int dfd, const char *name, const char *rel)
{
	struct stat sb;
	char *text;
	ssize_t got;
	int fd, r;

	/* O_NONBLOCK: a FIFO put there in the meantime must not hang us. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1 || fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > MAX_MANIFEST) {
		if (fd != -1)
			close(fd);
		ix->skipped++;
		return 0;
	}
	if ((text = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	got = read(fd, text, (size_t)sb.st_size);
	close(fd);
	r = got == sb.st_size ? add(ix, dfd, rel, text, (size_t)got) : 0;
	if (got != sb.st_size)
		ix->skipped++;
	free(text);
	return r;
}

static int
walk(struct index *ix, int dfd, const char *rel, int depth)
{
	struct dirent *de;
	struct stat sb;
	char path[4096];
	unsigned char type;
	DIR *dp;
	int fd, r = 0;

	if ((fd = dup(dfd)) == -1 || (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	while (r == 0 && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (snprintf(path, sizeof(path), "%s%s%s", rel,
		    rel[0] != '\0' ? "/" : "", de->d_name) >= (int)sizeof(path))
			continue;
		type = de->d_type;
		/* Some file systems do not say: ask (never through a link). */
		if (type == DT_UNKNOWN && fstatat(dfd, de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ?
			    DT_REG : DT_UNKNOWN;
		if (type == DT_DIR && depth >= MAX_DEPTH)
			ix->deep++;
		else if (type == DT_DIR) {
			fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd != -1) {
				r = walk(ix, fd, path, depth + 1);
				close(fd);
			}
		} else if (type == DT_REG && (manifest_name(de->d_name) ||
		    unfinished_name(dfd, de->d_name)))
			r = read_one(ix, dfd, de->d_name, path);
	}
	closedir(dp);
	return r;
}

static int
by_time(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->start, y->start);

	return c != 0 ? c : (x->id > y->id) - (x->id < y->id);
}

static void
entry_free(struct entry *e)
{
	free(e->file);
	free(e->panic);
	free(e->where);
	json_decref(e->stored);
}

/*
 * One dump stored by two chains beneath the directory has two manifests:
 * listed once (the same start, client and id; ids restart with the
 * server, times do not).
 */
static void
dedupe(struct index *ix)
{
	size_t i, n = 0;

	for (i = 0; i < ix->n; i++) {
		if (n > 0 && ix->v[i].id == ix->v[n - 1].id &&
		    strcmp(ix->v[i].start, ix->v[n - 1].start) == 0 &&
		    strcmp(ix->v[i].client, ix->v[n - 1].client) == 0) {
			entry_free(&ix->v[i]);
			continue;
		}
		ix->v[n++] = ix->v[i];
	}
	ix->n = n;
}

static void
index_free(struct index *ix)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		entry_free(&ix->v[i]);
	free(ix->v);
}

/* s as a terminal may show it: a panic string is the sender's. */
static const char *
shown(const char *s, char *buf, size_t len)
{
	size_t n;

	n = (size_t)snprintf(buf, len, "%s", s != NULL ? s : "-");
	if (n >= len)
		n = len - 1;
	buf[nd_terminal_safe(buf, n, "")] = '\0';
	return buf;
}

static void
list_dumps(const struct index *ix, bool json, FILE *out)
{
	json_t *a = json ? json_array() : NULL;
	char where[PATH_MAX];
	size_t i;

	if (!json)
		fprintf(out, "%-24s %-15s %-10s %12s %-16s %s\n", "START",
		    "CLIENT", "STATUS", "SIZE", "SIGNATURE", "WHERE");
	for (i = 0; i < ix->n; i++) {
		const struct entry *e = &ix->v[i];

		if (json) {
			json_array_append_new(a, json_pack("{s:I s:s s:s s:s "
			    "s:I s:s? s:s? s:O? s:b s:s}", "dump_id", e->id,
			    "start", e->start, "client", e->client, "status",
			    e->status, "size", e->size, "signature",
			    e->sig[0] ? e->sig : NULL, "panic", e->panic,
			    "stored", e->stored, "core_removed", e->core_gone,
			    "manifest", e->file));
			continue;
		}
		fprintf(out, "%-24.24s %-15s %-10s %12" JSON_INTEGER_FORMAT
		    " %-16s %s%s\n", e->start, e->client, e->status, e->size,
		    e->sig[0] ? e->sig : "-", e->core_gone ? "(removed) " : "",
		    shown(e->where, where, sizeof(where)));
	}
	if (json) {
		json_dumpf(a, out, JSON_INDENT(2));
		fputc('\n', out);
		json_decref(a);
	}
}

/* Sort keys of the grouped views: the group, then the client, then time. */
static bool group_by_sig;

static const char *
group_key(const struct entry *e)
{
	return group_by_sig ? e->sig : e->client;
}

static int
by_group(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	int c;

	if ((c = strcmp(group_key(x), group_key(y))) != 0)
		return c;
	if ((c = strcmp(x->client, y->client)) != 0)
		return c;
	return by_time(x, y);
}

struct group {
	const struct entry *first, *last;
	uint64_t	 dumps;		/* a manifest's count can pass
					 * SIZE_MAX on a 32-bit system */
	size_t		 clients;
	size_t		 kept;		/* of dumps, those with their core */
	uint64_t	 seen;		/* the largest count a manifest says */
};

static int
by_first(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return by_time(x->first, y->first);
}

/*
 * Per signature (its dumps, clients, first and last) or per client (its
 * dumps and the last one), in the order they were first seen.
 */
static void
list_groups(const struct index *ix, bool by_sig, bool json, FILE *out)
{
	const struct entry **p = calloc(ix->n + 1, sizeof(*p));
	struct group *g = calloc(ix->n + 1, sizeof(*g));
	json_t *a = json ? json_array() : NULL;
	char panic[1024];
	size_t i, n = 0;

	if (p == NULL || g == NULL)
		goto out;
	for (i = 0; i < ix->n; i++)
		p[i] = &ix->v[i];
	group_by_sig = by_sig;
	qsort(p, ix->n, sizeof(*p), by_group);
	for (i = 0; i < ix->n; i++) {
		if (i == 0 || strcmp(group_key(p[i]), group_key(p[i - 1])) !=
		    0) {
			g[n++] = (struct group){ p[i], p[i], 0, 0, 0, 0 };
		}
		if (p[i]->seen > g[n - 1].seen)
			g[n - 1].seen = p[i]->seen;
		g[n - 1].kept += !p[i]->core_gone;
		if (by_time(p[i], g[n - 1].first) < 0)
			g[n - 1].first = p[i];
		if (by_time(p[i], g[n - 1].last) > 0)
			g[n - 1].last = p[i];
		g[n - 1].dumps++;
		g[n - 1].clients += g[n - 1].dumps == 1 ||
		    strcmp(p[i]->client, p[i - 1]->client) != 0;
	}
	/*
	 * A signature's dumps: more than its manifests when retention
	 * removed repeats whole; the newest manifest counted them.
	 */
	for (i = 0; i < n && by_sig; i++)
		if (g[i].seen > g[i].dumps)
			g[i].dumps = g[i].seen;
	qsort(g, n, sizeof(*g), by_first);
	if (!json && by_sig)
		fprintf(out, "%-16s %6s %6s %7s %-24s %-24s %s\n", "SIGNATURE",
		    "DUMPS", "KEPT", "CLIENTS", "FIRST", "LAST", "PANIC");
	else if (!json)
		fprintf(out, "%-15s %6s %-24s %-10s %-16s %s\n", "CLIENT",
		    "DUMPS", "LAST", "STATUS", "SIGNATURE", "PANIC");
	for (i = 0; i < n; i++) {
		const struct entry *f = g[i].first, *l = g[i].last;

		if (json && by_sig)
			json_array_append_new(a, json_pack("{s:s? s:I s:I "
			    "s:I s:s s:s s:s?}", "signature", f->sig[0] ?
			    f->sig : NULL, "dumps", (json_int_t)g[i].dumps,
			    "kept", (json_int_t)g[i].kept, "clients",
			    (json_int_t)g[i].clients, "first", f->start,
			    "last", l->start, "panic", l->panic));
		else if (json)
			json_array_append_new(a, json_pack("{s:s s:I s:s s:s "
			    "s:s? s:s?}", "client", f->client, "dumps",
			    (json_int_t)g[i].dumps, "last", l->start, "status",
			    l->status, "signature", l->sig[0] ? l->sig : NULL,
			    "panic", l->panic));
		else if (by_sig)
			fprintf(out, "%-16s %6" PRIu64 " %6zu %7zu %-24.24s "
			    "%-24.24s %s\n", f->sig[0] ? f->sig : "-",
			    g[i].dumps, g[i].kept, g[i].clients, f->start,
			    l->start, shown(l->panic, panic, sizeof(panic)));
		else
			fprintf(out, "%-15s %6" PRIu64 " %-24.24s %-10s %-16s "
			    "%s\n",
			    f->client, g[i].dumps, l->start, l->status,
			    l->sig[0] ? l->sig : "-", shown(l->panic, panic,
			    sizeof(panic)));
	}
	if (json) {
		json_dumpf(a, out, JSON_INDENT(2));
		fputc('\n', out);
	}
out:
	json_decref(a);
	free(p);
	free(g);
}

int
nd_index_list(const char *dumpdir, enum nd_list_view view, bool json,
    FILE *out)
{
	struct index ix = { 0 };
	int dfd, r;

	dfd = open(dumpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1) {
		fprintf(stderr, "netdump-server: %s: %s\n", dumpdir,
		    strerror(errno));
		return 1;
	}
	ix_keep_stored = json && view == ND_LIST_DUMPS;
	r = walk(&ix, dfd, "", 0);
	close(dfd);
	if (r == -1) {
		fprintf(stderr, "netdump-server: out of memory\n");
		index_free(&ix);
		return 1;
	}
	if (ix.n > 1)	/* qsort's base may not be NULL, even for none */
		qsort(ix.v, ix.n, sizeof(*ix.v), by_time);
	dedupe(&ix);
	if (view == ND_LIST_DUMPS)
		list_dumps(&ix, json, out);
	else
		list_groups(&ix, view == ND_LIST_SIGNATURES, json, out);
	if (ix.skipped > 0)
		fprintf(stderr, "netdump-server: %zu file(s) named like a "
		    "manifest were not read (not ours, too large, "
		    "unreadable)\n", ix.skipped);
	if (ix.deep > 0)
		fprintf(stderr, "netdump-server: %zu director%s more than %d "
		    "levels down not looked into\n", ix.deep, ix.deep == 1 ?
		    "y" : "ies", MAX_DEPTH);
	index_free(&ix);
	return 0;
}

int
nd_index_signatures(const char *dumpdir,
    void (*seen)(void *, const char *, uint64_t), void *arg)
{
	struct index ix = { 0 };
	size_t i;
	int dfd, r;

	if ((dfd = open(dumpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	ix_keep_stored = false;
	r = walk(&ix, dfd, "", 0);
	close(dfd);
	if (ix.n > 1)	/* qsort's base may not be NULL, even for none */
		qsort(ix.v, ix.n, sizeof(*ix.v), by_time);
	dedupe(&ix);
	for (i = 0; r == 0 && i < ix.n; i++)
		if (ix.v[i].sig[0] != '\0')
			seen(arg, ix.v[i].sig, ix.v[i].seen);
	index_free(&ix);
	return r;
}
