/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux port ([server] linux_port): Linux clients' console text into
 * per-client logs (core/console.c); see linux_port.c.
 */
#ifndef ND_LINUX_PORT_H
#define ND_LINUX_PORT_H

#include <stddef.h>
#include <time.h>

#include "conf.h"

struct nd_linux_port;

/* Bound at start, before privileges are dropped; NULL and err if not. */
struct nd_linux_port *nd_linux_port_open(const struct nd_server_conf *,
		    int dumpdir_fd, char *err, size_t errlen);
int		 nd_linux_port_fd(const struct nd_linux_port *);
/* The socket is readable: read what waits (sv: allow/deny now). */
void		 nd_linux_port_readable(struct nd_linux_port *,
		    const struct nd_server_conf *sv);
/* Once a second; mono is CLOCK_MONOTONIC seconds. */
void		 nd_linux_port_tick(struct nd_linux_port *,
		    const struct nd_server_conf *, time_t mono);
void		 nd_linux_port_close(struct nd_linux_port *);

#endif /* ND_LINUX_PORT_H */
