/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * archive, the tarball: pax, the vmcore a GNU sparse 1.0 entry built from
 * the spool's data regions, streamed through libarchive (and its filter)
 * to the next stage block by block. See archive.c for the whole picture.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
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
#include "archive_sink.h"

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
const char ar_zeros[ZEROS_SIZE];

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

int
ar_add_filter(struct archive *a, enum ar_comp comp)
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
		chunk = len < sizeof(ar_zeros) ? (size_t)len : sizeof(ar_zeros);
		n = archive_write_data(a, ar_zeros, chunk);
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
	struct nds_dump whole = *d->dump;
	const struct nds_object vm = {
		.kind = NDS_OBJ_VMCORE,
		.suffix = d->vmsuffix,
	};
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
	/*
	 * Named as every sink names it, less ".incomplete": the tarball's
	 * own name says that.
	 */
	whole.status = NDS_STATUS_COMPLETE;
	if (d->as->host->object_name(&whole, &vm, NULL, name,
	    sizeof(name)) == -1) {
		sink_seterr(err, "vmcore: name too long");
		return -1;
	}
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
	if ((e = new_entry(d, top, ar_small_name(i), (int64_t)b->len)) ==
	    NULL) {
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
enum nds_result
ar_emit_tarball(struct ar_dump *d, char *err)
{
	const struct ar_sink *as = d->as;
	const struct nds_dump *dump = d->dump;
	enum ar_comp comp = (enum ar_comp)as->config->compression;
	struct emitter em = { .next = d->next, .r = NDS_OK };
	struct nds_object obj = {
		.kind = NDS_OBJ_ARCHIVE,
		.suffix = tar_suffix(comp),
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
	    ar_add_filter(a, comp) != ARCHIVE_OK ||
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
