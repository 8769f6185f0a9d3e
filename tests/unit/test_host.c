/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for what the host does for every sink module (sink ABI 2.0):
 * filling a module's config struct from its option table, the one naming
 * policy (struct nds_host.object_name), spools (spool_open) and the
 * free-space check (space_ok).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "dump.h"
#include "sink_load.h"
#include "space.h"

/* ------------------------------------------------------------ options */

struct demo_config {
	const char	*name;
	int64_t		 count;
	int64_t		 size;
	bool		 flag;
	int		 mode;
	const char	*unset;
};

#define OPT(f)	offsetof(struct demo_config, f)

static const struct nds_option demo_options[] = {
	{ "name", NDS_OPT_STRING, OPT(name), "dflt", NULL, 0, 0, "a string" },
	{ "count", NDS_OPT_INT, OPT(count), "3", NULL, 1, 10, "1 to 10" },
	{ "size", NDS_OPT_SIZE, OPT(size), "1M", NULL, 0, 0, "bytes" },
	{ "flag", NDS_OPT_BOOL, OPT(flag), "no", NULL, 0, 0, "yes or no" },
	{ "mode", NDS_OPT_ENUM, OPT(mode), "b", "a|b|c", 0, 0, "a, b or c" },
	{ "unset", NDS_OPT_STRING, OPT(unset), NULL, NULL, 0, 0, "no default" },
	{ .name = NULL },
};

static const struct nds_sink_module demo = {
	NDS_SINK_MODULE_HEADER,
	.name = "demo",
	.options = demo_options,
	.config_size = sizeof(struct demo_config),
};

static struct demo_config *
build(const struct nd_kv *kv, size_t n, size_t *bad, char *why, size_t len)
{
	return nd_config_build(&demo, kv, n, bad, why, len);
}

static void
test_config_defaults(void **state)
{
	struct demo_config *c;
	char why[256];
	size_t bad;

	(void)state;
	assert_non_null(c = build(NULL, 0, &bad, why, sizeof(why)));
	assert_string_equal(c->name, "dflt");
	assert_int_equal(c->count, 3);
	assert_int_equal(c->size, 1 << 20);
	assert_false(c->flag);
	assert_int_equal(c->mode, 1);
	assert_null(c->unset);
	nd_config_free(&demo, c);
}

static void
test_config_values(void **state)
{
	struct nd_kv kv[] = {
		{ "name", "other", 1 }, { "count", "10", 2 },
		{ "size", "2k", 3 }, { "flag", "yes", 4 }, { "mode", "c", 5 },
		{ "unset", "now set", 6 }, { "name", "last wins", 7 },
	};
	struct demo_config *c;
	char why[256];
	size_t bad;

	(void)state;
	assert_non_null(c = build(kv, 7, &bad, why, sizeof(why)));
	assert_string_equal(c->name, "last wins");
	assert_int_equal(c->count, 10);
	assert_int_equal(c->size, 2048);
	assert_true(c->flag);
	assert_int_equal(c->mode, 2);
	assert_string_equal(c->unset, "now set");
	nd_config_free(&demo, c);	/* ASan/valgrind: strings freed once */
}

static void
test_config_errors(void **state)
{
	struct nd_kv unknown[] = { { "count", "2", 1 }, { "colour", "x", 2 } };
	struct nd_kv range[] = { { "count", "11", 1 } };
	struct nd_kv choice[] = { { "mode", "d", 1 } };
	struct nd_kv boolean[] = { { "flag", "maybe", 1 } };
	char why[256];
	size_t bad;

	(void)state;
	assert_null(build(unknown, 2, &bad, why, sizeof(why)));
	assert_int_equal(bad, 1);
	assert_string_equal(why, "no option 'colour'");
	assert_null(build(range, 1, &bad, why, sizeof(why)));
	assert_int_equal(bad, 0);
	assert_string_equal(why, "'11' is out of range [1, 10]");
	assert_null(build(choice, 1, &bad, why, sizeof(why)));
	assert_string_equal(why, "expected one of a|b|c, got 'd'");
	assert_null(build(boolean, 1, &bad, why, sizeof(why)));
	assert_int_equal(bad, 0);
}

/* A module whose default does not convert is refused, naming it. */
static void
test_config_bad_default(void **state)
{
	static const struct nds_option bad_opts[] = {
		{ "count", NDS_OPT_INT, 0, "many", NULL, 0, 0, "" },
		{ .name = NULL },
	};
	struct nds_sink_module m = demo;
	char why[256];
	size_t bad;

	(void)state;
	m.options = bad_opts;
	m.config_size = sizeof(int64_t);
	assert_null(nd_config_build(&m, NULL, 0, &bad, why, sizeof(why)));
	assert_int_equal(bad, 0);
	assert_non_null(strstr(why, "(the default of option 'count')"));
}

/* ------------------------------------------------------------ naming */

static void
name_of(const struct nds_dump *d, enum nds_object_kind kind,
    const char *suffix, const char *infix, const char *want)
{
	struct nds_object obj = { .kind = kind, .suffix = suffix };
	char name[64];

	assert_int_equal(nd_object_name(d, &obj, infix, name, sizeof(name)),
	    0);
	assert_string_equal(name, want);
}

static void
test_object_names(void **state)
{
	struct nds_dump d = { .status = NDS_STATUS_COMPLETE,
	    .vmcore_suffix = "" };
	struct nds_object obj = { .kind = NDS_OBJ_VMCORE };
	char small[8];

	(void)state;
	name_of(&d, NDS_OBJ_VMCORE, NULL, NULL, "vmcore");
	name_of(&d, NDS_OBJ_VMCORE, ".zst", ".7", "vmcore.7.zst");
	name_of(&d, NDS_OBJ_KEY, NULL, ".7", "key.7");
	name_of(&d, NDS_OBJ_INFO, NULL, ".host1.7", "info.host1.7");
	name_of(&d, NDS_OBJ_MANIFEST, NULL, ".7", "manifest.7.json");
	name_of(&d, NDS_OBJ_MANIFEST, NULL, NULL, "manifest.json");
	name_of(&d, NDS_OBJ_MSGBUF, NULL, ".7", "msgbuf.7");
	name_of(&d, NDS_OBJ_ARCHIVE, ".tar.zst", ".7", "dump.7.tar.zst");
	/* A kernel-compressed dump keeps its extension, then the object's. */
	d.vmcore_suffix = ".gz";
	name_of(&d, NDS_OBJ_VMCORE, NULL, ".7", "vmcore.7.gz");
	/* Incomplete: the body says so; key, info and manifest do not. */
	d.status = NDS_STATUS_INCOMPLETE;
	name_of(&d, NDS_OBJ_VMCORE, NULL, ".7", "vmcore.7.gz.incomplete");
	name_of(&d, NDS_OBJ_ARCHIVE, ".tar", NULL, "dump.tar.incomplete");
	name_of(&d, NDS_OBJ_INFO, NULL, ".7", "info.7");
	/* Encrypted: decryptcore opens vmcore_encrypted.N, no extension. */
	d.encrypted = true;
	name_of(&d, NDS_OBJ_VMCORE, NULL, ".7",
	    "vmcore_encrypted.7.incomplete");
	assert_int_equal(nd_object_name(&d, &obj, NULL, small, sizeof(small)),
	    -1);
}

/* ------------------------------------------------------------ spools */

static void
test_spool(void **state)
{
	char base[] = "/tmp/nd-test-host.XXXXXX", err[NDS_ERRBUF_SIZE];
	struct nds_dump d = { .dumpdir_fd = -1 };
	struct stat st, dirst;
	int dfd, fd;

	(void)state;
	assert_non_null(mkdtemp(base));
	assert_return_code(dfd = open(base, O_RDONLY | O_DIRECTORY), 0);
	assert_return_code(mkdirat(dfd, "spool", 0700), 0);
	d.dumpdir = base;
	d.dumpdir_fd = dfd;

	/* In the dump directory, unnamed: nothing is left behind. */
	assert_return_code(fd = nd_spool_open(&d, NULL, err), 0);
	assert_int_equal(pwrite(fd, "x", 1, 1 << 20), 1);
	assert_return_code(fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(st.st_size, (1 << 20) + 1);
	close(fd);
	/* In a folder of it. */
	assert_return_code(fd = nd_spool_open(&d, "spool", err), 0);
	assert_return_code(fstat(fd, &st), 0);
	assert_return_code(fstatat(dfd, "spool", &dirst, 0), 0);
	assert_int_equal(st.st_dev, dirst.st_dev);
	close(fd);
	assert_return_code(unlinkat(dfd, "spool", AT_REMOVEDIR), 0);
	/* A folder that is not there: the message names it. */
	assert_int_equal(nd_spool_open(&d, "spool", err), -1);
	assert_string_equal(err, "spool in spool: No such file or directory");
	close(dfd);
	assert_return_code(rmdir(base), 0);
}

/* ------------------------------------------------------------ space */

/*
 * space_ok: a sink's reserve on any file system, and the server's floor
 * on the dump directory's alone.
 */
static void
test_space_check(void **state)
{
	char base[] = "/tmp/nd-test-host.XXXXXX", why[NDS_ERRBUF_SIZE] = "";
	struct nd_server_conf sv;
	struct nd_dump d;
	int dfd, fd, other;

	(void)state;
	assert_non_null(mkdtemp(base));
	assert_return_code(dfd = open(base, O_RDONLY | O_DIRECTORY), 0);
	assert_return_code(fd = openat(dfd, "spool", O_RDWR | O_CREAT, 0600),
	    0);
	memset(&sv, 0, sizeof(sv));
	sv.dumpdir = base;
	memset(&d, 0, sizeof(d));
	d.server = &sv;
	d.pub.dumpdir = base;
	d.pub.dumpdir_fd = dfd;

	assert_true(nd_space_ok_fd(&d.pub, fd, 0, why));
	assert_false(nd_space_ok_fd(&d.pub, fd, UINT64_MAX, why));
	assert_non_null(strstr(why, "below the sink's reserve"));
	/* All of it kept free: no file system has that much. */
	sv.min_free_percent = 100;
	assert_false(nd_space_ok_fd(&d.pub, fd, 0, why));
	assert_non_null(strstr(why, "below min_free"));
	/* Another file system is not the dump directory's to keep. */
	assert_return_code(other = open("/proc", O_RDONLY | O_DIRECTORY), 0);
	assert_true(nd_space_ok_fd(&d.pub, other, 0, why));
	close(other);
	close(fd);
	assert_return_code(unlinkat(dfd, "spool", 0), 0);
	close(dfd);
	assert_return_code(rmdir(base), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_values),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_bad_default),
		cmocka_unit_test(test_object_names),
		cmocka_unit_test(test_spool),
		cmocka_unit_test(test_space_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
