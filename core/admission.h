/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Admission, for the receive thread (receiver.c) only: which HERALD gets a
 * session and an answer, and which session gets a dump. It owns the herald
 * socket's reading, the refusals, the hooks that run at HERALD time and the
 * caps on waiting sessions, descriptors and dumps per client.
 */
#ifndef ND_ADMISSION_H
#define ND_ADMISSION_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "proto.h"

/*
 * Sessions waiting for their first data. A flood of HERALDs from many
 * addresses cannot be told from kernels; past this the oldest goes once
 * older than HERALD_KEEP_MS, so the room lets in MAX_HERALDED per
 * HERALD_KEEP_MS (8192 a second) before a HERALD goes unanswered.
 */
#define MAX_HERALDED	4096
/* A session waiting for its first data is safe from eviction this long. */
#define HERALD_KEEP_MS	500

/* Clients refused for a while (a veto, no space), and log rate limits. */
#define REFUSALS	256
struct refusal {
	uint32_t		 addr;		/* network order */
	uint16_t		 port;
	uint64_t		 path_key;	/* path_key() of its path */
	time_t			 until;
};

/*
 * HERALDs remembered while every hook place is taken, so that the
 * deadline counts from the first of a client's resends (each comes with
 * its own clock); a flood pushes out the oldest.
 */
#define HOOK_WAITS	64

struct nd_receiver;
struct pending;
struct session;

/* The herald socket is readable: judge each HERALD waiting in it. */
void	adm_herald_readable(struct nd_receiver *);
/*
 * Keep a HERALD that reached a session socket for adm_herald_deferred();
 * false when it cannot be kept.
 */
bool	adm_herald_keep(struct session *, const struct nd_msg *);
/* Judge the HERALD a session kept, as if at the herald port; may bury it. */
void	adm_herald_deferred(struct nd_receiver *, struct session *);
/* The first data of a HERALDED session: start its dump if the caps allow. */
bool	adm_dump_begin(struct nd_receiver *, struct session *);
/*
 * A Linux client's crash announcement: judged as a HERALD is (limits,
 * route, netdump-nospace, netdump-crash); nd_linux_port_admit when all
 * say yes, at once or when a hook answers, nd_linux_port_refused when one
 * says no. starting: Linux sessions whose client answered HELLO and that
 * have no dump yet, which count against max_concurrent_dumps.
 */
void	adm_linux_start(struct nd_receiver *, const struct sockaddr_in *,
	    const char *path, unsigned starting);
/*
 * A Linux client's console showed a crash, and no dump came: netdump-crash
 * runs with the client's boot directory (relative to the dump directory)
 * as a notice; nothing waits for its answer.
 */
void	adm_crash_notice(struct nd_receiver *, const struct sockaddr_in *,
	    const char *dir);
/* A Linux dump began taking memory: netdump-start, beside it. */
void	adm_start_notice(struct nd_receiver *, const struct sockaddr_in *,
	    const char *path);
struct nd_chain;
/* The working chains of the route for path and client; 0 when none. */
size_t	adm_route_chains(struct nd_receiver *, const char *path,
	    const struct sockaddr_in *, struct nd_chain **, size_t max,
	    const char **route_name);
/* A hook's pidfd is readable: the hook exited. */
void	adm_hook_exited(struct nd_receiver *, struct pending *);
/* Once a second: hooks past hook_timeout, HERALDs past their deadline. */
void	adm_tick(struct nd_receiver *, time_t now);
/* Free the hooks' records buried in an event batch, once it is over. */
void	adm_reap(struct nd_receiver *);
/* At the end: kill the hooks still running, free every record. */
void	adm_free(struct nd_receiver *);

#endif /* ND_ADMISSION_H */
