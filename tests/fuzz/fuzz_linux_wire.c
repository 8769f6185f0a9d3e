/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: everything core/linux_wire.c reads from the Linux
 * port. Whatever a datagram holds, every result points inside it, a
 * decoded reply encodes back to the same header, and an extended
 * netconsole fragment lies within its message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linux_wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_reply(const uint8_t *data, size_t size)
{
	uint8_t hdr[LX_REPLY_HEADER];
	struct lx_reply r;
	struct lx_start s;
	enum lx_decode_result res;

	memset(&r, 0, sizeof(r));
	res = lx_reply_decode(data, size, &r);
	if ((unsigned)res >= LX_DECODE_NRESULTS ||
	    lx_decode_result_str(res) == NULL)
		abort();
	if (res == LX_DECODE_RUNT) {
		if (size >= LX_REPLY_HEADER)
			abort();
		return;
	}
	if (r.payload != data + LX_REPLY_HEADER ||
	    r.len != size - LX_REPLY_HEADER)
		abort();
	lx_reply_header(hdr, r.version, r.nr, r.code, r.info);
	if (memcmp(hdr, data, sizeof(hdr)) != 0)
		abort();
	if (res != LX_DECODE_OK)
		return;
	if (r.code >= LX_REPLY_NCODES || r.len > LX_LOG_MAX_PAYLOAD ||
	    lx_reply_code_str(r.code) == NULL)
		abort();
	if (lx_start_parse(r.payload, r.len, &s) == 0 && !s.has_magic &&
	    s.magic != 0)
		abort();
}

static void
check_ext(const uint8_t *data, size_t size)
{
	struct lx_ext e;

	if (lx_ext_parse(data, size, &e) != 0)
		return;
	if (e.text < data || e.text > data + size ||
	    e.text_len != (size_t)(data + size - e.text))
		abort();
	if (e.release != NULL && ((const uint8_t *)e.release < data ||
	    (const uint8_t *)e.release + e.release_len > e.text))
		abort();
	if (e.fragment && (e.frag_total == 0 ||
	    e.frag_total > LX_EXT_MAX_MESSAGE ||
	    e.frag_offset >= e.frag_total ||
	    e.text_len > e.frag_total - e.frag_offset))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lx_request q;
	uint8_t back[LX_REQUEST_SIZE];
	enum lx_kind kind = lx_classify(data, size);

	if (kind == LX_EMPTY && size != 0)
		abort();
	check_reply(data, size);
	check_ext(data, size);
	if (kind == LX_NETCONSOLE_EXT) {
		struct lx_ext e;

		if (lx_ext_parse(data, size, &e) != 0)
			abort();
	}
	if (lx_request_decode(data, size, &q) == 0) {
		lx_request_encode(&q, back);
		if (memcmp(back, data, sizeof(back)) != 0)
			abort();
	}
	return 0;
}
