/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What netdump-send sends, shaped the way a FreeBSD kernel shapes it: the
 * version string of the KDH, the EKCD key blob, the sequence of dumper
 * writes of a minidump, and the uncompressed size of a compressed stream.
 * No FreeBSD code is copied; each function names the source it follows.
 */
#ifndef ND_SEND_IMAGE_H
#define ND_SEND_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMG_BLOCK	4096		/* netdump's dumper.blocksize */
#define IMG_PAGE	4096
#define IMG_MAXIO	(16 * IMG_PAGE)	/* MAXDUMPPGS * PAGE_SIZE, amd64 */

/* struct kerneldumpkey (sys/sys/kerneldump.h): 1 + 32 + 4 bytes, packed. */
#define IMG_KDK_HDR		37
#define IMG_KDK_IV_SIZE		32
#define IMG_KDK_ENCKEY_MAX	2048	/* KERNELDUMP_ENCKEY_MAX_SIZE */
#define IMG_ENC_AES_256_CBC	1
#define IMG_ENC_CHACHA20	2

/*
 * The default version string: sys/conf/newvers.sh with metadata (a
 * modified or non-reproducible tree), two lines.
 */
#define IMG_VERSION_TWO_LINE						\
	"FreeBSD 14.2-STABLE #3 stable/14-n269873-3d2a9c1b5d07-dirty: "	\
	"Tue Mar  4 10:21:33 UTC 2025\n"					\
	"    root@build.example.org:/usr/obj/usr/src/amd64.amd64/sys/CUSTOM\n"
/* newvers.sh without metadata (-r, or -R on an unmodified tree). */
#define IMG_VERSION_ONE_LINE						\
	"FreeBSD 14.2-STABLE stable/14-n269873-3d2a9c1b5d07 CUSTOM\n"

/*
 * splitmix64: tiny, fast, and good enough to make test data and fault
 * decisions that are reproducible from a seed. img_rng_unit is in [0, 1).
 */
uint64_t img_rng_next(uint64_t *state);
double	img_rng_unit(uint64_t *state);

/*
 * One page of the generated image: page 0 starts with the amd64 minidump
 * magic and is otherwise zero, a zero_ratio share of the others is zero,
 * the rest mixes words of a small kernel vocabulary, pointer-like values
 * and random bytes, so it compresses about as well as real memory. Each
 * page depends only on (seed, pageno).
 */
void	img_gen_page(uint8_t *page, uint64_t pageno, uint64_t seed,
	    double zero_ratio);

/*
 * Decode C escapes (\n \t \r \\ \" \' \a \b \f \v \e, \xHH, \ooo) from src
 * into dst, NUL-terminated. Returns the decoded length, or -1 for a bad
 * escape, an embedded NUL or a result that does not fit.
 */
long	img_unescape(char *dst, size_t dstsize, const char *src);

/* Make the XOR of the KDH's 128 words zero again after a change. */
void	img_kdh_fix_parity(uint8_t *kdh);

/*
 * The EKCD key blob as kerneldumpcrypto_create() lays it out
 * (sys/kern/kern_shutdown.c): struct kerneldumpkey, then the encrypted
 * key, zero-padded to a multiple of blocksize. img_kdk_size() is that
 * padded size (the KDH's dumpkeysize); img_kdk_build() fills out, which
 * must hold img_kdk_size() bytes.
 */
uint32_t img_kdk_size(uint32_t enckeysize, uint32_t blocksize);
void	img_kdk_build(uint8_t *out, uint8_t encryption, const uint8_t *iv,
	    const uint8_t *enckey, uint32_t enckeysize, uint32_t blocksize);

/*
 * The dumper writes of a dump: where each dump_append() call of the
 * kernel's dump code starts and how long it is. A plan is a list of
 * regions, each written in pieces of at most `unit` bytes from its start;
 * beyond the last region, IMG_MAXIO pieces.
 */
#define IMG_PLAN_MAX	8
struct img_plan {
	unsigned	 n;
	struct {
		uint64_t start, len, unit;
	}		 reg[IMG_PLAN_MAX];
};

/* Everything in IMG_MAXIO pieces: a full dump, a compressor's output. */
void	img_plan_flat(struct img_plan *);
/*
 * An amd64 minidump (sys/amd64/amd64/minidump_machdep.c, minidumpsys and
 * blk_write): the header page, the message buffer, dump_avail (version
 * 3), the bitmap, one write per page-table page, then the pages in
 * IMG_MAXIO pieces. img_plan_minidump() reads the sizes from page 0 of a
 * file (flat if it is no amd64 minidump or the sizes do not fit in
 * total, when total is known, i.e. not 0); img_plan_generated() lays
 * out a generated image of total bytes like a small machine whose pages
 * start at a multiple of IMG_MAXIO (flat for less than 256 KiB).
 */
void	img_plan_minidump(struct img_plan *, const uint8_t *page0,
	    size_t len, uint64_t total);
void	img_plan_generated(struct img_plan *, uint64_t total);
/* The length of the dumper write at off (a multiple of IMG_PAGE). */
size_t	img_plan_next(const struct img_plan *, uint64_t off);

/*
 * The uncompressed size a compressed stream states about itself: a zstd
 * frame's Frame_Content_Size (head = the stream's first bytes) or a gzip
 * member's ISIZE (tail = its last 4 bytes, modulo 2^32). 0 when the
 * stream does not say.
 */
uint64_t img_stream_size(uint8_t compression, const uint8_t *head,
	    size_t headlen, const uint8_t *tail4);

#endif /* ND_SEND_IMAGE_H */
