/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the file sink (sinks/file/file.c, compiled in). Every call
 * goes through the exported descriptor, as the host would make it, against
 * a fresh mkdtemp tree per test:
 *
 *   <tmp>/dump      the server's dump directory
 *   <tmp>/outside   must stay empty whatever a HERALD path says
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>

#include "netdump/sink.h"

#include "mock_host.h"

/* The module's descriptor, from sinks/file/file.c compiled in. */
extern const struct nds_sink_module nds_sink_module;

#define M	nds_sink_module
#define KiB	1024u
#define MiB	(1024u * 1024u)

struct env {
	char	base[PATH_MAX];
	char	dumpdir[PATH_MAX];
	char	outside[PATH_MAX];
	int	dfd;		/* the dump directory */
};

/* What one stored dump reported, object by object. */
struct stored {
	char	vmcore[NDS_WHERE_SIZE];
	char	info[NDS_WHERE_SIZE];
	char	key[NDS_WHERE_SIZE];
	char	manifest[NDS_WHERE_SIZE];
};

static bool openat2_enosys;

/*
 * The configs the host filled for this test's sinks: a sink keeps the
 * pointer until destroy, so they go at teardown.
 */
static void *configs[32];
static size_t nconfigs;

#define REMOVED		"retention: removed dump"

/*
 * Stand in for libc's syscall(2) so a test can pretend the kernel has no
 * openat2 and make the sink take its component-by-component fallback.
 */
long
syscall(long number, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;
	int i;

	if (number == SYS_openat2 && openat2_enosys) {
		errno = ENOSYS;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "syscall");
	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int
setup(void **state)
{
	struct env *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if (mock_tmpdir(e->base, sizeof(e->base), "test_file_sink") == -1 ||
	    mock_subdir(e->dumpdir, sizeof(e->dumpdir), e->base, "dump") ==
	    -1 || mock_subdir(e->outside, sizeof(e->outside), e->base,
	    "outside") == -1)
		return -1;
	e->dfd = open(e->dumpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->dfd == -1)
		return -1;
	mock_host_reset("file");
	openat2_enosys = false;
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
	while (nconfigs > 0)
		mock_config_free(&M, configs[--nconfigs]);
	return 0;
}

/*
 * The config the host would fill, or NULL and its message, naming the
 * option at fault as the daemon does.
 */
static void *
build_config(const char *const *settings, char *err)
{
	const char *one[2] = { NULL, NULL };
	char name[64], why[128];
	void *config;
	size_t i;

	if ((config = mock_config_try(&M, settings, err,
	    NDS_ERRBUF_SIZE)) != NULL) {
		assert_true(nconfigs < sizeof(configs) / sizeof(configs[0]));
		configs[nconfigs++] = config;
		return config;
	}
	for (i = 0; settings[i] != NULL; i++) {
		one[0] = settings[i];
		if ((config = mock_config_try(&M, one, why,
		    sizeof(why))) != NULL) {
			mock_config_free(&M, config);
			continue;
		}
		snprintf(name, sizeof(name), "%.*s",
		    (int)strcspn(settings[i], "="), settings[i]);
		snprintf(err, NDS_ERRBUF_SIZE, "option '%s': %s", name, why);
		break;
	}
	return NULL;
}

/* A [sink] section's settings: "name=value" lines, NULL-terminated. */
struct settings {
	char		 line[6][PATH_MAX + 32];
	const char	*list[7];
	size_t		 n;
};

static void	set(struct settings *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
set(struct settings *st, const char *fmt, ...)
{
	va_list ap;

	assert_true(st->n < 6);
	va_start(ap, fmt);
	vsnprintf(st->line[st->n], sizeof(st->line[st->n]), fmt, ap);
	va_end(ap);
	st->list[st->n] = st->line[st->n];
	st->list[++st->n] = NULL;
}

/*
 * The options as a [sink] section would set them; keep_per_client and
 * max_total_size 0 are left to their defaults.
 */
static enum nds_result
try_create_ret(int layout, const char *dir, bool sync, const char *mode,
    int64_t keep, int64_t max_total, void **inst, char *err)
{
	static const char *layouts[] = { "savecore", "netdumpd", "redhat" };
	struct settings st = { .n = 0 };
	void *config;

	set(&st, "layout=%s", layout >= 0 && layout < 3 ? layouts[layout] :
	    "bogus");
	if (dir != NULL)
		set(&st, "dir=%s", dir);
	set(&st, "fsync=%s", sync ? "yes" : "no");
	if (mode != NULL)
		set(&st, "mode=%s", mode);
	if (keep != 0)
		set(&st, "keep_per_client=%lld", (long long)keep);
	if (max_total != 0)
		set(&st, "max_total_size=%lld", (long long)max_total);
	*inst = NULL;
	if ((config = build_config(st.list, err)) == NULL)
		return NDS_FATAL;	/* the host refuses the section */
	return M.create(&mock_host, NULL, config, inst, err);
}

static enum nds_result
try_create(int layout, const char *dir, bool sync, const char *mode,
    void **inst, char *err)
{
	return try_create_ret(layout, dir, sync, mode, 0, 0, inst, err);
}

static void *
mk_sink(int layout, const char *dir, bool sync, const char *mode)
{
	char err[NDS_ERRBUF_SIZE] = "";
	void *inst = NULL;

	if (try_create(layout, dir, sync, mode, &inst, err) != NDS_OK)
		fail_msg("create: %s", err);
	assert_non_null(inst);
	return inst;
}

/* A sink with retention: keep_per_client and max_total_size (0: off). */
static void *
mk_ret_sink(int layout, int64_t keep, int64_t max_total)
{
	char err[NDS_ERRBUF_SIZE] = "";
	void *inst = NULL;

	if (try_create_ret(layout, NULL, false, NULL, keep, max_total, &inst,
	    err) != NDS_OK)
		fail_msg("create: %s", err);
	assert_non_null(inst);
	return inst;
}

static void
init_dump(struct nds_dump *dump, const struct env *e, const char *path,
    const char *client, const char *addr)
{
	mock_dump_init(dump, e->dumpdir, e->dfd);
	dump->client_addr = addr;
	dump->client_name = client;
	dump->path = path;
}

static void *
do_begin(void *inst, const struct nds_dump *dump)
{
	char err[NDS_ERRBUF_SIZE] = "";
	void *ds = NULL;

	if (M.begin(inst, dump, NULL, &ds, err) != NDS_OK)
		fail_msg("begin: %s", err);
	return ds;
}

static void *
do_open(void *ds, enum nds_object_kind kind)
{
	char err[NDS_ERRBUF_SIZE] = "";
	void *os = NULL;

	if (M.open(ds, kind, &os, err) != NDS_OK)
		fail_msg("open %d: %s", (int)kind, err);
	return os;
}

static void
do_write(void *os, uint64_t off, const void *buf, size_t len)
{
	char err[NDS_ERRBUF_SIZE] = "";

	if (M.write(os, off, buf, len, err) != NDS_OK)
		fail_msg("write: %s", err);
}

static void
do_hole(void *os, uint64_t off, uint64_t len)
{
	char err[NDS_ERRBUF_SIZE] = "";

	if (M.hole(os, off, len, err) != NDS_OK)
		fail_msg("hole: %s", err);
}

static void
do_close(void *os, enum nds_object_kind kind, uint64_t size, char *where)
{
	struct nds_object obj = { .kind = kind, .size = size };
	char err[NDS_ERRBUF_SIZE] = "";

	if (M.close(os, &obj, where, err) != NDS_OK)
		fail_msg("close %d: %s", (int)kind, err);
}

static void
do_end(void *ds)
{
	char err[NDS_ERRBUF_SIZE] = "";

	if (M.end(ds, err) != NDS_OK)
		fail_msg("end: %s", err);
}

/* A small object written in one piece. */
static void
put_object(void *ds, enum nds_object_kind kind, const char *text,
    char *where)
{
	void *os = do_open(ds, kind);

	do_write(os, 0, text, strlen(text));
	do_close(os, kind, strlen(text), where);
}

/*
 * The manifest as the host writes it, last: the dump's status, client and
 * number, and where its objects went (wheres, NULL-terminated), which is
 * how retention finds a dump's files.
 */
/* The panic signature the next manifests record; NULL: none. */
static const char *manifest_sig;

/*
 * The kind the core writes for an object stored at where: its name's
 * stem is the host's (nds_host.object_name), "dump" for an archive.
 */
static const char *
kind_of_place(const char *where)
{
	static const char *const stems[][2] = { { "vmcore", "vmcore" },
	    { "key", "key" }, { "info", "info" }, { "msgbuf", "msgbuf" },
	    { "dump", "archive" }, { "manifest", "manifest" } };
	const char *base = strrchr(where, '/') != NULL ?
	    strrchr(where, '/') + 1 : where;
	size_t i;

	for (i = 0; i < sizeof(stems) / sizeof(stems[0]); i++)
		if (strncmp(base, stems[i][0], strlen(stems[i][0])) == 0)
			return stems[i][1];
	return "info";
}

static void
manifest_text(const struct nds_dump *dump, const char *const *wheres,
    char *buf, size_t len)
{
	unsigned number;
	size_t n, i;

	n = (size_t)snprintf(buf, len, "{\"manifest_version\": 1, "
	    "\"status\": \"%s\", \"client\": {\"address\": \"%s\", "
	    "\"port\": %u, \"name\": \"%s\"}, ",
	    dump->status == NDS_STATUS_COMPLETE ? "complete" : "incomplete",
	    dump->client_addr, dump->client_port, dump->client_name);
	if (mock_host_number_of(dump, &number))
		n += (size_t)snprintf(buf + n, len - n, "\"number\": %u, ",
		    number);
	if (manifest_sig != NULL)
		n += (size_t)snprintf(buf + n, len - n, "\"signature\": "
		    "{\"id\": \"%s\", \"panic\": \"page fault\"}, ",
		    manifest_sig);
	n += (size_t)snprintf(buf + n, len - n, "\"objects\": [");
	for (i = 0; wheres[i] != NULL; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s{\"kind\": \"%s\", "
		    "\"stored\": {\"file\": \"%s\"}}", i > 0 ? ", " : "",
		    kind_of_place(wheres[i]), wheres[i]);
	n += (size_t)snprintf(buf + n, len - n, "]}\n");
	assert_true(n < len);
}

static void
put_manifest(void *ds, const struct nds_dump *dump,
    const char *const *wheres, char *where)
{
	char text[8192];

	manifest_text(dump, wheres, text, sizeof(text));
	put_object(ds, NDS_OBJ_MANIFEST, text, where);
}

/* The manifest of what res says was stored. */
static void
put_stored_manifest(void *ds, const struct nds_dump *dump,
    struct stored *res, bool key)
{
	const char *wheres[] = { res->vmcore, res->info, key ? res->key :
	    NULL, NULL };

	put_manifest(ds, dump, wheres, res->manifest);
}

/*
 * A whole dump the way the core drives it: the vmcore while it arrives,
 * then the outcome, then info, key (if any) and the manifest.
 */
static void
store_dump(void *inst, struct nds_dump *dump, enum nds_status status,
    const char *suffix, bool encrypted, const char *data, struct stored *res)
{
	void *ds, *os;

	ds = do_begin(inst, dump);
	os = do_open(ds, NDS_OBJ_VMCORE);
	do_write(os, 0, data, strlen(data));
	dump->status = status;
	dump->reason = status == NDS_STATUS_COMPLETE ? "" : "client timed out";
	dump->vmcore_suffix = suffix;
	dump->encrypted = encrypted;
	do_close(os, NDS_OBJ_VMCORE, strlen(data), res->vmcore);
	put_object(ds, NDS_OBJ_INFO, "Dump from test\n", res->info);
	if (encrypted)
		put_object(ds, NDS_OBJ_KEY, "KEYBLOB", res->key);
	put_stored_manifest(ds, dump, res, encrypted);
	do_end(ds);
}

static void
assert_content(int dfd, const char *path, const char *want)
{
	char *got = mock_slurp_at(dfd, path, NULL);

	assert_string_equal(got, want);
	free(got);
}

static void
assert_link(int dfd, const char *path, const char *target)
{
	char buf[PATH_MAX];
	ssize_t n;

	n = readlinkat(dfd, path, buf, sizeof(buf) - 1);
	if (n == -1)
		fail_msg("%s: %s", path, strerror(errno));
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

static void
assert_mode(int dfd, const char *path, mode_t mode)
{
	struct stat sb;

	if (fstatat(dfd, path, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, mode);
}

/* No hidden temporary file may outlive its object. */
static void
assert_no_tmp(int dfd, const char *dir)
{
	struct dirent *de;
	DIR *dp;
	int fd;

	fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_non_null(dp = fdopendir(fd));
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			fail_msg("%s/%s left behind", dir, de->d_name);
	closedir(dp);
}

static unsigned int
count_entries(const char *dir)
{
	struct dirent *de;
	unsigned int n = 0;
	DIR *dp;

	assert_non_null(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static void
test_descriptor(void **state)
{
	const struct nds_option *o;
	unsigned int n = 0;

	(void)state;
	assert_int_equal(M.abi_major, NDS_ABI_MAJOR);
	assert_int_equal(M.abi_minor, NDS_ABI_MINOR);
	assert_int_equal(M.struct_size, sizeof(struct nds_sink_module));
	assert_string_equal(M.name, "file");
	assert_int_equal(M.caps, 0);
	for (o = M.options; o->name != NULL; o++)
		n++;
	assert_int_equal(n, 8);
	assert_string_equal(M.options[0].name, "layout");
	assert_string_equal(M.options[0].choices, "savecore|netdumpd|redhat");
	assert_string_equal(M.options[1].name, "dir");
	assert_null(M.options[1].default_value);
	assert_string_equal(M.options[2].name, "fsync");
	assert_string_equal(M.options[3].name, "mode");
	assert_string_equal(M.options[3].default_value, "0600");
	assert_string_equal(M.options[4].name, "keep_per_client");
	assert_int_equal(M.options[4].type, NDS_OPT_INT);
	assert_string_equal(M.options[4].default_value, "0");
	assert_int_equal(M.options[4].min, 0);
	assert_int_equal(M.options[4].max, 1000000);
	assert_string_equal(M.options[5].name, "max_total_size");
	assert_int_equal(M.options[5].type, NDS_OPT_SIZE);
	assert_string_equal(M.options[5].default_value, "0");
	assert_string_equal(M.options[6].name, "keep_per_signature");
	assert_int_equal(M.options[6].type, NDS_OPT_INT);
	assert_string_equal(M.options[6].default_value, "0");
	assert_string_equal(M.options[7].name, "repeats");
	assert_string_equal(M.options[7].choices, "summary|remove");
	assert_string_equal(M.options[7].default_value, "summary");
}

static void
test_bad_options(void **state)
{
	char err[NDS_ERRBUF_SIZE];
	void *inst;

	(void)state;
	assert_int_not_equal(try_create(0, NULL, true, "0999", &inst, err),
	    NDS_OK);
	assert_null(inst);
	assert_non_null(strstr(err, "mode"));
	assert_int_not_equal(try_create(0, NULL, true, "rw", &inst, err),
	    NDS_OK);
	assert_int_not_equal(try_create(0, NULL, true, "04755", &inst, err),
	    NDS_OK);
	assert_int_not_equal(try_create(7, NULL, true, NULL, &inst, err),
	    NDS_OK);
	assert_int_not_equal(try_create(0, "", true, NULL, &inst, err),
	    NDS_OK);
	assert_int_not_equal(try_create_ret(0, NULL, true, NULL, -1, 0, &inst,
	    err), NDS_OK);
	assert_non_null(strstr(err, "keep_per_client"));
	assert_int_not_equal(try_create_ret(0, NULL, true, NULL, 1000001, 0,
	    &inst, err), NDS_OK);
	assert_int_not_equal(try_create_ret(0, NULL, true, NULL, 0, -1, &inst,
	    err), NDS_OK);
	assert_non_null(strstr(err, "max_total_size"));
}

/* Data, a hole in the middle, data, a trailing hole: sparse and exact. */
static void
test_savecore_sparse(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	struct stat sb;
	char where[NDS_WHERE_SIZE], *buf, *got;
	const uint64_t size = 16 * MiB;
	size_t len;
	void *inst, *ds, *os;
	uint64_t i;

	assert_int_equal(mkdirat(e->dfd, "prod", 0755), 0);
	inst = mk_sink(0, NULL, true, NULL);
	init_dump(&dump, e, "prod", "host1", "10.0.0.5");
	buf = malloc(64 * KiB);
	assert_non_null(buf);

	ds = do_begin(inst, &dump);
	/* bounds moves to N + 1 before the dump files exist. */
	assert_content(e->dfd, "prod/host1/bounds", "1\n");
	assert_mode(e->dfd, "prod/host1/bounds", 0644);

	os = do_open(ds, NDS_OBJ_VMCORE);
	assert_mode(e->dfd, "prod/host1/vmcore.0.incomplete", 0600);
	memset(buf, 'A', 64 * KiB);
	do_write(os, 0, buf, 64 * KiB);
	do_hole(os, 64 * KiB, 1 * MiB - 64 * KiB);
	memset(buf, 'B', 64 * KiB);
	do_write(os, 1 * MiB, buf, 64 * KiB);
	do_hole(os, 1 * MiB + 64 * KiB, size - 1 * MiB - 64 * KiB);
	dump.status = NDS_STATUS_COMPLETE;
	do_close(os, NDS_OBJ_VMCORE, size, where);
	assert_string_equal(where, "prod/host1/vmcore.0");

	put_object(ds, NDS_OBJ_INFO, "Dump complete\n", res.info);
	put_object(ds, NDS_OBJ_KEY, "KEY", res.key);
	put_object(ds, NDS_OBJ_MANIFEST, "{\"status\":\"complete\"}\n",
	    res.manifest);
	do_end(ds);
	assert_string_equal(res.info, "prod/host1/info.0");
	assert_string_equal(res.key, "prod/host1/key.0");
	assert_string_equal(res.manifest, "prod/host1/manifest.0.json");

	assert_int_equal(fstatat(e->dfd, "prod/host1/vmcore.0", &sb, 0), 0);
	assert_int_equal(sb.st_size, (off_t)size);
	/* 128 KiB of data; the 15.9 MiB of holes take no blocks. */
	assert_true((uint64_t)sb.st_blocks * 512 < 1 * MiB);
	got = mock_slurp_at(e->dfd, "prod/host1/vmcore.0", &len);
	assert_int_equal(len, size);
	for (i = 0; i < size; i++) {
		char want = i < 64 * KiB ? 'A' :
		    i >= 1 * MiB && i < 1 * MiB + 64 * KiB ? 'B' : '\0';

		if (got[i] != want)
			fail_msg("byte %ju is %#x, want %#x", (uintmax_t)i,
			    (unsigned char)got[i], (unsigned char)want);
	}
	free(got);
	free(buf);

	assert_content(e->dfd, "prod/host1/bounds", "1\n");
	assert_content(e->dfd, "prod/host1/info.0", "Dump complete\n");
	assert_content(e->dfd, "prod/host1/key.0", "KEY");
	assert_content(e->dfd, "prod/host1/manifest.0.json",
	    "{\"status\":\"complete\"}\n");
	assert_mode(e->dfd, "prod/host1/vmcore.0", 0600);
	assert_mode(e->dfd, "prod/host1/info.0", 0600);
	assert_mode(e->dfd, "prod/host1/key.0", 0600);
	assert_mode(e->dfd, "prod/host1/manifest.0.json", 0600);
	assert_link(e->dfd, "prod/host1/vmcore.last", "vmcore.0");
	assert_link(e->dfd, "prod/host1/info.last", "info.0");
	assert_link(e->dfd, "prod/host1/key.last", "key.0");
	assert_link(e->dfd, "prod/host1/manifest.last.json",
	    "manifest.0.json");
	mock_assert_absent_at(e->dfd, "prod/host1/vmcore.0.incomplete");
	assert_no_tmp(e->dfd, "prod/host1");
	assert_int_equal(fstatat(e->dfd, "prod/host1", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(inst);
}

/* Numbers go up; an incomplete dump keeps its mark and moves no *.last. */
static void
test_savecore_sequence(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *inst;

	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "first",
	    &res);
	assert_string_equal(res.vmcore, "host1/vmcore.0");

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_INCOMPLETE, "", false, "second",
	    &res);
	assert_string_equal(res.vmcore, "host1/vmcore.1.incomplete");
	/* Info and manifest keep their plain names: they say the status. */
	assert_string_equal(res.info, "host1/info.1");
	assert_string_equal(res.manifest, "host1/manifest.1.json");
	assert_content(e->dfd, "host1/vmcore.1.incomplete", "second");
	mock_assert_absent_at(e->dfd, "host1/vmcore.1");
	assert_content(e->dfd, "host1/bounds", "2\n");
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.0");
	assert_link(e->dfd, "host1/info.last", "info.0");
	assert_link(e->dfd, "host1/manifest.last.json", "manifest.0.json");

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "third",
	    &res);
	assert_string_equal(res.vmcore, "host1/vmcore.2");
	assert_content(e->dfd, "host1/vmcore.2", "third");
	assert_content(e->dfd, "host1/bounds", "3\n");
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.2");
	assert_link(e->dfd, "host1/info.last", "info.2");

	/* Another client has its own directory and numbers. */
	init_dump(&dump, e, ".", "host2", "10.0.0.6");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "other",
	    &res);
	assert_string_equal(res.vmcore, "host2/vmcore.0");
	assert_no_tmp(e->dfd, "host1");
	M.destroy(inst);
}

/*
 * Linking cut short (here a link that cannot be made; a server killed
 * there is the same): the old links went first and the vmcore's comes
 * last, so no vmcore.last names the new dump beside an info.last that
 * names the old one.
 */
static void
test_links_cut(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	char err[NDS_ERRBUF_SIZE] = "";
	void *inst, *ds, *os;

	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "first",
	    &res);
	assert_link(e->dfd, "host1/info.last", "info.0");
	/* The temporary name of dump 1's info.last, taken by a folder. */
	assert_int_equal(mkdirat(e->dfd, "host1/.info.last.1.tmp", 0700), 0);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	ds = do_begin(inst, &dump);
	os = do_open(ds, NDS_OBJ_VMCORE);
	do_write(os, 0, "second", 6);
	dump.status = NDS_STATUS_COMPLETE;
	do_close(os, NDS_OBJ_VMCORE, 6, res.vmcore);
	put_object(ds, NDS_OBJ_INFO, "Dump from test\n", res.info);
	put_stored_manifest(ds, &dump, &res, false);
	assert_int_equal(M.end(ds, err), NDS_FAILED);
	assert_non_null(strstr(err, "info.last"));
	assert_content(e->dfd, "host1/vmcore.1", "second");
	mock_assert_absent_at(e->dfd, "host1/vmcore.last");
	mock_assert_absent_at(e->dfd, "host1/info.last");
	assert_int_equal(unlinkat(e->dfd, "host1/.info.last.1.tmp",
	    AT_REMOVEDIR), 0);

	/* The next dump links again, all of it. */
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "third",
	    &res);
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.2");
	assert_link(e->dfd, "host1/info.last", "info.2");
	assert_link(e->dfd, "host1/manifest.last.json", "manifest.2.json");
	M.destroy(inst);
}

/* Garbage or a FIFO in bounds reads as 0; a taken number is probed past. */
static void
test_savecore_bounds(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *inst;
	int fd;

	assert_int_equal(mkdirat(e->dfd, "host1", 0700), 0);
	fd = openat(e->dfd, "host1/bounds", O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "garbage\n", 8), 8);
	close(fd);
	fd = openat(e->dfd, "host1/info.0", O_WRONLY | O_CREAT, 0600);
	close(fd);

	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "x", &res);
	assert_string_equal(res.vmcore, "host1/vmcore.1");
	assert_content(e->dfd, "host1/bounds", "2\n");

	fd = openat(e->dfd, "host1/bounds", O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "41\n", 3), 3);
	close(fd);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "y", &res);
	assert_string_equal(res.vmcore, "host1/vmcore.41");
	assert_content(e->dfd, "host1/bounds", "42\n");

	/*
	 * A FIFO in its place reads as 0 without waiting for a writer (the
	 * dump's worker would wait for ever), and is replaced by the file.
	 */
	assert_int_equal(unlinkat(e->dfd, "host1/bounds", 0), 0);
	assert_int_equal(mkfifoat(e->dfd, "host1/bounds", 0644), 0);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "z", &res);
	assert_string_equal(res.vmcore, "host1/vmcore.2");
	assert_content(e->dfd, "host1/bounds", "3\n");

	/*
	 * A dump an archive chain stored leaves no info.N, only its tarball
	 * and manifest: with bounds lost, N is still taken, never written
	 * over.
	 */
	assert_int_equal(unlinkat(e->dfd, "host1/bounds", 0), 0);
	fd = openat(e->dfd, "host1/dump.3.tar.zst", O_WRONLY | O_CREAT, 0600);
	close(fd);
	fd = openat(e->dfd, "host1/manifest.3.json", O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "{}\n", 3), 3);
	close(fd);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "w", &res);
	assert_string_equal(res.vmcore, "host1/vmcore.4");
	assert_content(e->dfd, "host1/manifest.3.json", "{}\n");
	assert_content(e->dfd, "host1/bounds", "5\n");

	/*
	 * A FIFO at the temporary name the next bounds is written under:
	 * opening it would wait for a reader for ever. It goes, and the
	 * dump is stored.
	 */
	assert_int_equal(mkfifoat(e->dfd, "host1/.bounds.5.tmp", 0600), 0);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "v", &res);
	assert_string_equal(res.vmcore, "host1/vmcore.5");
	assert_content(e->dfd, "host1/bounds", "6\n");
	M.destroy(inst);
}

/* Compressed and encrypted dumps, complete and not. */
static void
test_savecore_names(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *inst;

	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, ".zst", false, "zstd",
	    &res);
	assert_string_equal(res.vmcore, "host1/vmcore.0.zst");
	assert_link(e->dfd, "host1/vmcore.last.zst", "vmcore.0.zst");
	mock_assert_absent_at(e->dfd, "host1/vmcore.last");

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", true, "secret",
	    &res);
	assert_string_equal(res.vmcore, "host1/vmcore_encrypted.1");
	assert_string_equal(res.key, "host1/key.1");
	assert_content(e->dfd, "host1/key.1", "KEYBLOB");
	assert_link(e->dfd, "host1/vmcore_encrypted.last",
	    "vmcore_encrypted.1");
	assert_link(e->dfd, "host1/key.last", "key.1");

	/*
	 * Encrypted and kernel-compressed: decryptcore -n 2 opens exactly
	 * vmcore_encrypted.2, so no suffix, even from a core that gives one.
	 */
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, ".gz", true, "both",
	    &res);
	assert_string_equal(res.vmcore, "host1/vmcore_encrypted.2");
	mock_assert_absent_at(e->dfd, "host1/vmcore_encrypted.2.gz");

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_INCOMPLETE, ".zst", false, "cut",
	    &res);
	assert_string_equal(res.vmcore, "host1/vmcore.3.zst.incomplete");
	assert_content(e->dfd, "host1/vmcore.3.zst.incomplete", "cut");
	mock_assert_absent_at(e->dfd, "host1/vmcore.3.incomplete");
	/* Dump 2's links replaced dump 0's, as savecore's would. */
	mock_assert_absent_at(e->dfd, "host1/vmcore.last.zst");
	assert_link(e->dfd, "host1/vmcore_encrypted.last",
	    "vmcore_encrypted.2");
	assert_link(e->dfd, "host1/info.last", "info.2");
	M.destroy(inst);
}

/* Close cuts what lies beyond the final size (compressed-dump padding). */
static void
test_truncate_padding(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stat sb;
	char where[NDS_WHERE_SIZE], buf[10000], *got;
	size_t len;
	void *inst, *ds, *os;

	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	ds = do_begin(inst, &dump);
	os = do_open(ds, NDS_OBJ_VMCORE);
	memset(buf, 'z', 7000);
	memset(buf + 7000, 0xff, sizeof(buf) - 7000);
	do_write(os, 0, buf, sizeof(buf));
	dump.status = NDS_STATUS_COMPLETE;
	dump.vmcore_suffix = ".zst";
	do_close(os, NDS_OBJ_VMCORE, 7000, where);
	do_end(ds);
	assert_string_equal(where, "host1/vmcore.0.zst");
	assert_int_equal(fstatat(e->dfd, "host1/vmcore.0.zst", &sb, 0), 0);
	assert_int_equal(sb.st_size, 7000);
	got = mock_slurp_at(e->dfd, "host1/vmcore.0.zst", &len);
	assert_int_equal(len, 7000);
	assert_memory_equal(got, buf, 7000);
	free(got);
	M.destroy(inst);
}

/* Writes in any order; a rewrite wins; a hole over data is zeros. */
static void
test_rewrite_and_punch(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	char where[NDS_WHERE_SIZE], buf[32 * KiB], want[32 * KiB], *got;
	size_t len;
	void *inst, *ds, *os;

	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	ds = do_begin(inst, &dump);
	os = do_open(ds, NDS_OBJ_VMCORE);

	/* The second half first, then the first half. */
	memset(buf, 'b', 16 * KiB);
	do_write(os, 16 * KiB, buf, 16 * KiB);
	memset(buf, 'a', 16 * KiB);
	do_write(os, 0, buf, 16 * KiB);
	/* The same range again, with new bytes. */
	memset(buf, 'N', 4 * KiB);
	do_write(os, 2 * KiB, buf, 4 * KiB);
	/* A hole over written data: the page must read as zeros. */
	do_hole(os, 8 * KiB, 4 * KiB);
	/* A hole that is rewritten later holds the later data. */
	do_hole(os, 24 * KiB, 8 * KiB);
	memset(buf, 'L', 1 * KiB);
	do_write(os, 28 * KiB, buf, 1 * KiB);
	dump.status = NDS_STATUS_COMPLETE;
	do_close(os, NDS_OBJ_VMCORE, sizeof(want), where);
	do_end(ds);

	memset(want, 'a', 16 * KiB);
	memset(want + 16 * KiB, 'b', 16 * KiB);
	memset(want + 2 * KiB, 'N', 4 * KiB);
	memset(want + 8 * KiB, 0, 4 * KiB);
	memset(want + 24 * KiB, 0, 8 * KiB);
	memset(want + 28 * KiB, 'L', 1 * KiB);
	got = mock_slurp_at(e->dfd, "host1/vmcore.0", &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	free(got);
	/* Both holes lay over data: each was punched (or tried). */
	assert_int_equal(mock_punch_calls, 2);
	M.destroy(inst);
}

/* The same where the file system cannot punch holes: zeros are written. */
static void
test_rewrite_without_punch(void **state)
{
	mock_punch_errno = EOPNOTSUPP;
	test_rewrite_and_punch(state);
}

static void	kept_incomplete(struct env *, void *, void *, void *,
		    struct nds_dump *, const char *, size_t);

/*
 * A hole over written data that can be neither punched nor written (EIO)
 * fails the object with a message naming the offset; what was written is
 * kept under the .incomplete name, and close and end still free all.
 */
static void
test_hole_failure(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	char err[NDS_ERRBUF_SIZE] = "", buf[16 * KiB];
	void *inst, *ds, *os;

	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	ds = do_begin(inst, &dump);
	os = do_open(ds, NDS_OBJ_VMCORE);
	memset(buf, 'h', sizeof(buf));
	do_write(os, 0, buf, sizeof(buf));
	mock_punch_errno = EIO;
	assert_int_equal(M.hole(os, 4 * KiB, 4 * KiB, err), NDS_FAILED);
	mock_punch_errno = 0;
	assert_non_null(strstr(err, "vmcore.0.incomplete: hole at offset "
	    "4096: "));
	kept_incomplete(e, inst, ds, os, &dump, buf, sizeof(buf));
}

static void
test_netdumpd_layout(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *inst;

	inst = mk_sink(1, NULL, true, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "one", &res);
	assert_string_equal(res.vmcore, "vmcore.host1.0");
	assert_string_equal(res.info, "info.host1.0");
	assert_string_equal(res.manifest, "manifest.host1.0.json");
	assert_content(e->dfd, "vmcore.host1.0", "one");
	assert_content(e->dfd, "bounds.host1", "1\n");
	assert_link(e->dfd, "vmcore.host1.last", "vmcore.host1.0");
	assert_link(e->dfd, "info.host1.last", "info.host1.0");

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, ".zst", true, "two",
	    &res);
	assert_string_equal(res.vmcore, "vmcore_encrypted.host1.1");
	assert_string_equal(res.key, "key.host1.1");
	assert_link(e->dfd, "vmcore.host1.last", "vmcore_encrypted.host1.1");

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_INCOMPLETE, "", false, "three",
	    &res);
	assert_string_equal(res.vmcore, "vmcore.host1.2.incomplete");
	assert_link(e->dfd, "info.host1.last", "info.host1.1");
	assert_content(e->dfd, "bounds.host1", "3\n");
	assert_no_tmp(e->dfd, ".");
	M.destroy(inst);
}

static void
test_redhat_layout(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	struct tm tm;
	time_t t = MOCK_T_START;
	char stamp[32], want[256];
	void *inst;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H:%M", &tm);
	inst = mk_sink(2, NULL, false, NULL);

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "rh", &res);
	snprintf(want, sizeof(want), "10.0.0.5-%s/vmcore", stamp);
	assert_string_equal(res.vmcore, want);
	assert_content(e->dfd, want, "rh");
	snprintf(want, sizeof(want), "10.0.0.5-%s/info", stamp);
	assert_string_equal(res.info, want);
	assert_content(e->dfd, want, "Dump from test\n");
	snprintf(want, sizeof(want), "10.0.0.5-%s/manifest.json", stamp);
	assert_string_equal(res.manifest, want);
	snprintf(want, sizeof(want), "10.0.0.5-%s/vmcore.last", stamp);
	mock_assert_absent_at(e->dfd, want);

	/* The same minute again: "-1". */
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", true, "enc", &res);
	snprintf(want, sizeof(want), "10.0.0.5-%s-1/vmcore_encrypted", stamp);
	assert_string_equal(res.vmcore, want);
	snprintf(want, sizeof(want), "10.0.0.5-%s-1/key", stamp);
	assert_string_equal(res.key, want);

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_INCOMPLETE, "", false, "cut",
	    &res);
	snprintf(want, sizeof(want), "10.0.0.5-%s-2/vmcore.incomplete", stamp);
	assert_string_equal(res.vmcore, want);
	M.destroy(inst);
}

static void
test_mode_option(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *inst;

	inst = mk_sink(0, NULL, false, "0640");
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", true, "m", &res);
	assert_mode(e->dfd, "host1/vmcore_encrypted.0", 0640);
	assert_mode(e->dfd, "host1/info.0", 0640);
	assert_mode(e->dfd, "host1/key.0", 0640);
	M.destroy(inst);
}

static void
test_dir_option(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *inst;

	assert_int_equal(mkdirat(e->dfd, "alt", 0755), 0);
	assert_int_equal(mkdirat(e->dfd, "alt/prod", 0755), 0);
	inst = mk_sink(0, "alt/", false, NULL);
	init_dump(&dump, e, "prod", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "d", &res);
	assert_string_equal(res.vmcore, "alt/prod/host1/vmcore.0");
	assert_content(e->dfd, "alt/prod/host1/vmcore.0", "d");
	M.destroy(inst);
}

/* A HERALD path must lead beneath the dump directory, or is ignored. */
static void
check_escape(struct env *e)
{
	struct nds_dump dump;
	struct stored res;
	void *inst;

	assert_int_equal(symlinkat(e->outside, e->dfd, "abs"), 0);
	assert_int_equal(symlinkat("../outside", e->dfd, "rel"), 0);
	assert_int_equal(mkdirat(e->dfd, "ok", 0755), 0);
	assert_int_equal(mkdirat(e->dfd, "ok/sub", 0755), 0);
	inst = mk_sink(0, NULL, false, NULL);

	init_dump(&dump, e, "abs", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "a", &res);
	assert_string_equal(res.vmcore, "host1/vmcore.0");
	assert_int_equal(mock_host_warnings(), 1);

	init_dump(&dump, e, "rel", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "b", &res);
	assert_string_equal(res.vmcore, "host1/vmcore.1");
	assert_int_equal(mock_host_warnings(), 2);

	init_dump(&dump, e, "ok/../../outside", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "c", &res);
	assert_string_equal(res.vmcore, "host1/vmcore.2");
	assert_int_equal(mock_host_warnings(), 3);

	/* A path that exists beneath is used, normalised. */
	init_dump(&dump, e, "ok//./sub/", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "d", &res);
	assert_string_equal(res.vmcore, "ok/sub/host1/vmcore.0");
	assert_int_equal(mock_host_warnings(), 3);

	assert_int_equal(count_entries(e->outside), 0);
	M.destroy(inst);
}

static void
test_symlink_escape(void **state)
{
	check_escape(*state);
}

/* The same, on a kernel without openat2. */
static void
test_symlink_escape_no_openat2(void **state)
{
	openat2_enosys = true;
	check_escape(*state);
	openat2_enosys = false;
}

/* netdump(4): the server does not create the HERALD path. */
static void
test_missing_path(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *inst;

	inst = mk_sink(1, NULL, false, NULL);
	init_dump(&dump, e, "nope/x", "host1", "10.0.0.5");
	store_dump(inst, &dump, NDS_STATUS_COMPLETE, "", false, "m", &res);
	assert_string_equal(res.vmcore, "vmcore.host1.0");
	assert_content(e->dfd, "vmcore.host1.0", "m");
	mock_assert_absent_at(e->dfd, "nope");
	assert_int_equal(mock_host_warnings(), 1);
	M.destroy(inst);
}

/*
 * After a write or hole that failed: the dump was complete, yet close
 * fails, the vmcore keeps what was written (want) under its .incomplete
 * name, no vmcore.0 or vmcore.last appears, and end and destroy still
 * free everything (ASan would tell).
 */
static void
kept_incomplete(struct env *e, void *inst, void *ds, void *os,
    struct nds_dump *dump, const char *want, size_t wantlen)
{
	struct nds_object obj = { .kind = NDS_OBJ_VMCORE, .size = 16 * KiB };
	char where[NDS_WHERE_SIZE], err[NDS_ERRBUF_SIZE] = "", *got;
	size_t len;

	dump->status = NDS_STATUS_COMPLETE;
	assert_int_equal(M.close(os, &obj, where, err), NDS_FAILED);
	assert_string_equal(where, "host1/vmcore.0.incomplete");
	assert_int_equal(M.end(ds, err), NDS_OK);
	mock_assert_absent_at(e->dfd, "host1/vmcore.0");
	mock_assert_absent_at(e->dfd, "host1/vmcore.last");
	got = mock_slurp_at(e->dfd, "host1/vmcore.0.incomplete", &len);
	assert_int_equal(len, wantlen);
	assert_memory_equal(got, want, wantlen);
	free(got);
	M.destroy(inst);
}

/*
 * A write that fails (here: past RLIMIT_FSIZE, EFBIG) fails the dump with
 * a message, keeps what was written under the .incomplete name and moves
 * no *.last; close and end still free everything (ASan would tell).
 */
static void
test_write_failure(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct rlimit old, lim;
	char err[NDS_ERRBUF_SIZE] = "", buf[8 * KiB];
	void *inst, *ds, *os;

	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	ds = do_begin(inst, &dump);
	os = do_open(ds, NDS_OBJ_VMCORE);
	memset(buf, 'w', sizeof(buf));
	do_write(os, 0, buf, sizeof(buf));

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 8 * KiB;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(M.write(os, 8 * KiB, buf, sizeof(buf), err),
	    NDS_FAILED);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(strstr(err,
	    "vmcore.0.incomplete: write at offset 8192: "));
	kept_incomplete(e, inst, ds, os, &dump, buf, sizeof(buf));
}

static void	make_file(int, const char *, size_t);

/*
 * A vmcore.0 that is not this sink's (its info.0 and manifest were
 * removed by hand, so number 0 is free): the new dump 0 does not replace
 * it. Its vmcore stays complete under vmcore.0.incomplete, close says
 * why, and the old file is as it was.
 */
static void
test_no_clobber(void **state)
{
	struct env *e = *state;
	struct nds_object obj = { .kind = NDS_OBJ_VMCORE, .size = 5 };
	char where[NDS_WHERE_SIZE], err[NDS_ERRBUF_SIZE] = "";
	struct nds_dump dump;
	void *inst, *ds, *os;
	char *got;
	size_t len;

	assert_int_equal(mkdirat(e->dfd, "host1", 0700), 0);
	make_file(e->dfd, "host1/vmcore.0", 100);
	inst = mk_sink(0, NULL, false, NULL);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	ds = do_begin(inst, &dump);
	os = do_open(ds, NDS_OBJ_VMCORE);
	do_write(os, 0, "fresh", 5);
	dump.status = NDS_STATUS_COMPLETE;
	assert_int_equal(M.close(os, &obj, where, err), NDS_FAILED);
	assert_non_null(strstr(err, "File exists"));
	assert_string_equal(where, "host1/vmcore.0.incomplete");
	assert_int_equal(M.end(ds, err), NDS_OK);
	assert_content(e->dfd, "host1/vmcore.0.incomplete", "fresh");
	got = mock_slurp_at(e->dfd, "host1/vmcore.0", &len);
	assert_int_equal(len, 100);
	assert_int_equal(got[0], 'u');
	free(got);
	mock_assert_absent_at(e->dfd, "host1/vmcore.last");
	M.destroy(inst);
}

/*
 * Every combination of encryption and kernel compression, as the core
 * describes it: vmcore_suffix "" when encrypted (savecore's DoFile), the
 * KDH's compression for the rest.
 */
enum kind { K_PLAIN, K_GZIP, K_ZSTD, K_ENC, K_ENC_GZIP, K_ENC_ZSTD };

static const struct {
	uint8_t		 comp;
	bool		 enc;
	const char	*suffix;	/* the core's vmcore_suffix */
} kinds[] = {
	[K_PLAIN] = { NDS_COMP_NONE, false, "" },
	[K_GZIP] = { NDS_COMP_GZIP, false, ".gz" },
	[K_ZSTD] = { NDS_COMP_ZSTD, false, ".zst" },
	[K_ENC] = { NDS_COMP_NONE, true, "" },
	[K_ENC_GZIP] = { NDS_COMP_GZIP, true, "" },
	[K_ENC_ZSTD] = { NDS_COMP_ZSTD, true, "" },
};

/*
 * A complete dump of kind k; tsuffix is what a transform before the sink
 * says of the vmcore (".zst" from zstd compressing it, "" or NULL when it
 * passed it through).
 */
static void
store_kind(void *inst, struct nds_dump *dump, struct nds_kdh *kdh,
    enum kind k, const char *tsuffix, struct stored *res)
{
	char err[NDS_ERRBUF_SIZE] = "";
	struct nds_object obj;
	void *ds, *os;

	mock_kdh_init(kdh, kinds[k].comp);
	ds = do_begin(inst, dump);
	os = do_open(ds, NDS_OBJ_VMCORE);
	do_write(os, 0, "body", 4);
	dump->status = NDS_STATUS_COMPLETE;
	dump->kdh = kdh;
	dump->encrypted = kinds[k].enc;
	dump->vmcore_suffix = kinds[k].suffix;
	obj = (struct nds_object){ .kind = NDS_OBJ_VMCORE, .size = 4,
	    .suffix = tsuffix };
	if (M.close(os, &obj, res->vmcore, err) != NDS_OK)
		fail_msg("close vmcore: %s", err);
	put_object(ds, NDS_OBJ_INFO, "Dump from test\n", res->info);
	if (kinds[k].enc)
		put_object(ds, NDS_OBJ_KEY, "KEYBLOB", res->key);
	put_stored_manifest(ds, dump, res, kinds[k].enc);
	do_end(ds);
}

/* A list of directory entries: "name", or "name -> target" for a link. */
struct listing {
	char	item[96][128];
	size_t	n;
};

static void	list_add(struct listing *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
list_add(struct listing *l, const char *fmt, ...)
{
	va_list ap;

	assert_true(l->n < sizeof(l->item) / sizeof(l->item[0]));
	va_start(ap, fmt);
	vsnprintf(l->item[l->n++], sizeof(l->item[0]), fmt, ap);
	va_end(ap);
}

static int
cmp_item(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
print_listing(const char *what, const struct listing *l)
{
	size_t i;

	fprintf(stderr, "%s:\n", what);
	for (i = 0; i < l->n; i++)
		fprintf(stderr, "  %s\n", l->item[i]);
}

/* dir holds exactly what want lists, regular files and symlinks. */
static void
assert_listing(int dfd, const char *dir, const struct listing *want)
{
	static struct listing got, exp;
	char target[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	ssize_t n;
	size_t i;
	DIR *dp;
	int fd;

	got.n = 0;
	exp = *want;
	fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_non_null(dp = fdopendir(fd));
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_int_equal(fstatat(fd, de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW), 0);
		if (S_ISLNK(sb.st_mode)) {
			n = readlinkat(fd, de->d_name, target,
			    sizeof(target) - 1);
			assert_true(n > 0);
			target[n] = '\0';
			list_add(&got, "%s -> %s", de->d_name, target);
		} else if (!S_ISDIR(sb.st_mode))
			list_add(&got, "%s", de->d_name);
	}
	closedir(dp);
	qsort(got.item, got.n, sizeof(got.item[0]), cmp_item);
	qsort(exp.item, exp.n, sizeof(exp.item[0]), cmp_item);
	for (i = 0; i < got.n && i < exp.n; i++)
		if (strcmp(got.item[i], exp.item[i]) != 0)
			break;
	if (i < got.n || i < exp.n) {
		print_listing("expected", &exp);
		print_listing("found", &got);
		fail_msg("%s: first difference at entry %zu", dir, i);
	}
}

/*
 * One dump of a naming sequence: its kind, the transform's suffix, the
 * vmcore's name and its link (N and client left to fill in).
 */
struct name_step {
	enum kind	 k;
	const char	*tsuffix;
	const char	*stem;		/* of the vmcore: "vmcore" */
	const char	*ext;		/* after its number: ".gz" */
	const char	*vlink;		/* its link: "vmcore.last.gz" */
};

/*
 * savecore's names and links (DoFile): a kernel-compressed dump keeps the
 * suffix unless encrypted; an encrypted compressed one is linked as
 * vmcore_encrypted.last.<gz|zst>. Each dump's links replace all of the
 * previous one's, whatever their kind: no key.last after a dump without a
 * key.
 */
static const struct name_step savecore_steps[] = {
	{ K_PLAIN, NULL, "vmcore", "", "vmcore.last" },
	{ K_GZIP, NULL, "vmcore", ".gz", "vmcore.last.gz" },
	{ K_ENC_ZSTD, NULL, "vmcore_encrypted", "",
	    "vmcore_encrypted.last.zst" },
	{ K_ZSTD, NULL, "vmcore", ".zst", "vmcore.last.zst" },
	{ K_ENC, NULL, "vmcore_encrypted", "", "vmcore_encrypted.last" },
	{ K_ENC_GZIP, NULL, "vmcore_encrypted", "",
	    "vmcore_encrypted.last.gz" },
	{ K_PLAIN, NULL, "vmcore", "", "vmcore.last" },
	/* Through "zstd | file": compressed, or passed through. */
	{ K_PLAIN, ".zst", "vmcore", ".zst", "vmcore.last.zst" },
	{ K_ENC_ZSTD, "", "vmcore_encrypted", "",
	    "vmcore_encrypted.last.zst" },
	{ K_ENC, "", "vmcore_encrypted", "", "vmcore_encrypted.last" },
	{ K_GZIP, "", "vmcore", ".gz", "vmcore.last.gz" },
};

static void
test_names_savecore_all_kinds(void **state)
{
	struct env *e = *state;
	struct listing files = { .n = 0 }, want;
	struct nds_dump dump;
	struct nds_kdh kdh;
	struct stored res;
	char vm[64], path[128];
	unsigned int i;
	void *inst;

	inst = mk_sink(0, NULL, false, NULL);
	list_add(&files, "bounds");
	for (i = 0; i < sizeof(savecore_steps) / sizeof(savecore_steps[0]);
	    i++) {
		const struct name_step *st = &savecore_steps[i];

		init_dump(&dump, e, ".", "host1", "10.0.0.5");
		store_kind(inst, &dump, &kdh, st->k, st->tsuffix, &res);
		snprintf(vm, sizeof(vm), "%s.%u%s", st->stem, i, st->ext);
		snprintf(path, sizeof(path), "host1/%s", vm);
		assert_string_equal(res.vmcore, path);
		list_add(&files, "%s", vm);
		list_add(&files, "info.%u", i);
		list_add(&files, "manifest.%u.json", i);
		if (kinds[st->k].enc)
			list_add(&files, "key.%u", i);
		want = files;
		list_add(&want, "%s -> %s", st->vlink, vm);
		list_add(&want, "info.last -> info.%u", i);
		list_add(&want, "manifest.last.json -> manifest.%u.json", i);
		if (kinds[st->k].enc)
			list_add(&want, "key.last -> key.%u", i);
		assert_listing(e->dfd, "host1", &want);
		assert_content(e->dfd, path, "body");
	}
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(inst);
}

/*
 * netdumpd: the same names with the client in them; every client has its
 * own vmcore.<client>.last and info.<client>.last, and the stale links of
 * one client (a key link, an encrypted vmcore's) go when that client dumps
 * again, never another's.
 */
static void
test_names_netdumpd_all_kinds(void **state)
{
	struct env *e = *state;
	struct listing files = { .n = 0 }, want;
	struct nds_dump dump;
	struct nds_kdh kdh;
	struct stored res;
	char vm[96];
	unsigned int i;
	void *inst;

	inst = mk_sink(1, NULL, false, NULL);
	/* Another client, "h", whose names h.1's must never be taken for. */
	init_dump(&dump, e, ".", "h", "10.0.0.6");
	store_kind(inst, &dump, &kdh, K_ENC_ZSTD, NULL, &res);
	assert_string_equal(res.vmcore, "vmcore_encrypted.h.0");
	assert_int_equal(symlinkat("key.h.0", e->dfd, "key.h.last"), 0);
	list_add(&files, "bounds.h");
	list_add(&files, "vmcore_encrypted.h.0");
	list_add(&files, "info.h.0");
	list_add(&files, "key.h.0");
	list_add(&files, "manifest.h.0.json");
	list_add(&files, "vmcore.h.last -> vmcore_encrypted.h.0");
	list_add(&files, "info.h.last -> info.h.0");
	list_add(&files, "key.h.last -> key.h.0");
	/* Stale links of h.1, as an older version might have left them. */
	assert_int_equal(symlinkat("key.h.1.7", e->dfd, "key.h.1.last"), 0);
	assert_int_equal(symlinkat("vmcore_encrypted.h.1.7", e->dfd,
	    "vmcore_encrypted.h.1.last.zst"), 0);
	list_add(&files, "bounds.h.1");
	for (i = 0; i < sizeof(savecore_steps) / sizeof(savecore_steps[0]);
	    i++) {
		const struct name_step *st = &savecore_steps[i];

		init_dump(&dump, e, ".", "h.1", "10.0.0.5");
		store_kind(inst, &dump, &kdh, st->k, st->tsuffix, &res);
		snprintf(vm, sizeof(vm), "%s.h.1.%u%s", st->stem, i, st->ext);
		assert_string_equal(res.vmcore, vm);
		list_add(&files, "%s", vm);
		list_add(&files, "info.h.1.%u", i);
		list_add(&files, "manifest.h.1.%u.json", i);
		if (kinds[st->k].enc)
			list_add(&files, "key.h.1.%u", i);
		want = files;
		list_add(&want, "vmcore.h.1.last -> %s", vm);
		list_add(&want, "info.h.1.last -> info.h.1.%u", i);
		assert_listing(e->dfd, ".", &want);
	}
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(inst);
}

/* redhat: one directory a dump, the names without a number. */
static void
test_names_redhat_all_kinds(void **state)
{
	static const char *const want[] = {
		[K_PLAIN] = "vmcore", [K_GZIP] = "vmcore.gz",
		[K_ZSTD] = "vmcore.zst", [K_ENC] = "vmcore_encrypted",
		[K_ENC_GZIP] = "vmcore_encrypted",
		[K_ENC_ZSTD] = "vmcore_encrypted",
	};
	struct env *e = *state;
	struct nds_dump dump;
	struct nds_kdh kdh;
	struct stored res;
	const char *slash;
	unsigned int k;
	void *inst;

	inst = mk_sink(2, NULL, false, NULL);
	for (k = K_PLAIN; k <= K_ENC_ZSTD; k++) {
		init_dump(&dump, e, ".", "host1", "10.0.0.5");
		store_kind(inst, &dump, &kdh, (enum kind)k, NULL, &res);
		assert_non_null(slash = strchr(res.vmcore, '/'));
		assert_string_equal(slash + 1, want[k]);
		if (kinds[k].enc) {
			assert_non_null(slash = strchr(res.key, '/'));
			assert_string_equal(slash + 1, "key");
		}
	}
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(inst);
}

/*
 * Only symlinks are removed or replaced: a file someone put at a *.last
 * name stays, whether it would go (vmcore.last.gz before a plain dump) or
 * be replaced (before a gzip one, which then has no such link: a warning,
 * and the dump is stored all the same).
 */
static void
test_last_regular_file_left_alone(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct nds_kdh kdh;
	struct stored res;
	void *inst;

	inst = mk_sink(0, NULL, false, NULL);
	assert_int_equal(mkdirat(e->dfd, "host1", 0755), 0);
	make_file(e->dfd, "host1/vmcore.last.gz", 10);
	make_file(e->dfd, "host1/key.last", 20);

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_kind(inst, &dump, &kdh, K_PLAIN, NULL, &res);
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.0");
	assert_content(e->dfd, "host1/vmcore.last.gz", "uuuuuuuuuu");
	assert_mode(e->dfd, "host1/key.last", 0644);
	assert_int_equal(mock_host_warnings(), 0);

	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_kind(inst, &dump, &kdh, K_GZIP, NULL, &res);
	assert_string_equal(res.vmcore, "host1/vmcore.1.gz");
	assert_content(e->dfd, "host1/vmcore.last.gz", "uuuuuuuuuu");
	mock_assert_absent_at(e->dfd, "host1/vmcore.last");
	assert_link(e->dfd, "host1/info.last", "info.1");
	assert_int_equal(mock_host_warnings(), 1);

	/* An encrypted dump: key.last is in the way too. */
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_kind(inst, &dump, &kdh, K_ENC_GZIP, NULL, &res);
	assert_link(e->dfd, "host1/vmcore_encrypted.last.gz",
	    "vmcore_encrypted.2");
	assert_mode(e->dfd, "host1/key.last", 0644);
	assert_mode(e->dfd, "host1/vmcore.last.gz", 0644);
	assert_int_equal(mock_host_warnings(), 2);
	assert_no_tmp(e->dfd, "host1");
	M.destroy(inst);
}

/* Retention. */

/* A dump whose vmcore holds len bytes of data (so it takes disk blocks). */
static void
store_len(void *inst, struct nds_dump *dump, enum nds_status status,
    size_t len, bool encrypted, struct stored *res)
{
	char *buf;

	assert_non_null(buf = malloc(len + 1));
	memset(buf, 'r', len);
	buf[len] = '\0';
	store_dump(inst, dump, status, "", encrypted, buf, res);
	free(buf);
}

static void
one_dump(void *inst, const struct env *e, const char *path,
    const char *client, const char *addr, enum nds_status status, size_t len)
{
	struct nds_dump dump;
	struct stored res;

	init_dump(&dump, e, path, client, addr);
	store_len(inst, &dump, status, len, false, &res);
}

static void
set_mtime(int dfd, const char *path, time_t sec)
{
	struct timespec ts[2] = { { sec, 0 }, { sec, 0 } };

	if (utimensat(dfd, path, ts, AT_SYMLINK_NOFOLLOW) == -1)
		fail_msg("%s: %s", path, strerror(errno));
}

static void
assert_present(int dfd, const char *path)
{
	struct stat sb;

	if (fstatat(dfd, path, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		fail_msg("%s: %s", path, strerror(errno));
}

/* Every file of dump N of a savecore client: all there, or all gone. */
static void
assert_savecore_dump(int dfd, const char *client, unsigned int n,
    const char *vmcore_ext, bool there)
{
	char path[3][PATH_MAX];
	size_t i;

	snprintf(path[0], sizeof(path[0]), "%s/vmcore.%u%s", client, n,
	    vmcore_ext);
	snprintf(path[1], sizeof(path[1]), "%s/info.%u", client, n);
	snprintf(path[2], sizeof(path[2]), "%s/manifest.%u.json", client, n);
	for (i = 0; i < 3; i++) {
		if (there)
			assert_present(dfd, path[i]);
		else
			mock_assert_absent_at(dfd, path[i]);
	}
}

static void
make_file(int dfd, const char *path, size_t len)
{
	char buf[4096];
	size_t n;
	int fd;

	fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		fail_msg("%s: %s", path, strerror(errno));
	memset(buf, 'u', sizeof(buf));
	for (; len > 0; len -= n) {
		n = len < sizeof(buf) ? len : sizeof(buf);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
	}
	close(fd);
}

/* No symlink in dir points at nothing. */
static void
assert_no_dangling(int dfd, const char *dir)
{
	struct dirent *de;
	struct stat sb;
	DIR *dp;
	int fd;

	fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_non_null(dp = fdopendir(fd));
	while ((de = readdir(dp)) != NULL)
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(sb.st_mode) &&
		    fstatat(fd, de->d_name, &sb, 0) == -1)
			fail_msg("%s/%s dangles", dir, de->d_name);
	closedir(dp);
}

/* What retention counts in dir: its regular files but bounds. */
static uint64_t
disk_usage(int dfd, const char *dir)
{
	struct dirent *de;
	struct stat sb;
	uint64_t n = 0;
	DIR *dp;
	int fd;

	fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_non_null(dp = fdopendir(fd));
	while ((de = readdir(dp)) != NULL)
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode) && strcmp(de->d_name, "bounds") != 0)
			n += (uint64_t)sb.st_blocks * 512;
	closedir(dp);
	return n;
}

/* How many "retention: removed dump" lines were logged so far. */
static unsigned int
removals(void)
{
	return mock_host_count(REMOVED, NULL);
}

/* Some "retention: removed dump" line so far holds text. */
static void
assert_removal_logged(const char *text)
{
	mock_host_assert_logged(REMOVED, text);
}

/* keep_per_client = 2, four complete dumps: the two oldest go. */
static void
test_keep_per_client(void **state)
{
	struct env *e = *state;
	void *plain, *ret;
	unsigned int i;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 2, 0);
	for (i = 0; i < 3; i++)
		one_dump(plain, e, ".", "host1", "10.0.0.5",
		    NDS_STATUS_COMPLETE, 100);
	one_dump(plain, e, ".", "host2", "10.0.0.6", NDS_STATUS_COMPLETE,
	    100);
	set_mtime(e->dfd, "host1/manifest.0.json", 1000);
	set_mtime(e->dfd, "host1/manifest.1.json", 2000);
	set_mtime(e->dfd, "host1/manifest.2.json", 3000);
	/* Older than all, but of another client. */
	set_mtime(e->dfd, "host2/manifest.0.json", 500);

	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_savecore_dump(e->dfd, "host1", 0, "", false);
	assert_savecore_dump(e->dfd, "host1", 1, "", false);
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_savecore_dump(e->dfd, "host1", 3, "", true);
	assert_savecore_dump(e->dfd, "host2", 0, "", true);
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.3");
	assert_link(e->dfd, "host1/info.last", "info.3");
	assert_link(e->dfd, "host1/manifest.last.json", "manifest.3.json");
	assert_content(e->dfd, "host1/bounds", "4\n");
	assert_int_equal(removals(), 2);

	/* One more: the oldest of the two left goes. */
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_savecore_dump(e->dfd, "host1", 2, "", false);
	assert_savecore_dump(e->dfd, "host1", 3, "", true);
	assert_savecore_dump(e->dfd, "host1", 4, "", true);
	assert_int_equal(removals(), 3);
	assert_int_equal(mock_host_warnings(), 0);
	assert_no_tmp(e->dfd, "host1");
	M.destroy(plain);
	M.destroy(ret);
}

/* "Oldest" is the manifest's mtime, not the number. */
static void
test_keep_by_mtime(void **state)
{
	struct env *e = *state;
	void *plain, *ret;
	unsigned int i;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 3, 0);
	for (i = 0; i < 3; i++)
		one_dump(plain, e, ".", "host1", "10.0.0.5",
		    NDS_STATUS_COMPLETE, 100);
	set_mtime(e->dfd, "host1/manifest.0.json", 2000);
	set_mtime(e->dfd, "host1/manifest.1.json", 1000);
	set_mtime(e->dfd, "host1/manifest.2.json", 3000);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 1, "", false);
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_savecore_dump(e->dfd, "host1", 3, "", true);
	assert_int_equal(removals(), 1);
	M.destroy(plain);
	M.destroy(ret);
}

/*
 * keep_per_client = 2 over [0 complete, 1 incomplete, 2 complete,
 * 3 complete (new)]: incomplete dumps go first, so 1 goes although 0 is
 * older, then 0, the oldest of three complete dumps. With keep_per_client
 * = 1 and a new dump 4, 2 and 3 go.
 */
static void
test_keep_incomplete_first(void **state)
{
	struct env *e = *state;
	void *plain, *ret2, *ret1;

	plain = mk_sink(0, NULL, false, NULL);
	ret2 = mk_ret_sink(0, 2, 0);
	ret1 = mk_ret_sink(0, 1, 0);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_INCOMPLETE,
	    100);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	set_mtime(e->dfd, "host1/manifest.0.json", 1000);
	set_mtime(e->dfd, "host1/manifest.1.json", 2000);
	set_mtime(e->dfd, "host1/manifest.2.json", 3000);

	one_dump(ret2, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_savecore_dump(e->dfd, "host1", 0, "", false);
	assert_savecore_dump(e->dfd, "host1", 1, ".incomplete", false);
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_savecore_dump(e->dfd, "host1", 3, "", true);
	assert_int_equal(removals(), 2);
	assert_removal_logged("dump 1 of host1 (host1/vmcore.1.incomplete "
	    "+info.1, manifest.1.json; ");
	assert_removal_logged("): keep_per_client = 2: incomplete, and the "
	    "client had 4 dumps");
	assert_removal_logged("dump 0 of host1 (host1/vmcore.0 +info.0, "
	    "manifest.0.json; ");
	assert_removal_logged("): keep_per_client = 2: the oldest of the "
	    "client's 3 complete dumps");

	one_dump(ret1, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_savecore_dump(e->dfd, "host1", 2, "", false);
	assert_savecore_dump(e->dfd, "host1", 3, "", false);
	assert_savecore_dump(e->dfd, "host1", 4, "", true);
	assert_int_equal(removals(), 4);
	assert_int_equal(mock_host_warnings(), 0);
	assert_no_dangling(e->dfd, "host1");
	M.destroy(plain);
	M.destroy(ret2);
	M.destroy(ret1);
}

/*
 * Junk (HERALD, 16 bytes, FINISHED: incomplete, no kernel dump header)
 * must not push complete dumps out. keep_per_client = 2 over two complete
 * dumps: the first junk dump stays, as the dump that just ended; the
 * second removes the first and nothing else. A complete dump then removes
 * the junk left before the oldest complete dump.
 */
static void
test_keep_junk(void **state)
{
	struct env *e = *state;
	void *plain, *ret;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 2, 0);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    64 * KiB);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    64 * KiB);
	set_mtime(e->dfd, "host1/manifest.0.json", 1000);
	set_mtime(e->dfd, "host1/manifest.1.json", 2000);

	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_INCOMPLETE, 16);
	assert_int_equal(removals(), 0);
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 1, "", true);
	assert_savecore_dump(e->dfd, "host1", 2, ".incomplete", true);

	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_INCOMPLETE, 16);
	assert_int_equal(removals(), 1);
	assert_removal_logged("dump 2 of host1 (host1/vmcore.2.incomplete "
	    "+info.2, manifest.2.json; ");
	assert_removal_logged("keep_per_client = 2: incomplete, and the "
	    "client had 4 dumps");
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 1, "", true);
	assert_savecore_dump(e->dfd, "host1", 2, ".incomplete", false);
	assert_savecore_dump(e->dfd, "host1", 3, ".incomplete", true);
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.1");
	assert_link(e->dfd, "host1/manifest.last.json", "manifest.1.json");

	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    64 * KiB);
	assert_int_equal(removals(), 3);
	assert_savecore_dump(e->dfd, "host1", 3, ".incomplete", false);
	assert_savecore_dump(e->dfd, "host1", 0, "", false);
	assert_savecore_dump(e->dfd, "host1", 1, "", true);
	assert_savecore_dump(e->dfd, "host1", 4, "", true);
	assert_no_dangling(e->dfd, "host1");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/*
 * Never a dump without a manifest (cut off by a crash, or still arriving),
 * nor one whose manifest is written but whose end has not come yet, even
 * when they are the oldest.
 */
static void
test_keep_in_progress(void **state)
{
	struct env *e = *state;
	struct nds_dump a, b;
	struct stored res, bres;
	void *plain, *ret, *ads, *aos, *bds, *bos;
	int fd;

	/* Dump 0: the daemon died while it arrived. */
	assert_int_equal(mkdirat(e->dfd, "host1", 0700), 0);
	make_file(e->dfd, "host1/info.0", 0);
	make_file(e->dfd, "host1/vmcore.0.incomplete", 8192);
	make_file(e->dfd, "host1/bounds", 0);
	fd = openat(e->dfd, "host1/bounds", O_WRONLY | O_CLOEXEC);
	assert_int_equal(write(fd, "1\n", 2), 2);
	close(fd);
	set_mtime(e->dfd, "host1/info.0", 100);
	set_mtime(e->dfd, "host1/vmcore.0.incomplete", 100);

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 1, 1);

	/* Dump 1: arriving. */
	init_dump(&a, e, ".", "host1", "10.0.0.5");
	ads = do_begin(plain, &a);
	aos = do_open(ads, NDS_OBJ_VMCORE);
	do_write(aos, 0, "abc", 3);

	/* Dump 2: its manifest is written, its end not yet. */
	init_dump(&b, e, ".", "host1", "10.0.0.5");
	bds = do_begin(plain, &b);
	bos = do_open(bds, NDS_OBJ_VMCORE);
	do_write(bos, 0, "def", 3);
	b.status = NDS_STATUS_COMPLETE;
	do_close(bos, NDS_OBJ_VMCORE, 3, bres.vmcore);
	put_object(bds, NDS_OBJ_INFO, "info\n", bres.info);
	put_stored_manifest(bds, &b, &bres, false);
	set_mtime(e->dfd, "host1/manifest.2.json", 200);

	/* Dump 3: 2 is finished, but still between begin and end. */
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 0);
	/* Dump 4: 3 goes, as the only one that may. */
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 1);

	assert_present(e->dfd, "host1/info.0");
	assert_present(e->dfd, "host1/vmcore.0.incomplete");
	assert_present(e->dfd, "host1/info.1");
	assert_present(e->dfd, "host1/vmcore.1.incomplete");
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_savecore_dump(e->dfd, "host1", 3, "", false);
	assert_savecore_dump(e->dfd, "host1", 4, "", true);

	a.status = NDS_STATUS_INCOMPLETE;
	do_close(aos, NDS_OBJ_VMCORE, 3, res.vmcore);
	res.info[0] = '\0';
	put_manifest(ads, &a, (const char *const[]){ res.vmcore, NULL },
	    res.manifest);
	do_end(ads);
	do_end(bds);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/*
 * max_total_size counts every finished dump beneath the sink's directory,
 * all paths and clients, and removes incomplete dumps first, then the
 * oldest complete ones anywhere; files that are not dumps neither count
 * nor go.
 */
static void
test_max_total_size(void **state)
{
	struct env *e = *state;
	void *plain, *ret;

	assert_int_equal(mkdirat(e->dfd, "prod", 0755), 0);
	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 0, 3 * MiB + MiB / 2);
	/* Incomplete: it goes first, though it is the smallest. */
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_INCOMPLETE,
	    4 * KiB);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    1 * MiB);
	one_dump(plain, e, "prod", "host2", "10.0.0.6", NDS_STATUS_COMPLETE,
	    1 * MiB);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    1 * MiB);
	one_dump(plain, e, "prod", "host2", "10.0.0.6", NDS_STATUS_COMPLETE,
	    1 * MiB);
	make_file(e->dfd, "prod/host2/notes.txt", 2 * MiB);
	set_mtime(e->dfd, "host1/manifest.0.json", 5000);
	set_mtime(e->dfd, "host1/manifest.1.json", 1000);
	set_mtime(e->dfd, "prod/host2/manifest.0.json", 2000);
	set_mtime(e->dfd, "host1/manifest.2.json", 3000);
	set_mtime(e->dfd, "prod/host2/manifest.1.json", 4000);

	/* About 5 MiB of dumps: the incomplete one and two more must go. */
	one_dump(ret, e, "prod", "host2", "10.0.0.6", NDS_STATUS_COMPLETE,
	    1 * MiB);
	assert_int_equal(removals(), 3);
	assert_removal_logged("dump 0 of host1 (host1/vmcore.0.incomplete "
	    "+info.0, manifest.0.json; ");
	/* Sizes are what the file system allocates: no exact figures. */
	assert_removal_logged("): max_total_size = 3.5 MiB: incomplete, and "
	    "5.");
	assert_removal_logged("dump 1 of host1 (host1/vmcore.1 +info.1, "
	    "manifest.1.json; ");
	assert_removal_logged("): max_total_size = 3.5 MiB: the oldest "
	    "complete dump, and complete dumps took 5.");
	assert_savecore_dump(e->dfd, "host1", 0, ".incomplete", false);
	assert_savecore_dump(e->dfd, "host1", 1, "", false);
	assert_savecore_dump(e->dfd, "prod/host2", 0, "", false);
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_savecore_dump(e->dfd, "prod/host2", 1, "", true);
	assert_savecore_dump(e->dfd, "prod/host2", 2, "", true);
	assert_present(e->dfd, "prod/host2/notes.txt");
	assert_present(e->dfd, "prod/host2/bounds");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/* The dump that just ended stays, even alone over the limit. */
static void
test_max_total_just_ended(void **state)
{
	struct env *e = *state;
	void *plain, *ret;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 0, 64 * KiB);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    256 * KiB);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_INCOMPLETE,
	    256 * KiB);
	one_dump(plain, e, ".", "host2", "10.0.0.6", NDS_STATUS_COMPLETE,
	    256 * KiB);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    1 * MiB);
	assert_int_equal(removals(), 3);
	assert_savecore_dump(e->dfd, "host1", 0, "", false);
	assert_savecore_dump(e->dfd, "host1", 1, ".incomplete", false);
	assert_savecore_dump(e->dfd, "host2", 0, "", false);
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.2");
	/* host2's links pointed at its removed dump. */
	mock_assert_absent_at(e->dfd, "host2/vmcore.last");
	assert_present(e->dfd, "host2/bounds");
	assert_no_dangling(e->dfd, "host2");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/*
 * The junk of one client must not evict another's complete dump under
 * max_total_size: with a limit that just holds the complete dumps, 16-byte
 * junk dumps of host3 push the total over, but only junk goes. Then a
 * complete dump removes the junk first, and complete dumps only while they
 * alone are over the limit.
 */
static void
test_max_total_junk(void **state)
{
	struct env *e = *state;
	uint64_t limit;
	void *plain, *ret;

	plain = mk_sink(0, NULL, false, NULL);
	one_dump(plain, e, ".", "host2", "10.0.0.6", NDS_STATUS_COMPLETE,
	    256 * KiB);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    256 * KiB);
	set_mtime(e->dfd, "host2/manifest.0.json", 1000);
	set_mtime(e->dfd, "host1/manifest.0.json", 2000);
	limit = disk_usage(e->dfd, "host1") + disk_usage(e->dfd, "host2");
	ret = mk_ret_sink(0, 0, (int64_t)limit);

	one_dump(ret, e, ".", "host3", "10.0.0.7", NDS_STATUS_INCOMPLETE, 16);
	assert_int_equal(removals(), 0);
	one_dump(ret, e, ".", "host3", "10.0.0.7", NDS_STATUS_INCOMPLETE, 16);
	assert_int_equal(removals(), 1);
	assert_removal_logged("dump 0 of host3 (host3/vmcore.0.incomplete "
	    "+info.0, manifest.0.json; ");
	assert_removal_logged("max_total_size = ");
	assert_savecore_dump(e->dfd, "host3", 0, ".incomplete", false);
	assert_savecore_dump(e->dfd, "host3", 1, ".incomplete", true);
	assert_savecore_dump(e->dfd, "host2", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_link(e->dfd, "host2/vmcore.last", "vmcore.0");

	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    256 * KiB);
	assert_int_equal(removals(), 3);
	assert_savecore_dump(e->dfd, "host3", 1, ".incomplete", false);
	assert_savecore_dump(e->dfd, "host2", 0, "", false);
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 1, "", true);
	assert_removal_logged("dump 0 of host2 (host2/vmcore.0 +info.0, "
	    "manifest.0.json; ");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/*
 * netdumpd: all clients share a directory, and a client's name may hold
 * dots: "host1.0"'s dump 0 is "vmcore.host1.0.0", not host1's.
 */
static void
test_retention_netdumpd(void **state)
{
	struct env *e = *state;
	void *plain, *ret;
	unsigned int i;

	plain = mk_sink(1, NULL, false, NULL);
	ret = mk_ret_sink(1, 1, 0);
	for (i = 0; i < 2; i++) {
		one_dump(plain, e, ".", "host1", "10.0.0.5",
		    NDS_STATUS_COMPLETE, 100);
		one_dump(plain, e, ".", "host1.0", "10.0.0.6",
		    NDS_STATUS_COMPLETE, 100);
	}
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 2);
	mock_assert_absent_at(e->dfd, "vmcore.host1.0");
	mock_assert_absent_at(e->dfd, "info.host1.0");
	mock_assert_absent_at(e->dfd, "manifest.host1.0.json");
	mock_assert_absent_at(e->dfd, "vmcore.host1.1");
	mock_assert_absent_at(e->dfd, "info.host1.1");
	mock_assert_absent_at(e->dfd, "manifest.host1.1.json");
	assert_present(e->dfd, "vmcore.host1.2");
	assert_present(e->dfd, "manifest.host1.2.json");
	assert_link(e->dfd, "vmcore.host1.last", "vmcore.host1.2");
	assert_content(e->dfd, "bounds.host1", "3\n");
	for (i = 0; i < 2; i++) {
		char path[64];

		snprintf(path, sizeof(path), "vmcore.host1.0.%u", i);
		assert_present(e->dfd, path);
		snprintf(path, sizeof(path), "info.host1.0.%u", i);
		assert_present(e->dfd, path);
		snprintf(path, sizeof(path), "manifest.host1.0.%u.json", i);
		assert_present(e->dfd, path);
	}
	assert_link(e->dfd, "vmcore.host1.0.last", "vmcore.host1.0.1");
	assert_link(e->dfd, "info.host1.0.last", "info.host1.0.1");
	assert_content(e->dfd, "bounds.host1.0", "2\n");
	assert_no_dangling(e->dfd, ".");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/* redhat: a dump is its directory; one with other files in it stays. */
static void
test_retention_redhat(void **state)
{
	struct env *e = *state;
	struct tm tm;
	time_t t = MOCK_T_START;
	char stamp[32], d0[64], d1[64], d2[64], o0[64], o1[64], path[128];
	void *plain, *keep1, *max1;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H:%M", &tm);
	snprintf(d0, sizeof(d0), "10.0.0.5-%s", stamp);
	snprintf(d1, sizeof(d1), "10.0.0.5-%s-1", stamp);
	snprintf(d2, sizeof(d2), "10.0.0.5-%s-2", stamp);
	snprintf(o0, sizeof(o0), "10.0.0.50-%s", stamp);
	snprintf(o1, sizeof(o1), "10.0.0.50-%s-1", stamp);
	plain = mk_sink(2, NULL, false, NULL);
	keep1 = mk_ret_sink(2, 1, 0);
	max1 = mk_ret_sink(2, 0, 1);

	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	one_dump(plain, e, ".", "host50", "10.0.0.50", NDS_STATUS_COMPLETE,
	    100);
	snprintf(path, sizeof(path), "%s/notes", d1);
	make_file(e->dfd, path, 10);
	snprintf(path, sizeof(path), "%s/manifest.json", d0);
	set_mtime(e->dfd, path, 1000);
	snprintf(path, sizeof(path), "%s/manifest.json", d1);
	set_mtime(e->dfd, path, 2000);
	snprintf(path, sizeof(path), "%s/manifest.json", o0);
	set_mtime(e->dfd, path, 500);

	one_dump(keep1, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 2);
	mock_assert_absent_at(e->dfd, d0);
	snprintf(path, sizeof(path), "%s/vmcore", d1);
	mock_assert_absent_at(e->dfd, path);
	snprintf(path, sizeof(path), "%s/info", d1);
	mock_assert_absent_at(e->dfd, path);
	snprintf(path, sizeof(path), "%s/manifest.json", d1);
	mock_assert_absent_at(e->dfd, path);
	snprintf(path, sizeof(path), "%s/notes", d1);
	assert_present(e->dfd, path);
	snprintf(path, sizeof(path), "%s/vmcore", d2);
	assert_present(e->dfd, path);
	/* 10.0.0.5 is a prefix of 10.0.0.50, not the same client. */
	snprintf(path, sizeof(path), "%s/vmcore", o0);
	assert_present(e->dfd, path);

	/* max_total_size = 1: everything but the new one goes. */
	one_dump(max1, e, ".", "host50", "10.0.0.50", NDS_STATUS_COMPLETE,
	    100);
	assert_int_equal(removals(), 4);
	mock_assert_absent_at(e->dfd, o0);
	mock_assert_absent_at(e->dfd, d2);
	snprintf(path, sizeof(path), "%s/vmcore", o1);
	assert_present(e->dfd, path);
	snprintf(path, sizeof(path), "%s/notes", d1);
	assert_present(e->dfd, path);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(keep1);
	M.destroy(max1);
}

/* *.last links that pointed at a removed dump go with it. */
static void
test_retention_links(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *plain, *ret;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 0, 1);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_len(plain, &dump, NDS_STATUS_COMPLETE, 100, true, &res);
	/* As savecore does: the new dump's links replace all the old ones. */
	mock_assert_absent_at(e->dfd, "host1/vmcore.last");
	assert_link(e->dfd, "host1/vmcore_encrypted.last",
	    "vmcore_encrypted.1");
	assert_link(e->dfd, "host1/key.last", "key.1");
	set_mtime(e->dfd, "host1/manifest.0.json", 1000);
	set_mtime(e->dfd, "host1/manifest.1.json", 2000);

	/*
	 * An incomplete dump moves no link. max_total_size = 1: the complete
	 * dumps alone are over it, so both go.
	 */
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_INCOMPLETE,
	    100);
	assert_int_equal(removals(), 2);
	assert_savecore_dump(e->dfd, "host1", 0, "", false);
	mock_assert_absent_at(e->dfd, "host1/vmcore_encrypted.1");
	mock_assert_absent_at(e->dfd, "host1/key.1");
	mock_assert_absent_at(e->dfd, "host1/info.1");
	mock_assert_absent_at(e->dfd, "host1/manifest.1.json");
	mock_assert_absent_at(e->dfd, "host1/vmcore.last");
	mock_assert_absent_at(e->dfd, "host1/vmcore_encrypted.last");
	mock_assert_absent_at(e->dfd, "host1/key.last");
	mock_assert_absent_at(e->dfd, "host1/info.last");
	mock_assert_absent_at(e->dfd, "host1/manifest.last.json");
	assert_savecore_dump(e->dfd, "host1", 2, ".incomplete", true);
	assert_no_dangling(e->dfd, "host1");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/*
 * Retention finds every file of a dump under every name: each kind
 * (encrypted ones with their keys, incomplete ones), all removed but the
 * newest, and no link left dangling.
 */
static void
test_retention_all_kinds(void **state)
{
	struct env *e = *state;
	struct listing want = { .n = 0 };
	struct nds_dump dump;
	struct nds_kdh kdh;
	struct stored res;
	unsigned int k;
	void *plain, *ret;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 1, 0);
	for (k = K_PLAIN; k <= K_ENC_ZSTD; k++) {
		init_dump(&dump, e, ".", "host1", "10.0.0.5");
		store_kind(plain, &dump, &kdh, (enum kind)k, NULL, &res);
		init_dump(&dump, e, ".", "host1", "10.0.0.5");
		store_kind(plain, &dump, &kdh, (enum kind)k, ".zst", &res);
	}
	/* An encrypted dump cut short, and one through a transform. */
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_dump(plain, &dump, NDS_STATUS_INCOMPLETE, "", true, "cut", &res);
	assert_string_equal(res.vmcore, "host1/vmcore_encrypted.12.incomplete");
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	store_kind(ret, &dump, &kdh, K_ENC_ZSTD, "", &res);
	assert_string_equal(res.vmcore, "host1/vmcore_encrypted.13");
	assert_int_equal(removals(), 13);
	list_add(&want, "bounds");
	list_add(&want, "vmcore_encrypted.13");
	list_add(&want, "key.13");
	list_add(&want, "info.13");
	list_add(&want, "manifest.13.json");
	list_add(&want, "vmcore_encrypted.last.zst -> vmcore_encrypted.13");
	list_add(&want, "key.last -> key.13");
	list_add(&want, "info.last -> info.13");
	list_add(&want, "manifest.last.json -> manifest.13.json");
	assert_listing(e->dfd, "host1", &want);
	assert_removal_logged("host1/vmcore_encrypted.11.zst +info.11, key.11, "
	    "manifest.11.json");
	assert_removal_logged("host1/vmcore_encrypted.12.incomplete +info.12, "
	    "key.12, manifest.12.json");
	assert_removal_logged("host1/vmcore.3.gz.zst +info.3");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/*
 * keep_per_signature = 1 with keep_per_client = 2, four complete dumps of
 * one signature: the first and the newest stay whole, the two between
 * keep their summary (info, manifest), which keep_per_client does not
 * count: it has nothing to remove. A dump without a signature is not
 * keep_per_signature's. With repeats = remove the next repeat removes
 * the newest but one whole.
 */
static void
test_keep_per_signature(void **state)
{
	struct env *e = *state;
	struct settings st = { .n = 0 };
	char err[NDS_ERRBUF_SIZE] = "";
	void *plain, *ret, *config;
	unsigned int i;

	plain = mk_sink(0, NULL, false, NULL);
	set(&st, "fsync=no");
	set(&st, "keep_per_client=2");
	set(&st, "keep_per_signature=1");
	if ((config = build_config(st.list, err)) == NULL ||
	    M.create(&mock_host, NULL, config, &ret, err) != NDS_OK)
		fail_msg("create: %s", err);
	one_dump(plain, e, ".", "host2", "10.0.0.6", NDS_STATUS_COMPLETE, 100);
	manifest_sig = "00000000000000aa";
	for (i = 0; i < 3; i++)
		one_dump(plain, e, ".", "host1", "10.0.0.5",
		    NDS_STATUS_COMPLETE, 100);
	set_mtime(e->dfd, "host1/manifest.0.json", 1000);
	set_mtime(e->dfd, "host1/manifest.1.json", 2000);
	set_mtime(e->dfd, "host1/manifest.2.json", 3000);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 3, "", true);
	assert_savecore_dump(e->dfd, "host2", 0, "", true);
	for (i = 1; i <= 2; i++) {
		char path[64];

		snprintf(path, sizeof(path), "host1/vmcore.%u", i);
		mock_assert_absent_at(e->dfd, path);
		snprintf(path, sizeof(path), "host1/info.%u", i);
		assert_present(e->dfd, path);
		snprintf(path, sizeof(path), "host1/manifest.%u.json", i);
		assert_present(e->dfd, path);
	}
	assert_int_equal(mock_host_count("retention: removed the core of "
	    "dump", NULL), 2);
	mock_host_assert_logged("retention: removed the core of dump 1 of "
	    "host1 (host1/vmcore.1; ", "), kept its summary: "
	    "keep_per_signature = 1: an older repeat of signature "
	    "00000000000000aa");
	assert_int_equal(removals(), 0);
	assert_no_dangling(e->dfd, "host1");
	M.destroy(ret);

	st.n = 0;
	set(&st, "fsync=no");
	set(&st, "keep_per_signature=1");
	set(&st, "repeats=remove");
	if ((config = build_config(st.list, err)) == NULL ||
	    M.create(&mock_host, NULL, config, &ret, err) != NDS_OK)
		fail_msg("create: %s", err);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 3, "", false);
	assert_savecore_dump(e->dfd, "host1", 4, "", true);
	assert_present(e->dfd, "host1/manifest.1.json");
	assert_removal_logged("dump 3 of host1 (host1/vmcore.3 +info.3, "
	    "manifest.3.json; ");
	assert_int_equal(mock_host_warnings(), 0);
	manifest_sig = NULL;
	M.destroy(ret);
	M.destroy(plain);
}

/* A sink with keep_per_signature and more settings (NULL: none). */
static void *
mk_sig_sink(int64_t keep_sig, const char *more, const char *more2)
{
	struct settings st = { .n = 0 };
	char err[NDS_ERRBUF_SIZE] = "";
	void *config, *inst = NULL;

	set(&st, "fsync=no");
	set(&st, "keep_per_signature=%lld", (long long)keep_sig);
	set(&st, "%s", more);
	if (more2 != NULL)
		set(&st, "%s", more2);
	if ((config = build_config(st.list, err)) == NULL ||
	    M.create(&mock_host, NULL, config, &inst, err) != NDS_OK)
		fail_msg("create: %s", err);
	return inst;
}

/*
 * keep_per_signature = 1 with max_total_size: the two repeats become
 * summaries, and max_total_size takes the older summary whole (its info
 * and manifest; its vmcore went already, and is not counted twice)
 * before any complete dump.
 */
static void
test_signature_summary_total(void **state)
{
	struct env *e = *state;
	void *plain, *ret;
	unsigned int i;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_sig_sink(1, "max_total_size=540K", NULL);
	manifest_sig = "00000000000000bb";
	for (i = 0; i < 3; i++)
		one_dump(plain, e, ".", "host1", "10.0.0.5",
		    NDS_STATUS_COMPLETE, 256 * KiB);
	set_mtime(e->dfd, "host1/manifest.0.json", 1000);
	set_mtime(e->dfd, "host1/manifest.1.json", 2000);
	set_mtime(e->dfd, "host1/manifest.2.json", 3000);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    256 * KiB);
	manifest_sig = NULL;
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 1, "", false);
	assert_savecore_dump(e->dfd, "host1", 3, "", true);
	mock_assert_absent_at(e->dfd, "host1/vmcore.2");
	assert_present(e->dfd, "host1/info.2");
	assert_present(e->dfd, "host1/manifest.2.json");
	assert_int_equal(mock_host_count("retention: removed the core of "
	    "dump", NULL), 2);
	assert_int_equal(removals(), 1);
	assert_removal_logged("dump 1 of host1 (host1/info.1 "
	    "+manifest.1.json; 8.0 KiB): max_total_size = 540.0 KiB: a "
	    "repeat's summary");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(ret);
	M.destroy(plain);
}

/*
 * Red Hat's layout, keep_per_signature = 1: the repeat between the first
 * and the newest keeps its directory with its summary (info, manifest);
 * with repeats = remove the next repeat takes the newest but one whole,
 * directory and all, and the summary still stays.
 */
static void
test_signature_redhat(void **state)
{
	struct env *e = *state;
	struct tm tm;
	time_t t = MOCK_T_START;
	char stamp[32], d[4][64], path[PATH_MAX];
	void *plain, *ret, *rm;
	unsigned int i;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H:%M", &tm);
	snprintf(d[0], sizeof(d[0]), "10.0.0.5-%s", stamp);
	for (i = 1; i < 4; i++)
		snprintf(d[i], sizeof(d[i]), "10.0.0.5-%s-%u", stamp, i);
	plain = mk_sink(2, NULL, false, NULL);
	ret = mk_sig_sink(1, "layout=redhat", NULL);
	rm = mk_sig_sink(1, "layout=redhat", "repeats=remove");
	manifest_sig = "00000000000000dd";
	for (i = 0; i < 2; i++) {
		one_dump(plain, e, ".", "host1", "10.0.0.5",
		    NDS_STATUS_COMPLETE, 100);
		snprintf(path, sizeof(path), "%s/manifest.json", d[i]);
		set_mtime(e->dfd, path, 1000 * (i + 1));
	}
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	snprintf(path, sizeof(path), "%s/vmcore", d[0]);
	assert_present(e->dfd, path);
	snprintf(path, sizeof(path), "%s/vmcore", d[1]);
	mock_assert_absent_at(e->dfd, path);
	snprintf(path, sizeof(path), "%s/info", d[1]);
	assert_present(e->dfd, path);
	snprintf(path, sizeof(path), "%s/manifest.json", d[1]);
	assert_present(e->dfd, path);
	snprintf(path, sizeof(path), "%s/vmcore", d[2]);
	assert_present(e->dfd, path);
	mock_host_assert_logged("retention: removed the core of dump of "
	    "10.0.0.5", "kept its summary");

	one_dump(rm, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	manifest_sig = NULL;
	mock_assert_absent_at(e->dfd, d[2]);
	snprintf(path, sizeof(path), "%s/manifest.json", d[1]);
	assert_present(e->dfd, path);
	snprintf(path, sizeof(path), "%s/vmcore", d[0]);
	assert_present(e->dfd, path);
	snprintf(path, sizeof(path), "%s/vmcore", d[3]);
	assert_present(e->dfd, path);
	assert_int_equal(removals(), 1);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(rm);
	M.destroy(ret);
	M.destroy(plain);
}

/* Set or clear the immutable flag of path in dfd; false if it cannot. */
static bool
set_immutable(int dfd, const char *path, bool on)
{
	int fd, flags;
	bool ok;

	if ((fd = openat(dfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
	flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
	ok = ok && ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
	close(fd);
	return ok;
}

/*
 * keep_per_signature = 2 over five dumps of one signature, the vmcore of
 * the oldest repeat immutable: its removal fails (a warning), and it
 * still counts as taken, so the newest two (3 and the dump that ended)
 * keep their cores; only 2 becomes a summary. Needs root and a file
 * system with the immutable flag; skipped otherwise.
 */
static void
test_signature_unlink_fails(void **state)
{
	struct env *e = *state;
	void *plain, *ret;
	char path[64];
	unsigned int i;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_sig_sink(2, "repeats=summary", NULL);
	manifest_sig = "00000000000000cc";
	for (i = 0; i < 4; i++) {
		one_dump(plain, e, ".", "host1", "10.0.0.5",
		    NDS_STATUS_COMPLETE, 4096);
		snprintf(path, sizeof(path), "host1/manifest.%u.json", i);
		set_mtime(e->dfd, path, 1000 * (i + 1));
	}
	if (!set_immutable(e->dfd, "host1/vmcore.1", true)) {
		manifest_sig = NULL;
		M.destroy(ret);
		M.destroy(plain);
		skip();
	}
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 4096);
	manifest_sig = NULL;
	assert_true(set_immutable(e->dfd, "host1/vmcore.1", false));
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 1, "", true);
	mock_assert_absent_at(e->dfd, "host1/vmcore.2");
	assert_present(e->dfd, "host1/manifest.2.json");
	assert_savecore_dump(e->dfd, "host1", 3, "", true);
	assert_savecore_dump(e->dfd, "host1", 4, "", true);
	assert_int_equal(mock_host_warnings(), 2);
	mock_host_assert_logged("retention: dump 1 of host1 (host1/vmcore.1) "
	    "removed in part", "0 B freed: keep_per_signature = 2");
	M.destroy(ret);
	M.destroy(plain);
}

/* Nothing but the files of dumps is touched. */
static void
test_retention_unrelated(void **state)
{
	static const char *const others[] = {
		"README", "host1/notes.txt", "host1/vmcore.0.bak",
		"host1/info.0.old", "host1/vmcore.00", "host1/manifest.json",
		"host1/info.9", "host1/vmcore.9", "host1/.info.9.tmp",
		"host1/sub/notes", "host1/sub/info.0",
	};
	struct env *e = *state;
	void *plain, *ret;
	size_t i;

	plain = mk_sink(0, NULL, false, NULL);
	ret = mk_ret_sink(0, 1, 1);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(mkdirat(e->dfd, "host1/sub", 0755), 0);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		make_file(e->dfd, others[i], 100);
	/* Not a *.last link of ours, though it points at dump 0. */
	assert_int_equal(symlinkat("vmcore.0", e->dfd, "host1/mine.last"), 0);
	set_mtime(e->dfd, "host1/manifest.0.json", 1000);
	set_mtime(e->dfd, "host1/manifest.1.json", 2000);

	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 2);
	assert_savecore_dump(e->dfd, "host1", 0, "", false);
	assert_savecore_dump(e->dfd, "host1", 1, "", false);
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_present(e->dfd, others[i]);
	assert_link(e->dfd, "host1/mine.last", "vmcore.0");
	assert_present(e->dfd, "host1/bounds");
	assert_int_equal(count_entries(e->outside), 0);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(ret);
}

/*
 * A dump's files are those its manifest lists in its own directory: a
 * manifest that names files elsewhere, through "..", by absolute path,
 * or another dump's manifest or a *.last link (planted, or from another
 * sink) takes nothing but itself with it.
 */
static void
test_retention_by_manifest(void **state)
{
	static const char planted[] = "{\"manifest_version\": 1, "
	    "\"status\": \"complete\", \"client\": {\"address\": "
	    "\"10.0.0.5\", \"port\": 20024, \"name\": \"host1\"}, "
	    "\"number\": 7, \"objects\": [{\"stored\": {\"file\": "
	    "\"other/vmcore.7\"}}, {\"stored\": {\"file\": "
	    "\"host1/../keep.7\", \"s3\": \"/etc/passwd\"}}, {\"stored\": "
	    "{\"file\": \"host1/manifest.0.json\", \"other\": "
	    "\"host1/vmcore.last\"}}]}\n";
	struct env *e = *state;
	void *ret;
	int fd;

	assert_int_equal(mkdirat(e->dfd, "host1", 0700), 0);
	assert_int_equal(mkdirat(e->dfd, "other", 0700), 0);
	make_file(e->dfd, "other/vmcore.7", 100);
	make_file(e->dfd, "keep.7", 100);
	/* Named like a file of dump 7, but no manifest lists it here. */
	make_file(e->dfd, "host1/vmcore.7", 100);
	fd = openat(e->dfd, "host1/manifest.7.json", O_WRONLY | O_CREAT |
	    O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, planted, strlen(planted)),
	    (ssize_t)strlen(planted));
	close(fd);
	set_mtime(e->dfd, "host1/manifest.7.json", 1000);

	ret = mk_ret_sink(0, 1, 0);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 1);
	assert_removal_logged("dump 7 of host1 (host1/manifest.7.json; ");
	mock_assert_absent_at(e->dfd, "host1/manifest.7.json");
	assert_present(e->dfd, "host1/vmcore.7");
	assert_present(e->dfd, "other/vmcore.7");
	assert_present(e->dfd, "keep.7");
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.0");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(ret);
}

/* A manifest at path in dfd, its mtime sec: what the host writes. */
static void
plant_manifest(int dfd, const char *path, const char *status,
    unsigned number, const char *const *files, time_t sec)
{
	char text[2048];
	size_t n, i;
	int fd;

	n = (size_t)snprintf(text, sizeof(text), "{\"manifest_version\": 1, "
	    "\"status\": \"%s\", \"client\": {\"address\": \"10.0.0.5\", "
	    "\"port\": 20024, \"name\": \"host1\"}, \"number\": %u, "
	    "\"objects\": [", status, number);
	for (i = 0; files[i] != NULL; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "%s{\"kind\": \"%s\", \"stored\": {\"file\": \"%s\"}}",
		    i > 0 ? ", " : "", kind_of_place(files[i]), files[i]);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "]}\n");
	assert_true(n < sizeof(text));
	fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	set_mtime(dfd, path, sec);
}

/* manifest_read's stored(): the places do not matter here. */
static void
no_place(void *arg, const char *where)
{
	(void)arg;
	(void)where;
}

/*
 * What a server killed in the middle of a dump leaves (or one whose disk
 * filled before the finished manifest): the manifest of begin,
 * manifest.N.json.unfinished, status "unfinished" and no objects (the
 * host's own text), the vmcore as far as
 * it got, the empty info that reserved the number. That is a dump of its
 * client still, incomplete: keep_per_client takes it first, all of it
 * and nothing else (vmcore.10 is dump 10's name, not dump 1's and not
 * 0's, and "info.0.notes" is an operator's, not a name the sink gives;
 * a ".unfinished" manifest that does not say so is no dump). While
 * it is locked, another process is storing that dump: it stays.
 */
static void
test_retention_unfinished(void **state)
{
	struct env *e = *state;
	static const char *const three[] = { "host1/vmcore.3", NULL };
	struct nds_manifest_summary sum;
	struct nds_dump dead;
	char text[4096];
	ssize_t len;
	void *ret;
	int fd, lockfd;

	init_dump(&dead, e, ".", "host1", "10.0.0.5");
	len = mock_host.manifest_unfinished(&dead, true, 0, text, sizeof(text));
	assert_true(len > 0);
	assert_int_equal(mock_host.manifest_unfinished(&dead, true, 0, text,
	    16), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(mock_host.manifest_read(text, (size_t)len, &sum,
	    no_place, NULL), 0);
	assert_int_equal(sum.status, NDS_STATUS_RECEIVING);
	assert_true(sum.has_number);
	assert_string_equal(sum.client_name, "host1");

	assert_int_equal(mkdirat(e->dfd, "host1", 0700), 0);
	fd = openat(e->dfd, "host1/manifest.0.json.unfinished", O_WRONLY |
	    O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, (size_t)len), len);
	close(fd);
	make_file(e->dfd, "host1/vmcore.0.incomplete", 100);
	make_file(e->dfd, "host1/info.0", 0);
	make_file(e->dfd, "host1/vmcore.10", 100);
	make_file(e->dfd, "host1/info.1.x", 100);
	/* An operator's notes beside dump 0: not names the sink gives. */
	make_file(e->dfd, "host1/info.0.notes", 10);
	make_file(e->dfd, "host1/msgbuf.0-saved", 10);
	make_file(e->dfd, "host1/key.0.old", 10);
	set_mtime(e->dfd, "host1/manifest.0.json.unfinished", 1000);
	/* Not what the host writes at begin: not a dump. */
	make_file(e->dfd, "host1/vmcore.3", 100);
	plant_manifest(e->dfd, "host1/manifest.3.json.unfinished", "complete",
	    3, three, 900);

	/* Locked, it is a dump another server is storing: left alone. */
	lockfd = openat(e->dfd, "host1/manifest.0.json.unfinished", O_RDONLY |
	    O_CLOEXEC);
	assert_true(lockfd != -1);
	assert_int_equal(flock(lockfd, LOCK_EX), 0);
	ret = mk_ret_sink(0, 1, 0);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 0);
	assert_present(e->dfd, "host1/vmcore.0.incomplete");
	close(lockfd);

	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 2);
	assert_removal_logged("dump 0 of host1 (host1/vmcore.0.incomplete "
	    "+info.0, manifest.0.json.unfinished; ");
	assert_removal_logged("keep_per_client = 1: unfinished");
	assert_removal_logged("dump 1 of host1 (host1/vmcore.1 ");
	mock_assert_absent_at(e->dfd, "host1/vmcore.0.incomplete");
	mock_assert_absent_at(e->dfd, "host1/info.0");
	mock_assert_absent_at(e->dfd, "host1/manifest.0.json.unfinished");
	assert_present(e->dfd, "host1/vmcore.10");
	assert_present(e->dfd, "host1/info.1.x");
	assert_present(e->dfd, "host1/info.0.notes");
	assert_present(e->dfd, "host1/msgbuf.0-saved");
	assert_present(e->dfd, "host1/key.0.old");
	assert_present(e->dfd, "host1/vmcore.3");
	assert_savecore_dump(e->dfd, "host1", 1, "", false);
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(ret);
}

/*
 * The manifest of begin is there from the first byte, under its own
 * name (a manifest.N.json says the dump is over), and goes when the
 * finished one is there. Meanwhile the dump is still arriving: another
 * dump's end neither counts nor removes it, whatever keep_per_client
 * says.
 */
static void
test_unfinished_manifest_in_flight(void **state)
{
	struct env *e = *state;
	struct nds_manifest_summary sum;
	struct nds_dump dump;
	struct stored res;
	char text[4096], err[NDS_ERRBUF_SIZE];
	ssize_t len;
	void *ret, *ds, *os;

	ret = mk_ret_sink(0, 1, 0);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	ds = do_begin(ret, &dump);
	os = do_open(ds, NDS_OBJ_VMCORE);
	do_write(os, 0, "early bytes", 11);
	mock_assert_absent_at(e->dfd, "host1/manifest.0.json");
	len = mock_host.read_file(e->dfd, "host1/manifest.0.json.unfinished",
	    text, sizeof(text), err);
	assert_true(len > 0);
	assert_int_equal(mock_host.manifest_read(text, (size_t)len, &sum,
	    no_place, NULL), 0);
	assert_int_equal(sum.status, NDS_STATUS_RECEIVING);
	assert_int_equal(sum.number, 0);
	assert_non_null(strstr(text, "\"status\": \"unfinished\""));
	set_mtime(e->dfd, "host1/manifest.0.json.unfinished", 1000);

	/* Two dumps end while it runs; keep_per_client = 1 keeps the newer. */
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 1);
	assert_removal_logged("dump 1 of host1 (host1/vmcore.1 ");
	assert_present(e->dfd, "host1/vmcore.0.incomplete");
	assert_present(e->dfd, "host1/manifest.0.json.unfinished");

	dump.status = NDS_STATUS_COMPLETE;
	dump.reason = "";
	do_close(os, NDS_OBJ_VMCORE, 11, res.vmcore);
	put_object(ds, NDS_OBJ_INFO, "Dump from test\n", res.info);
	put_stored_manifest(ds, &dump, &res, false);
	do_end(ds);
	len = mock_host.read_file(e->dfd, "host1/manifest.0.json", text,
	    sizeof(text), err);
	assert_true(len > 0);
	assert_int_equal(mock_host.manifest_read(text, (size_t)len, &sum,
	    no_place, NULL), 0);
	assert_int_equal(sum.status, NDS_STATUS_COMPLETE);
	mock_assert_absent_at(e->dfd, "host1/manifest.0.json.unfinished");
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 2, "", false);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(ret);
}

/*
 * The unfinished manifest cannot be stored (here a folder holds its
 * name; a full disk or a refused lock does the same): a warning that
 * names it, and the dump itself goes on and is stored, with its
 * finished manifest.
 */
static void
test_unfinished_manifest_refused(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	void *ret, *ds, *os;

	ret = mk_ret_sink(0, 0, 0);
	assert_int_equal(mkdirat(e->dfd, "host1", 0755), 0);
	assert_int_equal(mkdirat(e->dfd, "host1/manifest.0.json.unfinished",
	    0755), 0);
	init_dump(&dump, e, ".", "host1", "10.0.0.5");
	ds = do_begin(ret, &dump);
	assert_int_equal(mock_host_warnings(), 1);
	mock_host_assert_logged(NULL, "host1/manifest.0.json.unfinished: Is a "
	    "directory (if the dump is cut short, retention will not see it)");
	mock_assert_absent_at(e->dfd, "host1/.manifest.0.json.unfinished.tmp");
	os = do_open(ds, NDS_OBJ_VMCORE);
	do_write(os, 0, "all of it", 9);
	dump.status = NDS_STATUS_COMPLETE;
	dump.reason = "";
	do_close(os, NDS_OBJ_VMCORE, 9, res.vmcore);
	put_object(ds, NDS_OBJ_INFO, "Dump from test\n", res.info);
	put_stored_manifest(ds, &dump, &res, false);
	do_end(ds);
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_int_equal(mock_host_warnings(), 1);
	M.destroy(ret);
}

/*
 * "sink = local, z | local": two chains store one dump in one directory,
 * each with its own number, and both manifests list both chains' files
 * with the first number. Each copy is a dump of its own, known by its
 * manifest's name: keep_per_client = 2 takes the oldest copy only (it
 * took both copies of the dump, as "dump 0", and then the newest).
 */
static void
test_retention_two_chains(void **state)
{
	static const char *const both[] = { "host1/vmcore.0",
	    "host1/vmcore.1.zst", "host1/info.0", "host1/info.1", NULL };
	struct env *e = *state;
	void *ret;

	assert_int_equal(mkdirat(e->dfd, "host1", 0700), 0);
	make_file(e->dfd, "host1/vmcore.0", 100);
	make_file(e->dfd, "host1/vmcore.1.zst", 100);
	make_file(e->dfd, "host1/info.0", 10);
	make_file(e->dfd, "host1/info.1", 10);
	plant_manifest(e->dfd, "host1/manifest.0.json", "complete", 0, both,
	    1000);
	plant_manifest(e->dfd, "host1/manifest.1.json", "complete", 0, both,
	    1001);

	ret = mk_ret_sink(0, 2, 0);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 1);
	assert_removal_logged("dump 0 of host1 (host1/vmcore.0 +info.0, "
	    "manifest.0.json; ");
	mock_assert_absent_at(e->dfd, "host1/vmcore.0");
	assert_present(e->dfd, "host1/vmcore.1.zst");
	assert_present(e->dfd, "host1/info.1");
	assert_present(e->dfd, "host1/manifest.1.json");
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(ret);
}

/*
 * A dump another chain stored whole is complete, but this sink's copy
 * was cut short (vmcore.1.incomplete): here it is an incomplete dump, so
 * keep_per_client = 2 takes it before the older whole one (it took the
 * whole one, counting the cut copy complete).
 */
static void
test_retention_cut_copy(void **state)
{
	static const char *const whole[] = { "host1/vmcore.0", "host1/info.0",
	    NULL };
	static const char *const cut[] = { "host1/vmcore.1.incomplete",
	    "host1/info.1", NULL };
	struct env *e = *state;
	void *ret;

	assert_int_equal(mkdirat(e->dfd, "host1", 0700), 0);
	make_file(e->dfd, "host1/vmcore.0", 100);
	make_file(e->dfd, "host1/info.0", 10);
	make_file(e->dfd, "host1/vmcore.1.incomplete", 50);
	make_file(e->dfd, "host1/info.1", 10);
	plant_manifest(e->dfd, "host1/manifest.0.json", "complete", 0, whole,
	    1000);
	plant_manifest(e->dfd, "host1/manifest.1.json", "complete", 1, cut,
	    2000);

	ret = mk_ret_sink(0, 2, 0);
	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 1);
	mock_assert_absent_at(e->dfd, "host1/vmcore.1.incomplete");
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_savecore_dump(e->dfd, "host1", 2, "", true);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(ret);
}

/*
 * A savecore sink that takes Linux dumps too: those are Red Hat's, each
 * in a folder of its own, and retention judges each dump by its own
 * manifest's layout, whichever dump ended. A Linux dump ending with
 * max_total_size = 1 takes the FreeBSD dumps and their *.last links
 * (they dangled: the whole tree was read as Red Hat's), then a FreeBSD
 * dump ending takes the Linux dump with its folder (it was left empty).
 */
static void
test_retention_mixed_protocols(void **state)
{
	struct env *e = *state;
	struct nds_dump dump;
	struct stored res;
	struct tm tm;
	time_t t = MOCK_T_START;
	char stamp[32], lx[64];
	void *plain, *max1;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H:%M", &tm);
	snprintf(lx, sizeof(lx), "10.0.0.7-%s", stamp);
	plain = mk_sink(0, NULL, false, NULL);
	max1 = mk_ret_sink(0, 0, 1);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	set_mtime(e->dfd, "host1/manifest.0.json", 1000);

	init_dump(&dump, e, ".", "lx1", "10.0.0.7");
	dump.protocol = NDS_PROTO_LINUX;
	store_len(max1, &dump, NDS_STATUS_COMPLETE, 100, false, &res);
	assert_int_equal(removals(), 1);
	assert_savecore_dump(e->dfd, "host1", 0, "", false);
	assert_no_dangling(e->dfd, "host1");
	assert_present(e->dfd, lx);

	one_dump(max1, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 2);
	mock_assert_absent_at(e->dfd, lx);
	assert_savecore_dump(e->dfd, "host1", 1, "", true);
	assert_link(e->dfd, "host1/vmcore.last", "vmcore.1");
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
	M.destroy(max1);
}

/*
 * A hard link put at the name the vmcore is written under, to a file of
 * the server's user elsewhere: the name is freed and the vmcore written
 * to a new file; the other file keeps what it held (it was truncated and
 * overwritten through the link).
 */
static void
test_planted_hard_link(void **state)
{
	struct env *e = *state;
	struct stat sb;
	void *plain;

	make_file(e->dfd, "victim", 4096);
	assert_int_equal(mkdirat(e->dfd, "host1", 0700), 0);
	assert_int_equal(linkat(e->dfd, "victim", e->dfd,
	    "host1/vmcore.0.incomplete", 0), 0);
	plain = mk_sink(0, NULL, false, NULL);
	one_dump(plain, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE,
	    100);
	assert_savecore_dump(e->dfd, "host1", 0, "", true);
	assert_int_equal(fstatat(e->dfd, "victim", &sb, 0), 0);
	assert_int_equal(sb.st_size, 4096);
	assert_int_equal(sb.st_nlink, 1);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(plain);
}

/*
 * netdumpd names carry the client's name, and a name may hold dots: the
 * files of dump 0 of client "host1.0" (vmcore.host1.0.0) start like
 * those of client "host1"'s dump 0 (vmcore.host1.0). A manifest of
 * host1's dump 0 that lists the other client's files (planted, or
 * mistaken) does not take them when its dump is removed.
 */
static void
test_retention_dotted_client(void **state)
{
	static const char *const theirs[] = { "vmcore.host1.0.0",
	    "info.host1.0.0", NULL };
	struct env *e = *state;
	void *plain, *ret;
	int fd;

	plain = mk_sink(1, NULL, false, NULL);
	ret = mk_ret_sink(1, 1, 0);
	one_dump(plain, e, ".", "host1.0", "10.0.0.6", NDS_STATUS_COMPLETE,
	    100);
	plant_manifest(e->dfd, "manifest.host1.0.json", "incomplete", 0,
	    theirs, 1000);
	/* host1's next number is 3: its dump 0 is the planted one. */
	fd = openat(e->dfd, "bounds.host1", O_WRONLY | O_CREAT | O_CLOEXEC,
	    0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "3\n", 2), 2);
	close(fd);

	one_dump(ret, e, ".", "host1", "10.0.0.5", NDS_STATUS_COMPLETE, 100);
	assert_int_equal(removals(), 1);
	mock_assert_absent_at(e->dfd, "manifest.host1.0.json");
	assert_present(e->dfd, "vmcore.host1.0.0");
	assert_present(e->dfd, "info.host1.0.0");
	assert_present(e->dfd, "manifest.host1.0.0.json");
	assert_present(e->dfd, "vmcore.host1.3");
	M.destroy(plain);
	M.destroy(ret);
}

/* Dumps of several clients end at once, all under max_total_size. */
struct worker {
	const struct env	*e;
	void			*inst;
	char			 client[16];
	unsigned int		 failures;
};

#define W_THREADS	4
#define W_DUMPS		6
#define W_SIZE		(64 * KiB)
#define W_LIMIT		(512 * KiB)

/* Every worker's vmcore; filled before the workers start. */
static char worker_data[W_SIZE];

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct nds_dump dump;
	struct nds_object obj;
	char err[NDS_ERRBUF_SIZE], where[NDS_WHERE_SIZE], text[1024];
	void *ds, *os;
	unsigned int i;
	bool ok;

	for (i = 0; i < W_DUMPS; i++) {
		init_dump(&dump, w->e, ".", w->client, "10.0.0.9");
		if (M.begin(w->inst, &dump, NULL, &ds, err) != NDS_OK) {
			w->failures++;
			continue;
		}
		ok = M.open(ds, NDS_OBJ_VMCORE, &os, err) == NDS_OK;
		if (ok) {
			ok = M.write(os, 0, worker_data, sizeof(worker_data),
			    err) == NDS_OK;
			dump.status = NDS_STATUS_COMPLETE;
			obj = (struct nds_object){ .kind = NDS_OBJ_VMCORE,
			    .size = W_SIZE };
			ok &= M.close(os, &obj, where, err) == NDS_OK;
		}
		if (ok)
			manifest_text(&dump, (const char *const[]){ where,
			    NULL }, text, sizeof(text));
		if (ok && (ok = M.open(ds, NDS_OBJ_MANIFEST, &os, err) ==
		    NDS_OK)) {
			ok = M.write(os, 0, text, strlen(text), err) == NDS_OK;
			obj = (struct nds_object){ .kind = NDS_OBJ_MANIFEST,
			    .size = strlen(text) };
			ok &= M.close(os, &obj, where, err) == NDS_OK;
		}
		ok &= M.end(ds, err) == NDS_OK;
		if (!ok)
			w->failures++;
	}
	return NULL;
}

static void
test_retention_threads(void **state)
{
	struct env *e = *state;
	struct worker w[W_THREADS];
	pthread_t tid[W_THREADS];
	uint64_t total = 0;
	void *ret;
	int i;

	memset(worker_data, 'w', sizeof(worker_data));
	ret = mk_ret_sink(0, 0, W_LIMIT);
	for (i = 0; i < W_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].e = e;
		w[i].inst = ret;
		snprintf(w[i].client, sizeof(w[i].client), "host%d", i);
		assert_int_equal(pthread_create(&tid[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < W_THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	/* The last dump to end saw all the others finished. */
	for (i = 0; i < W_THREADS; i++)
		total += disk_usage(e->dfd, w[i].client);
	assert_true(total > 0);
	assert_true(total <= W_LIMIT);
	assert_true(removals() > 0);
	for (i = 0; i < W_THREADS; i++)
		assert_no_dangling(e->dfd, w[i].client);
	assert_int_equal(mock_host_warnings(), 0);
	M.destroy(ret);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_descriptor),
		T(test_bad_options),
		T(test_savecore_sparse),
		T(test_savecore_sequence),
		T(test_links_cut),
		T(test_savecore_bounds),
		T(test_savecore_names),
		T(test_names_savecore_all_kinds),
		T(test_names_netdumpd_all_kinds),
		T(test_names_redhat_all_kinds),
		T(test_last_regular_file_left_alone),
		T(test_truncate_padding),
		T(test_rewrite_and_punch),
		T(test_rewrite_without_punch),
		T(test_hole_failure),
		T(test_netdumpd_layout),
		T(test_redhat_layout),
		T(test_mode_option),
		T(test_dir_option),
		T(test_symlink_escape),
		T(test_symlink_escape_no_openat2),
		T(test_missing_path),
		T(test_write_failure),
		T(test_no_clobber),
		T(test_keep_per_client),
		T(test_keep_by_mtime),
		T(test_keep_incomplete_first),
		T(test_keep_junk),
		T(test_keep_in_progress),
		T(test_max_total_size),
		T(test_max_total_just_ended),
		T(test_max_total_junk),
		T(test_retention_netdumpd),
		T(test_retention_redhat),
		T(test_retention_links),
		T(test_retention_all_kinds),
		T(test_retention_two_chains),
		T(test_retention_cut_copy),
		T(test_retention_mixed_protocols),
		T(test_planted_hard_link),
		T(test_retention_dotted_client),
		T(test_retention_by_manifest),
		T(test_retention_unfinished),
		T(test_unfinished_manifest_in_flight),
		T(test_unfinished_manifest_refused),
		T(test_retention_unrelated),
		T(test_keep_per_signature),
		T(test_signature_summary_total),
		T(test_signature_unlink_fails),
		T(test_signature_redhat),
		T(test_retention_threads),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
