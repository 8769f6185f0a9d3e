/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for reading a manifest back (core/manifest_read.c,
 * nds_host.manifest_read and manifest_signature): what the server writes
 * is understood whole, and anything else is refused before a single
 * place is told.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "netdump/sink.h"
#include "manifest.h"

/* A manifest as nd_manifest_build writes one, stored by two chains. */
static const char server_manifest[] =
    "{\n  \"manifest_version\": 1,\n"
    "  \"server\": \"netdump-server 0.9.0\",\n"
    "  \"dump_id\": 7,\n"
    "  \"status\": \"incomplete\",\n"
    "  \"reason\": \"client timed out\",\n"
    "  \"client\": {\"address\": \"192.0.2.7\", \"port\": 20024, "
    "\"name\": \"192.0.2.7\"},\n"
    "  \"number\": 3,\n"
    "  \"path\": \"prod\",\n  \"route\": \"default\",\n"
    "  \"start\": \"2026-12-02T14:00:00Z\",\n"
    "  \"end\": \"2026-12-02T14:01:00Z\",\n  \"seconds\": 60.000,\n"
    "  \"bytes_received\": 4096,\n  \"packets\": 4,\n"
    "  \"duplicate_packets\": 0,\n  \"conflicts\": 0,\n"
    "  \"refused_far_packets\": 0,\n  \"finished\": false,\n"
    "  \"encrypted\": false,\n  \"msgbuf_missing\": \"no kernel dump "
    "header\",\n  \"kdh\": null,\n"
    "  \"coverage\": {\n    \"expected\": 8192,\n"
    "    \"expected_from\": \"highest offset received\",\n"
    "    \"received\": 4096,\n    \"late_bytes\": 0,\n"
    "    \"gap_count\": 1,\n    \"gaps\": [[4096, 8192]]\n  },\n"
    "  \"objects\": [\n"
    "    {\"kind\": \"vmcore\", \"size\": 8192, \"sha256\": null, "
    "\"stored\": {\"file\": \"prod/192.0.2.7/vmcore.3.incomplete\", "
    "\"zstd | s3\": \"s3://crash/192.0.2.7/vmcore.3.zst.incomplete\"}},\n"
    "    {\"kind\": \"info\", \"size\": 300, \"sha256\": \"ab\", "
    "\"stored\": {\"file\": \"prod/192.0.2.7/info.3\"}},\n"
    "    {\"kind\": \"manifest\", \"size\": 0, \"stored\": {}}\n"
    "  ],\n"
    "  \"sinks\": [\n    {\"name\": \"file\", \"result\": \"ok\"}\n  ]\n"
    "}\n";

struct told {
	char	where[8][256];
	size_t	n;
};

static void
tell(void *arg, const char *where)
{
	struct told *t = arg;

	if (t->n < 8)
		snprintf(t->where[t->n], sizeof(t->where[0]), "%s", where);
	t->n++;
}

static int
read_text(const char *text, struct nds_manifest_summary *sum,
    struct told *t)
{
	memset(t, 0, sizeof(*t));
	return nd_manifest_read(text, strlen(text), sum, tell, t);
}

static void
test_server_manifest(void **state)
{
	struct nds_manifest_summary sum;
	struct told t;

	(void)state;
	assert_int_equal(read_text(server_manifest, &sum, &t), 0);
	assert_int_equal(sum.status, NDS_STATUS_INCOMPLETE);
	assert_true(sum.has_number);
	assert_int_equal(sum.number, 3);
	assert_string_equal(sum.client_addr, "192.0.2.7");
	assert_string_equal(sum.client_name, "192.0.2.7");
	assert_int_equal(t.n, 3);
	assert_string_equal(t.where[0], "prod/192.0.2.7/vmcore.3.incomplete");
	assert_string_equal(t.where[1],
	    "s3://crash/192.0.2.7/vmcore.3.zst.incomplete");
	assert_string_equal(t.where[2], "prod/192.0.2.7/info.3");
}

/* No number (a layout that does not number), no name (older servers). */
static void
test_optional_fields(void **state)
{
	static const char text[] = "{\"manifest_version\": 1, \"status\": "
	    "\"complete\", \"client\": {\"address\": \"198.51.100.4\", "
	    "\"port\": 1}, \"number\": null, \"objects\": [{\"kind\": "
	    "\"vmcore\", \"stored\": {\"file\": \"vmcore\"}}, {\"kind\": "
	    "\"key\"}]}";
	struct nds_manifest_summary sum;
	struct told t;

	(void)state;
	assert_int_equal(read_text(text, &sum, &t), 0);
	assert_int_equal(sum.status, NDS_STATUS_COMPLETE);
	assert_false(sum.has_number);
	assert_string_equal(sum.client_name, "198.51.100.4");
	assert_int_equal(t.n, 1);
	assert_string_equal(t.where[0], "vmcore");
}

/* Not a manifest of this server: refused, and nothing told. */
static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"{}\n",
		"not json at all",
		"{\"manifest_version\": 1, \"status\": \"complete\"",
		"{\"manifest_version\": 2, \"status\": \"complete\", "
		    "\"client\": {\"address\": \"a\"}, \"objects\": []}",
		"{\"manifest_version\": 1, \"status\": \"receiving\", "
		    "\"client\": {\"address\": \"a\"}, \"objects\": []}",
		"{\"manifest_version\": 1, \"status\": \"complete\", "
		    "\"objects\": []}",
		"{\"manifest_version\": 1, \"status\": \"complete\", "
		    "\"client\": {\"address\": \"a\"}}",
		"{\"manifest_version\": 1, \"status\": \"complete\", "
		    "\"client\": {\"address\": \"a\"}, \"number\": -1, "
		    "\"objects\": []}",
		"{\"manifest_version\": 1, \"status\": \"complete\", "
		    "\"client\": {\"address\": \"a\"}, \"number\": 4294967296, "
		    "\"objects\": []}",
		/* A place that is no string: all or nothing. */
		"{\"manifest_version\": 1, \"status\": \"complete\", "
		    "\"client\": {\"address\": \"a\"}, \"objects\": [{\"stored\": "
		    "{\"file\": \"vmcore.0\"}}, {\"stored\": {\"file\": 7}}]}",
		"{\"manifest_version\": 1, \"status\": \"complete\", "
		    "\"client\": {\"address\": \"a\"}, \"objects\": [{\"stored\": "
		    "[\"vmcore.0\"]}]}",
		/* Two values for one key: which would be meant? */
		"{\"manifest_version\": 1, \"status\": \"complete\", "
		    "\"status\": \"incomplete\", \"client\": {\"address\": "
		    "\"a\"}, \"objects\": []}",
		/* An address longer than any address. */
		"{\"manifest_version\": 1, \"status\": \"complete\", "
		    "\"client\": {\"address\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}, \"objects\": []}",
	};
	struct nds_manifest_summary sum;
	struct told t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (read_text(bad[i], &sum, &t) != -1)
			fail_msg("taken: %s", bad[i]);
		assert_int_equal(t.n, 0);
	}
	/* A NUL inside: what follows is not read as more of it. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(nd_manifest_read(server_manifest,
	    sizeof(server_manifest), &sum, tell, &t), -1);
	assert_int_equal(t.n, 0);
}

/* The signature as nd_manifest_build writes it (core/manifest.c). */
#define SIG_HEAD \
    "{\"manifest_version\": 1, \"dump_id\": 3, \"status\": \"complete\", " \
    "\"signature\": {\"id\": "
#define SIG_TAIL \
    ", \"architecture\": \"amd64\", \"version\": \"FreeBSD 14.1-RELEASE " \
    "GENERIC\",\n    \"panic\": \"page fault\", \"frames\": " \
    "[\"trap_pfault\"]"

static int
sig_of(const char *text, char id[NDS_SIGNATURE_SIZE], uint64_t *seen)
{
	return nd_manifest_signature(text, strlen(text), id, seen);
}

static void
test_signature(void **state)
{
	static const char *const bad[] = {
		/* None: no panic string. */
		"{\"manifest_version\": 1, \"signature\": null}",
		"{\"manifest_version\": 1}",
		(SIG_HEAD "\"0123456789abcde\"" SIG_TAIL "}}"),
		(SIG_HEAD "\"0123456789abcdef0\"" SIG_TAIL "}}"),
		(SIG_HEAD "\"0123456789ABCDEF\"" SIG_TAIL "}}"),
		(SIG_HEAD "\"../../etc/passwd\"" SIG_TAIL "}}"),
		(SIG_HEAD "17" SIG_TAIL "}}"),
		/* Not one of ours. */
		("{\"manifest_version\": 2, \"signature\": {\"id\": "
		    "\"0123456789abcdef\"}}"),
		"not json",
	};
	char id[NDS_SIGNATURE_SIZE];
	uint64_t seen = 99;
	size_t i;

	(void)state;
	assert_int_equal(sig_of(SIG_HEAD "\"0123456789abcdef\"" SIG_TAIL
	    ",\n    \"seen\": 12}}", id, &seen), 0);
	assert_string_equal(id, "0123456789abcdef");
	assert_int_equal(seen, 12);
	/* Written before the count was: 0. Negative: 0. Not wanted: NULL. */
	assert_int_equal(sig_of(SIG_HEAD "\"fedcba9876543210\"" SIG_TAIL "}}",
	    id, &seen), 0);
	assert_string_equal(id, "fedcba9876543210");
	assert_int_equal(seen, 0);
	assert_int_equal(sig_of(SIG_HEAD "\"fedcba9876543210\"" SIG_TAIL
	    ", \"seen\": -4}}", id, &seen), 0);
	assert_int_equal(seen, 0);
	assert_int_equal(sig_of(SIG_HEAD "\"fedcba9876543210\"" SIG_TAIL "}}",
	    id, NULL), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(id, "xxxxxxxxxxxxxxxx", sizeof(id));
		if (sig_of(bad[i], id, &seen) != -1)
			fail_msg("taken: %s", bad[i]);
		assert_string_equal(id, "");
	}
	/* The server's manifest of an incomplete dump without a KDH. */
	assert_int_equal(nd_manifest_signature(server_manifest,
	    strlen(server_manifest), id, &seen), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_manifest),
		cmocka_unit_test(test_optional_fields),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
