/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * s3 sink: the credentials (s3.c tells the design). From the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or from an
 * AWS-style credentials file, which is read again when it changes: a
 * rotated session token, or a key put right after the store refused the
 * old one, is taken up by the next request, with no reload or restart (a
 * reload keeps an unchanged sink as it runs, so it could not). Each
 * request takes a copy, wiped after it.
 *
 * The file is read by one thread at a time, outside the lock the requests
 * take, so a file that is slow to read (a network mount) holds no other
 * request; it must be a regular file of at most FILE_MAX bytes, opened
 * without blocking (a FIFO put in its place waits for nobody). Its bytes
 * are read into a buffer of ours and wiped, never into stdio's.
 */
#include <sys/stat.h>

#include "sinkutil.h"
#include "s3.h"

#define FILE_MAX	(64 * 1024)	/* a credentials file, at most */
#define LOOK_EVERY	1		/* s between two looks at the file */
/*
 * A file changed within this many seconds of its reading may change
 * again within the same timestamp (a coarse clock, a rewrite in place of
 * the same size): it is read again until it is older.
 */
#define RACY_SECS	2

bool
s3_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* *to becomes a copy of value (NULL: none); the old one is wiped first. */
static int
set_secret(char **to, const char *value)
{
	if (*to != NULL)
		explicit_bzero(*to, strlen(*to));
	free(*to);
	*to = NULL;
	if (value != NULL && (*to = strdup(value)) == NULL)
		return -1;
	return 0;
}

void
s3_secret_clear(struct s3_secret *k)
{
	(void)set_secret(&k->access_key, NULL);
	(void)set_secret(&k->secret_key, NULL);
	(void)set_secret(&k->session_token, NULL);
}

/* s without the blanks (and line ends) around it, in place. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Whether a key id and secret, both there, and a token fit in a request;
 * why not into err.
 */
static int
check(const struct s3_secret *k, const char *what, char *err)
{
	if (strchr(k->access_key, ':') != NULL ||
	    !s3_printable(k->access_key))
		sink_seterr(err, "%s: the access key id has characters no "
		    "access key id has", what);
	else if (k->session_token != NULL &&
	    strlen(k->session_token) > S3_TOKEN_LEN_MAX)
		sink_seterr(err, "%s: a session token longer than %d bytes",
		    what, S3_TOKEN_LEN_MAX);
	else
		return 0;
	return -1;
}

/*
 * The [profile] section's aws_access_key_id, aws_secret_access_key and
 * aws_session_token of text (NUL-terminated, changed in place) into k.
 * -1 and err; *oom when memory ran out.
 */
static int
parse(char *text, const char *what, const char *profile,
    struct s3_secret *k, char *err, bool *oom)
{
	char *line, *next, *name, *value, *eq, *close;
	bool in = false;
	int r = 0;

	for (line = text; line != NULL && r == 0; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
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
			r = set_secret(&k->access_key, value);
		else if (strcmp(name, "aws_secret_access_key") == 0)
			r = set_secret(&k->secret_key, value);
		else if (strcmp(name, "aws_session_token") == 0)
			r = set_secret(&k->session_token, *value != '\0' ?
			    value : NULL);
	}
	if ((*oom = r == -1))
		sink_seterr(err, "%s: out of memory", what);
	else if (k->access_key == NULL || k->secret_key == NULL ||
	    k->access_key[0] == '\0' || k->secret_key[0] == '\0') {
		sink_seterr(err, "%s: no aws_access_key_id and "
		    "aws_secret_access_key in [%s]", what, profile);
		r = -1;
	} else
		r = check(k, what, err);
	if (r == -1)
		s3_secret_clear(k);
	return r;
}

/*
 * The file into k, and what it was (sb). -1 and err; *again when the
 * failure may pass with the same file (an error reading it, memory),
 * not when the file itself is wrong.
 */
static int
read_file(struct s3_creds *cr, struct s3_secret *k, struct stat *sb,
    char *err, bool *again)
{
	char what[PATH_MAX + 32], ebuf[128], *buf;
	ssize_t n, got = 0;
	int fd, r = -1;

	snprintf(what, sizeof(what), "credentials_file %s", cr->path);
	*again = true;
	if ((buf = malloc(FILE_MAX + 1)) == NULL) {
		sink_seterr(err, "%s: out of memory", what);
		return -1;
	}
	if ((fd = open(cr->path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1 || fstat(fd, sb) == -1) {
		sink_seterr(err, "%s: %s", what, sink_errstr(errno, ebuf,
		    sizeof(ebuf)));
		goto out;
	}
	if (!S_ISREG(sb->st_mode) || sb->st_size > FILE_MAX) {
		sink_seterr(err, "%s: not a regular file of at most %d bytes",
		    what, FILE_MAX);
		*again = false;
		goto out;
	}
	while (got <= FILE_MAX && (n = read(fd, buf + got,
	    (size_t)(FILE_MAX + 1 - got))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			sink_seterr(err, "%s: %s", what, sink_errstr(errno,
			    ebuf, sizeof(ebuf)));
			goto out;
		}
		got += n;
	}
	buf[got <= FILE_MAX ? got : FILE_MAX] = '\0';
	if ((sb->st_mode & 077) != 0)
		cr->host->log(cr->ctx, NDS_LOG_WARNING, "%s can be read by "
		    "others (mode %03o)", what, (unsigned)(sb->st_mode & 0777));
	r = parse(buf, what, cr->profile, k, err, again);
out:
	if (fd != -1)
		close(fd);
	explicit_bzero(buf, FILE_MAX + 1);
	free(buf);
	return r;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec ==
	    b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec ==
	    b->st_ctim.tv_nsec;
}

/* sb as cr->seen, or as nothing seen when it may change unseen. */
static void
set_seen(struct s3_creds *cr, const struct stat *sb)
{
	cr->seen = *sb;
	if (time(NULL) - sb->st_mtim.tv_sec < RACY_SECS)
		cr->seen.st_mtim.tv_nsec = -1;
}

int
s3_creds_init(struct s3_creds *cr, const struct nds_host *host,
    struct nds_host_ctx *ctx, const char *path, const char *profile,
    char *err)
{
	const char *token = getenv("AWS_SESSION_TOKEN");
	struct s3_secret *k = &cr->cur;
	struct stat sb;
	bool again;

	*cr = (struct s3_creds){ .host = host, .ctx = ctx, .profile = profile,
	    .path = path != NULL && path[0] != '\0' ? path : NULL };
	pthread_mutex_init(&cr->lock, NULL);
	if (cr->path != NULL) {
		/* Read again later, after the daemon's chdir("/"). */
		if (cr->path[0] != '/') {
			sink_seterr(err, "credentials_file: \"%s\" is not an "
			    "absolute path", cr->path);
			return -1;
		}
		if (read_file(cr, k, &sb, err, &again) == -1)
			return -1;
		set_seen(cr, &sb);
		return 0;
	}
	if (set_secret(&k->access_key, getenv("AWS_ACCESS_KEY_ID")) == -1 ||
	    set_secret(&k->secret_key, getenv("AWS_SECRET_ACCESS_KEY")) ==
	    -1 || set_secret(&k->session_token, token != NULL &&
	    *token != '\0' ? token : NULL) == -1) {
		sink_seterr(err, "out of memory");
		return -1;
	}
	if (k->access_key == NULL || k->secret_key == NULL ||
	    k->access_key[0] == '\0' || k->secret_key[0] == '\0') {
		sink_seterr(err, "no credentials: set AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY in the environment, or "
		    "credentials_file");
		return -1;
	}
	return check(k, "the environment's credentials", err);
}

void
s3_creds_fini(struct s3_creds *cr)
{
	s3_secret_clear(&cr->cur);
	pthread_mutex_destroy(&cr->lock);
}

/*
 * The file again if it changed since seen, outside cr->lock: the caller
 * set cr->reading, which this clears. A failure is said once, the
 * credentials read before stay; one that may pass (the file gone, out of
 * memory) is tried again at the next look, one of the file's own (what
 * it holds) when the file changes.
 */
static void
look_again(struct s3_creds *cr, const struct stat *seen)
{
	struct s3_secret fresh = { 0 };
	char err[NDS_ERRBUF_SIZE] = "", ebuf[128];
	bool again = true, read = false, differs = false, say;
	struct stat sb;

	if (stat(cr->path, &sb) == -1)
		sink_seterr(err, "credentials_file %s: %s", cr->path,
		    sink_errstr(errno, ebuf, sizeof(ebuf)));
	else if (!same_file(&sb, seen) &&
	    read_file(cr, &fresh, &sb, err, &again) == 0)
		read = true;
	pthread_mutex_lock(&cr->lock);
	if (read) {
		differs = strcmp(fresh.access_key, cr->cur.access_key) != 0 ||
		    strcmp(fresh.secret_key, cr->cur.secret_key) != 0 ||
		    (fresh.session_token == NULL) !=
		    (cr->cur.session_token == NULL) ||
		    (fresh.session_token != NULL &&
		    strcmp(fresh.session_token, cr->cur.session_token) != 0);
		s3_secret_clear(&cr->cur);
		cr->cur = fresh;
		memset(&fresh, 0, sizeof(fresh));
		set_seen(cr, &sb);
		cr->said[0] = '\0';
	}
	/* A passing failure said once, until it is another or goes. */
	say = err[0] != '\0' && (!again || strcmp(cr->said, err) != 0);
	if (err[0] != '\0') {
		/* Not looked at again until it changes, racy or not. */
		if (!again)
			cr->seen = sb;
		memcpy(cr->said, again ? err : "", again ? sizeof(err) : 1);
	}
	cr->reading = false;
	pthread_mutex_unlock(&cr->lock);
	s3_secret_clear(&fresh);
	if (differs)
		cr->host->log(cr->ctx, NDS_LOG_NOTICE, "credentials_file %s "
		    "changed: read again", cr->path);
	if (say)
		cr->host->log(cr->ctx, NDS_LOG_WARNING, "%s; the credentials "
		    "read before stay in use", err);
}

int
s3_creds_get(struct s3_creds *cr, struct s3_secret *out)
{
	struct timespec now;
	struct stat seen;
	bool look = false;
	int r = 0;

	*out = (struct s3_secret){ 0 };
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&cr->lock);
	if (cr->path != NULL && !cr->reading &&
	    now.tv_sec - cr->looked >= LOOK_EVERY) {
		cr->reading = look = true;
		cr->looked = now.tv_sec;
		seen = cr->seen;
	}
	pthread_mutex_unlock(&cr->lock);
	if (look)
		look_again(cr, &seen);
	pthread_mutex_lock(&cr->lock);
	if (set_secret(&out->access_key, cr->cur.access_key) == -1 ||
	    set_secret(&out->secret_key, cr->cur.secret_key) == -1 ||
	    set_secret(&out->session_token, cr->cur.session_token) == -1) {
		s3_secret_clear(out);
		r = -1;
	}
	pthread_mutex_unlock(&cr->lock);
	return r;
}
