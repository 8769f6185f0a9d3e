/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An s3 pending record as text, both ways, as the outbox (core/record.c)
 * and s3_resume see it; shared by the s3 record unit tests.
 */
#ifndef S3_RECORD_TEXT_H
#define S3_RECORD_TEXT_H

#include <stddef.h>

#include "s3.h"

/* rec as the outbox writes it: its fields, in the host's format. */
char	*record_format(const struct s3_record *rec, size_t *len);
/* text as s3_resume gets it: parsed by the host, read by the module. */
int	 record_parse(const char *text, size_t len, struct s3_record *rec,
	    char *err, size_t errlen);

#endif /* S3_RECORD_TEXT_H */
