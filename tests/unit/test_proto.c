/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the netdump(4) wire format (core/proto.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "proto.h"

static void
test_header_round_trip(void **state)
{
	uint8_t dgram[ND_HDR_SIZE + 8];
	struct nd_msg msg;

	(void)state;
	memset(dgram, 0xaa, sizeof(dgram));
	nd_msg_encode_header(dgram, ND_MSG_VMCORE, 0x01020304u,
	    0x1122334455667788ull, 8);
	/* The wire is big-endian whatever the host is. */
	assert_int_equal(dgram[0], 0);
	assert_int_equal(dgram[3], ND_MSG_VMCORE);
	assert_int_equal(dgram[4], 0x01);
	assert_int_equal(dgram[7], 0x04);
	assert_int_equal(dgram[8], 0x11);
	assert_int_equal(dgram[15], 0x88);
	assert_int_equal(dgram[19], 8);
	/* aux2 is written as zero. */
	assert_int_equal(dgram[20] | dgram[21] | dgram[22] | dgram[23], 0);

	assert_int_equal(nd_msg_decode(dgram, sizeof(dgram), &msg),
	    ND_DECODE_OK);
	assert_int_equal(msg.type, ND_MSG_VMCORE);
	assert_int_equal(msg.seqno, 0x01020304u);
	assert_true(msg.offset == 0x1122334455667788ull);
	assert_int_equal(msg.len, 8);
	assert_int_equal(msg.aux2, 0);
	assert_ptr_equal(msg.payload, dgram + ND_HDR_SIZE);
}

static void
test_header_empty_payload(void **state)
{
	uint8_t dgram[ND_HDR_SIZE];
	struct nd_msg msg;

	(void)state;
	nd_msg_encode_header(dgram, ND_MSG_FINISHED, 7, 0, 0);
	assert_int_equal(nd_msg_decode(dgram, sizeof(dgram), &msg),
	    ND_DECODE_OK);
	assert_int_equal(msg.type, ND_MSG_FINISHED);
	assert_int_equal(msg.seqno, 7);
	assert_int_equal(msg.len, 0);
}

static void
test_ack_encoding(void **state)
{
	uint8_t ack[ND_ACK_SIZE];
	const uint8_t want[ND_ACK_SIZE] = { 0xde, 0xad, 0xbe, 0xef };

	(void)state;
	nd_ack_encode(ack, 0xdeadbeefu);
	assert_memory_equal(ack, want, sizeof(want));
	assert_int_equal(nd_ack_decode(ack), 0xdeadbeefu);

	nd_ack_encode(ack, 1);
	assert_int_equal(ack[0] | ack[1] | ack[2], 0);
	assert_int_equal(ack[3], 1);
	assert_int_equal(nd_ack_decode(ack), 1);
}

static void
test_runt(void **state)
{
	uint8_t dgram[ND_HDR_SIZE];
	struct nd_msg msg;
	size_t len;

	(void)state;
	nd_msg_encode_header(dgram, ND_MSG_HERALD, 0, 0, 0);
	for (len = 0; len < ND_HDR_SIZE; len++)
		assert_int_equal(nd_msg_decode(dgram, len, &msg),
		    ND_DECODE_RUNT);
	assert_int_equal(nd_msg_decode(dgram, ND_HDR_SIZE, &msg),
	    ND_DECODE_OK);
}

static void
test_length_mismatch(void **state)
{
	uint8_t dgram[ND_HDR_SIZE + 100];
	struct nd_msg msg;

	(void)state;
	memset(dgram, 0, sizeof(dgram));
	/* mh_len claims more than arrived. */
	nd_msg_encode_header(dgram, ND_MSG_VMCORE, 1, 0, 100);
	assert_int_equal(nd_msg_decode(dgram, ND_HDR_SIZE + 99, &msg),
	    ND_DECODE_BAD_LENGTH);
	/* mh_len claims less than arrived. */
	nd_msg_encode_header(dgram, ND_MSG_VMCORE, 1, 0, 99);
	assert_int_equal(nd_msg_decode(dgram, ND_HDR_SIZE + 100, &msg),
	    ND_DECODE_BAD_LENGTH);
	/* And exactly right. */
	assert_int_equal(nd_msg_decode(dgram, ND_HDR_SIZE + 99, &msg),
	    ND_DECODE_OK);
}

static void
test_length_lying_max(void **state)
{
	uint8_t dgram[ND_HDR_SIZE + 16];
	struct nd_msg msg;

	(void)state;
	memset(dgram, 0, sizeof(dgram));
	/* 24 + 0xffffffff must not wrap into a match on any size_t. */
	nd_msg_encode_header(dgram, ND_MSG_VMCORE, 1, 0, 0xffffffffu);
	assert_int_equal(nd_msg_decode(dgram, sizeof(dgram), &msg),
	    ND_DECODE_BAD_LENGTH);
	assert_int_equal(nd_msg_decode(dgram, ND_HDR_SIZE, &msg),
	    ND_DECODE_BAD_LENGTH);
	/* 0xffffffff - 23: wraps to 0 in 32-bit arithmetic if done wrong. */
	nd_msg_encode_header(dgram, ND_MSG_VMCORE, 1, 0,
	    0xffffffffu - (ND_HDR_SIZE - 1));
	assert_int_equal(nd_msg_decode(dgram, ND_HDR_SIZE, &msg),
	    ND_DECODE_BAD_LENGTH);
}

static void
test_unknown_types(void **state)
{
	uint8_t dgram[ND_HDR_SIZE];
	struct nd_msg msg;
	const uint32_t bad[] = { 0, 6, 0x100, 0xffffffffu };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nd_msg_encode_header(dgram, bad[i], 1, 0, 0);
		assert_int_equal(nd_msg_decode(dgram, sizeof(dgram), &msg),
		    ND_DECODE_BAD_TYPE);
		assert_string_equal(nd_msg_type_str(bad[i]), "unknown");
	}
	/* Every defined type decodes. */
	for (i = ND_MSG_HERALD; i <= ND_MSG_EKCD_KEY; i++) {
		nd_msg_encode_header(dgram, (uint32_t)i, 1, 0, 0);
		assert_int_equal(nd_msg_decode(dgram, sizeof(dgram), &msg),
		    ND_DECODE_OK);
		assert_int_equal(msg.type, i);
	}
}

static void
test_type_names(void **state)
{
	(void)state;
	assert_string_equal(nd_msg_type_str(ND_MSG_HERALD), "HERALD");
	assert_string_equal(nd_msg_type_str(ND_MSG_FINISHED), "FINISHED");
	assert_string_equal(nd_msg_type_str(ND_MSG_VMCORE), "VMCORE");
	assert_string_equal(nd_msg_type_str(ND_MSG_KDH), "KDH");
	assert_string_equal(nd_msg_type_str(ND_MSG_EKCD_KEY), "EKCD_KEY");
}

static void
test_result_strings(void **state)
{
	int r;

	(void)state;
	assert_string_equal(nd_decode_result_str(ND_DECODE_OK), "ok");
	/* Each refusal has its own non-empty, distinct description. */
	for (r = ND_DECODE_RUNT; r < ND_DECODE_NRESULTS; r++) {
		const char *s = nd_decode_result_str((enum nd_decode_result)r);

		assert_non_null(s);
		assert_true(strlen(s) > 2);
		assert_string_not_equal(s, "ok");
		if (r > ND_DECODE_RUNT)
			assert_string_not_equal(s, nd_decode_result_str(
			    (enum nd_decode_result)(r - 1)));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_round_trip),
		cmocka_unit_test(test_header_empty_payload),
		cmocka_unit_test(test_ack_encoding),
		cmocka_unit_test(test_runt),
		cmocka_unit_test(test_length_mismatch),
		cmocka_unit_test(test_length_lying_max),
		cmocka_unit_test(test_unknown_types),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_result_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
