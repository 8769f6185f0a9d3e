/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The status socket: where it lives (runtime_dir, root's alone, named by
 * the port), making it without touching anything by path that another
 * user could redirect, and the --status client. What it reports is the
 * receiver's (status_serve in receiver.c).
 */
#ifndef ND_STATUS_H
#define ND_STATUS_H

#include <stddef.h>

#include "conf.h"

/* The status socket's path for a configuration. */
void	nd_status_path(const struct nd_server_conf *, char *buf, size_t size);
/*
 * Make runtime_dir when it is missing and listen on the status socket;
 * path gets where it is. Returns the socket, or -1 with a message in err.
 */
int	nd_status_listen(const struct nd_server_conf *, char *path,
	    size_t size, char *err, size_t errlen);
/* netdump-server --status: print what the running daemon says. */
int	nd_status_query(const struct nd_server_conf *);

#endif /* ND_STATUS_H */
