/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for what arrives on the Linux port (core/linux_wire.c). The
 * netdump vectors are what the RHEL 4 kernel's drivers/net/netdump.c
 * sends: send_netdump_msg writes the effective version, then nr, code and
 * info with htonl, then the text or the page; the extended netconsole
 * vectors are the examples of Documentation/networking/netconsole.rst and
 * tools/testing/selftests/drivers/net/netcons_fragmented_msg.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "linux_wire.h"

#define EM_X86_64	62

/* send_netdump_msg: version, nr, code, info (big-endian), then msg. */
static size_t
kernel_reply(uint8_t *out, uint8_t version, uint32_t nr, uint32_t code,
    uint32_t info, const void *msg, size_t len)
{
	size_t i;

	out[0] = version;
	for (i = 0; i < 4; i++) {
		out[1 + i] = (uint8_t)(nr >> (24 - 8 * i));
		out[5 + i] = (uint8_t)(code >> (24 - 8 * i));
		out[9 + i] = (uint8_t)(info >> (24 - 8 * i));
	}
	memcpy(out + 13, msg, len);
	return 13 + len;
}

/*
 * netdump_startup_handshake: code REPLY_START_NETDUMP (8), nr the ELF
 * machine, info NETDUMP_VERSION_MAX (5), version byte NETDUMP_VERSION (4)
 * before the handshake, and the text with the cookie magic2 << 32 |
 * magic1.
 */
static void
test_start(void **state)
{
	static const char text[] = "task_struct:0xffff81003f5a87f0 "
	    "page_offset:0xffff810000000000 netdump_magic:0x1a2b3c4d5e6f7081\n";
	uint8_t d[2048];
	struct lx_reply r;
	struct lx_start s;
	size_t n;

	(void)state;
	n = kernel_reply(d, 4, EM_X86_64, 8, 5, text, strlen(text));
	assert_int_equal(lx_classify(d, n), LX_NETDUMP);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_OK);
	assert_int_equal(r.version, 4);
	assert_int_equal(r.nr, EM_X86_64);
	assert_int_equal(r.code, LX_REPLY_START_NETDUMP);
	assert_int_equal(r.info, 5);
	assert_ptr_equal(r.payload, d + 13);
	assert_int_equal(r.len, strlen(text));
	assert_string_equal(lx_reply_code_str(r.code), "START_NETDUMP");

	assert_int_equal(lx_start_parse(r.payload, r.len, &s), 0);
	assert_true(s.task == 0xffff81003f5a87f0ull);
	assert_true(s.page_offset == 0xffff810000000000ull);
	assert_true(s.has_magic);
	assert_true(s.magic == 0x1a2b3c4d5e6f7081ull);
}

/* NETDUMPKEYEXCHANGE=none: magic1 = magic2 = 0x11111111. */
static void
test_start_fixed_cookie_and_unknown_words(void **state)
{
	static const char text[] = "cpu:0x3 task_struct:0xc0350000 "
	    "page_offset:0xc0000000 netdump_magic:0x1111111111111111\n";
	static const char no_magic[] = "task_struct:0xc0350000 "
	    "page_offset:0xc0000000\n";
	static const char bad[] = "task_struct:0xzz netdump_magic:0x1\n";
	static const char huge[] = "netdump_magic:0x11111111111111111\n";
	struct lx_start s;

	(void)state;
	assert_int_equal(lx_start_parse((const uint8_t *)text, strlen(text),
	    &s), 0);
	assert_true(s.magic == 0x1111111111111111ull);
	assert_true(s.task == 0xc0350000u);
	assert_int_equal(lx_start_parse((const uint8_t *)no_magic,
	    strlen(no_magic), &s), 0);
	assert_false(s.has_magic);
	assert_int_equal(lx_start_parse((const uint8_t *)bad, strlen(bad),
	    &s), -1);
	/* 17 hex digits do not fit in the cookie. */
	assert_int_equal(lx_start_parse((const uint8_t *)huge, strlen(huge),
	    &s), -1);
}

/* send_netdump_mem: PAGE_SIZE/1024 replies, info = offset in the page. */
static void
test_mem_reserved_error(void **state)
{
	static uint8_t page[1024];
	static const char err[] = "page 00100000 is bigger than max page # "
	    "0003ff00!\n";
	uint8_t d[2048];
	struct lx_reply r;
	size_t n;

	(void)state;
	memset(page, 0x5a, sizeof(page));
	n = kernel_reply(d, 5, 77, LX_REPLY_MEM, 3072, page, sizeof(page));
	assert_int_equal(n, 1037);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_OK);
	assert_int_equal(r.nr, 77);
	assert_int_equal(r.info, 3072);
	assert_int_equal(r.len, 1024);
	assert_memory_equal(r.payload, page, 1024);

	/* Not RAM: info is the next RAM page, and nothing follows. */
	n = kernel_reply(d, 5, 78, LX_REPLY_RESERVED, 0x100, "", 0);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_OK);
	assert_int_equal(r.code, LX_REPLY_RESERVED);
	assert_int_equal(r.info, 0x100);
	assert_int_equal(r.len, 0);

	n = kernel_reply(d, 5, 79, LX_REPLY_ERROR, 0, err, strlen(err));
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_OK);
	assert_int_equal(r.code, LX_REPLY_ERROR);
}

/*
 * COMM_SHOW_STATE: the kernel answers with strlen(tmp) of whatever the
 * last reply left in its buffer, so the payload is stale text; it decodes
 * like any other and means nothing.
 */
static void
test_show_state_stale_text(void **state)
{
	static const char stale[] = "Number of pages: 262144\n";
	uint8_t d[256];
	struct lx_reply r;
	size_t n;

	(void)state;
	n = kernel_reply(d, 5, 9, LX_REPLY_SHOW_STATE, 0, stale,
	    strlen(stale));
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_OK);
	assert_int_equal(r.code, LX_REPLY_SHOW_STATE);
	assert_int_equal(r.len, strlen(stale));
}

/* netlog: REPLY_LOG, nr 0, info the running offset, up to 1447 bytes. */
static void
test_netlog(void **state)
{
	static const char text[] = "[...network console startup...]\n";
	static uint8_t big[1448];
	uint8_t d[1600];
	struct lx_reply r;
	size_t n;

	(void)state;
	n = kernel_reply(d, 4, 0, LX_REPLY_LOG, 123456, text, strlen(text));
	assert_int_equal(lx_classify(d, n), LX_NETDUMP);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_OK);
	assert_int_equal(r.code, LX_REPLY_LOG);
	assert_int_equal(r.info, 123456);
	assert_memory_equal(r.payload, text, strlen(text));

	memset(big, 'x', sizeof(big));
	n = kernel_reply(d, 4, 0, LX_REPLY_LOG, 0, big, 1447);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_OK);
	n = kernel_reply(d, 4, 0, LX_REPLY_LOG, 0, big, 1448);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_TOO_LONG);
	/* A page chunk is never longer than 1024 bytes. */
	n = kernel_reply(d, 4, 1, LX_REPLY_MEM, 0, big, 1025);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_TOO_LONG);
}

/* What no kernel sends is named, never taken. */
static void
test_bad_replies(void **state)
{
	uint8_t d[64];
	struct lx_reply r;
	size_t n;

	(void)state;
	n = kernel_reply(d, 4, 0, LX_REPLY_HELLO, 4, "", 0);
	assert_int_equal(lx_reply_decode(d, n - 1, &r), LX_DECODE_RUNT);
	assert_int_equal(lx_reply_decode(d, 0, &r), LX_DECODE_RUNT);
	n = kernel_reply(d, 6, 0, LX_REPLY_HELLO, 4, "", 0);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_BAD_VERSION);
	n = kernel_reply(d, 0, 0, LX_REPLY_HELLO, 4, "", 0);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_BAD_VERSION);
	n = kernel_reply(d, 4, 0, LX_REPLY_NCODES, 4, "", 0);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_BAD_CODE);
	n = kernel_reply(d, 4, 0, 0x80000000u, 4, "", 0);
	assert_int_equal(lx_reply_decode(d, n, &r), LX_DECODE_BAD_CODE);
	assert_string_equal(lx_decode_result_str(LX_DECODE_BAD_CODE),
	    "unknown reply code");
	assert_string_equal(lx_reply_code_str(99), "unknown");
	assert_int_equal(lx_classify(d, 0), LX_EMPTY);
}

/* netdump_rx reads req_t: magic (8), nr, command, from, to, big-endian. */
static void
test_request(void **state)
{
	static const uint8_t want[LX_REQUEST_SIZE] = {
		0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81,
		0x00, 0x00, 0x01, 0x02,
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x0a, 0xbc, 0xde,
		0x00, 0x00, 0x00, 0x00,
	};
	struct lx_request q = { 0x1a2b3c4d5e6f7081ull, 0x102, LX_COMM_SEND_MEM,
	    0xabcde, 0 }, back;
	uint8_t d[LX_REQUEST_SIZE + 4];

	(void)state;
	lx_request_encode(&q, d);
	assert_memory_equal(d, want, sizeof(want));
	assert_int_equal(lx_request_decode(d, sizeof(d), &back), 0);
	assert_true(back.magic == q.magic);
	assert_int_equal(back.nr, 0x102);
	assert_int_equal(back.command, LX_COMM_SEND_MEM);
	assert_int_equal(back.from, 0xabcde);
	/* MIN_COMM_SIZE: shorter than 24 bytes is dropped. */
	assert_int_equal(lx_request_decode(d, 23, &back), -1);
	assert_string_equal(lx_command_str(LX_COMM_START_NETDUMP_ACK),
	    "START_NETDUMP_ACK");
	assert_string_equal(lx_command_str(10), "unknown");
}

static int
ext(const char *s, struct lx_ext *e)
{
	return lx_ext_parse((const uint8_t *)s, strlen(s), e);
}

/* The documented examples, with and without the release in front. */
static void
test_ext(void **state)
{
	static const char rel[] = "6.4.0,6,444,501151268,-;netconsole: "
	    "network logging started";
	static const char frag0[] = "6,416,1758426,-,ncfrag=0/31;the first "
	    "chunk,";
	static const char frag1[] = "6,416,1758426,-,ncfrag=16/31; the 2nd "
	    "chunk.";
	static const char self[] = "6.13.0-04048-g4f561a87745a,13,468,"
	    "514729715,-,ncfrag=0/1135;1-2-3-";
	struct lx_ext e;

	(void)state;
	assert_int_equal(ext(rel, &e), 0);
	assert_int_equal(lx_classify((const uint8_t *)rel, strlen(rel)),
	    LX_NETCONSOLE_EXT);
	assert_int_equal(e.release_len, 5);
	assert_memory_equal(e.release, "6.4.0", 5);
	assert_int_equal(e.level, 6);
	assert_int_equal(e.seq, 444);
	assert_int_equal(e.usec, 501151268);
	assert_int_equal(e.flag, '-');
	assert_false(e.fragment);
	assert_int_equal(e.text_len, strlen("netconsole: network logging "
	    "started"));

	assert_int_equal(ext(frag0, &e), 0);
	assert_null(e.release);
	assert_true(e.fragment);
	assert_int_equal(e.frag_offset, 0);
	assert_int_equal(e.frag_total, 31);
	assert_int_equal(e.text_len, 16);
	assert_int_equal(ext(frag1, &e), 0);
	assert_int_equal(e.frag_offset, 16);
	assert_int_equal(e.text_len, 15);
	assert_memory_equal(e.text, " the 2nd chunk.", 15);

	assert_int_equal(ext(self, &e), 0);
	assert_int_equal(e.release_len, strlen("6.13.0-04048-g4f561a87745a"));
	assert_int_equal(e.level, 13);
	assert_int_equal(e.frag_total, 1135);
}

/* CONFIG_PRINTK_CALLER adds ",caller=T123"; other fields are skipped. */
static void
test_ext_caller_and_empty_text(void **state)
{
	struct lx_ext e;

	(void)state;
	assert_int_equal(ext("4,1022,88112233,c,caller=T3712;oops", &e), 0);
	assert_int_equal(e.flag, 'c');
	assert_int_equal(e.text_len, 4);
	assert_int_equal(ext("6,1,2,-;", &e), 0);
	assert_int_equal(e.text_len, 0);
}

/*
 * Lines that only look extended are plain text: kept as they came, not
 * dropped.
 */
static void
test_ext_refused(void **state)
{
	static const char *const plain[] = {
		"[   12.345678] Kernel panic - not syncing: Fatal exception",
		"6,416,1758426;no flag",
		"6,416,1758426,x;bad flag",
		"6,416,,-;no timestamp",
		"6,416,1758426,-,ncfrag=16/8;past its message",
		"6,416,1758426,-,ncfrag=0/0;empty message",
		"6,416,1758426,-,ncfrag=0/4;longer than its message",
		"6,416,1758426,-,ncfrag=0/999999999;a bomb",
		"6,416,1758426,-,ncfrag=0;no total",
		"6,416,1758426,-,ncfrag=a/4;abc",
		"6,416,1758426,-,junk;no equals sign",
		"6,4 16,1758426,-;a blank in the header",
		"6,99999999999999999999999,1,-;seq overflows",
		("1,2,3,-,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,"
		    "m=13;too many fields"),
		"",
	};
	struct lx_ext e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(ext(plain[i], &e), -1);
		if (plain[i][0] != '\0')
			assert_int_equal(lx_classify((const uint8_t *)plain[i],
			    strlen(plain[i])), LX_NETCONSOLE);
	}
	/* Plain netconsole may start with a newline or a tab. */
	assert_int_equal(lx_classify((const uint8_t *)"\nBUG: x", 7),
	    LX_NETCONSOLE);
	assert_int_equal(lx_classify((const uint8_t *)"\tx", 2),
	    LX_NETCONSOLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_start_fixed_cookie_and_unknown_words),
		cmocka_unit_test(test_mem_reserved_error),
		cmocka_unit_test(test_show_state_stale_text),
		cmocka_unit_test(test_netlog),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_ext),
		cmocka_unit_test(test_ext_caller_and_empty_text),
		cmocka_unit_test(test_ext_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
