/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Configuration loader (see conf.h for the contract).
 *
 * inih splits "key = value" lines and strips comments, but the handler it
 * calls gets no line number (Debian's library is built without
 * INI_HANDLER_LINENO, so we must not define it either) and no call for a
 * section header, so an empty [sink x] would go unnoticed. We therefore
 * feed inih through our own line reader: it counts lines, refuses
 * over-long ones instead of letting inih truncate them, and parses the
 * section headers itself. The handler then only deals with keys, and
 * always knows the current line and section.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "conf.h"
#include "log.h"

/* Longest line accepted, without its line terminator. */
#define ND_CONF_MAX_LINE	4096

enum section_kind {
	SEC_SERVER,
	SEC_SINK,
	SEC_ROUTE,
};

/* How a [server] value is read, stored and printed back. */
enum server_opt_type {
	SO_STRING,	/* char *; empty stays "" */
	SO_OPTSTRING,	/* char *; empty means unset (NULL) */
	SO_BOOL,	/* bool */
	SO_UINT,	/* unsigned, in [min, max] */
	SO_PORT,	/* uint16_t, in [min, max] */
	SO_SIZE,	/* uint64_t with a k/M/G/T suffix, at least min */
	SO_CIDRS,	/* struct nd_cidr *, its length at count_off */
	SO_CUSTOM,	/* parse() and print() do it all */
};

/*
 * One row per [server] key. A key with its own rules gets a check() (for
 * strings) or a parse()/print() pair (SO_CUSTOM); everything else is the
 * generic code in server_set() and server_print(). The rows are in the
 * order --check-config prints them.
 */
struct server_opt {
	const char		*name;
	const char		*alias;		/* older spelling, or NULL */
	enum server_opt_type	 type;
	size_t			 off;		/* in struct nd_server_conf */
	uint64_t		 min, max;	/* range; SO_SIZE: only min */
	const char		*def;		/* as written in a file; NULL:
						 * zero, empty or unset */
	const char		*desc;
	size_t			 count_off;	/* SO_CIDRS: the count field */
	int			(*check)(const char *, char *, size_t);
	int			(*parse)(struct nd_server_conf *, const char *,
				    char *, size_t);
	void			(*print)(const struct nd_server_conf *,
				    const char *, FILE *);
};

#define SV(f)		offsetof(struct nd_server_conf, f)
#define ND_XSTR(x)	#x
#define ND_STR(x)	ND_XSTR(x)

static int	check_address(const char *, char *, size_t);
static int	check_dumpdir(const char *, char *, size_t);
static int	check_default_path(const char *, char *, size_t);
static int	parse_min_free(struct nd_server_conf *, const char *, char *,
		    size_t);
static void	print_min_free(const struct nd_server_conf *, const char *,
		    FILE *);
static int	server_defaults(struct nd_server_conf *);

/*
 * The [server] keys: name, alias, type, field, min, max, default, then
 * by name the description and what the type needs. Keys are matched
 * case-insensitively because Red Hat's /etc/netdump.conf was read that
 * way. The aliases are its spellings (addr, dumpdirprefix of the FreeBSD
 * port) and the --concurrent flag. --check-config prints in this order.
 */
static const struct server_opt server_opts[] = {
	{ "address", "addr", SO_STRING, SV(address), 0, 0, "0.0.0.0",
	  .desc = "IPv4 address to listen on", .check = check_address },
	{ "port", NULL, SO_PORT, SV(port), 1, 65535, "20023",
	  .desc = "UDP port for HERALD packets" },
	{ "dumpdir", "dumpdirprefix", SO_STRING, SV(dumpdir), 0, 0,
	  "/var/crash", .desc = "directory the dumps go below",
	  .check = check_dumpdir },
	{ "timeout", NULL, SO_UINT, SV(timeout), 1, 86400, "60",
	  .desc = "seconds of silence before a dump is closed" },
	{ "sink_dir", NULL, SO_OPTSTRING, SV(sink_dir), 0, 0, NULL,
	  .desc = "where sink modules are; unset: the built-in path" },
	{ "max_dump_size", NULL, SO_SIZE, SV(max_dump_size), 1, 0, "1T",
	  .desc = "largest dump accepted" },
	{ "default_path", NULL, SO_STRING, SV(default_path), 0, 0, ".",
	  .desc = "path below dumpdir for clients that send none",
	  .check = check_default_path },
	{ "max_concurrent_dumps", "concurrent", SO_UINT,
	  SV(max_concurrent_dumps), 1, 65535, "16",
	  .desc = "dumps in flight at once" },
	{ "pidfile", NULL, SO_OPTSTRING, SV(pidfile), 0, 0, NULL,
	  .desc = "pid file to write and lock; unset: none" },
	{ "daemon", NULL, SO_BOOL, SV(daemon), 0, 0, "no",
	  .desc = "detach and log to syslog" },
	{ "secure", NULL, SO_BOOL, SV(secure), 0, 0, "no",
	  .desc = "refuse every client not in allow" },
	{ "grace", NULL, SO_UINT, SV(grace), 0, 3600, "30",
	  .desc = "seconds a closed dump still acks FINISHED" },
	{ "scripts_dir", NULL, SO_OPTSTRING, SV(scripts_dir), 0, 0, NULL,
	  .desc = "hook scripts; unset: <dumpdir>/scripts" },
	{ "hook_timeout", NULL, SO_UINT, SV(hook_timeout), 1, 3600, "30",
	  .desc = "seconds a hook may run" },
	{ "herald_hook_deadline", NULL, SO_UINT, SV(herald_hook_deadline), 1,
	  ND_HERALD_HOOK_DEADLINE_MAX, ND_STR(ND_HERALD_HOOK_DEADLINE),
	  .desc = "seconds a HERALD waits for its hooks" },
	{ "handler", NULL, SO_OPTSTRING, SV(handler), 0, 0, NULL,
	  .desc = "script run after each dump (netdumpd's -i)" },
	{ "min_free", NULL, SO_CUSTOM, 0, 0, 0, NULL,
	  .desc = "free space to keep, as a size or a percentage",
	  .parse = parse_min_free, .print = print_min_free },
	{ "allow", NULL, SO_CIDRS, SV(allow), 0, 0, NULL,
	  .desc = "networks that may dump; empty: all",
	  .count_off = SV(nallow) },
	{ "deny", NULL, SO_CIDRS, SV(deny), 0, 0, NULL,
	  .desc = "networks that may not dump, checked first",
	  .count_off = SV(ndeny) },
	{ "user", NULL, SO_OPTSTRING, SV(user), 0, 0, NULL,
	  .desc = "user to drop root to" },
	{ "status_socket", NULL, SO_OPTSTRING, SV(status_socket), 0, 0, NULL,
	  .desc = "status socket; unset: one in runtime_dir" },
	{ "runtime_dir", NULL, SO_STRING, SV(runtime_dir), 0, 0,
	  "/run/netdump-server", .desc = "directory for run-time files" },
	{ "restart_silence", NULL, SO_UINT, SV(restart_silence), 0, 3600, "10",
	  .desc = "seconds a dump is silent before a new HERALD restarts it" },
	{ "max_dumps_per_client", NULL, SO_UINT, SV(max_dumps_per_client), 1,
	  65535, "2", .desc = "dumps in flight per client address" },
	{ "max_heralded_per_client", NULL, SO_UINT,
	  SV(max_heralded_per_client), 1, 256, "4",
	  .desc = "HERALD-only sessions per client address" },
	{ "max_hooks", NULL, SO_UINT, SV(max_hooks), 1, 4096, "16",
	  .desc = "hook processes at once" },
};

#define NSERVER_OPTS	(sizeof(server_opts) / sizeof(server_opts[0]))

/*
 * Red Hat keys with no meaning here. They are refused like any unknown
 * key, but with a message that says why.
 */
static const char *const redhat_only_keys[] = {
	"space_check", "skip_zero", "compress", "debug", "verbose",
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
	int			 server_seen[NSERVER_OPTS]; /* line, per row */
	int			 module_line;	/* in the current [sink] */
	int			 path_line;	/* in the current [route] */
	int			 client_line;
	int			*route_sink_line; /* per route, of "sink =" */

	bool			 failed;
	char			*err;
	size_t			 errlen;

	/* The current line as read, kept for messages about it. */
	char			 line[ND_CONF_MAX_LINE + 3];
	size_t			 linelen;	/* with the terminator */
	int			 textlen;	/* without */
};

static void	failat(struct loader *, int, const char *, ...)
		    ND_PRINTF(3, 4);
static void	seterr(char *, size_t, const char *, ...) ND_PRINTF(3, 4);

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Record the first error only: later ones are usually its echoes. */
static void
failat(struct loader *ld, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ld->failed)
		return;
	ld->failed = true;
	if (ld->err == NULL || ld->errlen == 0)
		return;
	if (line > 0)
		n = snprintf(ld->err, ld->errlen, "%s:%d: ", ld->name, line);
	else
		n = snprintf(ld->err, ld->errlen, "%s: ", ld->name);
	if (n < 0 || (size_t)n >= ld->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool
is_section_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '_' && *s != '.' &&
		    *s != '-')
			return false;
	return true;
}

/* A name a sink module could have: what the sink loader will look for. */
static bool
is_module_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') &&
		    *s != '_')
			return false;
	return true;
}

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\f' || c == '\v';
}

/* A copy of s[0..len) without leading and trailing white space. */
static char *
trimmed_dup(const char *s, size_t len)
{
	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	return strndup(s, len);
}

/* Value parsers */

int
nd_parse_uint(const char *s, uint64_t max, uint64_t *out, char *err,
    size_t errlen)
{
	unsigned long long v;
	char *end;

	/* strtoull would take "-1", "+1", " 1" and "0x1": only digits. */
	if (s == NULL || !(*s >= '0' && *s <= '9')) {
		seterr(err, errlen, "expected a number, got '%s'",
		    s != NULL ? s : "");
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0') {
		seterr(err, errlen, "expected a number, got '%s'", s);
		return -1;
	}
	if (errno == ERANGE || v > max) {
		seterr(err, errlen, "number too large (at most %" PRIu64
		    "), got '%s'", max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int
nd_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (s == NULL || !(*s >= '0' && *s <= '9'))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	default:
		goto bad;
	}
	if (shift != 0 && end[1] != '\0')
		goto bad;
	if (errno == ERANGE || v > (UINT64_MAX >> shift)) {
		seterr(err, errlen, "size too large, got '%s'", s);
		return -1;
	}
	*out = (uint64_t)v << shift;
	return 0;
bad:
	seterr(err, errlen, "expected a size like 512M (suffix k, M, G or T), "
	    "got '%s'", s != NULL ? s : "");
	return -1;
}

int
nd_parse_bool(const char *s, bool *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; s != NULL && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	seterr(err, errlen, "expected yes or no (or true/false, on/off, 1/0), "
	    "got '%s'", s != NULL ? s : "");
	return -1;
}

/* A number in [min, max] with one message for every way to miss. */
static int
parse_range(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	if (nd_parse_uint(s, max, out, NULL, 0) == -1 || *out < min) {
		seterr(err, errlen, "expected a number from %" PRIu64 " to %"
		    PRIu64 ", got '%s'", min, max, s);
		return -1;
	}
	return 0;
}

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

/* Configuration objects */

static void
sink_conf_clear(struct nd_sink_conf *s)
{
	size_t i;

	for (i = 0; i < s->nopts; i++) {
		free(s->opts[i].key);
		free(s->opts[i].value);
	}
	free(s->opts);
	free(s->name);
	free(s->module);
}

static void
route_conf_clear(struct nd_route_conf *r)
{
	size_t i;

	for (i = 0; i < r->nsinks; i++)
		free(r->sinks[i]);
	free(r->sinks);
	free(r->name);
	free(r->path);
	free(r->sink);
}

/* Free what the [server] rows point to: strings and network lists. */
static void
server_conf_clear(struct nd_server_conf *sv)
{
	const struct server_opt *o;
	void *field;
	size_t i;

	for (i = 0; i < NSERVER_OPTS; i++) {
		o = &server_opts[i];
		field = (char *)sv + o->off;
		if (o->type == SO_STRING || o->type == SO_OPTSTRING)
			free(*(char **)field);
		else if (o->type == SO_CIDRS)
			free(*(struct nd_cidr **)field);
	}
}

void
nd_conf_free(struct nd_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nsinks; i++)
		sink_conf_clear(&conf->sinks[i]);
	free(conf->sinks);
	for (i = 0; i < conf->nroutes; i++)
		route_conf_clear(&conf->routes[i]);
	free(conf->routes);
	server_conf_clear(&conf->server);
	free(conf->source);
	free(conf);
}

static struct nd_conf *
conf_new(const char *source)
{
	struct nd_conf *conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	if ((conf->source = strdup(source)) == NULL ||
	    server_defaults(&conf->server) == -1) {
		nd_conf_free(conf);
		return NULL;
	}
	return conf;
}

/*
 * Append a zeroed sink, owned by conf from here on, so that a failure
 * while filling it in leaves nothing for the caller to free.
 */
static struct nd_sink_conf *
sink_append(struct nd_conf *conf, const char *name, const char *module,
    int lineno)
{
	struct nd_sink_conf *s, *sinks;

	sinks = reallocarray(conf->sinks, conf->nsinks + 1, sizeof(*sinks));
	if (sinks == NULL)
		return NULL;
	conf->sinks = sinks;
	s = &sinks[conf->nsinks++];
	memset(s, 0, sizeof(*s));
	s->lineno = lineno;
	if ((s->name = strdup(name)) == NULL)
		return NULL;
	if (module != NULL && (s->module = strdup(module)) == NULL)
		return NULL;
	return s;
}

/* Same ownership rule as sink_append(); route_sink_line grows along. */
static struct nd_route_conf *
route_append(struct loader *ld, const char *name, int lineno)
{
	struct nd_conf *conf = ld->conf;
	struct nd_route_conf *r, *routes;
	int *lines;

	lines = reallocarray(ld->route_sink_line, conf->nroutes + 1,
	    sizeof(*lines));
	if (lines == NULL)
		return NULL;
	ld->route_sink_line = lines;
	lines[conf->nroutes] = 0;
	routes = reallocarray(conf->routes, conf->nroutes + 1,
	    sizeof(*routes));
	if (routes == NULL)
		return NULL;
	conf->routes = routes;
	r = &routes[conf->nroutes++];
	memset(r, 0, sizeof(*r));
	r->lineno = lineno;
	if ((r->name = strdup(name)) == NULL)
		return NULL;
	return r;
}

static int
route_add_sink(struct nd_route_conf *r, const char *s, size_t len)
{
	char **sinks, *name;

	if ((name = trimmed_dup(s, len)) == NULL)
		return -1;
	sinks = reallocarray(r->sinks, r->nsinks + 1, sizeof(*sinks));
	if (sinks == NULL) {
		free(name);
		return -1;
	}
	r->sinks = sinks;
	sinks[r->nsinks++] = name;
	return 0;
}

const struct nd_sink_conf *
nd_conf_sink_find(const struct nd_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nsinks; i++)
		if (strcmp(conf->sinks[i].name, name) == 0)
			return &conf->sinks[i];
	return NULL;
}

static const struct nd_route_conf *
route_find(const struct nd_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nroutes; i++)
		if (strcmp(conf->routes[i].name, name) == 0)
			return &conf->routes[i];
	return NULL;
}

const struct nd_route_conf *
nd_conf_route_match(const struct nd_conf *conf, const char *herald_path,
    uint32_t client_addr)
{
	const struct nd_route_conf *r;
	size_t i;

	if (herald_path == NULL)
		herald_path = "";
	for (i = 0; i < conf->nroutes; i++) {
		r = &conf->routes[i];
		/* No FNM_PATHNAME: "*" must also match "prod/web1". */
		if (fnmatch(r->path, herald_path, 0) != 0)
			continue;
		if (r->has_client && !nd_cidr_match(&r->client, client_addr))
			continue;
		return r;
	}
	return NULL;
}

/* Section headers, seen by the line reader */

static void
begin_section(struct loader *ld, const char *type, const char *name)
{
	const struct nd_sink_conf *os;
	const struct nd_route_conf *orr;
	int line = ld->lineno;

	if (strcmp(type, "server") == 0) {
		if (*name != '\0') {
			failat(ld, line, "[server] takes no name, got "
			    "[server %s]", name);
			return;
		}
		if (ld->server_header != 0) {
			failat(ld, line, "duplicate section [server] (first "
			    "at line %d)", ld->server_header);
			return;
		}
		ld->server_header = line;
		ld->kind = SEC_SERVER;
		return;
	}
	if (strcmp(type, "sink") != 0 && strcmp(type, "route") != 0) {
		failat(ld, line, "unknown section [%s%s%s]: expected "
		    "[server], [sink NAME] or [route NAME]", type,
		    *name != '\0' ? " " : "", name);
		return;
	}
	if (*name == '\0') {
		failat(ld, line, "section [%s] needs a name, like [%s %s]",
		    type, type, *type == 's' ? "local" : "default");
		return;
	}
	if (!is_section_name(name)) {
		failat(ld, line, "bad name '%s' in [%s %s]: use letters, "
		    "digits, '_', '.' and '-'", name, type, name);
		return;
	}
	if (*type == 's') {
		if ((os = nd_conf_sink_find(ld->conf, name)) != NULL) {
			failat(ld, line, "duplicate section [sink %s] (first "
			    "at line %d)", name, os->lineno);
			return;
		}
		if (sink_append(ld->conf, name, NULL, line) == NULL) {
			failat(ld, line, "out of memory");
			return;
		}
		ld->kind = SEC_SINK;
		ld->cur = ld->conf->nsinks - 1;
		ld->module_line = 0;
	} else {
		if ((orr = route_find(ld->conf, name)) != NULL) {
			failat(ld, line, "duplicate section [route %s] (first "
			    "at line %d)", name, orr->lineno);
			return;
		}
		if (route_append(ld, name, line) == NULL) {
			failat(ld, line, "out of memory");
			return;
		}
		ld->kind = SEC_ROUTE;
		ld->cur = ld->conf->nroutes - 1;
		ld->path_line = ld->client_line = 0;
	}
}

/*
 * Look at a raw line the way inih will: a line whose first non-blank
 * character is '[' is a section header. inih itself would accept junk
 * after the ']' and cut long names at 50 bytes without a word.
 */
static void
scan_line(struct loader *ld)
{
	char buf[sizeof(ld->line)];
	char *p, *end, *type, *name;

	memcpy(buf, ld->line, (size_t)ld->textlen);
	buf[ld->textlen] = '\0';
	p = buf;
	if (ld->lineno == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (is_space(*p))
		p++;
	if (*p != '[')
		return;
	if ((end = strchr(p, ']')) == NULL) {
		failat(ld, ld->lineno, "section header without ']'");
		return;
	}
	*end++ = '\0';
	while (is_space(*end))
		end++;
	if (*end != '\0' && *end != ';' && *end != '#') {
		failat(ld, ld->lineno, "unexpected text after the section "
		    "header: '%s'", end);
		return;
	}
	/* "[ sink  local ]": the type, blanks, then the name. */
	type = p + 1;
	while (is_space(*type))
		type++;
	for (name = type; *name != '\0' && !is_space(*name); name++)
		;
	if (*name != '\0')
		*name++ = '\0';
	while (is_space(*name))
		name++;
	for (end = name + strlen(name); end > name && is_space(end[-1]); end--)
		;
	*end = '\0';
	begin_section(ld, type, name);
}

/*
 * Read one line into ld->line, terminator included. Returns 1, 0 at the
 * end of the input, -1 on error. A line longer than ND_CONF_MAX_LINE is
 * an error here: inih would silently cut it.
 */
static int
read_line(struct loader *ld)
{
	const size_t cap = ND_CONF_MAX_LINE + 2;	/* + "\r\n" */
	size_t len = 0, content;
	const char *nl;
	int c;

	if (ld->fp != NULL) {
		while ((c = getc(ld->fp)) != EOF) {
			if (c == '\0') {
				failat(ld, ld->lineno + 1, "NUL byte in line");
				return -1;
			}
			if (len == cap)
				goto toolong;
			ld->line[len++] = (char)c;
			if (c == '\n')
				break;
		}
		if (ferror(ld->fp)) {
			failat(ld, 0, "read error: %s", strerror(errno));
			return -1;
		}
	} else {
		if (*ld->text == '\0')
			return 0;
		nl = strchr(ld->text, '\n');
		len = nl != NULL ? (size_t)(nl - ld->text) + 1 :
		    strlen(ld->text);
		if (len > cap)
			goto toolong;
		memcpy(ld->line, ld->text, len);
		ld->text += len;
	}
	if (len == 0)
		return 0;
	content = len;
	if (content > 0 && ld->line[content - 1] == '\n')
		content--;
	if (content > 0 && ld->line[content - 1] == '\r')
		content--;
	if (content > ND_CONF_MAX_LINE)
		goto toolong;
	ld->line[len] = '\0';
	ld->linelen = len;
	ld->textlen = (int)content;
	ld->lineno++;
	return 1;
toolong:
	failat(ld, ld->lineno + 1, "line is longer than %d bytes",
	    ND_CONF_MAX_LINE);
	return -1;
}

/* The ini_reader inih pulls lines from. */
static char *
conf_reader(char *str, int num, void *arg)
{
	struct loader *ld = arg;

	/* Ending the input is the only way to stop inih from here. */
	if (ld->failed || read_line(ld) != 1)
		return NULL;
	if (ld->linelen + 1 > (size_t)num) {
		/* Cannot happen: load() sets ini_max_line above our limit. */
		failat(ld, ld->lineno, "line is longer than %d bytes",
		    num - 3);
		return NULL;
	}
	scan_line(ld);
	if (ld->failed)
		return NULL;
	memcpy(str, ld->line, ld->linelen + 1);
	return str;
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

static int
check_default_path(const char *v, char *msg, size_t msglen)
{
	if (is_relative_path(v))
		return 0;
	snprintf(msg, msglen, "expected a relative path without '..', like "
	    "'.' or 'lab', got '%s'", v);
	return -1;
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
			    "got '%s'", v);
			return -1;
		}
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		if (parse_range(num, 0, 99, &u, msg, msglen) == -1)
			return -1;
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

bool
nd_conf_client_allowed(const struct nd_server_conf *sv, uint32_t addr)
{
	size_t i;

	for (i = 0; i < sv->ndeny; i++)
		if (nd_cidr_match(&sv->deny[i], addr))
			return false;
	if (sv->nallow == 0)
		return !sv->secure;
	for (i = 0; i < sv->nallow; i++)
		if (nd_cidr_match(&sv->allow[i], addr))
			return true;
	return false;
}

static const struct server_opt *
server_opt_find(const char *key)
{
	const struct server_opt *o;
	size_t i;

	for (i = 0; i < NSERVER_OPTS; i++) {
		o = &server_opts[i];
		if (strcasecmp(key, o->name) == 0 ||
		    (o->alias != NULL && strcasecmp(key, o->alias) == 0))
			return o;
	}
	return NULL;
}

/*
 * Store the unquoted value *v in the field o describes, or put the reason
 * it is refused into msg. A string field takes *v over and sets it to
 * NULL; the other types only read it.
 */
static int
server_set(struct nd_server_conf *sv, const struct server_opt *o, char **v,
    char *msg, size_t msglen)
{
	void *field = (char *)sv + o->off;
	char **sp = field;
	uint64_t u;

	switch (o->type) {
	case SO_STRING:
	case SO_OPTSTRING:
		if (o->check != NULL && o->check(*v, msg, msglen) == -1)
			return -1;
		free(*sp);
		*sp = NULL;
		if (o->type == SO_STRING || **v != '\0') {
			*sp = *v;
			*v = NULL;
		}
		return 0;
	case SO_BOOL:
		return nd_parse_bool(*v, field, msg, msglen);
	case SO_UINT:
	case SO_PORT:
		if (parse_range(*v, o->min, o->max, &u, msg, msglen) == -1)
			return -1;
		if (o->type == SO_PORT)
			*(uint16_t *)field = (uint16_t)u;
		else
			*(unsigned *)field = (unsigned)u;
		return 0;
	case SO_SIZE:
		if (nd_parse_size(*v, &u, msg, msglen) == -1)
			return -1;
		if (u < o->min) {
			snprintf(msg, msglen, "must be more than %" PRIu64
			    ", got '%s'", o->min - 1, *v);
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	case SO_CIDRS:
		return parse_cidr_list(*v, field,
		    (size_t *)(void *)((char *)sv + o->count_off), msg,
		    msglen);
	case SO_CUSTOM:
		return o->parse(sv, *v, msg, msglen);
	}
	snprintf(msg, msglen, "no setter for this key");
	return -1;
}

/* The defaults take the setter's path, so a row's own range checks them. */
static int
server_defaults(struct nd_server_conf *sv)
{
	const struct server_opt *o;
	char msg[ND_CONF_ERRSIZE];
	char *v;
	size_t i;
	int rc;

	for (i = 0; i < NSERVER_OPTS; i++) {
		o = &server_opts[i];
		if (o->def == NULL)
			continue;
		if ((v = strdup(o->def)) == NULL)
			return -1;
		rc = server_set(sv, o, &v, msg, sizeof(msg));
		free(v);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static void
server_key(struct loader *ld, const char *key, const char *value)
{
	const struct server_opt *o;
	char msg[ND_CONF_ERRSIZE];
	char *v;
	size_t i;

	if ((o = server_opt_find(key)) == NULL) {
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
	i = (size_t)(o - server_opts);
	if (ld->server_seen[i] != 0) {
		failat(ld, ld->lineno, "duplicate key '%s' in [server] "
		    "(already set at line %d)", key, ld->server_seen[i]);
		return;
	}
	ld->server_seen[i] = ld->lineno;
	if ((v = unquote(ld, key, value)) == NULL)
		return;
	msg[0] = '\0';
	if (server_set(&ld->conf->server, o, &v, msg, sizeof(msg)) == -1)
		failat(ld, ld->lineno, "[server] %s: %s", key, msg);
	free(v);
}

static void
sink_key(struct loader *ld, const char *key, const char *value)
{
	struct nd_sink_conf *s = &ld->conf->sinks[ld->cur];
	struct nd_kv *opts, *kv;
	size_t i;

	if (strcasecmp(key, "module") == 0) {
		if (ld->module_line != 0) {
			failat(ld, ld->lineno, "duplicate key '%s' in [sink "
			    "%s] (already set at line %d)", key, s->name,
			    ld->module_line);
			return;
		}
		if (!is_module_name(value)) {
			failat(ld, ld->lineno, "[sink %s] %s: expected a "
			    "module name like file or s3 (a-z, 0-9, _), got "
			    "'%s'", s->name, key, value);
			return;
		}
		ld->module_line = ld->lineno;
		if ((s->module = strdup(value)) == NULL)
			failat(ld, ld->lineno, "out of memory");
		return;
	}
	/* The rest belongs to the module; only duplicates are ours. */
	for (i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i].key, key) == 0) {
			failat(ld, ld->lineno, "duplicate key '%s' in [sink "
			    "%s] (already set at line %d)", key, s->name,
			    s->opts[i].lineno);
			return;
		}
	opts = reallocarray(s->opts, s->nopts + 1, sizeof(*opts));
	if (opts == NULL) {
		failat(ld, ld->lineno, "out of memory");
		return;
	}
	s->opts = opts;
	kv = &opts[s->nopts++];
	kv->lineno = ld->lineno;
	kv->key = strdup(key);
	kv->value = strdup(value);
	if (kv->key == NULL || kv->value == NULL)
		failat(ld, ld->lineno, "out of memory");
}

/*
 * "a, b" is two sinks; "zstd | bucket" is one chain, resolved by the sink
 * loader, so it is kept whole.
 */
static void
route_sink_key(struct loader *ld, struct nd_route_conf *r, const char *key,
    const char *value)
{
	const char *p, *comma;
	size_t len, i;
	char *name;

	if ((r->sink = strdup(value)) == NULL) {
		failat(ld, ld->lineno, "out of memory");
		return;
	}
	for (p = value;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (route_add_sink(r, p, len) == -1) {
			failat(ld, ld->lineno, "out of memory");
			return;
		}
		if (comma == NULL)
			break;
	}
	for (i = 0; i < r->nsinks; i++) {
		name = r->sinks[i];
		if (*name == '\0') {
			failat(ld, ld->lineno, "[route %s] %s: empty sink "
			    "name in '%s'", r->name, key, value);
			return;
		}
		if (strchr(name, '|') == NULL && !is_section_name(name)) {
			failat(ld, ld->lineno, "[route %s] %s: bad sink name "
			    "'%s'", r->name, key, name);
			return;
		}
	}
}

static void
route_key(struct loader *ld, const char *key, const char *value)
{
	struct nd_route_conf *r = &ld->conf->routes[ld->cur];
	int *seen;

	if (strcasecmp(key, "path") == 0)
		seen = &ld->path_line;
	else if (strcasecmp(key, "client") == 0)
		seen = &ld->client_line;
	else if (strcasecmp(key, "sink") == 0)
		seen = &ld->route_sink_line[ld->cur];
	else {
		failat(ld, ld->lineno, "unknown key '%s' in [route %s]", key,
		    r->name);
		return;
	}
	if (*seen != 0) {
		failat(ld, ld->lineno, "duplicate key '%s' in [route %s] "
		    "(already set at line %d)", key, r->name, *seen);
		return;
	}
	*seen = ld->lineno;

	if (seen == &ld->path_line) {
		if (*value == '\0')
			failat(ld, ld->lineno, "[route %s] %s: expected a glob "
			    "like 'prod/*', got an empty value", r->name, key);
		else if ((r->path = strdup(value)) == NULL)
			failat(ld, ld->lineno, "out of memory");
	} else if (seen == &ld->client_line) {
		if (nd_cidr_parse(value, &r->client) == -1)
			failat(ld, ld->lineno, "[route %s] %s: expected an "
			    "IPv4 network like 10.0.0.0/8, got '%s'", r->name,
			    key, value);
		else
			r->has_client = true;
	} else
		route_sink_key(ld, r, key, value);
}

static int
conf_handler(void *arg, const char *section, const char *key,
    const char *value)
{
	struct loader *ld = arg;

	/* The reader tracks sections: inih's copy is cut at 50 bytes. */
	(void)section;
	if (ld->failed)
		return 0;
	if (value == NULL)
		value = "";
	if (*key == '\0') {
		failat(ld, ld->lineno, "missing key before '=' in '%.*s'",
		    ld->textlen, ld->line);
		return 0;
	}
	switch (ld->kind) {
	case SEC_SERVER:
		server_key(ld, key, value);
		break;
	case SEC_SINK:
		sink_key(ld, key, value);
		break;
	case SEC_ROUTE:
		route_key(ld, key, value);
		break;
	}
	return ld->failed ? 0 : 1;
}

/* After parsing: fill defaults, add implied sinks and routes, check. */

static struct nd_route_conf *
add_default_route(struct loader *ld, const char *sink)
{
	struct nd_route_conf *r;

	if ((r = route_append(ld, "default", 0)) == NULL ||
	    (r->path = strdup("*")) == NULL ||
	    (r->sink = strdup(sink)) == NULL ||
	    route_add_sink(r, sink, strlen(sink)) == -1)
		return NULL;
	return r;
}


/*
 * One element of a route's sink list: a [sink] section, or a module named
 * directly (which gets an implicit section with default options).
 */
static int
resolve_sink(struct loader *ld, struct nd_conf *conf,
    const struct nd_route_conf *r, int line, const char *name)
{
	if (nd_conf_sink_find(conf, name) != NULL)
		return 0;
	if (!is_module_name(name)) {
		failat(ld, line, "[route %s] sink: no [sink %s] section, and "
		    "'%s' is not a module name", r->name, name, name);
		return -1;
	}
	if (sink_append(conf, name, name, line) == NULL) {
		failat(ld, 0, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * "zstd|local" or "zstd | local": resolve every stage and store the chain
 * in one spelling, "zstd | local", which the sink loader splits again.
 */
static int
resolve_chain(struct loader *ld, struct nd_conf *conf,
    const struct nd_route_conf *r, int line, char **chainp)
{
	char *copy, *norm, *tok, *save = NULL, *start, *end;
	size_t cap = strlen(*chainp) * 3 + 1, nstages = 0, used = 0;
	int rv = -1;

	if (strchr(*chainp, '|') == NULL)
		return resolve_sink(ld, conf, r, line, *chainp);
	if ((copy = strdup(*chainp)) == NULL ||
	    (norm = calloc(1, cap)) == NULL) {
		free(copy);
		failat(ld, 0, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, "|", &save); tok != NULL;
	    tok = strtok_r(NULL, "|", &save)) {
		for (start = tok; *start == ' ' || *start == '\t'; start++)
			;
		end = start + strlen(start);
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*start == '\0' || !is_section_name(start)) {
			failat(ld, line, "[route %s] sink: bad chain '%s'",
			    r->name, *chainp);
			goto out;
		}
		if (resolve_sink(ld, conf, r, line, start) == -1)
			goto out;
		used += (size_t)snprintf(norm + used, cap - used, "%s%s",
		    nstages++ > 0 ? " | " : "", start);
	}
	/* "a |" or "| b" leave an empty stage strtok_r skipped. */
	if (nstages < 2 || (*chainp)[0] == '|' ||
	    (*chainp)[strlen(*chainp) - 1] == '|' || strstr(*chainp, "||")) {
		failat(ld, line, "[route %s] sink: bad chain '%s'", r->name,
		    *chainp);
		goto out;
	}
	free(*chainp);
	*chainp = norm;
	norm = NULL;
	rv = 0;
out:
	free(norm);
	free(copy);
	return rv;
}

static int
finish(struct loader *ld)
{
	struct nd_conf *conf = ld->conf;
	struct nd_route_conf *r;
	size_t i, j;
	int line;

	for (i = 0; i < conf->nsinks; i++)
		if (conf->sinks[i].module == NULL) {
			failat(ld, conf->sinks[i].lineno, "[sink %s] has no "
			    "'module' key", conf->sinks[i].name);
			return -1;
		}
	for (i = 0; i < conf->nroutes; i++) {
		r = &conf->routes[i];
		if (r->sink == NULL) {
			failat(ld, r->lineno, "[route %s] has no 'sink' key",
			    r->name);
			return -1;
		}
		if (r->path == NULL && (r->path = strdup("*")) == NULL)
			goto nomem;
	}

	if (conf->nroutes == 0) {
		if (conf->nsinks == 0 &&
		    sink_append(conf, "local", "file", 0) == NULL)
			goto nomem;
		if (add_default_route(ld, conf->sinks[0].name) == NULL)
			goto nomem;
	}

	for (i = 0; i < conf->nroutes; i++) {
		r = &conf->routes[i];
		line = ld->route_sink_line[i];
		for (j = 0; j < r->nsinks; j++)
			if (resolve_chain(ld, conf, r, line, &r->sinks[j]) == -1)
				return -1;
	}
	return 0;
nomem:
	failat(ld, 0, "out of memory");
	return -1;
}

/* inih's dialect is process-wide state in Debian's build. */
struct ini_settings {
	bool	 multiline;
	bool	 bom;
	bool	 inline_comments;
	char	*inline_prefixes;
	char	*start_prefixes;
	int	 max_line;
	bool	 stop_on_first_error;
	bool	 no_value;
};

static void
ini_settings_get(struct ini_settings *s)
{
	s->multiline = ini_allow_multiline;
	s->bom = ini_allow_bom;
	s->inline_comments = ini_allow_inline_comments;
	s->inline_prefixes = ini_inline_comment_prefixes;
	s->start_prefixes = ini_start_comment_prefixes;
	s->max_line = ini_max_line;
	s->stop_on_first_error = ini_stop_on_first_error;
	s->no_value = ini_allow_no_value;
}

static void
ini_settings_set(const struct ini_settings *s)
{
	ini_allow_multiline = s->multiline;
	ini_allow_bom = s->bom;
	ini_allow_inline_comments = s->inline_comments;
	ini_inline_comment_prefixes = s->inline_prefixes;
	ini_start_comment_prefixes = s->start_prefixes;
	ini_max_line = s->max_line;
	ini_stop_on_first_error = s->stop_on_first_error;
	ini_allow_no_value = s->no_value;
}

/*
 * Not thread-safe (inih's settings are globals): load the configuration
 * at startup or from one thread at a time.
 */
static struct nd_conf *
load(FILE *fp, const char *text, const char *name, char *err, size_t errlen)
{
	static char inline_prefixes[] = ";";
	static char start_prefixes[] = ";#";
	struct ini_settings saved, ours;
	struct loader *ld;
	struct nd_conf *conf = NULL;
	int rc;

	seterr(err, errlen, "%s", "");
	/* Heap, not stack: the loader carries a line buffer. */
	if ((ld = calloc(1, sizeof(*ld))) == NULL) {
		seterr(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	ld->name = name;
	ld->fp = fp;
	ld->text = text;
	ld->err = err;
	ld->errlen = errlen;
	ld->kind = SEC_SERVER;
	if ((ld->conf = conf_new(name)) == NULL) {
		failat(ld, 0, "out of memory");
		goto done;
	}

	ini_settings_get(&saved);
	/*
	 * Multi-line values off: an indented "key = value" is a key, not
	 * the continuation of the previous value. Inline ';' comments on.
	 * inih needs 3 bytes beyond the longest line.
	 */
	ours.multiline = false;
	ours.bom = true;
	ours.inline_comments = true;
	ours.inline_prefixes = inline_prefixes;
	ours.start_prefixes = start_prefixes;
	ours.max_line = ND_CONF_MAX_LINE + 3;
	ours.stop_on_first_error = true;
	ours.no_value = false;
	ini_settings_set(&ours);
	rc = ini_parse_stream(conf_reader, ld, conf_handler, ld);
	ini_settings_set(&saved);

	if (ld->failed)
		goto done;
	if (rc == -2) {
		failat(ld, 0, "out of memory");
		goto done;
	}
	if (rc != 0) {
		/* inih's own complaint: a line that is neither kind. */
		if (rc == ld->lineno)
			failat(ld, rc, "expected 'key = value' or "
			    "'[section]', got '%.*s'", ld->textlen, ld->line);
		else
			failat(ld, rc, "syntax error");
		goto done;
	}
	if (finish(ld) == -1)
		goto done;
	conf = ld->conf;
	ld->conf = NULL;
done:
	nd_conf_free(ld->conf);
	free(ld->route_sink_line);
	free(ld);
	return conf;
}

struct nd_conf *
nd_conf_load_file(const char *path, char *err, size_t errlen)
{
	struct nd_conf *conf;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		seterr(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	conf = load(fp, NULL, path, err, errlen);
	fclose(fp);
	return conf;
}

struct nd_conf *
nd_conf_load_string(const char *text, const char *name, char *err,
    size_t errlen)
{
	return load(NULL, text != NULL ? text : "",
	    name != NULL ? name : "<string>", err, errlen);
}

struct nd_conf *
nd_conf_default(char *err, size_t errlen)
{
	/* An empty file gets the built-in sink and route: reuse that. */
	return nd_conf_load_string("", "built-in", err, errlen);
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
	static const char units[] = "TGMk";
	unsigned shift;
	size_t i;

	for (i = 0, shift = 40; i < sizeof(units) - 1; i++, shift -= 10)
		if (v != 0 && (v & (((uint64_t)1 << shift) - 1)) == 0) {
			fprintf(fp, "%s = %" PRIu64 "%c\n", key, v >> shift,
			    units[i]);
			return;
		}
	fprintf(fp, "%s = %" PRIu64 "\n", key, v);
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
print_min_free(const struct nd_server_conf *sv, const char *key, FILE *fp)
{
	if (sv->min_free_percent > 0)
		fprintf(fp, "%s = %u%%\n", key, sv->min_free_percent);
	else
		print_size(fp, key, sv->min_free_bytes);
}

/* One line per row, in table order, each in the form it reads back. */
static void
server_print(const struct nd_server_conf *sv, FILE *fp)
{
	const struct server_opt *o;
	const void *field;
	size_t i;

	for (i = 0; i < NSERVER_OPTS; i++) {
		o = &server_opts[i];
		field = (const char *)sv + o->off;
		switch (o->type) {
		case SO_STRING:
		case SO_OPTSTRING:
			print_string(fp, o->name, *(char *const *)field);
			break;
		case SO_BOOL:
			fprintf(fp, "%s = %s\n", o->name,
			    *(const bool *)field ? "yes" : "no");
			break;
		case SO_UINT:
		case SO_PORT:
			fprintf(fp, "%s = %u\n", o->name,
			    o->type == SO_PORT ? *(const uint16_t *)field :
			    *(const unsigned *)field);
			break;
		case SO_SIZE:
			print_size(fp, o->name, *(const uint64_t *)field);
			break;
		case SO_CIDRS:
			print_cidrs(fp, o->name,
			    *(struct nd_cidr *const *)field,
			    *(const size_t *)(const void *)((const char *)sv +
			    o->count_off));
			break;
		case SO_CUSTOM:
			o->print(sv, o->name, fp);
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
}
