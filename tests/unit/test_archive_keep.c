/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the archive transform's keep folder (sinks/archive/
 * keep.c, with archive.c compiled in): what a server killed in the middle
 * of a dump leaves in spool_dir, and what the next start makes of it.
 * The killed server is a child process that begins a dump, stores its
 * key and part of its vmcore, and exits without an end: its locks go with
 * it, its files stay, as after a SIGKILL. Every call goes through the
 * exported descriptor, as the host makes it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netdump/sink.h"

#include "mock_host.h"
#include "sink_load.h"

/* The module's descriptor, from sinks/archive/archive.c compiled in. */
extern const struct nds_sink_module nds_sink_module;

#define M	nds_sink_module
#define KiB	1024u
#define TOP	"192.0.2.7-20261123-073452"	/* mock_dump_init's */

/* Short enough that every path built from them fits its buffer. */
static char base[256], dumpdir[272];
static int dfd;
static struct nds_host_ctx ctx;

static const char KEY[] = "\x01\x02\x00\x03KEYBLOB\x00tail";
/* A zstd frame's magic number (RFC 8878, 3.1.1), then anything. */
static const unsigned char ZSTD_HEAD[] = { 0x28, 0xb5, 0x2f, 0xfd, 1, 2 };
/* A gzip member's ID1, ID2 and CM = deflate (RFC 1952, 2.3.1). */
static const unsigned char GZIP_HEAD[] = { 0x1f, 0x8b, 0x08, 0, 0, 0 };

/* flock answers this errno to a blocking call while it is not 0. */
static int flock_errno;

/* Stand in for libc's flock: a file system without locks. */
int
flock(int fd, int op)
{
	static int (*real)(int, int);

	if (flock_errno != 0 && (op & LOCK_NB) == 0) {
		errno = flock_errno;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "flock");
	return real(fd, op);
}

static int
setup(void **state)
{
	(void)state;
	if (mock_tmpdir(base, sizeof(base), "test_archive_keep") == -1 ||
	    mock_subdir(dumpdir, sizeof(dumpdir), base, "dump") == -1 ||
	    (dfd = open(dumpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	ctx = (struct nds_host_ctx){ .dumpdir_fd = dfd };
	mock_host_reset("archive");
	flock_errno = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(dfd);
	mock_rmtree(base);
	return 0;
}

static void *
instance(const char *spool_dir, void **config)
{
	const char *settings[] = { "compression=none", NULL, NULL };
	char setting[PATH_MAX], err[NDS_ERRBUF_SIZE] = "";
	void *inst = NULL;

	if (spool_dir != NULL) {
		snprintf(setting, sizeof(setting), "spool_dir=%s", spool_dir);
		settings[1] = setting;
	}
	*config = mock_config(&M, settings);
	if (M.create(&mock_host, &ctx, *config, &inst, err) != NDS_OK)
		fail_msg("create: %s", err);
	return inst;
}

static void
destroy(void *inst, void *config)
{
	M.destroy(inst);
	mock_config_free(&M, config);
}

/* A new instance starts, as after a restart: what does it keep? */
static void
restart(const char *spool_dir)
{
	char err[NDS_ERRBUF_SIZE] = "";
	void *config, *inst = instance(spool_dir, &config);

	assert_int_equal(M.start(inst, err), NDS_OK);
	destroy(inst, config);
}

/* The next stage of a dump that ends: takes everything, keeps nothing. */
static enum nds_result
null_open(void *c, enum nds_object_kind kind, void **o, char *err)
{
	(void)c, (void)kind, (void)err;
	*o = &ctx;
	return NDS_OK;
}

static enum nds_result
null_write(void *o, uint64_t off, const void *buf, size_t len, char *err)
{
	(void)o, (void)off, (void)buf, (void)len, (void)err;
	return NDS_OK;
}

static enum nds_result
null_hole(void *o, uint64_t off, uint64_t len, char *err)
{
	(void)o, (void)off, (void)len, (void)err;
	return NDS_OK;
}

static enum nds_result
null_close(void *o, const struct nds_object *obj, char *where, char *err)
{
	(void)o, (void)obj, (void)err;
	snprintf(where, NDS_WHERE_SIZE, "nowhere");
	return NDS_OK;
}

static const struct nds_stage null_stage = {
	.struct_size = sizeof(struct nds_stage),
	.open = null_open,
	.write = null_write,
	.hole = null_hole,
	.close = null_close,
};

/* One object, whole: open, one write at off, close at size. */
static int
put(void *ds, enum nds_object_kind kind, uint64_t off, const void *buf,
    size_t len, uint64_t size)
{
	struct nds_object obj = { .kind = kind, .size = size };
	char err[NDS_ERRBUF_SIZE], where[NDS_WHERE_SIZE];
	void *os;

	if (M.open(ds, kind, &os, err) != NDS_OK)
		return -1;
	if (len > 0 && M.write(os, off, buf, len, err) != NDS_OK)
		return -1;
	return M.close(os, &obj, where, err) == NDS_OK ? 0 : -1;
}

/*
 * A server that dies in the middle of a dump: the key (if any), then
 * vmcore bytes at off, still open; no close, no end.
 */
static void
killed_dump(const char *spool_dir, bool key, uint64_t off, const void *buf,
    size_t len)
{
	char err[NDS_ERRBUF_SIZE];
	struct nds_dump dump;
	void *config, *inst, *ds, *os;
	int status;
	pid_t pid;

	mock_dump_init(&dump, dumpdir, dfd);
	if ((pid = fork()) == 0) {
		inst = instance(spool_dir, &config);
		if (M.begin(inst, &dump, &null_stage, &ds, err) != NDS_OK ||
		    (key && put(ds, NDS_OBJ_KEY, 0, KEY, sizeof(KEY) - 1,
		    sizeof(KEY) - 1) == -1))
			_exit(2);
		if (buf != NULL && (M.open(ds, NDS_OBJ_VMCORE, &os, err) !=
		    NDS_OK || M.write(os, off, buf, len, err) != NDS_OK))
			_exit(3);
		_exit(0);	/* killed: nothing more */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Entries of dir (relative to the dump directory) starting with prefix. */
static unsigned int
count(const char *dir, const char *prefix)
{
	char path[PATH_MAX + 64];
	unsigned int n = 0;
	struct dirent *de;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/%s", dumpdir, dir);
	assert_non_null(dp = opendir(path));
	while ((de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

/* Cut path (relative to the dump directory) to nothing. */
static int
truncate_at(const char *path)
{
	int fd = openat(dfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	return fd == -1 ? -1 : close(fd);
}

/* The bytes at path: len of buf at off, zeros before, size in all. */
static void
assert_spooled(const char *path, uint64_t off, const void *buf, size_t len)
{
	char *got;
	size_t n, i;

	got = mock_slurp_at(dfd, path, &n);
	assert_int_equal(n, off + len);
	for (i = 0; i < off; i++)
		if (got[i] != 0)
			fail_msg("%s: byte %zu is not zero", path, i);
	assert_memory_equal(got + off, buf, len);
	free(got);
}

/*
 * An encrypted dump: the key came first (as a 13+ kernel sends it), then
 * vmcore bytes. The next start keeps both as TOP.incomplete, the vmcore
 * named as the tarball would name it, and says so.
 */
static void
test_killed_encrypted(void **state)
{
	unsigned char data[64 * KiB];
	char *got;
	size_t n;

	(void)state;
	memset(data, 0xa5, sizeof(data));
	killed_dump(NULL, true, 8 * KiB, data, sizeof(data));
	assert_int_equal(count(".", ".archive-"), 1);
	restart(NULL);
	assert_int_equal(count(".", ".archive-"), 0);
	assert_spooled(TOP ".incomplete/vmcore_encrypted", 8 * KiB, data,
	    sizeof(data));
	got = mock_slurp_at(dfd, TOP ".incomplete/key", &n);
	assert_int_equal(n, sizeof(KEY) - 1);
	assert_memory_equal(got, KEY, n);
	free(got);
	mock_assert_absent_at(dfd, TOP ".incomplete/key.tmp");
	mock_host_assert_logged(NULL, "a dump cut short by the server's end "
	    "is kept as " TOP ".incomplete in the dump directory, never "
	    "archived: vmcore_encrypted (73728 bytes long) and its key");
}

/*
 * Two dumps of one client in one second, compressed (zstd magic): the
 * second gets TOP.1.incomplete, each vmcore the suffix of its bytes. In a
 * spool_dir of its own.
 */
static void
test_killed_twice(void **state)
{
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/spool", dumpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	killed_dump("spool", false, 0, ZSTD_HEAD, sizeof(ZSTD_HEAD));
	killed_dump("spool", false, 0, ZSTD_HEAD, sizeof(ZSTD_HEAD));
	assert_int_equal(count("spool", ".archive-"), 2);
	restart("spool");
	assert_int_equal(count("spool", ".archive-"), 0);
	assert_spooled("spool/" TOP ".incomplete/vmcore.zst", 0, ZSTD_HEAD,
	    sizeof(ZSTD_HEAD));
	assert_spooled("spool/" TOP ".1.incomplete/vmcore.zst", 0, ZSTD_HEAD,
	    sizeof(ZSTD_HEAD));
	assert_int_equal(mock_host_count(NULL, "never archived: vmcore.zst "
	    "(6 bytes long)"), 2);
	assert_int_equal(mock_host_count(NULL, " in spool, never"), 2);
}

/*
 * Killed after the key, before any vmcore byte: the key alone is kept.
 * Killed before anything was spooled: nothing is, and the folder goes.
 */
static void
test_killed_early(void **state)
{
	char *got;
	size_t n;

	(void)state;
	killed_dump(NULL, true, 0, NULL, 0);
	restart(NULL);
	got = mock_slurp_at(dfd, TOP ".incomplete/key", &n);
	assert_int_equal(n, sizeof(KEY) - 1);
	free(got);
	mock_assert_absent_at(dfd, TOP ".incomplete/vmcore");
	mock_host_assert_logged(NULL, "never archived: its key only");
	assert_int_equal(mkdirat(dfd, ".archive-1-2-0-" TOP, 0700), 0);
	assert_int_equal(mkdirat(dfd, ".archive-1-3-0-" TOP, 0700), 0);
	assert_int_equal(close(openat(dfd, ".archive-1-3-0-" TOP "/vmcore",
	    O_WRONLY | O_CREAT, 0600)), 0);
	restart(NULL);
	assert_int_equal(count(".", ".archive-"), 0);
	assert_int_equal(count(".", TOP), 1);
}

/*
 * What is not a leftover stays: a dump that runs (its folder locked,
 * here by this process's own dump), a name not of the module's making,
 * a file. The running dump then ends as usual and its folder goes.
 */
static void
test_not_leftovers(void **state)
{
	unsigned char data[4 * KiB];
	char err[NDS_ERRBUF_SIZE] = "";
	struct nds_dump dump;
	void *config, *inst, *ds;

	(void)state;
	memset(data, 0x5a, sizeof(data));
	inst = instance(NULL, &config);
	mock_dump_init(&dump, dumpdir, dfd);
	assert_int_equal(M.begin(inst, &dump, &null_stage, &ds, err), NDS_OK);
	assert_int_equal(put(ds, NDS_OBJ_VMCORE, 0, data, sizeof(data),
	    sizeof(data)), 0);
	assert_int_equal(mkdirat(dfd, ".archive-junk", 0700), 0);
	assert_int_equal(mkdirat(dfd, ".archive-1-2-x-" TOP, 0700), 0);
	assert_int_equal(close(openat(dfd, ".archive-1-4-0-" TOP, O_WRONLY |
	    O_CREAT, 0600)), 0);
	restart(NULL);
	assert_int_equal(count(".", ".archive-"), 4);
	assert_int_equal(count(".", TOP), 0);
	assert_int_equal(mock_host_warnings(), 0);
	dump.status = NDS_STATUS_COMPLETE;
	assert_int_equal(M.end(ds, err), NDS_OK);
	assert_int_equal(count(".", ".archive-"), 3);
	destroy(inst, config);
}

/* The one leftover folder's path in the dump directory, into path. */
static void
leftover(char *path, size_t len)
{
	struct dirent *de;
	DIR *dp;

	path[0] = '\0';
	assert_non_null(dp = opendir(dumpdir));
	while ((de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, ".archive-", 9) == 0)
			snprintf(path, len, "%s", de->d_name);
	closedir(dp);
	assert_true(path[0] != '\0');
}

/*
 * The vmcore's name says what is known: encrypted by its key, compressed
 * by its first bytes (an encrypted one too); a key that is empty (a crash
 * before it reached the disk) is none, and goes.
 */
static void
test_killed_names(void **state)
{
	char name[NAME_MAX + 1], path[2 * NAME_MAX];

	(void)state;
	killed_dump(NULL, true, 0, ZSTD_HEAD, sizeof(ZSTD_HEAD));
	restart(NULL);
	assert_spooled(TOP ".incomplete/vmcore_encrypted.zst", 0, ZSTD_HEAD,
	    sizeof(ZSTD_HEAD));
	killed_dump(NULL, false, 0, GZIP_HEAD, sizeof(GZIP_HEAD));
	restart(NULL);
	assert_spooled(TOP ".1.incomplete/vmcore.gz", 0, GZIP_HEAD,
	    sizeof(GZIP_HEAD));
	killed_dump(NULL, true, 0, GZIP_HEAD + 1, sizeof(GZIP_HEAD) - 1);
	leftover(name, sizeof(name));
	snprintf(path, sizeof(path), "%s/key", name);
	assert_int_equal(truncate_at(path), 0);
	restart(NULL);
	assert_spooled(TOP ".2.incomplete/vmcore", 0, GZIP_HEAD + 1,
	    sizeof(GZIP_HEAD) - 1);
	mock_assert_absent_at(dfd, TOP ".2.incomplete/key");
	mock_host_assert_logged(NULL, TOP ".2.incomplete in the dump "
	    "directory, never archived: vmcore (5 bytes long)");
	/* Only the first of the three had its key. */
	assert_int_equal(mock_host_count(NULL, "and its key"), 1);
}

/*
 * Every new name taken: the leftover stays as it is, whole (its vmcore
 * too, not renamed inside a folder that then is no leftover), and says
 * so; the next start, with a name free, keeps it.
 */
static void
test_salvage_blocked(void **state)
{
	unsigned char data[4 * KiB];
	char name[NAME_MAX + 1];
	unsigned int i;

	(void)state;
	memset(data, 0x3c, sizeof(data));
	/* Compressed: the vmcore inside is renamed too, after the folder. */
	memcpy(data, ZSTD_HEAD, sizeof(ZSTD_HEAD));
	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), TOP ".incomplete");
		else
			snprintf(name, sizeof(name), TOP ".%u.incomplete", i);
		assert_int_equal(mkdirat(dfd, name, 0700), 0);
	}
	killed_dump(NULL, false, 0, data, sizeof(data));
	restart(NULL);
	mock_host_assert_logged(NULL, "the spool of a dump cut short by the "
	    "server's end, left as it is: File exists");
	leftover(name, sizeof(name));
	strncat(name, "/vmcore", sizeof(name) - strlen(name) - 1);
	assert_spooled(name, 0, data, sizeof(data));
	assert_int_equal(unlinkat(dfd, TOP ".incomplete", AT_REMOVEDIR), 0);
	restart(NULL);
	assert_int_equal(count(".", ".archive-"), 0);
	assert_spooled(TOP ".incomplete/vmcore.zst", 0, data, sizeof(data));
}

/*
 * A spool_dir without locks: the vmcore cannot be spooled, the error says
 * why, and nothing is left behind.
 */
static void
test_no_locks(void **state)
{
	char err[NDS_ERRBUF_SIZE] = "";
	struct nds_dump dump;
	void *config, *inst, *ds, *os = NULL;

	(void)state;
	inst = instance(NULL, &config);
	mock_dump_init(&dump, dumpdir, dfd);
	assert_int_equal(M.begin(inst, &dump, &null_stage, &ds, err), NDS_OK);
	flock_errno = ENOLCK;
	assert_int_equal(M.open(ds, NDS_OBJ_VMCORE, &os, err), NDS_FAILED);
	assert_non_null(strstr(err, ": create: No locks available"));
	assert_int_equal(count(".", ".archive-"), 0);
	flock_errno = 0;
	dump.status = NDS_STATUS_INCOMPLETE;
	assert_int_equal(M.end(ds, err), NDS_FAILED);
	assert_int_equal(count(".", ".archive-"), 0);
	destroy(inst, config);
}

/*
 * A key whose copy cannot be kept (spool_dir missing): said, the key
 * still stored (in the tarball), the dump not failed for it.
 */
static void
test_key_not_kept(void **state)
{
	char err[NDS_ERRBUF_SIZE] = "";
	struct nds_dump dump;
	void *config, *inst, *ds;

	(void)state;
	inst = instance("missing", &config);
	mock_dump_init(&dump, dumpdir, dfd);
	assert_int_equal(M.begin(inst, &dump, &null_stage, &ds, err), NDS_OK);
	assert_int_equal(put(ds, NDS_OBJ_KEY, 0, KEY, sizeof(KEY) - 1,
	    sizeof(KEY) - 1), 0);
	mock_host_assert_logged(NULL, "spool in missing: No such file or "
	    "directory; the key is in the tarball, but lost if the server "
	    "dies before the end");
	dump.status = NDS_STATUS_INCOMPLETE;
	assert_int_equal(M.end(ds, err), NDS_OK);
	assert_int_equal(count(".", ".archive-"), 0);
	destroy(inst, config);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_killed_encrypted),
		T(test_killed_twice),
		T(test_killed_early),
		T(test_not_leftovers),
		T(test_killed_names),
		T(test_salvage_blocked),
		T(test_no_locks),
		T(test_key_not_kept),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
