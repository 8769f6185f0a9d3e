/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: the directories a dump's files go in, resolved with
 * openat2(RESOLVE_BENEATH) (or component by component without following
 * any symlink), so neither the HERALD path nor a symlink in it can lead
 * out of the dump directory.
 */
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <time.h>

#include "file.h"

/* How many "-k" suffixes to try for a Red Hat directory. */
#define MAX_REDHAT_DIRS	1000

/*
 * Open a directory beneath base without following symlinks at all: the
 * fallback for kernels without openat2.
 */
int
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
			/* O_DIRECTORY: ENOTDIR for a symlink. Be precise. */
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
	/*
	 * No symbolic link at all, as open_walk: the path that goes into
	 * "where" must be the one retention walks to the files.
	 */
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
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

/*
 * Room a "where" keeps after a directory of it: for "/" and the longest
 * file name the sink makes ("vmcore_encrypted.<client>.<N>", a suffix,
 * ".incomplete"), and before that for the client's directory ("/" and
 * "<client>-YYYY-MM-DD-HH:MM-N"). A "where" cut to the bare name
 * (set_where) is one retention cannot find the dump's files by.
 */
#define WHERE_NAME_ROOM	112
#define WHERE_DIR_ROOM	48

/* Append a component to the path that goes into "where", room after it. */
static int
rel_append(struct file_dump *d, const char *comp, size_t room)
{
	size_t n = strlen(d->rel);

	if (n + 1 + strlen(comp) + room + 1 > sizeof(d->rel) ||
	    fmtname(d->rel + n, sizeof(d->rel) - n, "%s%s",
	    n == 0 || d->rel[n - 1] == '/' ? "" : "/", comp) == -1) {
		/* Leave it as it was, not cut in the middle of a name. */
		d->rel[n] = '\0';
		return -1;
	}
	return 0;
}

/*
 * How "where" spells the sink's directory: "dir" as the options give it,
 * without trailing slashes, or "" for the dump directory. -1 if too long.
 */
int
base_where(const char *dir, char *out, size_t len)
{
	char *p;

	out[0] = '\0';
	if (dir == NULL || strcmp(dir, ".") == 0)
		return 0;
	if (fmtname(out, len, "%s", dir) == -1)
		return -1;
	/* "a/b/" and "a/b" name the same place. */
	for (p = out + strlen(out) - 1; p > out && *p == '/'; p--)
		*p = '\0';
	return 0;
}

/*
 * The directory everything goes beneath: the dump directory, or "dir"
 * (relative to the dump directory if it is relative). *own is what the
 * caller must close.
 */
int
open_base(struct file_dump *d, int *own, char *err)
{
	const struct nds_dump *dump = d->dump;
	const char *dir = d->fs->cfg->dir;
	char ebuf[128];
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
	} else if (base_where(dir, d->rel, sizeof(d->rel)) == -1) {
		sink_seterr(err, "%s: path too long", dir);
		return -1;
	}
	fd = openat(dump->dumpdir_fd >= 0 ? dump->dumpdir_fd : AT_FDCWD, dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		sink_seterr(err, "%s: %s", dir,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
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
int
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
		if (rel_append(d, norm, WHERE_DIR_ROOM + WHERE_NAME_ROOM) ==
		    -1) {
			close(fd);
			e = ENAMETOOLONG;
			goto fallback;
		}
		return fd;
	}
	e = errno;
	if (e == EMFILE || e == ENFILE || e == ENOMEM) {
		sink_seterr(err, "%s: %s", norm,
		    sink_errstr(e, ebuf, sizeof(ebuf)));
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
int
open_subdir(struct file_dump *d, int parent, const char *name, bool excl,
    char *err)
{
	char ebuf[128];
	int fd, save;

	if (mkdirat(parent, name, 0700) == -1) {
		if (errno != EEXIST || excl)
			goto fail;
	} else if (d->fs->cfg->sync && fsync(parent) == -1)
		goto fail;
	/* No symlink: the directory must be the one beneath parent. */
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		goto fail;
	if (rel_append(d, name, WHERE_NAME_ROOM) == -1) {
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

/*
 * Take the directory for this dump: no dump was stored in it, and the
 * body's name is created here first (O_EXCL), so a second chain or dump
 * at the same moment goes elsewhere. The body's open reuses the file.
 */
static bool
claim_dir(int dirfd)
{
	static const char *const names[] = { "vmcore", "manifest.json" };
	struct stat sb;
	size_t i;
	int fd;

	for (i = 0; i < NITEMS(names); i++)
		if (fstatat(dirfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != ENOENT)
			return false;
	fd = openat(dirfd, "vmcore-incomplete", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return false;
	close(fd);
	return true;
}

/*
 * "<addr>-<YYYY-MM-DD-HH:MM>", then "-1", "-2", ... if that exists; or
 * the client's boot directory.
 */
int
open_redhat_dir(struct file_dump *d, int parent, char *err)
{
	const struct nds_dump *dump = d->dump;
	char stamp[32], name[NAME_MAX + 1], *slash;
	struct tm tm;
	unsigned int k;
	int fd;

	if (localtime_r(&dump->start.tv_sec, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H:%M", &tm) == 0) {
		sink_seterr(err, "cannot format the dump time");
		return -1;
	}
	/*
	 * A Linux client's dump goes beside its console log of this boot,
	 * as with Red Hat's server, unless a dump is already there (a
	 * client that started over): then into a directory of its own.
	 */
	if (dump->boot_dir != NULL && strchr(dump->boot_dir, '/') == NULL &&
	    strcmp(dump->boot_dir, ".") != 0 && strcmp(dump->boot_dir, "..") !=
	    0 && (fd = open_subdir(d, parent, dump->boot_dir, false, err)) !=
	    -1) {
		if (claim_dir(fd)) {
			d->claimed = true;
			return fd;
		}
		close(fd);
		/* Its name off the path that goes into "where". */
		slash = strrchr(d->rel, '/');
		*(slash != NULL ? slash : d->rel) = '\0';
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

