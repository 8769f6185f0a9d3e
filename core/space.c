/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "log.h"
#include "sink_load.h"
#include "space.h"

/* Last time a bad minfree file was reported, for the rate limit. */
static atomic_llong minfree_warned;

static void
minfree_warn(const char *dir, const char *what)
{
	long long now = (long long)time(NULL), last;

	last = atomic_load(&minfree_warned);
	/* A clock stepped back since counts as long ago. */
	if ((now >= last && now - last < 60) ||
	    !atomic_compare_exchange_strong(&minfree_warned, &last, now))
		return;
	log_warnx("%s/minfree: %s; taken as 0", dir, what);
}

/*
 * check_space() in sbin/savecore/savecore.c: fgets of the first line,
 * strtoll (main; older trees atoi), a value of 0 or less means none. The
 * file is opened without following a link and without blocking (a FIFO
 * must not stop the receive thread): the dump directory belongs to the
 * user the server runs as, not necessarily to whoever wrote the file.
 */
uint64_t
nd_savecore_minfree(const char *dir)
{
	char path[4096], buf[100], *end;
	struct stat st;
	long long kib;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/minfree", dir) >=
	    (int)sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			minfree_warn(dir, strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		minfree_warn(dir, "not a regular file");
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	errno = 0;
	kib = strtoll(buf, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (end == buf || *end != '\0' || errno == ERANGE) {
		minfree_warn(dir, "not a number of KiB");
		return 0;
	}
	if (kib <= 0)
		return 0;
	return (uint64_t)kib > UINT64_MAX / 1024 ? UINT64_MAX :
	    (uint64_t)kib * 1024;
}

bool
nd_space_ok(const struct nd_server_conf *sv, uint64_t *avail,
    uint64_t *need, const char **floor_name)
{
	struct statvfs vfs;
	uint64_t floor;

	*avail = *need = 0;
	*floor_name = "min_free";
	floor = nd_savecore_minfree(sv->dumpdir);
	if (sv->min_free_bytes == 0 && sv->min_free_percent == 0 &&
	    floor == 0)
		return true;
	if (statvfs(sv->dumpdir, &vfs) == -1) {
		log_warn("statvfs %s", sv->dumpdir);
		return true;
	}
	*avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	*need = sv->min_free_bytes;
	if (sv->min_free_percent > 0)
		*need = (uint64_t)vfs.f_blocks * vfs.f_frsize / 100 *
		    sv->min_free_percent;
	if (floor > *need) {
		*need = floor;
		*floor_name = "savecore's minfree";
	}
	return *avail >= *need;
}

/*
 * nds_host.space_ok: fd's file system keeps reserve bytes free and, when
 * it is the dump directory's, the server's floor as well.
 */
bool
nd_space_ok_fd(const struct nds_dump *dump, int fd, uint64_t reserve,
    char why[NDS_ERRBUF_SIZE])
{
	const struct nd_dump *d = (const struct nd_dump *)(const void *)
	    ((const char *)dump - offsetof(struct nd_dump, pub));
	struct statvfs vfs;
	struct stat a, b;
	const char *floor;
	uint64_t avail, need;

	if (fstatvfs(fd, &vfs) == -1)
		return true;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < reserve) {
		snprintf(why, NDS_ERRBUF_SIZE, "%" PRIu64 " bytes free, below "
		    "the sink's reserve (%" PRIu64 ")", avail, reserve);
		return false;
	}
	if (d->server == NULL || dump->dumpdir_fd < 0 ||
	    fstat(fd, &a) == -1 || fstat(dump->dumpdir_fd, &b) == -1 ||
	    a.st_dev != b.st_dev)
		return true;
	if (nd_space_ok(d->server, &avail, &need, &floor))
		return true;
	snprintf(why, NDS_ERRBUF_SIZE, "%" PRIu64 " bytes free in the dump "
	    "directory's file system, below %s (%" PRIu64 ")", avail, floor,
	    need);
	return false;
}

/* Without O_TMPFILE: a hidden name of our own, unlinked at once. */
static int
named_spool(const struct nds_dump *dump, int dirfd)
{
	struct timespec ts;
	char name[NAME_MAX + 1];
	unsigned int i;
	int fd, save;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (i = 0; i < 16; i++) {
		/* The id and pid keep dumps apart, the rest crash leftovers. */
		snprintf(name, sizeof(name), ".spool.%" PRIu64 ".%ld.%lx",
		    dump->id, (long)getpid(), (unsigned long)ts.tv_nsec + i);
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1) {
			if (errno == EEXIST)
				continue;
			return -1;
		}
		if (unlinkat(dirfd, name, 0) == -1) {
			save = errno;
			close(fd);
			errno = save;
			return -1;
		}
		return fd;
	}
	errno = EEXIST;
	return -1;
}

int
nd_spool_open(const struct nds_dump *dump, const char *dir,
    char err[NDS_ERRBUF_SIZE])
{
	const char *where = dir != NULL ? dir : "the dump directory";
	int base, dirfd, fd, save;

	base = dump->dumpdir_fd >= 0 ? dump->dumpdir_fd : AT_FDCWD;
	if (dir == NULL)
		dir = dump->dumpdir_fd >= 0 ? "." : dump->dumpdir;
	if (dir == NULL) {
		snprintf(err, NDS_ERRBUF_SIZE, "spool in %s: no dump directory",
		    where);
		return -1;
	}
	dirfd = openat(base, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == -1) {
		snprintf(err, NDS_ERRBUF_SIZE, "spool in %s: %s", where,
		    strerror(errno));
		return -1;
	}
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	/* No O_TMPFILE in this file system (EOPNOTSUPP) or kernel. */
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL))
		fd = named_spool(dump, dirfd);
	save = errno;
	close(dirfd);
	if (fd == -1)
		snprintf(err, NDS_ERRBUF_SIZE, "spool in %s: create: %s",
		    where, strerror(save));
	return fd;
}

/* nds_host.dir_open */
int
nd_dir_open(struct nds_host_ctx *ctx, const char *dir,
    char err[NDS_ERRBUF_SIZE])
{
	const char *what = dir != NULL ? dir : "the dump directory";
	int fd, save;

	if (ctx->dumpdir_fd == -1 && (dir == NULL || dir[0] != '/')) {
		snprintf(err, NDS_ERRBUF_SIZE, "%s: the dump directory is "
		    "not open yet", what);
		errno = EBADF;
		return -1;
	}
	fd = openat(ctx->dumpdir_fd, dir != NULL ? dir : ".", O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		save = errno;
		snprintf(err, NDS_ERRBUF_SIZE, "%s: %s", what, strerror(save));
		errno = save;	/* the caller's message may want it */
	}
	return fd;
}

/* nds_host.dir_usable */
int
nd_dir_usable(struct nds_host_ctx *ctx, const char *dir,
    char err[NDS_ERRBUF_SIZE])
{
	const char *what = dir != NULL ? dir : "the dump directory";
	int fd, save;

	if (ctx->dumpdir_fd == -1 && (dir == NULL || dir[0] != '/'))
		return 0;	/* not known yet: nothing to say */
	fd = openat(ctx->dumpdir_fd, dir != NULL ? dir : ".", O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC);
	/* As the user the server runs as (faccessat's AT_EACCESS). */
	if (fd != -1 && faccessat(fd, ".", R_OK | W_OK | X_OK,
	    AT_EACCESS) == 0) {
		close(fd);
		return 0;
	}
	save = errno;
	if (fd != -1)
		close(fd);
	snprintf(err, NDS_ERRBUF_SIZE, "%s: %s", what, strerror(save));
	return -1;
}
