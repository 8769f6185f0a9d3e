/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The panic signature of a dump: what makes two crashes the same crash.
 * Architecture, kernel version (the version string's first line), the
 * panic string with what changes from crash to crash masked, and the top
 * frames of the backtrace the kernel printed before dumping, if the
 * message buffer holds one. The id is the first 16 hex digits of the
 * SHA-256 of nd_signature_canon's text (outcome.c computes it).
 *
 * Pure: no I/O, no allocation.
 */
#ifndef ND_SIGNATURE_H
#define ND_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

#define ND_SIG_FRAMES		3
#define ND_SIG_FRAME_MAX	64
#define ND_SIG_PANIC_MAX	160
#define ND_SIG_VERSION_MAX	96

struct nd_signature {
	char		 arch[16];
	char		 version[ND_SIG_VERSION_MAX];
	char		 panic[ND_SIG_PANIC_MAX + 1];
	char		 frames[ND_SIG_FRAMES][ND_SIG_FRAME_MAX];
	unsigned	 nframes;
	char		 id[17];	/* set by the caller */
};

/*
 * The panic string's first line with the variable parts masked (the
 * rules are in signature.c), into out (NUL-terminated, cut to outlen).
 * Returns the length written.
 */
size_t	nd_panic_normalise(const char *in, size_t inlen, char *out,
	    size_t outlen);
/*
 * The function names of the last "KDB: stack backtrace:" in the message
 * buffer text, the panic machinery left out, at most max of them.
 */
unsigned nd_backtrace_frames(const char *text, size_t len,
	    char frames[][ND_SIG_FRAME_MAX], unsigned max);
/*
 * Fill a signature (all but id); false when there is no panic string to
 * make one of. version and msgbuf may be NULL.
 */
bool	nd_signature_fill(struct nd_signature *, const char *arch,
	    const char *version, const char *panic, const char *msgbuf,
	    size_t msgbuf_len);
/* The text the id is computed from; returns its length (snprintf's). */
int	nd_signature_canon(const struct nd_signature *, char *buf,
	    size_t len);

#endif /* ND_SIGNATURE_H */
