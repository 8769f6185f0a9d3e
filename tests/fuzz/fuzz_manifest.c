/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: nd_manifest_read and nd_manifest_signature on
 * arbitrary bytes, as retention reads any file named like a manifest. A
 * refusal tells no place; a summary is well-formed; every place told is a
 * string within bounds; a signature id is 16 lowercase hex digits, or
 * empty when refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netdump/sink.h"
#include "manifest.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t told;

static void
tell(void *arg, const char *where)
{
	(void)arg;
	if (where == NULL)
		abort();
	told += strlen(where) + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nds_manifest_summary sum;
	char id[NDS_SIGNATURE_SIZE];
	uint64_t seen;
	int r;

	r = nd_manifest_signature((const char *)data, size, id, &seen);
	if (r == -1 ? id[0] != '\0' : strlen(id) != NDS_SIGNATURE_SIZE - 1 ||
	    strspn(id, "0123456789abcdef") != NDS_SIGNATURE_SIZE - 1)
		abort();
	told = 0;
	if (nd_manifest_read((const char *)data, size, &sum, tell, NULL) ==
	    -1) {
		if (told != 0)
			abort();
		return 0;
	}
	if (sum.status != NDS_STATUS_COMPLETE &&
	    sum.status != NDS_STATUS_INCOMPLETE)
		abort();
	if (memchr(sum.client_addr, '\0', sizeof(sum.client_addr)) == NULL ||
	    memchr(sum.client_name, '\0', sizeof(sum.client_name)) == NULL)
		abort();
	if (told > size)
		abort();
	return 0;
}
