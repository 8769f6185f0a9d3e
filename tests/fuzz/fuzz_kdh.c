/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: nd_kdh_parse on arbitrary headers, then the info file
 * text. Invariants: the text is what its length says, the same into a
 * small buffer (truncated, NUL-terminated) as into a large one, it holds
 * no control character but the line ends and tabs (no escapes on a
 * terminal), and every line shaped like a field ("  Name: ", what
 * crashinfo's find_kernel stops at) is one of savecore's or ours, each
 * once (header strings must not forge lines).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kdh.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fields[] = {
	"Architecture", "Architecture Version", "Dump Length", "Blocksize",
	"Compression", "Dumptime", "Hostname", "Magic", "Version String",
	"Panic String", "Dump Parity", "Bounds", "Reason", "Dump Status",
};

/* A line that reads as "  Name: ...": which field, or -1; -2 if unknown. */
static int
field_of(const char *line, const char *end)
{
	const char *q = line + 2;
	size_t i, n;

	if (end - line < 4 || line[0] != ' ' || line[1] != ' ')
		return -1;
	while (q < end && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' &&
	    *q <= 'z') || *q == ' '))
		q++;
	if (q == line + 2 || end - q < 2 || q[0] != ':' || q[1] != ' ')
		return -1;
	n = (size_t)(q - line - 2);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i]) == n && memcmp(fields[i], line + 2, n) == 0)
			return (int)i;
	return -2;
}

static void
check_text(const char *buf, size_t len)
{
	unsigned seen[sizeof(fields) / sizeof(fields[0])] = { 0 };
	const char *line, *end;
	size_t i;
	int f;

	if (strlen(buf) != len)
		abort();
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			abort();
		/* Nor a C1 control in UTF-8 (0xc2 0x9b is CSI). */
		if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)buf[i + 1] >= 0x80 &&
		    (unsigned char)buf[i + 1] < 0xa0)
			abort();
	}
	if (len > 0 && buf[len - 1] != '\n')
		abort();
	/* The first line names the device; the rest are fields or text. */
	for (line = strchr(buf, '\n'); line != NULL && line[1] != '\0';
	    line = end) {
		line++;
		end = strchr(line, '\n');
		if ((f = field_of(line, end)) == -2 || (f >= 0 && seen[f]++))
			abort();
	}
}

static void
info(const struct nds_kdh *kdh, const char *device, const char *reason,
    size_t small)
{
	static char big[16384], little[512];
	int good = (int)(small & 1), n, m;

	n = nd_kdh_info_text(NULL, 0, kdh, device, 7, good, reason);
	if (n < 0 || (size_t)n >= sizeof(big))
		abort();
	m = nd_kdh_info_text(big, sizeof(big), kdh, device, 7, good, reason);
	if (m != n)
		abort();
	check_text(big, (size_t)n);
	/* Truncated: a prefix of the whole, and still a string. */
	small %= sizeof(little);
	memset(little, 'X', sizeof(little));
	m = nd_kdh_info_text(little, small, kdh, device, 7, good, reason);
	if (m != n)
		abort();
	if (small > 0) {
		size_t want = (size_t)n < small - 1 ? (size_t)n : small - 1;

		if (strlen(little) != want || memcmp(little, big, want) != 0)
			abort();
	} else if (little[0] != 'X')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nds_kdh kdh;
	enum nd_kdh_result r;
	char device[64], reason[64];
	size_t extra, n;

	r = nd_kdh_parse(data, size, &kdh);
	if (nd_kdh_result_str(r) == NULL)
		abort();
	if (r != ND_KDH_OK && r != ND_KDH_BAD_PARITY) {
		struct nds_kdh zero;

		memset(&zero, 0, sizeof(zero));
		if (memcmp(&kdh, &zero, sizeof(kdh)) != 0)
			abort();
	}
	if (r == ND_KDH_OK || r == ND_KDH_BAD_PARITY) {
		/* Every string is terminated inside its field. */
		if (memchr(kdh.magic, 0, sizeof(kdh.magic)) == NULL ||
		    memchr(kdh.architecture, 0, sizeof(kdh.architecture)) ==
		    NULL ||
		    memchr(kdh.hostname, 0, sizeof(kdh.hostname)) == NULL ||
		    memchr(kdh.versionstring, 0, sizeof(kdh.versionstring)) ==
		    NULL ||
		    memchr(kdh.panicstring, 0, sizeof(kdh.panicstring)) == NULL)
			abort();
		if ((r == ND_KDH_OK) != (kdh.parity_ok != 0))
			abort();
		if (kdh.version < 1 || kdh.version > 4)
			abort();
		if (nd_kdh_compression_str(kdh.compression) == NULL)
			abort();
	}

	/* Bytes past the header name the device and the reason. */
	device[0] = reason[0] = '\0';
	if (size > ND_KDH_SIZE) {
		extra = size - ND_KDH_SIZE;
		n = extra / 2 < sizeof(device) - 1 ? extra / 2 :
		    sizeof(device) - 1;
		memcpy(device, data + ND_KDH_SIZE, n);
		device[n] = '\0';
		extra -= n;
		n = extra < sizeof(reason) - 1 ? extra : sizeof(reason) - 1;
		memcpy(reason, data + size - n, n);
		reason[n] = '\0';
	}
	info(r == ND_KDH_OK || r == ND_KDH_BAD_PARITY ? &kdh : NULL, device,
	    reason, size);
	info(NULL, device, reason, size / 3);
	return 0;
}
