/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux port ([server] linux_port): Linux clients' console text into
 * per-client logs (core/console.c) and their crash dumps
 * (core/linux_dump.c); see linux_port.c.
 */
#ifndef ND_LINUX_PORT_H
#define ND_LINUX_PORT_H

#include <netinet/in.h>

#include <stddef.h>
#include <time.h>

#include "conf.h"

struct nd_linux_port;
struct nd_receiver;

/*
 * Console clients tracked at once, each with its log open: descriptors
 * the server keeps back for them.
 */
#define ND_CONSOLE_CLIENTS	256

/* Bound at start, before privileges are dropped; NULL and err if not. */
struct nd_linux_port *nd_linux_port_open(const struct nd_server_conf *,
		    int dumpdir_fd, char *err, size_t errlen);
/*
 * Watch the socket and the retransmission timer in ep; their epoll tags
 * point at an enum ev_kind EV_LINUX, for nd_linux_port_event.
 */
int		 nd_linux_port_watch(struct nd_linux_port *, int ep);
void		 nd_linux_port_event(struct nd_receiver *, void *tag);
/* Admission said yes to a Linux client's crash (admission_hooks.c) ... */
void		 nd_linux_port_admit(struct nd_receiver *,
		    const struct sockaddr_in *, const char *path);
/* ... or no: the client is rebooted without its dump. */
void		 nd_linux_port_refused(struct nd_receiver *,
		    const struct sockaddr_in *);
/* Once a second; mono is CLOCK_MONOTONIC seconds. */
void		 nd_linux_port_tick(struct nd_linux_port *,
		    struct nd_receiver *, time_t mono);
struct nd_status_flight;
/* The dumps in flight into out (at most max; out NULL: only counted). */
size_t		 nd_linux_port_flights(const struct nd_linux_port *,
		    struct nd_status_flight *out, size_t max);
/* Shutdown: the dumps in progress end (incomplete). */
void		 nd_linux_port_stop(struct nd_linux_port *);
void		 nd_linux_port_close(struct nd_linux_port *);

#endif /* ND_LINUX_PORT_H */
