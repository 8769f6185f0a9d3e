/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Option rows: the value parsers, the one converter that stores a value
 * where its row says, and the printers of a table, as text (-H) and as
 * the man page's entries (-H ... --mdoc). A module's [sink] section
 * (sink_load.c) and [server] (conf_server.c) both come here, so a key
 * reads, checks and documents the same way wherever it is.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "option.h"
#include "size.h"

/* Value parsers */

int
nd_parse_uint(const char *s, uint64_t max, uint64_t *out, char *err,
    size_t errlen)
{
	unsigned long long v;
	char *end;

	/* strtoull would take "-1", "+1", " 1" and "0x1": only digits. */
	if (s == NULL || !(*s >= '0' && *s <= '9')) {
		snprintf(err, errlen, "expected a number, got '%s'",
		    s != NULL ? s : "");
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0') {
		snprintf(err, errlen, "expected a number, got '%s'", s);
		return -1;
	}
	if (errno == ERANGE || v > max) {
		snprintf(err, errlen, "number too large (at most %" PRIu64
		    "), got '%s'", max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int
nd_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	switch (nd_size_parse(s, false, out)) {
	case 0:
		return 0;
	case -2:
		snprintf(err, errlen, "size too large, got '%s'", s);
		return -1;
	default:
		snprintf(err, errlen, "expected a size like 512M (suffix k, M, "
		    "G or T), got '%s'", s != NULL ? s : "");
		return -1;
	}
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
	snprintf(err, errlen, "expected yes or no (or true/false, on/off, "
	    "1/0), got '%s'", s != NULL ? s : "");
	return -1;
}

void
nd_size_str(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "TGMk";
	unsigned shift;
	size_t i;

	for (i = 0, shift = 40; i < sizeof(units) - 1; i++, shift -= 10)
		if (v != 0 && (v & (((uint64_t)1 << shift) - 1)) == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v >> shift,
			    units[i]);
			return;
		}
	snprintf(buf, len, "%" PRIu64, v);
}

/* Rows */

/* Index of value in "a|b|c", or -1. */
static int
enum_index(const char *choices, const char *value)
{
	const char *p = choices, *bar;
	size_t vlen = strlen(value), len;
	int idx = 0;

	while (p != NULL && *p != '\0') {
		bar = strchr(p, '|');
		len = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (len == vlen && strncmp(p, value, len) == 0)
			return idx;
		idx++;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return -1;
}

int
nd_option_set(const struct nds_option *o, const char *value, void *config,
    char *err, size_t errlen)
{
	char *field = (char *)config + o->offset, *copy;
	int64_t num = 0;
	uint64_t u;
	bool b;
	int idx;

	switch (o->type) {
	case NDS_OPT_STRING:
		if ((copy = strdup(value)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	case NDS_OPT_INT:
		if (nd_parse_uint(value, INT64_MAX, &u, err, errlen) == -1)
			return -1;
		num = (int64_t)u;
		break;
	case NDS_OPT_SIZE:
		if (nd_parse_size(value, &u, err, errlen) == -1)
			return -1;
		if (u > INT64_MAX) {
			snprintf(err, errlen, "size '%s' is too large", value);
			return -1;
		}
		num = (int64_t)u;
		break;
	case NDS_OPT_BOOL:
		if (nd_parse_bool(value, &b, err, errlen) == -1)
			return -1;
		*(bool *)field = b;
		return 0;
	case NDS_OPT_ENUM:
		if ((idx = enum_index(o->choices ? o->choices : "", value)) <
		    0) {
			snprintf(err, errlen, "expected one of %s, got '%s'",
			    o->choices ? o->choices : "(nothing)", value);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	}
	if (o->max > o->min && (num < o->min || num > o->max)) {
		snprintf(err, errlen, "'%s' is out of range [%lld, %lld]",
		    value, (long long)o->min, (long long)o->max);
		return -1;
	}
	*(int64_t *)field = num;
	return 0;
}

/* Printing: text */

static const char *
type_word(enum nds_opt_type t)
{
	switch (t) {
	case NDS_OPT_STRING:
		return "string";
	case NDS_OPT_INT:
		return "integer";
	case NDS_OPT_SIZE:
		return "size";
	case NDS_OPT_BOOL:
		return "boolean";
	case NDS_OPT_ENUM:
		return "enum";
	}
	return "?";
}

void
nd_option_help(const struct nds_option *o, const char *alias, FILE *fp)
{
	fprintf(fp, "  %-16s %-8s", o->name, type_word(o->type));
	if (o->type == NDS_OPT_ENUM && o->choices)
		fprintf(fp, " (%s)", o->choices);
	if (o->default_value)
		fprintf(fp, " default %s", o->default_value);
	if (alias != NULL)
		fprintf(fp, " alias %s", alias);
	fprintf(fp, "\n      %s\n", o->description ? o->description : "");
}

void
nd_options_help(const struct nds_option *table, FILE *fp)
{
	const struct nds_option *o;

	fprintf(fp, "options:\n");
	for (o = table; o != NULL && o->name != NULL; o++)
		nd_option_help(o, NULL, fp);
}

/* Printing: mdoc */

/* Where running text is wrapped, as in the rest of the page. */
#define MDOC_WIDTH	72

/*
 * Running text, s[0..n) then tail, wrapped at blanks into lines of at
 * most MDOC_WIDTH bytes where the words allow: no line may start with
 * '.' or '\'' (mdoc would take it for a request), backslashes are \e.
 */
static void
mdoc_line(FILE *fp, const char *s, size_t n, const char *tail)
{
	size_t col = 0, w, i;

	while (n > 0) {
		for (w = 0; w < n && s[w] != ' '; w++)
			;
		if (col > 0 && col + 1 + w > MDOC_WIDTH) {
			fputc('\n', fp);
			col = 0;
		} else if (col > 0) {
			fputc(' ', fp);
			col++;
		}
		if (col == 0 && (s[0] == '.' || s[0] == '\''))
			col += (size_t)fprintf(fp, "\\&");
		for (i = 0; i < w; i++, col++)
			if (s[i] == '\\')
				fputs("\\e", fp);
			else
				fputc(s[i], fp);
		for (; w < n && s[w] == ' '; w++)
			;
		s += w;
		n -= w;
	}
	fprintf(fp, "%s\n", tail);
}

/*
 * A macro argument that mdoc takes as written: \& keeps one that looks
 * like a macro name (capitalised) or a delimiter from being either.
 */
static void
mdoc_arg(FILE *fp, const char *s)
{
	const char *p;

	if ((*s >= 'A' && *s <= 'Z') || (s[0] != '\0' && s[1] == '\0' &&
	    strchr(".,;:?!()[]|", s[0]) != NULL))
		fputs("\\&", fp);
	for (p = s; *p != '\0'; p++)
		if (*p == '\\')
			fputs("\\e", fp);
		else
			fputc(*p, fp);
}

/*
 * The description, one sentence a line as mdoc wants them, starting with
 * a capital and ending with a full stop even where a module's row is
 * written as a note ("compression level, 1 to 19").
 */
static void
mdoc_description(FILE *fp, const char *d)
{
	char *copy, *start, *p;
	size_t n;

	if (d == NULL || *d == '\0' || (copy = strdup(d)) == NULL)
		return;
	if (copy[0] >= 'a' && copy[0] <= 'z')
		copy[0] = (char)(copy[0] - 'a' + 'A');
	for (start = p = copy; *p != '\0'; p++)
		if (p[0] == '.' && p[1] == ' ' && p[2] >= 'A' && p[2] <= 'Z') {
			mdoc_line(fp, start, (size_t)(p + 1 - start), "");
			start = p + 2;
		}
	n = strlen(start);
	mdoc_line(fp, start, n, n > 0 && strchr(".!?", start[n - 1]) ==
	    NULL ? "." : "");
	free(copy);
}

/* "From 1 to 65535; the default is 20023." and the like. */
static void
mdoc_facts(FILE *fp, const struct nds_option *o)
{
	const char *def = o->default_value;
	char lo[32], hi[32];

	if ((o->type == NDS_OPT_INT || o->type == NDS_OPT_SIZE) &&
	    o->max > o->min) {
		if (o->type == NDS_OPT_SIZE) {
			nd_size_str((uint64_t)o->min, lo, sizeof(lo));
			nd_size_str((uint64_t)o->max, hi, sizeof(hi));
		} else {
			snprintf(lo, sizeof(lo), "%lld", (long long)o->min);
			snprintf(hi, sizeof(hi), "%lld", (long long)o->max);
		}
		fprintf(fp, "From %s to %s%s", lo, hi, def != NULL ?
		    "; the default is " : ".\n");
	} else if (def != NULL && (o->type == NDS_OPT_INT ||
	    o->type == NDS_OPT_SIZE))
		fprintf(fp, "The default is ");
	if (def == NULL)
		return;
	switch (o->type) {
	case NDS_OPT_INT:
	case NDS_OPT_SIZE:
		fprintf(fp, "%s.\n", def);
		break;
	case NDS_OPT_BOOL:
	case NDS_OPT_ENUM:
		fprintf(fp, "The default is\n.Cm ");
		mdoc_arg(fp, def);
		fprintf(fp, " .\n");
		break;
	case NDS_OPT_STRING:
		if (*def == '\0') {
			fprintf(fp, "Empty by default.\n");
			break;
		}
		fprintf(fp, "The default is\n.Ql ");
		mdoc_arg(fp, def);
		fprintf(fp, " .\n");
		break;
	}
}

/* ".It Cm name No = Ar value", or the choices of an enum. */
static void
mdoc_head(FILE *fp, const struct nds_option *o, const char *value_name)
{
	const char *p;

	fprintf(fp, ".It Cm %s No = ", o->name);
	if (o->type == NDS_OPT_ENUM && o->choices != NULL) {
		fprintf(fp, "Cm ");
		for (p = o->choices; *p != '\0'; p++)
			if (*p == '|')
				fprintf(fp, " | ");
			else
				fputc(*p, fp);
		fputc('\n', fp);
		return;
	}
	fprintf(fp, "Ar %s\n", value_name != NULL ? value_name :
	    o->type == NDS_OPT_INT ? "number" : type_word(o->type));
}

void
nd_option_mdoc(const struct nds_option *o, const char *section,
    const char *alias, const char *value_name, FILE *fp)
{
	fprintf(fp, ".\\\" BEGIN GENERATED %s %s\n", section, o->name);
	mdoc_head(fp, o, value_name);
	mdoc_description(fp, o->description);
	mdoc_facts(fp, o);
	if (alias != NULL)
		fprintf(fp, "Alias:\n.Cm %s .\n", alias);
	fprintf(fp, ".\\\" END GENERATED %s %s\n", section, o->name);
}

void
nd_options_mdoc(const struct nds_option *table, const char *section,
    FILE *fp)
{
	const struct nds_option *o;

	for (o = table; o != NULL && o->name != NULL; o++)
		nd_option_mdoc(o, section, NULL, NULL, fp);
}
