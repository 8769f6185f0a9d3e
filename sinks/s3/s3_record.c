/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pending record: which objects of a spooled dump still wait for the
 * store, under which keys, and which multipart uploads of theirs are to be
 * aborted first. The host's outbox writes and reads it (its format, its
 * escaping, its version); this file says what its fields mean. In order:
 *
 *   endpoint = http://127.0.0.1:7480
 *   bucket = dumps
 *   dump = 7
 *   client = 192.0.2.7
 *   since = 1795430102
 *   stale = crash/192.0.2.7/20261123T101502Z-c1-7/vmcore
 *   stale_id = 2~hbUEuTM4kG1Y
 *   object = 1-vmcore
 *   key = crash/192.0.2.7/20261123T101502Z-c1-7/vmcore
 *   incomplete_key = crash/192.0.2.7/20261123T101502Z-c1-7/vmcore.incomplete
 *   size = 33554432
 *   done = no
 *
 * "stale_id" belongs to the "stale" before it; the fields after "object"
 * (its spool file) are that object's, up to the next "object".
 *
 * When a spool file turns out shorter than its record says (cut by a
 * crash of the file system, a full disk, a hand), the object is relabelled
 * in place rather than padded: key becomes the incomplete key, size the
 * length there is, and "expected = N" keeps what the record first said.
 * A version that does not know "expected" still uploads only the bytes
 * that are there, under the incomplete name.
 */
#include "s3.h"

static void
field(struct s3_fields *fb, const char *name, const char *value)
{
	fb->f[fb->n].name = name;
	fb->f[fb->n].value = value;
	fb->n++;
}

static void
field_u64(struct s3_fields *fb, const char *name, uint64_t v)
{
	char *num = fb->nums[fb->nnums++];

	snprintf(num, sizeof(fb->nums[0]), "%" PRIu64, v);
	field(fb, name, num);
}

void
s3_record_fields(const struct s3_record *rec, struct s3_fields *fb)
{
	unsigned i, k;

	fb->n = 0;
	fb->nnums = 0;
	field(fb, "endpoint", rec->endpoint);
	field(fb, "bucket", rec->bucket);
	field_u64(fb, "dump", rec->dump_id);
	field(fb, "client", rec->client);
	field_u64(fb, "since", rec->since > 0 ? (uint64_t)rec->since : 0);
	for (k = 0; k < rec->nstale; k++) {
		field(fb, "stale", rec->stale[k].key);
		field(fb, "stale_id", rec->stale[k].id);
	}
	for (i = 0; i < rec->nobj; i++) {
		const struct s3_rec_obj *o = &rec->obj[i];

		field(fb, "object", o->file);
		field(fb, "key", o->key);
		if (o->ikey != NULL && strcmp(o->ikey, o->key) != 0)
			field(fb, "incomplete_key", o->ikey);
		field_u64(fb, "size", o->size);
		field(fb, "done", o->done ? "yes" : "no");
		if (o->expected != 0)
			field_u64(fb, "expected", o->expected);
		if (o->note)
			field(fb, "note", "yes");
	}
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

/* How a field of the record went. */
enum rec_field {
	FIELD_OK = 0,
	FIELD_BAD,	/* a bad value: the caller says which */
	FIELD_ERR,	/* err says why */
};

static enum rec_field
dup_value(char **to, const char *value)
{
	free(*to);
	if ((*to = strdup(value)) == NULL)
		return FIELD_ERR;
	return **to == '\0' ? FIELD_BAD : FIELD_OK;
}

/* A field of the dump's, or of its stale uploads. */
static enum rec_field
parse_head(struct s3_record *rec, const char *name, const char *value,
    const char **stale)
{
	uint64_t v;

	if (strcmp(name, "endpoint") == 0)
		return dup_value(&rec->endpoint, value);
	if (strcmp(name, "bucket") == 0)
		return dup_value(&rec->bucket, value);
	if (strcmp(name, "dump") == 0) {
		if (parse_u64(value, &rec->dump_id) == -1)
			return FIELD_BAD;
	} else if (strcmp(name, "client") == 0) {
		snprintf(rec->client, sizeof(rec->client), "%s", value);
	} else if (strcmp(name, "since") == 0) {
		if (parse_u64(value, &v) == -1 || v > INT64_MAX)
			return FIELD_BAD;
		rec->since = (int64_t)v;
	} else if (strcmp(name, "stale") == 0) {
		/* Its id comes next; a stale without one is bad. */
		if (*stale != NULL || *value == '\0')
			return FIELD_BAD;
		*stale = value;
	} else if (strcmp(name, "stale_id") == 0) {
		if (*stale == NULL || *value == '\0' ||
		    s3_record_add_stale(rec, *stale, value) == -1)
			return FIELD_BAD;
		*stale = NULL;
	}
	/* Unknown names are a later version's: ignored. */
	return FIELD_OK;
}

/* "object = FILE": a plain name inside the dump's folder, nothing else. */
static enum rec_field
parse_file(struct s3_rec_obj *o, const char *value)
{
	if (*value == '\0' || strchr(value, '/') != NULL ||
	    strcmp(value, ".") == 0 || strcmp(value, "..") == 0 ||
	    strlen(value) >= sizeof(o->file))
		return FIELD_BAD;
	snprintf(o->file, sizeof(o->file), "%s", value);
	return FIELD_OK;
}

/* A field of an object; *known false if it is not one. */
static enum rec_field
parse_object(struct s3_rec_obj *o, const char *name, const char *value,
    bool *known)
{
	*known = true;
	if (strcmp(name, "key") == 0)
		return dup_value(&o->key, value);
	if (strcmp(name, "incomplete_key") == 0)
		return dup_value(&o->ikey, value);
	if (strcmp(name, "size") == 0)
		return parse_u64(value, &o->size) == -1 ? FIELD_BAD : FIELD_OK;
	if (strcmp(name, "expected") == 0)
		return parse_u64(value, &o->expected) == -1 ? FIELD_BAD :
		    FIELD_OK;
	if (strcmp(name, "done") == 0)
		return parse_bool(value, &o->done) == -1 ? FIELD_BAD :
		    FIELD_OK;
	if (strcmp(name, "note") == 0)
		return parse_bool(value, &o->note) == -1 ? FIELD_BAD :
		    FIELD_OK;
	*known = false;
	return FIELD_OK;
}

/* What a record must have. */
static int
record_check(const struct s3_record *rec, const char *stale, char *err,
    size_t errlen)
{
	unsigned i;

	if (rec->endpoint == NULL || rec->bucket == NULL) {
		snprintf(err, errlen, "endpoint or bucket missing");
		return -1;
	}
	if (stale != NULL) {
		snprintf(err, errlen, "a stale upload without its id");
		return -1;
	}
	for (i = 0; i < rec->nobj; i++)
		if (rec->obj[i].key == NULL) {
			snprintf(err, errlen, "object %u has no key", i + 1);
			return -1;
		}
	return 0;
}

/* A field of the record into rec; *o is the object it belongs to. */
static enum rec_field
parse_field(struct s3_record *rec, struct s3_rec_obj **o,
    const struct nds_field *f, const char **stale, char *err, size_t errlen)
{
	bool known = false;
	enum rec_field r;

	if (strcmp(f->name, "object") == 0) {
		if (rec->nobj == S3_REC_MAXOBJ) {
			snprintf(err, errlen, "more than %d objects",
			    S3_REC_MAXOBJ);
			return FIELD_ERR;
		}
		*o = &rec->obj[rec->nobj++];
		return parse_file(*o, f->value);
	}
	if (*o != NULL) {
		r = parse_object(*o, f->name, f->value, &known);
		if (known)
			return r;
	}
	return parse_head(rec, f->name, f->value, stale);
}

int
s3_record_from_fields(const struct nds_field *f, size_t n,
    struct s3_record *rec, char *err, size_t errlen)
{
	struct s3_rec_obj *o = NULL;
	const char *stale = NULL;
	enum rec_field r;
	size_t i;

	memset(rec, 0, sizeof(*rec));
	for (i = 0; i < n; i++) {
		err[0] = '\0';
		if ((r = parse_field(rec, &o, &f[i], &stale, err, errlen)) ==
		    FIELD_OK)
			continue;
		if (r == FIELD_BAD)
			snprintf(err, errlen, "field %zu: bad value for %s",
			    i + 1, f[i].name);
		else if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (record_check(rec, stale, err, errlen) == -1)
		goto fail;
	return 0;
fail:
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
