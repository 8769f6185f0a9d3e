/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Decoding what arrives on the Linux port and encoding the server's
 * requests (see linux_wire.h for the three formats). Nothing here
 * allocates or keeps state: every result points into the datagram.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "linux_wire.h"
#include "proto.h"

/* An ext header ends with ';' within this many bytes, or it is not one. */
#define EXT_HEADER_MAX	512

/*
 * A netdump reply starts with its version byte (3 to 5 from real
 * kernels), a control character; console text starts with a printable
 * character, or with a tab, newline or carriage return. Anything else
 * binary is given to the netdump decoder, which says what is wrong.
 */
enum lx_kind
lx_classify(const uint8_t *buf, size_t len)
{
	struct lx_ext ext;

	if (len == 0)
		return LX_EMPTY;
	if (buf[0] < 0x20 && buf[0] != '\t' && buf[0] != '\n' &&
	    buf[0] != '\r')
		return LX_NETDUMP;
	if (lx_ext_parse(buf, len, &ext) == 0)
		return LX_NETCONSOLE_EXT;
	return LX_NETCONSOLE;
}

enum lx_decode_result
lx_reply_decode(const uint8_t *buf, size_t len, struct lx_reply *r)
{
	size_t max;

	if (len < LX_REPLY_HEADER)
		return LX_DECODE_RUNT;
	r->version = buf[0];
	r->nr = nd_get_be32(buf + 1);
	r->code = nd_get_be32(buf + 5);
	r->info = nd_get_be32(buf + 9);
	r->payload = buf + LX_REPLY_HEADER;
	r->len = len - LX_REPLY_HEADER;
	/* RHEL 3 sent 3 or 4, RHEL 4 4 or 5; 1 and 2 for the first ones. */
	if (r->version < 1 || r->version > LX_VERSION)
		return LX_DECODE_BAD_VERSION;
	if (r->code >= LX_REPLY_NCODES)
		return LX_DECODE_BAD_CODE;
	max = r->code == LX_REPLY_LOG ? LX_LOG_MAX_PAYLOAD :
	    LX_REPLY_MAX_PAYLOAD;
	if (r->len > max)
		return LX_DECODE_TOO_LONG;
	return LX_DECODE_OK;
}

const char *
lx_decode_result_str(enum lx_decode_result r)
{
	static const char *const str[LX_DECODE_NRESULTS] = {
		"ok",
		"shorter than the 13-byte reply header",
		"not a netdump protocol version (1 to 5)",
		"unknown reply code",
		"payload longer than a client sends",
	};

	return (unsigned)r < LX_DECODE_NRESULTS ? str[r] : "?";
}

const char *
lx_reply_code_str(uint32_t code)
{
	static const char *const str[LX_REPLY_NCODES] = {
		"NONE", "ERROR", "LOG", "MEM", "RESERVED", "HELLO",
		"NR_PAGES", "PAGE_SIZE", "START_NETDUMP", "END_NETDUMP",
		"REGS", "MAGIC", "SHOW_STATE",
	};

	return code < LX_REPLY_NCODES ? str[code] : "unknown";
}

const char *
lx_command_str(uint32_t command)
{
	static const char *const str[] = {
		"NONE", "SEND_MEM", "EXIT", "REBOOT", "HELLO",
		"GET_NR_PAGES", "GET_PAGE_SIZE", "START_NETDUMP_ACK",
		"GET_REGS", "SHOW_STATE",
	};

	return command < sizeof(str) / sizeof(str[0]) ? str[command] :
	    "unknown";
}

void
lx_request_encode(const struct lx_request *q, uint8_t out[LX_REQUEST_SIZE])
{
	nd_put_be64(out, q->magic);
	nd_put_be32(out + 8, q->nr);
	nd_put_be32(out + 12, q->command);
	nd_put_be32(out + 16, q->from);
	nd_put_be32(out + 20, q->to);
}

/* As netdump_rx does: 24 bytes at least, the rest ignored. */
int
lx_request_decode(const uint8_t *buf, size_t len, struct lx_request *q)
{
	if (len < LX_REQUEST_SIZE)
		return -1;
	q->magic = nd_get_be64(buf);
	q->nr = nd_get_be32(buf + 8);
	q->command = nd_get_be32(buf + 12);
	q->from = nd_get_be32(buf + 16);
	q->to = nd_get_be32(buf + 20);
	return 0;
}

void
lx_reply_header(uint8_t out[LX_REPLY_HEADER], uint8_t version, uint32_t nr,
    uint32_t code, uint32_t info)
{
	out[0] = version;
	nd_put_be32(out + 1, nr);
	nd_put_be32(out + 5, code);
	nd_put_be32(out + 9, info);
}

/* Hex digits at s[*i..len) into *v; at least one, at most 16. */
static int
hex_u64(const uint8_t *s, size_t len, size_t *i, uint64_t *v)
{
	size_t start = *i;
	unsigned d;

	*v = 0;
	for (; *i < len; (*i)++) {
		if (s[*i] >= '0' && s[*i] <= '9')
			d = s[*i] - '0';
		else if ((s[*i] | 0x20) >= 'a' && (s[*i] | 0x20) <= 'f')
			d = (s[*i] | 0x20) - 'a' + 10;
		else
			break;
		if (*i - start == 16)
			return -1;
		*v = *v << 4 | d;
	}
	return *i > start ? 0 : -1;
}

/*
 * "task_struct:0x%lx page_offset:0x%llx netdump_magic:0x%llx\n", as
 * netdump_startup_handshake writes it: words separated by blanks, each
 * "name:0xHEX". Unknown names are skipped, so a kernel that says more is
 * still understood; a known name with a bad value is an error.
 */
int
lx_start_parse(const uint8_t *p, size_t len, struct lx_start *s)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} fields[] = {
		{ "task_struct:0x", offsetof(struct lx_start, task) },
		{ "page_offset:0x", offsetof(struct lx_start, page_offset) },
		{ "netdump_magic:0x", offsetof(struct lx_start, magic) },
	};
	size_t i = 0, f, n;
	uint64_t v;

	memset(s, 0, sizeof(*s));
	while (i < len) {
		if (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' ||
		    p[i] == '\r' || p[i] == '\0') {
			i++;
			continue;
		}
		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			n = strlen(fields[f].name);
			if (len - i >= n && memcmp(p + i, fields[f].name, n) ==
			    0)
				break;
		}
		if (f == sizeof(fields) / sizeof(fields[0])) {
			while (i < len && p[i] != ' ' && p[i] != '\n')
				i++;
			continue;
		}
		i += strlen(fields[f].name);
		if (hex_u64(p, len, &i, &v) == -1)
			return -1;
		memcpy((char *)s + fields[f].off, &v, sizeof(v));
		if (fields[f].off == offsetof(struct lx_start, magic))
			s->has_magic = true;
	}
	return 0;
}

/* Decimal digits, the whole of [s, s + len), into *v without overflow. */
static int
dec_u64(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	*v = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    *v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

/* "ncfrag=<offset>/<total>" into e; other key=value fields are skipped. */
static int
ext_field(const char *s, size_t len, struct lx_ext *e)
{
	const char *slash;
	uint64_t off, total;

	if (len < 7 || memcmp(s, "ncfrag=", 7) != 0)
		return memchr(s, '=', len) != NULL ? 0 : -1;
	s += 7;
	len -= 7;
	if ((slash = memchr(s, '/', len)) == NULL ||
	    dec_u64(s, (size_t)(slash - s), UINT32_MAX, &off) == -1 ||
	    dec_u64(slash + 1, len - (size_t)(slash - s) - 1,
	    LX_EXT_MAX_MESSAGE, &total) == -1)
		return -1;
	e->fragment = true;
	e->frag_offset = (uint32_t)off;
	e->frag_total = (uint32_t)total;
	return 0;
}

/* The fields of an ext header, split at ','; false if they are not. */
static bool
ext_fields(const char *h, size_t len, struct lx_ext *e)
{
	const char *f[16];
	size_t flen[16], n = 0, i, first = 0;
	const char *p = h, *end = h + len, *comma;
	uint64_t v;

	for (;;) {
		if (n == sizeof(f) / sizeof(f[0]))
			return false;		/* no kernel writes so many */
		comma = memchr(p, ',', (size_t)(end - p));
		f[n] = p;
		flen[n++] = (size_t)((comma != NULL ? comma : end) - p);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	/* A release ("6.4.0", "6.13.0-04048-g4f561a87745a") is no number. */
	if (n > 0 && dec_u64(f[0], flen[0], UINT64_MAX, &v) == -1) {
		if (flen[0] == 0 || flen[0] > 64)
			return false;
		e->release = f[0];
		e->release_len = flen[0];
		first = 1;
	}
	if (n < first + 4 ||
	    dec_u64(f[first], flen[first], 1023, &v) == -1)
		return false;
	e->level = (unsigned)v;
	if (dec_u64(f[first + 1], flen[first + 1], UINT64_MAX, &e->seq) ==
	    -1 || dec_u64(f[first + 2], flen[first + 2], UINT64_MAX,
	    &e->usec) == -1 || flen[first + 3] != 1 ||
	    strchr("-c+", f[first + 3][0]) == NULL)
		return false;
	e->flag = f[first + 3][0];
	for (i = first + 4; i < n; i++)
		if (ext_field(f[i], flen[i], e) == -1)
			return false;
	return true;
}

/*
 * An extended netconsole datagram: the header up to the first ';', then
 * the text. A fragment must lie within its message: a datagram that
 * claims otherwise is not taken as extended (it is kept as plain text).
 */
int
lx_ext_parse(const uint8_t *buf, size_t len, struct lx_ext *e)
{
	const uint8_t *semi;
	size_t hlen, i;

	memset(e, 0, sizeof(*e));
	semi = memchr(buf, ';', len < EXT_HEADER_MAX ? len : EXT_HEADER_MAX);
	if (semi == NULL)
		return -1;
	hlen = (size_t)(semi - buf);
	for (i = 0; i < hlen; i++)
		if (buf[i] <= ' ' || buf[i] > '~')
			return -1;
	if (!ext_fields((const char *)buf, hlen, e))
		return -1;
	e->text = semi + 1;
	e->text_len = len - hlen - 1;
	if (e->fragment && (e->frag_total == 0 ||
	    e->frag_offset >= e->frag_total ||
	    e->text_len > e->frag_total - e->frag_offset))
		return -1;
	return 0;
}
