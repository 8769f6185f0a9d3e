/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef ND_UTIL_H
#define ND_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "log.h"

/* Seconds from b to a. */
double	ts_diff(const struct timespec *a, const struct timespec *b);
/* "2026-11-23T07:34:52.123Z" */
void	ts_iso8601(const struct timespec *, char *buf, size_t size);

/*
 * Name the calling thread (at most 15 bytes are kept), so that top -H,
 * perf and /proc/PID/task/TID/comm tell its work apart.
 */
void	nd_thread_name(const char *fmt, ...) ND_PRINTF(1, 2);

/* A number's macro as a string literal, for a message. */
#define NUMBER_TEXT_(n)	#n
#define NUMBER_TEXT(n)	NUMBER_TEXT_(n)

/*
 * The longest and deepest HERALD path taken (the wire allows 1023 bytes,
 * MAXPATHLEN): a sink adds a client's directory (a Red Hat one is up to
 * 36 bytes) and a file name to it, and the place it reports must fit in
 * NDS_WHERE_SIZE; retention and the index look 32 directories down, so
 * a client must not be able to nest its dumps, path after path, in the
 * directories the server made for it, past where they look.
 */
#define ND_HERALD_PATH_LEN	768
#define ND_HERALD_PATH_DEPTH	16

/*
 * Check a HERALD path: NUL-terminated within len, at most
 * ND_HERALD_PATH_LEN characters in at most ND_HERALD_PATH_DEPTH
 * components, relative, components of [A-Za-z0-9._+@,:=~-] only, no "."
 * or ".." components, no empty components. Returns NULL when it is fine
 * (out holds it, with any trailing '/' dropped) or why it is not.
 */
const char *nd_herald_path_check(const uint8_t *payload, size_t len,
	    char *out, size_t outsize);

/* A growable string buffer for the manifest; stops growing on ENOMEM. */
struct nd_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	bool	 failed;
};

void	nd_buf_printf(struct nd_buf *, const char *fmt, ...) ND_PRINTF(2, 3);
/* Append a JSON string literal, quotes included, escaping as needed. */
void	nd_buf_json_str(struct nd_buf *, const char *);
/* The length of the well-formed UTF-8 sequence of 2 to 4 bytes at p, or 0. */
size_t	nd_utf8_len(const unsigned char *);
/*
 * s[0, len) made fit for a terminal in place: control characters (C0,
 * DEL, and C1, U+0080 to U+009F, which terminals obey as escapes), the
 * marks, embeddings and separators that turn or break a line (U+061C,
 * U+200E, U+200F, U+2028 to U+202E, U+2066 to U+2069) and bytes that are
 * not UTF-8 become '?', but for keep (e.g. "\n\t").
 * s[len] must be '\0'. Returns the new length, at most len.
 */
size_t	nd_terminal_safe(char *s, size_t len, const char *keep);
/* Whether p[0, 2) is a C1 control in UTF-8 (0xc2 0x80 to 0xc2 0x9f). */
#define ND_UTF8_C1(p)	((p)[0] == 0xc2 && (p)[1] >= 0x80 && (p)[1] < 0xa0)
/*
 * The NUL-terminated s made fit for a log, a file or a terminal in
 * place, its length kept: C0 controls but those in keep, DEL, and C1
 * controls and what turns a line (as for nd_terminal_safe) in UTF-8
 * become a '?' a byte. Other bytes stay, UTF-8 or not (an old kernel's
 * text may be in another encoding).
 */
void	nd_text_blank(char *s, const char *keep);

/* len bytes as lowercase hex into out, which holds 2 * len + 1. */
void	nd_hex(const unsigned char *, size_t len, char *out);

#endif /* ND_UTIL_H */
