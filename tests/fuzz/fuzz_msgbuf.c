/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the message buffer of a minidump, fed as a stream
 * split at arbitrary offsets, some pieces as holes, then made text.
 *
 * Input: byte 0 low 3 bits pick the first page: 0 and 1 the rest of the
 * input is the whole stream as it is; otherwise a header is made (2
 * amd64, 3 powerpc64 big-endian, 4 powerpc64 little-endian, 5 mips in
 * the byte order of byte 0 bit 3, 6 arm64 v3 with byte 0 bits 3-4 as
 * its page size flags, 7 amd64 with the size in the wrong byte order),
 * its msgbufsize from bytes 1-2 (0xffff: UINT32_MAX, 0xfffe: the cap,
 * 0xfffd: past it), and the rest of the input is the ring and beyond,
 * one page in (16 KiB for arm64 flags 1). Bytes 0-3 seed the split:
 * pieces of 1 to 4 KiB, one in eight a hole.
 *
 * Invariants: the text is what its length says, at most
 * ND_MSGBUF_TEXT_MAX, with no control character but newline and tab,
 * ending in a newline; the panic pointer is inside it, at a line start,
 * on the last line that has "panic: " (and NULL when none has); memory
 * is at most twice the bytes kept, which are at most those fed; there is
 * a reason for no text, and none for a text; and the same stream fed in
 * one piece, holes as zeros, gives the same text.
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msgbuf.h"

#define PAGE	4096
#define PANIC	"panic: "

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint32_t
next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
put32(uint8_t *p, uint32_t v, bool big)
{
	v = big ? htobe32(v) : htole32(v);
	memcpy(p, &v, sizeof(v));
}

/* The stream: the input itself, or a made header and the input after. */
static uint8_t *
stream(const uint8_t *data, size_t size, size_t *lenp)
{
	/* sys/<arch>/include/minidump.h: where version sits, and so on. */
	static const struct {
		const char	*magic;
		size_t		 version_at;
		bool		 big;
	} form[8] = {
		{ NULL, 0, false }, { NULL, 0, false },
		{ "minidump FreeBSD/amd64", 24, false },
		{ "minidump FreeBSD/powerpc64", 64, true },
		{ "minidump FreeBSD/powerpc64", 64, false },
		{ "minidump FreeBSD/mips", 24, false },
		{ "minidump FreeBSD/arm64", 24, false },
		{ "minidump FreeBSD/amd64", 24, false },
	};
	unsigned f = size > 0 ? data[0] & 7 : 0, flags = 0;
	size_t at, n, page = PAGE;
	uint32_t ringsize;
	uint8_t *s;
	bool big;

	if (form[f].magic == NULL || size < 3) {
		n = size > 0 ? size - 1 : 0;
		if ((s = malloc(n + 1)) == NULL)
			abort();
		if (n > 0)
			memcpy(s, data + 1, n);
		*lenp = n;
		return s;
	}
	ringsize = (uint32_t)data[1] | (uint32_t)data[2] << 8;
	if (ringsize == 0xffff)
		ringsize = UINT32_MAX;
	else if (ringsize == 0xfffe)
		ringsize = ND_MSGBUF_MAX;
	else if (ringsize == 0xfffd)
		ringsize = ND_MSGBUF_MAX + 1;
	big = form[f].big || (f == 5 && (data[0] & 8) != 0);
	if (f == 6 && (flags = (data[0] >> 3) & 3) == 1)
		page = 4 * PAGE;
	at = form[f].version_at;
	if ((s = calloc(1, page + size - 3)) == NULL)
		abort();
	memcpy(s, form[f].magic, strlen(form[f].magic));
	put32(s + at, f == 6 ? 3 : 2, big);
	put32(s + at + 4, ringsize, f == 7 ? !big : big);
	if (f == 6)
		put32(s + 76, flags, big);
	memcpy(s + page, data + 3, size - 3);
	*lenp = page + size - 3;
	return s;
}

/* The checks on one text. */
static void
check(const struct nd_msgbuf *mb, const char *t, size_t len,
    const char *panic)
{
	const char *end, *p, *reason;
	size_t i;

	if (mb->kept > mb->filled || mb->filled > mb->size ||
	    (mb->active && mb->size > ND_MSGBUF_MAX))
		abort();
	if (mb->alloc > 2 * mb->kept)
		abort();
	/* A reason exactly when there is no text (a failed malloc aside). */
	reason = nd_msgbuf_missing(mb);
	if ((reason == NULL) != (t != NULL))
		abort();
	if (reason != NULL && (reason[0] == '\0' || strlen(reason) >=
	    sizeof(mb->why)))
		abort();
	if (t == NULL) {
		if (len != 0 || panic != NULL)
			abort();
		return;
	}
	if (strlen(t) != len || len > ND_MSGBUF_TEXT_MAX)
		abort();
	if (len > 0 && t[len - 1] != '\n')
		abort();
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			abort();
		/* Nor a C1 control in UTF-8 (0xc2 0x9b is CSI). */
		if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)t[i + 1] >= 0x80 &&
		    (unsigned char)t[i + 1] < 0xa0)
			abort();
	}
	if (panic == NULL) {
		if (strstr(t, PANIC) != NULL)
			abort();
		return;
	}
	if (panic < t || panic >= t + len)
		abort();
	if (panic != t && panic[-1] != '\n')
		abort();
	end = strchr(panic, '\n');
	if (end == NULL)
		abort();
	p = memmem(panic, (size_t)(end - panic), PANIC, sizeof(PANIC) - 1);
	if (p == NULL || strstr(end, PANIC) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nd_msgbuf split, whole;
	const char *panic, *wpanic;
	size_t len, tlen, wlen, off, n;
	uint32_t seed = 0x9e3779b9;
	uint8_t *s, *flat;
	char *t, *wt;

	s = stream(data, size, &len);
	for (off = 0; off < 4 && off < size; off++)
		seed = seed * 31 + data[off] + 1;
	if ((flat = calloc(1, len + 1)) == NULL)
		abort();

	/*
	 * Split, the first piece big enough for the header now and then so
	 * the rest gets fuzzed too; holes are zeros in the flat copy.
	 */
	memset(&split, 0, sizeof(split));
	for (off = 0; off < len; off += n) {
		n = 1 + next(&seed) % PAGE;
		if (off == 0 && (seed & 0x300) != 0 && n < 72)
			n = 72 + n;
		if (n > len - off)
			n = len - off;
		if (off > 0 && next(&seed) % 8 == 0)
			nd_msgbuf_feed(&split, off, NULL, n);
		else {
			nd_msgbuf_feed(&split, off, s + off, n);
			memcpy(flat + off, s + off, n);
		}
	}
	t = nd_msgbuf_text(&split, &tlen, &panic);
	check(&split, t, tlen, panic);

	/* The same bytes in one piece after the first. */
	memset(&whole, 0, sizeof(whole));
	off = split.decided && split.active ? len : 0;
	if (off > 0) {
		size_t first = len < 72 ? len : 72;

		nd_msgbuf_feed(&whole, 0, flat, first);
		nd_msgbuf_feed(&whole, first, flat + first, len - first);
		wt = nd_msgbuf_text(&whole, &wlen, &wpanic);
		check(&whole, wt, wlen, wpanic);
		if ((wt == NULL) != (t == NULL) || wlen != tlen ||
		    (t != NULL && memcmp(wt, t, tlen) != 0) ||
		    (wpanic == NULL) != (panic == NULL) ||
		    (panic != NULL && wpanic - wt != panic - t))
			abort();
		free(wt);
	}
	free(t);
	nd_msgbuf_free(&whole);
	nd_msgbuf_free(&split);
	free(flat);
	free(s);
	return 0;
}
