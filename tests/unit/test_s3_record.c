/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The s3 sink's pending record when a spool file turns out shorter than
 * the record says: the object is relabelled to its incomplete name and
 * its real length, never left to be padded under its final name, and the
 * relabelling survives a rewrite and a restart (format, parse). And an
 * object still arriving when the record was written has no size there.
 */
#include <errno.h>
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

#define KEY	"crash/192.0.2.7/20261123T101502Z-c1-7/vmcore"

static void
obj_init(struct s3_rec_obj *o, const char *key, const char *ikey,
    uint64_t size)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->file, sizeof(o->file), "1-vmcore");
	o->key = strdup(key);
	assert_non_null(o->key);
	if (ikey != NULL) {
		o->ikey = strdup(ikey);
		assert_non_null(o->ikey);
	}
	o->size = size;
}

static void
obj_free(struct s3_rec_obj *o)
{
	free(o->key);
	free(o->ikey);
	memset(o, 0, sizeof(*o));
}

/* Without a recorded incomplete name, the suffix goes at the end. */
static void
test_cut_suffix(void **state)
{
	struct s3_rec_obj o;

	(void)state;
	obj_init(&o, KEY, NULL, 25165824);
	/* As long or longer is not a cut. */
	assert_int_equal(s3_record_cut(&o, 25165824), 0);
	assert_int_equal(s3_record_cut(&o, 25165825), 0);
	assert_string_equal(o.key, KEY);
	assert_int_equal(o.size, 25165824);
	assert_int_equal(o.expected, 0);

	assert_int_equal(s3_record_cut(&o, 7352385), 1);
	assert_string_equal(o.key, KEY S3_INCOMPLETE);
	assert_int_equal(o.size, 7352385);
	assert_int_equal(o.expected, 25165824);

	/* Cut again: the key stays, the first claim stays. */
	assert_int_equal(s3_record_cut(&o, 100), 1);
	assert_string_equal(o.key, KEY S3_INCOMPLETE);
	assert_int_equal(o.size, 100);
	assert_int_equal(o.expected, 25165824);

	/* Down to nothing is still a cut: an empty incomplete object. */
	assert_int_equal(s3_record_cut(&o, 0), 1);
	assert_int_equal(o.size, 0);
	obj_free(&o);
}

/* The name the key template gives an incomplete object wins. */
static void
test_cut_template(void **state)
{
	struct s3_rec_obj o;

	(void)state;
	obj_init(&o, "vmcore/7/x", "vmcore.incomplete/7/x", 4096);
	assert_int_equal(s3_record_cut(&o, 4000), 1);
	assert_string_equal(o.key, "vmcore.incomplete/7/x");
	assert_int_equal(o.size, 4000);
	assert_int_equal(o.expected, 4096);
	obj_free(&o);
}

/* An incomplete dump's object is under an incomplete name already. */
static void
test_cut_already(void **state)
{
	struct s3_rec_obj o;

	(void)state;
	obj_init(&o, KEY ".zst" S3_INCOMPLETE, NULL, 4096);
	assert_int_equal(s3_record_cut(&o, 1), 1);
	assert_string_equal(o.key, KEY ".zst" S3_INCOMPLETE);
	assert_int_equal(o.size, 1);
	assert_int_equal(o.expected, 4096);
	obj_free(&o);
}

/* No room for the suffix: nothing changes, and the caller is told. */
static void
test_cut_too_long(void **state)
{
	char key[S3_KEY_MAX + 1];
	struct s3_rec_obj o;

	(void)state;
	memset(key, 'k', S3_KEY_MAX - 5);
	key[S3_KEY_MAX - 5] = '\0';
	obj_init(&o, key, NULL, 4096);
	errno = 0;
	assert_int_equal(s3_record_cut(&o, 10), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_string_equal(o.key, key);
	assert_int_equal(o.size, 4096);
	assert_int_equal(o.expected, 0);
	obj_free(&o);

	/* Exactly S3_KEY_MAX with the suffix still fits. */
	memset(key, 'k', S3_KEY_MAX - strlen(S3_INCOMPLETE));
	key[S3_KEY_MAX - strlen(S3_INCOMPLETE)] = '\0';
	obj_init(&o, key, NULL, 4096);
	assert_int_equal(s3_record_cut(&o, 10), 1);
	assert_int_equal(strlen(o.key), S3_KEY_MAX);
	obj_free(&o);
}

/* rec as text (*textp, malloc'd), read back into back. */
static void
roundtrip(const struct s3_record *rec, char **textp, struct s3_record *back)
{
	char err[128];
	size_t len;

	*textp = record_format(rec, &len);
	assert_non_null(*textp);
	assert_int_equal(record_parse(*textp, len, back, err, sizeof(err)),
	    0);
}

static unsigned
count(const char *text, const char *what)
{
	unsigned n = 0;

	while ((text = strstr(text, what)) != NULL) {
		n++;
		text += strlen(what);
	}
	return n;
}

/* A record's head: endpoint, bucket, dump; objects to the caller. */
static void
rec_init(struct s3_record *rec, unsigned nobj)
{
	memset(rec, 0, sizeof(*rec));
	rec->endpoint = strdup("http://127.0.0.1:7480");
	rec->bucket = strdup("dumps");
	assert_non_null(rec->endpoint);
	assert_non_null(rec->bucket);
	rec->dump_id = 7;
	rec->nobj = nobj;
}

/* The incomplete name and the first claim live through the record. */
static void
test_record_fields(void **state)
{
	struct s3_record rec, back;
	char *text;

	(void)state;
	rec_init(&rec, 2);
	obj_init(&rec.obj[0], KEY, "p a/" KEY S3_INCOMPLETE, 25165824);
	obj_init(&rec.obj[1], KEY S3_INCOMPLETE, KEY S3_INCOMPLETE, 10);

	roundtrip(&rec, &text, &back);
	assert_non_null(strstr(text, "incomplete_key = p%20a/crash/"));
	/* The second one's is its key: not written. */
	assert_int_equal(count(text, "incomplete_key"), 1);
	assert_int_equal(count(text, "expected"), 0);
	assert_string_equal(back.obj[0].ikey, "p a/" KEY S3_INCOMPLETE);
	assert_null(back.obj[1].ikey);
	assert_int_equal(back.obj[0].expected, 0);
	s3_record_free(&back);
	free(text);

	/* Cut, written, read back as a restarted server would. */
	assert_int_equal(s3_record_cut(&rec.obj[0], 7352385), 1);
	roundtrip(&rec, &text, &back);
	assert_non_null(strstr(text, "size = 7352385\n"));
	assert_non_null(strstr(text, "expected = 25165824\n"));
	assert_string_equal(back.obj[0].key, "p a/" KEY S3_INCOMPLETE);
	assert_int_equal(back.obj[0].size, 7352385);
	assert_int_equal(back.obj[0].expected, 25165824);
	/* Now as long as the record says: nothing more to do. */
	assert_int_equal(s3_record_cut(&back.obj[0], 7352385), 0);
	s3_record_free(&back);
	free(text);
	s3_record_free(&rec);
}

/*
 * An object arriving into the spool: "arriving = yes" and no size, read
 * back as such; beside a kept object, which has its size.
 */
static void
test_record_arriving(void **state)
{
	struct s3_record rec, back;
	char *text;

	(void)state;
	rec_init(&rec, 2);
	obj_init(&rec.obj[0], KEY ".json", NULL, 812);
	obj_init(&rec.obj[1], KEY S3_INCOMPLETE, NULL, 0);
	rec.obj[1].arriving = true;

	roundtrip(&rec, &text, &back);
	assert_int_equal(count(text, "size = "), 1);
	assert_int_equal(count(text, "arriving = yes\n"), 1);
	assert_int_equal(back.nobj, 2);
	assert_false(back.obj[0].arriving);
	assert_int_equal(back.obj[0].size, 812);
	assert_true(back.obj[1].arriving);
	assert_false(back.obj[1].done);
	assert_string_equal(back.obj[1].key, KEY S3_INCOMPLETE);
	s3_record_free(&back);
	free(text);
	s3_record_free(&rec);
}

static void
test_record_bad(void **state)
{
	static const char *const bad[] = {
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\nincomplete_key = \n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\nincomplete_key = %zz\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\nexpected = many\n",
		/*
		 * A version 1 record (no end line) cut short at a line's
		 * end: an object without its size or its done is refused,
		 * not read as 0 bytes to upload.
		 */
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\nsize = 5\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\nsize = 5\ndone = no\nobject = g\nkey = l\n",
		/* Arriving has no size; nor may it lack its done. */
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\narriving = yes\nsize = 5\ndone = no\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\narriving = yes\n",
		"version = 1\nendpoint = e\nbucket = b\nobject = f\n"
		    "key = k\narriving = maybe\ndone = no\n",
	};
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
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_suffix),
		cmocka_unit_test(test_cut_template),
		cmocka_unit_test(test_cut_already),
		cmocka_unit_test(test_cut_too_long),
		cmocka_unit_test(test_record_fields),
		cmocka_unit_test(test_record_arriving),
		cmocka_unit_test(test_record_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
