/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Webhooks ([notify NAME] sections): a JSON POST through libcurl when a
 * dump ends (complete, incomplete), when one is refused, and when a dump
 * brings a panic signature not seen before (new-signature). One thread
 * sends them from a bounded queue with retries, so a slow or dead
 * endpoint never slows a dump: past the bound, the oldest event goes.
 * Stopping abandons a POST in progress.
 */
#ifndef ND_NOTIFY_H
#define ND_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct nd_dump;
struct nd_conf;

/*
 * Start the sending thread (after the fork). new-signature means new to
 * the dump directory (sigseen.h). -1 on failure.
 */
int	nd_notify_start(void);
/* Whether the thread runs: it starts only with [notify] sections at start. */
bool	nd_notify_running(void);
/* Stop the thread; events still queued are dropped (logged). */
void	nd_notify_stop(void);
/* A dump has been stored and its manifest written (its worker). */
void	nd_notify_dump_ended(const struct nd_dump *);
/* A dump was refused (a hook said no, no room), by the receive thread. */
void	nd_notify_refused(const struct nd_conf *, const char *client,
	    const char *reason);

#endif /* ND_NOTIFY_H */
