/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The [server] section: its key handler, and one table row per key (name,
 * alias, type, field, range, default, description) read, defaulted, freed
 * and printed by the generic code here, with the checks, parsers and
 * printers of the keys that have their own rules. Also the value parsers
 * and CIDR lists it shares with the sinks, and the printing of a whole
 * configuration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf_int.h"
#include "log.h"

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

_Static_assert(NSERVER_OPTS <= ND_SERVER_OPTS_MAX,
    "the loader keeps a line per [server] row: raise ND_SERVER_OPTS_MAX");

/*
 * Red Hat keys with no meaning here. They are refused like any unknown
 * key, but with a message that says why.
 */
static const char *const redhat_only_keys[] = {
	"space_check", "skip_zero", "compress", "debug", "verbose",
};

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

/* Free what the [server] rows point to: strings and network lists. */
void
conf_server_clear(struct nd_server_conf *sv)
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
int
conf_server_defaults(struct nd_server_conf *sv)
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

void
conf_server_key(struct loader *ld, const char *key, const char *value)
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
