/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: retention's scan. The names of a dump's files, parsed back, and
 * the walk beneath the sink's directory that finds the finished dumps: a
 * dump is finished when its manifest exists, since the core writes the
 * manifest last.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* How deep retention looks beneath the sink's directory. */
#define MAX_DEPTH	32

enum ret_kind {
	RK_SMALL,	/* info, key, msgbuf: "<stem>.N" */
	RK_MANIFEST,	/* "manifest.N.json" */
	RK_BODY,	/* vmcore, vmcore_encrypted, dump: suffixes follow */
};

static const struct {
	const char	*stem;
	enum ret_kind	 kind;
} ret_stems[] = {
	{ "vmcore", RK_BODY },
	{ "vmcore_encrypted", RK_BODY },
	{ "dump", RK_BODY },
	{ "info", RK_SMALL },
	{ "key", RK_SMALL },
	{ "msgbuf", RK_SMALL },
	{ "manifest", RK_MANIFEST },
};

/* The stems update_links makes "<stem>.last" links for. */
static const char *const link_stems[] = {
	"vmcore", "vmcore_encrypted", "info", "key", "manifest",
};


/* One parsed directory entry. */
struct ret_name {
	const char	*name;
	const char	*client;	/* netdumpd: inside name; else "" */
	size_t		 clen;
	unsigned int	 number;
	enum ret_kind	 kind;
	bool		 temp;		/* ".<name>.tmp": a failed close's */
	bool		 incomplete;	/* a body "....incomplete" */
};

struct ret_ent {
	char		*name;
	unsigned char	 type;		/* DT_* */
};


/*
 * A dump number as the module writes it (%u: no sign, no leading zero) at
 * the start of s; how many digits it took, 0 if none.
 */
static size_t
ret_number(const char *s, size_t len, unsigned int *num)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		if ((v = v * 10 + (unsigned long)(s[i] - '0')) > UINT_MAX)
			return 0;
	if (i == 0 || (i > 1 && s[0] == '0'))
		return 0;
	*num = (unsigned int)v;
	return i;
}

/*
 * What may follow "<stem>.N" in a name of the given kind. A body's
 * suffixes are those the core and the transforms give (".gz", ".zst",
 * ".tar.zst", ...) and ".incomplete" last: nothing more open, so that
 * "vmcore.3.bak" stays someone's copy and "vmcore.h.0.last" (client
 * "h.0", netdumpd) is not taken for a file of dump 0 of client "h".
 */
static bool
ret_rest(enum ret_kind kind, const char *s, size_t len, bool *incomplete)
{
	static const char *const comps[] = {
		"gz", "zst", "tar", "xz", "bz2", "lz4",
	};
	const char *end = s + len, *q;
	size_t i, cl;

	*incomplete = false;
	switch (kind) {
	case RK_SMALL:
		return len == 0;
	case RK_MANIFEST:
		return len == 5 && memcmp(s, ".json", 5) == 0;
	case RK_BODY:
		break;
	}
	while (s < end) {
		if (*s++ != '.')
			return false;
		for (q = s; q < end && *q != '.'; q++)
			;
		cl = (size_t)(q - s);
		if (q == end && cl == 10 && memcmp(s, "incomplete", 10) == 0) {
			*incomplete = true;
			return true;
		}
		for (i = 0; i < NITEMS(comps); i++)
			if (strlen(comps[i]) == cl &&
			    memcmp(s, comps[i], cl) == 0)
				break;
		if (i == NITEMS(comps))
			return false;
		s = q;
	}
	return true;
}

/*
 * Parse s[0, len) as the name of a dump's object: "<stem>.N<rest>"
 * (savecore), "<stem>.<client>.N<rest>" (netdumpd) or "<stem><rest>"
 * (inside a redhat dump directory).
 */
static bool
ret_parse_span(enum file_layout layout, const char *s, size_t len,
    struct ret_name *p)
{
	const char *t;
	size_t i, sl, left, q, nd;

	p->client = "";
	p->clen = 0;
	p->number = 0;
	for (i = 0; i < NITEMS(ret_stems); i++) {
		p->kind = ret_stems[i].kind;
		sl = strlen(ret_stems[i].stem);
		if (len < sl || memcmp(s, ret_stems[i].stem, sl) != 0)
			continue;
		t = s + sl;
		left = len - sl;
		if (layout == LAYOUT_REDHAT) {
			if (ret_rest(p->kind, t, left, &p->incomplete))
				return true;
			continue;
		}
		if (left == 0 || *t != '.')
			continue;
		t++;
		left--;
		if (layout == LAYOUT_SAVECORE) {
			if ((nd = ret_number(t, left, &p->number)) > 0 &&
			    ret_rest(p->kind, t + nd, left - nd,
			    &p->incomplete))
				return true;
			continue;
		}
		/* netdumpd: the client may have dots of its own. */
		for (q = 1; q + 1 < left; q++) {
			if (t[q] != '.')
				continue;
			if ((nd = ret_number(t + q + 1, left - q - 1,
			    &p->number)) > 0 && ret_rest(p->kind,
			    t + q + 1 + nd, left - q - 1 - nd,
			    &p->incomplete)) {
				p->client = t;
				p->clen = q;
				return true;
			}
		}
	}
	return false;
}

static bool
ret_parse(enum file_layout layout, const char *name, struct ret_name *p)
{
	size_t len = strlen(name);

	p->name = name;
	p->temp = false;
	if (name[0] != '.')
		return ret_parse_span(layout, name, len, p);
	/* ".info.3.tmp": what file_close leaves when it fails. */
	if (len <= 5 || memcmp(name + len - 4, ".tmp", 4) != 0 ||
	    !ret_parse_span(layout, name + 1, len - 5, p) ||
	    p->kind == RK_BODY)
		return false;
	p->temp = true;
	return true;
}

/* "<stem>.last<ext>" (savecore) or "<stem>.<client>.last" (netdumpd). */
bool
last_link_name(enum file_layout layout, const char *name)
{
	size_t i, sl, len = strlen(name);

	for (i = 0; i < NITEMS(link_stems); i++) {
		sl = strlen(link_stems[i]);
		if (len < sl + 5 || memcmp(name, link_stems[i], sl) != 0 ||
		    name[sl] != '.')
			continue;
		if (layout == LAYOUT_NETDUMPD) {
			/* At least one character of client name. */
			if (len >= sl + 7 &&
			    strcmp(name + len - 5, ".last") == 0)
				return true;
		} else if (strncmp(name + sl, ".last", 5) == 0 &&
		    (name[sl + 5] == '\0' || name[sl + 5] == '.'))
			return true;
	}
	return false;
}

/*
 * "<addr>-YYYY-MM-DD-HH:MM" or "<addr>-YYYY-MM-DD-HH:MM-<k>": a redhat dump
 * directory. Returns the length of addr, 0 if name is not one.
 */
static size_t
redhat_addr_len(const char *name)
{
	static const char stamp[] = "dddd-dd-dd-dd:dd";
	const size_t sl = sizeof(stamp) - 1;
	size_t len = strlen(name), end, i, k;
	unsigned int num;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		end = len;
		if (pass == 1) {
			/* The "-k" of a minute that was taken. */
			for (k = len; k > 0 && name[k - 1] != '-'; k--)
				;
			if (k == 0 || k == len || ret_number(name + k,
			    len - k, &num) != len - k)
				return 0;
			end = k - 1;
		}
		if (end <= sl + 1 || name[end - sl - 1] != '-')
			continue;
		for (i = 0; i < sl; i++) {
			char c = name[end - sl + i];

			if (stamp[i] == 'd' ? c < '0' || c > '9' :
			    c != stamp[i])
				break;
		}
		if (i == sl)
			return end - sl - 1;
	}
	return 0;
}

void
free_ret_dump(struct ret_dump *rd)
{
	size_t i;

	for (i = 0; i < rd->nfiles; i++)
		free(rd->files[i].name);
	free(rd->files);
	free(rd->dir);
	free(rd->sub);
	free(rd->client);
}


static int
cmp_ret_name(const void *a, const void *b)
{
	const struct ret_name *x = a, *y = b;
	int c;

	if (x->clen != y->clen)
		return x->clen < y->clen ? -1 : 1;
	if ((c = memcmp(x->client, y->client, x->clen)) != 0)
		return c;
	if (x->number != y->number)
		return x->number < y->number ? -1 : 1;
	return 0;
}


static int
cmp_ret_file(const void *a, const void *b)
{
	const struct ret_file *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * Record the dump made of the names in pn[0, k) (one client, one number)
 * if it is finished. dfd is the directory that holds them.
 */
static int
add_dump(struct ret_scan *sc, int dfd, const char *path, const char *sub,
    const char *client, size_t clen, const struct ret_name *pn, size_t k)
{
	const struct nds_dump *dump = sc->d->dump;
	struct ret_dump *rd, *v;
	struct stat sb;
	const char *manifest = NULL, *body = NULL;
	bool has_body = false, incomplete = false;
	size_t i;

	for (i = 0; i < k && manifest == NULL; i++)
		if (pn[i].kind == RK_MANIFEST && !pn[i].temp)
			manifest = pn[i].name;
	/* No manifest: still arriving, or cut off by a crash. */
	if (manifest == NULL || fstatat(dfd, manifest, &sb,
	    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode))
		return 0;
	if (sc->n == sc->cap) {
		if ((v = reallocarray(sc->v, sc->cap == 0 ? 16 : 2 * sc->cap,
		    sizeof(*v))) == NULL)
			return -1;
		sc->v = v;
		sc->cap = sc->cap == 0 ? 16 : 2 * sc->cap;
	}
	rd = &sc->v[sc->n];
	memset(rd, 0, sizeof(*rd));
	rd->mtime = sb.st_mtim;
	rd->number = pn[0].number;
	if (fstat(dfd, &sb) == -1)
		return 0;
	rd->dev = sb.st_dev;
	rd->ino = sb.st_ino;
	if ((rd->files = calloc(k, sizeof(*rd->files))) == NULL ||
	    (rd->dir = strdup(path)) == NULL ||
	    (sub != NULL && (rd->sub = strdup(sub)) == NULL) ||
	    (rd->client = strndup(client, clen)) == NULL)
		goto nomem;
	for (i = 0; i < k; i++) {
		/* Only regular files and symlinks are ever removed. */
		if (fstatat(dfd, pn[i].name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    (!S_ISREG(sb.st_mode) && !S_ISLNK(sb.st_mode)))
			continue;
		if ((rd->files[rd->nfiles].name = strdup(pn[i].name)) == NULL)
			goto nomem;
		/* Disk usage: a vmcore is sparse. */
		rd->files[rd->nfiles].size = (uint64_t)sb.st_blocks * 512;
		rd->files[rd->nfiles].manifest = pn[i].name == manifest;
		rd->size += rd->files[rd->nfiles].size;
		if (pn[i].kind == RK_BODY) {
			has_body = true;
			incomplete |= pn[i].incomplete;
			/* The log names the vmcore rather than a tarball. */
			if (body == NULL ||
			    strncmp(pn[i].name, "vmcore", 6) == 0)
				body = rd->files[rd->nfiles].name;
		} else if (pn[i].name == manifest && rd->label == NULL)
			rd->label = rd->files[rd->nfiles].name;
		rd->nfiles++;
	}
	if (body != NULL)
		rd->label = body;
	if (rd->label == NULL)
		rd->label = "manifest";
	/* In readdir's order so far; the log lists them in a fixed one. */
	qsort(rd->files, rd->nfiles, sizeof(*rd->files), cmp_ret_file);
	rd->complete = has_body && !incomplete;
	if (sc->d->fs->cfg->layout == LAYOUT_REDHAT)
		rd->mine = strcmp(rd->client, dump->client_addr) == 0;
	else
		rd->mine = strcmp(rd->client, dump->client_name) == 0;
	sc->n++;
	return 0;
nomem:
	free_ret_dump(rd);
	errno = ENOMEM;
	return -1;
}

/*
 * The finished dumps among the entries of one directory: grouped by client
 * and number, or all of them when dfd is a redhat dump directory (sub).
 */
static int
collect_dumps(struct ret_scan *sc, int dfd, const char *path,
    const char *sub, const char *client, size_t clen,
    const struct ret_ent *ents, size_t n)
{
	enum file_layout layout = sub != NULL ? LAYOUT_REDHAT :
	    sc->d->fs->cfg->layout;
	struct ret_name *pn;
	size_t i, j, m = 0;
	int r = 0;

	if (n == 0)
		return 0;
	if ((pn = calloc(n, sizeof(*pn))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (ents[i].type != DT_DIR &&
		    ret_parse(layout, ents[i].name, &pn[m]))
			m++;
	if (layout != LAYOUT_REDHAT)
		qsort(pn, m, sizeof(*pn), cmp_ret_name);
	for (i = 0; i < m && r == 0; i = j) {
		for (j = i + 1; j < m && (layout == LAYOUT_REDHAT ||
		    cmp_ret_name(&pn[i], &pn[j]) == 0); j++)
			;
		/* netdumpd names the client; savecore its directory. */
		if (layout == LAYOUT_NETDUMPD)
			r = add_dump(sc, dfd, path, sub, pn[i].client,
			    pn[i].clen, pn + i, j - i);
		else
			r = add_dump(sc, dfd, path, sub, client, clen, pn + i,
			    j - i);
	}
	free(pn);
	return r;
}

static void
free_entries(struct ret_ent *ents, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
}

/* All entries of dp but "." and "..", with their types resolved. */
static int
read_entries(DIR *dp, struct ret_ent **entsp, size_t *np)
{
	struct ret_ent *ents = NULL, *v;
	struct dirent *de;
	struct stat sb;
	size_t n = 0, cap = 0;

	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL) {
			if (errno != 0)
				goto fail;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			if ((v = reallocarray(ents, cap == 0 ? 32 : 2 * cap,
			    sizeof(*v))) == NULL)
				goto fail;
			ents = v;
			cap = cap == 0 ? 32 : 2 * cap;
		}
		if ((ents[n].name = strdup(de->d_name)) == NULL)
			goto fail;
		ents[n].type = de->d_type;
		if (ents[n].type == DT_UNKNOWN && fstatat(dirfd(dp),
		    de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			ents[n].type = S_ISDIR(sb.st_mode) ? DT_DIR :
			    S_ISLNK(sb.st_mode) ? DT_LNK : DT_REG;
		n++;
	}
	*entsp = ents;
	*np = n;
	return 0;
fail:
	free_entries(ents, n);
	return -1;
}

/* A redhat dump directory, sub of path; addr is its client. */
static int
scan_redhat(struct ret_scan *sc, int fd, const char *path, const char *sub,
    size_t alen)
{
	struct ret_ent *ents;
	size_t n;
	DIR *dp;
	int r, e;

	if ((dp = fdopendir(fd)) == NULL) {
		e = errno;
		close(fd);
		ret_warn(sc->d->fs, sub, "opendir", e);
		return e == ENOMEM ? -1 : 0;
	}
	if (read_entries(dp, &ents, &n) == -1) {
		e = errno;
		ret_warn(sc->d->fs, sub, "readdir", e);
		r = e == ENOMEM ? -1 : 0;
	} else {
		r = collect_dumps(sc, dirfd(dp), path, sub, sub, alen, ents,
		    n);
		free_entries(ents, n);
	}
	closedir(dp);
	return r;
}

/*
 * Only running out of memory stops the walk; a directory that cannot be
 * read is skipped with a warning.
 */
int
scan_dir(struct ret_scan *sc, int fd, const char *path, const char *dname,
    int depth)
{
	const struct file_sink *fs = sc->d->fs;
	struct ret_ent *ents = NULL;
	char child[PATH_MAX];
	size_t n = 0, i, alen;
	DIR *dp;
	int sub, r = -1, e;

	if ((dp = fdopendir(fd)) == NULL) {
		e = errno;
		close(fd);
		ret_warn(fs, path, "opendir", e);
		return e == ENOMEM ? -1 : 0;
	}
	if (read_entries(dp, &ents, &n) == -1) {
		e = errno;
		ret_warn(fs, path, "readdir", e);
		r = e == ENOMEM ? -1 : 0;
		goto out;
	}
	if (fs->cfg->layout != LAYOUT_REDHAT && collect_dumps(sc, dirfd(dp),
	    path, NULL, dname, strlen(dname), ents, n) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		/* Hidden: temporaries, and no snapshots (.zfs, .snapshot). */
		if (ents[i].type != DT_DIR || ents[i].name[0] == '.')
			continue;
		alen = fs->cfg->layout == LAYOUT_REDHAT ?
		    redhat_addr_len(ents[i].name) : 0;
		if (alen == 0 && depth >= MAX_DEPTH)
			continue;
		if ((strcmp(path, ".") == 0 ? fmtname(child, sizeof(child),
		    "%s", ents[i].name) : fmtname(child, sizeof(child),
		    "%s/%s", path, ents[i].name)) == -1) {
			ret_warn(fs, ents[i].name, "path", ENAMETOOLONG);
			continue;
		}
		sub = openat(dirfd(dp), ents[i].name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub == -1) {
			/* Gone, or replaced by something not to go into. */
			if (errno != ENOENT && errno != ENOTDIR &&
			    errno != ELOOP)
				ret_warn(fs, child, "open", errno);
			continue;
		}
		if (alen > 0) {
			if (scan_redhat(sc, sub, path, ents[i].name, alen) ==
			    -1)
				goto out;
			continue;
		}
		if (scan_dir(sc, sub, child, ents[i].name, depth + 1) == -1)
			goto out;
	}
	r = 0;
out:
	free_entries(ents, n);
	closedir(dp);
	return r;
}
