/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/resource.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "conf.h"
#include "dump.h"
#include "hooks.h"
#include "log.h"
#include "outcome.h"
#include "runtime.h"
#include "sink_load.h"
#include "space.h"
#include "util.h"

atomic_uint nd_dumps_active;

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_cond = PTHREAD_COND_INITIALIZER;

/* Dumps in flight per client address, under all_lock: a few entries. */
struct client_count {
	uint32_t	addr;
	unsigned	n;
};
static struct client_count *client_counts;
static size_t nclient_counts, client_counts_cap;

/* Count a dump of addr in (+1) or out (-1); false when out of memory. */
static bool
client_count(uint32_t addr, int delta)
{
	size_t i;

	for (i = 0; i < nclient_counts; i++)
		if (client_counts[i].addr == addr)
			break;
	if (i == nclient_counts) {
		if (delta < 0)
			return true;
		if (nclient_counts == client_counts_cap) {
			size_t ncap = client_counts_cap ? client_counts_cap * 2 :
			    16;
			struct client_count *n = reallocarray(client_counts,
			    ncap, sizeof(*n));

			if (n == NULL)
				return false;
			client_counts = n;
			client_counts_cap = ncap;
		}
		client_counts[nclient_counts++] = (struct client_count){ addr, 0 };
	}
	if (delta > 0)
		client_counts[i].n++;
	else if (--client_counts[i].n == 0)
		client_counts[i] = client_counts[--nclient_counts];
	return true;
}

void
nd_dump_conflict(struct nd_dump *d, const char *what, uint64_t off)
{
	if (d->conflicts++ == 0) {
		d->conflict_what = what;
		d->conflict_off = off;
	}
}

unsigned
nd_dumps_of_client(uint32_t addr)
{
	unsigned n = 0;
	size_t i;

	pthread_mutex_lock(&all_lock);
	for (i = 0; i < nclient_counts; i++)
		if (client_counts[i].addr == addr)
			n = client_counts[i].n;
	pthread_mutex_unlock(&all_lock);
	return n;
}

/* Zeros to hash for holes, and to compare pages against. */
static const uint8_t zeros[64 * 1024];

#define SPACE_CHECK_EVERY	(64u << 20)	/* bytes between statvfs calls */
#define SPACE_CHECK_HOOK	(8u << 20)	/* ... while netdump-nospace runs */
#define SPACE_CHECK_MIN		(1u << 20)	/* ... however close the floor */

static void *dump_worker(void *);

static void
dump_free(struct nd_dump *d)
{
	size_t i, k;

	if (d == NULL)
		return;
	nd_hook_kill(&d->nospace, "still ran when its dump was freed");
	for (i = 0; i < ND_POOL_BLOCKS; i++)
		free(d->pool[i]);
	for (i = 0; i < d->ring_count; i++) {
		struct nd_work *w = &d->ring[(d->ring_head + i) % ND_RING_SIZE];

		if (w->kind == ND_WORK_BLOCK || w->kind == ND_WORK_LATE)
			free(w->buf);
	}
	for (i = 0; d->chains != NULL && i < d->nchains; i++) {
		for (k = 0; k < NDS_OBJ_NKINDS; k++)
			free(d->chains[i].where[k]);
		free(d->chains[i].st);
	}
	free(d->chains);
	nd_cov_free(&d->cov);
	nd_cov_free(&d->kdh_cov);
	nd_cov_free(&d->key_cov);
	free(d->key);
	free(atomic_load(&d->key_early));
	nd_msgbuf_free(&d->msgbuf);
	free(d->path);
	free(d->route);
	nd_digest_free(&d->vmcore_digest);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

struct nd_dump *
nd_dump_start(const struct nd_dump_params *p)
{
	struct nd_dump *d;
	pthread_attr_t attr;
	pthread_t tid;
	size_t i;
	int error;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto nomem;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	nd_cov_init(&d->cov);
	nd_cov_init(&d->kdh_cov);
	nd_cov_init(&d->key_cov);
	if ((d->path = strdup(p->path)) == NULL ||
	    (d->route = strdup(p->route)) == NULL ||
	    (d->chains = calloc(p->nchains, sizeof(*d->chains))) == NULL)
		goto nomem;
	for (i = 0; i < ND_POOL_BLOCKS; i++)
		if ((d->pool[i] = malloc(ND_BLOCK_SIZE)) == NULL)
			goto nomem;
	d->pool_free = ND_POOL_BLOCKS;
	if (nd_digest_init(&d->vmcore_digest, (enum nd_digest_alg)
	    p->rt->conf->server.digest) == -1)
		goto nomem;
	d->vmcore_digest_exact = true;
	d->nchains = p->nchains;
	for (i = 0; i < p->nchains; i++) {
		struct nd_dump_chain *dc = &d->chains[i];
		size_t k;

		dc->chain = p->chains[i];
		dc->nst = p->chains[i]->nstages;
		if ((dc->st = calloc(dc->nst, sizeof(*dc->st))) == NULL)
			goto nomem;
		for (k = 0; k < dc->nst; k++)
			dc->st[k].sink = p->chains[i]->stages[k];
	}
	inet_ntop(AF_INET, &p->client->sin_addr, d->client_addr,
	    sizeof(d->client_addr));
	d->rt = p->rt;
	d->wake_fd = p->wake_fd;
	d->server = &p->rt->conf->server;
	d->next_space_check = 0;	/* at the first bytes */
	d->pub.magic = NDS_DUMP_MAGIC;
	d->pub.struct_size = sizeof(d->pub);
	d->pub.id = p->id;
	d->pub.client_addr = d->client_addr;
	d->pub.client_port = ntohs(p->client->sin_port);
	d->pub.client_name = d->client_addr;	/* an address is a safe name */
	d->pub.path = d->path;
	d->pub.dumpdir = p->dumpdir;
	d->pub.dumpdir_fd = p->dumpdir_fd;
	d->pub.status = NDS_STATUS_RECEIVING;
	d->pub.reason = "";
	d->pub.vmcore_suffix = "";
	d->pub.protocol = p->linux_dump ? NDS_PROTO_LINUX : NDS_PROTO_FREEBSD;
	d->lx.is_linux = p->linux_dump;
	if (p->boot_dir != NULL && strlen(p->boot_dir) < sizeof(d->boot_dir)) {
		memcpy(d->boot_dir, p->boot_dir, strlen(p->boot_dir) + 1);
		d->pub.boot_dir = d->boot_dir;
	}
	clock_gettime(CLOCK_REALTIME, &d->pub.start);
	clock_gettime(CLOCK_MONOTONIC, &d->start_mono);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	d->client_ip = p->client->sin_addr.s_addr;
	pthread_mutex_lock(&all_lock);
	error = client_count(d->client_ip, +1) ? 0 : ENOMEM;
	pthread_mutex_unlock(&all_lock);
	if (error != 0) {
		pthread_attr_destroy(&attr);
		goto nomem;
	}
	nd_runtime_ref(d->rt);
	atomic_fetch_add(&nd_dumps_active, 1);
	error = pthread_create(&tid, &attr, dump_worker, d);
	pthread_attr_destroy(&attr);
	if (error != 0) {
		pthread_mutex_lock(&all_lock);
		(void)client_count(d->client_ip, -1);
		pthread_mutex_unlock(&all_lock);
		atomic_fetch_sub(&nd_dumps_active, 1);
		nd_runtime_unref(d->rt);
		errno = error;
		log_warn("dump %" PRIu64 ": cannot start a worker thread",
		    p->id);
		dump_free(d);
		return NULL;
	}
	return d;
nomem:
	log_warnx("dump %" PRIu64 ": out of memory", p->id);
	dump_free(d);
	return NULL;
}

uint8_t *
nd_dump_get_block(struct nd_dump *d)
{
	uint8_t *buf = NULL;

	pthread_mutex_lock(&d->lock);
	if (d->pool_free > 0)
		buf = d->pool[--d->pool_free];
	pthread_mutex_unlock(&d->lock);
	return buf;
}

static void
put_block_locked(struct nd_dump *d, uint8_t *buf)
{
	d->pool[d->pool_free++] = buf;
}

void
nd_dump_put_block(struct nd_dump *d, uint8_t *buf)
{
	pthread_mutex_lock(&d->lock);
	put_block_locked(d, buf);
	pthread_mutex_unlock(&d->lock);
}

bool
nd_dump_pool_empty(struct nd_dump *d)
{
	bool empty;

	pthread_mutex_lock(&d->lock);
	empty = d->pool_free == 0;
	/* Under the lock, so a buffer freed just now is not missed. */
	if (empty)
		atomic_store(&d->paused, true);
	pthread_mutex_unlock(&d->lock);
	return empty;
}

int
nd_dump_late_ok(struct nd_dump *d)
{
	int ok;

	pthread_mutex_lock(&d->lock);
	ok = d->late_inflight < ND_LATE_MAX;
	pthread_mutex_unlock(&d->lock);
	return ok;
}

int
nd_dump_post(struct nd_dump *d, const struct nd_work *w)
{
	struct nd_work *tail;

	pthread_mutex_lock(&d->lock);
	/* Adjacent holes merge, so skipping a huge range costs one item. */
	if (w->kind == ND_WORK_HOLE && d->ring_count > 0) {
		tail = &d->ring[(d->ring_head + d->ring_count - 1) %
		    ND_RING_SIZE];
		if (tail->kind == ND_WORK_HOLE &&
		    tail->off + tail->len == w->off) {
			tail->len += w->len;
			goto out;
		}
	}
	/* Keep the last slot for END. */
	if (d->ring_count >= ND_RING_SIZE - (w->kind == ND_WORK_END ? 0 : 1)) {
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	d->ring[(d->ring_head + d->ring_count) % ND_RING_SIZE] = *w;
	d->ring_count++;
	if (w->kind == ND_WORK_LATE)
		d->late_inflight++;
	if (w->kind == ND_WORK_BLOCK || w->kind == ND_WORK_LATE)
		d->queued_bytes += w->len;
	pthread_cond_signal(&d->cond);
out:
	pthread_mutex_unlock(&d->lock);
	return 0;
}

const struct nds_kdh *
nd_dump_read_kdh(struct nd_dump *d)
{
	d->kdh_present = d->kdh_cov.total > 0;
	if (d->kdh_present)
		d->kdh_result = nd_kdh_parse(d->kdh_raw,
		    (size_t)nd_cov_end(&d->kdh_cov), &d->kdh);
	return d->kdh_present && d->kdh_result == ND_KDH_OK ? &d->kdh : NULL;
}

void
nd_dump_finish(struct nd_dump *d)
{
	struct nd_work w = { .kind = ND_WORK_END };

	if (nd_dump_post(d, &w) == -1)
		log_warnx("dump %" PRIu64 ": work queue overflow at end "
		    "(bug)", d->pub.id);
}

void
nd_dump_wait_all(void)
{
	pthread_mutex_lock(&all_lock);
	while (atomic_load(&nd_dumps_active) > 0)
		pthread_cond_wait(&all_cond, &all_lock);
	pthread_mutex_unlock(&all_lock);
}

static void
digest_update(struct nd_dump *d, const void *buf, size_t len)
{
	if (d->vmcore_digest_exact &&
	    !nd_digest_update(&d->vmcore_digest, buf, len))
		d->vmcore_digest_exact = false;
}

static void
flush_hole(struct nd_dump *d)
{
	uint64_t left = d->hole_len;
	size_t i;

	if (d->hole_len == 0)
		return;
	for (i = 0; i < d->nchains; i++)
		nd_chain_hole(d, &d->chains[i], d->hole_start, d->hole_len);
	while (left > 0) {
		size_t n = left > sizeof(zeros) ? sizeof(zeros) : (size_t)left;

		digest_update(d, zeros, n);
		left -= n;
	}
	d->hole_bytes += d->hole_len;
	d->hole_len = 0;
}

/* Stop storing: what is stored stays, labelled incomplete. */
static void
space_give_up(struct nd_dump *d, const char *why)
{
	log_warnx("dump %" PRIu64 " from %s: giving up at %" PRIu64 " bytes: "
	    "%s", d->pub.id, d->client_addr, d->delivered, why);
	d->space_stop = true;
	d->stop_at = d->delivered;
	atomic_store(&d->abandoned, true);
}

/* Start netdump-nospace beside the dump; 1 when it runs. */
static int
nospace_begin(struct nd_dump *d)
{
	char dir[PATH_MAX + 8], e_client[48], e_dir[PATH_MAX + 24];
	char e_path[ND_MAX_HERALD_PATH + 16];
	const char *args[] = { d->client_addr, dir, NULL };
	const char *env[] = { e_client, e_dir, e_path, NULL };

	snprintf(dir, sizeof(dir), "%s/%s", d->server->dumpdir, d->path);
	snprintf(e_client, sizeof(e_client), "NETDUMP_CLIENT=%s",
	    d->client_addr);
	snprintf(e_dir, sizeof(e_dir), "NETDUMP_DIR=%s", dir);
	snprintf(e_path, sizeof(e_path), "NETDUMP_PATH=%s", d->path);
	clock_gettime(CLOCK_MONOTONIC, &d->nospace_started);
	return nd_hook_start_worker(d->server, ND_HOOK_NOSPACE, args, env,
	    &d->nospace);
}

/*
 * netdump-nospace's answer, waiting at most wait_ms: ND_HOOK_RUNNING, or
 * its status (-1 when it died or ran past hook_timeout and was killed).
 */
static int
nospace_answer(struct nd_dump *d, int wait_ms)
{
	struct timespec now;
	double left;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (double)d->server->hook_timeout -
	    ts_diff(&now, &d->nospace_started);
	if (left < 0)
		left = 0;
	if (wait_ms > left * 1000)
		wait_ms = (int)(left * 1000) + 1;
	r = nd_hook_wait(&d->nospace, wait_ms);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (r == ND_HOOK_RUNNING && ts_diff(&now, &d->nospace_started) >=
	    (double)d->server->hook_timeout) {
		nd_hook_kill(&d->nospace, "ran past hook_timeout");
		r = -1;
	}
	return r;
}

/*
 * Keep the free-space floor while writing. Below it netdump-nospace runs,
 * once per dump, beside the dump: were the worker to wait for it, its
 * queue would fill, acks would stop, and the kernel would give up within
 * about 12 s. While it runs, the dump goes on into the first half of the
 * reserve. Non-zero and room again: the dump goes on. Zero, no hook, still
 * too little, half the reserve gone or past hook_timeout: the dump is
 * given up (what is stored stays, labelled).
 */
static void
check_space(struct nd_dump *d)
{
	const char *floor;
	uint64_t avail, need, half;
	bool ok, hook = d->nospace.pid > 0;
	int r = 0;

	if (d->space_stop || d->delivered < d->next_space_check)
		return;
	d->next_space_check = d->delivered + (hook ? SPACE_CHECK_HOOK :
	    SPACE_CHECK_EVERY);
	/* The hook's answer first, then the space it may have made. */
	if (hook)
		r = nospace_answer(d, 0);
	ok = nd_space_ok(d->server, &avail, &need, &floor);
	if (hook) {
		if (r == ND_HOOK_RUNNING) {
			if (avail >= need / 2)
				return;
			space_give_up(d, "half of the min_free reserve is gone "
			    "and netdump-nospace still runs");
		} else if (r > 0 && ok)
			log_info("dump %" PRIu64 ": netdump-nospace made room "
			    "(%" PRIu64 " bytes free)", d->pub.id, avail);
		else
			space_give_up(d, r == 0 ? "netdump-nospace gave the "
			    "dump up" : "the dump directory is below min_free");
		return;
	}
	if (ok) {
		/*
		 * Next when half the room above the floor may be gone: a
		 * small disk is not filled past min_free between two looks.
		 */
		half = (avail - need) / 2;
		if (need > 0 && half < SPACE_CHECK_EVERY)
			d->next_space_check = d->delivered +
			    (half > SPACE_CHECK_MIN ? half : SPACE_CHECK_MIN);
		return;
	}
	log_warnx("dump %" PRIu64 ": %" PRIu64 " bytes free, below %s (%"
	    PRIu64 ")", d->pub.id, avail, floor, need);
	if (d->nospace_asked) {
		space_give_up(d, "the dump directory is below min_free");
		return;
	}
	d->nospace_asked = true;
	if (nospace_begin(d) != 1)
		space_give_up(d, "the dump directory is below min_free");
	else
		d->next_space_check = d->delivered + SPACE_CHECK_HOOK;
}

static void
stream_hole(struct nd_dump *d, uint64_t off, uint64_t len)
{
	nd_msgbuf_feed(&d->msgbuf, off, NULL, len);
	/* A running netdump-nospace is watched through zeros too. */
	if (d->nospace.pid > 0)
		check_space(d);
	if (d->space_stop)
		return;
	if (d->hole_len == 0)
		d->hole_start = off;
	d->hole_len += len;
	d->delivered = off + len;
}

static void
stream_data(struct nd_dump *d, uint64_t off, const uint8_t *buf, size_t len)
{
	size_t i;

	/* The key came before these bytes: ciphertext, said before judge(). */
	if (!d->pub.encrypted && atomic_load(&d->key_seen))
		d->pub.encrypted = true;
	if (d->pub.encrypted && !d->key_early_tried)
		nd_outcome_key_early(d);
	nd_msgbuf_feed(&d->msgbuf, off, buf, len);
	check_space(d);
	if (d->space_stop)
		return;
	flush_hole(d);
	for (i = 0; i < d->nchains; i++)
		nd_chain_write(d, &d->chains[i], off, buf, len);
	digest_update(d, buf, len);
	d->data_bytes += len;
	d->delivered = off + len;
}

static bool
page_is_zero(const uint8_t *p, size_t len)
{
	return len > 0 && p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/*
 * Split a block into runs of data and all-zero pages: data goes out as one
 * write per run, zero pages become holes (sparse files, cheap compression).
 */
static void
stream_block(struct nd_dump *d, uint64_t off, const uint8_t *buf,
    uint64_t len)
{
	uint64_t pos = 0, run_start = 0;
	bool run_zero = false, first = true;

	while (pos < len) {
		size_t n = len - pos > ND_PAGE ? ND_PAGE : (size_t)(len - pos);
		bool z = page_is_zero(buf + pos, n);

		if (first) {
			run_zero = z;
			first = false;
		} else if (z != run_zero) {
			if (run_zero)
				stream_hole(d, off + run_start, pos - run_start);
			else
				stream_data(d, off + run_start, buf + run_start,
				    (size_t)(pos - run_start));
			run_start = pos;
			run_zero = z;
		}
		pos += n;
	}
	if (!first) {
		if (run_zero)
			stream_hole(d, off + run_start, pos - run_start);
		else
			stream_data(d, off + run_start, buf + run_start,
			    (size_t)(pos - run_start));
	}
}

/* Bytes that arrived behind the stream: only random-write sinks can. */
static void
stream_late(struct nd_dump *d, uint64_t off, const uint8_t *buf, size_t len,
    bool patch)
{
	size_t i;

	if (d->space_stop)
		return;
	/*
	 * A hole held back (stream_hole) may lie under these bytes: it goes
	 * first, or it would punch them out when it goes.
	 */
	flush_hole(d);
	for (i = 0; i < d->nchains; i++)
		nd_chain_late(d, &d->chains[i], off, buf, len, patch);
	/* The stream hash no longer describes the object. */
	d->vmcore_digest_exact = false;
}

static void
begin_sinks(struct nd_dump *d)
{
	size_t i;

	for (i = 0; i < d->nchains; i++)
		nd_chain_begin(d, &d->chains[i]);
}

void
nd_dump_number(const struct nds_dump *pub, unsigned number)
{
	struct nd_dump *d = (struct nd_dump *)((char *)pub -
	    offsetof(struct nd_dump, pub));

	/* From a sink's begin, on this dump's worker: no lock needed. */
	if (!d->numbered) {
		d->number = number;
		d->numbered = true;
	}
}

/* Take the next work item; blocks until there is one. */
static struct nd_work
next_work(struct nd_dump *d)
{
	struct nd_work w;

	pthread_mutex_lock(&d->lock);
	while (d->ring_count == 0)
		pthread_cond_wait(&d->cond, &d->lock);
	w = d->ring[d->ring_head];
	d->ring_head = (d->ring_head + 1) % ND_RING_SIZE;
	d->ring_count--;
	pthread_mutex_unlock(&d->lock);
	return w;
}

static void
work_done(struct nd_dump *d, const struct nd_work *w)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->lock);
	if (w->kind == ND_WORK_BLOCK) {
		put_block_locked(d, w->buf);
		/* The receiver waits for a buffer: wake it. */
		if (atomic_exchange(&d->paused, false) &&
		    write(d->wake_fd, &one, sizeof(one)) == -1)
			log_debug("dump %" PRIu64 ": wake: %s", d->pub.id,
			    strerror(errno));
	}
	if (w->kind == ND_WORK_LATE)
		d->late_inflight--;
	if (w->kind == ND_WORK_BLOCK || w->kind == ND_WORK_LATE)
		d->queued_bytes -= w->len;
	pthread_mutex_unlock(&d->lock);
	if (w->kind == ND_WORK_LATE)
		free(w->buf);
}

static void
finalize(struct nd_dump *d)
{
	flush_hole(d);
	clock_gettime(CLOCK_REALTIME, &d->end_real);
	clock_gettime(CLOCK_MONOTONIC, &d->end_mono);
	/* Below min_free nothing more was stored; say what was. */
	if (d->space_stop && d->final_size > d->stop_at)
		d->final_size = d->stop_at;
	nd_outcome_store(d);
	/* The client is gone: netdump-nospace may finish, to hook_timeout. */
	if (d->nospace.pid > 0 &&
	    nospace_answer(d, (int)d->server->hook_timeout * 1000) ==
	    ND_HOOK_RUNNING)
		nd_hook_kill(&d->nospace, "ran past hook_timeout");
	nd_outcome_hooks(d);
}

/*
 * The receive path acks every datagram, so its latency paces every client;
 * a worker hashes and writes whole blocks behind it, the dump's pool of
 * buffers between them. Where busy threads outnumber cores (8 dumps on 2
 * cores), a worker that wakes would take a core from the receive thread:
 * it runs worker_nice levels lower instead (Linux keeps a nice value per
 * thread). A worker a whole pool behind holds the acks until it frees a
 * buffer, so a dump waits rather than losing data, as long as its client
 * keeps retransmitting. Raising nice needs no privilege; the threads and
 * programs the worker starts inherit it.
 */
static void
worker_priority(const struct nd_dump *d)
{
	id_t tid = (id_t)gettid();
	int now, want;

	if (d->server->worker_nice <= 0)
		return;
	errno = 0;
	now = getpriority(PRIO_PROCESS, tid);
	if (now == -1 && errno != 0)
		now = 0;
	want = now + (int)d->server->worker_nice;
	if (want > 19)
		want = 19;
	if (want > now && setpriority(PRIO_PROCESS, tid, want) == -1)
		log_debug("dump %" PRIu64 ": worker priority: %s", d->pub.id,
		    strerror(errno));
}

static void *
dump_worker(void *arg)
{
	struct nd_dump *d = arg;
	struct nd_runtime *rt;
	struct nd_work w;
	uint32_t client_ip;

	worker_priority(d);	/* before the name, which tests look for */
	nd_thread_name("nd-dump %" PRIu64, d->pub.id);
	begin_sinks(d);
	for (;;) {
		w = next_work(d);
		/*
		 * The digest describes the vmcore only when every byte of it
		 * arrived, in order: bytes that never came are not hashed
		 * (nor does a sender's claimed offset cost hashing).
		 */
		if (w.kind == ND_WORK_HOLE || w.gaps)
			d->vmcore_digest_exact = false;
		switch (w.kind) {
		case ND_WORK_BLOCK:
			stream_block(d, w.off, w.buf, w.len);
			break;
		case ND_WORK_HOLE:
			stream_hole(d, w.off, w.len);
			break;
		case ND_WORK_LATE:
			stream_late(d, w.off, w.buf, (size_t)w.len, w.patch);
			break;
		case ND_WORK_END:
			goto done;
		}
		work_done(d, &w);
	}
done:
	finalize(d);
	rt = d->rt;
	client_ip = d->client_ip;
	dump_free(d);
	nd_runtime_unref(rt);
	pthread_mutex_lock(&all_lock);
	(void)client_count(client_ip, -1);
	atomic_fetch_sub(&nd_dumps_active, 1);
	pthread_cond_broadcast(&all_cond);
	pthread_mutex_unlock(&all_lock);
	return NULL;
}
