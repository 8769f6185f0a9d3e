/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mock host and helpers the sink unit tests share; see mock_host.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "dump.h"
#include "manifest.h"
#include "mock_host.h"
#include "record.h"
#include "sink_load.h"
#include "space.h"
#include "workpool.h"

static void	mock_log(struct nds_host_ctx *, enum nds_log_level,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
static void	mock_dump_number(const struct nds_dump *, unsigned);
static bool	mock_space_ok(const struct nds_dump *, int, uint64_t,
		    char[NDS_ERRBUF_SIZE]);
static ssize_t	mock_read_file(int, const char *, void *, size_t,
		    char[NDS_ERRBUF_SIZE]);
static struct nds_pool *mock_pool_open(struct nds_host_ctx *, unsigned,
		    nd_pool_init_fn, nd_pool_fini_fn, void *,
		    char[NDS_ERRBUF_SIZE]);

/*
 * Naming, spools, the file reader, the work pool and reading manifests
 * are the real host's code: the sinks share them.
 */
const struct nds_host mock_host = {
	.abi_major = NDS_ABI_MAJOR,
	.abi_minor = NDS_ABI_MINOR,
	.struct_size = sizeof(struct nds_host),
	.log = mock_log,
	.dump_number = mock_dump_number,
	.object_name = nd_object_name,
	.spool_open = nd_spool_open,
	.read_file = mock_read_file,
	.pool_open = mock_pool_open,
	.pool_submit = nd_pool_submit,
	.pool_start = nd_pool_start,
	.pool_close = nd_pool_close,
	.space_ok = mock_space_ok,
	.manifest_read = nd_manifest_read,
	.manifest_facts = nd_manifest_facts,
	.dir_usable = nd_dir_usable,
	.dir_open = nd_dir_open,
	.manifest_unfinished = nd_manifest_unfinished,
};

static ssize_t
mock_read_file(int dirfd, const char *name, void *buf, size_t size,
    char err[NDS_ERRBUF_SIZE])
{
	ssize_t n;

	if ((n = nd_read_file(dirfd, name, buf, size)) == -1)
		snprintf(err, NDS_ERRBUF_SIZE, "%s: %s", name, strerror(errno));
	return n;
}

static struct nds_pool *
mock_pool_open(struct nds_host_ctx *ctx, unsigned threads,
    nd_pool_init_fn init, nd_pool_fini_fn fini, void *arg,
    char err[NDS_ERRBUF_SIZE])
{
	(void)ctx;
	return nd_pool_open(threads, init, fini, arg, "sink (mock)", err,
	    NDS_ERRBUF_SIZE);
}

/* The host's check without a server: the reserve only. */
static bool
mock_space_ok(const struct nds_dump *dump, int fd, uint64_t reserve,
    char why[NDS_ERRBUF_SIZE])
{
	struct statvfs vfs;
	uint64_t avail;

	(void)dump;
	if (fstatvfs(fd, &vfs) == -1)
		return true;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail >= reserve)
		return true;
	snprintf(why, NDS_ERRBUF_SIZE, "%" PRIu64 " bytes free, below the "
	    "sink's reserve (%" PRIu64 ")", avail, reserve);
	return false;
}

static _Atomic unsigned int last_number;

/* The number each recent dump was given, by id, as the host keeps it. */
static pthread_mutex_t numbers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t	id;
	unsigned	number;
	bool		set;
} numbers[64];

static void
mock_dump_number(const struct nds_dump *dump, unsigned number)
{
	size_t slot = (size_t)(dump->id % (sizeof(numbers) /
	    sizeof(numbers[0])));

	last_number = number;
	pthread_mutex_lock(&numbers_lock);
	/* The first number told wins, as in the host. */
	if (!numbers[slot].set || numbers[slot].id != dump->id) {
		numbers[slot].id = dump->id;
		numbers[slot].number = number;
		numbers[slot].set = true;
	}
	pthread_mutex_unlock(&numbers_lock);
}

unsigned int
mock_host_dump_number(void)
{
	return last_number;
}

bool
mock_host_number_of(const struct nds_dump *dump, unsigned *number)
{
	size_t slot = (size_t)(dump->id % (sizeof(numbers) /
	    sizeof(numbers[0])));
	bool found;

	pthread_mutex_lock(&numbers_lock);
	found = numbers[slot].set && numbers[slot].id == dump->id;
	if (found)
		*number = numbers[slot].number;
	pthread_mutex_unlock(&numbers_lock);
	return found;
}

void *
mock_config_try(const struct nds_sink_module *m, const char *const *settings,
    char *err, size_t errlen)
{
	struct nd_kv kv[32];
	char copy[32][256], *eq;
	size_t n = 0, bad;
	void *config;

	for (; settings != NULL && settings[n] != NULL; n++) {
		assert_true(n < 32);
		assert_true(strlen(settings[n]) < sizeof(copy[n]));
		strcpy(copy[n], settings[n]);
		assert_non_null(eq = strchr(copy[n], '='));
		*eq = '\0';
		kv[n] = (struct nd_kv){ .key = copy[n], .value = eq + 1,
		    .lineno = (int)n + 1 };
	}
	err[0] = '\0';
	config = nd_config_build(m, kv, n, &bad, err, errlen);
	return config;
}

void *
mock_config(const struct nds_sink_module *m, const char *const *settings)
{
	char err[256];
	void *config;

	if ((config = mock_config_try(m, settings, err, sizeof(err))) == NULL)
		fail_msg("%s: bad settings: %s", m->name, err);
	return config;
}

void
mock_config_free(const struct nds_sink_module *m, void *config)
{
	nd_config_free(m, config);
}

/*
 * Every line logged since the last reset, each ended by a newline. The
 * lock covers everything below it.
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *lines;
static size_t lines_len, lines_cap;
static unsigned int warnings;
static char tag[32] = "sink";

static void
mock_log(struct nds_host_ctx *ctx, enum nds_log_level level,
    const char *fmt, ...)
{
	va_list ap;
	char *line, *p;
	size_t need;
	int n, saved_errno = errno;

	(void)ctx;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	assert_non_null(line = malloc((size_t)n + 1));
	va_start(ap, fmt);
	vsnprintf(line, (size_t)n + 1, fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&lock);
	fprintf(stderr, "%s[%d]: %s\n", tag, (int)level, line);
	if (level <= NDS_LOG_WARNING)
		warnings++;
	need = lines_len + (size_t)n + 2;
	if (need > lines_cap) {
		lines_cap = lines_cap == 0 ? 4096 : lines_cap;
		while (lines_cap < need)
			lines_cap *= 2;
		if ((p = realloc(lines, lines_cap)) == NULL) {
			pthread_mutex_unlock(&lock);
			free(line);
			fail_msg("mock_log: out of memory");
		}
		lines = p;
	}
	memcpy(lines + lines_len, line, (size_t)n);
	lines_len += (size_t)n;
	lines[lines_len++] = '\n';
	lines[lines_len] = '\0';
	pthread_mutex_unlock(&lock);
	free(line);
	/* Logging never changes errno. */
	errno = saved_errno;
}

int mock_punch_errno;
unsigned mock_punch_calls;

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	static int (*real)(int, int, off_t, off_t);

	if ((mode & FALLOC_FL_PUNCH_HOLE) != 0) {
		mock_punch_calls++;
		if (mock_punch_errno != 0) {
			errno = mock_punch_errno;
			return -1;
		}
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT,
		    MOCK_LIBC_FILE_FN("fallocate"));
	return real(fd, mode, off, len);
}

void
mock_host_reset(const char *name)
{
	mock_punch_errno = 0;
	mock_punch_calls = 0;
	pthread_mutex_lock(&lock);
	snprintf(tag, sizeof(tag), "%s", name);
	free(lines);
	lines = NULL;
	lines_len = lines_cap = 0;
	warnings = 0;
	pthread_mutex_unlock(&lock);
}

unsigned int
mock_host_warnings(void)
{
	unsigned int n;

	pthread_mutex_lock(&lock);
	n = warnings;
	pthread_mutex_unlock(&lock);
	return n;
}

/* With the lock held. */
static unsigned int
count_locked(const char *start, const char *substr)
{
	const char *p, *nl;
	unsigned int n = 0;
	size_t len;

	for (p = lines; p != NULL && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		len = (size_t)(nl - p);
		if (start != NULL && (strlen(start) > len ||
		    strncmp(p, start, strlen(start)) != 0))
			continue;
		if (substr != NULL && memmem(p, len, substr,
		    strlen(substr)) == NULL)
			continue;
		n++;
	}
	return n;
}

unsigned int
mock_host_count(const char *start, const char *substr)
{
	unsigned int n;

	pthread_mutex_lock(&lock);
	n = count_locked(start, substr);
	pthread_mutex_unlock(&lock);
	return n;
}

bool
mock_host_logged(const char *substr)
{
	return mock_host_count(NULL, substr) > 0;
}

void
mock_host_assert_logged(const char *start, const char *substr)
{
	const char *p, *nl;
	char *shown;
	size_t len = 0;
	bool found;

	pthread_mutex_lock(&lock);
	found = count_locked(start, substr) > 0;
	if (found) {
		pthread_mutex_unlock(&lock);
		return;
	}
	/* fail_msg does not return: never with the lock held. */
	shown = calloc(1, lines_len + 1);
	for (p = lines; shown != NULL && p != NULL && *p != '\0';
	    p = nl + 1) {
		nl = strchr(p, '\n');
		if (start != NULL && strncmp(p, start, strlen(start)) != 0)
			continue;
		memcpy(shown + len, p, (size_t)(nl - p) + 1);
		len += (size_t)(nl - p) + 1;
	}
	pthread_mutex_unlock(&lock);
	fail_msg("no line%s%s%s logged with \"%s\"; logged:\n%s",
	    start != NULL ? " beginning \"" : "", start != NULL ? start : "",
	    start != NULL ? "\"" : "", substr, shown != NULL ? shown : "?");
	free(shown);
}

void
mock_dump_init(struct nds_dump *dump, const char *dumpdir, int dumpdir_fd)
{
	static uint64_t next_id;

	memset(dump, 0, sizeof(*dump));
	dump->magic = NDS_DUMP_MAGIC;
	dump->struct_size = sizeof(*dump);
	dump->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	dump->client_addr = "192.0.2.7";
	dump->client_port = 20024;
	dump->client_name = "host1";
	dump->path = ".";
	dump->dumpdir = dumpdir;
	dump->dumpdir_fd = dumpdir_fd;
	dump->start.tv_sec = MOCK_T_START;
	dump->status = NDS_STATUS_RECEIVING;
	dump->reason = "";
	dump->vmcore_suffix = "";
}

void
mock_kdh_init(struct nds_kdh *kdh, uint8_t compression)
{
	memset(kdh, 0, sizeof(*kdh));
	kdh->compression = compression;
}

int
mock_tmpdir(char *base, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if (snprintf(base, size, "%s/%s.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp", name) >= (int)size)
		return -1;
	return mkdtemp(base) == NULL ? -1 : 0;
}

int
mock_subdir(char *path, size_t size, const char *base, const char *sub)
{
	if (snprintf(path, size, "%s/%s", base, sub) >= (int)size)
		return -1;
	return mkdir(path, 0755);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
mock_rmtree(const char *base)
{
	nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *
mock_slurp_at(int dfd, const char *path, size_t *lenp)
{
	struct stat sb;
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &sb), 0);
	buf = malloc((size_t)sb.st_size + 1);
	assert_non_null(buf);
	while (off < (size_t)sb.st_size) {
		n = pread(fd, buf + off, (size_t)sb.st_size - off, (off_t)off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	if (lenp != NULL)
		*lenp = off;
	return buf;
}

void
mock_assert_absent_at(int dfd, const char *path)
{
	struct stat sb;

	if (fstatat(dfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		fail_msg("%s exists", path);
	assert_int_equal(errno, ENOENT);
}
