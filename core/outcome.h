/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A dump's outcome, decided on its worker once the receive side is done:
 * the verdict (complete or why not), the digests, the vmcore closed on
 * every chain, the key, info, message buffer and manifest stored, the
 * chains ended, one log line, and the hooks that run at the end.
 */
#ifndef ND_OUTCOME_H
#define ND_OUTCOME_H

struct nd_dump;

/* The key, as soon as the receive thread published it whole. */
void	nd_outcome_key_early(struct nd_dump *);
/* Judge, store what is left, end the chains and log the outcome. */
void	nd_outcome_store(struct nd_dump *);
/* netdump-reboot (whatever the outcome) and netdumpd's handler. */
void	nd_outcome_hooks(struct nd_dump *);

#endif /* ND_OUTCOME_H */
