/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The [server] section: one row per key, of the same struct nds_option a
 * module declares its options with, read, checked, defaulted and
 * documented by the same code (option.c); the few rules a row cannot say
 * (an alias, a check, a key with a syntax of its own); the key handler;
 * CIDR lists; and the printing of a whole configuration.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <pwd.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf_int.h"
#include "digest.h"
#include "log.h"
#include "option.h"
#include "util.h"

/*
 * A [server] key: its public row, which option.c fills into struct
 * nd_server_conf, checks and documents as it does a module's, and what
 * only [server] has. A key with a parse() has a syntax of its own (a
 * list, "10%", a size beyond int64_t): parse() and print() do it all,
 * and the row only documents it.
 */
struct server_key {
	struct nds_option	 row;
	const char		*alias;		/* older spelling, or NULL */
	const char		*value_name;	/* for the man page */
	bool			 empty_unset;	/* string: "" means NULL */
	int			(*check)(const char *, char *, size_t);
	int			(*parse)(struct nd_server_conf *, const char *,
				    char *, size_t);
	void			(*print)(const struct nd_server_conf *,
				    const char *, FILE *);
};

#define SV(f)		offsetof(struct nd_server_conf, f)
#define ND_XSTR(x)	#x
#define ND_STR(x)	ND_XSTR(x)
/* A key with a parse(): no field of the row's type to fill. */
#define SV_PARSED	0

static int	check_address(const char *, char *, size_t);
static int	check_dumpdir(const char *, char *, size_t);
static int	check_user(const char *, char *, size_t);
static int	check_socket_path(const char *, char *, size_t);
static int	check_metrics(const char *, char *, size_t);
static int	check_default_path(const char *, char *, size_t);
static int	parse_max_dump_size(struct nd_server_conf *, const char *,
		    char *, size_t);
static int	parse_min_free(struct nd_server_conf *, const char *, char *,
		    size_t);
static int	parse_allow(struct nd_server_conf *, const char *, char *,
		    size_t);
static int	parse_deny(struct nd_server_conf *, const char *, char *,
		    size_t);
static void	print_max_dump_size(const struct nd_server_conf *,
		    const char *, FILE *);
static void	print_min_free(const struct nd_server_conf *, const char *,
		    FILE *);
static void	print_allow(const struct nd_server_conf *, const char *,
		    FILE *);
static void	print_deny(const struct nd_server_conf *, const char *,
		    FILE *);

/*
 * The [server] keys. Each row is { name, type, field, default, choices,
 * min, max, description }, the description written for the man page
 * (netdump-server -H server --mdoc prints the entries of
 * netdump-server.ini.5 from it). Keys are matched case-insensitively
 * because Red Hat's /etc/netdump.conf was read that way; the aliases are
 * its spellings (addr, dumpdirprefix of the FreeBSD port) and the
 * --concurrent flag. --check-config prints in this order.
 */
static const struct server_key server_keys[] = {
	{ .row = { "address", NDS_OPT_STRING, SV(address), "0.0.0.0", NULL,
	    0, 0,
	    "The address to listen on; 0.0.0.0 is every address of the "
	    "host." },
	  .alias = "addr", .value_name = "IPv4 address",
	  .check = check_address },
	{ .row = { "port", NDS_OPT_INT, SV(port), "20023", NULL, 1, 65535,
	    "The UDP port for HERALD messages." } },
	{ .row = { "dumpdir", NDS_OPT_STRING, SV(dumpdir), "/var/crash",
	    NULL, 0, 0,
	    "The directory all dumps go beneath. It is created with mode 0700 "
	    "if it does not exist, and must be writable by the user the "
	    "server runs as." },
	  .alias = "dumpdirprefix", .value_name = "directory",
	  .check = check_dumpdir },
	{ .row = { "timeout", NDS_OPT_INT, SV(timeout), "60", NULL, 1, 86400,
	    "A dump whose client has sent nothing for this long is closed "
	    "and stored as incomplete, and a client that sent a HERALD and "
	    "nothing else is forgotten. While a dump's sinks have no buffer "
	    "free, the server does not read its client, and counts no "
	    "silence until it reads again." },
	  .value_name = "seconds" },
	{ .row = { "sink_dir", NDS_OPT_STRING, SV(sink_dir), NULL, NULL, 0, 0,
	    "Where the sink modules are. When set, modules are looked for in "
	    "this directory only." },
	  .value_name = "directory", .empty_unset = true },
	{ .row = { "max_dump_size", NDS_OPT_SIZE, SV_PARSED, "1T", NULL, 0, 0,
	    "The largest dump accepted, more than 0. Data beyond it is not "
	    "acknowledged, so the client gives up and the dump is stored as "
	    "incomplete." },
	  .parse = parse_max_dump_size, .print = print_max_dump_size },
	{ .row = { "default_path", NDS_OPT_STRING, SV(default_path), ".",
	    NULL, 0, 0,
	    "The path used for a client whose HERALD carries no path, or a "
	    "path the server refuses. It is relative to the dump directory "
	    "(. is the dump directory itself) and must not contain '..'. "
	    "Routes match it like a path the client sent." },
	  .value_name = "path", .check = check_default_path },
	{ .row = { "max_concurrent_dumps", NDS_OPT_INT,
	    SV(max_concurrent_dumps), "16", NULL, 1, 65535,
	    "How many dumps may be received or stored at the same time." },
	  .alias = "concurrent" },
	{ .row = { "digest", NDS_OPT_ENUM, SV(digest), "sha256",
	    ND_DIGEST_CHOICES, 0, 0,
	    "The digest the manifest gives of each object, under the name of "
	    "the algorithm: sha256 (what sha256sum prints) or xxh128 (what "
	    "xxhsum -H2 prints). SHA-256 costs about 0.56 s of CPU per GB on "
	    "a core with SHA instructions, XXH128 a twentieth of that; a "
	    "dump's vmcore is hashed as it arrives, zero pages included, on "
	    "the cores that also acknowledge the clients, so on a small "
	    "machine xxh128 lets a dump arrive faster. Either detects bytes "
	    "changed in a copy or on disk; neither proves who wrote them, "
	    "since the manifest is stored beside the dump." } },
	{ .row = { "worker_nice", NDS_OPT_INT, SV(worker_nice), "19", NULL,
	    0, 19,
	    "How many nice levels below the receive path the dump workers "
	    "run (each dump's sink chain: hashing, compressing, writing). The "
	    "receive path acknowledges every datagram and so paces every "
	    "client; where busy threads outnumber the cores, a worker that "
	    "wakes must not take a core from it. A worker that falls its "
	    "dump's buffers behind holds the acknowledgements until it frees "
	    "one; when other programs keep every core busy, a worker at nice "
	    "19 gets little CPU, and a client waiting longer than its "
	    "retransmissions last gives up (about 11 s for FreeBSD), leaving "
	    "the dump incomplete: on such a machine use a lower value. The "
	    "value adds to the server's own nice, up to 19. The threads a "
	    "worker starts (the s3 sink's upload pool, zstd's compression "
	    "threads) and the programs it starts (netdump-nospace, the hooks "
	    "and handler at a dump's end) inherit its priority. With 0, the "
	    "workers run at the receive path's priority." } },
	{ .row = { "pidfile", NDS_OPT_STRING, SV(pidfile), NULL, NULL, 0, 0,
	    "Write the process id to this file and lock it; empty or unset "
	    "means no pid file." },
	  .value_name = "file", .empty_unset = true },
	{ .row = { "daemon", NDS_OPT_BOOL, SV(daemon), "no", NULL, 0, 0,
	    "Detach from the terminal and log to syslog." } },
	{ .row = { "secure", NDS_OPT_BOOL, SV(secure), "no", NULL, 0, 0,
	    "Red Hat's secure mode: when yes, a FreeBSD client must be in "
	    "allow to dump, and with no allow list none may; a Linux client's "
	    "crash announcement must carry the cookie in "
	    "<dumpdir>/magic/<client-ip> (allow and deny still apply)." } },
	{ .row = { "grace", NDS_OPT_INT, SV(grace), "30", NULL, 0, 3600,
	    "How long after FINISHED the server still acknowledges a repeated "
	    "FINISHED, for a client whose first acknowledgement was lost." },
	  .value_name = "seconds" },
	{ .row = { "progress_interval", NDS_OPT_INT, SV(progress_interval),
	    "30", NULL, 0, 86400,
	    "How often a dump being received logs how much of it has come. "
	    "A line is written only when bytes came since the last one, so a "
	    "client that only repeats itself adds none. With 0, none is "
	    "written." },
	  .value_name = "seconds" },
	{ .row = { "scripts_dir", NDS_OPT_STRING, SV(scripts_dir), NULL,
	    NULL, 0, 0,
	    "Where the hook scripts are looked for." },
	  .value_name = "directory", .empty_unset = true },
	{ .row = { "hook_timeout", NDS_OPT_INT, SV(hook_timeout), "30",
	    NULL, 1, 3600,
	    "How long a hook may run before it is killed with its process "
	    "group." },
	  .value_name = "seconds" },
	{ .row = { "herald_hook_deadline", NDS_OPT_INT,
	    SV(herald_hook_deadline), ND_STR(ND_HERALD_HOOK_DEADLINE), NULL, 1,
	    ND_HERALD_HOOK_DEADLINE_MAX,
	    "How long a HERALD waits for the hooks netdump-crash and "
	    "netdump-nospace, together." },
	  .value_name = "seconds" },
	{ .row = { "handler", NDS_OPT_STRING, SV(handler), NULL, NULL, 0, 0,
	    "A program run after every dump, as netdumpd runs its handler; "
	    "empty or unset means none." },
	  .value_name = "program", .empty_unset = true },
	{ .row = { "min_free", NDS_OPT_STRING, SV_PARSED, "0", NULL, 0, 0,
	    "The free space to keep in the file system of the dump "
	    "directory: a size, or a percentage of the file system's size "
	    "from 0 to 99 followed by %; 0 sets no floor." },
	  .value_name = "size | percent%",
	  .parse = parse_min_free, .print = print_min_free },
	{ .row = { "allow", NDS_OPT_STRING, SV_PARSED, NULL, NULL, 0, 0,
	    "The clients that may send dumps; empty (the default) means "
	    "every client, unless secure is set." },
	  .value_name = "networks", .parse = parse_allow,
	  .print = print_allow },
	{ .row = { "deny", NDS_OPT_STRING, SV_PARSED, NULL, NULL, 0, 0,
	    "The clients that may not send dumps, checked before allow; "
	    "empty by default." },
	  .value_name = "networks", .parse = parse_deny, .print = print_deny },
	{ .row = { "user", NDS_OPT_STRING, SV(user), NULL, NULL, 0, 0,
	    "The user to become once the sockets are bound, when the server "
	    "starts as root: its user and group ids, no supplementary "
	    "groups. The server stops with an error when the user does not "
	    "exist or cannot both list and write the dump directory. Started "
	    "as another user, the server must already be this one. Empty or "
	    "unset means the server keeps the user it was started as." },
	  .check = check_user,
	  .value_name = "name", .empty_unset = true },
	{ .row = { "status_socket", NDS_OPT_STRING, SV(status_socket),
	    NULL, NULL, 0, 0,
	    "The local socket that netdump-server --status asks. It is "
	    "created with mode 0600 and is never changed by path afterwards; "
	    "the path must be shorter than 108 bytes." },
	  .value_name = "path", .empty_unset = true,
	  .check = check_socket_path },
	{ .row = { "runtime_dir", NDS_OPT_STRING, SV(runtime_dir),
	    "/run/netdump-server", NULL, 0, 0,
	    "Where the status socket lives, out of the dump directory." },
	  .value_name = "directory" },
	{ .row = { "restart_silence", NDS_OPT_INT, SV(restart_silence),
	    "10", NULL, 0, 3600,
	    "How long a dump must have received nothing before a new "
	    "HERALD from its client's address and port is taken as a "
	    "restart." },
	  .value_name = "seconds" },
	{ .row = { "max_dumps_per_client", NDS_OPT_INT,
	    SV(max_dumps_per_client), "2", NULL, 1, 65535,
	    "How many dumps one client address may have received or stored "
	    "at the same time, counted as for max_concurrent_dumps. A HERALD "
	    "or first data beyond it is not answered, so one address (whose "
	    "dumps may be forged) cannot take every place." } },
	{ .row = { "max_heralded_per_client", NDS_OPT_INT,
	    SV(max_heralded_per_client), "4", NULL, 1, 256,
	    "How many sessions of one client address may wait for their "
	    "first data after a HERALD. A HERALD beyond it takes the place "
	    "of the oldest that is older than half a second and has heard "
	    "nothing but HERALDs, and is not answered otherwise; one from "
	    "port 20024, the port a kernel sends from, takes the place of "
	    "the oldest from another port that has heard nothing but "
	    "HERALDs, however young." } },
	{ .row = { "max_hooks", NDS_OPT_INT, SV(max_hooks), "16", NULL, 1, 4096,
	    "How many hook processes may run at once, for all clients and "
	    "hooks together." } },
	{ .row = { "linux_port", NDS_OPT_INT, SV(linux_port), "0", NULL, 0,
	    65535,
	    "The UDP port of the Linux side: the crash dumps of Linux "
	    "clients by Red Hat's netdump protocol, stored as ELF cores, and "
	    "their console text, as RHEL 3 and 4 netlog and as mainline "
	    "netconsole, plain or extended. Red Hat's clients send to 6666; "
	    "0 (the default) turns it off." } },
	{ .row = { "console_log_size", NDS_OPT_SIZE, SV(console_log_size),
	    "4M", NULL, 4096, (int64_t)1 << 40,
	    "The size at which a client's console log is rotated." } },
	{ .row = { "console_log_keep", NDS_OPT_INT, SV(console_log_keep), "4",
	    NULL, 0, 100,
	    "How many rotated console logs of a client's directory are kept, "
	    "log.1 the newest." } },
	{ .row = { "metrics", NDS_OPT_STRING, SV(metrics), NULL, NULL, 0, 0,
	    "Serve Prometheus metrics over HTTP at /metrics on this "
	    "ADDRESS:PORT (127.0.0.1:9620, say); empty or unset: off. Read "
	    "at start only." },
	  .value_name = "address:port", .empty_unset = true,
	  .check = check_metrics },
};

#define NSERVER_KEYS	(sizeof(server_keys) / sizeof(server_keys[0]))

_Static_assert(NSERVER_KEYS <= ND_SERVER_OPTS_MAX,
    "the loader keeps a line per [server] row: raise ND_SERVER_OPTS_MAX");

/*
 * Red Hat keys with no meaning here. They are refused like any unknown
 * key, but with a message that says why.
 */
static const char *const redhat_only_keys[] = {
	"space_check", "skip_zero", "compress", "debug", "verbose",
};

/* CIDR */

int
nd_cidr_parse(const char *s, struct nd_cidr *out)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash, *p;
	struct in_addr in;
	unsigned prefix = 32;
	size_t len;

	if (s == NULL)
		return -1;
	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(addr))
		return -1;
	memcpy(addr, s, len);
	addr[len] = '\0';
	/* inet_pton takes only a full dotted quad: no "10/8", no octal. */
	if (inet_pton(AF_INET, addr, &in) != 1)
		return -1;
	if (slash != NULL) {
		p = slash + 1;
		/* One or two digits, no sign, no leading zero. */
		if (!(p[0] >= '0' && p[0] <= '9'))
			return -1;
		prefix = (unsigned)(p[0] - '0');
		if (p[1] != '\0') {
			if (p[0] == '0' || !(p[1] >= '0' && p[1] <= '9') ||
			    p[2] != '\0')
				return -1;
			prefix = prefix * 10 + (unsigned)(p[1] - '0');
		}
		if (prefix > 32)
			return -1;
	}
	/* A shift by 32 is undefined, hence the special case. */
	out->mask = prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
	/* "10.1.2.3/8" means the network 10.0.0.0/8: host bits go. */
	out->addr = ntohl(in.s_addr) & out->mask;
	out->prefix = prefix;
	return 0;
}

bool
nd_cidr_match(const struct nd_cidr *c, uint32_t addr)
{
	return (addr & c->mask) == c->addr;
}

/* Free what the [server] rows point to: strings and network lists. */
void
conf_server_clear(struct nd_server_conf *sv)
{
	const struct server_key *k;
	size_t i;

	for (i = 0; i < NSERVER_KEYS; i++) {
		k = &server_keys[i];
		if (k->parse == NULL && k->row.type == NDS_OPT_STRING)
			free(*(char **)(void *)((char *)sv + k->row.offset));
	}
	free(sv->allow);
	free(sv->deny);
}

/* Key handlers */

/* Red Hat's GScanner wanted strings in double quotes: drop them. */
static char *
unquote(struct loader *ld, const char *key, const char *value)
{
	size_t len = strlen(value);
	char *v;

	if (len > 0 && value[0] == '"') {
		if (len < 2 || value[len - 1] != '"') {
			failat(ld, ld->lineno, "[server] %s: missing closing "
			    "'\"' in '%s'", key, value);
			return NULL;
		}
		v = strndup(value + 1, len - 2);
	} else
		v = strdup(value);
	if (v == NULL)
		failat(ld, ld->lineno, "out of memory");
	return v;
}

/* default_path is joined below dumpdir: keep it there. */
static bool
is_relative_path(const char *p)
{
	const char *c;
	size_t n;

	if (*p == '\0' || *p == '/')
		return false;
	for (c = p; *c != '\0'; c += n) {
		n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return false;
		if (c[n] == '/')
			n++;
	}
	return true;
}

static int
check_address(const char *v, char *msg, size_t msglen)
{
	struct in_addr in;

	if (inet_pton(AF_INET, v, &in) == 1)
		return 0;
	snprintf(msg, msglen, "expected an IPv4 address like 0.0.0.0, got "
	    "'%s'", v);
	return -1;
}

static int
check_dumpdir(const char *v, char *msg, size_t msglen)
{
	if (*v != '\0')
		return 0;
	snprintf(msg, msglen, "expected a directory, got an empty value");
	return -1;
}

/* What start would refuse, refused when the file is read. */
static int
check_user(const char *v, char *msg, size_t msglen)
{
	if (*v == '\0' || getpwnam(v) != NULL)
		return 0;
	snprintf(msg, msglen, "no user '%s' on this system", v);
	return -1;
}

static int
check_socket_path(const char *v, char *msg, size_t msglen)
{
	size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;

	if (strlen(v) <= max)
		return 0;
	snprintf(msg, msglen, "status socket path too long (%zu bytes, at most "
	    "%zu)", strlen(v), max);
	return -1;
}

int
nd_conf_addr_port(const char *spec, struct sockaddr_in *sin)
{
	char host[64], *end;
	const char *colon = strrchr(spec, ':');
	unsigned long port;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 || *end != '\0' ||
	    end == colon + 1 || errno != 0 || port == 0 || port > 65535)
		return -1;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

static int
check_metrics(const char *v, char *msg, size_t msglen)
{
	struct sockaddr_in sin;

	if (*v == '\0' || nd_conf_addr_port(v, &sin) == 0)
		return 0;
	snprintf(msg, msglen, "'%s' is not ADDRESS:PORT (an IPv4 address "
	    "and a port)", v);
	return -1;
}

int
nd_conf_check_default_path(const char *v, char *msg, size_t msglen)
{
	return check_default_path(v, msg, msglen);
}

/* Directories in path v ("." and empty ones add none). */
static size_t
path_depth(const char *v)
{
	size_t depth = 0, n;

	for (; *v != '\0'; v += n + (v[n] == '/')) {
		n = strcspn(v, "/");
		depth += n > 0 && !(n == 1 && v[0] == '.');
	}
	return depth;
}

/* As a HERALD's path, and within the same bounds (util.h). */
static int
check_default_path(const char *v, char *msg, size_t msglen)
{
	if (!is_relative_path(v)) {
		snprintf(msg, msglen, "expected a relative path without '..', "
		    "like '.' or 'lab', got '%s'", v);
		return -1;
	}
	if (strlen(v) > ND_HERALD_PATH_LEN ||
	    path_depth(v) > ND_HERALD_PATH_DEPTH) {
		snprintf(msg, msglen, "expected at most %d bytes in at most %d "
		    "directories, as a HERALD's path", ND_HERALD_PATH_LEN,
		    ND_HERALD_PATH_DEPTH);
		return -1;
	}
	return 0;
}

/* Any 64-bit size: more than a row's int64_t holds, so parsed here. */
static int
parse_max_dump_size(struct nd_server_conf *sv, const char *v, char *msg,
    size_t msglen)
{
	uint64_t u;

	if (nd_parse_size(v, &u, msg, msglen) == -1)
		return -1;
	if (u == 0) {
		snprintf(msg, msglen, "must be more than 0, got '%s'", v);
		return -1;
	}
	sv->max_dump_size = u;
	return 0;
}

/* "512M" or "10%": the free space to keep in the dump directory. */
static int
parse_min_free(struct nd_server_conf *sv, const char *v, char *msg,
    size_t msglen)
{
	size_t len = strlen(v);
	uint64_t u;
	char num[32];

	if (len > 0 && v[len - 1] == '%') {
		if (len - 1 >= sizeof(num)) {
			snprintf(msg, msglen, "expected a percentage like 5%%, "
			    "got '%.40s%s'", v, len > 40 ? "..." : "");
			return -1;
		}
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		if (nd_parse_uint(num, 99, &u, NULL, 0) == -1) {
			snprintf(msg, msglen, "expected a number from 0 to 99, "
			    "got '%s'", num);
			return -1;
		}
		sv->min_free_percent = (unsigned)u;
		sv->min_free_bytes = 0;
		return 0;
	}
	if (nd_parse_size(v, &u, msg, msglen) == -1)
		return -1;
	sv->min_free_bytes = u;
	sv->min_free_percent = 0;
	return 0;
}

/* "10.0.0.0/8, 192.0.2.7": networks separated by commas or blanks. */
static int
parse_cidr_list(const char *v, struct nd_cidr **list, size_t *n, char *msg,
    size_t msglen)
{
	struct nd_cidr *nl;
	char *copy, *tok, *save = NULL;
	int rc = 0;

	if ((copy = strdup(v)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		struct nd_cidr c;

		if (nd_cidr_parse(tok, &c) == -1) {
			snprintf(msg, msglen, "expected IPv4 networks like "
			    "10.0.0.0/8, got '%s'", tok);
			rc = -1;
			break;
		}
		if ((nl = reallocarray(*list, *n + 1, sizeof(*nl))) == NULL) {
			snprintf(msg, msglen, "out of memory");
			rc = -1;
			break;
		}
		*list = nl;
		(*list)[(*n)++] = c;
	}
	free(copy);
	return rc;
}

/* A list replaces the one before it, as any value does. */
static int
parse_allow(struct nd_server_conf *sv, const char *v, char *msg,
    size_t msglen)
{
	free(sv->allow);
	sv->allow = NULL;
	sv->nallow = 0;
	return parse_cidr_list(v, &sv->allow, &sv->nallow, msg, msglen);
}

static int
parse_deny(struct nd_server_conf *sv, const char *v, char *msg,
    size_t msglen)
{
	free(sv->deny);
	sv->deny = NULL;
	sv->ndeny = 0;
	return parse_cidr_list(v, &sv->deny, &sv->ndeny, msg, msglen);
}

bool
nd_conf_client_listed(const struct nd_server_conf *sv, uint32_t addr)
{
	size_t i;

	for (i = 0; i < sv->ndeny; i++)
		if (nd_cidr_match(&sv->deny[i], addr))
			return false;
	for (i = 0; i < sv->nallow; i++)
		if (nd_cidr_match(&sv->allow[i], addr))
			return true;
	return sv->nallow == 0;
}

bool
nd_conf_client_allowed(const struct nd_server_conf *sv, uint32_t addr)
{
	if (sv->nallow == 0 && sv->secure)
		return false;
	return nd_conf_client_listed(sv, addr);
}

static const struct server_key *
server_key_find(const char *key)
{
	const struct server_key *k;
	size_t i;

	for (i = 0; i < NSERVER_KEYS; i++) {
		k = &server_keys[i];
		if (strcasecmp(key, k->row.name) == 0 ||
		    (k->alias != NULL && strcasecmp(key, k->alias) == 0))
			return k;
	}
	return NULL;
}

/*
 * Store the unquoted value v where key k says, or put the reason it is
 * refused into msg. A number that misses, in any way, gets the message
 * [server] has always given, with the range.
 */
static int
server_set(struct nd_server_conf *sv, const struct server_key *k,
    const char *v, char *msg, size_t msglen)
{
	const struct nds_option *o = &k->row;
	char **sp;

	if (k->parse != NULL)
		return k->parse(sv, v, msg, msglen);
	if (k->check != NULL && k->check(v, msg, msglen) == -1)
		return -1;
	if (nd_option_set(o, v, sv, msg, msglen) == -1) {
		if (o->type == NDS_OPT_INT)
			snprintf(msg, msglen, "expected a number from %" PRId64
			    " to %" PRId64 ", got '%s'", o->min, o->max, v);
		return -1;
	}
	sp = (char **)(void *)((char *)sv + o->offset);
	if (k->empty_unset && **sp == '\0') {
		free(*sp);
		*sp = NULL;
	}
	return 0;
}

/* The defaults take the setter's path, so a row's own range checks them. */
int
conf_server_defaults(struct nd_server_conf *sv)
{
	const struct server_key *k;
	char msg[ND_CONF_ERRSIZE];
	size_t i;

	for (i = 0; i < NSERVER_KEYS; i++) {
		k = &server_keys[i];
		if (k->row.default_value != NULL &&
		    server_set(sv, k, k->row.default_value, msg,
		    sizeof(msg)) == -1)
			return -1;
	}
	return 0;
}

void
conf_server_key(struct loader *ld, const char *key, const char *value)
{
	const struct server_key *k;
	char msg[ND_CONF_ERRSIZE];
	char *v;
	size_t i;

	if ((k = server_key_find(key)) == NULL) {
		for (i = 0; i < sizeof(redhat_only_keys) /
		    sizeof(redhat_only_keys[0]); i++)
			if (strcasecmp(key, redhat_only_keys[i]) == 0) {
				failat(ld, ld->lineno, "Red Hat netdump key "
				    "'%s' is not supported: remove it from "
				    "[server]", key);
				return;
			}
		failat(ld, ld->lineno, "unknown key '%s' in [server]", key);
		return;
	}
	/* An alias and its key share the row, so they are one key here. */
	i = (size_t)(k - server_keys);
	if (ld->server_seen[i] != 0) {
		failat(ld, ld->lineno, "duplicate key '%s' in [server] "
		    "(already set at line %d)", key, ld->server_seen[i]);
		return;
	}
	ld->server_seen[i] = ld->lineno;
	if ((v = unquote(ld, key, value)) == NULL)
		return;
	msg[0] = '\0';
	if (server_set(&ld->conf->server, k, v, msg, sizeof(msg)) == -1)
		failat(ld, ld->lineno, "[server] %s: %s", key, msg);
	free(v);
}

/* -H server: the rows as text, or as the man page's entries. */
void
nd_conf_server_help(FILE *fp, bool mdoc)
{
	const struct server_key *k;
	size_t i;

	if (!mdoc)
		fprintf(fp, "[server] (netdump-server.ini(5)); keys are "
		    "matched without regard to case\noptions:\n");
	for (i = 0; i < NSERVER_KEYS; i++) {
		k = &server_keys[i];
		if (mdoc)
			nd_option_mdoc(&k->row, "server", k->alias,
			    k->value_name, fp);
		else
			nd_option_help(&k->row, k->alias, fp);
	}
}

/* Printing */

/*
 * A [server] string as it must be written to read back the same: quoted
 * when unquote() or inih's trimming would change it.
 */
static void
print_string(FILE *fp, const char *key, const char *v)
{
	size_t len;

	if (v == NULL || *v == '\0') {
		fprintf(fp, "%s =\n", key);
		return;
	}
	len = strlen(v);
	/* A ';' after a blank would start a comment when read back. */
	if (v[0] == '"' || v[0] == ';' || is_space(v[0]) ||
	    is_space(v[len - 1]))
		fprintf(fp, "%s = \"%s\"\n", key, v);
	else
		fprintf(fp, "%s = %s\n", key, v);
}

/*
 * Values read verbatim (sink options, route keys): a leading ';' must not
 * follow a blank, or inih would take it for a comment.
 */
static void
print_verbatim(FILE *fp, const char *key, const char *v)
{
	fprintf(fp, "%s =%s%s\n", key, v[0] == ';' ? "" : " ", v);
}

static void
print_size(FILE *fp, const char *key, uint64_t v)
{
	char buf[32];

	nd_size_str(v, buf, sizeof(buf));
	fprintf(fp, "%s = %s\n", key, buf);
}

static void
print_cidrs(FILE *fp, const char *key, const struct nd_cidr *c, size_t n)
{
	struct in_addr in;
	char addr[INET_ADDRSTRLEN];
	size_t i;

	fprintf(fp, "%s =", key);
	for (i = 0; i < n; i++) {
		in.s_addr = htonl(c[i].addr);
		if (inet_ntop(AF_INET, &in, addr, sizeof(addr)) != NULL)
			fprintf(fp, "%s %s/%u", i ? "," : "", addr,
			    c[i].prefix);
	}
	fprintf(fp, "\n");
}

static void
print_max_dump_size(const struct nd_server_conf *sv, const char *key,
    FILE *fp)
{
	print_size(fp, key, sv->max_dump_size);
}

static void
print_min_free(const struct nd_server_conf *sv, const char *key, FILE *fp)
{
	if (sv->min_free_percent > 0)
		fprintf(fp, "%s = %u%%\n", key, sv->min_free_percent);
	else
		print_size(fp, key, sv->min_free_bytes);
}

static void
print_allow(const struct nd_server_conf *sv, const char *key, FILE *fp)
{
	print_cidrs(fp, key, sv->allow, sv->nallow);
}

static void
print_deny(const struct nd_server_conf *sv, const char *key, FILE *fp)
{
	print_cidrs(fp, key, sv->deny, sv->ndeny);
}

/* The choice an enum field holds, by its index. */
static void
print_choice(FILE *fp, const char *key, const char *choices, int idx)
{
	const char *p = choices != NULL ? choices : "";
	size_t len;

	while (idx-- > 0 && (p = strchr(p, '|')) != NULL)
		p++;
	if (p == NULL)
		p = "";
	len = strcspn(p, "|");
	fprintf(fp, "%s = %.*s\n", key, (int)len, p);
}

/* One line per row, in table order, each in the form it reads back. */
static void
server_print(const struct nd_server_conf *sv, FILE *fp)
{
	const struct server_key *k;
	const struct nds_option *o;
	const void *field;
	size_t i;

	for (i = 0; i < NSERVER_KEYS; i++) {
		k = &server_keys[i];
		o = &k->row;
		field = (const char *)sv + o->offset;
		if (k->print != NULL) {
			k->print(sv, o->name, fp);
			continue;
		}
		switch (o->type) {
		case NDS_OPT_STRING:
			print_string(fp, o->name, *(char *const *)field);
			break;
		case NDS_OPT_BOOL:
			fprintf(fp, "%s = %s\n", o->name,
			    *(const bool *)field ? "yes" : "no");
			break;
		case NDS_OPT_INT:
			fprintf(fp, "%s = %" PRId64 "\n", o->name,
			    *(const int64_t *)field);
			break;
		case NDS_OPT_SIZE:
			print_size(fp, o->name,
			    (uint64_t)*(const int64_t *)field);
			break;
		case NDS_OPT_ENUM:
			print_choice(fp, o->name, o->choices,
			    *(const int *)field);
			break;
		}
	}
}

void
nd_conf_print(const struct nd_conf *conf, FILE *fp)
{
	const struct nd_sink_conf *s;
	const struct nd_route_conf *r;
	struct in_addr in;
	char addr[INET_ADDRSTRLEN];
	size_t i, j;

	fprintf(fp, "; netdump-server configuration, from %s\n",
	    conf->source != NULL ? conf->source : "?");
	fprintf(fp, "[server]\n");
	server_print(&conf->server, fp);

	for (i = 0; i < conf->nsinks; i++) {
		s = &conf->sinks[i];
		fprintf(fp, "\n[sink %s]\nmodule = %s\n", s->name, s->module);
		for (j = 0; j < s->nopts; j++)
			print_verbatim(fp, s->opts[j].key, s->opts[j].value);
	}
	for (i = 0; i < conf->nroutes; i++) {
		r = &conf->routes[i];
		fprintf(fp, "\n[route %s]\n", r->name);
		print_verbatim(fp, "path", r->path);
		if (r->has_client) {
			in.s_addr = htonl(r->client.addr);
			if (inet_ntop(AF_INET, &in, addr, sizeof(addr)) !=
			    NULL)
				fprintf(fp, "client = %s/%u\n", addr,
				    r->client.prefix);
		}
		print_verbatim(fp, "sink", r->sink);
	}
	notify_print(conf, fp);
}
