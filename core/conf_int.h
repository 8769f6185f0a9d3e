/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What conf.c (the file reader, sinks, routes, checks) and conf_server.c
 * (the [server] section, printing) share; no other file includes it.
 */
#ifndef ND_CONF_INT_H
#define ND_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "log.h"

/* Longest line accepted, without its line terminator. */
#define ND_CONF_MAX_LINE	4096
/* Rows server_keys[] may have: the loader keeps a line number per row. */
#define ND_SERVER_OPTS_MAX	64

enum section_kind {
	SEC_SERVER,
	SEC_SINK,
	SEC_ROUTE,
	SEC_NOTIFY,
};

struct loader {
	const char		*name;		/* file name for messages */
	struct nd_conf		*conf;
	FILE			*fp;		/* input: a file ... */
	const char		*text;		/* ... or a string */
	int			 lineno;	/* of the line inih works on */

	enum section_kind	 kind;
	size_t			 cur;		/* sinks[] or routes[] index */
	int			 server_header;	/* line of [server], or 0 */
	int			 server_seen[ND_SERVER_OPTS_MAX];
						/* line, per row */
	int			 module_line;	/* in the current [sink] */
	int			 path_line;	/* in the current [route] */
	int			 client_line;
	int			*route_sink_line; /* per route, of "sink =" */
	int			 notify_line[7];	/* per key, current [notify] */

	bool			 failed;
	char			*err;
	size_t			 errlen;

	/* The current line as read, kept for messages about it. */
	char			 line[ND_CONF_MAX_LINE + 3];
	size_t			 linelen;	/* with the terminator */
	int			 textlen;	/* without */
};

/* conf.c */
void	failat(struct loader *, int, const char *, ...) ND_PRINTF(3, 4);
void	seterr(char *, size_t, const char *, ...) ND_PRINTF(3, 4);

static inline bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\f' || c == '\v';
}

/* conf_server.c */
/* A [server] key = value line. */
void	conf_server_key(struct loader *, const char *key, const char *value);
/* Every [server] row set to its default: 0, or -1 out of memory. */
int	conf_server_defaults(struct nd_server_conf *);
/* Free what the [server] rows point to. */
void	conf_server_clear(struct nd_server_conf *);

/* conf_notify.c: [notify NAME] sections. */
void	notify_begin(struct loader *, const char *name, int line);
void	notify_key(struct loader *, const char *key, const char *value);
int	notify_finish(struct loader *);
void	notify_conf_clear(struct nd_notify_conf *);
void	notify_print(const struct nd_conf *, FILE *);

#endif /* ND_CONF_INT_H */
