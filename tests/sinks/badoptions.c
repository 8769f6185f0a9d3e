/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A module whose option table points past its config struct: the loader
 * must refuse it before the host would write out of bounds filling it.
 * Built with BAD_ALIGNMENT (as "misaligned"), the field lies inside the
 * struct at an offset no int64_t has on any machine: the host would
 * write it misaligned.
 */
#include <stdint.h>

#include "netdump/sink.h"

struct bad_config {
	int64_t		 level;
#ifdef BAD_ALIGNMENT
	int64_t		 window;
#endif
};

static const struct nds_option bad_options[] = {
	{ "level", NDS_OPT_INT, 0, "1", NULL, 0, 9, "fits" },
#ifdef BAD_ALIGNMENT
	{ "window", NDS_OPT_INT, 2, "4", NULL, 0, 9, "misaligned" },
#else
	{ "window", NDS_OPT_INT, sizeof(struct bad_config), "4", NULL, 0, 9,
	    "one field past the end" },
#endif
	{ .name = NULL },
};

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
#ifdef BAD_ALIGNMENT
	.name = "misaligned",
#else
	.name = "badoptions",
#endif
	.version = "0",
	.description = "an option outside the config struct (test only)",
	.options = bad_options,
	.config_size = sizeof(struct bad_config),
};
