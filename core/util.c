/* SPDX-License-Identifier: BSD-2-Clause */
#include <sys/types.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

_Static_assert(sizeof(off_t) == 8, "dumps pass 4 GiB: build with "
    "_FILE_OFFSET_BITS=64");

void
nd_thread_name(const char *fmt, ...)
{
	char name[16];	/* the kernel's TASK_COMM_LEN */
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	(void)pthread_setname_np(pthread_self(), name);
}

double
ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) +
	    (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

void
ts_iso8601(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;
	char base[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03ldZ", base, ts->tv_nsec / 1000000);
}

static bool
path_char_ok(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return strchr("._+@,:=~-/", c) != NULL && c != '\0';
}

const char *
nd_herald_path_check(const uint8_t *payload, size_t len, char *out,
    size_t outsize)
{
	const char *comp;
	size_t plen, i, depth = 0;

	if (len == 0)
		return "empty";
	if (len > 1024)
		return "longer than 1024 bytes";
	if (payload[len - 1] != '\0')
		return "not NUL-terminated";
	plen = strlen((const char *)payload);
	if (plen != len - 1)
		return "embedded NUL";
	if (plen == 0)
		return "empty";
	if (plen > ND_HERALD_PATH_LEN)
		return "longer than " NUMBER_TEXT(ND_HERALD_PATH_LEN) " bytes";
	if (plen + 1 > outsize)
		return "too long";
	if (payload[0] == '/')
		return "absolute";
	for (i = 0; i < plen; i++)
		if (!path_char_ok(payload[i]))
			return "characters outside [A-Za-z0-9._+@,:=~-/]";
	memcpy(out, payload, plen + 1);
	while (plen > 0 && out[plen - 1] == '/')
		out[--plen] = '\0';
	for (comp = out; *comp != '\0';) {
		const char *slash = strchr(comp, '/');
		size_t clen = slash ? (size_t)(slash - comp) : strlen(comp);

		if (clen == 0)
			return "empty component";
		/*
		 * '.' and '..' climb; other names starting with '.' are the
		 * server's and its sinks' own (temporaries, spools, the
		 * status socket), which retention does not go into.
		 */
		if (comp[0] == '.')
			return "component starting with '.'";
		/* A hook given the path must not read it as an option. */
		if (comp[0] == '-')
			return "component starting with '-'";
		if (++depth > ND_HERALD_PATH_DEPTH)
			return "deeper than " NUMBER_TEXT(ND_HERALD_PATH_DEPTH)
			    " directories";
		comp += clen + (slash ? 1 : 0);
	}
	return NULL;
}

static void
buf_reserve(struct nd_buf *b, size_t more)
{
	char *ns;
	size_t ncap;

	if (b->failed || b->len + more + 1 <= b->cap)
		return;
	ncap = b->cap ? b->cap : 1024;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	if ((ns = realloc(b->s, ncap)) == NULL) {
		b->failed = true;
		return;
	}
	b->s = ns;
	b->cap = ncap;
}

void
nd_buf_printf(struct nd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	buf_reserve(b, (size_t)n);
	if (b->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/*
 * The length of the well-formed UTF-8 sequence of two to four bytes at p
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or
 * 0. A NUL ends the string before any continuation byte could be read.
 */
size_t
nd_utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* The code point of the well-formed UTF-8 sequence p[0, n), n 2 or 3. */
static unsigned
utf8_point(const unsigned char *p, size_t n)
{
	if (n == 2)
		return (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu);
	return (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
}

/*
 * Whether the UTF-8 character p[0, n) turns or breaks text on screen:
 * the marks and embeddings of bidirectional text (a name shown backwards
 * is another name) and the line and paragraph separators.
 */
static bool
turns_text(const unsigned char *p, size_t n)
{
	unsigned cp;

	if (n != 2 && n != 3)
		return false;
	cp = utf8_point(p, n);
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t
nd_terminal_safe(char *s, size_t len, const char *keep)
{
	unsigned char *p = (unsigned char *)s;
	size_t r = 0, w = 0, k;

	while (r < len) {
		k = p[r] >= 0x80 ? nd_utf8_len(p + r) : 1;
		/* A sequence cut by the end of the buffer is not UTF-8. */
		if (k > len - r)
			k = 0;
		if (k == 0 || (p[r] < 0x20 && (p[r] == '\0' ||
		    strchr(keep, p[r]) == NULL)) || p[r] == 0x7f ||
		    (p[r] == 0xc2 && k == 2 && p[r + 1] < 0xa0) ||
		    turns_text(p + r, k)) {
			p[w++] = '?';
			r += k > 0 ? k : 1;
			continue;
		}
		memmove(p + w, p + r, k);
		w += k;
		r += k;
	}
	return w;
}

void
nd_text_blank(char *s, const char *keep)
{
	unsigned char *p;
	size_t n;

	for (p = (unsigned char *)s; *p != '\0'; p++)
		if (ND_UTF8_C1(p))
			p[0] = p[1] = '?';
		else if (*p >= 0xd8 && *p <= 0xe2 && (n = nd_utf8_len(p)) > 0 &&
		    turns_text(p, n))
			memset(p, '?', n);
		else if ((*p < 0x20 && strchr(keep, *p) == NULL) ||
		    *p == 0x7f)
			*p = '?';
}

void
nd_buf_json_str(struct nd_buf *b, const char *s)
{
	const unsigned char *p;
	size_t n;

	nd_buf_printf(b, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			nd_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			nd_buf_printf(b, "\\n");
		else if (*p >= 0x80 && (n = nd_utf8_len(p)) > 0) {
			/* Text in UTF-8 (a host name, a directory) as it is. */
			/*
			 * C1 controls, which a terminal obeys (U+009B is
			 * CSI), and what turns text, escaped: the same value,
			 * a file safe to print.
			 */
			if (ND_UTF8_C1(p) || turns_text(p, n))
				nd_buf_printf(b, "\\u%04x", utf8_point(p, n));
			else
				nd_buf_printf(b, "%.*s", (int)n,
				    (const char *)p);
			p += n - 1;
		} else if (*p < 0x20 || *p >= 0x7f)
			/* Other bytes, as the code points of their values. */
			nd_buf_printf(b, "\\u%04x", *p);
		else
			nd_buf_printf(b, "%c", *p);
	}
	nd_buf_printf(b, "\"");
}

void
nd_hex(const unsigned char *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}
