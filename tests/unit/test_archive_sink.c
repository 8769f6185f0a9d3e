/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the archive transform (sinks/archive/archive.c, compiled
 * in). Every call goes through the exported descriptor, as the host would
 * make it, with a mock next stage that writes what it receives to files
 * and checks it arrives in order. Per test, a fresh mkdtemp tree:
 *
 *   <tmp>/dump      the server's dump directory (where the spool goes)
 *   <tmp>/out       the mock next stage's objects
 *   <tmp>/ref       reference copies of the vmcores fed in
 *   <tmp>/x-*       tarballs extracted with bsdtar and GNU tar
 *
 * The tarballs are checked with the real tools: bsdtar and GNU tar must
 * both restore the vmcore byte for byte (and sparse), zstd -t and gzip -t
 * must accept the compressed streams.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "netdump/sink.h"

#include "mock_host.h"
#include "sink_load.h"

/* The module's descriptor, from sinks/archive/archive.c compiled in. */
extern const struct nds_sink_module nds_sink_module;

#define M	nds_sink_module
#define KiB	1024u
#define MiB	(1024u * 1024u)
#define GiB	(1024ull * 1024u * 1024u)
#define TOP	"192.0.2.7-20261123-073452"

enum { C_NONE = 0, C_ZSTD, C_GZIP };

/* Short enough that every path built from them fits its buffer. */
#define BASELEN	256
#define DIRLEN	(BASELEN + 16)
#define OBJLEN	(DIRLEN + 48)

struct env {
	char	base[BASELEN];
	char	dumpdir[DIRLEN];
	char	out[DIRLEN];
	char	ref[DIRLEN];
	int	dfd;		/* the dump directory */
};

/* One object the mock next stage holds open. */
struct mock_obj {
	struct mock		*m;
	enum nds_object_kind	 kind;
	int			 fd;
	uint64_t		 end;	/* bytes received, in order */
	char			 path[OBJLEN];
};

/* The next stage, and what it saw. */
struct mock {
	const struct env	*e;
	unsigned int		 opens, closes;
	bool			 in_order;	/* every write at the end */
	size_t			 maxwrite;
	/* Failure injection. */
	int			 fail_open;	/* kind + 1; 0: none */
	uint64_t		 fail_write_at;	/* fail past this; 0: never */
	bool			 fail_close;
	/* The last tarball and manifest closed. */
	char			 archive[OBJLEN];
	uint64_t		 archive_size;
	char			 suffix[32];
	char			 manifest[OBJLEN];
	uint64_t		 manifest_size;
};

/* A dump as the host drives it through the transform. */
struct run {
	struct nds_dump		 dump;
	struct mock		 mock;
	struct nds_stage	 stage;
	void			*config;	/* the host's, for inst */
	void			*inst;
	void			*ds;
	int			 ref;	/* reference vmcore, or -1 */
	char			 refpath[OBJLEN];
	char			 vm_bsd[3 * PATH_MAX]; /* extracted vmcores */
	char			 vm_gnu[3 * PATH_MAX];
};

static unsigned int extractions;
/* The instance's: the spool folder is opened through it (dir_open). */
static struct nds_host_ctx host_ctx = { .dumpdir_fd = -1 };
static unsigned int objects;	/* names the mock's files */

/* What the tests store; the key is binary. */
static const char INFO[] = "Dump header from device: netdump\n"
    "  Architecture: amd64\n  Hostname: host1\n";
static const char KEY[] = "\x01\x02\x00\x03KEYBLOB\x00tail";
static const char MANIFEST[] = "{\"client\":\"192.0.2.7\","
    "\"status\":\"complete\"}\n";

/*
 * The mock next stage.
 */

static enum nds_result
mock_open(void *ctx, enum nds_object_kind kind, void **object,
    char err[NDS_ERRBUF_SIZE])
{
	struct mock *m = ctx;
	struct mock_obj *o;

	*object = NULL;
	if (m->fail_open == (int)kind + 1) {
		snprintf(err, NDS_ERRBUF_SIZE, "mock refuses to open %d",
		    (int)kind);
		return NDS_FAILED;
	}
	o = calloc(1, sizeof(*o));
	assert_non_null(o);
	o->m = m;
	o->kind = kind;
	snprintf(o->path, sizeof(o->path), "%s/%s.%u", m->e->out,
	    kind == NDS_OBJ_ARCHIVE ? "archive" : kind == NDS_OBJ_MANIFEST ?
	    "manifest" : "other", ++objects);
	o->fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(o->fd != -1);
	m->opens++;
	*object = o;
	return NDS_OK;
}

static enum nds_result
mock_write(void *object, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct mock_obj *o = object;
	struct mock *m = o->m;

	if (m->fail_write_at != 0 && offset + len > m->fail_write_at) {
		snprintf(err, NDS_ERRBUF_SIZE, "mock disk full at %" PRIu64,
		    offset);
		return NDS_FAILED;
	}
	if (offset != o->end)
		m->in_order = false;
	if (len > m->maxwrite)
		m->maxwrite = len;
	assert_int_equal(pwrite(o->fd, buf, len, (off_t)offset), (ssize_t)len);
	if (offset + len > o->end)
		o->end = offset + len;
	return NDS_OK;
}

static enum nds_result
mock_hole(void *object, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	(void)object;
	(void)offset;
	(void)len;
	snprintf(err, NDS_ERRBUF_SIZE, "a tarball has no holes");
	fail_msg("hole on the next stage");
	return NDS_FAILED;
}

static enum nds_result
mock_close(void *object, const struct nds_object *obj,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct mock_obj *o = object;
	struct mock *m = o->m;
	enum nds_result r = NDS_OK;

	assert_int_equal(obj->kind, o->kind);
	/* The size is what was handed over, all of it. */
	assert_int_equal(obj->size, o->end);
	assert_int_equal(close(o->fd), 0);
	m->closes++;
	snprintf(where, NDS_WHERE_SIZE, "mock:%s", o->path);
	if (o->kind == NDS_OBJ_ARCHIVE) {
		snprintf(m->archive, sizeof(m->archive), "%s", o->path);
		m->archive_size = obj->size;
		snprintf(m->suffix, sizeof(m->suffix), "%s",
		    obj->suffix != NULL ? obj->suffix : "");
	} else if (o->kind == NDS_OBJ_MANIFEST) {
		snprintf(m->manifest, sizeof(m->manifest), "%s", o->path);
		m->manifest_size = obj->size;
	}
	if (m->fail_close) {
		snprintf(err, NDS_ERRBUF_SIZE, "mock cannot rename");
		r = NDS_FAILED;
	}
	free(o);
	return r;
}

/*
 * Fixtures.
 */

static int
setup(void **state)
{
	struct env *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if (mock_tmpdir(e->base, sizeof(e->base), "test_archive_sink") ==
	    -1 || mock_subdir(e->dumpdir, sizeof(e->dumpdir), e->base,
	    "dump") == -1 || mock_subdir(e->out, sizeof(e->out), e->base,
	    "out") == -1 || mock_subdir(e->ref, sizeof(e->ref), e->base,
	    "ref") == -1)
		return -1;
	e->dfd = open(e->dumpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->dfd == -1)
		return -1;
	host_ctx.dumpdir_fd = e->dfd;
	mock_host_reset("archive");
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	close(e->dfd);
	mock_rmtree(e->base);
	free(e);
	return 0;
}

/*
 * The config as the host builds it, then create. A value the host refuses
 * (only compression's can be: spool_dir takes any string) fails like a
 * refusing create, the host's message naming the option as the daemon's
 * does. On success the config is the caller's to free once the instance
 * is destroyed.
 */
static enum nds_result
try_create(int comp, const char *spool_dir, void **inst, void **config,
    char *err)
{
	static const char *comps[] = { "none", "zstd", "gzip" };
	char setting[2][PATH_MAX], why[128];
	const char *settings[] = { setting[0], NULL, NULL };
	enum nds_result r;

	*config = NULL;
	snprintf(setting[0], sizeof(setting[0]), "compression=%s",
	    comp >= 0 && comp < 3 ? comps[comp] : "bogus");
	if (spool_dir != NULL) {
		snprintf(setting[1], sizeof(setting[1]), "spool_dir=%s",
		    spool_dir);
		settings[1] = setting[1];
	}
	if ((*config = mock_config_try(&M, settings, why, sizeof(why))) ==
	    NULL) {
		snprintf(err, NDS_ERRBUF_SIZE, "option '%s': %s",
		    "compression", why);
		return NDS_FATAL;
	}
	if ((r = M.create(&mock_host, &host_ctx, *config, inst, err)) !=
	    NDS_OK) {
		mock_config_free(&M, *config);
		*config = NULL;
	}
	return r;
}

static void *
mk_sink(int comp, const char *spool_dir, void **config)
{
	char err[NDS_ERRBUF_SIZE] = "";
	void *inst = NULL;

	if (try_create(comp, spool_dir, &inst, config, err) != NDS_OK)
		fail_msg("create: %s", err);
	assert_non_null(inst);
	return inst;
}

/* Begin a dump on a fresh instance, with a reference vmcore beside it. */
static void
start(struct run *run, const struct env *e, int comp, const char *spool_dir)
{
	char err[NDS_ERRBUF_SIZE] = "";

	memset(run, 0, sizeof(*run));
	mock_dump_init(&run->dump, e->dumpdir, e->dfd);
	run->dump.start.tv_nsec = 123456789;
	run->mock.e = e;
	run->mock.in_order = true;
	run->stage = (struct nds_stage){
		.struct_size = sizeof(struct nds_stage),
		.ctx = &run->mock,
		.open = mock_open,
		.write = mock_write,
		.hole = mock_hole,
		.close = mock_close,
	};
	run->inst = mk_sink(comp, spool_dir, &run->config);
	snprintf(run->refpath, sizeof(run->refpath), "%s/vmcore.%" PRIu64,
	    e->ref, run->dump.id);
	run->ref = open(run->refpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	assert_true(run->ref != -1);
	if (M.begin(run->inst, &run->dump, &run->stage, &run->ds, err) !=
	    NDS_OK)
		fail_msg("begin: %s", err);
	assert_non_null(run->ds);
}

static void
finish(struct run *run)
{
	/* Every object the transform opened on the next stage is closed. */
	assert_int_equal(run->mock.opens, run->mock.closes);
	assert_true(run->mock.in_order);
	close(run->ref);
	M.destroy(run->inst);
	mock_config_free(&M, run->config);
}

static void *
do_open(struct run *run, enum nds_object_kind kind)
{
	char err[NDS_ERRBUF_SIZE] = "";
	void *os = NULL;

	if (M.open(run->ds, kind, &os, err) != NDS_OK)
		fail_msg("open %d: %s", (int)kind, err);
	assert_non_null(os);
	return os;
}

/* Write to the vmcore (and its reference copy). */
static void
vwrite(struct run *run, void *os, uint64_t off, const void *buf, size_t len)
{
	char err[NDS_ERRBUF_SIZE] = "";

	if (M.write(os, off, buf, len, err) != NDS_OK)
		fail_msg("write: %s", err);
	assert_int_equal(pwrite(run->ref, buf, len, (off_t)off), (ssize_t)len);
}

static void
vhole(struct run *run, void *os, uint64_t off, uint64_t len)
{
	char err[NDS_ERRBUF_SIZE] = "";
	struct stat sb;

	if (M.hole(os, off, len, err) != NDS_OK)
		fail_msg("hole: %s", err);
	assert_int_equal(fstat(run->ref, &sb), 0);
	if (off < (uint64_t)sb.st_size)
		assert_int_equal(fallocate(run->ref, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len), 0);
}

static void
do_close(struct run *run, void *os, enum nds_object_kind kind, uint64_t size,
    char *where)
{
	struct nds_object obj = { .kind = kind, .size = size };
	char err[NDS_ERRBUF_SIZE] = "", dummy[NDS_WHERE_SIZE];

	if (M.close(os, &obj, where != NULL ? where : dummy, err) != NDS_OK)
		fail_msg("close %d: %s", (int)kind, err);
	if (kind == NDS_OBJ_VMCORE)
		assert_int_equal(ftruncate(run->ref, (off_t)size), 0);
}

/* A small object written in two pieces, the second first. */
static void
put_small(struct run *run, enum nds_object_kind kind, const char *text,
    char *where)
{
	char err[NDS_ERRBUF_SIZE] = "";
	size_t len = strlen(text), half = len / 2;
	void *os = do_open(run, kind);

	if (M.write(os, half, text + half, len - half, err) != NDS_OK ||
	    M.write(os, 0, text, half, err) != NDS_OK)
		fail_msg("write %d: %s", (int)kind, err);
	do_close(run, os, kind, len, where);
}

/* The key, binary, in 4-byte pieces from the end. */
static void
put_key(struct run *run, char *where)
{
	char err[NDS_ERRBUF_SIZE] = "";
	size_t off = sizeof(KEY) - 1, n;
	void *os = do_open(run, NDS_OBJ_KEY);

	while (off > 0) {
		n = off % 4 != 0 ? off % 4 : 4;
		off -= n;
		if (M.write(os, off, KEY + off, n, err) != NDS_OK)
			fail_msg("write key: %s", err);
	}
	do_close(run, os, NDS_OBJ_KEY, sizeof(KEY) - 1, where);
}

static void
do_end(struct run *run)
{
	char err[NDS_ERRBUF_SIZE] = "";

	if (M.end(run->ds, err) != NDS_OK)
		fail_msg("end: %s", err);
	run->ds = NULL;
}

/* Pseudo-random bytes: incompressible, different per seed. */
static void
fill(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

/*
 * Checking the results.
 */

static bool
have_tool(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static void
need_tools(void)
{
	if (!have_tool("bsdtar") || !have_tool("tar") || !have_tool("zstd") ||
	    !have_tool("gzip"))
		skip();
}

static int
run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run_cmd(const char *fmt, ...)
{
	char cmd[3 * PATH_MAX];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Extract a tarball with "bsdtar" or "tar" (GNU) into <base>/x-<tag>.N. */
static void
extract(const struct env *e, const char *tool, const char *tarball,
    const char *tag, char *dir, size_t dirlen)
{
	snprintf(dir, dirlen, "%s/x-%s.%u", e->base, tag, ++extractions);
	assert_int_equal(mkdir(dir, 0700), 0);
	if (run_cmd("cd '%s' && %s -xf '%s'", dir, tool, tarball) != 0)
		fail_msg("%s -xf %s failed", tool, tarball);
}

/* dir/name into path, or the test fails: a cut path would test another file. */
static void
join_path(char *path, size_t size, const char *dir, const char *name)
{
	if (snprintf(path, size, "%s/%s", dir, name) >= (int)size)
		fail_msg("path too long: %s/%s", dir, name);
}

static void
assert_content(const char *dir, const char *name, const void *want,
    size_t wantlen)
{
	char path[2 * PATH_MAX];
	size_t len;
	char *got;

	join_path(path, sizeof(path), dir, name);
	got = mock_slurp_at(AT_FDCWD, path, &len);
	assert_int_equal(len, wantlen);
	assert_memory_equal(got, want, len);
	free(got);
}

static void
assert_absent(const char *dir, const char *name)
{
	char path[2 * PATH_MAX];

	join_path(path, sizeof(path), dir, name);
	mock_assert_absent_at(AT_FDCWD, path);
}

/* The next offset at or after off where fd has data, or size. */
static uint64_t
next_data(int fd, uint64_t off, uint64_t size)
{
	off_t r = lseek(fd, (off_t)off, SEEK_DATA);

	if (r == -1) {
		assert_int_equal(errno, ENXIO);
		return size;
	}
	return (uint64_t)r;
}

/*
 * Two files are equal, compared only where either has data (holes read
 * as zeros anyway): fast for 4 GiB sparse files.
 */
static void
assert_same_sparse(const char *want, const char *got)
{
	static char a[MiB], b[MiB];
	struct stat sa, sb;
	uint64_t off = 0, da, db, size;
	size_t n;
	int fa, fb;

	fa = open(want, O_RDONLY | O_CLOEXEC);
	fb = open(got, O_RDONLY | O_CLOEXEC);
	if (fa == -1 || fb == -1)
		fail_msg("%s or %s: %s", want, got, strerror(errno));
	assert_int_equal(fstat(fa, &sa), 0);
	assert_int_equal(fstat(fb, &sb), 0);
	if (sa.st_size != sb.st_size)
		fail_msg("%s: %jd bytes, want %jd", got, (intmax_t)sb.st_size,
		    (intmax_t)sa.st_size);
	size = (uint64_t)sa.st_size;
	while (off < size) {
		da = next_data(fa, off, size);
		db = next_data(fb, off, size);
		off = da < db ? da : db;
		if (off >= size)
			break;
		n = size - off < sizeof(a) ? (size_t)(size - off) : sizeof(a);
		assert_int_equal(pread(fa, a, n, (off_t)off), (ssize_t)n);
		assert_int_equal(pread(fb, b, n, (off_t)off), (ssize_t)n);
		if (memcmp(a, b, n) != 0)
			fail_msg("%s differs from %s near offset %" PRIu64, got,
			    want, off);
		off += n;
	}
	close(fa);
	close(fb);
}

static void
assert_sparse(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	if ((uint64_t)sb.st_blocks * 512 >= (uint64_t)sb.st_size)
		fail_msg("%s: %jd blocks for %jd bytes: not sparse", path,
		    (intmax_t)sb.st_blocks, (intmax_t)sb.st_size);
}

/*
 * The entries, in order, read back with libarchive: names, types, modes,
 * owners and times as the spec says. names is NULL-terminated, relative
 * to the top directory; the top directory itself comes first.
 */
static void
assert_entries(const char *tarball, const char *const *names)
{
	struct archive_entry *ent;
	struct archive *a;
	char want[PATH_MAX], got[PATH_MAX];
	size_t n, i = 0;

	assert_non_null(a = archive_read_new());
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	assert_int_equal(archive_read_open_filename(a, tarball, 65536),
	    ARCHIVE_OK);
	while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
		snprintf(got, sizeof(got), "%s", archive_entry_pathname(ent));
		n = strlen(got);
		if (n > 0 && got[n - 1] == '/')
			got[n - 1] = '\0';
		if (i == 0) {
			assert_string_equal(got, TOP);
			assert_int_equal(archive_entry_filetype(ent), AE_IFDIR);
			assert_int_equal(archive_entry_perm(ent), 0700);
		} else {
			assert_non_null(names[i - 1]);
			snprintf(want, sizeof(want), "%s/%s", TOP,
			    names[i - 1]);
			assert_string_equal(got, want);
			assert_int_equal(archive_entry_filetype(ent), AE_IFREG);
			assert_int_equal(archive_entry_perm(ent), 0600);
		}
		assert_string_equal(archive_entry_uname(ent), "root");
		assert_string_equal(archive_entry_gname(ent), "root");
		assert_int_equal(archive_entry_uid(ent), 0);
		assert_int_equal(archive_entry_mtime(ent), MOCK_T_START);
		i++;
	}
	assert_null(names[i > 0 ? i - 1 : 0]);
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

/* How many data regions (sparse map entries) the vmcore entry has. */
static uint64_t
count_regions(const char *tarball)
{
	struct archive_entry *ent;
	struct archive *a;
	const void *buf;
	uint64_t n = 0, end = UINT64_MAX;
	la_int64_t off;
	size_t len;

	assert_non_null(a = archive_read_new());
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	assert_int_equal(archive_read_open_filename(a, tarball, 65536),
	    ARCHIVE_OK);
	while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(ent), TOP "/vmcore") != 0)
			continue;
		while (archive_read_data_block(a, &buf, &len, &off) ==
		    ARCHIVE_OK) {
			if (len == 0)
				continue;
			if ((uint64_t)off != end)
				n++;
			end = (uint64_t)off + len;
		}
	}
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
	return n;
}

/* Stream checks: compressed with the right tool, or a plain tar. */
static void
assert_stream(const char *tarball, int comp)
{
	char magic[263];
	int fd;

	switch (comp) {
	case C_ZSTD:
		if (run_cmd("zstd -q -t < '%s'", tarball) != 0)
			fail_msg("zstd -t rejects %s", tarball);
		break;
	case C_GZIP:
		if (run_cmd("gzip -t < '%s'", tarball) != 0)
			fail_msg("gzip -t rejects %s", tarball);
		break;
	default:
		fd = open(tarball, O_RDONLY | O_CLOEXEC);
		assert_true(fd != -1);
		assert_int_equal(pread(fd, magic, sizeof(magic), 0),
		    (ssize_t)sizeof(magic));
		close(fd);
		assert_memory_equal(magic + 257, "ustar", 5);
		break;
	}
}

/* Nothing shows in the dump directory: the spool has no name. */
static void
assert_dir_empty(int dfd)
{
	struct dirent *de;
	DIR *dp;
	int fd;

	assert_true((fd = dup(dfd)) != -1);
	assert_non_null(dp = fdopendir(fd));
	rewinddir(dp);
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			fail_msg("%s visible in the dump directory",
			    de->d_name);
	closedir(dp);
}

/*
 * While a dump runs, the dump directory holds its spool's folder alone,
 * hidden (keep.h): the vmcore's spool in it, locked, and a copy of the
 * key once the key closed (key NULL: not yet).
 */
static void
assert_kept(int dfd, const char *key, size_t keylen)
{
	struct dirent *de;
	struct stat sb;
	char *got;
	size_t len;
	DIR *dp;
	int fd, vfd, n = 0;

	assert_true((fd = dup(dfd)) != -1);
	assert_non_null(dp = fdopendir(fd));
	rewinddir(dp);
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (strncmp(de->d_name, ".archive-", 9) != 0)
			fail_msg("%s in the dump directory", de->d_name);
		assert_true((fd = openat(dfd, de->d_name, O_RDONLY |
		    O_DIRECTORY)) != -1);
		assert_int_equal(fstatat(fd, "vmcore", &sb, 0), 0);
		assert_true(S_ISREG(sb.st_mode));
		/* Its dump holds the spool's lock. */
		assert_true((vfd = openat(fd, "vmcore", O_RDWR)) != -1);
		assert_int_equal(flock(vfd, LOCK_EX | LOCK_NB), -1);
		assert_int_equal(errno, EWOULDBLOCK);
		close(vfd);
		if (key == NULL) {
			mock_assert_absent_at(fd, "key");
		} else {
			got = mock_slurp_at(fd, "key", &len);
			assert_int_equal(len, keylen);
			assert_memory_equal(got, key, keylen);
			free(got);
		}
		close(fd);
	}
	closedir(dp);
	assert_int_equal(n, 1);
}

/*
 * Extract with both tools: the vmcore (named within the top directory)
 * must equal the reference, info, key and manifest their texts or be
 * absent (NULL). The extracted vmcores' paths land in run->vm_*.
 */
static void
check_both(const struct env *e, struct run *run, const char *vmcore,
    const char *info, const char *key, const char *manifest)
{
	static const char *const tools[][2] = {
		{ "bsdtar", "bsdtar" }, { "tar", "gnutar" },
	};
	char dir[PATH_MAX], top[2 * PATH_MAX], path[3 * PATH_MAX];
	size_t i;

	for (i = 0; i < 2; i++) {
		extract(e, tools[i][0], run->mock.archive, tools[i][1], dir,
		    sizeof(dir));
		snprintf(top, sizeof(top), "%s/%s", dir, TOP);
		if (vmcore != NULL) {
			snprintf(path, sizeof(path), "%s/%s", top, vmcore);
			assert_same_sparse(run->refpath, path);
			snprintf(i == 0 ? run->vm_bsd : run->vm_gnu,
			    sizeof(run->vm_bsd), "%s", path);
		}
		if (info != NULL)
			assert_content(top, "info", info, strlen(info));
		else
			assert_absent(top, "info");
		if (key != NULL)
			assert_content(top, "key", key, sizeof(KEY) - 1);
		else
			assert_absent(top, "key");
		if (manifest != NULL)
			assert_content(top, "manifest.json", manifest,
			    strlen(manifest));
		else
			assert_absent(top, "manifest.json");
	}
}

/*
 * Tests.
 */

static void
test_descriptor(void **state)
{
	const struct nds_option *o;
	unsigned int n = 0;

	(void)state;
	assert_int_equal(M.abi_major, NDS_ABI_MAJOR);
	assert_int_equal(M.abi_minor, NDS_ABI_MINOR);
	assert_int_equal(M.struct_size, sizeof(struct nds_sink_module));
	assert_string_equal(M.name, "archive");
	/* One tarball of the dump: a chain holds one such transform. */
	assert_int_equal(M.caps, NDS_CAP_TRANSFORM | NDS_CAP_BUNDLE);
	/* Every kind comes: they all go in the tarball. */
	assert_int_equal(M.kinds, 0);
	assert_non_null(M.begin);
	for (o = M.options; o->name != NULL; o++)
		n++;
	assert_int_equal(n, 2);
	assert_string_equal(M.options[0].name, "compression");
	assert_int_equal(M.options[0].type, NDS_OPT_ENUM);
	assert_string_equal(M.options[0].choices, "none|zstd|gzip");
	assert_string_equal(M.options[0].default_value, "zstd");
	assert_string_equal(M.options[1].name, "spool_dir");
	assert_int_equal(M.options[1].type, NDS_OPT_STRING);
	assert_null(M.options[1].default_value);
}

static void
test_bad_options(void **state)
{
	char err[NDS_ERRBUF_SIZE];
	void *inst = NULL, *config;

	(void)state;
	assert_int_equal(try_create(7, NULL, &inst, &config, err), NDS_FATAL);
	assert_null(inst);
	assert_non_null(strstr(err, "compression"));
	assert_int_equal(try_create(C_ZSTD, "", &inst, &config, err),
	    NDS_FATAL);
	assert_null(inst);
	assert_non_null(strstr(err, "spool_dir"));
}

/*
 * A whole dump: the vmcore arrives out of order, with holes, a rewrite
 * and a hole punched into data already there, and ends neither on a page
 * nor on a tar block; then info, key and manifest. The tarball must
 * extract with bsdtar and GNU tar to the same bytes, sparse.
 */
static void
roundtrip(const struct env *e, int comp, const char *suffix)
{
	static const char *const names[] = {
		"vmcore", "info", "msgbuf", "key", "manifest.json", NULL,
	};
	const uint64_t size = 8 * MiB + 123;
	/* Larger than info, key and manifest may be. */
	const size_t msglen = 3 * MiB / 2;
	char where[NDS_WHERE_SIZE], path[2 * PATH_MAX], *buf, *got, *msg;
	struct nds_object obj = { .kind = NDS_OBJ_MSGBUF, .size = msglen };
	char err[NDS_ERRBUF_SIZE] = "";
	struct run run;
	size_t len, i;
	void *os;

	need_tools();
	start(&run, e, comp, NULL);
	assert_non_null(buf = malloc(MiB));

	os = do_open(&run, NDS_OBJ_VMCORE);
	fill(buf, MiB, 1);
	vwrite(&run, os, 4 * MiB, buf, MiB);
	fill(buf, 256 * KiB, 2);
	vwrite(&run, os, 0, buf, 256 * KiB);
	fill(buf, 5000, 3);
	vwrite(&run, os, MiB + 100, buf, 5000);
	fill(buf, 512 * KiB, 4);
	vwrite(&run, os, 2 * MiB, buf, 512 * KiB);
	/* A hole over data already spooled, then part of it rewritten. */
	vhole(&run, os, 2 * MiB + 64 * KiB, 128 * KiB);
	fill(buf, 8 * KiB, 5);
	vwrite(&run, os, 2 * MiB + 96 * KiB, buf, 8 * KiB);
	/* Beyond the data: nothing to do. */
	vhole(&run, os, 6 * MiB, MiB);
	fill(buf, 123, 6);
	vwrite(&run, os, 8 * MiB, buf, 123);
	fill(buf, 300, 7);
	vwrite(&run, os, 1000, buf, 300);
	assert_kept(e->dfd, NULL, 0);
	run.dump.status = NDS_STATUS_COMPLETE;
	run.dump.vmcore_suffix = "";
	do_close(&run, os, NDS_OBJ_VMCORE, size, where);
	assert_string_equal(where, "");

	put_small(&run, NDS_OBJ_INFO, INFO, where);
	assert_string_equal(where, "");
	assert_non_null(msg = malloc(msglen));
	for (i = 0; i < msglen; i++)
		msg[i] = i % 64 == 63 ? '\n' : "<6>kernel: "[i % 11];
	os = do_open(&run, NDS_OBJ_MSGBUF);
	if (M.write(os, 0, msg, msglen, err) != NDS_OK)
		fail_msg("msgbuf: %s", err);
	assert_int_equal(M.close(os, &obj, where, err), NDS_OK);
	put_key(&run, where);
	assert_string_equal(where, "");
	assert_kept(e->dfd, KEY, sizeof(KEY) - 1);
	put_small(&run, NDS_OBJ_MANIFEST, MANIFEST, where);
	/* The manifest waits for the tarball: nothing went on yet. */
	assert_int_equal(run.mock.closes, 0);
	assert_string_equal(where, "");

	do_end(&run);
	/* The tarball, then the manifest beside it, as it is. */
	assert_int_equal(run.mock.closes, 2);
	got = mock_slurp_at(AT_FDCWD, run.mock.manifest, &len);
	assert_int_equal(len, strlen(MANIFEST));
	assert_string_equal(got, MANIFEST);
	free(got);
	assert_string_equal(run.mock.suffix, suffix);
	/* Streamed in blocks, not handed over in one piece. */
	assert_true(run.mock.maxwrite <= MiB + 64 * KiB);
	assert_stream(run.mock.archive, comp);
	assert_entries(run.mock.archive, names);
	/*
	 * Sparse, not one block of data: [0, 256K), [1M+100, +5000),
	 * [2M, +64K), [2M+96K, +8K), [2M+192K, 2.5M), [4M, 5M), [8M, +123),
	 * rounded to the file system's blocks (7 with 4 KiB ones).
	 */
	assert_in_range(count_regions(run.mock.archive), 4, 7);
	assert_dir_empty(e->dfd);
	check_both(e, &run, "vmcore", INFO, KEY, MANIFEST);
	/* Both restore the pax sparse entry sparse. */
	assert_sparse(run.vm_gnu);
	assert_sparse(run.vm_bsd);
	snprintf(path, sizeof(path), "%.*s/msgbuf",
	    (int)(strlen(run.vm_gnu) - strlen("/vmcore")), run.vm_gnu);
	got = mock_slurp_at(AT_FDCWD, path, &len);
	assert_int_equal(len, msglen);
	assert_memory_equal(got, msg, msglen);
	free(got);
	free(msg);
	free(buf);
	finish(&run);
}

static void
test_roundtrip_none(void **state)
{
	roundtrip(*state, C_NONE, ".tar");
}

static void
test_roundtrip_zstd(void **state)
{
	roundtrip(*state, C_ZSTD, ".tar.zst");
}

static void
test_roundtrip_gzip(void **state)
{
	roundtrip(*state, C_GZIP, ".tar.gz");
}

/* The vmcore's name inside: encrypted, and the kernel's own suffix. */
static void
test_names(void **state)
{
	static const char *const enc[] = {
		"vmcore_encrypted", "info", "key", "manifest.json", NULL,
	};
	static const char *const zst[] = {
		"vmcore.zst", "info", "manifest.json", NULL,
	};
	const struct env *e = *state;
	struct run run;
	char buf[4 * KiB];
	void *os;

	need_tools();
	start(&run, e, C_GZIP, NULL);
	os = do_open(&run, NDS_OBJ_VMCORE);
	fill(buf, sizeof(buf), 21);
	vwrite(&run, os, 0, buf, sizeof(buf));
	run.dump.status = NDS_STATUS_COMPLETE;
	run.dump.encrypted = true;
	do_close(&run, os, NDS_OBJ_VMCORE, sizeof(buf), NULL);
	put_small(&run, NDS_OBJ_INFO, INFO, NULL);
	put_key(&run, NULL);
	put_small(&run, NDS_OBJ_MANIFEST, MANIFEST, NULL);
	do_end(&run);
	assert_entries(run.mock.archive, enc);
	finish(&run);

	start(&run, e, C_NONE, NULL);
	os = do_open(&run, NDS_OBJ_VMCORE);
	vwrite(&run, os, 0, buf, sizeof(buf));
	run.dump.status = NDS_STATUS_COMPLETE;
	run.dump.vmcore_suffix = ".zst";
	do_close(&run, os, NDS_OBJ_VMCORE, sizeof(buf), NULL);
	put_small(&run, NDS_OBJ_INFO, INFO, NULL);
	put_small(&run, NDS_OBJ_MANIFEST, MANIFEST, NULL);
	do_end(&run);
	assert_entries(run.mock.archive, zst);
	finish(&run);
}

/*
 * An incomplete dump (here: the end never arrived, so the vmcore ends in
 * a long hole) still becomes a tarball; the terminal names it.
 */
static void
test_incomplete(void **state)
{
	static const char *const names[] = {
		"vmcore", "info", "manifest.json", NULL,
	};
	const struct env *e = *state;
	struct run run;
	char buf[64 * KiB];
	void *os;

	need_tools();
	start(&run, e, C_ZSTD, NULL);
	os = do_open(&run, NDS_OBJ_VMCORE);
	fill(buf, sizeof(buf), 31);
	vwrite(&run, os, 0, buf, sizeof(buf));
	vwrite(&run, os, 3 * MiB, buf, 1000);
	run.dump.status = NDS_STATUS_INCOMPLETE;
	run.dump.reason = "client timed out";
	do_close(&run, os, NDS_OBJ_VMCORE, 16 * MiB, NULL);
	put_small(&run, NDS_OBJ_INFO, INFO, NULL);
	put_small(&run, NDS_OBJ_MANIFEST, MANIFEST, NULL);
	do_end(&run);
	assert_entries(run.mock.archive, names);
	check_both(e, &run, "vmcore", INFO, NULL, MANIFEST);
	finish(&run);
}

/* No vmcore at all: the tarball holds what there is. */
static void
test_no_vmcore(void **state)
{
	static const char *const names[] = {
		"info", "key", "manifest.json", NULL,
	};
	const struct env *e = *state;
	struct run run;

	need_tools();
	start(&run, e, C_ZSTD, NULL);
	run.dump.status = NDS_STATUS_INCOMPLETE;
	/* The key came (its copy beside a spool), the vmcore never did. */
	put_key(&run, NULL);
	put_small(&run, NDS_OBJ_INFO, INFO, NULL);
	put_small(&run, NDS_OBJ_MANIFEST, MANIFEST, NULL);
	do_end(&run);
	assert_entries(run.mock.archive, names);
	check_both(e, &run, NULL, INFO, KEY, MANIFEST);
	assert_dir_empty(e->dfd);
	finish(&run);
}

/* A vmcore of holes only, and one of zero bytes. */
static void
test_all_holes(void **state)
{
	static const char *const names[] = { "vmcore", NULL };
	const struct env *e = *state;
	struct run run;
	void *os;

	need_tools();
	start(&run, e, C_NONE, NULL);
	os = do_open(&run, NDS_OBJ_VMCORE);
	vhole(&run, os, 0, 32 * MiB);
	run.dump.status = NDS_STATUS_COMPLETE;
	do_close(&run, os, NDS_OBJ_VMCORE, 32 * MiB, NULL);
	do_end(&run);
	/* Stored sparse: no 32 MiB of zeros in the tarball. */
	assert_true(run.mock.archive_size < 64 * KiB);
	assert_entries(run.mock.archive, names);
	check_both(e, &run, "vmcore", NULL, NULL, NULL);
	assert_sparse(run.vm_gnu);
	assert_sparse(run.vm_bsd);
	finish(&run);

	start(&run, e, C_NONE, NULL);
	os = do_open(&run, NDS_OBJ_VMCORE);
	do_close(&run, os, NDS_OBJ_VMCORE, 0, NULL);
	do_end(&run);
	assert_entries(run.mock.archive, names);
	check_both(e, &run, "vmcore", NULL, NULL, NULL);
	finish(&run);
}

/* The process's peak RSS in KiB (VmHWM), or -1. */
static long
peak_rss(void)
{
	char line[256];
	long kib = -1;
	FILE *fp;

	if ((fp = fopen("/proc/self/status", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

/* Start measuring the peak RSS from here (Linux >= 4.0), or -1. */
static long
peak_rss_reset(void)
{
	FILE *fp;

	if ((fp = fopen("/proc/self/clear_refs", "we")) == NULL)
		return -1;
	if (fputs("5", fp) == EOF) {
		fclose(fp);
		return -1;
	}
	if (fclose(fp) == EOF)
		return -1;
	return peak_rss();
}

/*
 * 4 GiB of vmcore with a few MiB of data: a small tarball, quickly, in
 * bounded memory, restored sparse and exact.
 */
static void
test_large_sparse(void **state)
{
	static const char *const names[] = {
		"vmcore", "info", "manifest.json", NULL,
	};
	static const uint64_t at[] = {
		0, 1 * GiB, 2 * GiB + 512 * MiB, 4 * GiB - 256 * KiB,
	};
	const struct env *e = *state;
	const uint64_t size = 4 * GiB;
	struct timespec t0, t1;
	long rss0, rss1;
	struct run run;
	double secs;
	char *buf;
	size_t i;
	void *os;

	need_tools();
	start(&run, e, C_NONE, NULL);
	assert_non_null(buf = malloc(MiB));
	os = do_open(&run, NDS_OBJ_VMCORE);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		fill(buf, MiB, 40 + i);
		vwrite(&run, os, at[i], buf,
		    at[i] + MiB > size ? (size_t)(size - at[i]) : MiB);
	}
	run.dump.status = NDS_STATUS_COMPLETE;
	do_close(&run, os, NDS_OBJ_VMCORE, size, NULL);
	put_small(&run, NDS_OBJ_INFO, INFO, NULL);
	put_small(&run, NDS_OBJ_MANIFEST, MANIFEST, NULL);

	rss0 = peak_rss_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do_end(&run);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rss1 = peak_rss();
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "4 GiB sparse vmcore: tarball %" PRIu64 " bytes in "
	    "%.3f s, peak RSS %ld KiB -> %ld KiB\n", run.mock.archive_size,
	    secs, rss0, rss1);
	/* 3.25 MiB of data: the tarball is about that, not 4 GiB. */
	assert_true(run.mock.archive_size < 4 * MiB);
	/* Generous, for sanitizer builds. */
	assert_true(secs < 30.0);
	if (rss0 >= 0 && rss1 >= 0)
		assert_true(rss1 - rss0 < 64 * 1024);

	assert_entries(run.mock.archive, names);
	check_both(e, &run, "vmcore", INFO, NULL, MANIFEST);
	assert_sparse(run.vm_gnu);
	assert_sparse(run.vm_bsd);
	free(buf);
	finish(&run);
}

/*
 * More data regions than a sparse map may hold in bounded memory: short
 * holes get stored as zeros, and the result is still exact.
 */
static void
test_many_regions(void **state)
{
	static const char *const names[] = { "vmcore", NULL };
	const struct env *e = *state;
	const uint64_t pages = 2 * 70000;
	char buf[4 * KiB];
	struct run run;
	uint64_t i;
	void *os;

	need_tools();
	start(&run, e, C_ZSTD, NULL);
	os = do_open(&run, NDS_OBJ_VMCORE);
	/* Every other page: 70000 regions, above the 65536 cap. */
	memset(buf, 'p', sizeof(buf));
	for (i = 0; i < pages; i += 2) {
		memcpy(buf, &i, sizeof(i));
		vwrite(&run, os, i * sizeof(buf), buf, sizeof(buf));
	}
	/* And one long hole, which stays one. */
	vwrite(&run, os, pages * sizeof(buf) + 64 * MiB, buf, sizeof(buf));
	run.dump.status = NDS_STATUS_COMPLETE;
	do_close(&run, os, NDS_OBJ_VMCORE, pages * sizeof(buf) + 65 * MiB,
	    NULL);
	do_end(&run);
	assert_entries(run.mock.archive, names);
	/* The 4 KiB holes merged away; the 64 MiB one is still a hole. */
	assert_int_equal(count_regions(run.mock.archive), 2);
	check_both(e, &run, "vmcore", NULL, NULL, NULL);
	finish(&run);
}

/* The next stage fails to open, write or close the tarball. */
static void
test_next_stage_fails(void **state)
{
	const struct env *e = *state;
	char err[NDS_ERRBUF_SIZE];
	char buf[256 * KiB];
	struct run run;
	int how;
	void *os;

	for (how = 0; how < 3; how++) {
		start(&run, e, how == 1 ? C_NONE : C_ZSTD, NULL);
		os = do_open(&run, NDS_OBJ_VMCORE);
		fill(buf, sizeof(buf), 50);
		vwrite(&run, os, 0, buf, sizeof(buf));
		run.dump.status = NDS_STATUS_COMPLETE;
		do_close(&run, os, NDS_OBJ_VMCORE, sizeof(buf), NULL);
		put_small(&run, NDS_OBJ_INFO, INFO, NULL);
		if (how == 0)
			run.mock.fail_open = NDS_OBJ_ARCHIVE + 1;
		else if (how == 1)
			run.mock.fail_write_at = 100 * KiB;
		else
			run.mock.fail_close = true;
		err[0] = '\0';
		assert_int_equal(M.end(run.ds, err), NDS_FAILED);
		if (how == 0)
			assert_string_equal(err,
			    "next stage: mock refuses to open 4");
		else if (how == 1)
			assert_int_equal(strncmp(err,
			    "next stage: mock disk full at ", 30), 0);
		else
			assert_string_equal(err,
			    "next stage: mock cannot rename");
		assert_int_equal(run.mock.opens, how == 0 ? 0 : 1);
		finish(&run);
	}
}

/*
 * The next stage cannot take the manifest: the tarball (with the manifest
 * in it) still goes out first; end reports the failure.
 */
static void
test_manifest_pass_fails(void **state)
{
	static const char *const names[] = {
		"vmcore", "info", "manifest.json", NULL,
	};
	const struct env *e = *state;
	struct nds_object obj = { .kind = NDS_OBJ_MANIFEST };
	char err[NDS_ERRBUF_SIZE] = "", where[NDS_WHERE_SIZE];
	char buf[4 * KiB];
	struct run run;
	void *os;

	need_tools();
	start(&run, e, C_ZSTD, NULL);
	os = do_open(&run, NDS_OBJ_VMCORE);
	fill(buf, sizeof(buf), 60);
	vwrite(&run, os, 0, buf, sizeof(buf));
	run.dump.status = NDS_STATUS_COMPLETE;
	do_close(&run, os, NDS_OBJ_VMCORE, sizeof(buf), NULL);
	put_small(&run, NDS_OBJ_INFO, INFO, NULL);
	run.mock.fail_open = NDS_OBJ_MANIFEST + 1;
	os = do_open(&run, NDS_OBJ_MANIFEST);
	assert_int_equal(M.write(os, 0, MANIFEST, strlen(MANIFEST), err),
	    NDS_OK);
	obj.size = strlen(MANIFEST);
	/* Kept for the end: the tarball goes first. */
	assert_int_equal(M.close(os, &obj, where, err), NDS_OK);
	assert_int_equal(M.end(run.ds, err), NDS_FAILED);
	run.mock.fail_open = 0;
	assert_non_null(strstr(err, "mock refuses to open 3"));
	assert_entries(run.mock.archive, names);
	check_both(e, &run, "vmcore", INFO, NULL, MANIFEST);
	finish(&run);
}

/*
 * A zstd archive dump spooling into "spool", its vmcore open with len
 * pseudo-random bytes (seed) written at offset 0: the open vmcore.
 */
static void *
spooled(const struct env *e, struct run *run, char *buf, size_t len,
    uint64_t seed)
{
	void *os;

	need_tools();
	assert_int_equal(mkdirat(e->dfd, "spool", 0700), 0);
	start(run, e, C_ZSTD, "spool");
	os = do_open(run, NDS_OBJ_VMCORE);
	fill(buf, len, seed);
	vwrite(run, os, 0, buf, len);
	return os;
}

/*
 * After a failed write or hole the host stops writing, but close (which
 * fails), the small objects and end (which fails with msg) still come.
 * The tarball holds every byte that was spooled, the vmcore to size (ref
 * has it), and no manifest goes beside a tarball that lacks data: it
 * would call it stored.
 */
static void
end_failed(const struct env *e, struct run *run, void *os, uint64_t size,
    const char *msg)
{
	static const char *const names[] = {
		"vmcore", "info", "manifest.json", NULL,
	};
	struct nds_object obj = { .kind = NDS_OBJ_VMCORE, .size = size };
	char err[NDS_ERRBUF_SIZE] = "", where[NDS_WHERE_SIZE];

	run->dump.status = NDS_STATUS_COMPLETE;
	assert_int_equal(M.close(os, &obj, where, err), NDS_FAILED);
	assert_int_equal(ftruncate(run->ref, (off_t)size), 0);
	put_small(run, NDS_OBJ_INFO, INFO, NULL);
	put_small(run, NDS_OBJ_MANIFEST, MANIFEST, NULL);
	assert_int_equal(M.end(run->ds, err), NDS_FAILED);
	assert_non_null(strstr(err, msg));
	assert_int_equal(run->mock.opens, 1);
	assert_entries(run->mock.archive, names);
	check_both(e, run, "vmcore", INFO, NULL, MANIFEST);
	finish(run);
}

/*
 * The spool fills up (here: RLIMIT_FSIZE, EFBIG): the write fails with a
 * message naming the spool and the offset, and end still emits a tarball
 * of what was spooled, then reports the failure.
 */
static void
test_spool_full(void **state)
{
	const struct env *e = *state;
	char err[NDS_ERRBUF_SIZE] = "", buf[64 * KiB];
	struct rlimit old, lim;
	struct run run;
	void *os;

	os = spooled(e, &run, buf, sizeof(buf), 70);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 128 * KiB;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(M.write(os, MiB, buf, sizeof(buf), err), NDS_FAILED);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(strstr(err, "spool in spool: write at offset 1048576: "));
	/* What was spooled is there: 64 KiB of data, then zeros. */
	end_failed(e, &run, os, 2 * MiB,
	    "spool in spool: write at offset 1048576: ");
}

/*
 * A hole over spooled data that can be neither punched nor written (EIO):
 * the object fails with a message naming the spool and the offset, and
 * end still emits a tarball of what was spooled, the data under the hole
 * included (nothing received is lost), then reports the failure.
 */
static void
test_hole_failure(void **state)
{
	const struct env *e = *state;
	char err[NDS_ERRBUF_SIZE] = "", buf[64 * KiB];
	struct run run;
	void *os;

	os = spooled(e, &run, buf, sizeof(buf), 0);
	mock_punch_errno = EIO;
	assert_int_equal(M.hole(os, 4 * KiB, 4 * KiB, err), NDS_FAILED);
	mock_punch_errno = 0;
	assert_non_null(strstr(err, "spool in spool: hole at offset 4096: "));
	end_failed(e, &run, os, 256 * KiB,
	    "spool in spool: hole at offset 4096: ");
}

/* No spool at all (spool_dir missing): the tarball holds the rest. */
static void
test_spool_missing(void **state)
{
	static const char *const names[] = { "info", "manifest.json", NULL };
	const struct env *e = *state;
	char err[NDS_ERRBUF_SIZE] = "";
	struct run run;
	void *os = NULL;

	need_tools();
	start(&run, e, C_GZIP, "nonexistent");
	assert_int_equal(M.open(run.ds, NDS_OBJ_VMCORE, &os, err), NDS_FAILED);
	assert_null(os);
	assert_string_equal(err,
	    "spool in nonexistent: No such file or directory");
	run.dump.status = NDS_STATUS_INCOMPLETE;
	put_small(&run, NDS_OBJ_INFO, INFO, NULL);
	put_small(&run, NDS_OBJ_MANIFEST, MANIFEST, NULL);
	assert_int_equal(M.end(run.ds, err), NDS_FAILED);
	assert_non_null(strstr(err, "spool in nonexistent"));
	assert_entries(run.mock.archive, names);
	check_both(e, &run, NULL, INFO, NULL, MANIFEST);
	finish(&run);
}

/* Info, key and manifest are capped at 1 MiB each. */
static void
test_small_too_large(void **state)
{
	static const char *const names[] = { "manifest.json", NULL };
	const struct env *e = *state;
	struct nds_object obj = { .kind = NDS_OBJ_INFO, .size = MiB + 1 };
	char err[NDS_ERRBUF_SIZE] = "", where[NDS_WHERE_SIZE];
	struct run run;
	void *os;

	need_tools();
	start(&run, e, C_NONE, NULL);
	os = do_open(&run, NDS_OBJ_INFO);
	assert_int_equal(M.write(os, 0, "x", 1, err), NDS_OK);
	assert_int_equal(M.write(os, MiB, "y", 1, err), NDS_FAILED);
	assert_string_equal(err, "info: larger than 1048576 bytes");
	assert_int_equal(M.close(os, &obj, where, err), NDS_FAILED);
	/* Only a size beyond the cap, with no write past it. */
	os = do_open(&run, NDS_OBJ_KEY);
	obj.kind = NDS_OBJ_KEY;
	assert_int_equal(M.hole(os, 0, 2 * MiB, err), NDS_OK);
	assert_int_equal(M.close(os, &obj, where, err), NDS_FAILED);
	assert_string_equal(err, "key: larger than 1048576 bytes");
	put_small(&run, NDS_OBJ_MANIFEST, MANIFEST, NULL);
	assert_int_equal(M.end(run.ds, err), NDS_FAILED);
	assert_string_equal(err, "info: larger than 1048576 bytes "
	    "(the tarball holds what was received)");
	assert_entries(run.mock.archive, names);
	check_both(e, &run, NULL, NULL, NULL, MANIFEST);
	finish(&run);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_descriptor),
		T(test_bad_options),
		T(test_roundtrip_none),
		T(test_roundtrip_zstd),
		T(test_roundtrip_gzip),
		T(test_names),
		T(test_incomplete),
		T(test_no_vmcore),
		T(test_all_holes),
		T(test_large_sparse),
		T(test_many_regions),
		T(test_next_stage_fails),
		T(test_manifest_pass_fails),
		T(test_spool_full),
		T(test_hole_failure),
		T(test_spool_missing),
		T(test_small_too_large),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
