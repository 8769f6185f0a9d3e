/* SPDX-License-Identifier: BSD-2-Clause */
#include <openssl/evp.h>
#include <xxhash.h>

#include "digest.h"
#include "util.h"

const char *
nd_digest_name(enum nd_digest_alg alg)
{
	return alg == ND_DIGEST_XXH128 ? "xxh128" : "sha256";
}

/* 0, or -1 when the library could not set the digest up (memory). */
int
nd_digest_init(struct nd_digest *g, enum nd_digest_alg alg)
{
	g->alg = alg;
	if (alg == ND_DIGEST_XXH128) {
		if ((g->ctx = XXH3_createState()) == NULL)
			return -1;
		if (XXH3_128bits_reset(g->ctx) == XXH_OK)
			return 0;
	} else {
		if ((g->ctx = EVP_MD_CTX_new()) == NULL)
			return -1;
		if (EVP_DigestInit_ex(g->ctx, EVP_sha256(), NULL) == 1)
			return 0;
	}
	nd_digest_free(g);
	return -1;
}

bool
nd_digest_update(struct nd_digest *g, const void *buf, size_t len)
{
	if (g->alg == ND_DIGEST_XXH128)
		return XXH3_128bits_update(g->ctx, buf, len) == XXH_OK;
	return EVP_DigestUpdate(g->ctx, buf, len) == 1;
}

/* Ends the digest; out is "" when it failed. */
void
nd_digest_hex(struct nd_digest *g, char out[ND_DIGEST_HEX_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (g->alg == ND_DIGEST_XXH128) {
		XXH128_canonical_t c;

		/* The canonical form is big-endian, as xxhsum prints it. */
		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(g->ctx));
		nd_hex(c.digest, sizeof(c.digest), out);
	} else if (EVP_DigestFinal_ex(g->ctx, md, &mdlen) == 1 &&
	    mdlen == 32)
		nd_hex(md, mdlen, out);
}

void
nd_digest_free(struct nd_digest *g)
{
	if (g->ctx == NULL)
		return;
	if (g->alg == ND_DIGEST_XXH128)
		XXH3_freeState(g->ctx);
	else
		EVP_MD_CTX_free(g->ctx);
	g->ctx = NULL;
}

void
nd_digest_buf(enum nd_digest_alg alg, const void *buf, size_t len,
    char out[ND_DIGEST_HEX_SIZE])
{
	struct nd_digest g = { 0 };

	out[0] = '\0';
	if (nd_digest_init(&g, alg) == -1)
		return;
	if (nd_digest_update(&g, buf, len))
		nd_digest_hex(&g, out);
	nd_digest_free(&g);
}
