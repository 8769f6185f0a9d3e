/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the kernel dump header (core/kdh.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kdh.h"
#include "proto.h"

#define T_DUMPTIME	1795419292ull	/* 2026-11-23 07:34:52 UTC */
#define T_VERSION	"FreeBSD 14.1-RELEASE releng/14.1-n267679 GENERIC amd64\n"

/*
 * Hand-made headers: written byte by byte here rather than with
 * nd_kdh_build, so the parser is checked against the layout tables of the
 * reference, not against itself.
 */
static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

/* Set the parity word so that the XOR of all words is zero. */
static void
fix_parity(uint8_t *h)
{
	uint32_t x = 0, w;
	int i;

	memset(h + 508, 0, 4);
	for (i = 0; i < 512; i += 4) {
		memcpy(&w, h + i, 4);
		x ^= w;
	}
	memcpy(h + 508, &x, 4);
}

static void
common(uint8_t *h, uint32_t version)
{
	memset(h, 0, 512);
	memcpy(h, ND_KDH_MAGIC, sizeof(ND_KDH_MAGIC));
	memcpy(h + 20, "amd64", 5);
	be32(h + 32, version);
	be32(h + 36, 2);
}

static void
assert_zeroed(const struct nds_kdh *k)
{
	struct nds_kdh zero;

	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(k, &zero, sizeof(zero));
}

static void
test_build_parse_v4(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	memset(&k, 0x55, sizeof(k));
	nd_kdh_build(h, "amd64", 123456789012ull, T_DUMPTIME, 4096, "crashy",
	    T_VERSION, "page fault while in kernel mode", NDS_COMP_ZSTD,
	    987654321098ull);
	assert_int_equal(nd_kdh_parity(h), 0);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_string_equal(k.magic, "FreeBSD Kernel Dump");
	assert_string_equal(k.architecture, "amd64");
	assert_int_equal(k.version, 4);
	assert_int_equal(k.architectureversion, 2);
	assert_true(k.dumplength == 123456789012ull);
	assert_true(k.dumptime == T_DUMPTIME);
	assert_true(k.dumpextent == 987654321098ull);
	assert_int_equal(k.dumpkeysize, 4096);
	assert_int_equal(k.blocksize, 4096);
	assert_string_equal(k.hostname, "crashy");
	assert_string_equal(k.versionstring, T_VERSION);
	assert_string_equal(k.panicstring, "page fault while in kernel mode");
	assert_int_equal(k.compression, NDS_COMP_ZSTD);
	assert_true(k.parity_ok);
	/* The header is big-endian on the wire: check a few raw bytes. */
	assert_int_equal(h[35], 4);
	assert_int_equal(h[60], 0x00);
	assert_int_equal(h[62], 0x10);		/* 4096 = 0x00001000 */
	assert_int_equal(h[495], NDS_COMP_ZSTD);
}

static void
test_build_details(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;
	char longstr[400];

	(void)state;
	memset(longstr, 'x', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = '\0';

	/*
	 * Non-amd64 architecture version; the banner copied as it is, as
	 * dump_init_header's strlcpy does (a kernel's ends in '\n').
	 */
	nd_kdh_build(h, "aarch64", 1, 2, 0, "h", "FreeBSD 15.0", "p",
	    NDS_COMP_NONE, 1);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(k.architectureversion, 1);
	assert_string_equal(k.versionstring, "FreeBSD 15.0");
	/* 191 characters fit whole: not cut, no newline forced. */
	longstr[191] = '\0';
	nd_kdh_build(h, "amd64", 1, 2, 0, "h", longstr, "p", NDS_COMP_NONE, 1);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(strlen(k.versionstring), 191);
	assert_int_equal(k.versionstring[190], 'x');
	longstr[191] = 'x';

	/* Everything too long: truncated to the field, still terminated. */
	nd_kdh_build(h, longstr, 1, 2, 0, longstr, longstr, longstr,
	    NDS_COMP_GZIP, 1);
	assert_int_equal(nd_kdh_parity(h), 0);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(strlen(k.architecture), 11);
	assert_int_equal(strlen(k.hostname), 63);
	assert_int_equal(strlen(k.panicstring), 174);
	/* As the kernel does: a cut banner gets '\n' before its NUL. */
	assert_int_equal(strlen(k.versionstring), 191);
	assert_int_equal(k.versionstring[190], '\n');
	assert_int_equal(k.versionstring[189], 'x');
	/* The cut strings did not spill into the next field. */
	assert_int_equal(k.version, 4);
	assert_int_equal(k.compression, NDS_COMP_GZIP);

	/* NULL strings are empty fields. */
	nd_kdh_build(h, NULL, 0, 0, 0, NULL, NULL, NULL, NDS_COMP_NONE, 0);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_string_equal(k.hostname, "");
	assert_string_equal(k.architecture, "");
	assert_string_equal(k.panicstring, "");
}

static void
test_v1(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	common(h, 1);
	be64(h + 40, 0x0102030405ull);
	be64(h + 48, T_DUMPTIME);
	be32(h + 56, 512);
	memcpy(h + 60, "oldhost", 7);
	memcpy(h + 124, "FreeBSD 9.3\n", 12);
	memcpy(h + 316, "v1 panic", 8);
	fix_parity(h);

	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(k.version, 1);
	assert_string_equal(k.architecture, "amd64");
	assert_int_equal(k.architectureversion, 2);
	assert_true(k.dumplength == 0x0102030405ull);
	assert_true(k.dumptime == T_DUMPTIME);
	assert_int_equal(k.blocksize, 512);
	assert_int_equal(k.dumpkeysize, 0);
	assert_true(k.dumpextent == k.dumplength);
	assert_int_equal(k.compression, NDS_COMP_NONE);
	assert_string_equal(k.hostname, "oldhost");
	assert_string_equal(k.versionstring, "FreeBSD 9.3\n");
	assert_string_equal(k.panicstring, "v1 panic");
	assert_true(k.parity_ok);
}

static void
test_v2(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	common(h, 2);
	be64(h + 40, 77777);
	be64(h + 48, T_DUMPTIME + 1);
	be32(h + 56, 1024);
	be32(h + 60, 4096);
	memcpy(h + 64, "ekcdhost", 8);
	memcpy(h + 128, "FreeBSD 11.4\n", 13);
	memcpy(h + 320, "v2 panic", 8);
	/* A non-zero byte at 495 must not be read as compression in v2. */
	h[495] = 'z';
	fix_parity(h);

	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(k.version, 2);
	assert_true(k.dumplength == 77777);
	assert_true(k.dumptime == T_DUMPTIME + 1);
	assert_int_equal(k.dumpkeysize, 1024);
	assert_int_equal(k.blocksize, 4096);
	assert_true(k.dumpextent == 77777);
	assert_int_equal(k.compression, NDS_COMP_NONE);
	assert_string_equal(k.hostname, "ekcdhost");
	assert_string_equal(k.versionstring, "FreeBSD 11.4\n");
	assert_string_equal(k.panicstring, "v2 panic");
}

static void
test_v3(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	common(h, 3);
	be64(h + 40, 5000);
	be64(h + 48, 9000);
	be64(h + 56, T_DUMPTIME + 2);
	be32(h + 64, 2048);
	be32(h + 68, 4096);
	h[72] = NDS_COMP_GZIP;
	memcpy(h + 73, "devhost", 7);
	memcpy(h + 137, "FreeBSD 12.0-CURRENT\n", 21);
	memcpy(h + 329, "v3 panic", 8);
	fix_parity(h);

	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(k.version, 3);
	assert_true(k.dumplength == 5000);
	assert_true(k.dumpextent == 9000);
	assert_true(k.dumptime == T_DUMPTIME + 2);
	assert_int_equal(k.dumpkeysize, 2048);
	assert_int_equal(k.blocksize, 4096);
	assert_int_equal(k.compression, NDS_COMP_GZIP);
	assert_string_equal(k.hostname, "devhost");
	assert_string_equal(k.versionstring, "FreeBSD 12.0-CURRENT\n");
	assert_string_equal(k.panicstring, "v3 panic");
}

static void
test_v4_by_hand(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	common(h, 4);
	be64(h + 40, 6000);
	be64(h + 48, T_DUMPTIME);
	be32(h + 56, 0);
	be32(h + 60, 4096);
	memcpy(h + 64, "newhost", 7);
	memcpy(h + 128, T_VERSION, strlen(T_VERSION));
	memcpy(h + 320, "v4 panic", 8);
	h[495] = NDS_COMP_ZSTD;
	be64(h + 496, 123456);
	fix_parity(h);

	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(k.version, 4);
	assert_true(k.dumplength == 6000);
	assert_true(k.dumpextent == 123456);
	assert_int_equal(k.compression, NDS_COMP_ZSTD);
	assert_string_equal(k.hostname, "newhost");
	assert_string_equal(k.versionstring, T_VERSION);
	assert_string_equal(k.panicstring, "v4 panic");
}

static void
test_bad_parity(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	nd_kdh_build(h, "amd64", 4242, T_DUMPTIME, 0, "flaky", T_VERSION,
	    "bit flip", NDS_COMP_NONE, 4242);
	h[64] ^= 0x01;		/* "flaky" -> "glaky" */
	assert_int_not_equal(nd_kdh_parity(h), 0);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_BAD_PARITY);
	assert_false(k.parity_ok);
	/* The fields are still there to describe the dump. */
	assert_int_equal(k.version, 4);
	assert_string_equal(k.hostname, "glaky");
	assert_string_equal(k.panicstring, "bit flip");
	assert_true(k.dumplength == 4242);
	assert_string_equal(k.magic, ND_KDH_MAGIC);
}

static void
test_bad_magic(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	nd_kdh_build(h, "amd64", 1, 2, 0, "h", T_VERSION, "p",
	    NDS_COMP_NONE, 1);
	h[0] = 'f';
	fix_parity(h);		/* only the magic is wrong */
	memset(&k, 0x55, sizeof(k));
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_BAD_MAGIC);
	assert_zeroed(&k);

	/* A magic without its NUL at byte 19 is not the magic. */
	nd_kdh_build(h, "amd64", 1, 2, 0, "h", T_VERSION, "p",
	    NDS_COMP_NONE, 1);
	h[19] = '!';
	fix_parity(h);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_BAD_MAGIC);

	/* savecore's "Cleared Kernel Dump" is no dump either. */
	memset(h, 0, 20);
	memcpy(h, "Cleared Kernel Dump", 19);
	fix_parity(h);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_BAD_MAGIC);

	/* All zeros. */
	memset(h, 0, sizeof(h));
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_BAD_MAGIC);
}

static void
test_text_magic_refused(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	nd_kdh_build(h, "amd64", 1, 2, 0, "h", T_VERSION, "p",
	    NDS_COMP_NONE, 1);
	memset(h, 0, 20);
	memcpy(h, ND_KDH_TEXTMAGIC, sizeof(ND_KDH_TEXTMAGIC));
	fix_parity(h);
	memset(&k, 0x55, sizeof(k));
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_BAD_MAGIC);
	assert_zeroed(&k);
}

static void
test_bad_version(void **state)
{
	const uint32_t bad[] = { 0, 5, 0x04000000u, 0xffffffffu };
	uint8_t h[512];
	struct nds_kdh k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nd_kdh_build(h, "amd64", 1, 2, 0, "h", T_VERSION, "p",
		    NDS_COMP_NONE, 1);
		be32(h + 32, bad[i]);
		fix_parity(h);
		memset(&k, 0x55, sizeof(k));
		assert_int_equal(nd_kdh_parse(h, sizeof(h), &k),
		    ND_KDH_BAD_VERSION);
		assert_zeroed(&k);
	}
}

static void
test_short(void **state)
{
	uint8_t *h;
	struct nds_kdh k;

	(void)state;
	/* Heap-allocated at exactly 511 so ASan catches a read of byte 511. */
	h = malloc(511);
	assert_non_null(h);
	memcpy(h, ND_KDH_MAGIC, sizeof(ND_KDH_MAGIC));
	memset(&k, 0x55, sizeof(k));
	assert_int_equal(nd_kdh_parse(h, 511, &k), ND_KDH_SHORT);
	assert_zeroed(&k);
	assert_int_equal(nd_kdh_parse(h, 0, &k), ND_KDH_SHORT);
	free(h);

	/* A longer buffer is fine: only the first 512 bytes count. */
	h = calloc(1, 600);
	assert_non_null(h);
	nd_kdh_build(h, "amd64", 1, 2, 0, "h", T_VERSION, "p",
	    NDS_COMP_NONE, 1);
	memset(h + 512, 0xff, 88);
	assert_int_equal(nd_kdh_parse(h, 600, &k), ND_KDH_OK);
	free(h);
}

static void
test_unterminated_strings(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;

	(void)state;
	/* v4: every string fills its field with no NUL. */
	common(h, 4);
	memset(h + 20, 'a', 12);
	memset(h + 64, 'h', 64);
	memset(h + 128, 'v', 192);
	memset(h + 320, 'p', 175);
	h[495] = 0x7f;		/* an unknown compression */
	fix_parity(h);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(strlen(k.architecture), 12);
	assert_int_equal(strlen(k.hostname), 64);
	assert_int_equal(strlen(k.versionstring), 192);
	assert_int_equal(strlen(k.panicstring), 175);
	assert_int_equal(k.hostname[63], 'h');
	assert_int_equal(k.versionstring[191], 'v');
	assert_int_equal(k.compression, 0x7f);
	assert_string_equal(nd_kdh_compression_str(k.compression), "???");

	/* v1: the panic string runs up to the parity word (192 bytes). */
	common(h, 1);
	memset(h + 60, 'h', 64);
	memset(h + 124, 'v', 192);
	memset(h + 316, 'p', 192);
	fix_parity(h);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(strlen(k.hostname), 64);
	assert_int_equal(strlen(k.versionstring), 192);
	assert_int_equal(strlen(k.panicstring), 192);

	/* v2 and v3: their own panic string widths. */
	common(h, 2);
	memset(h + 320, 'p', 188);
	fix_parity(h);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(strlen(k.panicstring), 188);
	common(h, 3);
	memset(h + 73, 'h', 64);
	memset(h + 329, 'p', 179);
	fix_parity(h);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	assert_int_equal(strlen(k.hostname), 64);
	assert_int_equal(strlen(k.panicstring), 179);
}

static void
test_strings(void **state)
{
	(void)state;
	assert_string_equal(nd_kdh_compression_str(NDS_COMP_NONE), "none");
	assert_string_equal(nd_kdh_compression_str(NDS_COMP_GZIP), "gzip");
	assert_string_equal(nd_kdh_compression_str(NDS_COMP_ZSTD), "zstd");
	assert_string_equal(nd_kdh_compression_str(3), "???");
	assert_string_equal(nd_kdh_compression_str(255), "???");
	assert_string_equal(nd_kdh_result_str(ND_KDH_OK), "ok");
	assert_string_not_equal(nd_kdh_result_str(ND_KDH_SHORT),
	    nd_kdh_result_str(ND_KDH_BAD_MAGIC));
	assert_string_not_equal(nd_kdh_result_str(ND_KDH_BAD_VERSION),
	    nd_kdh_result_str(ND_KDH_BAD_PARITY));
	assert_true(strlen(nd_kdh_result_str(ND_KDH_BAD_PARITY)) > 2);
}

static void
parse_built(struct nds_kdh *k, uint8_t compression, const char *host,
    const char *version, const char *panic)
{
	uint8_t h[512];

	nd_kdh_build(h, "amd64", 12345, T_DUMPTIME, 0, host, version, panic,
	    compression, 54321);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), k), ND_KDH_OK);
}

static void
test_info_text_exact(void **state)
{
	struct nds_kdh k;
	char buf[2048];
	int n;
	uint32_t parity;
	char want[2048];

	(void)state;
	parse_built(&k, NDS_COMP_NONE, "host", T_VERSION,
	    "page fault while in kernel mode");
	parity = k.parity;
	/* savecore prints the word as read on its host, without dtoh32. */
	parity = (parity >> 24) | ((parity >> 8) & 0xff00) |
	    ((parity << 8) & 0xff0000) | (parity << 24);
	if (htobe32(1) == 1)
		parity = k.parity;
	snprintf(want, sizeof(want),
	    "Dump header from device: 192.0.2.7\n"
	    "  Architecture: amd64\n"
	    "  Architecture Version: 2\n"
	    "  Dump Length: 12345\n"
	    "  Blocksize: 4096\n"
	    "  Compression: none\n"
	    "  Dumptime: 2026-11-23 07:34:52 +0000\n"
	    "  Hostname: host\n"
	    "  Magic: FreeBSD Kernel Dump\n"
	    "  Version String: " T_VERSION
	    "  Panic String: page fault while in kernel mode\n"
	    "  Dump Parity: %u\n"
	    "  Bounds: 3\n"
	    "  Dump Status: good\n", (unsigned)parity);
	n = nd_kdh_info_text(buf, sizeof(buf), &k, "192.0.2.7", 3, 1, "");
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void
test_info_text_zstd_bad_reason(void **state)
{
	struct nds_kdh k;
	char buf[2048];
	const char *r, *s;
	int n;

	(void)state;
	parse_built(&k, NDS_COMP_ZSTD, "zhost", "FreeBSD 14.2", "zpanic");
	n = nd_kdh_info_text(buf, sizeof(buf), &k, "zhost", 0, 0,
	    "timed out after 120 s");
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_non_null(strstr(buf, "\n  Compression: zstd\n"));
	assert_non_null(strstr(buf, "\n  Dump Length: 12345\n"));
	assert_non_null(strstr(buf, "\n  Architecture: amd64\n"));
	assert_non_null(strstr(buf, "\n  Panic String: zpanic\n"));
	assert_non_null(strstr(buf, "\n  Bounds: 0\n"));
	/* The builder added the banner's newline; nothing doubled. */
	assert_non_null(strstr(buf,
	    "\n  Version String: FreeBSD 14.2\n  Panic String:"));
	/* Reason comes right before the status, which is the last line. */
	r = strstr(buf, "\n  Reason: timed out after 120 s\n");
	s = strstr(buf, "\n  Dump Status: bad\n");
	assert_non_null(r);
	assert_non_null(s);
	assert_ptr_equal(r + strlen("\n  Reason: timed out after 120 s"), s);
	assert_int_equal(s + strlen("\n  Dump Status: bad\n") - buf, n);
	assert_null(strstr(buf, "good"));

	/* No reason: no Reason line. */
	nd_kdh_info_text(buf, sizeof(buf), &k, "zhost", 0, 1, "");
	assert_null(strstr(buf, "Reason"));
	assert_non_null(strstr(buf, "\n  Dump Status: good\n"));
	nd_kdh_info_text(buf, sizeof(buf), &k, "zhost", 0, 1, NULL);
	assert_null(strstr(buf, "Reason"));
}

static void
test_info_text_version_newline(void **state)
{
	struct nds_kdh k;
	char buf[2048];

	(void)state;
	/* A header whose banner lacks its newline (hand-made, not built). */
	parse_built(&k, NDS_COMP_GZIP, "h", "x", "p");
	strcpy(k.versionstring, "FreeBSD no newline");
	nd_kdh_info_text(buf, sizeof(buf), &k, "d", 1, 1, "");
	assert_non_null(strstr(buf,
	    "\n  Version String: FreeBSD no newline\n  Panic String: p\n"));
	assert_non_null(strstr(buf, "\n  Compression: gzip\n"));

	/* An empty banner still ends its line. */
	k.versionstring[0] = '\0';
	nd_kdh_info_text(buf, sizeof(buf), &k, "d", 1, 1, "");
	assert_non_null(strstr(buf, "\n  Version String: \n  Panic String:"));
}

static void
test_info_text_null_kdh(void **state)
{
	char buf[512];
	int n;
	const char *want =
	    "Dump header from device: 198.51.100.9\n"
	    "  (no valid kernel dump header was received)\n"
	    "  Bounds: 17\n"
	    "  Reason: client went silent\n"
	    "  Dump Status: bad\n";

	(void)state;
	/* Even when the caller says good, no header means bad. */
	n = nd_kdh_info_text(buf, sizeof(buf), NULL, "198.51.100.9", 17, 1,
	    "client went silent");
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));

	n = nd_kdh_info_text(buf, sizeof(buf), NULL, "198.51.100.9", 17, 0,
	    "");
	assert_string_equal(buf,
	    "Dump header from device: 198.51.100.9\n"
	    "  (no valid kernel dump header was received)\n"
	    "  Bounds: 17\n"
	    "  Dump Status: bad\n");
	assert_int_equal(n, (int)strlen(buf));
}

static void
test_info_text_sanitised(void **state)
{
	uint8_t h[512];
	struct nds_kdh k;
	char buf[2048];
	const char *p;

	(void)state;
	nd_kdh_build(h, "amd\x01" "64", 1, T_DUMPTIME, 0, "evil\x1b[31mhost",
	    "FreeBSD\n  Dump Status: good\n", "panic\r\n  Dump Status: good",
	    NDS_COMP_NONE, 1);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	nd_kdh_info_text(buf, sizeof(buf), &k, "dev\nice", 0, 0,
	    "why\x7f\x01");
	assert_non_null(strstr(buf, "Dump header from device: dev?ice\n"));
	assert_non_null(strstr(buf, "\n  Architecture: amd?64\n"));
	assert_non_null(strstr(buf, "\n  Hostname: evil?[31mhost\n"));
	/* A tab is harmless and stays, as savecore prints it. */
	nd_kdh_build(h, "amd64", 1, T_DUMPTIME, 0, "tab\thost", T_VERSION, "p",
	    NDS_COMP_NONE, 1);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	nd_kdh_info_text(buf, sizeof(buf), &k, "d", 0, 1, "");
	assert_non_null(strstr(buf, "\n  Hostname: tab\thost\n"));
	/* C1 controls in UTF-8 (CSI, OSC) are escapes to a terminal too. */
	nd_kdh_build(h, "amd64", 1, T_DUMPTIME, 0, "host\xc2\x9b" "2J",
	    T_VERSION, "panic \xc2\x9d" "0;owned\x07 caf\xc3\xa9",
	    NDS_COMP_NONE, 1);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	nd_kdh_info_text(buf, sizeof(buf), &k, "d", 0, 1, "");
	assert_non_null(strstr(buf, "\n  Hostname: host??2J\n"));
	assert_non_null(strstr(buf,
	    "\n  Panic String: panic ??0;owned? caf\xc3\xa9\n"));
	nd_kdh_build(h, "amd\x01" "64", 1, T_DUMPTIME, 0, "evil\x1b[31mhost",
	    "FreeBSD\n  Dump Status: good\n", "panic\r\n  Dump Status: good",
	    NDS_COMP_NONE, 1);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	nd_kdh_info_text(buf, sizeof(buf), &k, "dev\nice", 0, 0,
	    "why\x7f\x01");
	/* Only the banner's final newline survives. */
	assert_non_null(strstr(buf,
	    "\n  Version String: FreeBSD?  Dump Status: good\n"));
	assert_non_null(strstr(buf,
	    "\n  Panic String: panic??  Dump Status: good\n"));
	assert_non_null(strstr(buf, "\n  Reason: why??\n"));
	/* No forged line: the only status line is the real one. */
	p = strstr(buf, "\n  Dump Status: ");
	assert_non_null(p);
	assert_string_equal(p, "\n  Dump Status: bad\n");
	for (p = buf; *p != '\0'; p++)
		assert_true(*p == '\n' || (*p >= 0x20 && *p != 0x7f));
	/* The parsed header itself is left as it came. */
	assert_string_equal(k.hostname, "evil\x1b[31mhost");
}

static void
test_info_text_snprintf(void **state)
{
	struct nds_kdh k;
	char full[2048], small[40];
	int n, m;

	(void)state;
	parse_built(&k, NDS_COMP_NONE, "host", T_VERSION, "p");
	n = nd_kdh_info_text(full, sizeof(full), &k, "dev", 1, 1, "r");
	assert_int_equal(n, (int)strlen(full));

	memset(small, 'Z', sizeof(small));
	m = nd_kdh_info_text(small, sizeof(small), &k, "dev", 1, 1, "r");
	assert_int_equal(m, n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);

	assert_int_equal(nd_kdh_info_text(NULL, 0, &k, "dev", 1, 1, "r"), n);
	assert_int_equal(nd_kdh_info_text(NULL, 0, NULL, "dev", 1, 1, ""),
	    (int)strlen("Dump header from device: dev\n"
	    "  (no valid kernel dump header was received)\n"
	    "  Bounds: 1\n  Dump Status: bad\n"));
}

static void
test_info_text_dumptime_out_of_range(void **state)
{
	struct nds_kdh k;
	char buf[2048];

	(void)state;
	parse_built(&k, NDS_COMP_NONE, "h", T_VERSION, "p");
	k.dumptime = UINT64_MAX;
	nd_kdh_info_text(buf, sizeof(buf), &k, "d", 0, 1, "");
	/* No garbage date, and the rest of the file is still written. */
	assert_non_null(strstr(buf, "\n  Dumptime: \n  Hostname: h\n"));
	k.dumptime = 0;
	nd_kdh_info_text(buf, sizeof(buf), &k, "d", 0, 1, "");
	assert_non_null(strstr(buf,
	    "\n  Dumptime: 1970-01-01 00:00:00 +0000\n"));
}

/*
 * Golden info files. The header is written byte by byte at the offsets of
 * struct kerneldumpheader (sys/sys/kerneldump.h, version 4); the text
 * expected is what savecore's printheader (sbin/savecore/savecore.c)
 * prints for it: libxo's text style turns "{P:  }{Lwc:Name}" into two
 * spaces, "Name: ", the version string is printed with no newline of its
 * own, the parity with no byte swap, the time with strftime("%F %T %z")
 * in the local zone.
 */
struct golden {
	const char	*version;	/* as the kernel put it in the header */
	const char	*host, *panic;
	uint8_t		 compression;
	uint64_t	 dumplength, dumpextent;
	uint32_t	 keysize;
};

static void
golden_header(uint8_t *h, const struct golden *g)
{
	common(h, 4);
	be64(h + 40, g->dumplength);
	be64(h + 48, T_DUMPTIME);
	be32(h + 56, g->keysize);
	be32(h + 60, 512);
	memcpy(h + 64, g->host, strlen(g->host));
	memcpy(h + 128, g->version, strlen(g->version));
	memcpy(h + 320, g->panic, strlen(g->panic));
	h[495] = g->compression;
	be64(h + 496, g->dumpextent);
	fix_parity(h);
}

/* The info text for g, through the parser, with Bounds n. */
static void
golden_info(const struct golden *g, unsigned n, char *buf, size_t size,
    uint32_t *parity)
{
	uint8_t h[512];
	struct nds_kdh k;
	int n_len;

	golden_header(h, g);
	assert_int_equal(nd_kdh_parse(h, sizeof(h), &k), ND_KDH_OK);
	memcpy(parity, h + 508, sizeof(*parity));	/* h->parity, raw */
	n_len = nd_kdh_info_text(buf, size, &k, "/dev/ada0p3", n, 1, "");
	assert_int_equal(n_len, (int)strlen(buf));
}

static void
test_info_golden_one_line(void **state)
{
	/* newvers.sh -r, or -R on a clean tree: one line, the ident last. */
	const struct golden g = {
		.version = "FreeBSD 14.2-RELEASE releng/14.2-n269506-c8918d6c7412"
		    " GENERIC\n",
		.host = "web1.example.org", .panic = "page fault while in "
		    "kernel mode", .dumplength = 1073741824,
		.dumpextent = 1073741824,
	};
	char buf[2048], want[2048];
	uint32_t parity;

	(void)state;
	golden_info(&g, 0, buf, sizeof(buf), &parity);
	snprintf(want, sizeof(want),
	    "Dump header from device: /dev/ada0p3\n"
	    "  Architecture: amd64\n"
	    "  Architecture Version: 2\n"
	    "  Dump Length: 1073741824\n"
	    "  Blocksize: 512\n"
	    "  Compression: none\n"
	    "  Dumptime: 2026-11-23 07:34:52 +0000\n"
	    "  Hostname: web1.example.org\n"
	    "  Magic: FreeBSD Kernel Dump\n"
	    "  Version String: FreeBSD 14.2-RELEASE releng/14.2-n269506-"
	    "c8918d6c7412 GENERIC\n"
	    "  Panic String: page fault while in kernel mode\n"
	    "  Dump Parity: %u\n"
	    "  Bounds: 0\n"
	    "  Dump Status: good\n", parity);
	assert_string_equal(buf, want);
}

static void
test_info_golden_two_lines_local_time(void **state)
{
	/*
	 * newvers.sh with metadata (a custom or modified tree): "#N", the
	 * date, then a second line of four spaces and user@host:objdir.
	 */
	const struct golden g = {
		.version = "FreeBSD 14.2-STABLE #3 stable/14-n269871-0ab1c2d3e4f5"
		    "-dirty: Mon Nov 23 08:00:00 CET 2026\n"
		    "    root@build.example.org:/usr/obj/usr/src/amd64.amd64/"
		    "sys/CUSTOM\n",
		.host = "db2", .panic = "vm_fault: pager read error, pid 1",
		.dumplength = 536870912, .dumpextent = 536870912,
	};
	char buf[2048], want[2048];
	uint32_t parity;

	(void)state;
	/* The server's zone, as savecore uses its host's: UTC+2 here. */
	setenv("TZ", "XXX-2", 1);
	tzset();
	golden_info(&g, 7, buf, sizeof(buf), &parity);
	setenv("TZ", "UTC0", 1);
	tzset();
	snprintf(want, sizeof(want),
	    "Dump header from device: /dev/ada0p3\n"
	    "  Architecture: amd64\n"
	    "  Architecture Version: 2\n"
	    "  Dump Length: 536870912\n"
	    "  Blocksize: 512\n"
	    "  Compression: none\n"
	    "  Dumptime: 2026-11-23 09:34:52 +0200\n"
	    "  Hostname: db2\n"
	    "  Magic: FreeBSD Kernel Dump\n"
	    "  Version String: FreeBSD 14.2-STABLE #3 stable/14-n269871-"
	    "0ab1c2d3e4f5-dirty: Mon Nov 23 08:00:00 CET 2026\n"
	    "    root@build.example.org:/usr/obj/usr/src/amd64.amd64/sys/"
	    "CUSTOM\n"
	    "  Panic String: vm_fault: pager read error, pid 1\n"
	    "  Dump Parity: %u\n"
	    "  Bounds: 7\n"
	    "  Dump Status: good\n", parity);
	assert_string_equal(buf, want);
}

static void
test_info_golden_truncated(void **state)
{
	/*
	 * dump_init_header (sys/kern/kern_shutdown.c): strlcpy into the
	 * 192-byte field, and on truncation versionstring[190] = '\n'. So
	 * 190 characters, the forced newline, the NUL.
	 */
	char version[192], longv[300], buf[2048], want[2048];
	struct golden g = {
		.host = "h", .panic = "p", .dumplength = 4096,
		.dumpextent = 4096,
	};
	uint32_t parity;

	(void)state;
	memset(longv, 0, sizeof(longv));
	memcpy(longv, "FreeBSD 15.0-CURRENT #0 main-n270000-0123456789ab: "
	    "Tue Nov 24 10:00:00 UTC 2026\n    ", 84);
	memset(longv + 84, 'o', 200);
	/* strlcpy(version, longv, 192): 191 bytes and the NUL. */
	memcpy(version, longv, sizeof(version) - 1);
	version[sizeof(version) - 1] = '\0';
	version[190] = '\n';
	g.version = version;
	golden_info(&g, 1, buf, sizeof(buf), &parity);
	snprintf(want, sizeof(want), "\n  Version String: %.190s\n"
	    "  Panic String: p\n  Dump Parity: %u\n", longv, parity);
	assert_non_null(strstr(buf, want));
}

static void
test_info_golden_compressed_encrypted(void **state)
{
	/*
	 * dumpon -Z -k: the length is what the kernel wrote (compressed),
	 * the extent the memory dumped; savecore prints only the length.
	 */
	const struct golden g = {
		.version = "FreeBSD 13.3-RELEASE-p1 GENERIC\n",
		.host = "fw", .panic = "sanity check failed",
		.compression = NDS_COMP_ZSTD, .dumplength = 123456512,
		.dumpextent = 4294967296ull, .keysize = 4096,
	};
	char buf[2048], want[2048];
	uint32_t parity;

	(void)state;
	golden_info(&g, 12, buf, sizeof(buf), &parity);
	snprintf(want, sizeof(want),
	    "Dump header from device: /dev/ada0p3\n"
	    "  Architecture: amd64\n"
	    "  Architecture Version: 2\n"
	    "  Dump Length: 123456512\n"
	    "  Blocksize: 512\n"
	    "  Compression: zstd\n"
	    "  Dumptime: 2026-11-23 07:34:52 +0000\n"
	    "  Hostname: fw\n"
	    "  Magic: FreeBSD Kernel Dump\n"
	    "  Version String: FreeBSD 13.3-RELEASE-p1 GENERIC\n"
	    "  Panic String: sanity check failed\n"
	    "  Dump Parity: %u\n"
	    "  Bounds: 12\n"
	    "  Dump Status: good\n", parity);
	assert_string_equal(buf, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_parse_v4),
		cmocka_unit_test(test_build_details),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v3),
		cmocka_unit_test(test_v4_by_hand),
		cmocka_unit_test(test_bad_parity),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_text_magic_refused),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_unterminated_strings),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_info_text_exact),
		cmocka_unit_test(test_info_text_zstd_bad_reason),
		cmocka_unit_test(test_info_text_version_newline),
		cmocka_unit_test(test_info_text_null_kdh),
		cmocka_unit_test(test_info_text_sanitised),
		cmocka_unit_test(test_info_text_snprintf),
		cmocka_unit_test(test_info_text_dumptime_out_of_range),
		cmocka_unit_test(test_info_golden_one_line),
		cmocka_unit_test(test_info_golden_two_lines_local_time),
		cmocka_unit_test(test_info_golden_truncated),
		cmocka_unit_test(test_info_golden_compressed_encrypted),
	};

	/* The expected times are in UTC unless a test says otherwise. */
	setenv("TZ", "UTC0", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
