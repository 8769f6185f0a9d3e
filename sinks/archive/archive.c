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
 * sparse unnamed file (the host's spool_open) on the file system it is
 * headed for, and end() builds the tarball from the spool's data regions
 * and streams it through libarchive to the next stage block by block.
 * Memory stays bounded whatever the dump's size: the spool is on disk, the
 * copy buffer is fixed and the sparse map is capped (see pick_gap()).
 *
 * Info, key, manifest and the kernel's message buffer are small and kept
 * in memory. Once the tarball is stored, the manifest is also passed on to
 * the next stage as it is, so it sits beside the tarball. Every kind comes
 * here (kinds 0): all of them go in the tarball.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
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

/* The "compression" choices, in their order. */
static const struct {
	const char	*name;
	const char	*suffix;
	int		(*add_filter)(struct archive *);
} comps[] = {
	{ "none", ".tar", archive_write_add_filter_none },
	{ "zstd", ".tar.zst", archive_write_add_filter_zstd },
	{ "gzip", ".tar.gz", archive_write_add_filter_gzip },
};

/* The small objects, in the order they go in the tarball. */
static const struct {
	enum nds_object_kind	 kind;
	const char		*name;		/* in the tarball */
	size_t			 max;
} smalls[] = {
	{ NDS_OBJ_INFO, "info", SMALL_MAX },
	{ NDS_OBJ_MSGBUF, "msgbuf", MSGBUF_MAX },
	{ NDS_OBJ_KEY, "key", SMALL_MAX },
	{ NDS_OBJ_MANIFEST, "manifest.json", SMALL_MAX },
};
#define NSMALL	(sizeof(smalls) / sizeof(smalls[0]))

/*
 * Zeros, for the vmcore's holes: libarchive skips them in the output, but
 * wants the whole logical stream (archive_write_data must be given every
 * byte of an entry's size, holes included).
 */
static const char zeros[64 * 1024];

struct ar_config {
	int			 compression;	/* index in comps[] */
	const char		*spool_dir;	/* NULL: the dump directory */
};

/* One per [sink] section; read-only after create. */
struct ar_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	const struct ar_config	*config;
};

/* A small object's bytes. */
struct blob {
	unsigned char	*buf;
	size_t		 len;		/* logical size */
	size_t		 cap;		/* allocated */
	bool		 present;	/* closed without failure */
};

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
	bool			 cut;		/* the vmcore came cut short */
	char			 failmsg[NDS_ERRBUF_SIZE]; /* the first one */
	char			 spooldesc[PATH_MAX]; /* for messages */
};

struct ar_object {
	struct ar_dump		*d;
	int			 i;		/* in smalls[]; -1: the vmcore */
	bool			 failed;
	struct blob		 blob;
};

/* The tarball on its way to the next stage. */
struct tar {
	struct ar_dump		*d;
	struct archive		*a;
	char			 top[NAME_MAX + 1]; /* the dump's directory */
	char			*err;
	struct archive_entry	*vmcore;	/* while its map is made */
	char			*buf;		/* COPY_SIZE bytes */
	uint64_t		 pos;		/* of the vmcore fed so far */
	void			*obj;		/* next stage's; NULL: not open */
	uint64_t		 off;		/* bytes handed over so far */
	enum nds_result		 r;		/* the next stage's last answer */
	char			 nerr[NDS_ERRBUF_SIZE]; /* its reason */
};

static int
small_index(enum nds_object_kind kind)
{
	size_t i;

	for (i = 0; i < NSMALL; i++)
		if (smalls[i].kind == kind)
			return (int)i;
	return -1;
}

/* Remember the first failure of the dump: end() reports it. */
static void
dump_failed(struct ar_dump *d, const char *err)
{
	if (!d->failed)
		snprintf(d->failmsg, sizeof(d->failmsg), "%s", err);
	d->failed = true;
}

/* "<spool>: <what>: <strerror(e)>" into err. */
static void __attribute__((format(printf, 4, 5)))
spool_err(const struct ar_dump *d, char *err, int e, const char *fmt, ...)
{
	char what[128], ebuf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	sink_seterr(err, "%s: %s%s%s", d->spooldesc, what, what[0] != '\0' ?
	    ": " : "", sink_errstr(e, ebuf, sizeof(ebuf)));
}

static void
blob_free(struct blob *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* Room for [offset, offset + len) in o's blob, within its kind's cap. */
static int
small_room(struct ar_object *o, uint64_t offset, uint64_t len, char *err)
{
	struct blob *b = &o->blob;
	size_t max = smalls[o->i].max, size, cap;
	unsigned char *p;

	if (offset > max || len > max - offset) {
		sink_seterr(err, "%s: larger than %zu bytes", smalls[o->i].name,
		    max);
		return -1;
	}
	if ((size = (size_t)(offset + len)) <= b->cap)
		return 0;
	for (cap = b->cap < 4096 ? 4096 : b->cap; cap < size; cap *= 2)
		;
	if (cap > max)
		cap = max;
	if ((p = realloc(b->buf, cap)) == NULL) {
		sink_seterr(err, "%s: out of memory", smalls[o->i].name);
		return -1;
	}
	/* What was never written reads as zeros. */
	memset(p + b->cap, 0, cap - b->cap);
	b->buf = p;
	b->cap = cap;
	return 0;
}

static enum nds_result
ar_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const void *config, void **instance, char err[NDS_ERRBUF_SIZE])
{
	const struct ar_config *c = config;
	struct ar_sink *as;
	struct archive *a;
	const char *msg;
	int ok;

	*instance = NULL;
	if (c->spool_dir != NULL && c->spool_dir[0] == '\0') {
		sink_seterr(err, "spool_dir: empty path");
		return NDS_FATAL;
	}
	/*
	 * A libarchive built without libzstd would run the zstd program
	 * (ARCHIVE_WARN): find that out now, not with a dump at hand.
	 */
	if ((a = archive_write_new()) == NULL)
		goto nomem;
	if ((ok = comps[c->compression].add_filter(a)) != ARCHIVE_OK) {
		msg = archive_error_string(a);
		sink_seterr(err, "compression: %s: %s", comps[c->compression].name,
		    msg != NULL ? msg : "not supported by libarchive");
	}
	archive_write_free(a);
	if (ok != ARCHIVE_OK)
		return NDS_FATAL;
	if ((as = calloc(1, sizeof(*as))) == NULL)
		goto nomem;
	*as = (struct ar_sink){ host, ctx, c };
	*instance = as;
	return NDS_OK;
nomem:
	sink_seterr(err, "out of memory");
	return NDS_FATAL;
}

/* A spool_dir every dump would fail in is said at once. */
static enum nds_result
ar_start(void *instance, char err[NDS_ERRBUF_SIZE])
{
	struct ar_sink *as = instance;

	(void)err;
	sink_check_dir(as->host, as->ctx, "spool_dir", as->config->spool_dir);
	return NDS_OK;
}

static void
ar_destroy(void *instance)
{
	free(instance);
}

static enum nds_result
ar_begin(void *instance, const struct nds_dump *dump,
    const struct nds_stage *next, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	const struct ar_sink *as = instance;
	struct ar_dump *d;
	const char *where;

	if ((*dump_state = d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	*d = (struct ar_dump){ .as = as, .dump = dump, .next = next,
	    .spool = -1 };
	where = as->config->spool_dir != NULL ? as->config->spool_dir :
	    dump->dumpdir;
	snprintf(d->spooldesc, sizeof(d->spooldesc), "spool in %s",
	    where != NULL ? where : "the dump directory");
	return NDS_OK;
}

static enum nds_result
ar_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct ar_dump *d = dump_state;
	struct ar_object *o;
	int i = small_index(kind);

	*object_state = NULL;
	if (kind != NDS_OBJ_VMCORE && i == -1) {
		sink_seterr(err, "object kind %d: not supported", (int)kind);
		goto fail;
	}
	if (kind == NDS_OBJ_VMCORE) {
		if (d->spool == -1) {
			/*
			 * In spool_dir (relative to the dump directory) or the
			 * dump directory itself: on the file system the tarball
			 * is headed for, and gone if the daemon dies.
			 */
			d->spool = d->as->host->spool_open(d->dump,
			    d->as->config->spool_dir, err);
			if (d->spool == -1)
				goto fail;
		} else if (ftruncate(d->spool, 0) == -1) {
			/* A vmcore opened again starts over. */
			spool_err(d, err, errno, "truncate");
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
	o->i = i;
	*object_state = o;
	return NDS_OK;
fail:
	dump_failed(d, err);
	return NDS_FAILED;
}

static enum nds_result
object_failed(struct ar_object *o, const char *err)
{
	o->failed = true;
	dump_failed(o->d, err);
	return NDS_FAILED;
}

static enum nds_result
ar_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct ar_object *o = object_state;
	struct ar_dump *d = o->d;
	struct blob *b = &o->blob;
	uint64_t failoff;

	if (len == 0)
		return NDS_OK;
	if (o->i >= 0) {
		if (small_room(o, offset, len, err) == -1)
			return object_failed(o, err);
		memcpy(b->buf + offset, buf, len);
		if (offset + len > b->len)
			b->len = (size_t)offset + len;
		return NDS_OK;
	}
	if (sink_sparse_put(d->spool, &d->dataend, offset, buf, len,
	    &failoff) == 0)
		return NDS_OK;
	/* What is spooled stays: end() still puts it in the tarball. */
	spool_err(d, err, errno, "write at offset %" PRIu64, failoff);
	return object_failed(o, err);
}

static enum nds_result
ar_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct ar_object *o = object_state;
	struct ar_dump *d = o->d;
	struct blob *b = &o->blob;
	uint64_t failoff;

	if (len == 0)
		return NDS_OK;
	if (o->i >= 0) {
		/* Past the end it reads as zeros already (small_room). */
		if (offset < b->len)
			memset(b->buf + offset, 0, len < b->len - offset ?
			    (size_t)len : b->len - (size_t)offset);
		return NDS_OK;
	}
	/* Beyond the data the spool stays sparse; over it, punched out. */
	if (sink_sparse_put(d->spool, &d->dataend, offset, NULL, len,
	    &failoff) == 0)
		return NDS_OK;
	spool_err(d, err, errno, "hole at offset %" PRIu64, failoff);
	return object_failed(o, err);
}

static enum nds_result
ar_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct ar_object *o = object_state;
	struct ar_dump *d = o->d;
	struct blob *b = &o->blob;
	const char *suffix = object->suffix;
	enum nds_result r = NDS_OK;

	/* The tarball's place is known only at the end. */
	where[0] = '\0';
	if (object->incomplete)
		d->cut = true;
	if (o->failed) {
		sink_seterr(err, "%s", d->failmsg);
		r = NDS_FAILED;
		if (o->i >= 0)
			goto out;
	}
	if (o->i >= 0) {
		if (small_room(o, object->size, 0, err) == -1)
			goto fail;
		/* Cut or extended (with zeros) to the size the core says. */
		if (b->len > object->size)
			memset(b->buf + object->size, 0, b->len - object->size);
		b->len = (size_t)object->size;
		b->present = true;
		/* A second one of a kind replaces the first. */
		blob_free(&d->small[o->i]);
		d->small[o->i] = *b;
		memset(b, 0, sizeof(*b));
		goto out;
	}
	if (object->size > INT64_MAX) {
		spool_err(d, err, EFBIG, "size %" PRIu64, object->size);
		goto fail;
	}
	/*
	 * Even after a failed write: the tarball gets the size the core
	 * says, what is missing from the spool reads as zeros.
	 */
	d->vmsize = object->size;
	d->sized = true;
	/* "zstd | archive": the entry says what it holds. */
	if (suffix != NULL && suffix[0] == '.' &&
	    strlen(suffix) < sizeof(d->vmsuffix) && strspn(suffix + 1,
	    "abcdefghijklmnopqrstuvwxyz0123456789.") == strlen(suffix) - 1)
		memcpy(d->vmsuffix, suffix, strlen(suffix) + 1);
	/* Cuts compressed-dump padding, extends over trailing holes. */
	if (!o->failed && ftruncate(d->spool, (off_t)object->size) == -1) {
		spool_err(d, err, errno, "truncate to %" PRIu64, object->size);
		goto fail;
	}
	goto out;
fail:
	dump_failed(d, err);
	r = NDS_FAILED;
out:
	blob_free(b);
	free(o);
	return r;
}

/* libarchive's write callback: each block goes to the next stage. */
static la_ssize_t
emit_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct tar *t = arg;

	if (t->obj == NULL || t->r != NDS_OK) {
		archive_set_error(a, EIO, "next stage failed earlier");
		return -1;
	}
	t->r = t->d->next->write(t->obj, t->off, buf, len, t->nerr);
	if (t->r != NDS_OK) {
		archive_set_error(a, EIO, "next stage: %s", t->nerr);
		return -1;
	}
	t->off += len;
	return (la_ssize_t)len;
}

/* Why a libarchive call failed, and how bad it is. */
static enum nds_result
tar_failed(struct tar *t)
{
	const char *msg = archive_error_string(t->a);

	if (t->r != NDS_OK) {
		sink_seterr(t->err, "next stage: %s", t->nerr);
		return t->r;
	}
	sink_seterr(t->err, "archive: %s", msg != NULL ? msg : "unknown error");
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
	return snprintf(buf, len, "%s-%s", safe, stamp) >= (int)len ? -1 : 0;
}

/* An entry in the dump's directory; name NULL: the directory itself. */
static struct archive_entry *
new_entry(const struct tar *t, const char *name, int64_t size)
{
	struct archive_entry *e;
	char path[2 * NAME_MAX + 2];

	if ((e = archive_entry_new()) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", t->top, name != NULL ? name : "");
	archive_entry_copy_pathname(e, path);
	/* The dump's own directory: 0700 as what is inside. */
	archive_entry_set_filetype(e, name == NULL ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, name == NULL ? 0700 : 0600);
	archive_entry_set_size(e, name == NULL ? 0 : size);
	archive_entry_set_mtime(e, t->d->dump->start.tv_sec, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_copy_uname(e, "root");
	archive_entry_copy_gname(e, "root");
	return e;
}

/*
 * Feed len bytes of buf, or zeros if buf is NULL, to the current entry.
 * Past the last data region the pax writer has nothing left to store and
 * takes no more (tail): that is where it stops.
 */
static int
feed(struct archive *a, const void *buf, uint64_t len, bool tail)
{
	const char *p = buf;
	la_ssize_t n;

	while (len > 0) {
		n = archive_write_data(a, p != NULL ? p : zeros, p != NULL ||
		    len < sizeof(zeros) ? (size_t)len : sizeof(zeros));
		if (n < 0)
			return -1;
		if (n == 0 && tail)
			return 0;
		if (n == 0) {
			/* Bytes it will not take would vanish: refuse. */
			archive_set_error(a, EIO, "entry ended %" PRIu64
			    " bytes early", len);
			return -1;
		}
		if (p != NULL)
			p += n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* A directory (name NULL) or a small object, whole. */
static enum nds_result
write_small(struct tar *t, const char *name, const void *buf, size_t len)
{
	struct archive_entry *e;
	enum nds_result r = NDS_OK;

	if ((e = new_entry(t, name, (int64_t)len)) == NULL) {
		sink_seterr(t->err, "out of memory");
		return NDS_FAILED;
	}
	if (archive_write_header(t->a, e) < ARCHIVE_WARN ||
	    feed(t->a, buf, len, false) == -1)
		r = tar_failed(t);
	archive_entry_free(e);
	return r;
}

/* Called for each data region [start, end) of the spool, in order. */
typedef enum nds_result	region_fn(struct tar *, uint64_t, uint64_t);

/*
 * Walk the data regions of the spool below limit, two of them merged when
 * the hole between is shorter than gap; count them in *count. A spool
 * whose holes cannot be found is all data: stored whole, which is right,
 * only not sparse. The walk depends on nothing but the spool ahead of
 * it (end() punches out only what the second walk has read): walked
 * twice, it gives the same regions twice. The first result of fn other
 * than NDS_OK stops it and is returned.
 */
static enum nds_result
walk_regions(struct tar *t, uint64_t limit, uint64_t gap, region_fn *fn,
    uint64_t *count)
{
	uint64_t off = 0, data, hole, start = 0, end = 0;
	enum nds_result r;
	off_t at;

	*count = 0;
	for (; off < limit; off = hole) {
		if ((at = lseek(t->d->spool, (off_t)off, SEEK_DATA)) == -1) {
			if (errno == ENXIO)
				break;
			data = off;
			hole = limit;
		} else if ((data = (uint64_t)at) >= limit)
			break;
		else {
			at = lseek(t->d->spool, (off_t)data, SEEK_HOLE);
			hole = at == -1 || (uint64_t)at <= data ||
			    (uint64_t)at > limit ? limit : (uint64_t)at;
		}
		if (*count > 0 && data - end < gap) {
			end = hole;
			continue;
		}
		if (*count > 0 && fn != NULL && (r = fn(t, start, end)) != NDS_OK)
			return r;
		(*count)++;
		start = data;
		end = hole;
	}
	return *count > 0 && fn != NULL ? fn(t, start, end) : NDS_OK;
}

/*
 * The smallest hole worth a sparse map entry. Normally every hole is, but
 * a vmcore with millions of scattered zero pages would make a map that
 * does not fit in bounded memory: then short holes are stored as zeros
 * (which the filter squeezes) until at most MAX_REGIONS entries remain.
 */
static uint64_t
pick_gap(struct tar *t, uint64_t limit)
{
	uint64_t gap = 0, n;

	for (;;) {
		walk_regions(t, limit, gap, NULL, &n);
		if (n <= MAX_REGIONS)
			return gap;
		gap = gap == 0 ? MIN_GAP : gap * 2;
	}
}

static enum nds_result
add_region(struct tar *t, uint64_t start, uint64_t end)
{
	archive_entry_sparse_add_entry(t->vmcore, (int64_t)start,
	    (int64_t)(end - start));
	return NDS_OK;
}

/* Zeros up to start, then the region from the spool. */
static enum nds_result
feed_region(struct tar *t, uint64_t start, uint64_t end)
{
	size_t want;
	ssize_t n;

	if (feed(t->a, NULL, start - t->pos, false) == -1)
		return tar_failed(t);
	for (t->pos = start; t->pos < end; t->pos += (uint64_t)n) {
		want = end - t->pos < COPY_SIZE ? (size_t)(end - t->pos) :
		    COPY_SIZE;
		n = pread(t->d->spool, t->buf, want, (off_t)t->pos);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n == -1) {
			spool_err(t->d, t->err, errno, "read at offset %" PRIu64,
			    t->pos);
			return NDS_FAILED;
		}
		if (n == 0) {
			/* Shorter than it was a moment ago: zeros, then. */
			memset(t->buf, 0, want);
			n = (ssize_t)want;
		}
		if (feed(t->a, t->buf, (size_t)n, false) == -1)
			return tar_failed(t);
		/*
		 * In the tarball now: its room goes back to the file system,
		 * which then needs the data once, not twice (best effort).
		 */
		(void)fallocate(t->d->spool, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, (off_t)t->pos, (off_t)n);
	}
	return NDS_OK;
}

/*
 * The vmcore as a sparse entry: size and map first (libarchive writes
 * them before the data), then the whole logical stream, the spool's data
 * regions read from it and zeros for the holes.
 */
static enum nds_result
write_vmcore(struct tar *t)
{
	struct ar_dump *d = t->d;
	struct nds_dump whole = *d->dump;
	const struct nds_object vm = {
		.kind = NDS_OBJ_VMCORE,
		.suffix = d->vmsuffix,
	};
	char name[NAME_MAX + 1];
	uint64_t size, limit, gap, n;
	enum nds_result r;
	struct stat sb;
	int c;

	size = d->sized ? d->vmsize : d->dataend;
	if (fstat(d->spool, &sb) == -1) {
		spool_err(d, t->err, errno, "%s", "");
		return NDS_FAILED;
	}
	/* Past the spool's end (a failed write or truncate) is zeros. */
	limit = (uint64_t)sb.st_size < size ? (uint64_t)sb.st_size : size;
	/*
	 * Named as every sink names it, less ".incomplete": the tarball's
	 * own name says that.
	 */
	whole.status = NDS_STATUS_COMPLETE;
	if (d->as->host->object_name(&whole, &vm, NULL, name,
	    sizeof(name)) == -1) {
		sink_seterr(t->err, "vmcore: name too long");
		return NDS_FAILED;
	}
	if ((t->vmcore = new_entry(t, name, (int64_t)size)) == NULL) {
		sink_seterr(t->err, "out of memory");
		return NDS_FAILED;
	}
	gap = pick_gap(t, limit);
	walk_regions(t, limit, gap, add_region, &n);
	/*
	 * libarchive drops an entry it cannot allocate without a word, and
	 * one region covering the whole file on purpose (not sparse then).
	 */
	c = archive_entry_sparse_count(t->vmcore);
	if ((uint64_t)c != n && !(n == 1 && c == 0)) {
		sink_seterr(t->err, "sparse map: out of memory");
		r = NDS_FAILED;
		goto out;
	}
	/* No data at all: one empty region keeps the entry sparse. */
	if (n == 0 && size > 0)
		archive_entry_sparse_add_entry(t->vmcore, (int64_t)size, 0);
	if (archive_write_header(t->a, t->vmcore) < ARCHIVE_WARN)
		r = tar_failed(t);
	else if ((r = walk_regions(t, limit, gap, feed_region, &n)) ==
	    NDS_OK && feed(t->a, NULL, size - t->pos, true) == -1)
		r = tar_failed(t);
out:
	archive_entry_free(t->vmcore);
	t->vmcore = NULL;
	return r;
}

/*
 * Build the tarball and stream it to the next stage as one object: the
 * directory, the vmcore if it came, the small objects that did.
 */
static enum nds_result
emit_tarball(struct ar_dump *d, char *err)
{
	const struct ar_sink *as = d->as;
	int comp = as->config->compression;
	struct tar t = { .d = d, .err = err, .r = NDS_OK };
	struct nds_object obj = {
		.kind = NDS_OBJ_ARCHIVE,
		.suffix = comps[comp].suffix,
	};
	char where[NDS_WHERE_SIZE] = "", cerr[NDS_ERRBUF_SIZE];
	enum nds_result r = NDS_FAILED;
	size_t i;

	if (top_name(d->dump, t.top, sizeof(t.top)) == -1) {
		sink_seterr(err, "cannot name the dump's directory");
		return NDS_FAILED;
	}
	if ((t.buf = malloc(COPY_SIZE)) == NULL ||
	    (t.a = archive_write_new()) == NULL) {
		sink_seterr(err, "out of memory");
		goto out;
	}
	/*
	 * pax: the only tar flavour libarchive writes sparse entries in.
	 * One byte per last block: padding after a zstd frame breaks it.
	 */
	if (archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
	    comps[comp].add_filter(t.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(t.a, BLOCK_SIZE) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t.a, 1) != ARCHIVE_OK)
		goto aerr;
	/*
	 * The next stage's object is opened and closed here, not in
	 * libarchive's open and close callbacks, so it is closed exactly
	 * once whatever libarchive does on failure.
	 */
	if ((r = d->next->open(d->next->ctx, NDS_OBJ_ARCHIVE, &t.obj,
	    t.nerr)) != NDS_OK) {
		t.obj = NULL;
		sink_seterr(err, "next stage: %s", t.nerr);
		goto out;
	}
	if (archive_write_open2(t.a, &t, NULL, emit_write, NULL, NULL) !=
	    ARCHIVE_OK)
		goto aerr;
	if ((r = write_small(&t, NULL, NULL, 0)) != NDS_OK ||
	    (d->spool != -1 && (r = write_vmcore(&t)) != NDS_OK))
		goto out;
	for (i = 0; i < NSMALL; i++)
		if (d->small[i].present && (r = write_small(&t,
		    smalls[i].name, d->small[i].buf, d->small[i].len)) != NDS_OK)
			goto out;
	if (archive_write_close(t.a) != ARCHIVE_OK)
		goto aerr;
	archive_write_free(t.a);
	t.a = NULL;
	obj.size = t.off;
	/* A tarball with a cut vmcore in it, or without one that failed. */
	obj.incomplete = d->cut || d->failed;
	r = d->next->close(t.obj, &obj, where, cerr);
	t.obj = NULL;
	if (r != NDS_OK) {
		sink_seterr(err, "next stage: %s", cerr);
		goto out;
	}
	as->host->log(as->ctx, NDS_LOG_INFO, "dump %" PRIu64 " from %s: "
	    "tarball %s (%" PRIu64 " bytes)", d->dump->id,
	    d->dump->client_addr, where, t.off);
	goto out;
aerr:
	r = tar_failed(&t);
out:
	/* Free first: it may still flush through emit_write. */
	if (t.a != NULL)
		archive_write_free(t.a);
	if (t.obj != NULL) {
		obj.size = t.off;
		obj.incomplete = true;
		/* The failure that got us here is the news, not this. */
		(void)d->next->close(t.obj, &obj, where, cerr);
	}
	free(t.buf);
	return r;
}

/* Hand the manifest on to the next stage as it is. */
static enum nds_result
pass_manifest(struct ar_dump *d, const struct blob *b, char *err)
{
	const struct nds_stage *next = d->next;
	const struct nds_object obj = { .kind = NDS_OBJ_MANIFEST,
	    .size = b->len };
	char nerr[NDS_ERRBUF_SIZE] = "", cerr[NDS_ERRBUF_SIZE] = "";
	char where[NDS_WHERE_SIZE];
	enum nds_result r, rc;
	void *no = NULL;

	if ((r = next->open(next->ctx, NDS_OBJ_MANIFEST, &no, nerr)) ==
	    NDS_OK) {
		if (b->len > 0)
			r = next->write(no, 0, b->buf, b->len, nerr);
		/* Closed whatever happened; the first failure is the news. */
		rc = next->close(no, &obj, where, cerr);
		if (r == NDS_OK && rc != NDS_OK) {
			r = rc;
			memcpy(nerr, cerr, sizeof(nerr));
		}
	}
	if (r != NDS_OK)
		sink_seterr(err, "next stage: %s", nerr);
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
	if (r == NDS_OK && d->small[i].present)
		r = pass_manifest(d, &d->small[i], err);
	if (d->spool != -1)
		close(d->spool);
	for (i = 0; i < (int)NSMALL; i++)
		blob_free(&d->small[i]);
	free(d);
	return r;
}

static const struct nds_option ar_options[] = {
	{ .name = "compression", .type = NDS_OPT_ENUM,
	    .offset = offsetof(struct ar_config, compression),
	    .default_value = "zstd", .choices = "none|zstd|gzip",
	    .description = "filter over the tarball: none, zstd or gzip" },
	{ .name = "spool_dir", .type = NDS_OPT_STRING,
	    .offset = offsetof(struct ar_config, spool_dir),
	    .description = "directory of the vmcore spool, relative to the "
	    "dump directory (default: the dump directory)" },
	{ .name = NULL },
};

NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "archive",
	.version = "1.0",
	.description = "one tarball per dump (pax, sparse vmcore), stored "
	    "by the next sink of the chain",
	.caps = NDS_CAP_TRANSFORM,
	.options = ar_options,
	.config_size = sizeof(struct ar_config),
	.kinds = 0,		/* every kind: they all go in the tarball */
	.create = ar_create,
	.start = ar_start,
	.destroy = ar_destroy,
	.begin = ar_begin,
	.open = ar_open,
	.write = ar_write,
	.hole = ar_hole,
	.close = ar_close,
	.end = ar_end,
};
