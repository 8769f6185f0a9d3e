/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: nd_msg_decode on arbitrary datagrams. A decoded
 * message must describe the datagram exactly and encode back to the same
 * header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static volatile unsigned sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[ND_HDR_SIZE];
	struct nd_msg m;
	enum nd_decode_result r;
	unsigned sum = 0;
	uint32_t i;

	memset(&m, 0, sizeof(m));
	r = nd_msg_decode(data, size, &m);
	if ((unsigned)r >= ND_DECODE_NRESULTS)
		abort();
	if (nd_decode_result_str(r) == NULL)
		abort();
	if (r == ND_DECODE_RUNT) {
		if (size >= ND_HDR_SIZE)
			abort();
		return 0;
	}
	if (size < ND_HDR_SIZE || m.payload != data + ND_HDR_SIZE)
		abort();
	if (nd_msg_type_str(m.type) == NULL)
		abort();
	if (r != ND_DECODE_OK)
		return 0;
	if ((size_t)m.len != size - ND_HDR_SIZE)
		abort();
	if (m.type < ND_MSG_HERALD || m.type > ND_MSG_EKCD_KEY)
		abort();
	/* Read the whole payload: it must lie inside the datagram. */
	for (i = 0; i < m.len; i++)
		sum += m.payload[i];
	sink = sum;
	/* The header encodes back (aux2 is written as zero). */
	nd_msg_encode_header(hdr, m.type, m.seqno, m.offset, m.len);
	if (memcmp(hdr, data, 20) != 0)
		abort();
	nd_ack_encode(hdr, m.seqno);
	if (nd_ack_decode(hdr) != m.seqno)
		abort();
	return 0;
}
