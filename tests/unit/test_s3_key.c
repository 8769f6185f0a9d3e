/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The s3 sink's pure parts: key templates, percent-encoding, the part
 * layout (never more than 10,000 parts, never a part under 5 MiB but the
 * last) and the pending record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3.h"
#include "s3_record_text.h"

#define DEFAULT_TEMPLATE \
	"{prefix}{path}/{client}/{date}-{collector}-{id}/{name}"

static const struct s3_keyvars vars = {
	.prefix = "crash/",
	.collector = "c1",
	.path = "prod/web",
	.client = "192.0.2.7",
	.addr = "192.0.2.7",
	.date = "20261123T101502Z",
	.day = "2026-11-23",
	.id = "7",
	.name = "vmcore",
};

static void
test_template_check(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(s3_template_check(DEFAULT_TEMPLATE, err,
	    sizeof(err)), 0);
	assert_int_equal(s3_template_check("{name}", err, sizeof(err)), 0);
	assert_int_equal(s3_template_check("{day}/{addr}/{name}", err,
	    sizeof(err)), 0);
	assert_int_equal(s3_template_check("{client}/{id}", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "{name}"));
	assert_int_equal(s3_template_check("{nope}/{name}", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "unknown variable"));
	assert_int_equal(s3_template_check("{name", err, sizeof(err)), -1);
	assert_int_equal(s3_template_check("a}/{name}", err, sizeof(err)), -1);
}

static void
test_expand(void **state)
{
	struct s3_keyvars v = vars;
	char key[S3_KEY_MAX + 1];

	(void)state;
	assert_int_equal(s3_key_expand(DEFAULT_TEMPLATE, &v, key, sizeof(key)),
	    0);
	assert_string_equal(key,
	    "crash/prod/web/192.0.2.7/20261123T101502Z-c1-7/vmcore");
	/* No HERALD path, no prefix: no empty segments. */
	v.path = "";
	v.prefix = "";
	assert_int_equal(s3_key_expand(DEFAULT_TEMPLATE, &v, key, sizeof(key)),
	    0);
	assert_string_equal(key, "192.0.2.7/20261123T101502Z-c1-7/vmcore");
	/* "." and ".." segments cannot reach the store. */
	v.path = "./a/../b//.";
	assert_int_equal(s3_key_expand(DEFAULT_TEMPLATE, &v, key, sizeof(key)),
	    0);
	assert_string_equal(key,
	    "a/__/b/192.0.2.7/20261123T101502Z-c1-7/vmcore");
	/* Only prefix and path bring slashes; control characters go. */
	v = vars;
	v.collector = "a/b";
	v.client = "x\ny";
	assert_int_equal(s3_key_expand("{client}/{collector}/{name}", &v, key,
	    sizeof(key)), 0);
	assert_string_equal(key, "x_y/a_b/vmcore");
	/* Literal text stays, '{' that names nothing too. */
	assert_int_equal(s3_key_expand("dumps/{day}/{{name}", &v, key,
	    sizeof(key)), 0);
	assert_string_equal(key, "dumps/2026-11-23/{vmcore");
	/* Too long, or nothing at all. */
	v = vars;
	{
		char longpath[2000];

		memset(longpath, 'p', sizeof(longpath) - 1);
		longpath[sizeof(longpath) - 1] = '\0';
		v.path = longpath;
		assert_int_equal(s3_key_expand(DEFAULT_TEMPLATE, &v, key,
		    sizeof(key)), -1);
	}
	v = vars;
	v.name = "";
	assert_int_equal(s3_key_expand("{name}", &v, key, sizeof(key)), -1);
	assert_int_equal(s3_key_expand("/./{name}", &v, key, sizeof(key)),
	    -1);
}

/* A record's keys are trusted only as far as the sink could make them. */
static void
test_key_mine(void **state)
{
	struct s3_keyvars v = vars;
	char key[S3_KEY_MAX + 1];

	(void)state;
	/* What expand makes is mine, with or without a prefix. */
	assert_int_equal(s3_key_expand(DEFAULT_TEMPLATE, &v, key, sizeof(key)),
	    0);
	assert_true(s3_key_mine(DEFAULT_TEMPLATE, "crash/", key));
	assert_true(s3_key_mine(DEFAULT_TEMPLATE, "", key));
	assert_true(s3_key_mine("{path}/{name}", "crash/", "any/where/x"));
	assert_true(s3_key_mine("dumps/{day}/{name}", "",
	    "dumps/2026-11-23/vmcore"));
	assert_true(s3_key_mine("dumps-{day}/{name}", "", "dumps-x/vmcore"));
	/* Outside the prefix, or the template's fixed start. */
	assert_false(s3_key_mine(DEFAULT_TEMPLATE, "crash/",
	    "other/victim-key"));
	assert_false(s3_key_mine(DEFAULT_TEMPLATE, "crash/", "crashed/x"));
	assert_false(s3_key_mine("dumps/{day}/{name}", "", "dumpsx/y"));
	assert_false(s3_key_mine("dumps/{day}/{name}", "", "etc/passwd"));
	/* Segments expand never makes: "..", ".", empty; controls. */
	assert_false(s3_key_mine(DEFAULT_TEMPLATE, "crash/",
	    "crash/../otherbucket/owned"));
	assert_false(s3_key_mine("{path}/{name}", "", "a/./b"));
	assert_false(s3_key_mine("{path}/{name}", "", "a//b"));
	assert_false(s3_key_mine("{path}/{name}", "", "/a"));
	assert_false(s3_key_mine("{path}/{name}", "", "a/"));
	assert_false(s3_key_mine("{path}/{name}", "", "a\nb"));
	assert_false(s3_key_mine("{path}/{name}", "", ""));
}

static void
test_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(s3_uri_encode("a/b c:d=e+f~g.h_i-j", true, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "a/b%20c%3Ad%3De%2Bf~g.h_i-j");
	assert_int_equal(s3_uri_encode("2~a/b=", false, out, sizeof(out)), 0);
	assert_string_equal(out, "2~a%2Fb%3D");
	assert_int_equal(s3_uri_encode("\xc3\xa9", true, out, sizeof(out)), 0);
	assert_string_equal(out, "%C3%A9");
	assert_int_equal(s3_uri_encode("abc", true, out, 4), 0);
	assert_int_equal(s3_uri_encode("abc", true, out, 3), -1);
	assert_int_equal(s3_uri_encode(":", true, out, 3), -1);
}

static void
test_layout(void **state)
{
	const uint64_t mib = 1ULL << 20, base = 5 * mib;
	uint64_t start, total;
	uint32_t n;

	(void)state;
	assert_int_equal(s3_part_len(base, 1), base);
	assert_int_equal(s3_part_len(base, 1000), base);
	assert_int_equal(s3_part_len(base, 1001), 2 * base);
	assert_int_equal(s3_part_len(base, 10000), 512 * base);
	assert_int_equal(s3_part_start(base, 1), 0);
	assert_int_equal(s3_part_start(base, 2), base);
	assert_int_equal(s3_part_start(base, 1001), 1000 * base);
	assert_int_equal(s3_part_start(base, 1002), 1000 * base + 2 * base);

	/* Parts tile the offsets: start(n + 1) = start(n) + len(n). */
	for (n = 1; n < S3_MAX_PARTS; n++)
		assert_int_equal(s3_part_start(base, n + 1),
		    s3_part_start(base, n) + s3_part_len(base, n));
	/* And part_at finds them, at both edges. */
	for (n = 1; n <= S3_MAX_PARTS; n += 37) {
		start = s3_part_start(base, n);
		assert_int_equal(s3_part_at(base, start), n);
		assert_int_equal(s3_part_at(base, start +
		    s3_part_len(base, n) - 1), n);
	}
	/* 10,000 parts of a 5 MiB base hold about 4.9 TiB; no more. */
	total = s3_part_start(base, S3_MAX_PARTS) +
	    s3_part_len(base, S3_MAX_PARTS);
	assert_int_equal(total, 1000 * base * 1023);
	assert_true(total >= 4900ULL * 1024 * mib);
	assert_int_equal(s3_part_at(base, total - 1), S3_MAX_PARTS);
	assert_int_equal(s3_part_at(base, total), 0);
	assert_int_equal(s3_part_count(base, total), S3_MAX_PARTS);
	assert_int_equal(s3_part_count(base, total + 1), 0);
	/* Counts. */
	assert_int_equal(s3_part_count(base, 0), 0);
	assert_int_equal(s3_part_count(base, 1), 1);
	assert_int_equal(s3_part_count(base, base), 1);
	assert_int_equal(s3_part_count(base, base + 1), 2);
	assert_int_equal(s3_part_count(base, 60 * mib), 12);
	/* A large base: parts never grow past 5 GiB. */
	assert_int_equal(s3_part_len(S3_MAX_PART, 9999), S3_MAX_PART);
	assert_int_equal(s3_part_len(64 * mib, 10000), S3_MAX_PART);
	for (n = 1; n <= S3_MAX_PARTS; n += 999)
		assert_true(s3_part_len(8 * mib, n) >= S3_MIN_PART &&
		    s3_part_len(8 * mib, n) <= S3_MAX_PART);
}

static void
test_record(void **state)
{
	struct s3_record rec = { 0 }, back;
	char *text, err[128];
	size_t len;

	(void)state;
	rec.endpoint = strdup("http://127.0.0.1:7480");
	rec.bucket = strdup("dumps");
	rec.dump_id = 7;
	snprintf(rec.client, sizeof(rec.client), "192.0.2.7");
	rec.since = 1795430102;
	rec.nobj = 2;
	snprintf(rec.obj[0].file, sizeof(rec.obj[0].file), "1-vmcore");
	rec.obj[0].key = strdup("p a/192.0.2.7/x=y/vmcore");
	rec.obj[0].size = 33554432;
	snprintf(rec.obj[1].file, sizeof(rec.obj[1].file), "5-manifest");
	rec.obj[1].key = strdup("p a/192.0.2.7/x=y/manifest.json");
	rec.obj[1].size = 1234;
	rec.obj[1].done = true;
	rec.obj[1].note = true;
	assert_int_equal(s3_record_add_stale(&rec, "p a/k", "2~x y"), 0);
	assert_int_equal(s3_record_add_stale(&rec, "p a/k", "2~x y"), 0);
	assert_int_equal(rec.nstale, 1);

	text = record_format(&rec, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	/* Keys are encoded: a value never holds a blank to be trimmed. */
	assert_non_null(strstr(text, "key = p%20a/192.0.2.7/x%3Dy/vmcore\n"));
	assert_int_equal(record_parse(text, len, &back, err, sizeof(err)),
	    0);
	assert_string_equal(back.endpoint, rec.endpoint);
	assert_string_equal(back.bucket, "dumps");
	assert_int_equal(back.dump_id, 7);
	assert_string_equal(back.client, "192.0.2.7");
	assert_int_equal(back.since, 1795430102);
	assert_int_equal(back.nobj, 2);
	assert_string_equal(back.obj[0].file, "1-vmcore");
	assert_string_equal(back.obj[0].key, "p a/192.0.2.7/x=y/vmcore");
	assert_int_equal(back.obj[0].size, 33554432);
	assert_false(back.obj[0].done);
	assert_false(back.obj[0].note);
	assert_true(back.obj[1].done);
	assert_true(back.obj[1].note);
	assert_int_equal(back.nstale, 1);
	assert_string_equal(back.stale[0].key, "p a/k");
	assert_string_equal(back.stale[0].id, "2~x y");
	s3_record_del_stale(&back, 0);
	assert_int_equal(back.nstale, 0);
	s3_record_free(&back);
	free(text);
	s3_record_free(&rec);
}

static void
test_record_bad(void **state)
{
	static const char *const bad[] = {
		"",					/* no version */
		"version = 3\nendpoint = e\nbucket = b\n",	/* unknown */
		"version = 1\nbucket = b\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = \nkey = k\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = ../x\n"
		    "key = k\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = a/b\n"
		    "key = k\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = %zz\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\nsize = -1\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\ndone = maybe\n",
		"version = 1\nendpoint = e\nbucket = b\nstale = onlykey\n",
		"version = 1\nendpoint = e\nbucket = b\nno equals sign\n",
	};
	const char *future = "version = 1\nendpoint = e\nbucket = b\n"
	    "future = x\n# comment\n\n";
	struct s3_record rec;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(record_parse(bad[i], strlen(bad[i]), &rec,
		    err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
	/* A NUL inside is refused; unknown names are a later version's. */
	assert_int_equal(record_parse("version = 1\0x", 14, &rec, err,
	    sizeof(err)), -1);
	assert_int_equal(record_parse(future, strlen(future), &rec, err,
	    sizeof(err)), 0);
	assert_int_equal(rec.nobj, 0);
	s3_record_free(&rec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_check),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_key_mine),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_record_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
