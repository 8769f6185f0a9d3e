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

int
keep_make(struct ar_keep *k, int dirfd, uint64_t id, const char *top)
{
	struct stat sb;
	unsigned int i;
	int fd, save = EEXIST;

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
		fd = openat(dirfd, k->name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1) {
			save = errno;
			continue;
		}
		/*
		 * Another server starting on this spool_dir may have taken it
		 * for an empty leftover in the moment before the lock, and
		 * removed it: then it has no link left, and the next name goes.
		 */
		if (flock(fd, LOCK_EX) == 0 && fstat(fd, &sb) == 0 &&
		    sb.st_nlink > 0) {
			k->fd = fd;
			return 0;
		}
		save = errno != 0 ? errno : ENOENT;
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
	if (sink_pwrite_all(fd, buf, len, 0, NULL) == -1) {
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

int
keep_drop(struct ar_keep *k, int dirfd)
{
	int r = 0;

	if (k->fd == -1)
		return 0;
	(void)unlinkat(k->fd, KEEP_VMCORE, 0);
	(void)unlinkat(k->fd, KEEP_KEY, 0);
	(void)unlinkat(k->fd, KEEP_KEY ".tmp", 0);
	if (dirfd == -1 || unlinkat(dirfd, k->name, AT_REMOVEDIR) == -1)
		r = -1;
	close(k->fd);	/* the lock goes last */
	k->fd = -1;
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
 * The leftover vmcore's name, as the tarball would have it: encrypted
 * when a key came, else with the compression its first bytes show (a
 * kernel's compressed dump, or "zstd | archive").
 */
static const char *
vmcore_name(int fd, bool key)
{
	unsigned char magic[4] = { 0 };
	int vfd;

	if (key)
		return "vmcore_encrypted";
	vfd = openat(fd, KEEP_VMCORE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (vfd != -1) {
		if (pread(vfd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic))
			memset(magic, 0, sizeof(magic));
		close(vfd);
	}
	if (memcmp(magic, "\x28\xb5\x2f\xfd", 4) == 0)
		return "vmcore.zst";
	if (memcmp(magic, "\x1f\x8b", 2) == 0)
		return "vmcore.gz";
	return "vmcore";
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
		if (errno != EINVAL)
			return -1;
		/* No RENAME_NOREPLACE in this file system: look first. */
		if (fstatat(dirfd, dest, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		return renameat(dirfd, name, dirfd, dest);
	}
	errno = EEXIST;
	return -1;
}

static void
salvage_one(const struct nds_host *host, struct nds_host_ctx *ctx,
    int dirfd, const char *name, const char *where)
{
	const char *top = keep_top(name), *vm = NULL;
	char dest[NAME_MAX + 1], ebuf[128], what[96];
	struct stat sb;
	bool key;
	off_t size = 0;
	int fd;

	if (top == NULL || (fd = openat(dirfd, name, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	/* Locked: a dump of a server that runs. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1)
		goto out;
	(void)unlinkat(fd, KEEP_KEY ".tmp", 0);
	key = fstatat(fd, KEEP_KEY, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode);
	if (fstatat(fd, KEEP_VMCORE, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode) && (sb.st_size > 0 || key)) {
		size = sb.st_size;
		vm = vmcore_name(fd, key);
	}
	if (vm == NULL && !key) {
		/* Killed before a byte was spooled: nothing to keep. */
		(void)unlinkat(fd, KEEP_VMCORE, 0);
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1)
			host->log(ctx, NDS_LOG_WARNING, "%s in %s: cannot "
			    "remove this empty leftover: %s", name, where,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if ((vm != NULL && strcmp(vm, KEEP_VMCORE) != 0 &&
	    renameat(fd, KEEP_VMCORE, fd, vm) == -1) ||
	    rename_free(dirfd, name, top, dest, sizeof(dest)) == -1) {
		host->log(ctx, NDS_LOG_ERR, "%s in %s: the spool of a dump cut "
		    "short by the server's end, left as it is: %s", name,
		    where, sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (vm != NULL)
		snprintf(what, sizeof(what), "%s (%jd bytes long)%s", vm,
		    (intmax_t)size, key ? " and its key" : "");
	else
		snprintf(what, sizeof(what), "its key only");
	host->log(ctx, NDS_LOG_WARNING, "a dump cut short by the server's "
	    "end is kept as %s in %s, never archived: %s", dest, where, what);
out:
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
			salvage_one(host, ctx, dirfd, de->d_name, where);
	closedir(dp);
}
