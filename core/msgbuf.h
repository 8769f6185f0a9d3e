/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel message buffer of a FreeBSD minidump, picked up while the
 * dump streams by: the first page is a header ("minidump FreeBSD/<arch>",
 * a version, msgbufsize in the crashed CPU's byte order) and the raw ring
 * follows at offset one page, 4 KiB but for arm64 with 16 KiB pages (see
 * the table in msgbuf.c). Red Hat's server kept "the oops message"; this
 * is ours. Best effort: a dump without it is still a dump, and
 * nd_msgbuf_missing says why it has none.
 *
 * The client is not trusted, so the work is bounded. Memory grows with
 * the bytes of the ring that arrive, never with the size the header
 * claims, and nd_msgbuf_text is linear in those bytes.
 */
#ifndef ND_MSGBUF_H
#define ND_MSGBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the ring starts with 4 KiB pages, as on all but some arm64. */
#define ND_MSGBUF_OFFSET	4096
/*
 * The header bytes looked at: the furthest field read is arm64's flags,
 * at 76 (sys/arm64/include/minidump.h).
 */
#define ND_MSGBUF_HEAD		80
/*
 * The struct msgbuf bytes looked at: msg_ptr (4 or 8 bytes), msg_magic,
 * msg_size, msg_wseq (sys/sys/msgbuf.h).
 */
#define ND_MSGBUF_TAIL		20

/*
 * The largest ring kept; a header that claims more gets no msgbuf.
 * FreeBSD's default is MSGBUF_SIZE, 32768 * 3 = 96 KiB (sys/sys/msgbuf.h);
 * the loader tunable kern.msgbufsize overrides it with no ceiling
 * (init_param1 in sys/kern/subr_param.c), and the minidump header carries
 * msg_size as it is (minidumpsys in sys/amd64/amd64/minidump_machdep.c).
 * Operators raise it to a few MiB at most; 8 MiB is 85 times the default
 * and keeps a hostile client to 8 MiB per dump.
 */
#define ND_MSGBUF_MAX		(8u << 20)
/*
 * The largest text made of it. Escaping makes a control byte 4 bytes, so
 * a ring of them would give 4 times its size; past this the oldest text
 * is cut, and a first line says so. Ordinary rings are nearly all
 * printable and fit whole.
 */
#define ND_MSGBUF_TEXT_MAX	(2 * ND_MSGBUF_MAX)

struct nd_msgbuf {
	bool		 fed;		/* anything arrived */
	bool		 decided;	/* the header was looked at */
	bool		 active;	/* it is a minidump with a msgbuf */
	bool		 nul;		/* a NUL (or hole) in the ring: unwrapped */
	bool		 big;		/* the header is big-endian */
	char		 arch[16];
	uint32_t	 version;	/* the header's, in its byte order */
	uint32_t	 size;		/* ring size the header claims */
	uint32_t	 ring_off;	/* where the ring starts: a page */
	uint8_t		 head[ND_MSGBUF_HEAD];	/* the header, gathered */
	size_t		 headlen;
	char		 why[112];	/* why there is no msgbuf, or "" */
	uint64_t	 filled;	/* bytes of the ring seen, in order */
	/*
	 * The bytes right after the ring: the kernel's struct msgbuf, whose
	 * write sequence says where the ring wraps (kern/subr_prf.c,
	 * msgbufinit, puts it there; the dump's round_page takes it in).
	 */
	uint8_t		 tail[ND_MSGBUF_TAIL];
	size_t		 taillen;
	uint8_t		*buf;		/* the ring's bytes but NULs, in order */
	size_t		 kept;		/* bytes in buf */
	size_t		 alloc;		/* bytes allocated: <= 2 * kept */
};

/* Feed the vmcore stream in order; data == NULL means zeros. */
void	 nd_msgbuf_feed(struct nd_msgbuf *, uint64_t off, const uint8_t *data,
	    uint64_t len);
/*
 * The ring as text, oldest first when the wrap point can be found, NULs
 * left out, control characters escaped, at most ND_MSGBUF_TEXT_MAX bytes
 * (the newest); NULL when there is none. *panic points into the text at
 * the last line that says "panic: ", or is NULL.
 */
char	*nd_msgbuf_text(const struct nd_msgbuf *, size_t *len,
	    const char **panic);
/*
 * NULL when the dump had a msgbuf (nd_msgbuf_text gives its text, maybe
 * empty or cut short), else a short sentence for people saying why not:
 * "not a minidump (no \"minidump FreeBSD/\" magic)", "the dump ended
 * before the message buffer", ... Held in the struct, valid until the
 * next feed or nd_msgbuf_free.
 */
const char *nd_msgbuf_missing(const struct nd_msgbuf *);
void	 nd_msgbuf_free(struct nd_msgbuf *);

#endif /* ND_MSGBUF_H */
