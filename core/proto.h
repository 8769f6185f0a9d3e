/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The netdump(4) wire format: a 24-byte big-endian header, then mh_len
 * payload bytes; the server answers with a 4-byte big-endian seqno.
 */
#ifndef ND_PROTO_H
#define ND_PROTO_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ND_HERALD_PORT		20023
#define ND_CLIENT_PORT		20024
#define ND_HDR_SIZE		24
#define ND_ACK_SIZE		4
#define ND_MAX_DATAGRAM		65535
#define ND_MAX_PAYLOAD		(65507 - ND_HDR_SIZE)
#define ND_MAX_HERALD_PATH	1024	/* MAXPATHLEN, NUL included */
#define ND_KDH_SIZE		512
#define ND_MAX_IN_FLIGHT	64	/* packets per client batch */
#define ND_CALL_SIZE		(64u * 1024)	/* a kernel's netdump buffer:
						 * the data of one call */

enum nd_msg_type {
	ND_MSG_HERALD = 1,
	ND_MSG_FINISHED = 2,
	ND_MSG_VMCORE = 3,
	ND_MSG_KDH = 4,
	ND_MSG_EKCD_KEY = 5,
};

struct nd_msg {
	uint32_t	 type;
	uint32_t	 seqno;
	uint64_t	 offset;
	uint32_t	 len;
	uint32_t	 aux2;
	const uint8_t	*payload;	/* points into the datagram */
};

/* Why a datagram was refused (and so not acked). */
enum nd_decode_result {
	ND_DECODE_OK = 0,
	ND_DECODE_RUNT,		/* shorter than the header */
	ND_DECODE_BAD_LENGTH,	/* datagram length != 24 + mh_len */
	ND_DECODE_BAD_TYPE,	/* not a type netdump defines */
	ND_DECODE_NRESULTS
};

/* Big-endian fields at any alignment (the wire and the KDH use them). */
static inline uint32_t
nd_get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static inline uint64_t
nd_get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static inline void
nd_put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
nd_put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

enum nd_decode_result nd_msg_decode(const void *dgram, size_t len,
    struct nd_msg *msg);
const char *nd_decode_result_str(enum nd_decode_result);
const char *nd_msg_type_str(uint32_t type);

/* Encode a header (for the client and tests); payload not copied. */
void nd_msg_encode_header(void *out, uint32_t type, uint32_t seqno,
    uint64_t offset, uint32_t len);
void nd_ack_encode(void *out, uint32_t seqno);
uint32_t nd_ack_decode(const void *in);

#endif /* ND_PROTO_H */
