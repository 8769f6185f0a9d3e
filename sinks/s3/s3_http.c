/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The S3 requests the sink needs, over libcurl with its own SigV4 signing
 * (CURLOPT_AWS_SIGV4). curl 7.88 needs help to sign what S3 verifies:
 *
 *   - it does not add x-amz-content-sha256, so every request carries
 *     "UNSIGNED-PAYLOAD" (curl then signs with that as the payload hash);
 *   - it signs the query string as written, so parameters are written in
 *     sorted order and a bare sub-resource as "uploads=";
 *   - it signs the path as written, so keys are percent-encoded here.
 *
 * Each request is retried with exponential backoff and jitter on 5xx, 429,
 * time-outs and connection errors; 403, 404 and other 4xx are final and
 * come back with a message that names the bucket and the endpoint and says
 * what to check. Credentials go to curl only and never into a message.
 */
#include <strings.h>

#include "sinkutil.h"
#include "s3.h"

#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS	10000

struct req {
	const char		*what;	/* for messages: "PUT", ... */
	const char		*method;
	const char		*key;
	const char		*query;	/* sorted and encoded, or NULL */
	struct s3_src		*src;	/* PUT body, or NULL */
	const char		*post;	/* POST body, or NULL */
	size_t			 postlen;
	const char		*hdr[3];	/* more headers */
	/*
	 * The root a 2xx reply must have to be one: S3 answers 200 before
	 * it knows (Complete, Copy), pads with blanks and may end in
	 * <Error>, and a reply cut short or not understood is no answer.
	 */
	const char		*result;
	bool			 missing_ok;	/* 404 means done already */
};

int
s3_client_init(struct s3_client *cl, const struct s3_conf *conf,
    bool (*stop)(void *), void *stop_arg)
{
	memset(cl, 0, sizeof(*cl));
	cl->conf = conf;
	cl->stop = stop;
	cl->stop_arg = stop_arg;
	cl->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)cl;
	return (cl->h = curl_easy_init()) == NULL ? -1 : 0;
}

void
s3_client_fini(struct s3_client *cl)
{
	curl_easy_cleanup(cl->h);	/* NULL: nothing */
	cl->h = NULL;
}

static bool
stopped(const struct s3_client *cl)
{
	return cl->stop != NULL && cl->stop(cl->stop_arg);
}

/* Whether the reply so far is nothing, or an XML declaration only. */
static bool
in_prolog(const struct s3_reply *r)
{
	return r->len == 0 || (r->len > 7 && memcmp(r->body, "<?xml", 5) ==
	    0 && memcmp(r->body + r->len - 2, "?>", 2) == 0 &&
	    memchr(r->body, '>', r->len) == r->body + r->len - 1);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct s3_reply *r = arg;
	size_t len = size * n, i;

	for (i = 0; i < len; i++) {
		/*
		 * The blanks S3 sends while it works (after the XML
		 * declaration, which comes at once) are no part of the reply.
		 */
		if (memchr(" \t\r\n", p[i], 4) != NULL && in_prolog(r))
			continue;
		/*
		 * A reply is a short document: one that does not fit is no
		 * S3's (and one that never ends would hold the request for
		 * good).
		 */
		if (r->len == sizeof(r->body) - 1) {
			r->too_long = true;
			return 0;
		}
		r->body[r->len++] = p[i];
	}
	r->body[r->len] = '\0';
	return len;
}

/*
 * Body of a PUT. Bytes past the end of the file read as zeros (a spool
 * still being written ends in a hole until close sets its size), unless
 * the source is exact: a file that should hold them and does not has lost
 * them, and zeros would pass for data.
 */
static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct s3_src *s = arg;
	size_t want = size * n;
	ssize_t got;

	if (want > s->len - s->pos)
		want = (size_t)(s->len - s->pos);
	if (want == 0)
		return 0;
	if (s->buf != NULL || s->fd < 0) {
		/* Memory, or nothing but zeros (a hole sent from memory). */
		if (s->buf != NULL)
			memcpy(buf, s->buf + s->pos, want);
		else
			memset(buf, 0, want);
		s->pos += want;
		return want;
	}
	do
		got = pread(s->fd, buf, want, (off_t)(s->off + s->pos));
	while (got == -1 && errno == EINTR);
	if (got == -1) {
		s->error = errno;
		return CURL_READFUNC_ABORT;
	}
	if (got == 0 && s->exact) {
		s->error = ENODATA;
		return CURL_READFUNC_ABORT;
	}
	if (got == 0) {
		/* The spool ends early: the rest is a hole. */
		memset(buf, 0, want);
		got = (ssize_t)want;
	}
	s->pos += (uint64_t)got;
	return (size_t)got;
}

static int
on_seek(void *arg, curl_off_t off, int origin)
{
	struct s3_src *s = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > s->len)
		return CURL_SEEKFUNC_CANTSEEK;
	s->pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	const struct s3_client *cl = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return stopped(cl) ? 1 : 0;
}

/* What to tell the operator about a refusal. */
static const char *
hint(long http, const char *code)
{
	if (strcmp(code, "InvalidAccessKeyId") == 0)
		return "the store does not know the access key id: check "
		    "AWS_ACCESS_KEY_ID or credentials_file";
	if (strcmp(code, "SignatureDoesNotMatch") == 0)
		return "the secret key does not match the access key id: "
		    "check AWS_SECRET_ACCESS_KEY or credentials_file";
	if (strcmp(code, "NoSuchBucket") == 0)
		return "the bucket does not exist";
	if (strcmp(code, "ExpiredToken") == 0 ||
	    strcmp(code, "InvalidToken") == 0)
		return "the session token is not valid: check "
		    "AWS_SESSION_TOKEN";
	if (strcmp(code, "RequestTimeTooSkewed") == 0)
		return "this host's clock is off";
	if (http == 403)
		return "access denied: check the credentials and the "
		    "bucket's policy";
	if (http == 404)
		return "not found: check bucket, endpoint and path_style";
	if (http == 301 || http == 307)
		return "the bucket is elsewhere: check region, endpoint and "
		    "path_style";
	return "";
}

/* Transient S3 error codes, whatever the HTTP status says. */
static bool
code_transient(const char *code)
{
	return strcmp(code, "InternalError") == 0 ||
	    strcmp(code, "SlowDown") == 0 ||
	    strcmp(code, "ServiceUnavailable") == 0 ||
	    strcmp(code, "RequestTimeout") == 0 ||
	    strcmp(code, "OperationAborted") == 0;
}

static bool
curl_transient(CURLcode cc)
{
	static const CURLcode codes[] = { CURLE_COULDNT_RESOLVE_PROXY,
	    CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
	    CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
	    CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
	    CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR,
	    CURLE_WEIRD_SERVER_REPLY };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (cc == codes[i])
			return true;
	return false;
}

/* A request's header list, its token wiped first. */
static void
headers_free(struct curl_slist *l)
{
	struct curl_slist *t;

	for (t = l; t != NULL; t = t->next)
		explicit_bzero(t->data, strlen(t->data));
	curl_slist_free_all(l);
}

static struct curl_slist *
headers(const struct req *rq, const struct s3_secret *k)
{
	/* curl 7.88 signs the payload as this says; S3 insists on it. */
	const char *h[5] = { "x-amz-content-sha256: UNSIGNED-PAYLOAD", NULL,
	    rq->hdr[0], rq->hdr[1], rq->hdr[2] };
	struct curl_slist *l = NULL, *t;
	char tok[S3_TOKEN_LEN_MAX + 32];
	size_t i;

	/*
	 * No "Expect:" to turn 100-continue off: curl 7.88 would sign the
	 * header it then leaves out, and S3 rejects the signature. The
	 * round trip also spares the body when the store refuses.
	 */
	if (k->session_token != NULL) {
		if (snprintf(tok, sizeof(tok), "x-amz-security-token: %s",
		    k->session_token) >= (int)sizeof(tok))
			goto fail;
		h[1] = tok;
	}
	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		if (h[i] == NULL)
			continue;
		if ((t = curl_slist_append(l, h[i])) == NULL)
			goto fail;
		l = t;
	}
	explicit_bzero(tok, sizeof(tok));
	return l;
fail:
	explicit_bzero(tok, sizeof(tok));
	headers_free(l);
	return NULL;
}

char *
s3_uri_dup(const char *s, bool keep_slash)
{
	size_t len = 3 * strlen(s) + 1;
	char *enc;

	/* Three bytes for every byte always fit. */
	if ((enc = malloc(len)) != NULL)
		(void)s3_uri_encode(s, keep_slash, enc, len);
	return enc;
}

/* The request's URL, malloc'd: the bucket's, the encoded key, the query. */
static char *
request_url(const struct s3_client *cl, const struct req *rq)
{
	char *ekey, *url;

	if ((ekey = s3_uri_dup(rq->key, true)) == NULL)
		return NULL;
	if (asprintf(&url, "%s/%s%s%s", cl->conf->base, ekey, rq->query !=
	    NULL ? "?" : "", rq->query != NULL ? rq->query : "") == -1)
		url = NULL;
	free(ekey);
	return url;
}

/* Everything curl is to know about the request. */
static void
set_request(struct s3_client *cl, const struct req *rq, const char *url,
    struct curl_slist *hl, const struct s3_secret *k, struct s3_reply *rp,
    char *cerr, struct s3_src *none)
{
	const struct s3_conf *c = cl->conf;
	CURL *h = cl->h;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* Keys are encoded already; "/./" must reach the store as is. */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, k->access_key);
	curl_easy_setopt(h, CURLOPT_PASSWORD, k->secret_key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->stall_timeout);
	/*
	 * And in all: ten stalls, and the body at 64 KiB/s. A store that
	 * drips blanks faster than the low-speed limit (S3's way of saying
	 * it still works) holds a request that long, not for good.
	 */
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)(c->stall_timeout * 10 +
	    (rq->src != NULL ? rq->src->len : rq->postlen) / 65536));
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
	if (c->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, rp);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, cl);

	if (strcmp(rq->method, "PUT") == 0) {
		struct s3_src *src = rq->src != NULL ? rq->src : none;

		src->pos = 0;
		src->error = 0;
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, src);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, src);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)src->len);
	} else if (strcmp(rq->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
		    rq->post != NULL ? rq->post : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->postlen);
	} else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
}

/* "WHAT to bucket B at E: WHY", the form of every failure of the store's. */
static void
store_err(struct s3_client *cl, const char *what, const char *why)
{
	sink_seterr(cl->err, "%s to bucket %s at %s: %s", what,
	    cl->conf->bucket, cl->conf->endpoint, why);
}

/* A request curl could not finish: why, and whether to try again. */
static enum s3_status
curl_failed(struct s3_client *cl, const struct req *rq, CURLcode cc,
    const char *cerr)
{
	/* CURL_READFUNC_ABORT ends as CURLE_ABORTED_BY_CALLBACK. */
	bool read_failed = (cc == CURLE_READ_ERROR ||
	    cc == CURLE_ABORTED_BY_CALLBACK) && rq->src != NULL;

	if (read_failed && rq->src->error == ENODATA) {
		sink_seterr(cl->err, "%s: the spool file ends at byte %" PRIu64
		    ", %" PRIu64 " bytes short of the range to send", rq->what,
		    rq->src->off + rq->src->pos, rq->src->len - rq->src->pos);
		return S3_LOCAL;
	}
	if (read_failed && rq->src->error != 0) {
		sink_seterr(cl->err, "%s: reading the spool: %s", rq->what,
		    strerror(rq->src->error));
		return S3_LOCAL;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && stopped(cl)) {
		sink_seterr(cl->err, "%s: stopped", rq->what);
		return S3_STOPPED;
	}
	store_err(cl, rq->what, cerr[0] != '\0' ? cerr :
	    curl_easy_strerror(cc));
	return curl_transient(cc) ? S3_AGAIN : S3_DENIED;
}

/* What the store answered: done, or why not and whether to try again. */
static enum s3_status
http_status(struct s3_client *cl, const struct req *rq)
{
	const struct s3_reply *rp = &cl->reply;
	char message[160] = "", detail[NDS_ERRBUF_SIZE];
	const char *why;
	enum s3_status st;

	if (rp->len > 0) {
		s3_xml_text(rp->body, rp->len, "Code", cl->code,
		    sizeof(cl->code));
		s3_xml_text(rp->body, rp->len, "Message", message,
		    sizeof(message));
	}
	/*
	 * A 2xx is done when it has the result asked for or, asked for none,
	 * when it is empty or a whole document that is no <Error>. A reply
	 * cut short or too long is no answer: taken for one, the object's
	 * spool would go while the store holds nothing.
	 */
	if (cl->http >= 200 && cl->http < 300 && !rp->too_long &&
	    (rq->result != NULL ? s3_xml_root_is(rp->body, rp->len,
	    rq->result) : rp->len == 0 || (s3_xml_whole(rp->body, rp->len) &&
	    !s3_xml_root_is(rp->body, rp->len, "Error"))))
		return S3_OK;
	if (cl->http >= 200 && cl->http < 300 && (rp->too_long ||
	    !s3_xml_root_is(rp->body, rp->len, "Error"))) {
		store_err(cl, rq->what, rp->too_long ? "HTTP 2xx with a reply "
		    "too long to be one" : "HTTP 2xx without its result (a "
		    "reply cut short, or not understood)");
		return S3_AGAIN;
	}
	if (cl->http == 404 && rq->missing_ok)
		return S3_OK;
	if (cl->http >= 500 || cl->http == 429 || code_transient(cl->code))
		st = S3_AGAIN;
	else
		st = S3_DENIED;
	why = hint(cl->http, cl->code);
	snprintf(detail, sizeof(detail), "HTTP %ld%s%s%s%s%s%s", cl->http,
	    cl->code[0] ? " " : "", cl->code, why[0] ? ": " : "", why,
	    message[0] && !why[0] ? ": " : "", !why[0] ? message : "");
	store_err(cl, rq->what, detail);
	return st;
}

/* One try; the reply in cl->reply. */
static enum s3_status
perform(struct s3_client *cl, const struct req *rq)
{
	struct s3_reply *rp = &cl->reply;
	static const struct s3_src empty = { .fd = -1 };
	struct s3_src none = empty;
	struct curl_slist *hl = NULL;
	struct s3_secret k = { 0 };
	char *url = NULL, cerr[CURL_ERROR_SIZE] = "";
	enum s3_status st = S3_LOCAL;
	CURLcode cc;

	cl->http = 0;
	cl->code[0] = '\0';
	memset(rp, 0, sizeof(*rp));
	if ((url = request_url(cl, rq)) == NULL ||
	    s3_creds_get(cl->conf->creds, &k) == -1 ||
	    (hl = headers(rq, &k)) == NULL) {
		sink_seterr(cl->err, "%s: out of memory", rq->what);
		goto out;
	}
	set_request(cl, rq, url, hl, &k, rp, cerr, &none);
	cc = curl_easy_perform(cl->h);
	curl_easy_getinfo(cl->h, CURLINFO_RESPONSE_CODE, &cl->http);
	/* Never leave the secret in a handle that outlives the request. */
	curl_easy_setopt(cl->h, CURLOPT_PASSWORD, "");
	curl_easy_setopt(cl->h, CURLOPT_HTTPHEADER, NULL);
	/* A reply too long was cut here: what its status says, then. */
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && rp->too_long))
		st = curl_failed(cl, rq, cc, cerr);
	else
		st = http_status(cl, rq);
out:
	headers_free(hl);
	s3_secret_clear(&k);
	free(url);
	return st;
}

/* Sleep ms, in steps, so that a stop is noticed. */
static void
nap(const struct s3_client *cl, unsigned ms)
{
	struct timespec ts;
	unsigned step;

	while (ms > 0 && !stopped(cl)) {
		step = ms > 100 ? 100 : ms;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		ms -= step;
	}
}

/*
 * Tries with exponential backoff and jitter while it is worth it; the
 * last reply in cl->reply.
 */
static enum s3_status
request(struct s3_client *cl, const struct req *rq)
{
	enum s3_status st;
	unsigned attempt, delay;

	for (attempt = 0;; attempt++) {
		st = perform(cl, rq);
		if (st != S3_AGAIN || attempt >= cl->conf->retries ||
		    stopped(cl))
			break;
		delay = BACKOFF_FIRST_MS << (attempt < 8 ? attempt : 8);
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
		/* Half fixed, half random: collectors do not retry in step. */
		nap(cl, delay / 2 + (unsigned)rand_r(&cl->seed) % (delay / 2));
	}
	if (st == S3_AGAIN && stopped(cl))
		st = S3_STOPPED;
	return st;
}

enum s3_status
s3_put(struct s3_client *cl, const char *key, struct s3_src *src)
{
	const struct req rq = {
		.what = "PUT", .method = "PUT", .key = key, .src = src,
	};

	return request(cl, &rq);
}

enum s3_status
s3_mpu_create(struct s3_client *cl, const char *key, char *upload_id,
    size_t idlen)
{
	struct req rq = {
		.what = "CreateMultipartUpload", .method = "POST", .key = key,
		.query = "uploads=",
	};
	enum s3_status st;

	st = request(cl, &rq);
	if (st == S3_OK && s3_xml_text(cl->reply.body, cl->reply.len,
	    "UploadId", upload_id, idlen) <= 0) {
		store_err(cl, rq.what, "no UploadId in the reply");
		st = S3_AGAIN;
	}
	return st;
}

/* "partNumber=N&uploadId=ID": sorted, as curl 7.88 signs it as written. */
static int
part_query(char *q, size_t qlen, uint32_t n, const char *upload_id)
{
	char enc[3 * S3_UPLOADID_MAX + 1];
	int len;

	if (s3_uri_encode(upload_id, false, enc, sizeof(enc)) == -1)
		return -1;
	len = n > 0 ? snprintf(q, qlen, "partNumber=%" PRIu32 "&uploadId=%s",
	    n, enc) : snprintf(q, qlen, "uploadId=%s", enc);
	return len < 0 || (size_t)len >= qlen ? -1 : 0;
}

enum s3_status
s3_mpu_part(struct s3_client *cl, const char *key, const char *upload_id,
    uint32_t n, struct s3_src *src, char etag[S3_ETAG_MAX])
{
	char q[3 * S3_UPLOADID_MAX + 64], what[32];
	struct curl_header *h;
	struct req rq = {
		.what = "UploadPart", .method = "PUT", .key = key, .query = q,
		.src = src,
	};
	enum s3_status st;

	if (part_query(q, sizeof(q), n, upload_id) == -1) {
		sink_seterr(cl->err, "UploadPart: out of memory");
		return S3_LOCAL;
	}
	st = request(cl, &rq);
	if (st == S3_OK && (curl_easy_header(cl->h, "ETag", 0, CURLH_HEADER,
	    -1, &h) != CURLHE_OK || snprintf(etag, S3_ETAG_MAX, "%s",
	    h->value) >= S3_ETAG_MAX)) {
		snprintf(what, sizeof(what), "UploadPart %" PRIu32, n);
		store_err(cl, what, "no ETag in the reply");
		st = S3_AGAIN;
	}
	return st;
}

/*
 * CopyObject. Not UploadPartCopy: its x-amz-copy-source-range header has
 * x-amz-copy-source as a prefix, and curl 7.88 sorts signed headers as
 * whole "name:value" lines, which puts the longer name first (curl fixed
 * that in 2024, PR 14370): S3 then rejects the signature.
 */
enum s3_status
s3_copy(struct s3_client *cl, const char *key, const char *from)
{
	char *src = NULL, *enc;
	struct req rq = {
		.what = "CopyObject", .method = "PUT", .key = key,
		.result = "CopyObjectResult",
	};
	enum s3_status st = S3_LOCAL;

	if ((enc = s3_uri_dup(from, true)) == NULL ||
	    asprintf(&src, "x-amz-copy-source: %s%s", cl->conf->copy_prefix,
	    enc) == -1) {
		src = NULL;
		sink_seterr(cl->err, "CopyObject: out of memory");
		goto out;
	}
	rq.hdr[0] = src;
	st = request(cl, &rq);
out:
	free(src);
	free(enc);
	return st;
}

enum s3_status
s3_mpu_complete(struct s3_client *cl, const char *key, const char *upload_id,
    const struct s3_part *parts, uint32_t n)
{
	char q[3 * S3_UPLOADID_MAX + 64], *body, *p;
	const char *e;
	struct req rq = {
		.what = "CompleteMultipartUpload", .method = "POST", .key = key,
		.query = q, .hdr = { "Content-Type: application/xml" },
		.result = "CompleteMultipartUploadResult",
	};
	enum s3_status st = S3_LOCAL;
	size_t cap = 128 + (size_t)n * (64 + 6 * S3_ETAG_MAX);
	uint32_t i;

	if ((body = malloc(cap)) == NULL ||
	    part_query(q, sizeof(q), 0, upload_id) == -1) {
		sink_seterr(cl->err, "CompleteMultipartUpload: out of memory");
		goto out;
	}
	/* cap holds every part even with each ETag byte escaped. */
	p = body;
	p += snprintf(p, cap, "<CompleteMultipartUpload>");
	for (i = 0; i < n; i++) {
		p += snprintf(p, cap - (size_t)(p - body), "<Part><PartNumber>%"
		    PRIu32 "</PartNumber><ETag>", i + 1);
		for (e = parts[i].etag; *e != '\0'; e++) {
			const char c[2] = { *e, '\0' };

			p += snprintf(p, cap - (size_t)(p - body), "%s", *e ==
			    '&' ? "&amp;" : *e == '<' ? "&lt;" : *e == '>' ?
			    "&gt;" : c);
		}
		p += snprintf(p, cap - (size_t)(p - body), "</ETag></Part>");
	}
	p += snprintf(p, cap - (size_t)(p - body),
	    "</CompleteMultipartUpload>");
	rq.post = body;
	rq.postlen = (size_t)(p - body);
	st = request(cl, &rq);
out:
	free(body);
	return st;
}

enum s3_status
s3_mpu_abort(struct s3_client *cl, const char *key, const char *upload_id)
{
	char q[3 * S3_UPLOADID_MAX + 64];
	const struct req rq = {
		.what = "AbortMultipartUpload", .method = "DELETE", .key = key,
		.query = q, .missing_ok = true,
	};

	if (part_query(q, sizeof(q), 0, upload_id) == -1) {
		sink_seterr(cl->err, "AbortMultipartUpload: out of memory");
		return S3_LOCAL;
	}
	return request(cl, &rq);
}

enum s3_status
s3_delete(struct s3_client *cl, const char *key)
{
	const struct req rq = {
		.what = "DELETE", .method = "DELETE", .key = key,
		.missing_ok = true,
	};

	return request(cl, &rq);
}

enum s3_status
s3_upload_fd(struct s3_client *cl, const char *key, int fd, uint64_t size,
    const struct s3_begun *begun, char **stale)
{
	const uint64_t base = cl->conf->part_size;
	struct s3_src src = { .fd = fd, .exact = true };
	struct s3_part *parts = NULL;
	char uid[S3_UPLOADID_MAX], err[NDS_ERRBUF_SIZE];
	enum s3_status st;
	uint32_t n, i;

	*stale = NULL;
	if (size <= s3_part_len(base, 1)) {
		src.len = size;
		return s3_put(cl, key, &src);
	}
	if ((n = s3_part_count(base, size)) == 0) {
		sink_seterr(cl->err, "%" PRIu64 " bytes do not fit in %u parts",
		    size, S3_MAX_PARTS);
		return S3_LOCAL;
	}
	if ((parts = calloc(n, sizeof(*parts))) == NULL) {
		sink_seterr(cl->err, "out of memory");
		return S3_LOCAL;
	}
	if ((st = s3_mpu_create(cl, key, uid, sizeof(uid))) != S3_OK)
		goto out;
	if (begun != NULL)
		begun->fn(begun->arg, uid);
	for (i = 1; i <= n; i++) {
		src.off = s3_part_start(base, i);
		src.len = s3_part_len(base, i);
		if (src.len > size - src.off)
			src.len = size - src.off;
		if ((st = s3_mpu_part(cl, key, uid, i, &src,
		    parts[i - 1].etag)) != S3_OK)
			goto abort;
	}
	if ((st = s3_mpu_complete(cl, key, uid, parts, n)) == S3_OK)
		goto out;
abort:
	/* Keep the first error: it is the one that matters. */
	memcpy(err, cl->err, sizeof(err));
	if (s3_mpu_abort(cl, key, uid) != S3_OK)
		*stale = strdup(uid);
	memcpy(cl->err, err, sizeof(err));
out:
	free(parts);
	return st;
}
