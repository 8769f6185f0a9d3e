/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux netdump front-end (Red Hat's protocol), for the Linux port
 * only: a crashed client's announcement is admitted as a HERALD is, then
 * the server drives the session (handshake, page size, page count,
 * registers, every page with a window of requests, the console's task
 * list, reboot) and the pages go to the sinks as an ELF core, through
 * the same dump machinery as a FreeBSD dump. See linux_dump.c.
 */
#ifndef ND_LINUX_DUMP_H
#define ND_LINUX_DUMP_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "linux_wire.h"

struct nd_console;
struct nd_lx;
struct nd_receiver;

/* fd: the Linux port's socket; console: its console (borrowed). */
struct nd_lx	*nd_lx_new(int fd, struct nd_console *console);
struct nd_status_flight;
/* The dumps in flight, for --status (out NULL: only counted). */
size_t		 nd_lx_flights(const struct nd_lx *, struct nd_status_flight *,
		    size_t max);
/* Shutdown: every dump in progress ends, incomplete. */
void		 nd_lx_stop(struct nd_lx *);
void		 nd_lx_free(struct nd_lx *);
/* A netdump reply other than console text, from a listed client. */
void		 nd_lx_reply(struct nd_lx *, struct nd_receiver *,
		    const struct sockaddr_in *, const struct lx_reply *);
/* Console text came from this client (SHOW_STATE waits while it does). */
void		 nd_lx_console_seen(struct nd_lx *, uint32_t addr);
/* Admission said yes to the client's announcement ... */
void		 nd_lx_admit(struct nd_lx *, struct nd_receiver *,
		    const struct sockaddr_in *, const char *path);
/* ... or no: it is rebooted without its memory. */
void		 nd_lx_refused(struct nd_lx *, struct nd_receiver *,
		    const struct sockaddr_in *);
/* The retransmission clock; now in CLOCK_MONOTONIC milliseconds. */
void		 nd_lx_timer(struct nd_lx *, struct nd_receiver *,
		    uint64_t now);
/* Once a second: silent clients, ended sessions, the counter lines. */
void		 nd_lx_tick(struct nd_lx *, struct nd_receiver *, time_t mono);
/* Whether the client (network order) has a session, or had one lately. */
bool		 nd_lx_knows(const struct nd_lx *, uint32_t addr);
/* Whether a session needs the retransmission clock. */
bool		 nd_lx_running(const struct nd_lx *);

#endif /* ND_LINUX_DUMP_H */
