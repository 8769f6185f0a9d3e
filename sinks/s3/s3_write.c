/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: an object's bytes, as the host writes them. In order, they go
 * to the spool file (and from there as parts to the upload threads) or,
 * without a usable spool, into memory parts; bytes behind the stream
 * change the spool and mark a part already sent to go again.
 */
#include <stdarg.h>

#include "sinkutil.h"
#include "s3.h"

#define FREE_CHECK	(64ULL << 20)	/* bytes between free-space checks */
#define MEM_FIRST	(64u * 1024)	/* first size of a memory part */

/* What holes are read as when a part is sent from memory. */
static const unsigned char zeros[64 * 1024];

/* Grow the memory part to hold need bytes; the new room reads as zeros. */
int
s3_cur_reserve(struct s3_obj *o, size_t need)
{
	unsigned char *nb;
	size_t cap;

	if (need <= o->curcap)
		return 0;
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
	if (s3_cur_reserve(o, (size_t)have) == -1)
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

/* ---------------------------------------------------- streaming data */

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

	if (s3_cur_reserve(o, (size_t)len) == -1) {
		pthread_mutex_lock(&o->lock);
		s3_up_fail_locked(o, "out of memory");
		pthread_mutex_unlock(&o->lock);
		return -1;
	}
	pthread_mutex_lock(&o->lock);
	for (;;) {
		s3_pump_locked(o);
		if (o->up_failed)
			break;
		if (o->nsub + 1 == o->curn && o->inflight < s->max_inflight) {
			r = s3_submit_locked(o, o->curn, start, len, o->cur,
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
		if (s3_cur_reserve(o, (size_t)(off - start + chunk)) == -1)
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
	s3_pump_locked(o);
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
	uint64_t end = off + len, spool_end, p, n;
	uint32_t first, last, i;
	char ebuf[128];

	pthread_mutex_lock(&o->lock);
	spool_end = o->spool_end;
	pthread_mutex_unlock(&o->lock);
	if (o->fd != -1 && off < spool_end) {
		uint64_t e = end < spool_end ? end : spool_end;

		for (p = off; p < e; p += n) {
			n = e - p < sizeof(zeros) || buf != NULL ? e - p :
			    sizeof(zeros);
			const void *from = buf != NULL ? buf + (p - off) :
			    zeros;

			if (sink_pwrite_all(o->fd, from, (size_t)n, p,
			    NULL) == -1) {
				s3_obj_fail(o, err, "%s: spool: late write "
				    "at %" PRIu64 ": %s",
				    nds_object_name(o->kind), p,
				    sink_errstr(errno, ebuf, sizeof(ebuf)));
				return -1;
			}
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
		    s3_cur_reserve(o, (size_t)(b - ps)) == 0) {
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
