/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for core/util.c: HERALD path checks, JSON strings, time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "size.h"
#include "util.h"

/* Check a C string as the client sends it: with its NUL. */
static const char *
check_str(const char *s, char *out, size_t outsize)
{
	return nd_herald_path_check((const uint8_t *)s, strlen(s) + 1, out,
	    outsize);
}

static void
expect_ok(const char *in, const char *want)
{
	char out[ND_MAX_HERALD_PATH];
	const char *why;

	memset(out, 'X', sizeof(out));
	why = check_str(in, out, sizeof(out));
	if (why != NULL)
		fail_msg("'%s' refused: %s", in, why);
	assert_string_equal(out, want);
}

static void
expect_refused(const char *in)
{
	char out[ND_MAX_HERALD_PATH];
	const char *why = check_str(in, out, sizeof(out));

	if (why == NULL)
		fail_msg("'%s' accepted as '%s'", in, out);
	assert_true(why[0] != '\0');
}

static void
test_path_accepts(void **state)
{
	(void)state;
	expect_ok("prod/web1", "prod/web1");
	expect_ok("a.b_c-d/e", "a.b_c-d/e");
	expect_ok("a-/b-c-", "a-/b-c-");
	expect_ok("web1", "web1");
	expect_ok("x+y@z,w:v=u~t", "x+y@z,w:v=u~t");
	/* Dots inside and at the end of names. */
	expect_ok("x../a.b.", "x../a.b.");
	/* Trailing slashes are dropped. */
	expect_ok("prod/web1/", "prod/web1");
	expect_ok("prod/", "prod");
	expect_ok("prod//", "prod");
}

static void
test_path_refuses(void **state)
{
	static const char *const bad[] = {
		"", "/abs", "/", "//", "..", ".", "a/../b", "a/..", "../a",
		"./a", "a/./b", "a/.", "a/./", "a//b", "a/b//c", "a b",
		" a", "a\tb", "a\nb", "a\rb", "\x01", "a\x1f", "a\x7f",
		"caf\xc3\xa9", "a\\b", "a*b", "a?b", "a\"b", "a'b", "$HOME",
		"a;b", "a|b", "a%2f",
		/* Hidden names are the server's and its sinks' own. */
		".hidden", "a/.s3-spool", "...", "..x/y", "a/.b/c",
		/* Nor options to a hook that passes the path on. */
		"-rf", "a/-x", "--force/b",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i]);
}

static void
test_path_framing(void **state)
{
	char out[ND_MAX_HERALD_PATH];
	uint8_t buf[ND_MAX_HERALD_PATH + 8];
	size_t i;

	(void)state;
	memset(buf, 0, sizeof(buf));
	/* No bytes at all. */
	assert_non_null(nd_herald_path_check(buf, 0, out, sizeof(out)));
	/* Not NUL-terminated. */
	memcpy(buf, "abc", 3);
	assert_non_null(nd_herald_path_check(buf, 3, out, sizeof(out)));
	/* Embedded NUL. */
	memcpy(buf, "ab\0cd", 6);
	assert_non_null(nd_herald_path_check(buf, 6, out, sizeof(out)));
	memcpy(buf, "\0\0", 2);
	assert_non_null(nd_herald_path_check(buf, 2, out, sizeof(out)));
	/* Just the NUL. */
	assert_non_null(nd_herald_path_check(buf, 1, out, sizeof(out)));

	/*
	 * 1023 characters and the NUL fit the wire (MAXPATHLEN), but leave
	 * no room for a client's directory and a file name in a place a sink
	 * reports: refused. ND_HERALD_PATH_LEN is the longest taken.
	 */
	memset(buf, 'a', ND_MAX_HERALD_PATH - 1);
	buf[ND_MAX_HERALD_PATH - 1] = '\0';
	assert_non_null(nd_herald_path_check(buf, ND_MAX_HERALD_PATH, out,
	    sizeof(out)));
	memset(buf, 0, sizeof(buf));
	memset(buf, 'a', ND_HERALD_PATH_LEN);
	assert_null(nd_herald_path_check(buf, ND_HERALD_PATH_LEN + 1, out,
	    sizeof(out)));
	assert_int_equal(strlen(out), ND_HERALD_PATH_LEN);
	buf[ND_HERALD_PATH_LEN] = 'a';
	assert_non_null(nd_herald_path_check(buf, ND_HERALD_PATH_LEN + 2, out,
	    sizeof(out)));
	/*
	 * 16 directories are taken, 17 not: a client naming the directory
	 * the server made for it, dump after dump, would nest its dumps
	 * below where retention looks.
	 */
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < ND_HERALD_PATH_DEPTH; i++)
		strcat((char *)buf, i ? "/a" : "a");
	assert_null(check_str((const char *)buf, out, sizeof(out)));
	strcat((char *)buf, "/");	/* a trailing '/' adds none */
	assert_null(check_str((const char *)buf, out, sizeof(out)));
	strcat((char *)buf, "a");
	assert_non_null(check_str((const char *)buf, out, sizeof(out)));
	/* 1025 bytes: refused. */
	memset(buf, 'a', ND_MAX_HERALD_PATH);
	buf[ND_MAX_HERALD_PATH] = '\0';
	assert_non_null(nd_herald_path_check(buf, ND_MAX_HERALD_PATH + 1, out,
	    sizeof(out)));
	/* Fine, but the caller's buffer is too small. */
	assert_non_null(nd_herald_path_check((const uint8_t *)"abcd", 5, out,
	    4));
	assert_null(nd_herald_path_check((const uint8_t *)"abcd", 5, out, 5));
	assert_string_equal(out, "abcd");
}

/*
 * A strict JSON string-literal parser: returns the bytes the encoder was
 * given (escapes are code points below 0x100, each a byte the encoder
 * could not pass as UTF-8; raw bytes from 0x80 are UTF-8 it passed) or
 * fails the test.
 */
static size_t
json_decode(const char *lit, unsigned char *out, size_t outsize)
{
	const char *p = lit;
	size_t n = 0;

	assert_int_equal(*p, '"');
	for (p++; *p != '"'; p++) {
		unsigned v = (unsigned char)*p;

		/* Raw control characters and DEL are not allowed here. */
		assert_true(v >= 0x20 && v != 0x7f);
		if (v == '\\') {
			p++;
			switch (*p) {
			case '"':
			case '\\':
			case '/':
				v = (unsigned char)*p;
				break;
			case 'b':
				v = '\b';
				break;
			case 'f':
				v = '\f';
				break;
			case 'n':
				v = '\n';
				break;
			case 'r':
				v = '\r';
				break;
			case 't':
				v = '\t';
				break;
			case 'u': {
				int k;

				v = 0;
				for (k = 0; k < 4; k++) {
					char c = *++p;

					v <<= 4;
					if (c >= '0' && c <= '9')
						v |= (unsigned)(c - '0');
					else if (c >= 'a' && c <= 'f')
						v |= (unsigned)(c - 'a' + 10);
					else if (c >= 'A' && c <= 'F')
						v |= (unsigned)(c - 'A' + 10);
					else
						fail_msg("bad \\u escape in %s",
						    lit);
				}
				assert_true(v < 0x100);
				break;
			}
			default:
				fail_msg("bad escape in %s", lit);
			}
		}
		assert_true(n < outsize);
		out[n++] = (unsigned char)v;
	}
	/* Nothing after the closing quote. */
	assert_int_equal(p[1], '\0');
	return n;
}

static void
expect_json(const char *in, const char *want)
{
	struct nd_buf b = { 0 };
	unsigned char dec[1024];
	size_t n;

	nd_buf_json_str(&b, in);
	assert_false(b.failed);
	assert_non_null(b.s);
	assert_int_equal(strlen(b.s), b.len);
	assert_string_equal(b.s, want);
	n = json_decode(b.s, dec, sizeof(dec));
	assert_int_equal(n, strlen(in));
	assert_memory_equal(dec, in, n);
	free(b.s);
}

static void
test_json_str(void **state)
{
	(void)state;
	expect_json("", "\"\"");
	expect_json("plain text 123", "\"plain text 123\"");
	expect_json("say \"hi\"", "\"say \\\"hi\\\"\"");
	expect_json("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	expect_json("line1\nline2\n", "\"line1\\nline2\\n\"");
	expect_json("tab\there", "\"tab\\u0009here\"");
	expect_json("\x01\x1f", "\"\\u0001\\u001f\"");
	expect_json("del\x7f", "\"del\\u007f\"");
	/* Well-formed UTF-8 stays as it is; other bytes are escaped. */
	expect_json("caf\xc3\xa9 \xff", "\"caf\xc3\xa9 \\u00ff\"");
	expect_json("\xe2\x82\xac\xf0\x9f\x92\xa5", "\"\xe2\x82\xac\xf0\x9f\x92\xa5\"");
	/* Overlong, a surrogate, past U+10FFFF, cut short. */
	expect_json("\xc0\xaf", "\"\\u00c0\\u00af\"");
	expect_json("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
	expect_json("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"");
	expect_json("\xe2\x82", "\"\\u00e2\\u0082\"");
	expect_json("</script>", "\"</script>\"");
}

/*
 * What a terminal obeys or that reorders text on screen, in UTF-8, goes
 * escaped: the same JSON value (a JSON reader decodes U+009B to C2 9B),
 * a file safe to cat. A kernel's panic string or host name reaches the
 * manifest as it is otherwise.
 */
static void
test_json_str_terminal_safe(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "A\xc2\x9b" "31mRED", "\"A\\u009b31mRED\"" },	/* CSI */
		{ "\xc2\x80\xc2\x9f\xc2\xa0", "\"\\u0080\\u009f\xc2\xa0\"" },
		{ "abc\xe2\x80\xaegpj.exe", "\"abc\\u202egpj.exe\"" },	/* RLO */
		{ "\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"" },
		{ "\xe2\x81\xa6x\xe2\x81\xa9", "\"\\u2066x\\u2069\"" },
		{ "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\"\\u200e\\u200f\\u061c\"" },
		/* Neighbours stay as they are. */
		{ "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5", "\"\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\"" },
	};
	struct nd_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&b, 0, sizeof(b));
		nd_buf_json_str(&b, t[i].in);
		assert_false(b.failed);
		assert_string_equal(b.s, t[i].want);
		free(b.s);
	}
}

static void
test_json_all_bytes(void **state)
{
	struct nd_buf b = { 0 };
	char in[256];
	unsigned char dec[256];
	size_t n;
	int i;

	(void)state;
	for (i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	/* Appended to what is already there. */
	nd_buf_printf(&b, "{\"k\": ");
	nd_buf_json_str(&b, in);
	nd_buf_printf(&b, "}");
	assert_false(b.failed);
	assert_true(b.len > 1024);	/* grew past the first allocation */
	assert_memory_equal(b.s, "{\"k\": ", 6);
	assert_int_equal(b.s[b.len - 1], '}');
	b.s[b.len - 1] = '\0';
	n = json_decode(b.s + 6, dec, sizeof(dec));
	assert_int_equal(n, 255);
	assert_memory_equal(dec, in, 255);
	free(b.s);
}

static void
test_buf_printf(void **state)
{
	struct nd_buf b = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < 1000; i++)
		nd_buf_printf(&b, "%zu,", i % 10);
	assert_false(b.failed);
	assert_int_equal(b.len, 2000);
	assert_int_equal(strlen(b.s), 2000);
	assert_true(b.cap > b.len);
	assert_memory_equal(b.s, "0,1,2,3,4,5,6,7,8,9,0,", 22);
	free(b.s);
}

static void
test_time(void **state)
{
	struct timespec a = { 1795419292, 123456789 };
	struct timespec b = { 1795419290, 623456789 };
	char buf[64];

	(void)state;
	ts_iso8601(&a, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T07:34:52.123Z");
	assert_true(ts_diff(&a, &b) > 1.4999 && ts_diff(&a, &b) < 1.5001);
	assert_true(ts_diff(&b, &a) < -1.4999 && ts_diff(&b, &a) > -1.5001);
	/* Truncated like snprintf, still a string. */
	ts_iso8601(&a, buf, 8);
	assert_string_equal(buf, "2026-11");
}

/* Sizes: the server's grammar, and netdump-send's with B and iB. */
static void
test_size(void **state)
{
	static const struct {
		const char	*s;
		bool		 units;
		int		 r;
		uint64_t	 v;
	} cases[] = {
		{ "0", false, 0, 0 },
		{ "4096", false, 0, 4096 },
		{ "5k", false, 0, 5120 },
		{ "64M", false, 0, 64ull << 20 },
		{ "3g", false, 0, 3ull << 30 },
		{ "1T", false, 0, 1ull << 40 },
		{ "16MiB", true, 0, 16ull << 20 },
		{ "2GB", true, 0, 2ull << 30 },
		{ "5kb", true, 0, 5120 },
		{ "18446744073709551615", false, 0, UINT64_MAX },
		{ "16MiB", false, -1, 0 },
		{ "2GB", false, -1, 0 },
		{ "1Ti", true, -1, 0 },
		{ "1iB", true, -1, 0 },
		{ "10Q", true, -1, 0 },
		{ "", false, -1, 0 },
		{ "-1", false, -1, 0 },
		{ "+1", false, -1, 0 },
		{ " 1", false, -1, 0 },
		{ "0x10", false, -1, 0 },
		{ "18446744073709551616", false, -2, 0 },
		{ "16777216T", false, -2, 0 },
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 0;
		if (nd_size_parse(cases[i].s, cases[i].units, &v) !=
		    cases[i].r || (cases[i].r == 0 && v != cases[i].v))
			fail_msg("'%s' (units %d): not %d", cases[i].s,
			    cases[i].units, cases[i].r);
	}
	assert_int_equal(nd_size_parse(NULL, false, &v), -1);
}

/* Control characters, C1 as UTF-8 spells it, and broken UTF-8 become '?'. */
static void
test_terminal_safe(void **state)
{
	static const struct {
		const char	*in, *keep, *out;
	} cases[] = {
		{ "plain text", "", "plain text" },
		{ "caf\xc3\xa9 \xe2\x82\xac", "", "caf\xc3\xa9 \xe2\x82\xac" },
		{ "a\x1b[2Jb\x07", "", "a?[2Jb?" },
		{ "line\n\tx\r", "\n\t", "line\n\tx?" },
		{ "line\n", "", "line?" },
		{ "\xc2\x9b" "31m \xc2\x85 \xc2\xa0", "", "?31m ? \xc2\xa0" },
		{ "\x9b \xff \xc3", "", "? ? ?" },
		{ "\xe2\x82", "", "??" },
		{ "del\x7f", "", "del?" },
		/* Right-to-left override, isolate, separator, Arabic mark. */
		{ "a\xe2\x80\xae" "fdp.exe \xe2\x81\xa6x \xe2\x80\xa8 \xd8\x9c", "",
		  "a?fdp.exe ?x ? ?" },
		/* Their neighbours are text. */
		{ "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xd8\x9b", "",
		  "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xd8\x9b" },
	};
	char buf[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		n = nd_terminal_safe(buf, strlen(buf), cases[i].keep);
		buf[n] = '\0';
		assert_string_equal(buf, cases[i].out);
	}
}

/* Logs and files keep their length and other bytes; controls become '?'. */
static void
test_text_blank(void **state)
{
	static const struct {
		const char	*in, *keep, *out;
	} cases[] = {
		{ "plain text", "", "plain text" },
		{ "a\x1b[2Jb\x07\x7f", "", "a?[2Jb??" },
		{ "line\n\tx\r", "\n\t", "line\n\tx?" },
		/* C1 in UTF-8 (CSI, NEL, OSC), not U+00A0 nor other text. */
		{ "\xc2\x9b" "31m \xc2\x85 \xc2\x9d" "0;x \xc2\xa0 caf\xc3\xa9",
		  "", "??31m ?? ??0;x \xc2\xa0 caf\xc3\xa9" },
		/* Not UTF-8: kept, an old kernel's text may be Latin-1. */
		{ "\x9b \xe9 \xc2", "", "\x9b \xe9 \xc2" },
		/* What turns a line on screen, a '?' a byte; not its kin. */
		{ "a\xe2\x80\xae" "fdp \xe2\x81\xa9 \xd8\x9c \xe2\x80\xaf \xd8\x9b", "",
		  "a???fdp ??? ?? \xe2\x80\xaf \xd8\x9b" },
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		nd_text_blank(buf, cases[i].keep);
		assert_string_equal(buf, cases[i].out);
	}
}

/* A log line quotes what others sent as one line, without escapes. */
static void
test_log_one_line(void **state)
{
	char path[] = "/tmp/test_util_log.XXXXXX", got[256];
	int fd, saved;
	ssize_t n;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	log_warnx("spool folder %s: %s", "x\nDec  5 01:00:00 host sshd[1]: "
	    "Accepted", "\x1b[2J\xc2\x9b" "31m\tok");
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	close(fd);
	assert_true(n > 13);
	got[n] = '\0';
	/* "HH:MM:SS.mmm " then the message, one line. */
	assert_string_equal(got + 13, "spool folder x?Dec  5 01:00:00 host "
	    "sshd[1]: Accepted: ?[2J??31m\tok\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_accepts),
		cmocka_unit_test(test_path_refuses),
		cmocka_unit_test(test_path_framing),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_json_str_terminal_safe),
		cmocka_unit_test(test_json_all_bytes),
		cmocka_unit_test(test_terminal_safe),
		cmocka_unit_test(test_text_blank),
		cmocka_unit_test(test_log_one_line),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
