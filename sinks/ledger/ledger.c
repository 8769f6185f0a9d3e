/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ledger, the smallest complete sink (docs/architecture.md): no bytes, a line
 * per dump in a file of the dump directory, "dump 7 from 192.0.2.51 complete:
 * vmcore 1048576 (holes 262144) ...". Beside a chain: sink = local, ledger
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netdump/sink.h"
#include "sinkutil.h"

struct ledger_config {	/* filled by the host from the options; the instance */
	const char		*file;
};

struct ledger_dump {	/* each object's state too: only the vmcore has holes */
	const char		*file;
	const struct nds_dump	*dump;
	uint64_t		 holes;		/* the vmcore's */
	char			 line[1024];	/* room for every object */
};

static enum nds_result
ledger_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const void *config, void **instance, char err[NDS_ERRBUF_SIZE])
{
	const struct ledger_config *c = config;

	(void)host, (void)ctx;
	/* A name in the dump directory, nothing that leads out of it. */
	if (c->file[0] == '\0' || strchr(c->file, '/') != NULL ||
	    strcmp(c->file, ".") == 0 || strcmp(c->file, "..") == 0) {
		sink_seterr(err, "file: \"%s\" is not a file name", c->file);
		return NDS_FATAL;
	}
	*instance = (void *)c;	/* the host's until destroy: kept, not copied */
	return NDS_OK;
}

static void
ledger_destroy(void *instance)
{
	(void)instance;		/* nothing of ours to free */
}

static enum nds_result
ledger_begin(void *instance, const struct nds_dump *dump,
    const struct nds_stage *next, void **dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct ledger_dump *d;

	(void)next;		/* NULL: a storing sink */
	if ((*dump_state = d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	d->file = ((const struct ledger_config *)instance)->file;
	d->dump = dump;
	return NDS_OK;
}

static enum nds_result
ledger_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	(void)kind, (void)err;
	*object_state = dump_state;
	return NDS_OK;
}

static enum nds_result
ledger_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	(void)object_state, (void)offset, (void)buf, (void)len, (void)err;
	return NDS_OK;
}

static enum nds_result
ledger_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	(void)offset, (void)err;
	((struct ledger_dump *)object_state)->holes += len;
	return NDS_OK;
}

static enum nds_result
ledger_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct ledger_dump *d = object_state;
	size_t len = strlen(d->line);

	(void)err;
	snprintf(d->line + len, sizeof(d->line) - len, object->kind ==
	    NDS_OBJ_VMCORE ? " %s %" PRIu64 " (holes %" PRIu64 ")" : " %s %"
	    PRIu64, nds_object_name(object->kind), object->size, d->holes);
	snprintf(where, NDS_WHERE_SIZE, "%s", d->file);
	return NDS_OK;
}

/* One write with O_APPEND: lines of concurrent dumps never interleave. */
static enum nds_result
ledger_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct ledger_dump *d = dump_state;
	char out[sizeof(d->line) + 128], ebuf[128];
	int fd, n, ok;

	n = snprintf(out, sizeof(out), "dump %" PRIu64 " from %s %s:%s\n",
	    d->dump->id, d->dump->client_addr, d->dump->status ==
	    NDS_STATUS_COMPLETE ? "complete" : "incomplete", d->line);
	fd = openat(d->dump->dumpdir_fd, d->file, O_WRONLY | O_APPEND |
	    O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (!(ok = fd != -1 && write(fd, out, (size_t)n) == n))
		sink_seterr(err, "%s: %s", d->file,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
	if (fd != -1)
		close(fd);
	free(d);
	return ok ? NDS_OK : NDS_FAILED;
}

static const struct nds_option ledger_options[] = {
	{ .name = "file", .type = NDS_OPT_STRING, .default_value = "ledger.txt",
	    .offset = offsetof(struct ledger_config, file), .description =
	    "the file in the dump directory that gets a line per dump" },
	{ .name = NULL },
};

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "ledger",
	.version = "1.0",
	.description = "a line per dump in a text file: the example sink",
	.options = ledger_options, .config_size = sizeof(struct ledger_config),
	/* destroy, end and close free what create, begin and open made */
	.create = ledger_create, .destroy = ledger_destroy,
	.begin = ledger_begin, .end = ledger_end,
	.open = ledger_open, .close = ledger_close,
	.write = ledger_write, .hole = ledger_hole,
};
