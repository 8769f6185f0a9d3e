/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * archive: a transform that turns each dump into one tarball and hands it
 * to the next stage of its chain, e.g. "archive | local":
 *
 *   <client_addr>-<YYYYmmdd-HHMMSS>/                 (dump start, UTC)
 *   <client_addr>-<YYYYmmdd-HHMMSS>/vmcore<suffix>   sparse entry, or
 *                                   vmcore_encrypted<suffix>
 *   <client_addr>-<YYYYmmdd-HHMMSS>/info
 *   <client_addr>-<YYYYmmdd-HHMMSS>/msgbuf           if the core found one
 *   <client_addr>-<YYYYmmdd-HHMMSS>/key              if the dump had one
 *   <client_addr>-<YYYYmmdd-HHMMSS>/manifest.json
 *
 * The format is pax with GNU sparse 1.0 for the vmcore (bsdtar and GNU tar
 * both restore it sparse), through libarchive's zstd or gzip filter if
 * asked. A tar header needs the entry's size, and a sparse entry its whole
 * map, before the first data byte; the vmcore arrives out of order and its
 * size is known only when it closes. So the vmcore is spooled into a
 * sparse unnamed file (O_TMPFILE) on the file system it is headed for, and
 * end() builds the tarball from the spool's data regions and streams it
 * through libarchive to the next stage block by block. Memory stays
 * bounded whatever the dump's size: the spool is on disk, the copy buffer
 * is fixed and the sparse map is capped (see pick_gap()).
 *
 * Info, key, manifest and the kernel's message buffer are small and kept
 * in memory. Once the tarball is stored, the manifest is also passed on to
 * the next stage as it is, so it sits beside the tarball.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "netdump/sink.h"
#include "sinkutil.h"

enum ar_comp {
	COMP_NONE = 0,		/* in the order of the "compression" choices */
	COMP_ZSTD,
	COMP_GZIP,
};

enum ar_opt {
	OPT_COMPRESSION = 0,	/* in the order of ar_options[] */
	OPT_SPOOL_DIR,
};

/* Info, key and manifest are kept in memory, up to this size each. */
#define SMALL_MAX	(1024u * 1024u)
/*
 * The message buffer may be larger (FreeBSD's kern.msgbufsize is a
 * tunable); the core holds it whole in memory already and caps it here.
 */
#define MSGBUF_MAX	(64u * 1024u * 1024u)
/* Spool to libarchive, per read. */
#define COPY_SIZE	(1024u * 1024u)
/* What libarchive hands the next stage per write. */
#define BLOCK_SIZE	(64 * 1024)
/*
 * Most sparse map entries per vmcore. libarchive keeps the map three
 * times over (our entry, its clone, its own list with the holes) plus its
 * text, a few hundred bytes per entry in all: about 12 MiB at this cap.
 */
#define MAX_REGIONS	65536u
/* Where the spool's holes get merged first when there are too many. */
#define MIN_GAP		8192u
/* How many hidden names to try when O_TMPFILE is not available. */
#define MAX_SPOOL_NAMES	100

/* The small objects, by index, in the order they go in the tarball. */
enum ar_small {
	SMALL_INFO = 0,
	SMALL_MSGBUF,
	SMALL_KEY,
	SMALL_MANIFEST,
	NSMALL,
};

/* One per [sink] section; read-only after create. */
struct ar_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	enum ar_comp		 comp;
	char			*spool_dir;	/* NULL: the dump directory */
};

/* A small object's bytes. */
struct blob {
	unsigned char	*buf;
	size_t		 len;		/* logical size */
	size_t		 cap;		/* allocated */
	bool		 present;	/* closed without failure */
};

/* One per dump. */
struct ar_dump {
	const struct ar_sink	*as;
	const struct nds_dump	*dump;
	const struct nds_stage	*next;
	int			 spool;		/* -1: no vmcore object yet */
	bool			 sized;		/* the vmcore closed */
	uint64_t		 vmsize;	/* its size, once sized */
	char			 vmsuffix[32];	/* a transform's, e.g. ".zst" */
	uint64_t		 dataend;	/* end of the data spooled */
	struct blob		 small[NSMALL];
	bool			 failed;	/* an op of this dump failed */
	char			 failmsg[NDS_ERRBUF_SIZE]; /* the first one */
	char			 spooldesc[PATH_MAX]; /* for messages */
};

/* One per object of a dump. */
struct ar_object {
	struct ar_dump		*d;
	enum nds_object_kind	 kind;
	bool			 failed;
	struct blob		 blob;		/* the small objects */
};

/* The tarball on its way to the next stage. */
struct emitter {
	const struct nds_stage	*next;
	void			*obj;		/* NULL: not open */
	uint64_t		 off;		/* bytes handed over so far */
	enum nds_result		 r;		/* the next stage's last answer */
	char			 err[NDS_ERRBUF_SIZE]; /* its reason */
};

/*
 * What libarchive is fed for the vmcore's holes. It skips them in the
 * output, but wants the whole logical stream (archive_write_data must
 * be given every byte of an entry's size, holes included).
 */
static const char zeros[64 * 1024];


static int
small_index(enum nds_object_kind kind)
{
	switch (kind) {
	case NDS_OBJ_INFO:
		return SMALL_INFO;
	case NDS_OBJ_KEY:
		return SMALL_KEY;
	case NDS_OBJ_MANIFEST:
		return SMALL_MANIFEST;
	case NDS_OBJ_MSGBUF:
		return SMALL_MSGBUF;
	case NDS_OBJ_VMCORE:
	case NDS_OBJ_ARCHIVE:
		break;
	}
	return -1;
}

static const char *
small_name(int i)
{
	static const char *names[NSMALL] = {
		"info", "msgbuf", "key", "manifest.json",
	};

	return names[i];
}

static size_t
small_max(int i)
{
	return i == SMALL_MSGBUF ? MSGBUF_MAX : SMALL_MAX;
}

static const char *
tar_suffix(enum ar_comp comp)
{
	switch (comp) {
	case COMP_ZSTD:
		return ".tar.zst";
	case COMP_GZIP:
		return ".tar.gz";
	case COMP_NONE:
		break;
	}
	return ".tar";
}

static int
add_filter(struct archive *a, enum ar_comp comp)
{
	switch (comp) {
	case COMP_ZSTD:
		return archive_write_add_filter_zstd(a);
	case COMP_GZIP:
		return archive_write_add_filter_gzip(a);
	case COMP_NONE:
		break;
	}
	return archive_write_add_filter_none(a);
}

/* Remember the first failure of the dump: end() reports it. */
static void
dump_failed(struct ar_dump *d, const char *err)
{
	if (!d->failed)
		snprintf(d->failmsg, sizeof(d->failmsg), "%s", err);
	d->failed = true;
}

/*
 * Small objects.
 */

static void
blob_free(struct blob *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* Room for size (at most max) bytes, the new ones zeroed. */
static int
blob_reserve(struct blob *b, size_t size, size_t max)
{
	unsigned char *p;
	size_t cap;

	if (size <= b->cap)
		return 0;
	cap = b->cap < 4096 ? 4096 : b->cap;
	while (cap < size)
		cap *= 2;
	if (cap > max)
		cap = max;
	if ((p = realloc(b->buf, cap)) == NULL)
		return -1;
	memset(p + b->cap, 0, cap - b->cap);
	b->buf = p;
	b->cap = cap;
	return 0;
}

/*
 * Module operations.
 */

static enum nds_result
ar_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const struct nds_optval *values, void **instance,
    char err[NDS_ERRBUF_SIZE])
{
	struct ar_sink *as;
	struct archive *a;
	int64_t comp;
	int r;

	*instance = NULL;
	if (host == NULL || host->abi_major != NDS_ABI_MAJOR ||
	    host->struct_size < offsetof(struct nds_host, log) +
	    sizeof(host->log) || host->log == NULL) {
		sink_seterr(err, "unsupported host interface");
		return NDS_FATAL;
	}
	comp = values[OPT_COMPRESSION].num;
	if (comp < COMP_NONE || comp > COMP_GZIP) {
		sink_seterr(err, "compression: unknown compression");
		return NDS_FATAL;
	}
	if (values[OPT_SPOOL_DIR].str != NULL &&
	    values[OPT_SPOOL_DIR].str[0] == '\0') {
		sink_seterr(err, "spool_dir: empty path");
		return NDS_FATAL;
	}
	/*
	 * A libarchive built without libzstd would run the zstd program
	 * (ARCHIVE_WARN): find that out now, not with a dump at hand.
	 */
	if ((a = archive_write_new()) == NULL)
		goto nomem;
	if ((r = add_filter(a, (enum ar_comp)comp)) != ARCHIVE_OK) {
		sink_seterr(err, "compression: %s: %s", values[OPT_COMPRESSION].str,
		    archive_error_string(a) != NULL ? archive_error_string(a) :
		    "not supported by libarchive");
		archive_write_free(a);
		return NDS_FATAL;
	}
	archive_write_free(a);

	if ((as = calloc(1, sizeof(*as))) == NULL)
		goto nomem;
	as->host = host;
	as->ctx = ctx;
	as->comp = (enum ar_comp)comp;
	if (values[OPT_SPOOL_DIR].str != NULL &&
	    (as->spool_dir = strdup(values[OPT_SPOOL_DIR].str)) == NULL) {
		free(as);
		goto nomem;
	}
	*instance = as;
	return NDS_OK;
nomem:
	sink_seterr(err, "out of memory");
	return NDS_FATAL;
}

static void
ar_destroy(void *instance)
{
	struct ar_sink *as = instance;

	if (as == NULL)
		return;
	free(as->spool_dir);
	free(as);
}

static enum nds_result
ar_begin(void *instance, const struct nds_dump *dump, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	(void)instance;
	(void)dump;
	*dump_state = NULL;
	sink_seterr(err, "archive is a transform: put a storing sink after it, "
	    "e.g. 'archive | local'");
	return NDS_FATAL;
}

static enum nds_result
ar_begin_transform(void *instance, const struct nds_dump *dump,
    const struct nds_stage *next, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	const struct ar_sink *as = instance;
	struct ar_dump *d;
	const char *where;

	*dump_state = NULL;
	if (dump == NULL || dump->magic != NDS_DUMP_MAGIC ||
	    dump->struct_size < sizeof(*dump)) {
		sink_seterr(err, "bad dump descriptor");
		return NDS_FAILED;
	}
	if (next == NULL || next->struct_size < sizeof(*next) ||
	    next->open == NULL || next->write == NULL || next->close == NULL) {
		sink_seterr(err, "bad next stage");
		return NDS_FAILED;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	d->as = as;
	d->dump = dump;
	d->next = next;
	d->spool = -1;
	where = as->spool_dir != NULL ? as->spool_dir : dump->dumpdir;
	snprintf(d->spooldesc, sizeof(d->spooldesc), "spool in %s",
	    where != NULL ? where : "the dump directory");
	*dump_state = d;
	return NDS_OK;
}

/* Without O_TMPFILE: a hidden name of our own, unlinked at once. */
static int
named_spool(const struct ar_dump *d, int dirfd)
{
	struct timespec ts;
	char name[NAME_MAX + 1];
	unsigned int i;
	int fd, save;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (i = 0; i < MAX_SPOOL_NAMES; i++) {
		/* The id and pid keep dumps apart, the rest crash leftovers. */
		snprintf(name, sizeof(name), ".archive-spool.%" PRIu64
		    ".%ld.%lx", d->dump->id, (long)getpid(),
		    (unsigned long)ts.tv_nsec + i);
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1) {
			if (errno == EEXIST)
				continue;
			return -1;
		}
		if (unlinkat(dirfd, name, 0) == -1) {
			save = errno;
			close(fd);
			errno = save;
			return -1;
		}
		return fd;
	}
	errno = EEXIST;
	return -1;
}

/*
 * The spool: an unnamed file in spool_dir (relative to the dump directory)
 * or the dump directory itself, so it lives on the file system the
 * tarball is headed for and vanishes if the daemon dies.
 */
static int
open_spool(struct ar_dump *d, char *err)
{
	const struct nds_dump *dump = d->dump;
	const char *dir = d->as->spool_dir;
	char ebuf[128];
	int base, dirfd, fd, save;

	base = dump->dumpdir_fd >= 0 ? dump->dumpdir_fd : AT_FDCWD;
	if (dir == NULL)
		dir = dump->dumpdir_fd >= 0 ? "." : dump->dumpdir;
	if (dir == NULL) {
		sink_seterr(err, "%s: no dump directory", d->spooldesc);
		return -1;
	}
	dirfd = openat(base, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == -1) {
		sink_seterr(err, "%s: %s", d->spooldesc,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	/* No O_TMPFILE in this file system (EOPNOTSUPP) or kernel. */
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL))
		fd = named_spool(d, dirfd);
	save = errno;
	close(dirfd);
	if (fd == -1) {
		sink_seterr(err, "%s: create: %s", d->spooldesc,
		    sink_errstr(save, ebuf, sizeof(ebuf)));
		return -1;
	}
	return fd;
}

static enum nds_result
ar_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct ar_dump *d = dump_state;
	struct ar_object *o;
	char ebuf[128];

	*object_state = NULL;
	if (kind != NDS_OBJ_VMCORE && small_index(kind) == -1) {
		sink_seterr(err, "object kind %d: not supported", (int)kind);
		goto fail;
	}
	if (kind == NDS_OBJ_VMCORE) {
		if (d->spool == -1) {
			if ((d->spool = open_spool(d, err)) == -1)
				goto fail;
		} else if (ftruncate(d->spool, 0) == -1) {
			/* A vmcore opened again starts over. */
			sink_seterr(err, "%s: truncate: %s", d->spooldesc,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
			goto fail;
		}
		d->sized = false;
		d->vmsize = d->dataend = 0;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		sink_seterr(err, "out of memory");
		goto fail;
	}
	o->d = d;
	o->kind = kind;
	*object_state = o;
	return NDS_OK;
fail:
	dump_failed(d, err);
	return NDS_FAILED;
}

static void
object_failed(struct ar_object *o, const char *err)
{
	o->failed = true;
	dump_failed(o->d, err);
}

static enum nds_result
ar_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct ar_object *o = object_state;
	struct ar_dump *d = o->d;
	struct blob *b = &o->blob;
	uint64_t failoff = offset;
	char ebuf[128];
	int i;

	if (len == 0)
		return NDS_OK;
	if (o->kind != NDS_OBJ_VMCORE) {
		i = small_index(o->kind);
		if (offset > small_max(i) || len > small_max(i) - offset) {
			sink_seterr(err, "%s: larger than %zu bytes",
			    small_name(i), small_max(i));
			goto fail;
		}
		if (blob_reserve(b, (size_t)offset + len, small_max(i)) ==
		    -1) {
			sink_seterr(err, "%s: out of memory", small_name(i));
			goto fail;
		}
		memcpy(b->buf + offset, buf, len);
		if (offset + len > b->len)
			b->len = (size_t)offset + len;
		return NDS_OK;
	}

	if (offset > INT64_MAX || len > INT64_MAX - offset) {
		errno = EFBIG;
		goto spoolfail;
	}
	if (sink_pwrite_all(d->spool, buf, len, offset, &failoff) == -1)
		goto spoolfail;
	if (offset + len > d->dataend)
		d->dataend = offset + len;
	return NDS_OK;
spoolfail:
	/* What is spooled stays: end() still puts it in the tarball. */
	sink_seterr(err, "%s: write at offset %" PRIu64 ": %s", d->spooldesc,
	    failoff, sink_errstr(errno, ebuf, sizeof(ebuf)));
fail:
	object_failed(o, err);
	return NDS_FAILED;
}

static enum nds_result
ar_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct ar_object *o = object_state;
	struct ar_dump *d = o->d;
	struct blob *b = &o->blob;
	uint64_t end, failoff = offset;
	size_t n;
	char ebuf[128];
	int r;

	if (len == 0)
		return NDS_OK;
	if (o->kind != NDS_OBJ_VMCORE) {
		/* Past the end it reads as zeros already (blob_reserve). */
		if (offset < b->len) {
			n = len < b->len - offset ? (size_t)len :
			    b->len - (size_t)offset;
			memset(b->buf + offset, 0, n);
		}
		return NDS_OK;
	}

	if (offset > INT64_MAX || len > INT64_MAX - offset) {
		errno = EFBIG;
		goto fail;
	}
	/* Beyond the data the spool reads as zeros: keep it sparse. */
	if (offset >= d->dataend)
		return NDS_OK;
	/* Over data already spooled (a rewrite): punch it out. */
	end = offset + len < d->dataend ? offset + len : d->dataend;
	do
		r = fallocate(d->spool, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)(end - offset));
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return NDS_OK;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		goto fail;
	/* A file system that cannot punch holes gets zeros written. */
	while (offset < end) {
		n = end - offset < sizeof(zeros) ? (size_t)(end - offset) :
		    sizeof(zeros);
		if (sink_pwrite_all(d->spool, zeros, n, offset, &failoff) == -1)
			goto fail;
		offset += n;
	}
	return NDS_OK;
fail:
	sink_seterr(err, "%s: hole at offset %" PRIu64 ": %s", d->spooldesc,
	    failoff, sink_errstr(errno, ebuf, sizeof(ebuf)));
	object_failed(o, err);
	return NDS_FAILED;
}

/* Hand the manifest on to the next stage as it is. */
static enum nds_result
pass_manifest(struct ar_dump *d, const struct blob *b,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	const struct nds_stage *next = d->next;
	const struct nds_object obj = {
		.kind = NDS_OBJ_MANIFEST,
		.size = b->len,
		.suffix = NULL,
	};
	char nerr[NDS_ERRBUF_SIZE] = "", cerr[NDS_ERRBUF_SIZE] = "";
	enum nds_result r, rc;
	void *no = NULL;

	r = next->open(next->ctx, NDS_OBJ_MANIFEST, &no, nerr);
	if (r != NDS_OK)
		goto out;
	if (b->len > 0)
		r = next->write(no, 0, b->buf, b->len, nerr);
	/* Closed whatever happened; the first failure is the one to tell. */
	rc = next->close(no, &obj, where, cerr);
	if (r == NDS_OK && rc != NDS_OK) {
		r = rc;
		memcpy(nerr, cerr, sizeof(nerr));
	}
out:
	if (r != NDS_OK)
		sink_seterr(err, "next stage: %s", nerr);
	return r;
}

static enum nds_result
ar_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct ar_object *o = object_state;
	struct ar_dump *d = o->d;
	struct blob *b;
	enum nds_result r = NDS_OK;
	char ebuf[128];
	int i;

	/* The tarball's place is known only at the end. */
	where[0] = '\0';
	if (o->failed) {
		sink_seterr(err, "%s", d->failmsg);
		r = NDS_FAILED;
		if (o->kind != NDS_OBJ_VMCORE)
			goto out;
	}

	if (o->kind == NDS_OBJ_VMCORE) {
		if (object->size > INT64_MAX) {
			sink_seterr(err, "%s: size %" PRIu64 ": %s", d->spooldesc,
			    object->size, sink_errstr(EFBIG, ebuf, sizeof(ebuf)));
			goto fail;
		}
		/*
		 * Even after a failed write: the tarball gets the size the
		 * core says, what is missing from the spool reads as zeros.
		 */
		d->vmsize = object->size;
		d->sized = true;
		/* "zstd | archive": the entry says what it holds. */
		if (object->suffix != NULL && object->suffix[0] == '.' &&
		    strlen(object->suffix) < sizeof(d->vmsuffix) &&
		    strspn(object->suffix + 1, "abcdefghijklmnopqrstuvwxyz"
		    "0123456789.") == strlen(object->suffix) - 1)
			memcpy(d->vmsuffix, object->suffix,
			    strlen(object->suffix) + 1);
		/* Cuts compressed-dump padding, extends over trailing holes. */
		if (!o->failed && ftruncate(d->spool,
		    (off_t)object->size) == -1) {
			sink_seterr(err, "%s: truncate to %" PRIu64 ": %s",
			    d->spooldesc, object->size,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
			goto fail;
		}
		goto out;
	}

	i = small_index(o->kind);
	b = &o->blob;
	if (object->size > small_max(i)) {
		sink_seterr(err, "%s: larger than %zu bytes", small_name(i),
		    small_max(i));
		goto fail;
	}
	if (blob_reserve(b, (size_t)object->size, small_max(i)) == -1) {
		sink_seterr(err, "%s: out of memory", small_name(i));
		goto fail;
	}
	/* Cut or extended (with zeros) to the size the core says. */
	if (b->len > object->size)
		memset(b->buf + object->size, 0, b->len - object->size);
	b->len = (size_t)object->size;
	b->present = true;
	/* A second one of a kind replaces the first. */
	blob_free(&d->small[i]);
	d->small[i] = *b;
	memset(b, 0, sizeof(*b));
	/* The manifest goes beside the tarball at the end, if that worked. */
	goto out;
fail:
	dump_failed(d, err);
	r = NDS_FAILED;
out:
	blob_free(&o->blob);
	free(o);
	return r;
}

/*
 * The tarball.
 */

/* libarchive's write callback: each block goes to the next stage. */
static la_ssize_t
emit_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct emitter *em = arg;

	if (em->obj == NULL || em->r != NDS_OK) {
		archive_set_error(a, EIO, "next stage failed earlier");
		return -1;
	}
	em->r = em->next->write(em->obj, em->off, buf, len, em->err);
	if (em->r != NDS_OK) {
		archive_set_error(a, EIO, "next stage: %s", em->err);
		return -1;
	}
	em->off += len;
	return (la_ssize_t)len;
}

/* Why a libarchive call failed, and how bad it is. */
static enum nds_result
archive_failed(struct archive *a, const struct emitter *em, char *err)
{
	const char *msg;

	if (em->r != NDS_OK) {
		sink_seterr(err, "next stage: %s", em->err);
		return em->r;
	}
	msg = archive_error_string(a);
	sink_seterr(err, "archive: %s", msg != NULL ? msg : "unknown error");
	return NDS_FAILED;
}

/* "<client_addr>-<YYYYmmdd-HHMMSS>", the start in UTC. */
static int
top_name(const struct nds_dump *dump, char *buf, size_t len)
{
	const char *addr = dump->client_addr;
	char stamp[32], safe[64];
	struct tm tm;
	size_t i;

	if (gmtime_r(&dump->start.tv_sec, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm) == 0)
		return -1;
	if (addr == NULL || *addr == '\0')
		addr = "unknown";
	/* One path component, whatever the address looks like. */
	for (i = 0; addr[i] != '\0' && i < sizeof(safe) - 1; i++)
		safe[i] = addr[i] == '/' || (unsigned char)addr[i] < 0x20 ||
		    addr[i] == 0x7f ? '_' : addr[i];
	safe[i] = '\0';
	if (snprintf(buf, len, "%s-%s", safe, stamp) >= (int)len)
		return -1;
	return 0;
}

static struct archive_entry *
new_entry(const struct ar_dump *d, const char *top, const char *name,
    int64_t size)
{
	struct archive_entry *e;
	char path[2 * NAME_MAX + 2];

	if ((e = archive_entry_new()) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", top, name != NULL ? name : "");
	archive_entry_copy_pathname(e, path);
	if (name == NULL) {
		/* The dump's own directory: 0700 as what is inside. */
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0700);
		archive_entry_set_size(e, 0);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, size);
	}
	archive_entry_set_mtime(e, d->dump->start.tv_sec, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_copy_uname(e, "root");
	archive_entry_copy_gname(e, "root");
	return e;
}

/* Feed all of buf to the current entry. */
static int
feed(struct archive *a, const void *buf, size_t len)
{
	const char *p = buf;
	la_ssize_t n;

	while (len > 0) {
		n = archive_write_data(a, p, len);
		if (n < 0)
			return -1;
		if (n == 0) {
			/* Bytes it will not take would vanish: refuse. */
			archive_set_error(a, EIO, "entry ended %zu bytes early",
			    len);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Feed len zeros. Past the last data region the pax writer has nothing
 * left to store and takes no more (tail): that is where it stops.
 */
static int
feed_zeros(struct archive *a, uint64_t len, bool tail)
{
	la_ssize_t n;
	size_t chunk;

	while (len > 0) {
		chunk = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		n = archive_write_data(a, zeros, chunk);
		if (n < 0)
			return -1;
		if (n == 0 && tail)
			return 0;
		if (n == 0) {
			archive_set_error(a, EIO, "entry ended %" PRIu64
			    " bytes early", len);
			return -1;
		}
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * Called for each data region [start, end) of the spool, in order; a
 * nonzero return stops the walk and is returned.
 */
typedef int	region_fn(void *, uint64_t, uint64_t);

/*
 * Walk the data regions of the spool below limit, two of them merged when
 * the hole between is shorter than gap; count them in *count. A spool
 * whose holes cannot be found is all data: stored whole, which is right,
 * only not sparse. The walk depends on nothing but the spool, which does
 * not change in end(): walked twice, it gives the same regions twice.
 */
static int
walk_regions(int fd, uint64_t limit, uint64_t gap, region_fn *fn, void *arg,
    uint64_t *count)
{
	uint64_t off = 0, data, hole, start = 0, end = 0;
	bool have = false;
	off_t r;
	int ret;

	*count = 0;
	while (off < limit) {
		if ((r = lseek(fd, (off_t)off, SEEK_DATA)) == -1) {
			if (errno == ENXIO)
				break;
			data = off;
			hole = limit;
		} else {
			data = (uint64_t)r;
			if (data >= limit)
				break;
			r = lseek(fd, (off_t)data, SEEK_HOLE);
			hole = r == -1 || (uint64_t)r <= data ||
			    (uint64_t)r > limit ? limit : (uint64_t)r;
		}
		if (have && data - end < gap)
			end = hole;
		else {
			if (have) {
				(*count)++;
				if (fn != NULL && (ret = fn(arg, start, end)) != 0)
					return ret;
			}
			start = data;
			end = hole;
			have = true;
		}
		off = hole;
	}
	if (have) {
		(*count)++;
		if (fn != NULL)
			return fn(arg, start, end);
	}
	return 0;
}

/*
 * The smallest hole worth a sparse map entry. Normally every hole is, but
 * a vmcore with millions of scattered zero pages would make a map that
 * does not fit in bounded memory: then short holes are stored as zeros
 * (which the filter squeezes) until at most MAX_REGIONS entries remain.
 */
static uint64_t
pick_gap(int fd, uint64_t limit)
{
	uint64_t gap = 0, n;

	for (;;) {
		walk_regions(fd, limit, gap, NULL, NULL, &n);
		if (n <= MAX_REGIONS)
			return gap;
		gap = gap == 0 ? MIN_GAP : gap * 2;
	}
}

static int
add_region(void *arg, uint64_t start, uint64_t end)
{
	archive_entry_sparse_add_entry(arg, (int64_t)start,
	    (int64_t)(end - start));
	return 0;
}

/* Feeding the vmcore entry, region by region. */
struct feeder {
	struct ar_dump	*d;
	struct archive	*a;
	char		*buf;		/* COPY_SIZE bytes */
	uint64_t	 pos;		/* fed so far */
	char		*err;
};

/*
 * Zeros up to start, then the region from the spool. Returns 0, -1 (err
 * set) or -2 (a libarchive error).
 */
static int
feed_region(void *arg, uint64_t start, uint64_t end)
{
	struct feeder *f = arg;
	struct ar_dump *d = f->d;
	char ebuf[128];
	size_t want;
	ssize_t n;

	if (feed_zeros(f->a, start - f->pos, false) == -1)
		return -2;
	f->pos = start;
	while (f->pos < end) {
		want = end - f->pos < COPY_SIZE ? (size_t)(end - f->pos) :
		    COPY_SIZE;
		n = pread(d->spool, f->buf, want, (off_t)f->pos);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			sink_seterr(f->err, "%s: read at offset %" PRIu64 ": %s",
			    d->spooldesc, f->pos, sink_errstr(errno, ebuf,
			    sizeof(ebuf)));
			return -1;
		}
		if (n == 0) {
			/* Shorter than it was a moment ago: zeros, then. */
			memset(f->buf, 0, want);
			n = (ssize_t)want;
		}
		if (feed(f->a, f->buf, (size_t)n) == -1)
			return -2;
		f->pos += (uint64_t)n;
	}
	return 0;
}

/*
 * The vmcore as a sparse entry: size and map first (libarchive writes
 * them before the data), then the whole logical stream, the spool's data
 * regions read from it and zeros for the holes.
 * Returns 0, -1 (err set) or -2 (a libarchive error).
 */
static int
write_vmcore(struct ar_dump *d, struct archive *a, const char *top,
    char *buf, char *err)
{
	const struct nds_dump *dump = d->dump;
	struct feeder f = { .d = d, .a = a, .buf = buf, .err = err };
	struct archive_entry *e;
	char name[NAME_MAX + 1], ebuf[128];
	uint64_t size, limit, gap, n;
	struct stat sb;
	int c, ret = -2;

	size = d->sized ? d->vmsize : d->dataend;
	if (fstat(d->spool, &sb) == -1) {
		sink_seterr(err, "%s: %s", d->spooldesc,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	/* Past the spool's end (a failed write or truncate) is zeros. */
	limit = (uint64_t)sb.st_size < size ? (uint64_t)sb.st_size : size;
	snprintf(name, sizeof(name), "%s%s%s",
	    dump->encrypted ? "vmcore_encrypted" : "vmcore",
	    dump->vmcore_suffix != NULL ? dump->vmcore_suffix : "",
	    d->vmsuffix);
	if ((e = new_entry(d, top, name, (int64_t)size)) == NULL) {
		sink_seterr(err, "out of memory");
		return -1;
	}
	gap = pick_gap(d->spool, limit);
	walk_regions(d->spool, limit, gap, add_region, e, &n);
	/*
	 * libarchive drops an entry it cannot allocate without a word, and
	 * one region covering the whole file on purpose (not sparse then).
	 */
	c = archive_entry_sparse_count(e);
	if ((uint64_t)c != n && !(n == 1 && c == 0)) {
		sink_seterr(err, "sparse map: out of memory");
		ret = -1;
		goto out;
	}
	/* No data at all: one empty region keeps the entry sparse. */
	if (n == 0 && size > 0)
		archive_entry_sparse_add_entry(e, (int64_t)size, 0);
	if (archive_write_header(a, e) < ARCHIVE_WARN)
		goto out;
	if ((ret = walk_regions(d->spool, limit, gap, feed_region, &f,
	    &n)) != 0)
		goto out;
	ret = -2;
	if (feed_zeros(a, size - f.pos, true) == -1)
		goto out;
	ret = 0;
out:
	archive_entry_free(e);
	return ret;
}

/* The dump's directory. Returns 0, -1 or -2 like write_vmcore. */
static int
write_dir(const struct ar_dump *d, struct archive *a, const char *top,
    char *err)
{
	struct archive_entry *e;
	int ret = -2;

	if ((e = new_entry(d, top, NULL, 0)) == NULL) {
		sink_seterr(err, "out of memory");
		return -1;
	}
	if (archive_write_header(a, e) >= ARCHIVE_WARN)
		ret = 0;
	archive_entry_free(e);
	return ret;
}

/* A small object, if there is one. Returns 0, -1 or -2. */
static int
write_small(const struct ar_dump *d, struct archive *a, const char *top,
    int i, char *err)
{
	const struct blob *b = &d->small[i];
	struct archive_entry *e;
	int ret = -2;

	if (!b->present)
		return 0;
	if ((e = new_entry(d, top, small_name(i), (int64_t)b->len)) == NULL) {
		sink_seterr(err, "out of memory");
		return -1;
	}
	if (archive_write_header(a, e) >= ARCHIVE_WARN &&
	    feed(a, b->buf, b->len) == 0)
		ret = 0;
	archive_entry_free(e);
	return ret;
}

/*
 * Build the tarball and stream it to the next stage as one object.
 */
static enum nds_result
emit_tarball(struct ar_dump *d, char *err)
{
	const struct ar_sink *as = d->as;
	const struct nds_dump *dump = d->dump;
	struct emitter em = { .next = d->next, .r = NDS_OK };
	struct nds_object obj = {
		.kind = NDS_OBJ_ARCHIVE,
		.suffix = tar_suffix(as->comp),
	};
	struct archive *a = NULL;
	char top[NAME_MAX + 1], where[NDS_WHERE_SIZE] = "";
	char cerr[NDS_ERRBUF_SIZE];
	enum nds_result r = NDS_FAILED;
	char *buf = NULL;
	int i, w = 0;

	if (top_name(dump, top, sizeof(top)) == -1) {
		sink_seterr(err, "cannot name the dump's directory");
		return NDS_FAILED;
	}
	if ((buf = malloc(COPY_SIZE)) == NULL ||
	    (a = archive_write_new()) == NULL) {
		sink_seterr(err, "out of memory");
		goto out;
	}
	/*
	 * pax: the only tar flavour libarchive writes sparse entries in.
	 * One byte per last block: padding after a zstd frame breaks it.
	 */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    add_filter(a, as->comp) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, BLOCK_SIZE) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
		r = archive_failed(a, &em, err);
		goto out;
	}

	/*
	 * The next stage's object is opened and closed here, not in
	 * libarchive's open and close callbacks, so it is closed exactly
	 * once whatever libarchive does on failure.
	 */
	r = em.next->open(em.next->ctx, NDS_OBJ_ARCHIVE, &em.obj, em.err);
	if (r != NDS_OK) {
		em.obj = NULL;
		sink_seterr(err, "next stage: %s", em.err);
		goto out;
	}
	if (archive_write_open2(a, &em, NULL, emit_write, NULL, NULL) !=
	    ARCHIVE_OK)
		goto aerr;

	if ((w = write_dir(d, a, top, err)) != 0)
		goto fail;
	if (d->spool != -1 && (w = write_vmcore(d, a, top, buf, err)) != 0)
		goto fail;
	for (i = 0; i < NSMALL; i++)
		if ((w = write_small(d, a, top, i, err)) != 0)
			goto fail;
	if (archive_write_close(a) != ARCHIVE_OK)
		goto aerr;
	archive_write_free(a);
	a = NULL;

	obj.size = em.off;
	r = em.next->close(em.obj, &obj, where, cerr);
	em.obj = NULL;
	if (r != NDS_OK) {
		sink_seterr(err, "next stage: %s", cerr);
		goto out;
	}
	as->host->log(as->ctx, NDS_LOG_INFO, "dump %" PRIu64 " from %s: "
	    "tarball %s (%" PRIu64 " bytes)", dump->id, dump->client_addr,
	    where, em.off);
	r = NDS_OK;
	goto out;
fail:
	if (w == -1) {
		r = NDS_FAILED;
		goto out;
	}
aerr:
	r = archive_failed(a, &em, err);
out:
	/* Free first: it may still flush through emit_write. */
	if (a != NULL)
		archive_write_free(a);
	if (em.obj != NULL) {
		obj.size = em.off;
		/* The failure that got us here is the news, not this. */
		(void)em.next->close(em.obj, &obj, where, cerr);
	}
	free(buf);
	return r;
}

static enum nds_result
ar_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct ar_dump *d = dump_state;
	enum nds_result r;
	int i;

	/* Even after a failure: whatever was spooled is not lost. */
	r = emit_tarball(d, err);
	if (r == NDS_OK && d->failed) {
		sink_seterr(err, "%s (the tarball holds what was received)",
		    d->failmsg);
		r = NDS_FAILED;
	}
	/*
	 * The manifest beside the tarball, only once the tarball is whole: a
	 * manifest written earlier could not know the tarball would fail and
	 * would call the dump stored.
	 */
	i = small_index(NDS_OBJ_MANIFEST);
	if (r == NDS_OK && i >= 0 && d->small[i].present) {
		char where[NDS_WHERE_SIZE];

		r = pass_manifest(d, &d->small[i], where, err);
	}
	if (d->spool != -1)
		close(d->spool);
	for (i = 0; i < NSMALL; i++)
		blob_free(&d->small[i]);
	free(d);
	return r;
}

static const struct nds_option ar_options[] = {
	{ "compression", NDS_OPT_ENUM, "zstd", "none|zstd|gzip", 0, 0,
	    "filter over the tarball: none, zstd or gzip" },
	{ "spool_dir", NDS_OPT_STRING, NULL, NULL, 0, 0,
	    "directory of the vmcore spool, relative to the dump directory "
	    "(default: the dump directory)" },
	{ NULL, NDS_OPT_STRING, NULL, NULL, 0, 0, NULL },
};

/* The one symbol the module exports. */
NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "archive",
	.version = "1.0",
	.description = "one tarball per dump (pax, sparse vmcore), stored "
	    "by the next sink of the chain",
	.caps = NDS_CAP_TRANSFORM,
	.options = ar_options,
	.create = ar_create,
	.destroy = ar_destroy,
	.begin = ar_begin,
	.open = ar_open,
	.write = ar_write,
	.hole = ar_hole,
	.close = ar_close,
	.end = ar_end,
	.begin_transform = ar_begin_transform,
};
