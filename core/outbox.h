/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The durable outbox: a sink instance's work that must outlive an outage
 * of its store and a restart of the server. The module keeps an entry's
 * files in a folder under the outbox's root; the host keeps the entry's
 * record ("pending") for good, finds the entries again (a previous run's
 * too) and calls the module's resume for each from a thread of its own,
 * with backoff, until the module says the entry is done.
 */
#ifndef ND_OUTBOX_H
#define ND_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netdump/sink.h"

struct nd_outbox;

/* What the outbox calls for each entry (nds_sink_module.resume). */
typedef enum nds_result (*nd_resume_fn)(void *instance, const char *entry,
    int entry_dirfd, const struct nds_field *fields, size_t nfields,
    char err[NDS_ERRBUF_SIZE]);

/*
 * An outbox on root (an absolute path to a folder that exists), tried
 * again from retry_ms, doubling, up to retry_max_ms; its log lines start
 * with prefix. No thread yet. NULL and why in err.
 */
struct nd_outbox *nd_outbox_open(const char *root, uint64_t retry_ms,
		    uint64_t retry_max_ms, const char *prefix, char *err,
		    size_t errlen);
/* Who takes the entries up: from before nd_outbox_start on. */
void		 nd_outbox_bind(struct nd_outbox *, nd_resume_fn resume,
		    void *instance);
/*
 * Start the thread (all signals blocked); once, in the daemon. 0, or an
 * errno value.
 */
int		 nd_outbox_start(struct nd_outbox *);
/* Stop and join the thread, if it runs, and free everything. */
void		 nd_outbox_free(struct nd_outbox *);
/*
 * From now on, an outbox freed removes the folders its open made (if
 * they are empty): --check-config leaves nothing behind.
 */
void		 nd_outbox_check_only(void);

/*
 * Write entry's record (nfields fields, in the format of record.h) for
 * good and make the entry due; nfields 0: the entry is done (record and
 * "lock" removed, the folder too if empty). 0, or -1 and why in err.
 */
int		 nd_outbox_put(struct nd_outbox *, const char *entry,
		    const struct nds_field *fields, size_t nfields, char *err,
		    size_t errlen);
/* Every entry is due now. */
void		 nd_outbox_kick(struct nd_outbox *);
/* Whether the outbox is being stopped. */
bool		 nd_outbox_stopping(const struct nd_outbox *);

/*
 * One round of the thread's work, on the caller's thread: look at root
 * when a look is due, then take up every entry that is due. For the
 * tests, which drive the outbox without its thread.
 */
void		 nd_outbox_visit(struct nd_outbox *);
/*
 * For the tests: milliseconds until entry is due (0: now), -1 when the
 * outbox does not know it, INT64_MAX when it gave up on it.
 */
int64_t		 nd_outbox_due_in(struct nd_outbox *, const char *entry);

#endif /* ND_OUTBOX_H */
