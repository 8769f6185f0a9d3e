/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 512-byte kernel dump header (struct kerneldumpheader), big-endian,
 * parsed by its version field (1, 2, 3 and 4 are known; netdump sends 4).
 */
#ifndef ND_KDH_H
#define ND_KDH_H

#include <stddef.h>
#include <stdint.h>

#include "netdump/sink.h"

#define ND_KDH_MAGIC		"FreeBSD Kernel Dump"
#define ND_KDH_TEXTMAGIC	"FreeBSD Text Dump"

enum nd_kdh_result {
	ND_KDH_OK = 0,
	ND_KDH_SHORT,		/* fewer than 512 bytes */
	ND_KDH_BAD_MAGIC,
	ND_KDH_BAD_VERSION,	/* not 1..4 */
	ND_KDH_BAD_PARITY,
};

/*
 * Parse a header. On ND_KDH_BAD_PARITY the fields are filled (parity_ok
 * false), so a caller can still describe the dump; on the other errors
 * *out is zeroed.
 */
enum nd_kdh_result nd_kdh_parse(const void *buf, size_t len,
    struct nds_kdh *out);
const char *nd_kdh_result_str(enum nd_kdh_result);
const char *nd_kdh_compression_str(uint8_t compression);

/* XOR of the 128 32-bit words; 0 for a valid header. */
uint32_t nd_kdh_parity(const void *buf512);

/*
 * Build a valid version-4 header (for netdump-send and tests); strings are
 * truncated to their fields, the parity is computed last.
 */
void nd_kdh_build(void *out512, const char *arch, uint64_t dumplength,
    uint64_t dumptime, uint32_t dumpkeysize, const char *hostname,
    const char *versionstring, const char *panicstring, uint8_t compression,
    uint64_t dumpextent);

/*
 * Write an info file into buf: for a valid header, byte for byte what
 * savecore(8)'s printheader writes (crashinfo(8) parses it), with the
 * dump time in the local zone and the parity word as read on this host.
 * The differences, each for a header no kernel sends or a dump savecore
 * would not have saved: control characters but tab become '?', a version
 * string newline that would start a forged "  Name: " line too; a version
 * string without a final newline gets one; an incomplete dump gets a
 * "  Reason:" line before its status; kdh NULL (no valid header) gives a
 * short file that says so. status_good says "Dump Status: good" or
 * "bad". The "Bounds" line is left out when dumpno is ND_KDH_NO_BOUNDS
 * (the number belongs to the sink, which adds the line).
 * Returns the length that was needed, like snprintf.
 */
#define ND_KDH_NO_BOUNDS	0xffffffffu
int nd_kdh_info_text(char *buf, size_t size, const struct nds_kdh *kdh,
    const char *device, unsigned dumpno, int status_good,
    const char *reason);

#endif /* ND_KDH_H */
