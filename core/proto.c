/* SPDX-License-Identifier: BSD-2-Clause */
#include <endian.h>
#include <string.h>

#include "proto.h"

enum nd_decode_result
nd_msg_decode(const void *dgram, size_t len, struct nd_msg *msg)
{
	const uint8_t *p = dgram;

	if (len < ND_HDR_SIZE)
		return ND_DECODE_RUNT;
	msg->type = nd_get_be32(p);
	msg->seqno = nd_get_be32(p + 4);
	msg->offset = nd_get_be64(p + 8);
	msg->len = nd_get_be32(p + 16);
	msg->aux2 = nd_get_be32(p + 20);
	msg->payload = p + ND_HDR_SIZE;
	/* Compare without overflow: mh_len is attacker-controlled. */
	if (len - ND_HDR_SIZE != (size_t)msg->len)
		return ND_DECODE_BAD_LENGTH;
	if (msg->type < ND_MSG_HERALD || msg->type > ND_MSG_EKCD_KEY)
		return ND_DECODE_BAD_TYPE;
	return ND_DECODE_OK;
}

const char *
nd_decode_result_str(enum nd_decode_result r)
{
	switch (r) {
	case ND_DECODE_OK:
		return "ok";
	case ND_DECODE_RUNT:
		return "runt datagram";
	case ND_DECODE_BAD_LENGTH:
		return "datagram length does not match mh_len";
	case ND_DECODE_BAD_TYPE:
		return "unknown message type";
	default:
		return "?";
	}
}

const char *
nd_msg_type_str(uint32_t type)
{
	static const char *const names[] = {
		[ND_MSG_HERALD] = "HERALD",
		[ND_MSG_FINISHED] = "FINISHED",
		[ND_MSG_VMCORE] = "VMCORE",
		[ND_MSG_KDH] = "KDH",
		[ND_MSG_EKCD_KEY] = "EKCD_KEY",
	};

	if (type >= ND_MSG_HERALD && type <= ND_MSG_EKCD_KEY)
		return names[type];
	return "unknown";
}

void
nd_msg_encode_header(void *out, uint32_t type, uint32_t seqno,
    uint64_t offset, uint32_t len)
{
	uint8_t *p = out;

	nd_put_be32(p, type);
	nd_put_be32(p + 4, seqno);
	nd_put_be64(p + 8, offset);
	nd_put_be32(p + 16, len);
	nd_put_be32(p + 20, 0);
}

void
nd_ack_encode(void *out, uint32_t seqno)
{
	nd_put_be32(out, seqno);
}

uint32_t
nd_ack_decode(const void *in)
{
	return nd_get_be32(in);
}
