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
 * sparse file in spool_dir, on the file system it is headed for, and
 * end() builds the tarball from the spool's data regions and streams it
 * through libarchive to the next stage block by block (tar.c). Memory
 * stays bounded whatever the dump's size: the spool is on disk, the copy
 * buffer is fixed and the sparse map is capped (see pick_gap()). The
 * spool and a copy of the key sit in a locked folder that a server killed
 * in the middle of the dump leaves behind; its next start keeps what they
 * hold as "<top>.incomplete" (keep.h).
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
#include <unistd.h>

#include <archive.h>

#include "archive_int.h"
#include "sinkutil.h"

const struct ar_small smalls[NSMALL] = {
	{ NDS_OBJ_INFO, "info", SMALL_MAX },
	{ NDS_OBJ_MSGBUF, "msgbuf", MSGBUF_MAX },
	{ NDS_OBJ_KEY, "key", SMALL_MAX },
	{ NDS_OBJ_MANIFEST, "manifest.json", SMALL_MAX },
};

struct ar_object {
	struct ar_dump		*d;
	int			 i;		/* in smalls[]; -1: the vmcore */
	bool			 failed;
	struct blob		 blob;
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

void
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

/*
 * A spool_dir every dump would fail in is said at once; what a previous
 * run's death left in it is kept.
 */
static enum nds_result
ar_start(void *instance, char err[NDS_ERRBUF_SIZE])
{
	struct ar_sink *as = instance;
	const char *dir = as->config->spool_dir;
	int fd;

	sink_check_dir(as->host, as->ctx, "spool_dir", dir);
	if ((fd = as->host->dir_open(as->ctx, dir, err)) != -1) {
		keep_salvage(as->host, as->ctx, fd, dir != NULL ? dir :
		    "the dump directory");
		close(fd);
	}
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
	    .spool = -1, .keep = { .fd = -1 } };
	where = as->config->spool_dir != NULL ? as->config->spool_dir :
	    dump->dumpdir;
	snprintf(d->spooldesc, sizeof(d->spooldesc), "spool in %s",
	    where != NULL ? where : "the dump directory");
	return NDS_OK;
}

/* spool_dir (relative to the dump directory) or the dump directory. */
static int
spool_dir_open(const struct ar_dump *d, char *err)
{
	const struct ar_sink *as = d->as;
	char derr[NDS_ERRBUF_SIZE];
	int fd;

	if ((fd = as->host->dir_open(as->ctx, as->config->spool_dir,
	    derr)) == -1)
		spool_err(d, err, errno, "%s", "");
	return fd;
}

/*
 * The spool and its folder (keep.h), made for the first object that
 * needs them: the vmcore, or the key that came before it.
 */
static int
keep_open(struct ar_dump *d, char *err)
{
	char top[NAME_MAX + 1];
	int dirfd;

	if (d->spool != -1)
		return 0;
	if (top_name(d->dump, top, sizeof(top)) == -1) {
		sink_seterr(err, "cannot name the dump's directory");
		return -1;
	}
	if ((dirfd = spool_dir_open(d, err)) == -1)
		return -1;
	if ((d->spool = keep_make(&d->keep, dirfd, d->dump->id, top)) == -1)
		spool_err(d, err, errno, "create");
	close(dirfd);
	return d->spool == -1 ? -1 : 0;
}

/*
 * A copy of the key beside the spool, for a server killed before the end
 * (the tarball gets the key from memory): a failure costs only that.
 */
static void
keep_key(struct ar_dump *d, const struct blob *b)
{
	const struct ar_sink *as = d->as;
	char err[NDS_ERRBUF_SIZE];

	if (keep_open(d, err) == 0) {
		if (keep_put(&d->keep, KEEP_KEY, b->buf, b->len) == 0)
			return;
		spool_err(d, err, errno, "key");
	}
	as->host->log(as->ctx, NDS_LOG_WARNING, "dump %" PRIu64 " from %s: "
	    "%s; the key is in the tarball, but lost if the server dies "
	    "before the end", d->dump->id, d->dump->client_addr, err);
}

/*
 * After the tarball, the spool closed: its folder goes, or, the tarball
 * failed (salvage), is kept as "<top>.incomplete" at once.
 */
static void
keep_end(struct ar_dump *d, bool salvage)
{
	const struct ar_sink *as = d->as;
	const char *dir = as->config->spool_dir;
	char err[NDS_ERRBUF_SIZE] = "", ebuf[128];
	int dirfd;

	if (d->keep.fd == -1)
		return;
	dirfd = spool_dir_open(d, err);
	if (salvage && dirfd != -1) {
		keep_salvage_one(as->host, as->ctx, dirfd, d->keep.name,
		    dir != NULL ? dir : "the dump directory", "whose tarball "
		    "failed");
		close(d->keep.fd);
		d->keep.fd = -1;
	} else if (keep_drop(&d->keep, dirfd) == -1)
		as->host->log(as->ctx, NDS_LOG_WARNING, "dump %" PRIu64 " from "
		    "%s: cannot remove the spool's folder %s: %s (an empty "
		    "leftover, which the next start removes)", d->dump->id,
		    d->dump->client_addr, d->keep.name, err[0] != '\0' ? err :
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
	if (dirfd != -1)
		close(dirfd);
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
			 * is headed for, and kept if the daemon dies.
			 */
			if (keep_open(d, err) == -1)
				goto fail;
		} else if (ftruncate(d->spool, 0) == -1) {
			/* A vmcore opened again starts over. */
			spool_err(d, err, errno, "truncate");
			goto fail;
		}
		d->vmopened = true;
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
		if (smalls[o->i].kind == NDS_OBJ_KEY)
			keep_key(d, &d->small[o->i]);
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
	bool tarred;
	int i;

	/* Even after a failure: whatever was spooled is not lost. */
	r = emit_tarball(d, err);
	/*
	 * The spool goes only once the next stage has the tarball. A
	 * tarball that failed, or a server killed before this, leaves it,
	 * renamed for the operator at once (or by the next start).
	 */
	tarred = r == NDS_OK;
	if (tarred)
		keep_unname(&d->keep);
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
	keep_end(d, !tarred);
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
	.caps = NDS_CAP_TRANSFORM | NDS_CAP_BUNDLE,
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
