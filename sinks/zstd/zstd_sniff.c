/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zstd, how a vmcore goes: compressed, or passed through as it came
 * because the kernel compressed it already or it is ciphertext. The rule
 * is described above zs_classify().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "netdump/sink.h"
#include "zstd_sink.h"

static const unsigned char gzip_magic[2] = { 0x1f, 0x8b };
static const unsigned char zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

/*
 * Fewer than JUDGE_MIN held bytes (a dump that small, or one that begins
 * with a hole) are not judged: they are compressed.
 */
#define JUDGE_MIN	4096
/* Saving less than 1/PASS_RATIO of the held bytes: taken for ciphertext. */
#define PASS_RATIO	100

/* Headers a plaintext dump begins with. */
static const struct {
	size_t		 offset;
	const char	*magic;
	size_t		 len;
	const char	*what;
} plain_headers[] = {
	{ 0, "minidump FreeBSD/", 17, "a minidump header" },
	{ 0, "\177ELF", 4, "an ELF header (a full dump)" },
	{ 257, "ustar", 5, "a tar header (a textdump)" },
};

/* Does p[0, n) start like a gzip or zstd stream (so far)? */
static bool
kernel_magic(const unsigned char *p, size_t n, bool partial,
    const char **magic)
{
	if (n >= sizeof(gzip_magic) &&
	    memcmp(p, gzip_magic, sizeof(gzip_magic)) == 0) {
		*magic = "gzip";
		return true;
	}
	if (n >= sizeof(zstd_magic) &&
	    memcmp(p, zstd_magic, sizeof(zstd_magic)) == 0) {
		*magic = "zstd";
		return true;
	}
	return partial && n < sizeof(zstd_magic) &&
	    ((n < sizeof(gzip_magic) && memcmp(p, gzip_magic, n) == 0) ||
	    memcmp(p, zstd_magic, n) == 0);
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
	if (c * PASS_RATIO >= n * (PASS_RATIO - 1)) {
		o->pass = PASS_RANDOM;
		return MODE_PASS;
	}
	return MODE_COMPRESS;
}

/*
 * How the vmcore goes, from its first n bytes, p (at most SNIFF_MAX);
 * MODE_SNIFF while they are too few to tell and more may come (final: no
 * more will). The rule:
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
enum zs_mode
zs_classify(struct zs_object *o, const unsigned char *p, size_t n, bool final)
{
	size_t i;

	if (o->d->dump->encrypted) {
		o->pass = PASS_ENCRYPTED;
		snprintf(o->why, sizeof(o->why), "encrypted (a key came with "
		    "the dump)");
		return MODE_PASS;
	}
	if (kernel_magic(p, n, !final, &o->magic)) {
		if (o->magic == NULL)
			return MODE_SNIFF;
		o->pass = PASS_KERNEL;
		snprintf(o->why, sizeof(o->why), "%s-compressed by the kernel",
		    o->magic);
		return MODE_PASS;
	}
	for (i = 0; i < sizeof(plain_headers) / sizeof(plain_headers[0]);
	    i++)
		if (n >= plain_headers[i].offset + plain_headers[i].len &&
		    memcmp(p + plain_headers[i].offset, plain_headers[i].magic,
		    plain_headers[i].len) == 0) {
			snprintf(o->why, sizeof(o->why), "starts with %s",
			    plain_headers[i].what);
			return MODE_COMPRESS;
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
