/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3: store each dump in an S3 bucket (AWS S3, Ceph RGW, MinIO), one
 * object per dump object, under keys from a template:
 *
 *   {prefix}{path}/{client}/{date}-{collector}-{id}/{name}
 *
 * with {name} vmcore[.gz|.zst...][.incomplete], vmcore_encrypted..., key,
 * info, manifest.json or dump.tar.zst, so many collectors can share one
 * bucket and never collide.
 *
 * While a dump arrives, each object is written to a sparse spool file in
 * spool_dir and, as soon as a part's worth has arrived, the part is handed
 * to the instance's upload threads, which read it back (from the page
 * cache, in practice) and send it as one part of a multipart upload, at
 * most max_inflight_parts per object. The dump's worker thread never
 * waits for the network: parts that cannot leave yet stay in the spool.
 * When the object closes, the rest goes, the upload is completed (or
 * aborted if anything failed) and the spool file is removed. An object
 * smaller than a part goes as one PUT when it closes.
 *
 * When the store is down, slow to fail or refuses (bad credentials), the
 * object stays in the spool and a "pending" record beside it says what
 * goes where. spool_dir is the instance's durable outbox: the host keeps
 * the records, picks up those a previous run left and calls s3_resume
 * for each, with backoff from retry_interval up to retry_max_interval,
 * until the store has it. The sink reports such an object as stored
 * ("where" says the upload is pending and where the spool is), which is
 * true only once it is on disk: each spool file is synced when it closes,
 * then the host writes the record for good (temporary file, synced,
 * renamed, its folder and spool_dir synced), so a record never claims
 * bytes a crash could take back. Objects that go straight to the store
 * are never synced: the spool is then only a buffer.
 *
 * While a dump's objects arrive into the spool, the folder's record names
 * each as arriving, under an incomplete key of its own, with no size, and
 * its multipart upload as one to abort once it is created; an object kept
 * for later is named as end() would. end() writes the final record over
 * it or removes it. A server killed in the middle of the dump leaves the
 * record so, the folder's lock free: the next run aborts the uploads and
 * sends what each spool file holds under its key (s3_resume.c
 * settle_arriving).
 *
 * A spool file that still turns out shorter than its record says goes
 * under the object's incomplete name with its real length (never padded
 * with zeros under the final name), and the log says so; without such a
 * name, spool and record stay, and the log says that.
 *
 * Without a usable spool (spool = no, the spool file system below
 * min_free, a failed write), parts are kept in memory, and the worker
 * then waits for a free slot: at most max_inflight_parts + 1 parts per
 * object, each buffer up to twice its part's size (it grows by doubling),
 * and parts double every S3_PART_GROUP of them.
 *
 * An object's final name depends on facts only its close brings (the
 * outcome, kernel compression, a transform's suffix), but a multipart
 * upload needs its key when it starts. It starts under the name a
 * complete dump would get, as this instance last saw it; if the name
 * turns out different, that upload is aborted, never completed (a cut
 * dump must not lie under a complete one's name, not even until a move,
 * which a server killed in between would never finish), and the object
 * waits in the spool for the outbox, which sends it again under its final
 * key once the dump ends. Only an object not
 * spooled is completed under the first key, copied to its final key
 * (CopyObject, up to 5 GiB) and deleted there. Objects smaller than a
 * part never need any of it.
 *
 * Threads: the host calls the ops of one dump on one thread and s3_resume
 * on its outbox thread; the upload threads are the host's work pool
 * (upload_threads, each with its own curl handle), started with the first
 * dump, in the daemon, after the fork and the drop of privileges. create
 * only checks the configuration, makes the spool folder, opens it as the
 * outbox and opens the pool.
 */
#include <sys/stat.h>

#include "sinkutil.h"
#include "s3.h"

#define DEFAULT_TEMPLATE "{prefix}{path}/{client}/{date}-{collector}-{id}/{name}"

/* Bucket names as S3 allows them; virtual hosts need DNS labels. */
static bool
bucket_ok(const char *b, bool path_style)
{
	size_t n = strlen(b);

	if (n < 3 || n > 255 || !s3_printable(b) || strchr(b, '/') != NULL)
		return false;
	return path_style || (n <= 63 &&
	    strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789-.") == n);
}

/* Endpoint and bucket into the bucket's URL. */
static int
setup_url(struct s3_sink *s, const char *endpoint, bool path_style,
    char *err)
{
	struct s3_conf *c = &s->conf;
	const char *host;
	char *enc = NULL;
	size_t n;
	int r;

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
		sink_seterr(err, "endpoint: \"%s\" is not an http:// or "
		    "https:// URL", endpoint);
		return -1;
	}
	if (*host == '\0' || strpbrk(host, "/?#@") != NULL ||
	    !s3_printable(c->endpoint)) {
		sink_seterr(err, "endpoint: \"%s\" must be "
		    "scheme://host[:port], without a path", endpoint);
		return -1;
	}
	if (!bucket_ok(c->bucket, path_style)) {
		sink_seterr(err, "bucket: \"%s\" is not a valid bucket name%s",
		    c->bucket, path_style ? "" : " for virtual-hosted "
		    "addressing (lower case, digits, '-' and '.'; or set "
		    "path_style)");
		return -1;
	}
	if ((enc = s3_uri_dup(c->bucket, false)) == NULL)
		goto nomem;
	if (path_style)
		r = asprintf(&c->base, "%s/%s", c->endpoint, enc);
	else
		r = asprintf(&c->base, "%.*s%s.%s", (int)(host - c->endpoint),
		    c->endpoint, c->bucket, host);
	if (r == -1 || asprintf(&c->copy_prefix, "/%s/", enc) == -1) {
		/* What asprintf leaves on failure is undefined. */
		if (r == -1)
			c->base = NULL;
		c->copy_prefix = NULL;
		goto nomem;
	}
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

	/* Its threads use the store's settings and curl: it goes first. */
	s->host->pool_close(s->pool);
	s3_client_fini(&s->rcl);
	if (c->creds != NULL)
		s3_creds_fini(c->creds);
	free(c->endpoint);
	free(c->bucket);
	free(c->base);
	free(c->copy_prefix);
	if (s->spool_fd != -1)
		close(s->spool_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Where the store is: region, bucket and endpoint. */
static int
setup_store(struct s3_sink *s, const struct s3_config *cfg, char *err)
{
	struct s3_conf *c = &s->conf;
	char endpoint[512];

	if (*cfg->region == '\0' || !s3_printable(cfg->region) ||
	    strchr(cfg->region, ':') || snprintf(c->sigv4, sizeof(c->sigv4),
	    "aws:amz:%s:s3", cfg->region) >= (int)sizeof(c->sigv4)) {
		sink_seterr(err, "region: \"%s\" is not a region name",
		    cfg->region);
		return -1;
	}
	if (cfg->bucket == NULL || cfg->bucket[0] == '\0') {
		sink_seterr(err, "bucket: required");
		return -1;
	}
	if ((c->bucket = strdup(cfg->bucket)) == NULL) {
		sink_seterr(err, "out of memory");
		return -1;
	}
	if (cfg->endpoint != NULL && cfg->endpoint[0] != '\0')
		snprintf(endpoint, sizeof(endpoint), "%s", cfg->endpoint);
	else
		snprintf(endpoint, sizeof(endpoint),
		    "https://s3.%s.amazonaws.com", cfg->region);
	return setup_url(s, endpoint, cfg->path_style, err);
}

/* The key template, the collector's name and the credentials. */
static int
setup_names(struct s3_sink *s, const struct s3_config *cfg, char *err)
{
	struct s3_conf *c = &s->conf;

	if (s3_template_check(cfg->key_template, err, NDS_ERRBUF_SIZE) == -1)
		return -1;
	if (cfg->collector != NULL && cfg->collector[0] != '\0')
		s->collector = cfg->collector;
	else {
		if (gethostname(s->hostname, sizeof(s->hostname)) == -1 ||
		    s->hostname[0] == '\0')
			snprintf(s->hostname, sizeof(s->hostname), "collector");
		s->hostname[sizeof(s->hostname) - 1] = '\0';
		s->collector = s->hostname;
	}
	c->creds = &s->creds;
	return s3_creds_init(&s->creds, s->host, s->ctx,
	    cfg->credentials_file, cfg->profile, err);
}

/*
 * The spool folder: the instance's outbox, where the host keeps the
 * pending records (and makes the folder if need be); ours to write.
 */
static int
setup_spool(struct s3_sink *s, const struct s3_config *cfg, char *err)
{
	const char *dir = cfg->spool_dir;
	uint64_t retry = (uint64_t)cfg->retry_interval * 1000;
	uint64_t retry_max = (uint64_t)cfg->retry_max_interval * 1000;
	char ebuf[128];

	if (dir == NULL || dir[0] != '/') {
		sink_seterr(err, "spool_dir: \"%s\" is not an absolute path",
		    dir != NULL ? dir : "");
		return -1;
	}
	if (retry_max < retry)
		retry_max = retry;
	if (s->host->outbox_open(s->ctx, dir, retry, retry_max, err) == -1)
		return -1;
	if ((s->spool_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		sink_seterr(err, "spool_dir %s: %s", dir,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	return 0;
}

/*
 * From start, as the user the server runs as (create ran before it gave
 * up root): a spool every dump would fail in is said at once.
 */
static enum nds_result
s3_start(void *instance, char err[NDS_ERRBUF_SIZE])
{
	struct s3_sink *s = instance;

	(void)err;
	if (s->cfg->spool)
		sink_check_dir(s->host, s->ctx, "spool_dir",
		    s->cfg->spool_dir);
	/* Read at create, maybe as root; read again as the server's user. */
	if (s->creds.path != NULL && access(s->creds.path, R_OK) == -1)
		s->host->log(s->ctx, NDS_LOG_WARNING, "credentials_file %s: "
		    "%s for the server's user: a change to it will not be "
		    "read", s->creds.path, strerror(errno));
	return NDS_OK;
}

static enum nds_result
s3_create(const struct nds_host *host, struct nds_host_ctx *ctx,
    const void *config, void **instance, char err[NDS_ERRBUF_SIZE])
{
	const struct s3_config *cfg = config;
	struct s3_sink *s;

	*instance = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sink_seterr(err, "out of memory");
		return NDS_FATAL;
	}
	s->host = host;
	s->ctx = ctx;
	s->cfg = cfg;
	s->spool_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->guess[NDS_OBJ_VMCORE], NAME_LEN, "vmcore");
	snprintf(s->guess[NDS_OBJ_ARCHIVE], NAME_LEN, "dump");

	if (setup_store(s, cfg, err) == -1 || setup_names(s, cfg, err) == -1)
		goto fail;
	s->conf.ca_file = cfg->ca_file != NULL && cfg->ca_file[0] != '\0' ?
	    cfg->ca_file : NULL;
	s->conf.verify = cfg->verify;
	s->conf.part_size = (uint64_t)cfg->part_size;
	s->conf.connect_timeout = (long)cfg->connect_timeout;
	s->conf.stall_timeout = (long)cfg->stall_timeout;
	s->conf.retries = (unsigned)cfg->retries;
	s->max_inflight = (unsigned)cfg->max_inflight_parts;
	/* No thread yet: the host starts them with the first dump. */
	if ((s->pool = host->pool_open(ctx, (unsigned)cfg->upload_threads,
	    s3_thread_init, s3_thread_fini, s, err)) == NULL)
		goto fail;
	if (cfg->spool && setup_spool(s, cfg, err) == -1)
		goto fail;
	/*
	 * curl counts its users itself, and since 7.84 (threadsafe in
	 * curl_version_info, as Debian's) needs no lock around it.
	 */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		sink_seterr(err, "curl_global_init failed");
		goto fail;
	}
	s3_xml_init();
	*instance = s;
	return NDS_OK;
fail:
	sink_free(s);
	return NDS_FATAL;
}

/*
 * Also for an instance that was never started. The host has stopped its
 * outbox thread already: no s3_resume runs.
 */
static void
s3_destroy(void *instance)
{
	struct s3_sink *s = instance;

	if (s == NULL)
		return;
	/* The curl handles (threads', resume's) go before curl's state. */
	sink_free(s);
	curl_global_cleanup();
}

#define OPT(n, t)	.name = #n, .type = NDS_OPT_##t, \
	.offset = offsetof(struct s3_config, n)

static const struct nds_option s3_options[] = {
	{ OPT(endpoint, STRING),
	    .description = "URL of the store, scheme://host[:port] "
	    "(default: AWS S3 of the region)" },
	{ OPT(region, STRING), .default_value = "us-east-1",
	    .description = "region the requests are signed for" },
	{ OPT(bucket, STRING), .description = "bucket to store in (required)" },
	{ OPT(prefix, STRING), .default_value = "",
	    .description = "text for {prefix} in key_template, e.g. "
	    "\"crash/\"" },
	{ OPT(path_style, BOOL), .default_value = "no",
	    .description = "address the bucket as endpoint/bucket (Ceph "
	    "RGW, MinIO), not bucket.host" },
	{ OPT(key_template, STRING), .default_value = DEFAULT_TEMPLATE,
	    .description = "object keys: {prefix} {collector} {path} "
	    "{client} {addr} {date} {day} {id} {name}" },
	{ OPT(collector, STRING),
	    .description = "this collector's name for {collector} (default: "
	    "host name)" },
	{ OPT(credentials_file, STRING),
	    .description = "AWS-style credentials file (default: "
	    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)" },
	{ OPT(profile, STRING), .default_value = "default",
	    .description = "section of credentials_file to use" },
	{ OPT(ca_file, STRING),
	    .description = "CA certificates to verify the endpoint with "
	    "(default: the system's)" },
	{ OPT(verify, BOOL), .default_value = "yes",
	    .description = "verify the endpoint's TLS certificate and host "
	    "name" },
	{ OPT(part_size, SIZE), .default_value = "8M", .min = 5LL << 20,
	    .max = 5LL << 30,
	    .description = "multipart part size; doubles every 1000 parts" },
	{ OPT(max_inflight_parts, INT), .default_value = "4", .min = 1,
	    .max = 64,
	    .description = "parts of one object on their way at once" },
	{ OPT(upload_threads, INT), .default_value = "4", .min = 1, .max = 64,
	    .description = "upload threads of this sink, shared by its dumps" },
	{ OPT(connect_timeout, INT), .default_value = "10", .min = 1,
	    .max = 600,
	    .description = "seconds to wait for a connection" },
	{ OPT(stall_timeout, INT), .default_value = "60", .min = 1, .max = 3600,
	    .description = "seconds a request may move less than 1 KiB/s" },
	{ OPT(retries, INT), .default_value = "5", .min = 0, .max = 100,
	    .description = "retries of a request on 5xx, 429, time-outs, "
	    "connection errors" },
	{ OPT(spool, BOOL), .default_value = "yes",
	    .description = "keep a copy in spool_dir until it is uploaded" },
	{ OPT(spool_dir, STRING), .default_value = "/var/crash/.s3-spool",
	    .description = "where dumps wait for the store (absolute; best "
	    "on the dump directory's file system)" },
	{ OPT(spool_min_free, SIZE), .default_value = "0",
	    .description = "free space to leave on spool_dir's file system "
	    "(besides [server] min_free)" },
	{ OPT(retry_interval, INT), .default_value = "30", .min = 1,
	    .max = 86400,
	    .description = "seconds before a spooled dump is tried again; "
	    "doubles" },
	{ OPT(retry_max_interval, INT), .default_value = "900", .min = 1,
	    .max = 86400,
	    .description = "longest wait between tries of a spooled dump" },
	{ .name = NULL },
};

/* The one symbol the module exports. */
NDS_EXPORT extern const struct nds_sink_module nds_sink_module;

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "s3",
	.version = "1.0",
	.description = "upload to an S3 bucket (AWS, Ceph RGW, MinIO), "
	    "spooled until the store has it",
	.options = s3_options,
	.config_size = sizeof(struct s3_config),
	.create = s3_create,
	.start = s3_start,
	.destroy = s3_destroy,
	.begin = s3_begin,
	.open = s3_open,
	.write = s3_write,
	.hole = s3_hole,
	.close = s3_close,
	.end = s3_end,
	.resume = s3_resume,
};
