/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Configuration: one ini file read with inih. Sections [server],
 * [sink NAME] and [route NAME]; key = value lines before any section belong
 * to [server], so an old Red Hat /etc/netdump.conf still reads.
 */
#ifndef ND_CONF_H
#define ND_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define ND_CONF_ERRSIZE		512

/* An IPv4 network; netdump is IPv4-only. Addresses in host byte order. */
struct nd_cidr {
	uint32_t	addr;
	uint32_t	mask;
	unsigned	prefix;
};

/* One key = value line of a [sink NAME] section, checked at sink load. */
struct nd_kv {
	char		*key;
	char		*value;
	int		 lineno;
};

struct nd_sink_conf {
	char		*name;		/* section name */
	char		*module;	/* module = ... (required) */
	struct nd_kv	*opts;		/* every other key, in file order */
	size_t		 nopts;
	int		 lineno;	/* of the section header */
};

/* Chains of one route, at most: a session keeps them in an array. */
#define ND_ROUTE_MAX_CHAINS	32

struct nd_route_conf {
	char		*name;
	char		*path;		/* fnmatch(3) glob on the HERALD path */
	bool		 has_client;
	struct nd_cidr	 client;
	char		*sink;		/* as written: "local" or "a, b" */
	char		**sinks;	/* split on ',' and trimmed */
	size_t		 nsinks;
	int		 lineno;
};

/*
 * A kernel resends an unanswered HERALD for about 12 s and then gives up
 * (debugnet_send in sys/net/debugnet.c: one send and nretries = 10 more
 * rounds of npolls = 2000 polls of 0.5 ms). The hooks a HERALD waits for
 * must answer well inside that, and the tick that enforces it runs once a
 * second: 8 s by default, never more than 10.
 */
#define ND_HERALD_HOOK_DEADLINE		8
#define ND_HERALD_HOOK_DEADLINE_MAX	10

/*
 * [server], filled by its rows (conf_server.c) as a module's config is:
 * strings, int64_t numbers within their rows' ranges, bools; the keys
 * with a syntax of their own (max_dump_size, min_free, allow, deny) have
 * the types they need.
 */
struct nd_server_conf {
	char		*address;		/* "0.0.0.0" */
	int64_t	 port;			/* 20023 */
	char		*dumpdir;		/* "/var/crash" */
	int64_t	 timeout;		/* seconds of silence, 60 */
	char		*sink_dir;		/* NULL: built-in search path */
	uint64_t	 max_dump_size;		/* bytes, 1 TiB */
	char		*default_path;		/* "." */
	int64_t	 max_concurrent_dumps;	/* 16 */
	int64_t	 worker_nice;		/* dump workers' nice above the
						 * receive path's, 19 */
	char		*pidfile;		/* NULL: none */
	bool		 daemon;		/* false */
	bool		 secure;		/* false; with no allow list, true
						 * refuses every client */
	int64_t	 grace;			/* seconds a closed dump still acks FINISHED, 30 */
	int64_t	 progress_interval;	/* seconds between progress lines,
						 * 30; 0: none */
	char		*scripts_dir;		/* NULL: <dumpdir>/scripts */
	int64_t	 hook_timeout;		/* seconds, 30 */
	int64_t	 herald_hook_deadline;	/* seconds a HERALD waits for
						 * netdump-crash/-nospace, 8 */
	char		*handler;		/* netdumpd's -i script, NULL */
	uint64_t	 min_free_bytes;	/* free-space floor, 0 */
	unsigned	 min_free_percent;	/* ... or as a percentage, 0 */
	struct nd_cidr	*allow;			/* who may dump (empty: all) */
	size_t		 nallow;
	struct nd_cidr	*deny;			/* who may not, checked first */
	size_t		 ndeny;
	char		*user;			/* drop root to this user */
	char		*status_socket;		/* NULL: <runtime_dir>/netdump-server.<port>.sock */
	char		*runtime_dir;		/* "/run/netdump-server" */
	int64_t	 restart_silence;	/* seconds a dump must be silent
						 * before its client's new HERALD
						 * restarts it, 10 */
	int64_t	 max_dumps_per_client;	/* dumps in flight per address, 2 */
	int64_t	 max_heralded_per_client; /* HERALD-only sessions per
						 * address, 4 */
	int64_t	 max_hooks;		/* hook processes at once, 16 */
	int64_t	 linux_port;		/* the Linux front-end; 0: off */
	int64_t	 console_log_size;	/* a console log rotates beyond */
	int64_t	 console_log_keep;	/* rotated console logs kept, 4 */
	char		*metrics;		/* "ADDRESS:PORT"; NULL: off */
	int		 digest;		/* enum nd_digest_alg, sha256 */
};

/* Whether a client may dump: deny first, then allow (secure: must match). */
bool	nd_conf_client_allowed(const struct nd_server_conf *, uint32_t addr);
/*
 * Deny first, then allow, without secure's "allow must list it": Linux
 * clients, which secure checks by their cookie (linux_dump.c) instead.
 */
bool	 nd_conf_client_listed(const struct nd_server_conf *, uint32_t addr);

/* What a [notify NAME] section sends a webhook for (events = ...). */
#define ND_EVENT_COMPLETE	0x1u
#define ND_EVENT_INCOMPLETE	0x2u
#define ND_EVENT_REFUSED	0x4u
#define ND_EVENT_NEW_SIGNATURE	0x8u

/* A [notify NAME] section: a webhook (core/notify.c). */
struct nd_notify_conf {
	char		*name;
	char		*url;		/* http:// or https:// */
	unsigned	 events;	/* ND_EVENT_*; complete incomplete */
	char		*token;		/* Authorization: Bearer, or NULL */
	char		*hmac_key;	/* X-Netdump-Signature, or NULL */
	int64_t		 timeout;	/* seconds per attempt, 10 */
	int64_t		 retries;	/* attempts after the first, 5 */
	int64_t		 refused_per_minute; /* refusals posted, 10 */
	int		 lineno;
};

struct nd_conf {
	char			*source;	/* file name, or "built-in" */
	struct nd_server_conf	 server;
	struct nd_sink_conf	*sinks;
	size_t			 nsinks;
	struct nd_route_conf	*routes;
	size_t			 nroutes;
	struct nd_notify_conf	*notifies;
	size_t			 nnotifies;
};

/*
 * Load a configuration. On error return NULL and put a message naming the
 * file and line into err ("FILE:LINE: unknown key 'x' in [server]").
 * After parsing, the result is checked: every route names defined sinks (or
 * a module name directly, which gets an implicit [sink MODULE] with
 * default options), at least one route exists (if none is given, a route
 * "default" with path "*" to the first sink is added; if there are no
 * sinks either, the built-in "local" file sink is added).
 */
struct nd_conf	*nd_conf_load_file(const char *path, char *err, size_t errlen);
struct nd_conf	*nd_conf_load_string(const char *text, const char *name,
		    char *err, size_t errlen);
/* The embedded default: local file sink, savecore layout, route "*". */
struct nd_conf	*nd_conf_default(char *err, size_t errlen);
void		 nd_conf_free(struct nd_conf *);

/* Print the effective configuration as an ini file that loads again. */
void		 nd_conf_print(const struct nd_conf *, FILE *);
/*
 * SIGHUP: whether what is bound or opened at start (address, ports,
 * directories, user, status socket, pid file, daemon mode, metrics)
 * differs in n from o, the running configuration; keep_bound copies it
 * from o into n (0, or -1 out of memory).
 */
bool		 nd_conf_server_bound_differs(const struct nd_server_conf *o,
		    const struct nd_server_conf *n);
struct sockaddr_in;
/* "127.0.0.1:9620" (metrics) as an IPv4 address and port: 0, or -1. */
int		 nd_conf_addr_port(const char *spec, struct sockaddr_in *);
/*
 * What one key cannot say about the others, once the command line has
 * had its say: 0, or -1 and why in err.
 */
int		 nd_conf_server_check(const struct nd_server_conf *,
		    const char *source, char *err, size_t errlen);
int		 nd_conf_server_keep_bound(struct nd_server_conf *n,
		    const struct nd_server_conf *o);
/* -p's check, default_path's: 0, or -1 and why in msg. */
int		 nd_conf_check_default_path(const char *, char *, size_t);
/*
 * The [server] keys for -H server: as text, like a module's options, or
 * (mdoc) as the entries of netdump-server.ini.5.
 */
void		 nd_conf_server_help(FILE *, bool mdoc);

/* First route whose path glob and client network match, or NULL. */
const struct nd_route_conf *nd_conf_route_match(const struct nd_conf *,
		    const char *herald_path, uint32_t client_addr);
const struct nd_sink_conf *nd_conf_sink_find(const struct nd_conf *,
		    const char *name);

/* "10.0.0.0/8", "192.0.2.7" (= /32). Returns 0 or -1. */
int		 nd_cidr_parse(const char *, struct nd_cidr *);
bool		 nd_cidr_match(const struct nd_cidr *, uint32_t addr);

/*
 * Value parsers (option.c), which the option rows use. Each returns 0, or -1
 * with a message in err ("expected a number of bytes, got 'x'").
 */
int	nd_parse_size(const char *, uint64_t *out, char *err, size_t errlen);
int	nd_parse_uint(const char *, uint64_t max, uint64_t *out, char *err,
	    size_t errlen);
int	nd_parse_bool(const char *, bool *out, char *err, size_t errlen);

#endif /* ND_CONF_H */
