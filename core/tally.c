/* SPDX-License-Identifier: BSD-2-Clause */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "tally.h"

/* For the metrics' reason label. */
/* netdump_refusals_total's reason; NULL: not a refusal. */
static const char *const tally_reasons[TALLY_NKINDS] = {
	[TALLY_NOT_ALLOWED] = "not_allowed",
	[TALLY_OTHER_PORT] = "other_port",
	[TALLY_ALIVE] = "dump_alive",
	[TALLY_WAITING] = "session_waiting",
	[TALLY_NO_ROUTE] = "no_route",
	[TALLY_NO_SINK] = "no_sink",
	[TALLY_CLIENT_DUMPS] = "max_dumps_per_client",
	[TALLY_CLIENT_HERALDED] = "max_heralded_per_client",
	[TALLY_FDS] = "descriptors",
	[TALLY_SOCKET] = "session_socket",
};

static const char *const tally_names[TALLY_NKINDS] = {
	[TALLY_NOT_ALLOWED] = "HERALDs not answered: client not allowed "
	    "(allow, deny, secure)",
	[TALLY_OTHER_PORT] = "HERALDs not answered: from another port of a "
	    "client that is dumping (a kernel heralds from 20024 only)",
	[TALLY_ALIVE] = "HERALDs not answered: the client's dump is alive "
	    "(restart_silence not reached: spoofed, or an early restart)",
	[TALLY_WAITING] = "HERALDs not answered: another HERALD of the "
	    "client's address and port waits for its data",
	[TALLY_NO_ROUTE] = "HERALDs not answered: no route matches the path",
	[TALLY_NO_SINK] = "HERALDs not answered: the route has no working "
	    "sink",
	[TALLY_PATH] = "HERALD paths refused (unsafe); the default path was "
	    "used",
	[TALLY_CLIENT_DUMPS] = "HERALDs not answered: the client has "
	    "max_dumps_per_client dumps in flight",
	[TALLY_CLIENT_DUMPS_WAIT] = "first data held off: the client has "
	    "max_dumps_per_client dumps in flight",
	[TALLY_CLIENT_HERALDED] = "HERALDs not answered: the client has "
	    "max_heralded_per_client sessions waiting for data",
	[TALLY_HOOKS] = "hooks not started: max_hooks are running",
	[TALLY_FDS] = "HERALDs not answered: no file descriptor left in the "
	    "session budget",
	[TALLY_RECLAIMED] = "ended sessions closed early to free a file "
	    "descriptor (a repeated FINISHED gets no answer)",
	[TALLY_SOCKET] = "HERALDs not answered: no session socket could be "
	    "opened for the client (an address that cannot be answered, "
	    "such as a broadcast one, or no descriptor left)",
};

static time_t
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
nd_tally(struct tallies *t, enum tally kind, const struct sockaddr_in *from,
    const char *fmt, ...)
{
	time_t now = now_sec();
	va_list ap;
	char line[512];

	t->n[kind]++;
	if (tally_reasons[kind] != NULL)
		nd_metrics_refused(tally_reasons[kind], 1);
	if (from != NULL)
		inet_ntop(AF_INET, &from->sin_addr, t->last[kind],
		    sizeof(t->last[kind]));
	/* The first since the last line opens a new interval. */
	if (now - t->since[kind] >= TALLY_EVERY && t->n[kind] - 1 ==
	    t->logged[kind]) {
		t->since[kind] = now;
		t->lines[kind] = 0;
	}
	if (t->lines[kind] >= TALLY_LINES)
		return;
	t->lines[kind]++;
	t->logged[kind] = t->n[kind];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warnx("%s", line);
}

void
nd_tally_log(struct tallies *t, time_t now)
{
	uint64_t hooks = atomic_load(&nd_hooks_refused);
	uint64_t quiet = atomic_load(&nd_hook_lines_quiet);
	int k;

	if (quiet != t->hook_lines_seen &&
	    now - t->hook_lines_since >= TALLY_EVERY) {
		log_warnx("%" PRIu64 " more lines about hooks run for HERALDs "
		    "not logged in the last %d s (%d a time are; %" PRIu64
		    " in all)", quiet - t->hook_lines_seen, TALLY_EVERY,
		    ND_HOOK_LINES, quiet);
		t->hook_lines_seen = quiet;
		t->hook_lines_since = now;
	}

	/* Hooks are refused in hooks.c, from any thread: counted here. */
	if (hooks != t->hooks_seen) {
		t->n[TALLY_HOOKS] += hooks - t->hooks_seen;
		t->hooks_seen = hooks;
	}
	for (k = 0; k < TALLY_NKINDS; k++) {
		if (t->n[k] == t->logged[k] || now - t->since[k] < TALLY_EVERY)
			continue;
		log_warnx("%" PRIu64 " more %s in the last %d s (%" PRIu64
		    " in all; the last from %s)", t->n[k] - t->logged[k],
		    tally_names[k], TALLY_EVERY, t->n[k],
		    t->last[k][0] ? t->last[k] : "a worker");
		t->logged[k] = t->n[k];
		t->since[k] = now;
		t->lines[k] = 0;
	}
}
