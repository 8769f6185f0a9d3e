/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sinkutil.h"

_Static_assert(sizeof(off_t) == 8, "dumps pass 4 GiB: build with "
    "_FILE_OFFSET_BITS=64");

/* How often to retry a write that returned EAGAIN before giving up. */
#define MAX_EAGAIN	1000

void
sink_seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, NDS_ERRBUF_SIZE, fmt, ap);
	va_end(ap);
}

const char *
sink_errstr(int e, char *buf, size_t len)
{
#if defined(__GLIBC__)
	return strerror_r(e, buf, len);
#else
	if (strerror_r(e, buf, len) != 0)
		snprintf(buf, len, "error %d", e);
	return buf;
#endif
}

int
sink_pwrite_all(int fd, const void *buf, size_t len, uint64_t off,
    uint64_t *failoff)
{
	const char *p = buf;
	const struct timespec pause = { 0, 1000000 };
	unsigned int again = 0;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && again++ < MAX_EAGAIN) {
				nanosleep(&pause, NULL);
				continue;
			}
			goto fail;
		}
		if (n == 0) {
			/* A regular file never does this; do not spin. */
			errno = EIO;
			goto fail;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
fail:
	if (failoff != NULL)
		*failoff = off;
	return -1;
}

void
sink_check_dir(const struct nds_host *host, struct nds_host_ctx *ctx,
    const char *option, const char *dir)
{
	char why[NDS_ERRBUF_SIZE];

	if (dir != NULL && host->dir_usable(ctx, dir, why) == -1)
		host->log(ctx, NDS_LOG_WARNING, "%s %s; every dump for this "
		    "sink fails until the server can list and write it", option,
		    why);
}

int
sink_zero_range(int fd, uint64_t off, uint64_t end, uint64_t *failoff)
{
	static const char zeros[64 * 1024];
	size_t n;
	int r;

	*failoff = off;
	do
		r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    (off_t)off, (off_t)(end - off));
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	for (; off < end; off += n) {
		n = end - off < sizeof(zeros) ? (size_t)(end - off) :
		    sizeof(zeros);
		if (sink_pwrite_all(fd, zeros, n, off, failoff) == -1)
			return -1;
	}
	return 0;
}

int
sink_sparse_put(int fd, uint64_t *dataend, uint64_t off, const void *buf,
    uint64_t len, uint64_t *failoff)
{
	uint64_t end;

	*failoff = off;
	if (len == 0)
		return 0;
	if (off > INT64_MAX || len > INT64_MAX - off) {
		errno = EFBIG;
		return -1;
	}
	if (buf != NULL) {
		if (sink_pwrite_all(fd, buf, (size_t)len, off, failoff) == -1)
			return -1;
		if (off + len > *dataend)
			*dataend = off + len;
		return 0;
	}
	if (off >= *dataend)
		return 0;
	end = off + len < *dataend ? off + len : *dataend;
	return sink_zero_range(fd, off, end, failoff);
}
