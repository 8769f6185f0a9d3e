/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: finding the dumps retention judges. A dump is known by its
 * manifest, the host's record of where each object went
 * (nds_host.manifest_facts): the scan looks for manifests only, and a
 * dump's files are those its manifest lists in its own directory, or, for
 * the manifest of a dump not ended (manifest.N.json.unfinished, whose end
 * never came), the names the sink gives that dump's objects. A file no
 * manifest names is never taken.
 */
#include <sys/file.h>

#include <dirent.h>

#include "retention.h"

/* What a manifest's stored places say, in one directory. */
struct listing {
	enum file_layout layout;
	const char	*dir;		/* its path as "where" spells it */
	const char	*infix;		/* the manifest's: ".3", ".host.3" */
	char		*names[NDS_OBJ_NKINDS * 4];
	bool		 core[NDS_OBJ_NKINDS * 4];	/* of names */
	size_t		 n;
	bool		 cut;		/* a core named cut short */
	bool		 nomem;
};

/* The stems update_links makes "<stem>.last" links for. */
static const char *const link_stems[] = {
	"vmcore", "vmcore_encrypted", "info", "key", "manifest",
};

/* "retention: <path>: <what>: <strerror(e)>" */
void
ret_warn(const struct file_sink *fs, const char *path, const char *what,
    int e)
{
	char ebuf[128];

	fs->host->log(fs->ctx, NDS_LOG_WARNING, "retention: %s: %s: %s",
	    path, what, sink_errstr(e, ebuf, sizeof(ebuf)));
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
		/* netdumpd: at least one character of client name. */
		if (layout == LAYOUT_NETDUMPD ? len >= sl + 7 &&
		    strcmp(name + len - 5, ".last") == 0 :
		    strncmp(name + sl, ".last", 5) == 0 &&
		    (name[sl + 5] == '\0' || name[sl + 5] == '.'))
			return true;
	}
	return false;
}

/* A name the host gives a manifest, not one of the sink's *.last links. */
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
 * The manifest of a dump not ended ("manifest.3.json.unfinished", which
 * the finished one replaces): its finished name into finished.
 */
static bool
unfinished_manifest(enum file_layout layout, const char *name,
    char finished[NAME_MAX + 1])
{
	size_t len = strlen(name), tail = sizeof(UNFINISHED_TAIL) - 1;

	if (len <= tail || strcmp(name + len - tail, UNFINISHED_TAIL) != 0)
		return false;
	memcpy(finished, name, len - tail);
	finished[len - tail] = '\0';
	return manifest_name(layout, finished);
}

/*
 * Whether name is one of the dump whose names carry infix: a stem (no
 * '.' in any), the infix, then nothing or a tail ('.' or '-' on: an
 * extension, ".incomplete").
 */
static bool
has_infix(const char *name, const char *infix)
{
	const char *p = strchr(name, '.');
	size_t n = strlen(infix), digits;

	if (p == NULL || strncmp(p, infix, n) != 0 || (p[n] != '\0' &&
	    p[n] != '.' && p[n] != '-'))
		return false;
	/*
	 * No tail is a number: ".a.1" would take "vmcore.a.1.3", dump 3 of
	 * netdumpd's client "a.1", for dump 1 of client "a".
	 */
	p += n;
	digits = p[0] == '.' ? strspn(p + 1, "0123456789") : 0;
	return digits == 0 || (p[1 + digits] != '\0' && p[1 + digits] != '.');
}

/* Whether a core's name says the copy is cut short. */
static bool
cut_name(const char *name)
{
	size_t len = strlen(name), n = sizeof("incomplete") - 1;

	return len > n && strcmp(name + len - n, "incomplete") == 0 &&
	    (name[len - n - 1] == '.' || name[len - n - 1] == '-');
}

/*
 * Keep name, of an object of kind, in l: never another dump's manifest
 * or a *.last link, and a name once (two chains may store in one place).
 */
static void
take_name(struct listing *l, enum nds_object_kind kind, const char *name)
{
	size_t i;

	if (manifest_name(l->layout, name) || last_link_name(l->layout, name) ||
	    l->n == NITEMS(l->names))
		return;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return;
	if ((l->names[l->n] = strdup(name)) == NULL)
		l->nomem = true;
	else
		l->core[l->n++] = kind == NDS_OBJ_VMCORE ||
		    kind == NDS_OBJ_KEY || kind == NDS_OBJ_ARCHIVE;
	/* The dump is complete, but not in this copy: a chain failed. */
	if ((kind == NDS_OBJ_VMCORE || kind == NDS_OBJ_ARCHIVE) &&
	    cut_name(name))
		l->cut = true;
}

/*
 * nds_host.manifest_facts' stored(): keep the names in l->dir, and
 * whether each holds a dump's core. Never a place elsewhere (only the
 * names are used, in the directory the manifest is in), another dump's
 * manifest or a *.last link, whatever a manifest says, nor a name
 * without the manifest's own infix: two chains of one route may store
 * in one directory, each with its own number, and each manifest lists
 * both chains' places (nor may a planted manifest name another dump's).
 */
static void
take_place(void *arg, enum nds_object_kind kind, const char *where)
{
	struct listing *l = arg;
	const char *slash = strrchr(where, '/'), *name;
	size_t dlen = slash != NULL ? (size_t)(slash - where) : 0;

	name = slash != NULL ? slash + 1 : where;
	if (strlen(l->dir) != dlen ||
	    strncmp(where, l->dir, dlen) != 0 || name[0] == '\0' ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    (l->infix[0] != '\0' && !has_infix(name, l->infix)))
		return;
	take_name(l, kind, name);
}

static int
not_dots(const struct dirent *de)
{
	return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

/*
 * Whether what follows a name's stem and infix is a tail this sink gives
 * an object of kind: a vmcore's or tarball's suffix (a transform's or
 * the kernel's compression, in the characters set_suffix takes) and
 * ".incomplete" or "-incomplete"; nothing after the small objects'. Not
 * "info.1.notes" or "msgbuf.1-saved", an operator's files beside a dump.
 */
static bool
own_tail(enum nds_object_kind kind, const char *p)
{
	if (kind != NDS_OBJ_VMCORE && kind != NDS_OBJ_ARCHIVE)
		return *p == '\0';
	return *p == '\0' || ((*p == '.' || *p == '-') &&
	    p[strspn(p, SUFFIX_CHARS)] == '\0');
}

/*
 * A manifest written at begin, whose dump never ended (the server was
 * killed, the disk filled before the finished manifest): it lists
 * nothing. The dump's files are the names this sink gives its objects
 * that carry the manifest's infix (and a tail of its own), as far as
 * they got; in the redhat
 * layout, the dump's own directory holds no other dump's. -1 only when
 * out of memory.
 */
static int
take_infix_names(int dfd, struct listing *l)
{
	static const struct {
		const char		*stem;
		enum nds_object_kind	 kind;
	} stems[] = {
		{ "vmcore", NDS_OBJ_VMCORE }, { "vmcore_encrypted",
		NDS_OBJ_VMCORE }, { "dump", NDS_OBJ_ARCHIVE },
		{ "key", NDS_OBJ_KEY }, { "info", NDS_OBJ_INFO },
		{ "msgbuf", NDS_OBJ_MSGBUF },
	};
	struct dirent **ents;
	const char *name;
	size_t k, len;
	int i, n;

	if ((n = scandirat(dfd, ".", &ents, not_dots, NULL)) == -1)
		return errno == ENOMEM ? -1 : 0;
	for (i = 0; i < n; i++) {
		name = ents[i]->d_name;
		for (k = 0; k < NITEMS(stems); k++) {
			len = strlen(stems[k].stem);
			if (strncmp(name, stems[k].stem, len) == 0 &&
			    (name[len] == '\0' || name[len] == '.' ||
			    name[len] == '-') && (l->infix[0] == '\0' ||
			    has_infix(name, l->infix)) &&
			    own_tail(stems[k].kind, name + len +
			    strlen(l->infix)))
				take_name(l, stems[k].kind, name);
		}
		free(ents[i]);
	}
	free(ents);
	return l->nomem ? -1 : 0;
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
	return strcmp(((const struct ret_file *)a)->name,
	    ((const struct ret_file *)b)->name);
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
			core_gone |= i < l->n && l->core[i];
			continue;
		}
		f = &rd->files[rd->nfiles++];
		if ((f->name = strdup(name)) == NULL)
			return -1;
		f->core = i < l->n && l->core[i];
		rd->has_core |= f->core;
		/* Disk usage: a vmcore is sparse. */
		f->size = (uint64_t)sb.st_blocks * 512;
		f->manifest = i == l->n;
		rd->size += f->size;
	}
	rd->summary = core_gone && !rd->has_core;
	/* In the manifest's order so far; the log lists them in a fixed one. */
	if (rd->nfiles > 1)
		qsort(rd->files, rd->nfiles, sizeof(*rd->files),
		    cmp_ret_file);
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
 * "where" spells it. -1 only when out of memory.
 */
static int
add_dump(struct ret_scan *sc, int dfd, enum file_layout layout,
    const char *dir, const char *sub, const char *wdir, const char *name)
{
	const struct nds_dump *dump = sc->d->dump;
	struct nds_manifest_facts facts;
	const struct nds_manifest_summary *sum = &facts.summary;
	struct listing l = { .layout = layout, .dir = wdir };
	struct ret_dump *rd, *v;
	struct stat sb, dsb;
	char err[NDS_ERRBUF_SIZE], infix[NAME_MAX + 1], *end;
	const char *num;
	unsigned long number = 0;
	bool unfinished;
	ssize_t len;
	size_t i;
	int r = -1;

	/*
	 * "manifest<infix>.json", or its unfinished name: the names of its
	 * dump carry the infix.
	 */
	unfinished = unfinished_manifest(layout, name, infix);
	len = (ssize_t)strlen(unfinished ? infix : name) -
	    (ssize_t)(sizeof("manifest.json") - 1);
	memcpy(infix, name + 8, (size_t)len);
	infix[len] = '\0';
	l.infix = infix;
	num = strrchr(infix, '.');
	if (num != NULL && num[1] >= '0' && num[1] <= '9') {
		errno = 0;
		number = strtoul(num + 1, &end, 10);
		if (*end != '\0' || errno != 0 || number > UINT_MAX)
			num = NULL;
	} else
		num = NULL;

	if (sc->text == NULL && (sc->text = malloc(MANIFEST_MAX)) == NULL)
		return -1;
	/* Not readable, or not ours: not a dump of this sink's to judge. */
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    (len = sc->fs->host->read_file(dfd, name, sc->text, MANIFEST_MAX,
	    err)) == -1)
		return 0;
	if (sc->fs->host->manifest_facts(sc->text, (size_t)len, &facts,
	    take_place, &l) == -1 || fstat(dfd, &dsb) == -1 ||
	    (unfinished && sum->status != NDS_STATUS_RECEIVING)) {
		r = l.nomem ? -1 : 0;
		goto out;
	}
	if (l.nomem || (sum->status == NDS_STATUS_RECEIVING &&
	    take_infix_names(dfd, &l) == -1))
		goto out;
	if (sc->n == sc->cap) {
		if ((v = reallocarray(sc->v, sc->cap == 0 ? 16 : 2 * sc->cap,
		    sizeof(*v))) == NULL)
			goto out;
		sc->v = v;
		sc->cap = sc->cap == 0 ? 16 : 2 * sc->cap;
	}
	rd = memset(&sc->v[sc->n], 0, sizeof(*rd));
	rd->mtime = sb.st_mtim;
	rd->dev = dsb.st_dev;
	rd->ino = dsb.st_ino;
	rd->layout = layout;
	/*
	 * Its number is its names', not the manifest's "number" (the first
	 * a sink gave the dump: with two chains in one sink, the other's).
	 */
	rd->numbered = num != NULL;
	rd->number = (unsigned int)number;
	rd->complete = sum->status == NDS_STATUS_COMPLETE && !l.cut;
	rd->unfinished = sum->status == NDS_STATUS_RECEIVING;
	memcpy(rd->sig, facts.signature, sizeof(rd->sig));
	if ((rd->dir = strdup(dir)) == NULL ||
	    (sub != NULL && (rd->sub = strdup(sub)) == NULL) ||
	    (rd->client = strdup(layout == LAYOUT_REDHAT ?
	    sum->client_addr : sum->client_name)) == NULL ||
	    add_files(rd, dfd, &l, name) == -1) {
		free_ret_dump(rd);
		goto out;
	}
	rd->mine = strcmp(rd->client, layout == LAYOUT_REDHAT ?
	    dump->client_addr : dump->client_name) == 0;
	sc->n++;
	r = 0;
out:
	for (i = 0; i < l.n; i++)
		free(l.names[i]);
	if (r == -1)
		errno = ENOMEM;
	return r;
}

/*
 * The directories of the other file sinks of this process: one beneath
 * this sink's is theirs, with their own limits (a sink that keeps every
 * dump, beside one that keeps two), so its dumps are not this sink's to
 * count or remove. One that cannot be opened now has nothing in it.
 */
void
find_others(struct ret_scan *sc, int dumpdir_fd, const struct stat *root)
{
	char *dirs[MAX_OTHERS];
	struct stat sb;
	size_t n = 0, i;
	int fd;

	/* Names under the lock, opened without it: a directory may hang. */
	n = other_sink_dirs(sc->fs, dirs, MAX_OTHERS);
	for (i = 0; i < n; i++) {
		fd = openat(dumpdir_fd >= 0 ? dumpdir_fd : AT_FDCWD, dirs[i],
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(dirs[i]);
		if (fd == -1)
			continue;
		if (fstat(fd, &sb) == 0 && (sb.st_dev != root->st_dev ||
		    sb.st_ino != root->st_ino)) {
			sc->others[sc->nothers].dev = sb.st_dev;
			sc->others[sc->nothers++].ino = sb.st_ino;
		}
		close(fd);
	}
}

static bool
another_sinks(const struct ret_scan *sc, int fd)
{
	struct stat sb;
	size_t i;

	if (sc->nothers == 0 || fstat(fd, &sb) == -1)
		return false;
	for (i = 0; i < sc->nothers; i++)
		if (sc->others[i].dev == sb.st_dev &&
		    sc->others[i].ino == sb.st_ino)
			return true;
	return false;
}

/*
 * Whether name in dfd is locked: the unfinished manifest of a dump that
 * runs, in this process or another (file.c write_unfinished). One that
 * cannot be opened is no dump to judge either.
 */
static bool
locked(int dfd, const char *name)
{
	int fd, r;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return true;
	/* Shared: on NFS an exclusive lock needs the file open to write. */
	r = flock(fd, LOCK_SH | LOCK_NB);
	close(fd);	/* and the lock with it */
	return r == -1;
}

/*
 * Find the finished dumps in the directory fd (path from the sink's
 * directory; parent its parent's path, NULL for the sink's directory;
 * dname its last component) and beneath it. In the redhat layout a dump
 * has a directory of its own, which goes with it: the dump is recorded as
 * dname in parent. Only running out of memory stops the walk
 * (-1); a directory that cannot be read is skipped with a warning.
 */
int
scan_dir(struct ret_scan *sc, int fd, const char *path, const char *parent,
    const char *dname, int depth)
{
	enum file_layout layout;
	const char *rel = strcmp(path, ".") == 0 ? "" : path;
	struct dirent **ents = NULL;
	char child[PATH_MAX], wdir[NDS_WHERE_SIZE], finished[NAME_MAX + 1];
	size_t blen = strlen(sc->base);
	struct stat sb;
	int i, n, sub, r = -1;

	/* As open_base and rel_append spell it in "where". */
	if (fmtname(wdir, sizeof(wdir), "%s%s%s", sc->base, blen > 0 &&
	    *rel != '\0' && sc->base[blen - 1] != '/' ? "/" : "", rel) == -1) {
		ret_warn(sc->fs, path, "path", ENAMETOOLONG);
		return 0;
	}

	if ((n = scandirat(fd, ".", &ents, not_dots, NULL)) == -1) {
		r = errno == ENOMEM ? -1 : 0;
		ret_warn(sc->fs, path, "readdir", errno);
		n = 0;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (ents[i]->d_type == DT_UNKNOWN && fstatat(fd,
		    ents[i]->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			ents[i]->d_type = S_ISDIR(sb.st_mode) ? DT_DIR :
			    S_ISLNK(sb.st_mode) ? DT_LNK : DT_REG;
	for (i = 0; i < n; i++) {
		if (ents[i]->d_type != DT_REG)
			continue;
		/*
		 * Unfinished, unless the finished one is there too, or its
		 * dump still runs in some process (which holds it locked).
		 */
		if (unfinished_manifest(sc->layout, ents[i]->d_name, finished)) {
			if (fstatat(fd, finished, &sb, AT_SYMLINK_NOFOLLOW) ==
			    0 || errno != ENOENT ||
			    locked(fd, ents[i]->d_name))
				continue;
		} else if (manifest_name(sc->layout, ents[i]->d_name))
			snprintf(finished, sizeof(finished), "%s",
			    ents[i]->d_name);
		else
			continue;
		/*
		 * A Linux dump is Red Hat's, in a directory of its own,
		 * whatever the sink's layout for FreeBSD's.
		 */
		layout = strcmp(finished, "manifest.json") == 0 ?
		    LAYOUT_REDHAT : sc->layout;
		if (add_dump(sc, fd, layout, layout == LAYOUT_REDHAT && parent !=
		    NULL ? parent : path, layout == LAYOUT_REDHAT && parent !=
		    NULL ? dname : NULL, wdir, ents[i]->d_name) == -1)
			goto out;
	}
	for (i = 0; i < n && depth < MAX_DEPTH; i++) {
		/* Hidden: temporaries, and no snapshots (.zfs, .snapshot). */
		if (ents[i]->d_type != DT_DIR || ents[i]->d_name[0] == '.')
			continue;
		if (fmtname(child, sizeof(child), "%s%s%s", *rel != '\0' ?
		    path : "", *rel != '\0' ? "/" : "", ents[i]->d_name) ==
		    -1) {
			ret_warn(sc->fs, ents[i]->d_name, "path", ENAMETOOLONG);
			continue;
		}
		sub = openat(fd, ents[i]->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub == -1) {
			/* Gone, or replaced by something not to go into. */
			if (errno != ENOENT && errno != ENOTDIR &&
			    errno != ELOOP)
				ret_warn(sc->fs, child, "open", errno);
			continue;
		}
		if (another_sinks(sc, sub)) {
			close(sub);
			continue;
		}
		r = scan_dir(sc, sub, child, path, ents[i]->d_name, depth + 1);
		close(sub);
		if (r == -1)
			goto out;
	}
	r = 0;
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r;
}
