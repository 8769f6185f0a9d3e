/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The outbox record on disk: the host's one format for what modules hand
 * outbox_put as name/value pairs (struct nds_field), and the one reader
 * of small files that the outbox and modules (nds_host.read_file) share.
 */
#ifndef ND_RECORD_H
#define ND_RECORD_H

#include <sys/types.h>

#include <stddef.h>

#include "netdump/sink.h"

#define ND_RECORD_NAME_MAX	64	/* bytes of a field's name */

/* A parsed record: fields point into buf; both are the record's. */
struct nd_record {
	struct nds_field	*fields;
	size_t			 nfields;
	char			*buf;
};

/*
 * The text of a record of n fields, malloc'd, its length in *len. NULL
 * and why in err for a bad name (or "version" or "end", the format's
 * own) or when out of memory.
 */
char		*nd_record_format(const struct nds_field *fields, size_t n,
		    size_t *len, char *err, size_t errlen);
/*
 * Parse text[0, len) into rec. -1 and why in err ("line 3: ...") on
 * anything the format does not allow; rec is then empty.
 */
int		 nd_record_parse(const char *text, size_t len,
		    struct nd_record *rec, char *err, size_t errlen);
void		 nd_record_free(struct nd_record *rec);

/*
 * The whole of the regular file name in dirfd into buf; its length, or
 * -1 with errno set (EFBIG: longer than size or not a regular file).
 */
ssize_t		 nd_read_file(int dirfd, const char *name, void *buf,
		    size_t size);

#endif /* ND_RECORD_H */
