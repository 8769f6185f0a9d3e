/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * abi22: a test-only transform built as a module of sink ABI 2.2 would
 * be. It passes the vmcore on unchanged, but the struct nds_object it
 * hands the next stage at close is the 2.2 one: it ends where 2.3 added
 * "incomplete". The object is a heap block of exactly that size, so a
 * host that read the 2.3 field from it would read past the block (which
 * AddressSanitizer reports), and the header says 2.2 (docs/sink-abi.md:
 * "A 2.2 module loads and behaves as before").
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "netdump/sink.h"
#include "sinkutil.h"

/* The size of struct nds_object in ABI 2.2. */
#define OBJECT_2_2	offsetof(struct nds_object, incomplete)

struct abi22_obj {
	const struct nds_stage	*next;
	void			*next_obj;
};

static enum nds_result
abi22_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const void *config, void **instance, char err[NDS_ERRBUF_SIZE])
{
	(void)host;
	(void)ctx;
	(void)config;
	(void)err;
	*instance = NULL;
	return NDS_OK;
}

static void
abi22_destroy(void *instance)
{
	(void)instance;
}

static enum nds_result
abi22_begin(void *instance, const struct nds_dump *dump,
    const struct nds_stage *next, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	(void)instance;
	(void)dump;
	(void)err;
	*dump_state = (void *)next;
	return NDS_OK;
}

static enum nds_result
abi22_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	const struct nds_stage *next = dump_state;
	struct abi22_obj *o;
	enum nds_result r;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	o->next = next;
	if ((r = next->open(next->ctx, kind, &o->next_obj, err)) != NDS_OK) {
		free(o);
		return r;
	}
	*object_state = o;
	return NDS_OK;
}

static enum nds_result
abi22_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct abi22_obj *o = object_state;

	return o->next->write(o->next_obj, offset, buf, len, err);
}

static enum nds_result
abi22_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	struct abi22_obj *o = object_state;

	return o->next->hole(o->next_obj, offset, len, err);
}

static enum nds_result
abi22_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct abi22_obj *o = object_state;
	struct nds_object *old = malloc(OBJECT_2_2);
	enum nds_result r = NDS_FAILED;

	if (old == NULL)
		sink_seterr(err, "out of memory");
	else {
		memcpy(old, object, OBJECT_2_2);
		r = o->next->close(o->next_obj, old, where, err);
	}
	free(old);
	free(o);
	return r;
}

static enum nds_result
abi22_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	(void)dump_state;
	(void)err;
	return NDS_OK;
}

NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	.abi_major = 2,
	.abi_minor = 2,
	.struct_size = sizeof(struct nds_sink_module),
	.name = "abi22",
	.version = "1.0",
	.description = "test only: a transform as ABI 2.2 built it",
	.caps = NDS_CAP_TRANSFORM,
	.kinds = NDS_KIND(NDS_OBJ_VMCORE),
	.create = abi22_create,
	.destroy = abi22_destroy,
	.begin = abi22_begin,
	.open = abi22_open,
	.write = abi22_write,
	.hole = abi22_hole,
	.close = abi22_close,
	.end = abi22_end,
};
