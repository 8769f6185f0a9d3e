/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * archive: the keep folder, where a dump's spool outlives the server.
 *
 * The tarball can only be written at the dump's end, so until then what
 * arrived lives in the spool. That spool is a hidden folder of spool_dir,
 * ".archive-<pid>-<id>-<try>-<top>", holding the vmcore as it arrives
 * ("vmcore", sparse, locked with flock for as long as its dump runs) and
 * a copy of the key ("key", synced). A server killed in the middle of a
 * dump (SIGKILL, out of memory) leaves it behind; the next start finds
 * its spool unlocked and makes it "<top>.incomplete", the vmcore named by
 * what is known of it (vmcore_encrypted when its key came, .zst or .gz by
 * its first bytes): what was received is kept, though never archived.
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
	int	fd;			/* the folder; -1: none */
	char	name[NAME_MAX + 1];	/* in the spool directory */
};

/*
 * Make the keep folder of dump id in dirfd (top: the name the tarball's
 * directory gets) and in it the vmcore's spool, locked (flock): its
 * descriptor, the caller's to close (the lock lasts as long as it is
 * open), or -1 with errno.
 */
int	keep_make(struct ar_keep *, int dirfd, uint64_t id, const char *top);
/* Put len bytes of buf in the folder as name, whole or not at all. */
int	keep_put(const struct ar_keep *, const char *name, const void *buf,
	    size_t len);
/*
 * The dump's end, once the next stage has the tarball: first the names
 * in the folder go (keep_unname), then, once the spool is closed, the
 * folder (keep_drop): 0, or -1 with errno, and an empty folder stays,
 * which the next start removes. A tarball that failed leaves the folder
 * to keep_salvage_one.
 */
void	keep_unname(const struct ar_keep *);
int	keep_drop(struct ar_keep *, int dirfd);
/*
 * At start: every unlocked keep folder in dirfd (spool_dir, spelled
 * where in messages) becomes "<top>.incomplete", or goes if it holds
 * nothing. Each is logged.
 */
void	keep_salvage(const struct nds_host *, struct nds_host_ctx *,
	    int dirfd, const char *where);
/*
 * The keep folder name in dirfd, its spool unlocked, becomes
 * "<top>.incomplete" (why: "whose tarball failed", said in the log).
 */
void	keep_salvage_one(const struct nds_host *, struct nds_host_ctx *,
	    int dirfd, const char *name, const char *where, const char *why);

#endif /* ND_ARCHIVE_KEEP_H */
