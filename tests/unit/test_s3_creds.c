/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The s3 sink's credentials (sinks/s3/s3_creds.c): an AWS-style
 * credentials file as the AWS command line tools write it
 * (~/.aws/credentials: [profile], aws_access_key_id, aws_secret_access_key,
 * aws_session_token), read again when it changes: renamed over, rewritten
 * in place with the same size within the same second, gone, made a FIFO,
 * broken. What cannot be read is said once and the credentials read
 * before stay in use. The test moves the time of the last look back
 * rather than sleep through the once-a-second limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "s3.h"

static char dir[64], path[96], tmp[112];
static char logged[16][512];
static unsigned nlogged;

static void log_fn(struct nds_host_ctx *, enum nds_log_level, const char *,
    ...) __attribute__((format(printf, 3, 4)));

static void
log_fn(struct nds_host_ctx *ctx, enum nds_log_level level, const char *fmt,
    ...)
{
	va_list ap;

	(void)ctx, (void)level;
	va_start(ap, fmt);
	if (nlogged < 16)
		vsnprintf(logged[nlogged++], sizeof(logged[0]), fmt, ap);
	va_end(ap);
}

static const struct nds_host host = {
	.abi_major = NDS_ABI_MAJOR,
	.abi_minor = NDS_ABI_MINOR,
	.struct_size = sizeof(struct nds_host),
	.log = log_fn,
};

/* How many lines logged contain s. */
static unsigned
count(const char *s)
{
	unsigned i, n = 0;

	for (i = 0; i < nlogged; i++)
		n += strstr(logged[i], s) != NULL;
	return n;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nd-test-s3-creds.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/credentials", dir);
	snprintf(tmp, sizeof(tmp), "%s/credentials.new", dir);
	nlogged = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)unlink(path);
	(void)unlink(tmp);
	return rmdir(dir);
}

/* text as the file at p, mode 0600. */
static void
put(const char *p, const char *text)
{
	FILE *fp = fopen(p, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(p, 0600), 0);
}

/* A new file renamed over the old, as credential tools do. */
static void
rotate(const char *text)
{
	put(tmp, text);
	assert_int_equal(rename(tmp, path), 0);
}

/* The credentials a request gets now, past the once-a-second limit. */
static void
now(struct s3_creds *cr, struct s3_secret *k)
{
	cr->looked -= 10;
	assert_int_equal(s3_creds_get(cr, k), 0);
}

static void
assert_secret(struct s3_creds *cr, const char *id, const char *secret,
    const char *token)
{
	struct s3_secret k;

	now(cr, &k);
	assert_string_equal(k.access_key, id);
	assert_string_equal(k.secret_key, secret);
	if (token == NULL)
		assert_null(k.session_token);
	else
		assert_string_equal(k.session_token, token);
	s3_secret_clear(&k);
	assert_null(k.secret_key);
}

static void
test_file(void **state)
{
	struct s3_creds cr;
	char err[NDS_ERRBUF_SIZE] = "";

	(void)state;
	/* Other profiles, comments, blanks, an empty token, no last '\n'. */
	put(path, "[other]\naws_access_key_id = NOBODY\n"
	    "aws_secret_access_key = x\n\n# comment\n[netdump]\n"
	    "aws_access_key_id = AKID1\r\naws_session_token =\n"
	    "aws_secret_access_key =  sekrit-one ");
	assert_int_equal(s3_creds_init(&cr, &host, NULL, path, "netdump",
	    err), 0);
	assert_secret(&cr, "AKID1", "sekrit-one", NULL);
	/* Renamed over: read again, said once. */
	rotate("[netdump]\naws_access_key_id = AKID2\n"
	    "aws_secret_access_key = s2\naws_session_token = tok2\n");
	assert_secret(&cr, "AKID2", "s2", "tok2");
	assert_int_equal(count("credentials_file"), 1);
	assert_int_equal(count(" changed: read again"), 1);
	/* Rewritten in place, the same size, within the same second. */
	put(path, "[netdump]\naws_access_key_id = AKID3\n"
	    "aws_secret_access_key = s3\naws_session_token = tok3\n");
	assert_secret(&cr, "AKID3", "s3", "tok3");
	/* The same file looked at again: nothing read, nothing said. */
	assert_secret(&cr, "AKID3", "s3", "tok3");
	assert_int_equal(count(" changed: read again"), 2);
	s3_creds_fini(&cr);
}

/* What cannot be read is said once; the credentials before stay. */
static void
test_file_broken(void **state)
{
	struct s3_creds cr;
	char err[NDS_ERRBUF_SIZE] = "", token[S3_TOKEN_LEN_MAX + 200];

	(void)state;
	put(path, "[default]\naws_access_key_id = AKID1\n"
	    "aws_secret_access_key = sekrit-one\n");
	assert_int_equal(s3_creds_init(&cr, &host, NULL, path, "default",
	    err), 0);
	/* Gone: said once however often looked at. */
	assert_int_equal(unlink(path), 0);
	assert_secret(&cr, "AKID1", "sekrit-one", NULL);
	assert_secret(&cr, "AKID1", "sekrit-one", NULL);
	assert_int_equal(count("No such file or directory; the credentials "
	    "read before stay in use"), 1);
	/* A FIFO in its place: not waited on. */
	assert_int_equal(mkfifo(tmp, 0600), 0);
	assert_int_equal(rename(tmp, path), 0);
	assert_secret(&cr, "AKID1", "sekrit-one", NULL);
	assert_secret(&cr, "AKID1", "sekrit-one", NULL);
	assert_int_equal(count("not a regular file"), 1);
	/* No secret in the profile. */
	rotate("[default]\naws_access_key_id = AKID9\n");
	assert_secret(&cr, "AKID1", "sekrit-one", NULL);
	assert_int_equal(count("no aws_access_key_id and "
	    "aws_secret_access_key in [default]"), 1);
	/* A token longer than a request's header holds. */
	memset(token, 'T', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	put(tmp, "[default]\naws_access_key_id = AKID8\n"
	    "aws_secret_access_key = s8\naws_session_token = ");
	{
		FILE *fp = fopen(tmp, "a");

		assert_non_null(fp);
		fputs(token, fp);
		fclose(fp);
	}
	assert_int_equal(rename(tmp, path), 0);
	assert_secret(&cr, "AKID1", "sekrit-one", NULL);
	assert_int_equal(count("a session token longer than"), 1);
	/* Put right: read again. */
	rotate("[default]\naws_access_key_id = AKID2\n"
	    "aws_secret_access_key = sekrit-two\n");
	assert_secret(&cr, "AKID2", "sekrit-two", NULL);
	assert_int_equal(count(" changed: read again"), 1);
	/* No secret in any line logged. */
	assert_int_equal(count("sekrit"), 0);
	s3_creds_fini(&cr);
}

static void
test_init_refused(void **state)
{
	struct s3_creds cr;
	char err[NDS_ERRBUF_SIZE] = "";

	(void)state;
	assert_int_equal(s3_creds_init(&cr, &host, NULL, "credentials",
	    "default", err), -1);
	assert_string_equal(err, "credentials_file: \"credentials\" is not "
	    "an absolute path");
	s3_creds_fini(&cr);
	put(path, "[default]\naws_access_key_id = AK:ID\n"
	    "aws_secret_access_key = s\n");
	assert_int_equal(s3_creds_init(&cr, &host, NULL, path, "default",
	    err), -1);
	assert_non_null(strstr(err, "the access key id has characters no "
	    "access key id has"));
	s3_creds_fini(&cr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_broken, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_init_refused, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
