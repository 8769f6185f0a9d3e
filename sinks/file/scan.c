/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: retention's scan. A dump is finished when its manifest exists,
 * since the core writes the manifest last, and the manifest is the host's
 * record of where each of the dump's objects went (read back with
 * nds_host.manifest_facts). So the walk beneath the sink's directory looks
 * for manifests only, and a dump's files are those its manifest lists in
 * the manifest's own directory: nothing is taken for a dump's file
 * because of what its name looks like, and a file no manifest names is
 * never touched.
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
/* A manifest lists at most 1000 gaps: far below this. */
#define MANIFEST_MAX	(1024 * 1024)

/* The stems update_links makes "<stem>.last" links for. */
static const char *const link_stems[] = {
	"vmcore", "vmcore_encrypted", "info", "key", "manifest",
};

struct ret_ent {
	char		*name;
	unsigned char	 type;		/* DT_* */
};

/* What a manifest's stored places say, in one directory. */
struct listing {
	enum file_layout layout;
	const char	*dir;		/* its path as "where" spells it */
	char		*names[NDS_OBJ_NKINDS * 4];
	bool		 core[NDS_OBJ_NKINDS * 4];	/* of names */
	size_t		 n;
	bool		 nomem;
};

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
 * A name the host gives a manifest (nds_host.object_name: "manifest",
 * the sink's infix, ".json"), not one of the sink's *.last links.
 */
static bool
manifest_name(enum file_layout layout, const char *name)
{
	size_t len = strlen(name);

	return len >= sizeof("manifest.json") - 1 &&
	    strncmp(name, "manifest.", 9) == 0 &&
	    strcmp(name + len - 5, ".json") == 0 &&
	    !last_link_name(layout, name);
}

/*
 * nds_host.manifest_facts' stored(): keep the names in l->dir, and
 * whether each holds a dump's core (its vmcore, key or archive: what a
 * repeat's summary leaves out).
 */
static void
take_place(void *arg, enum nds_object_kind kind, const char *where)
{
	struct listing *l = arg;
	const char *slash = strrchr(where, '/'), *name;
	size_t dlen = slash != NULL ? (size_t)(slash - where) : 0, i;

	name = slash != NULL ? slash + 1 : where;
	/*
	 * Only the files of this dump: never an absolute place, another
	 * dump's manifest, or one of the sink's *.last links, whatever a
	 * manifest says.
	 */
	if (where[0] == '/' || strlen(l->dir) != dlen ||
	    strncmp(where, l->dir, dlen) != 0 || name[0] == '\0' ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    manifest_name(l->layout, name) ||
	    last_link_name(l->layout, name) || l->n == NITEMS(l->names))
		return;
	/* Two chains may have stored in one place. */
	for (i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return;
	if ((l->names[l->n] = strdup(name)) == NULL)
		l->nomem = true;
	else
		l->core[l->n++] = kind == NDS_OBJ_VMCORE ||
		    kind == NDS_OBJ_KEY || kind == NDS_OBJ_ARCHIVE;
}

/* The bytes of the regular file name in dfd, NULL if none or too big. */
static char *
read_manifest(int dfd, const char *name, size_t *len, struct stat *sb)
{
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	if (fstat(fd, sb) == -1 || !S_ISREG(sb->st_mode) ||
	    sb->st_size > MANIFEST_MAX ||
	    (buf = malloc((size_t)sb->st_size + 1)) == NULL)
		goto fail;
	while (got < (size_t)sb->st_size) {
		n = read(fd, buf + got, (size_t)sb->st_size - got);
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
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
cmp_ret_file(const void *a, const void *b)
{
	const struct ret_file *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Room for one more dump in sc, zeroed; NULL when out of memory. */
static struct ret_dump *
new_dump(struct ret_scan *sc)
{
	struct ret_dump *v;

	if (sc->n == sc->cap) {
		if ((v = reallocarray(sc->v, sc->cap == 0 ? 16 : 2 * sc->cap,
		    sizeof(*v))) == NULL)
			return NULL;
		sc->v = v;
		sc->cap = sc->cap == 0 ? 16 : 2 * sc->cap;
	}
	memset(&sc->v[sc->n], 0, sizeof(sc->v[sc->n]));
	return &sc->v[sc->n];
}

/*
 * The files of rd: those of l present in dfd as regular files or links
 * (only those are ever removed), and the manifest; the log's label is
 * the vmcore, else the archive, else the manifest. A dump whose listed
 * core files are all gone is a summary (keep_per_signature left it so).
 */
static int
add_files(struct ret_dump *rd, int dfd, const struct listing *l,
    const char *manifest)
{
	struct ret_file *f;
	struct stat sb;
	bool core_gone = false;
	size_t i;

	if ((rd->files = calloc(l->n + 1, sizeof(*rd->files))) == NULL)
		return -1;
	for (i = 0; i <= l->n; i++) {
		const char *name = i < l->n ? l->names[i] : manifest;

		if (i < l->n && strcmp(name, manifest) == 0)
			continue;
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    (!S_ISREG(sb.st_mode) && !S_ISLNK(sb.st_mode))) {
			if (i < l->n && l->core[i])
				core_gone = true;
			continue;
		}
		f = &rd->files[rd->nfiles];
		if ((f->name = strdup(name)) == NULL)
			return -1;
		f->core = i < l->n && l->core[i];
		rd->has_core |= f->core;
		/* Disk usage: a vmcore is sparse. */
		f->size = (uint64_t)sb.st_blocks * 512;
		f->manifest = i == l->n;
		rd->size += f->size;
		rd->nfiles++;
	}
	rd->summary = core_gone && !rd->has_core;
	/* In the manifest's order so far; the log lists them in a fixed one. */
	qsort(rd->files, rd->nfiles, sizeof(*rd->files), cmp_ret_file);
	for (i = 0; i < rd->nfiles; i++)
		if (strncmp(rd->files[i].name, "vmcore", 6) == 0 ||
		    (rd->label == NULL && strncmp(rd->files[i].name, "dump",
		    4) == 0))
			rd->label = rd->files[i].name;
	for (i = 0; i < rd->nfiles && rd->label == NULL; i++)
		if (rd->files[i].manifest)
			rd->label = rd->files[i].name;
	if (rd->label == NULL)
		rd->label = "manifest";
	return 0;
}

/*
 * Record the dump whose manifest is name in dfd, if it is one of this
 * server's. dir/sub: where dfd is, from the sink's directory (sub: a
 * redhat dump's own directory in dir, else NULL); wdir: the same as
 * "where" spells it.
 */
static int
add_dump(struct ret_scan *sc, int dfd, const char *dir, const char *sub,
    const char *wdir, const char *name)
{
	const struct file_sink *fs = sc->d->fs;
	const struct nds_dump *dump = sc->d->dump;
	struct nds_manifest_facts facts;
	const struct nds_manifest_summary *sum = &facts.summary;
	struct listing l = { .layout = sc->d->layout, .dir = wdir };
	struct ret_dump *rd;
	struct stat sb, dsb;
	size_t len, i;
	char *text;
	int r = -1;

	/* Not readable, or not ours: not a dump of this sink's to judge. */
	if ((text = read_manifest(dfd, name, &len, &sb)) == NULL)
		return errno == ENOMEM ? -1 : 0;
	if (fs->host->manifest_facts(text, len, &facts, take_place, &l) == -1 ||
	    fstat(dfd, &dsb) == -1) {
		r = l.nomem ? -1 : 0;
		goto out;
	}
	if (l.nomem || (rd = new_dump(sc)) == NULL)
		goto out;
	rd->mtime = sb.st_mtim;
	rd->dev = dsb.st_dev;
	rd->ino = dsb.st_ino;
	rd->numbered = sum->has_number;
	rd->number = sum->number;
	rd->complete = sum->status == NDS_STATUS_COMPLETE;
	rd->layout = sc->d->layout;
	memcpy(rd->sig, facts.signature, sizeof(rd->sig));
	if ((rd->dir = strdup(dir)) == NULL ||
	    (sub != NULL && (rd->sub = strdup(sub)) == NULL) ||
	    (rd->client = strdup(rd->layout == LAYOUT_REDHAT ?
	    sum->client_addr : sum->client_name)) == NULL ||
	    add_files(rd, dfd, &l, name) == -1) {
		free_ret_dump(rd);
		goto out;
	}
	rd->mine = strcmp(rd->client, rd->layout == LAYOUT_REDHAT ?
	    dump->client_addr : dump->client_name) == 0;
	sc->n++;
	r = 0;
out:
	for (i = 0; i < l.n; i++)
		free(l.names[i]);
	free(text);
	if (r == -1)
		errno = ENOMEM;
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

/*
 * The finished dumps of one directory, path from the sink's (parent and
 * dname: its parent's path and its own name). In the redhat layout a
 * dump has a directory of its own, which goes with it: the dump is
 * recorded as dname in parent.
 */
static int
collect_dumps(struct ret_scan *sc, int dfd, const char *path,
    const char *parent, const char *dname, const struct ret_ent *ents,
    size_t n)
{
	enum file_layout layout = sc->d->layout;
	bool own = layout == LAYOUT_REDHAT && parent != NULL;
	const char *wdir = strcmp(path, ".") == 0 ? "" : path;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ents[i].type != DT_REG ||
		    !manifest_name(layout, ents[i].name))
			continue;
		if (add_dump(sc, dfd, own ? parent : path, own ? dname : NULL,
		    wdir, ents[i].name) == -1)
			return -1;
	}
	return 0;
}

/*
 * Only running out of memory stops the walk; a directory that cannot be
 * read is skipped with a warning.
 */
int
scan_dir(struct ret_scan *sc, int fd, const char *path, const char *parent,
    const char *dname, int depth)
{
	const struct file_sink *fs = sc->d->fs;
	struct ret_ent *ents = NULL;
	char child[PATH_MAX];
	size_t n = 0, i;
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
	if (collect_dumps(sc, dirfd(dp), path, parent, dname, ents, n) == -1)
		goto out;
	for (i = 0; i < n && depth < MAX_DEPTH; i++) {
		/* Hidden: temporaries, and no snapshots (.zfs, .snapshot). */
		if (ents[i].type != DT_DIR || ents[i].name[0] == '.')
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
		if (scan_dir(sc, sub, child, path, ents[i].name, depth + 1) ==
		    -1)
			goto out;
	}
	r = 0;
out:
	free_entries(ents, n);
	closedir(dp);
	return r;
}
