/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: nd_herald_path_check. The path becomes a directory
 * below dumpdir, so an accepted path must never climb out of it: it is
 * relative, has no empty component and none that starts with '.' (no
 * "." or "..", nor the server's own hidden names) or '-' (no option to
 * a hook that passes it on), only the allowed
 * characters, and is the input less any trailing '/'.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static bool
allowed(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("._+@,:=~-/", c) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[ND_MAX_HERALD_PATH];
	const char *why, *comp;
	size_t outsize, len, i;

	/* The first byte picks a smaller output buffer now and then. */
	outsize = sizeof(out);
	if (size > 0 && data[0] == 0xff)
		outsize = 1 + (size % 64);
	memset(out, 0x55, sizeof(out));
	why = nd_herald_path_check(data, size, out, outsize);
	if (why != NULL) {
		if (why[0] == '\0')
			abort();
		return 0;
	}

	/* Accepted: the framing was right. */
	if (size == 0 || size > ND_MAX_HERALD_PATH || data[size - 1] != '\0' ||
	    memchr(data, '\0', size - 1) != NULL)
		abort();
	len = strnlen(out, outsize);
	if (len == outsize || len == 0)
		abort();
	/* The input less trailing slashes. */
	if (memcmp(out, data, len) != 0)
		abort();
	for (i = len; i < size - 1; i++)
		if (data[i] != '/')
			abort();
	if (out[0] == '/' || out[len - 1] == '/')
		abort();
	for (i = 0; i < len; i++)
		if (!allowed((unsigned char)out[i]))
			abort();
	for (comp = out; *comp != '\0';) {
		const char *slash = strchr(comp, '/');
		size_t clen = slash != NULL ? (size_t)(slash - comp) :
		    strlen(comp);

		if (clen == 0 || comp[0] == '.' || comp[0] == '-')
			abort();
		comp += clen + (slash != NULL ? 1 : 0);
	}
	if (strstr(out, "//") != NULL)
		abort();
	return 0;
}
