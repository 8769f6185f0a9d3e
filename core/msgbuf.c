/* SPDX-License-Identifier: BSD-2-Clause */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgbuf.h"

#define MAGIC_PREFIX	"minidump FreeBSD/"
#define MAGIC_SIZE	24
/* powerpc64's magic, longer than 24: its header is laid out otherwise. */
#define MAGIC_PPC64	"minidump FreeBSD/powerpc64"
#define PPC64_MAGIC_SIZE	32
#define PPC64_VERSION_AT	64

#define PANIC		"panic: "
#define PANIC_LEN	(sizeof(PANIC) - 1)

/* Room kept for the line that says the text was cut. */
#define CUT_NOTE_ROOM	128

/* Big-endian FreeBSD platforms; the rest are little-endian. */
static bool
arch_big_endian(const char *arch)
{
	return strncmp(arch, "powerpc", 7) == 0 || strncmp(arch, "mips", 4) ==
	    0 || strcmp(arch, "sparc64") == 0;
}

static uint32_t
get32(const uint8_t *p, bool big)
{
	uint32_t raw;

	memcpy(&raw, p, sizeof(raw));
	return big ? be32toh(raw) : le32toh(raw);
}

/* Versions so far are 1 to 3; the same read the other way are huge. */
static bool
small_version(uint32_t v)
{
	return v >= 1 && v <= 0xffff;
}

/*
 * Every platform's struct minidumphdr starts with char magic[24],
 * uint32_t version, uint32_t msgbufsize (sys/amd64/include/minidump.h;
 * arm64, i386, arm and riscv alike), in the platform's byte order, but
 * powerpc64's has char magic[32], char mmu_name[32] before the two
 * (sys/powerpc/include/minidump.h, MINIDUMP_VERSION 2), its magic being
 * "minidump FreeBSD/powerpc64". Where a 24-byte magic ends the version
 * follows, never "64".
 *
 * The magic does not tell the byte order everywhere (powerpc64 and
 * powerpc64le, mips and mipsel write the same one), the version does:
 * it is a small number in one order only. The platform decides when it
 * is not.
 *
 * Nothing is allocated here: the header may claim any size, so the ring
 * is kept as it arrives (see keep()).
 */
static void
decide(struct nd_msgbuf *mb, const uint8_t *hdr, uint64_t len)
{
	size_t magic = MAGIC_SIZE, at = MAGIC_SIZE, i;
	bool big;

	mb->decided = true;
	if (memcmp(hdr, MAGIC_PREFIX, sizeof(MAGIC_PREFIX) - 1) != 0)
		return;
	if (memcmp(hdr, MAGIC_PPC64, sizeof(MAGIC_PPC64)) == 0) {
		magic = PPC64_MAGIC_SIZE;
		at = PPC64_VERSION_AT;
		if (len < at + 8)
			return;
	}
	for (i = 0; i < sizeof(mb->arch) - 1 &&
	    sizeof(MAGIC_PREFIX) - 1 + i < magic; i++) {
		char c = (char)hdr[sizeof(MAGIC_PREFIX) - 1 + i];

		if (c == '\0')
			break;
		mb->arch[i] = c;
	}
	big = arch_big_endian(mb->arch);
	if (!small_version(get32(hdr + at, big)) &&
	    small_version(get32(hdr + at, !big)))
		big = !big;
	mb->size = get32(hdr + at + 4, big);
	if (mb->size == 0 || mb->size > ND_MSGBUF_MAX)
		return;
	mb->active = true;
}

/*
 * Room for add more bytes. The buffer doubles, but never past the ring
 * size and never to more than twice what it holds after the copy, so
 * memory follows the bytes received, whatever the header claims.
 */
static int
grow(struct nd_msgbuf *mb, size_t add)
{
	size_t need = mb->kept + add, n;
	uint8_t *p;

	if (need <= mb->alloc)
		return 0;
	n = mb->alloc * 2 < mb->size ? mb->alloc * 2 : mb->size;
	if (n < need)
		n = need;
	if ((p = realloc(mb->buf, n)) == NULL)
		return -1;
	mb->buf = p;
	mb->alloc = n;
	return 0;
}

/*
 * Keep the bytes of the ring but its NULs. The text leaves NULs out, and
 * one NUL is all it needs to know: a ring that has one has not wrapped
 * yet, so its text is its other bytes in order.
 */
static int
keep(struct nd_msgbuf *mb, const uint8_t *p, size_t n)
{
	const uint8_t *z;
	size_t run;

	while (n > 0) {
		z = memchr(p, '\0', n);
		run = z != NULL ? (size_t)(z - p) : n;
		if (run > 0) {
			if (grow(mb, run) == -1)
				return -1;
			memcpy(mb->buf + mb->kept, p, run);
			mb->kept += run;
		}
		if (z == NULL)
			break;
		mb->nul = true;
		while (run < n && p[run] == '\0')
			run++;
		p += run;
		n -= run;
	}
	return 0;
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
		decide(mb, data, len);
	}
	if (!mb->active)
		return;
	ring_end = ND_MSGBUF_OFFSET + (uint64_t)mb->size;
	if (off >= ring_end)
		return;
	start = off > ND_MSGBUF_OFFSET ? off : ND_MSGBUF_OFFSET;
	end = len < ring_end - off ? off + len : ring_end;
	if (start >= end || start != ND_MSGBUF_OFFSET + mb->filled)
		return;
	if (data == NULL)
		mb->nul = true;
	else if (keep(mb, data + (start - off), (size_t)(end - start)) == -1) {
		/* Best effort: no memory, no msgbuf; the dump goes on. */
		nd_msgbuf_free(mb);
		mb->decided = true;
		return;
	}
	mb->filled += end - start;
}

/* A byte of the ring read in circles: x < 2 * n. */
#define AT(b, n, x)	((b)[(x) < (n) ? (x) : (x) - (n)])

static bool
progress(uint8_t c)
{
	return c == '.' || c == '%' || c == ' ' || (c >= '0' && c <= '9');
}

/*
 * Where the ring wraps. A kernel prints "Dumping N out of M MB:" just
 * before it writes the dump, so that line (and any progress dots after it)
 * is the newest text; what follows it in the ring is the oldest. The
 * ring is read in circles: the line or its dots may go on at its start.
 *
 * Linear: each byte is compared with 'D' once, and "Dumping " cannot
 * overlap itself, so at most n / 8 markers are compared whole. The colon
 * search remembers how far it found no ':' or newline, and the next
 * marker (later in the ring) starts there, so no byte is searched twice.
 * After a marker that counts the scan goes on past its dots: a marker
 * that starts before the same colon ends at the same place, and none can
 * start among the dots (no 'D' there). The dots of the last one may go
 * round to the start once: under 2n bytes read in all.
 */
static size_t
wrap_point(const uint8_t *b, size_t n)
{
	static const char marker[] = "Dumping ";
	const size_t mlen = sizeof(marker) - 1;
	size_t i, j, k, lim, seen = 0, best = 0;

	if (n < sizeof(marker))
		return 0;
	for (i = 0; i < n; i++) {
		if (b[i] != 'D')
			continue;
		for (k = 1; k < mlen && AT(b, n, i + k) == marker[k]; k++)
			;
		if (k < mlen)
			continue;
		/* "Dumping 123 out of 4096 MB:" */
		lim = i + (n < 64 ? n : 64);
		for (j = i + mlen > seen ? i + mlen : seen; j < lim; j++)
			if (AT(b, n, j) == ':' || AT(b, n, j) == '\n')
				break;
		seen = j;
		if (j >= lim || AT(b, n, j) != ':' ||
		    AT(b, n, j - 2) != 'M' || AT(b, n, j - 1) != 'B')
			continue;
		for (j++; j < i + n && progress(AT(b, n, j)); j++)
			;
		if (j < i + n && AT(b, n, j) == '\n')
			j++;
		best = j % n;
		i = j - 1;
	}
	return best;
}

/* Bytes written as they are; the others become "\xNN". */
static bool
plain(unsigned char c)
{
	return c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * Two passes over the bytes kept (no NULs among them), oldest first from
 * the wrap point: the first sizes the text and, when it is too long,
 * finds the oldest byte that still fits; the second writes the text and
 * follows the lines for the panic line. Linear in mb->kept <= mb->filled
 * with no search that backs up. Measured worst case at the cap, 8 MiB of
 * "Dumping " or of "panic: " with no newline: under 0.1 s of CPU (x86-64,
 * RelWithDebInfo; 0.2 s with ASan), feeding included.
 */
char *
nd_msgbuf_text(const struct nd_msgbuf *mb, size_t *lenp, const char **panic)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = mb->buf;
	size_t n = mb->kept, start = 0, first = 0, total = 0, keep_len, k, idx;
	size_t out = 0, line = 0, panic_at = 0, m = 0;
	bool nl, found = false;
	char *text;
	int note = 0;

	*panic = NULL;
	*lenp = 0;
	if (!mb->active || mb->filled == 0)
		return NULL;
	/* An unwrapped ring still has its zero tail. */
	if (!mb->nul)
		start = wrap_point(b, n);
	for (k = 0; k < n; k++)
		total += plain(b[k]) ? 1 : 4;
	/* The newest byte ends the text; a line end is added if needed. */
	nl = n > 0 && b[(start + n - 1) % n] != '\n';
	keep_len = total;
	if (total + nl > ND_MSGBUF_TEXT_MAX) {
		/* Keep the newest text that fits, whole bytes only. */
		size_t room = ND_MSGBUF_TEXT_MAX - CUT_NOTE_ROOM - nl, w;

		keep_len = 0;
		for (first = n; first > 0; first--) {
			idx = start + first - 1;
			w = plain(b[idx < n ? idx : idx - n]) ? 1 : 4;
			if (keep_len + w > room)
				break;
			keep_len += w;
		}
	}
	if ((text = malloc(CUT_NOTE_ROOM + keep_len + 2)) == NULL)
		return NULL;
	if (first > 0) {
		note = snprintf(text, CUT_NOTE_ROOM, "[netdump-server: the "
		    "oldest %zu bytes of this text are cut; the newest %zu "
		    "follow]\n", total - keep_len, keep_len);
		if (note < 0 || note >= CUT_NOTE_ROOM)
			note = 0;
		out = line = (size_t)note;
	}
	for (k = first; k < n; k++) {
		unsigned char c;

		idx = start + k;
		c = b[idx < n ? idx : idx - n];
		if (!plain(c)) {
			text[out++] = '\\';
			text[out++] = 'x';
			text[out++] = hex[c >> 4];
			text[out++] = hex[c & 0xf];
			/* No "\xNN" character can go on a "panic: ". */
			m = 0;
			continue;
		}
		text[out++] = (char)c;
		if (c == '\n')
			line = out;
		/*
		 * No proper prefix of "panic: " is also a suffix of it, so
		 * after a mismatch only this byte can start a match.
		 */
		if (c == (unsigned char)PANIC[m]) {
			if (++m == PANIC_LEN) {
				panic_at = line;
				found = true;
				m = 0;
			}
		} else
			m = c == (unsigned char)PANIC[0];
	}
	if (nl)
		text[out++] = '\n';
	text[out] = '\0';
	if (found)
		*panic = text + panic_at;
	*lenp = out;
	return text;
}

void
nd_msgbuf_free(struct nd_msgbuf *mb)
{
	free(mb->buf);
	memset(mb, 0, sizeof(*mb));
}
