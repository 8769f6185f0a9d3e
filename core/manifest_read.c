/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reading a manifest back (nds_host.manifest_read, manifest_facts): the
 * host's record of a finished dump, for a module that looks for the dumps
 * it stored. Parsed with jansson, once; only what this server writes
 * (manifest_version 1, a signature id of 16 lowercase hex digits) is
 * taken.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "netdump/sink.h"
#include "manifest.h"

/* A string member into buf; -1 if it is missing, not a string or long. */
static int
copy_str(json_t *obj, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL || strlen(s) >= len)
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

static int
read_summary(json_t *root, struct nds_manifest_summary *sum)
{
	json_t *client = json_object_get(root, "client"), *num;
	const char *status;
	json_int_t n;

	memset(sum, 0, sizeof(*sum));
	if (json_integer_value(json_object_get(root, "manifest_version")) !=
	    1 || !json_is_object(client))
		return -1;
	status = json_string_value(json_object_get(root, "status"));
	if (status != NULL && strcmp(status, "complete") == 0)
		sum->status = NDS_STATUS_COMPLETE;
	else if (status != NULL && strcmp(status, "incomplete") == 0)
		sum->status = NDS_STATUS_INCOMPLETE;
	/* Written at begin, never replaced: the dump's end never came. */
	else if (status != NULL && strcmp(status, "unfinished") == 0)
		sum->status = NDS_STATUS_RECEIVING;
	else
		return -1;
	if (copy_str(client, "address", sum->client_addr,
	    sizeof(sum->client_addr)) == -1)
		return -1;
	/* Before the name was written, it was the address. */
	if (copy_str(client, "name", sum->client_name,
	    sizeof(sum->client_name)) == -1)
		memcpy(sum->client_name, sum->client_addr,
		    sizeof(sum->client_addr));
	num = json_object_get(root, "number");
	if (json_is_integer(num)) {
		n = json_integer_value(num);
		if (n < 0 || (unsigned long long)n > 0xffffffffull)
			return -1;
		sum->has_number = true;
		sum->number = (unsigned)n;
	}
	return 0;
}

/* An object's kind, as the manifest names it; NDS_OBJ_NKINDS if none. */
static enum nds_object_kind
kind_of(json_t *obj)
{
	const char *name = json_string_value(json_object_get(obj, "kind"));
	unsigned k;

	for (k = 0; name != NULL && k < NDS_OBJ_NKINDS; k++)
		if (strcmp(name, nds_object_name((enum nds_object_kind)k)) == 0)
			break;
	return name != NULL ? (enum nds_object_kind)k : NDS_OBJ_NKINDS;
}

/*
 * The signature's id and count into facts; -1 when the manifest has one
 * that is not what this server writes (16 lowercase hex digits).
 */
static int
read_signature(json_t *root, struct nds_manifest_facts *facts)
{
	json_t *sig = json_object_get(root, "signature"), *n;
	char *id = facts->signature;

	if (sig == NULL || json_is_null(sig))
		return 0;
	if (!json_is_object(sig) || copy_str(sig, "id", id,
	    NDS_SIGNATURE_SIZE) == -1 || strlen(id) != NDS_SIGNATURE_SIZE - 1 ||
	    strspn(id, "0123456789abcdef") != NDS_SIGNATURE_SIZE - 1)
		return -1;
	n = json_object_get(sig, "seen");
	facts->seen = json_is_integer(n) && json_integer_value(n) > 0 ?
	    (uint64_t)json_integer_value(n) : 0;
	return 0;
}

int
nd_manifest_facts(const char *text, size_t len,
    struct nds_manifest_facts *facts,
    void (*stored)(void *, enum nds_object_kind, const char *), void *arg)
{
	json_t *root, *objects, *obj, *places, *where;
	const char *chain;
	size_t i;
	int r = -1;

	memset(facts, 0, sizeof(*facts));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || read_summary(root, &facts->summary) == -1 ||
	    read_signature(root, facts) == -1)
		goto out;
	objects = json_object_get(root, "objects");
	if (!json_is_array(objects))
		goto out;
	/* Checked whole before anything is told: all or nothing. */
	json_array_foreach(objects, i, obj) {
		places = json_object_get(obj, "stored");
		if (places == NULL)
			continue;
		if (!json_is_object(places))
			goto out;
		json_object_foreach(places, chain, where)
			if (!json_is_string(where))
				goto out;
	}
	json_array_foreach(objects, i, obj) {
		places = json_object_get(obj, "stored");
		json_object_foreach(places, chain, where)
			stored(arg, kind_of(obj), json_string_value(where));
	}
	r = 0;
out:
	if (r == -1)
		memset(facts, 0, sizeof(*facts));
	json_decref(root);
	return r;
}

struct told_where {
	void	(*stored)(void *, const char *);
	void	*arg;
};

static void
tell_where(void *arg, enum nds_object_kind kind, const char *where)
{
	struct told_where *t = arg;

	(void)kind;
	t->stored(t->arg, where);
}

int
nd_manifest_read(const char *text, size_t len,
    struct nds_manifest_summary *sum,
    void (*stored)(void *, const char *), void *arg)
{
	struct nds_manifest_facts facts;
	struct told_where t = { stored, arg };
	int r;

	r = nd_manifest_facts(text, len, &facts, tell_where, &t);
	*sum = facts.summary;
	return r;
}
