/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zstd: a transform that compresses the vmcore on its way to the next
 * stage of a chain ("sink = zstd | local"); the host routes other kinds
 * past it. The vmcore arrives in offset order (NDS_CAP_ORDERED) and goes
 * through one streaming compressor. Holes are fed to it as zeros, which
 * zstd turns into a few bytes at several GB/s, so the output stays a
 * plain .zst that "zstd -d" restores without a side map of the holes.
 *
 * With frame_size set, the output is the zstd seekable format
 * (contrib/seekable_format in the zstd tree): independent frames of
 * frame_size uncompressed bytes, then a skippable frame holding the seek
 * table. Stock zstd skips that frame; a reader that knows the table
 * decompresses only the frames it needs.
 *
 * A vmcore the kernel compressed itself or an encrypted one passes through
 * unchanged, so the next stage names it as the core does (vmcore.N.gz,
 * vmcore_encrypted.N), never .zst.zst: ciphertext does not compress, and
 * decryptcore(8) wants it as the kernel sent it. See classify().
 *
 * Workers split a frame into jobs (8 MiB at level 3) and every frame ends
 * with a wait for all of them: seekable frames of a job or less are
 * compressed one at a time, whatever the number of workers. Smaller jobs
 * cost 20 % more CPU and gained nothing measurable. Memory per vmcore is
 * bounded: the context (with workers, a few MB per worker), one output
 * buffer, the first 64 KiB kept to sniff what the vmcore is, and 12 bytes
 * per seekable frame for the table, which can only be written at the end.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "netdump/sink.h"
#include "sinkutil.h"

#define MIN_LEVEL	1
#define MAX_LEVEL	19
#define MAX_WORKERS	64

/*
 * The seekable format (zstd_seekable.h): a frame's sizes are 32-bit and
 * the reference implementation refuses frames over 1 GiB and more than
 * 0x8000000 frames. The lower bound is ours: it keeps the seek table, which
 * stays in memory until the end, at 0.02 % of the dump at most.
 */
#define SEEK_MIN_FRAME		(64u * 1024)
#define SEEK_MAX_FRAME		(1u << 30)
#define SEEK_MAX_FRAMES		0x8000000u	/* 64 doubled 21 times */
#define SKIPPABLE_MAGIC		0x184D2A5Eu
#define SEEKABLE_MAGIC		0x8F92EAB1u
#define SKIPPABLE_HEADER_SIZE	8
#define SEEK_ENTRY_SIZE		12	/* csize, dsize, checksum */
#define SEEK_FOOTER_SIZE	9
#define SEEK_CHECKSUM_FLAG	0x80

/* Compressed output goes to the next stage in pieces this large. */
#define OUTBUF_SIZE	(256 * 1024)
/* The first bytes of the vmcore are held until its mode is chosen. */
#define SNIFF_MAX	(64 * 1024)
/*
 * Fewer than JUDGE_MIN held bytes (a dump that small, or one that begins
 * with a hole) are not judged: they are compressed.
 */
#define JUDGE_MIN	4096
/* Saving less than 1/PASS_RATIO of the held bytes: taken for ciphertext. */
#define PASS_RATIO	100

/* What holes are fed to the compressor as; never a hole's worth. */
static const unsigned char zeros[64 * 1024];

struct zs_config {
	int64_t			 level;
	int64_t			 workers;	/* 0: one per online CPU */
	int64_t			 frame_size;	/* 0: one ordinary frame */
};

/* One per [sink] section; read-only after create. */
struct zs_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	int			 level;
	int			 workers;	/* 0: in the caller */
	uint32_t		 frame_size;	/* 0: one ordinary frame */
};

struct zs_dump {
	const struct zs_sink	*zs;
	const struct nds_dump	*dump;
	const struct nds_stage	*next;
	struct zs_object	*objects;	/* open on the next stage */
};

enum zs_mode {
	MODE_SNIFF = 0,	/* too few bytes seen to tell */
	MODE_COMPRESS,
	MODE_PASS,	/* a kernel-compressed or encrypted vmcore */
};

/* One per vmcore of a dump: the only kind that comes here. */
struct zs_object {
	struct zs_dump		*d;
	struct zs_object	*link;		/* in d->objects */
	void			*nobj;		/* the next stage's */
	enum zs_mode		 mode;
	const char		*magic;		/* the kernel's: "gzip", "zstd" */
	bool			 random;	/* passed: did not compress */
	char			 why[160];	/* how the mode was chosen */
	bool			 failed;	/* stream broken */
	uint64_t		 inpos;		/* input consumed */
	unsigned char		 held[SNIFF_MAX]; /* until the mode is chosen */
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
	unsigned char		(*entries)[SEEK_ENTRY_SIZE]; /* as written */
	size_t			 nentries;
	size_t			 maxentries;

	char			 suffix[64];	/* the core's + ".zst" */
};

/* Headers a vmcore may begin with, and what each means for it. */
static const struct {
	size_t		 offset;
	const char	*magic;
	size_t		 len;
	const char	*what;
	enum zs_mode	 mode;
} headers[] = {
	{ 0, "\x1f\x8b", 2, "gzip", MODE_PASS },
	{ 0, "\x28\xb5\x2f\xfd", 4, "zstd", MODE_PASS },
	{ 0, "minidump FreeBSD/", 17, "a minidump header", MODE_COMPRESS },
	{ 0, "\177ELF", 4, "an ELF header (a full dump)", MODE_COMPRESS },
	{ 257, "ustar", 5, "a tar header (a textdump)", MODE_COMPRESS },
};

/* Log a line about this dump. */
static void __attribute__((format(printf, 3, 4)))
dlog(const struct zs_dump *d, enum nds_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->zs->host->log(d->zs->ctx, level, "dump %" PRIu64 " from %s: %s",
	    d->dump->id, d->dump->client_addr != NULL ?
	    d->dump->client_addr : "?", line);
}

/*
 * Trial-compress the held bytes (level 1): MODE_PASS if they save less
 * than 1/PASS_RATIO, MODE_COMPRESS otherwise or if that cannot be told.
 */
static enum zs_mode
judge(struct zs_object *o, const unsigned char *p, size_t n)
{
	size_t cap = ZSTD_compressBound(n), c;
	unsigned char *z;

	if ((z = malloc(cap)) == NULL) {
		snprintf(o->why, sizeof(o->why), "no known header; too little "
		    "memory to judge the first %zu bytes", n);
		return MODE_COMPRESS;
	}
	c = ZSTD_compress(z, cap, p, n, 1);
	free(z);
	if (ZSTD_isError(c)) {
		snprintf(o->why, sizeof(o->why), "no known header; the trial "
		    "compression failed: %s", ZSTD_getErrorName(c));
		return MODE_COMPRESS;
	}
	snprintf(o->why, sizeof(o->why), "no known header, and the first %zu "
	    "bytes compress to %zu", n, c);
	o->random = c * PASS_RATIO >= n * (PASS_RATIO - 1);
	return o->random ? MODE_PASS : MODE_COMPRESS;
}

/*
 * How the vmcore goes, from its first n bytes, p (at most SNIFF_MAX);
 * MODE_SNIFF while they are too few to tell and more may come (final: no
 * more will). Sets o->why, and o->magic or o->random for a pass. The rule:
 *
 *   1. dump->encrypted: pass. It is known when the vmcore opens if the key
 *      came first (the modern order), else (FreeBSD 12.x sends the key
 *      after the data) only at the end, too late; so
 *   2. gzip or zstd magic at offset 0: pass, the kernel compressed it;
 *   3. a header every plaintext dump begins with (minidump magic, ELF, a
 *      textdump's tar): compress; ciphertext cannot begin like that;
 *   4. fewer than JUDGE_MIN bytes in all: compress, too few to judge;
 *   5. else trial-compress the first SNIFF_MAX bytes: saving under 1 %,
 *      pass, they are random, so ciphertext (encrypted, compressed or
 *      not); else compress. Real memory saves far more than 1 %.
 */
static enum zs_mode
classify(struct zs_object *o, const unsigned char *p, size_t n, bool final)
{
	size_t i;

	if (o->d->dump->encrypted) {
		snprintf(o->why, sizeof(o->why), "encrypted (a key came with "
		    "the dump)");
		return MODE_PASS;
	}
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		if (n < headers[i].offset + headers[i].len ||
		    memcmp(p + headers[i].offset, headers[i].magic,
		    headers[i].len) != 0)
			continue;
		if (headers[i].mode == MODE_COMPRESS)
			snprintf(o->why, sizeof(o->why), "starts with %s",
			    headers[i].what);
		else {
			o->magic = headers[i].what;
			snprintf(o->why, sizeof(o->why), "%s-compressed by the "
			    "kernel", o->magic);
		}
		return headers[i].mode;
	}
	if (!final && n < SNIFF_MAX)
		return MODE_SNIFF;
	if (n < JUDGE_MIN) {
		snprintf(o->why, sizeof(o->why), "no known header; %zu bytes "
		    "before %s are too few to judge", n, final && n > 0 ?
		    "a hole or the end" : "the first hole or the end");
		return MODE_COMPRESS;
	}
	return judge(o, p, n);
}

static void
put_le32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
}

/* A next stage's result as ours, its message prefixed. */
static enum nds_result
next_result(enum nds_result r, const char *nerr, char *err)
{
	if (r != NDS_OK)
		sink_seterr(err, "next stage: %s", nerr[0] != '\0' ? nerr :
		    "failed");
	return r;
}

/* Hand the buffered output on to the next stage. */
static enum nds_result
flush(struct zs_object *o, char *err)
{
	char nerr[NDS_ERRBUF_SIZE] = "";
	enum nds_result r;
	size_t n = o->olen;

	if (n == 0)
		return NDS_OK;
	r = o->d->next->write(o->nobj, o->outpos, o->obuf, n, nerr);
	if ((r = next_result(r, nerr, err)) != NDS_OK)
		return r;
	/*
	 * Keep the last 4 bytes: a frame's checksum may straddle a flush.
	 * Only the last flush, after the last frame, is ever shorter.
	 */
	if (n >= sizeof(o->tail))
		memcpy(o->tail, o->obuf + n - sizeof(o->tail), sizeof(o->tail));
	o->outpos += n;
	o->olen = 0;
	return NDS_OK;
}

/* Append bytes of our own (the seek table) to the output. */
static enum nds_result
put(struct zs_object *o, const void *p, size_t len, char *err)
{
	const unsigned char *s = p;
	enum nds_result r;
	size_t n;

	for (; len > 0; s += n, len -= n) {
		n = o->obufsize - o->olen < len ? o->obufsize - o->olen : len;
		memcpy(o->obuf + o->olen, s, n);
		o->olen += n;
		if (o->olen == o->obufsize && (r = flush(o, err)) != NDS_OK)
			return r;
	}
	return NDS_OK;
}

/* Run the compressor over buf until it took all of it (or finished). */
static enum nds_result
compress(struct zs_object *o, const void *buf, size_t len,
    ZSTD_EndDirective op, char *err)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	ZSTD_outBuffer out;
	enum nds_result r;
	size_t left;

	for (;;) {
		out = (ZSTD_outBuffer){ o->obuf, o->obufsize, o->olen };
		left = ZSTD_compressStream2(o->cctx, &out, &in, op);
		o->olen = out.pos;
		if (ZSTD_isError(left)) {
			sink_seterr(err, "zstd: %s", ZSTD_getErrorName(left));
			return NDS_FAILED;
		}
		if (o->olen == o->obufsize && (r = flush(o, err)) != NDS_OK)
			return r;
		/*
		 * With workers, zstd may return before it took all the input;
		 * ending a frame is done when nothing is left to flush.
		 */
		if (op == ZSTD_e_continue ? in.pos == in.size : left == 0)
			return NDS_OK;
	}
}

/*
 * End the current seekable frame and log it for the seek table. Its
 * checksum is the one the frame carries, its last 4 bytes: zstd's content
 * checksum is the lower 32 bits of XXH64 (seed 0) of the frame's data,
 * little-endian, the very value the seek table wants, and libzstd exports
 * no XXH64.
 */
static enum nds_result
end_frame(struct zs_object *o, char *err)
{
	unsigned char (*e)[SEEK_ENTRY_SIZE], *b;
	enum nds_result r;
	uint64_t csize;
	size_t max, k;

	if ((r = compress(o, NULL, 0, ZSTD_e_end, err)) != NDS_OK)
		return r;
	csize = o->outpos + o->olen - o->frame_start;
	if (csize > UINT32_MAX) {
		sink_seterr(err, "seekable frame of %" PRIu64 " compressed bytes "
		    "is too large for the seek table", csize);
		return NDS_FAILED;
	}
	if (o->nentries == o->maxentries) {
		if (o->nentries == SEEK_MAX_FRAMES) {
			sink_seterr(err, "more than %u seekable frames: raise "
			    "frame_size", SEEK_MAX_FRAMES);
			return NDS_FAILED;
		}
		max = o->maxentries == 0 ? 64 : o->maxentries * 2;
		if ((e = reallocarray(o->entries, max, sizeof(*e))) == NULL) {
			sink_seterr(err, "out of memory");
			return NDS_FAILED;
		}
		o->entries = e;
		o->maxentries = max;
	}
	b = o->entries[o->nentries++];
	put_le32(b, (uint32_t)csize);
	put_le32(b + 4, o->frame_in);
	k = o->olen < 4 ? o->olen : 4;
	memcpy(b + 8, o->tail + k, 4 - k);
	memcpy(b + 12 - k, o->obuf + o->olen - k, k);
	o->frame_start += csize;
	o->frame_in = 0;
	return NDS_OK;
}

/* The seek table, as a skippable frame after the last data frame. */
static enum nds_result
put_seek_table(struct zs_object *o, char *err)
{
	unsigned char b[SEEK_FOOTER_SIZE];
	enum nds_result r;

	put_le32(b, SKIPPABLE_MAGIC);
	put_le32(b + 4, (uint32_t)(o->nentries * SEEK_ENTRY_SIZE +
	    SEEK_FOOTER_SIZE));
	if ((r = put(o, b, SKIPPABLE_HEADER_SIZE, err)) != NDS_OK ||
	    (r = put(o, o->entries, o->nentries * SEEK_ENTRY_SIZE, err)) !=
	    NDS_OK)
		return r;
	put_le32(b, (uint32_t)o->nentries);
	b[4] = SEEK_CHECKSUM_FLAG;
	put_le32(b + 5, SEEKABLE_MAGIC);
	return put(o, b, SEEK_FOOTER_SIZE, err);
}

/* Compress input, ending a seekable frame at every frame_size bytes. */
static enum nds_result
feed(struct zs_object *o, const unsigned char *p, size_t len, char *err)
{
	uint32_t fs = o->d->zs->frame_size;
	enum nds_result r;
	size_t n;

	for (; len > 0; p += n, len -= n) {
		n = fs != 0 && len > fs - o->frame_in ? fs - o->frame_in : len;
		if ((r = compress(o, p, n, ZSTD_e_continue, err)) != NDS_OK)
			return r;
		if (fs != 0 && (o->frame_in += (uint32_t)n) == fs &&
		    (r = end_frame(o, err)) != NDS_OK)
			return r;
	}
	return NDS_OK;
}

/* Finish the compressed stream and hand all of it on. */
static enum nds_result
finish(struct zs_object *o, char *err)
{
	enum nds_result r;

	if (o->d->zs->frame_size == 0)
		r = compress(o, NULL, 0, ZSTD_e_end, err);
	else if ((r = o->frame_in > 0 ? end_frame(o, err) : NDS_OK) == NDS_OK)
		r = put_seek_table(o, err);
	return r != NDS_OK ? r : flush(o, err);
}

static enum nds_result
start_compress(struct zs_object *o, char *err)
{
	const struct zs_sink *zs = o->d->zs;
	size_t z = 0;

	o->obufsize = ZSTD_CStreamOutSize() > OUTBUF_SIZE ?
	    ZSTD_CStreamOutSize() : OUTBUF_SIZE;
	if ((o->cctx = ZSTD_createCCtx()) == NULL ||
	    (o->obuf = malloc(o->obufsize)) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	if (ZSTD_isError(z = ZSTD_CCtx_setParameter(o->cctx,
	    ZSTD_c_compressionLevel, zs->level)) ||
	    ZSTD_isError(z = ZSTD_CCtx_setParameter(o->cctx,
	    ZSTD_c_checksumFlag, 1)) ||
	    (zs->workers > 0 && ZSTD_isError(z = ZSTD_CCtx_setParameter(o->cctx,
	    ZSTD_c_nbWorkers, zs->workers)))) {
		sink_seterr(err, "zstd: %s", ZSTD_getErrorName(z));
		return NDS_FAILED;
	}
	return NDS_OK;
}

/*
 * Consume len bytes of the vmcore at o->inpos in the mode chosen: buf, or
 * a hole when buf is NULL.
 */
static enum nds_result
consume(struct zs_object *o, const void *buf, uint64_t len, char *err)
{
	const struct nds_stage *next = o->d->next;
	char nerr[NDS_ERRBUF_SIZE] = "";
	enum nds_result r = NDS_OK;
	uint64_t n;

	for (; len > 0 && r == NDS_OK; len -= n) {
		n = buf == NULL && o->mode != MODE_PASS && len > sizeof(zeros) ?
		    sizeof(zeros) : len;
		if (o->mode != MODE_PASS)
			r = feed(o, buf != NULL ? buf : zeros, (size_t)n, err);
		else
			r = next_result(buf != NULL ? next->write(o->nobj,
			    o->inpos, buf, (size_t)n, nerr) : next->hole(o->nobj,
			    o->inpos, n, nerr), nerr, err);
		if (r == NDS_OK)
			o->inpos += n;
	}
	o->failed = o->failed || r != NDS_OK;
	return r;
}

/* Settle the mode, say why, and hand on the bytes held back to tell it. */
static enum nds_result
decide(struct zs_object *o, enum zs_mode mode, char *err)
{
	const struct zs_sink *zs = o->d->zs;
	enum nds_result r;
	char frames[64] = "";
	size_t n = o->nheld;

	o->mode = mode;
	if (mode == MODE_PASS)
		dlog(o->d, NDS_LOG_INFO, "vmcore: %s%s: passing it through",
		    o->why, o->random ? ": taken for an encrypted dump" : "");
	else {
		if ((r = start_compress(o, err)) != NDS_OK) {
			o->failed = true;
			return r;
		}
		dlog(o->d, NDS_LOG_DEBUG, "vmcore: %s", o->why);
		if (zs->frame_size != 0)
			snprintf(frames, sizeof(frames), ", seekable frames of %"
			    PRIu32 " bytes", zs->frame_size);
		dlog(o->d, NDS_LOG_INFO, "vmcore: compressing at level %d "
		    "with %d worker(s)%s", zs->level, zs->workers, frames);
	}
	o->nheld = 0;
	return consume(o, o->held, n, err);
}

static enum nds_result
zs_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const void *config, void **instance, char err[NDS_ERRBUF_SIZE])
{
	const struct zs_config *c = config;
	struct zs_sink *zs;
	ZSTD_bounds b;
	int64_t workers = c->workers;
	long ncpu;

	*instance = NULL;
	/* The host checked the ranges; not this gap in the middle of one. */
	if (c->frame_size != 0 && c->frame_size < SEEK_MIN_FRAME) {
		sink_seterr(err, "frame_size: %" PRId64 " is neither 0 (one frame) "
		    "nor within 64k..1G", c->frame_size);
		return NDS_FATAL;
	}
	b = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);
	if (ZSTD_isError(b.error) || b.upperBound < 1) {
		/* A libzstd built without threads compresses in the caller. */
		if (workers > 0) {
			sink_seterr(err, "workers: this libzstd has no "
			    "multithreading; leave workers unset");
			return NDS_FATAL;
		}
	} else {
		if (workers == 0) {
			ncpu = sysconf(_SC_NPROCESSORS_ONLN);
			workers = ncpu < 1 ? 1 : ncpu > MAX_WORKERS ?
			    MAX_WORKERS : ncpu;
		}
		if (workers > b.upperBound)
			workers = b.upperBound;
	}
	if ((zs = calloc(1, sizeof(*zs))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FATAL;
	}
	*zs = (struct zs_sink){ host, ctx, (int)c->level, (int)workers,
	    (uint32_t)c->frame_size };
	*instance = zs;
	return NDS_OK;
}

static void
zs_destroy(void *instance)
{
	free(instance);
}

static enum nds_result
zs_begin(void *instance, const struct nds_dump *dump,
    const struct nds_stage *next, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct zs_dump *d;

	if ((*dump_state = d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	*d = (struct zs_dump){ instance, dump, next, NULL };
	return NDS_OK;
}

static enum nds_result
zs_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct zs_dump *d = dump_state;
	struct zs_object *o;
	char nerr[NDS_ERRBUF_SIZE] = "";
	enum nds_result r;

	*object_state = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	o->d = d;
	r = d->next->open(d->next->ctx, kind, &o->nobj, nerr);
	if ((r = next_result(r, nerr, err)) != NDS_OK) {
		free(o);
		return r;
	}
	o->link = d->objects;
	d->objects = o;
	*object_state = o;
	/* Encrypted already (the key came first): nothing to sniff. */
	if (d->dump->encrypted)
		return decide(o, classify(o, o->held, 0, true), err);
	return NDS_OK;
}

/* Vmcore data at offset, or a hole when p is NULL. */
static enum nds_result
vm_op(struct zs_object *o, uint64_t offset, const unsigned char *p,
    uint64_t len, char *err)
{
	uint64_t expect = o->inpos + o->nheld;
	enum nds_result r = NDS_OK;
	enum zs_mode mode;
	size_t n;

	if (len == 0)
		return NDS_OK;
	if (o->failed || offset != expect || len > UINT64_MAX - offset) {
		if (o->failed)
			sink_seterr(err, "vmcore: the stream broke at offset %"
			    PRIu64, expect);
		else if (offset != expect)
			sink_seterr(err, "out-of-order data at offset %" PRIu64
			    " (expected %" PRIu64 ")", offset, expect);
		else
			sink_seterr(err, "data at offset %" PRIu64 " runs past "
			    "2^64", offset);
		return NDS_FAILED;
	}
	/* Before a hole: no magic can match, no more bytes to judge. */
	if (o->mode == MODE_SNIFF && p == NULL)
		r = decide(o, classify(o, o->held, o->nheld, true), err);
	else if (o->mode == MODE_SNIFF && p != NULL) {
		n = SNIFF_MAX - o->nheld < len ? SNIFF_MAX - o->nheld :
		    (size_t)len;
		/* Nothing held yet: buf itself may tell, and go on whole. */
		if (o->nheld == 0 &&
		    (mode = classify(o, p, n, false)) != MODE_SNIFF)
			n = 0;
		else {
			memcpy(o->held + o->nheld, p, n);
			o->nheld += n;
			/* Still sniffing only while held has room: n == len. */
			if ((mode = classify(o, o->held, o->nheld, false)) ==
			    MODE_SNIFF)
				return NDS_OK;
		}
		r = decide(o, mode, err);
		p += n;
		len -= n;
	}
	return r != NDS_OK ? r : consume(o, p, len, err);
}

static enum nds_result
zs_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	return vm_op(object_state, offset, buf, len, err);
}

static enum nds_result
zs_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	return vm_op(object_state, offset, NULL, len, err);
}

/*
 * Close the next stage's object; of its result and ours, the worse one
 * (and its message) wins.
 */
static enum nds_result
close_next(struct zs_object *o, const struct nds_object *obj,
    enum nds_result r, char *where, char *err)
{
	char nerr[NDS_ERRBUF_SIZE] = "", tmp[NDS_ERRBUF_SIZE];
	enum nds_result nr;

	nr = o->d->next->close(o->nobj, obj, where, nerr);
	o->nobj = NULL;
	if ((nr = next_result(nr, nerr, tmp)) > r) {
		memcpy(err, tmp, NDS_ERRBUF_SIZE);
		return nr;
	}
	return r;
}

/* What the end of the dump says about a vmcore that was compressed. */
static void
compress_notes(const struct zs_object *o)
{
	const struct zs_dump *d = o->d;
	const struct nds_kdh *kdh = d->dump->kdh;

	dlog(d, NDS_LOG_INFO, "vmcore: %" PRIu64 " -> %" PRIu64 " bytes "
	    "(%.2f:1)%s", o->inpos, o->outpos, o->outpos > 0 ?
	    (double)o->inpos / (double)o->outpos : 0.0,
	    d->zs->frame_size != 0 ? ", seekable" : "");
	dlog(d, NDS_LOG_DEBUG, "vmcore: compressor used %zu bytes",
	    ZSTD_sizeof_CCtx(o->cctx) + o->obufsize +
	    o->maxentries * sizeof(*o->entries));
	if (kdh != NULL && kdh->compression != NDS_COMP_NONE)
		dlog(d, NDS_LOG_INFO, "vmcore: the KDH says the kernel "
		    "compressed it (%s) after all: it is compressed twice",
		    kdh->compression == NDS_COMP_GZIP ? "gzip" :
		    kdh->compression == NDS_COMP_ZSTD ? "zstd" :
		    "unknown method");
	if (d->dump->encrypted)
		dlog(d, NDS_LOG_NOTICE, "vmcore: the dump is encrypted, which "
		    "was not known while its data came, and the data looked "
		    "like plaintext (%s): compressed all the same", o->why);
}

/* Finish the vmcore: compressed, passed through or broken. */
static enum nds_result
close_vmcore(struct zs_object *o, const struct nds_object *object,
    char *where, char *err)
{
	const struct nds_dump *dump = o->d->dump;
	struct nds_object out = *object;
	char ferr[NDS_ERRBUF_SIZE];
	enum nds_result r = NDS_OK, fr;
	uint64_t insize;

	if (!o->failed && o->mode == MODE_SNIFF)
		r = decide(o, classify(o, o->held, o->nheld, true), err);
	insize = o->inpos;
	if (r == NDS_OK && o->failed) {
		sink_seterr(err, "vmcore: the stream broke at offset %" PRIu64,
		    insize);
		r = NDS_FAILED;
	}
	if (o->mode == MODE_PASS) {
		/* The core names it; the size cuts the padding. */
		if (r != NDS_OK) {
			out.size = insize;
			out.incomplete = true;
		}
		else if (o->magic != NULL && dump->kdh != NULL &&
		    dump->kdh->compression == NDS_COMP_NONE && !dump->encrypted)
			dlog(o->d, NDS_LOG_INFO, "vmcore: starts with %s magic "
			    "but the KDH says it is not compressed: stored as "
			    "it came", o->magic);
		else if (o->random && !dump->encrypted)
			dlog(o->d, NDS_LOG_NOTICE, "vmcore: passed through as "
			    "incompressible, but no key came with the dump: "
			    "stored as it came");
		return close_next(o, &out, r, where, err);
	}

	if (snprintf(o->suffix, sizeof(o->suffix), "%s.zst",
	    object->suffix != NULL ? object->suffix : "") >=
	    (int)sizeof(o->suffix)) {
		/* Rather a suffix too short than a name cut short. */
		snprintf(o->suffix, sizeof(o->suffix), ".zst");
		if (r == NDS_OK) {
			sink_seterr(err, "vmcore: suffix \"%s\" is too long",
			    object->suffix);
			r = NDS_FAILED;
		}
	}
	out.suffix = o->suffix;
	/* Trailing holes the host did not send as such. */
	if (r == NDS_OK && object->size > insize)
		r = consume(o, NULL, object->size - insize, err);
	/*
	 * Whatever went wrong, an intact stream is finished, so what did
	 * come is a readable .zst.
	 */
	if (!o->failed && (fr = finish(o, r == NDS_OK ? err : ferr)) !=
	    NDS_OK) {
		o->failed = true;
		if (r == NDS_OK)
			r = fr;
	}
	if (r == NDS_OK && object->size < insize) {
		sink_seterr(err, "vmcore: size %" PRIu64 " is below the %" PRIu64
		    " bytes already compressed", object->size, insize);
		r = NDS_FAILED;
	}
	out.size = o->outpos;
	/* A readable stream of less than came is still cut short. */
	if (r != NDS_OK || o->failed)
		out.incomplete = true;
	if (r == NDS_OK)
		compress_notes(o);
	return close_next(o, &out, r, where, err);
}

static enum nds_result
zs_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct zs_object *o = object_state, **pp;
	enum nds_result r;

	r = close_vmcore(o, object, where, err);
	for (pp = &o->d->objects; *pp != o; pp = &(*pp)->link)
		;
	*pp = o->link;
	ZSTD_freeCCtx(o->cctx);
	free(o->obuf);
	free(o->entries);
	free(o);
	return r;
}

static enum nds_result
zs_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct zs_dump *d = dump_state;
	struct zs_object *o;
	struct nds_object obj;
	char where[NDS_WHERE_SIZE], oerr[NDS_ERRBUF_SIZE];
	enum nds_result r = NDS_OK, or;

	/*
	 * Objects still open (the host gave up on them): finish each with
	 * what came, so the next stage is left with no object open.
	 */
	while ((o = d->objects) != NULL) {
		obj = (struct nds_object){ .kind = NDS_OBJ_VMCORE,
		    .size = o->inpos + o->nheld, .incomplete = true };
		oerr[0] = '\0';
		or = zs_close(o, &obj, where, oerr);
		dlog(d, NDS_LOG_WARNING, "vmcore was still open at the end: "
		    "closed it at %" PRIu64 " bytes%s%s", obj.size, or != NDS_OK ?
		    ": " : "", or != NDS_OK ? oerr : "");
		if (or > r) {
			r = or;
			memcpy(err, oerr, NDS_ERRBUF_SIZE);
		}
	}
	free(d);
	return r;
}

static const struct nds_option zs_options[] = {
	{ .name = "level", .type = NDS_OPT_INT,
	    .offset = offsetof(struct zs_config, level),
	    .default_value = "3", .min = MIN_LEVEL, .max = MAX_LEVEL,
	    .description = "compression level, 1 (fastest) to 19 (smallest)" },
	{ .name = "workers", .type = NDS_OPT_INT,
	    .offset = offsetof(struct zs_config, workers),
	    .default_value = "0", .min = 0, .max = MAX_WORKERS,
	    .description = "compression threads per dump; 0: one per online "
	    "CPU" },
	{ .name = "frame_size", .type = NDS_OPT_SIZE,
	    .offset = offsetof(struct zs_config, frame_size),
	    .default_value = "0", .min = 0, .max = SEEK_MAX_FRAME,
	    .description = "seekable format with frames of this many "
	    "uncompressed bytes (64k to 1G); 0: one ordinary frame" },
	{ .name = NULL },
};

NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "zstd",
	.version = "1.0",
	.description = "compress the vmcore with zstd, optionally seekable "
	    "(a transform: 'zstd | local')",
	.caps = NDS_CAP_TRANSFORM | NDS_CAP_ORDERED,
	.options = zs_options,
	.config_size = sizeof(struct zs_config),
	.kinds = NDS_KIND(NDS_OBJ_VMCORE),
	.create = zs_create,
	.destroy = zs_destroy,
	.begin = zs_begin,
	.open = zs_open,
	.write = zs_write,
	.hole = zs_hole,
	.close = zs_close,
	.end = zs_end,
};
