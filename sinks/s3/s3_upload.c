/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: an object's bytes on their way (s3.c tells the design): into
 * the spool or memory parts, out as parts on the host's work pool, whose
 * first part creates the multipart upload; at close, the rest and what
 * changed, the completion, and a copy when the first key was wrong.
 */
#include <stdarg.h>

#include "sinkutil.h"
#include "s3.h"

#define FREE_CHECK	(64ULL << 20)	/* bytes between free-space checks */
#define MEM_FIRST	(64u * 1024)	/* first size of a memory part */

/* A part on its way to the store, as the host's pool runs it. */
struct s3_job {
	struct s3_obj	*o;
	uint32_t	 n;
	uint64_t	 off, len;
	unsigned char	*buf;	/* memory part, the job's own; NULL: spool */
	bool		 zero;	/* nothing but zeros */
};

/*
 * Remember whether the store answers. The first failure is logged with
 * its reason (it names bucket and endpoint and says what to check); while
 * it lasts, new dumps only spool. The first success after it says so and
 * makes every pending dump due at once (the host's outbox).
 */
void
s3_health(struct s3_sink *s, enum s3_status st, const char *err)
{
	if (st == S3_OK) {
		if (atomic_exchange(&s->down, false)) {
			s->host->log(s->ctx, NDS_LOG_NOTICE, "s3://%s at %s "
			    "answers again", s->conf.bucket, s->conf.endpoint);
			s->host->outbox_kick(s->ctx);
		}
		return;
	}
	if (st != S3_AGAIN && st != S3_DENIED)
		return;
	if (!atomic_exchange(&s->down, true))
		s->host->log(s->ctx, NDS_LOG_ERR, "%s; dumps are kept in the "
		    "spool until the store takes them", err);
}

/* -------------------------------------------------------- upload pool */

/* An upload thread's connection, made when the host starts the thread. */
int
s3_thread_init(void *instance, void **client)
{
	struct s3_sink *s = instance;
	struct s3_client *cl;

	if ((cl = malloc(sizeof(*cl))) == NULL)
		return -1;
	if (s3_client_init(cl, &s->conf, NULL, NULL) == -1) {
		free(cl);
		return -1;
	}
	*client = cl;
	return 0;
}

void
s3_thread_fini(void *instance, void *client)
{
	(void)instance;
	s3_client_fini(client);
	free(client);
}

static void	run_job(void *, void *);

static int
parts_reserve(struct s3_obj *o, uint32_t n)
{
	struct s3_part *np;
	uint32_t cap;

	if (n <= o->partcap)
		return 0;
	cap = o->partcap == 0 ? 64 : o->partcap;
	while (cap < n)
		cap *= 2;
	if (cap > S3_MAX_PARTS)
		cap = S3_MAX_PARTS;
	if ((np = reallocarray(o->parts, cap, sizeof(*np))) == NULL)
		return -1;
	memset(np + o->partcap, 0, (cap - o->partcap) * sizeof(*np));
	o->parts = np;
	o->partcap = cap;
	return 0;
}

static void
up_fail_locked(struct s3_obj *o, const char *err)
{
	if (o->up_failed)
		return;
	o->up_failed = true;
	snprintf(o->up_err, sizeof(o->up_err), "%s", err);
}

/*
 * Hand part n, [off, off + len), to the upload threads; with o->lock
 * held. buf (a memory part) becomes the job's.
 */
static int
submit_locked(struct s3_obj *o, uint32_t n, uint64_t off, uint64_t len,
    unsigned char *buf, bool zero)
{
	struct s3_job *j;

	if (parts_reserve(o, n) == -1 || (j = calloc(1, sizeof(*j))) == NULL) {
		free(buf);
		up_fail_locked(o, "out of memory");
		return -1;
	}
	j->o = o;
	j->n = n;
	j->off = off;
	j->len = len;
	j->buf = buf;
	j->zero = zero;
	if (o->d->s->host->pool_submit(o->d->s->pool, run_job, j) == -1) {
		free(buf);
		free(j);
		up_fail_locked(o, "no upload thread runs");
		return -1;
	}
	o->parts[n - 1].dirty = false;
	o->parts[n - 1].done = false;
	if (n > o->nsub)
		o->nsub = n;
	o->inflight++;
	return 0;
}

/*
 * Send the parts that are ready and can be read back from the spool, as
 * long as there is room; with o->lock held. Called by the dump's thread
 * and by the upload threads when a part is done, so the spool drains
 * while the dump waits for its end.
 */
static void
pump_locked(struct s3_obj *o)
{
	const struct s3_sink *s = o->d->s;
	uint64_t start, end;
	uint32_t n;

	while (o->stream && !o->up_failed && o->inflight < s->max_inflight &&
	    o->nsub < S3_MAX_PARTS) {
		n = o->nsub + 1;
		start = s3_part_start(s->conf.part_size, n);
		end = start + s3_part_len(s->conf.part_size, n);
		if (o->final) {
			if (start >= o->size)
				break;
			if (end > o->size)
				end = o->size;
		} else if (o->pos < end)
			break;
		/* The part is not in the spool: the memory path sends it. */
		if (o->fd == -1 || o->spool_end < end)
			break;
		if (submit_locked(o, n, start, end - start, NULL,
		    false) == -1)
			break;
	}
}

/*
 * An upload thread sends a part (the host's pool calls it, with the
 * thread's connection): the first part of an object creates its upload.
 */
static void
run_job(void *job, void *client)
{
	struct s3_job *j = job;
	struct s3_client *cl = client;
	struct s3_obj *o = j->o;
	struct s3_sink *s = o->d->s;
	/* A memory part, zeros (no buf, no fd) or a range of the spool. */
	struct s3_src src = { .buf = j->buf, .fd = j->buf == NULL &&
	    !j->zero ? o->fd : -1, .off = j->off, .len = j->len };
	char uid[S3_UPLOADID_MAX], etag[S3_ETAG_MAX];
	enum s3_status st = S3_OK;
	const char *id = NULL;
	bool skip, created = false;

	pthread_mutex_lock(&o->lock);
	/* A thread without a curl handle fails the part, not itself. */
	if (cl == NULL)
		up_fail_locked(o, "cannot create a curl handle");
	/* The first part to go creates the upload; the others wait for it. */
	while (o->upload_id == NULL && !o->up_failed && o->creating)
		pthread_cond_wait(&o->cond, &o->lock);
	if (o->upload_id == NULL && !o->up_failed) {
		o->creating = true;
		pthread_mutex_unlock(&o->lock);
		st = s3_mpu_create(cl, o->key, uid, sizeof(uid));
		s3_health(s, st, cl->err);
		created = st == S3_OK;
		pthread_mutex_lock(&o->lock);
		o->creating = false;
		if (st == S3_OK && (o->upload_id = strdup(uid)) == NULL) {
			/* Nobody would abort it: try here, once. */
			(void)s3_mpu_abort(cl, o->key, uid);
			st = S3_LOCAL;
			snprintf(cl->err, sizeof(cl->err), "out of memory");
		}
		if (st != S3_OK)
			up_fail_locked(o, cl->err);
		pthread_cond_broadcast(&o->cond);
	}
	skip = o->up_failed;
	id = o->upload_id;
	pthread_mutex_unlock(&o->lock);
	/* Created here: named in the record while o arrives. */
	if (created && !skip)
		s3_arriving_upload(o, uid);

	if (!skip)
		st = s3_mpu_part(cl, o->key, id, j->n, &src, etag);

	pthread_mutex_lock(&o->lock);
	if (!skip) {
		if (st == S3_OK) {
			snprintf(o->parts[j->n - 1].etag, S3_ETAG_MAX, "%s",
			    etag);
			o->parts[j->n - 1].len = j->len;
			o->parts[j->n - 1].done = true;
		} else
			up_fail_locked(o, cl->err);
	}
	o->inflight--;
	pump_locked(o);
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	if (!skip)
		s3_health(s, st, cl->err);
	free(j->buf);
	free(j);
}

/* ---------------------------------------------------- an object's bytes */

/* Grow the memory part to hold need bytes; the new room reads as zeros. */
int
s3_cur_reserve(struct s3_obj *o, uint64_t need)
{
	unsigned char *nb;
	size_t cap;

	if (need <= o->curcap)
		return 0;
	/* A part of GiBs on a 32-bit system: no size_t holds its double. */
	if (need > SIZE_MAX / 2) {
		errno = ENOMEM;
		return -1;
	}
	cap = o->curcap == 0 ? MEM_FIRST : o->curcap;
	while (cap < need)
		cap *= 2;
	if ((nb = realloc(o->cur, cap)) == NULL)
		return -1;
	memset(nb + o->curcap, 0, cap - o->curcap);
	o->cur = nb;
	o->curcap = cap;
	return 0;
}

/*
 * Stop spooling the object at the stream's position: what is in the
 * spool stays readable, the rest is kept in memory parts (and the
 * object now streams, whether the store looked down or not).
 */
int
s3_spool_stop(struct s3_obj *o, const char *why)
{
	struct s3_sink *s = o->d->s;
	uint64_t start, have;
	uint32_t n;
	ssize_t got;
	size_t done = 0;

	if (!o->d->warned) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 " from "
		    "%s: %s: spooling stopped (%s); the rest goes straight to "
		    "the store", o->d->dump->id, o->d->dump->client_addr,
		    nds_object_name(o->kind), why);
		o->d->warned = true;
	}
	pthread_mutex_lock(&o->lock);
	o->spool_end = o->pos;
	o->stream = true;
	pthread_mutex_unlock(&o->lock);
	/* The part being filled: its spooled start goes into memory. */
	if ((n = s3_part_at(s->conf.part_size, o->pos)) == 0)
		return -1;
	start = s3_part_start(s->conf.part_size, n);
	have = o->pos - start;
	o->curn = n;
	if (s3_cur_reserve(o, have) == -1)
		return -1;
	while (done < have) {
		got = pread(o->fd, o->cur + done, (size_t)have - done,
		    (off_t)(start + done));
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			return -1;
		if (got == 0)
			break;	/* a hole at the end: zeros already */
		done += (size_t)got;
	}
	return 0;
}

void
s3_obj_fail(struct s3_obj *o, char *err, const char *fmt, ...)
{
	va_list ap;

	if (!o->failed) {
		va_start(ap, fmt);
		vsnprintf(o->err, sizeof(o->err), fmt, ap);
		va_end(ap);
		o->failed = true;
	}
	if (err != NULL)
		memcpy(err, o->err, NDS_ERRBUF_SIZE);
}

/*
 * Send the memory part being filled, [start, start + len), once it is its
 * turn and there is room: the only place the dump's thread waits, and
 * only when nothing is spooled.
 */
static int
submit_cur(struct s3_obj *o, uint64_t len)
{
	const struct s3_sink *s = o->d->s;
	uint64_t start = s3_part_start(s->conf.part_size, o->curn);
	int r = -1;

	if (s3_cur_reserve(o, len) == -1) {
		pthread_mutex_lock(&o->lock);
		up_fail_locked(o, "out of memory");
		pthread_mutex_unlock(&o->lock);
		return -1;
	}
	pthread_mutex_lock(&o->lock);
	for (;;) {
		pump_locked(o);
		if (o->up_failed)
			break;
		if (o->nsub + 1 == o->curn && o->inflight < s->max_inflight) {
			r = submit_locked(o, o->curn, start, len, o->cur,
			    false);
			o->cur = NULL;
			o->curcap = 0;
			break;
		}
		pthread_cond_wait(&o->cond, &o->lock);
	}
	pthread_mutex_unlock(&o->lock);
	return r;
}

/* In-order bytes (buf NULL: zeros) into memory parts. */
static int
mem_put(struct s3_obj *o, uint64_t off, const unsigned char *buf,
    uint64_t len)
{
	const uint64_t base = o->d->s->conf.part_size;
	uint64_t start, plen, chunk;
	uint32_t n;

	while (len > 0) {
		if ((n = s3_part_at(base, off)) == 0)
			return -1;
		if (o->curn != n) {
			/* Moving on: the part before went out when full. */
			free(o->cur);
			o->cur = NULL;
			o->curcap = 0;
			o->curn = n;
		}
		start = s3_part_start(base, n);
		plen = s3_part_len(base, n);
		chunk = start + plen - off;
		if (chunk > len)
			chunk = len;
		if (s3_cur_reserve(o, off - start + chunk) == -1)
			return -1;
		if (buf != NULL) {
			memcpy(o->cur + (off - start), buf, (size_t)chunk);
			buf += chunk;
		} else
			memset(o->cur + (off - start), 0, (size_t)chunk);
		off += chunk;
		len -= chunk;
		if (off == start + plen) {
			pthread_mutex_lock(&o->lock);
			o->pos = off;
			pthread_mutex_unlock(&o->lock);
			if (submit_cur(o, plen) == -1)
				return -1;
			o->curn = n + 1;
		}
	}
	return 0;
}

/* In-order bytes at o->pos (buf NULL: a hole). */
static int
stream_put(struct s3_obj *o, uint64_t off, const unsigned char *buf,
    uint64_t len, char *err)
{
	struct s3_sink *s = o->d->s;
	char ebuf[128], why[NDS_ERRBUF_SIZE], what[NDS_ERRBUF_SIZE + 32];

	if (s3_spooling(o) && off >= o->next_check) {
		o->next_check = off + FREE_CHECK;
		if (!s->host->space_ok(o->d->dump, o->fd,
		    (uint64_t)s->cfg->spool_min_free, why)) {
			snprintf(what, sizeof(what), "no room for the spool: "
			    "%s", why);
			if (s3_spool_stop(o, what) == -1)
				goto memfail;
		}
	}
	if (s3_spooling(o) && buf != NULL &&
	    sink_pwrite_all(o->fd, buf, (size_t)len, off, NULL) == -1) {
		int e = errno;

		/* ENOSPC and friends: keep going from memory. */
		if (s3_spool_stop(o, sink_errstr(e, ebuf, sizeof(ebuf))) == -1)
			goto memfail;
	}
	if (!s3_spooling(o) && mem_put(o, off, buf, len) == -1) {
		pthread_mutex_lock(&o->lock);
		if (o->up_failed) {
			pthread_mutex_unlock(&o->lock);
			s3_obj_fail(o, err, "%s", o->up_err);
			return -1;
		}
		pthread_mutex_unlock(&o->lock);
		goto memfail;
	}
	pthread_mutex_lock(&o->lock);
	if (off + len > o->pos)
		o->pos = off + len;
	pump_locked(o);
	pthread_mutex_unlock(&o->lock);
	return 0;
memfail:
	s3_obj_fail(o, err, "%s: out of memory, or %" PRIu64 " bytes do not "
	    "fit in %u parts", nds_object_name(o->kind), off + len,
	    S3_MAX_PARTS);
	return -1;
}

/*
 * Bytes behind the stream (buf NULL: zeros). The spool takes them and a
 * part already sent is marked to go again; without a spool, only the part
 * still being filled can take them.
 */
static int
late_put(struct s3_obj *o, uint64_t off, const unsigned char *buf,
    uint64_t len, char *err)
{
	const uint64_t base = o->d->s->conf.part_size;
	uint64_t end = off + len, spool_end;
	uint32_t first, last, i;
	char ebuf[128];

	pthread_mutex_lock(&o->lock);
	spool_end = o->spool_end;
	pthread_mutex_unlock(&o->lock);
	if (o->fd != -1 && off < spool_end) {
		uint64_t e = end < spool_end ? end : spool_end, failoff = off;

		if (buf != NULL ? sink_pwrite_all(o->fd, buf, (size_t)(e - off),
		    off, &failoff) : sink_zero_range(o->fd, off, e, &failoff)) {
			s3_obj_fail(o, err, "%s: spool: late write at %" PRIu64
			    ": %s", nds_object_name(o->kind), failoff,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
			return -1;
		}
	}
	first = s3_part_at(base, off);
	last = s3_part_at(base, end - 1);
	if (first == 0 || last == 0)
		goto toolate;
	pthread_mutex_lock(&o->lock);
	for (i = first; i <= last; i++) {
		uint64_t ps = s3_part_start(base, i);
		uint64_t pe = ps + s3_part_len(base, i);
		uint64_t a = off > ps ? off : ps, b = end < pe ? end : pe;

		if (pe <= spool_end) {
			/* From the spool: send it again if it went already. */
			if (i <= o->nsub)
				o->parts[i - 1].dirty = true;
			continue;
		}
		if (i == o->curn && i > o->nsub && o->cur != NULL &&
		    s3_cur_reserve(o, b - ps) == 0) {
			if (buf != NULL)
				memcpy(o->cur + (a - ps), buf + (a - off),
				    (size_t)(b - a));
			else
				memset(o->cur + (a - ps), 0, (size_t)(b - a));
			continue;
		}
		pthread_mutex_unlock(&o->lock);
		goto toolate;
	}
	pthread_mutex_unlock(&o->lock);
	return 0;
toolate:
	s3_obj_fail(o, err, "%s: %" PRIu64 " bytes arrived at offset %" PRIu64
	    " after their part was sent, and there is no spool to send it "
	    "again from", nds_object_name(o->kind), len, off);
	return -1;
}

static enum nds_result
s3_write_at(struct s3_obj *o, uint64_t offset, const unsigned char *buf,
    uint64_t len, char *err)
{
	uint64_t pos, cut;

	if (o->failed) {
		s3_obj_fail(o, err, "%s", o->err);
		return NDS_FAILED;
	}
	if (len == 0)
		return NDS_OK;
	if (offset > INT64_MAX || len > INT64_MAX - offset ||
	    s3_part_at(o->d->s->conf.part_size, offset + len - 1) == 0) {
		s3_obj_fail(o, err, "%s: %" PRIu64 " bytes do not fit in %u "
		    "parts", nds_object_name(o->kind), offset + len,
		    S3_MAX_PARTS);
		return NDS_FAILED;
	}
	pthread_mutex_lock(&o->lock);
	pos = o->pos;
	pthread_mutex_unlock(&o->lock);
	if (offset < pos) {
		cut = offset + len < pos ? len : pos - offset;
		if (late_put(o, offset, buf, cut, err) == -1)
			return NDS_FAILED;
		offset += cut;
		len -= cut;
		if (buf != NULL)
			buf += cut;
		if (len == 0)
			return NDS_OK;
	}
	/* A gap before the data is a hole. */
	if (offset > pos && stream_put(o, pos, NULL, offset - pos, err) == -1)
		return NDS_FAILED;
	if (stream_put(o, offset, buf, len, err) == -1)
		return NDS_FAILED;
	return NDS_OK;
}

enum nds_result
s3_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	return s3_write_at(object_state, offset, buf, len, err);
}

enum nds_result
s3_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	return s3_write_at(object_state, offset, NULL, len, err);
}

/* ------------------------------------------------------ completion */

struct s3_client *
s3_dump_client(struct s3_dump *d)
{
	if (d->cl.h == NULL)
		(void)s3_client_init(&d->cl, &d->s->conf, NULL, NULL);
	return d->cl.h != NULL ? &d->cl : NULL;
}

/* Part n of an object of size bytes: where it starts and how long it is. */
static void
part_span(uint64_t base, uint64_t size, uint32_t n, uint64_t *start,
    uint64_t *len)
{
	*start = s3_part_start(base, n);
	*len = s3_part_len(base, n);
	if (*len > size - *start)
		*len = size - *start;
}

/*
 * Send the next part that pump_locked does not: the memory part being
 * filled, or zeros for a hole at the end. Whether it did anything (or
 * failed); with o->lock held.
 */
static bool
send_tail_locked(struct s3_obj *o, uint64_t size, uint32_t total)
{
	const uint64_t base = o->d->s->conf.part_size;
	uint32_t i = o->nsub + 1;
	uint64_t start, len;

	if (o->nsub >= total || o->inflight >= o->d->s->max_inflight)
		return false;
	part_span(base, size, i, &start, &len);
	if (o->fd != -1 && o->spool_end >= start + len)
		return false;
	if (i == o->curn && o->cur != NULL) {
		if (s3_cur_reserve(o, len) == -1) {
			up_fail_locked(o, "out of memory");
			return true;
		}
		submit_locked(o, i, start, len, o->cur, false);
		o->cur = NULL;
		o->curcap = 0;
	} else if (o->fd == -1 || start >= o->spool_end)
		submit_locked(o, i, start, len, NULL, true);
	else
		/* Half spooled, half nowhere: cannot be. */
		up_fail_locked(o, "a part is neither spooled nor in memory");
	return true;
}

/*
 * Every part went and none is on its way: send the first one that
 * changed after it went, or was cut. Whether the wait is over (all
 * parts are as they should be, or it failed); with o->lock held.
 */
static bool
resend_changed_locked(struct s3_obj *o, uint64_t size, uint32_t total)
{
	const uint64_t base = o->d->s->conf.part_size;
	uint64_t start, len;
	uint32_t i;

	for (i = 1; i <= total; i++) {
		struct s3_part *p = &o->parts[i - 1];

		part_span(base, size, i, &start, &len);
		if (p->done && !p->dirty && p->len == len)
			continue;
		if (o->fd == -1 || o->spool_end < start + len) {
			up_fail_locked(o, "a part changed after it was "
			    "sent from memory");
			return true;
		}
		submit_locked(o, i, start, len, NULL, false);
		return o->up_failed;
	}
	return true;
}

/* Wait until every part of the object of size bytes is in the store. */
static void
wait_parts(struct s3_obj *o, uint64_t size, uint32_t total)
{
	pthread_mutex_lock(&o->lock);
	o->final = true;
	o->size = size;
	/*
	 * Every byte is in place now: the spooled parts go too, also when
	 * the store looked down while they came (nothing else would send
	 * them, and this wait would not end).
	 */
	o->stream = true;
	for (;;) {
		pump_locked(o);
		if (o->up_failed) {
			if (o->inflight == 0)
				break;
			pthread_cond_wait(&o->cond, &o->lock);
			continue;
		}
		if (send_tail_locked(o, size, total))
			continue;
		if (o->nsub >= total && o->inflight == 0 &&
		    resend_changed_locked(o, size, total))
			break;
		pthread_cond_wait(&o->cond, &o->lock);
	}
	pthread_mutex_unlock(&o->lock);
}

/*
 * Wait for every part of the upload, send what is left and what changed,
 * and complete it. 0, or -1 with o->up_err saying why.
 */
int
s3_finish_upload(struct s3_obj *o, uint64_t size)
{
	struct s3_dump *d = o->d;
	uint32_t total = s3_part_count(d->s->conf.part_size, size);
	struct s3_client *cl;
	enum s3_status st;

	wait_parts(o, size, total);
	if (o->up_failed)
		return -1;
	if ((cl = s3_dump_client(d)) == NULL) {
		up_fail_locked(o, "out of memory");
		return -1;
	}
	/* No part is on its way now: the ETags stay as they are. */
	st = s3_mpu_complete(cl, o->key, o->upload_id, o->parts, total);
	s3_health(d->s, st, cl->err);
	if (st != S3_OK) {
		up_fail_locked(o, cl->err);
		return -1;
	}
	/* Completed: nothing to abort any more. */
	free(o->upload_id);
	o->upload_id = NULL;
	return 0;
}

/*
 * Give the object's multipart upload up: no more parts leave, those on
 * their way are waited for, and the upload is aborted (or remembered, to
 * abort later). Nothing is ever completed under its key.
 */
void
s3_drop_upload(struct s3_obj *o)
{
	pthread_mutex_lock(&o->lock);
	up_fail_locked(o, "given up");
	while (o->inflight > 0)
		pthread_cond_wait(&o->cond, &o->lock);
	pthread_mutex_unlock(&o->lock);
	s3_abort_upload(o);
}

/*
 * The object is complete under o->key but belongs under key, and is not
 * in the spool to send again: have the store copy it (CopyObject, up to
 * 5 GiB), then delete the first one.
 */
int
s3_move_object(struct s3_obj *o, const char *key, uint64_t size, char *err)
{
	struct s3_dump *d = o->d;
	struct s3_sink *s = d->s;
	struct s3_client *cl = s3_dump_client(d);
	enum s3_status st;

	if (cl == NULL) {
		sink_seterr(err, "cannot create a curl handle");
		return -1;
	}
	if (size > S3_MAX_PART) {
		sink_seterr(err, "%s: %" PRIu64 " bytes are too many to copy "
		    "in one request, and nothing is spooled",
		    nds_object_name(o->kind), size);
		return -1;
	}
	st = s3_copy(cl, key, o->key);
	s3_health(s, st, cl->err);
	if (st != S3_OK) {
		sink_seterr(err, "%s", cl->err);
		return -1;
	}
	if (s3_delete(cl, o->key) != S3_OK)
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": "
		    "s3://%s/%s: %s; it is a copy of s3://%s/%s", d->dump->id,
		    s->conf.bucket, o->key, cl->err, s->conf.bucket, key);
	return 0;
}

/* Abort the object's multipart upload; remember it if that fails. */
void
s3_abort_upload(struct s3_obj *o)
{
	struct s3_dump *d = o->d;
	struct s3_client *cl;

	if (o->upload_id == NULL)
		return;
	if ((cl = s3_dump_client(d)) == NULL ||
	    s3_mpu_abort(cl, o->key, o->upload_id) != S3_OK) {
		pthread_mutex_lock(&d->rec_lock);
		(void)s3_record_add_stale(&d->rec, o->key, o->upload_id);
		pthread_mutex_unlock(&d->rec_lock);
	}
	free(o->upload_id);
	o->upload_id = NULL;
}
