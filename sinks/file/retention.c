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
 * A dump is finished when its manifest exists (the core writes it last),
 * and the manifest is the host's record of where each object went
 * (nds_host.manifest_facts): the scan looks for manifests only, and a
 * dump's files are those its manifest lists in its own directory. A file
 * no manifest names is never touched, nor is a dump between begin and end
 * in this process, whatever sink instance has it.
 */
#include <dirent.h>
#include <pthread.h>
#include <time.h>

#include "file.h"

/* How deep retention looks beneath the sink's directory. */
#define MAX_DEPTH	32
/* Other file sinks whose directories retention stays out of. */
#define MAX_OTHERS	32
/* A manifest lists at most 1000 gaps: far below this. */
#define MANIFEST_MAX	(1024 * 1024)

struct ret_file {
	char		*name;
	uint64_t	 size;
	bool		 manifest;
	bool		 core;		/* vmcore, key or archive: what a
					 * repeat's summary leaves out */
	bool		 keep;		/* stays when the dump is removed */
	bool		 taking;	/* this removal's, for the log */
	bool		 gone;		/* removed */
};

/* One finished dump found beneath the sink's directory. */
struct ret_dump {
	char		*dir;		/* from the sink's directory; "." */
	char		*sub;		/* redhat: the dump's own, in dir */
	char		*client;
	const char	*label;		/* one of files, for the log */
	enum file_layout layout;	/* its manifest's name tells */
	struct ret_file	*files;
	size_t		 nfiles;
	dev_t		 dev;		/* of the files' directory */
	ino_t		 ino;
	unsigned int	 number;
	bool		 numbered;	/* number is its names' */
	struct timespec	 mtime;		/* of the manifest */
	uint64_t	 size;		/* disk usage of what is left */
	bool		 complete;
	bool		 unfinished;	/* its manifest is the one of begin */
	char		 sig[NDS_SIGNATURE_SIZE]; /* its panic's; "" none */
	bool		 has_core;	/* one of files is core */
	bool		 summary;	/* its manifest lists a core that is
					 * gone: a repeat's summary */
	bool		 mine;		/* of the client that dumped */
	bool		 active;	/* between begin and end */
	bool		 tried;		/* removal attempted */
	bool		 gone;		/* removed, all of it */
};

struct ret_scan {
	const struct file_dump	*d;	/* the dump that ended */
	const struct file_sink	*fs;
	enum file_layout	 layout;	/* the sink's, for FreeBSD dumps */
	int			 root;	/* the sink's directory */
	char			 base[NDS_WHERE_SIZE];	/* root, as "where"
							 * spells it */
	struct ret_dump		*v;
	struct ret_dump		**p;	/* room for n pointers into v */
	char			*text;	/* MANIFEST_MAX bytes, for one */
	size_t			 n, cap;
	/* The directories of the other instances, not to go into. */
	struct { dev_t dev; ino_t ino; } others[MAX_OTHERS];
	size_t			 nothers;
};

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
static void
ret_warn(const struct file_sink *fs, const char *path, const char *what,
    int e)
{
	char ebuf[128];

	fs->host->log(fs->ctx, NDS_LOG_WARNING, "retention: %s: %s: %s",
	    path, what, sink_errstr(e, ebuf, sizeof(ebuf)));
}

/* "<stem>.last<ext>" (savecore) or "<stem>.<client>.last" (netdumpd). */
static bool
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
 * A manifest written at begin, whose dump never ended (the server was
 * killed, the disk filled before the finished manifest): it lists
 * nothing. The dump's files are the names this sink gives its objects
 * that carry the manifest's infix, as far as they got; in the redhat
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
			    has_infix(name, l->infix)))
				take_name(l, stems[k].kind, name);
		}
		free(ents[i]);
	}
	free(ents);
	return l->nomem ? -1 : 0;
}

static void
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
static void
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
 * Find the finished dumps in the directory fd (path from the sink's
 * directory; parent its parent's path, NULL for the sink's directory;
 * dname its last component) and beneath it. In the redhat layout a dump
 * has a directory of its own, which goes with it: the dump is recorded as
 * dname in parent. Only running out of memory stops the walk
 * (-1); a directory that cannot be read is skipped with a warning.
 */
static int
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
		/* Unfinished, unless the finished one is there too. */
		if (unfinished_manifest(sc->layout, ents[i]->d_name, finished)) {
			if (fstatat(fd, finished, &sb, AT_SYMLINK_NOFOLLOW) ==
			    0 || errno != ENOENT)
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
