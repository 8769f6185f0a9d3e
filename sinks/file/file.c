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
 *
 * Directories are resolved with openat2(RESOLVE_BENEATH), so neither the
 * HERALD path nor a symlink in it can lead out of the dump directory.
 *
 * Retention (keep_per_client, max_total_size) runs when a dump ends and
 * removes whole finished dumps from anywhere beneath the sink's directory:
 * incomplete ones first, the oldest first, and a complete one only while
 * the complete dumps alone are over the limit. So junk (a HERALD, a few
 * bytes, FINISHED) can never push a complete dump out, of its own client
 * or of another. A dump is finished when its manifest exists, since the
 * core writes the manifest last: without one it is still arriving, or the
 * daemon died while it did, and it is never touched. Neither is a dump
 * between begin and end in this process, whatever sink instance has it:
 * the dump that just ended stays, since its hooks and its outcome line
 * name its files after the sink's end.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netdump/sink.h"
#include "sinkutil.h"

enum file_layout {
	LAYOUT_SAVECORE = 0,	/* in the order of the "layout" choices */
	LAYOUT_NETDUMPD,
	LAYOUT_REDHAT,
};

enum file_opt {
	OPT_LAYOUT = 0,		/* in the order of file_options[] */
	OPT_DIR,
	OPT_FSYNC,
	OPT_MODE,
	OPT_KEEP,
	OPT_MAXSIZE,
};

/* How far past the bounds number to look for a free one. */
#define MAX_PROBE	65536
/* How many "-k" suffixes to try for a Red Hat directory. */
#define MAX_REDHAT_DIRS	1000
/* The upper bound of keep_per_client. */
#define MAX_KEEP	1000000
/* How deep retention looks beneath the sink's directory. */
#define MAX_DEPTH	32

#define NKINDS		NDS_OBJ_NKINDS
#define SUFFIX_MAX	32

/* One per [sink] section; read-only after create. */
struct file_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	enum file_layout	 layout;
	char			*dir;	/* NULL: the server's dump directory */
	bool			 sync;
	mode_t			 mode;
	unsigned int		 keep;	/* keep_per_client; 0: all */
	uint64_t		 max_total; /* max_total_size; 0: no limit */
};

/* One per dump. */
struct file_dump {
	const struct file_sink	*fs;
	const struct nds_dump	*dump;
	int			 dirfd;		/* where the files go */
	unsigned int		 number;	/* N (savecore, netdumpd) */
	bool			 failed;	/* an op of this dump failed */
	bool			 stored[NKINDS]; /* closed under its final name */
	char			 suffix[NKINDS][SUFFIX_MAX]; /* from a transform */
	char			 vmcore[NAME_MAX + 1]; /* final vmcore name */
	char			 rel[NDS_WHERE_SIZE]; /* dirfd, for "where" */
	dev_t			 dev;		/* dirfd's, for retention */
	ino_t			 ino;
	struct file_dump	*next_active;	/* on active_dumps */
};

/* One per object of a dump. */
struct file_object {
	struct file_dump	*d;
	enum nds_object_kind	 kind;
	int			 fd;
	bool			 failed;
	uint64_t		 dataend;	/* end of the data written */
	char			 name[NAME_MAX + 1]; /* current name */
};

/* What a hole is filled with where the file system cannot punch one. */
static const char zeros[64 * 1024];

static int	fmtname(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* snprintf that fails with ENAMETOOLONG instead of truncating. */
static int
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

static int
xclose(int fd)
{
	/* Linux releases the descriptor even when close fails: no retry. */
	return fd == -1 ? 0 : close(fd);
}

/* Write a small file under tmp, then rename it to name. */
static int
replace_file(int dirfd, const char *tmp, const char *name, const void *buf,
    size_t len, mode_t mode, bool sync)
{
	uint64_t failoff;
	int fd, save;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	if (sink_pwrite_all(fd, buf, len, 0, &failoff) == -1 ||
	    fchmod(fd, mode) == -1 || (sync && fsync(fd) == -1))
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) == -1)
		goto fail;
	return 0;
fail:
	save = errno;
	xclose(fd);
	unlinkat(dirfd, tmp, 0);
	errno = save;
	return -1;
}

/*
 * Open a directory beneath base without following symlinks at all: the
 * fallback for kernels without openat2, and stricter than it.
 */
static int
open_walk(int base, const char *rel)
{
	char buf[PATH_MAX], *comp, *next;
	struct stat sb;
	int cur = base, fd, save;

	if (fmtname(buf, sizeof(buf), "%s", rel) == -1)
		return -1;
	for (comp = buf; comp != NULL; comp = next) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		if (strcmp(comp, "..") == 0) {
			errno = EXDEV;
			goto fail;
		}
		fd = openat(cur, *comp == '\0' ? "." : comp,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1) {
			/* O_DIRECTORY says ENOTDIR for a symlink: be precise. */
			if (errno == ENOTDIR && fstatat(cur, comp, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
				errno = ELOOP;
			goto fail;
		}
		if (cur != base)
			close(cur);
		cur = fd;
	}
	return cur;
fail:
	save = errno;
	if (cur != base)
		close(cur);
	errno = save;
	return -1;
}

/* Open the directory rel beneath base; nothing may lead out of base. */
static int
open_beneath(int base, const char *rel)
{
#ifdef SYS_openat2
	struct open_how how;
	int tries;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	for (tries = 0; tries < 16; tries++) {
		fd = syscall(SYS_openat2, base, rel, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		/* EAGAIN: a concurrent rename raced the lookup. */
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	/* A seccomp filter may answer EPERM for a syscall it does not know. */
	if (errno != ENOSYS && errno != EPERM)
		return -1;
#endif
	return open_walk(base, rel);
}

/* Append a component to the path that goes into "where". */
static int
rel_append(struct file_dump *d, const char *comp)
{
	size_t n = strlen(d->rel);

	if (fmtname(d->rel + n, sizeof(d->rel) - n, "%s%s",
	    n == 0 || d->rel[n - 1] == '/' ? "" : "/", comp) == -1) {
		/* Leave it as it was, not cut in the middle of a name. */
		d->rel[n] = '\0';
		return -1;
	}
	return 0;
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
 * "<stem>.N<ext><tail>" (savecore), "<stem>.<client>.N<ext><tail>"
 * (netdumpd) or "<stem><ext><tail>" (redhat).
 */
static int
object_name(const struct file_dump *d, const char *stem, const char *ext,
    const char *tail, char name[NAME_MAX + 1])
{
	switch (d->fs->layout) {
	case LAYOUT_SAVECORE:
		return fmtname(name, NAME_MAX + 1, "%s.%u%s%s", stem,
		    d->number, ext, tail);
	case LAYOUT_NETDUMPD:
		return fmtname(name, NAME_MAX + 1, "%s.%s.%u%s%s", stem,
		    d->dump->client_name, d->number, ext, tail);
	case LAYOUT_REDHAT:
		break;
	}
	return fmtname(name, NAME_MAX + 1, "%s%s%s", stem, ext, tail);
}

/*
 * What follows "vmcore.N" or "vmcore_encrypted.N": savecore's DoFile gives
 * ".gz"/".zst" only to a kernel-compressed dump that is not encrypted, so
 * that decryptcore -n N finds exactly vmcore_encrypted.N. The core says
 * so in vmcore_suffix ("" when encrypted); an encrypted dump ignores it
 * all the same, so that no core can break decryptcore's name. A
 * transform's suffix (".zst") comes last.
 */
static int
vmcore_ext(const struct file_dump *d, char ext[2 * SUFFIX_MAX])
{
	const struct nds_dump *dump = d->dump;
	const char *kernel = "";

	if (!dump->encrypted && dump->vmcore_suffix != NULL)
		kernel = dump->vmcore_suffix;
	return fmtname(ext, 2 * SUFFIX_MAX, "%s%s", kernel,
	    d->suffix[NDS_OBJ_VMCORE]);
}

static const char *
vmcore_stem(const struct file_dump *d)
{
	return d->dump->encrypted ? "vmcore_encrypted" : "vmcore";
}

/* The name an object ends up with, given what the core knows by now. */
static int
final_name(const struct file_dump *d, enum nds_object_kind kind,
    char name[NAME_MAX + 1])
{
	const struct nds_dump *dump = d->dump;
	char ext[2 * SUFFIX_MAX];

	switch (kind) {
	case NDS_OBJ_VMCORE:
		if (vmcore_ext(d, ext) == -1)
			return -1;
		return object_name(d, vmcore_stem(d), ext,
		    dump->status == NDS_STATUS_COMPLETE ? "" : ".incomplete",
		    name);
	case NDS_OBJ_ARCHIVE:
		/* A tarball of the dump: dump.N.tar.zst, like savecore's. */
		return object_name(d, "dump", d->suffix[kind],
		    dump->status == NDS_STATUS_COMPLETE ? "" : ".incomplete",
		    name);
	case NDS_OBJ_KEY:
		return object_name(d, "key", "", "", name);
	case NDS_OBJ_INFO:
		return object_name(d, "info", "", "", name);
	case NDS_OBJ_MANIFEST:
		return object_name(d, "manifest", ".json", "", name);
	case NDS_OBJ_MSGBUF:
		return object_name(d, "msgbuf", "", "", name);
	}
	errno = EINVAL;
	return -1;
}

/* "<stem>.last<ext>" (savecore) or "<stem>.<client>.last" (netdumpd). */
static int
link_name(const struct file_dump *d, const char *stem, const char *ext,
    char name[NAME_MAX + 1])
{
	if (d->fs->layout == LAYOUT_NETDUMPD)
		return fmtname(name, NAME_MAX + 1, "%s.%s.last%s", stem,
		    d->dump->client_name, ext);
	return fmtname(name, NAME_MAX + 1, "%s.last%s", stem, ext);
}

/*
 * Point the symlink name at target, atomically. Anything but a symlink at
 * name (a file someone put there) stays, with a warning, as savecore's
 * symlinkat would leave it: 1.
 */
static int
replace_link(const struct file_dump *d, const char *name, const char *target)
{
	char tmp[NAME_MAX + 1];
	struct stat sb;
	int save;

	if (fstatat(d->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISLNK(sb.st_mode)) {
		d->fs->host->log(d->fs->ctx, NDS_LOG_WARNING, "%s%s%s: not a "
		    "symbolic link: left alone, not pointed at %s", d->rel,
		    d->rel[0] != '\0' ? "/" : "", name, target);
		return 1;
	}
	/* The number keeps concurrent dumps of one client apart. */
	if (fmtname(tmp, sizeof(tmp), ".%s.%u.tmp", name, d->number) == -1)
		return -1;
	if (unlinkat(d->dirfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	if (symlinkat(target, d->dirfd, tmp) == -1)
		return -1;
	if (renameat(d->dirfd, tmp, d->dirfd, name) == -1) {
		save = errno;
		unlinkat(d->dirfd, tmp, 0);
		errno = save;
		return -1;
	}
	return 0;
}

/* A missing, empty or garbled bounds file reads as 0, as in savecore. */
static unsigned int
read_bounds(int dirfd, const char *name)
{
	char buf[32], *p;
	unsigned long v = 0;
	ssize_t n;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return 0;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (p = buf; *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (unsigned long)(*p - '0')) > INT_MAX)
			return 0;
	if (p == buf)
		return 0;
	for (; *p != '\0'; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			return 0;
	return (unsigned int)v;
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
	char line[32], ebuf[128];
	unsigned int first, i;
	int fd = -1, len;
	mode_t bmode;

	if (fs->layout == LAYOUT_NETDUMPD) {
		bmode = 0600;
		if (fmtname(bounds, sizeof(bounds), "bounds.%s", client) == -1)
			goto toolong;
	} else {
		bmode = 0644;
		snprintf(bounds, sizeof(bounds), "bounds");
	}
	first = read_bounds(d->dirfd, bounds);
	for (i = 0; i < MAX_PROBE; i++) {
		d->number = first + i;
		if (object_name(d, "info", "", "", info) == -1)
			goto toolong;
		fd = openat(d->dirfd, info, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		if (i == MAX_PROBE)
			sink_seterr(err, "%s: no free dump number from %u to %u",
			    d->rel[0] != '\0' ? d->rel : ".", first,
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
	    fs->sync) == -1) {
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
 * The directory everything goes beneath: the dump directory, or "dir"
 * (relative to the dump directory if it is relative). *own is what the
 * caller must close.
 */
static int
open_base(struct file_dump *d, int *own, char *err)
{
	const struct nds_dump *dump = d->dump;
	const char *dir = d->fs->dir;
	char ebuf[128], *p;
	int fd;

	*own = -1;
	if (dir == NULL) {
		if (dump->dumpdir_fd >= 0)
			return dump->dumpdir_fd;
		dir = dump->dumpdir;
		if (dir == NULL) {
			sink_seterr(err, "no dump directory");
			return -1;
		}
	} else if (strcmp(dir, ".") != 0) {
		if (rel_append(d, dir) == -1) {
			sink_seterr(err, "%s: path too long", dir);
			return -1;
		}
		/* "a/b/" and "a/b" name the same place. */
		for (p = d->rel + strlen(d->rel) - 1; p > d->rel && *p == '/';
		    p--)
			*p = '\0';
	}
	fd = openat(dump->dumpdir_fd >= 0 ? dump->dumpdir_fd : AT_FDCWD, dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		sink_seterr(err, "%s: %s", dir, sink_errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	*own = fd;
	return fd;
}

/*
 * The HERALD path beneath base. It must exist already (netdump(4): the
 * server does not create it); a path that does not, or that leads out of
 * base, is replaced by base itself and leaves no trace in the names.
 */
static int
open_herald_path(struct file_dump *d, int base, char *err)
{
	const struct file_sink *fs = d->fs;
	const char *path = d->dump->path, *p, *q;
	char norm[PATH_MAX], ebuf[128];
	size_t n = 0, len;
	int fd, e;

	if (path == NULL)
		path = ".";
	norm[0] = '\0';
	if (*path == '/') {
		e = EXDEV;
		goto fallback;
	}
	/* Drop empty and "." components: "a//./b/" is "a/b". */
	for (p = path; *p != '\0'; p = *q == '/' ? q + 1 : q) {
		q = strchrnul(p, '/');
		len = (size_t)(q - p);
		if (len == 0 || (len == 1 && *p == '.'))
			continue;
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			e = EXDEV;
			goto fallback;
		}
		if (n + len + 2 > sizeof(norm)) {
			e = ENAMETOOLONG;
			goto fallback;
		}
		if (n > 0)
			norm[n++] = '/';
		memcpy(norm + n, p, len);
		n += len;
		norm[n] = '\0';
	}
	if (n == 0)
		goto dot;
	if ((fd = open_beneath(base, norm)) != -1) {
		if (rel_append(d, norm) == -1) {
			close(fd);
			e = ENAMETOOLONG;
			goto fallback;
		}
		return fd;
	}
	e = errno;
	if (e == EMFILE || e == ENFILE || e == ENOMEM) {
		sink_seterr(err, "%s: %s", norm, sink_errstr(e, ebuf, sizeof(ebuf)));
		return -1;
	}
fallback:
	fs->host->log(fs->ctx, NDS_LOG_WARNING,
	    "dump %" PRIu64 " from %s: herald path \"%s\" is not usable (%s); "
	    "using the dump directory", d->dump->id, d->dump->client_addr,
	    path, e == EXDEV ? "leads out of the dump directory" :
	    e == ELOOP ? "goes through a symbolic link" :
	    sink_errstr(e, ebuf, sizeof(ebuf)));
dot:
	fd = openat(base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		sink_seterr(err, "dump directory: %s",
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
	return fd;
}

/* Create (if need be) and open the directory name beneath parent. */
static int
open_subdir(struct file_dump *d, int parent, const char *name, bool excl,
    char *err)
{
	char ebuf[128];
	int fd, save;

	if (mkdirat(parent, name, 0700) == -1) {
		if (errno != EEXIST || excl)
			goto fail;
	} else if (d->fs->sync && fsync(parent) == -1)
		goto fail;
	/* No symlink: the directory must be the one beneath parent. */
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		goto fail;
	if (rel_append(d, name) == -1) {
		close(fd);
		errno = ENAMETOOLONG;
		goto fail;
	}
	return fd;
fail:
	/* The caller looks at errno: EEXIST means "try another name". */
	save = errno;
	sink_seterr(err, "%s: %s", name, sink_errstr(save, ebuf, sizeof(ebuf)));
	errno = save;
	return -1;
}

/* "<addr>-<YYYY-MM-DD-HH:MM>", then "-1", "-2", ... if that exists. */
static int
open_redhat_dir(struct file_dump *d, int parent, char *err)
{
	const struct nds_dump *dump = d->dump;
	char stamp[32], name[NAME_MAX + 1];
	struct tm tm;
	unsigned int k;
	int fd;

	if (localtime_r(&dump->start.tv_sec, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H:%M", &tm) == 0) {
		sink_seterr(err, "cannot format the dump time");
		return -1;
	}
	for (k = 0; k < MAX_REDHAT_DIRS; k++) {
		if ((k == 0 ? fmtname(name, sizeof(name), "%s-%s",
		    dump->client_addr, stamp) : fmtname(name, sizeof(name),
		    "%s-%s-%u", dump->client_addr, stamp, k)) == -1) {
			sink_seterr(err, "%s: directory name too long",
			    dump->client_addr);
			return -1;
		}
		fd = open_subdir(d, parent, name, true, err);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	sink_seterr(err, "%s: no free directory name", name);
	return -1;
}

/*
 * Dumps between begin and end, of every instance: the module is loaded once
 * per process, so these are process-wide. Retention leaves them alone even
 * when their manifest exists already.
 */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static struct file_dump *active_dumps;

/*
 * Held while *.last links move and while retention runs: several dumps may
 * end at once and walk the same tree, and a link must not be judged by its
 * old target and removed after another dump pointed it at its own files.
 */
static pthread_mutex_t retention_lock = PTHREAD_MUTEX_INITIALIZER;

static int
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

static void
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

/* What one object file's name says, as far as retention is concerned. */
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

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

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

struct ret_file {
	char		*name;
	uint64_t	 size;
	bool		 manifest;
};

/* One finished dump found beneath the sink's directory. */
struct ret_dump {
	char		*dir;		/* from the sink's directory; "." */
	char		*sub;		/* redhat: the dump's own, in dir */
	char		*client;
	const char	*label;		/* one of files, for the log */
	struct ret_file	*files;
	size_t		 nfiles;
	dev_t		 dev;		/* of the files' directory */
	ino_t		 ino;
	unsigned int	 number;
	struct timespec	 mtime;		/* of the manifest */
	uint64_t	 size;		/* disk usage of what is left */
	bool		 complete;
	bool		 mine;		/* of the client that dumped */
	bool		 active;	/* between begin and end */
	bool		 tried;		/* removal attempted */
	bool		 gone;		/* removed, all of it */
};

struct ret_scan {
	const struct file_dump	*d;	/* the dump that ended */
	struct ret_dump		*v;
	size_t			 n, cap;
};

struct ret_ent {
	char		*name;
	unsigned char	 type;		/* DT_* */
};

static void ret_warn(const struct file_sink *, const char *, const char *,
    int);

static void
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
			    t + q + 1 + nd, left - q - 1 - nd, &p->incomplete)) {
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
static bool
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

/*
 * Removal order: incomplete before complete (a complete dump is what the
 * limits are there to keep), then oldest first.
 */
static int
cmp_ret_dump(const void *a, const void *b)
{
	const struct ret_dump *x = a, *y = b;
	int c;

	if (x->complete != y->complete)
		return x->complete ? 1 : -1;
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
	if (sc->d->fs->layout == LAYOUT_REDHAT)
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
	    sc->d->fs->layout;
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
 * Find the finished dumps in the directory fd (path from the sink's
 * directory, dname its last component) and beneath it. Takes fd. Only
 * running out of memory stops the walk; a directory that cannot be read is
 * skipped with a warning.
 */
static int
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
	if (fs->layout != LAYOUT_REDHAT && collect_dumps(sc, dirfd(dp), path,
	    NULL, dname, strlen(dname), ents, n) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		/* Hidden: temporaries, and no snapshots (.zfs, .snapshot). */
		if (ents[i].type != DT_DIR || ents[i].name[0] == '.')
			continue;
		alen = fs->layout == LAYOUT_REDHAT ?
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

static bool
is_active(enum file_layout layout, const struct ret_dump *rd)
{
	const struct file_dump *a;
	bool found = false;

	pthread_mutex_lock(&active_lock);
	for (a = active_dumps; a != NULL && !found; a = a->next_active)
		found = a->fs->layout == layout && a->dev == rd->dev &&
		    a->ino == rd->ino && (layout == LAYOUT_REDHAT ||
		    (a->number == rd->number && (layout == LAYOUT_SAVECORE ||
		    strcmp(a->dump->client_name, rd->client) == 0)));
	pthread_mutex_unlock(&active_lock);
	return found;
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
		if (!last_link_name(fs->layout, de->d_name))
			continue;
		len = readlinkat(dfd, de->d_name, target, sizeof(target) - 1);
		if (len == -1)
			continue;	/* not a link, or gone */
		target[len] = '\0';
		for (i = 0; i < rd->nfiles; i++)
			if (strcmp(target, rd->files[i].name) == 0)
				break;
		if (i < rd->nfiles && unlinkat(dfd, de->d_name, 0) == -1 &&
		    errno != ENOENT)
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
	size_t i, n, at;
	const char *sep = " +";

	n = (size_t)snprintf(buf, len, "%s%s%s", path, path[0] != '\0' ?
	    "/" : "", rd->label);
	for (i = 0; i < rd->nfiles && n < len; i++) {
		if (rd->files[i].name == rd->label)
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

/*
 * Remove one dump: the *.last links that point at it, its files, the
 * manifest last (a dump cut short here is still finished, and goes next
 * time), then a redhat dump's directory.
 */
static void
remove_dump(const struct file_sink *fs, int root, struct ret_dump *rd,
    const char *why)
{
	char path[PATH_MAX], sz[32], what[NAME_MAX + 32], files[PATH_MAX];
	uint64_t freed = 0;
	struct stat sb;
	bool failed = false;
	size_t i;
	int fd, hfd = -1, pass;

	rd->tried = true;
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
	if (fs->layout != LAYOUT_REDHAT)
		unlink_last_links(fs, hfd, path[0] != '\0' ? path : ".", rd);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < rd->nfiles; i++) {
			if (rd->files[i].manifest != (pass == 1) ||
			    (pass == 1 && failed))
				continue;
			if (unlinkat(hfd, rd->files[i].name, 0) == 0 ||
			    errno == ENOENT)
				freed += rd->files[i].size;
			else {
				ret_warn(fs, rd->files[i].name, "unlink",
				    errno);
				failed = true;
			}
		}
	rd->size -= freed;
	if (!failed && rd->sub != NULL && unlinkat(fd, rd->sub,
	    AT_REMOVEDIR) == -1 && errno != ENOENT) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			fs->host->log(fs->ctx, NDS_LOG_NOTICE, "retention: %s: "
			    "kept the directory: it holds other files", path);
		else
			ret_warn(fs, path, "rmdir", errno);
	}
	fmt_size(freed, sz, sizeof(sz));
	fmt_removed(rd, path, files, sizeof(files));
	if (rd->sub != NULL)
		snprintf(what, sizeof(what), "of %s", rd->client);
	else
		snprintf(what, sizeof(what), "%u of %s", rd->number,
		    rd->client[0] != '\0' ? rd->client : "?");
	if (failed)
		fs->host->log(fs->ctx, NDS_LOG_WARNING, "retention: dump %s "
		    "(%s) removed in part, %s freed: %s", what, files, sz,
		    why);
	else
		fs->host->log(fs->ctx, NDS_LOG_INFO, "retention: removed dump "
		    "%s (%s; %s): %s", what, files, sz, why);
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
	const char *dir = d->fs->dir;
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
	struct ret_dump *rd;
	char why[160];
	size_t i, all = 0, complete = 0;

	for (i = 0; i < sc->n; i++)
		if (sc->v[i].mine) {
			all++;
			if (sc->v[i].complete)
				complete++;
		}
	for (i = 0; i < sc->n; i++) {
		rd = &sc->v[i];
		if (!rd->mine || rd->active ||
		    (rd->complete ? complete : all) <= fs->keep)
			continue;
		if (rd->complete)
			snprintf(why, sizeof(why), "keep_per_client = %u: the "
			    "oldest of the client's %zu complete dumps",
			    fs->keep, complete);
		else
			snprintf(why, sizeof(why), "keep_per_client = %u: "
			    "incomplete, and the client had %zu dumps",
			    fs->keep, all);
		remove_dump(fs, root, rd, why);
		if (rd->gone) {
			all--;
			if (rd->complete)
				complete--;
		}
	}
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
	struct ret_dump *rd;
	char why[160], lim[32], sz[32];
	uint64_t all = 0, complete = 0, before, freed;
	size_t i;

	for (i = 0; i < sc->n; i++) {
		all += sc->v[i].size;
		if (sc->v[i].complete)
			complete += sc->v[i].size;
	}
	fmt_size(fs->max_total, lim, sizeof(lim));
	for (i = 0; i < sc->n; i++) {
		rd = &sc->v[i];
		/* keep_per_client failed on it (in part): not again. */
		if (rd->active || rd->tried ||
		    (rd->complete ? complete : all) <= fs->max_total)
			continue;
		fmt_size(rd->complete ? complete : all, sz, sizeof(sz));
		if (rd->complete)
			snprintf(why, sizeof(why), "max_total_size = %s: the "
			    "oldest complete dump, and complete dumps took %s",
			    lim, sz);
		else
			snprintf(why, sizeof(why), "max_total_size = %s: "
			    "incomplete, and %s were stored", lim, sz);
		before = rd->size;
		remove_dump(fs, root, rd, why);
		freed = before - rd->size;
		all -= freed;
		if (rd->complete)
			complete -= freed;
	}
}

/*
 * After a dump of d's client ended: keep_per_client for that client, then
 * max_total_size for everything beneath the sink's directory (ret_keep and
 * ret_total say which dumps go). Called with retention_lock held; never
 * fails the dump.
 */
static void
run_retention(const struct file_dump *d)
{
	const struct file_sink *fs = d->fs;
	struct ret_scan sc;
	size_t i;
	int root, fd;

	memset(&sc, 0, sizeof(sc));
	sc.d = d;
	if ((root = open_root(d)) == -1) {
		ret_warn(fs, fs->dir != NULL ? fs->dir : "dump directory",
		    "open", errno);
		return;
	}
	if ((fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		ret_warn(fs, fs->dir != NULL ? fs->dir : "dump directory",
		    "open", errno);
		goto out;
	}
	if (scan_dir(&sc, fd, ".", "", 0) == -1) {
		/* Half a picture could pick the wrong dumps: do nothing. */
		ret_warn(fs, fs->dir != NULL ? fs->dir : "dump directory",
		    "scan", ENOMEM);
		goto out;
	}
	qsort(sc.v, sc.n, sizeof(*sc.v), cmp_ret_dump);
	/* The dump that ended is still registered: it is active too. */
	for (i = 0; i < sc.n; i++)
		sc.v[i].active = is_active(fs->layout, &sc.v[i]);
	if (fs->keep > 0)
		ret_keep(fs, root, &sc);
	if (fs->max_total > 0)
		ret_total(fs, root, &sc);
out:
	for (i = 0; i < sc.n; i++)
		free_ret_dump(&sc.v[i]);
	free(sc.v);
	close(root);
}

static enum nds_result
file_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const struct nds_optval *values, void **instance,
    char err[NDS_ERRBUF_SIZE])
{
	struct file_sink *fs;
	const char *mode;
	char *end;
	unsigned long m;

	*instance = NULL;
	if (host == NULL || host->abi_major != NDS_ABI_MAJOR ||
	    host->struct_size < offsetof(struct nds_host, log) +
	    sizeof(host->log) || host->log == NULL) {
		sink_seterr(err, "unsupported host interface");
		return NDS_FATAL;
	}
	if (values[OPT_LAYOUT].num < LAYOUT_SAVECORE ||
	    values[OPT_LAYOUT].num > LAYOUT_REDHAT) {
		sink_seterr(err, "layout: unknown layout");
		return NDS_FATAL;
	}
	if (values[OPT_DIR].str != NULL && values[OPT_DIR].str[0] == '\0') {
		sink_seterr(err, "dir: empty path");
		return NDS_FATAL;
	}
	mode = values[OPT_MODE].str != NULL ? values[OPT_MODE].str : "0600";
	errno = 0;
	m = strtoul(mode, &end, 8);
	/* Permission bits only: a dump is never setuid or sticky. */
	if (*mode < '0' || *mode > '7' || *end != '\0' || errno != 0 ||
	    m > 0777) {
		sink_seterr(err, "mode: \"%s\" is not an octal file mode up to 0777",
		    mode);
		return NDS_FATAL;
	}
	/* The host checks the ranges; a host that did not is no excuse. */
	if (values[OPT_KEEP].num < 0 || values[OPT_KEEP].num > MAX_KEEP) {
		sink_seterr(err, "keep_per_client: not in [0, %d]", MAX_KEEP);
		return NDS_FATAL;
	}
	if (values[OPT_MAXSIZE].num < 0) {
		sink_seterr(err, "max_total_size: negative");
		return NDS_FATAL;
	}

	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		goto nomem;
	fs->host = host;
	fs->ctx = ctx;
	fs->layout = (enum file_layout)values[OPT_LAYOUT].num;
	fs->sync = values[OPT_FSYNC].num != 0;
	fs->mode = (mode_t)m;
	fs->keep = (unsigned int)values[OPT_KEEP].num;
	fs->max_total = (uint64_t)values[OPT_MAXSIZE].num;
	if (values[OPT_DIR].str != NULL &&
	    (fs->dir = strdup(values[OPT_DIR].str)) == NULL) {
		free(fs);
		goto nomem;
	}
	*instance = fs;
	return NDS_OK;
nomem:
	sink_seterr(err, "out of memory");
	return NDS_FATAL;
}

static void
file_destroy(void *instance)
{
	struct file_sink *fs = instance;

	if (fs == NULL)
		return;
	free(fs->dir);
	free(fs);
}

static enum nds_result
file_begin(void *instance, const struct nds_dump *dump, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	const struct file_sink *fs = instance;
	struct file_dump *d;
	char ebuf[128];
	int base, own = -1, pathfd = -1;

	*dump_state = NULL;
	if (dump == NULL || dump->magic != NDS_DUMP_MAGIC ||
	    dump->struct_size < sizeof(*dump)) {
		sink_seterr(err, "bad dump descriptor");
		return NDS_FAILED;
	}
	if (fs->layout != LAYOUT_REDHAT && !safe_name(dump->client_name)) {
		sink_seterr(err, "client name is not a safe file name");
		return NDS_FAILED;
	}
	if (fs->layout == LAYOUT_REDHAT && !safe_name(dump->client_addr)) {
		sink_seterr(err, "client address is not a safe file name");
		return NDS_FAILED;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	d->fs = fs;
	d->dump = dump;
	d->dirfd = -1;

	if ((base = open_base(d, &own, err)) == -1)
		goto fail;
	if ((pathfd = open_herald_path(d, base, err)) == -1)
		goto fail;
	switch (fs->layout) {
	case LAYOUT_SAVECORE:
		d->dirfd = open_subdir(d, pathfd, dump->client_name, false,
		    err);
		break;
	case LAYOUT_NETDUMPD:
		d->dirfd = pathfd;
		pathfd = -1;
		break;
	case LAYOUT_REDHAT:
		d->dirfd = open_redhat_dir(d, pathfd, err);
		break;
	}
	if (d->dirfd == -1)
		goto fail;
	if (fs->layout != LAYOUT_REDHAT && reserve_number(d, err) == -1)
		goto fail;
	if (register_dump(d) == -1) {
		sink_seterr(err, "%s: fstat: %s", d->rel[0] != '\0' ? d->rel : ".",
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto fail;
	}
	/* For info's "Bounds: N", as savecore writes it. */
	if (fs->layout != LAYOUT_REDHAT &&
	    fs->host->struct_size >= offsetof(struct nds_host, dump_number) +
	    sizeof(fs->host->dump_number) && fs->host->dump_number != NULL)
		fs->host->dump_number(dump, d->number);

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
	if (kind == NDS_OBJ_VMCORE || kind == NDS_OBJ_ARCHIVE)
		/* The outcome, hence the final name, is not known yet. */
		r = object_name(d, kind == NDS_OBJ_VMCORE ? "vmcore" : "dump",
		    "", ".incomplete", o->name);
	else if ((r = final_name(d, kind, final)) == 0)
		r = fmtname(o->name, sizeof(o->name), ".%s.tmp", final);
	if (r == -1) {
		sink_seterr(err, "object %d: %s", (int)kind,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto fail;
	}
	o->fd = openat(d->dirfd, o->name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (o->fd == -1) {
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

static void
object_failed(struct file_object *o)
{
	o->failed = true;
	o->d->failed = true;
}

static enum nds_result
file_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct file_object *o = object_state;
	uint64_t failoff = offset;
	char ebuf[128];

	if (len == 0)
		return NDS_OK;
	if (offset > INT64_MAX || len > INT64_MAX - offset) {
		errno = EFBIG;
		goto fail;
	}
	if (sink_pwrite_all(o->fd, buf, len, offset, &failoff) == -1)
		goto fail;
	if (offset + len > o->dataend)
		o->dataend = offset + len;
	return NDS_OK;
fail:
	sink_seterr(err, "%s: write at offset %" PRIu64 ": %s", o->name, failoff,
	    sink_errstr(errno, ebuf, sizeof(ebuf)));
	object_failed(o);
	return NDS_FAILED;
}

static enum nds_result
file_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct file_object *o = object_state;
	uint64_t end, failoff = offset;
	size_t n;
	char ebuf[128];
	int r;

	if (len == 0)
		return NDS_OK;
	if (offset > INT64_MAX || len > INT64_MAX - offset) {
		errno = EFBIG;
		goto fail;
	}
	/*
	 * Beyond the data the range reads as zeros already, and close
	 * extends the file to its logical size without allocating it.
	 */
	if (offset >= o->dataend)
		return NDS_OK;
	/* Over data already written (a rewrite): punch it out. */
	end = offset + len < o->dataend ? offset + len : o->dataend;
	do
		r = fallocate(o->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    (off_t)offset, (off_t)(end - offset));
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return NDS_OK;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		goto fail;
	/* A file system that cannot punch holes gets zeros written. */
	while (offset < end) {
		n = end - offset < sizeof(zeros) ? (size_t)(end - offset) :
		    sizeof(zeros);
		if (sink_pwrite_all(o->fd, zeros, n, offset, &failoff) == -1)
			goto fail;
		offset += n;
	}
	return NDS_OK;
fail:
	sink_seterr(err, "%s: hole at offset %" PRIu64 ": %s", o->name, failoff,
	    sink_errstr(errno, ebuf, sizeof(ebuf)));
	object_failed(o);
	return NDS_FAILED;
}

/*
 * A transform's suffix (".zst", ".tar.gz") becomes part of the name; it
 * must look like one, since it comes from another module.
 */
static int
set_suffix(struct file_dump *d, enum nds_object_kind kind, const char *suffix)
{
	const char *p;

	if (suffix == NULL)
		suffix = "";
	if (strlen(suffix) >= SUFFIX_MAX || (suffix[0] != '\0' &&
	    suffix[0] != '.')) {
		errno = EINVAL;
		return -1;
	}
	for (p = suffix; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-')) {
			errno = EINVAL;
			return -1;
		}
	snprintf(d->suffix[kind], SUFFIX_MAX, "%s", suffix);
	return 0;
}

static void
incomplete_name(struct file_dump *d, struct file_object *o, const char *suffix)
{
	char final[NAME_MAX + 1];
	char ext[2 * SUFFIX_MAX];

	if (o->kind != NDS_OBJ_VMCORE && o->kind != NDS_OBJ_ARCHIVE)
		return;
	if (set_suffix(d, o->kind, suffix) == -1)
		return;
	if (o->kind == NDS_OBJ_VMCORE) {
		if (vmcore_ext(d, ext) == -1 || object_name(d, vmcore_stem(d),
		    ext, ".incomplete", final) == -1)
			return;
	} else if (object_name(d, "dump", d->suffix[o->kind], ".incomplete",
	    final) == -1)
		return;
	if (strcmp(final, o->name) != 0 &&
	    renameat(d->dirfd, o->name, d->dirfd, final) == 0)
		snprintf(o->name, sizeof(o->name), "%s", final);
}

static enum nds_result
file_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct file_object *o = object_state;
	struct file_dump *d = o->d;
	const struct file_sink *fs = d->fs;
	const char *what;
	char final[NAME_MAX + 1], ebuf[128];
	enum nds_result r = NDS_FAILED;
	int fd;

	if (o->failed) {
		/*
		 * Keep what did get written. A vmcore or tarball gets its
		 * incomplete name with the transform's suffix, so a cut
		 * vmcore.0.zst.incomplete says what it is; small objects stay
		 * under their hidden temporary names.
		 */
		incomplete_name(d, o, object->suffix);
		sink_seterr(err, "%s: left in place after a failed write", o->name);
		goto out;
	}
	what = "truncate";
	if (object->size > INT64_MAX) {
		errno = EFBIG;
		goto fail;
	}
	/* Cuts compressed-dump padding, or extends over trailing holes. */
	if (ftruncate(o->fd, (off_t)object->size) == -1)
		goto fail;
	what = "chmod";
	if (fchmod(o->fd, fs->mode) == -1)
		goto fail;
	what = "fsync";
	if (fs->sync && fsync(o->fd) == -1)
		goto fail;
	what = "close";
	fd = o->fd;
	o->fd = -1;
	if (close(fd) == -1)
		goto fail;
	what = "rename";
	if (set_suffix(d, o->kind, object->suffix) == -1 ||
	    final_name(d, o->kind, final) == -1)
		goto fail;
	if (strcmp(final, o->name) != 0) {
		if (renameat(d->dirfd, o->name, d->dirfd, final) == -1)
			goto fail;
		snprintf(o->name, sizeof(o->name), "%s", final);
	}
	what = "fsync directory";
	if (fs->sync && fsync(d->dirfd) == -1)
		goto fail;

	if (o->kind == NDS_OBJ_VMCORE) {
		snprintf(d->vmcore, sizeof(d->vmcore), "%s", final);
		d->stored[o->kind] =
		    d->dump->status == NDS_STATUS_COMPLETE;
	} else if ((unsigned int)o->kind < NKINDS)
		d->stored[o->kind] = true;
	r = NDS_OK;
	goto out;
fail:
	sink_seterr(err, "%s: %s: %s", o->name, what,
	    sink_errstr(errno, ebuf, sizeof(ebuf)));
out:
	if (r != NDS_OK)
		d->failed = true;
	set_where(d, o->name, where);
	xclose(o->fd);
	free(o);
	return r;
}

/*
 * Every "*.last" name a dump directory may hold. Before the new dump is
 * linked, those that are symlinks go (never anything else), as in
 * savecore's symlinks_remove() (sbin/savecore/savecore.c), so that no link
 * of another kind is left naming an older dump: a plain dump after an
 * encrypted one leaves no key.last and no vmcore_encrypted.last*. The
 * list is savecore's, plus vmcore_encrypted.last.zst, which savecore
 * forgets (a stale one would name an older dump), and manifest.last.json,
 * which only this sink makes. The netdumpd layout names them
 * "<stem>.<client>.last<ext>": each client's own set.
 */
static const struct {
	const char	*stem, *ext;
} last_links[] = {
	{ "info", "" },
	{ "key", "" },
	{ "vmcore", "" },
	{ "vmcore", ".gz" },
	{ "vmcore", ".zst" },
	{ "vmcore_encrypted", "" },
	{ "vmcore_encrypted", ".gz" },
	{ "vmcore_encrypted", ".zst" },
	{ "textdump.tar", "" },
	{ "textdump.tar", ".gz" },
	{ "livecore", "" },
	{ "livecore", ".gz" },
	{ "livecore", ".zst" },
	{ "manifest", ".json" },
};

/* One link update_links makes. */
struct new_link {
	char	name[NAME_MAX + 1];
	char	target[NAME_MAX + 1];
};

/*
 * The vmcore's link. savecore: "<stem>.last" and the file's suffix, but
 * for an encrypted kernel-compressed dump the suffix of the KDH's
 * compression though the file has none, as DoFile names it:
 * vmcore_encrypted.last.zst -> vmcore_encrypted.N. netdumpd:
 * "vmcore.<client>.last" whatever the file, as the ports daemon does.
 */
static int
vmcore_link_name(const struct file_dump *d, char name[NAME_MAX + 1])
{
	const struct nds_kdh *kdh = d->dump->kdh;
	char ext[2 * SUFFIX_MAX];

	if (d->fs->layout == LAYOUT_NETDUMPD)
		return link_name(d, "vmcore", "", name);
	if (vmcore_ext(d, ext) == -1)
		return -1;
	if (ext[0] == '\0' && d->dump->encrypted && kdh != NULL)
		snprintf(ext, sizeof(ext), "%s",
		    kdh->compression == NDS_COMP_GZIP ? ".gz" :
		    kdh->compression == NDS_COMP_ZSTD ? ".zst" : "");
	return link_name(d, vmcore_stem(d), ext, name);
}

/*
 * Remove the symlinks of last_links[] but those about to be replaced
 * (atomically, by replace_link) with links to this dump.
 */
static void
remove_stale_links(const struct file_dump *d, const struct new_link *nl,
    size_t n)
{
	char name[NAME_MAX + 1], ebuf[128];
	struct stat sb;
	size_t i, j;

	for (i = 0; i < NITEMS(last_links); i++) {
		if (link_name(d, last_links[i].stem, last_links[i].ext,
		    name) == -1)
			continue;
		for (j = 0; j < n && strcmp(nl[j].name, name) != 0; j++)
			;
		if (j < n || fstatat(d->dirfd, name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISLNK(sb.st_mode))
			continue;
		if (unlinkat(d->dirfd, name, 0) == -1 && errno != ENOENT)
			d->fs->host->log(d->fs->ctx, NDS_LOG_WARNING,
			    "%s%s%s: unlink: %s", d->rel, d->rel[0] != '\0' ?
			    "/" : "", name, sink_errstr(errno, ebuf,
			    sizeof(ebuf)));
	}
}

/* Point the *.last symlinks at this dump, as savecore and netdumpd do. */
static int
update_links(struct file_dump *d, char *err)
{
	static const struct {
		enum nds_object_kind	 kind;
		const char		*stem, *ext;
		bool			 netdumpd;	/* netdumpd links it too */
	} links[] = {
		{ NDS_OBJ_INFO, "info", "", true },
		{ NDS_OBJ_KEY, "key", "", false },
		{ NDS_OBJ_MANIFEST, "manifest", ".json", false },
	};
	struct new_link nl[1 + NITEMS(links)];
	char ebuf[128];
	const char *what = "vmcore";
	size_t i, n = 0;

	if (vmcore_link_name(d, nl[n].name) == -1)
		goto fail;
	snprintf(nl[n++].target, sizeof(nl[0].target), "%s", d->vmcore);
	for (i = 0; i < NITEMS(links); i++) {
		/* A dump without a key links none: key.last goes. */
		if (!d->stored[links[i].kind] ||
		    (d->fs->layout == LAYOUT_NETDUMPD && !links[i].netdumpd))
			continue;
		what = links[i].stem;
		if (link_name(d, links[i].stem, links[i].ext,
		    nl[n].name) == -1 ||
		    final_name(d, links[i].kind, nl[n].target) == -1)
			goto fail;
		n++;
	}
	remove_stale_links(d, nl, n);
	for (i = 0; i < n; i++) {
		what = nl[i].name;
		if (replace_link(d, nl[i].name, nl[i].target) == -1)
			goto fail;
	}
	return 0;
fail:
	sink_seterr(err, "%s: symlink: %s", what, sink_errstr(errno, ebuf,
	    sizeof(ebuf)));
	return -1;
}

/* The empty info.N that reserved the number, if it is still empty. */
static void
drop_placeholder(struct file_dump *d)
{
	char info[NAME_MAX + 1];
	struct stat st;

	if (object_name(d, "info", "", "", info) == -1)
		return;
	if (fstatat(d->dirfd, info, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size == 0)
		(void)unlinkat(d->dirfd, info, 0);
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
	if (fs->layout != LAYOUT_REDHAT && dump->status == NDS_STATUS_COMPLETE &&
	    !d->failed && d->stored[NDS_OBJ_VMCORE]) {
		if (update_links(d, err) == -1)
			r = NDS_FAILED;
		else if (fs->sync && fsync(d->dirfd) == -1) {
			sink_seterr(err, "%s: fsync: %s", d->rel[0] != '\0' ?
			    d->rel : ".", sink_errstr(errno, ebuf, sizeof(ebuf)));
			r = NDS_FAILED;
		}
	}
	/* No info came (an archive chain): drop the empty placeholder. */
	if (fs->layout != LAYOUT_REDHAT && !d->stored[NDS_OBJ_INFO])
		drop_placeholder(d);
	if (d->vmcore[0] != '\0')
		fs->host->log(fs->ctx, NDS_LOG_INFO,
		    "dump %" PRIu64 " from %s: %s%s%s", dump->id,
		    dump->client_addr, d->rel, d->rel[0] != '\0' ? "/" : "",
		    d->vmcore);
	/*
	 * Whatever the outcome: this dump's files are final now, and it is
	 * still registered, so it stays whatever the limits say.
	 */
	if (fs->keep > 0 || fs->max_total > 0)
		run_retention(d);
	pthread_mutex_unlock(&retention_lock);
	unregister_dump(d);
	xclose(d->dirfd);
	free(d);
	return r;
}

static const struct nds_option file_options[] = {
	{ "layout", NDS_OPT_ENUM, "savecore", "savecore|netdumpd|redhat",
	    0, 0, "file naming: savecore, netdumpd or redhat" },
	{ "dir", NDS_OPT_STRING, NULL, NULL, 0, 0,
	    "directory to store beneath (default: the dump directory)" },
	{ "fsync", NDS_OPT_BOOL, "yes", NULL, 0, 0,
	    "fsync files and directories when an object is finished" },
	{ "mode", NDS_OPT_STRING, "0600", NULL, 0, 0,
	    "octal mode of the stored files" },
	{ "keep_per_client", NDS_OPT_INT, "0", NULL, 0, MAX_KEEP,
	    "finished dumps to keep per client: the newest complete ones; "
	    "incomplete ones go first (0: keep all)" },
	{ "max_total_size", NDS_OPT_SIZE, "0", NULL, 0, 0,
	    "total size of finished dumps to keep; incomplete ones go first "
	    "(0: no limit)" },
	{ NULL, NDS_OPT_STRING, NULL, NULL, 0, 0, NULL },
};

/* The one symbol the module exports. */
NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "file",
	.version = "1.0",
	.description = "plain files in savecore, netdumpd or Red Hat layout",
	.caps = 0,
	.options = file_options,
	.create = file_create,
	.destroy = file_destroy,
	.begin = file_begin,
	.open = file_open,
	.write = file_write,
	.hole = file_hole,
	.close = file_close,
	.end = file_end,
};
