/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A module built for a future ABI major: the loader must refuse it before
 * it reads past the version fields.
 */
#include "netdump/sink.h"

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	.abi_major = NDS_ABI_MAJOR + 1,
	.abi_minor = 0,
	.struct_size = sizeof(struct nds_sink_module),
	.name = "mismatch",
	.version = "0",
	.description = "a module built for another ABI major (test only)",
};
