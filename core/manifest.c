/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The manifest: one JSON document per dump saying who sent it, what
 * arrived, what is missing, and where each sink put each object.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "sink_load.h"
#include "util.h"

#define MANIFEST_MAX_GAPS	1000	/* listed; the count is always exact */

static void
kv_str(struct nd_buf *b, const char *indent, const char *key, const char *val,
    bool comma)
{
	nd_buf_printf(b, "%s\"%s\": ", indent, key);
	nd_buf_json_str(b, val);
	nd_buf_printf(b, "%s\n", comma ? "," : "");
}

/*
 * A 64-bit value a sender chose: a number while JSON readers take it as
 * one (jansson, the server's own reader, refuses a document with an
 * integer past INT64_MAX), else its decimal digits as a string.
 */
static void
put_u64(struct nd_buf *b, const char *fmt_open, uint64_t v,
    const char *fmt_close)
{
	nd_buf_printf(b, v <= INT64_MAX ? "%s%" PRIu64 "%s" :
	    "%s\"%" PRIu64 "\"%s", fmt_open, v, fmt_close);
}

static void
put_kdh(struct nd_buf *b, const struct nd_dump *d)
{
	const struct nds_kdh *k = &d->kdh;

	if (!d->kdh_present) {
		nd_buf_printf(b, "  \"kdh\": null,\n");
		return;
	}
	nd_buf_printf(b, "  \"kdh\": {\n");
	kv_str(b, "    ", "validity", nd_kdh_result_str(d->kdh_result), true);
	if (d->kdh_result == ND_KDH_OK || d->kdh_result == ND_KDH_BAD_PARITY) {
		kv_str(b, "    ", "architecture", k->architecture, true);
		nd_buf_printf(b, "    \"version\": %" PRIu32 ",\n"
		    "    \"architecture_version\": %" PRIu32 ",\n",
		    k->version, k->architectureversion);
		put_u64(b, "    \"dumplength\": ", k->dumplength, ",\n");
		put_u64(b, "    \"dumpextent\": ", k->dumpextent, ",\n");
		put_u64(b, "    \"dumptime\": ", k->dumptime, ",\n");
		nd_buf_printf(b, "    \"dumpkeysize\": %" PRIu32 ",\n"
		    "    \"blocksize\": %" PRIu32 ",\n", k->dumpkeysize,
		    k->blocksize);
		kv_str(b, "    ", "compression",
		    nd_kdh_compression_str(k->compression), true);
		kv_str(b, "    ", "hostname", k->hostname, true);
		kv_str(b, "    ", "versionstring", k->versionstring, true);
		kv_str(b, "    ", "panicstring", k->panicstring, true);
		nd_buf_printf(b, "    \"parity_ok\": %s\n",
		    k->parity_ok ? "true" : "false");
	} else
		nd_buf_printf(b, "    \"bytes\": %" PRIu64 "\n",
		    d->kdh_cov.total);
	nd_buf_printf(b, "  },\n");
}

static void
put_coverage(struct nd_buf *b, const struct nd_dump *d)
{
	uint64_t expected = d->pub.kdh ? d->kdh.dumplength :
	    nd_cov_end(&d->cov);
	struct nd_range *gaps;
	size_t n, i;

	put_u64(b, "  \"coverage\": {\n    \"expected\": ", expected, ",\n");
	nd_buf_printf(b, "    \"expected_from\": \"%s\",\n"
	    "    \"received\": %" PRIu64 ",\n"
	    "    \"late_bytes\": %" PRIu64 ",\n",
	    d->pub.kdh ? "kdh" : "highest offset received", d->cov.total,
	    d->late_bytes);
	gaps = calloc(MANIFEST_MAX_GAPS, sizeof(*gaps));
	n = nd_cov_gaps(&d->cov, expected, gaps, gaps ? MANIFEST_MAX_GAPS : 0);
	nd_buf_printf(b, "    \"gap_count\": %zu,\n    \"gaps\": [", n);
	for (i = 0; gaps != NULL && i < n && i < MANIFEST_MAX_GAPS; i++) {
		put_u64(b, i ? ", [" : "[", gaps[i].start, ", ");
		put_u64(b, "", gaps[i].end, "]");
	}
	nd_buf_printf(b, "]\n  },\n");
	free(gaps);
}

/*
 * The naming policy every sink shares (struct nds_host.object_name): stem,
 * infix, extension, and ".incomplete" for the body of a dump that is. It
 * never reads obj->incomplete: a module built for 2.2 passes an object
 * without it (the module adds the tail for a copy cut short).
 */
int
nd_object_name(const struct nds_dump *dump, const struct nds_object *obj,
    const char *infix, char *name, size_t len)
{
	const char *stem = nds_object_name(obj->kind), *kernel = "", *ext = "";
	const char *suffix = obj->suffix != NULL ? obj->suffix : "";
	const char *tail = "";
	int n;

	switch (obj->kind) {
	case NDS_OBJ_VMCORE:
		if (dump->encrypted)
			stem = "vmcore_encrypted";
		else if (dump->vmcore_suffix != NULL)
			kernel = dump->vmcore_suffix;
		/* FALLTHROUGH */
	case NDS_OBJ_ARCHIVE:
		if (obj->kind == NDS_OBJ_ARCHIVE)
			stem = "dump";
		if (dump->status != NDS_STATUS_COMPLETE)
			tail = dump->protocol != NULL && strcmp(dump->protocol,
			    NDS_PROTO_LINUX) == 0 ? "-incomplete" :
			    ".incomplete";
		break;
	case NDS_OBJ_MANIFEST:
		ext = ".json";
		break;
	default:
		break;
	}
	n = snprintf(name, len, "%s%s%s%s%s%s", stem, infix != NULL ? infix :
	    "", kernel, ext, suffix, tail);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* What crashed (signature.h), or null. */
static void
put_signature(struct nd_buf *b, const struct nd_dump *d)
{
	unsigned i;

	if (!d->has_sig) {
		nd_buf_printf(b, "  \"signature\": null,\n");
		return;
	}
	nd_buf_printf(b, "  \"signature\": {\"id\": ");
	nd_buf_json_str(b, d->sig.id);
	nd_buf_printf(b, ", \"architecture\": ");
	nd_buf_json_str(b, d->sig.arch);
	nd_buf_printf(b, ", \"version\": ");
	nd_buf_json_str(b, d->sig.version);
	nd_buf_printf(b, ",\n    \"panic\": ");
	nd_buf_json_str(b, d->sig.panic);
	nd_buf_printf(b, ", \"frames\": [");
	for (i = 0; i < d->sig.nframes; i++) {
		nd_buf_printf(b, "%s", i > 0 ? ", " : "");
		nd_buf_json_str(b, d->sig.frames[i]);
	}
	nd_buf_printf(b, "],\n    \"seen\": %" PRIu64 "},\n", d->sig_seen);
}

/* What a Linux client told, and how its pages went. */
static void
put_linux(struct nd_buf *b, const struct nd_linux_facts *lx)
{
	nd_buf_printf(b, "  \"linux\": {\"machine\": %" PRIu32 ", "
	    "\"page_size\": %" PRIu32 ", \"page_frames\": %" PRIu64 ", "
	    "\"ram_pages\": %" PRIu64 ", \"task\": \"0x%" PRIx64 "\", "
	    "\"header_size\": %" PRIu64 ",\n    \"pages_received\": %"
	    PRIu64 ", \"pages_not_ram\": %" PRIu64 ", \"pages_missing\": %"
	    PRIu64 ", \"retransmits\": %" PRIu64 ", \"oops\": ",
	    lx->machine, lx->page_size, lx->max_pfn, lx->ram_pages, lx->task,
	    lx->header_size, lx->pages, lx->hole_pages, lx->missing_pages,
	    lx->retransmits);
	if (lx->oops[0] != '\0')
		nd_buf_json_str(b, lx->oops);
	else
		nd_buf_printf(b, "null");
	nd_buf_printf(b, ", \"last_oops\": ");
	if (lx->panic[0] != '\0')
		nd_buf_json_str(b, lx->panic);
	else
		nd_buf_printf(b, "null");
	nd_buf_printf(b, "},\n");
}

/*
 * An object's size; a transform's output (the archive) is each chain's
 * own, and null when the chains that made one made them of other sizes.
 */
static void
put_size(struct nd_buf *b, const struct nd_dump *d, int k, uint64_t size)
{
	const struct nd_dump_chain *ds;
	bool known = false;
	size_t i;

	if (k == NDS_OBJ_ARCHIVE)
		for (i = 0; i < d->nchains; i++) {
			ds = &d->chains[i];
			if (ds->where[k] == NULL)
				continue;
			if (known && ds->archive_size != size) {
				nd_buf_printf(b, "null");
				return;
			}
			size = ds->archive_size;
			known = true;
		}
	nd_buf_printf(b, "%" PRIu64, size);
}

static void
put_objects(struct nd_buf *b, const struct nd_dump *d)
{
	bool first = true;
	int k;
	size_t i;

	nd_buf_printf(b, "  \"objects\": [");
	for (k = NDS_OBJ_VMCORE; k < NDS_OBJ_NKINDS; k++) {
		const struct nd_object_digest *o = &d->digest[k];
		bool firstloc = true;

		/* Never itself: its size is not known while it is built. */
		if (!o->present || k == NDS_OBJ_MANIFEST)
			continue;
		nd_buf_printf(b, "%s\n    {\"kind\": \"%s\", \"size\": ",
		    first ? "" : ",", nds_object_name(k));
		put_size(b, d, k, o->size);
		nd_buf_printf(b, ", \"%s\": ",
		    nd_digest_name(d->vmcore_digest.alg));
		if (o->hex[0])
			nd_buf_json_str(b, o->hex);
		else
			nd_buf_printf(b, "null");
		nd_buf_printf(b, ", \"stored\": {");
		for (i = 0; i < d->nchains; i++) {
			const struct nd_dump_chain *ds = &d->chains[i];

			if (ds->where[k] == NULL)
				continue;
			nd_buf_printf(b, "%s", firstloc ? "" : ", ");
			nd_buf_json_str(b, ds->chain->text);
			nd_buf_printf(b, ": ");
			nd_buf_json_str(b, ds->where[k]);
			firstloc = false;
		}
		nd_buf_printf(b, "}}");
		first = false;
	}
	nd_buf_printf(b, "\n  ],\n");
}

static void
put_sinks(struct nd_buf *b, const struct nd_dump *d)
{
	size_t i;

	nd_buf_printf(b, "  \"sinks\": [");
	for (i = 0; i < d->nchains; i++) {
		const struct nd_dump_chain *ds = &d->chains[i];

		nd_buf_printf(b, "%s\n    {\"name\": ", i ? "," : "");
		nd_buf_json_str(b, ds->chain->text);
		nd_buf_printf(b, ", \"result\": \"%s\"",
		    ds->failed ? "failed" : "ok");
		if (ds->failed) {
			nd_buf_printf(b, ", \"error\": ");
			nd_buf_json_str(b, ds->error);
		}
		nd_buf_printf(b, "}");
	}
	nd_buf_printf(b, "\n  ]\n");
}

/*
 * The manifest of a dump that has not ended (nds_host.manifest_unfinished):
 * who sent it and when it began, from what a module sees of the dump, so
 * that it is one of the module's dumps from its first byte on. The
 * finished manifest replaces it; one that stays says the server never
 * finished the dump.
 */
ssize_t
nd_manifest_unfinished(const struct nds_dump *dump, bool numbered,
    unsigned number, char *buf, size_t size)
{
	struct nd_buf b = { 0 };
	char start[40];
	ssize_t r = -1;

	ts_iso8601(&dump->start, start, sizeof(start));
	nd_buf_printf(&b, "{\n  \"manifest_version\": 1,\n"
	    "  \"server\": \"netdump-server %s\",\n"
	    "  \"dump_id\": %" PRIu64 ",\n"
	    "  \"status\": \"unfinished\",\n", ND_VERSION, dump->id);
	kv_str(&b, "  ", "reason", "the dump has not ended: it is still "
	    "arriving, or the server stopped before its end", true);
	nd_buf_printf(&b, "  \"client\": {\"address\": ");
	nd_buf_json_str(&b, dump->client_addr);
	nd_buf_printf(&b, ", \"port\": %u, \"name\": ", dump->client_port);
	nd_buf_json_str(&b, dump->client_name);
	nd_buf_printf(&b, "},\n");
	if (numbered)
		nd_buf_printf(&b, "  \"number\": %u,\n", number);
	else
		nd_buf_printf(&b, "  \"number\": null,\n");
	kv_str(&b, "  ", "path", dump->path != NULL ? dump->path : ".", true);
	kv_str(&b, "  ", "start", start, true);
	kv_str(&b, "  ", "protocol", dump->protocol != NULL ? dump->protocol :
	    NDS_PROTO_FREEBSD, true);
	nd_buf_printf(&b, "  \"signature\": null,\n  \"objects\": []\n}\n");
	if (b.failed)
		errno = ENOMEM;
	else if (b.len > size)
		errno = ENOSPC;
	else {
		memcpy(buf, b.s, b.len);
		r = (ssize_t)b.len;
	}
	free(b.s);
	return r;
}

char *
nd_manifest_build(const struct nd_dump *d, size_t *len)
{
	struct nd_buf b = { 0 };
	char start[40], end[40];
	const char *why;

	ts_iso8601(&d->pub.start, start, sizeof(start));
	ts_iso8601(&d->end_real, end, sizeof(end));
	nd_buf_printf(&b, "{\n  \"manifest_version\": 1,\n"
	    "  \"server\": \"netdump-server %s\",\n", ND_VERSION);
	nd_buf_printf(&b, "  \"dump_id\": %" PRIu64 ",\n", d->pub.id);
	nd_buf_printf(&b, "  \"status\": \"%s\",\n",
	    d->pub.status == NDS_STATUS_COMPLETE ? "complete" : "incomplete");
	kv_str(&b, "  ", "reason", d->reason, true);
	nd_buf_printf(&b, "  \"client\": {\"address\": ");
	nd_buf_json_str(&b, d->client_addr);
	nd_buf_printf(&b, ", \"port\": %u, \"name\": ", d->pub.client_port);
	nd_buf_json_str(&b, d->pub.client_name);
	nd_buf_printf(&b, "},\n");
	/* The number a sink gave the dump (savecore's N), for its files. */
	if (d->numbered)
		nd_buf_printf(&b, "  \"number\": %u,\n", d->number);
	else
		nd_buf_printf(&b, "  \"number\": null,\n");
	kv_str(&b, "  ", "path", d->path, true);
	kv_str(&b, "  ", "route", d->route, true);
	kv_str(&b, "  ", "start", start, true);
	kv_str(&b, "  ", "end", end, true);
	nd_buf_printf(&b, "  \"seconds\": %.3f,\n",
	    ts_diff(&d->end_mono, &d->start_mono));
	nd_buf_printf(&b, "  \"bytes_received\": %" PRIu64 ",\n", d->cov.total);
	nd_buf_printf(&b, "  \"packets\": %" PRIu64 ",\n"
	    "  \"duplicate_packets\": %" PRIu64 ",\n", d->packets,
	    d->dup_packets);
	/* Evidence of a second sender: bytes that differ, data refused. */
	nd_buf_printf(&b, "  \"conflicts\": %" PRIu64 ",\n", d->conflicts);
	if (d->conflicts > 0)
		nd_buf_printf(&b, "  \"first_conflict\": { \"object\": \"%s\", "
		    "\"offset\": %" PRIu64 " },\n", d->conflict_what,
		    d->conflict_off);
	nd_buf_printf(&b, "  \"refused_far_packets\": %" PRIu64 ",\n",
	    d->far_drops);
	nd_buf_printf(&b, "  \"finished\": %s,\n",
	    d->finished ? "true" : "false");
	nd_buf_printf(&b, "  \"encrypted\": %s,\n",
	    d->pub.encrypted ? "true" : "false");
	/* Why there is no msgbuf object, or null when there is one. */
	why = nd_msgbuf_missing(&d->msgbuf);
	if (why == NULL && !d->digest[NDS_OBJ_MSGBUF].present)
		why = "the message buffer is empty";
	if (why != NULL)
		kv_str(&b, "  ", "msgbuf_missing", why, true);
	else
		nd_buf_printf(&b, "  \"msgbuf_missing\": null,\n");
	kv_str(&b, "  ", "protocol", d->pub.protocol, true);
	put_signature(&b, d);
	if (d->lx.is_linux)
		put_linux(&b, &d->lx);
	put_kdh(&b, d);
	put_coverage(&b, d);
	put_objects(&b, d);
	put_sinks(&b, d);
	nd_buf_printf(&b, "}\n");
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	*len = b.len;
	return b.s;
}
