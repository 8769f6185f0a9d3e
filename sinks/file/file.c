/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: store each dump as plain files beneath the dump directory.
 *
 * Three layouts name the files:
 *
 *   savecore  <dir>/<path>/<client>/{info,vmcore,key}.N, manifest.N.json,
 *             bounds and *.last symlinks: what crashinfo(8), kgdb and
 *             decryptcore(8) expect to find.
 *   netdumpd  <dir>/<path>/{info,vmcore,key}.<client>.N, bounds.<client>,
 *             like the FreeBSD ports daemon.
 *   redhat    <dir>/<path>/<addr>-<YYYY-MM-DD-HH:MM>[-k]/{vmcore,info,key},
 *             like Red Hat's netdump-server.
 *
 * The vmcore is written while it arrives under "<name>.incomplete" and
 * renamed when the core closes it and the outcome is known. The small
 * objects (info, key, manifest) are written under a hidden temporary name
 * and renamed, so a reader never sees half of one. Holes stay sparse.
 */
#include <sys/file.h>

#include <pthread.h>
#include <stdarg.h>

#include "file.h"

/* How far past the bounds number to look for a free one. */
#define MAX_PROBE	65536
/* Room for the manifest of a dump not ended: names escaped, a path. */
#define UNFINISHED_MAX	16384
/* The upper bound of keep_per_client. */
#define MAX_KEEP	1000000

/* One per object of a dump. */
struct file_object {
	struct file_dump	*d;
	enum nds_object_kind	 kind;
	int			 fd;
	bool			 failed;
	uint64_t		 dataend;	/* end of the data written */
	char			 name[NAME_MAX + 1]; /* current name */
};

int
fmtname(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* A single path component that cannot name anything but itself. */
static bool
safe_name(const char *s)
{
	if (s == NULL || *s == '\0' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0 || strlen(s) > NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (*s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int
xclose(int fd)
{
	/* Linux releases the descriptor even when close fails: no retry. */
	return fd == -1 ? 0 : close(fd);
}

/*
 * A new file at name, for a name that is this dump's alone (its number
 * is reserved, its folder new, or the name hidden and temporary):
 * whatever is there is a leftover or was put there, and goes first. Not
 * truncated in place: a hard link put there would have its other name
 * overwritten, a FIFO would hang the open. -1 and errno when the name
 * cannot be freed (a directory is there, say) or was taken again.
 */
static int
create_file(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, 0600);
}

/* Write a small file under tmp, then rename it to name. */
static int
replace_file(int dirfd, const char *tmp, const char *name, const void *buf,
    size_t len, mode_t mode, bool sync)
{
	int fd, save;

	if ((fd = create_file(dirfd, tmp)) == -1)
		return -1;
	if (sink_pwrite_all(fd, buf, len, 0, NULL) == -1 ||
	    fchmod(fd, mode) == -1 || (sync && fsync(fd) == -1)) {
		save = errno;
		close(fd);
	} else if (close(fd) == -1 || renameat(dirfd, tmp, dirfd, name) == -1)
		save = errno;
	else
		return 0;
	unlinkat(dirfd, tmp, 0);
	errno = save;
	return -1;
}

static void
set_where(const struct file_dump *d, const char *name, char *where)
{
	/* Rather a bare name than a path cut short. */
	if (d->rel[0] == '\0' || snprintf(where, NDS_WHERE_SIZE, "%s/%s",
	    d->rel, name) >= NDS_WHERE_SIZE)
		snprintf(where, NDS_WHERE_SIZE, "%s", name);
}

/*
 * What names a body that is not whole: Red Hat's server called a Linux
 * dump's "vmcore-incomplete", savecore's world ".incomplete".
 */
static const char *
incomplete_tail(const struct nds_dump *dump)
{
	return dump->protocol != NULL && strcmp(dump->protocol,
	    NDS_PROTO_LINUX) == 0 ? "-incomplete" : ".incomplete";
}

/*
 * The part of every name of this dump that tells it from the client's
 * others: ".N" (savecore), ".<client>.N" (netdumpd), none (redhat).
 */
static int
set_number(struct file_dump *d, unsigned int number)
{
	d->number = number;
	d->infix[0] = '\0';
	if (d->layout == LAYOUT_NETDUMPD)
		return fmtname(d->infix, sizeof(d->infix), ".%s.%u",
		    d->dump->client_name, number);
	return d->layout == LAYOUT_SAVECORE ? fmtname(d->infix,
	    sizeof(d->infix), ".%u", number) : 0;
}

/*
 * The host's name for an object of this dump with the given suffix (a
 * transform's) and infix: "vmcore.N.zst", "info.host1.3", "key". The
 * vmcore's stem and the kernel's compression suffix follow savecore's
 * DoFile, so that decryptcore -n N finds exactly vmcore_encrypted.N.
 */
int
host_name(const struct file_dump *d, enum nds_object_kind kind,
    const char *suffix, const char *infix, char name[NAME_MAX + 1])
{
	const struct nds_object obj = { .kind = kind, .suffix = suffix };

	if (d->fs->host->object_name(d->dump, &obj, infix, name,
	    NAME_MAX + 1) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * The name an object ends up with, given what the core knows by now. Only
 * a vmcore or a tarball carries a transform's suffix.
 */
int
final_name(const struct file_dump *d, enum nds_object_kind kind,
    char name[NAME_MAX + 1])
{
	return host_name(d, kind, kind == NDS_OBJ_VMCORE ||
	    kind == NDS_OBJ_ARCHIVE ? d->suffix[kind] : NULL,
	    d->infix[0] != '\0' ? d->infix : NULL, name);
}

/*
 * A missing, empty or garbled bounds file reads as 0, as in savecore; so
 * does anything but a small regular file (the host's reader never waits
 * on a FIFO put in its place).
 */
static unsigned int
read_bounds(const struct file_dump *d, const char *name)
{
	char buf[32], err[NDS_ERRBUF_SIZE], *p;
	unsigned long v;
	ssize_t n;

	n = d->fs->host->read_file(d->dirfd, name, buf, sizeof(buf) - 1, err);
	if (n <= 0 || buf[0] < '0' || buf[0] > '9')
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtoul(buf, &p, 10);
	return errno != 0 || v > INT_MAX || p[strspn(p, "\n\r \t")] != '\0' ?
	    0 : (unsigned int)v;
}

/*
 * Pick the dump number: start at bounds and take the first N whose info
 * file can be created exclusively (the empty file reserves N until the
 * real info replaces it), then write N + 1 to bounds before any dump file
 * exists, as savecore does.
 */
static int
reserve_number(struct file_dump *d, char *err)
{
	const struct file_sink *fs = d->fs;
	const char *client = d->dump->client_name;
	char bounds[NAME_MAX + 1], tmp[NAME_MAX + 1], info[NAME_MAX + 1];
	char manifest[NAME_MAX + 1], line[32], ebuf[128];
	unsigned int first, i;
	struct stat sb;
	int fd = -1, len;
	mode_t bmode;

	bmode = fs->cfg->layout == LAYOUT_NETDUMPD ? 0600 : 0644;
	if (fmtname(bounds, sizeof(bounds), "bounds%s%s", bmode == 0600 ?
	    "." : "", bmode == 0600 ? client : "") == -1)
		goto toolong;
	first = read_bounds(d, bounds);
	for (i = 0; i < MAX_PROBE; i++) {
		if (set_number(d, first + i) == -1 ||
		    final_name(d, NDS_OBJ_INFO, info) == -1 ||
		    final_name(d, NDS_OBJ_MANIFEST, manifest) == -1)
			goto toolong;
		/*
		 * A dump whose chain stored no info (an archive's tarball
		 * holds it) leaves N with its manifest only: taken too.
		 */
		if (fstatat(d->dirfd, manifest, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		fd = openat(d->dirfd, info, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		if (i == MAX_PROBE)
			sink_seterr(err, "%s: no free dump number from %u "
			    "to %u", d->rel[0] != '\0' ? d->rel : ".", first,
			    first + MAX_PROBE - 1);
		else
			sink_seterr(err, "%s: create: %s", info,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	close(fd);

	len = snprintf(line, sizeof(line), "%u\n", d->number + 1);
	if (fmtname(tmp, sizeof(tmp), ".%s.%u.tmp", bounds, d->number) ==
	    -1 || replace_file(d->dirfd, tmp, bounds, line, (size_t)len, bmode,
	    fs->cfg->sync) == -1) {
		sink_seterr(err, "%s: write: %s", bounds,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		/* Keep the numbering in step: give N back. */
		unlinkat(d->dirfd, info, 0);
		return -1;
	}
	return 0;
toolong:
	sink_seterr(err, "%s: file names too long", client);
	return -1;
}

/*
 * Held while *.last links move and while retention runs: several dumps may
 * end at once and walk the same tree, and a link must not be judged by its
 * old target and removed after another dump pointed it at its own files.
 */
static pthread_mutex_t retention_lock = PTHREAD_MUTEX_INITIALIZER;

static enum nds_result
file_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const void *config, void **instance, char err[NDS_ERRBUF_SIZE])
{
	const struct file_config *cfg = config;
	struct file_sink *fs;
	char *end;
	unsigned long m;

	*instance = NULL;
	if (cfg->dir != NULL && cfg->dir[0] == '\0') {
		sink_seterr(err, "dir: empty path");
		return NDS_FATAL;
	}
	errno = 0;
	m = strtoul(cfg->mode, &end, 8);
	/* Permission bits only: a dump is never setuid or sticky. */
	if (*cfg->mode < '0' || *cfg->mode > '7' || *end != '\0' ||
	    errno != 0 || m > 0777) {
		sink_seterr(err, "mode: \"%s\" is not an octal file mode up to "
		    "0777", cfg->mode);
		return NDS_FATAL;
	}
	if ((fs = calloc(1, sizeof(*fs))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FATAL;
	}
	fs->host = host;
	fs->ctx = ctx;
	fs->cfg = cfg;
	fs->mode = (mode_t)m;
	register_sink(fs);
	*instance = fs;
	return NDS_OK;
}

/* A dir every dump would fail in is said at once (not refused). */
static enum nds_result
file_start(void *instance, char err[NDS_ERRBUF_SIZE])
{
	struct file_sink *fs = instance;

	(void)err;
	sink_check_dir(fs->host, fs->ctx, "dir", fs->cfg->dir);
	return NDS_OK;
}

static void
file_destroy(void *instance)
{
	if (instance != NULL)
		unregister_sink(instance);
	free(instance);
}

/*
 * The manifest of a dump not ended: manifest.N.json.unfinished, beside
 * where the finished one will be. Not the finished one's name: a
 * manifest.N.json says the dump is over to whoever waits for it.
 */
static int
unfinished_name(const struct file_dump *d, char name[NAME_MAX + 1])
{
	char final[NAME_MAX + 1];

	return final_name(d, NDS_OBJ_MANIFEST, final) == -1 ? -1 :
	    fmtname(name, NAME_MAX + 1, "%s%s", final, UNFINISHED_TAIL);
}

/*
 * The host's manifest of a dump not ended, until the finished one is
 * there: retention finds a dump by its manifest, and without this one a
 * dump whose end never came (the server killed, the disk full before the
 * manifest) would be nobody's, kept for good. It is locked (flock) before
 * it gets its name, and stays locked until the dump ends: retention in
 * any process (another server on the same directory) leaves a dump whose
 * unfinished manifest is locked alone, and a process that dies lets go
 * of its locks. A dump goes on without it.
 */
static void
write_unfinished(struct file_dump *d)
{
	const struct file_sink *fs = d->fs;
	char name[NAME_MAX + 1] = "manifest", tmp[NAME_MAX + 1], ebuf[128];
	char *text = NULL;
	ssize_t len = -1;
	int fd = -1, save;

	if (unfinished_name(d, name) == -1 ||
	    fmtname(tmp, sizeof(tmp), ".%s.tmp", name) == -1)
		goto fail;
	if ((text = malloc(UNFINISHED_MAX)) == NULL ||
	    (len = fs->host->manifest_unfinished(d->dump, d->layout !=
	    LAYOUT_REDHAT, d->number, text, UNFINISHED_MAX)) == -1 ||
	    (fd = create_file(d->dirfd, tmp)) == -1)
		goto fail;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 ||
	    sink_pwrite_all(fd, text, (size_t)len, 0, NULL) == -1 ||
	    fchmod(fd, fs->mode) == -1 || (fs->cfg->sync && fsync(fd) == -1) ||
	    renameat(d->dirfd, tmp, d->dirfd, name) == -1) {
		save = errno;
		(void)unlinkat(d->dirfd, tmp, 0);
		errno = save;
		goto fail;
	}
	d->unfinished_fd = fd;
	free(text);
	return;
fail:
	fs->host->log(fs->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": %s%s%s: %s "
	    "(if the dump is cut short, retention will not see it)",
	    d->dump->id, d->rel, d->rel[0] != '\0' ? "/" : "", name,
	    sink_errstr(errno, ebuf, sizeof(ebuf)));
	xclose(fd);
	free(text);
}

/* The dump is over here: its unfinished manifest goes, or stays unlocked. */
static void
end_unfinished(struct file_dump *d, bool drop)
{
	char name[NAME_MAX + 1];

	if (drop && unfinished_name(d, name) == 0)
		(void)unlinkat(d->dirfd, name, 0);
	xclose(d->unfinished_fd);
	d->unfinished_fd = -1;
}

static enum nds_result
file_begin(void *instance, const struct nds_dump *dump,
    const struct nds_stage *next, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	const struct file_sink *fs = instance;
	struct file_dump *d;
	char ebuf[128];
	int base, own = -1, pathfd = -1;
	/* A Linux client's core goes where Red Hat's server put it. */
	enum file_layout layout = dump->protocol != NULL &&
	    strcmp(dump->protocol, NDS_PROTO_LINUX) == 0 ? LAYOUT_REDHAT :
	    (enum file_layout)fs->cfg->layout;

	(void)next;	/* a storing sink: always NULL */
	*dump_state = NULL;
	if (!safe_name(layout == LAYOUT_REDHAT ? dump->client_addr :
	    dump->client_name)) {
		sink_seterr(err, "client %s is not a safe file name", layout ==
		    LAYOUT_REDHAT ? "address" : "name");
		return NDS_FAILED;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	d->fs = fs;
	d->dump = dump;
	d->layout = layout;
	d->dirfd = -1;
	d->unfinished_fd = -1;

	if ((base = open_base(d, &own, err)) == -1)
		goto fail;
	if ((pathfd = open_herald_path(d, base, err)) == -1)
		goto fail;
	if (layout == LAYOUT_NETDUMPD) {
		d->dirfd = pathfd;
		pathfd = -1;
	} else
		d->dirfd = layout == LAYOUT_REDHAT ? open_redhat_dir(d, pathfd,
		    err) : open_subdir(d, pathfd, dump->client_name, false,
		    err);
	if (d->dirfd == -1)
		goto fail;
	if (layout != LAYOUT_REDHAT && reserve_number(d, err) == -1)
		goto fail;
	if (register_dump(d) == -1) {
		sink_seterr(err, "%s: fstat: %s", d->rel[0] != '\0' ?
		    d->rel : ".", sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto fail;
	}
	/* For info's "Bounds: N", as savecore writes it. */
	if (layout != LAYOUT_REDHAT)
		fs->host->dump_number(dump, d->number);
	write_unfinished(d);

	xclose(pathfd);
	xclose(own);
	*dump_state = d;
	return NDS_OK;
fail:
	xclose(d->dirfd);
	xclose(pathfd);
	xclose(own);
	free(d);
	return NDS_FAILED;
}

static enum nds_result
file_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct file_dump *d = dump_state;
	struct file_object *o;
	char final[NAME_MAX + 1], ebuf[128];
	int r;

	*object_state = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	o->d = d;
	o->kind = kind;
	d->opened = true;
	if (kind == NDS_OBJ_VMCORE || kind == NDS_OBJ_ARCHIVE)
		/* The outcome, hence the final name, is not known yet. */
		r = fmtname(o->name, sizeof(o->name), "%s%s%s",
		    kind == NDS_OBJ_VMCORE ? "vmcore" : "dump", d->infix,
		    incomplete_tail(d->dump));
	else if ((r = final_name(d, kind, final)) == 0)
		r = fmtname(o->name, sizeof(o->name), ".%s.tmp", final);
	if (r == -1) {
		sink_seterr(err, "object %d: %s", (int)kind,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto fail;
	}
	if ((o->fd = create_file(d->dirfd, o->name)) == -1) {
		sink_seterr(err, "%s: create: %s", o->name,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto fail;
	}
	*object_state = o;
	return NDS_OK;
fail:
	d->failed = true;
	free(o);
	return NDS_FAILED;
}

/* A write or hole that failed at off: errno says why. */
static enum nds_result
object_failed(struct file_object *o, const char *what, uint64_t off,
    char *err)
{
	char ebuf[128];

	sink_seterr(err, "%s: %s at offset %" PRIu64 ": %s", o->name, what,
	    off, sink_errstr(errno, ebuf, sizeof(ebuf)));
	o->failed = true;
	o->d->failed = true;
	return NDS_FAILED;
}

static enum nds_result
file_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct file_object *o = object_state;
	uint64_t failoff;

	if (sink_sparse_put(o->fd, &o->dataend, offset, buf, len,
	    &failoff) == 0)
		return NDS_OK;
	return object_failed(o, "write", failoff, err);
}

/*
 * Beyond the data a hole reads as zeros already, and close extends the
 * file to its logical size without allocating it; over data already
 * written (a rewrite) it is punched out.
 */
static enum nds_result
file_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct file_object *o = object_state;
	uint64_t failoff;

	if (sink_sparse_put(o->fd, &o->dataend, offset, NULL, len,
	    &failoff) == 0)
		return NDS_OK;
	return object_failed(o, "hole", failoff, err);
}

/*
 * A transform's suffix (".zst", ".tar.gz") becomes part of the name; it
 * must look like one, since it comes from another module.
 */
static int
set_suffix(struct file_dump *d, enum nds_object_kind kind, const char *suffix)
{
	if (suffix == NULL)
		suffix = "";
	if (strlen(suffix) >= SUFFIX_MAX || (suffix[0] != '\0' &&
	    suffix[0] != '.') || suffix[strspn(suffix, SUFFIX_CHARS)] != '\0') {
		errno = EINVAL;
		return -1;
	}
	snprintf(d->suffix[kind], SUFFIX_MAX, "%s", suffix);
	return 0;
}

/*
 * Rename an object's file to final. A vmcore or tarball never replaces a
 * file of that name: the number was free by its info and manifest, so
 * one there is not this sink's (a dump whose info was removed by hand):
 * EEXIST, and the object stays under its name. The small objects replace
 * the empty info that reserved the number, by design. A file system
 * without RENAME_NOREPLACE renames as before.
 */
static int
rename_body(int dirfd, const struct file_object *o, const char *final)
{
	if (o->kind == NDS_OBJ_VMCORE || o->kind == NDS_OBJ_ARCHIVE) {
		if (renameat2(dirfd, o->name, dirfd, final,
		    RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
	}
	return renameat(dirfd, o->name, dirfd, final);
}

/*
 * Rename o to the name the core gives it by now, with the transform's
 * suffix, and tail (if not NULL) after it.
 */
static int
move_to_final(struct file_object *o, const char *suffix, const char *tail)
{
	struct file_dump *d = o->d;
	char final[NAME_MAX + 1];
	size_t n;

	if (set_suffix(d, o->kind, suffix) == -1 ||
	    final_name(d, o->kind, final) == -1)
		return -1;
	n = strlen(final);
	if (tail != NULL && fmtname(final + n, sizeof(final) - n, "%s",
	    tail) == -1)
		return -1;
	if (strcmp(final, o->name) != 0) {
		if (rename_body(d->dirfd, o, final) == -1)
			return -1;
		snprintf(o->name, sizeof(o->name), "%s", final);
	}
	return 0;
}

/*
 * All of the object is there: give the file its final size, mode and
 * name. *what is the step that failed.
 */
static int
finish_file(struct file_object *o, uint64_t size, const char *suffix,
    const char *tail, const char **what)
{
	const struct file_sink *fs = o->d->fs;
	int fd;

	*what = "truncate";
	if (size > INT64_MAX) {
		errno = EFBIG;
		return -1;
	}
	/* Cuts compressed-dump padding, or extends over trailing holes. */
	if (ftruncate(o->fd, (off_t)size) == -1)
		return -1;
	*what = "chmod";
	if (fchmod(o->fd, fs->mode) == -1)
		return -1;
	*what = "fsync";
	if (fs->cfg->sync && fsync(o->fd) == -1)
		return -1;
	*what = "close";
	fd = o->fd;
	o->fd = -1;
	if (close(fd) == -1)
		return -1;
	*what = "rename";
	if (move_to_final(o, suffix, tail) == -1)
		return -1;
	*what = "fsync directory";
	return fs->cfg->sync && fsync(o->d->dirfd) == -1 ? -1 : 0;
}

static enum nds_result
file_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct file_object *o = object_state;
	struct file_dump *d = o->d;
	bool body = o->kind == NDS_OBJ_VMCORE || o->kind == NDS_OBJ_ARCHIVE;
	/* Cut short in a dump that is complete: the name must say so. */
	const char *cut = body && d->dump->status == NDS_STATUS_COMPLETE ?
	    incomplete_tail(d->dump) : NULL;
	const char *what;
	char ebuf[128];
	enum nds_result r = NDS_FAILED;

	if (o->failed) {
		/*
		 * A vmcore or tarball keeps what did get written under its
		 * incomplete name with the transform's suffix, so that a cut
		 * vmcore.0.zst.incomplete says what it is, whatever the dump's
		 * outcome (the host adds ".incomplete" only for a dump that
		 * is). Small objects stay under their hidden temporary names.
		 */
		if (body)
			(void)move_to_final(o, object->suffix, cut);
		sink_seterr(err, "%s: left in place after a failed write",
		    o->name);
		goto out;
	}
	/* Its chain failed before the end (the host says): what came. */
	if (finish_file(o, object->size, object->suffix,
	    object->incomplete ? cut : NULL, &what) == -1) {
		sink_seterr(err, "%s: %s: %s", o->name, what,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (o->kind == NDS_OBJ_VMCORE)
		snprintf(d->vmcore, sizeof(d->vmcore), "%s", o->name);
	if (o->kind == NDS_OBJ_MANIFEST)
		end_unfinished(d, true);
	d->stored[o->kind] = o->kind != NDS_OBJ_VMCORE ||
	    (d->dump->status == NDS_STATUS_COMPLETE && !object->incomplete);
	r = NDS_OK;
out:
	if (r != NDS_OK)
		d->failed = true;
	set_where(d, o->name, where);
	xclose(o->fd);
	free(o);
	return r;
}

/* Remove name if it is an empty regular file: a claim nothing filled. */
static void
drop_if_empty(struct file_dump *d, const char *name)
{
	struct stat st;

	if (fstatat(d->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size == 0)
		(void)unlinkat(d->dirfd, name, 0);
}

/* The empty info.N that reserved the number, if it is still empty. */
static void
drop_placeholder(struct file_dump *d)
{
	char info[NAME_MAX + 1];

	if (final_name(d, NDS_OBJ_INFO, info) == 0)
		drop_if_empty(d, info);
}

static enum nds_result
file_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct file_dump *d = dump_state;
	const struct file_sink *fs = d->fs;
	const struct nds_dump *dump = d->dump;
	enum nds_result r = NDS_OK;
	char ebuf[128];

	pthread_mutex_lock(&retention_lock);
	/* Only a complete dump, stored whole, moves *.last. */
	if (d->layout != LAYOUT_REDHAT &&
	    dump->status == NDS_STATUS_COMPLETE && !d->failed &&
	    d->stored[NDS_OBJ_VMCORE]) {
		if (update_links(d, err) == -1)
			r = NDS_FAILED;
		else if (fs->cfg->sync && fsync(d->dirfd) == -1) {
			sink_seterr(err, "%s: fsync: %s", d->rel[0] != '\0' ?
			    d->rel : ".", sink_errstr(errno, ebuf,
			    sizeof(ebuf)));
			r = NDS_FAILED;
		}
	}
	/*
	 * The boot directory's claim, when no vmcore came (an archive); a
	 * vmcore that failed after some bytes were written is kept in it.
	 */
	if (d->claimed && d->vmcore[0] == '\0')
		drop_if_empty(d, "vmcore-incomplete");
	/*
	 * No info came (an archive chain): drop the empty placeholder, once
	 * the manifest holds N; without one (the tarball failed) it is all
	 * that keeps N from being taken again.
	 */
	if (d->layout != LAYOUT_REDHAT && !d->stored[NDS_OBJ_INFO] &&
	    d->stored[NDS_OBJ_MANIFEST])
		drop_placeholder(d);
	/*
	 * Nothing came here at all (another stage of the chain failed at
	 * begin): no dump to keep a manifest or a number for.
	 */
	if (!d->opened) {
		end_unfinished(d, true);
		if (d->layout != LAYOUT_REDHAT)
			drop_placeholder(d);
	}
	if (d->vmcore[0] != '\0')
		fs->host->log(fs->ctx, NDS_LOG_INFO,
		    "dump %" PRIu64 " from %s: %s%s%s", dump->id,
		    dump->client_addr, d->rel, d->rel[0] != '\0' ? "/" : "",
		    d->vmcore);
	/* Whatever the outcome; still registered, this dump stays. */
	if (fs->cfg->keep > 0 || fs->cfg->max_total > 0 ||
	    fs->cfg->keep_sig > 0)
		run_retention(d);
	pthread_mutex_unlock(&retention_lock);
	unregister_dump(d);
	/* Its end came, its manifest did not: unlocked, it says so now. */
	end_unfinished(d, false);
	xclose(d->dirfd);
	free(d);
	return r;
}

#define OPT(field)	.offset = offsetof(struct file_config, field)

static const struct nds_option file_options[] = {
	{ .name = "layout", .type = NDS_OPT_ENUM, OPT(layout),
	    .default_value = "savecore",
	    .choices = "savecore|netdumpd|redhat",
	    .description = "file naming: savecore, netdumpd or redhat "
	    "(a Linux client's dump: always redhat)" },
	{ .name = "dir", .type = NDS_OPT_STRING, OPT(dir),
	    .description = "directory to store beneath (default: the dump "
	    "directory)" },
	{ .name = "fsync", .type = NDS_OPT_BOOL, OPT(sync),
	    .default_value = "yes",
	    .description = "fsync files and directories when an object is "
	    "finished" },
	{ .name = "mode", .type = NDS_OPT_STRING, OPT(mode),
	    .default_value = "0600",
	    .description = "octal mode of the stored files" },
	{ .name = "keep_per_client", .type = NDS_OPT_INT, OPT(keep),
	    .default_value = "0", .min = 0, .max = MAX_KEEP,
	    .description = "finished dumps to keep per client: the newest "
	    "complete ones; incomplete ones go first (0: keep all)" },
	{ .name = "max_total_size", .type = NDS_OPT_SIZE, OPT(max_total),
	    .default_value = "0",
	    .description = "total size of finished dumps to keep; incomplete "
	    "ones go first (0: no limit)" },
	{ .name = "keep_per_signature", .type = NDS_OPT_INT, OPT(keep_sig),
	    .default_value = "0", .min = 0, .max = MAX_KEEP,
	    .description = "dumps of one panic signature to keep besides its "
	    "first complete one: the newest complete ones; older repeats "
	    "lose their vmcore (0: keep all)" },
	{ .name = "repeats", .type = NDS_OPT_ENUM, OPT(repeats),
	    .default_value = "summary", .choices = "summary|remove",
	    .description = "what a repeat past keep_per_signature keeps: "
	    "summary (its info, message buffer and manifest) or remove "
	    "(nothing)" },
	{ .name = NULL },
};

NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "file",
	.version = "1.0",
	.description = "plain files in savecore, netdumpd or Red Hat layout",
	.caps = 0,
	.options = file_options,
	.config_size = sizeof(struct file_config),
	.create = file_create,
	.start = file_start,
	.destroy = file_destroy,
	.begin = file_begin,
	.open = file_open,
	.write = file_write,
	.hole = file_hole,
	.close = file_close,
	.end = file_end,
};
