/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * struct kerneldumpheader: parse (by version), build, and describe in the
 * words savecore(8) uses, so crashinfo(8) can read our info files.
 *
 * The header comes from the network, so every field is treated as hostile:
 * fixed offsets, memcpy for integers (no unaligned casts), and bounded
 * string copies that always leave a NUL.
 */
#include <endian.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kdh.h"
#include "proto.h"
#include "util.h"

#define KDH_MAGIC_LEN		20
#define KDH_ARCH_OFF		20
#define KDH_ARCH_LEN		12
#define KDH_VERSION_OFF		32
#define KDH_ARCHVER_OFF		36
#define KDH_PARITY_OFF		508
#define KDH_VERSTR_LEN		192

/*
 * Field offsets that differ between the header versions. Sizes of 0 mean
 * "not present in this version".
 */
struct kdh_layout {
	size_t	dumplength;
	size_t	dumptime;
	size_t	dumpextent;	/* 0: absent, = dumplength */
	size_t	dumpkeysize;	/* 0: absent, = 0 */
	size_t	blocksize;
	size_t	compression;	/* 0: absent, = none */
	size_t	hostname, hostname_len;
	size_t	versionstring, versionstring_len;
	size_t	panicstring, panicstring_len;
};

/* Indexed by version; see the protocol reference, sections 4.2 and 4.3. */
static const struct kdh_layout layouts[5] = {
	[1] = {
		.dumplength = 40, .dumptime = 48, .blocksize = 56,
		.hostname = 60, .hostname_len = 64,
		.versionstring = 124, .versionstring_len = 192,
		.panicstring = 316, .panicstring_len = 192,
	},
	[2] = {
		.dumplength = 40, .dumptime = 48, .dumpkeysize = 56,
		.blocksize = 60,
		.hostname = 64, .hostname_len = 64,
		.versionstring = 128, .versionstring_len = 192,
		.panicstring = 320, .panicstring_len = 188,
	},
	[3] = {
		.dumplength = 40, .dumpextent = 48, .dumptime = 56,
		.dumpkeysize = 64, .blocksize = 68, .compression = 72,
		.hostname = 73, .hostname_len = 64,
		.versionstring = 137, .versionstring_len = 192,
		.panicstring = 329, .panicstring_len = 179,
	},
	[4] = {
		.dumplength = 40, .dumptime = 48, .dumpkeysize = 56,
		.blocksize = 60,
		.hostname = 64, .hostname_len = 64,
		.versionstring = 128, .versionstring_len = 192,
		.panicstring = 320, .panicstring_len = 175,
		.compression = 495, .dumpextent = 496,
	},
};

/*
 * Copy a fixed-width field that may lack its NUL. dst must hold at least
 * len + 1 bytes; the callers' arrays are sized for the widest layout.
 */
static void
get_str(char *dst, size_t dstsize, const uint8_t *src, size_t len)
{
	size_t n;

	if (len >= dstsize)
		len = dstsize - 1;
	for (n = 0; n < len && src[n] != '\0'; n++)
		;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Truncating copy into a field, always NUL-terminated like strlcpy. */
static size_t
put_str(uint8_t *dst, size_t fieldlen, const char *src)
{
	size_t n;

	if (src == NULL)
		src = "";
	n = strnlen(src, fieldlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

uint32_t
nd_kdh_parity(const void *buf512)
{
	const uint8_t *p = buf512;
	uint32_t parity = 0, w;
	size_t i;

	/* Raw words: XOR is byte-order independent, as in the kernel. */
	for (i = 0; i < ND_KDH_SIZE; i += sizeof(w)) {
		memcpy(&w, p + i, sizeof(w));
		parity ^= w;
	}
	return parity;
}

enum nd_kdh_result
nd_kdh_parse(const void *buf, size_t len, struct nds_kdh *out)
{
	const uint8_t *p = buf;
	const struct kdh_layout *l;
	uint32_t version;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < ND_KDH_SIZE)
		return ND_KDH_SHORT;
	/*
	 * strncmp over the whole field, as savecore does: the magic's NUL
	 * at byte 19 must be there, whatever follows it does not matter.
	 */
	if (strncmp((const char *)p, ND_KDH_MAGIC, KDH_MAGIC_LEN) != 0)
		return ND_KDH_BAD_MAGIC;
	version = nd_get_be32(p + KDH_VERSION_OFF);
	if (version < 1 || version > 4)
		return ND_KDH_BAD_VERSION;
	l = &layouts[version];

	get_str(out->magic, sizeof(out->magic), p, KDH_MAGIC_LEN);
	get_str(out->architecture, sizeof(out->architecture),
	    p + KDH_ARCH_OFF, KDH_ARCH_LEN);
	out->version = version;
	out->architectureversion = nd_get_be32(p + KDH_ARCHVER_OFF);
	out->dumplength = nd_get_be64(p + l->dumplength);
	out->dumptime = nd_get_be64(p + l->dumptime);
	out->dumpextent = l->dumpextent != 0 ?
	    nd_get_be64(p + l->dumpextent) :
	    out->dumplength;
	out->dumpkeysize = l->dumpkeysize != 0 ?
	    nd_get_be32(p + l->dumpkeysize) : 0;
	out->blocksize = nd_get_be32(p + l->blocksize);
	out->compression = l->compression != 0 ? p[l->compression] :
	    NDS_COMP_NONE;
	get_str(out->hostname, sizeof(out->hostname), p + l->hostname,
	    l->hostname_len);
	get_str(out->versionstring, sizeof(out->versionstring),
	    p + l->versionstring, l->versionstring_len);
	get_str(out->panicstring, sizeof(out->panicstring),
	    p + l->panicstring, l->panicstring_len);
	out->parity = nd_get_be32(p + KDH_PARITY_OFF);
	/* Fields stay filled on a parity failure, so the dump can be described. */
	out->parity_ok = nd_kdh_parity(p) == 0;
	return out->parity_ok ? ND_KDH_OK : ND_KDH_BAD_PARITY;
}

const char *
nd_kdh_result_str(enum nd_kdh_result r)
{
	switch (r) {
	case ND_KDH_OK:
		return "ok";
	case ND_KDH_SHORT:
		return "short kernel dump header";
	case ND_KDH_BAD_MAGIC:
		return "bad kernel dump header magic";
	case ND_KDH_BAD_VERSION:
		return "unknown kernel dump header version";
	case ND_KDH_BAD_PARITY:
		return "kernel dump header parity error";
	default:
		return "?";
	}
}

const char *
nd_kdh_compression_str(uint8_t compression)
{
	switch (compression) {
	case NDS_COMP_NONE:
		return "none";
	case NDS_COMP_GZIP:
		return "gzip";
	case NDS_COMP_ZSTD:
		return "zstd";
	default:
		return "???";	/* savecore's word for it */
	}
}

/* KERNELDUMP_<ARCH>_VERSION: 2 for amd64 and i386, 1 everywhere else. */
static uint32_t
arch_version(const char *arch)
{
	if (arch != NULL && (strcmp(arch, "amd64") == 0 ||
	    strcmp(arch, "i386") == 0))
		return 2;
	return 1;
}

void
nd_kdh_build(void *out512, const char *arch, uint64_t dumplength,
    uint64_t dumptime, uint32_t dumpkeysize, const char *hostname,
    const char *versionstring, const char *panicstring, uint8_t compression,
    uint64_t dumpextent)
{
	const struct kdh_layout *l = &layouts[4];
	uint8_t *p = out512;
	uint8_t *vs;
	uint32_t parity;

	memset(p, 0, ND_KDH_SIZE);
	/* strncpy-like: the 19 characters and the NUL fill the field. */
	memcpy(p, ND_KDH_MAGIC, sizeof(ND_KDH_MAGIC));
	put_str(p + KDH_ARCH_OFF, KDH_ARCH_LEN, arch);
	nd_put_be32(p + KDH_VERSION_OFF, 4);
	nd_put_be32(p + KDH_ARCHVER_OFF, arch_version(arch));
	nd_put_be64(p + l->dumplength, dumplength);
	nd_put_be64(p + l->dumptime, dumptime);
	nd_put_be32(p + l->dumpkeysize, dumpkeysize);
	nd_put_be32(p + l->blocksize, 4096);
	put_str(p + l->hostname, l->hostname_len, hostname);

	/*
	 * As dump_init_header (sys/kern/kern_shutdown.c): strlcpy into the
	 * field and, only when that cut the string, versionstring[190] =
	 * '\n'. The kernel's own string always ends in '\n' (newvers.sh).
	 */
	vs = p + l->versionstring;
	put_str(vs, KDH_VERSTR_LEN, versionstring);
	if (versionstring != NULL &&
	    strlen(versionstring) >= KDH_VERSTR_LEN)
		vs[KDH_VERSTR_LEN - 2] = '\n';

	put_str(p + l->panicstring, l->panicstring_len, panicstring);
	p[l->compression] = compression;
	nd_put_be64(p + l->dumpextent, dumpextent);
	/*
	 * Last, over the finished header with the parity word still zero:
	 * storing the XOR makes the XOR of all 128 words zero. Raw memory
	 * order, no byte swap, as the kernel does.
	 */
	parity = nd_kdh_parity(p);
	memcpy(p + KDH_PARITY_OFF, &parity, sizeof(parity));
}

/*
 * An snprintf-like appender: keeps counting past the end of the buffer so
 * the caller learns the length it needs.
 */
struct textbuf {
	char	*buf;
	size_t	 size;
	size_t	 len;
	bool	 error;
};

static void tb_printf(struct textbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
tb_printf(struct textbuf *tb, const char *fmt, ...)
{
	va_list ap;
	char *dst = NULL;
	size_t room = 0;
	int n;

	if (tb->error)
		return;
	if (tb->buf != NULL && tb->len < tb->size) {
		dst = tb->buf + tb->len;
		room = tb->size - tb->len;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > INT_MAX - tb->len) {
		tb->error = true;
		return;
	}
	tb->len += (size_t)n;
}

/*
 * True when the text at p would read as a field line of an info file:
 * crashinfo(8)'s find_kernel ends the version block at the first line
 * matching "^  [A-Za-z ]+: ", and people grep for the same shape.
 */
static bool
looks_like_field(const char *p, const char *end)
{
	const char *q = p + 2;

	if (end - p < 4 || p[0] != ' ' || p[1] != ' ')
		return false;
	while (q < end && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
	    *q == ' '))
		q++;
	return q > p + 2 && end - q >= 2 && q[0] == ':' && q[1] == ' ';
}

/*
 * Copy src into dst (dstsize bytes), as savecore prints it but for the
 * bytes that are dangerous in a text file people read with cat and tools
 * parse by line: control characters (C0 but tab, and DEL) become '?', so
 * a header cannot put escapes on a terminal. multiline keeps the version
 * string's newlines (newvers.sh makes two lines, and the kernel forces a
 * newline at index 190 when it truncates), except one that would start a
 * forged field line such as "  Dump Status: good".
 */
static void
sanitise(char *dst, size_t dstsize, const char *src, bool multiline)
{
	const char *end;
	size_t i, n;
	unsigned char c;

	if (src == NULL)
		src = "";
	n = strnlen(src, dstsize - 1);
	end = src + n;
	for (i = 0; i < n; i++) {
		c = (unsigned char)src[i];
		if (c == '\n' && multiline && !looks_like_field(src + i + 1, end))
			;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			c = '?';
		dst[i] = (char)c;
	}
	dst[n] = '\0';
	nd_text_blank(dst, "\t\n");
}

/*
 * The parity word as savecore prints it: h->parity without dtoh32, the
 * header's bytes 508-511 read in the order of the host that runs it.
 */
static uint32_t
parity_native(uint32_t parity_be)
{
	uint8_t b[4] = { (uint8_t)(parity_be >> 24), (uint8_t)(parity_be >> 16),
	    (uint8_t)(parity_be >> 8), (uint8_t)parity_be };
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

/* savecore's "%F %T %z" in the local zone; empty if it cannot be told. */
static void
dumptime_str(uint64_t dumptime, char *buf, size_t size)
{
	struct tm tm;
	time_t t;

	buf[0] = '\0';
	if (dumptime > (uint64_t)INT64_MAX)
		return;
	t = (time_t)dumptime;
	if ((uint64_t)t != dumptime || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
		buf[0] = '\0';
}

int
nd_kdh_info_text(char *buf, size_t size, const struct nds_kdh *kdh,
    const char *device, unsigned dumpno, int status_good,
    const char *reason)
{
	struct textbuf tb = { .buf = buf, .size = size };
	char dev[1024], why[512], str[sizeof(kdh->versionstring)];
	char timestr[64];
	size_t n;

	if (buf != NULL && size > 0)
		buf[0] = '\0';
	sanitise(dev, sizeof(dev), device, false);
	sanitise(why, sizeof(why), reason, false);

	tb_printf(&tb, "Dump header from device: %s\n", dev);
	if (kdh == NULL) {
		tb_printf(&tb,
		    "  (no valid kernel dump header was received)\n");
		if (dumpno != ND_KDH_NO_BOUNDS)
			tb_printf(&tb, "  Bounds: %d\n", (int)dumpno);
		if (why[0] != '\0')
			tb_printf(&tb, "  Reason: %s\n", why);
		tb_printf(&tb, "  Dump Status: bad\n");
		return tb.error ? -1 : (int)tb.len;
	}

	/* savecore's printheader, line for line, with its conversions. */
	sanitise(str, sizeof(str), kdh->architecture, false);
	tb_printf(&tb, "  Architecture: %s\n", str);
	tb_printf(&tb, "  Architecture Version: %" PRIu32 "\n",
	    kdh->architectureversion);
	tb_printf(&tb, "  Dump Length: %lld\n", (long long)kdh->dumplength);
	tb_printf(&tb, "  Blocksize: %d\n", (int)kdh->blocksize);
	tb_printf(&tb, "  Compression: %s\n",
	    nd_kdh_compression_str(kdh->compression));
	dumptime_str(kdh->dumptime, timestr, sizeof(timestr));
	tb_printf(&tb, "  Dumptime: %s\n", timestr);
	sanitise(str, sizeof(str), kdh->hostname, false);
	tb_printf(&tb, "  Hostname: %s\n", str);
	sanitise(str, sizeof(str), kdh->magic, false);
	tb_printf(&tb, "  Magic: %s\n", str);
	/*
	 * No newline of savecore's own: the kernel's string ends with one.
	 * One is added only to a string without, which no kernel sends, so
	 * the next field still starts a line.
	 */
	sanitise(str, sizeof(str), kdh->versionstring, true);
	n = strlen(str);
	tb_printf(&tb, "  Version String: %s%s", str,
	    n > 0 && str[n - 1] == '\n' ? "" : "\n");
	sanitise(str, sizeof(str), kdh->panicstring, false);
	tb_printf(&tb, "  Panic String: %s\n", str);
	tb_printf(&tb, "  Dump Parity: %" PRIu32 "\n",
	    parity_native(kdh->parity));
	if (dumpno != ND_KDH_NO_BOUNDS)
		tb_printf(&tb, "  Bounds: %d\n", (int)dumpno);
	if (why[0] != '\0')
		tb_printf(&tb, "  Reason: %s\n", why);
	tb_printf(&tb, "  Dump Status: %s\n", status_good ? "good" : "bad");
	return tb.error ? -1 : (int)tb.len;
}
