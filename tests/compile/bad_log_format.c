/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Must NOT compile with -Wformat -Werror: the host's log pointer carries a
 * printf format attribute, so a sink passing a string for %d is caught at
 * build time (tests/CMakeLists.txt expects this build to fail).
 */
#include "netdump/sink.h"

void	sink_logs_badly(const struct nds_host *, struct nds_host_ctx *);

void
sink_logs_badly(const struct nds_host *host, struct nds_host_ctx *ctx)
{
	host->log(ctx, NDS_LOG_INFO, "%d parts", "three");
}
