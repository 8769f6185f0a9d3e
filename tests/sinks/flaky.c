/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flaky: a test-only transform of the vmcore, of the key and of a tarball
 * an archive stage before it makes (the host routes the other objects past
 * it). It passes them on to the next stage unchanged, but answers its own
 * first writes with graded failures, so the tests can drive the host's
 * side of them: a chain that fails for one dump (NDS_FAILED) and a sink
 * that is retired until restart (NDS_FATAL).
 *
 *   failures = N  the first N write calls answer NDS_FAILED (per instance)
 *   fatal = yes   the first write call answers NDS_FATAL
 *   delay_ms = N  each write call sleeps N ms first: a slow store, so the
 *                 receiver runs out of buffers and stops reading
 *   stall_ms = N  the first write call of each dump sleeps N ms: a store
 *                 that hangs once, long enough for the receiver to pause
 *   start_fails = yes  start answers NDS_FATAL: the host retires the sink
 *   key_failures = N  the first N write calls of a key answer NDS_FAILED
 *                 (per instance; the others count only writes of a
 *                 vmcore or tarball): the key's store while the dump
 *                 arrives fails, its store at the end does not
 *   destroy_ms = N  destroy sleeps N ms: an instance slow to end (a
 *                 module joining threads that finish a request)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include "netdump/sink.h"
#include "sinkutil.h"

struct flaky_config {
	int64_t			 failures;
	bool			 fatal;
	int64_t			 delay_ms;
	int64_t			 stall_ms;
	bool			 start_fails;
	int64_t			 key_failures;
	int64_t			 destroy_ms;
};

struct flaky {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	const struct flaky_config *conf;
	atomic_llong		 calls;		/* write calls so far */
	atomic_llong		 key_calls;	/* of them, of a key */
};

struct flaky_dump {
	struct flaky		*f;
	const struct nds_stage	*next;
	long long		 opened;	/* objects that reached it */
	long long		 failed;	/* FAILED answers in this dump */
	bool			 stalled;	/* stall_ms slept */
};

struct flaky_obj {
	struct flaky_dump	*d;
	enum nds_object_kind	 kind;
	void			*next_obj;
};

static enum nds_result
flaky_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const void *config, void **instance, char err[NDS_ERRBUF_SIZE])
{
	struct flaky *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FATAL;
	}
	f->host = host;
	f->ctx = ctx;
	f->conf = config;
	*instance = f;
	return NDS_OK;
}

static enum nds_result
flaky_start(void *instance, char err[NDS_ERRBUF_SIZE])
{
	struct flaky *f = instance;

	if (!f->conf->start_fails)
		return NDS_OK;
	sink_seterr(err, "flaky: start refused");
	return NDS_FATAL;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
flaky_destroy(void *instance)
{
	struct flaky *f = instance;

	sleep_ms(f->conf->destroy_ms);
	free(instance);
}

static enum nds_result
flaky_begin(void *instance, const struct nds_dump *dump,
    const struct nds_stage *next, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct flaky_dump *d;

	(void)dump;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	d->f = instance;
	d->next = next;
	*dump_state = d;
	return NDS_OK;
}

static enum nds_result
flaky_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct flaky_dump *d = dump_state;
	struct flaky_obj *o;
	enum nds_result r;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	o->d = d;
	o->kind = kind;
	d->opened++;
	if ((r = d->next->open(d->next->ctx, kind, &o->next_obj, err)) !=
	    NDS_OK) {
		free(o);
		return r;
	}
	*object_state = o;
	return NDS_OK;
}

static enum nds_result
flaky_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct flaky_obj *o = object_state;
	struct flaky *f = o->d->f;
	int64_t ms = f->conf->delay_ms;
	long long call;

	if (o->kind == NDS_OBJ_KEY) {
		call = atomic_fetch_add(&f->key_calls, 1);
		if (call >= f->conf->key_failures)
			return o->d->next->write(o->next_obj, offset, buf,
			    len, err);
		o->d->failed++;
		sink_seterr(err, "flaky: key refused (%lld of %lld)",
		    call + 1, (long long)f->conf->key_failures);
		return NDS_FAILED;
	}
	/* Only a vmcore's or tarball's writes wait. */
	if (!o->d->stalled) {
		o->d->stalled = true;
		ms += f->conf->stall_ms;
	}
	sleep_ms(ms);
	call = atomic_fetch_add(&f->calls, 1);
	if (f->conf->fatal && call == 0) {
		sink_seterr(err, "flaky: fatal on the first write");
		return NDS_FATAL;
	}
	if (call < f->conf->failures) {
		o->d->failed++;
		sink_seterr(err, "flaky: refused (%lld of %lld)", call + 1,
		    (long long)f->conf->failures);
		return NDS_FAILED;
	}
	return o->d->next->write(o->next_obj, offset, buf, len, err);
}

static enum nds_result
flaky_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct flaky_obj *o = object_state;

	return o->d->next->hole(o->next_obj, offset, len, err);
}

static enum nds_result
flaky_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct flaky_obj *o = object_state;
	enum nds_result r;

	r = o->d->next->close(o->next_obj, object, where, err);
	free(o);
	return r;
}

static enum nds_result
flaky_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct flaky_dump *d = dump_state;

	(void)err;
	d->f->host->log(d->f->ctx, NDS_LOG_INFO, "flaky: saw %lld object(s) "
	    "and answered NDS_FAILED %lld time(s) in this dump", d->opened,
	    d->failed);
	free(d);
	return NDS_OK;
}

#define OPT(f)	offsetof(struct flaky_config, f)

static const struct nds_option flaky_options[] = {
	{ "failures", NDS_OPT_INT, OPT(failures), "0", NULL, 0, 1000,
	    "the first N vmcore write calls answer NDS_FAILED" },
	{ "fatal", NDS_OPT_BOOL, OPT(fatal), "no", NULL, 0, 0,
	    "the first vmcore write call answers NDS_FATAL" },
	{ "delay_ms", NDS_OPT_INT, OPT(delay_ms), "0", NULL, 0, 10000,
	    "each vmcore write call sleeps this long first" },
	{ "stall_ms", NDS_OPT_INT, OPT(stall_ms), "0", NULL, 0, 60000,
	    "the first vmcore write call of each dump sleeps this long" },
	{ "start_fails", NDS_OPT_BOOL, OPT(start_fails), "no", NULL, 0, 0,
	    "start answers NDS_FATAL" },
	{ "key_failures", NDS_OPT_INT, OPT(key_failures), "0", NULL, 0, 1000,
	    "the first N key write calls answer NDS_FAILED" },
	{ "destroy_ms", NDS_OPT_INT, OPT(destroy_ms), "0", NULL, 0, 60000,
	    "destroy sleeps this long" },
	{ .name = NULL },
};

NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "flaky",
	.version = "1.0",
	.description = "test only: passes objects on, answers graded failures",
	.caps = NDS_CAP_TRANSFORM,
	.kinds = NDS_KIND(NDS_OBJ_VMCORE) | NDS_KIND(NDS_OBJ_KEY) |
	    NDS_KIND(NDS_OBJ_ARCHIVE),
	.options = flaky_options,
	.config_size = sizeof(struct flaky_config),
	.create = flaky_create,
	.start = flaky_start,
	.destroy = flaky_destroy,
	.begin = flaky_begin,
	.open = flaky_open,
	.write = flaky_write,
	.hole = flaky_hole,
	.close = flaky_close,
	.end = flaky_end,
};
