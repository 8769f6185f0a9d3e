/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for core/msgbuf.c: the kernel message buffer of a minidump.
 *
 * The images are laid out as FreeBSD writes them (minidumpsys or
 * cpu_minidumpsys in sys/<arch>/<arch>/minidump_machdep.c): a page that
 * starts with struct minidumphdr (sys/<arch>/include/minidump.h), zero-
 * padded, then the raw ring at offset one page, round_page(msgbufsize)
 * bytes, then the rest of the dump. The headers are built field by field
 * in minidump_header() below, each architecture's from its minidump.h.
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

enum arch { AMD64, I386, ARM, ARM64, RISCV, PPC64, MIPS };

static void
put32(uint8_t *p, size_t at, uint32_t v, bool big)
{
	v = big ? htobe32(v) : htole32(v);
	memcpy(p + at, &v, sizeof(v));
}

static void
put64(uint8_t *p, size_t at, uint64_t v, bool big)
{
	v = big ? htobe64(v) : htole64(v);
	memcpy(p + at, &v, sizeof(v));
}

/*
 * The header page (pagesz bytes) of a minidump, every field of struct
 * minidumphdr at its natural-alignment offset, in the CPU's byte order;
 * the values but version and msgbufsize are plausible fillers. flags is
 * written for arm64 v3 only.
 */
static void
minidump_header(uint8_t *page, size_t pagesz, enum arch arch, bool big,
    uint32_t version, uint32_t msgbufsize, uint32_t flags)
{
	static const char *const magic[] = {
		"minidump FreeBSD/amd64", "minidump FreeBSD/i386",
		"minidump FreeBSD/arm", "minidump FreeBSD/arm64",
		"minidump FreeBSD/riscv", "minidump FreeBSD/powerpc64",
		"minidump FreeBSD/mips", "minidump FreeBSD/powerpc",
	};

	memset(page, 0, pagesz);
	memcpy(page, magic[arch], strlen(magic[arch]));
	switch (arch) {
	case AMD64:
		/*
		 * sys/amd64/include/minidump.h, MINIDUMP_VERSION 3: char
		 * magic[24]; uint32_t version, msgbufsize, bitmapsize,
		 * pmapsize; uint64_t kernbase, dmapbase, dmapend; uint32_t
		 * dumpavailsize.
		 */
		put32(page, 24, version, big);
		put32(page, 28, msgbufsize, big);
		put32(page, 32, 4096, big);
		put32(page, 36, 8192, big);
		put64(page, 40, 0xffffffff80000000ull, big);
		put64(page, 48, 0xfffff80000000000ull, big);
		put64(page, 56, 0xfffffc0000000000ull, big);
		put32(page, 64, 4096, big);
		break;
	case I386:
		/*
		 * sys/i386/include/minidump.h, MINIDUMP_VERSION 2: char
		 * magic[24]; uint32_t version, msgbufsize, bitmapsize,
		 * ptesize, kernbase, paemode, dumpavailsize.
		 */
		put32(page, 24, version, big);
		put32(page, 28, msgbufsize, big);
		put32(page, 32, 4096, big);
		put32(page, 36, 8192, big);
		put32(page, 40, 0x00400000, big);
		put32(page, 44, 1, big);
		put32(page, 48, 4096, big);
		break;
	case ARM:
		/*
		 * sys/arm/include/minidump.h, MINIDUMP_VERSION 2: char
		 * magic[24]; uint32_t version, msgbufsize, bitmapsize,
		 * ptesize, kernbase, arch, mmuformat (2: MINIDUMP_MMU_
		 * FORMAT_V6), dumpavailsize.
		 */
		put32(page, 24, version, big);
		put32(page, 28, msgbufsize, big);
		put32(page, 32, 4096, big);
		put32(page, 36, 8192, big);
		put32(page, 40, 0xc0000000, big);
		put32(page, 44, 7, big);
		put32(page, 48, 2, big);
		put32(page, 52, 4096, big);
		break;
	case ARM64:
	case RISCV:
		/*
		 * sys/arm64/include/minidump.h, MINIDUMP_VERSION 3, and
		 * sys/riscv/include/minidump.h, MINIDUMP_VERSION 2: char
		 * magic[24]; uint32_t version, msgbufsize, bitmapsize,
		 * pmapsize; uint64_t kernbase, dmapphys, dmapbase, dmapend;
		 * uint32_t dumpavailsize; arm64 v3 adds uint32_t flags,
		 * bits 0-1 MINIDUMP_FLAG_PS_4K 0, MINIDUMP_FLAG_PS_16K 1.
		 */
		put32(page, 24, version, big);
		put32(page, 28, msgbufsize, big);
		put32(page, 32, 4096, big);
		put32(page, 36, 8192, big);
		put64(page, 40, 0xffff000000000000ull, big);
		put64(page, 48, 0x80000000ull, big);
		put64(page, 56, 0xffffa00000000000ull, big);
		put64(page, 64, 0xffffa00100000000ull, big);
		put32(page, 72, 4096, big);
		if (arch == ARM64 && version >= 3)
			put32(page, 76, flags, big);
		break;
	case PPC64:
		/*
		 * sys/powerpc/include/minidump.h, MINIDUMP_VERSION 2: char
		 * magic[32]; char mmu_name[32]; uint32_t version,
		 * msgbufsize, bitmapsize, pmapsize; uint64_t kernbase,
		 * kernend, dmapbase, dmapend; int hw_direct_map; uint64_t
		 * startkernel, endkernel; uint32_t dumpavailsize.
		 */
		memcpy(page + 32, "mmu_radix", 9);
		put32(page, 64, version, big);
		put32(page, 68, msgbufsize, big);
		put32(page, 72, 4096, big);
		put32(page, 76, 8192, big);
		put64(page, 80, 0xc008000000000000ull, big);
		put64(page, 88, 0xc00fffffffffffffull, big);
		put64(page, 96, 0xc000000000000000ull, big);
		put64(page, 104, 0xc003ffffffffffffull, big);
		put32(page, 112, 1, big);
		put64(page, 120, 0xc000000000100000ull, big);
		put64(page, 128, 0xc000000002000000ull, big);
		put32(page, 136, 4096, big);
		break;
	case MIPS:
		/*
		 * sys/mips/include/minidump.h (FreeBSD 12 and 13),
		 * MINIDUMP_VERSION 2: char magic[24]; uint32_t version,
		 * msgbufsize, bitmapsize, ptesize; uint64_t kernbase,
		 * dmapbase, dmapend; uint32_t dumpavailsize.
		 */
		put32(page, 24, version, big);
		put32(page, 28, msgbufsize, big);
		put32(page, 32, 4096, big);
		put32(page, 36, 8192, big);
		put64(page, 40, 0xffffffffc0000000ull, big);
		put64(page, 48, 0x9800000000000000ull, big);
		put64(page, 56, 0x9800001000000000ull, big);
		put32(page, 64, 4096, big);
		break;
	}
}

/* An amd64 header page, as most tests use. */
static void
header(uint8_t *page, uint32_t version, uint32_t size)
{
	minidump_header(page, PAGE, AMD64, false, version, size, 0);
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
	header(hdr, 3, (uint32_t)ringlen);
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
chrono_with(size_t n, const char *panic)
{
	char newest[512];
	size_t nl, o = 0;
	uint8_t *c = malloc(n);
	unsigned line = 0;

	nl = (size_t)snprintf(newest, sizeof(newest),
	    "kernel: pid 4242 (sh), jid 0, uid 0: exited on signal 11\n"
	    "Fatal trap 9: general protection fault while in kernel mode\n"
	    "%s\n"
	    "cpuid = 1\n"
	    "KDB: stack backtrace:\n"
	    "#0 0xffffffff80b9002d at kdb_backtrace+0x5d\n"
	    "Uptime: 3d4h12m7s\n"
	    "Dumping 64 out of 256 MB:..1%%", panic);
	assert_true(nl < sizeof(newest));
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

static uint8_t *
wrapped_chrono(size_t n)
{
	return chrono_with(n, "panic: test panic two");
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

/*
 * A dump tried twice (netdump failed, then "dump" again in ddb) prints
 * "Dumping" twice. Once the ring wrapped between the two, the older line
 * can sit later in the ring than the newer one, and a wrap point guessed
 * from the last of them starts the text in the middle. The kernel's
 * struct msgbuf lies right after the ring (kern/subr_prf.c, msgbufinit:
 * msg_size is the region less the struct), in the page the dump writes
 * with it (minidump_machdep.c: round_page(msg_size)); its msg_wseq says
 * where the ring wraps, as dmesg(8) reads it. Both layouts, a 64-bit
 * msg_ptr and a 32-bit one, in both byte orders.
 */
static void
test_wrapped_twice(void **state)
{
	static const char first[] = "Dumping 10 out of 100 MB:\n"
	    "netdump: failed to contact server\ndb> dump\n";
	const size_t n = RING - 64, p = 20000;
	uint8_t *chrono = wrapped_chrono(n), *ring, hdr[PAGE], *img;
	struct nd_msgbuf mb;
	size_t len, wlen, tlen, layout, at;
	const char *panic;
	char *t, *want;

	(void)state;
	memcpy(chrono + n / 2, first, sizeof(first) - 1);
	want = render(chrono, n, &wlen);
	ring = wrap(chrono, n, p);
	/* 64-bit LE (amd64), 32-bit LE (i386), 32-bit BE, 64-bit BE. */
	for (layout = 0; layout < 4; layout++) {
		bool big = layout >= 2, wide = layout == 0 || layout == 3;

		memset(&mb, 0, sizeof(mb));
		minidump_header(hdr, PAGE, AMD64, big, 2, (uint32_t)n, 0);
		img = image(hdr, ring, n, &len);
		/* msg_ptr, msg_magic, msg_size, msg_wseq (5 turns on) */
		at = PAGE + n + (wide ? 8 : 4);
		if (wide)
			put64(img, PAGE + n, 0xfffff80003a00000ull, big);
		else
			put32(img, PAGE + n, 0xc3a00000u, big);
		put32(img, at, 0x063062, big);
		put32(img, at + 4, (uint32_t)n, big);
		put32(img, at + 8, (uint32_t)(5 * n + p), big);
		feed(&mb, img, len, 1448);
		t = nd_msgbuf_text(&mb, &tlen, &panic);
		assert_non_null(t);
		assert_int_equal(tlen, wlen);
		assert_memory_equal(t, want, wlen);
		assert_panic_line(t, panic, "panic: test panic two");
		free(t);
		nd_msgbuf_free(&mb);
		free(img);
	}
	free(ring);
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
	    "C1: \xc2\x9b" "2J \xc2\xa0\n"
	    "panic: with \x08 a backspace";
	static const char want[] =
	    "\\x1b[1mbold\\x1b[0m and a tab:\there\n"
	    "bell \\x07 del \\x7f cr\\x0d\n"
	    "nulbetween\n"
	    "\\x01\\x1f high \xc3\xa9 bytes as they are\n"
	    "C1: \xc2\\x9b" "2J \xc2\xa0\n"
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

	header(hdr, 3, size);
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
	header(page, 2, RING);
	memcpy(page, "minidump Linux/x86_64\0", 22);
	nd_msgbuf_feed(&mb, 0, page, sizeof(page));
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);

	/* A FreeBSD header, but not first in the stream. */
	memset(&mb, 0, sizeof(mb));
	header(page, 2, RING);
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	nd_msgbuf_feed(&mb, 0, page, sizeof(page));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);

	/*
	 * The first page a hole, or a stream too short to hold the fields
	 * (a header in pieces is fine: test_header_pieces).
	 */
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, 0, NULL, PAGE);
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, 0, page, 31);
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);

	/* A ring of size 0. */
	memset(&mb, 0, sizeof(mb));
	header(page, 2, 0);
	nd_msgbuf_feed(&mb, 0, page, sizeof(page));
	nd_msgbuf_feed(&mb, PAGE, ring, sizeof(ring));
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	nd_msgbuf_free(&mb);
}

/*
 * One architecture's minidump: header page of pagesz bytes, a wrapped
 * ring of ringsz bytes right after it padded to a page, and memory.
 */
struct fixture {
	const char	*name;		/* the arch the magic names */
	enum arch	 arch;
	bool		 big;
	uint32_t	 version;
	uint32_t	 flags;		/* arm64 v3 */
	size_t		 pagesz;
	size_t		 ringsz;
	const char	*panic;
};

/* The image of a fixture, and the text it must give. */
static uint8_t *
fixture_image(const struct fixture *f, size_t *lenp, char **want,
    size_t *wlen)
{
	size_t padded = (f->ringsz + f->pagesz - 1) / f->pagesz * f->pagesz;
	size_t len = f->pagesz + padded + 3 * f->pagesz, i;
	uint8_t *chrono = chrono_with(f->ringsz, f->panic), *ring, *img;

	ring = wrap(chrono, f->ringsz, f->ringsz / 3 + 17);
	*want = render(chrono, f->ringsz, wlen);
	img = calloc(1, len);
	assert_non_null(img);
	minidump_header(img, f->pagesz, f->arch, f->big, f->version,
	    (uint32_t)f->ringsz, f->flags);
	memcpy(img + f->pagesz, ring, f->ringsz);
	/* Bitmap, page tables and pages: no zeros, so they would show. */
	for (i = f->pagesz + padded; i < len; i++)
		img[i] = (uint8_t)('A' + i % 26);
	free(ring);
	free(chrono);
	*lenp = len;
	return img;
}

static void
check_fixture(const struct fixture *f)
{
	struct nd_msgbuf mb;
	const char *panic;
	size_t len, ilen, wlen;
	char *t, *want;
	uint8_t *img;

	img = fixture_image(f, &ilen, &want, &wlen);
	memset(&mb, 0, sizeof(mb));
	feed(&mb, img, ilen, 1448);
	assert_null(nd_msgbuf_missing(&mb));
	assert_true(mb.active);
	assert_string_equal(mb.arch, f->name);
	assert_int_equal(mb.big, f->big);
	assert_int_equal(mb.ring_off, f->pagesz);
	assert_int_equal(mb.size, f->ringsz);
	t = nd_msgbuf_text(&mb, &len, &panic);
	assert_non_null(t);
	assert_int_equal(len, wlen);
	assert_memory_equal(t, want, wlen);
	assert_panic_line(t, panic, f->panic);
	free(t);
	nd_msgbuf_free(&mb);
	free(img);
	free(want);
}

/* sys/amd64/include/minidump.h, v3, little-endian. */
static void
test_arch_amd64(void **state)
{
	static const struct fixture f = { "amd64", AMD64, false, 3, 0, 4096,
	    RING, "panic: page fault on amd64" };

	(void)state;
	check_fixture(&f);
}

/* sys/i386/include/minidump.h, v2, little-endian. */
static void
test_arch_i386(void **state)
{
	static const struct fixture f = { "i386", I386, false, 2, 0, 4096,
	    RING, "panic: double fault on i386" };

	(void)state;
	check_fixture(&f);
}

/* sys/arm/include/minidump.h, v2, little-endian (armv7). */
static void
test_arch_arm(void **state)
{
	static const struct fixture f = { "arm", ARM, false, 2, 0, 4096,
	    RING, "panic: data abort on arm" };

	(void)state;
	check_fixture(&f);
}

/*
 * sys/arm64/include/minidump.h: v3 with MINIDUMP_FLAG_PS_4K, v2 and v1
 * (no flags: 4 KiB, as kvm_minidump_aarch64.c takes them), and v3 with
 * MINIDUMP_FLAG_PS_16K, whose ring starts at 16384.
 */
static void
test_arch_arm64(void **state)
{
	static const struct fixture f[] = {
		{ "arm64", ARM64, false, 3, 0, 4096, RING,
		    "panic: arm64 with 4K pages" },
		{ "arm64", ARM64, false, 2, 0, 4096, RING,
		    "panic: arm64 minidump v2" },
		{ "arm64", ARM64, false, 1, 0, 4096, RING,
		    "panic: arm64 minidump v1" },
		/* An odd ring size: padded to 16 KiB. */
		{ "arm64", ARM64, false, 3, 1, 16384, 98304 - 16384 + 100,
		    "panic: arm64 with 16K pages" },
		{ "arm64", ARM64, false, 3, 1, 16384, RING,
		    "panic: arm64 16K, 64 KiB ring" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		check_fixture(&f[i]);
}

/* sys/riscv/include/minidump.h, v2, little-endian. */
static void
test_arch_riscv(void **state)
{
	static const struct fixture f = { "riscv", RISCV, false, 2, 0, 4096,
	    RING, "panic: riscv store fault" };

	(void)state;
	check_fixture(&f);
}

/*
 * sys/powerpc/include/minidump.h, v2: powerpc64 (big-endian) and
 * powerpc64le write the same magic; only the byte order differs.
 */
static void
test_arch_powerpc64(void **state)
{
	static const struct fixture f[] = {
		{ "powerpc64", PPC64, true, 2, 0, 4096, RING,
		    "panic: powerpc64 big-endian" },
		{ "powerpc64", PPC64, false, 2, 0, 4096, RING,
		    "panic: powerpc64le little-endian" },
		{ "powerpc64", PPC64, true, 1, 0, 4096, 4000,
		    "panic: powerpc64 v1" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		check_fixture(&f[i]);
}

/*
 * sys/mips/include/minidump.h (FreeBSD 12 and 13), v2: mips, mips64
 * (big-endian) and mipsel, mips64el write the same magic.
 */
static void
test_arch_mips(void **state)
{
	static const struct fixture f[] = {
		{ "mips", MIPS, true, 2, 0, 4096, RING,
		    "panic: mips big-endian" },
		{ "mips", MIPS, false, 2, 0, 4096, RING,
		    "panic: mipsel little-endian" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		check_fixture(&f[i]);
}

/* The reason for one stream: a header page, then ring bytes. */
static void
assert_missing(const uint8_t *page, size_t pagelen, size_t ringbytes,
    const char *want)
{
	uint8_t ring[4096];
	struct nd_msgbuf mb;
	const char *panic;
	size_t len, off;

	memset(ring, 'r', sizeof(ring));
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, 0, page, pagelen);
	for (off = 0; off < ringbytes; off += sizeof(ring))
		nd_msgbuf_feed(&mb, pagelen + off, ring,
		    ringbytes - off < sizeof(ring) ? ringbytes - off :
		    sizeof(ring));
	assert_non_null(nd_msgbuf_missing(&mb));
	assert_string_equal(nd_msgbuf_missing(&mb), want);
	assert_null(nd_msgbuf_text(&mb, &len, &panic));
	assert_int_equal(mb.alloc, 0);
	nd_msgbuf_free(&mb);
}

/* A reason for each way there is no msgbuf, and none when there is. */
static void
test_missing_reasons(void **state)
{
	uint8_t page[16384];
	struct nd_msgbuf mb;
	const char *panic;
	size_t i, len;
	char *t;

	(void)state;
	memset(&mb, 0, sizeof(mb));
	assert_string_equal(nd_msgbuf_missing(&mb), "nothing arrived");
	nd_msgbuf_feed(&mb, 0, page, 0);
	assert_string_equal(nd_msgbuf_missing(&mb), "nothing arrived");

	for (i = 0; i < PAGE; i++)
		page[i] = (uint8_t)(i * 7919 + 13);
	assert_missing(page, PAGE, RING,
	    "not a minidump (no \"minidump FreeBSD/\" magic)");
	memset(page, 0, PAGE);
	assert_missing(page, PAGE, RING,
	    "not a minidump (no \"minidump FreeBSD/\" magic)");

	/* An ELF full dump, as 32-bit powerpc writes. */
	memcpy(page, "\x7f" "ELF\x01\x02\x01", 7);
	assert_missing(page, PAGE, RING,
	    "not a minidump (no \"minidump FreeBSD/\" magic)");

	header(page, 3, RING);
	memcpy(page, "minidump FreeBSD/foo\0", 21);
	assert_missing(page, PAGE, RING,
	    "unknown minidump architecture \"foo\"");
	/*
	 * sparc64 (FreeBSD 12) wrote ELF dumps only (do_minidump = 0 in
	 * sys/sparc64/sparc64/dump_machdep.c); a header that says so is
	 * forged. The magic fills its 24 bytes: no NUL before the version.
	 */
	minidump_header(page, PAGE, I386, true, 2, RING, 0);
	memcpy(page, "minidump FreeBSD/sparc64", 24);
	assert_missing(page, PAGE, RING,
	    "unknown minidump architecture \"sparc64\"");
	/*
	 * 32-bit powerpc writes no minidump (MINIDUMP_PAGE_TRACKING 0,
	 * "No minidump with 32-bit powerpc", sys/powerpc/include/vmparam.h):
	 * its magic with a 24-byte layout is forged too.
	 */
	minidump_header(page, PAGE, I386, true, 2, RING, 0);
	memcpy(page, "minidump FreeBSD/powerpc", 24);
	assert_missing(page, PAGE, RING,
	    "unknown minidump architecture \"powerpc\"");
	memcpy(page, "minidump FreeBSD/x\x01y", 20);
	assert_missing(page, PAGE, RING,
	    "unknown minidump architecture \"x\"");

	header(page, 3, 64u << 20);
	assert_missing(page, PAGE, RING, "minidump header claims a 64 MiB "
	    "message buffer, above the 8 MiB limit");
	header(page, 3, ND_MSGBUF_MAX + 1);
	assert_missing(page, PAGE, RING, "minidump header claims a message "
	    "buffer of 8388609 bytes, above the 8 MiB limit");
	header(page, 3, 0);
	assert_missing(page, PAGE, RING,
	    "minidump header claims an empty message buffer");
	header(page, 0, RING);
	assert_missing(page, PAGE, RING,
	    "amd64 minidump header has no version we know (0x00000000)");
	header(page, 0x01020304, RING);
	assert_missing(page, PAGE, RING,
	    "amd64 minidump header has no version we know (0x01020304)");

	minidump_header(page, 16384, ARM64, false, 3, RING, 2);
	assert_missing(page, 16384, RING,
	    "unsupported arm64 page size (64 KiB)");
	minidump_header(page, 16384, ARM64, true, 3, RING, 3);
	assert_missing(page, 16384, RING,
	    "unknown arm64 page size (flags 3)");

	/* The header and nothing after, with 4 and 16 KiB pages. */
	header(page, 3, RING);
	assert_missing(page, PAGE, 0,
	    "the dump ended before the message buffer");
	minidump_header(page, 16384, ARM64, false, 3, RING, 1);
	assert_missing(page, 16384, 0,
	    "the dump ended before the message buffer");
	/* Less than the header's first bytes. */
	assert_missing(page, ND_MSGBUF_HEAD - 1, 0,
	    "the dump ended inside the minidump header");

	/* The header not first in the stream, or with a gap. */
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, PAGE, page, 100);
	nd_msgbuf_feed(&mb, 0, page, PAGE);
	assert_string_equal(nd_msgbuf_missing(&mb), "the dump did not start "
	    "with its header (offset 4096 came first)");
	nd_msgbuf_free(&mb);
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, 0, page, 10);
	nd_msgbuf_feed(&mb, 20, page + 20, PAGE);
	assert_string_equal(nd_msgbuf_missing(&mb), "the minidump header "
	    "arrived out of order (offset 20 after 10 bytes)");
	nd_msgbuf_free(&mb);

	/* Some of the ring, or a ring of zeros: a msgbuf all the same. */
	memset(&mb, 0, sizeof(mb));
	header(page, 3, RING);
	nd_msgbuf_feed(&mb, 0, page, PAGE);
	nd_msgbuf_feed(&mb, PAGE, (const uint8_t *)"panic: short\n", 13);
	assert_null(nd_msgbuf_missing(&mb));
	t = nd_msgbuf_text(&mb, &len, &panic);
	assert_non_null(t);
	assert_string_equal(t, "panic: short\n");
	assert_ptr_equal(panic, t);
	free(t);
	nd_msgbuf_free(&mb);
	memset(&mb, 0, sizeof(mb));
	nd_msgbuf_feed(&mb, 0, page, PAGE);
	nd_msgbuf_feed(&mb, PAGE, NULL, RING);
	assert_null(nd_msgbuf_missing(&mb));
	nd_msgbuf_free(&mb);
}

/*
 * The header may come in pieces, holes too, as long as they are the
 * stream's first bytes in order.
 */
static void
test_header_pieces(void **state)
{
	static const struct fixture f = { "powerpc64", PPC64, false, 2, 0,
	    4096, RING, "panic: header in pieces" };
	struct nd_msgbuf mb;
	const char *panic;
	size_t ilen, wlen, len, off, n;
	char *want, *t;
	uint8_t *img;

	(void)state;
	img = fixture_image(&f, &ilen, &want, &wlen);
	memset(&mb, 0, sizeof(mb));
	for (off = 0, n = 1; off < ilen; off += n, n = n * 2 + 1) {
		if (n > ilen - off)
			n = ilen - off;
		/* Bytes 2000-2999 of the header page are zeros: a hole. */
		if (off >= 2000 && off + n <= 3000)
			nd_msgbuf_feed(&mb, off, NULL, n);
		else
			nd_msgbuf_feed(&mb, off, img + off, n);
	}
	assert_null(nd_msgbuf_missing(&mb));
	t = nd_msgbuf_text(&mb, &len, &panic);
	assert_non_null(t);
	assert_int_equal(len, wlen);
	assert_memory_equal(t, want, wlen);
	assert_panic_line(t, panic, f.panic);
	free(t);
	nd_msgbuf_free(&mb);
	free(img);
	free(want);
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
		cmocka_unit_test(test_wrapped_twice),
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_panic_bomb),
		cmocka_unit_test(test_marker_bombs),
		cmocka_unit_test(test_text_cap),
		cmocka_unit_test(test_huge_claim),
		cmocka_unit_test(test_not_minidump),
		cmocka_unit_test(test_arch_amd64),
		cmocka_unit_test(test_arch_i386),
		cmocka_unit_test(test_arch_arm),
		cmocka_unit_test(test_arch_arm64),
		cmocka_unit_test(test_arch_riscv),
		cmocka_unit_test(test_arch_powerpc64),
		cmocka_unit_test(test_arch_mips),
		cmocka_unit_test(test_missing_reasons),
		cmocka_unit_test(test_header_pieces),
		cmocka_unit_test(test_out_of_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
