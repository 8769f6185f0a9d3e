/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * S3 replies, read with libxml2: the text of <UploadId>, <Code> and
 * <Message>, and whether the root element is <Error> (a
 * CompleteMultipartUpload can answer 200 and still have failed).
 *
 * What the store sends is parsed without the network, without loading or
 * substituting entities (the predefined ones and character references are
 * still decoded: ETags come as &quot;...&quot;) and without error output;
 * a document with a DTD is not an S3 reply and is refused whole, so no
 * entity of its own can grow a few bytes into many.
 */
#include <limits.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "s3.h"

#define PARSE_OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			 XML_PARSE_NOWARNING)

void
s3_xml_init(void)
{
	/* Once, before any thread parses (libxml2's own rule). */
	xmlInitParser();
}

static xmlDoc *
parse(const char *xml, size_t len)
{
	xmlDoc *doc;

	if (len == 0 || len > INT_MAX)
		return NULL;
	doc = xmlReadMemory(xml, (int)len, NULL, NULL, PARSE_OPTIONS);
	if (doc != NULL && doc->intSubset != NULL) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

/* The first element named tag at n or after it, in document order. */
static const xmlNode *
find(const xmlNode *n, const char *tag)
{
	const xmlNode *found;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(n->name, (const xmlChar *)tag) == 0)
			return n;
		if ((found = find(n->children, tag)) != NULL)
			return found;
	}
	return NULL;
}

int
s3_xml_text(const char *xml, size_t len, const char *tag, char *out,
    size_t outlen)
{
	const xmlNode *n;
	xmlChar *text = NULL;
	xmlDoc *doc;
	int r = -1;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if ((doc = parse(xml, len)) == NULL)
		return -1;
	if ((n = find(xmlDocGetRootElement(doc), tag)) != NULL &&
	    (text = xmlNodeGetContent(n)) != NULL &&
	    strlen((const char *)text) < outlen) {
		snprintf(out, outlen, "%s", (const char *)text);
		r = (int)strlen(out);
	}
	xmlFree(text);
	xmlFreeDoc(doc);
	return r;
}

bool
s3_xml_root_is(const char *xml, size_t len, const char *tag)
{
	const xmlNode *root;
	xmlDoc *doc;
	bool r;

	if ((doc = parse(xml, len)) == NULL)
		return false;
	root = xmlDocGetRootElement(doc);
	r = root != NULL && xmlStrcmp(root->name, (const xmlChar *)tag) == 0;
	xmlFreeDoc(doc);
	return r;
}

bool
s3_xml_whole(const char *xml, size_t len)
{
	xmlDoc *doc;

	if ((doc = parse(xml, len)) == NULL)
		return false;
	xmlFreeDoc(doc);
	return true;
}
