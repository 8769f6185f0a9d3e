/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Just enough XML for S3 replies: the text of <UploadId>, <ETag>, <Code>
 * and <Message>, and whether the root element is <Error> (a
 * CompleteMultipartUpload or UploadPartCopy can answer 200 and still have
 * failed). S3 replies are flat, unprefixed and entity-escaped (ETags come
 * as &quot;...&quot;); this is not a general parser and never reads past
 * the length it is given, NUL or not.
 */
#include "s3.h"

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whether a name ends at p: '>', '/' or white space follows. */
static bool
name_ends(const char *p, const char *end)
{
	return p < end && (*p == '>' || *p == '/' || is_space(*p));
}

static const char *
find(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	for (; (size_t)(end - p) >= n; p++)
		if (memcmp(p, s, n) == 0)
			return p;
	return NULL;
}

/* Append the UTF-8 form of code point c; false if it does not fit. */
static bool
put_utf8(char *out, size_t outlen, size_t *n, uint32_t c)
{
	size_t k, len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;

	if (*n + len >= outlen)
		return false;
	/* Continuation bytes carry 6 bits each, from the end. */
	for (k = len - 1; k > 0; k--, c >>= 6)
		out[*n + k] = (char)(0x80 | (c & 0x3f));
	out[*n] = (char)(len == 1 ? c : (0xff00u >> len & 0xff) | c);
	*n += len;
	return true;
}

/*
 * Decode one entity at p (just after '&'), up to ';' before end. Returns
 * the code point, or -1 when it is not one we know (then '&' is kept).
 */
static int32_t
entity(const char *p, const char *end, const char **next)
{
	static const struct {
		const char	*name;
		char		 c;
	} named[] = {
		{ "quot", '"' }, { "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "apos", '\'' },
	};
	const char *semi;
	uint32_t v = 0;
	size_t i, n;
	int base = 10;

	for (semi = p; semi < end && semi - p < 12 && *semi != ';'; semi++)
		;
	if (semi >= end || *semi != ';' || semi == p)
		return -1;
	n = (size_t)(semi - p);
	*next = semi + 1;
	if (*p != '#') {
		for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
			if (strlen(named[i].name) == n &&
			    memcmp(p, named[i].name, n) == 0)
				return named[i].c;
		return -1;
	}
	p++;
	if (p < semi && (*p == 'x' || *p == 'X')) {
		base = 16;
		p++;
	}
	if (p == semi)
		return -1;
	for (; p < semi; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			d = (*p | 0x20) - 'a' + 10;
		else
			return -1;
		v = v * (uint32_t)base + (uint32_t)d;
		if (v > 0x10ffff)
			return -1;
	}
	/* NUL and surrogates are not characters. */
	if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	return (int32_t)v;
}

int
s3_xml_text(const char *xml, size_t len, const char *tag, char *out,
    size_t outlen)
{
	const char *end = xml + len, *p = xml, *q, *close, *next;
	size_t tlen = strlen(tag), n = 0;
	char closing[80];
	int32_t c;

	if (outlen == 0 || tlen == 0 || tlen + 4 > sizeof(closing))
		return -1;
	out[0] = '\0';
	/* The first "<tag" whose name ends there: <Code> but not <CodeX>. */
	for (;;) {
		if ((p = find(p, end, "<")) == NULL)
			return -1;
		p++;
		if ((size_t)(end - p) > tlen && memcmp(p, tag, tlen) == 0 &&
		    name_ends(p + tlen, end))
			break;
	}
	/* Past its attributes (xmlns="..."); quoted values may hold '>'. */
	for (q = p + tlen; q < end && *q != '>'; q++)
		if ((*q == '"' || *q == '\'') &&
		    (q = memchr(q + 1, *q, (size_t)(end - q - 1))) == NULL)
			return -1;
	if (q >= end)
		return -1;
	if (q[-1] == '/')
		return 0;	/* <tag/> */
	q++;
	snprintf(closing, sizeof(closing), "</%s>", tag);
	if ((close = find(q, end, closing)) == NULL)
		return -1;
	while (q < close) {
		if (*q == '&' && (c = entity(q + 1, close, &next)) >= 0) {
			if (!put_utf8(out, outlen, &n, (uint32_t)c))
				goto toolong;
			q = next;
			continue;
		}
		if (n + 1 >= outlen)
			goto toolong;
		out[n++] = *q++;
	}
	out[n] = '\0';
	return (int)n;
toolong:
	out[0] = '\0';
	return -1;
}

bool
s3_xml_root_is(const char *xml, size_t len, const char *tag)
{
	const char *end = xml + len, *p = xml;
	size_t tlen = strlen(tag);

	while (p < end) {
		if (is_space(*p)) {
			p++;
			continue;
		}
		if (*p != '<')
			return false;
		/* A declaration, processing instruction or comment. */
		if (end - p >= 2 && (p[1] == '?' || p[1] == '!')) {
			const char *q = find(p, end, ">");

			if (q == NULL)
				return false;
			p = q + 1;
			continue;
		}
		p++;
		return (size_t)(end - p) > tlen && memcmp(p, tag, tlen) == 0 &&
		    name_ends(p + tlen, end);
	}
	return false;
}
