/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writes the binary seed files of the fuzz corpora (run once; the output
 * is committed under tests/fuzz/corpus/). Not built by CMake:
 *
 *   cc -std=c11 -D_GNU_SOURCE -Icore -Icore/include \
 *       tests/fuzz/gen_seeds.c core/kdh.c core/proto.c -o /tmp/gen_seeds
 *   /tmp/gen_seeds tests/fuzz/corpus
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdh.h"
#include "proto.h"

static const char *outdir;

static void
put(const char *target, const char *name, const void *buf, size_t len)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((fp = fopen(path, "wb")) == NULL)
		err(1, "%s", path);
	if (len > 0 && fwrite(buf, len, 1, fp) != 1)
		err(1, "%s", path);
	if (fclose(fp) != 0)
		err(1, "%s", path);
}

static size_t
datagram(uint8_t *out, uint32_t type, uint32_t seqno, uint64_t off,
    const void *payload, uint32_t len)
{
	nd_msg_encode_header(out, type, seqno, off, len);
	if (len > 0)
		memcpy(out + ND_HDR_SIZE, payload, len);
	return ND_HDR_SIZE + len;
}

/* One assembler operation (see fuzz_assembler.c). */
static size_t
op(uint8_t *p, uint8_t kind, uint8_t b1, uint16_t mid, uint16_t len)
{
	p[0] = kind;
	p[1] = b1;
	p[2] = (uint8_t)(mid >> 8);
	p[3] = (uint8_t)mid;
	p[4] = (uint8_t)(len >> 8);
	p[5] = (uint8_t)len;
	return 6;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[ND_MAX_DATAGRAM];
	uint8_t kdh[ND_KDH_SIZE], key[32];
	size_t n, i;
	uint32_t parity;

	if (argc != 2)
		errx(1, "usage: gen_seeds corpus-dir");
	outdir = argv[1];

	/* Headers: a plain amd64 dump, a zstd one, a hostile one. */
	nd_kdh_build(kdh, "amd64", 1073741824ull, 1795419292ull, 0, "web1",
	    "FreeBSD 15.0-RELEASE amd64", "page fault", NDS_COMP_NONE,
	    1073741824ull);
	put("kdh", "amd64-plain", kdh, sizeof(kdh));
	put("proto", "kdh", buf, datagram(buf, ND_MSG_KDH, 3, 0, kdh,
	    sizeof(kdh)));
	nd_kdh_build(kdh, "arm64", 123456789ull, 1795419292ull, 32,
	    "db2.example.org", "FreeBSD 14.2-RELEASE-p1 GENERIC arm64\n",
	    "sleeping thread 0xfffffe0001 owns a nonsleepable lock",
	    NDS_COMP_ZSTD, 134217728ull);
	put("kdh", "arm64-zstd-ekcd", kdh, sizeof(kdh));
	nd_kdh_build(kdh, "i386\x1b[31m", 1, 0xffffffffffffffffull, 0,
	    "evil\nDump Status: good", "x", "panic\r\n\x07", 9, 0);
	put("kdh", "hostile-strings", kdh, sizeof(kdh));
	/* Version 1 layout: patch the version, redo the parity. */
	nd_kdh_build(kdh, "i386", 4096, 1000000000ull, 0, "old", "FreeBSD 9",
	    "trap 12", NDS_COMP_NONE, 4096);
	kdh[35] = 1;
	memset(kdh + 508, 0, 4);
	parity = nd_kdh_parity(kdh);
	memcpy(kdh + 508, &parity, 4);
	put("kdh", "v1", kdh, sizeof(kdh));

	/* Datagrams of every type. */
	put("proto", "herald", buf, datagram(buf, ND_MSG_HERALD, 1, 0,
	    "prod/web1", 10));
	for (i = 0; i < 64; i++)
		buf[ND_HDR_SIZE + i] = (uint8_t)(i * 37);
	put("proto", "vmcore", buf, datagram(buf, ND_MSG_VMCORE, 2,
	    0x10000, buf + ND_HDR_SIZE, 64));
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xa0 + i);
	put("proto", "ekcd-key", buf, datagram(buf, ND_MSG_EKCD_KEY, 4, 0,
	    key, sizeof(key)));
	put("proto", "finished", buf, datagram(buf, ND_MSG_FINISHED, 5, 0,
	    NULL, 0));
	put("proto", "runt", buf, 10);

	/* HERALD paths (the first byte 0xff asks for a small buffer). */
	put("herald_path", "prod-web1", "prod/web1", 10);
	put("herald_path", "trailing-slash", "a.b_c-d/e/", 11);
	put("herald_path", "dotdot", "a/../b", 7);
	put("herald_path", "small-buffer", "\xff" "bcdefgh", 9);

	/* Assembler: a 64 KiB batch in order, then the rest of a block. */
	n = op(buf, 0, 0, 0, 1448);
	for (i = 1; i < 46; i++)
		n += op(buf + n, 1, 0, 0, 1448);
	put("assembler", "in-order-batch", buf, n);
	/* Reordered pairs, a retransmission, a jump, late fill, finish. */
	n = op(buf, 0, 0, 1448, 1448);
	n += op(buf + n, 0, 0, 0, 1448);
	n += op(buf + n, 0, 0, 1448, 1448);
	n += op(buf + n, 0, 0x50, 0, 1448);
	n += op(buf + n, 0, 0, 2896, 1448);
	n += op(buf + n, 3, 1, 0, 0x2000);
	put("assembler", "jump-late-finish", buf, n);
	/* A slow worker: small pool, kept blocks, then let go. */
	n = op(buf, 2, 3, 0x0100, 0);
	n += op(buf + n, 0, 0, 0, 60000);
	for (i = 0; i < 12; i++)
		n += op(buf + n, 1, 0, 0, 60000);
	n += op(buf + n, 2, 7, 0x0400, 0);
	n += op(buf + n, 1, 0, 0, 60000);
	put("assembler", "slow-worker", buf, n);
	return 0;
}
