/* SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "record.h"
#include "s3_record_text.h"

char *
record_format(const struct s3_record *rec, size_t *len)
{
	struct s3_fields fb;
	char err[128];

	s3_record_fields(rec, &fb);
	return nd_record_format(fb.f, fb.n, len, err, sizeof(err));
}

int
record_parse(const char *text, size_t len, struct s3_record *rec, char *err,
    size_t errlen)
{
	struct nd_record r;
	int ret;

	memset(rec, 0, sizeof(*rec));
	if (nd_record_parse(text, len, &r, err, errlen) == -1)
		return -1;
	ret = s3_record_from_fields(r.fields, r.nfields, rec, err, errlen);
	nd_record_free(&r);
	return ret;
}
