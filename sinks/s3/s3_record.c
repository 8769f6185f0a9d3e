/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pending record: which objects of a spooled dump still wait for the
 * store, under which keys, and which multipart uploads of theirs are to be
 * aborted first. One small text file per dump, "name = value" lines, an
 * "[object]" line before each object, so an operator can read it:
 *
 *   version = 1
 *   endpoint = http://127.0.0.1:7480
 *   bucket = dumps
 *   dump = 7
 *   client = 192.0.2.7
 *   since = 1795430102
 *   stale = crash/192.0.2.7/20261123T101502Z-c1-7/vmcore 2~hbUEuTM4kG1Y
 *   [object]
 *   file = 1-vmcore
 *   key = crash/192.0.2.7/20261123T101502Z-c1-7/vmcore
 *   incomplete_key = crash/192.0.2.7/20261123T101502Z-c1-7/vmcore.incomplete
 *   size = 33554432
 *   done = no
 *
 * Keys and upload ids are percent-encoded, so a value never holds a line
 * break or leading blanks.
 *
 * When a spool file turns out shorter than its record says (cut by a
 * crash of the file system, a full disk, a hand), the object is relabelled
 * in place rather than padded: key becomes the incomplete key, size the
 * length there is, and "expected = N" keeps what the record first said.
 * A version that does not know "expected" still uploads only the bytes
 * that are there, under the incomplete name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

struct buf {
	char	*p;
	size_t	 len, cap;
	bool	 failed;
};

static void	bprintf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *np;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p != NULL ? b->p + b->len : NULL,
		    b->p != NULL ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p != NULL && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		cap = b->cap * 2 + (size_t)n + 256;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

/* "name = value[ value2]", each value percent-encoded. */
static void
bencoded(struct buf *b, const char *name, const char *value,
    const char *value2)
{
	size_t len = 3 * strlen(value) + 1;
	size_t len2 = value2 != NULL ? 3 * strlen(value2) + 1 : 1;
	char *enc = NULL, *enc2 = NULL;

	if ((enc = malloc(len)) == NULL || (enc2 = malloc(len2)) == NULL ||
	    s3_uri_encode(value, true, enc, len) == -1 ||
	    s3_uri_encode(value2 != NULL ? value2 : "", false, enc2, len2) ==
	    -1) {
		b->failed = true;
		goto out;
	}
	bprintf(b, "%s = %s%s%s\n", name, enc, value2 != NULL ? " " : "",
	    enc2);
out:
	free(enc);
	free(enc2);
}

char *
s3_record_format(const struct s3_record *rec, size_t *len)
{
	struct buf b = { 0 };
	unsigned i, k;

	bprintf(&b, "# netdump-server s3 sink: objects of one dump that "
	    "still wait for the store\nversion = 1\n");
	bprintf(&b, "endpoint = %s\nbucket = %s\n", rec->endpoint,
	    rec->bucket);
	bprintf(&b, "dump = %" PRIu64 "\nclient = %s\nsince = %" PRId64 "\n",
	    rec->dump_id, rec->client, rec->since);
	for (k = 0; k < rec->nstale; k++)
		bencoded(&b, "stale", rec->stale[k].key, rec->stale[k].id);
	for (i = 0; i < rec->nobj; i++) {
		const struct s3_rec_obj *o = &rec->obj[i];

		bprintf(&b, "[object]\nfile = %s\n", o->file);
		bencoded(&b, "key", o->key, NULL);
		if (o->ikey != NULL && strcmp(o->ikey, o->key) != 0)
			bencoded(&b, "incomplete_key", o->ikey, NULL);
		bprintf(&b, "size = %" PRIu64 "\ndone = %s\n", o->size,
		    o->done ? "yes" : "no");
		if (o->expected != 0)
			bprintf(&b, "expected = %" PRIu64 "\n", o->expected);
		if (o->note)
			bprintf(&b, "note = yes\n");
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

char *
s3_trim(char *s)
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

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static char *
decoded(const char *s)
{
	size_t len = strlen(s) + 1;
	char *d;

	if ((d = malloc(len)) == NULL)
		return NULL;
	if (s3_uri_decode(s, d, len) == -1) {
		free(d);
		return NULL;
	}
	return d;
}

static int
parse_bool(const char *s, bool *v)
{
	if (strcmp(s, "yes") == 0)
		*v = true;
	else if (strcmp(s, "no") == 0)
		*v = false;
	else
		return -1;
	return 0;
}

int
s3_record_add_stale(struct s3_record *rec, const char *key, const char *id)
{
	struct s3_rec_stale *st;
	unsigned k;

	for (k = 0; k < rec->nstale; k++)
		if (strcmp(rec->stale[k].key, key) == 0 &&
		    strcmp(rec->stale[k].id, id) == 0)
			return 0;
	if (rec->nstale == S3_REC_MAXSTALE)
		return -1;
	st = &rec->stale[rec->nstale];
	if ((st->key = strdup(key)) == NULL || (st->id = strdup(id)) == NULL) {
		free(st->key);
		st->key = NULL;
		return -1;
	}
	rec->nstale++;
	return 0;
}

int
s3_record_cut(struct s3_rec_obj *o, uint64_t have)
{
	const size_t tlen = strlen(S3_INCOMPLETE);
	size_t klen = strlen(o->key);
	char *key;

	if (have >= o->size)
		return 0;
	if (o->ikey != NULL)
		key = strdup(o->ikey);
	else if (klen >= tlen &&
	    strcmp(o->key + klen - tlen, S3_INCOMPLETE) == 0)
		key = strdup(o->key);	/* an incomplete dump's already */
	else if (klen + tlen > S3_KEY_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	} else if ((key = malloc(klen + tlen + 1)) != NULL) {
		memcpy(key, o->key, klen);
		memcpy(key + klen, S3_INCOMPLETE, tlen + 1);
	}
	if (key == NULL) {
		errno = ENOMEM;
		return -1;
	}
	free(o->key);
	o->key = key;
	/* Cut again: what the record first claimed is what was received. */
	if (o->expected == 0)
		o->expected = o->size;
	o->size = have;
	return 1;
}

void
s3_record_del_stale(struct s3_record *rec, unsigned i)
{
	if (i >= rec->nstale)
		return;
	free(rec->stale[i].key);
	free(rec->stale[i].id);
	memmove(&rec->stale[i], &rec->stale[i + 1],
	    (rec->nstale - i - 1) * sizeof(rec->stale[0]));
	rec->nstale--;
	memset(&rec->stale[rec->nstale], 0, sizeof(rec->stale[0]));
}

/* "KEY ID", both percent-encoded. */
static int
parse_stale(struct s3_record *rec, char *value)
{
	char *sp = strchr(value, ' '), *key, *id;
	int r = -1;

	if (sp == NULL)
		return -1;
	*sp = '\0';
	key = decoded(value);
	id = decoded(s3_trim(sp + 1));
	if (key != NULL && id != NULL && *key != '\0' && *id != '\0')
		r = s3_record_add_stale(rec, key, id);
	free(key);
	free(id);
	return r;
}

/* How a line of the record went. */
enum rec_line {
	LINE_OK = 0,
	LINE_BAD,	/* a bad value: the caller says which */
	LINE_ERR,	/* err says why */
};

/* A line before the first "[object]". */
static enum rec_line
parse_head(struct s3_record *rec, const char *name, char *value,
    unsigned lineno, char *err, size_t errlen)
{
	uint64_t v;

	if (strcmp(name, "version") == 0) {
		if (strcmp(value, "1") != 0) {
			snprintf(err, errlen, "line %u: version %.16s is not 1",
			    lineno, value);
			return LINE_ERR;
		}
	} else if (strcmp(name, "endpoint") == 0) {
		free(rec->endpoint);
		if ((rec->endpoint = strdup(value)) == NULL)
			goto nomem;
	} else if (strcmp(name, "bucket") == 0) {
		free(rec->bucket);
		if ((rec->bucket = strdup(value)) == NULL)
			goto nomem;
	} else if (strcmp(name, "dump") == 0) {
		if (parse_u64(value, &rec->dump_id) == -1)
			return LINE_BAD;
	} else if (strcmp(name, "client") == 0) {
		snprintf(rec->client, sizeof(rec->client), "%s", value);
	} else if (strcmp(name, "stale") == 0) {
		if (parse_stale(rec, value) == -1)
			return LINE_BAD;
	} else if (strcmp(name, "since") == 0) {
		if (parse_u64(value, &v) == -1 || v > INT64_MAX)
			return LINE_BAD;
		rec->since = (int64_t)v;
	}
	/* Unknown names are a later version's: ignored. */
	return LINE_OK;
nomem:
	snprintf(err, errlen, "out of memory");
	return LINE_ERR;
}

/* A line of an object. */
static enum rec_line
parse_object(struct s3_rec_obj *o, const char *name, const char *value)
{
	if (strcmp(name, "file") == 0) {
		/* A plain name inside the dump's folder, nothing else. */
		if (*value == '\0' || strchr(value, '/') != NULL ||
		    strcmp(value, ".") == 0 || strcmp(value, "..") == 0 ||
		    strlen(value) >= sizeof(o->file))
			return LINE_BAD;
		snprintf(o->file, sizeof(o->file), "%s", value);
	} else if (strcmp(name, "key") == 0) {
		free(o->key);
		if ((o->key = decoded(value)) == NULL || o->key[0] == '\0')
			return LINE_BAD;
	} else if (strcmp(name, "incomplete_key") == 0) {
		free(o->ikey);
		if ((o->ikey = decoded(value)) == NULL || o->ikey[0] == '\0')
			return LINE_BAD;
	} else if (strcmp(name, "size") == 0) {
		if (parse_u64(value, &o->size) == -1)
			return LINE_BAD;
	} else if (strcmp(name, "expected") == 0) {
		if (parse_u64(value, &o->expected) == -1)
			return LINE_BAD;
	} else if (strcmp(name, "done") == 0) {
		if (parse_bool(value, &o->done) == -1)
			return LINE_BAD;
	} else if (strcmp(name, "note") == 0) {
		if (parse_bool(value, &o->note) == -1)
			return LINE_BAD;
	}
	return LINE_OK;
}

/* What a parsed record must have. */
static int
record_check(const struct s3_record *rec, bool version, char *err,
    size_t errlen)
{
	unsigned i;

	if (!version || rec->endpoint == NULL || rec->bucket == NULL) {
		snprintf(err, errlen, "version, endpoint or bucket missing");
		return -1;
	}
	for (i = 0; i < rec->nobj; i++)
		if (rec->obj[i].file[0] == '\0' || rec->obj[i].key == NULL) {
			snprintf(err, errlen, "object %u has no file or key",
			    i + 1);
			return -1;
		}
	return 0;
}

int
s3_record_parse(const char *text, size_t len, struct s3_record *rec,
    char *err, size_t errlen)
{
	struct s3_rec_obj *o = NULL;
	char *copy, *line, *next, *name, *value, *eq;
	bool version = false;
	enum rec_line r;
	unsigned lineno = 0;

	memset(rec, 0, sizeof(*rec));
	if ((copy = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (strlen(copy) != len) {
		snprintf(err, errlen, "NUL byte in the record");
		goto fail;
	}
	for (line = copy; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = s3_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (strcmp(line, "[object]") == 0) {
			if (rec->nobj == S3_REC_MAXOBJ) {
				snprintf(err, errlen, "line %u: more than %d "
				    "objects", lineno, S3_REC_MAXOBJ);
				goto fail;
			}
			o = &rec->obj[rec->nobj++];
			continue;
		}
		if ((eq = strchr(line, '=')) == NULL) {
			snprintf(err, errlen, "line %u: no '='", lineno);
			goto fail;
		}
		*eq = '\0';
		name = s3_trim(line);
		value = s3_trim(eq + 1);
		if (o == NULL && strcmp(name, "version") == 0)
			version = true;
		r = o == NULL ? parse_head(rec, name, value, lineno, err,
		    errlen) : parse_object(o, name, value);
		if (r == LINE_BAD)
			snprintf(err, errlen, "line %u: bad value for %s",
			    lineno, name);
		if (r != LINE_OK)
			goto fail;
	}
	if (record_check(rec, version, err, errlen) == -1)
		goto fail;
	free(copy);
	return 0;
fail:
	free(copy);
	s3_record_free(rec);
	return -1;
}

void
s3_record_free(struct s3_record *rec)
{
	unsigned i, k;

	free(rec->endpoint);
	free(rec->bucket);
	for (i = 0; i < rec->nobj; i++) {
		free(rec->obj[i].key);
		free(rec->obj[i].ikey);
	}
	for (k = 0; k < rec->nstale; k++) {
		free(rec->stale[k].key);
		free(rec->stale[k].id);
	}
	memset(rec, 0, sizeof(*rec));
}
