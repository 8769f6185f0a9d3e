/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * archive: what the module's operations (archive.c) share with the writing
 * of the tarball at the dump's end (tar.c).
 */
#ifndef ND_ARCHIVE_INT_H
#define ND_ARCHIVE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>

#include "keep.h"
#include "netdump/sink.h"

/* Info, key and manifest are kept in memory, up to this size each. */
#define SMALL_MAX	(1024u * 1024u)
/*
 * The message buffer may be larger (FreeBSD's kern.msgbufsize is a
 * tunable); the core holds it whole in memory already and caps it here.
 */
#define MSGBUF_MAX	(64u * 1024u * 1024u)

/* The small objects, in the order they go in the tarball. */
struct ar_small {
	enum nds_object_kind	 kind;
	const char		*name;		/* in the tarball */
	size_t			 max;
};
#define NSMALL	4
extern const struct ar_small smalls[NSMALL];

/* The "compression" choices, in their order. */
struct ar_comp {
	const char	*name;
	const char	*suffix;
	int		(*add_filter)(struct archive *);
};
extern const struct ar_comp comps[3];

struct ar_config {
	int			 compression;	/* index in comps[] */
	const char		*spool_dir;	/* NULL: the dump directory */
};

/* One per [sink] section; read-only after create. */
struct ar_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	const struct ar_config	*config;
};

/* A small object's bytes. */
struct blob {
	unsigned char	*buf;
	size_t		 len;		/* logical size */
	size_t		 cap;		/* allocated */
	bool		 present;	/* closed without failure */
};

struct ar_dump {
	const struct ar_sink	*as;
	const struct nds_dump	*dump;
	const struct nds_stage	*next;
	int			 spool;		/* -1: no vmcore object yet */
	struct ar_keep		 keep;		/* the spool's folder */
	bool			 vmopened;	/* a vmcore object came (the
						 * spool may be the key's) */
	bool			 sized;		/* the vmcore closed */
	uint64_t		 vmsize;	/* its size, once sized */
	char			 vmsuffix[32];	/* a transform's, e.g. ".zst" */
	uint64_t		 dataend;	/* end of the data spooled */
	struct blob		 small[NSMALL];
	bool			 failed;	/* an op of this dump failed */
	bool			 cut;		/* the vmcore came cut short */
	char			 failmsg[NDS_ERRBUF_SIZE]; /* the first one */
	char			 spooldesc[PATH_MAX]; /* for messages */
};

/* "<spool>: <what>: <strerror(e)>" into err. */
void	spool_err(const struct ar_dump *, char *err, int e, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
/* "<client_addr>-<YYYYmmdd-HHMMSS>", the dump's start in UTC; -1: too long. */
int	top_name(const struct nds_dump *, char *buf, size_t len);
/*
 * Build the tarball and stream it to the next stage as one object: the
 * directory, the vmcore if it came, the small objects that did.
 */
enum nds_result emit_tarball(struct ar_dump *, char *err);

#endif /* ND_ARCHIVE_INT_H */
