/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: nd_panic_normalise and nd_backtrace_frames on
 * arbitrary text (a KDH panic string and a message buffer come from the
 * client). Invariants: the normalised text is NUL-terminated at the
 * length returned, at most ND_SIG_PANIC_MAX bytes, one line, and the
 * same when normalised again (the rules are idempotent, but for one word
 * cut at the limit); every frame is
 * a non-empty name of word characters, '.' or '$'.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signature.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[ND_SIG_PANIC_MAX + 1], again[ND_SIG_PANIC_MAX + 1];
	char frames[ND_SIG_FRAMES][ND_SIG_FRAME_MAX];
	size_t n, m, i;
	unsigned nf, k;

	n = nd_panic_normalise((const char *)data, size, out, sizeof(out));
	if (n > ND_SIG_PANIC_MAX || strlen(out) != n ||
	    strchr(out, '\n') != NULL)
		abort();
	/* A single word cut at the limit may read anew; nothing else. */
	m = nd_panic_normalise(out, n, again, sizeof(again));
	if ((strchr(out, ' ') != NULL || n < ND_SIG_PANIC_MAX - 8) &&
	    (m != n || strcmp(out, again) != 0))
		abort();
	nf = nd_backtrace_frames((const char *)data, size, frames,
	    ND_SIG_FRAMES);
	if (nf > ND_SIG_FRAMES)
		abort();
	for (k = 0; k < nf; k++) {
		if (frames[k][0] == '\0')
			abort();
		for (i = 0; frames[k][i] != '\0'; i++)
			if (!isalnum((unsigned char)frames[k][i]) &&
			    strchr("_.$", frames[k][i]) == NULL)
				abort();
	}
	return 0;
}
