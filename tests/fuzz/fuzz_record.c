/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: nd_record_parse on arbitrary bytes, as the outbox
 * reads any "pending" file it finds. A refusal leaves the record empty
 * and says why; a parsed record formats back to text that parses to the
 * same fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same_fields(const struct nd_record *a, const struct nd_record *b)
{
	size_t i;

	if (a->nfields != b->nfields)
		abort();
	for (i = 0; i < a->nfields; i++)
		if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
		    strcmp(a->fields[i].value, b->fields[i].value) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nd_record rec, again;
	char err[256] = "", *text;
	size_t len;

	if (nd_record_parse((const char *)data, size, &rec, err,
	    sizeof(err)) == -1) {
		if (err[0] == '\0' || rec.nfields != 0)
			abort();
		return 0;
	}
	text = nd_record_format(rec.fields, rec.nfields, &len, err,
	    sizeof(err));
	if (text == NULL)
		abort();
	if (nd_record_parse(text, len, &again, err, sizeof(err)) == -1)
		abort();
	same_fields(&rec, &again);
	nd_record_free(&again);
	nd_record_free(&rec);
	free(text);
	return 0;
}
