/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdlib.h>

#include "size.h"

int
nd_size_parse(const char *s, bool units, uint64_t *out)
{
	unsigned long long v;
	unsigned shift;
	char *end;

	if (s == NULL || !(*s >= '0' && *s <= '9'))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case '\0':	shift = 0;	break;
	case 'k': case 'K':	shift = 10;	break;
	case 'm': case 'M':	shift = 20;	break;
	case 'g': case 'G':	shift = 30;	break;
	case 't': case 'T':	shift = 40;	break;
	default:
		return -1;
	}
	if (shift != 0 && end[1] != '\0' && !(units &&
	    (((end[1] == 'B' || end[1] == 'b') && end[2] == '\0') ||
	    (end[1] == 'i' && end[2] == 'B' && end[3] == '\0'))))
		return -1;
	if (errno == ERANGE || v > (UINT64_MAX >> shift))
		return -2;
	*out = (uint64_t)v << shift;
	return 0;
}
