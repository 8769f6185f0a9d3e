/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for reading a manifest back (core/manifest_read.c,
 * nds_host.manifest_read and manifest_facts): what the server writes
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

/*
 * A manifest with a signature as nd_manifest_build writes it
 * (core/manifest.c): SIG_HEAD, the id, SIG_TAIL, then "}}" or more
 * members of the signature and "}}".
 */
#define SIG_HEAD \
    "{\"manifest_version\": 1, \"dump_id\": 3, \"status\": \"complete\", " \
    "\"client\": {\"address\": \"192.0.2.7\", \"port\": 20024, " \
    "\"name\": \"db7\"},\n  \"objects\": [\n" \
    "    {\"kind\": \"vmcore\", \"stored\": {\"file\": \"db7/vmcore.3\"}},\n" \
    "    {\"kind\": \"key\", \"stored\": {\"file\": \"db7/key.3\"}},\n" \
    "    {\"kind\": \"msgbuf\", \"stored\": {\"file\": \"db7/msgbuf.3\"}},\n" \
    "    {\"stored\": {\"file\": \"db7/notes\"}}],\n" \
    "  \"signature\": {\"id\": "
#define SIG_TAIL \
    ", \"architecture\": \"amd64\", \"version\": \"FreeBSD 14.1-RELEASE " \
    "GENERIC\",\n    \"panic\": \"page fault\", \"frames\": " \
    "[\"trap_pfault\"]"

struct kinds_told {
	enum nds_object_kind	kind[8];
	char			where[8][64];
	size_t			n;
};

static void
tell_kind(void *arg, enum nds_object_kind kind, const char *where)
{
	struct kinds_told *t = arg;

	if (t->n < 8) {
		t->kind[t->n] = kind;
		snprintf(t->where[t->n], sizeof(t->where[0]), "%s", where);
	}
	t->n++;
}

static int
facts_of(const char *text, struct nds_manifest_facts *facts,
    struct kinds_told *t)
{
	memset(t, 0, sizeof(*t));
	memset(facts, 'x', sizeof(*facts));
	return nd_manifest_facts(text, strlen(text), facts, tell_kind, t);
}

static void
test_facts(void **state)
{
	static const char *const bad[] = {
		(SIG_HEAD "\"0123456789abcde\"" SIG_TAIL "}}"),
		(SIG_HEAD "\"0123456789abcdef0\"" SIG_TAIL "}}"),
		(SIG_HEAD "\"0123456789ABCDEF\"" SIG_TAIL "}}"),
		(SIG_HEAD "\"../../etc/passwd\"" SIG_TAIL "}}"),
		(SIG_HEAD "17" SIG_TAIL "}}"),
		(SIG_HEAD "null" SIG_TAIL "}}"),
		/* Not one of ours. */
		("{\"manifest_version\": 2, \"signature\": {\"id\": "
		    "\"0123456789abcdef\"}}"),
		"not json",
	};
	struct nds_manifest_facts facts;
	struct kinds_told t;
	size_t i;

	(void)state;
	assert_int_equal(facts_of(SIG_HEAD "\"0123456789abcdef\"" SIG_TAIL
	    ",\n    \"seen\": 12}}", &facts, &t), 0);
	assert_string_equal(facts.signature, "0123456789abcdef");
	assert_int_equal(facts.seen, 12);
	assert_string_equal(facts.summary.client_name, "db7");
	assert_int_equal(facts.summary.status, NDS_STATUS_COMPLETE);
	/* Every place with its object's kind; none named: NDS_OBJ_NKINDS. */
	assert_int_equal(t.n, 4);
	assert_int_equal(t.kind[0], NDS_OBJ_VMCORE);
	assert_string_equal(t.where[0], "db7/vmcore.3");
	assert_int_equal(t.kind[1], NDS_OBJ_KEY);
	assert_int_equal(t.kind[2], NDS_OBJ_MSGBUF);
	assert_int_equal(t.kind[3], NDS_OBJ_NKINDS);
	/* Written before the count was: 0. Negative: 0. */
	assert_int_equal(facts_of(SIG_HEAD "\"fedcba9876543210\"" SIG_TAIL
	    "}}", &facts, &t), 0);
	assert_string_equal(facts.signature, "fedcba9876543210");
	assert_int_equal(facts.seen, 0);
	assert_int_equal(facts_of(SIG_HEAD "\"fedcba9876543210\"" SIG_TAIL
	    ", \"seen\": -4}}", &facts, &t), 0);
	assert_int_equal(facts.seen, 0);
	/* No panic string, no signature: the rest is still the dump's. */
	assert_int_equal(nd_manifest_facts(server_manifest,
	    strlen(server_manifest), &facts, tell_kind, &t), 0);
	assert_string_equal(facts.signature, "");
	assert_int_equal(facts.seen, 0);
	assert_int_equal(facts_of("{\"manifest_version\": 1, \"status\": "
	    "\"complete\", \"client\": {\"address\": \"192.0.2.7\"}, "
	    "\"objects\": [], \"signature\": null}", &facts, &t), 0);
	assert_string_equal(facts.signature, "");
	/* A signature that is not what this server writes: not ours. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (facts_of(bad[i], &facts, &t) != -1)
			fail_msg("taken: %s", bad[i]);
		assert_string_equal(facts.signature, "");
		assert_int_equal(t.n, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_manifest),
		cmocka_unit_test(test_optional_fields),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_facts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
