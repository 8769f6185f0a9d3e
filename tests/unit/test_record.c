/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the outbox record format (core/record.c): what a module
 * puts comes back the same, in order, whatever the values hold; the text
 * stays readable; bad names are refused when written and anything the
 * format does not allow when read; and the one small-file reader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"

#define NF(a)	(sizeof(a) / sizeof((a)[0]))

static char *
format_ok(const struct nds_field *f, size_t n, size_t *len)
{
	char err[128], *text;

	err[0] = '\0';
	text = nd_record_format(f, n, len, err, sizeof(err));
	if (text == NULL)
		fail_msg("format: %s", err);
	assert_int_equal(strlen(text), *len);
	return text;
}

/* Values of every kind come back as they were, repeated names in order. */
static void
test_roundtrip(void **state)
{
	static const struct nds_field f[] = {
		{ "endpoint", "http://127.0.0.1:7480" },
		{ "key", " p a/x=y/100%\tz " },
		{ "empty", "" },
		{ "lines", "one\ntwo\r\n" },
		{ "utf-8", "caf\xc3\xa9 #not a comment" },
		{ "key", "second key" },
		{ "a.b_c-D9", "=%=" },
		{ "key", "third" },
	};
	struct nd_record rec;
	char err[128], *text;
	size_t len, i;

	(void)state;
	text = format_ok(f, NF(f), &len);
	/* One line per field after the version: nothing breaks a line. */
	assert_non_null(strstr(text, "\nversion = 2\n"));
	/* The end line counts the fields, last. */
	assert_true(len >= 9);
	assert_memory_equal(text + len - 9, "\nend = 8\n", 9);
	assert_non_null(strstr(text, "\nendpoint = http://127.0.0.1:7480\n"));
	assert_non_null(strstr(text,
	    "\nkey = %20p%20a/x%3Dy/100%25%09z%20\n"));
	assert_non_null(strstr(text, "\nempty = \n"));
	assert_non_null(strstr(text, "\nlines = one%0Atwo%0D%0A\n"));
	assert_int_equal(nd_record_parse(text, len, &rec, err, sizeof(err)),
	    0);
	assert_int_equal(rec.nfields, NF(f));
	for (i = 0; i < NF(f); i++) {
		assert_string_equal(rec.fields[i].name, f[i].name);
		assert_string_equal(rec.fields[i].value, f[i].value);
	}
	nd_record_free(&rec);
	assert_null(rec.fields);
	free(text);

	/* No fields: a record of its version line and "end = 0" only. */
	text = format_ok(NULL, 0, &len);
	assert_int_equal(nd_record_parse(text, len, &rec, err, sizeof(err)),
	    0);
	assert_int_equal(rec.nfields, 0);
	nd_record_free(&rec);
	free(text);
}

/* What an operator may do to a record: comments, blanks, CRLF, case. */
static void
test_parse_lenient(void **state)
{
	const char *text = "# a note\r\n\n  version = 1  \r\n"
	    "\tname=value with%20blank \r\n# more\nhex = %c3%A9\n";
	struct nd_record rec;
	char err[128];

	(void)state;
	assert_int_equal(nd_record_parse(text, strlen(text), &rec, err,
	    sizeof(err)), 0);
	assert_int_equal(rec.nfields, 2);
	assert_string_equal(rec.fields[0].name, "name");
	assert_string_equal(rec.fields[0].value, "value with blank");
	assert_string_equal(rec.fields[1].value, "\xc3\xa9");
	nd_record_free(&rec);
}

static void
test_format_refuses(void **state)
{
	static const char *const bad[] = { "", "a b", "version", "end", "a=b",
	    "a\nb", "caf\xc3\xa9", "#x" };
	char err[128], name[ND_RECORD_NAME_MAX + 2];
	struct nds_field f[2] = { { "ok", "v" }, { NULL, "v" } };
	size_t i, len;

	(void)state;
	for (i = 0; i < NF(bad); i++) {
		f[1].name = bad[i];
		err[0] = '\0';
		assert_null(nd_record_format(f, 2, &len, err, sizeof(err)));
		assert_non_null(strstr(err, "field 2"));
	}
	f[1].name = NULL;
	assert_null(nd_record_format(f, 2, &len, err, sizeof(err)));
	/* A value is text, "" at least. */
	f[1].name = "ok2";
	f[1].value = NULL;
	assert_null(nd_record_format(f, 2, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "no value"));
	f[1].value = "v";
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	f[1].name = name;
	assert_null(nd_record_format(f, 2, &len, err, sizeof(err)));
	name[ND_RECORD_NAME_MAX] = '\0';
	free(format_ok(f, 2, &len));
}

static void
test_parse_refuses(void **state)
{
	static const struct {
		const char	*text;
		const char	*why;
	} bad[] = {
		{ "", "no version" },
		{ "# only a comment\n", "no version" },
		{ "name = v\nversion = 1\n", "line 1: no version" },
		{ "version = 3\n", "line 1: version 3 is not 1 or 2" },
		/*
		 * Version 2 ends with the number of its fields: a record cut
		 * short, even at a line's end, is refused whole.
		 */
		{ "version = 2\n", "no end line" },
		{ "version = 2\nk = v\nl = w\n", "no end line" },
		{ "version = 2\nk = v\nl = w\nend = 1\n",
		    "line 4: an end line that does not end 2 fields" },
		{ "version = 2\nk = v\nend = 1\nl = w\n",
		    "line 4: after the end line" },
		{ "version = 2\nk = v\nend = 1\nend = 1\n",
		    "line 4: after the end line" },
		{ "version = 1\nk = v\nend = 1\n",
		    "line 3: an end line in a version 1 record" },
		{ "version = 1\nno equals sign\n", "line 2: no '='" },
		{ "version = 1\n = v\n", "line 2: bad name" },
		{ "version = 1\na b = v\n", "line 2: bad name" },
		{ "version = 1\nversion = 1\n", "line 2: bad name" },
		{ "version = 1\nk = %zz\n", "line 2: bad value for k" },
		{ "version = 1\nk = %4\n", "line 2: bad value for k" },
		{ "version = 1\nk = a%00b\n", "line 2: bad value for k" },
		/* The s3 sink's own format before the host had one. */
		{ "# netdump-server s3 sink\nversion = 1\nendpoint = e\n"
		    "[object]\nfile = 1-vmcore\n", "line 4: no '='" },
	};
	struct nd_record rec;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < NF(bad); i++) {
		err[0] = '\0';
		assert_int_equal(nd_record_parse(bad[i].text,
		    strlen(bad[i].text), &rec, err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("record %zu: \"%s\", expected \"%s\"", i, err,
			    bad[i].why);
		assert_null(rec.fields);
	}
	assert_int_equal(nd_record_parse("version = 1\n\0k = v\n", 18, &rec,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
}

static void
write_at(int dfd, const char *name, const char *text)
{
	int fd;

	assert_true((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

/* The one reader of small files: whole, or refused with errno. */
static void
test_read_file(void **state)
{
	char dir[] = "/tmp/test_record.XXXXXX", buf[16], cmd[64];
	int dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
	write_at(dfd, "small", "hello");
	write_at(dfd, "exact", "0123456789abcdef");
	write_at(dfd, "big", "0123456789abcdefX");
	write_at(dfd, "empty", "");
	assert_int_equal(mkdirat(dfd, "sub", 0700), 0);
	assert_int_equal(symlinkat("small", dfd, "link"), 0);

	memset(buf, 0, sizeof(buf));
	assert_int_equal(nd_read_file(dfd, "small", buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(nd_read_file(dfd, "exact", buf, sizeof(buf)), 16);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	assert_int_equal(nd_read_file(dfd, "empty", buf, sizeof(buf)), 0);
	errno = 0;
	assert_int_equal(nd_read_file(dfd, "big", buf, sizeof(buf)), -1);
	assert_int_equal(errno, EFBIG);
	errno = 0;
	assert_int_equal(nd_read_file(dfd, "sub", buf, sizeof(buf)), -1);
	assert_int_equal(errno, EFBIG);
	errno = 0;
	assert_int_equal(nd_read_file(dfd, "none", buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENOENT);
	/* A link is not followed: a record is a file of its folder's. */
	assert_int_equal(nd_read_file(dfd, "link", buf, sizeof(buf)), -1);
	assert_int_equal(errno, ELOOP);
	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_parse_lenient),
		cmocka_unit_test(test_format_refuses),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
