/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the manifest's digests (core/digest.c): the published
 * vectors of both algorithms, and a digest fed in uneven pieces, as the
 * dump worker feeds blocks and runs of zeros, equal to the libraries'
 * own one-shot functions over the whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "digest.h"

/* The libraries' one-shot digest of buf, in hex, without core/digest.c. */
static void
one_shot_hex(int alg, const unsigned char *buf, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (alg == ND_DIGEST_XXH128) {
		XXH128_canonical_t c;

		XXH128_canonicalFromHash(&c, XXH3_128bits(buf, len));
		memcpy(md, c.digest, sizeof(c.digest));
		mdlen = sizeof(c.digest);
	} else
		assert_int_equal(EVP_Digest(buf, len, md, &mdlen, EVP_sha256(),
		    NULL), 1);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
known_vectors(void **state)
{
	char hex[ND_DIGEST_HEX_SIZE];

	(void)state;
	/* FIPS 180-2, appendix B.1, and the empty message. */
	nd_digest_buf(ND_DIGEST_SHA256, "abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	nd_digest_buf(ND_DIGEST_SHA256, "", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	/*
	 * xxHash's tests/sanity_test_vectors.h gives XXH128 of no bytes,
	 * seed 0, as { low 0x6001C324468D497F, high 0x99AA06D3014798D8 };
	 * xxhsum -H2 prints the high half first, as "abc" below.
	 */
	nd_digest_buf(ND_DIGEST_XXH128, "", 0, hex);
	assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
	nd_digest_buf(ND_DIGEST_XXH128, "abc", 3, hex);
	assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");
	assert_string_equal(nd_digest_name(ND_DIGEST_SHA256), "sha256");
	assert_string_equal(nd_digest_name(ND_DIGEST_XXH128), "xxh128");
}

static void
pieces_equal_whole(void **state)
{
	static const size_t cuts[] = { 1, 63, 64, 65, 4096, 1448, 262144, 7 };
	const size_t size = 3 * 1024 * 1024 + 11;
	char whole[ND_DIGEST_HEX_SIZE], pieces[ND_DIGEST_HEX_SIZE];
	struct nd_digest g;
	unsigned char *buf;
	size_t i, off, n;
	int alg;

	(void)state;
	assert_non_null(buf = malloc(size));
	for (i = 0; i < size; i++)	/* data, then a run of zeros */
		buf[i] = i < size / 2 ? (unsigned char)(i * 2654435761u >> 13)
		    : 0;
	for (alg = ND_DIGEST_SHA256; alg <= ND_DIGEST_XXH128; alg++) {
		one_shot_hex(alg, buf, size, whole);
		assert_int_equal(nd_digest_init(&g, alg), 0);
		for (off = 0, i = 0; off < size; off += n, i++) {
			n = cuts[i % (sizeof(cuts) / sizeof(cuts[0]))];
			if (n > size - off)
				n = size - off;
			assert_true(nd_digest_update(&g, buf + off, n));
		}
		nd_digest_hex(&g, pieces);
		nd_digest_free(&g);
		assert_null(g.ctx);
		assert_int_equal(strlen(whole),
		    alg == ND_DIGEST_SHA256 ? 64 : 32);
		assert_string_equal(pieces, whole);
	}
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_vectors),
		cmocka_unit_test(pieces_equal_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
