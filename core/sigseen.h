/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How many dumps of the dump directory have had each panic signature:
 * the "seen" of a manifest's signature, the webhooks' repeat count and
 * new-signature. Learnt from the manifests beneath the dump directory by
 * a thread of its own when the daemon starts (a signature's count is the
 * larger of its manifests' number and the largest "seen" one records, so
 * that dumps retention removed whole still count), then kept in memory.
 */
#ifndef ND_SIGSEEN_H
#define ND_SIGSEEN_H

#include <stdint.h>

/*
 * Start learning the counts of dumpdir (after the fork; the dump
 * directory changes only with a restart). -1 if the thread cannot start:
 * counts then start from this run.
 */
int	nd_sigseen_start(const char *dumpdir);
/*
 * Count one more dump of signature id (16 hex digits) and return how
 * many there have been, this one included; 0 when memory ran out. From
 * dump workers: it waits until the counts are learnt, never the receive
 * path.
 */
uint64_t nd_sigseen_count(const char *id);
/* Wait for the thread and forget everything (at exit). */
void	nd_sigseen_stop(void);

#endif /* ND_SIGSEEN_H */
