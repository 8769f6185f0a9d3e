/* SPDX-License-Identifier: BSD-2-Clause */
/* The control for bad_log_format.c: the same call, correct, compiles. */
#include "netdump/sink.h"

void	sink_logs_well(const struct nds_host *, struct nds_host_ctx *);

void
sink_logs_well(const struct nds_host *host, struct nds_host_ctx *ctx)
{
	host->log(ctx, NDS_LOG_INFO, "%d parts", 3);
}
