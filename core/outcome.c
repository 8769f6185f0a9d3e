/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "chain.h"
#include "conf.h"
#include "digest.h"
#include "dump.h"
#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "outcome.h"
#include "runtime.h"
#include "sigseen.h"
#include "sink_load.h"
#include "status.h"
#include "util.h"

/* Give every sink a whole in-memory object. */
static void
store_object(struct nd_dump *d, enum nds_object_kind k, const void *buf,
    size_t len)
{
	size_t i;

	for (i = 0; i < d->nchains; i++)
		nd_chain_store(d, &d->chains[i], k, buf, len);
}


/*
 * The key, stored as soon as it is whole, while the vmcore streams: a
 * FreeBSD 13+ kernel sends it first "so a partial dump is still usable"
 * (netdump_client.c), which it is only if the key outlives a server that
 * dies in the middle of the dump. Once; the dump's end stores it again on
 * a chain where this failed, or everywhere if what it has then differs
 * (more of it, a later version's size).
 */
void
nd_outcome_key_early(struct nd_dump *d)
{
	const struct nd_key_copy *k = atomic_load_explicit(&d->key_early,
	    memory_order_acquire);
	size_t i;

	if (k == NULL)
		return;
	d->key_early_tried = true;
	log_debug("dump %" PRIu64 ": the key (%zu bytes) stored before the "
	    "dump's end", d->pub.id, k->len);
	for (i = 0; i < d->nchains; i++)
		d->chains[i].key_early = nd_chain_store_early(d,
		    &d->chains[i], NDS_OBJ_KEY, k->buf, k->len);
}

/* The key at the dump's end, where the early one is not it. */
static void
store_key(struct nd_dump *d)
{
	const struct nd_key_copy *k = atomic_load(&d->key_early);
	bool same = d->key_early_tried && k->len == d->key_size &&
	    memcmp(k->buf, d->key, k->len) == 0;
	size_t i;

	for (i = 0; i < d->nchains; i++)
		if (!same || !d->chains[i].key_early)
			nd_chain_store(d, &d->chains[i], NDS_OBJ_KEY, d->key,
			    (size_t)d->key_size);
}

/*
 * A Linux dump's info: no KDH to describe, so what its client told
 * (savecore's "Dump Status" line, so a reader of either kind finds it).
 */
static int
linux_info_text(const struct nd_dump *d, char **text)
{
	const struct nd_linux_facts *lx = &d->lx;
	int n;

	n = asprintf(text, "Dump from %s (Linux netdump)\n"
	    "  Machine: %s\n  Page size: %" PRIu32 "\n"
	    "  Page frames: %" PRIu64 "\n  RAM pages: %" PRIu64 "\n"
	    "  Pages received: %" PRIu64 "\n  Pages not RAM: %" PRIu64 "\n"
	    "  Pages missing: %" PRIu64 "\n  Crashing task: 0x%" PRIx64 "\n"
	    "  Oops: %s\n  Dump Status: %s%s%s\n", d->client_addr,
	    lx->machine == 3 ? "i386" : lx->machine == 62 ? "x86_64" : "other",
	    lx->page_size, lx->max_pfn, lx->ram_pages, lx->pages,
	    lx->hole_pages, lx->missing_pages, lx->task,
	    lx->oops[0] != '\0' ? lx->oops : "none seen",
	    d->pub.status == NDS_STATUS_COMPLETE ? "good" : "bad",
	    d->reason[0] != '\0' ? ": " : "", d->reason);
	if (n < 0)
		*text = NULL;
	return n;
}

/*
 * Decide the outcome: complete only with FINISHED, a valid KDH, every byte
 * of [0, dumplength) and, when the KDH announces one, the whole key.
 */
static void
judge(struct nd_dump *d)
{
	struct nd_range gap;
	size_t ngaps;
	const char *why = NULL, *failed;
	char buf[NDS_ERRBUF_SIZE + 64];

	if (d->end_reason[0] != '\0')
		why = d->end_reason;
	else if (d->space_stop) {
		snprintf(buf, sizeof(buf), "the dump directory fell below "
		    "min_free; the first %" PRIu64 " bytes were stored",
		    d->stop_at);
		why = buf;
	} else if ((failed = nd_chain_all_failed(d)) != NULL) {
		snprintf(buf, sizeof(buf), "no sink stored the dump: %s",
		    failed);
		why = buf;
	} else if (d->conflicts > 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64 " message%s differed "
		    "from the bytes received first at the same place, the "
		    "first at %s offset %" PRIu64 " (the first copy was kept)",
		    d->conflicts, d->conflicts == 1 ? "" : "s",
		    d->conflict_what, d->conflict_off);
		why = buf;
	} else if (d->lx.is_linux) {
		/* No KDH, no FINISHED: its front-end judged the pages. */
	} else if (!d->finished)
		why = "no FINISHED message";
	else if (!d->kdh_present)
		why = "no kernel dump header (KDH) received";
	else if (!nd_cov_contains(&d->kdh_cov, 0, ND_KDH_SIZE)) {
		snprintf(buf, sizeof(buf), "kernel dump header is short (%"
		    PRIu64 " of %d bytes)", d->kdh_cov.total, ND_KDH_SIZE);
		why = buf;
	} else if (d->kdh_result != ND_KDH_OK) {
		snprintf(buf, sizeof(buf), "invalid kernel dump header: %s",
		    nd_kdh_result_str(d->kdh_result));
		why = buf;
	} else if (d->kdh.dumplength == 0)
		why = "the kernel dump header describes no data (a dump "
		    "length of 0)";
	else if ((ngaps = nd_cov_gaps(&d->cov, d->kdh.dumplength, &gap,
	    1)) > 0) {
		snprintf(buf, sizeof(buf), "%zu gap%s in the vmcore, first at "
		    "[%" PRIu64 ", %" PRIu64 ") (%" PRIu64 " of %" PRIu64
		    " bytes received)", ngaps, ngaps == 1 ? "" : "s",
		    gap.start, gap.end, d->cov.total, d->kdh.dumplength);
		why = buf;
	} else if (!nd_kdh_data_fits(&d->kdh, nd_cov_end(&d->cov))) {
		snprintf(buf, sizeof(buf), "data arrived up to offset %" PRIu64
		    ", beyond the %" PRIu64 " bytes the KDH describes",
		    nd_cov_end(&d->cov), d->kdh.dumplength);
		why = buf;
	} else if (d->kdh.dumpkeysize > 0 &&
	    !nd_cov_contains(&d->key_cov, 0, d->kdh.dumpkeysize)) {
		snprintf(buf, sizeof(buf), "the KDH announces a %" PRIu32
		    "-byte encryption key, %" PRIu64 " bytes of it arrived",
		    d->kdh.dumpkeysize, d->key_cov.total);
		why = buf;
	} else if (nd_cov_end(&d->key_cov) > d->kdh.dumpkeysize) {
		/* A key the header does not announce: which one is true? */
		snprintf(buf, sizeof(buf), "an encryption key of %" PRIu64
		    " bytes arrived, the KDH announces %" PRIu32,
		    nd_cov_end(&d->key_cov), d->kdh.dumpkeysize);
		why = buf;
	}
	if (why != NULL)
		snprintf(d->reason, sizeof(d->reason), "%s", why);
	d->pub.status = why ? NDS_STATUS_INCOMPLETE : NDS_STATUS_COMPLETE;
	d->pub.reason = d->reason;
	d->pub.kdh = (d->kdh_present && d->kdh_result == ND_KDH_OK) ?
	    &d->kdh : NULL;
	d->pub.encrypted = d->key_cov.total > 0 ||
	    (d->pub.kdh && d->kdh.dumpkeysize > 0);
	/*
	 * savecore's names (DoFile in sbin/savecore/savecore.c): the suffix
	 * only for an unencrypted kernel-compressed dump; decryptcore -n N
	 * opens exactly vmcore_encrypted.N, whatever is inside.
	 */
	d->pub.vmcore_suffix = "";
	if (d->pub.encrypted)
		;
	else if (d->pub.kdh && d->kdh.compression == NDS_COMP_GZIP)
		d->pub.vmcore_suffix = ".gz";
	else if (d->pub.kdh && d->kdh.compression == NDS_COMP_ZSTD)
		d->pub.vmcore_suffix = ".zst";
	d->key_size = nd_cov_end(&d->key_cov);
}

static void
log_outcome(struct nd_dump *d)
{
	double secs = ts_diff(&d->end_mono, &d->start_mono);
	struct nd_outcome o;
	const char *where = NULL;
	size_t i, ok = 0;

	for (i = 0; i < d->nchains; i++) {
		if (d->chains[i].failed)
			continue;
		ok++;
		if (where == NULL)
			where = d->chains[i].where[NDS_OBJ_VMCORE];
		/* An archive chain stores a tarball, not a vmcore. */
		if (where == NULL)
			where = d->chains[i].where[NDS_OBJ_ARCHIVE];
	}
	o = (struct nd_outcome){ .id = d->pub.id, .bytes = d->final_size,
	    .seconds = secs, .ended = d->end_real.tv_sec };
	snprintf(o.client, sizeof(o.client), "%.*s",
	    (int)sizeof(o.client) - 1, d->client_addr);
	snprintf(o.path, sizeof(o.path), "%.*s",
	    (int)sizeof(o.path) - 1, d->path);
	snprintf(o.status, sizeof(o.status), "%s",
	    d->pub.status == NDS_STATUS_COMPLETE ? "complete" : "incomplete");
	snprintf(o.reason, sizeof(o.reason), "%.*s",
	    (int)sizeof(o.reason) - 1, d->reason);
	snprintf(o.where, sizeof(o.where), "%.*s",
	    (int)sizeof(o.where) - 1, where ? where : "-");
	nd_outcome_record(&o);
	logit(LOG_NOTICE, "dump %" PRIu64 " from %s %s: %" PRIu64 " bytes in "
	    "%.1f s (%.1f MB/s)%s%s%s, stored by %zu of %zu sinks%s%s",
	    d->pub.id, d->client_addr,
	    d->pub.status == NDS_STATUS_COMPLETE ? "complete" : "incomplete",
	    d->final_size, secs, secs > 0 ? d->cov.total / secs / 1e6 : 0.0,
	    d->reason[0] ? " (" : "", d->reason, d->reason[0] ? ")" : "",
	    ok, d->nchains, where ? ": " : "", where ? where : "");
}

/* The kernel's message buffer, as text beside the dump. */
/*
 * The panic signature (signature.h): from the KDH's architecture, version
 * and panic strings (the message buffer's "panic:" line when the KDH has
 * none) and the backtrace in the message buffer.
 */
static void
make_signature(struct nd_dump *d, const char *msgbuf, size_t len,
    const char *msgbuf_panic)
{
	const char *arch = NULL, *version = NULL, *panic = NULL;
	const char *mb_panic = msgbuf_panic == NULL ? NULL : msgbuf_panic +
	    (strncmp(msgbuf_panic, "panic: ", 7) == 0 ? 7 : 0);
	char canon[1024], hex[65];
	int n;

	/*
	 * A Linux dump has none: its console's oops line, masked, is the same
	 * for every NULL dereference of every kernel and function, and
	 * keep_per_signature would take one host's crash for another's
	 * repeat (the line stays in the manifest, linux.oops).
	 */
	if (d->lx.is_linux) {
		d->has_sig = false;
		return;
	}
	if (d->pub.kdh != NULL) {
		arch = d->kdh.architecture;
		version = d->kdh.versionstring;
		panic = d->kdh.panicstring[0] != '\0' ? d->kdh.panicstring :
		    NULL;
	}
	if (panic == NULL)
		panic = mb_panic;
	/*
	 * The backtrace that follows the panic, not an earlier one (a
	 * WITNESS report, a previous boot's text).
	 */
	if (msgbuf != NULL && msgbuf_panic != NULL) {
		len -= (size_t)(msgbuf_panic - msgbuf);
		msgbuf = msgbuf_panic;
	} else
		msgbuf = NULL;
	d->has_sig = nd_signature_fill(&d->sig, arch, version, panic, msgbuf,
	    msgbuf != NULL ? len : 0);
	/*
	 * A header panic string that says nothing once masked (blanks):
	 * the message buffer's panic line, if it has one, says what crashed.
	 */
	if (!d->has_sig && mb_panic != NULL && panic != mb_panic)
		d->has_sig = nd_signature_fill(&d->sig, arch, version,
		    mb_panic, msgbuf, msgbuf != NULL ? len : 0);
	if (!d->has_sig)
		return;
	n = nd_signature_canon(&d->sig, canon, sizeof(canon));
	/*
	 * Always SHA-256, whatever [server] digest says: the id names a
	 * crash in sigseen, keep_per_signature and on other servers.
	 */
	nd_digest_buf(ND_DIGEST_SHA256, canon, n < 0 ? 0 :
	    (size_t)n < sizeof(canon) ? (size_t)n :
	    sizeof(canon) - 1, hex);
	memcpy(d->sig.id, hex, sizeof(d->sig.id) - 1);
	d->sig_seen = nd_sigseen_count(d->sig.id);
	logit(LOG_NOTICE, "dump %" PRIu64 " from %s: signature %s: %s%s%s",
	    d->pub.id, d->client_addr, d->sig.id, d->sig.panic,
	    d->sig.nframes > 0 ? " in " : "", d->sig.nframes > 0 ?
	    d->sig.frames[0] : "");
}

static void
store_msgbuf(struct nd_dump *d)
{
	const char *panic;
	size_t len, plen;
	char *text;

	/* A ring of zeros is no object: the manifest says it was empty. */
	if ((text = nd_msgbuf_text(&d->msgbuf, &len, &panic)) == NULL ||
	    len == 0) {
		free(text);
		make_signature(d, NULL, 0, NULL);
		return;
	}
	make_signature(d, text, len, panic);
	d->digest[NDS_OBJ_MSGBUF].present = true;
	d->digest[NDS_OBJ_MSGBUF].size = len;
	nd_digest_buf(d->vmcore_digest.alg, text, len,
	    d->digest[NDS_OBJ_MSGBUF].hex);
	store_object(d, NDS_OBJ_MSGBUF, text, len);
	if (panic != NULL) {
		plen = strcspn(panic, "\n");
		logit(LOG_NOTICE, "dump %" PRIu64 " from %s: %.*s", d->pub.id,
		    d->client_addr, (int)(plen > 300 ? 300 : plen), panic);
	}
	free(text);
}

/* Where the first chain that worked put an object, or NULL. */
static const char *
stored_at(const struct nd_dump *d, enum nds_object_kind k)
{
	size_t i;

	for (i = 0; i < d->nchains; i++)
		if (!d->chains[i].failed && d->chains[i].where[k] != NULL)
			return d->chains[i].where[k];
	return NULL;
}

/*
 * netdump-reboot (whatever the outcome) and netdumpd's handler. DIR is
 * the folder the vmcore went to, when a sink stored it on local disk.
 */
void
nd_outcome_hooks(struct nd_dump *d)
{
	const struct nd_server_conf *sv = d->server;
	const char *vmcore = stored_at(d, NDS_OBJ_VMCORE);
	const char *info = stored_at(d, NDS_OBJ_INFO);
	const char *manifest = stored_at(d, NDS_OBJ_MANIFEST);
	const char *msgbuf = stored_at(d, NDS_OBJ_MSGBUF);
	char dir[PATH_MAX + 8], host[80];
	char e_client[48], e_dir[PATH_MAX + 24], e_path[1100], e_status[48];
	char e_reason[600], e_id[64], e_vmcore[1100], e_manifest[1100];
	char e_msgbuf[1100];
	const char *env[10];
	const char *reason;
	size_t n = 0, i;

	if (sv == NULL)
		return;
	/* Where a local sink put it: a file sink's dir may be absolute. */
	if (vmcore != NULL && strstr(vmcore, "://") == NULL &&
	    strchr(vmcore, '/') != NULL)
		snprintf(dir, sizeof(dir), "%s%s%.*s", vmcore[0] != '/' ?
		    sv->dumpdir : "", vmcore[0] != '/' ? "/" : "",
		    strrchr(vmcore, '/') == vmcore ? 1 :
		    (int)(strrchr(vmcore, '/') - vmcore), vmcore);
	else
		snprintf(dir, sizeof(dir), "%s/%s", sv->dumpdir, d->path);
	snprintf(e_client, sizeof(e_client), "NETDUMP_CLIENT=%s",
	    d->client_addr);
	snprintf(e_dir, sizeof(e_dir), "NETDUMP_DIR=%s", dir);
	snprintf(e_path, sizeof(e_path), "NETDUMP_PATH=%s", d->path);
	snprintf(e_status, sizeof(e_status), "NETDUMP_STATUS=%s",
	    d->pub.status == NDS_STATUS_COMPLETE ? "complete" : "incomplete");
	snprintf(e_reason, sizeof(e_reason), "NETDUMP_REASON=%s", d->reason);
	snprintf(e_id, sizeof(e_id), "NETDUMP_DUMP_ID=%" PRIu64, d->pub.id);
	env[n++] = e_client;
	env[n++] = e_dir;
	env[n++] = e_path;
	env[n++] = e_status;
	env[n++] = e_reason;
	env[n++] = e_id;
	if (vmcore != NULL) {
		snprintf(e_vmcore, sizeof(e_vmcore), "NETDUMP_VMCORE=%s",
		    vmcore);
		env[n++] = e_vmcore;
	}
	if (manifest != NULL) {
		snprintf(e_manifest, sizeof(e_manifest), "NETDUMP_MANIFEST=%s",
		    manifest);
		env[n++] = e_manifest;
	}
	if (msgbuf != NULL) {
		snprintf(e_msgbuf, sizeof(e_msgbuf), "NETDUMP_MSGBUF=%s",
		    msgbuf);
		env[n++] = e_msgbuf;
	}
	env[n] = NULL;
	{
		const char *args[] = { d->client_addr, dir, NULL };

		(void)nd_hook_run(sv, ND_HOOK_REBOOT, args, env);
	}
	if (sv->handler == NULL)
		return;
	/* netdumpd's reasons: success, timeout, error. */
	if (d->pub.status == NDS_STATUS_COMPLETE)
		reason = "success";
	else if (strstr(d->reason, "timeout") != NULL ||
	    strstr(d->reason, "silent") != NULL)
		reason = "timeout";
	else
		reason = "error";
	/* The host name comes from the client: keep it to safe bytes. */
	snprintf(host, sizeof(host), "%s", d->pub.kdh &&
	    d->kdh.hostname[0] ? d->kdh.hostname : d->client_addr);
	for (i = 0; host[i] != '\0'; i++)
		if (!((host[i] >= 'a' && host[i] <= 'z') ||
		    (host[i] >= 'A' && host[i] <= 'Z') ||
		    (host[i] >= '0' && host[i] <= '9') || host[i] == '.' ||
		    host[i] == '-' || host[i] == '_'))
			host[i] = '_';
	/* Nor an option to a handler that passes it on. */
	if (host[0] == '-')
		host[0] = '_';
	/* Nor "." or "..", which a handler's "/archive/$HOST" would climb. */
	if (host[strspn(host, ".")] == '\0')
		snprintf(host, sizeof(host), "%s", d->client_addr);
	{
		const char *args[] = { reason, d->client_addr, host,
		    info ? info : "", vmcore ? vmcore : "", NULL };

		(void)nd_hook_run(sv, ND_HOOK_HANDLER, args, env);
	}
}

void
nd_outcome_store(struct nd_dump *d)
{
	char *text = NULL;
	size_t i, len = 0;
	unsigned bounds;
	int n;

	judge(d);

	d->digest[NDS_OBJ_VMCORE].present = true;
	d->digest[NDS_OBJ_VMCORE].size = d->final_size;
	if (d->vmcore_digest_exact && d->delivered == d->final_size)
		nd_digest_hex(&d->vmcore_digest,
		    d->digest[NDS_OBJ_VMCORE].hex);
	/*
	 * A chain that failed keeps what it took, at its own length: the
	 * dump's would pad it with zeros it never received.
	 */
	for (i = 0; i < d->nchains; i++)
		nd_chain_close_vmcore(d, &d->chains[i], d->chains[i].failed ?
		    d->chains[i].stored_end : d->final_size);
	/* The last flush failed everywhere: what follows must say so. */
	nd_chain_demote_if_unstored(d);

	if (d->key_size > 0) {
		d->digest[NDS_OBJ_KEY].present = true;
		d->digest[NDS_OBJ_KEY].size = d->key_size;
		nd_digest_buf(d->vmcore_digest.alg, d->key, (size_t)d->key_size,
		    d->digest[NDS_OBJ_KEY].hex);
		store_key(d);
		/* No key anywhere: the vmcore cannot be read. */
		nd_chain_demote_if_unstored(d);
	}

	bounds = d->numbered ? d->number : ND_KDH_NO_BOUNDS;
	if (d->lx.is_linux)
		n = linux_info_text(d, &text);
	else if ((n = nd_kdh_info_text(NULL, 0, d->pub.kdh, d->client_addr,
	    bounds, d->pub.status == NDS_STATUS_COMPLETE, d->reason)) > 0 &&
	    (text = malloc((size_t)n + 1)) != NULL)
		nd_kdh_info_text(text, (size_t)n + 1, d->pub.kdh,
		    d->client_addr, bounds,
		    d->pub.status == NDS_STATUS_COMPLETE, d->reason);
	if (n > 0 && text != NULL) {
		d->digest[NDS_OBJ_INFO].present = true;
		d->digest[NDS_OBJ_INFO].size = (uint64_t)n;
		nd_digest_buf(d->vmcore_digest.alg, text, (size_t)n,
		    d->digest[NDS_OBJ_INFO].hex);
		store_object(d, NDS_OBJ_INFO, text, (size_t)n);
	}
	free(text);

	store_msgbuf(d);
	/* The manifest says what became of the rest. */
	nd_chain_demote_if_unstored(d);

	if ((text = nd_manifest_build(d, &len)) != NULL) {
		d->digest[NDS_OBJ_MANIFEST].present = true;
		d->digest[NDS_OBJ_MANIFEST].size = len;
		store_object(d, NDS_OBJ_MANIFEST, text, len);
		free(text);
	} else
		log_warnx("dump %" PRIu64 ": cannot build the manifest",
		    d->pub.id);

	/* Head first: a transform may still emit objects in its end. */
	for (i = 0; i < d->nchains; i++)
		nd_chain_end(d, &d->chains[i]);
	/* A transform's end (the tarball) may fail last of all. */
	nd_chain_demote_if_unstored(d);
	nd_metrics_dump_ended(d);
	log_outcome(d);
	nd_notify_dump_ended(d);
}
