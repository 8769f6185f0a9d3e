/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * archive: the keep folder, where a dump's spool outlives the server.
 *
 * The tarball can only be written at the dump's end, so until then what
 * arrived lives in the spool. That spool is a hidden folder of spool_dir,
 * ".archive-<pid>-<id>-<try>-<top>", holding the vmcore as it arrives
 * ("vmcore", sparse) and a copy of the key ("key"), locked (flock) for as
 * long as its dump runs. A server killed in the middle of a dump (SIGKILL,
 * out of memory, a power cut) leaves it behind; the next start finds it
 * unlocked and makes it "<top>.incomplete", with the vmcore named as the
 * tarball would name it: what was received is kept, though never archived.
 */
#ifndef ND_ARCHIVE_KEEP_H
#define ND_ARCHIVE_KEEP_H

#include <limits.h>
#include <stdint.h>

#include "netdump/sink.h"

#define KEEP_PREFIX	".archive-"
#define KEEP_VMCORE	"vmcore"
#define KEEP_KEY	"key"

struct ar_keep {
	int	fd;			/* the folder, locked; -1: none */
	char	name[NAME_MAX + 1];	/* in the spool directory */
};

/*
 * Make and lock the keep folder of dump id in dirfd; top is the name the
 * tarball's directory gets. 0, or -1 with errno.
 */
int	keep_make(struct ar_keep *, int dirfd, uint64_t id, const char *top);
/* Put len bytes of buf in the folder as name, whole or not at all. */
int	keep_put(const struct ar_keep *, const char *name, const void *buf,
	    size_t len);
/*
 * The dump's end: the tarball takes over, the folder goes (a spool file
 * still open stays readable). 0, or -1 with errno: the folder stays and
 * the next start takes it for a leftover.
 */
int	keep_drop(struct ar_keep *, int dirfd);
/*
 * At start: every unlocked keep folder in dirfd (spool_dir, spelled
 * where in messages) becomes "<top>.incomplete", or goes if it holds
 * nothing. Each is logged.
 */
void	keep_salvage(const struct nds_host *, struct nds_host_ctx *,
	    int dirfd, const char *where);

#endif /* ND_ARCHIVE_KEEP_H */
