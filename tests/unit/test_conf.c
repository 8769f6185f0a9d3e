/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the configuration loader (core/conf.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "digest.h"

#define IP(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
			    (uint32_t)(c) << 8 | (uint32_t)(d))

static struct nd_conf *
load(const char *text)
{
	char err[ND_CONF_ERRSIZE];
	struct nd_conf *conf;

	conf = nd_conf_load_string(text, "t.ini", err, sizeof(err));
	if (conf == NULL)
		fail_msg("unexpected error: %s", err);
	return conf;
}

/* Nullable strings are equal. */
static void
assert_str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Everything but the source name and line numbers is equal. */
static void
assert_conf_equal(const struct nd_conf *a, const struct nd_conf *b)
{
	const struct nd_server_conf *x = &a->server, *y = &b->server;
	size_t i, j;

	assert_string_equal(x->address, y->address);
	assert_int_equal(x->port, y->port);
	assert_string_equal(x->dumpdir, y->dumpdir);
	assert_int_equal(x->timeout, y->timeout);
	assert_str_same(x->sink_dir, y->sink_dir);
	assert_true(x->max_dump_size == y->max_dump_size);
	assert_string_equal(x->default_path, y->default_path);
	assert_int_equal(x->max_concurrent_dumps, y->max_concurrent_dumps);
	assert_str_same(x->pidfile, y->pidfile);
	assert_int_equal(x->daemon, y->daemon);
	assert_int_equal(x->secure, y->secure);
	assert_int_equal(x->grace, y->grace);

	assert_int_equal(a->nsinks, b->nsinks);
	for (i = 0; i < a->nsinks; i++) {
		assert_string_equal(a->sinks[i].name, b->sinks[i].name);
		assert_string_equal(a->sinks[i].module, b->sinks[i].module);
		assert_int_equal(a->sinks[i].nopts, b->sinks[i].nopts);
		for (j = 0; j < a->sinks[i].nopts; j++) {
			assert_string_equal(a->sinks[i].opts[j].key,
			    b->sinks[i].opts[j].key);
			assert_string_equal(a->sinks[i].opts[j].value,
			    b->sinks[i].opts[j].value);
		}
	}
	assert_int_equal(a->nroutes, b->nroutes);
	for (i = 0; i < a->nroutes; i++) {
		const struct nd_route_conf *r = &a->routes[i];
		const struct nd_route_conf *s = &b->routes[i];

		assert_string_equal(r->name, s->name);
		assert_string_equal(r->path, s->path);
		assert_int_equal(r->has_client, s->has_client);
		if (r->has_client) {
			assert_int_equal(r->client.addr, s->client.addr);
			assert_int_equal(r->client.mask, s->client.mask);
			assert_int_equal(r->client.prefix, s->client.prefix);
		}
		assert_string_equal(r->sink, s->sink);
		assert_int_equal(r->nsinks, s->nsinks);
		for (j = 0; j < r->nsinks; j++)
			assert_string_equal(r->sinks[j], s->sinks[j]);
	}
}

static void
assert_builtin_defaults(const struct nd_conf *conf)
{
	const struct nd_server_conf *sv = &conf->server;

	assert_string_equal(sv->address, "0.0.0.0");
	assert_int_equal(sv->port, 20023);
	assert_string_equal(sv->dumpdir, "/var/crash");
	assert_int_equal(sv->timeout, 60);
	assert_null(sv->sink_dir);
	assert_true(sv->max_dump_size == (uint64_t)1 << 40);
	assert_string_equal(sv->default_path, ".");
	assert_int_equal(sv->max_concurrent_dumps, 16);
	assert_int_equal(sv->worker_nice, 19);
	assert_int_equal(sv->digest, ND_DIGEST_SHA256);
	assert_null(sv->pidfile);
	assert_false(sv->daemon);
	assert_false(sv->secure);
	assert_int_equal(sv->grace, 30);
	/* The limits a hostile sender meets. */
	assert_int_equal(sv->restart_silence, 10);
	assert_int_equal(sv->max_dumps_per_client, 2);
	assert_int_equal(sv->max_heralded_per_client, 4);
	assert_int_equal(sv->max_hooks, 16);
	/* Inside a kernel's ~12 s of HERALD retransmissions. */
	assert_int_equal(sv->herald_hook_deadline, 8);
	assert_string_equal(sv->runtime_dir, "/run/netdump-server");
	assert_null(sv->status_socket);
}

/* The sink "local" (module file) and the route "default" to it. */
static void
assert_builtin_routing(const struct nd_conf *conf)
{
	assert_int_equal(conf->nsinks, 1);
	assert_string_equal(conf->sinks[0].name, "local");
	assert_string_equal(conf->sinks[0].module, "file");
	assert_int_equal(conf->sinks[0].nopts, 0);
	assert_int_equal(conf->nroutes, 1);
	assert_string_equal(conf->routes[0].name, "default");
	assert_string_equal(conf->routes[0].path, "*");
	assert_false(conf->routes[0].has_client);
	assert_string_equal(conf->routes[0].sink, "local");
	assert_int_equal(conf->routes[0].nsinks, 1);
	assert_string_equal(conf->routes[0].sinks[0], "local");
}

static void
test_defaults(void **state)
{
	char err[ND_CONF_ERRSIZE];
	struct nd_conf *conf;

	(void)state;
	conf = nd_conf_default(err, sizeof(err));
	assert_non_null(conf);
	assert_string_equal(conf->source, "built-in");
	assert_builtin_defaults(conf);
	assert_builtin_routing(conf);
	nd_conf_free(conf);

	/* An empty file, or only comments, means the same. */
	conf = load("; nothing\n# here\n\n");
	assert_string_equal(conf->source, "t.ini");
	assert_builtin_defaults(conf);
	assert_builtin_routing(conf);
	nd_conf_free(conf);

	nd_conf_free(NULL);
}

static void
test_server_keys(void **state)
{
	const struct nd_server_conf *sv;
	struct nd_conf *conf;

	(void)state;
	conf = load(
	    "[server]\n"
	    "address = 192.0.2.1\n"
	    "port = 6666\n"
	    "dumpdir = /srv/crash\n"
	    "timeout = 600\n"
	    "sink_dir = /opt/sinks\n"
	    "max_dump_size = 512M\n"
	    "default_path = lab/x\n"
	    "max_concurrent_dumps = 4\n"
	    "pidfile = /run/netdump-server.pid\n"
	    "daemon = yes\n"
	    "secure = on\n"
	    "grace = 0\n");
	sv = &conf->server;
	assert_string_equal(sv->address, "192.0.2.1");
	assert_int_equal(sv->port, 6666);
	assert_string_equal(sv->dumpdir, "/srv/crash");
	assert_int_equal(sv->timeout, 600);
	assert_string_equal(sv->sink_dir, "/opt/sinks");
	assert_true(sv->max_dump_size == 512ull << 20);
	assert_string_equal(sv->default_path, "lab/x");
	assert_int_equal(sv->max_concurrent_dumps, 4);
	assert_string_equal(sv->pidfile, "/run/netdump-server.pid");
	assert_true(sv->daemon);
	assert_true(sv->secure);
	assert_int_equal(sv->grace, 0);
	assert_builtin_routing(conf);
	nd_conf_free(conf);

	/* Bounds, aliases, other spellings. */
	conf = load(
	    "port = 65535\n"
	    "concurrent = 65535\n"
	    "timeout = 86400\n"
	    "grace = 3600\n"
	    "max_dump_size = 1\n"
	    "daemon = FALSE\n"
	    "secure = 0\n"
	    "addr = 127.0.0.1\n"
	    "dumpdirprefix = \"/var/spool/netdump\"\n"
	    "default_path = ./a/./b\n");
	sv = &conf->server;
	assert_int_equal(sv->port, 65535);
	assert_int_equal(sv->max_concurrent_dumps, 65535);
	assert_int_equal(sv->timeout, 86400);
	assert_int_equal(sv->grace, 3600);
	assert_true(sv->max_dump_size == 1);
	assert_false(sv->daemon);
	assert_false(sv->secure);
	assert_string_equal(sv->address, "127.0.0.1");
	assert_string_equal(sv->dumpdir, "/var/spool/netdump");
	assert_string_equal(sv->default_path, "./a/./b");
	nd_conf_free(conf);

	conf = load(
	    "restart_silence = 0\n"
	    "max_dumps_per_client = 1\n"
	    "max_heralded_per_client = 256\n"
	    "max_hooks = 4096\n"
	    "runtime_dir = /var/run/nd\n");
	sv = &conf->server;
	assert_int_equal(sv->restart_silence, 0);
	assert_int_equal(sv->max_dumps_per_client, 1);
	assert_int_equal(sv->max_heralded_per_client, 256);
	assert_int_equal(sv->max_hooks, 4096);
	assert_string_equal(sv->runtime_dir, "/var/run/nd");
	nd_conf_free(conf);

	/* Empty pidfile and sink_dir mean "none", as when unset. */
	conf = load("pidfile =\nsink_dir = \"\"\n");
	assert_null(conf->server.pidfile);
	assert_null(conf->server.sink_dir);
	nd_conf_free(conf);
}

/* An old Red Hat /etc/netdump.conf: no sections, any case, quotes. */
static void
test_netdump_conf(void **state)
{
	const struct nd_server_conf *sv;
	struct nd_conf *conf;

	(void)state;
	conf = load(
	    "# /etc/netdump.conf\n"
	    "PORT=6666\n"
	    "max_concurrent_dumps=4\n"
	    "daemon=yes\n"
	    "pidfile=\"/run/x.pid\"\n"
	    "Secure=true\n");
	sv = &conf->server;
	assert_int_equal(sv->port, 6666);
	assert_int_equal(sv->max_concurrent_dumps, 4);
	assert_true(sv->daemon);
	assert_string_equal(sv->pidfile, "/run/x.pid");
	assert_true(sv->secure);
	assert_string_equal(sv->dumpdir, "/var/crash");
	assert_builtin_routing(conf);
	nd_conf_free(conf);

	/* Keys before [server] and inside it are the same section. */
	conf = load("port = 1\n[server]\ntimeout = 5\n");
	assert_int_equal(conf->server.port, 1);
	assert_int_equal(conf->server.timeout, 5);
	nd_conf_free(conf);
}

static void
test_syntax_details(void **state)
{
	struct nd_conf *conf;
	int saved_max_line;

	(void)state;
	saved_max_line = ini_max_line;
	/* BOM, CRLF, inline comments, ':' as separator, quotes kept inside. */
	conf = load(
	    "\xef\xbb\xbfport = 7 ; a comment\r\n"
	    "dumpdir = \"/srv/crash dumps\" ; quoted\r\n"
	    "timeout: 9\r\n"
	    "\r\n"
	    "[ sink  s1 ] ; comment\n"
	    "module = file\n"
	    "hash = a#b;c\n"
	    "  indented = \"kept\"\n"
	    "[route r]\n"
	    "  path = prod/*\n"
	    "  sink = s1\n");
	assert_int_equal(conf->server.port, 7);
	assert_string_equal(conf->server.dumpdir, "/srv/crash dumps");
	assert_int_equal(conf->server.timeout, 9);
	assert_int_equal(conf->nsinks, 1);
	assert_string_equal(conf->sinks[0].name, "s1");
	assert_int_equal(conf->sinks[0].lineno, 5);
	assert_int_equal(conf->sinks[0].nopts, 2);
	assert_string_equal(conf->sinks[0].opts[0].key, "hash");
	assert_string_equal(conf->sinks[0].opts[0].value, "a#b;c");
	assert_int_equal(conf->sinks[0].opts[0].lineno, 7);
	/* Sink options are the module's business: no unquoting. */
	assert_string_equal(conf->sinks[0].opts[1].key, "indented");
	assert_string_equal(conf->sinks[0].opts[1].value, "\"kept\"");
	assert_int_equal(conf->sinks[0].opts[1].lineno, 8);
	assert_int_equal(conf->nroutes, 1);
	assert_string_equal(conf->routes[0].path, "prod/*");
	assert_int_equal(conf->routes[0].lineno, 9);
	nd_conf_free(conf);
	/* inih's settings are process-wide: they are put back. */
	assert_int_equal(ini_max_line, saved_max_line);
}

static void
test_sinks_and_routes(void **state)
{
	const struct nd_route_conf *r;
	struct nd_conf *conf;

	(void)state;
	conf = load(
	    "[route prod]\n"
	    "path = prod/*\n"
	    "client = 10.1.2.3/16\n"
	    "sink = zstd | bucket,  s3 ,local\n"
	    "[sink local]\n"
	    "module = file\n"
	    "layout = redhat\n"
	    "fsync = yes\n"
	    "[route other]\n"
	    "sink = local\n");
	/* Explicit sections first, then the modules named directly. */
	assert_int_equal(conf->nsinks, 4);
	assert_string_equal(conf->sinks[0].name, "local");
	assert_string_equal(conf->sinks[0].module, "file");
	assert_int_equal(conf->sinks[0].nopts, 2);
	assert_string_equal(conf->sinks[0].opts[0].key, "layout");
	assert_string_equal(conf->sinks[0].opts[0].value, "redhat");
	assert_string_equal(conf->sinks[0].opts[1].key, "fsync");
	assert_int_equal(conf->sinks[0].opts[1].lineno, 8);
	/* Every stage of a chain resolves too, in the order written. */
	assert_string_equal(conf->sinks[1].name, "zstd");
	assert_string_equal(conf->sinks[2].name, "bucket");
	assert_string_equal(conf->sinks[3].name, "s3");
	assert_string_equal(conf->sinks[3].module, "s3");
	assert_int_equal(conf->sinks[3].nopts, 0);
	assert_ptr_equal(nd_conf_sink_find(conf, "s3"), &conf->sinks[3]);

	assert_int_equal(conf->nroutes, 2);
	r = &conf->routes[0];
	assert_string_equal(r->name, "prod");
	assert_int_equal(r->lineno, 1);
	assert_true(r->has_client);
	/* Host bits are masked off. */
	assert_int_equal(r->client.addr, IP(10, 1, 0, 0));
	assert_int_equal(r->client.mask, 0xffff0000u);
	assert_int_equal(r->client.prefix, 16);
	assert_string_equal(r->sink, "zstd | bucket,  s3 ,local");
	assert_int_equal(r->nsinks, 3);
	/* A chain stays one element, in one spelling. */
	assert_string_equal(r->sinks[0], "zstd | bucket");
	assert_string_equal(r->sinks[1], "s3");
	assert_string_equal(r->sinks[2], "local");
	r = &conf->routes[1];
	assert_string_equal(r->path, "*");
	assert_false(r->has_client);
	nd_conf_free(conf);

	/* Sinks but no route: "default" goes to the first sink. */
	conf = load("[sink b]\nmodule = s3\n[sink a]\nmodule = file\n");
	assert_int_equal(conf->nsinks, 2);
	assert_int_equal(conf->nroutes, 1);
	assert_string_equal(conf->routes[0].name, "default");
	assert_string_equal(conf->routes[0].path, "*");
	assert_int_equal(conf->routes[0].nsinks, 1);
	assert_string_equal(conf->routes[0].sinks[0], "b");
	nd_conf_free(conf);

	/*
	 * Routes but no sink section: modules named directly, each given
	 * one section however often it is named.
	 */
	conf = load("[route r]\nsink = file, zstd | file\n");
	assert_int_equal(conf->nsinks, 2);
	assert_string_equal(conf->sinks[0].name, "file");
	assert_string_equal(conf->sinks[0].module, "file");
	assert_int_equal(conf->sinks[0].lineno, 2);
	assert_string_equal(conf->sinks[1].name, "zstd");
	nd_conf_free(conf);
}

static void
test_route_match(void **state)
{
	const struct nd_route_conf *r;
	struct nd_conf *conf;

	(void)state;
	conf = load(
	    "[route prod-net]\n"
	    "path = prod/*\n"
	    "client = 10.1.0.0/16\n"
	    "sink = file\n"
	    "[route prod]\n"
	    "path = prod/*\n"
	    "sink = file\n"
	    "[route one-host]\n"
	    "client = 192.0.2.7\n"
	    "sink = file\n"
	    "[route default]\n"
	    "path = *\n"
	    "sink = file\n"
	    "[route never]\n"
	    "path = prod/*\n"
	    "sink = file\n");
	r = nd_conf_route_match(conf, "prod/web1", IP(10, 1, 200, 3));
	assert_non_null(r);
	assert_string_equal(r->name, "prod-net");
	r = nd_conf_route_match(conf, "prod/web1", IP(10, 2, 0, 1));
	assert_string_equal(r->name, "prod");
	r = nd_conf_route_match(conf, "lab", IP(192, 0, 2, 7));
	assert_string_equal(r->name, "one-host");
	r = nd_conf_route_match(conf, "lab", IP(192, 0, 2, 8));
	assert_string_equal(r->name, "default");
	/* No FNM_PATHNAME: "*" matches across '/'. */
	r = nd_conf_route_match(conf, "a/b/c", IP(10, 1, 0, 1));
	assert_string_equal(r->name, "default");
	r = nd_conf_route_match(conf, "", 0);
	assert_string_equal(r->name, "default");
	nd_conf_free(conf);

	conf = load("[route only]\npath = x?\nsink = file\n");
	assert_non_null(nd_conf_route_match(conf, "x1", 0));
	assert_null(nd_conf_route_match(conf, "x", 0));
	assert_null(nd_conf_route_match(conf, "y1", 0));
	nd_conf_free(conf);
}

static void
test_cidr(void **state)
{
	static const char *const bad[] = {
		"", "/8", "10", "10.0.0", "10.0.0.0/", "10.0.0.0/33",
		"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/8x",
		"10.0.0.0/8/8", "10.0.0.0 /8", " 10.0.0.0", "010.0.0.1",
		"256.0.0.1", "10.0.0.0/123", "::1", "10.0.0.0.0",
		"1.2.3.4.5.6.7.8.9/8",
	};
	struct nd_cidr c;
	size_t i;

	(void)state;
	assert_int_equal(nd_cidr_parse("192.0.2.7", &c), 0);
	assert_int_equal(c.addr, IP(192, 0, 2, 7));
	assert_int_equal(c.mask, 0xffffffffu);
	assert_int_equal(c.prefix, 32);
	assert_true(nd_cidr_match(&c, IP(192, 0, 2, 7)));
	assert_false(nd_cidr_match(&c, IP(192, 0, 2, 6)));

	assert_int_equal(nd_cidr_parse("10.0.0.0/8", &c), 0);
	assert_int_equal(c.addr, IP(10, 0, 0, 0));
	assert_int_equal(c.mask, 0xff000000u);
	assert_true(nd_cidr_match(&c, IP(10, 255, 1, 2)));
	assert_false(nd_cidr_match(&c, IP(11, 0, 0, 0)));

	assert_int_equal(nd_cidr_parse("172.16.5.4/12", &c), 0);
	assert_int_equal(c.addr, IP(172, 16, 0, 0));
	assert_int_equal(c.prefix, 12);
	assert_true(nd_cidr_match(&c, IP(172, 31, 255, 255)));
	assert_false(nd_cidr_match(&c, IP(172, 32, 0, 0)));

	assert_int_equal(nd_cidr_parse("1.2.3.4/0", &c), 0);
	assert_int_equal(c.addr, 0);
	assert_int_equal(c.mask, 0);
	assert_true(nd_cidr_match(&c, IP(255, 255, 255, 255)));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (nd_cidr_parse(bad[i], &c) != -1)
			fail_msg("'%s' parsed as a network", bad[i]);
	assert_int_equal(nd_cidr_parse(NULL, &c), -1);
}

static void
test_value_parsers(void **state)
{
	static const char *const badsize[] = {
		"", "abc", "-1", "+1", " 1", "1 ", "1KB", "1.5G", "0x10",
		"1P", "K", "18446744073709551616", "16777216T",
		"18014398509481984k",
	};
	static const char *const baduint[] = {
		"", "-1", "+1", " 1", "1x", "0x1", "1e3", "65536",
		"99999999999999999999",
	};
	char err[ND_CONF_ERRSIZE];
	uint64_t u;
	bool b;
	size_t i;

	(void)state;
	assert_int_equal(nd_parse_size("0", &u, err, sizeof(err)), 0);
	assert_true(u == 0);
	assert_int_equal(nd_parse_size("512", &u, err, sizeof(err)), 0);
	assert_true(u == 512);
	assert_int_equal(nd_parse_size("4k", &u, err, sizeof(err)), 0);
	assert_true(u == 4096);
	assert_int_equal(nd_parse_size("512M", &u, err, sizeof(err)), 0);
	assert_true(u == 512ull << 20);
	assert_int_equal(nd_parse_size("3g", &u, err, sizeof(err)), 0);
	assert_true(u == 3ull << 30);
	assert_int_equal(nd_parse_size("1T", &u, err, sizeof(err)), 0);
	assert_true(u == 1ull << 40);
	assert_int_equal(nd_parse_size("16777215T", &u, err, sizeof(err)),
	    0);
	assert_true(u == 16777215ull << 40);
	assert_int_equal(nd_parse_size("18446744073709551615", &u, err,
	    sizeof(err)), 0);
	assert_true(u == UINT64_MAX);
	for (i = 0; i < sizeof(badsize) / sizeof(badsize[0]); i++) {
		err[0] = '\0';
		if (nd_parse_size(badsize[i], &u, err, sizeof(err)) != -1)
			fail_msg("size '%s' accepted", badsize[i]);
		assert_non_null(strstr(err, badsize[i]));
	}
	nd_parse_size("abc", &u, err, sizeof(err));
	assert_string_equal(err,
	    "expected a size like 512M (suffix k, M, G or T), got 'abc'");

	assert_int_equal(nd_parse_uint("0", 65535, &u, err, sizeof(err)), 0);
	assert_true(u == 0);
	assert_int_equal(nd_parse_uint("65535", 65535, &u, err, sizeof(err)),
	    0);
	assert_true(u == 65535);
	assert_int_equal(nd_parse_uint("007", 65535, &u, err, sizeof(err)),
	    0);
	assert_true(u == 7);
	assert_int_equal(nd_parse_uint("18446744073709551615", UINT64_MAX,
	    &u, err, sizeof(err)), 0);
	assert_true(u == UINT64_MAX);
	for (i = 0; i < sizeof(baduint) / sizeof(baduint[0]); i++) {
		err[0] = '\0';
		if (nd_parse_uint(baduint[i], 65535, &u, err, sizeof(err)) !=
		    -1)
			fail_msg("number '%s' accepted", baduint[i]);
		assert_non_null(strstr(err, baduint[i]));
	}
	/* Messages are optional. */
	assert_int_equal(nd_parse_uint("x", 1, &u, NULL, 0), -1);

	for (i = 0; i < 8; i++) {
		static const char *const yes[] = { "yes", "TRUE", "On", "1" };
		static const char *const no[] = { "no", "False", "OFF", "0" };

		if (i < 4) {
			assert_int_equal(nd_parse_bool(yes[i], &b, err,
			    sizeof(err)), 0);
			assert_true(b);
		} else {
			assert_int_equal(nd_parse_bool(no[i - 4], &b, err,
			    sizeof(err)), 0);
			assert_false(b);
		}
	}
	assert_int_equal(nd_parse_bool("maybe", &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'maybe'"));
	assert_int_equal(nd_parse_bool("", &b, err, sizeof(err)), -1);
	assert_int_equal(nd_parse_bool("yess", &b, err, sizeof(err)), -1);
	assert_int_equal(nd_parse_bool("2", &b, err, sizeof(err)), -1);
}

#define X10	"xxxxxxxxxx"
#define X40	X10 X10 X10 X10

/*
 * Each bad configuration, loaded as "t.ini", and text its message must
 * contain: the place, then the key or what is wrong.
 */
static const struct {
	const char	*text;
	const char	*want[3];
} bad_confs[] = {
	/* [server] */
	{ "[server]\nport = 1\nfoo = 2\n",
	    { "t.ini:3: ", "unknown key 'foo' in [server]" } },
	{ "port = 70000\n", { "t.ini:1: ", "port", "'70000'" } },
	{ "\n\nPORT = 0\n", { "t.ini:3: ", "PORT", "from 1 to 65535" } },
	{ "port = -1\n", { "t.ini:1: ", "port", "'-1'" } },
	{ "port = 80 80\n", { "t.ini:1: ", "port" } },
	{ "daemon = maybe\n", { "t.ini:1: ", "daemon", "'maybe'" } },
	{ "secure = \n", { "t.ini:1: ", "secure" } },
	{ "max_dump_size = 12X\n",
	    { "t.ini:1: ", "max_dump_size", "size like 512M" } },
	{ "max_dump_size = 0\n", { "t.ini:1: ", "max_dump_size" } },
	{ "restart_silence = 3601\n",
	    { "t.ini:1: ", "restart_silence", "from 0 to 3600" } },
	{ "max_dumps_per_client = 0\n",
	    { "t.ini:1: ", "max_dumps_per_client", "from 1 to 65535" } },
	{ "max_heralded_per_client = 257\n",
	    { "t.ini:1: ", "max_heralded_per_client", "from 1 to 256" } },
	{ "max_hooks = 0\n", { "t.ini:1: ", "max_hooks", "from 1 to 4096" } },
	{ "min_free = 100%\n",
	    { "t.ini:1: ", "min_free", "from 0 to 99, got '100'" } },
	{ "min_free = 12x\n", { "t.ini:1: ", "min_free", "size like 512M" } },
	/* A percentage too long to read is quoted cut, and says so. */
	{ "min_free = 0000000000000000000000000000000000000000000005%\n",
	    { "t.ini:1: ", "like 5%, got "
	    "'0000000000000000000000000000000000000000...'" } },
	{ "min_free = 000000000000000000000000000000005%\n",
	    { "t.ini:1: ", "like 5%, got "
	    "'000000000000000000000000000000005%'" } },
	{ "herald_hook_deadline = 11\n",
	    { "t.ini:1: ", "herald_hook_deadline", "from 1 to 10" } },
	{ "herald_hook_deadline = 0\n",
	    { "t.ini:1: ", "herald_hook_deadline", "from 1 to 10" } },
	{ "max_dump_size = 99999999T\n", { "t.ini:1: ", "max_dump_size" } },
	{ "timeout = 0\n", { "t.ini:1: ", "timeout", "from 1 to 86400" } },
	{ "timeout = 86401\n", { "t.ini:1: ", "timeout" } },
	{ "grace = 3601\n", { "t.ini:1: ", "grace", "from 0 to 3600" } },
	{ "digest = md5\n",
	    { "t.ini:1: ", "digest", "expected one of sha256|xxh128, got 'md5'" } },
	{ "concurrent = 0\n", { "t.ini:1: ", "concurrent" } },
	{ "max_concurrent_dumps = 65536\n",
	    { "t.ini:1: ", "max_concurrent_dumps" } },
	{ "address = 10.0.0\n", { "t.ini:1: ", "address", "'10.0.0'" } },
	{ "address = localhost\n", { "t.ini:1: ", "address" } },
	{ "dumpdir =\n", { "t.ini:1: ", "dumpdir" } },
	{ "default_path = ../x\n", { "t.ini:1: ", "default_path", "'../x'" } },
	{ "default_path = a/../..\n", { "t.ini:1: ", "default_path" } },
	{ "default_path = /abs\n", { "t.ini:1: ", "default_path" } },
	{ "default_path =\n", { "t.ini:1: ", "default_path" } },
	/* The bounds of a HERALD's path (util.h): 17 directories. */
	{ "default_path = a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q\n",
	    { "t.ini:1: ", "default_path", "at most 16 directories" } },
	{ "pidfile = \"/run/x.pid\n", { "t.ini:1: ", "pidfile", "'\"'" } },
	{ "port = 1\ndaemon = no\nPort = 2\n",
	    { "t.ini:3: ", "duplicate key 'Port' in [server]", "line 1" } },
	{ "concurrent = 1\nmax_concurrent_dumps = 2\n",
	    { "t.ini:2: ", "duplicate key 'max_concurrent_dumps'" } },
	{ "verbose = 1\n", { "t.ini:1: ", "'verbose'", "not supported" } },
	{ "[server]\n[server]\n",
	    { "t.ini:2: ", "duplicate section [server]", "line 1" } },
	{ "[server main]\n", { "t.ini:1: ", "[server main]" } },
	/* Syntax */
	{ "port = 1\nflagonly\n", { "t.ini:2: ", "'flagonly'" } },
	{ "= 5\n", { "t.ini:1: ", "missing key" } },
	{ "[sink local\n", { "t.ini:1: ", "']'" } },
	{ "[sink local] x\n", { "t.ini:1: ", "after the section header" } },
	{ "[foo]\n", { "t.ini:1: ", "unknown section [foo]" } },
	{ "[Sink a]\nmodule = file\n", { "t.ini:1: ", "[Sink a]" } },
	{ "[sink]\nmodule = file\n", { "t.ini:1: ", "[sink]", "name" } },
	{ "[sink a/b]\nmodule = file\n", { "t.ini:1: ", "'a/b'" } },
	{ "[route a b]\nsink = file\n", { "t.ini:1: ", "'a b'" } },
	/* [sink] */
	{ "[sink a]\nmodule = file\n\n[sink a]\nmodule = s3\n",
	    { "t.ini:4: ", "duplicate section [sink a]", "line 1" } },
	{ "[sink a]\nlayout = redhat\n",
	    { "t.ini:1: ", "[sink a]", "'module'" } },
	{ "[sink a]\n", { "t.ini:1: ", "[sink a]", "'module'" } },
	{ "[sink a]\nmodule = File\n", { "t.ini:2: ", "module", "'File'" } },
	{ "[sink a]\nmodule = file\nmodule = s3\n",
	    { "t.ini:3: ", "duplicate key 'module'", "[sink a]" } },
	{ "[sink a]\nmodule = file\nmode = 0600\nmode = 0644\n",
	    { "t.ini:4: ", "duplicate key 'mode' in [sink a]", "line 3" } },
	/* [route] */
	{ "[route r]\nsink = file\n[route r]\nsink = file\n",
	    { "t.ini:3: ", "duplicate section [route r]", "line 1" } },
	{ "[route r]\nclient = 10.0.0.0/33\nsink = file\n",
	    { "t.ini:2: ", "client", "'10.0.0.0/33'" } },
	{ "[route r]\nclient = nowhere\nsink = file\n",
	    { "t.ini:2: ", "client", "'nowhere'" } },
	{ "[route r]\npath = *\n", { "t.ini:1: ", "[route r]", "'sink'" } },
	{ "[route r]\nsink = file\nfilter = x\n",
	    { "t.ini:3: ", "unknown key 'filter' in [route r]" } },
	{ "[route r]\nsink = file\npath = a\nPATH = b\n",
	    { "t.ini:4: ", "duplicate key 'PATH' in [route r]", "line 3" } },
	{ "[route r]\nsink = file\nsink = s3\n",
	    { "t.ini:3: ", "duplicate key 'sink'", "line 2" } },
	{ "[route r]\npath =\nsink = file\n", { "t.ini:2: ", "path" } },
	{ "[route r]\nsink = a,,b\n", { "t.ini:2: ", "sink", "empty" } },
	{ "[route r]\nsink = a b\n", { "t.ini:2: ", "sink", "'a b'" } },
	{ "[route r]\nsink = file, file\n",
	    { "t.ini:2: ", "[route r]", "'file' is listed twice" } },
	{ "[route r]\nsink = zstd|file, file,zstd | file\n",
	    { "t.ini:2: ", "[route r]", "'zstd | file' is listed twice" } },
	{ "[sink local]\nmodule = file\n[route r]\npath = *\n"
	    "sink = local, Foo-Bar\n",
	    { "t.ini:5: ", "[route r]", "'Foo-Bar'" } },
	/* [notify NAME] */
	{ "[notify]\nurl = http://x/\n", { "t.ini:1: ", "needs a name" } },
	{ "[notify n]\nevents = complete\n",
	    { "t.ini:1: ", "[notify n] has no 'url' key" } },
	{ "[notify n]\nurl = ftp://x/\n", { "t.ini:2: ", "url", "http://" } },
	{ "[notify n]\nurl = http://x/\nevents = complete boom\n",
	    { "t.ini:3: ", "events", "'complete boom'" } },
	{ "[notify n]\nurl = http://x/\nevents =\n",
	    { "t.ini:3: ", "events" } },
	{ "[notify n]\nurl = http://x/\nretries = 101\n",
	    { "t.ini:3: ", "retries", "0 to 100" } },
	{ "[notify n]\nurl = http://x/\ntimeout = 0\n",
	    { "t.ini:3: ", "timeout", "1 to 300" } },
	{ "[notify n]\nurl = http://x/\nfoo = 1\n",
	    { "t.ini:3: ", "unknown key 'foo' in [notify n]" } },
	{ "[notify n]\nurl = http://x/\nurl = http://y/\n",
	    { "t.ini:3: ", "duplicate key 'url' in [notify n]", "line 2" } },
	{ "[notify n]\nurl = http://x/\n[notify n]\nurl = http://y/\n",
	    { "t.ini:3: ", "duplicate section [notify n]", "line 1" } },
	/* What start refuses is refused when the file is read. */
	{ "[server]\nmetrics = not-an-address\n",
	    { "t.ini:2: ", "metrics", "is not ADDRESS:PORT" } },
	{ "[server]\nmetrics = 127.0.0.1:99999\n",
	    { "t.ini:2: ", "metrics", "is not ADDRESS:PORT" } },
	{ "[server]\nstatus_socket = /" X40 X40 X40 "\n",
	    { "t.ini:2: ", "status_socket", "too long (121 bytes, at most 107)" } },
	{ "[server]\nuser = nd-no-such-user\n",
	    { "t.ini:2: ", "user", "no user 'nd-no-such-user'" } },
};

/*
 * What one [server] key cannot say about another, checked once the
 * command line had its say (--port may make port equal to linux_port).
 */
static void
test_server_cross_checks(void **state)
{
	char err[ND_CONF_ERRSIZE];
	struct nd_conf *conf;

	(void)state;
	conf = load("[server]\nport = 27001\nlinux_port = 27002\n");
	assert_int_equal(nd_conf_server_check(&conf->server, "t.ini", err,
	    sizeof(err)), 0);
	conf->server.port = 27002;		/* --port 27002 */
	assert_int_equal(nd_conf_server_check(&conf->server, "t.ini", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "linux_port 27002 is the port of HERALDs"));
	nd_conf_free(conf);

	conf = load("[server]\nruntime_dir =\n");
	assert_int_equal(nd_conf_server_check(&conf->server, "t.ini", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "runtime_dir is empty"));
	nd_conf_free(conf);
	conf = load("[server]\nruntime_dir =\nstatus_socket = /run/x.sock\n");
	assert_int_equal(nd_conf_server_check(&conf->server, "t.ini", err,
	    sizeof(err)), 0);
	nd_conf_free(conf);
}

static void
test_errors(void **state)
{
	char err[ND_CONF_ERRSIZE];
	struct nd_conf *conf;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(bad_confs) / sizeof(bad_confs[0]); i++) {
		strcpy(err, "untouched");
		conf = nd_conf_load_string(bad_confs[i].text, "t.ini", err,
		    sizeof(err));
		if (conf != NULL) {
			nd_conf_free(conf);
			fail_msg("case %zu loaded: %s", i, bad_confs[i].text);
		}
		for (j = 0; j < 3 && bad_confs[i].want[j] != NULL; j++)
			if (strstr(err, bad_confs[i].want[j]) == NULL)
				fail_msg("case %zu: \"%s\" not in \"%s\"", i,
				    bad_confs[i].want[j], err);
		/* The place comes first. */
		assert_true(strncmp(err, "t.ini:", 6) == 0);
	}
	/* A NULL or empty err buffer is allowed. */
	assert_null(nd_conf_load_string("[foo]\n", "t.ini", NULL, 0));
	assert_null(nd_conf_load_string("[foo]\n", "t.ini", err, 0));
}

static char *
long_line_conf(size_t valuelen, const char *eol)
{
	static const char head[] = "[sink a]\nmodule = file\nx = ";
	size_t len = sizeof(head) - 1 + valuelen + strlen(eol) + 16;
	char *text;

	text = malloc(len);
	assert_non_null(text);
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, 'v', valuelen);
	snprintf(text + sizeof(head) - 1 + valuelen, 16 + strlen(eol),
	    "%sy = 1\n", eol);
	return text;
}

static char *
write_temp(const char *text, size_t len)
{
	char *path;
	FILE *fp;
	int fd;

	path = strdup("/tmp/test_conf.XXXXXX");
	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static void
test_long_line(void **state)
{
	char err[ND_CONF_ERRSIZE];
	struct nd_conf *conf;
	char *text, *path;
	size_t i;

	(void)state;
	/* "x = " and the value: exactly 4096 bytes is still fine ... */
	for (i = 0; i < 2; i++) {
		text = long_line_conf(4092, i == 0 ? "\n" : "\r\n");
		conf = load(text);
		assert_int_equal(conf->sinks[0].nopts, 2);
		assert_int_equal(strlen(conf->sinks[0].opts[0].value), 4092);
		assert_int_equal(conf->sinks[0].opts[1].lineno, 4);
		nd_conf_free(conf);
		/* ... from a file too. */
		path = write_temp(text, strlen(text));
		conf = nd_conf_load_file(path, err, sizeof(err));
		if (conf == NULL)
			fail_msg("%s", err);
		assert_int_equal(strlen(conf->sinks[0].opts[0].value), 4092);
		nd_conf_free(conf);
		unlink(path);
		free(path);
		free(text);
	}

	/* ... one more is an error, not a silent cut. */
	text = long_line_conf(4093, "\n");
	assert_null(nd_conf_load_string(text, "t.ini", err, sizeof(err)));
	assert_string_equal(err, "t.ini:3: line is longer than 4096 bytes");
	path = write_temp(text, strlen(text));
	assert_null(nd_conf_load_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":3: line is longer than 4096 bytes"));
	assert_true(strncmp(err, path, strlen(path)) == 0);
	unlink(path);
	free(path);
	free(text);

	/* A huge line, last in the file, without a newline. */
	text = malloc(100001);
	assert_non_null(text);
	memset(text, 'k', 100000);
	text[100000] = '\0';
	memcpy(text, "port = 1\n", 9);
	assert_null(nd_conf_load_string(text, "t.ini", err, sizeof(err)));
	assert_string_equal(err, "t.ini:2: line is longer than 4096 bytes");
	path = write_temp(text, 100000);
	assert_null(nd_conf_load_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":2: line is longer than 4096 bytes"));
	unlink(path);
	free(path);
	free(text);
}

static void
test_files(void **state)
{
	static const char nul[] = "port = 1\nda\0emon = yes\n";
	char err[ND_CONF_ERRSIZE];
	char *path;

	(void)state;
	assert_null(nd_conf_load_file("/nonexistent/netdump-server.ini", err,
	    sizeof(err)));
	assert_string_equal(err, "cannot open /nonexistent/netdump-server.ini:"
	    " No such file or directory");

	/* A directory opens, but does not read. */
	assert_null(nd_conf_load_file("/", err, sizeof(err)));
	assert_non_null(strstr(err, "/: "));

	path = write_temp(nul, sizeof(nul) - 1);
	assert_null(nd_conf_load_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":2: NUL byte"));
	unlink(path);
	free(path);
}

static void
round_trip(const struct nd_conf *conf)
{
	char err[ND_CONF_ERRSIZE];
	struct nd_conf *again, *third;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	FILE *fp;

	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	nd_conf_print(conf, fp);
	assert_int_equal(fclose(fp), 0);
	again = nd_conf_load_string(text, "printed", err, sizeof(err));
	if (again == NULL)
		fail_msg("%s\n%s", err, text);
	assert_conf_equal(conf, again);

	/* And printing is stable. */
	fp = open_memstream(&text2, &len2);
	assert_non_null(fp);
	nd_conf_print(again, fp);
	assert_int_equal(fclose(fp), 0);
	third = nd_conf_load_string(text2, "printed", err, sizeof(err));
	assert_non_null(third);
	assert_conf_equal(again, third);
	assert_non_null(strstr(text, "[server]\naddress = "));
	nd_conf_free(third);
	nd_conf_free(again);
	free(text2);
	free(text);
}

static void
test_print_round_trip(void **state)
{
	char err[ND_CONF_ERRSIZE];
	struct nd_conf *conf;

	(void)state;
	conf = nd_conf_default(err, sizeof(err));
	assert_non_null(conf);
	round_trip(conf);
	nd_conf_free(conf);

	conf = load(
	    "address = 10.0.0.1\n"
	    "port = 6666\n"
	    "dumpdir = \"  /srv/odd dir \"\n"
	    "timeout = 7\n"
	    "sink_dir = \"\"q\"\"\n"
	    "max_dump_size = 1536M\n"
	    "default_path = a/b\n"
	    "max_concurrent_dumps = 3\n"
	    "pidfile = /run/n.pid\n"
	    "daemon = on\n"
	    "secure = 1\n"
	    "grace = 0\n"
	    "[sink local]\n"
	    "module = file\n"
	    "layout = netdumpd\n"
	    "mode = \"0640\"\n"
	    "[sink bucket]\n"
	    "module = s3\n"
	    "endpoint = https://s3.example.net/a;b\n"
	    "[route prod]\n"
	    "path = prod/[ab]*\n"
	    "client = 10.1.0.0/16\n"
	    "sink = zstd | bucket, local, tar\n"
	    "[route all]\n"
	    "client = 0.0.0.0/0\n"
	    "sink = local\n");
	assert_string_equal(conf->server.dumpdir, "  /srv/odd dir ");
	assert_string_equal(conf->server.sink_dir, "\"q\"");
	round_trip(conf);
	nd_conf_free(conf);

	/* Sizes that are no whole number of any unit, or huge. */
	conf = load("max_dump_size = 1025\n");
	round_trip(conf);
	nd_conf_free(conf);
	conf = load("max_dump_size = 18446744073709551615\n");
	round_trip(conf);
	nd_conf_free(conf);
}

/*
 * Every [server] key set away from its default, printed: one line per key
 * in a fixed order and form, which --check-config and its users rely on.
 */
static void
test_print_every_server_key(void **state)
{
	static const char expect[] =
	    "[server]\n"
	    "address = 127.0.0.1\n"
	    "port = 20100\n"
	    "dumpdir = \"/srv/dumps \"\n"
	    "timeout = 86400\n"
	    "sink_dir = /opt/sinks\n"
	    "max_dump_size = 3G\n"
	    "default_path = lab/x\n"
	    "max_concurrent_dumps = 7\n"
	    "digest = xxh128\n"
	    "worker_nice = 3\n"
	    "pidfile = /run/nd.pid\n"
	    "daemon = yes\n"
	    "secure = yes\n"
	    "grace = 0\n"
	    "progress_interval = 0\n"
	    "scripts_dir = /srv/scripts\n"
	    "hook_timeout = 3600\n"
	    "herald_hook_deadline = 10\n"
	    "handler = /bin/true\n"
	    "min_free = 15%\n"
	    "allow = 10.0.0.0/8, 192.0.2.7/32, 172.16.0.0/12\n"
	    "deny = 10.9.0.0/16\n"
	    "user = nobody\n"
	    "status_socket = /run/nd.sock\n"
	    "runtime_dir =\n"
	    "restart_silence = 3600\n"
	    "max_dumps_per_client = 65535\n"
	    "max_heralded_per_client = 256\n"
	    "max_hooks = 4096\n"
	    "linux_port = 6666\n"
	    "console_log_size = 1M\n"
	    "console_log_keep = 0\n"
	    "metrics = 127.0.0.1:9620\n"
	    "\n[sink local]\n";
	struct nd_conf *conf;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	conf = load(
	    "ADDR = 127.0.0.1\n"
	    "port = 20100\n"
	    "dumpdirprefix = \"/srv/dumps \"\n"
	    "timeout = 86400\n"
	    "sink_dir = /opt/sinks\n"
	    "max_dump_size = 3072M\n"
	    "default_path = lab/x\n"
	    "concurrent = 7\n"
	    "digest = xxh128\n"
	    "Worker_Nice = 3\n"
	    "pidfile = \"/run/nd.pid\"\n"
	    "daemon = on\n"
	    "secure = TRUE\n"
	    "grace = 0\n"
	    "progress_interval = 0\n"
	    "scripts_dir = /srv/scripts\n"
	    "hook_timeout = 3600\n"
	    "herald_hook_deadline = 10\n"
	    "handler = /bin/true\n"
	    "min_free = 15%\n"
	    "allow = 10.1.2.3/8, 192.0.2.7 172.16.0.0/12\n"
	    "deny = 10.9.0.0/16\n"
	    "user = nobody\n"
	    "status_socket = /run/nd.sock\n"
	    "runtime_dir =\n"
	    "restart_silence = 3600\n"
	    "max_dumps_per_client = 65535\n"
	    "max_heralded_per_client = 256\n"
	    "max_hooks = 4096\n"
	    "LINUX_PORT = 6666\n"
	    "console_log_size = 1024k\n"
	    "console_log_keep = 0\n"
	    "metrics = 127.0.0.1:9620\n");
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	nd_conf_print(conf, fp);
	assert_int_equal(fclose(fp), 0);
	if (strstr(text, expect) == NULL)
		fail_msg("printed:\n%s", text);
	round_trip(conf);
	free(text);
	nd_conf_free(conf);

	/* min_free in bytes prints as a size. */
	conf = load("min_free = 2048\n");
	text = NULL;
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	nd_conf_print(conf, fp);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(strstr(text, "\nhandler =\nmin_free = 2k\nallow =\n"));
	free(text);
	nd_conf_free(conf);
}

/*
 * -H server: the [server] rows as text, like a module's table, and as
 * the man page's entries, one per key printed by --check-config.
 */
static void
test_server_help(void **state)
{
	struct nd_conf *conf;
	char *text = NULL, *mdoc = NULL, *printed = NULL, *p, *eq;
	char want[128];
	size_t len = 0, n = 0;
	FILE *fp;

	(void)state;
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	nd_conf_server_help(fp, false);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(strstr(text, "\noptions:\n  address          string   "
	    "default 0.0.0.0 alias addr\n      The address to listen on"));
	assert_non_null(strstr(text, "\n  port             integer  "
	    "default 20023\n"));

	fp = open_memstream(&mdoc, &len);
	assert_non_null(fp);
	nd_conf_server_help(fp, true);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(strstr(mdoc, ".\\\" BEGIN GENERATED server port\n"
	    ".It Cm port No = Ar number\nThe UDP port for HERALD messages.\n"
	    "From 1 to 65535; the default is 20023.\n"
	    ".\\\" END GENERATED server port\n"));
	assert_non_null(strstr(mdoc, "Alias:\n.Cm concurrent .\n"));
	/* A lone "." is an argument, not a delimiter. */
	assert_non_null(strstr(mdoc, "The default is\n.Ql \\&. .\n"));

	conf = load("");
	fp = open_memstream(&printed, &len);
	assert_non_null(fp);
	nd_conf_print(conf, fp);
	assert_int_equal(fclose(fp), 0);
	p = strstr(printed, "[server]\n") + strlen("[server]\n");
	for (; *p != '\0' && *p != '\n'; p = strchr(p, '\n') + 1) {
		eq = strstr(p, " =");
		assert_non_null(eq);
		snprintf(want, sizeof(want), "BEGIN GENERATED server %.*s\n",
		    (int)(eq - p), p);
		if (strstr(mdoc, want) == NULL)
			fail_msg("no entry for '%s'", want);
		n++;
	}
	assert_int_equal(n, 33);
	nd_conf_free(conf);
	free(printed);
	free(mdoc);
	free(text);
}

/* The shipped sample must load and say what it shows. */
static void
test_sample_conf(void **state)
{
	char err[ND_CONF_ERRSIZE];
	struct nd_conf *conf, *def;
	char path[4096];
	const char *slash;

	(void)state;
	slash = strrchr(__FILE__, '/');
	if (slash == NULL)
		snprintf(path, sizeof(path), "../../conf/netdump-server.ini");
	else
		snprintf(path, sizeof(path),
		    "%.*s/../../conf/netdump-server.ini",
		    (int)(slash - __FILE__), __FILE__);
	conf = nd_conf_load_file(path, err, sizeof(err));
	if (conf == NULL)
		fail_msg("%s", err);
	assert_builtin_defaults(conf);
	assert_int_equal(conf->nsinks, 1);
	assert_string_equal(conf->sinks[0].name, "local");
	assert_string_equal(conf->sinks[0].module, "file");
	assert_int_equal(conf->sinks[0].nopts, 1);
	assert_string_equal(conf->sinks[0].opts[0].key, "layout");
	assert_string_equal(conf->sinks[0].opts[0].value, "savecore");
	assert_int_equal(conf->nroutes, 1);
	assert_string_equal(conf->routes[0].name, "default");
	assert_string_equal(conf->routes[0].path, "*");
	assert_string_equal(conf->routes[0].sinks[0], "local");
	/* Its [server] is the built-in default, spelled out. */
	def = nd_conf_default(err, sizeof(err));
	assert_non_null(def);
	assert_int_equal(def->server.port, conf->server.port);
	round_trip(conf);
	nd_conf_free(def);
	nd_conf_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_server_keys),
		cmocka_unit_test(test_server_cross_checks),
		cmocka_unit_test(test_netdump_conf),
		cmocka_unit_test(test_syntax_details),
		cmocka_unit_test(test_sinks_and_routes),
		cmocka_unit_test(test_route_match),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_value_parsers),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_print_every_server_key),
		cmocka_unit_test(test_server_help),
		cmocka_unit_test(test_sample_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
