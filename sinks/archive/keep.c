/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * archive: the keep folder (keep.h tells what it is for).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keep.h"
#include "sinkutil.h"

/* Names tried for a folder, and for a leftover's new name. */
#define KEEP_TRIES	16
#define SALVAGE_TRIES	100

/* Undo a keep_make that went wrong: what it made goes. */
static void
unmake(int dirfd, const char *name, int fd, int vfd)
{
	if (vfd != -1) {
		(void)unlinkat(fd, KEEP_VMCORE, 0);
		close(vfd);
	}
	if (fd != -1)
		close(fd);
	(void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

int
keep_make(struct ar_keep *k, int dirfd, uint64_t id, const char *top)
{
	struct stat sb;
	unsigned int i;
	int fd, vfd, save = EEXIST;

	for (i = 0; i < KEEP_TRIES; i++) {
		if (snprintf(k->name, sizeof(k->name), KEEP_PREFIX "%ld-%"
		    PRIu64 "-%u-%s", (long)getpid(), id, i, top) >=
		    (int)sizeof(k->name)) {
			save = ENAMETOOLONG;
			break;
		}
		if (mkdirat(dirfd, k->name, 0700) == -1) {
			if ((save = errno) == EEXIST)
				continue;	/* a previous run's */
			break;
		}
		/*
		 * The lock is the spool's: a regular file's flock works where
		 * a directory's may not (NFS makes it a byte-range lock, which
		 * needs a file open for writing).
		 */
		vfd = -1;
		if ((fd = openat(dirfd, k->name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1 || (vfd = openat(fd,
		    KEEP_VMCORE, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600)) == -1 || flock(vfd, LOCK_EX) == -1) {
			save = errno;
			unmake(dirfd, k->name, fd, vfd);
			if (save == ENOENT)
				continue;	/* taken, see below */
			break;
		}
		/*
		 * Another server starting on this spool_dir may have taken it
		 * for an empty leftover before the lock, and removed it: then
		 * the spool has no link left, and the next name goes.
		 */
		if (fstat(vfd, &sb) == 0 && sb.st_nlink > 0) {
			k->fd = fd;
			return vfd;
		}
		save = ENOENT;
		close(vfd);
		close(fd);
	}
	errno = save;
	return -1;
}

int
keep_put(const struct ar_keep *k, const char *name, const void *buf,
    size_t len)
{
	char tmp[NAME_MAX + 1];
	int fd, save;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(k->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	/* Synced: a key of zeros after a crash would be worse than none. */
	if (sink_pwrite_all(fd, buf, len, 0, NULL) == -1 || fsync(fd) == -1) {
		save = errno;
		close(fd);
		(void)unlinkat(k->fd, tmp, 0);
		errno = save;
		return -1;
	}
	if (close(fd) == -1 || renameat(k->fd, tmp, k->fd, name) == -1) {
		save = errno;
		(void)unlinkat(k->fd, tmp, 0);
		errno = save;
		return -1;
	}
	return 0;
}

void
keep_unname(const struct ar_keep *k)
{
	if (k->fd == -1)
		return;
	/* The spool last: while it is there, its lock says the dump runs. */
	(void)unlinkat(k->fd, KEEP_KEY ".tmp", 0);
	(void)unlinkat(k->fd, KEEP_KEY, 0);
	(void)unlinkat(k->fd, KEEP_VMCORE, 0);
}

int
keep_drop(struct ar_keep *k, int dirfd)
{
	int r = 0, save = 0;

	if (k->fd == -1)
		return 0;
	/* Gone already: a start took it for an empty leftover. */
	if (dirfd == -1 || (unlinkat(dirfd, k->name, AT_REMOVEDIR) == -1 &&
	    errno != ENOENT)) {
		save = dirfd == -1 ? EBADF : errno;
		r = -1;
	}
	close(k->fd);
	k->fd = -1;
	errno = save;
	return r;
}

/* "<top>" of a keep folder's name; NULL if it is not one. */
static const char *
keep_top(const char *name)
{
	int n = -1;

	if (strncmp(name, KEEP_PREFIX, strlen(KEEP_PREFIX)) != 0)
		return NULL;
	name += strlen(KEEP_PREFIX);
	if (sscanf(name, "%*u-%*u-%*u-%n", &n) != 0 || n <= 0 ||
	    name[n] == '\0' || name[n] == '.')
		return NULL;
	return name + n;
}

/*
 * The leftover vmcore's name, by what is known of it: encrypted when its
 * key came (a 13+ kernel sends it first), and the compression its first
 * bytes show (a kernel's compressed dump, or "zstd | archive"): a zstd
 * frame's magic (RFC 8878, 3.1.1) or gzip's with deflate (RFC 1952).
 */
static void
vmcore_name(int vfd, bool key, char *name, size_t len)
{
	unsigned char magic[4] = { 0 };
	const char *ext = "";

	if (pread(vfd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic))
		memset(magic, 0, sizeof(magic));
	if (memcmp(magic, "\x28\xb5\x2f\xfd", 4) == 0)
		ext = ".zst";
	else if (memcmp(magic, "\x1f\x8b\x08", 3) == 0)
		ext = ".gz";
	snprintf(name, len, "%s%s", key ? "vmcore_encrypted" : "vmcore", ext);
}

/* name to "<top>.incomplete" (or "<top>.N.incomplete"), over nothing. */
static int
rename_free(int dirfd, const char *name, const char *top, char *dest,
    size_t len)
{
	struct stat sb;
	unsigned int i;

	for (i = 0; i < SALVAGE_TRIES; i++) {
		if ((i == 0 ? snprintf(dest, len, "%s.incomplete", top) :
		    snprintf(dest, len, "%s.%u.incomplete", top, i)) >=
		    (int)len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (renameat2(dirfd, name, dirfd, dest, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		/* No RENAME_NOREPLACE here: look first. */
		if (fstatat(dirfd, dest, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		return renameat(dirfd, name, dirfd, dest);
	}
	errno = EEXIST;
	return -1;
}

void
keep_salvage_one(const struct nds_host *host, struct nds_host_ctx *ctx,
    int dirfd, const char *name, const char *where, const char *why)
{
	const char *top = keep_top(name);
	char dest[NAME_MAX + 1], vm[32] = KEEP_VMCORE, ebuf[128], what[96];
	struct stat sb;
	bool key;
	int fd, vfd = -1;

	if (top == NULL || (fd = openat(dirfd, name, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	/*
	 * No spool: a folder being made, or one whose dump ended; it goes
	 * if it is empty. A spool locked: a dump of a server that runs.
	 */
	if ((vfd = openat(fd, KEEP_VMCORE, O_RDWR | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		(void)unlinkat(dirfd, name, AT_REMOVEDIR);
		goto out;
	}
	if (flock(vfd, LOCK_EX | LOCK_NB) == -1 || fstat(vfd, &sb) == -1 ||
	    !S_ISREG(sb.st_mode))
		goto out;
	(void)unlinkat(fd, KEEP_KEY ".tmp", 0);
	/* An empty key is none (a crash before it reached the disk). */
	key = fstatat(fd, KEEP_KEY, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode) && sb.st_size > 0;
	if (!key)
		(void)unlinkat(fd, KEEP_KEY, 0);
	if (fstat(vfd, &sb) == -1)
		goto out;
	if (sb.st_size == 0 && !key) {
		/* Killed before a byte was spooled: nothing to keep. */
		(void)unlinkat(fd, KEEP_VMCORE, 0);
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1)
			host->log(ctx, NDS_LOG_WARNING, "%s in %s: cannot "
			    "remove this empty leftover: %s", name, where,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	/* The folder first: renamed, it is no leftover any more. */
	if (rename_free(dirfd, name, top, dest, sizeof(dest)) == -1) {
		host->log(ctx, NDS_LOG_ERR, "%s in %s: the spool of a dump %s, "
		    "left as it is: %s", name, where, why,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (sb.st_size > 0) {
		vmcore_name(vfd, key, vm, sizeof(vm));
		if (strcmp(vm, KEEP_VMCORE) != 0 &&
		    renameat(fd, KEEP_VMCORE, fd, vm) == -1)
			snprintf(vm, sizeof(vm), "%s", KEEP_VMCORE);
		snprintf(what, sizeof(what), "%s (%jd bytes long)%s", vm,
		    (intmax_t)sb.st_size, key ? " and its key" : "");
	} else {
		(void)unlinkat(fd, KEEP_VMCORE, 0);
		snprintf(what, sizeof(what), "its key only");
	}
	host->log(ctx, NDS_LOG_WARNING, "a dump %s is kept as %s in %s, "
	    "never archived: %s", why, dest, where, what);
out:
	if (vfd != -1)
		close(vfd);
	close(fd);
}

void
keep_salvage(const struct nds_host *host, struct nds_host_ctx *ctx,
    int dirfd, const char *where)
{
	struct dirent *de;
	DIR *dp;
	int fd;

	if ((fd = dup(dirfd)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	/* A leftover renamed here may come again: it has another name then. */
	while ((de = readdir(dp)) != NULL)
		if (keep_top(de->d_name) != NULL)
			keep_salvage_one(host, ctx, dirfd, de->d_name, where,
			    "cut short by the server's end");
	closedir(dp);
}
