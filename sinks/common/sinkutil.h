/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers every sink module needs, compiled into each module (they
 * stay hidden: a module exports only its descriptor). Not part of the ABI.
 */
#ifndef NDS_SINKUTIL_H
#define NDS_SINKUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "netdump/sink.h"

/* printf into an NDS_ERRBUF_SIZE error buffer. */
void		 sink_seterr(char *err, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* strerror_r that always returns the text. */
const char	*sink_errstr(int e, char *buf, size_t len);
/*
 * Write all of buf at off, retrying interrupted and (a while) would-block
 * writes; on failure *failoff (if not NULL) says where the write stopped.
 */
int		 sink_pwrite_all(int fd, const void *buf, size_t len,
		    uint64_t off, uint64_t *failoff);
/*
 * Make [off, end) of fd read as zeros and keep its size: punch it out, or
 * write zeros where the file system cannot punch. -1 with errno, and
 * *failoff where it stopped.
 */
int		 sink_zero_range(int fd, uint64_t off, uint64_t end,
		    uint64_t *failoff);
/*
 * Put len bytes of buf (NULL: a hole) at off of a sparse file whose data
 * ends at *dataend, which it keeps. A hole beyond the data is left as it
 * reads, zeros (the size is set when the file closes); one over data is
 * punched out. -1 with errno (EFBIG past INT64_MAX) and *failoff where it
 * stopped.
 */
int		 sink_sparse_put(int fd, uint64_t *dataend, uint64_t off,
		    const void *buf, uint64_t len, uint64_t *failoff);
/*
 * From start: warn when dir, the value of the option named option, is not
 * a directory the server can list and write, since every dump for the
 * sink would fail in it. A warning only: it may be a file system mounted
 * later. NULL (the dump directory) is the server's to check.
 */
void		 sink_check_dir(const struct nds_host *host,
		    struct nds_host_ctx *ctx, const char *option,
		    const char *dir);

#endif /* NDS_SINKUTIL_H */
