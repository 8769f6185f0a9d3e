/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: what the host's outbox hands back (s3.c tells the design). A
 * spool folder's pending record says which objects still wait for the
 * store, under which keys, and which multipart uploads to abort first;
 * each goes up from its spool file, cut ones under their incomplete
 * names, and the record follows what went.
 */
#include <sys/stat.h>

#include "sinkutil.h"
#include "s3.h"

#define NOTE_OBJECT_MAX	(16u << 20)	/* a manifest to patch, at most */

/*
 * The spooled manifest of ro, NUL-terminated, its length in *len: at most
 * the size the record says (a cut shows as fewer bytes; *longer: the file
 * holds more). NULL, errno set, if it cannot be read.
 */
static char *
read_note_object(struct s3_sink *s, int dirfd, const struct s3_rec_obj *ro,
    size_t *len, bool *longer)
{
	char *text, rerr[NDS_ERRBUF_SIZE];
	struct stat sb;
	size_t size;
	ssize_t n;
	int e;

	if (ro->size > NOTE_OBJECT_MAX) {
		errno = EFBIG;
		return NULL;
	}
	if (fstatat(dirfd, ro->file, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return NULL;
	size = sb.st_size > 0 && (uint64_t)sb.st_size > ro->size ?
	    ((uint64_t)sb.st_size < NOTE_OBJECT_MAX ? (size_t)sb.st_size :
	    NOTE_OBJECT_MAX) : (size_t)ro->size;
	if ((text = malloc(size + 1)) == NULL)
		return NULL;
	if ((n = s->host->read_file(dirfd, ro->file, text, size, rerr)) ==
	    -1) {
		e = errno;
		free(text);
		errno = e;
		return NULL;
	}
	*longer = (uint64_t)n > ro->size;
	if (*longer)
		n = (ssize_t)ro->size;
	text[n] = '\0';
	*len = (size_t)n;
	return text;
}

/*
 * A spool file that holds more than its record says: out of the folder
 * (which the outbox removes once its record is done) to a hidden name in
 * spool_dir, which the outbox does not look at, for whoever looks.
 */
static void
keep_longer(struct s3_sink *s, int dirfd, const char *token,
    const struct s3_rec_obj *ro)
{
	char kept[NAME_MAX + 1], ebuf[128];

	if (snprintf(kept, sizeof(kept), ".kept-%s-%s", token, ro->file) >=
	    (int)sizeof(kept) || renameat(dirfd, ro->file, s->spool_fd,
	    kept) == -1) {
		s->host->log(s->ctx, NDS_LOG_ERR, "%s/%s/%s: cannot keep it "
		    "as %s: %s; it stays in its folder", s->cfg->spool_dir,
		    token, ro->file, kept, sink_errstr(errno, ebuf,
		    sizeof(ebuf)));
		return;
	}
	s->host->log(s->ctx, NDS_LOG_WARNING, "%s/%s/%s held more than its "
	    "record says: kept as %s/%s, to remove by hand", s->cfg->spool_dir,
	    token, ro->file, s->cfg->spool_dir, kept);
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
 * and nothing removed, and cl->err says so (the host tells the first
 * failure of an entry).
 */
static int
spool_cut(struct s3_sink *s, struct s3_client *cl, const char *token,
    struct s3_record *rec, struct s3_rec_obj *ro, uint64_t have)
{
	char was[S3_KEY_MAX + 1], ebuf[128];
	uint64_t claimed = ro->size;

	snprintf(was, sizeof(was), "%s", ro->key);
	if (s3_record_cut(ro, have) == -1) {
		sink_errstr(errno, ebuf, sizeof(ebuf));
		/* Truncated if need be: cl->err is NDS_ERRBUF_SIZE bytes. */
		sink_seterr(cl->err, "spool file %s/%s/%s holds "
		    "%" PRIu64 " bytes, its pending record says %" PRIu64
		    ", and s3://%s/%s has no incomplete name to go to (%s): "
		    "nothing uploaded, the spool and its record are kept",
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
	(void)s3_record_put(s, token, rec, NULL);
	return 0;
}

/* A resumed object's multipart upload, in its record while it runs. */
struct resume_upload {
	struct s3_sink		*s;
	const char		*token;
	struct s3_record	*rec;
	const char		*key;
	char			 id[S3_UPLOADID_MAX];
	bool			 recorded;
};

/*
 * The record names the upload as stale before its first part goes: a
 * process killed before it completes or aborts it leaves word for the
 * next try to abort it, or the store would keep its parts for good.
 */
static void
resume_upload_begun(void *arg, const char *upload_id)
{
	struct resume_upload *ru = arg;

	snprintf(ru->id, sizeof(ru->id), "%s", upload_id);
	ru->recorded = s3_record_add_stale(ru->rec, ru->key, upload_id) ==
	    0 && s3_record_put(ru->s, ru->token, ru->rec, NULL) == 0;
}

/* The upload ended (completed or aborted, else stale is its id). */
static void
resume_upload_ended(struct resume_upload *ru, const char *stale)
{
	unsigned i;

	if (ru->recorded && stale == NULL) {
		for (i = 0; i < ru->rec->nstale; i++)
			if (strcmp(ru->rec->stale[i].id, ru->id) == 0 &&
			    strcmp(ru->rec->stale[i].key, ru->key) == 0) {
				s3_record_del_stale(ru->rec, i);
				break;
			}
	} else if (!ru->recorded && stale != NULL &&
	    s3_record_add_stale(ru->rec, ru->key, stale) != 0)
		return;
	if (ru->recorded || stale != NULL)
		(void)s3_record_put(ru->s, ru->token, ru->rec, NULL);
}

/*
 * One object of a record; S3_OK when it is in the store. *keep: its spool
 * file holds more than the record says (keep_longer keeps it, after).
 */
static enum s3_status
upload_pending(struct s3_sink *s, struct s3_client *cl, int dirfd,
    const char *token, struct s3_record *rec, struct s3_rec_obj *ro,
    bool *gone, bool *keep)
{
	char note[PATH_MAX + 64], ebuf[128], *text, *stale = NULL;
	struct s3_src src = { .fd = -1 };
	struct resume_upload ru = { .s = s, .token = token, .rec = rec };
	const struct s3_begun begun = { resume_upload_begun, &ru };
	struct stat sb;
	enum s3_status st = S3_LOCAL;
	size_t len;
	int fd = -1;

	if (ro->note) {
		/* The manifest: it said "pending"; now it is not. */
		if ((text = read_note_object(s, dirfd, ro, &len, keep)) ==
		    NULL)
			goto nofile;
		if (len < ro->size && spool_cut(s, cl, token, rec, ro, len) ==
		    -1) {
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
	/* A FIFO in the spool must not hang the outbox (nor be sent). */
	if ((fd = openat(dirfd, ro->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY)) == -1 || fstat(fd, &sb) == -1)
		goto nofile;
	if (!S_ISREG(sb.st_mode)) {
		errno = EINVAL;		/* "Invalid argument": not a file */
		goto nofile;
	}
	if ((uint64_t)sb.st_size < ro->size) {
		if (spool_cut(s, cl, token, rec, ro, (uint64_t)sb.st_size) ==
		    -1)
			goto out;
	} else if ((uint64_t)sb.st_size > ro->size) {
		*keep = true;
		s->host->log(s->ctx, NDS_LOG_WARNING, "%s/%s/%s: %" PRIu64
		    " bytes, the record says %" PRIu64 "; uploading %" PRIu64
		    " (what was judged)", s->cfg->spool_dir, token, ro->file,
		    (uint64_t)sb.st_size, ro->size, ro->size);
	}
	/* Exact: a file cut while it goes fails, and is looked at again. */
	ru.key = ro->key;	/* a cut above may have renamed it */
	st = s3_upload_fd(cl, ro->key, fd, ro->size, &begun, &stale);
	resume_upload_ended(&ru, stale);
	free(stale);
out:
	close(fd);
	return st;
nofile:
	*gone = errno == ENOENT;
	snprintf(cl->err, sizeof(cl->err), "%s/%s/%s: %s", s->cfg->spool_dir,
	    token, ro->file, sink_errstr(errno, ebuf, sizeof(ebuf)));
	if (fd != -1)
		close(fd);
	return S3_LOCAL;
}

/*
 * An object the record names as arriving: the server that spooled it died
 * before the dump ended (the folder's lock is free, and end() writes every
 * record over this one). Its spool file holds what came, sparse, and it
 * goes with that length under the incomplete key the record gives it; the
 * record says so from now on. 1 when there is nothing to send: the spool
 * file went (its close sent it, or failed and said so) or holds nothing;
 * -1 when it cannot be looked at (why in cl->err).
 */
static int
settle_arriving(struct s3_sink *s, struct s3_client *cl, int dirfd,
    const char *token, struct s3_record *rec, struct s3_rec_obj *ro)
{
	char ebuf[128];
	struct stat sb;
	int e = 0;

	if (fstatat(dirfd, ro->file, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		e = errno;
	else if (!S_ISREG(sb.st_mode))
		e = EINVAL;		/* "Invalid argument": not a file */
	if (e == ENOENT)
		return 1;
	if (e != 0) {
		snprintf(cl->err, sizeof(cl->err), "%s/%s/%s: %s",
		    s->cfg->spool_dir, token, ro->file, sink_errstr(e, ebuf,
		    sizeof(ebuf)));
		return -1;
	}
	if (sb.st_size == 0) {
		s->host->log(s->ctx, NDS_LOG_WARNING, "dump %" PRIu64 " from "
		    "%s: the server stopped while it arrived, before any of "
		    "it was spooled (%s/%s/%s is empty); nothing to send",
		    rec->dump_id, rec->client, s->cfg->spool_dir, token,
		    ro->file);
		return 1;
	}
	ro->arriving = false;
	ro->size = (uint64_t)sb.st_size;
	s->host->log(s->ctx, NDS_LOG_ERR, "dump %" PRIu64 " from %s: the "
	    "server stopped while it arrived; the %" PRIu64 " bytes spooled "
	    "(%s/%s/%s) go to s3://%s/%s", rec->dump_id, rec->client, ro->size,
	    s->cfg->spool_dir, token, ro->file, s->conf.bucket, ro->key);
	/* If this fails, the next try finds the same length. */
	(void)s3_record_put(s, token, rec, NULL);
	return 0;
}

/* Say that a pending object is in the store now. */
static void
say_uploaded(struct s3_sink *s, const struct s3_record *rec,
    const struct s3_rec_obj *ro)
{
	char lost[96] = "";

	if (ro->expected != 0)
		snprintf(lost, sizeof(lost), ", only %" PRIu64 " of %" PRIu64
		    " bytes: the spool had lost the rest", ro->size,
		    ro->expected);
	s->host->log(s->ctx, ro->expected != 0 ? NDS_LOG_ERR : NDS_LOG_NOTICE,
	    "dump %" PRIu64 " from %s: uploaded s3://%s/%s (pending since %"
	    PRId64 " s)%s", rec->dump_id, rec->client, s->conf.bucket,
	    ro->key, (int64_t)time(NULL) - rec->since, lost);
}

/*
 * Abort the record's stale uploads, then upload its objects, keeping the
 * record up to date as they go; S3_OK when nothing is left to do (the
 * host then removes the record and the empty folder). An abort the store
 * refuses (a policy may allow PutObject and not AbortMultipartUpload)
 * does not hold the objects back: they go, and the record keeps the
 * upload to abort for the next try.
 */
static enum s3_status
resume_record(struct s3_sink *s, struct s3_client *cl, const char *token,
    int dirfd, struct s3_record *rec)
{
	enum s3_status st = S3_OK, aborts = S3_OK, a;
	unsigned i;

	for (i = 0; i < rec->nstale && st == S3_OK;) {
		a = s3_mpu_abort(cl, rec->stale[i].key, rec->stale[i].id);
		if (a == S3_OK) {
			s3_record_del_stale(rec, i);
			(void)s3_record_put(s, token, rec, NULL);
			continue;
		}
		if (a == S3_STOPPED)
			st = a;
		else if (aborts == S3_OK)
			aborts = a;
		i++;
	}
	for (i = 0; i < rec->nobj && st == S3_OK; i++) {
		struct s3_rec_obj *ro = &rec->obj[i];
		bool gone = false, keep = false;
		int settled;

		if (ro->done)
			continue;
		if (ro->arriving && (settled = settle_arriving(s, cl, dirfd,
		    token, rec, ro)) != 0) {
			if (settled == -1) {
				st = S3_LOCAL;
				break;
			}
			ro->done = true;
			(void)s3_record_put(s, token, rec, NULL);
			unlinkat(dirfd, ro->file, 0);
			continue;
		}
		st = upload_pending(s, cl, dirfd, token, rec, ro, &gone, &keep);
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
		(void)s3_record_put(s, token, rec, NULL);
		if (keep)
			keep_longer(s, dirfd, token, ro);
		else
			unlinkat(dirfd, ro->file, 0);
	}
	/* The store's health is what the uploads found, not the aborts. */
	s3_health(s, st, cl->err);
	if (st == S3_OK && aborts != S3_OK) {
		sink_seterr(cl->err, "uploaded; %u stale multipart upload%s "
		    "could not be aborted yet (the store %s)", rec->nstale,
		    rec->nstale == 1 ? "" : "s", aborts == S3_DENIED ?
		    "refused" : "did not answer");
		st = aborts;
	}
	return st;
}

/* The resume client's requests end soon once the host stops the outbox. */
static bool
resume_stopped(void *arg)
{
	struct s3_sink *s = arg;

	return s->host->outbox_stopping(s->ctx);
}

/* A key of rec's this sink would not make; NULL when all are its own. */
static const char *
foreign_key(const struct s3_sink *s, const struct s3_record *rec)
{
	const char *tmpl = s->cfg->key_template, *prefix = s->cfg->prefix;
	unsigned i;

	for (i = 0; i < rec->nobj; i++) {
		if (!s3_key_mine(tmpl, prefix, rec->obj[i].key))
			return rec->obj[i].key;
		if (rec->obj[i].ikey != NULL &&
		    !s3_key_mine(tmpl, prefix, rec->obj[i].ikey))
			return rec->obj[i].ikey;
	}
	for (i = 0; i < rec->nstale; i++)
		if (!s3_key_mine(tmpl, prefix, rec->stale[i].key))
			return rec->stale[i].key;
	return NULL;
}

/*
 * The host's outbox hands over a spool folder with its record: do what
 * the record says. A record of another sink's (another endpoint or
 * bucket sharing spool_dir), one naming a key this sink would not make
 * (planted: the sink's credentials write what the record says), or one
 * that cannot be read is left alone.
 */
enum nds_result
s3_resume(void *instance, const char *token, int dirfd,
    const struct nds_field *fields, size_t nfields,
    char err[NDS_ERRBUF_SIZE])
{
	struct s3_sink *s = instance;
	struct s3_record rec;
	enum nds_result r = NDS_FAILED;
	const char *bad;
	char perr[128];

	if (s3_record_from_fields(fields, nfields, &rec, perr,
	    sizeof(perr)) == -1) {
		sink_seterr(err, "pending: %s", perr);
		return NDS_FATAL;
	}
	if (strcmp(rec.endpoint, s->conf.endpoint) != 0 ||
	    strcmp(rec.bucket, s->conf.bucket) != 0) {
		sink_seterr(err, "a record for s3://%s at %s, not this sink's",
		    rec.bucket, rec.endpoint);
		r = NDS_FATAL;
	} else if ((bad = foreign_key(s, &rec)) != NULL) {
		sink_seterr(err, "a record naming key \"%.*s\", which this "
		    "sink's key_template and prefix do not make", 200, bad);
		r = NDS_FATAL;
	} else if (s->rcl.h == NULL && s3_client_init(&s->rcl, &s->conf,
	    resume_stopped, s) == -1)
		sink_seterr(err, "dump %" PRIu64 " from %s: cannot make a curl "
		    "handle", rec.dump_id, rec.client);
	else if (resume_record(s, &s->rcl, token, dirfd, &rec) == S3_OK)
		r = NDS_OK;
	else
		sink_seterr(err, "dump %" PRIu64 " from %s: %s", rec.dump_id,
		    rec.client, s->rcl.err);
	s3_record_free(&rec);
	return r;
}
