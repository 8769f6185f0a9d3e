/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3: store each dump in an S3 bucket (AWS S3, Ceph RGW, MinIO), as one
 * object per dump object under keys built from a template:
 *
 *   {prefix}{path}/{client}/{date}-{collector}-{id}/{name}
 *
 * with {name} vmcore[.gz|.zst...][.incomplete], vmcore_encrypted..., key,
 * info, manifest.json or dump.tar.zst, so many collectors can share one
 * bucket and never collide.
 *
 * While a dump arrives, each object is written to a spool file (sparse,
 * in spool_dir) and, as soon as a part's worth has arrived, the part is
 * handed to the instance's upload threads, which read it back from the
 * spool (the page cache, in practice) and send it as one part of a
 * multipart upload; at most max_inflight_parts are on their way per
 * object. The dump's worker thread never waits for the network while the
 * dump arrives: parts that cannot leave yet simply stay in the spool. When
 * the object closes, the rest goes, the upload is completed (or aborted
 * if anything failed) and the spool file is removed. An object smaller
 * than a part goes as one PUT when it closes.
 *
 * When the store is down, slow to fail or refuses (bad credentials), the
 * object stays in the spool and a "pending" record beside it says what is
 * to be uploaded where; a background thread of the instance retries with
 * backoff, and at start-up it picks up the records a previous run left.
 * The sink reports such an object as stored ("where" says the upload is
 * pending and where the spool is): the dump is safe on disk. That is true
 * only once it is on disk: each spool file is synced (fdatasync) when it
 * closes, and the record is written to a temporary file, synced, renamed
 * into place and its folder synced, so a record never claims bytes a
 * crash could take back. Objects that go straight to the store are never
 * synced: the spool is then only a buffer.
 *
 * Should a spool file still turn out shorter than its record says, what
 * is left goes under the object's incomplete name with its real length
 * (never padded with zeros under the final name) and the log says so; if
 * there is no such name, spool and record stay, and the log says that.
 *
 * Without a usable spool (spool = no, the spool file system below
 * min_free, a failed write), parts are kept in memory instead, and then
 * the worker does wait for a free slot: that bounds memory to
 * part_size x (max_inflight_parts + 1) per object.
 *
 * An object's final name depends on facts that only come with its close
 * (the outcome, kernel compression, a transform's suffix), but a multipart
 * upload needs its key when it starts. It starts under the name a complete
 * dump would get, as this instance last saw it; if the name turns out
 * different, the store copies the object to its final key (CopyObject;
 * above 5 GiB it goes again from the spool) and the first key is
 * deleted. Objects smaller than a part never need that.
 *
 * Threads: the host calls the ops of one dump on one thread; the upload
 * threads and the background thread are the instance's own and block all
 * signals (the host reads its signals from a signalfd). The host creates
 * its sinks before it daemonizes, and fork keeps only the calling thread,
 * so the threads start late (the upload threads with the first dump) or
 * are started again in the child (the background thread; it waits a
 * second before it touches anything, so a child that is about to exec a
 * hook never gets that far).
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "netdump/sink.h"
#include "sinkutil.h"
#include "s3.h"

enum s3_opt {
	OPT_ENDPOINT = 0,	/* in the order of s3_options[] */
	OPT_REGION,
	OPT_BUCKET,
	OPT_PREFIX,
	OPT_PATH_STYLE,
	OPT_KEY_TEMPLATE,
	OPT_COLLECTOR,
	OPT_CREDENTIALS_FILE,
	OPT_PROFILE,
	OPT_CA_FILE,
	OPT_VERIFY,
	OPT_PART_SIZE,
	OPT_MAX_INFLIGHT,
	OPT_UPLOAD_THREADS,
	OPT_CONNECT_TIMEOUT,
	OPT_STALL_TIMEOUT,
	OPT_RETRIES,
	OPT_SPOOL,
	OPT_SPOOL_DIR,
	OPT_SPOOL_MIN_FREE,
	OPT_RETRY_INTERVAL,
	OPT_RETRY_MAX_INTERVAL,
};

#define DEFAULT_TEMPLATE "{prefix}{path}/{client}/{date}-{collector}-{id}/{name}"

#define NKINDS		NDS_OBJ_NKINDS
#define NAME_LEN	96	/* of an object's {name} */
#define SUFFIX_MAX	32
#define FREE_CHECK	(64ULL << 20)	/* bytes between free-space checks */
#define MEM_FIRST	(64u * 1024)	/* first size of a memory part */
#define RECORD_MAX	(64u * 1024)
#define NOTE_OBJECT_MAX	(16u << 20)	/* a manifest to patch, at most */
#define START_GRACE_MS	1000	/* before the background thread acts */
#define RESCAN_SECS	60

/* What holes are read as when a part is sent from memory. */
static const unsigned char zeros[64 * 1024];

struct s3_dump;
struct s3_obj;

/* A part on its way to the store. */
struct s3_job {
	struct s3_job	*next;
	struct s3_obj	*o;
	uint32_t	 n;
	uint64_t	 off, len;
	unsigned char	*buf;	/* memory part, the job's own; NULL: spool */
	bool		 zero;	/* nothing but zeros */
};

/* A folder of spool_dir the background thread knows about. */
struct s3_folder {
	struct s3_folder *next;
	char		 name[S3_TOKEN_MAX];
	struct timespec	 due;
	unsigned	 tries;
	bool		 ignore;	/* not ours, or unreadable: said once */
	bool		 orphan_said;
};

/* One per [sink] section. */
struct s3_sink {
	const struct nds_host	*host;
	struct nds_host_ctx	*ctx;
	struct s3_conf		 conf;
	char			*tmpl;
	char			*prefix;
	char			*collector;
	bool			 spool;
	char			*spool_dir;
	int			 spool_fd;
	uint64_t		 min_free;
	unsigned		 max_inflight;
	unsigned		 nthreads;
	unsigned		 retry_interval;
	unsigned		 retry_max;

	/* Upload threads and their queue, under lock. */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct s3_job		*jobs, **jobs_tail;
	pthread_t		*threads;
	unsigned		 nstarted;
	pid_t			 pool_pid;
	bool			 pool_stop;
	/* The {name} a complete dump's vmcore and archive got last. */
	char			 guess[NKINDS][NAME_LEN];

	/* Whether the last request failed: new dumps then only spool. */
	atomic_bool		 down;

	/* The background thread, under bglock. */
	pthread_mutex_t		 bglock;
	pthread_cond_t		 bgcond;
	pthread_t		 bgthread;
	bool			 bg_running;
	bool			 bg_rescan;	/* a new record: look */
	bool			 bg_now;	/* the store is back: retry all */
	atomic_bool		 bg_stop;
	struct s3_folder	*folders;	/* the thread's own */

	struct s3_sink		*next;		/* all instances, for fork */
};

/* What close left in the spool, for the pending record. */
struct s3_pend {
	char		 file[32];
	char		*key;
	char		*ikey;		/* if the spool loses bytes; or NULL */
	uint64_t	 size;
	bool		 note;
};

/* One per dump. */
struct s3_dump {
	struct s3_sink		*s;
	const struct nds_dump	*dump;
	char			 token[S3_TOKEN_MAX];	/* spool folder */
	int			 dirfd;		/* -1: nothing spooled */
	int			 lockfd;	/* held while the dump runs */
	bool			 spool_only;	/* the store was down at begin */
	unsigned		 seq;		/* numbers spool files */
	char			 date[32], day[16], id[24];
	struct s3_client	 cl;		/* for close: complete, copy */
	bool			 cl_ready;
	bool			 warned;
	struct s3_pend		 pend[S3_REC_MAXOBJ];
	unsigned		 npend;
	struct s3_rec_stale	 stale[S3_REC_MAXSTALE];
	unsigned		 nstale;
};

struct s3_part {
	char		 etag[S3_ETAG_MAX];
	uint64_t	 len;		/* as uploaded */
	bool		 done;
	bool		 busy;
	bool		 dirty;		/* changed after it was sent */
};

/* One per object of a dump. */
struct s3_obj {
	struct s3_dump		*d;
	enum nds_object_kind	 kind;
	char			 file[32];	/* spool file */
	int			 fd;		/* spool, or -1 */
	bool			 failed;
	char			 err[NDS_ERRBUF_SIZE];
	uint64_t		 next_check;	/* of free space */
	int			 sync_err;	/* of a failed fdatasync */

	/* Shared with the upload threads, under lock. */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	uint64_t		 spool_end;	/* [0, spool_end) is in the spool */
	uint64_t		 pos;		/* the stream got this far */
	bool			 stream;	/* parts leave while it arrives */
	bool			 final;		/* closing: size is known */
	uint64_t		 size;
	char			 key[S3_KEY_MAX + 1];	/* of the upload */
	char			*upload_id;
	bool			 creating;
	bool			 up_failed;
	enum s3_status		 up_status;
	char			 up_err[NDS_ERRBUF_SIZE];
	struct s3_part		*parts;
	uint32_t		 partcap;
	uint32_t		 nsub;		/* parts 1..nsub went out */
	unsigned		 inflight;
	/* Memory parts: the one being filled. */
	unsigned char		*cur;
	size_t			 curcap;
	uint32_t		 curn;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct s3_sink *g_sinks;
static unsigned g_curl_users;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void	*bg_main(void *);
static void	*pool_main(void *);

/*
 * Start a thread with every signal blocked: the host takes SIGTERM and
 * friends from a signalfd, which works only while no thread accepts them.
 */
static int
spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

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

/* ------------------------------------------------------------ health */

/*
 * Remember whether the store answers. The first failure is logged with
 * its reason (it names bucket and endpoint and says what to check); while
 * it lasts, new dumps only spool. The first success after it says so and
 * sends the background thread at the pending dumps at once.
 */
static void
health(struct s3_sink *s, enum s3_status st, const char *err)
{
	if (st == S3_OK) {
		if (atomic_exchange(&s->down, false)) {
			s->host->log(s->ctx, NDS_LOG_NOTICE, "s3://%s at %s "
			    "answers again", s->conf.bucket, s->conf.endpoint);
			pthread_mutex_lock(&s->bglock);
			s->bg_now = true;
			pthread_cond_signal(&s->bgcond);
			pthread_mutex_unlock(&s->bglock);
		}
		return;
	}
	if (st != S3_AGAIN && st != S3_DENIED)
		return;
	if (!atomic_exchange(&s->down, true))
		s->host->log(s->ctx, NDS_LOG_ERR, "%s; dumps are kept in the "
		    "spool until the store takes them", err);
}

/* The note that "where" carries while a dump waits in the spool. */
static void
pending_note(const struct s3_sink *s, const char *token, char *buf,
    size_t len)
{
	snprintf(buf, len, " (upload pending, spooled in %s/%s)",
	    s->spool_dir, token);
}

/* -------------------------------------------------------- upload pool */

/* -1 when no upload thread runs to take it. */
static int
queue_job(struct s3_sink *s, struct s3_job *j)
{
	pthread_mutex_lock(&s->lock);
	if (s->nstarted == 0 || s->pool_pid != getpid()) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	j->next = NULL;
	*s->jobs_tail = j;
	s->jobs_tail = &j->next;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/*
 * Start the upload threads, in this process, if they are not running;
 * how many run.
 */
static unsigned
pool_ensure(struct s3_sink *s)
{
	unsigned i, n;
	int e;

	pthread_mutex_lock(&s->lock);
	if (s->pool_pid == getpid() && s->nstarted > 0) {
		n = s->nstarted;
		pthread_mutex_unlock(&s->lock);
		return n;
	}
	/* Threads of a parent process are gone after fork. */
	s->nstarted = 0;
	s->pool_stop = false;
	s->pool_pid = getpid();
	for (i = 0; i < s->nthreads; i++) {
		if ((e = spawn(&s->threads[i], pool_main, s)) != 0)
			break;
		s->nstarted++;
	}
	n = s->nstarted;
	pthread_mutex_unlock(&s->lock);
	if (n < s->nthreads)
		s->host->log(s->ctx, NDS_LOG_WARNING, "only %u of %u upload "
		    "threads started", n, s->nthreads);
	return n;
}

static void
pool_stop(struct s3_sink *s)
{
	unsigned i;

	pthread_mutex_lock(&s->lock);
	if (s->pool_pid != getpid()) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->pool_stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < s->nstarted; i++)
		pthread_join(s->threads[i], NULL);
	s->nstarted = 0;
}

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
up_fail_locked(struct s3_obj *o, enum s3_status st, const char *err)
{
	if (o->up_failed)
		return;
	o->up_failed = true;
	o->up_status = st;
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
		up_fail_locked(o, S3_LOCAL, "out of memory");
		return -1;
	}
	j->o = o;
	j->n = n;
	j->off = off;
	j->len = len;
	j->buf = buf;
	j->zero = zero;
	if (queue_job(o->d->s, j) == -1) {
		free(buf);
		free(j);
		up_fail_locked(o, S3_LOCAL, "no upload thread runs");
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
		if (submit_locked(o, n, start, end - start, NULL, false) == -1)
			break;
	}
}

static void
run_job(struct s3_sink *s, struct s3_client *cl, struct s3_job *j)
{
	struct s3_obj *o = j->o;
	struct s3_src src = { .fd = -1 };
	char uid[S3_UPLOADID_MAX], etag[S3_ETAG_MAX];
	enum s3_status st = S3_OK;
	const char *id = NULL;
	bool skip;

	pthread_mutex_lock(&o->lock);
	/* The first part to go creates the upload; the others wait for it. */
	while (o->upload_id == NULL && !o->up_failed && o->creating)
		pthread_cond_wait(&o->cond, &o->lock);
	if (o->upload_id == NULL && !o->up_failed) {
		o->creating = true;
		pthread_mutex_unlock(&o->lock);
		st = s3_mpu_create(cl, o->key, uid, sizeof(uid));
		health(s, st, cl->err);
		pthread_mutex_lock(&o->lock);
		o->creating = false;
		if (st == S3_OK && (o->upload_id = strdup(uid)) == NULL) {
			/* Nobody would abort it: try here, once. */
			(void)s3_mpu_abort(cl, o->key, uid);
			st = S3_LOCAL;
			snprintf(cl->err, sizeof(cl->err), "out of memory");
		}
		if (st != S3_OK)
			up_fail_locked(o, st, cl->err);
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
			up_fail_locked(o, st, cl->err);
	}
	o->inflight--;
	pump_locked(o);
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	if (!skip)
		health(s, st, cl->err);
	free(j->buf);
	free(j);
}

static void *
pool_main(void *arg)
{
	struct s3_sink *s = arg;
	struct s3_client cl;
	struct s3_job *j;
	bool ready;

	ready = s3_client_init(&cl, &s->conf, NULL) == 0;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->jobs == NULL && !s->pool_stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if ((j = s->jobs) == NULL)
			break;
		if ((s->jobs = j->next) == NULL)
			s->jobs_tail = &s->jobs;
		pthread_mutex_unlock(&s->lock);
		if (!ready && s3_client_init(&cl, &s->conf, NULL) == 0)
			ready = true;
		if (ready)
			run_job(s, &cl, j);
		else {
			/* No curl handle: fail the part, not the thread. */
			struct s3_obj *o = j->o;

			pthread_mutex_lock(&o->lock);
			o->parts[j->n - 1].busy = false;
			up_fail_locked(o, S3_LOCAL, "cannot create a curl handle");
			o->inflight--;
			pthread_cond_broadcast(&o->cond);
			pthread_mutex_unlock(&o->lock);
			free(j->buf);
			free(j);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	if (ready)
		s3_client_fini(&cl);
	return NULL;
}

/* ----------------------------------------------------------- naming */

/*
 * A transform's suffix (".zst", ".tar.gz") goes into the key; it comes
 * from another module, so it must look like one.
 */
static bool
suffix_ok(const char *suffix)
{
	const char *p;

	if (suffix == NULL || suffix[0] == '\0')
		return true;
	if (suffix[0] != '.' || strlen(suffix) >= SUFFIX_MAX)
		return false;
	for (p = suffix; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return false;
	return true;
}

/* The {name} of an object, given what the host knows by now. */
static int
object_name(const struct s3_dump *d, enum nds_object_kind kind,
    const char *suffix, char name[NAME_LEN])
{
	const struct nds_dump *dump = d->dump;
	const char *tail = dump->status == NDS_STATUS_COMPLETE ? "" :
	    S3_INCOMPLETE;
	int n;

	if (suffix == NULL)
		suffix = "";
	switch (kind) {
	case NDS_OBJ_VMCORE:
		n = snprintf(name, NAME_LEN, "%s%s%s%s", dump->encrypted ?
		    "vmcore_encrypted" : "vmcore", dump->vmcore_suffix != NULL ?
		    dump->vmcore_suffix : "", suffix, tail);
		break;
	case NDS_OBJ_ARCHIVE:
		n = snprintf(name, NAME_LEN, "dump%s%s", suffix, tail);
		break;
	case NDS_OBJ_KEY:
		n = snprintf(name, NAME_LEN, "key%s", suffix);
		break;
	case NDS_OBJ_INFO:
		n = snprintf(name, NAME_LEN, "info%s", suffix);
		break;
	case NDS_OBJ_MANIFEST:
		n = snprintf(name, NAME_LEN, "manifest.json%s", suffix);
		break;
	case NDS_OBJ_MSGBUF:
		n = snprintf(name, NAME_LEN, "msgbuf%s", suffix);
		break;
	default:
		return -1;
	}
	return n < 0 || n >= NAME_LEN ? -1 : 0;
}

static int
make_key(const struct s3_dump *d, const char *name,
    char key[S3_KEY_MAX + 1])
{
	const struct s3_sink *s = d->s;
	const struct nds_dump *dump = d->dump;
	struct s3_keyvars v = {
		.prefix = s->prefix,
		.collector = s->collector,
		.path = dump->path != NULL && strcmp(dump->path, ".") != 0 ?
		    dump->path : "",
		.client = dump->client_name,
		.addr = dump->client_addr,
		.date = d->date,
		.day = d->day,
		.id = d->id,
		.name = name,
	};

	return s3_key_expand(s->tmpl, &v, key, S3_KEY_MAX + 1);
}

static void
set_where(const struct s3_sink *s, const char *key, const char *note,
    char where[NDS_WHERE_SIZE])
{
	size_t b = strlen(s->conf.bucket), k = strlen(key), n = strlen(note);

	/* Rather no note than a key cut short; rather a cut than nothing. */
	if (5 + b + 1 + k + n >= NDS_WHERE_SIZE)
		n = 0;
	if (5 + b + 1 + k >= NDS_WHERE_SIZE)
		k = NDS_WHERE_SIZE - 1 - 5 - 1 - (b < 64 ? b : 64);
	snprintf(where, NDS_WHERE_SIZE, "s3://%.*s/%.*s%.*s", (int)(b < 64 ?
	    b : 64), s->conf.bucket, (int)k, key, (int)n, note);
}

/* ------------------------------------------------------------ spool */

static bool
spooling(const struct s3_obj *o)
{
	return o->fd != -1 && o->spool_end == UINT64_MAX;
}

/* Free bytes for us on the spool's file system. */
static bool
spool_room(const struct s3_sink *s, int fd)
{
	struct statvfs sv;

	if (fstatvfs(fd, &sv) == -1)
		return true;	/* no answer is no reason to stop */
	return (uint64_t)sv.f_bavail * sv.f_frsize >= s->min_free;
}

/* Grow the memory part to hold need bytes; the new room reads as zeros. */
static int
cur_reserve(struct s3_obj *o, size_t need)
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
static int
spool_stop(struct s3_obj *o, const char *why)
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
	if (cur_reserve(o, (size_t)have) == -1)
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

static void
obj_fail(struct s3_obj *o, char *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
obj_fail(struct s3_obj *o, char *err, const char *fmt, ...)
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

	if (cur_reserve(o, (size_t)len) == -1) {
		pthread_mutex_lock(&o->lock);
		up_fail_locked(o, S3_LOCAL, "out of memory");
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
		if (cur_reserve(o, (size_t)(off - start + chunk)) == -1)
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
	char ebuf[128];

	if (spooling(o) && off >= o->next_check) {
		o->next_check = off + FREE_CHECK;
		if (!spool_room(s, o->fd) && spool_stop(o, "free space on the "
		    "spool's file system is below spool_min_free") == -1)
			goto memfail;
	}
	if (spooling(o) && buf != NULL &&
	    sink_pwrite_all(o->fd, buf, (size_t)len, off, NULL) == -1) {
		int e = errno;

		/* ENOSPC and friends: keep going from memory. */
		if (spool_stop(o, sink_errstr(e, ebuf, sizeof(ebuf))) == -1)
			goto memfail;
	}
	if (!spooling(o) && mem_put(o, off, buf, len) == -1) {
		pthread_mutex_lock(&o->lock);
		if (o->up_failed) {
			pthread_mutex_unlock(&o->lock);
			obj_fail(o, err, "%s", o->up_err);
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
	obj_fail(o, err, "%s: out of memory, or %" PRIu64 " bytes do not fit "
	    "in %u parts", nds_object_name(o->kind), off + len, S3_MAX_PARTS);
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
			if (sink_pwrite_all(o->fd, buf != NULL ? buf + (p - off) :
			    zeros, (size_t)n, p, NULL) == -1) {
				obj_fail(o, err, "%s: spool: late write at "
				    "%" PRIu64 ": %s", nds_object_name(o->kind), p,
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
		    cur_reserve(o, (size_t)(b - ps)) == 0) {
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
	obj_fail(o, err, "%s: %" PRIu64 " bytes arrived at offset %" PRIu64
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
		obj_fail(o, err, "%s", o->err);
		return NDS_FAILED;
	}
	if (len == 0)
		return NDS_OK;
	if (offset > INT64_MAX || len > INT64_MAX - offset ||
	    s3_part_at(o->d->s->conf.part_size, offset + len - 1) == 0) {
		obj_fail(o, err, "%s: %" PRIu64 " bytes do not fit in %u parts",
		    nds_object_name(o->kind), offset + len, S3_MAX_PARTS);
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

static enum nds_result
s3_write(void *object_state, uint64_t offset, const void *buf, size_t len,
    char err[NDS_ERRBUF_SIZE])
{
	return s3_write_at(object_state, offset, buf, len, err);
}

static enum nds_result
s3_hole(void *object_state, uint64_t offset, uint64_t len,
    char err[NDS_ERRBUF_SIZE])
{
	return s3_write_at(object_state, offset, NULL, len, err);
}

/* ------------------------------------------------------------ close */

static struct s3_client *
dump_client(struct s3_dump *d)
{
	if (!d->cl_ready && s3_client_init(&d->cl, &d->s->conf, NULL) == 0)
		d->cl_ready = true;
	return d->cl_ready ? &d->cl : NULL;
}

static void
remember_stale(struct s3_dump *d, const char *key, const char *id)
{
	struct s3_rec_stale *st;

	if (d->nstale == S3_REC_MAXSTALE)
		return;
	st = &d->stale[d->nstale];
	if ((st->key = strdup(key)) == NULL || (st->id = strdup(id)) == NULL) {
		free(st->key);
		st->key = NULL;
		return;
	}
	d->nstale++;
}

/*
 * Wait for every part of the upload, send what is left and what changed,
 * and complete it. 0, or -1 with o->up_err saying why.
 */
static int
finish_upload(struct s3_obj *o, uint64_t size)
{
	struct s3_dump *d = o->d;
	const struct s3_sink *s = d->s;
	const uint64_t base = s->conf.part_size;
	uint32_t total = s3_part_count(base, size), i;
	struct s3_client *cl;
	struct s3_etag *etags = NULL;
	enum s3_status st;
	uint64_t start, len;

	pthread_mutex_lock(&o->lock);
	o->final = true;
	o->size = size;
	for (;;) {
		pump_locked(o);
		if (o->up_failed) {
			if (o->inflight == 0)
				break;
			pthread_cond_wait(&o->cond, &o->lock);
			continue;
		}
		/*
		 * What pump_locked does not send: the memory part being
		 * filled, then zeros for a hole at the end.
		 */
		i = o->nsub + 1;
		start = s3_part_start(base, i);
		len = s3_part_len(base, i);
		if (o->nsub < total && len > size - start)
			len = size - start;
		if (o->nsub < total && o->inflight < s->max_inflight &&
		    !(o->fd != -1 && o->spool_end >= start + len)) {
			if (i == o->curn && o->cur != NULL) {
				if (cur_reserve(o, (size_t)len) == -1) {
					up_fail_locked(o, S3_LOCAL,
					    "out of memory");
					continue;
				}
				submit_locked(o, i, start, len, o->cur, false);
				o->cur = NULL;
				o->curcap = 0;
			} else if (o->fd == -1 || start >= o->spool_end)
				submit_locked(o, i, start, len, NULL, true);
			else
				/* Half spooled, half nowhere: cannot be. */
				up_fail_locked(o, S3_LOCAL, "a part is neither "
				    "spooled nor in memory");
			continue;
		}
		if (o->nsub >= total && o->inflight == 0) {
			/* Parts that changed after they went, or were cut. */
			for (i = 1; i <= total; i++) {
				struct s3_part *p = &o->parts[i - 1];

				start = s3_part_start(base, i);
				len = s3_part_len(base, i);
				if (len > size - start)
					len = size - start;
				if (p->done && !p->dirty && p->len == len)
					continue;
				if (o->fd == -1 || o->spool_end < start + len) {
					up_fail_locked(o, S3_LOCAL, "a part "
					    "changed after it was sent from "
					    "memory");
					break;
				}
				submit_locked(o, i, start, len, NULL, false);
				break;
			}
			if (i > total || o->up_failed)
				break;
		}
		pthread_cond_wait(&o->cond, &o->lock);
	}
	pthread_mutex_unlock(&o->lock);
	if (o->up_failed)
		return -1;

	if ((cl = dump_client(d)) == NULL ||
	    (etags = calloc(total, sizeof(*etags))) == NULL) {
		up_fail_locked(o, S3_LOCAL, "out of memory");
		return -1;
	}
	for (i = 0; i < total; i++)
		memcpy(etags[i].etag, o->parts[i].etag, S3_ETAG_MAX);
	st = s3_mpu_complete(cl, o->key, o->upload_id, etags, total);
	free(etags);
	health(d->s, st, cl->err);
	if (st != S3_OK) {
		up_fail_locked(o, st, cl->err);
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
static int
move_object(struct s3_obj *o, const char *key, uint64_t size, char *err)
{
	struct s3_dump *d = o->d;
	struct s3_sink *s = d->s;
	struct s3_client *cl = dump_client(d);
	enum s3_status st;
	char *stale = NULL;

	if (cl == NULL) {
		sink_seterr(err, "cannot create a curl handle");
		return -1;
	}
	if (size <= S3_MAX_PART)
		st = s3_copy(cl, key, o->key);
	else if (spooling(o)) {
		st = s3_upload_fd(cl, key, o->fd, size, &stale);
		if (stale != NULL) {
			remember_stale(d, key, stale);
			free(stale);
		}
	} else {
		sink_seterr(err, "%s: %" PRIu64 " bytes are too many to copy in "
		    "one request, and nothing is spooled", nds_object_name(o->kind),
		    size);
		return -1;
	}
	health(s, st, cl->err);
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
static void
abort_upload(struct s3_obj *o)
{
	struct s3_dump *d = o->d;
	struct s3_client *cl;

	if (o->upload_id == NULL)
		return;
	if ((cl = dump_client(d)) == NULL ||
	    s3_mpu_abort(cl, o->key, o->upload_id) != S3_OK)
		remember_stale(d, o->key, o->upload_id);
	free(o->upload_id);
	o->upload_id = NULL;
}

/*
 * The spool file's bytes on disk for good, before a record may claim
 * them: once per object, when it closes, never per write. A failed
 * fdatasync is not asked again: the kernel reports a lost write once,
 * and a second call that succeeds proves nothing.
 */
static int
spool_sync(struct s3_obj *o, char *err)
{
	const struct s3_dump *d = o->d;
	const struct s3_sink *s = d->s;
	char ebuf[128];
	bool first = false;

	if (o->sync_err == 0 && fdatasync(o->fd) == -1) {
		o->sync_err = errno != 0 ? errno : EIO;
		first = true;
	}
	if (o->sync_err == 0)
		return 0;
	sink_seterr(err, "%s: %s/%s/%s: fdatasync: %s; not kept for a later "
	    "upload", nds_object_name(o->kind), s->spool_dir, d->token, o->file,
	    sink_errstr(o->sync_err, ebuf, sizeof(ebuf)));
	if (first)
		s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64 " from "
		    "%s: %s", d->dump->id, d->dump->client_addr, err);
	return -1;
}

/*
 * Leave the object, under key (its {name} is name), to the background
 * thread; 0, or -1 without a usable spool (why in err, when there is
 * one to tell). err may be why.
 */
static int
make_pending(struct s3_obj *o, const char *name, const char *key,
    uint64_t size, const char *why, char *err)
{
	struct s3_dump *d = o->d;
	struct s3_sink *s = d->s;
	struct s3_pend *p;
	char iname[NAME_LEN + sizeof(S3_INCOMPLETE)], ikey[S3_KEY_MAX + 1];
	size_t nlen = strlen(name), tlen = strlen(S3_INCOMPLETE);

	if (!spooling(o) || d->npend == S3_REC_MAXOBJ)
		return -1;
	if (spool_sync(o, err) == -1)
		return -1;
	p = &d->pend[d->npend];
	if ((p->key = strdup(key)) == NULL)
		return -1;
	/*
	 * Where the object goes if its spool file turns out short: the
	 * name an incomplete dump's object gets, from the key template.
	 * Without it (too long) the background thread appends the suffix.
	 */
	p->ikey = NULL;
	if (nlen >= tlen && strcmp(name + nlen - tlen, S3_INCOMPLETE) == 0)
		snprintf(iname, sizeof(iname), "%s", name);
	else
		snprintf(iname, sizeof(iname), "%s%s", name, S3_INCOMPLETE);
	if (make_key(d, iname, ikey) == 0 &&
	    strcmp(ikey, key) != 0 && (p->ikey = strdup(ikey)) == NULL) {
		free(p->key);
		p->key = NULL;
		return -1;
	}
	snprintf(p->file, sizeof(p->file), "%s", o->file);
	p->size = size;
	/* A manifest written after something went pending says so. */
	p->note = o->kind == NDS_OBJ_MANIFEST && d->npend > 0;
	d->npend++;
	if (why != NULL && !d->warned) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 " from "
		    "%s: %s; kept in %s/%s, uploaded when the store takes it",
		    d->dump->id, d->dump->client_addr, why, s->spool_dir,
		    d->token);
		d->warned = true;
	}
	return 0;
}

static void
obj_free(struct s3_obj *o, bool unlink_spool)
{
	if (o->fd != -1) {
		close(o->fd);
		if (unlink_spool)
			unlinkat(o->d->dirfd, o->file, 0);
	}
	free(o->upload_id);
	free(o->parts);
	free(o->cur);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->cond);
	free(o);
}

static enum nds_result
s3_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct s3_obj *o = object_state;
	struct s3_dump *d = o->d;
	struct s3_sink *s = d->s;
	const uint64_t size = object->size;
	char name[NAME_LEN], key[S3_KEY_MAX + 1], note[PATH_MAX + 64];
	char ebuf[128];
	bool keep = false, multipart;
	enum nds_result r = NDS_FAILED;
	enum s3_status st;

	where[0] = '\0';
	/* Parts may be on their way even when the object failed. */
	pthread_mutex_lock(&o->lock);
	while (o->inflight > 0 && o->failed)
		pthread_cond_wait(&o->cond, &o->lock);
	multipart = o->nsub > 0 || o->upload_id != NULL;
	pthread_mutex_unlock(&o->lock);
	if (o->failed) {
		obj_fail(o, err, "%s", o->err);
		abort_upload(o);
		goto out;
	}
	if (!suffix_ok(object->suffix)) {
		sink_seterr(err, "%s: suffix \"%.40s\" is not a file name suffix",
		    nds_object_name(o->kind), object->suffix);
		goto fail;
	}
	if (object_name(d, o->kind, object->suffix, name) == -1 ||
	    make_key(d, name, key) == -1) {
		sink_seterr(err, "%s: the object key would be empty or longer than "
		    "%d bytes", nds_object_name(o->kind), S3_KEY_MAX);
		goto fail;
	}
	if (size > INT64_MAX || (size > 0 &&
	    s3_part_count(s->conf.part_size, size) == 0)) {
		sink_seterr(err, "%s: %" PRIu64 " bytes do not fit in %u parts",
		    nds_object_name(o->kind), size, S3_MAX_PARTS);
		goto fail;
	}
	/* Cuts or extends the spool to the object's size; holes stay. */
	if (spooling(o) && ftruncate(o->fd, (off_t)size) == -1 &&
	    spool_stop(o, sink_errstr(errno, ebuf, sizeof(ebuf))) == -1) {
		sink_seterr(err, "%s: out of memory", nds_object_name(o->kind));
		goto fail;
	}
	pending_note(s, d->token, note, sizeof(note));

	/*
	 * The store looked down, or the dump's earlier objects wait (so
	 * that a manifest in the bucket never names an object not there).
	 */
	if ((!o->stream || d->npend > 0) && spooling(o) && !multipart) {
		if (make_pending(o, name, key, size, NULL, err) == 0) {
			keep = true;
			set_where(s, key, note, where);
			r = NDS_OK;
			goto out;
		}
	}

	if (!multipart && size <= s3_part_len(s->conf.part_size, 1)) {
		/* One PUT, from the spool or from the memory part. */
		struct s3_client *cl = dump_client(d);
		struct s3_src src = { .fd = -1, .len = size };

		if (spooling(o))
			src.fd = o->fd;
		else {
			if (o->curn > 1 || cur_reserve(o, (size_t)size) == -1) {
				sink_seterr(err, "%s: out of memory",
				    nds_object_name(o->kind));
				goto fail;
			}
			src.buf = o->cur;
		}
		if (cl == NULL) {
			sink_seterr(err, "cannot create a curl handle");
			st = S3_LOCAL;
		} else {
			st = s3_put(cl, key, &src);
			sink_seterr(err, "%s", cl->err);
			health(s, st, cl->err);
		}
		if (st == S3_OK)
			goto stored;
		if (make_pending(o, name, key, size, err, err) == 0) {
			keep = true;
			set_where(s, key, note, where);
			r = NDS_OK;
		}
		goto out;
	}

	if (finish_upload(o, size) == -1) {
		sink_seterr(err, "%s", o->up_err);
		abort_upload(o);
		if (make_pending(o, name, key, size, err, err) == 0) {
			keep = true;
			set_where(s, key, note, where);
			r = NDS_OK;
		}
		goto out;
	}
	if (strcmp(key, o->key) != 0 && move_object(o, key, size, err) == -1) {
		/* It is whole under the first key; better there than lost. */
		if (make_pending(o, name, key, size, err, err) == 0) {
			keep = true;
			set_where(s, key, note, where);
			r = NDS_OK;
			goto out;
		}
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": %s; "
		    "the %s stays under s3://%s/%s", d->dump->id, err,
		    nds_object_name(o->kind), s->conf.bucket, o->key);
		snprintf(key, sizeof(key), "%s", o->key);
	}
stored:
	if ((o->kind == NDS_OBJ_VMCORE || o->kind == NDS_OBJ_ARCHIVE) &&
	    d->dump->status == NDS_STATUS_COMPLETE) {
		pthread_mutex_lock(&s->lock);
		snprintf(s->guess[o->kind], NAME_LEN, "%s", name);
		pthread_mutex_unlock(&s->lock);
	}
	set_where(s, key, "", where);
	err[0] = '\0';
	r = NDS_OK;
	goto out;
fail:
	abort_upload(o);
out:
	obj_free(o, !keep);
	return r;
}

/* ----------------------------------------------------- open and begin */

static enum nds_result
s3_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct s3_dump *d = dump_state;
	struct s3_sink *s = d->s;
	struct s3_obj *o;
	char name[NAME_LEN], ebuf[128];

	*object_state = NULL;
	if ((unsigned)kind >= NKINDS) {
		sink_seterr(err, "unknown object kind %d", (int)kind);
		return NDS_FAILED;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	o->d = d;
	o->kind = kind;
	o->fd = -1;
	o->spool_end = 0;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);

	/*
	 * The key the upload starts under: the final one for the small
	 * objects, the one a complete dump got last time for the others.
	 */
	if (kind == NDS_OBJ_VMCORE || kind == NDS_OBJ_ARCHIVE) {
		pthread_mutex_lock(&s->lock);
		snprintf(name, sizeof(name), "%s", s->guess[kind]);
		pthread_mutex_unlock(&s->lock);
	} else if (object_name(d, kind, NULL, name) == -1)
		goto toolong;
	if (make_key(d, name, o->key) == -1)
		goto toolong;

	if (d->dirfd != -1) {
		snprintf(o->file, sizeof(o->file), "%u-%s", ++d->seq,
		    nds_object_name(kind));
		o->fd = openat(d->dirfd, o->file, O_RDWR | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (o->fd == -1)
			s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64
			    ": %s/%s/%s: %s; not spooled", d->dump->id,
			    s->spool_dir, d->token, o->file,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
		else
			o->spool_end = UINT64_MAX;
	}
	/* Without a spool the object can only stream. */
	o->stream = !(d->spool_only && spooling(o));
	*object_state = o;
	return NDS_OK;
toolong:
	sink_seterr(err, "%s: the object key would be empty or longer than %d "
	    "bytes", nds_object_name(kind), S3_KEY_MAX);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->cond);
	free(o);
	return NDS_FAILED;
}

static void
random_hex(char *buf, size_t len)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)time(NULL) ^ (uint32_t)getpid() ^
		    (uint32_t)(uintptr_t)buf;
	snprintf(buf, len, "%08" PRIx32, r);
}

/*
 * The dump's spool folder, locked while the dump runs. It is made under
 * a hidden name and renamed once locked, so the background thread never
 * sees it unlocked and without a record (which would look like an
 * orphan).
 */
static void
spool_begin(struct s3_dump *d)
{
	struct s3_sink *s = d->s;
	char rnd[12], tmp[S3_TOKEN_MAX + 2], ebuf[128];

	if (!s->spool)
		return;
	if (!spool_room(s, s->spool_fd)) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": "
		    "free space in %s is below spool_min_free; not spooled, "
		    "sent straight to the store", d->dump->id, s->spool_dir);
		return;
	}
	random_hex(rnd, sizeof(rnd));
	snprintf(d->token, sizeof(d->token), "%s-%s-%s", d->date, d->id, rnd);
	snprintf(tmp, sizeof(tmp), ".%s", d->token);
	if (mkdirat(s->spool_fd, tmp, 0700) == -1 ||
	    (d->dirfd = openat(s->spool_fd, tmp, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (d->lockfd = openat(d->dirfd, "lock", O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1 ||
	    flock(d->lockfd, LOCK_EX) == -1 ||
	    renameat(s->spool_fd, tmp, s->spool_fd, d->token) == -1) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": "
		    "%s/%s: %s; not spooled", d->dump->id, s->spool_dir,
		    d->token, sink_errstr(errno, ebuf, sizeof(ebuf)));
		if (d->lockfd != -1)
			close(d->lockfd);
		if (d->dirfd != -1) {
			unlinkat(d->dirfd, "lock", 0);
			close(d->dirfd);
		}
		unlinkat(s->spool_fd, tmp, AT_REMOVEDIR);
		d->lockfd = d->dirfd = -1;
	}
}

static enum nds_result
s3_begin(void *instance, const struct nds_dump *dump, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct s3_sink *s = instance;
	struct s3_dump *d;
	struct tm tm;

	*dump_state = NULL;
	if (dump == NULL || dump->magic != NDS_DUMP_MAGIC ||
	    dump->struct_size < sizeof(*dump)) {
		sink_seterr(err, "bad dump descriptor");
		return NDS_FAILED;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	d->s = s;
	d->dump = dump;
	d->dirfd = d->lockfd = -1;
	if (gmtime_r(&dump->start.tv_sec, &tm) == NULL ||
	    strftime(d->date, sizeof(d->date), "%Y%m%dT%H%M%SZ", &tm) == 0 ||
	    strftime(d->day, sizeof(d->day), "%Y-%m-%d", &tm) == 0) {
		sink_seterr(err, "cannot format the dump time");
		free(d);
		return NDS_FAILED;
	}
	snprintf(d->id, sizeof(d->id), "%" PRIu64, dump->id);
	spool_begin(d);
	/* While the store looks down, spool only: no network at all. */
	d->spool_only = d->dirfd != -1 && atomic_load(&s->down);
	if (pool_ensure(s) == 0) {
		/* Nobody to send parts: the background thread will. */
		if (d->dirfd == -1) {
			sink_seterr(err, "no upload thread could be started, and "
			    "nothing can be spooled");
			free(d);
			return NDS_FAILED;
		}
		d->spool_only = true;
	}
	*dump_state = d;
	return NDS_OK;
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
static int
record_store(int dirfd, const struct s3_record *rec)
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

static int
write_record(struct s3_dump *d, char *err)
{
	struct s3_sink *s = d->s;
	struct s3_record rec = { 0 };
	char ebuf[128];
	unsigned i;

	rec.endpoint = s->conf.endpoint;
	rec.bucket = s->conf.bucket;
	rec.dump_id = d->dump->id;
	snprintf(rec.client, sizeof(rec.client), "%s", d->dump->client_addr);
	rec.since = (int64_t)time(NULL);
	for (i = 0; i < d->npend; i++) {
		snprintf(rec.obj[i].file, sizeof(rec.obj[i].file), "%s",
		    d->pend[i].file);
		rec.obj[i].key = d->pend[i].key;
		rec.obj[i].ikey = d->pend[i].ikey;
		rec.obj[i].size = d->pend[i].size;
		rec.obj[i].note = d->pend[i].note;
	}
	rec.nobj = d->npend;
	for (i = 0; i < d->nstale; i++)
		rec.stale[i] = d->stale[i];
	rec.nstale = d->nstale;
	/*
	 * The spool files were synced when they closed (make_pending); the
	 * record follows them, and last the folder's own name in spool_dir
	 * (it was renamed there at begin), or a crash could hide the folder
	 * under its temporary name.
	 */
	if (record_store(d->dirfd, &rec) == -1 || fsync(s->spool_fd) == -1) {
		sink_seterr(err, "%s/%s/pending: %s", s->spool_dir, d->token,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	return 0;
}

static enum nds_result
s3_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct s3_dump *d = dump_state;
	struct s3_sink *s = d->s;
	enum nds_result r = NDS_OK;
	unsigned i;

	if (d->npend > 0 || d->nstale > 0) {
		if (d->dirfd == -1 || write_record(d, err) == -1) {
			if (d->dirfd == -1)
				sink_seterr(err, "uploads to abort, and no spool "
				    "to remember them in");
			r = NDS_FAILED;
		} else {
			pthread_mutex_lock(&s->bglock);
			s->bg_rescan = true;
			pthread_cond_signal(&s->bgcond);
			pthread_mutex_unlock(&s->bglock);
		}
	}
	if (d->dirfd != -1) {
		/* Everything went: the (empty) folder goes too. */
		if (r == NDS_OK && d->npend == 0 && d->nstale == 0) {
			unlinkat(d->dirfd, "lock", 0);
			unlinkat(s->spool_fd, d->token, AT_REMOVEDIR);
		}
		/* Now the background thread may have it. */
		close(d->lockfd);
		close(d->dirfd);
	}
	for (i = 0; i < d->npend; i++) {
		free(d->pend[i].key);
		free(d->pend[i].ikey);
	}
	for (i = 0; i < d->nstale; i++) {
		free(d->stale[i].key);
		free(d->stale[i].id);
	}
	if (d->cl_ready)
		s3_client_fini(&d->cl);
	free(d);
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
		    "upload them under (%s)", s->spool_dir, token, ro->file,
		    have, claimed, ebuf);
		if (say)
			s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64
			    " from %s: spool file %s/%s/%s holds %" PRIu64
			    " bytes, its pending record says %" PRIu64 ", and "
			    "s3://%s/%s has no incomplete name to go to (%s): "
			    "nothing uploaded, the spool and its record are "
			    "kept", rec->dump_id, rec->client, s->spool_dir,
			    token, ro->file, have, claimed, s->conf.bucket,
			    was, ebuf);
		return -1;
	}
	s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64 " from %s: spool "
	    "file %s/%s/%s holds %" PRIu64 " bytes, its pending record says "
	    "%" PRIu64 ": bytes were lost after they were received; the %"
	    PRIu64 " bytes there are go to s3://%s/%s, nothing to s3://%s/%s",
	    rec->dump_id, rec->client, s->spool_dir, token, ro->file, have,
	    ro->expected, have, s->conf.bucket, ro->key, s->conf.bucket, was);
	/* If this fails, the next try finds the cut and says it again. */
	(void)record_store(dirfd, rec);
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
		pending_note(s, token, note, sizeof(note));
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
		snprintf(cl->err, sizeof(cl->err), "%s/%s/%s: %s", s->spool_dir,
		    token, ro->file, sink_errstr(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if ((uint64_t)sb.st_size < ro->size) {
		if (spool_cut(s, cl, dirfd, token, rec, ro,
		    (uint64_t)sb.st_size, say) == -1)
			goto out;
	} else if ((uint64_t)sb.st_size > ro->size)
		s->host->log(s->ctx, NDS_LOG_WARNING, "%s/%s/%s: %" PRIu64
		    " bytes, the record says %" PRIu64 "; uploading %" PRIu64,
		    s->spool_dir, token, ro->file, (uint64_t)sb.st_size,
		    ro->size, ro->size);
	/* Exact: a file cut while it goes fails, and is looked at again. */
	st = s3_upload_fd(cl, ro->key, fd, ro->size, &stale);
	if (stale != NULL) {
		if (s3_record_add_stale(rec, ro->key, stale) == 0)
			record_store(dirfd, rec);
		free(stale);
	}
out:
	close(fd);
	return st;
nofile:
	*gone = errno == ENOENT;
	snprintf(cl->err, sizeof(cl->err), "%s/%s/%s: %s", s->spool_dir,
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

static enum bg_result
bg_folder(struct s3_sink *s, struct s3_client *cl, struct s3_folder *f)
{
	struct s3_record rec;
	enum bg_result res = BG_RETRY;
	enum s3_status st = S3_OK;
	char perr[128], ebuf[128], *text = NULL;
	size_t len;
	unsigned i;
	int dirfd, lockfd = -1;

	if ((dirfd = openat(s->spool_fd, f->name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? BG_DONE : BG_IGNORE;
	if ((lockfd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		res = BG_IGNORE;
		goto out;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
		res = BG_BUSY;
		goto out;
	}
	if ((text = read_small(dirfd, "pending", RECORD_MAX, &len)) == NULL) {
		res = errno == ENOENT ? BG_ORPHAN : BG_IGNORE;
		goto out;
	}
	if (s3_record_parse(text, len, &rec, perr, sizeof(perr)) == -1) {
		if (!f->ignore)
			s->host->log(s->ctx, NDS_LOG_ERR, "%s/%s/pending: %s; "
			    "left alone", s->spool_dir, f->name, perr);
		res = BG_IGNORE;
		goto out;
	}
	if (strcmp(rec.endpoint, s->conf.endpoint) != 0 ||
	    strcmp(rec.bucket, s->conf.bucket) != 0) {
		/* Another sink's (or another configuration's). */
		res = BG_IGNORE;
		goto outrec;
	}
	for (i = 0; i < rec.nstale && st == S3_OK;) {
		st = s3_mpu_abort(cl, rec.stale[i].key, rec.stale[i].id);
		if (st == S3_OK) {
			s3_record_del_stale(&rec, i);
			record_store(dirfd, &rec);
		} else
			i++;
	}
	for (i = 0; i < rec.nobj && st == S3_OK; i++) {
		struct s3_rec_obj *ro = &rec.obj[i];
		bool gone = false;

		if (ro->done)
			continue;
		st = upload_pending(s, cl, dirfd, f->name, &rec, ro,
		    f->tries == 0, &gone);
		if (st == S3_LOCAL && gone) {
			/* Nothing to send any more: say so, go on. */
			s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64
			    " from %s: %s; s3://%s/%s is lost", rec.dump_id,
			    rec.client, cl->err, s->conf.bucket, ro->key);
			st = S3_OK;
		} else if (st != S3_OK)
			break;
		else if (ro->expected != 0)
			s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64
			    " from %s: uploaded s3://%s/%s (pending since %"
			    PRId64 " s), only %" PRIu64 " of %" PRIu64
			    " bytes: the spool had lost the rest", rec.dump_id,
			    rec.client, s->conf.bucket, ro->key,
			    (int64_t)time(NULL) - rec.since, ro->size,
			    ro->expected);
		else
			s->host->log(s->ctx, NDS_LOG_NOTICE, "dump %" PRIu64
			    " from %s: uploaded s3://%s/%s (pending since %"
			    PRId64 " s)", rec.dump_id, rec.client,
			    s->conf.bucket, ro->key,
			    (int64_t)time(NULL) - rec.since);
		ro->done = true;
		record_store(dirfd, &rec);
		unlinkat(dirfd, ro->file, 0);
	}
	health(s, st, cl->err);
	if (st != S3_OK) {
		if (st != S3_STOPPED && f->tries == 0)
			s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64
			    " from %s, spooled in %s/%s: %s; will try again",
			    rec.dump_id, rec.client, s->spool_dir, f->name,
			    cl->err);
		goto outrec;
	}
	if (unlinkat(dirfd, "pending", 0) == -1 && errno != ENOENT)
		s->host->log(s->ctx, NDS_LOG_WARNING, "%s/%s/pending: %s",
		    s->spool_dir, f->name, sink_errstr(errno, ebuf, sizeof(ebuf)));
	unlinkat(dirfd, "lock", 0);
	unlinkat(s->spool_fd, f->name, AT_REMOVEDIR);
	res = BG_DONE;
outrec:
	s3_record_free(&rec);
out:
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

static void *
bg_main(void *arg)
{
	struct s3_sink *s = arg;
	struct s3_client cl;
	struct s3_folder *f, **fp;
	struct timespec now, wake, rescan;
	bool ready;

	ready = s3_client_init(&cl, &s->conf, &s->bg_stop) == 0;
	/* A short grace: a forked child that is about to exec goes first. */
	mono_now(&wake);
	ts_add_ms(&wake, START_GRACE_MS);
	pthread_mutex_lock(&s->bglock);
	while (!atomic_load(&s->bg_stop) &&
	    pthread_cond_timedwait(&s->bgcond, &s->bglock, &wake) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->bglock);
	mono_now(&rescan);

	while (!atomic_load(&s->bg_stop)) {
		bool now_all, scan;

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

		for (fp = &s->folders; (f = *fp) != NULL &&
		    !atomic_load(&s->bg_stop);) {
			enum bg_result res;

			mono_now(&now);
			if (f->ignore || ts_before(&now, &f->due)) {
				fp = &f->next;
				continue;
			}
			if (!ready && s3_client_init(&cl, &s->conf,
			    &s->bg_stop) == 0)
				ready = true;
			res = ready ? bg_folder(s, &cl, f) : BG_RETRY;
			s->host->log(s->ctx, NDS_LOG_DEBUG, "%s/%s: %s",
			    s->spool_dir, f->name, res == BG_DONE ? "done" :
			    res == BG_RETRY ? "to try again" : res == BG_BUSY ?
			    "busy" : res == BG_IGNORE ? "ignored" : "orphan");
			switch (res) {
			case BG_DONE:
				*fp = f->next;
				free(f);
				continue;
			case BG_RETRY:
				f->tries++;
				f->due = now;
				ts_add_ms(&f->due, bg_delay_ms(s, f));
				break;
			case BG_BUSY:
				/* A dump still running, most likely. */
				f->due = now;
				ts_add_ms(&f->due, 5000);
				break;
			case BG_ORPHAN:
				if (!f->orphan_said)
					s->host->log(s->ctx, NDS_LOG_WARNING,
					    "%s/%s has no pending record (left "
					    "by a crash?); not uploaded",
					    s->spool_dir, f->name);
				f->orphan_said = true;
				f->due = now;
				ts_add_ms(&f->due, RESCAN_SECS * 1000);
				break;
			case BG_IGNORE:
				f->ignore = true;
				break;
			}
			fp = &f->next;
		}

		/* Sleep until the next folder is due, or someone calls. */
		wake = rescan;
		for (f = s->folders; f != NULL; f = f->next)
			if (!f->ignore && ts_before(&f->due, &wake))
				wake = f->due;
		pthread_mutex_lock(&s->bglock);
		while (!atomic_load(&s->bg_stop) && !s->bg_now &&
		    !s->bg_rescan && pthread_cond_timedwait(&s->bgcond,
		    &s->bglock, &wake) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&s->bglock);
	}
	if (ready)
		s3_client_fini(&cl);
	while ((f = s->folders) != NULL) {
		s->folders = f->next;
		free(f);
	}
	return NULL;
}

/* With bglock held. */
static int
bg_start_locked(struct s3_sink *s)
{
	int e;

	atomic_store(&s->bg_stop, false);
	if ((e = spawn(&s->bgthread, bg_main, s)) != 0)
		return e;
	s->bg_running = true;
	return 0;
}

static void
fork_prepare(void)
{
	struct s3_sink *s;

	pthread_mutex_lock(&g_lock);
	for (s = g_sinks; s != NULL; s = s->next)
		pthread_mutex_lock(&s->bglock);
}

static void
fork_parent(void)
{
	struct s3_sink *s;

	for (s = g_sinks; s != NULL; s = s->next)
		pthread_mutex_unlock(&s->bglock);
	pthread_mutex_unlock(&g_lock);
}

/*
 * Only the forking thread lives on in the child: start the background
 * thread again (the daemon forks after it created its sinks). The old
 * thread's folder list is taken over: the daemon forks within its first
 * second, before the thread has touched it, and any other child (a hook
 * on its way to exec) is gone before the new thread's grace is over.
 */
static void
fork_child(void)
{
	struct s3_sink *s;

	for (s = g_sinks; s != NULL; s = s->next) {
		if (s->bg_running) {
			s->bg_running = false;
			s->bg_rescan = true;
			(void)bg_start_locked(s);
		}
		pthread_mutex_unlock(&s->bglock);
	}
	pthread_mutex_unlock(&g_lock);
}

static void
once_init(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* ------------------------------------------------- create and destroy */

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * Credentials from an AWS-style credentials file: the [profile] section's
 * aws_access_key_id, aws_secret_access_key and aws_session_token. What is
 * read is wiped from the stack.
 */
static int
read_credentials(struct s3_sink *s, const char *path, const char *profile,
    char *err)
{
	struct s3_conf *c = &s->conf;
	char line[2048], ebuf[128], *name, *value, *eq;
	bool in = false;
	struct stat sb;
	FILE *fp;
	int r = -1;

	if ((fp = fopen(path, "re")) == NULL) {
		sink_seterr(err, "credentials_file %s: %s", path,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & 077) != 0)
		s->host->log(s->ctx, NDS_LOG_WARNING, "credentials_file %s "
		    "can be read by others (mode %03o)", path,
		    (unsigned)(sb.st_mode & 0777));
	while (fgets(line, sizeof(line), fp) != NULL) {
		name = trim(line);
		if (*name == '#' || *name == ';' || *name == '\0')
			continue;
		if (*name == '[') {
			char *close = strchr(name, ']');

			if (close != NULL)
				*close = '\0';
			in = strcmp(trim(name + 1), profile) == 0;
			continue;
		}
		if (!in || (eq = strchr(name, '=')) == NULL)
			continue;
		*eq = '\0';
		value = trim(eq + 1);
		name = trim(name);
		if (strcmp(name, "aws_access_key_id") == 0) {
			free(c->access_key);
			c->access_key = strdup(value);
		} else if (strcmp(name, "aws_secret_access_key") == 0) {
			if (c->secret_key != NULL)
				explicit_bzero(c->secret_key,
				    strlen(c->secret_key));
			free(c->secret_key);
			c->secret_key = strdup(value);
		} else if (strcmp(name, "aws_session_token") == 0) {
			if (c->session_token != NULL)
				explicit_bzero(c->session_token,
				    strlen(c->session_token));
			free(c->session_token);
			c->session_token = strdup(value);
		}
	}
	explicit_bzero(line, sizeof(line));
	if (ferror(fp))
		sink_seterr(err, "credentials_file %s: read error", path);
	else if (c->access_key == NULL || c->secret_key == NULL ||
	    c->access_key[0] == '\0' || c->secret_key[0] == '\0')
		sink_seterr(err, "credentials_file %s: no aws_access_key_id and "
		    "aws_secret_access_key in [%s]", path, profile);
	else
		r = 0;
	fclose(fp);
	return r;
}

static int
env_credentials(struct s3_conf *c, char *err)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	if (id == NULL || secret == NULL || *id == '\0' || *secret == '\0') {
		sink_seterr(err, "no credentials: set AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY in the environment, or "
		    "credentials_file");
		return -1;
	}
	if ((c->access_key = strdup(id)) == NULL ||
	    (c->secret_key = strdup(secret)) == NULL ||
	    (token != NULL && *token != '\0' &&
	    (c->session_token = strdup(token)) == NULL)) {
		sink_seterr(err, "out of memory");
		return -1;
	}
	return 0;
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Bucket names as S3 allows them; virtual hosts need DNS labels. */
static bool
bucket_ok(const char *b, bool path_style)
{
	const char *p;
	size_t n = strlen(b);

	if (n < 3 || n > 255 || !printable(b) || strchr(b, '/') != NULL)
		return false;
	if (path_style)
		return true;
	if (n > 63)
		return false;
	for (p = b; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.'))
			return false;
	return true;
}

/* Endpoint and bucket into the bucket's URL. */
static int
setup_url(struct s3_sink *s, const char *endpoint, bool path_style,
    char *err)
{
	struct s3_conf *c = &s->conf;
	const char *host;
	char *enc = NULL;
	size_t n, elen;

	if ((c->endpoint = strdup(endpoint)) == NULL)
		goto nomem;
	/* "https://host[:port]" and at most a '/' after it. */
	n = strlen(c->endpoint);
	while (n > 0 && c->endpoint[n - 1] == '/')
		c->endpoint[--n] = '\0';
	if (strncmp(c->endpoint, "http://", 7) == 0)
		host = c->endpoint + 7;
	else if (strncmp(c->endpoint, "https://", 8) == 0)
		host = c->endpoint + 8;
	else {
		sink_seterr(err, "endpoint: \"%s\" is not an http:// or https:// "
		    "URL", endpoint);
		return -1;
	}
	if (*host == '\0' || strpbrk(host, "/?#@") != NULL ||
	    !printable(c->endpoint)) {
		sink_seterr(err, "endpoint: \"%s\" must be scheme://host[:port], "
		    "without a path", endpoint);
		return -1;
	}
	if (!bucket_ok(c->bucket, path_style)) {
		sink_seterr(err, "bucket: \"%s\" is not a valid bucket name%s",
		    c->bucket, path_style ? "" : " for virtual-hosted "
		    "addressing (lower case, digits, '-' and '.'; or set "
		    "path_style)");
		return -1;
	}
	elen = 3 * strlen(c->bucket) + 1;
	if ((enc = malloc(elen)) == NULL ||
	    s3_uri_encode(c->bucket, false, enc, elen) == -1)
		goto nomem;
	n = strlen(c->endpoint) + elen + 8;
	if ((c->base = malloc(n)) == NULL)
		goto nomem;
	if (path_style)
		snprintf(c->base, n, "%s/%s", c->endpoint, enc);
	else
		snprintf(c->base, n, "%.*s%s.%s", (int)(host - c->endpoint),
		    c->endpoint, c->bucket, host);
	n = strlen(enc) + 3;
	if ((c->copy_prefix = malloc(n)) == NULL)
		goto nomem;
	snprintf(c->copy_prefix, n, "/%s/", enc);
	free(enc);
	return 0;
nomem:
	free(enc);
	sink_seterr(err, "out of memory");
	return -1;
}

static void
sink_free(struct s3_sink *s)
{
	struct s3_conf *c = &s->conf;

	if (c->secret_key != NULL)
		explicit_bzero(c->secret_key, strlen(c->secret_key));
	if (c->session_token != NULL)
		explicit_bzero(c->session_token, strlen(c->session_token));
	free(c->endpoint);
	free(c->bucket);
	free(c->base);
	free(c->copy_prefix);
	free(c->access_key);
	free(c->secret_key);
	free(c->session_token);
	free(c->ca_file);
	free(s->tmpl);
	free(s->prefix);
	free(s->collector);
	free(s->spool_dir);
	free(s->threads);
	if (s->spool_fd != -1)
		close(s->spool_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->bglock);
	pthread_cond_destroy(&s->bgcond);
	free(s);
}

/*
 * Give a folder the owner of the one above it. The daemon creates its
 * sinks as root and drops to its own user later; the dump directory (the
 * spool's usual parent) is that user's.
 */
static void
chown_like_parent(const char *dir)
{
	char parent[PATH_MAX], *slash;
	struct stat sb;

	if (geteuid() != 0 || snprintf(parent, sizeof(parent), "%s", dir) >=
	    (int)sizeof(parent) || (slash = strrchr(parent, '/')) == NULL)
		return;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	/* Best effort: a spool the user cannot write is reported later. */
	if (stat(parent, &sb) == 0 && chown(dir, sb.st_uid, sb.st_gid) == -1)
		return;
}

/*
 * Make the name of a folder just created last: a spool that vanished in
 * a crash would take the dumps in it along. Best effort; a failure shows
 * in the records' own syncs.
 */
static void
sync_parent(const char *dir)
{
	char parent[PATH_MAX], *slash;
	int fd;

	if (snprintf(parent, sizeof(parent), "%s", dir) >=
	    (int)sizeof(parent) || (slash = strrchr(parent, '/')) == NULL)
		return;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	(void)fsync(fd);
	close(fd);
}

/* mkdir -p, mode 0700 for what it creates. */
static int
mkdirs(const char *path)
{
	char buf[PATH_MAX], *p, c;
	size_t n;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) == 0) {
			chown_like_parent(buf);
			sync_parent(buf);
		} else if (errno != EEXIST)
			return -1;
		if (c == '\0')
			break;
		*p = c;
	}
	return 0;
}

static enum nds_result
s3_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const struct nds_optval *v, void **instance, char err[NDS_ERRBUF_SIZE])
{
	struct s3_sink *s;
	struct s3_conf *c;
	pthread_condattr_t ca;
	char endpoint[512], hostname[256], ebuf[128];
	const char *region;
	bool curl_ok = false;

	*instance = NULL;
	if (host == NULL || host->abi_major != NDS_ABI_MAJOR ||
	    host->struct_size < offsetof(struct nds_host, log) +
	    sizeof(host->log) || host->log == NULL) {
		sink_seterr(err, "unsupported host interface");
		return NDS_FATAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FATAL;
	}
	c = &s->conf;
	s->host = host;
	s->ctx = ctx;
	s->spool_fd = -1;
	s->jobs_tail = &s->jobs;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_mutex_init(&s->bglock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->bgcond, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(s->guess[NDS_OBJ_VMCORE], NAME_LEN, "vmcore");
	snprintf(s->guess[NDS_OBJ_ARCHIVE], NAME_LEN, "dump");

	region = v[OPT_REGION].str != NULL ? v[OPT_REGION].str : "us-east-1";
	if (*region == '\0' || !printable(region) || strchr(region, ':') ||
	    snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:s3", region) >=
	    (int)sizeof(c->sigv4)) {
		sink_seterr(err, "region: \"%s\" is not a region name", region);
		goto fail;
	}
	if (v[OPT_BUCKET].str == NULL || v[OPT_BUCKET].str[0] == '\0') {
		sink_seterr(err, "bucket: required");
		goto fail;
	}
	if ((c->bucket = strdup(v[OPT_BUCKET].str)) == NULL)
		goto nomem;
	if (v[OPT_ENDPOINT].str != NULL && v[OPT_ENDPOINT].str[0] != '\0')
		snprintf(endpoint, sizeof(endpoint), "%s",
		    v[OPT_ENDPOINT].str);
	else
		snprintf(endpoint, sizeof(endpoint),
		    "https://s3.%s.amazonaws.com", region);
	if (setup_url(s, endpoint, v[OPT_PATH_STYLE].num != 0, err) == -1)
		goto fail;

	s->tmpl = strdup(v[OPT_KEY_TEMPLATE].str != NULL ?
	    v[OPT_KEY_TEMPLATE].str : DEFAULT_TEMPLATE);
	s->prefix = strdup(v[OPT_PREFIX].str != NULL ? v[OPT_PREFIX].str : "");
	if (s->tmpl == NULL || s->prefix == NULL)
		goto nomem;
	if (s3_template_check(s->tmpl, err, NDS_ERRBUF_SIZE) == -1)
		goto fail;
	if (v[OPT_COLLECTOR].str != NULL && v[OPT_COLLECTOR].str[0] != '\0')
		s->collector = strdup(v[OPT_COLLECTOR].str);
	else {
		if (gethostname(hostname, sizeof(hostname)) == -1 ||
		    hostname[0] == '\0')
			snprintf(hostname, sizeof(hostname), "collector");
		hostname[sizeof(hostname) - 1] = '\0';
		s->collector = strdup(hostname);
	}
	if (s->collector == NULL)
		goto nomem;

	if (v[OPT_CREDENTIALS_FILE].str != NULL &&
	    v[OPT_CREDENTIALS_FILE].str[0] != '\0') {
		if (read_credentials(s, v[OPT_CREDENTIALS_FILE].str,
		    v[OPT_PROFILE].str != NULL ? v[OPT_PROFILE].str :
		    "default", err) == -1)
			goto fail;
	} else if (env_credentials(c, err) == -1)
		goto fail;
	if (strchr(c->access_key, ':') != NULL || !printable(c->access_key)) {
		sink_seterr(err, "the access key id has characters no access key "
		    "id has");
		goto fail;
	}
	if (v[OPT_CA_FILE].str != NULL && v[OPT_CA_FILE].str[0] != '\0' &&
	    (c->ca_file = strdup(v[OPT_CA_FILE].str)) == NULL)
		goto nomem;
	c->verify = v[OPT_VERIFY].num != 0;
	c->part_size = (uint64_t)v[OPT_PART_SIZE].num;
	c->connect_timeout = (long)v[OPT_CONNECT_TIMEOUT].num;
	c->stall_timeout = (long)v[OPT_STALL_TIMEOUT].num;
	c->retries = (unsigned)v[OPT_RETRIES].num;
	s->max_inflight = (unsigned)v[OPT_MAX_INFLIGHT].num;
	s->nthreads = (unsigned)v[OPT_UPLOAD_THREADS].num;
	s->retry_interval = (unsigned)v[OPT_RETRY_INTERVAL].num;
	s->retry_max = (unsigned)v[OPT_RETRY_MAX_INTERVAL].num;
	if (s->retry_max < s->retry_interval)
		s->retry_max = s->retry_interval;
	s->min_free = (uint64_t)v[OPT_SPOOL_MIN_FREE].num;
	if (c->part_size < S3_MIN_PART || c->part_size > S3_MAX_PART) {
		sink_seterr(err, "part_size: from 5M to 5G");
		goto fail;
	}
	if ((s->threads = calloc(s->nthreads, sizeof(*s->threads))) == NULL)
		goto nomem;

	s->spool = v[OPT_SPOOL].num != 0;
	if (s->spool) {
		const char *dir = v[OPT_SPOOL_DIR].str;

		if (dir == NULL || dir[0] != '/') {
			sink_seterr(err, "spool_dir: \"%s\" is not an absolute path",
			    dir != NULL ? dir : "");
			goto fail;
		}
		if ((s->spool_dir = strdup(dir)) == NULL)
			goto nomem;
		if (mkdirs(dir) == -1 || (s->spool_fd = open(dir, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) == -1 ||
		    faccessat(s->spool_fd, ".", W_OK | X_OK, AT_EACCESS) ==
		    -1) {
			sink_seterr(err, "spool_dir %s: %s", dir,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
			goto fail;
		}
	}

	pthread_once(&g_once, once_init);
	pthread_mutex_lock(&g_lock);
	if (g_curl_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		pthread_mutex_unlock(&g_lock);
		sink_seterr(err, "curl_global_init failed");
		goto fail;
	}
	g_curl_users++;
	curl_ok = true;
	s->next = g_sinks;
	g_sinks = s;
	pthread_mutex_lock(&s->bglock);
	if (s->spool && bg_start_locked(s) != 0) {
		pthread_mutex_unlock(&s->bglock);
		pthread_mutex_unlock(&g_lock);
		sink_seterr(err, "cannot start the background upload thread");
		goto fail;
	}
	pthread_mutex_unlock(&s->bglock);
	pthread_mutex_unlock(&g_lock);
	*instance = s;
	return NDS_OK;
nomem:
	sink_seterr(err, "out of memory");
fail:
	if (curl_ok) {
		struct s3_sink **sp;

		pthread_mutex_lock(&g_lock);
		for (sp = &g_sinks; *sp != NULL; sp = &(*sp)->next)
			if (*sp == s) {
				*sp = s->next;
				break;
			}
		if (--g_curl_users == 0)
			curl_global_cleanup();
		pthread_mutex_unlock(&g_lock);
	}
	sink_free(s);
	return NDS_FATAL;
}

static void
s3_destroy(void *instance)
{
	struct s3_sink *s = instance, **sp;
	bool join;

	if (s == NULL)
		return;
	pthread_mutex_lock(&g_lock);
	for (sp = &g_sinks; *sp != NULL; sp = &(*sp)->next)
		if (*sp == s) {
			*sp = s->next;
			break;
		}
	pthread_mutex_unlock(&g_lock);

	pthread_mutex_lock(&s->bglock);
	join = s->bg_running;
	atomic_store(&s->bg_stop, true);
	pthread_cond_signal(&s->bgcond);
	pthread_mutex_unlock(&s->bglock);
	if (join)
		pthread_join(s->bgthread, NULL);
	pool_stop(s);

	pthread_mutex_lock(&g_lock);
	if (--g_curl_users == 0)
		curl_global_cleanup();
	pthread_mutex_unlock(&g_lock);
	sink_free(s);
}

static const struct nds_option s3_options[] = {
	{ "endpoint", NDS_OPT_STRING, NULL, NULL, 0, 0,
	    "URL of the store, scheme://host[:port] (default: AWS S3 of "
	    "the region)" },
	{ "region", NDS_OPT_STRING, "us-east-1", NULL, 0, 0,
	    "region the requests are signed for" },
	{ "bucket", NDS_OPT_STRING, NULL, NULL, 0, 0,
	    "bucket to store in (required)" },
	{ "prefix", NDS_OPT_STRING, "", NULL, 0, 0,
	    "text for {prefix} in key_template, e.g. \"crash/\"" },
	{ "path_style", NDS_OPT_BOOL, "no", NULL, 0, 0,
	    "address the bucket as endpoint/bucket (Ceph RGW, MinIO), not "
	    "bucket.host" },
	{ "key_template", NDS_OPT_STRING, DEFAULT_TEMPLATE, NULL, 0, 0,
	    "object keys: {prefix} {collector} {path} {client} {addr} "
	    "{date} {day} {id} {name}" },
	{ "collector", NDS_OPT_STRING, NULL, NULL, 0, 0,
	    "this collector's name for {collector} (default: host name)" },
	{ "credentials_file", NDS_OPT_STRING, NULL, NULL, 0, 0,
	    "AWS-style credentials file (default: AWS_ACCESS_KEY_ID and "
	    "AWS_SECRET_ACCESS_KEY)" },
	{ "profile", NDS_OPT_STRING, "default", NULL, 0, 0,
	    "section of credentials_file to use" },
	{ "ca_file", NDS_OPT_STRING, NULL, NULL, 0, 0,
	    "CA certificates to verify the endpoint with (default: the "
	    "system's)" },
	{ "verify", NDS_OPT_BOOL, "yes", NULL, 0, 0,
	    "verify the endpoint's TLS certificate and host name" },
	{ "part_size", NDS_OPT_SIZE, "8M", NULL, 5LL << 20, 5LL << 30,
	    "multipart part size; doubles every 1000 parts" },
	{ "max_inflight_parts", NDS_OPT_INT, "4", NULL, 1, 64,
	    "parts of one object on their way at once" },
	{ "upload_threads", NDS_OPT_INT, "4", NULL, 1, 64,
	    "upload threads of this sink, shared by its dumps" },
	{ "connect_timeout", NDS_OPT_INT, "10", NULL, 1, 600,
	    "seconds to wait for a connection" },
	{ "stall_timeout", NDS_OPT_INT, "60", NULL, 1, 3600,
	    "seconds a request may move less than 1 KiB/s" },
	{ "retries", NDS_OPT_INT, "5", NULL, 0, 100,
	    "retries of a request on 5xx, 429, time-outs, connection errors" },
	{ "spool", NDS_OPT_BOOL, "yes", NULL, 0, 0,
	    "keep a copy in spool_dir until it is uploaded" },
	{ "spool_dir", NDS_OPT_STRING, "/var/crash/.s3-spool", NULL, 0, 0,
	    "where dumps wait for the store (absolute; best on the dump "
	    "directory's file system)" },
	{ "spool_min_free", NDS_OPT_SIZE, "0", NULL, 0, 0,
	    "free space to leave on spool_dir's file system (besides "
	    "[server] min_free)" },
	{ "retry_interval", NDS_OPT_INT, "30", NULL, 1, 86400,
	    "seconds before a spooled dump is tried again; doubles" },
	{ "retry_max_interval", NDS_OPT_INT, "900", NULL, 1, 86400,
	    "longest wait between tries of a spooled dump" },
	{ NULL, NDS_OPT_STRING, NULL, NULL, 0, 0, NULL },
};

/* The one symbol the module exports. */
NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "s3",
	.version = "1.0",
	.description = "upload to an S3 bucket (AWS, Ceph RGW, MinIO), "
	    "spooled until the store has it",
	.caps = 0,
	.options = s3_options,
	.create = s3_create,
	.destroy = s3_destroy,
	.begin = s3_begin,
	.open = s3_open,
	.write = s3_write,
	.hole = s3_hole,
	.close = s3_close,
	.end = s3_end,
};
