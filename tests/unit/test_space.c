/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the free-space floor (core/space.c): savecore's minfree
 * file as check_space in sbin/savecore/savecore.c reads it (first line,
 * strtoll, KiB, 0 or less means none), and what it must not do here:
 * follow a link, block on a FIFO. Then the spool and directories the same
 * file gives sinks (nds_host.spool_open, dir_open).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "sink_load.h"
#include "space.h"

/* As mock_host.h spells libc's file functions (i386 has openat64). */
#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64 && \
    UINTPTR_MAX == 0xffffffffu
#define LIBC_FILE_FN(name)	name "64"
#else
#define LIBC_FILE_FN(name)	name
#endif

static char dir[64];
static bool no_tmpfile;
static unsigned int tmpfile_refused;

/*
 * Stand in for libc's openat so a test can pretend the file system has no
 * O_TMPFILE and make the spool take its named-and-unlinked fallback.
 */
int
openat(int fd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t mode = 0;
	va_list ap;

	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (no_tmpfile && (flags & O_TMPFILE) == O_TMPFILE) {
		tmpfile_refused++;
		errno = EOPNOTSUPP;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, LIBC_FILE_FN("openat"));
	return real(fd, path, flags, mode);
}

/* Nothing in dir but "." and "..". */
static void
assert_dir_empty(void)
{
	struct dirent *de;
	DIR *dp;

	assert_non_null(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			fail_msg("%s left in the directory", de->d_name);
	closedir(dp);
}

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

/*
 * The spool: unnamed, with O_TMPFILE or without (a hidden name unlinked
 * at once), readable and writable, in the dump directory or a folder of it.
 */
static void
test_spool(void **state)
{
	char err[NDS_ERRBUF_SIZE] = "", path[128], back[5];
	struct nds_dump dump = { .id = 7 };
	int pass, fd;

	(void)state;
	assert_true((dump.dumpdir_fd = open(dir, O_RDONLY | O_DIRECTORY)) !=
	    -1);
	for (pass = 0; pass < 2; pass++) {
		no_tmpfile = pass == 1;
		tmpfile_refused = 0;
		fd = nd_spool_open(&dump, NULL, err);
		assert_true(fd != -1);
		assert_int_equal(tmpfile_refused, pass == 1 ? 1 : 0);
		assert_dir_empty();
		assert_int_equal(pwrite(fd, "data", 4, 1 << 20), 4);
		assert_int_equal(pread(fd, back, 4, 1 << 20), 4);
		assert_memory_equal(back, "data", 4);
		close(fd);
	}
	no_tmpfile = false;
	assert_int_equal(nd_spool_open(&dump, "missing", err), -1);
	assert_string_equal(err, "spool in missing: No such file or directory");
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true((fd = nd_spool_open(&dump, "sub", err)) != -1);
	close(fd);
	assert_int_equal(rmdir(path), 0);
	close(dump.dumpdir_fd);
}

/* dir_open: relative to the dump directory, not before start. */
static void
test_dir_open(void **state)
{
	struct nds_host_ctx ctx = { .dumpdir_fd = -1 };
	char err[NDS_ERRBUF_SIZE] = "", path[128];
	struct stat a, b;
	int fd;

	(void)state;
	assert_int_equal(nd_dir_open(&ctx, NULL, err), -1);
	assert_string_equal(err, "the dump directory: the dump directory is "
	    "not open yet");
	/* An absolute one needs no dump directory. */
	assert_true((fd = nd_dir_open(&ctx, dir, err)) != -1);
	close(fd);
	assert_true((ctx.dumpdir_fd = open(dir, O_RDONLY | O_DIRECTORY)) !=
	    -1);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true((fd = nd_dir_open(&ctx, "sub", err)) != -1);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	close(fd);
	assert_int_equal(nd_dir_open(&ctx, "nothing", err), -1);
	assert_string_equal(err, "nothing: No such file or directory");
	assert_int_equal(rmdir(path), 0);
	close(ctx.dumpdir_fd);
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
		cmocka_unit_test_setup_teardown(test_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
