/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A module whose option table points past its config struct: the loader
 * must refuse it before the host would write out of bounds filling it.
 */
#include <stdint.h>

#include "netdump/sink.h"

struct bad_config {
	int64_t		 level;
};

static const struct nds_option bad_options[] = {
	{ "level", NDS_OPT_INT, 0, "1", NULL, 0, 9, "fits" },
	{ "window", NDS_OPT_INT, sizeof(struct bad_config), "4", NULL, 0, 9,
	    "one field past the end" },
	{ .name = NULL },
};

NDS_EXPORT const struct nds_sink_module nds_sink_module = {
	NDS_SINK_MODULE_HEADER,
	.name = "badoptions",
	.version = "0",
	.description = "an option outside the config struct (test only)",
	.options = bad_options,
	.config_size = sizeof(struct bad_config),
};
