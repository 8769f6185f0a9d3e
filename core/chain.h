/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A dump's chains: the only caller of module operations. Each chain is
 * begun from its storing end, fed the vmcore as it streams, given the
 * whole in-memory objects (key, info, message buffer, manifest) and ended
 * head first. Results are graded here: FAILED stops a chain for this dump,
 * FATAL retires the sink that said it; the first error is kept for the
 * manifest and logged once.
 */
#ifndef ND_CHAIN_H
#define ND_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "netdump/sink.h"

struct nd_dump;
struct nd_dump_chain;

/* Begin every stage, then open the vmcore object. */
void	nd_chain_begin(struct nd_dump *, struct nd_dump_chain *);
void	nd_chain_write(struct nd_dump *, struct nd_dump_chain *, uint64_t off,
	    const void *buf, size_t len);
void	nd_chain_hole(struct nd_dump *, struct nd_dump_chain *, uint64_t off,
	    uint64_t len);
/*
 * Bytes that arrived behind the stream: a chain that needs order fails,
 * or, for a patch (better bytes for a place it has), keeps what it has.
 */
void	nd_chain_late(struct nd_dump *, struct nd_dump_chain *, uint64_t off,
	    const void *buf, size_t len, bool patch);
/* Close the vmcore object at size; always runs after a successful open. */
void	nd_chain_close_vmcore(struct nd_dump *, struct nd_dump_chain *,
	    uint64_t size);
/*
 * One whole in-memory object. Tried even when the chain failed on the
 * vmcore: a key or an info may still fit where the vmcore did not.
 */
void	nd_chain_store(struct nd_dump *, struct nd_dump_chain *,
	    enum nds_object_kind, const void *buf, size_t len);
/*
 * The same before the dump's end, for an object the end stores again if
 * this failed: a failure is logged, and does not fail the chain. True
 * when stored.
 */
bool	nd_chain_store_early(struct nd_dump *, struct nd_dump_chain *,
	    enum nds_object_kind, const void *buf, size_t len);
/* End every stage that began, the head first. */
void	nd_chain_end(struct nd_dump *, struct nd_dump_chain *);
/* When every chain failed: the first one's error; else NULL. */
const char *nd_chain_all_failed(const struct nd_dump *);
/* A dump no chain stored is incomplete, whatever it was judged. */
void	nd_chain_demote_if_unstored(struct nd_dump *);
/* Mark the chain failed with a reason of the host's own. */
void	nd_chain_fail(struct nd_dump *, struct nd_dump_chain *,
	    const char *what, const char *why);

#endif /* ND_CHAIN_H */
