/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: nd_manifest_facts and nd_manifest_read on arbitrary
 * bytes, as retention reads any file named like a manifest. A refusal
 * tells no place; both give the same verdict; a summary is well-formed;
 * every place told is a string within bounds with a known kind (or
 * none); a signature id is empty or 16 lowercase hex digits.
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

/* manifest_facts' stored(): a known kind, or none named. */
static void
tell_kind(void *arg, enum nds_object_kind kind, const char *where)
{
	if ((unsigned)kind > NDS_OBJ_NKINDS)
		abort();
	tell(arg, where);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nds_manifest_summary sum;
	struct nds_manifest_facts facts;
	const char *id = facts.signature;
	int r;

	told = 0;
	r = nd_manifest_facts((const char *)data, size, &facts, tell_kind,
	    NULL);
	if (r == -1 ? id[0] != '\0' || told != 0 : id[0] != '\0' &&
	    (strlen(id) != NDS_SIGNATURE_SIZE - 1 ||
	    strspn(id, "0123456789abcdef") != NDS_SIGNATURE_SIZE - 1))
		abort();
	told = 0;
	/* The same manifest read the 2.0 way: the same verdict. */
	if (nd_manifest_read((const char *)data, size, &sum, tell, NULL) !=
	    r)
		abort();
	if (r == -1) {
		if (told != 0)
			abort();
		return 0;
	}
	/* RECEIVING: the manifest of a dump not ended (sink ABI 2.5). */
	if (sum.status != NDS_STATUS_COMPLETE &&
	    sum.status != NDS_STATUS_INCOMPLETE &&
	    sum.status != NDS_STATUS_RECEIVING)
		abort();
	if (memchr(sum.client_addr, '\0', sizeof(sum.client_addr)) == NULL ||
	    memchr(sum.client_name, '\0', sizeof(sum.client_name)) == NULL)
		abort();
	if (told > size)
		abort();
	return 0;
}
