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
 *
 * The [server] section (its option rows and key handler) and the
 * printing are in conf_server.c, the value parsers in option.c.
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
#include "conf_int.h"
#include "log.h"

void
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
void
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
	for (i = 0; i < conf->nnotifies; i++)
		notify_conf_clear(&conf->notifies[i]);
	free(conf->notifies);
	conf_server_clear(&conf->server);
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
	    conf_server_defaults(&conf->server) == -1) {
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
	if (strcmp(type, "notify") == 0) {
		notify_begin(ld, name, line);
		return;
	}
	if (strcmp(type, "sink") != 0 && strcmp(type, "route") != 0) {
		failat(ld, line, "unknown section [%s%s%s]: expected "
		    "[server], [sink NAME], [route NAME] or [notify NAME]",
		    type, *name != '\0' ? " " : "", name);
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
	if (r->nsinks > ND_ROUTE_MAX_CHAINS) {
		failat(ld, ld->lineno, "[route %s] %s: %zu chains; a route "
		    "has %d at most", r->name, key, r->nsinks,
		    ND_ROUTE_MAX_CHAINS);
		return;
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
		conf_server_key(ld, key, value);
		break;
	case SEC_SINK:
		sink_key(ld, key, value);
		break;
	case SEC_ROUTE:
		route_key(ld, key, value);
		break;
	case SEC_NOTIFY:
		notify_key(ld, key, value);
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

/*
 * Whether chain j of the route is one listed before it: it would store
 * every dump twice the same way (the s3 sink under the same keys).
 */
static bool
listed_twice(struct loader *ld, const struct nd_route_conf *r, int line,
    size_t j)
{
	size_t k;

	for (k = 0; k < j; k++)
		if (strcmp(r->sinks[k], r->sinks[j]) == 0) {
			failat(ld, line, "[route %s] sink: '%s' is listed "
			    "twice", r->name, r->sinks[j]);
			return true;
		}
	return false;
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
			if (resolve_chain(ld, conf, r, line, &r->sinks[j]) == -1 ||
			    listed_twice(ld, r, line, j))
				return -1;
	}
	return notify_finish(ld);
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

