/* SPDX-License-Identifier: BSD-2-Clause */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "chain.h"
#include "dump.h"
#include "log.h"
#include "sink_load.h"

#define STAGE_OP(st)	((st)->sink->module->desc)

/*
 * Grade a result: FAILED stops this chain for this dump, FATAL also
 * retires the sink that said it. The chain's first error is the one kept
 * and logged.
 */
static int
grade(struct nd_dump *d, struct nd_dump_chain *ds, struct nd_stage_rt *st,
    const char *what, enum nds_result r)
{
	if (r == NDS_OK)
		return 0;
	if (!ds->failed) {
		if (ds->error[0] == '\0')
			snprintf(ds->error, sizeof(ds->error), "%s failed", what);
		logit(LOG_ERR, "dump %" PRIu64 ": sink %s: %s: %s%s",
		    d->pub.id, ds->chain->text, what, ds->error,
		    r == NDS_FATAL ? " (sink disabled until restart)" : "");
	}
	ds->failed = true;
	if (r == NDS_FATAL && st != NULL)
		atomic_store(&st->sink->dead, true);
	if (nd_chain_all_failed(d) != NULL)
		atomic_store(&d->chains_failed, true);
	return -1;
}

const char *
nd_chain_all_failed(const struct nd_dump *d)
{
	size_t i;

	for (i = 0; i < d->nchains; i++)
		if (!d->chains[i].failed)
			return NULL;
	return d->nchains > 0 ? d->chains[0].error : "no sink";
}

void
nd_chain_demote_if_unstored(struct nd_dump *d)
{
	const char *failed;

	if (d->pub.status != NDS_STATUS_COMPLETE ||
	    (failed = nd_chain_all_failed(d)) == NULL)
		return;
	snprintf(d->reason, sizeof(d->reason), "no sink stored the dump: %s",
	    failed);
	d->pub.status = NDS_STATUS_INCOMPLETE;
}

void
nd_chain_fail(struct nd_dump *d, struct nd_dump_chain *ds, const char *what,
    const char *why)
{
	if (!ds->failed)
		snprintf(ds->error, sizeof(ds->error), "%s", why);
	grade(d, ds, NULL, what, NDS_FAILED);
}

/* The stage objects of this kind go to: st, or the first after it that
 * takes them; the storing sink at the end takes every kind. */
static struct nd_stage_rt *
route(struct nd_stage_rt *st, enum nds_object_kind kind)
{
	while (st->nafter > 0 && !nd_sink_takes(st->sink, kind))
		st++;
	return st;
}

/*
 * The next stage as the host offers it to a transform. A transform sees
 * OK or FAILED; a stage's FATAL retires that stage's sink, not the
 * transform.
 */
struct stage_obj {
	struct nd_stage_rt	*st;
	void			*ostate;
	/* The transform that emits it: the stage whose next stage opened
	 * it, not always the one before st (kinds a transform does not
	 * take pass it by). */
	const struct nds_sink_module *from;
	/* A manifest the host writes itself in place of the one emitted. */
	char			*manifest;
	size_t			 manifest_len;
};

static enum nds_result
stage_grade(struct nd_stage_rt *st, enum nds_result r)
{
	if (r == NDS_FATAL)
		atomic_store(&st->sink->dead, true);
	return r == NDS_OK ? NDS_OK : NDS_FAILED;
}

static enum nds_result
stage_open(void *ctx, enum nds_object_kind kind, void **object,
    char err[NDS_ERRBUF_SIZE])
{
	struct nd_stage_rt *st = route(ctx, kind);
	struct stage_obj *o;
	enum nds_result r;

	*object = NULL;
	if (!st->begun) {
		snprintf(err, NDS_ERRBUF_SIZE, "sink %s did not begin",
		    st->sink->name);
		return NDS_FAILED;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		snprintf(err, NDS_ERRBUF_SIZE, "out of memory");
		return NDS_FAILED;
	}
	o->st = st;
	o->from = STAGE_OP((struct nd_stage_rt *)ctx - 1);
	/*
	 * The manifest a transform sets beside what it made of the dump (a
	 * tarball) was built before that existed: the host builds it again
	 * now, so that it says where the tarball went (retention removes a
	 * dump's files by what its manifest says, --list finds it).
	 */
	if (kind == NDS_OBJ_MANIFEST &&
	    st->ds->where[NDS_OBJ_ARCHIVE] != NULL)
		o->manifest = nd_manifest_build(st->d, &o->manifest_len);
	if ((r = STAGE_OP(st)->open(st->dstate, kind, &o->ostate, err)) !=
	    NDS_OK) {
		free(o->manifest);
		free(o);
		return stage_grade(st, r);
	}
	*object = o;
	return NDS_OK;
}

static enum nds_result
stage_write(void *object, uint64_t off, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct stage_obj *o = object;

	if (o->manifest != NULL)
		return NDS_OK;	/* written whole at close */
	return stage_grade(o->st, STAGE_OP(o->st)->write(o->ostate, off, buf,
	    len, err));
}

static enum nds_result
stage_hole(void *object, uint64_t off, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct stage_obj *o = object;

	if (o->manifest != NULL)
		return NDS_OK;
	return stage_grade(o->st, STAGE_OP(o->st)->hole(o->ostate, off, len,
	    err));
}

static enum nds_result
stage_close(void *object, const struct nds_object *obj,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct stage_obj *o = object;
	struct nd_stage_rt *st = o->st;
	struct nds_object full = { 0 };
	char cerr[NDS_ERRBUF_SIZE];
	enum nds_result r = NDS_OK;

	/* A 2.2 transform's object ends before incomplete: read no further. */
	memcpy(&full, obj, o->from->abi_minor < 3 ?
	    offsetof(struct nds_object, incomplete) : sizeof(full));
	if (o->manifest != NULL) {
		full.size = o->manifest_len;
		r = STAGE_OP(st)->write(o->ostate, 0, o->manifest,
		    o->manifest_len, err);
	}
	if (r == NDS_OK)
		r = STAGE_OP(st)->close(o->ostate, &full, where, err);
	else
		(void)STAGE_OP(st)->close(o->ostate, &full, where, cerr);
	/*
	 * What a transform made of the dump, for the manifest; a tarball cut
	 * short too, since retention finds a dump's files by its manifest.
	 */
	if (full.kind == NDS_OBJ_ARCHIVE && where[0] != '\0' &&
	    st->ds->where[NDS_OBJ_ARCHIVE] == NULL &&
	    (st->ds->where[NDS_OBJ_ARCHIVE] = strdup(where)) != NULL) {
		st->ds->archive_size = full.size;
		st->d->digest[NDS_OBJ_ARCHIVE].present = true;
	}
	if (full.kind == NDS_OBJ_MANIFEST && r == NDS_OK)
		st->ds->manifest_passed = true;
	free(o->manifest);
	free(o);
	return stage_grade(st, r);
}

/*
 * Begin a chain from its end: the storing sink first, then each transform
 * with the stage after it as its next stage, and last the head.
 */
static void
begin_stages(struct nd_dump *d, struct nd_dump_chain *ds)
{
	size_t i;

	for (i = ds->nst; i-- > 0;) {
		struct nd_stage_rt *st = &ds->st[i];
		const struct nds_stage *next = NULL;
		enum nds_result r;

		st->nafter = ds->nst - 1 - i;
		st->d = d;
		st->ds = ds;
		if (atomic_load(&st->sink->dead)) {
			char why[NDS_ERRBUF_SIZE];

			/* Graded, so that a dump no chain can store stops. */
			snprintf(why, sizeof(why), "sink %s disabled after a "
			    "fatal error", st->sink->name);
			nd_chain_fail(d, ds, "begin", why);
			return;
		}
		if (st->nafter > 0) {
			st->next = (struct nds_stage){
				.struct_size = sizeof(struct nds_stage),
				.ctx = st + 1,
				.open = stage_open,
				.write = stage_write,
				.hole = stage_hole,
				.close = stage_close,
			};
			next = &st->next;
		}
		r = STAGE_OP(st)->begin(st->sink->instance, &d->pub, next,
		    &st->dstate, ds->error);
		if (r != NDS_OK) {
			if (r == NDS_FATAL)
				atomic_store(&st->sink->dead, true);
			grade(d, ds, st, "begin", NDS_FAILED);
			return;
		}
		st->begun = true;
	}
}

void
nd_chain_begin(struct nd_dump *d, struct nd_dump_chain *ds)
{
	struct nd_stage_rt *st;

	begin_stages(d, ds);
	ds->vm_st = NULL;
	ds->ostate = NULL;
	if (ds->failed || ds->nst == 0 || !ds->st[0].begun)
		return;
	st = route(&ds->st[0], NDS_OBJ_VMCORE);
	if (grade(d, ds, st, "open", STAGE_OP(st)->open(st->dstate,
	    NDS_OBJ_VMCORE, &ds->ostate, ds->error)) == -1)
		ds->ostate = NULL;
	else
		ds->vm_st = st;
}

void
nd_chain_write(struct nd_dump *d, struct nd_dump_chain *ds, uint64_t off,
    const void *buf, size_t len)
{
	struct nd_stage_rt *st = ds->vm_st;

	if (ds->failed || ds->ostate == NULL)
		return;
	if (grade(d, ds, st, "write", STAGE_OP(st)->write(ds->ostate, off,
	    buf, len, ds->error)) == 0 && off + len > ds->stored_end)
		ds->stored_end = off + len;
}

void
nd_chain_hole(struct nd_dump *d, struct nd_dump_chain *ds, uint64_t off,
    uint64_t len)
{
	struct nd_stage_rt *st = ds->vm_st;

	if (ds->failed || ds->ostate == NULL)
		return;
	if (grade(d, ds, st, "hole", STAGE_OP(st)->hole(ds->ostate, off, len,
	    ds->error)) == 0 && off + len > ds->stored_end)
		ds->stored_end = off + len;
}

void
nd_chain_late(struct nd_dump *d, struct nd_dump_chain *ds, uint64_t off,
    const void *buf, size_t len, bool patch)
{
	char why[NDS_ERRBUF_SIZE];

	if (ds->failed || ds->ostate == NULL)
		return;
	/* A patch improves on bytes an ordered chain already has: keep them. */
	if (patch && (STAGE_OP(ds->vm_st)->caps & NDS_CAP_ORDERED))
		return;
	if (STAGE_OP(ds->vm_st)->caps & NDS_CAP_ORDERED) {
		snprintf(why, sizeof(why), "%zu bytes arrived at offset %"
		    PRIu64 " after the stream passed it", len, off);
		nd_chain_fail(d, ds, "late data", why);
		return;
	}
	nd_chain_write(d, ds, off, buf, len);
}

void
nd_chain_close_vmcore(struct nd_dump *d, struct nd_dump_chain *ds,
    uint64_t size)
{
	/* A chain that failed has less than the dump: it must say so. */
	struct nds_object obj = { .kind = NDS_OBJ_VMCORE, .size = size,
	    .incomplete = ds->failed };
	char where[NDS_WHERE_SIZE] = "";
	char err[NDS_ERRBUF_SIZE] = "";
	enum nds_result r;

	if (ds->ostate == NULL)
		return;
	r = STAGE_OP(ds->vm_st)->close(ds->ostate, &obj, where, err);
	ds->ostate = NULL;
	/*
	 * A failed chain's copy is named too, one whose close failed as well
	 * (its result says it failed): retention removes a dump's files by
	 * its manifest, and a copy it does not name would stay for good.
	 */
	if (where[0] != '\0')
		ds->where[NDS_OBJ_VMCORE] = strdup(where);
	if (r != NDS_OK) {
		if (!ds->failed)
			memcpy(ds->error, err, sizeof(err));
		grade(d, ds, ds->vm_st, "close", r);
	}
}

/* Open, write and close one object: NDS_OK, or the result and err. */
static enum nds_result
store(struct nd_dump_chain *ds, struct nd_stage_rt *st, enum nds_object_kind k,
    const void *buf, size_t len, char *err)
{
	struct nds_object obj = { .kind = k, .size = len };
	const struct nds_sink_module *m = STAGE_OP(st);
	char where[NDS_WHERE_SIZE] = "", cerr[NDS_ERRBUF_SIZE];
	enum nds_result r;
	void *os = NULL;

	if ((r = m->open(st->dstate, k, &os, err)) != NDS_OK)
		return r;
	if (len > 0 && (r = m->write(os, 0, buf, len, err)) != NDS_OK) {
		(void)m->close(os, &obj, where, cerr);
		return r;
	}
	if ((r = m->close(os, &obj, where, err)) != NDS_OK)
		return r;
	if (where[0] != '\0' && ds->where[k] == NULL)
		ds->where[k] = strdup(where);
	return NDS_OK;
}

void
nd_chain_store(struct nd_dump *d, struct nd_dump_chain *ds,
    enum nds_object_kind k, const void *buf, size_t len)
{
	char err[NDS_ERRBUF_SIZE] = "";
	struct nd_stage_rt *st;
	enum nds_result r;

	if (ds->nst == 0 || !ds->st[0].begun)
		return;
	st = route(&ds->st[0], k);
	if ((r = store(ds, st, k, buf, len, err)) == NDS_OK)
		return;
	if (ds->failed) {
		log_warnx("dump %" PRIu64 ": sink %s: %s not stored either: %s",
		    d->pub.id, ds->chain->text, nds_object_name(k), err);
		return;
	}
	memcpy(ds->error, err, sizeof(err));
	grade(d, ds, st, "store", r);
}

bool
nd_chain_store_early(struct nd_dump *d, struct nd_dump_chain *ds,
    enum nds_object_kind k, const void *buf, size_t len)
{
	char err[NDS_ERRBUF_SIZE] = "";

	if (ds->nst == 0 || !ds->st[0].begun || ds->failed)
		return false;
	if (store(ds, route(&ds->st[0], k), k, buf, len, err) == NDS_OK)
		return true;
	log_warnx("dump %" PRIu64 ": sink %s: %s: %s; tried again at the "
	    "dump's end", d->pub.id, ds->chain->text, nds_object_name(k), err);
	return false;
}

/*
 * A transform whose end failed after it made a tarball (cut short, say by
 * a full disk) passes no manifest beside it: it could not say the chain
 * failed. The host does, now that it knows: it builds the manifest anew
 * (naming the tarball, the chain failed) for the stages after it, or
 * retention, which finds a dump's files by its manifest, never would.
 */
static void
manifest_after(struct nd_dump *d, struct nd_dump_chain *ds,
    struct nd_stage_rt *st)
{
	struct nds_object obj = { .kind = NDS_OBJ_MANIFEST };
	char err[NDS_ERRBUF_SIZE] = "", where[NDS_WHERE_SIZE] = "";
	void *o;

	if (ds->where[NDS_OBJ_ARCHIVE] == NULL || ds->manifest_passed ||
	    st + 1 >= ds->st + ds->nst)
		return;
	nd_chain_demote_if_unstored(d);
	if (stage_open(st + 1, NDS_OBJ_MANIFEST, &o, err) != NDS_OK ||
	    stage_close(o, &obj, where, err) != NDS_OK)
		logit(LOG_WARNING, "dump %" PRIu64 ": sink %s: the manifest "
		    "beside the cut tarball: %s", d->pub.id, ds->chain->text,
		    err);
}

void
nd_chain_end(struct nd_dump *d, struct nd_dump_chain *ds)
{
	size_t k;

	for (k = 0; k < ds->nst; k++) {
		struct nd_stage_rt *st = &ds->st[k];
		char err[NDS_ERRBUF_SIZE] = "";
		enum nds_result r;

		if (!st->begun)
			continue;
		r = STAGE_OP(st)->end(st->dstate, err);
		st->dstate = NULL;
		st->begun = false;
		if (r != NDS_OK) {
			if (!ds->failed)
				memcpy(ds->error, err, sizeof(err));
			grade(d, ds, st, "end", r);
			manifest_after(d, ds, st);
		}
	}
}
