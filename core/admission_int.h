/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the two halves of admission share: admission.c judges HERALDs
 * against sessions, refusals and limits and starts sessions;
 * admission_hooks.c takes an admitted HERALD through free space and the
 * hooks that may veto it. Private to the two.
 */
#ifndef ND_ADMISSION_INT_H
#define ND_ADMISSION_INT_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hooks.h"
#include "proto.h"
#include "receiver_int.h"

/*
 * A HERALD waiting for a hook: netdump-crash decides whether the dump may
 * start, netdump-nospace whether to look at the free space once more;
 * netdump-start only needs reaping. The client retransmits its HERALD
 * every second meanwhile; those are ignored.
 */
struct pending {
	enum ev_kind		 kind;		/* EV_HOOK */
	struct pending		*next;
	struct nd_hook_proc	 proc;
	struct sockaddr_in	 client;
	struct in_addr		 local;
	uint32_t		 seqno;
	char			 path[ND_MAX_HERALD_PATH + 1];
	time_t			 started;
	uint64_t		 herald_ms;	/* when the HERALD came (now_ms) */
	bool			 late;		/* its answer no longer counts */
	bool			 dead;
	bool			 linux_client;	/* a START, not a HERALD */
	bool			 notice;	/* a crash seen on a console:
						 * nothing waits for it */
};

/* The steps of adm_herald_admit already taken for a HERALD. */
#define ADMIT_SPACE_ASKED	0x1	/* netdump-nospace had its one say */
#define ADMIT_CRASH_DONE	0x2	/* netdump-crash said yes, or is late */
#define ADMIT_LINUX		0x4	/* a Linux client's START */

/* admission_hooks.c */
/* The hook a HERALD from this client waits for (or, late, waited for). */
struct pending *adm_pending_find(struct nd_receiver *,
	    const struct sockaddr_in *, bool late);
/* Start a hook; see admission_hooks.c for what it returns. */
int	adm_pending_start(struct nd_receiver *, enum nd_hook,
	    const struct sockaddr_in *, struct in_addr, const char *path,
	    uint32_t seqno, uint64_t herald_ms, bool herald);
/* Free space, then netdump-crash; done holds the ADMIT_ steps taken. */
void	adm_herald_admit(struct nd_receiver *, const struct sockaddr_in *,
	    struct in_addr, const char *path, uint32_t seqno,
	    uint64_t herald_ms, unsigned done);

/* admission.c */
bool	adm_route_ok(struct nd_receiver *, const struct sockaddr_in *,
	    const char *path);
/* reason: netdump_refusals_total's label (a literal); why: the webhook's. */
void	adm_refuse_dump(struct nd_receiver *, const struct sockaddr_in *,
	    const char *path,
	    bool linux_client, const char *reason, const char *why);
void	adm_session_start(struct nd_receiver *, const struct sockaddr_in *,
	    struct in_addr, const char *path, uint32_t seqno);

#endif /* ND_ADMISSION_INT_H */
