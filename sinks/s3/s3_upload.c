/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: what the upload threads do. The dump's thread hands parts (from
 * the spool, or from memory) to the host's work pool, whose threads
 * create the multipart upload with the first part and send the rest, at
 * most max_inflight_parts of an object at a time. When the object
 * closes, the dump's thread sends what is left and what changed,
 * completes the upload, and copies the object to its final key if the
 * name it started under turned out wrong.
 */
#include "sinkutil.h"
#include "s3.h"

/* ------------------------------------------------------------ health */

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

void
s3_up_fail_locked(struct s3_obj *o, const char *err)
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
int
s3_submit_locked(struct s3_obj *o, uint32_t n, uint64_t off, uint64_t len,
    unsigned char *buf, bool zero)
{
	struct s3_job *j;

	if (parts_reserve(o, n) == -1 || (j = calloc(1, sizeof(*j))) == NULL) {
		free(buf);
		s3_up_fail_locked(o, "out of memory");
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
		s3_up_fail_locked(o, "no upload thread runs");
		return -1;
	}
	o->parts[n - 1].busy = true;
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
void
s3_pump_locked(struct s3_obj *o)
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
		if (s3_submit_locked(o, n, start, end - start, NULL,
		    false) == -1)
			break;
	}
}

/* The thread has no curl handle: fail the part, not the thread. */
static void
fail_job(struct s3_job *j)
{
	struct s3_obj *o = j->o;

	pthread_mutex_lock(&o->lock);
	o->parts[j->n - 1].busy = false;
	s3_up_fail_locked(o, "cannot create a curl handle");
	o->inflight--;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	free(j->buf);
	free(j);
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
	struct s3_src src = { .fd = -1 };
	char uid[S3_UPLOADID_MAX], etag[S3_ETAG_MAX];
	enum s3_status st = S3_OK;
	const char *id = NULL;
	bool skip;

	if (cl == NULL) {
		fail_job(j);
		return;
	}
	pthread_mutex_lock(&o->lock);
	/* The first part to go creates the upload; the others wait for it. */
	while (o->upload_id == NULL && !o->up_failed && o->creating)
		pthread_cond_wait(&o->cond, &o->lock);
	if (o->upload_id == NULL && !o->up_failed) {
		o->creating = true;
		pthread_mutex_unlock(&o->lock);
		st = s3_mpu_create(cl, o->key, uid, sizeof(uid));
		s3_health(s, st, cl->err);
		pthread_mutex_lock(&o->lock);
		o->creating = false;
		if (st == S3_OK && (o->upload_id = strdup(uid)) == NULL) {
			/* Nobody would abort it: try here, once. */
			(void)s3_mpu_abort(cl, o->key, uid);
			st = S3_LOCAL;
			snprintf(cl->err, sizeof(cl->err), "out of memory");
		}
		if (st != S3_OK)
			s3_up_fail_locked(o, cl->err);
		pthread_cond_broadcast(&o->cond);
	}
	skip = o->up_failed;
	id = o->upload_id;
	pthread_mutex_unlock(&o->lock);

	if (!skip) {
		src.len = j->len;
		if (j->buf != NULL)
			src.buf = j->buf;
		else if (!j->zero) {
			src.fd = o->fd;
			src.off = j->off;
		}
		st = s3_mpu_part(cl, o->key, id, j->n, &src, etag);
	}

	pthread_mutex_lock(&o->lock);
	o->parts[j->n - 1].busy = false;
	if (!skip) {
		if (st == S3_OK) {
			snprintf(o->parts[j->n - 1].etag, S3_ETAG_MAX, "%s",
			    etag);
			o->parts[j->n - 1].len = j->len;
			o->parts[j->n - 1].done = true;
		} else
			s3_up_fail_locked(o, cl->err);
	}
	o->inflight--;
	s3_pump_locked(o);
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	if (!skip)
		s3_health(s, st, cl->err);
	free(j->buf);
	free(j);
}

/* ------------------------------------------------------ completion */

struct s3_client *
s3_dump_client(struct s3_dump *d)
{
	if (!d->cl_ready &&
	    s3_client_init(&d->cl, &d->s->conf, NULL, NULL) == 0)
		d->cl_ready = true;
	return d->cl_ready ? &d->cl : NULL;
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
 * Send the next part that s3_pump_locked does not: the memory part being
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
		if (s3_cur_reserve(o, (size_t)len) == -1) {
			s3_up_fail_locked(o, "out of memory");
			return true;
		}
		s3_submit_locked(o, i, start, len, o->cur, false);
		o->cur = NULL;
		o->curcap = 0;
	} else if (o->fd == -1 || start >= o->spool_end)
		s3_submit_locked(o, i, start, len, NULL, true);
	else
		/* Half spooled, half nowhere: cannot be. */
		s3_up_fail_locked(o, "a part is neither spooled nor in memory");
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
			s3_up_fail_locked(o, "a part changed after it was "
			    "sent from memory");
			return true;
		}
		s3_submit_locked(o, i, start, len, NULL, false);
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
	for (;;) {
		s3_pump_locked(o);
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
	uint32_t total = s3_part_count(d->s->conf.part_size, size), i;
	struct s3_client *cl;
	struct s3_etag *etags = NULL;
	enum s3_status st;

	wait_parts(o, size, total);
	if (o->up_failed)
		return -1;
	if ((cl = s3_dump_client(d)) == NULL ||
	    (etags = calloc(total, sizeof(*etags))) == NULL) {
		s3_up_fail_locked(o, "out of memory");
		return -1;
	}
	for (i = 0; i < total; i++)
		memcpy(etags[i].etag, o->parts[i].etag, S3_ETAG_MAX);
	st = s3_mpu_complete(cl, o->key, o->upload_id, etags, total);
	free(etags);
	s3_health(d->s, st, cl->err);
	if (st != S3_OK) {
		s3_up_fail_locked(o, cl->err);
		return -1;
	}
	/* Completed: nothing to abort any more. */
	free(o->upload_id);
	o->upload_id = NULL;
	return 0;
}

/*
 * The object is complete under o->key but belongs under key: have the
 * store copy it (CopyObject, up to 5 GiB), or send it again from the
 * spool, then delete the first one.
 */
int
s3_move_object(struct s3_obj *o, const char *key, uint64_t size, char *err)
{
	struct s3_dump *d = o->d;
	struct s3_sink *s = d->s;
	struct s3_client *cl = s3_dump_client(d);
	enum s3_status st;
	char *stale = NULL;

	if (cl == NULL) {
		sink_seterr(err, "cannot create a curl handle");
		return -1;
	}
	if (size <= S3_MAX_PART)
		st = s3_copy(cl, key, o->key);
	else if (s3_spooling(o)) {
		st = s3_upload_fd(cl, key, o->fd, size, &stale);
		if (stale != NULL) {
			(void)s3_record_add_stale(&d->rec, key, stale);
			free(stale);
		}
	} else {
		sink_seterr(err, "%s: %" PRIu64 " bytes are too many to copy "
		    "in one request, and nothing is spooled",
		    nds_object_name(o->kind), size);
		return -1;
	}
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
	    s3_mpu_abort(cl, o->key, o->upload_id) != S3_OK)
		(void)s3_record_add_stale(&d->rec, o->key, o->upload_id);
	free(o->upload_id);
	o->upload_id = NULL;
}
