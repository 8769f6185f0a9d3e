/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: the credentials (s3.c tells the design). From the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or from an
 * AWS-style credentials file, which is read again when it changes: a
 * rotated session token, or a key fixed after the store refused the old
 * one, is taken up by the next request, with no reload or restart (a
 * reload keeps an unchanged sink as it runs, so it could not). Each
 * request takes a copy, wiped after it.
 */
#include <sys/stat.h>

#include "sinkutil.h"
#include "s3.h"

/* Seconds between two looks at the file, at most one a second. */
#define LOOK_EVERY	1

/* s without the blanks (and line ends) around it, in place. */
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

/* *to becomes a copy of value; the old one is wiped first. */
static void
set_secret(char **to, const char *value)
{
	if (*to != NULL)
		explicit_bzero(*to, strlen(*to));
	free(*to);
	*to = value != NULL ? strdup(value) : NULL;
}

void
s3_secret_clear(struct s3_secret *k)
{
	set_secret(&k->access_key, NULL);
	set_secret(&k->secret_key, NULL);
	set_secret(&k->session_token, NULL);
}

/*
 * The [profile] section's aws_access_key_id, aws_secret_access_key and
 * aws_session_token of the file at fp into k. Read here rather than with
 * inih, as the configuration is, so that what is read can be wiped from
 * the stack: inih's line buffer cannot be (and its default line of 200
 * bytes is shorter than a session token).
 */
static int
parse_file(FILE *fp, const char *path, const char *profile,
    struct s3_secret *k, char *err)
{
	char line[2048], *name, *value, *eq, *close;
	bool in = false;
	int r = -1;

	while (fgets(line, sizeof(line), fp) != NULL) {
		name = trim(line);
		if (*name == '#' || *name == ';' || *name == '\0')
			continue;
		if (*name == '[') {
			if ((close = strchr(name, ']')) != NULL)
				*close = '\0';
			in = strcmp(trim(name + 1), profile) == 0;
			continue;
		}
		if (!in || (eq = strchr(name, '=')) == NULL)
			continue;
		*eq = '\0';
		value = trim(eq + 1);
		name = trim(name);
		if (strcmp(name, "aws_access_key_id") == 0)
			set_secret(&k->access_key, value);
		else if (strcmp(name, "aws_secret_access_key") == 0)
			set_secret(&k->secret_key, value);
		else if (strcmp(name, "aws_session_token") == 0)
			set_secret(&k->session_token, value);
	}
	explicit_bzero(line, sizeof(line));
	if (ferror(fp))
		sink_seterr(err, "credentials_file %s: read error", path);
	else if (k->access_key == NULL || k->secret_key == NULL ||
	    k->access_key[0] == '\0' || k->secret_key[0] == '\0')
		sink_seterr(err, "credentials_file %s: no aws_access_key_id "
		    "and aws_secret_access_key in [%s]", path, profile);
	else if (strchr(k->access_key, ':') != NULL ||
	    !s3_printable(k->access_key))
		sink_seterr(err, "credentials_file %s: the access key id has "
		    "characters no access key id has", path);
	else
		r = 0;
	return r;
}

/* The file at cr->path into k, and what it was (sb); -1 and err. */
static int
read_file(struct s3_creds *cr, struct s3_secret *k, struct stat *sb,
    char *err)
{
	char ebuf[128];
	FILE *fp;
	int r;

	if ((fp = fopen(cr->path, "re")) == NULL) {
		sink_seterr(err, "credentials_file %s: %s", cr->path,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fileno(fp), sb) == -1)
		memset(sb, 0, sizeof(*sb));
	if ((sb->st_mode & 077) != 0)
		cr->host->log(cr->ctx, NDS_LOG_WARNING, "credentials_file %s "
		    "can be read by others (mode %03o)", cr->path,
		    (unsigned)(sb->st_mode & 0777));
	r = parse_file(fp, cr->path, cr->profile, k, err);
	fclose(fp);
	if (r == -1)
		s3_secret_clear(k);
	return r;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec ==
	    b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int
s3_creds_init(struct s3_creds *cr, const struct nds_host *host,
    struct nds_host_ctx *ctx, const char *path, const char *profile,
    char *err)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	struct s3_secret *k = &cr->cur;

	*cr = (struct s3_creds){ .host = host, .ctx = ctx, .profile = profile,
	    .path = path != NULL && path[0] != '\0' ? path : NULL };
	pthread_mutex_init(&cr->lock, NULL);
	if (cr->path != NULL)
		return read_file(cr, k, &cr->seen, err);
	if (id == NULL || secret == NULL || *id == '\0' || *secret == '\0') {
		sink_seterr(err, "no credentials: set AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY in the environment, or "
		    "credentials_file");
		return -1;
	}
	set_secret(&k->access_key, id);
	set_secret(&k->secret_key, secret);
	set_secret(&k->session_token, token != NULL && *token != '\0' ?
	    token : NULL);
	if (k->access_key == NULL || k->secret_key == NULL ||
	    (token != NULL && *token != '\0' && k->session_token == NULL)) {
		sink_seterr(err, "out of memory");
		return -1;
	}
	if (strchr(k->access_key, ':') != NULL ||
	    !s3_printable(k->access_key)) {
		sink_seterr(err, "the access key id has characters no access "
		    "key id has");
		return -1;
	}
	return 0;
}

void
s3_creds_fini(struct s3_creds *cr)
{
	s3_secret_clear(&cr->cur);
	pthread_mutex_destroy(&cr->lock);
}

/* Under cr->lock: the file again if it changed since it was read. */
static void
look_again(struct s3_creds *cr)
{
	struct s3_secret fresh = { 0 };
	struct timespec now;
	struct stat sb;
	char err[NDS_ERRBUF_SIZE];

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (cr->path == NULL || now.tv_sec - cr->looked < LOOK_EVERY)
		return;
	cr->looked = now.tv_sec;
	if (stat(cr->path, &sb) == -1 || same_file(&sb, &cr->seen))
		return;
	/* Said once per version of the file, whatever it holds. */
	if (read_file(cr, &fresh, &sb, err) == -1) {
		cr->seen = sb;
		cr->host->log(cr->ctx, NDS_LOG_WARNING, "%s; the credentials "
		    "read before stay in use", err);
		return;
	}
	cr->seen = sb;
	s3_secret_clear(&cr->cur);
	cr->cur = fresh;
	cr->host->log(cr->ctx, NDS_LOG_NOTICE, "credentials_file %s changed: "
	    "read again", cr->path);
}

int
s3_creds_get(struct s3_creds *cr, struct s3_secret *out)
{
	int r = 0;

	*out = (struct s3_secret){ 0 };
	pthread_mutex_lock(&cr->lock);
	look_again(cr);
	set_secret(&out->access_key, cr->cur.access_key);
	set_secret(&out->secret_key, cr->cur.secret_key);
	if (cr->cur.session_token != NULL)
		set_secret(&out->session_token, cr->cur.session_token);
	if (out->access_key == NULL || out->secret_key == NULL ||
	    (cr->cur.session_token != NULL && out->session_token == NULL)) {
		s3_secret_clear(out);
		r = -1;
	}
	pthread_mutex_unlock(&cr->lock);
	return r;
}
