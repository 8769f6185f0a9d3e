/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How many dumps of the dump directory have had each panic signature:
 * the "seen" of a manifest's signature, the webhooks' repeat count and
 * new-signature. Learnt from the manifests beneath the dump directory
 * when the first dump with a signature ends (a signature's count is the
 * larger of its manifests' number and the largest "seen" one records, so
 * that dumps retention removed still count), then kept in memory.
 */
#ifndef ND_SIGSEEN_H
#define ND_SIGSEEN_H

#include <stdint.h>

/*
 * Count one more dump of signature id (16 hex digits) in dumpdir and
 * return how many there have been, this one included; 0 when memory ran
 * out. Thread-safe; the first call reads the manifests.
 */
uint64_t nd_sigseen_count(const char *dumpdir, const char *id);
/* Forget everything (at exit, for leak checkers). */
void	nd_sigseen_free(void);

#endif /* ND_SIGSEEN_H */
