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
 * that are there, under the incomplete name. Every object must say its
 * size and done: a record cut short (the host's end line catches that
 * since its version 2; not in a version 1 record) is refused whole. A
 * spool file longer than its record uploads what the record says and
 * stays.
 *
 * While a dump arrives, its folder's record names the objects arriving
 * into the spool with "arriving = yes" and no size (the key is the
 * incomplete one): a record still so once its folder's lock is free was
 * left by a server that died in the middle of the dump, and the spool
 * file's length is what came.
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
		if (o->arriving)
			field(fb, "arriving", "yes");
		else
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
	*v = strcmp(s, "yes") == 0;
	return *v || strcmp(s, "no") == 0 ? 0 : -1;
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
	size_t klen = strlen(o->key) + strlen(S3_INCOMPLETE) + 1;
	char *key;

	if (have >= o->size)
		return 0;
	if (o->ikey != NULL)
		key = strdup(o->ikey);
	else if (s3_incomplete(o->key))
		key = strdup(o->key);	/* an incomplete dump's already */
	else if (klen - 1 > S3_KEY_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	} else if ((key = malloc(klen)) != NULL)
		snprintf(key, klen, "%s%s", o->key, S3_INCOMPLETE);
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

/* 0; -1 for a bad value; -2 out of memory. An empty value is bad. */
static int
dup_value(char **to, const char *value)
{
	free(*to);
	if ((*to = strdup(value)) == NULL)
		return -2;
	return **to == '\0' ? -1 : 0;
}

/*
 * Field f into rec, *o the object it belongs to: 0; -1 for a bad value;
 * -2 when err says why, or (err empty) out of memory.
 */
static int
parse_field(struct s3_record *rec, struct s3_rec_obj **o,
    const struct nds_field *f, const char **stale, char *err, size_t errlen)
{
	const char *name = f->name, *v = f->value;
	struct s3_rec_obj *ob = *o;
	uint64_t u;

	if (strcmp(name, "object") == 0) {
		if (rec->nobj == S3_REC_MAXOBJ) {
			snprintf(err, errlen, "more than %d objects",
			    S3_REC_MAXOBJ);
			return -2;
		}
		*o = ob = &rec->obj[rec->nobj++];
		/* A plain name inside the dump's folder, nothing else. */
		if (*v == '\0' || strchr(v, '/') != NULL ||
		    strcmp(v, ".") == 0 || strcmp(v, "..") == 0 ||
		    strlen(v) >= sizeof(ob->file))
			return -1;
		snprintf(ob->file, sizeof(ob->file), "%s", v);
		return 0;
	}
	/* An object's fields, after its "object"; else the dump's. */
	if (ob != NULL && strcmp(name, "key") == 0)
		return dup_value(&ob->key, v);
	if (ob != NULL && strcmp(name, "incomplete_key") == 0)
		return dup_value(&ob->ikey, v);
	if (ob != NULL && strcmp(name, "size") == 0)
		return parse_u64(v, &ob->size);
	if (ob != NULL && strcmp(name, "expected") == 0)
		return parse_u64(v, &ob->expected);
	if (ob != NULL && strcmp(name, "done") == 0)
		return parse_bool(v, &ob->done);
	if (ob != NULL && strcmp(name, "note") == 0)
		return parse_bool(v, &ob->note);
	if (ob != NULL && strcmp(name, "arriving") == 0)
		return parse_bool(v, &ob->arriving);
	if (strcmp(name, "endpoint") == 0)
		return dup_value(&rec->endpoint, v);
	if (strcmp(name, "bucket") == 0)
		return dup_value(&rec->bucket, v);
	if (strcmp(name, "dump") == 0)
		return parse_u64(v, &rec->dump_id);
	if (strcmp(name, "client") == 0)
		snprintf(rec->client, sizeof(rec->client), "%s", v);
	else if (strcmp(name, "since") == 0) {
		if (parse_u64(v, &u) == -1 || u > INT64_MAX)
			return -1;
		rec->since = (int64_t)u;
	} else if (strcmp(name, "stale") == 0) {
		/* Its id comes next; a stale without one is bad. */
		if (*stale != NULL || *v == '\0')
			return -1;
		*stale = v;
	} else if (strcmp(name, "stale_id") == 0) {
		if (*stale == NULL || *v == '\0' ||
		    s3_record_add_stale(rec, *stale, v) == -1)
			return -1;
		*stale = NULL;
	}
	/* Unknown names are a later version's: ignored. */
	return 0;
}

int
s3_record_from_fields(const struct nds_field *f, size_t n,
    struct s3_record *rec, char *err, size_t errlen)
{
	struct s3_rec_obj *o = NULL;
	const char *stale = NULL;
	/* Which objects said their size and whether they went: both must. */
	bool sized[S3_REC_MAXOBJ] = { false }, told[S3_REC_MAXOBJ] = { false };
	size_t i;
	int r;

	memset(rec, 0, sizeof(*rec));
	for (i = 0; i < n; i++) {
		err[0] = '\0';
		if ((r = parse_field(rec, &o, &f[i], &stale, err, errlen)) == 0) {
			if (o != NULL && strcmp(f[i].name, "size") == 0)
				sized[o - rec->obj] = true;
			if (o != NULL && strcmp(f[i].name, "done") == 0)
				told[o - rec->obj] = true;
			continue;
		}
		if (r == -1)
			snprintf(err, errlen, "field %zu: bad value for %s",
			    i + 1, f[i].name);
		else if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (rec->endpoint == NULL || rec->bucket == NULL) {
		snprintf(err, errlen, "endpoint or bucket missing");
		goto fail;
	}
	if (stale != NULL) {
		snprintf(err, errlen, "a stale upload without its id");
		goto fail;
	}
	for (i = 0; i < rec->nobj; i++) {
		if (rec->obj[i].key == NULL) {
			snprintf(err, errlen, "object %zu has no key", i + 1);
			goto fail;
		}
		/*
		 * Cut short: its bytes are not to be taken for 0 of them.
		 * An arriving object has no size, and must not have one.
		 */
		if (sized[i] == rec->obj[i].arriving || !told[i]) {
			snprintf(err, errlen, "object %zu %s", i + 1,
			    rec->obj[i].arriving ? (sized[i] ? "is arriving "
			    "and has a size" : "has no done") : sized[i] ?
			    "has no done" : "has no size");
			goto fail;
		}
	}
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
