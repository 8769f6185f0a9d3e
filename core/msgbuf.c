/* SPDX-License-Identifier: BSD-2-Clause */
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgbuf.h"

#define MAGIC_PREFIX	"minidump FreeBSD/"
#define PREFIX_LEN	(sizeof(MAGIC_PREFIX) - 1)

#define PANIC		"panic: "
#define PANIC_LEN	(sizeof(PANIC) - 1)

/* Room kept for the line that says the text was cut. */
#define CUT_NOTE_ROOM	128

/*
 * Every FreeBSD minidump starts with struct minidumphdr, zero-padded to
 * a page, then the ring, round_page(msgbufsize) bytes (minidumpsys or
 * cpu_minidumpsys in sys/<arch>/<arch>/minidump_machdep.c: header
 * blk_write of PAGE_SIZE, then "Dump msgbuf up front"). Only the fields
 * up to msgbufsize (and arm64's flags) matter here:
 *
 *  arch       magic  version  msgbufsize  flags  source
 *  amd64        24     24        28        -     sys/amd64/include/minidump.h (v3)
 *  i386         24     24        28        -     sys/i386/include/minidump.h (v2)
 *  arm          24     24        28        -     sys/arm/include/minidump.h (v2)
 *  arm64        24     24        28      76 v>=3 sys/arm64/include/minidump.h (v3)
 *  riscv        24     24        28        -     sys/riscv/include/minidump.h (v2)
 *  powerpc64    32     64        68        -     sys/powerpc/include/minidump.h (v2)
 *  mips         24     24        28        -     sys/mips/include/minidump.h (v2,
 *                                                FreeBSD 12 and 13 only)
 *
 * powerpc64's magic "minidump FreeBSD/powerpc64" needs char magic[32],
 * and char mmu_name[32] comes before the version. powerpc64le and mipsel
 * (and mips64) write the same magic as their big-endian twins.
 *
 * The ring starts one page in. That is 4096 but for arm64 v3, whose
 * flags bits 0-1 give the kernel's page size: MINIDUMP_FLAG_PS_4K 0,
 * MINIDUMP_FLAG_PS_16K 1, and 64 KiB (2) only a comment. libkvm reads
 * flags from v3 on and takes 4 KiB before (kvm_minidump_aarch64.c), as
 * here. 64 KiB is refused: FreeBSD never wrote it, so where its ring
 * starts is a guess.
 *
 * 32-bit powerpc writes no minidump (MINIDUMP_PAGE_TRACKING 0, "No
 * minidump with 32-bit powerpc", in sys/powerpc/include/vmparam.h;
 * minidump_machdep.c is "optional powerpc64 | powerpc64le" in
 * sys/conf/files.powerpc), nor does sparc64 (do_minidump = 0 in
 * sys/sparc64/sparc64/dump_machdep.c): theirs are ELF dumps, not in the
 * table.
 */
struct arch {
	const char	*name;		/* after "minidump FreeBSD/" */
	size_t		 version_at;	/* msgbufsize follows it */
	size_t		 flags_at;	/* 0: no page size flags */
	uint32_t	 flags_since;	/* the first version with them */
};

static const struct arch arches[] = {
	{ "amd64",	24, 0,  0 },
	{ "i386",	24, 0,  0 },
	{ "arm",	24, 0,  0 },
	{ "arm64",	24, 76, 3 },
	{ "riscv",	24, 0,  0 },
	{ "powerpc64",	64, 0,  0 },
	{ "mips",	24, 0,  0 },
};

/* The ring's offset for arm64 flags bits 0-1; 0: not supported. */
static const uint32_t arm64_page[4] = { 4096, 16384, 0, 0 };

/* MINIDUMP_VERSION has been 1 to 3 everywhere; room to grow. */
#define VERSION_MAX	255

static uint32_t
get32(const uint8_t *p, bool big)
{
	uint32_t raw;

	memcpy(&raw, p, sizeof(raw));
	return big ? be32toh(raw) : le32toh(raw);
}

static void	why(struct nd_msgbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Say why there is no msgbuf; the reason stays in the struct. */
static void
why(struct nd_msgbuf *mb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mb->why, sizeof(mb->why), fmt, ap);
	va_end(ap);
}

/*
 * The architecture the magic names: lower-case letters and digits after
 * the prefix (the longest known, "powerpc64", fits arch[]), looked up in
 * the table. An unknown name is kept for the reason, printable.
 */
static const struct arch *
find_arch(struct nd_msgbuf *mb)
{
	const uint8_t *name = mb->head + PREFIX_LEN;
	size_t i, n;

	for (n = 0; n < sizeof(mb->arch) - 1; n++)
		if (!((name[n] >= 'a' && name[n] <= 'z') ||
		    (name[n] >= '0' && name[n] <= '9') || name[n] == '_'))
			break;
	memcpy(mb->arch, name, n);
	mb->arch[n] = '\0';
	for (i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (strcmp(mb->arch, arches[i].name) == 0)
			return &arches[i];
	return NULL;
}

/*
 * The header, whole (ND_MSGBUF_HEAD bytes): is it a minidump, of what
 * architecture, in which byte order, with which ring where.
 *
 * Byte order is the crashed CPU's, and the magic does not tell it
 * (powerpc64 and powerpc64le, mips and mipsel share theirs), so it is
 * read from the fields: the version is a small number, 1 to VERSION_MAX,
 * in one order only, since the same bytes the other way are at least
 * 2^24. That order then gives msgbufsize, which must be 1 to
 * ND_MSGBUF_MAX. No order for the version, no msgbuf: the header is not
 * one we know, and guessing could keep 8 MiB of memory pages as "text".
 *
 * Nothing is allocated here: the header may claim any size, so the ring
 * is kept as it arrives (see keep()).
 */
static void
decide(struct nd_msgbuf *mb)
{
	const struct arch *a;
	uint32_t le, be, flags;

	mb->decided = true;
	if (memcmp(mb->head, MAGIC_PREFIX, PREFIX_LEN) != 0) {
		why(mb, "not a minidump (no \"%s\" magic)", MAGIC_PREFIX);
		return;
	}
	if ((a = find_arch(mb)) == NULL) {
		why(mb, "unknown minidump architecture \"%s\"", mb->arch);
		return;
	}
	le = get32(mb->head + a->version_at, false);
	be = get32(mb->head + a->version_at, true);
	if ((le < 1 || le > VERSION_MAX) && (be < 1 || be > VERSION_MAX)) {
		why(mb, "%s minidump header has no version we know (0x%08x)",
		    mb->arch, (unsigned)le);
		return;
	}
	mb->big = le < 1 || le > VERSION_MAX;
	mb->version = mb->big ? be : le;
	mb->size = get32(mb->head + a->version_at + 4, mb->big);
	if (mb->size == 0) {
		why(mb, "minidump header claims an empty message buffer");
		return;
	}
	if (mb->size > ND_MSGBUF_MAX) {
		if (mb->size % (1u << 20) == 0)
			why(mb, "minidump header claims a %u MiB message "
			    "buffer, above the %u MiB limit",
			    (unsigned)(mb->size >> 20), ND_MSGBUF_MAX >> 20);
		else
			why(mb, "minidump header claims a message buffer of "
			    "%u bytes, above the %u MiB limit",
			    (unsigned)mb->size, ND_MSGBUF_MAX >> 20);
		return;
	}
	mb->ring_off = ND_MSGBUF_OFFSET;
	if (a->flags_at != 0 && mb->version >= a->flags_since) {
		flags = get32(mb->head + a->flags_at, mb->big) & 3;
		if ((mb->ring_off = arm64_page[flags]) == 0) {
			if (flags == 2)
				why(mb, "unsupported %s page size (64 KiB)",
				    mb->arch);
			else
				why(mb, "unknown %s page size (flags %u)",
				    mb->arch, (unsigned)flags);
			return;
		}
	}
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

/*
 * Gather the header from the stream's first bytes, whatever the pieces
 * (a hole is zeros), and decide once it is whole. Returns whether it was
 * decided now or before.
 */
static bool
gather(struct nd_msgbuf *mb, uint64_t off, const uint8_t *data, uint64_t len)
{
	size_t n;

	if (mb->decided)
		return true;
	if (off != mb->headlen) {
		/* The header must be the first thing in the stream. */
		mb->decided = true;
		if (mb->headlen == 0)
			why(mb, "the dump did not start with its header "
			    "(offset %llu came first)", (unsigned long long)off);
		else
			why(mb, "the minidump header arrived out of order "
			    "(offset %llu after %zu bytes)",
			    (unsigned long long)off, mb->headlen);
		return true;
	}
	n = ND_MSGBUF_HEAD - mb->headlen;
	if (len < n)
		n = (size_t)len;
	if (data != NULL)
		memcpy(mb->head + mb->headlen, data, n);
	else
		memset(mb->head + mb->headlen, 0, n);
	mb->headlen += n;
	if (mb->headlen < ND_MSGBUF_HEAD)
		return false;
	decide(mb);
	return true;
}

/* The bytes after the ring, in order, as far as ND_MSGBUF_TAIL. */
static void
take_tail(struct nd_msgbuf *mb, uint64_t off, const uint8_t *data,
    uint64_t len)
{
	uint64_t at = mb->ring_off + (uint64_t)mb->size + mb->taillen, n;

	if (mb->taillen == sizeof(mb->tail) || off > at || off + len <= at)
		return;
	n = off + len - at;
	if (n > sizeof(mb->tail) - mb->taillen)
		n = sizeof(mb->tail) - mb->taillen;
	if (data != NULL)
		memcpy(mb->tail + mb->taillen, data + (at - off), (size_t)n);
	else
		memset(mb->tail + mb->taillen, 0, (size_t)n);
	mb->taillen += (size_t)n;
}

void
nd_msgbuf_feed(struct nd_msgbuf *mb, uint64_t off, const uint8_t *data,
    uint64_t len)
{
	uint64_t start, end, ring_end;

	if (len == 0)
		return;
	mb->fed = true;
	if (!gather(mb, off, data, len) || !mb->active)
		return;
	ring_end = mb->ring_off + (uint64_t)mb->size;
	if (off + len > ring_end)
		take_tail(mb, off, data, len);
	if (off >= ring_end)
		return;
	start = off > mb->ring_off ? off : mb->ring_off;
	end = len < ring_end - off ? off + len : ring_end;
	if (start >= end || start < mb->ring_off + mb->filled)
		return;
	if (start > mb->ring_off + mb->filled) {
		/* A piece never fed: what follows cannot be placed. */
		mb->nul = true;
		return;
	}
	if (data == NULL)
		mb->nul = true;
	else if (keep(mb, data + (start - off), (size_t)(end - start)) == -1) {
		/* Best effort: no memory, no msgbuf; the dump goes on. */
		free(mb->buf);
		mb->buf = NULL;
		mb->kept = mb->alloc = 0;
		mb->active = false;
		why(mb, "out of memory for the message buffer");
		return;
	}
	mb->filled += end - start;
}

const char *
nd_msgbuf_missing(const struct nd_msgbuf *mb)
{
	if (!mb->fed)
		return "nothing arrived";
	if (!mb->decided)
		return "the dump ended inside the minidump header";
	if (!mb->active)
		return mb->why[0] != '\0' ? mb->why : "no message buffer";
	if (mb->filled == 0)
		return "the dump ended before the message buffer";
	return NULL;
}

/* A byte of the ring read in circles: x < 2 * n. */
#define AT(b, n, x)	((b)[(x) < (n) ? (x) : (x) - (n)])

static bool
progress(uint8_t c)
{
	return c == '.' || c == '%' || c == ' ' || (c >= '0' && c <= '9');
}

#define MSG_MAGIC	0x063062	/* sys/sys/msgbuf.h */

/*
 * Where the ring wraps by the kernel's own struct msgbuf after it, as
 * dmesg(8) reads it (msg_wseq % msg_size): with a 64-bit msg_ptr its
 * magic is at 8, with a 32-bit one at 4; its msg_size must be the ring's.
 * False when the struct is not there (a ring that fills its pages).
 */
static bool
struct_wrap(const struct nd_msgbuf *mb, size_t *wpos)
{
	static const size_t magic_at[] = { 8, 4 };
	size_t i, m;

	if (mb->taillen < sizeof(mb->tail) || mb->kept != mb->size)
		return false;
	for (i = 0; i < sizeof(magic_at) / sizeof(magic_at[0]); i++) {
		m = magic_at[i];
		if (get32(mb->tail + m, mb->big) == MSG_MAGIC &&
		    get32(mb->tail + m + 4, mb->big) == mb->size) {
			*wpos = get32(mb->tail + m + 8, mb->big) % mb->size;
			return true;
		}
	}
	return false;
}

/*
 * Where the ring wraps when its struct msgbuf is not at hand. A kernel
 * prints "Dumping N out of M MB:" just
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

/*
 * Whether the text's byte k (from the wrap point start) is written as it
 * is; the others become "\xNN": C0 controls but tab and newline, DEL, and
 * the second byte of a C1 control in UTF-8 (0xc2 0x9b is CSI to a
 * terminal), which leaves the 0xc2 alone, no longer UTF-8.
 */
static bool
plain(const uint8_t *b, size_t n, size_t start, size_t k)
{
	unsigned char c = AT(b, n, start + k);

	if (k > 0 && AT(b, n, start + k - 1) == 0xc2 && c >= 0x80 &&
	    c < 0xa0)
		return false;
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
	/*
	 * An unwrapped ring still has its zero tail. A wrapped one says
	 * where it wraps in its struct msgbuf; the "Dumping" line is the
	 * guess without it (a dump tried twice has two).
	 */
	if (!mb->nul && !struct_wrap(mb, &start))
		start = wrap_point(b, n);
	for (k = 0; k < n; k++)
		total += plain(b, n, start, k) ? 1 : 4;
	/* The newest byte ends the text; a line end is added if needed. */
	nl = n > 0 && b[(start + n - 1) % n] != '\n';
	keep_len = total;
	if (total + nl > ND_MSGBUF_TEXT_MAX) {
		/* Keep the newest text that fits, whole bytes only. */
		size_t room = ND_MSGBUF_TEXT_MAX - CUT_NOTE_ROOM - nl, w;

		keep_len = 0;
		for (first = n; first > 0; first--) {
			w = plain(b, n, start, first - 1) ? 1 : 4;
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
		if (!plain(b, n, start, k)) {
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
