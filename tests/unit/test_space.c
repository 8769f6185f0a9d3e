/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the free-space floor (core/space.c): savecore's minfree
 * file as check_space in sbin/savecore/savecore.c reads it (first line,
 * strtoll, KiB, 0 or less means none), and what it must not do here:
 * follow a link, block on a FIFO.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "space.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nd-test-space.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/minfree", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/target", dir);
	(void)unlink(path);
	return rmdir(dir);
}

static void
write_minfree(const char *name, const char *text)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_minfree_values(void **state)
{
	(void)state;
	assert_true(nd_savecore_minfree(dir) == 0);		/* none */
	write_minfree("minfree", "2048\n");
	assert_true(nd_savecore_minfree(dir) == 2048 * 1024);
	write_minfree("minfree", "  512  \nignored 999\n");
	assert_true(nd_savecore_minfree(dir) == 512 * 1024);
	write_minfree("minfree", "0\n");
	assert_true(nd_savecore_minfree(dir) == 0);
	write_minfree("minfree", "-5\n");
	assert_true(nd_savecore_minfree(dir) == 0);
	write_minfree("minfree", "");
	assert_true(nd_savecore_minfree(dir) == 0);
	write_minfree("minfree", "12abc\n");
	assert_true(nd_savecore_minfree(dir) == 0);
	write_minfree("minfree", "99999999999999999999999\n");
	assert_true(nd_savecore_minfree(dir) == 0);		/* ERANGE */
	write_minfree("minfree", "9223372036854775807\n");
	assert_true(nd_savecore_minfree(dir) == UINT64_MAX);	/* saturates */
}

static void
test_minfree_not_followed(void **state)
{
	char path[128], target[128];

	(void)state;
	write_minfree("target", "4096\n");
	snprintf(path, sizeof(path), "%s/minfree", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	(void)unlink(path);
	assert_int_equal(symlink(target, path), 0);
	assert_true(nd_savecore_minfree(dir) == 0);
	assert_int_equal(unlink(path), 0);
	/* A FIFO: the open must not wait for a writer. */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_true(nd_savecore_minfree(dir) == 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(nd_savecore_minfree(dir) == 0);
	assert_int_equal(rmdir(path), 0);
}

static void
test_space_floor(void **state)
{
	struct nd_server_conf sv;
	const char *floor;
	uint64_t avail, need;

	(void)state;
	memset(&sv, 0, sizeof(sv));
	sv.dumpdir = dir;
	/* No floor at all. */
	assert_true(nd_space_ok(&sv, &avail, &need, &floor));
	assert_true(need == 0);
	/* min_free alone, then a larger minfree file wins. */
	sv.min_free_bytes = 1024;
	assert_true(nd_space_ok(&sv, &avail, &need, &floor));
	assert_true(need == 1024);
	assert_string_equal(floor, "min_free");
	write_minfree("minfree", "1099511627776\n");	/* 1 PiB in KiB */
	assert_false(nd_space_ok(&sv, &avail, &need, &floor));
	assert_true(need == 1099511627776ull * 1024);
	assert_string_equal(floor, "savecore's minfree");
	/* The file alone is a floor too. */
	sv.min_free_bytes = 0;
	assert_false(nd_space_ok(&sv, &avail, &need, &floor));
	write_minfree("minfree", "1\n");
	assert_true(nd_space_ok(&sv, &avail, &need, &floor));
	assert_true(need == 1024);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_minfree_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_minfree_not_followed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_space_floor, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
