/* SPDX-License-Identifier: BSD-2-Clause */
/* Byte counts as people write them; shared by the server and netdump-send. */
#ifndef ND_SIZE_H
#define ND_SIZE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * s is digits with an optional 1024-based suffix, k, M, G or T, in either
 * case; with units, a B or iB may follow the suffix (16MiB, 2GB). 0, -1 if
 * s is not such a size, -2 if it is more than 2^64 - 1 bytes.
 */
int	nd_size_parse(const char *s, bool units, uint64_t *out);

#endif /* ND_SIZE_H */
