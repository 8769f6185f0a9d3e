/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The shapes of what a FreeBSD kernel sends over netdump, for
 * netdump-send. Sources read (our own description; no code copied):
 * sys/kern/kern_shutdown.c (dump_init_header, kerneldumpcrypto_create,
 * kerneldumpcomp_write_cb, dump_finish) and sys/amd64/amd64/
 * minidump_machdep.c (minidumpsys, blk_write, blk_flush) of FreeBSD 14
 * (sobomax/freebsd14_vendor @0f7ff342), sys/sys/kerneldump.h,
 * sys/sys/msgbuf.h and sys/conf/newvers.sh.
 */
#include <endian.h>
#include <string.h>

#include "image.h"
#include "kdh.h"

#define KDH_PARITY_OFF		508

#define MD_MAGIC		"minidump FreeBSD/amd64"
#define MD_MAGIC_LEN		24	/* char magic[24] */
#define MD_VERSION_OFF		24
#define MD_MSGBUF_OFF		28
#define MD_BITMAP_OFF		32
#define MD_PMAP_OFF		36
#define MD_AVAIL_OFF		64	/* dumpavailsize, version 3 */
#define MD_HDR_LEN		68

/* sys/sys/msgbuf.h: MSGBUF_SIZE, (32768 * 3) unless a kernel config sets it. */
#define GEN_MSGBUF		(3 * 32768)
#define GEN_PMAP_PAGES		4
#define GEN_MIN_PAGES		64

uint64_t
img_rng_next(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double
img_rng_unit(uint64_t *s)
{
	return (double)(img_rng_next(s) >> 11) * 0x1.0p-53;
}

static const char gen_words[32][8] = {
	"vm_page", "kernel", "proc", "thread", "mtx_lock", "sched",
	"zfs_arc", "vnode", "mbuf", "socket", "ifnet", "callout", "taskq",
	"uma_zone", "malloc", "kstack", "pmap", "init", "devfs", "geom",
	"cam_sim", "nvme0", "em0", "syscall", "trap", "panic", "witness",
	"ktr", "ufs", "tcp", "\xff\xff\xff\xff\xff\xff\xff\xff", "",
};

void
img_gen_page(uint8_t *p, uint64_t pageno, uint64_t seed, double zero_ratio)
{
	uint64_t s, r, v;
	size_t i;

	if (pageno == 0) {
		memset(p, 0, IMG_PAGE);
		memcpy(p, MD_MAGIC, sizeof(MD_MAGIC) - 1);
		return;
	}
	s = seed * 0xd1342543de82ef95ULL ^ pageno;
	(void)img_rng_next(&s);
	if (img_rng_unit(&s) < zero_ratio) {
		memset(p, 0, IMG_PAGE);
		return;
	}
	for (i = 0; i < IMG_PAGE; i += 8) {
		r = img_rng_next(&s);
		switch (r & 15) {
		case 0: case 1: case 2:
			v = htole64(img_rng_next(&s));
			memcpy(p + i, &v, 8);
			break;
		case 3: case 4: case 5:
			v = htole64(0xfffff80000000000ULL |
			    ((r >> 16) & 0x3fffff8ULL));
			memcpy(p + i, &v, 8);
			break;
		default:
			memcpy(p + i, gen_words[(r >> 8) & 31], 8);
			break;
		}
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
img_unescape(char *dst, size_t dstsize, const char *src)
{
	size_t n = 0;
	int c, v, k;

	while (*src != '\0') {
		c = (unsigned char)*src++;
		if (c == '\\') {
			c = (unsigned char)*src++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'v': c = '\v'; break;
			case 'e': c = 0x1b; break;
			case '\\': case '"': case '\'': break;
			case 'x':
				for (v = 0, k = 0; k < 2 && hexval(*src) >= 0;
				    k++)
					v = v * 16 + hexval(*src++);
				if (k == 0)
					return -1;
				c = v;
				break;
			case '0': case '1': case '2': case '3':
			case '4': case '5': case '6': case '7':
				v = c - '0';
				for (k = 1; k < 3 && *src >= '0' && *src <= '7';
				    k++)
					v = v * 8 + (*src++ - '0');
				if (v > 0xff)
					return -1;
				c = v;
				break;
			default:
				return -1;
			}
		}
		if (c == 0 || n + 1 >= dstsize)
			return -1;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return (long)n;
}

void
img_kdh_fix_parity(uint8_t *kdh)
{
	uint32_t zero = 0, x;

	memcpy(kdh + KDH_PARITY_OFF, &zero, sizeof(zero));
	x = nd_kdh_parity(kdh);
	memcpy(kdh + KDH_PARITY_OFF, &x, sizeof(x));
}

uint32_t
img_kdk_size(uint32_t enckeysize, uint32_t blocksize)
{
	/* roundup2(sizeof(*kdk) + encryptedkeysize, blocksize) */
	return (IMG_KDK_HDR + enckeysize + blocksize - 1) / blocksize *
	    blocksize;
}

void
img_kdk_build(uint8_t *out, uint8_t encryption, const uint8_t *iv,
    const uint8_t *enckey, uint32_t enckeysize, uint32_t blocksize)
{
	uint32_t be = htobe32(enckeysize);

	/* The kernel allocates the blob M_ZERO: the padding is zeros. */
	memset(out, 0, img_kdk_size(enckeysize, blocksize));
	out[0] = encryption;
	memcpy(out + 1, iv, IMG_KDK_IV_SIZE);
	memcpy(out + 1 + IMG_KDK_IV_SIZE, &be, sizeof(be));
	memcpy(out + IMG_KDK_HDR, enckey, enckeysize);
}

static uint64_t
round_page(uint64_t v)
{
	return (v + IMG_PAGE - 1) / IMG_PAGE * IMG_PAGE;
}

static void
plan_add(struct img_plan *p, uint64_t len, uint64_t unit)
{
	uint64_t start = 0;

	if (len == 0 || p->n == IMG_PLAN_MAX)
		return;
	if (p->n > 0)
		start = p->reg[p->n - 1].start + p->reg[p->n - 1].len;
	p->reg[p->n].start = start;
	p->reg[p->n].len = len;
	p->reg[p->n].unit = unit;
	p->n++;
}

void
img_plan_flat(struct img_plan *p)
{
	memset(p, 0, sizeof(*p));
}

/*
 * minidumpsys: blk_write(header page); blk_write(msgbuf,
 * round_page(msg_size)); blk_write(dump_avail page); blk_write(bitmap);
 * one blk_write + blk_flush per page-table page; then blk_write(pa,
 * PAGE_SIZE) per page, which dump_append()s every IMG_MAXIO bytes.
 * blk_write cuts a virtual range into IMG_MAXIO pieces.
 */
static void
plan_layout(struct img_plan *p, uint64_t msgbuf, uint64_t avail,
    uint64_t bitmap, uint64_t pmap)
{
	memset(p, 0, sizeof(*p));
	plan_add(p, IMG_PAGE, IMG_PAGE);
	plan_add(p, msgbuf, IMG_MAXIO);
	plan_add(p, avail, IMG_MAXIO);
	plan_add(p, bitmap, IMG_MAXIO);
	plan_add(p, pmap, IMG_PAGE);
}

static uint32_t
le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

void
img_plan_minidump(struct img_plan *p, const uint8_t *page0, size_t len,
    uint64_t total)
{
	uint64_t msgbuf, avail = 0, bitmap, pmap;
	uint32_t version;

	img_plan_flat(p);
	if (len < MD_HDR_LEN || memcmp(page0, MD_MAGIC, sizeof(MD_MAGIC)) != 0)
		return;
	/* amd64 minidump.h: host (little-endian) order, no byte swap. */
	version = le32_at(page0 + MD_VERSION_OFF);
	if (version < 1 || version > 3)
		return;
	msgbuf = round_page(le32_at(page0 + MD_MSGBUF_OFF));
	bitmap = round_page(le32_at(page0 + MD_BITMAP_OFF));
	pmap = round_page(le32_at(page0 + MD_PMAP_OFF));
	if (version >= 3)
		avail = round_page(le32_at(page0 + MD_AVAIL_OFF));
	if (total != 0 && IMG_PAGE + msgbuf + avail + bitmap + pmap > total)
		return;
	plan_layout(p, msgbuf, avail, bitmap, pmap);
}

void
img_plan_generated(struct img_plan *p, uint64_t total)
{
	uint64_t pages = total / IMG_PAGE, bitmap, head, pmap;

	img_plan_flat(p);
	if (pages < GEN_MIN_PAGES)
		return;
	/* One bit per page of a machine four times the image. */
	bitmap = round_page((pages * 4 + 7) / 8);
	/*
	 * At least GEN_PMAP_PAGES page-table pages, and as many more as
	 * make the pages start at a multiple of IMG_MAXIO: any count is a
	 * machine's, and this one keeps the batches of the pages, and so
	 * --stop-after at a multiple of 64 KiB, on 64 KiB boundaries.
	 */
	head = IMG_PAGE + GEN_MSGBUF + IMG_PAGE + bitmap +
	    GEN_PMAP_PAGES * IMG_PAGE;
	pmap = GEN_PMAP_PAGES * IMG_PAGE + (IMG_MAXIO - head % IMG_MAXIO) %
	    IMG_MAXIO;
	if (head + pmap > total / 2)
		return;
	plan_layout(p, GEN_MSGBUF, IMG_PAGE, bitmap, pmap);
}

size_t
img_plan_next(const struct img_plan *p, uint64_t off)
{
	uint64_t start = 0, unit = IMG_MAXIO, end = UINT64_MAX, piece;
	unsigned i;

	for (i = 0; i < p->n; i++) {
		start = p->reg[i].start + p->reg[i].len;
		if (off >= p->reg[i].start && off < start) {
			unit = p->reg[i].unit;
			end = start;
			start = p->reg[i].start;
			break;
		}
	}
	/* Past the regions: the pages, IMG_MAXIO at a time from there. */
	piece = unit - (off - start) % unit;
	if (piece > end - off)
		piece = end - off;
	return (size_t)piece;
}

uint64_t
img_stream_size(uint8_t compression, const uint8_t *head, size_t headlen,
    const uint8_t *tail4)
{
	static const uint8_t zmagic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	static const unsigned did_len[4] = { 0, 1, 2, 4 };
	unsigned fhd, fcs_flag, single, pos, fcs_len, i;
	uint64_t v = 0;

	if (compression == 1) {
		if (headlen < 2 || head[0] != 0x1f || head[1] != 0x8b ||
		    tail4 == NULL)
			return 0;
		return le32_at(tail4);
	}
	if (compression != 2 || headlen < 6 || memcmp(head, zmagic, 4) != 0)
		return 0;
	/* RFC 8878 3.1.1.1: Frame_Header_Descriptor, then the fields. */
	fhd = head[4];
	fcs_flag = fhd >> 6;
	single = (fhd >> 5) & 1;
	pos = 5 + (single ? 0 : 1) + did_len[fhd & 3];
	fcs_len = fcs_flag == 0 ? (single ? 1 : 0) : 1u << fcs_flag;
	if (fcs_len == 0 || pos + fcs_len > headlen)
		return 0;
	for (i = fcs_len; i > 0; i--)
		v = v << 8 | head[pos + i - 1];
	return fcs_len == 2 ? v + 256 : v;
}
