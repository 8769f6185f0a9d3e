/* SPDX-License-Identifier: BSD-2-Clause */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgbuf.h"

#define MAGIC_PREFIX	"minidump FreeBSD/"
#define MAGIC_SIZE	24

/* Big-endian FreeBSD platforms; the rest are little-endian. */
static bool
arch_big_endian(const char *arch)
{
	return strncmp(arch, "powerpc", 7) == 0 || strncmp(arch, "mips", 4) ==
	    0 || strcmp(arch, "sparc64") == 0;
}

static void
decide(struct nd_msgbuf *mb, const uint8_t *hdr)
{
	uint32_t raw;
	size_t i;

	mb->decided = true;
	if (memcmp(hdr, MAGIC_PREFIX, sizeof(MAGIC_PREFIX) - 1) != 0)
		return;
	for (i = 0; i < sizeof(mb->arch) - 1 &&
	    sizeof(MAGIC_PREFIX) - 1 + i < MAGIC_SIZE; i++) {
		char c = (char)hdr[sizeof(MAGIC_PREFIX) - 1 + i];

		if (c == '\0')
			break;
		mb->arch[i] = c;
	}
	memcpy(&raw, hdr + MAGIC_SIZE + 4, sizeof(raw));
	mb->size = arch_big_endian(mb->arch) ? be32toh(raw) : le32toh(raw);
	if (mb->size == 0 || mb->size > ND_MSGBUF_MAX)
		return;
	if ((mb->buf = calloc(1, mb->size)) == NULL)
		return;
	mb->active = true;
}

void
nd_msgbuf_feed(struct nd_msgbuf *mb, uint64_t off, const uint8_t *data,
    uint64_t len)
{
	uint64_t start, end, ring_end;

	if (!mb->decided) {
		/* The header must be the first thing in the stream. */
		if (off != 0 || data == NULL || len < MAGIC_SIZE + 8) {
			mb->decided = true;
			return;
		}
		decide(mb, data);
	}
	if (!mb->active)
		return;
	ring_end = ND_MSGBUF_OFFSET + (uint64_t)mb->size;
	start = off > ND_MSGBUF_OFFSET ? off : ND_MSGBUF_OFFSET;
	end = off + len < ring_end ? off + len : ring_end;
	if (start >= end || start != ND_MSGBUF_OFFSET + mb->filled)
		return;
	if (data != NULL)
		memcpy(mb->buf + mb->filled, data + (start - off),
		    (size_t)(end - start));
	mb->filled += end - start;
}

/*
 * Where the ring wraps. A kernel prints "Dumping N out of M MB:" just
 * before it writes the dump, so that line (and any progress dots after it)
 * is the newest text; what follows it in the ring is the oldest.
 */
static size_t
wrap_point(const uint8_t *b, size_t n)
{
	static const char marker[] = "Dumping ";
	size_t i, best = 0;
	bool found = false;

	if (n < sizeof(marker))
		return 0;
	for (i = 0; i + sizeof(marker) - 1 <= n; i++) {
		size_t j;

		if (memcmp(b + i, marker, sizeof(marker) - 1) != 0)
			continue;
		/* "Dumping 123 out of 4096 MB:" */
		for (j = i + sizeof(marker) - 1; j < n && j < i + 64; j++)
			if (b[j] == ':' || b[j] == '\n')
				break;
		if (j < n && b[j] == ':' && j >= 3 &&
		    memcmp(b + j - 2, "MB", 2) == 0) {
			j++;
			while (j < n && (b[j] == '.' || b[j] == '%' ||
			    b[j] == ' ' || (b[j] >= '0' && b[j] <= '9')))
				j++;
			if (j < n && b[j] == '\n')
				j++;
			best = j;
			found = true;
		}
	}
	return found && best < n ? best : 0;
}

char *
nd_msgbuf_text(const struct nd_msgbuf *mb, size_t *lenp, const char **panic)
{
	const uint8_t *b = mb->buf;
	size_t n = (size_t)mb->filled, start = 0, i, k, out = 0;
	bool wrapped;
	char *text, *p;

	*panic = NULL;
	*lenp = 0;
	if (!mb->active || n == 0)
		return NULL;
	/* An unwrapped ring still has its zero tail. */
	wrapped = memchr(b, '\0', n) == NULL;
	if (wrapped)
		start = wrap_point(b, n);
	if ((text = malloc(n * 4 + 2)) == NULL)
		return NULL;
	for (k = 0; k < n; k++) {
		unsigned char c = b[(start + k) % n];

		if (c == '\0')
			continue;
		if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f))
			text[out++] = (char)c;
		else
			out += (size_t)snprintf(text + out, 5, "\\x%02x", c);
	}
	if (out > 0 && text[out - 1] != '\n')
		text[out++] = '\n';
	text[out] = '\0';
	for (p = text, i = 0; (p = strstr(p, "panic: ")) != NULL; p++, i++) {
		const char *line = p;

		while (line > text && line[-1] != '\n')
			line--;
		*panic = line;
	}
	*lenp = out;
	return text;
}

void
nd_msgbuf_free(struct nd_msgbuf *mb)
{
	free(mb->buf);
	memset(mb, 0, sizeof(*mb));
}
