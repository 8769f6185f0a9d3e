/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef ND_DIGEST_H
#define ND_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The digest the manifest gives of each object ([server] digest). SHA-256
 * is what sha256sum checks; XXH128 (xxhsum -H2) costs a twentieth of its
 * CPU, which is what a dump at line rate has to spare. Neither guards
 * against tampering here, since whoever can rewrite a vmcore can rewrite
 * the manifest beside it; both catch a copy or a disk that changed bytes.
 */
enum nd_digest_alg {
	ND_DIGEST_SHA256,	/* order of the [server] row's choices */
	ND_DIGEST_XXH128,
};

#define ND_DIGEST_CHOICES	"sha256|xxh128"
#define ND_DIGEST_HEX_SIZE	65	/* the longest, SHA-256, with its NUL */

struct nd_digest {
	enum nd_digest_alg	 alg;
	void			*ctx;	/* EVP_MD_CTX or XXH3_state_t */
};

const char	*nd_digest_name(enum nd_digest_alg);
int		 nd_digest_init(struct nd_digest *, enum nd_digest_alg);
bool		 nd_digest_update(struct nd_digest *, const void *, size_t);
void		 nd_digest_hex(struct nd_digest *, char [ND_DIGEST_HEX_SIZE]);
void		 nd_digest_free(struct nd_digest *);
void		 nd_digest_buf(enum nd_digest_alg, const void *, size_t,
		    char [ND_DIGEST_HEX_SIZE]);

#endif
