/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for core/msgbuf.c: the kernel message buffer of a minidump.
 *
 * The images are laid out as FreeBSD writes them (minidumpsys in
 * sys/amd64/amd64/minidump_machdep.c): a page that starts with struct
 * minidumphdr, then the raw ring at offset 4096, round_page(msgbufsize)
 * bytes. struct minidumphdr (sys/amd64/include/minidump.h) starts with
 * char magic[24] ("minidump FreeBSD/amd64", NUL-padded), uint32_t
 * version, uint32_t msgbufsize, in the platform's byte order; powerpc64's
 * (sys/powerpc/include/minidump.h, MINIDUMP_VERSION 2) has char
 * magic[32] ("minidump FreeBSD/powerpc64") and char mmu_name[32] before
 * version and msgbufsize.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msgbuf.h"

#define PAGE		4096
#define RING		(64 * 1024)
/* CPU seconds: a guard against a quadratic scan, not a benchmark. */
#define CPU_GUARD	2.0

enum layout { AMD64, PPC64 };

/* The header page, as the platform writes it. */
static void
header(uint8_t *page, const char *magic, enum layout layout, bool big,
    uint32_t version, uint32_t size)
{
	size_t at = layout == PPC64 ? 64 : 24;
	uint32_t v = big ? htobe32(version) : htole32(version);
	uint32_t s = big ? htobe32(size) : htole32(size);

	memset(page, 0, PAGE);
	memcpy(page, magic, strlen(magic));
	if (layout == PPC64)
		memcpy(page + 32, "mmu_oea64", 9);
	memcpy(page + at, &v, sizeof(v));
	memcpy(page + at + 4, &s, sizeof(s));
}

/* A whole image: header, ring padded to a page, two pages of memory. */
static uint8_t *
image(const uint8_t *hdr, const uint8_t *ring, size_t ringlen, size_t *lenp)
{
	size_t padded = (ringlen + PAGE - 1) / PAGE * PAGE, i;
	size_t len = PAGE + padded + 2 * PAGE;
	uint8_t *img = calloc(1, len);

	assert_non_null(img);
	memcpy(img, hdr, PAGE);
	memcpy(img + PAGE, ring, ringlen);
	for (i = PAGE + padded; i < len; i++)
		img[i] = (uint8_t)(i * 131 + 7);
	*lenp = len;
	return img;
}

/*
 * Feed the stream in order, chunk bytes at a time after the header page
 * (the header must come in one piece, as the first packet brings it).
 */
static void
feed(struct nd_msgbuf *mb, const uint8_t *img, size_t len, size_t chunk)
{
	size_t off, n;

	nd_msgbuf_feed(mb, 0, img, PAGE);
	for (off = PAGE; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		nd_msgbuf_feed(mb, off, img + off, n);
	}
}

/* The text of an amd64 image with this ring; the caller frees it. */
static char *
text_of(const uint8_t *ring, size_t ringlen, size_t chunk, size_t *lenp,
    const char **panic)
{
	struct nd_msgbuf mb;
	uint8_t hdr[PAGE], *img;
	size_t len;
	char *t;

	memset(&mb, 0, sizeof(mb));
	header(hdr, "minidump FreeBSD/amd64", AMD64, false, 3,
	    (uint32_t)ringlen);
	img = image(hdr, ring, ringlen, &len);
	feed(&mb, img, len, chunk);
	t = nd_msgbuf_text(&mb, lenp, panic);
	nd_msgbuf_free(&mb);
	free(img);
	return t;
}

/*
 * What the text must be for these bytes, oldest first: written here
 * again, byte by byte, independently of the code under test.
 */
static char *
render(const uint8_t *b, size_t n, size_t *lenp)
{
	static const char hex[] = "0123456789abcdef";
	char *out = malloc(4 * n + 2);
	size_t i, o = 0;

	assert_non_null(out);
	for (i = 0; i < n; i++) {
		if (b[i] == 0)
			continue;
		if (b[i] == '\n' || b[i] == '\t' || (b[i] >= 0x20 &&
		    b[i] != 0x7f))
			out[o++] = (char)b[i];
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[b[i] / 16];
			out[o++] = hex[b[i] % 16];
		}
	}
	if (o > 0 && out[o - 1] != '\n')
		out[o++] = '\n';
	out[o] = '\0';
	*lenp = o;
	return out;
}

/* The line *panic points at, without its newline. */
static void
assert_panic_line(const char *text, const char *panic, const char *want)
{
	size_t n;

	assert_non_null(panic);
	assert_true(panic == text || panic[-1] == '\n');
	n = strcspn(panic, "\n");
	assert_int_equal(n, strlen(want));
	assert_memory_equal(panic, want, n);
}

static double
cpu_since(clock_t t0)
{
	return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

static const char unwrapped_text[] =
    "---<<BOOT>>---\n"
    "Copyright (c) 1992-2024 The FreeBSD Project.\n"
    "FreeBSD 14.1-RELEASE amd64\n"
    "em0: link state changed to UP\n"
    "\n"
    "Fatal trap 12: page fault while in kernel mode\n"
    "panic: test panic one\n"
    "cpuid = 0\n"
    "time = 1700000000\n"
    "Dumping 64 out of 256 MB:";

/* A ring that has not wrapped: the text as it is, up to its zero tail. */
static void
test_unwrapped(void **state)
{
	uint8_t *ring = calloc(1, RING);
	const char *panic;
	size_t len;
	char *t;

	(void)state;
	assert_non_null(ring);
	memcpy(ring, unwrapped_text, strlen(unwrapped_text));
	t = text_of(ring, RING, 1000, &len, &panic);
	assert_non_null(t);
	assert_int_equal(len, strlen(unwrapped_text) + 1);
	assert_memory_equal(t, unwrapped_text, strlen(unwrapped_text));
	assert_string_equal(t + len - 1, "\n");
	assert_panic_line(t, panic, "panic: test panic one");
	free(t);
	free(ring);
}

/*
 * The chronological text of a full ring of size n: old chatter, then the
 * newest lines up to "Dumping 64 out of 256 MB:..1%". Its first byte is
 * not one that can follow the marker.
 */
static uint8_t *
wrapped_chrono(size_t n)
{
	static const char newest[] =
	    "kernel: pid 4242 (sh), jid 0, uid 0: exited on signal 11\n"
	    "Fatal trap 9: general protection fault while in kernel mode\n"
	    "panic: test panic two\n"
	    "cpuid = 1\n"
	    "KDB: stack backtrace:\n"
	    "#0 0xffffffff80b9002d at kdb_backtrace+0x5d\n"
	    "Uptime: 3d4h12m7s\n"
	    "Dumping 64 out of 256 MB:..1%";
	size_t nl = strlen(newest), o = 0;
	uint8_t *c = malloc(n);
	unsigned line = 0;

	assert_non_null(c);
	assert_true(n > nl + 64);
	while (o < n - nl) {
		char buf[64];
		int k = snprintf(buf, sizeof(buf),
		    "old kernel line %06u: routine chatter\n", line++);
		size_t m = (size_t)k < n - nl - o ? (size_t)k : n - nl - o;

		memcpy(c + o, buf, m);
		o += m;
	}
	c[0] = 'K';
	memcpy(c + n - nl, newest, nl);
	return c;
}

/* The kernel writes in circles: byte i of chrono is at (p + i) % n. */
static uint8_t *
wrap(const uint8_t *chrono, size_t n, size_t p)
{
	uint8_t *ring = malloc(n);
	size_t i;

	assert_non_null(ring);
	for (i = 0; i < n; i++)
		ring[(p + i) % n] = chrono[i];
	return ring;
}

/*
 * A wrapped ring comes out oldest first, after the "Dumping" line, also
 * when that line or its dots go on at the start of the ring (the write
 * pointer at 1 to 29).
 */
static void
test_wrapped(void **state)
{
	static const size_t where[] = { 20000, 1, 3, 10, 25, 29, 30,
	    RING - 1, RING / 2 };
	uint8_t *chrono = wrapped_chrono(RING), *ring;
	const char *panic, *last;
	size_t i, len, wlen;
	char *t, *want;

	(void)state;
	want = render(chrono, RING, &wlen);
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		ring = wrap(chrono, RING, where[i]);
		t = text_of(ring, RING, 1448, &len, &panic);
		assert_non_null(t);
		assert_int_equal(len, wlen);
		assert_memory_equal(t, want, wlen);
		assert_int_equal(t[0], 'K');
		last = t + len - 1;
		while (last > t && last[-1] != '\n')
			last--;
		assert_string_equal(last, "Dumping 64 out of 256 MB:..1%\n");
		assert_panic_line(t, panic, "panic: test panic two");
		free(t);
		free(ring);
	}
	free(want);
	free(chrono);
}

/* The same stream split anywhere gives the same text. */
static void
test_split_anywhere(void **state)
{
	static const size_t chunks[] = { 1, 7, 33, 4096, 5000, 1 << 20 };
	uint8_t *chrono = wrapped_chrono(16384), *ring = wrap(chrono, 16384,
	    777);
	const char *panic;
	size_t i, len, wlen;
	char *t, *want;

	(void)state;
	want = render(chrono, 16384, &wlen);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		t = text_of(ring, 16384, chunks[i], &len, &panic);
		assert_non_null(t);
		assert_int_equal(len, wlen);
		assert_memory_equal(t, want, wlen);
		assert_panic_line(t, panic, "panic: test panic two");
		free(t);
	}
	free(want);
	free(ring);
	free(chrono);
}

/* Control characters but newline and tab are escaped; NULs dropped. */
static void
test_control_chars(void **state)
{
	static const char raw[] =
	    "\x1b[1mbold\x1b[0m and a tab:\there\n"
	    "bell \a del \x7f cr\r\n"
	    "nul\0between\n"
	    "\x01\x1f high \xc3\xa9 bytes as they are\n"
	    "panic: with \x08 a backspace";
	static const char want[] =
	    "\\x1b[1mbold\\x1b[0m and a tab:\there\n"
	    "bell \\x07 del \\x7f cr\\x0d\n"
	    "nulbetween\n"
	    "\\x01\\x1f high \xc3\xa9 bytes as they are\n"
	    "panic: with \\x08 a backspace\n";
	uint8_t *ring = calloc(1, RING);
	const char *panic;
	size_t len;
	char *t;

	(void)state;
	assert_non_null(ring);
	memcpy(ring, raw, sizeof(raw) - 1);
	t = text_of(ring, RING, 4096, &len, &panic);
	assert_non_null(t);
	assert_string_equal(t, want);
	assert_int_equal(len, strlen(want));
	assert_panic_line(t, panic, "panic: with \\x08 a backspace");
	free(t);
	free(ring);
}

/* A full ring of what is in pattern, repeated, cut to n. */
static uint8_t *
repeat(const char *pattern, size_t n)
{
	size_t pl = strlen(pattern), i;
	uint8_t *b = malloc(n);

	assert_non_null(b);
	for (i = 0; i < n; i++)
		b[i] = (uint8_t)pattern[i % pl];
	return b;
}

/*
 * The largest ring allowed, "panic: " over and over with no newline: the
 * whole ring is one line, and it is the panic line. Once this walked back
 * to the line's start for every match, quadratic in the ring.
 */
static void
test_panic_bomb(void **state)
{
	static const char last[] = "\nthe last panic: is this one, really";
	const size_t n = ND_MSGBUF_MAX;
	uint8_t *ring = repeat("panic: ", n);
	const char *panic;
	clock_t t0;
	size_t len;
	char *t;

	(void)state;
	t0 = clock();
	t = text_of(ring, n, 65536, &len, &panic);
	assert_true(cpu_since(t0) < CPU_GUARD);
	assert_non_null(t);
	assert_int_equal(len, n + 1);
	assert_int_equal(strlen(t), len);
	assert_memory_equal(t, ring, n);
	assert_int_equal(t[n], '\n');
	assert_ptr_equal(panic, t);
	free(t);

	/* Then a last line, shorter: that one is the panic line. */
	memcpy(ring + n - (sizeof(last) - 1), last, sizeof(last) - 1);
	t0 = clock();
	t = text_of(ring, n, 65536, &len, &panic);
	assert_true(cpu_since(t0) < CPU_GUARD);
	assert_non_null(t);
	assert_int_equal(len, n + 1);
	assert_panic_line(t, panic, last + 1);
	free(t);
	free(ring);
}

/*
 * Rings full of what the wrap point search looks for: each takes linear
 * time and gives the rotation the rules give.
 */
static void
test_marker_bombs(void **state)
{
	static const char *const bombs[] = {
		"Dumping ",
		"Dumping Dumping Dumping Dumping Dumping Dumping 1 out of 2 MB:",
		"Dumping 1 out of 2 MB:",
		"DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD ",
		"Dumping 12345678901234567890123456789012345678901234567890 MB:",
	};
	const size_t n = ND_MSGBUF_MAX;
	const char *panic;
	clock_t t0;
	size_t i, len;
	uint8_t *ring;
	char *t;

	(void)state;
	for (i = 0; i < sizeof(bombs) / sizeof(bombs[0]); i++) {
		ring = repeat(bombs[i], n);
		t0 = clock();
		t = text_of(ring, n, 65536, &len, &panic);
		assert_true(cpu_since(t0) < CPU_GUARD);
		assert_non_null(t);
		assert_int_equal(len, n + 1);
		assert_null(panic);
		free(t);
		free(ring);
	}

	/*
	 * Markers followed by a long progress run: the newest marker's run
	 * ends where the oldest text starts.
	 */
	ring = repeat(".", n);
	memcpy(ring, "Dumping 1 out of 2 MB:", 22);
	memcpy(ring + n / 2, "Dumping 3 out of 4 MB:", 22);
	memcpy(ring + n - 10, "\nOLDEST   ", 10);
	t0 = clock();
	t = text_of(ring, n, 65536, &len, &panic);
	assert_true(cpu_since(t0) < CPU_GUARD);
	assert_non_null(t);
	assert_int_equal(len, n);
	assert_memory_equal(t, "OLDEST   Dumping 1 out of 2 MB:...", 34);
	assert_int_equal(t[len - 1], '\n');
	free(t);

	/* Markers over and over, then "tail": the text starts there. */
	for (i = 0; i + 22 + 4 <= n; i += 22)
		memcpy(ring + i, "Dumping 7 out of 9 MB:", 22);
	memcpy(ring + i, "tail", 4);
	memset(ring + i + 4, 'x', n - i - 4);
	t = text_of(ring, n, 65536, &len, &panic);
	assert_non_null(t);
	assert_int_equal(len, n + 1);
	assert_memory_equal(t, "tail", 4);
	assert_memory_equal(t + len - 23, "Dumping 7 out of 9 MB:\n", 23);
	free(t);
	free(ring);
}

/*
 * Escaping could make 4 times the ring: the text stops at
 * ND_MSGBUF_TEXT_MAX, the oldest cut, whole escapes only, with a first
 * line that says so.
 */
static void
test_text_cap(void **state)
{
	static const char tail[] = "\npanic: the newest\nDumping 9 out of 9 MB:";
	const size_t n = ND_MSGBUF_MAX;
	uint8_t *ring = repeat("\x01", n);
	const char *panic, *nl;
	size_t len, wlen, kept;
	char *t, *want;
	clock_t t0;

	(void)state;
	memcpy(ring + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	want = render(ring, n, &wlen);
	assert_true(wlen > ND_MSGBUF_TEXT_MAX);
	t0 = clock();
	t = text_of(ring, n, 65536, &len, &panic);
	assert_true(cpu_since(t0) < CPU_GUARD);
	assert_non_null(t);
	assert_true(len <= ND_MSGBUF_TEXT_MAX);
	assert_true(len > ND_MSGBUF_TEXT_MAX - 256);
	assert_int_equal(strlen(t), len);
	assert_memory_equal(t, "[netdump-server: the oldest ", 28);
	nl = strchr(t, '\n');
	assert_non_null(nl);
	kept = len - (size_t)(nl + 1 - t);
	/* The rest is the end of the whole text, from a whole escape. */
	assert_memory_equal(nl + 1, want + wlen - kept, kept);
	assert_memory_equal(nl + 1, "\\x01", 4);
	assert_panic_line(t, panic, "panic: the newest");
	free(want);
	free(t);
	free(ring);
}

static void
feed_header(struct nd_msgbuf *mb, uint32_t size)
{
	uint8_t hdr[PAGE];

	header(hdr, "minidump FreeBSD/amd64", AMD64, false, 3, size);
	nd_msgbuf_feed(mb, 0, hdr, PAGE);
}

/*
 * Memory follows what arrives, not what the header claims: never more
 * than twice the bytes kept, and those are bytes fed.
 */
static void
test_huge_claim(void **state)
{
	static const uint32_t claims[] = { UINT32_MAX, ND_MSGBUF_MAX + 1,
	    64u << 20 };
	uint8_t chunk[1024];
	struct nd_msgbuf mb;
	const char *panic;
	size_t i, len, fed;
	char *t;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));

	/* Past the cap: nothing kept at all. */
	for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		memset(&mb, 0, sizeof(mb));
		feed_header(&mb, claims[i]);
		nd_msgbuf_feed(&mb, PAGE, chunk, sizeof(chunk));
		assert_false(mb.active);
		assert_int_equal(mb.alloc, 0);
		assert_null(nd_msgbuf_text(&mb, &len, &panic));
		nd_msgbuf_free(&mb);
	}

	/* At the cap, 100 bytes arrive. */
	memset(&mb, 0, sizeof(mb));
	feed_header(&mb, ND_MSGBUF_MAX);
	nd_msgbuf_feed(&mb, PAGE, chunk, 100);
	assert_true(mb.active);
	assert_int_equal(mb.kept, 100);
	assert_true(mb.alloc <= 2 * 100);
	t = nd_msgbuf_text(&mb, &len, &panic);
	assert_non_null(t);
	assert_int_equal(len, 101);
	free(t);
	nd_msgbuf_free(&mb);

	/* 4 MiB arrive a KiB at a time: the bound holds all along. */
	memset(&mb, 0, sizeof(mb));
	feed_header(&mb, ND_MSGBUF_MAX);
	for (fed = 0; fed < (4u << 20); fed += sizeof(chunk)) {
		nd_msgbuf_feed(&mb, PAGE + fed, chunk, sizeof(chunk));
		assert_int_equal(mb.kept, fed + sizeof(chunk));
		assert_true(mb.alloc <= 2 * mb.kept);
	}
	nd_msgbuf_free(&mb);

	/* Holes and zero pages take no memory. */
	memset(&mb, 0, sizeof(mb));
	feed_header(&mb, ND_MSGBUF_MAX);
	nd_msgbuf_feed(&mb, PAGE, NULL, ND_MSGBUF_MAX / 2);
	memset(chunk, 0, sizeof(chunk));
	chunk[500] = 'y';
	for (fed = ND_MSGBUF_MAX / 2; fed < ND_MSGBUF_MAX; fed += sizeof(chunk))
		nd_msgbuf_feed(&mb, PAGE + fed, chunk, sizeof(chunk));
	assert_int_equal(mb.filled, ND_MSGBUF_MAX);
	assert_int_equal(mb.kept, ND_MSGBUF_MAX / 2 / sizeof(chunk));
	assert_true(mb.alloc <= 2 * mb.kept);
	t = nd_msgbuf_text(&mb, &len, &panic);
	assert_non_null(t);
	assert_int_equal(len, mb.kept + 1);
	free(t);
	nd_msgbuf_free(&mb);

	/* A ring of nothing but zeros: an empty text, as before. */
	memset(&mb, 0, sizeof(mb));
	feed_header(&mb, RING);
	nd_msgbuf_feed(&mb, PAGE, NULL, RING);
	assert_int_equal(mb.alloc, 0);
	t = nd_msgbuf_text(&mb, &len, &panic);
	assert_non_null(t);
	assert_int_equal(len, 0);
	assert_string_equal(t, "");
	assert_null(panic);
	free(t);
	nd_msgbuf_free(&mb);
}

/* No minidump, no msgbuf. */
static void
test_not_minidump(void **state)
{
	uint8_t page[PAGE], ring[RING];
	struct nd_msgbuf mb;
	const char *panic = "x";
	size_t i, len = 1;

	(void)state;
	memset(ring, 'r', sizeof(ring));
	for (i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 7919 + 13);

	/* Memory, not a header. */
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, 0, page, sizeof(page));
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	assert_null(panic);
	assert_int_equal(len, 0);
	assert_int_equal(mb.alloc, 0);
	nd_msgbuf_free(&mb);

	/* Another system's minidump. */
	memset(&mb, 0, sizeof(mb));
	header(page, "minidump Linux/x86_64", AMD64, false, 2, RING);
	nd_msgbuf_feed(&mb, 0, page, sizeof(page));
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);

	/* A FreeBSD header, but not first in the stream. */
	memset(&mb, 0, sizeof(mb));
	header(page, "minidump FreeBSD/amd64", AMD64, false, 2, RING);
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	nd_msgbuf_feed(&mb, 0, page, sizeof(page));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);

	/* The first page a hole, or too short to hold the fields. */
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, 0, NULL, PAGE);
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, 0, page, 31);
	nd_msgbuf_feed(&mb, 31, page + 31, PAGE - 31);
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);

	/* A ring of size 0. */
	memset(&mb, 0, sizeof(mb));
	header(page, "minidump FreeBSD/amd64", AMD64, false, 2, 0);
	nd_msgbuf_feed(&mb, 0, page, sizeof(page));
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);
}

/* One platform's image: its text must be the chronological text. */
static void
check_platform(const char *magic, enum layout layout, bool big,
    const char *arch)
{
	uint8_t hdr[PAGE], *chrono = wrapped_chrono(RING), *ring, *img;
	struct nd_msgbuf mb;
	const char *panic;
	size_t len, wlen, ilen;
	char *t, *want;

	ring = wrap(chrono, RING, 40000);
	want = render(chrono, RING, &wlen);
	header(hdr, magic, layout, big, 2, RING);
	img = image(hdr, ring, RING, &ilen);
	memset(&mb, 0, sizeof(mb));
	feed(&mb, img, ilen, 1448);
	assert_true(mb.active);
	assert_string_equal(mb.arch, arch);
	assert_int_equal(mb.size, RING);
	t = nd_msgbuf_text(&mb, &len, &panic);
	assert_non_null(t);
	assert_int_equal(len, wlen);
	assert_memory_equal(t, want, wlen);
	assert_panic_line(t, panic, "panic: test panic two");
	free(t);
	nd_msgbuf_free(&mb);
	free(img);
	free(want);
	free(ring);
	free(chrono);
}

/*
 * Byte orders and layouts: powerpc64 in both orders (the same magic),
 * mips, and the 24-byte magic a powerpc header once had.
 */
static void
test_big_endian(void **state)
{
	(void)state;
	check_platform("minidump FreeBSD/powerpc64", PPC64, true, "powerpc64");
	check_platform("minidump FreeBSD/powerpc64", PPC64, false,
	    "powerpc64");
	check_platform("minidump FreeBSD/powerpc", AMD64, true, "powerpc");
	check_platform("minidump FreeBSD/mips", AMD64, true, "mips");
	check_platform("minidump FreeBSD/mips", AMD64, false, "mips");
	check_platform("minidump FreeBSD/arm64", AMD64, false, "arm64");
	check_platform("minidump FreeBSD/amd64", AMD64, false, "amd64");
}

/* Bytes that do not follow what came before are not the ring's. */
static void
test_out_of_order(void **state)
{
	uint8_t ring[100];
	struct nd_msgbuf mb;
	const char *panic;
	size_t len;
	char *t;

	(void)state;
	memset(ring, 'a', sizeof(ring));
	memset(&mb, 0, sizeof(mb));
	feed_header(&mb, RING);
	nd_msgbuf_feed(&mb, PAGE, ring, 10);
	nd_msgbuf_feed(&mb, PAGE + 50, ring, 10);	/* a gap: ignored */
	nd_msgbuf_feed(&mb, PAGE + 5, ring, 10);	/* overlap: ignored */
	assert_int_equal(mb.filled, 10);
	/* Past the ring's end nothing is kept. */
	nd_msgbuf_feed(&mb, PAGE + 10, NULL, RING - 10);
	nd_msgbuf_feed(&mb, PAGE + RING, ring, sizeof(ring));
	nd_msgbuf_feed(&mb, UINT64_MAX - 5, ring, 10);
	assert_int_equal(mb.filled, RING);
	assert_int_equal(mb.kept, 10);
	t = nd_msgbuf_text(&mb, &len, &panic);
	assert_non_null(t);
	assert_string_equal(t, "aaaaaaaaaa\n");
	free(t);
	nd_msgbuf_free(&mb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwrapped),
		cmocka_unit_test(test_wrapped),
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_panic_bomb),
		cmocka_unit_test(test_marker_bombs),
		cmocka_unit_test(test_text_cap),
		cmocka_unit_test(test_huge_claim),
		cmocka_unit_test(test_not_minidump),
		cmocka_unit_test(test_big_endian),
		cmocka_unit_test(test_out_of_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
