/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One dump on its way to the sinks. The receive thread fills it (blocks of
 * vmcore, the KDH, the key, the end facts); a worker thread of its own
 * feeds the sinks (through chain.c), has the outcome judged and stored
 * (outcome.c: info, manifest, end hooks), and frees it. The two meet
 * only in the bounded work queue and the buffer pool below, so a slow sink
 * never blocks the receive path: when the pool is empty the receiver stops
 * acking and the client retransmits.
 */
#ifndef ND_DUMP_H
#define ND_DUMP_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "coverage.h"
#include "digest.h"
#include "kdh.h"
#include "hooks.h"
#include "msgbuf.h"
#include "netdump/sink.h"
#include "proto.h"
#include "signature.h"

#define ND_BLOCK_SIZE	(256u * 1024)	/* unit of delivery to the worker */
#define ND_POOL_BLOCKS	8		/* buffers per dump: 2 MiB */
#define ND_RING_SIZE	256		/* work items; bounded by the pool */
#define ND_LATE_MAX	32		/* late extents in flight */
#define ND_MAX_KEY	65536		/* EKCD key blob limit */
/*
 * struct kerneldumpkey (sys/kerneldump.h): kdk_encryption, kdk_iv[32],
 * kdk_encryptedkeysize (big-endian), then that many bytes; a kernel pads
 * the blob to its dumper's block size, 4096 for netdump.
 */
#define ND_KDK_HEAD	37
#define ND_KDK_PAD	4096u

/* A copy of a dump's key, whole by its own account. */
struct nd_key_copy {
	size_t		 len;
	uint8_t		 buf[];
};
#define ND_PAGE		4096
/*
 * Where the data a KDH describes may end. A compressed dump's last write
 * is a whole block of the netdump dumper's (4096 bytes), padded
 * (kern_shutdown.c, kerneldumpcomp_write_cb), and the padding arrives
 * too. An uncompressed one ends at dumplength, but for whole pages a
 * minidump of FreeBSD 13 and before adds when its page map grew while it
 * was written (minidumpsys counts the map, then walks it again; netdump's
 * dumper has no media size, so no bound stops it): up to ND_KDH_GROWN of
 * them, past a page-aligned dumplength. Data beyond is not what this KDH
 * describes (another sender's, or another dump's): such a dump is
 * neither cut nor complete.
 */
#define ND_DUMP_BLOCK	4096u
#define ND_KDH_GROWN	(64u * 1024)

/* The end of a compressed dump's last block, saturating. */
static inline uint64_t
nd_kdh_block_end(uint64_t dumplength)
{
	return dumplength > UINT64_MAX - (ND_DUMP_BLOCK - 1) ? UINT64_MAX :
	    (dumplength + ND_DUMP_BLOCK - 1) / ND_DUMP_BLOCK * ND_DUMP_BLOCK;
}

static inline bool
nd_kdh_data_fits(const struct nds_kdh *kdh, uint64_t end)
{
	uint64_t past;

	if (end <= kdh->dumplength)
		return true;
	if (kdh->compression != NDS_COMP_NONE)
		return end <= nd_kdh_block_end(kdh->dumplength);
	past = end - kdh->dumplength;
	return kdh->dumplength % ND_PAGE == 0 && past <= ND_KDH_GROWN &&
	    past % ND_PAGE == 0;
}

enum nd_work_kind {
	ND_WORK_BLOCK,	/* buf holds [off, off + len), pool buffer */
	ND_WORK_HOLE,	/* [off, off + len) was skipped: nothing arrived */
	ND_WORK_LATE,	/* bytes behind the frontier; malloc'd buf */
	ND_WORK_END,	/* the receive side is done with the dump */
};

struct nd_work {
	enum nd_work_kind	 kind;
	uint64_t		 off;
	uint64_t		 len;
	uint8_t			*buf;
	bool			 gaps;	/* a BLOCK with bytes that never came,
					 * read as zeros */
	bool			 patch;	/* a LATE that rewrites bytes given
					 * before (a Linux dump's final ELF
					 * header): chains that take bytes in
					 * order only keep what they had */
};

struct nd_chain;

/* One stage of a chain, for one dump. */
struct nd_stage_rt {
	struct nd_sink		*sink;
	void			*dstate;
	bool			 begun;
	size_t			 nafter;	/* stages after this one */
	struct nds_stage	 next;	/* what this stage emits to, if a transform */
	struct nd_dump		*d;	/* whose chain ds it is a stage of */
	struct nd_dump_chain	*ds;
};

/* What the route gave this dump: one entry per chain of the fan-out. */
struct nd_dump_chain {
	struct nd_chain		*chain;
	struct nd_stage_rt	*st;	/* st[0] is the head the core feeds */
	size_t			 nst;
	struct nd_stage_rt	*vm_st;		/* the stage that took the vmcore */
	void			*ostate;	/* ... and its open object */
	uint64_t		 stored_end;	/* end of what it took */
	bool			 failed;
	char			 error[NDS_ERRBUF_SIZE];
	char			*where[NDS_OBJ_NKINDS];
	uint64_t		 archive_size;	/* of where[NDS_OBJ_ARCHIVE] */
	bool			 manifest_passed; /* by a transform, stored */
	bool			 key_early;	/* stored before the end */
};

struct nd_object_digest {
	bool		 present;
	uint64_t	 size;
	char		 hex[ND_DIGEST_HEX_SIZE];	/* "": not computed */
};

struct nd_server_conf;

struct nd_dump {
	struct nds_dump		 pub;
	struct nd_runtime	*rt;		/* the configuration it began with */
	const struct nd_server_conf *server;
	/* Set by the worker when the disk fell below min_free. */
	atomic_bool		 abandoned;
	/*
	 * Set by the worker when every chain has failed: nothing more of the
	 * vmcore can be stored. A Linux pull then asks for no more pages; a
	 * FreeBSD client goes on, as its KDH (the info) comes last.
	 */
	atomic_bool		 chains_failed;
	/*
	 * Backpressure: the receiver stops reading the session socket while
	 * the pool is empty (the socket buffer holds the client's batch) and
	 * sets paused; the worker writes wake_fd when it frees a buffer.
	 */
	atomic_bool		 paused;
	/*
	 * Set by the receive thread when a key byte is taken: a FreeBSD 13+
	 * kernel sends its key first, and a transform that sees the vmcore
	 * open should know it is ciphertext (the worker sets pub.encrypted).
	 */
	atomic_bool		 key_seen;
	/*
	 * The key once it is whole by its own account: published once by
	 * the receive thread (session_msg.c key_publish), stored by the
	 * worker while the vmcore streams (nd_outcome_key_early). NULL
	 * until then.
	 */
	_Atomic(struct nd_key_copy *) key_early;
	int			 wake_fd;
	char			 client_addr[INET_ADDRSTRLEN];
	uint32_t		 client_ip;	/* network order */
	char			*path;
	char			*route;
	struct timespec		 start_mono;

	/* Queue and pool, under lock. */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct nd_work		 ring[ND_RING_SIZE];
	unsigned		 ring_head, ring_count;
	uint8_t			*pool[ND_POOL_BLOCKS];
	unsigned		 pool_free;
	unsigned		 late_inflight;
	uint64_t		 queued_bytes;

	/* Written by the receive thread, read by the worker after END. */
	struct nd_coverage	 cov;		/* vmcore */
	uint8_t			 kdh_raw[ND_KDH_SIZE];
	struct nd_coverage	 kdh_cov;
	uint8_t			*key;
	struct nd_coverage	 key_cov;
	bool			 finished;
	uint64_t		 final_size;	/* vmcore size to store */
	char			 end_reason[160];	/* timeout, new herald... */
	uint64_t		 packets, dup_packets, late_bytes;
	/*
	 * Messages whose bytes differ from what arrived first at the same
	 * place (the first copy is kept); where the first one was.
	 */
	uint64_t		 conflicts;
	const char		*conflict_what;	/* "vmcore", "KDH", "key" */
	uint64_t		 conflict_off;
	/* Data refused for lying too far beyond what had arrived. */
	uint64_t		 far_drops;
	/* The KDH as it arrived, parsed once, at the end (nd_dump_read_kdh). */
	struct nds_kdh		 kdh;
	enum nd_kdh_result	 kdh_result;
	bool			 kdh_present;

	/* Worker state. */
	struct nd_dump_chain	*chains;
	size_t			 nchains;
	uint64_t		 delivered;	/* stream position */
	uint64_t		 hole_start, hole_len;	/* pending hole */
	uint64_t		 data_bytes, hole_bytes;
	/* Its alg, from [server] digest, is every object's of this dump. */
	struct nd_digest	 vmcore_digest;
	bool			 vmcore_digest_exact;
	char			 reason[512];
	struct timespec		 end_real, end_mono;
	struct nd_object_digest	 digest[NDS_OBJ_NKINDS];
	uint64_t		 key_size;
	bool			 key_early_tried;	/* the worker's */
	struct nd_msgbuf	 msgbuf;
	bool			 space_stop;	/* stop storing: below min_free */
	uint64_t		 stop_at;
	uint64_t		 next_space_check;
	struct nd_hook_proc	 nospace;	/* pid 0 when not running */
	bool			 nospace_asked;	/* it runs once per dump */
	struct timespec		 nospace_started;
	unsigned		 number;	/* a sink's dump number, for */
	bool			 numbered;	/* info's Bounds line */

	/*
	 * A Linux netdump (linux_dump.c): what its front-end learnt, set
	 * before nd_dump_finish. The front-end judges the pages itself: an
	 * incomplete one has end_reason set.
	 */
	struct nd_linux_facts {
		bool		 is_linux;
		uint32_t	 machine;	/* ELF e_machine */
		uint32_t	 page_size;
		uint64_t	 max_pfn;	/* REPLY_NR_PAGES */
		uint64_t	 ram_pages;	/* REPLY_REGS's info */
		uint64_t	 task;		/* START's task_struct */
		uint64_t	 header_size;	/* page frame 0 is there */
		uint64_t	 pages;		/* pages received */
		uint64_t	 hole_pages;	/* REPLY_RESERVED: not RAM */
		uint64_t	 missing_pages;	/* asked for, never came */
		uint64_t	 retransmits;	/* requests sent again */
		char		 oops[201];	/* the console's first oops line
						 * of this boot */
		char		 panic[201];	/* ... and its last */
	} lx;
	char			 boot_dir[256];	/* pub.boot_dir's */
	/* What crashed (outcome.c); has_sig false: no panic string. */
	struct nd_signature	 sig;
	bool			 has_sig;
	uint64_t		 sig_seen;	/* dumps with it, this one too */
};

struct nd_runtime;

struct nd_dump_params {
	uint64_t		 id;
	struct nd_runtime	*rt;		/* referenced until the dump ends */
	const struct sockaddr_in *client;
	const char		*path;		/* validated */
	const char		*route;
	const char		*dumpdir;
	int			 dumpdir_fd;
	int			 wake_fd;	/* eventfd of the receiver */
	struct nd_chain		**chains;
	size_t			 nchains;
	bool			 linux_dump;	/* Red Hat's protocol */
	const char		*boot_dir;	/* NULL, or see nds_dump */
};

/* Count a message whose bytes differ from the first copy at off. */
void		 nd_dump_conflict(struct nd_dump *, const char *what,
		    uint64_t off);

/* nds_host.dump_number: the number a sink gave the dump (worker thread). */
void		 nd_dump_number(const struct nds_dump *, unsigned number);

/* Dumps whose worker has not finished; the concurrency limit counts them. */
extern atomic_uint nd_dumps_active;
/* ... and those of one client address (network order). */
unsigned	 nd_dumps_of_client(uint32_t addr);

/* Create the dump and start its worker; NULL on failure (logged). */
struct nd_dump	*nd_dump_start(const struct nd_dump_params *);
/* A pool buffer for a new block, or NULL when all are in use. */
uint8_t		*nd_dump_get_block(struct nd_dump *);
/* Give a buffer back without queueing it (an unused block). */
void		 nd_dump_put_block(struct nd_dump *, uint8_t *);
/* Queue work; -1 when the queue is full (BLOCKs and END always fit). */
int		 nd_dump_post(struct nd_dump *, const struct nd_work *);
int		 nd_dump_late_ok(struct nd_dump *);
/*
 * True when no pool buffer is free; then paused is set, and the worker
 * writes wake_fd as soon as it frees one.
 */
bool		 nd_dump_pool_empty(struct nd_dump *);
/*
 * Parse the KDH that arrived, once, when the receive side is done with the
 * dump (before nd_dump_finish); the KDH if it is valid, else NULL.
 */
const struct nds_kdh *nd_dump_read_kdh(struct nd_dump *);
/*
 * The receive side is done: queue END. The caller must not touch the dump
 * afterwards; the worker frees it.
 */
void		 nd_dump_finish(struct nd_dump *);
/* Wait until every worker has finished (shutdown). */
void		 nd_dump_wait_all(void);

/* manifest.c: the JSON manifest of a finished dump (malloc'd). */
char		*nd_manifest_build(const struct nd_dump *, size_t *len);
/* manifest.c: the manifest of a dump not ended (nds_host's). */
ssize_t		 nd_manifest_unfinished(const struct nds_dump *, bool numbered,
		    unsigned number, char *buf, size_t size);
/* manifest.c: an object's name, for struct nds_host.object_name. */
int		 nd_object_name(const struct nds_dump *,
		    const struct nds_object *, const char *infix, char *name,
		    size_t len);

#endif /* ND_DUMP_H */
