/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the two halves of the archive transform share: archive.c (the
 * module: objects in, the vmcore spooled) and archive_tar.c (the tarball
 * built from them and streamed to the next stage). Private to the module.
 */
#ifndef NDS_ARCHIVE_SINK_H
#define NDS_ARCHIVE_SINK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>

#include "netdump/sink.h"

enum ar_comp {
	COMP_NONE = 0,		/* in the order of the "compression" choices */
	COMP_ZSTD,
	COMP_GZIP,
};

/* Info, key and manifest are kept in memory, up to this size each. */
#define SMALL_MAX	(1024u * 1024u)
/*
 * The message buffer may be larger (FreeBSD's kern.msgbufsize is a
 * tunable); the core holds it whole in memory already and caps it here.
 */
#define MSGBUF_MAX	(64u * 1024u * 1024u)

/* The small objects, by index, in the order they go in the tarball. */
enum ar_small {
	SMALL_INFO = 0,
	SMALL_MSGBUF,
	SMALL_KEY,
	SMALL_MANIFEST,
	NSMALL,
};

/* The options, as the host fills them; kept until destroy. */
struct ar_config {
	int			 compression;	/* enum ar_comp */
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

/* One per dump. */
struct ar_dump {
	const struct ar_sink	*as;
	const struct nds_dump	*dump;
	const struct nds_stage	*next;
	int			 spool;		/* -1: no vmcore object yet */
	bool			 sized;		/* the vmcore closed */
	uint64_t		 vmsize;	/* its size, once sized */
	char			 vmsuffix[32];	/* a transform's, e.g. ".zst" */
	uint64_t		 dataend;	/* end of the data spooled */
	struct blob		 small[NSMALL];
	bool			 failed;	/* an op of this dump failed */
	char			 failmsg[NDS_ERRBUF_SIZE]; /* the first one */
	char			 spooldesc[PATH_MAX]; /* for messages */
};

#define ZEROS_SIZE	(64 * 1024)
/* Zeros, for the holes of the vmcore (archive_tar.c). */
extern const char ar_zeros[ZEROS_SIZE];

/* A small object's name in the tarball and in messages. */
const char	*ar_small_name(int i);
/* The compression filter on a, as libarchive answers. */
int		 ar_add_filter(struct archive *a, enum ar_comp comp);
/* Build the tarball and stream it to the next stage as one object. */
enum nds_result	 ar_emit_tarball(struct ar_dump *d, char *err);

#endif /* NDS_ARCHIVE_SINK_H */
