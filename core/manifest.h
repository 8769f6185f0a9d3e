/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading a manifest back; writing one is nd_manifest_build (dump.h). */
#ifndef ND_MANIFEST_H
#define ND_MANIFEST_H

#include <stddef.h>

struct nds_manifest_summary;

/* nds_host.manifest_read. */
int	nd_manifest_read(const char *text, size_t len,
	    struct nds_manifest_summary *,
	    void (*stored)(void *arg, const char *where), void *arg);

#endif /* ND_MANIFEST_H */
