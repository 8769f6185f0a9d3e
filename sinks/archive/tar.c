/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * archive: the tarball, written at the dump's end (archive.c tells the
 * design). pax with GNU sparse 1.0 for the vmcore, built from the spool's
 * data regions, through libarchive's filter, streamed to the next stage
 * block by block.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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

#include "archive_int.h"
#include "sinkutil.h"

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

/* The "compression" choices, in their order (the option's choices). */
const struct ar_comp comps[3] = {
	{ "none", ".tar", archive_write_add_filter_none },
	{ "zstd", ".tar.zst", archive_write_add_filter_zstd },
	{ "gzip", ".tar.gz", archive_write_add_filter_gzip },
};

/*
 * Zeros, for the vmcore's holes: libarchive skips them in the output, but
 * wants the whole logical stream (archive_write_data must be given every
 * byte of an entry's size, holes included).
 */
static const char zeros[64 * 1024];

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

int
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
 * only not sparse. The walk depends on nothing but the spool, which
 * does not change meanwhile: walked twice, it gives the same regions
 * twice. The first result of fn other
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
		/*
		 * The spool stays whole until the next stage has the tarball:
		 * what is fed may still sit in the compressor when a write
		 * of the next stage fails.
		 */
		if (feed(t->a, t->buf, (size_t)n, false) == -1)
			return tar_failed(t);
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

enum nds_result
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
	    (d->vmopened && (r = write_vmcore(&t)) != NDS_OK))
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
