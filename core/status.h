/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The status socket: where it lives (runtime_dir, root's alone, named by
 * the port), making it without touching anything by path that another
 * user could redirect, what it reports (the dumps in flight, as the
 * receiver sees them, and the recent outcomes kept here), and the
 * --status client.
 */
#ifndef ND_STATUS_H
#define ND_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"

/* A finished dump, for the status command. */
struct nd_outcome {
	uint64_t	 id;
	char		 client[16];
	char		 path[64];
	char		 status[16];
	char		 reason[96];
	char		 where[160];
	uint64_t	 bytes;
	double		 seconds;
	time_t		 ended;		/* CLOCK_REALTIME */
};

#define ND_RECENT	16
/* Keep a finished dump's outcome; the oldest of ND_RECENT goes. */
void	nd_outcome_record(const struct nd_outcome *);

/* A dump in flight, as the receiver reports it. */
struct nd_status_flight {
	uint64_t	 id;
	char		 client[32];	/* "address:port" */
	const char	*path;
	uint64_t	 bytes;		/* received so far */
	double		 age;		/* seconds */
};

/*
 * Answer one connection on the status socket with the report; a client
 * that does not read loses it. places: the dumps holding a place of
 * max_concurrent_dumps, those being received (nflight) and those being
 * stored or running their end hooks.
 */
void	nd_status_serve(int listen_fd, const struct nd_conf *, time_t up,
	    const struct nd_status_flight *, size_t nflight, size_t places);

/* The status socket's path for a configuration. */
void	nd_status_path(const struct nd_server_conf *, char *buf, size_t size);
/*
 * Make runtime_dir when it is missing and listen on the status socket;
 * path gets where it is. Returns the socket, or -1 with a message in err.
 */
int	nd_status_listen(const struct nd_server_conf *, char *path,
	    size_t size, char *err, size_t errlen);
/* netdump-server --status: print what the running daemon says. */
int	nd_status_query(const struct nd_server_conf *);

#endif /* ND_STATUS_H */
