/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Hook scripts (Red Hat's netdump-server) and netdumpd's handler: run from
 * scripts_dir only if present, executable and owned by us or root; fixed
 * argv, a clean environment, cwd = the dump directory, a time limit, never
 * through a shell.
 */
#ifndef ND_HOOKS_H
#define ND_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

#include <stdatomic.h>

/* Hook starts refused because max_hooks were running. */
extern atomic_uint_fast64_t nd_hooks_refused;
/* Lines about hooks a HERALD started that were not logged (nd_hook_say). */
extern atomic_uint_fast64_t nd_hook_lines_quiet;

enum nd_hook {
	ND_HOOK_CRASH,		/* netdump-crash IP DIR: may veto a dump */
	ND_HOOK_NOSPACE,	/* netdump-nospace IP DIR */
	ND_HOOK_REBOOT,		/* netdump-reboot IP DIR: the dump is over */
	ND_HOOK_START,		/* netdump-start IP */
	ND_HOOK_HANDLER,	/* netdumpd -i: REASON IP HOST INFO CORE */
};

/* A started hook. */
struct nd_hook_proc {
	enum nd_hook	 hook;
	pid_t		 pid;
	int		 pidfd;		/* readable when it exits */
	char		 path[1024];
	bool		 herald;	/* started for a HERALD, which anyone
					 * can send: its lines nd_hook_say's */
};

/*
 * Whether a line about a hook may be logged: always, but for the hooks a
 * HERALD starts (anyone can send HERALDs, from any address), the first
 * ND_HOOK_LINES in each TALLY_EVERY seconds; the rest are counted in
 * nd_hook_lines_quiet, which the tally reports. From any thread.
 */
#define ND_HOOK_LINES	20
bool	nd_hook_say(bool herald);

/* The script's path, or NULL when this hook is not configured. */
const char *nd_hook_path(const struct nd_server_conf *, enum nd_hook,
	    char *buf, size_t size);
/*
 * Start a hook with argv[1..] = args and extra NAME=value environment
 * strings. Returns 1 when started, 0 when the script is absent or not fit
 * to run (logged), -1 on error (logged), -2 when max_hooks hooks are
 * running already (counted in nd_hooks_refused, not logged).
 */
int	nd_hook_start(const struct nd_server_conf *, enum nd_hook,
	    const char *const args[], const char *const env[],
	    struct nd_hook_proc *, bool herald);
/* The same for a dump worker: not held to max_hooks (see nd_hook_run). */
int	nd_hook_start_worker(const struct nd_server_conf *, enum nd_hook,
	    const char *const args[], const char *const env[],
	    struct nd_hook_proc *);
/*
 * Wait at most timeout_ms (0: just look) for a started hook to exit:
 * ND_HOOK_RUNNING if it still runs, else what nd_hook_reap returns (-1
 * for a hook not running). A reaped or killed hook's pid is 0.
 */
#define ND_HOOK_RUNNING	(-3)
int	nd_hook_wait(struct nd_hook_proc *, int timeout_ms);
/*
 * Collect an exited hook: its exit status (0..255), or -1 if it died of a
 * signal. Logs the outcome.
 */
int	nd_hook_reap(struct nd_hook_proc *);
/* Kill a hook (its process group) and reap it; why goes in the log line. */
void	nd_hook_kill(struct nd_hook_proc *, const char *why);
/*
 * Run a hook to completion, at most hook_timeout seconds (for the dump
 * workers; not held to max_hooks, though counted in it). Returns the exit
 * status, -1 if it died or was killed, or -2 when the hook is absent.
 */
int	nd_hook_run(const struct nd_server_conf *, enum nd_hook,
	    const char *const args[], const char *const env[]);
const char *nd_hook_name(enum nd_hook);

#endif /* ND_HOOKS_H */
