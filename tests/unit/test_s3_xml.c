/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The s3 sink's reading of S3 replies (libxml2): replies as radosgw and
 * AWS write them, entities, attributes, look-alike names, no read past the
 * length, and what is not a well-formed reply (a cut one, an HTML page, a
 * document with a DTD) read as no answer at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3.h"

static int
text(const char *xml, const char *tag, char *out, size_t outlen)
{
	return s3_xml_text(xml, strlen(xml), tag, out, outlen);
}

static void
test_upload_id(void **state)
{
	const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/"
	    "doc/2006-03-01/\"><Bucket>dumps</Bucket><Key>a/b</Key>"
	    "<UploadId>2~ofv93GZN2QMHGpp46TFGnIWCTqUlQhV</UploadId>"
	    "</InitiateMultipartUploadResult>";
	char out[64];

	(void)state;
	assert_int_equal(text(xml, "UploadId", out, sizeof(out)),
	    (int)strlen("2~ofv93GZN2QMHGpp46TFGnIWCTqUlQhV"));
	assert_string_equal(out, "2~ofv93GZN2QMHGpp46TFGnIWCTqUlQhV");
	assert_int_equal(text(xml, "Key", out, sizeof(out)), 3);
	assert_string_equal(out, "a/b");
	assert_false(s3_xml_root_is(xml, strlen(xml), "Error"));
	assert_true(s3_xml_root_is(xml, strlen(xml),
	    "InitiateMultipartUploadResult"));
}

static void
test_error(void **state)
{
	/* AWS: a 200 to CompleteMultipartUpload that failed after all. */
	const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n"
	    "<Error>\n  <Code>InternalError</Code>\n  <Message>We encountered "
	    "an internal error. Please try again.</Message>\n  <RequestId>"
	    "656c76696e6727732072657175657374</RequestId>\n</Error>";
	char out[128];

	(void)state;
	assert_true(s3_xml_root_is(xml, strlen(xml), "Error"));
	assert_int_equal(text(xml, "Code", out, sizeof(out)), 13);
	assert_string_equal(out, "InternalError");
	assert_true(text(xml, "Message", out, sizeof(out)) > 0);
	assert_string_equal(out,
	    "We encountered an internal error. Please try again.");
	/* <ErrorX> is not <Error>, and "Err" is not either. */
	assert_false(s3_xml_root_is("<ErrorX/>", 9, "Error"));
	assert_false(s3_xml_root_is("<Err>", 5, "Error"));
	assert_true(s3_xml_root_is("  <!-- c --><Error/>", 20, "Error"));
	assert_false(s3_xml_root_is("", 0, "Error"));
	assert_false(s3_xml_root_is("text<Error/>", 12, "Error"));
	/* A proxy's page is no S3 error. */
	assert_false(s3_xml_root_is("<html><body>502</body></html>", 29,
	    "Error"));
}

static void
test_entities(void **state)
{
	const char *xml = "<CopyPartResult><LastModified>2026-11-23T10:00:00"
	    "</LastModified><ETag>&quot;e3aea80b6200f4140e116dd8e5ea8e12&quot;"
	    "</ETag></CopyPartResult>";
	char out[S3_ETAG_MAX];

	(void)state;
	assert_int_equal(text(xml, "ETag", out, sizeof(out)), 34);
	assert_string_equal(out, "\"e3aea80b6200f4140e116dd8e5ea8e12\"");
	assert_int_equal(text("<M>a &amp; b &lt;c&gt; &apos;d&apos;</M>", "M",
	    out, sizeof(out)), 13);
	assert_string_equal(out, "a & b <c> 'd'");
	/* Numeric references, in UTF-8. */
	assert_int_equal(text("<M>&#65;&#x42;&#xe9;&#x20AC;</M>", "M", out,
	    sizeof(out)), 7);
	assert_string_equal(out, "AB\xc3\xa9\xe2\x82\xac");
	/* Undeclared entities, NUL, surrogates, a bare '&': no document. */
	assert_int_equal(text("<M>&nbsp;</M>", "M", out, sizeof(out)), -1);
	assert_int_equal(text("<M>&#0;</M>", "M", out, sizeof(out)), -1);
	assert_int_equal(text("<M>&#xd800;</M>", "M", out, sizeof(out)), -1);
	assert_int_equal(text("<M>a & b</M>", "M", out, sizeof(out)), -1);
	assert_string_equal(out, "");
}

/*
 * A DTD's entities can turn 1 KiB of reply into gigabytes: a document
 * with one is refused whole, whatever it declares.
 */
static void
test_dtd_refused(void **state)
{
	const char *xml = "<?xml version=\"1.0\"?>"
	    "<!DOCTYPE Error [<!ENTITY a \"InternalError\">]>"
	    "<Error><Code>&a;</Code><Message>m</Message></Error>";
	char out[64];

	(void)state;
	assert_int_equal(text(xml, "Code", out, sizeof(out)), -1);
	assert_int_equal(text(xml, "Message", out, sizeof(out)), -1);
	assert_false(s3_xml_root_is(xml, strlen(xml), "Error"));
}

static void
test_names_and_attributes(void **state)
{
	char out[32];

	(void)state;
	/* A longer name that starts like the tag is another element. */
	assert_int_equal(text("<R><Codes>x</Codes><Code>y</Code></R>", "Code",
	    out, sizeof(out)), 1);
	assert_string_equal(out, "y");
	/* Attributes, with '>' inside a quoted value. */
	assert_int_equal(text("<Code a=\"x>y\" b='z'>v</Code>", "Code", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "v");
	/* Empty elements. */
	assert_int_equal(text("<Code/>", "Code", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(text("<Code></Code>", "Code", out, sizeof(out)), 0);
	assert_int_equal(text("<Message />", "Message", out, sizeof(out)), 0);
}

static void
test_missing_and_bounded(void **state)
{
	char out[8], big[64];
	char *buf;

	(void)state;
	assert_int_equal(text("<A>b</A>", "Code", out, sizeof(out)), -1);
	assert_int_equal(text("<Code>open", "Code", out, sizeof(out)), -1);
	assert_int_equal(text("<Code", "Code", out, sizeof(out)), -1);
	assert_int_equal(text("<Code a=\"unclosed>x</Code>", "Code", out,
	    sizeof(out)), -1);
	/* Too long for out: -1, and out is left empty. */
	assert_int_equal(text("<Code>123456789</Code>", "Code", out,
	    sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(text("<Code>1234567</Code>", "Code", out,
	    sizeof(out)), 7);
	/*
	 * Only len bytes are looked at: a heap copy without a NUL, so that
	 * the sanitizers catch any read past it.
	 */
	snprintf(big, sizeof(big), "<Code>abc</Code>");
	buf = malloc(10);
	assert_non_null(buf);
	memcpy(buf, big, 10);
	assert_int_equal(s3_xml_text(buf, 10, "Code", out, sizeof(out)), -1);
	assert_int_equal(s3_xml_text(buf, 3, "Code", out, sizeof(out)), -1);
	assert_false(s3_xml_root_is(buf, 3, "Code"));
	assert_false(s3_xml_root_is(buf, 5, "Code"));
	free(buf);
	buf = malloc(16);
	assert_non_null(buf);
	memcpy(buf, big, 16);
	assert_int_equal(s3_xml_text(buf, 16, "Code", out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_true(s3_xml_root_is(buf, 16, "Code"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upload_id),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_names_and_attributes),
		cmocka_unit_test(test_missing_and_bounded),
		cmocka_unit_test(test_dtd_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
