/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The free-space floor of the dump directory: min_free from the
 * configuration, and savecore(8)'s minfree file in the dump directory,
 * whichever asks for more. Checked at HERALD and while a dump is written.
 */
#ifndef ND_SPACE_H
#define ND_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "netdump/sink.h"

/*
 * Whether the dump directory keeps its floor; avail, need and floor (what
 * sets it: "min_free" or "savecore's minfree") are set for messages.
 */
bool	nd_space_ok(const struct nd_server_conf *, uint64_t *avail,
	    uint64_t *need, const char **floor);

/*
 * savecore's minfree file in dir, in bytes: the first line, a number of
 * KiB; 0 when there is none, it is not a regular file, or the number is
 * not valid (logged, at most once a minute).
 */
uint64_t nd_savecore_minfree(const char *dir);

/* nds_host.space_ok: fd's file system, the server's floor included. */
bool	nd_space_ok_fd(const struct nds_dump *, int fd, uint64_t reserve,
	    char why[NDS_ERRBUF_SIZE]);

/*
 * A spool for a sink (struct nds_host.spool_open): an unnamed sparse file
 * in dir, relative to the dump directory (NULL: the dump directory).
 */
int	nd_spool_open(const struct nds_dump *, const char *dir,
	    char err[NDS_ERRBUF_SIZE]);

/*
 * nds_host.dir_usable: dir (relative to the sink's dump directory unless
 * absolute; NULL: that directory) is a directory the server's user can
 * list and create files in.
 */
int	nd_dir_usable(struct nds_host_ctx *, const char *dir,
	    char err[NDS_ERRBUF_SIZE]);
/* nds_host.dir_open: dir (as for nd_dir_usable) opened O_DIRECTORY. */
int	nd_dir_open(struct nds_host_ctx *, const char *dir,
	    char err[NDS_ERRBUF_SIZE]);

#endif /* ND_SPACE_H */
