/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the two halves of the zstd transform share: zstd.c (the module,
 * the compressed stream and its seek table) and zstd_sniff.c (how a
 * vmcore goes: compressed or passed through). Private to the module.
 */
#ifndef NDS_ZSTD_SINK_H
#define NDS_ZSTD_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "netdump/sink.h"

/* Room for the vmcore's suffix, ".zst" included. */
#define SUFFIX_MAX	64

/*
 * The first bytes of the vmcore are held until its mode is chosen: enough
 * to judge whether they compress (zstd_sniff.c).
 */
#define SNIFF_MAX	(64 * 1024)

/* One per [sink] section; read-only after create. */
struct zs_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	int			 level;
	int			 workers;	/* 0: in the caller */
	uint32_t		 frame_size;	/* 0: one ordinary frame */
};

struct zs_object;

/* One per dump. */
struct zs_dump {
	const struct zs_sink	*zs;
	const struct nds_dump	*dump;
	const struct nds_stage	*next;
	struct zs_object	*objects;	/* open on the next stage */
};

enum zs_mode {
	MODE_SNIFF = 0,	/* vmcore: too few bytes seen to tell */
	MODE_COMPRESS,
	MODE_PASS,	/* a kernel-compressed or encrypted vmcore */
};

/* Why a vmcore passes through. */
enum zs_pass {
	PASS_NONE = 0,
	PASS_KERNEL,	/* gzip or zstd magic */
	PASS_ENCRYPTED,	/* the core said so */
	PASS_RANDOM,	/* no known header, and the bytes do not compress */
};

struct seek_entry {
	uint32_t	 csize;
	uint32_t	 dsize;
	unsigned char	 checksum[4];	/* LE, as in the frame */
};

/* One per vmcore of a dump: the only kind that comes here. */
struct zs_object {
	struct zs_dump		*d;
	struct zs_object	*link;		/* in d->objects */
	void			*nobj;		/* the next stage's */
	enum zs_mode		 mode;
	enum zs_pass		 pass;
	const char		*magic;		/* "gzip", "zstd" */
	char			 why[160];	/* how the mode was chosen */
	bool			 failed;	/* stream broken */
	uint64_t		 inpos;		/* input consumed */
	/* The first bytes, kept until the mode is chosen. */
	unsigned char		*held;		/* SNIFF_MAX */
	size_t			 nheld;

	ZSTD_CCtx		*cctx;
	unsigned char		*obuf;		/* held output */
	size_t			 obufsize;
	size_t			 olen;
	uint64_t		 outpos;	/* output handed on */
	unsigned char		 tail[4];	/* its last 4 bytes */

	/* Seekable mode. */
	uint32_t		 frame_in;	/* input in this frame */
	uint64_t		 frame_start;	/* its output offset */
	struct seek_entry	*entries;
	size_t			 nentries;
	size_t			 maxentries;

	char			 suffix[SUFFIX_MAX]; /* + ".zst" */
};

/*
 * How the vmcore goes, from its first n bytes p; MODE_SNIFF while they
 * are too few to tell and more may come (final: no more will). Sets
 * o->why, o->pass and o->magic.
 */
enum zs_mode	 zs_classify(struct zs_object *o, const unsigned char *p,
		    size_t n, bool final);

#endif /* NDS_ZSTD_SINK_H */
