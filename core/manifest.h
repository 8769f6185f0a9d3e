/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading a manifest back; writing one is nd_manifest_build (dump.h). */
#ifndef ND_MANIFEST_H
#define ND_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "netdump/sink.h"

/* nds_host.manifest_read. */
int	nd_manifest_read(const char *text, size_t len,
	    struct nds_manifest_summary *,
	    void (*stored)(void *arg, const char *where), void *arg);
/* nds_host.manifest_facts. */
int	nd_manifest_facts(const char *text, size_t len,
	    struct nds_manifest_facts *,
	    void (*stored)(void *arg, enum nds_object_kind, const char *where),
	    void *arg);

#endif /* ND_MANIFEST_H */
