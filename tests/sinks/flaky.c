/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flaky: a test-only transform that passes every object on to the next
 * stage unchanged, but answers its own first vmcore writes with graded
 * failures, so the tests can drive the host's side of them: retries with
 * backoff (NDS_RETRY), a chain that runs out of retries, and a sink that
 * is retired until restart (NDS_FATAL).
 *
 *   retries = N   the first N write calls answer NDS_RETRY (per instance)
 *   fatal = yes   the first write call answers NDS_FATAL
 *   delay_ms = N  each vmcore write call sleeps N ms first: a slow store,
 *                 so the receiver runs out of buffers and stops reading
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "netdump/sink.h"
#include "sinkutil.h"

enum flaky_opt { OPT_RETRIES, OPT_FATAL, OPT_DELAY_MS };

struct flaky {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	int64_t			 retries;
	bool			 fatal;
	int64_t			 delay_ms;
	atomic_llong		 calls;		/* write calls so far */
};

struct flaky_dump {
	struct flaky		*f;
	const struct nds_stage	*next;
	long long		 retried;	/* RETRY answers in this dump */
};

struct flaky_obj {
	struct flaky_dump	*d;
	enum nds_object_kind	 kind;
	void			*next_obj;
};

static enum nds_result
flaky_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const struct nds_optval *values, void **instance,
    char err[NDS_ERRBUF_SIZE])
{
	struct flaky *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FATAL;
	}
	f->host = host;
	f->ctx = ctx;
	f->retries = values[OPT_RETRIES].num;
	f->fatal = values[OPT_FATAL].num != 0;
	f->delay_ms = values[OPT_DELAY_MS].num;
	*instance = f;
	return NDS_OK;
}

static void
flaky_destroy(void *instance)
{
	free(instance);
}

static enum nds_result
flaky_begin(void *instance, const struct nds_dump *dump, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	(void)instance;
	(void)dump;
	*dump_state = NULL;
	sink_seterr(err, "flaky is a transform: put a storing sink after it");
	return NDS_FATAL;
}

static enum nds_result
flaky_begin_transform(void *instance, const struct nds_dump *dump,
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
	long long call;

	if (o->kind == NDS_OBJ_VMCORE) {
		struct timespec ts = { f->delay_ms / 1000,
		    (long)(f->delay_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		call = atomic_fetch_add(&f->calls, 1);
		if (f->fatal && call == 0) {
			sink_seterr(err, "flaky: fatal on the first write");
			return NDS_FATAL;
		}
		if (call < f->retries) {
			o->d->retried++;
			sink_seterr(err, "flaky: try again (%lld of %lld)",
			    call + 1, (long long)f->retries);
			return NDS_RETRY;
		}
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
	d->f->host->log(d->f->ctx, NDS_LOG_INFO,
	    "flaky: answered NDS_RETRY %lld times in this dump", d->retried);
	free(d);
	return NDS_OK;
}

static const struct nds_option flaky_options[] = {
	{ "retries", NDS_OPT_INT, "0", NULL, 0, 1000,
	    "the first N vmcore write calls answer NDS_RETRY" },
	{ "fatal", NDS_OPT_BOOL, "no", NULL, 0, 0,
	    "the first vmcore write call answers NDS_FATAL" },
	{ "delay_ms", NDS_OPT_INT, "0", NULL, 0, 10000,
	    "each vmcore write call sleeps this long first" },
	{ NULL, NDS_OPT_STRING, NULL, NULL, 0, 0, NULL },
};

NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "flaky",
	.version = "1.0",
	.description = "test only: passes objects on, answers graded failures",
	.caps = NDS_CAP_TRANSFORM,
	.options = flaky_options,
	.create = flaky_create,
	.destroy = flaky_destroy,
	.begin = flaky_begin,
	.open = flaky_open,
	.write = flaky_write,
	.hole = flaky_hole,
	.close = flaky_close,
	.end = flaky_end,
	.begin_transform = flaky_begin_transform,
};
