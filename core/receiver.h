/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The receive thread: the herald socket, one connected socket per client
 * session, acks, timeouts (receiver.c), and which HERALD gets a session
 * and which session a dump (admission.c). It never blocks on a sink.
 */
#ifndef ND_RECEIVER_H
#define ND_RECEIVER_H

#include "runtime.h"

struct nd_receiver;

/*
 * Bind the herald socket and the status socket; NULL with a message in
 * err. The receiver takes the caller's reference to rt; reload is called
 * on SIGHUP.
 */
struct nd_receiver *nd_receiver_create(struct nd_runtime *rt, int dumpdir_fd,
		    nd_reload_fn reload, void *reload_arg, char *err,
		    size_t errlen);
/* Serve until SIGTERM or SIGINT (blocked by the caller); returns 0. */
int		 nd_receiver_run(struct nd_receiver *);
void		 nd_receiver_free(struct nd_receiver *);

#endif /* ND_RECEIVER_H */
