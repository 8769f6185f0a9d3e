/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: the spool's pending records and the background thread. A dump
 * that could not go to the store leaves a "pending" record in its spool
 * folder; the thread, started with the daemon, looks at every folder of
 * spool_dir (a previous run's too), uploads what the records list and
 * tries again with backoff while the store does not take it.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netdump/sink.h"
#include "sinkutil.h"
#include "s3.h"

#define RECORD_MAX	(64u * 1024)
#define NOTE_OBJECT_MAX	(16u << 20)	/* a manifest to patch, at most */
#define RESCAN_SECS	60

static void
mono_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static void
ts_add_ms(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The note that "where" carries while a dump waits in the spool. */
void
s3_pending_note(const struct s3_sink *s, const char *token, char *buf,
    size_t len)
{
	snprintf(buf, len, " (upload pending, spooled in %s/%s)",
	    s->cfg->spool_dir, token);
}

/* ------------------------------------------------------------- end */

/*
 * Put rec in the folder dirfd as "pending", whole or not at all, and for
 * good: the text goes to a temporary file, which is synced and renamed
 * over the old record, and then the folder is synced, which also makes
 * the spool files' names in it last. Whoever reads the record, now or
 * after a crash, finds the old one or the new one, never a torn one, and
 * never one that claims bytes that were not on disk before it. 0, or -1
 * with errno set.
 */
int
s3_record_store(int dirfd, const struct s3_record *rec)
{
	char *text;
	size_t len = 0;
	int fd = -1, r = -1, closed, save;

	if ((text = s3_record_format(rec, &len)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((fd = openat(dirfd, "pending.tmp", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1 ||
	    sink_pwrite_all(fd, text, len, 0, NULL) == -1 || fsync(fd) == -1)
		goto out;
	closed = close(fd);
	fd = -1;
	if (closed == -1 ||
	    renameat(dirfd, "pending.tmp", dirfd, "pending") == -1 ||
	    fsync(dirfd) == -1)
		goto out;
	r = 0;
out:
	save = errno;
	if (fd != -1)
		close(fd);
	/* A folder with a stray file in it could never be removed. */
	if (r == -1)
		unlinkat(dirfd, "pending.tmp", 0);
	free(text);
	errno = save;
	return r;
}

/* -------------------------------------------------- background thread */

/* Read a small file of dirfd; NULL (errno set) on failure. */
static char *
read_small(int dirfd, const char *name, size_t max, size_t *len)
{
	char *buf = NULL;
	struct stat sb;
	ssize_t n;
	size_t done = 0;
	int fd, save;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return NULL;
	if (fstat(fd, &sb) == -1)
		goto fail;
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL)
		goto fail;
	while (done < (size_t)sb.st_size) {
		n = read(fd, buf + done, (size_t)sb.st_size - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	buf[done] = '\0';
	*len = done;
	close(fd);
	return buf;
fail:
	save = errno;
	free(buf);
	close(fd);
	errno = save;
	return NULL;
}

/* Cut every copy of note out of text[0, *len). */
static void
cut_note(char *text, size_t *len, const char *note)
{
	size_t nlen = strlen(note), i = 0, o = 0;

	while (i < *len) {
		if (nlen > 0 && *len - i >= nlen &&
		    memcmp(text + i, note, nlen) == 0) {
			i += nlen;
			continue;
		}
		text[o++] = text[i++];
	}
	*len = o;
}

/*
 * The spool file of ro holds only have bytes, fewer than its record says:
 * bytes were lost after the record was written (a file system that lost
 * them in a crash, a full disk, a hand). Zeros in their place would pass
 * for data under the object's final name, so what is left goes under its
 * incomplete name, with its real length, and the record says so from now
 * on: a retry or a restart does the same, and the error is told once.
 * -1 when there is no incomplete name to go to; then nothing is uploaded
 * and nothing removed, and it is told when say is set.
 */
static int
spool_cut(struct s3_sink *s, struct s3_client *cl, int dirfd,
    const char *token, struct s3_record *rec, struct s3_rec_obj *ro,
    uint64_t have, bool say)
{
	char was[S3_KEY_MAX + 1], ebuf[128];
	uint64_t claimed = ro->size;

	snprintf(was, sizeof(was), "%s", ro->key);
	if (s3_record_cut(ro, have) == -1) {
		sink_errstr(errno, ebuf, sizeof(ebuf));
		snprintf(cl->err, sizeof(cl->err), "%s/%s/%s holds %" PRIu64
		    " of %" PRIu64 " bytes, and there is no incomplete name to "
		    "upload them under (%s)", s->cfg->spool_dir, token,
		    ro->file, have, claimed, ebuf);
		if (say)
			s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64
			    " from %s: spool file %s/%s/%s holds %" PRIu64
			    " bytes, its pending record says %" PRIu64 ", and "
			    "s3://%s/%s has no incomplete name to go to (%s): "
			    "nothing uploaded, the spool and its record are "
			    "kept", rec->dump_id, rec->client,
			    s->cfg->spool_dir, token, ro->file, have, claimed,
			    s->conf.bucket, was, ebuf);
		return -1;
	}
	s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64 " from %s: spool "
	    "file %s/%s/%s holds %" PRIu64 " bytes, its pending record says "
	    "%" PRIu64 ": bytes were lost after they were received; the %"
	    PRIu64 " bytes there are go to s3://%s/%s, nothing to s3://%s/%s",
	    rec->dump_id, rec->client, s->cfg->spool_dir, token, ro->file, have,
	    ro->expected, have, s->conf.bucket, ro->key, s->conf.bucket, was);
	/* If this fails, the next try finds the cut and says it again. */
	(void)s3_record_store(dirfd, rec);
	return 0;
}

/* One object of a record; S3_OK when it is in the store. */
static enum s3_status
upload_pending(struct s3_sink *s, struct s3_client *cl, int dirfd,
    const char *token, struct s3_record *rec, struct s3_rec_obj *ro,
    bool say, bool *gone)
{
	char note[PATH_MAX + 64], ebuf[128], *text, *stale = NULL;
	struct s3_src src = { .fd = -1 };
	struct stat sb;
	enum s3_status st = S3_LOCAL;
	size_t len;
	int fd;

	if (ro->note) {
		/* The manifest: it said "pending"; now it is not. */
		if ((text = read_small(dirfd, ro->file, NOTE_OBJECT_MAX,
		    &len)) == NULL)
			goto nofile;
		if (len < ro->size && spool_cut(s, cl, dirfd, token, rec, ro,
		    len, say) == -1) {
			free(text);
			return S3_LOCAL;
		}
		s3_pending_note(s, token, note, sizeof(note));
		cut_note(text, &len, note);
		src.buf = (const unsigned char *)text;
		src.len = len;
		st = s3_put(cl, ro->key, &src);
		free(text);
		return st;
	}
	if ((fd = openat(dirfd, ro->file, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		goto nofile;
	if (fstat(fd, &sb) == -1) {
		snprintf(cl->err, sizeof(cl->err), "%s/%s/%s: %s",
		    s->cfg->spool_dir, token, ro->file,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if ((uint64_t)sb.st_size < ro->size) {
		if (spool_cut(s, cl, dirfd, token, rec, ro,
		    (uint64_t)sb.st_size, say) == -1)
			goto out;
	} else if ((uint64_t)sb.st_size > ro->size)
		s->host->log(s->ctx, NDS_LOG_WARNING, "%s/%s/%s: %" PRIu64
		    " bytes, the record says %" PRIu64 "; uploading %" PRIu64,
		    s->cfg->spool_dir, token, ro->file, (uint64_t)sb.st_size,
		    ro->size, ro->size);
	/* Exact: a file cut while it goes fails, and is looked at again. */
	st = s3_upload_fd(cl, ro->key, fd, ro->size, &stale);
	if (stale != NULL) {
		if (s3_record_add_stale(rec, ro->key, stale) == 0)
			s3_record_store(dirfd, rec);
		free(stale);
	}
out:
	close(fd);
	return st;
nofile:
	*gone = errno == ENOENT;
	snprintf(cl->err, sizeof(cl->err), "%s/%s/%s: %s", s->cfg->spool_dir,
	    token, ro->file, sink_errstr(errno, ebuf, sizeof(ebuf)));
	return S3_LOCAL;
}

enum bg_result {
	BG_DONE,	/* uploaded, or gone: forget the folder */
	BG_RETRY,	/* try again later */
	BG_BUSY,	/* a dump or another process has it */
	BG_IGNORE,	/* not ours, or unreadable */
	BG_ORPHAN,	/* no record and nobody holds it */
};

/* Say that a pending object is in the store now. */
static void
say_uploaded(struct s3_sink *s, const struct s3_record *rec,
    const struct s3_rec_obj *ro)
{
	if (ro->expected != 0)
		s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64 " from %s: "
		    "uploaded s3://%s/%s (pending since %" PRId64 " s), only %"
		    PRIu64 " of %" PRIu64 " bytes: the spool had lost the rest",
		    rec->dump_id, rec->client, s->conf.bucket, ro->key,
		    (int64_t)time(NULL) - rec->since, ro->size, ro->expected);
	else
		s->host->log(s->ctx, NDS_LOG_NOTICE, "dump %" PRIu64 " from "
		    "%s: uploaded s3://%s/%s (pending since %" PRId64 " s)",
		    rec->dump_id, rec->client, s->conf.bucket, ro->key,
		    (int64_t)time(NULL) - rec->since);
}

/*
 * Abort the record's stale uploads, then upload its objects, keeping the
 * record up to date as they go; S3_OK when nothing is left to do, and
 * then the folder is gone.
 */
static enum s3_status
bg_record(struct s3_sink *s, struct s3_client *cl, struct s3_folder *f,
    int dirfd, struct s3_record *rec)
{
	enum s3_status st = S3_OK;
	char ebuf[128];
	unsigned i;

	for (i = 0; i < rec->nstale && st == S3_OK;) {
		st = s3_mpu_abort(cl, rec->stale[i].key, rec->stale[i].id);
		if (st == S3_OK) {
			s3_record_del_stale(rec, i);
			s3_record_store(dirfd, rec);
		} else
			i++;
	}
	for (i = 0; i < rec->nobj && st == S3_OK; i++) {
		struct s3_rec_obj *ro = &rec->obj[i];
		bool gone = false;

		if (ro->done)
			continue;
		st = upload_pending(s, cl, dirfd, f->name, rec, ro,
		    f->tries == 0, &gone);
		if (st == S3_LOCAL && gone) {
			/* Nothing to send any more: say so, go on. */
			s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64
			    " from %s: %s; s3://%s/%s is lost", rec->dump_id,
			    rec->client, cl->err, s->conf.bucket, ro->key);
			st = S3_OK;
		} else if (st != S3_OK)
			break;
		else
			say_uploaded(s, rec, ro);
		ro->done = true;
		s3_record_store(dirfd, rec);
		unlinkat(dirfd, ro->file, 0);
	}
	s3_health(s, st, cl->err);
	if (st != S3_OK) {
		if (st != S3_STOPPED && f->tries == 0)
			s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64
			    " from %s, spooled in %s/%s: %s; will try again",
			    rec->dump_id, rec->client, s->cfg->spool_dir,
			    f->name, cl->err);
		return st;
	}
	if (unlinkat(dirfd, "pending", 0) == -1 && errno != ENOENT)
		s->host->log(s->ctx, NDS_LOG_WARNING, "%s/%s/pending: %s",
		    s->cfg->spool_dir, f->name,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
	unlinkat(dirfd, "lock", 0);
	unlinkat(s->spool_fd, f->name, AT_REMOVEDIR);
	return S3_OK;
}

/* Take a folder's lock and do what its record says. */
static enum bg_result
bg_folder(struct s3_sink *s, struct s3_client *cl, struct s3_folder *f)
{
	struct s3_record rec;
	enum bg_result res;
	char perr[128], *text = NULL;
	size_t len;
	int dirfd, lockfd = -1;

	if ((dirfd = openat(s->spool_fd, f->name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? BG_DONE : BG_IGNORE;
	if ((lockfd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		res = BG_IGNORE;
	else if (flock(lockfd, LOCK_EX | LOCK_NB) == -1)
		res = BG_BUSY;
	else if ((text = read_small(dirfd, "pending", RECORD_MAX, &len)) ==
	    NULL)
		res = errno == ENOENT ? BG_ORPHAN : BG_IGNORE;
	else if (s3_record_parse(text, len, &rec, perr, sizeof(perr)) == -1) {
		if (!f->ignore)
			s->host->log(s->ctx, NDS_LOG_ERR, "%s/%s/pending: %s; "
			    "left alone", s->cfg->spool_dir, f->name, perr);
		res = BG_IGNORE;
	} else {
		if (strcmp(rec.endpoint, s->conf.endpoint) != 0 ||
		    strcmp(rec.bucket, s->conf.bucket) != 0)
			/* Another sink's (or another configuration's). */
			res = BG_IGNORE;
		else
			res = bg_record(s, cl, f, dirfd, &rec) == S3_OK ?
			    BG_DONE : BG_RETRY;
		s3_record_free(&rec);
	}
	free(text);
	if (lockfd != -1)
		close(lockfd);
	close(dirfd);
	return res;
}

/* Learn the folders of spool_dir; a new one is due at once. */
static void
bg_scan(struct s3_sink *s)
{
	struct s3_folder *f, **fp;
	struct dirent *de;
	DIR *dir;
	int fd;

	if ((fd = openat(s->spool_fd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= S3_TOKEN_MAX)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		for (f = s->folders; f != NULL; f = f->next)
			if (strcmp(f->name, de->d_name) == 0)
				break;
		if (f != NULL)
			continue;
		if ((f = calloc(1, sizeof(*f))) == NULL)
			break;
		/* Shorter than S3_TOKEN_MAX, checked above. */
		memcpy(f->name, de->d_name, strlen(de->d_name) + 1);
		mono_now(&f->due);
		f->next = s->folders;
		s->folders = f;
	}
	closedir(dir);
	/* Forget folders that are gone. */
	for (fp = &s->folders; (f = *fp) != NULL;) {
		struct stat sb;

		if (fstatat(s->spool_fd, f->name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1 && errno == ENOENT) {
			*fp = f->next;
			free(f);
		} else
			fp = &f->next;
	}
}

static uint64_t
bg_delay_ms(struct s3_sink *s, struct s3_folder *f)
{
	uint64_t ms = (uint64_t)s->retry_interval * 1000;
	unsigned i;

	for (i = 1; i < f->tries && ms < (uint64_t)s->retry_max * 1000; i++)
		ms *= 2;
	if (ms > (uint64_t)s->retry_max * 1000)
		ms = (uint64_t)s->retry_max * 1000;
	/* 75 % to 125 %: collectors that failed together spread out. */
	return ms * 3 / 4 + (ms > 1 ? (uint64_t)random() % (ms / 2) : 0);
}

/*
 * When to look at folder f again, after a visit that found res; false
 * when it is to be forgotten.
 */
static bool
bg_next(struct s3_sink *s, struct s3_folder *f, enum bg_result res,
    const struct timespec *now)
{
	switch (res) {
	case BG_DONE:
		return false;
	case BG_RETRY:
		f->tries++;
		f->due = *now;
		ts_add_ms(&f->due, bg_delay_ms(s, f));
		break;
	case BG_BUSY:
		/* A dump still running, most likely. */
		f->due = *now;
		ts_add_ms(&f->due, 5000);
		break;
	case BG_ORPHAN:
		if (!f->orphan_said)
			s->host->log(s->ctx, NDS_LOG_WARNING, "%s/%s has no "
			    "pending record (left by a crash?); not uploaded",
			    s->cfg->spool_dir, f->name);
		f->orphan_said = true;
		f->due = *now;
		ts_add_ms(&f->due, RESCAN_SECS * 1000);
		break;
	case BG_IGNORE:
		f->ignore = true;
		break;
	}
	return true;
}

/* Visit the folders that are due; *ready: cl has a curl handle. */
static void
bg_visit(struct s3_sink *s, struct s3_client *cl, bool *ready)
{
	struct s3_folder *f, **fp;
	struct timespec now;
	enum bg_result res;

	for (fp = &s->folders; (f = *fp) != NULL &&
	    !atomic_load(&s->bg_stop);) {
		mono_now(&now);
		if (f->ignore || ts_before(&now, &f->due)) {
			fp = &f->next;
			continue;
		}
		if (!*ready && s3_client_init(cl, &s->conf, &s->bg_stop) == 0)
			*ready = true;
		res = *ready ? bg_folder(s, cl, f) : BG_RETRY;
		s->host->log(s->ctx, NDS_LOG_DEBUG, "%s/%s: %s",
		    s->cfg->spool_dir, f->name, res == BG_DONE ? "done" :
		    res == BG_RETRY ? "to try again" : res == BG_BUSY ?
		    "busy" : res == BG_IGNORE ? "ignored" : "orphan");
		if (bg_next(s, f, res, &now))
			fp = &f->next;
		else {
			*fp = f->next;
			free(f);
		}
	}
}

/* Sleep until the next folder is due or rescan, or someone calls. */
static void
bg_sleep(struct s3_sink *s, const struct timespec *rescan)
{
	struct timespec wake = *rescan;
	struct s3_folder *f;

	for (f = s->folders; f != NULL; f = f->next)
		if (!f->ignore && ts_before(&f->due, &wake))
			wake = f->due;
	pthread_mutex_lock(&s->bglock);
	while (!atomic_load(&s->bg_stop) && !s->bg_now && !s->bg_rescan &&
	    pthread_cond_timedwait(&s->bgcond, &s->bglock, &wake) !=
	    ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->bglock);
}

static void *
bg_main(void *arg)
{
	struct s3_sink *s = arg;
	struct s3_client cl;
	struct s3_folder *f;
	struct timespec now, rescan;
	bool ready, now_all, scan;

	ready = s3_client_init(&cl, &s->conf, &s->bg_stop) == 0;
	mono_now(&rescan);
	while (!atomic_load(&s->bg_stop)) {
		pthread_mutex_lock(&s->bglock);
		now_all = s->bg_now;
		scan = s->bg_rescan;
		s->bg_now = s->bg_rescan = false;
		pthread_mutex_unlock(&s->bglock);
		mono_now(&now);
		if (scan || now_all || !ts_before(&now, &rescan)) {
			bg_scan(s);
			rescan = now;
			ts_add_ms(&rescan, RESCAN_SECS * 1000);
		}
		for (f = s->folders; f != NULL; f = f->next)
			if (now_all && !f->ignore)
				f->due = now;
		bg_visit(s, &cl, &ready);
		bg_sleep(s, &rescan);
	}
	if (ready)
		s3_client_fini(&cl);
	while ((f = s->folders) != NULL) {
		s->folders = f->next;
		free(f);
	}
	return NULL;
}

/* A new record to look at. */
void
s3_bg_rescan(struct s3_sink *s)
{
	pthread_mutex_lock(&s->bglock);
	s->bg_rescan = true;
	pthread_cond_signal(&s->bgcond);
	pthread_mutex_unlock(&s->bglock);
}

/*
 * Start the background thread. From start only: by then the daemon has
 * forked for good (a thread does not survive a fork) and runs as its
 * own user, the one the dumps' spool files belong to.
 */
int
s3_bg_start(struct s3_sink *s)
{
	int e;

	if ((e = s3_spawn(&s->bgthread, bg_main, s)) != 0)
		return e;
	s->bg_running = true;
	return 0;
}

/* Stop the background thread, if it was started. */
void
s3_bg_stop(struct s3_sink *s)
{
	pthread_mutex_lock(&s->bglock);
	atomic_store(&s->bg_stop, true);
	pthread_cond_signal(&s->bgcond);
	pthread_mutex_unlock(&s->bglock);
	if (s->bg_running)
		pthread_join(s->bgthread, NULL);
	s->bg_running = false;
}
