/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel message buffer of a FreeBSD minidump, picked up while the
 * dump streams by: the first page is a header ("minidump FreeBSD/<arch>",
 * a version, msgbufsize in the client's byte order) and the raw ring
 * follows at offset 4096. Red Hat's server kept "the oops message"; this
 * is ours. Best effort: a dump without it is still a dump.
 */
#ifndef ND_MSGBUF_H
#define ND_MSGBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ND_MSGBUF_OFFSET	4096
#define ND_MSGBUF_MAX		(64u << 20)

struct nd_msgbuf {
	bool		 decided;	/* the header was looked at */
	bool		 active;	/* it is a minidump with a msgbuf */
	char		 arch[16];
	uint32_t	 size;
	uint8_t		*buf;
	uint64_t	 filled;	/* bytes of the ring seen, in order */
};

/* Feed the vmcore stream in order; data == NULL means zeros. */
void	 nd_msgbuf_feed(struct nd_msgbuf *, uint64_t off, const uint8_t *data,
	    uint64_t len);
/*
 * The ring as text, oldest first when the wrap point can be found, control
 * characters escaped; NULL when there is none. *panic points into the text
 * at the last line that says "panic:", or is NULL.
 */
char	*nd_msgbuf_text(const struct nd_msgbuf *, size_t *len,
	    const char **panic);
void	 nd_msgbuf_free(struct nd_msgbuf *);

#endif /* ND_MSGBUF_H */
