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
 * and streams it through libarchive to the next stage block by block
 * (archive_tar.c). Memory stays bounded whatever the dump's size: the
 * spool is on disk, the copy buffer is fixed and the sparse map is capped
 * (see pick_gap()).
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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "netdump/sink.h"
#include "sinkutil.h"
#include "archive_sink.h"

/* One per object of a dump. */
struct ar_object {
	struct ar_dump		*d;
	enum nds_object_kind	 kind;
	bool			 failed;
	struct blob		 blob;		/* the small objects */
};

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

const char *
ar_small_name(int i)
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
    const void *config, void **instance, char err[NDS_ERRBUF_SIZE])
{
	static const char *const comp_names[] = { "none", "zstd", "gzip" };
	const struct ar_config *c = config;
	struct ar_sink *as;
	struct archive *a;

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
	if (ar_add_filter(a, (enum ar_comp)c->compression) != ARCHIVE_OK) {
		sink_seterr(err, "compression: %s: %s",
		    comp_names[c->compression], archive_error_string(a) !=
		    NULL ? archive_error_string(a) :
		    "not supported by libarchive");
		archive_write_free(a);
		return NDS_FATAL;
	}
	archive_write_free(a);

	if ((as = calloc(1, sizeof(*as))) == NULL)
		goto nomem;
	as->host = host;
	as->ctx = ctx;
	as->config = c;
	*instance = as;
	return NDS_OK;
nomem:
	sink_seterr(err, "out of memory");
	return NDS_FATAL;
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
	d->as = as;
	d->dump = dump;
	d->next = next;
	d->spool = -1;
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
	char ebuf[128];

	*object_state = NULL;
	if (kind != NDS_OBJ_VMCORE && small_index(kind) == -1) {
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
			    ar_small_name(i), small_max(i));
			goto fail;
		}
		if (blob_reserve(b, (size_t)offset + len, small_max(i)) ==
		    -1) {
			sink_seterr(err, "%s: out of memory", ar_small_name(i));
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
		n = end - offset < sizeof(ar_zeros) ? (size_t)(end - offset) :
		    sizeof(ar_zeros);
		if (sink_pwrite_all(d->spool, ar_zeros, n, offset,
		    &failoff) == -1)
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
		sink_seterr(err, "%s: larger than %zu bytes", ar_small_name(i),
		    small_max(i));
		goto fail;
	}
	if (blob_reserve(b, (size_t)object->size, small_max(i)) == -1) {
		sink_seterr(err, "%s: out of memory", ar_small_name(i));
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

static enum nds_result
ar_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct ar_dump *d = dump_state;
	enum nds_result r;
	int i;

	/* Even after a failure: whatever was spooled is not lost. */
	r = ar_emit_tarball(d, err);
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
	.config_size = sizeof(struct ar_config),
	.kinds = 0,		/* every kind: they all go in the tarball */
	.create = ar_create,
	.destroy = ar_destroy,
	.begin = ar_begin,
	.open = ar_open,
	.write = ar_write,
	.hole = ar_hole,
	.close = ar_close,
	.end = ar_end,
};
