/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: one dump (s3.c tells the design). begin makes its spool
 * folder, open its objects' spool files; close sends what is left of an
 * object and names it, or leaves it in the spool; end writes the pending
 * record of what was left, which s3_resume uploads later.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "sinkutil.h"
#include "s3.h"

#define SUFFIX_MAX	32

static unsigned	copies(const struct s3_dump *);

/* The note that "where" carries while a dump waits in the spool. */
void
s3_pending_note(const struct s3_sink *s, const char *token, char *buf,
    size_t len)
{
	snprintf(buf, len, " (upload pending, spooled in %s/%s)",
	    s->cfg->spool_dir, token);
}

/*
 * Put rec in token's spool folder as its pending record, for good (the
 * host's outbox_put: whole or not at all, synced, the folder's name too)
 * and due for s3_resume. 0, or -1 and why in err. Without err (resume
 * keeping its record up to date), a failure leaves the old record: the
 * next try does again what this one did, no more.
 */
int
s3_record_put(struct s3_sink *s, const char *token,
    const struct s3_record *rec, char *err)
{
	char ebuf[NDS_ERRBUF_SIZE];
	struct s3_fields fb;

	s3_record_fields(rec, &fb);
	return s->host->outbox_put(s->ctx, token, fb.f, fb.n,
	    err != NULL ? err : ebuf);
}

/* ----------------------------------------------------------- naming */

/*
 * A transform's suffix (".zst", ".tar.gz") goes into the key; it comes
 * from another module, so it must look like one.
 */
static bool
suffix_ok(const char *suffix)
{
	size_t n = suffix != NULL ? strlen(suffix) : 0;

	return n == 0 || (suffix[0] == '.' && n < SUFFIX_MAX &&
	    strspn(suffix, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n);
}

/*
 * The {name} of an object, as the host names every object (suffix NULL
 * before its close, when the name is a guess; incomplete: a copy cut
 * short); -1 if it is too long.
 */
static int
object_name(const struct s3_dump *d, enum nds_object_kind kind,
    const char *suffix, bool incomplete, char name[NAME_LEN])
{
	const struct nds_object obj = { .kind = kind, .suffix = suffix };
	size_t n;

	if (d->s->host->object_name(d->dump, &obj, NULL, name, NAME_LEN) ==
	    -1)
		return -1;
	/* Cut short in a dump that is complete: named as the host would. */
	if (!incomplete || d->dump->status != NDS_STATUS_COMPLETE ||
	    (kind != NDS_OBJ_VMCORE && kind != NDS_OBJ_ARCHIVE))
		return 0;
	n = strlen(name);
	return snprintf(name + n, NAME_LEN - n, "%s", d->dump->protocol !=
	    NULL && strcmp(d->dump->protocol, NDS_PROTO_LINUX) == 0 ?
	    "-incomplete" : S3_INCOMPLETE) >= (int)(NAME_LEN - n) ? -1 : 0;
}

static int
make_key(const struct s3_dump *d, const char *name,
    char key[S3_KEY_MAX + 1])
{
	const struct s3_sink *s = d->s;
	const struct nds_dump *dump = d->dump;
	struct s3_keyvars v = {
		.prefix = s->cfg->prefix,
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

	return s3_key_expand(s->cfg->key_template, &v, key, S3_KEY_MAX + 1);
}

static int
key_toolong(enum nds_object_kind kind, char *err)
{
	sink_seterr(err, "%s: the object key would be empty or longer than %d "
	    "bytes", nds_object_name(kind), S3_KEY_MAX);
	return -1;
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

/* ----------------------------------------------------------- record */

/*
 * Put rec, the dump's fields filled in, as the folder's record (borrowed
 * for the write: rec owns neither endpoint nor bucket). 0, or -1 and err.
 */
static int
put_record(struct s3_dump *d, struct s3_record *rec, char *err)
{
	struct s3_sink *s = d->s;
	int r;

	rec->endpoint = s->conf.endpoint;
	rec->bucket = s->conf.bucket;
	rec->dump_id = d->dump->id;
	snprintf(rec->client, sizeof(rec->client), "%s", d->dump->client_addr);
	rec->since = (int64_t)time(NULL);
	r = s3_record_put(s, d->token, rec, err);
	rec->endpoint = rec->bucket = NULL;
	return r;
}

/*
 * While objects arrive into the spool, the folder's record names them (no
 * size: whatever the spool file holds) beside what was kept so far, and
 * the multipart uploads begun for them as stale, so that a server that
 * dies in the middle of the dump (killed, out of memory, the power) leaves
 * them to the next one, which aborts the uploads and sends the objects as
 * an incomplete dump's. Written when an object opens, when its upload is
 * created and when it is kept; end() writes the final record over it, or
 * removes it. While the dump runs, its lock keeps the outbox off the
 * folder (busy). Under d->rec_lock.
 */
static void
record_interim(struct s3_dump *d)
{
	struct s3_sink *s = d->s;
	struct s3_record rec = d->rec;	/* shares d->rec's strings */
	struct s3_obj *o;
	char err[NDS_ERRBUF_SIZE];

	for (o = d->arriving; o != NULL; o = o->arriving_next) {
		struct s3_rec_obj *p = &rec.obj[rec.nobj];

		if (rec.nobj == S3_REC_MAXOBJ)
			break;
		rec.nobj++;
		memset(p, 0, sizeof(*p));
		snprintf(p->file, sizeof(p->file), "%s", o->file);
		p->key = o->arriving_key;
		p->arriving = true;
		if (o->arriving_upload != NULL &&
		    rec.nstale < S3_REC_MAXSTALE) {
			rec.stale[rec.nstale].key = o->key;
			rec.stale[rec.nstale++].id = o->arriving_upload;
		}
	}
	if (put_record(d, &rec, err) == -1 && !d->arriving_said) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": %s; "
		    "if the server stops before the dump ends, what is "
		    "spooled of it is not sent", d->dump->id, err);
		d->arriving_said = true;
	}
}

/*
 * The name of an object whose dump never ended: an incomplete dump's,
 * every kind labelled so, and a later chain's copy told apart (".copy1"):
 * the suffixes that tell copies apart (".zst") come only with the close.
 */
static int
arriving_name(const struct s3_dump *d, enum nds_object_kind kind,
    char name[NAME_LEN])
{
	char base[NAME_LEN], copy[16] = "";
	const char *tail = d->dump->protocol != NULL &&
	    strcmp(d->dump->protocol, NDS_PROTO_LINUX) == 0 ? "-incomplete" :
	    S3_INCOMPLETE;
	size_t n, t = strlen(tail);

	if (object_name(d, kind, NULL, true, base) == -1)
		return -1;
	n = strlen(base);
	if (n >= t && strcmp(base + n - t, tail) == 0)
		n -= t;
	if (d->copy > 0)
		snprintf(copy, sizeof(copy), ".copy%u", d->copy);
	return snprintf(name, NAME_LEN, "%.*s%s%s", (int)n, base, copy,
	    tail) >= NAME_LEN ? -1 : 0;
}

/* An object that arrives into the spool: named in the record from now. */
static void
arriving_link(struct s3_obj *o)
{
	struct s3_dump *d = o->d;
	char name[NAME_LEN], key[S3_KEY_MAX + 1];

	if (arriving_name(d, o->kind, name) == -1 ||
	    make_key(d, name, key) == -1 ||
	    (o->arriving_key = strdup(key)) == NULL)
		return;		/* its close says why it cannot go */
	pthread_mutex_lock(&d->rec_lock);
	o->arriving_next = d->arriving;
	d->arriving = o;
	record_interim(d);
	pthread_mutex_unlock(&d->rec_lock);
}

/*
 * An upload thread created o's multipart upload: while o arrives, the
 * record names it, to be aborted if the server dies before o's close.
 */
void
s3_arriving_upload(struct s3_obj *o, const char *upload_id)
{
	struct s3_dump *d = o->d;
	const struct s3_obj *a;

	pthread_mutex_lock(&d->rec_lock);
	for (a = d->arriving; a != NULL && a != o; a = a->arriving_next)
		;
	if (a != NULL && o->arriving_upload == NULL &&
	    (o->arriving_upload = strdup(upload_id)) != NULL)
		record_interim(d);
	pthread_mutex_unlock(&d->rec_lock);
}

/*
 * Under d->rec_lock: the object's fate is decided, kept (keep_pending) or
 * not (its close, once no part is on its way): its upload was completed
 * or aborted, or one to abort is in d->rec. The record is left as it is
 * until end() or the next keep: a spool file gone since (sent) is nothing
 * to do for a resume, nor an upload completed or aborted since (an abort
 * of it finds none).
 */
static void
arriving_unlink_locked(struct s3_obj *o)
{
	struct s3_obj **pp;

	for (pp = &o->d->arriving; *pp != NULL; pp = &(*pp)->arriving_next)
		if (*pp == o) {
			*pp = o->arriving_next;
			break;
		}
}

/* ------------------------------------------------------------ close */

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
	    "upload", nds_object_name(o->kind), s->cfg->spool_dir, d->token,
	    o->file, sink_errstr(o->sync_err, ebuf, sizeof(ebuf)));
	if (first)
		s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64 " from "
		    "%s: %s", d->dump->id, d->dump->client_addr, err);
	return -1;
}

static void
obj_free(struct s3_obj *o, bool unlink_spool)
{
	if (o->fd != -1) {
		close(o->fd);
		if (unlink_spool)
			unlinkat(o->d->dirfd, o->file, 0);
	}
	free(o->arriving_key);
	free(o->arriving_upload);
	free(o->upload_id);
	free(o->parts);
	free(o->cur);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->cond);
	free(o);
}

/*
 * Leave the object, under key (its {name} is name), in the spool for
 * s3_resume, and say so in where. False without a usable spool (why in
 * err, when there is one to tell). err may be why.
 */
static bool
keep_pending(struct s3_obj *o, const char *name, const char *key,
    uint64_t size, const char *why, char *where, char *err)
{
	struct s3_dump *d = o->d;
	struct s3_sink *s = d->s;
	struct s3_rec_obj p = { .size = size };
	char iname[NAME_LEN + sizeof(S3_INCOMPLETE)], ikey[S3_KEY_MAX + 1];
	char note[PATH_MAX + 64];

	if (!s3_spooling(o) || d->rec.nobj == S3_REC_MAXOBJ ||
	    spool_sync(o, err) == -1)
		return false;
	if ((p.key = strdup(key)) == NULL)
		return false;
	/*
	 * Where the object goes if its spool file turns out short: the
	 * name an incomplete dump's object gets, from the key template.
	 * Without it (too long) s3_resume appends the suffix.
	 */
	snprintf(iname, sizeof(iname), "%s%s", name,
	    s3_incomplete(name) ? "" : S3_INCOMPLETE);
	if (make_key(d, iname, ikey) == 0 &&
	    strcmp(ikey, key) != 0 && (p.ikey = strdup(ikey)) == NULL) {
		free(p.key);
		return false;
	}
	snprintf(p.file, sizeof(p.file), "%s", o->file);
	/* A manifest written after something went pending says so. */
	p.note = o->kind == NDS_OBJ_MANIFEST && d->rec.nobj > 0;
	/*
	 * From now a server that dies sends it so, as end() would have;
	 * no longer as arriving.
	 */
	pthread_mutex_lock(&d->rec_lock);
	d->rec.obj[d->rec.nobj++] = p;
	arriving_unlink_locked(o);
	record_interim(d);
	pthread_mutex_unlock(&d->rec_lock);
	if (why != NULL && !d->warned) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 " from "
		    "%s: %s; kept in %s/%s, uploaded when the store takes it",
		    d->dump->id, d->dump->client_addr, why, s->cfg->spool_dir,
		    d->token);
		d->warned = true;
	}
	s3_pending_note(s, d->token, note, sizeof(note));
	set_where(s, key, note, where);
	return true;
}

/* The next dump's guess: a whole copy's name, never a cut one's. */
static void
learn_guess(struct s3_obj *o, const char *name)
{
	struct s3_sink *s = o->d->s;

	if ((o->kind == NDS_OBJ_VMCORE || o->kind == NDS_OBJ_ARCHIVE) &&
	    o->d->dump->status == NDS_STATUS_COMPLETE && !o->cut) {
		pthread_mutex_lock(&s->lock);
		snprintf(s->guess[o->kind], NAME_LEN, "%s", name);
		pthread_mutex_unlock(&s->lock);
	}
}

/* The object is in the store under key: say so, remember its name. */
static enum nds_result
stored(struct s3_obj *o, const char *name, const char *key, char *where,
    char *err)
{
	struct s3_sink *s = o->d->s;

	learn_guess(o, name);
	set_where(s, key, "", where);
	err[0] = '\0';
	return NDS_OK;
}

/*
 * The object's final name and key, now that its close says what they
 * are, and its spool at its final size; -1 and err when it cannot go.
 */
static int
close_prepare(struct s3_obj *o, const struct nds_object *object,
    char name[NAME_LEN], char key[S3_KEY_MAX + 1], char *err)
{
	const uint64_t size = object->size;
	char ebuf[128];

	if (!suffix_ok(object->suffix)) {
		sink_seterr(err, "%s: suffix \"%.40s\" is not a file name "
		    "suffix", nds_object_name(o->kind), object->suffix);
		return -1;
	}
	if (object_name(o->d, o->kind, object->suffix, object->incomplete,
	    name) == -1 ||
	    make_key(o->d, name, key) == -1)
		return key_toolong(o->kind, err);
	if (size > INT64_MAX || (size > 0 &&
	    s3_part_count(o->d->s->conf.part_size, size) == 0)) {
		sink_seterr(err, "%s: %" PRIu64 " bytes do not fit in %u parts",
		    nds_object_name(o->kind), size, S3_MAX_PARTS);
		return -1;
	}
	/* Cuts or extends the spool to the object's size; holes stay. */
	if (s3_spooling(o) && ftruncate(o->fd, (off_t)size) == -1 &&
	    s3_spool_stop(o, sink_errstr(errno, ebuf, sizeof(ebuf))) == -1) {
		sink_seterr(err, "%s: out of memory", nds_object_name(o->kind));
		return -1;
	}
	return 0;
}

/* A small object: one PUT, from the spool or from the memory part. */
static enum nds_result
close_put(struct s3_obj *o, const char *name, const char *key,
    uint64_t size, char *where, char *err, bool *keep)
{
	struct s3_client *cl = s3_dump_client(o->d);
	struct s3_src src = { .fd = -1, .len = size };
	enum s3_status st = S3_LOCAL;

	if (s3_spooling(o))
		src.fd = o->fd;
	else {
		if (o->curn > 1 || s3_cur_reserve(o, size) == -1) {
			sink_seterr(err, "%s: out of memory",
			    nds_object_name(o->kind));
			return NDS_FAILED;
		}
		src.buf = o->cur;
	}
	if (cl == NULL)
		sink_seterr(err, "cannot create a curl handle");
	else {
		st = s3_put(cl, key, &src);
		sink_seterr(err, "%s", cl->err);
		s3_health(o->d->s, st, cl->err);
	}
	if (st == S3_OK)
		return stored(o, name, key, where, err);
	*keep = keep_pending(o, name, key, size, err, where, err);
	return *keep ? NDS_OK : NDS_FAILED;
}

/*
 * A multipart upload begun under a guess (a complete dump's name, before
 * the close said what the object is) that was wrong: completed there, the
 * object would lie under another object's name until moved, and for good
 * if the server died first. The upload is given up, and the spooled
 * object waits in the spool for the host's outbox, which sends it under
 * its own key once the dump ends (after a restart too). The close sends
 * nothing more: it stays quick with a slow or absent store, and when the
 * server stops with dumps under way.
 */
static enum nds_result
close_renamed(struct s3_obj *o, const char *name, const char *key,
    uint64_t size, char *where, char *err, bool *keep)
{
	s3_drop_upload(o);
	err[0] = '\0';
	if ((*keep = keep_pending(o, name, key, size, NULL, where, err))) {
		learn_guess(o, name);
		return NDS_OK;
	}
	if (err[0] == '\0')
		sink_seterr(err, "%s: cannot be kept in the spool for its key "
		    "%s", nds_object_name(o->kind), key);
	return NDS_FAILED;
}

/* A multipart upload: complete it, and move it if its key was wrong. */
static enum nds_result
close_multipart(struct s3_obj *o, const char *name, const char *key,
    uint64_t size, char *where, char *err, bool *keep)
{
	struct s3_sink *s = o->d->s;
	bool shared;

	if (strcmp(key, o->key) != 0 && s3_spooling(o))
		return close_renamed(o, name, key, size, where, err, keep);
	if (s3_finish_upload(o, size) == -1) {
		sink_seterr(err, "%s", o->up_err);
		s3_abort_upload(o);
		*keep = keep_pending(o, name, key, size, err, where, err);
		return *keep ? NDS_OK : NDS_FAILED;
	}
	if (strcmp(key, o->key) == 0 || s3_move_object(o, key, size, err) == 0)
		return stored(o, name, key, where, err);
	/*
	 * It is whole under the first key; better there than lost. Kept
	 * for the final key later, it stays under the first one too
	 * (perhaps a complete dump's name): say so, once.
	 */
	if ((*keep = keep_pending(o, name, key, size, err, where, err))) {
		pthread_mutex_lock(&s->lock);
		shared = copies(o->d) > 1;
		pthread_mutex_unlock(&s->lock);
		if (shared)
			s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64
			    ": the %s is also under s3://%s/%s, which could "
			    "not be moved (another chain's copy of the dump may "
			    "take that name)", o->d->dump->id,
			    nds_object_name(o->kind), s->conf.bucket, o->key);
		else
			s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64
			    ": the %s is also under s3://%s/%s, which could "
			    "not be moved; remove it once s3://%s/%s is there",
			    o->d->dump->id, nds_object_name(o->kind),
			    s->conf.bucket, o->key, s->conf.bucket, key);
		return NDS_OK;
	}
	s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": %s; the %s "
	    "stays under s3://%s/%s", o->d->dump->id, err,
	    nds_object_name(o->kind), s->conf.bucket, o->key);
	return stored(o, name, o->key, where, err);
}

enum nds_result
s3_close(void *object_state, const struct nds_object *object,
    char where[NDS_WHERE_SIZE], char err[NDS_ERRBUF_SIZE])
{
	struct s3_obj *o = object_state;
	struct s3_dump *d = o->d;
	const uint64_t size = object->size;
	char name[NAME_LEN], key[S3_KEY_MAX + 1];
	enum nds_result r = NDS_FAILED;
	bool keep = false, multipart;

	where[0] = '\0';
	/* Parts may be on their way even when the object failed. */
	pthread_mutex_lock(&o->lock);
	while (o->inflight > 0 && o->failed)
		pthread_cond_wait(&o->cond, &o->lock);
	multipart = o->nsub > 0 || o->upload_id != NULL;
	pthread_mutex_unlock(&o->lock);
	o->cut = object->incomplete;
	if (o->failed)
		s3_obj_fail(o, err, "%s", o->err);
	else if (close_prepare(o, object, name, key, err) == 0) {
		/*
		 * The store looked down, or the dump's earlier objects wait
		 * (so that a manifest in the bucket never names an object
		 * not there), or the dump still arrives (the key, stored as
		 * soon as it came): its worker never waits on the store.
		 */
		if ((!o->stream || d->rec.nobj > 0 || d->dump->status ==
		    NDS_STATUS_RECEIVING) && s3_spooling(o) && !multipart)
			keep = keep_pending(o, name, key, size, NULL, where,
			    err);
		if (keep)
			r = NDS_OK;
		else if (!multipart &&
		    size <= s3_part_len(d->s->conf.part_size, 1))
			r = close_put(o, name, key, size, where, err, &keep);
		else
			r = close_multipart(o, name, key, size, where, err,
			    &keep);
	}
	/*
	 * Parts may still be on their way after a failure before their wait
	 * (a key too long): no more go, and those that went land before o
	 * is freed.
	 */
	pthread_mutex_lock(&o->lock);
	o->stream = false;
	while (o->inflight > 0)
		pthread_cond_wait(&o->cond, &o->lock);
	pthread_mutex_unlock(&o->lock);
	pthread_mutex_lock(&d->rec_lock);
	arriving_unlink_locked(o);
	pthread_mutex_unlock(&d->rec_lock);
	/* Nothing to abort after a success: the upload was completed. */
	if (r != NDS_OK)
		s3_abort_upload(o);
	obj_free(o, !keep);
	return r;
}

/* ----------------------------------------------------- open and begin */

/* How many copies of d's dump this sink has now; under s->lock. */
static unsigned
copies(const struct s3_dump *d)
{
	const struct s3_dump *o;
	unsigned n = 0;

	for (o = d->s->dumps; o != NULL; o = o->next)
		n += o->dump == d->dump;
	return n;
}

/* Count the copies of d's dump begun before it, and list d. */
static void
register_copy(struct s3_dump *d)
{
	struct s3_sink *s = d->s;
	const struct s3_dump *o;

	pthread_mutex_lock(&s->lock);
	for (o = s->dumps; o != NULL; o = o->next)
		if (o->dump == d->dump && o->copy >= d->copy)
			d->copy = o->copy + 1;
	d->next = s->dumps;
	s->dumps = d;
	pthread_mutex_unlock(&s->lock);
}

static void
unregister_copy(struct s3_dump *d)
{
	struct s3_dump **pp;

	pthread_mutex_lock(&d->s->lock);
	for (pp = &d->s->dumps; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	pthread_mutex_unlock(&d->s->lock);
}

enum nds_result
s3_open(void *dump_state, enum nds_object_kind kind, void **object_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct s3_dump *d = dump_state;
	struct s3_sink *s = d->s;
	struct s3_obj *o;
	char name[NAME_LEN], ebuf[128];

	*object_state = NULL;
	if ((unsigned)kind >= NDS_OBJ_NKINDS) {
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
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);

	/*
	 * The key the upload starts under: the final one for the small
	 * objects, the one a complete dump got last time for the others.
	 * A later chain's copy of the dump in this sink shares its keys,
	 * and its guess may be the first copy's final key (vmcore beside
	 * vmcore.zst): it starts under a name no object ever gets. Known
	 * from begin: an archive opens its tarball at its end, when the
	 * chains before it may have ended already.
	 */
	if (kind == NDS_OBJ_VMCORE || kind == NDS_OBJ_ARCHIVE) {
		pthread_mutex_lock(&s->lock);
		snprintf(name, sizeof(name), d->copy > 0 ? "%s.upload%u" :
		    "%s", s->guess[kind], d->copy);
		pthread_mutex_unlock(&s->lock);
	} else if (object_name(d, kind, NULL, false, name) == -1)
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
			    s->cfg->spool_dir, d->token, o->file,
			    sink_errstr(errno, ebuf, sizeof(ebuf)));
		else
			o->spool_end = UINT64_MAX;
	}
	if (s3_spooling(o))
		arriving_link(o);
	/* Without a spool the object can only stream. */
	o->stream = !(d->spool_only && s3_spooling(o));
	*object_state = o;
	return NDS_OK;
toolong:
	key_toolong(kind, err);
	obj_free(o, false);
	return NDS_FAILED;
}

/*
 * The dump's spool folder, locked while the dump runs. It is made under
 * a hidden name and renamed once locked, so the host's outbox never sees
 * it unlocked and without a record (which would look like an orphan).
 */
static void
spool_begin(struct s3_dump *d)
{
	struct s3_sink *s = d->s;
	char tmp[S3_TOKEN_MAX + 2], ebuf[128], why[NDS_ERRBUF_SIZE];
	uint32_t rnd;

	if (!s->cfg->spool)
		return;
	if (!s->host->space_ok(d->dump, s->spool_fd,
	    (uint64_t)s->cfg->spool_min_free, why)) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": "
		    "no room in %s (%s); not spooled, sent straight to the "
		    "store", d->dump->id, s->cfg->spool_dir, why);
		return;
	}
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)time(NULL) ^ (uint32_t)getpid() ^
		    (uint32_t)(uintptr_t)d;
	snprintf(d->token, sizeof(d->token), "%s-%s-%08" PRIx32, d->date,
	    d->id, rnd);
	snprintf(tmp, sizeof(tmp), ".%s", d->token);
	if (mkdirat(s->spool_fd, tmp, 0700) == -1 ||
	    (d->dirfd = openat(s->spool_fd, tmp, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (d->lockfd = openat(d->dirfd, "lock", O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1 ||
	    flock(d->lockfd, LOCK_EX) == -1 ||
	    renameat(s->spool_fd, tmp, s->spool_fd, d->token) == -1) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 ": "
		    "%s/%s: %s; not spooled", d->dump->id, s->cfg->spool_dir,
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

enum nds_result
s3_begin(void *instance, const struct nds_dump *dump,
    const struct nds_stage *next, void **dump_state,
    char err[NDS_ERRBUF_SIZE])
{
	struct s3_sink *s = instance;
	struct s3_dump *d;
	struct tm tm;

	(void)next;	/* a storing sink: none */
	*dump_state = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FAILED;
	}
	d->s = s;
	d->dump = dump;
	d->dirfd = d->lockfd = -1;
	pthread_mutex_init(&d->rec_lock, NULL);
	if (gmtime_r(&dump->start.tv_sec, &tm) == NULL ||
	    strftime(d->date, sizeof(d->date), "%Y%m%dT%H%M%SZ", &tm) == 0 ||
	    strftime(d->day, sizeof(d->day), "%Y-%m-%d", &tm) == 0) {
		sink_seterr(err, "cannot format the dump time");
		pthread_mutex_destroy(&d->rec_lock);
		free(d);
		return NDS_FAILED;
	}
	snprintf(d->id, sizeof(d->id), "%" PRIu64, dump->id);
	register_copy(d);
	spool_begin(d);
	/* While the store looks down, spool only: no network at all. */
	d->spool_only = d->dirfd != -1 && atomic_load(&s->down);
	if (s->host->pool_start(s->pool) == 0) {
		/* Nobody to send parts: s3_resume will. */
		if (d->dirfd == -1) {
			sink_seterr(err, "no upload thread could be started, "
			    "and nothing can be spooled");
			unregister_copy(d);
			pthread_mutex_destroy(&d->rec_lock);
			free(d);
			return NDS_FAILED;
		}
		d->spool_only = true;
	}
	*dump_state = d;
	return NDS_OK;
}

/* ------------------------------------------------------------- end */

enum nds_result
s3_end(void *dump_state, char err[NDS_ERRBUF_SIZE])
{
	struct s3_dump *d = dump_state;
	struct s3_sink *s = d->s;
	enum nds_result r = NDS_OK;
	bool left = d->rec.nobj > 0 || d->rec.nstale > 0;
	/* A record left behind has only objects whose files went: no harm. */
	char ebuf[NDS_ERRBUF_SIZE];

	/*
	 * A record due at once: the host's outbox takes it from here. The
	 * spool files were synced when they closed (keep_pending); the
	 * record follows them, and last the folder's own name in spool_dir
	 * (it was renamed there at begin), or a crash could hide the folder
	 * under its temporary name: outbox_put syncs both.
	 */
	if (left && (d->dirfd == -1 || put_record(d, &d->rec, err) == -1)) {
		if (d->dirfd == -1)
			sink_seterr(err, "uploads to abort, and no spool to "
			    "remember them in");
		r = NDS_FAILED;
	}
	if (d->dirfd != -1) {
		/*
		 * Everything went: the interim record, the lock and the
		 * (empty) folder go, by the outbox's own removal.
		 */
		if (r == NDS_OK && !left)
			(void)s->host->outbox_put(s->ctx, d->token, NULL, 0,
			    ebuf);
		/* Now the host's outbox may have it. */
		close(d->lockfd);
		close(d->dirfd);
	}
	s3_record_free(&d->rec);
	s3_client_fini(&d->cl);
	unregister_copy(d);
	pthread_mutex_destroy(&d->rec_lock);
	free(d);
	return r;
}
