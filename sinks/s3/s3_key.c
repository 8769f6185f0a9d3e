/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Object keys and the part layout: pure functions, unit-tested.
 *
 * A key is built from a template such as
 * "{prefix}{path}/{client}/{date}-{collector}-{id}/{name}". S3 itself takes
 * any UTF-8 key, but curl's SigV4 signing (7.88) does not normalise paths
 * the way S3 does, so keys are kept tame: no empty, "." or ".." segments
 * (curl or a proxy could fold them away and the signature would no longer
 * match) and no control characters; everything else is percent-encoded
 * segment by segment when the URL is built.
 */
#include "s3.h"

static const struct {
	const char	*name;
	size_t		 off;	/* in struct s3_keyvars */
	bool		 slashes;	/* may bring '/' into the key */
} vars[] = {
	{ "prefix", offsetof(struct s3_keyvars, prefix), true },
	{ "collector", offsetof(struct s3_keyvars, collector), false },
	{ "path", offsetof(struct s3_keyvars, path), true },
	{ "client", offsetof(struct s3_keyvars, client), false },
	{ "addr", offsetof(struct s3_keyvars, addr), false },
	{ "date", offsetof(struct s3_keyvars, date), false },
	{ "day", offsetof(struct s3_keyvars, day), false },
	{ "id", offsetof(struct s3_keyvars, id), false },
	{ "name", offsetof(struct s3_keyvars, name), false },
};
#define NVARS	(sizeof(vars) / sizeof(vars[0]))

/* The variable named by "{...}" at p, its length in *len; -1 if none. */
static int
var_at(const char *p, size_t *len)
{
	const char *close;
	size_t i, n;

	if (*p != '{' || (close = strchr(p, '}')) == NULL)
		return -1;
	n = (size_t)(close - p - 1);
	for (i = 0; i < NVARS; i++)
		if (strlen(vars[i].name) == n &&
		    strncmp(p + 1, vars[i].name, n) == 0) {
			*len = n + 2;
			return (int)i;
		}
	return -1;
}

int
s3_template_check(const char *tmpl, char *err, size_t errlen)
{
	const char *p;
	bool name = false;
	size_t len;
	int v;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p == '}') {
			snprintf(err, errlen, "key_template: stray '}'");
			return -1;
		}
		if (*p != '{')
			continue;
		if ((v = var_at(p, &len)) == -1) {
			snprintf(err, errlen, "key_template: unknown variable "
			    "at \"%.32s\" (known: {prefix} {collector} {path} "
			    "{client} {addr} {date} {day} {id} {name})", p);
			return -1;
		}
		if (strcmp(vars[v].name, "name") == 0)
			name = true;
		p += len - 1;
	}
	/* Without {name} every object of a dump would land on one key. */
	if (!name) {
		snprintf(err, errlen, "key_template: must contain {name}");
		return -1;
	}
	return 0;
}

/* Append c, tamed; false when out is full. */
static bool
put(char *out, size_t outlen, size_t *n, char c, bool slashes)
{
	if ((unsigned char)c < 0x20 || c == 0x7f || (c == '/' && !slashes))
		c = '_';
	if (*n + 1 >= outlen)
		return false;
	out[(*n)++] = c;
	return true;
}

int
s3_key_expand(const char *tmpl, const struct s3_keyvars *kv, char *out,
    size_t outlen)
{
	char raw[4 * S3_KEY_MAX];
	const char *p, *seg, *s;
	size_t n = 0, len, seglen;
	int v;

	/* First substitute, then clean the segments up. */
	for (p = tmpl; *p != '\0'; p++) {
		if (*p == '{' && (v = var_at(p, &len)) != -1) {
			s = *(const char *const *)(const void *)
			    ((const char *)kv + vars[v].off);
			for (; s != NULL && *s != '\0'; s++)
				if (!put(raw, sizeof(raw), &n, *s,
				    vars[v].slashes))
					return -1;
			p += len - 1;
			continue;
		}
		if (!put(raw, sizeof(raw), &n, *p, true))
			return -1;
	}
	raw[n] = '\0';

	n = 0;
	for (seg = raw; *seg != '\0'; seg += seglen) {
		if (*seg == '/') {
			seglen = 1;
			continue;
		}
		seglen = strcspn(seg, "/");
		if (seglen == 1 && seg[0] == '.')
			continue;
		if (n > 0 && n + 1 < outlen)
			out[n++] = '/';
		if (n + seglen >= outlen || n + seglen > S3_KEY_MAX)
			return -1;
		/* ".." becomes "__", as long. */
		memcpy(out + n, seglen == 2 && seg[0] == '.' && seg[1] == '.' ?
		    "__" : seg, seglen);
		n += seglen;
	}
	if (n == 0 || n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}

bool
s3_key_mine(const char *tmpl, const char *prefix, const char *key)
{
	char head[4 * S3_KEY_MAX], tamed[S3_KEY_MAX + 1];
	const struct s3_keyvars kv = { .prefix = prefix };
	const char *p, *seg;
	size_t n, len;
	bool whole;

	n = strlen(key);
	if (n == 0 || n > S3_KEY_MAX)
		return false;
	for (seg = key; *seg != '\0'; seg += len + (seg[len] == '/')) {
		len = strcspn(seg, "/");
		if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 &&
		    seg[0] == '.' && seg[1] == '.'))
			return false;
	}
	for (p = key; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	if (key[n - 1] == '/')
		return false;
	/* The start: the template up to its first variable but {prefix}. */
	for (p = tmpl, n = 0; *p != '\0' && n < sizeof(head) - 1; p++) {
		if (*p == '{' && var_at(p, &len) > 0)
			break;
		head[n++] = *p;
	}
	head[n] = '\0';
	/* A whole segment must end where the template's start does. */
	whole = n > 0 && (head[n - 1] == '/' || (n >= 8 &&
	    strcmp(head + n - 8, "{prefix}") == 0 && prefix != NULL &&
	    *prefix != '\0' && prefix[strlen(prefix) - 1] == '/'));
	if (s3_key_expand(head, &kv, tamed, sizeof(tamed)) == -1)
		return true;	/* nothing fixed */
	n = strlen(tamed);
	return strncmp(key, tamed, n) == 0 && (!whole || key[n] == '/');
}

bool
s3_incomplete(const char *name)
{
	size_t n = strlen(name), t = strlen(S3_INCOMPLETE);

	return n >= t && strcmp(name + n - t, S3_INCOMPLETE) == 0;
}

int
s3_uri_encode(const char *s, bool keep_slash, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~";
	const unsigned char *p;
	size_t n = 0;
	bool keep;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		keep = strchr(unreserved, *p) != NULL ||
		    (keep_slash && *p == '/');
		if (n + (keep ? 1 : 3) >= outlen)
			return -1;
		if (keep)
			out[n++] = (char)*p;
		else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}

uint64_t
s3_part_len(uint64_t base, uint32_t n)
{
	uint32_t g = n > 0 ? (n - 1) / S3_PART_GROUP : 0;
	uint64_t len = base;

	while (g-- > 0 && len < S3_MAX_PART)
		len *= 2;
	return len > S3_MAX_PART ? S3_MAX_PART : len;
}

uint64_t
s3_part_start(uint64_t base, uint32_t n)
{
	uint64_t start = 0;
	uint32_t done = 0;

	if (n == 0)
		return 0;
	while (done + S3_PART_GROUP < n) {
		start += S3_PART_GROUP * s3_part_len(base, done + 1);
		done += S3_PART_GROUP;
	}
	return start + (uint64_t)(n - 1 - done) * s3_part_len(base, n);
}

uint32_t
s3_part_at(uint64_t base, uint64_t off)
{
	uint64_t start = 0, glen;
	uint32_t done = 0;

	while (done < S3_MAX_PARTS) {
		glen = S3_PART_GROUP * s3_part_len(base, done + 1);
		if (off < start + glen)
			return done + 1 +
			    (uint32_t)((off - start) / s3_part_len(base,
			    done + 1));
		start += glen;
		done += S3_PART_GROUP;
	}
	return 0;
}

uint32_t
s3_part_count(uint64_t base, uint64_t size)
{
	if (size == 0)
		return 0;
	return s3_part_at(base, size - 1);
}
